"""Issuing serials through the service, on the real database."""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
from sqlalchemy import func, select

from tracker.domain import serials as serial_format
from tracker.domain.codes import parse_code
from tracker.errors import InvalidInput, PermissionDenied
from tracker.models import Role, Serial
from tracker.services import issuing, masterdata
from tracker.services.auth import Actor

GTIN = "09506000134352"
SQUARE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"code": "T1", "name": "Test land"},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
}]}


@pytest.fixture()
def master(session, system):  # type: ignore[no-untyped-def]
    masterdata.import_territories(session, collection=SQUARE, actor=system)
    masterdata.create_product(session, gtin=GTIN, name="Tea", actor=system)
    session.flush()
    return session


def serials_of(session, batch_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Serial.serial).where(Serial.batch_id == batch_id)))


def test_issue_batch_writes_exactly_quantity_well_formed_unique_serials(master, system, settings):
    batch = issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=1234, lot="L1",
                                actor=system, settings=settings)
    serials = serials_of(master, batch.id)
    assert len(serials) == 1234
    assert len(set(serials)) == 1234
    assert all(serial_format.is_well_formed(s) for s in serials)
    assert batch.quantity == 1234 and batch.territory.code == "T1" and batch.gtin == GTIN


def test_issue_batch_reports_progress_up_to_quantity(master, system, settings, monkeypatch):
    monkeypatch.setattr(issuing, "CHUNK", 100)
    seen: list[tuple[int, int]] = []
    issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=250, actor=system,
                        settings=settings, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(100, 250), (200, 250), (250, 250)]


def test_colliding_serials_are_drawn_again(master, system, settings, monkeypatch):
    monkeypatch.setattr(issuing, "CHUNK", 50)
    repeated = os.urandom(4096)
    first = issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=50, actor=system,
                                settings=settings, random_source=lambda n: repeated[:n])
    # The second batch starts with the very same bytes, so every serial of its first
    # round collides with the first batch; fresh bytes follow.
    calls = itertools.count()

    def replay_then_fresh(n: int) -> bytes:
        return repeated[:n] if next(calls) == 0 else os.urandom(n)

    second = issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=50, actor=system,
                                 settings=settings, random_source=replay_then_fresh)
    a, b = set(serials_of(master, first.id)), set(serials_of(master, second.id))
    assert len(a) == 50 and len(b) == 50
    assert a.isdisjoint(b)
    assert next(calls) > 1


def test_random_source_that_never_changes_is_refused(master, system, settings, monkeypatch):
    monkeypatch.setattr(issuing, "CHUNK", 10)
    stuck = os.urandom(1024)
    issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=10, actor=system,
                        settings=settings, random_source=lambda n: stuck[:n])
    with pytest.raises(issuing.SerialSpaceExhausted, match="keeps repeating itself"):
        issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=10, actor=system,
                            settings=settings, random_source=lambda n: stuck[:n])


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "quantity 0 is out of range: issue between 1 and 1,000,000 serials per batch"),
        (1_000_001,
         "quantity 1000001 is out of range: issue between 1 and 1,000,000 serials per batch"),
        (-5, "quantity -5 is out of range: issue between 1 and 1,000,000 serials per batch"),
        ("10", "quantity must be a whole number, not '10'"),
        (2.5, "quantity must be a whole number, not 2.5"),
        (True, "quantity must be a whole number, not True"),
    ],
)
def test_bad_quantity_is_refused(master, system, settings, quantity, message):
    with pytest.raises(InvalidInput) as info:
        issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=quantity,
                            actor=system, settings=settings)
    assert info.value.message == message
    assert info.value.code == "invalid_quantity"


def test_unknown_territory_and_gtin_are_named(master, system, settings):
    with pytest.raises(InvalidInput) as info:
        issuing.issue_batch(master, gtin=GTIN, territory="XX", quantity=1, actor=system,
                            settings=settings)
    assert info.value.code == "unknown_territory"
    assert info.value.message == "unknown territory 'XX'; import it first with POST /territories"
    with pytest.raises(InvalidInput) as info:
        issuing.issue_batch(master, gtin="4006381333931", territory="T1", quantity=1,
                            actor=system, settings=settings)
    assert info.value.code == "unknown_gtin"
    assert info.value.message == (
        "unknown GTIN 04006381333931; create the product first with POST /products")


def test_bad_gtin_check_digit_is_refused_before_lookup(master, system, settings):
    with pytest.raises(InvalidInput) as info:
        issuing.issue_batch(master, gtin="09506000134353", territory="T1", quantity=1,
                            actor=system, settings=settings)
    assert info.value.code == "invalid_gtin"
    assert "09506000134353" in info.value.message


def test_lot_outside_the_gs1_character_set_is_refused(master, system, settings):
    with pytest.raises(InvalidInput) as info:
        issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=1, lot="LOT 1",
                            actor=system, settings=settings)
    assert info.value.code == "invalid_lot"


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.INSPECTOR, Role.DISTRIBUTOR])
def test_only_admin_issues(master, settings, role):
    with pytest.raises(PermissionDenied) as info:
        issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=1,
                            actor=Actor("someone", role, party_id="p"), settings=settings)
    assert info.value.message == (
        f"role '{role.value}' may not issue serial numbers; it needs one of: admin")


def test_codes_parse_back_to_the_same_item(master, system, settings):
    batch = issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=20, lot="A/7%",
                                expiry=dt.date(2027, 12, 31), actor=system, settings=settings)
    rows = list(issuing.iter_batch_codes(master, batch, settings))
    assert [r.serial for r in rows] == sorted(serials_of(master, batch.id))
    for row in rows:
        assert row.uri.startswith("https://id.example.com/01/09506000134352/10/")
        assert row.uri.endswith(f"/21/{row.serial}?17=271231")
        parsed = parse_code(row.uri)
        assert (parsed.gtin, parsed.serial, parsed.lot, parsed.expiry) == (
            GTIN, row.serial, "A/7%", dt.date(2027, 12, 31))
        epc = parse_code(row.epc)
        assert (epc.form, epc.gtin, epc.serial) == ("sgtin", GTIN, row.serial)


def test_batch_counts_match_in_the_database(master, system, settings):
    batch = issuing.issue_batch(master, gtin=GTIN, territory="T1", quantity=77, actor=system,
                                settings=settings)
    assert issuing.count_serials(master, batch.id) == 77
    total = master.scalar(select(func.count()).select_from(Serial))
    assert total == 77
