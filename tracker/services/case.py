"""One violation as a case to work: its evidence scans, the serial's custody chain with
the hand-off that let the goods leave their authorised territory marked, the audit trail,
comments, and the geometry of its map."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.domain import verdicts
from tracker.errors import InvalidInput
from tracker.models import (
    Batch,
    Party,
    Role,
    Scan,
    Territory,
    User,
    Violation,
    ViolationAudit,
    ViolationComment,
)
from tracker.services import audit, custody, maps, violations
from tracker.services.auth import Actor
from tracker.services.evidence import Evidence, evidence_of
from tracker.services.territory_cache import territory_index

MAX_COMMENT = 4000


@dataclass(frozen=True)
class ChainStep:
    """One move of the serial: who handed it to whom, when."""

    kind: str  # ship | receive | pack | unpack | dispose | void
    from_party: str | None
    to_party: str | None
    at: dt.datetime
    shipment_id: int | None
    container: str | None
    # The first shipment to a receiver that is not authorised: where the goods left.
    left_territory: bool


@dataclass(frozen=True)
class Case:
    violation: Violation
    batch_territory: str | None
    evidence: list[Scan]
    chain: list[ChainStep]
    audit: list[ViolationAudit]
    comments: list[ViolationComment]
    assignee: str | None
    # The statuses the case may move to now (the workflow's rule).
    next_statuses: list[str]
    party_names: dict[str, str]
    # The inspectors' notes and photos on the evidence scans, by scan id.
    scan_evidence: dict[int, Evidence] = field(default_factory=dict)


def load_case(session: Session, violation_id: int, *, actor: Actor) -> Case:
    violation = violations.get_violation(session, violation_id, actor=actor)
    batch = session.get(Batch, violation.batch_id) if violation.batch_id else None
    batch_territory = (session.get(Territory, batch.territory_id).code  # type: ignore[union-attr]
                       if batch is not None else None)
    moves = custody.history(session, violation.key)
    parties = {p for m in moves for p in (m.from_party, m.to_party) if p}
    if violation.responsible_party:
        parties.add(violation.responsible_party)
    party_rows = list(session.scalars(select(Party).where(Party.id.in_(parties)))) \
        if parties else []
    index = territory_index(session)

    def authorised(party_id: str | None) -> bool | None:
        if batch_territory is None or party_id is None:
            return None
        row = next((p for p in party_rows if p.id == party_id), None)
        codes = [t.code for t in row.territories] if row is not None else []
        return verdicts.party_is_authorised(index, codes, batch_territory)

    chain: list[ChainStep] = []
    left = False
    for move in moves:
        first_leak = (not left and move.kind == "ship"
                      and authorised(move.to_party) is False)
        left = left or first_leak
        chain.append(ChainStep(move.kind, move.from_party, move.to_party, move.at,
                               move.shipment_id, move.detail, first_leak))
    assignee = (session.scalar(select(User.name).where(User.id == violation.assignee_id))
                if violation.assignee_id else None)
    comments = list(session.scalars(select(ViolationComment).where(
        ViolationComment.violation_id == violation.id).order_by(ViolationComment.at,
                                                               ViolationComment.id)))
    scans = violations.evidence(session, violation.id)
    return Case(
        violation=violation, batch_territory=batch_territory,
        evidence=scans, chain=chain,
        audit=violations.audit_trail(session, violation.id), comments=comments,
        assignee=assignee,
        next_statuses=sorted(s.value for s in violations.TRANSITIONS[violation.status]),
        party_names={p.id: p.name for p in party_rows},
        scan_evidence=evidence_of(session, [s.id for s in scans]))


def add_comment(session: Session, violation_id: int, *, body: str, actor: Actor,
                now: dt.datetime | None = None) -> ViolationComment:
    actor.require(Role.COMPLIANCE, action="comment on violations")
    violation = violations.get_violation(session, violation_id, actor=actor)
    text = (body or "").strip()
    if not text:
        raise InvalidInput("a comment needs some text", code="missing_field")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment may be at most {MAX_COMMENT:,} characters long; this"
                           f" one has {len(text):,}", code="invalid_comment")
    comment = ViolationComment(violation_id=violation.id, at=now or utcnow(),
                               author=actor.name, body=text)
    session.add(comment)
    session.flush()
    audit.record(session, actor=actor, action="violation.comment", subject_type="violation",
                 subject_id=violation.id, now=comment.at, detail={"comment": comment.id})
    return comment


def case_map(session: Session, violation_id: int, *, actor: Actor) -> dict[str, Any]:
    """The case's map as a GeoJSON FeatureCollection: the expected territories (role
    "expected"), the territory where the goods were found ("found"), and every evidence
    scan as a point with its accuracy, time and verdict ("scan")."""
    violation = violations.get_violation(session, violation_id, actor=actor)
    features: list[dict[str, Any]] = []
    found = [violation.found_territory] if violation.found_territory else []
    shapes = maps.outlines(session, [*violation.expected_territories, *found])
    for role, codes in (("expected", list(violation.expected_territories)), ("found", found)):
        for code in codes:
            if code in shapes:
                features.append({"type": "Feature", "geometry": shapes[code].geometry,
                                 "properties": {"role": role, "code": code,
                                                "name": shapes[code].name}})
    for scan in violations.evidence(session, violation.id):
        features.append({"type": "Feature",
                         "geometry": {"type": "Point",
                                      "coordinates": [scan.longitude, scan.latitude]},
                         "properties": {"role": "scan", "scan_id": scan.id,
                                        "verdict": scan.verdict.value,
                                        "accuracy_m": scan.accuracy_m,
                                        "scanned_at": scan.scanned_at.isoformat(),
                                        "found_territory": scan.found_territory}})
    return {"type": "FeatureCollection", "features": features}
