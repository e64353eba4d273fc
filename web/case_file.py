"""The case file of a violation as a PDF in the reader's language: what the case page
shows, put together by ``tracker.services.case`` and drawn by
``tracker.domain.case_file``; this module only supplies the words."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.domain import case_file
from tracker.models import ViolationAudit
from tracker.services.case import Case
from tracker.services.evidence import photos_of
from tracker.services.territory_cache import territory_index
from web.i18n import language, number, territory_label, when
from web.layout import MOVE_LABELS, STATUS_LABELS, VERDICT_LABELS, VIOLATION_TYPE_LABELS


def labels() -> dict[str, str]:
    return {
        "map": _("Map"), "chain": _("Custody chain"), "scans": _("Evidence scans"),
        "audit": _("Audit trail"), "hash": _("Content hash (SHA-256)"),
        "generated": _("Generated"), "page": _("Page {page} of {pages}"),
        "time": _("Scanned"), "place": _("Place"), "accuracy": _("Accuracy"),
        "verdict": _("Verdict"), "found": _("Found in"), "photo": _("Photo"),
        "note": _("Note"), "photos": _("Evidence photos"),
        "when": _("When"), "what": _("What"), "who": _("Who"),
        "expected": _("Expected territory"), "found_area": _("Found in"),
        "scan": _("Scan, with its accuracy circle"),
        "left_territory": _("Here the goods left their authorised territory"),
        "none": _("None"),
    }


def case_file_data(case: Case, session: Session) -> case_file.CaseFileData:
    v = case.violation
    index = territory_index(session)

    def party(party_id: str | None) -> str:
        if not party_id:
            return "—"
        name = case.party_names.get(party_id, party_id)
        return name if name == party_id else f"{name} ({party_id})"

    areas = [(role, geometry) for role, codes in
             (("expected", v.expected_territories),
              ("found", [v.found_territory] if v.found_territory else []))
             for code in codes if (geometry := index.geometry(code)) is not None]
    facts = [
        (_("Serial"), v.serial or "—"), (_("Product"), v.gtin or "—"),
        (_("Batch"), f"{v.batch_id or '—'}"
         + (f" · {territory_label(case.batch_territory)}" if case.batch_territory else "")),
        (_("Status"), str(STATUS_LABELS.get(v.status.value, v.status.value))),
        (_("Expected"), ", ".join(territory_label(c) for c in v.expected_territories)),
        (_("Found in"), territory_label(v.found_territory) or _("no territory")),
        (_("Responsible"), party(v.responsible_party)),
        (_("Scans"), number(v.scan_count)), (_("Opened"), when(v.opened_at)),
        (_("Assignee"), case.assignee or "—"),
    ]
    photos = photos_of(session, [s.id for s in case.evidence])
    scans = [case_file.ScanRow(
        scanned_at=when(s.scanned_at), latitude=s.latitude, longitude=s.longitude,
        accuracy_m=s.accuracy_m, verdict=str(VERDICT_LABELS.get(s.verdict.value,
                                                                  s.verdict.value)),
        found=territory_label(s.found_territory) or _("no territory"),
        photo_jpeg=photos.get(s.id),
        note=added.note if (added := case.scan_evidence.get(s.id)) is not None else None)
        # (Evidence always has a position; only a consumer's check may lack one.)
        for s in case.evidence if s.latitude is not None and s.longitude is not None]
    chain = [case_file.ChainRow(
        when=when(step.at),
        what=" ".join(part for part in (
            str(MOVE_LABELS.get(step.kind, step.kind)),
            f"{_('from')} {party(step.from_party)}" if step.from_party else "",
            f"{_('to')} {party(step.to_party)}" if step.to_party else "") if part),
        left_territory=step.left_territory) for step in case.chain]
    audit = [case_file.AuditRow(when=when(a.at), who=a.actor, what=_audit_text(a))
             for a in case.audit]
    title = _("Violation %(id)s", id=v.id) + ": " + str(
        VIOLATION_TYPE_LABELS.get(v.type.value, v.type.value))
    return case_file.CaseFileData(
        violation_id=v.id, title=title, facts=facts, map_areas=areas, scans=scans,
        chain=chain, audit=audit, labels=labels(), generated_at=when(utcnow()),
        language=language())


def _audit_text(entry: ViolationAudit) -> str:
    action, note = entry.action, entry.note
    if action == "status":
        text = (f"{STATUS_LABELS.get(entry.from_status or '', entry.from_status)} → "
                f"{STATUS_LABELS.get(entry.to_status or '', entry.to_status)}")
    elif action == "opened":
        text = _("opened")
    elif action == "evidence":
        text = _("new evidence")
    else:
        text = action
    return f"{text}: {note}" if note else text
