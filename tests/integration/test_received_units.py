"""The scorecard's received units come from counts kept as receipts are recorded (per
party and UTC day, plus repeat receipts); they must equal the distinct items each party
received in any period, counted from the receipts themselves — for receipts recorded in
any order, repeated, at midnight, and periods that start and end mid-day."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from tests.integration.network import build
from tracker.domain.periods import Period
from tracker.models import CustodyMove, Party, ReceiptDay, RepeatReceipt
from tracker.services import custody, reports

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
PARTIES = ("t1", "t2")  # the network's distributors
KEYS = [f"01/06901234000110/21/S{i}" for i in range(12)] + ["00/069012340000000017"]


def receive(session, party: str, keys: list[str], at: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """What custody.apply_receipt records for a receipt (its counts, then its moves)."""
    custody.count_receipts(session, party, keys, at)
    custody.add_moves(session, keys, kind="receive", from_party="brand", to_party=party,
                      shipment_id=None, event_pk=None, at=at, detail=None)


def distinct_received(session, period: Period) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The oracle: distinct item keys received per party, read from every move."""
    found: dict[str, set[str]] = {}
    for key, party, at in session.execute(select(CustodyMove.key, CustodyMove.to_party,
                                                 CustodyMove.at)
                                          .where(CustodyMove.kind == "receive")):
        if key.startswith("01/") and period.since <= at < period.until:
            found.setdefault(party, set()).add(key)
    return {party: len(keys) for party, keys in found.items()}


def received(session, period: Period) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts = reports.received_units(session, period, select(Party.id))
    return {party: n for party, n in counts.items() if n}


@pytest.fixture()
def parties(session, settings):  # type: ignore[no-untyped-def]
    build(session, settings, quantity=1)


def random_moment(rng: random.Random) -> dt.datetime:
    """Somewhere in ten days, often exactly at a midnight or on a whole hour."""
    day = rng.randrange(10)
    kind = rng.random()
    if kind < 0.2:
        return START + dt.timedelta(days=day)
    if kind < 0.4:
        return START + dt.timedelta(days=day, hours=rng.randrange(24))
    return START + dt.timedelta(days=day, seconds=rng.randrange(86_400),
                                microseconds=rng.randrange(1_000_000))


@pytest.mark.parametrize("seed", range(6))
def test_counts_kept_on_receipt_equal_the_distinct_items_received(session, parties, seed):
    rng = random.Random(seed)
    for _ in range(40):  # receipts recorded in random time order, items often again
        receive(session, rng.choice(PARTIES), rng.sample(KEYS, rng.randrange(1, 5)),
                random_moment(rng))
    for _ in range(60):
        a, b = sorted([random_moment(rng), random_moment(rng)])
        if rng.random() < 0.3:
            b = a + dt.timedelta(hours=rng.randrange(1, 30))
        if a == b:
            continue
        period = Period(a, b)
        assert received(session, period) == distinct_received(session, period), period


def test_an_item_received_again_in_the_period_counts_once(session, parties):
    key = KEYS[0]
    receive(session, "t1", [key], START + dt.timedelta(days=1, hours=3))
    receive(session, "t1", [key], START + dt.timedelta(days=4, hours=3))
    receive(session, "t1", [key], START + dt.timedelta(days=2, hours=3))  # recorded late
    assert received(session, Period(START, START + dt.timedelta(days=10))) == {"t1": 1}
    # A period holding only the later two receipts: still one item.
    assert received(session, Period(START + dt.timedelta(days=2),
                                    START + dt.timedelta(days=10))) == {"t1": 1}
    # The late one's arrival re-linked the receipt after it: day 4 follows day 2.
    assert sorted((r.at.day, r.previous_at.day) for r in session.scalars(
        select(RepeatReceipt))) == [(3, 2), (5, 3)]


def test_receipts_of_cases_and_pallets_are_not_counted(session, parties):
    receive(session, "t1", [KEYS[-1]], START)
    assert session.scalars(select(ReceiptDay)).all() == []
    assert received(session, Period(START, START + dt.timedelta(days=1))) == {}


@pytest.mark.parametrize("seed", range(3))
def test_counting_afresh_gives_the_counts_kept_one_by_one(session, parties, seed):
    rng = random.Random(seed)
    for _ in range(30):
        receive(session, rng.choice(PARTIES), rng.sample(KEYS, rng.randrange(1, 5)),
                random_moment(rng))

    def rollups():  # type: ignore[no-untyped-def]
        return (sorted((r.party_id, r.day, r.receipts)
                       for r in session.scalars(select(ReceiptDay))),
                sorted((r.party_id, r.key, r.at, r.previous_at)
                       for r in session.scalars(select(RepeatReceipt))))

    kept = rollups()
    custody.recount_receipts(session)
    session.expire_all()
    assert rollups() == kept and kept[1]  # some repeat receipts among them
