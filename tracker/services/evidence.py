"""Evidence an inspector adds to one of their scans: a note and a JPEG photo.

The inspector who made the scan (or an admin) adds it; sending again replaces what was
sent (an offline app retrying gets the same result), and what was not sent is kept. When
the scan is evidence of a violation, the violation's audit trail says so. Photos are
checked by ``tracker.domain.photos`` and kept in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.db import chunks, dialect_insert, table, utcnow
from tracker.domain.photos import Photo, megabytes, read_photo
from tracker.errors import InvalidInput, NotFound
from tracker.models import Role, Scan, ScanEvidence, Violation, ViolationAudit
from tracker.services import audit
from tracker.services.auth import Actor

MAX_NOTE = 2_000


@dataclass(frozen=True)
class Evidence:
    """What a scan's evidence holds, without the photo itself."""

    scan_id: int
    note: str | None
    photo_bytes: int | None
    photo_width: int | None
    photo_height: int | None
    added_by: str
    added_at: dt.datetime

    @property
    def has_photo(self) -> bool:
        return self.photo_bytes is not None


_SUMMARY = (ScanEvidence.scan_id, ScanEvidence.note, ScanEvidence.photo_bytes,
            ScanEvidence.photo_width, ScanEvidence.photo_height, ScanEvidence.added_by,
            ScanEvidence.added_at)


@dataclass(frozen=True)
class EvidenceInput:
    """A checked note and photo, ready to store; None for a part that was not sent."""

    note_sent: bool
    note: str | None  # None with note_sent: remove the note
    photo: Photo | None


def check_evidence(*, note: str | None, photo: bytes | None, actor: Actor,
                   settings: Settings) -> EvidenceInput:
    """Check what was sent before any transaction (decoding a photo takes a while): a
    note of at most ``MAX_NOTE`` characters (only spaces: remove the note), a JPEG no
    larger than ``settings.max_photo_bytes``."""
    actor.require(Role.INSPECTOR, action="add evidence to scans")
    if note is None and photo is None:
        raise InvalidInput("send a note, a photo or both", code="missing_field")
    text = None
    if note is not None:
        text = note.strip() or None
        if text is not None and len(text) > MAX_NOTE:
            raise InvalidInput(f"note is {len(text):,} characters long; the most is "
                               f"{MAX_NOTE:,}", code="note_too_long")
    checked = read_photo(photo, max_bytes=settings.max_photo_bytes) if photo is not None \
        else None
    return EvidenceInput(note is not None, text, checked)


def attach_evidence(session: Session, scan_id: int, evidence: EvidenceInput, *,
                    actor: Actor, now: dt.datetime | None = None) -> Evidence:
    """Set the note and/or photo of the actor's scan; a part not sent stays as it was.
    Raises ``NotFound`` for a scan that does not exist or is another inspector's (whose
    scans are not revealed)."""
    actor.require(Role.INSPECTOR, action="add evidence to scans")
    scan = _scan_of(session, scan_id, actor)
    now = now or utcnow()
    earlier = evidence_of(session, [scan_id]).get(scan_id)
    values: dict[str, object] = {"added_by": actor.name, "added_at": now}
    if evidence.note_sent:
        values["note"] = evidence.note
    photo = evidence.photo
    if photo is not None:
        values.update(photo=photo.jpeg, thumbnail=photo.thumbnail,
                      photo_bytes=len(photo.jpeg), photo_width=photo.width,
                      photo_height=photo.height)
    # One statement, so two tries of a retrying app racing each other both succeed.
    insert = dialect_insert(session.get_bind().dialect.name)(table(ScanEvidence))
    session.execute(insert.values(scan_id=scan_id, **values).on_conflict_do_update(
        index_elements=[table(ScanEvidence).c.scan_id], set_=values))
    if scan.violation_id is not None:
        _audit(session, scan, earlier, evidence, actor=actor, now=now)
    session.flush()
    return evidence_of(session, [scan_id])[scan_id]


def _audit(session: Session, scan: Scan, earlier: Evidence | None, evidence: EvidenceInput,
           *, actor: Actor, now: dt.datetime) -> None:
    """The violation's audit entry: what was added, replaced or removed."""
    parts = []
    if evidence.photo is not None:
        verb = "replaced" if earlier is not None and earlier.has_photo else "added"
        parts.append(f"photo ({megabytes(len(evidence.photo.jpeg))}) {verb}")
    had_note = earlier is not None and earlier.note is not None
    if evidence.note_sent and (evidence.note is not None or had_note):
        verb = "removed" if evidence.note is None else "replaced" if had_note else "added"
        parts.append(f"note {verb}")
    if not parts:
        return  # an empty note where there was none: nothing changed
    session.add(ViolationAudit(violation_id=scan.violation_id, at=now, actor=actor.name,
                               action="evidence", note=f"scan {scan.id}: {', '.join(parts)}"))
    violation = session.get(Violation, scan.violation_id)
    if violation is not None:
        violation.updated_at = now
    session.flush()
    audit.record(session, actor=actor, action="violation.evidence", subject_type="violation",
                 subject_id=scan.violation_id, detail={"scan": scan.id, "changes": parts},
                 now=now)


def _scan_of(session: Session, scan_id: int, actor: Actor) -> Scan:
    """The scan, when the actor may see it: an inspector only their own."""
    scan = session.get(Scan, scan_id)
    if scan is None or (actor.role is Role.INSPECTOR and scan.inspector_id != actor.user_id):
        raise NotFound(f"scan {scan_id} does not exist or is not one of yours",
                       code="unknown_scan")
    return scan


def evidence_of(session: Session, scan_ids: Sequence[int]) -> dict[int, Evidence]:
    """The evidence of these scans, by scan id (scans without any are left out). For
    callers that checked already that the reader may see the scans (a violation's page)."""
    found: dict[int, Evidence] = {}
    for part in chunks(list(scan_ids)):
        for row in session.execute(select(*_SUMMARY).where(ScanEvidence.scan_id.in_(part))):
            found[row[0]] = Evidence(*row)
    return found


def photos_of(session: Session, scan_ids: Sequence[int]) -> dict[int, bytes]:
    """The photos of these scans as sent, by scan id (for a case file)."""
    found: dict[int, bytes] = {}
    for part in chunks(list(scan_ids)):
        rows = session.execute(select(ScanEvidence.scan_id, ScanEvidence.photo).where(
            ScanEvidence.scan_id.in_(part), ScanEvidence.photo.is_not(None)))
        found.update({scan_id: photo for scan_id, photo in rows if photo is not None})
    return found


def get_photo(session: Session, scan_id: int, *, actor: Actor, thumbnail: bool = False
              ) -> bytes:
    """A scan's photo (or its thumbnail): for the inspector who made the scan,
    compliance and admin."""
    actor.require(Role.INSPECTOR, Role.COMPLIANCE, action="see evidence photos")
    _scan_of(session, scan_id, actor)
    column = ScanEvidence.thumbnail if thumbnail else ScanEvidence.photo
    photo = session.scalar(select(column).where(ScanEvidence.scan_id == scan_id))
    if photo is None:
        raise NotFound(f"scan {scan_id} has no photo", code="no_photo")
    return photo
