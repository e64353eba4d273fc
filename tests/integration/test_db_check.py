"""``tracker db check``: a database kept by the services passes; each invariant broken
behind the application's back is named."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from tests.integration.network import Network, build, distributor
from tracker.db import make_session_factory
from tracker.models import Violation
from tracker.services import custody, integrity, scans
from tracker.services.auth import SYSTEM

NAMES = ["custody", "batches", "evidence", "receipts", "violation territories", "audit"]


def activity(session, settings) -> tuple[Network, int]:  # type: ignore[no-untyped-def]
    """Shipments down and back up the tiers (item 0 reaches t1 twice: a repeat receipt),
    a case packed, and a diverted scan's violation."""
    net = build(session, settings)

    def hand_on(sender: str, receiver: str, serials: list[str]) -> None:
        shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                           codes=serials, actor=SYSTEM)
        custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor(receiver))

    hand_on("brand", "t1", net.serials[:5])
    hand_on("t1", "t2", net.serials[:1])
    hand_on("t2", "t1", net.serials[:1])
    (case,) = custody.create_containers(session, party="t1", kind="case",
                                        company_prefix="9506000", actor=SYSTEM)
    custody.pack(session, party="t1", container=case.sscc, codes=net.serials[1:3],
                 actor=distributor("t1"))
    answer = scans.record_scan(session, scans.ScanRequest(
        code=net.serials[10], latitude=5.0, longitude=25.0), actor=SYSTEM, settings=settings)
    assert answer["verdict"] == "diverted"
    return net, answer["violation_id"]


def test_a_database_kept_by_the_services_passes_every_check(session, settings):
    activity(session, settings)
    checks = integrity.check_database(session)
    assert [(c.name, c.problems) for c in checks] == [(name, []) for name in NAMES]
    assert [c.checked for c in checks] == [
        "6 current states agree with a replay of 16 moves",
        "1 batches hold their 20 serials",
        "1 violations count their 1 evidence scans",
        "2 daily receipt counts and 1 repeat receipts agree with the receive moves",
        "1 rows agree with the lists of 1 violations",
        "15 audit entries are chained intact",
    ]


def test_replay_follows_the_custody_rules():
    moves = [integrity.Move("ship", "brand", "t1", 1, None),
             integrity.Move("receive", "brand", "t1", 1, None),
             integrity.Move("pack", "t1", "t1", None, "00/1"),
             integrity.Move("receive", "brand", "t1", 1, None),  # not in transit: no change
             integrity.Move("unpack", "t1", "t1", None, "00/2"),  # not in that case
             integrity.Move("dispose", None, None, None, "stolen")]
    assert integrity.replay(integrity.first_custody("brand"), moves) == integrity.Custody(
        "t1", "stolen", None, "00/1")


BREAKS = {
    "custody": ("UPDATE custody_states SET custodian = 't1b' WHERE key = '{key0}'",
                "custody of {key0}: the current state says custodian 't1b', a replay of its "
                "6 moves gives 't1'"),
    "custody without state": ("DELETE FROM custody_states WHERE key = '{key3}'",
                              "custody of {key3}: 2 moves are recorded but no current state"),
    "batches": ("DELETE FROM serials WHERE serial = '{serial19}'",
                "batch {batch} says 20 serials but 19 are issued in it"),
    "evidence": ("UPDATE violations SET scan_count = 3",
                 "violation {violation} counts 3 scans but 1 scans are its evidence"),
    "receipts": ("UPDATE receipt_days SET receipts = receipts + 1 WHERE party_id = 't2'",
                 "receipts of t2 on {today}: the rollup says 2, the receive moves give 1"),
    "repeat receipts": ("DELETE FROM repeat_receipts",
                        "repeat receipt of {key0} by t1 at {last_receipt} (previous "
                        "{first_receipt}) is missing from the rollup (1)"),
    "violation territories": ("DELETE FROM violation_territories",
                              "violation {violation} expects {expected} but "
                              "violation_territories lists []"),
    "audit": ("UPDATE audit_log SET action = 'party.delete' WHERE seq = 2",
              "audit entry 2 was altered: its contents do not match its hash"),
}
CHECK_OF = {"custody without state": "custody", "repeat receipts": "receipts"}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_an_invariant_broken_behind_the_applications_back_is_named(session, settings,
                                                                   broken):
    net, violation_id = activity(session, settings)
    violation = session.get_one(Violation, violation_id)
    receipts = [m.at for m in custody.history(session, net.key(0)) if m.kind == "receive"
                and m.to_party == "t1"]
    values = dict(key0=net.key(0), key3=net.key(3), serial19=net.serials[19],
                  batch=net.batch_id, violation=violation_id,
                  expected=sorted(violation.expected_territories),
                  today=dt.datetime.now(dt.UTC).date(),
                  first_receipt=receipts[0].isoformat(), last_receipt=receipts[-1].isoformat())
    sql, problem = BREAKS[broken]
    session.execute(text(sql.format(**values)))
    session.expire_all()
    checks = integrity.check_database(session)
    failed = [(c.name, c.problems) for c in checks if not c.passed]
    assert failed == [(CHECK_OF.get(broken, broken), [problem.format(**values)])]


def test_db_check_command_passes_the_demo_and_names_a_broken_invariant(run_cli, db):
    run_cli("demo")
    result = run_cli("db", "check")
    assert result.stdout.splitlines()[-1] == "all 6 checks passed"
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:-1]] == [
        f"ok    {name}" for name in NAMES]
    with make_session_factory(db)() as session:
        batch_id = session.scalar(select(Violation.batch_id).where(
            Violation.batch_id.is_not(None)).limit(1))
    with db.begin() as connection:
        connection.execute(text("DELETE FROM serials WHERE serial IN (SELECT serial FROM "
                                f"serials WHERE batch_id = {batch_id} LIMIT 2)"))
    result = run_cli("db", "check", check=False)
    assert result.returncode == 1
    assert "FAIL  batches:\n  - batch " in result.stdout
    assert "serials but" in result.stdout and "are issued in it" in result.stdout
    assert result.stderr.strip() == "1 of 6 checks failed: batches"
