"""The audit log: one chained entry per change, in the change's transaction, and any
entry altered or removed behind the application's back is named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import pytest
from sqlalchemy import select, text

from tests.integration.network import build, distributor
from tracker.db import make_session_factory, write_transaction
from tracker.models import AuditEntry, Role
from tracker.services import audit, auth, custody, scans, violations
from tracker.services.auth import SYSTEM, Actor

COMPLIANCE = Actor(name="carol", role=Role.COMPLIANCE)


def entries(session) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.action for e in entries(session)]


def test_an_entry_hash_is_sha256_of_its_canonical_json_with_the_previous_hash():
    # Fixed, so that a chain written by one version verifies with the next.
    form = ('[1,"2026-12-06T16:00:00.000000+00:00","system","custody.ship","shipment","7",'
            '"{\\"keys\\":2,\\"to\\":\\"t1\\"}","' + "0" * 64 + '"]')
    assert audit.entry_hash(
        seq=1, at=dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        actor="system", action="custody.ship", subject_type="shipment", subject_id="7",
        detail=audit.canonical({"to": "t1", "keys": 2}), prev_hash=audit.GENESIS
    ) == hashlib.sha256(form.encode()).hexdigest() == (
        "b7a99a1d9fc331550369a7dee0a6e454590d3c7075adf51ecb90ffa4d0559cf7")


@pytest.fixture()
def net(session, settings):  # type: ignore[no-untyped-def]
    return build(session, settings)


def test_each_change_appends_one_entry_linked_to_the_one_before(session, settings, net):
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials[:5], actor=SYSTEM)
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    answer = scans.record_scan(session, scans.ScanRequest(
        code=net.serials[10], latitude=5.0, longitude=25.0), actor=SYSTEM, settings=settings)
    violations.review(session, answer["violation_id"], status="investigating",
                      note="seen in B", actor=COMPLIANCE)
    violations.recall_batch(session, net.batch_id, reason="misprint", actor=COMPLIANCE)
    user, _ = auth.create_user(session, name="ivan", role="inspector", actor=SYSTEM)
    token, _ = auth.create_token(session, actor=SYSTEM, user_name="ivan")
    auth.revoke_token(session, token.id, actor=SYSTEM)

    log = entries(session)
    # build(): the territories, five parties and the batch.
    assert [e.action for e in log] == [
        "territories.import", *["party.create"] * 5, "batch.issue", "custody.ship",
        "custody.receive", "violation.open", "violation.status", "batch.recall",
        "user.create", "token.create", "token.revoke"]
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert log[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash
               for earlier, later in zip(log, log[1:], strict=False))
    ship, status = log[7], log[10]
    assert (ship.subject_type, ship.subject_id, ship.actor) == ("shipment", str(shipment.id),
                                                               "system")
    assert json.loads(ship.detail) == {
        "from": "brand", "to": "t1", "lines": 5, "keys": 5,
        "digest": audit.digest(net.key(i) for i in range(5))}
    assert json.loads(status.detail) == {"from": "open", "to": "investigating",
                                         "note": "seen in B"}
    assert (status.actor, status.subject_id) == ("carol", str(answer["violation_id"]))
    assert audit.verify(session) == audit.ChainReport(len(log), log[-1].hash, None)


def test_a_change_rolled_back_leaves_no_entry(session, net):
    before = actions(session)
    savepoint = session.begin_nested()
    custody.record_shipment(session, from_party="brand", to_party="t1",
                            codes=net.serials[:2], actor=SYSTEM)
    assert actions(session) == [*before, "custody.ship"]
    savepoint.rollback()
    assert actions(session) == before
    custody.record_shipment(session, from_party="brand", to_party="t1",
                            codes=net.serials[:2], actor=SYSTEM)
    assert actions(session) == [*before, "custody.ship"]
    assert audit.verify(session).intact


def test_a_bulk_receipt_appends_one_entry_with_a_digest_of_its_items(session, settings):
    net = build(session, settings, quantity=3_000)
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials, actor=SYSTEM)
    before = len(entries(session))
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    (receipt,) = entries(session)[before:]
    lines = custody.shipment_lines(session, shipment.id)
    assert receipt.action == "custody.receive"
    assert json.loads(receipt.detail) == {
        "received": 3_000, "missing": 0, "status": "received",
        "digest": audit.digest(line.key for line in lines)}


def test_a_refused_change_appends_nothing(session, net):
    before = actions(session)
    with pytest.raises(Exception, match="does not hold"):
        custody.record_shipment(session, from_party="t1", to_party="t2",
                                codes=net.serials[:1], actor=SYSTEM)
    assert actions(session) == before


def _tamper(session, sql: str) -> None:  # type: ignore[no-untyped-def]
    session.execute(text(sql))


@pytest.mark.parametrize(("sql", "problem"), [
    ("UPDATE audit_log SET detail = '{\"from\":\"brand\"}' WHERE seq = 3",
     "audit entry 3 was altered: its contents do not match its hash"),
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
     "audit entry 1 was altered: its contents do not match its hash"),
    ("DELETE FROM audit_log WHERE seq = 4",
     "audit entry 4 is missing: the entry after 3 is 5"),
    ("DELETE FROM audit_log WHERE seq IN (4, 5)",
     "audit entries 4 to 5 are missing: the entry after 3 is 6"),
    ("DELETE FROM audit_log WHERE seq = 1",
     "audit entry 1 is missing: the entry after the start is 2"),
    ("DELETE FROM audit_log WHERE seq = 7",
     "audit entry 7 was removed from the end of the log: the chain head records entry 7"),
    ("UPDATE audit_heads SET hash = 'x'",
     "audit entry 7 was altered: the chain head records another hash for it"),
    ("DELETE FROM audit_heads",
     "the audit chain head is missing: the log holds 7 entries but nothing records where "
     "it ended"),
])
def test_an_entry_altered_or_removed_is_named(session, net, sql, problem):
    assert len(entries(session)) == 7
    _tamper(session, sql)
    report = audit.verify(session)
    assert report.problem == problem and not report.intact


def test_an_entry_altered_and_rehashed_is_named_by_the_broken_link(session, net):
    entry = session.get(AuditEntry, 3)
    detail = '{"role":"brand"}'
    rehashed = audit.entry_hash(seq=3, at=entry.at, actor=entry.actor, action=entry.action,
                                subject_type=entry.subject_type, subject_id=entry.subject_id,
                                detail=detail, prev_hash=entry.prev_hash)
    session.expunge(entry)
    _tamper(session, f"UPDATE audit_log SET detail = '{detail}', hash = '{rehashed}' "
                     "WHERE seq = 3")
    assert audit.verify(session).problem == (
        "audit entry 3 was altered: entry 4 links to another hash than its own")


def test_appenders_in_parallel_make_one_unbroken_chain(db):
    sessions = make_session_factory(db)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(10):
                with sessions() as session, write_transaction(session):
                    audit.record(session, actor=f"worker-{worker}", action="test.append",
                                 subject_type="test", subject_id=i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        report = audit.verify(session)
        assert (report.entries, report.problem) == (60, None)


def test_audit_verify_command_names_the_first_entry_altered(run_cli, db, settings):
    with make_session_factory(db)() as session, session.begin():
        build(session, settings)
    result = run_cli("audit", "verify")
    assert result.stdout.startswith("audit chain intact: 7 entries verified (last hash ")
    with db.begin() as connection:
        connection.execute(text("UPDATE audit_log SET subject_id = '2' WHERE seq = 7"))
        connection.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    result = run_cli("audit", "verify", check=False)
    assert (result.returncode, result.stderr.strip()) == (
        1, "audit entry 5 is missing: the entry after 4 is 6")
