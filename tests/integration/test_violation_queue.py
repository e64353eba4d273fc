"""The compliance queue service: filters, sorts, keyset pages, counts, CSV, assignment."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.integration.network import square
from tracker.domain.gs1 import gs1_check_digit
from tracker.errors import InvalidInput, NotFound, PermissionDenied
from tracker.models import (
    Role,
    Scan,
    Violation,
    ViolationAudit,
    ViolationStatus,
    ViolationType,
)
from tracker.services import masterdata, violation_queue, violations
from tracker.services.auth import SYSTEM, Actor, create_user
from tracker.services.violation_queue import (
    QueueFilter,
    assign,
    count_by_status,
    export_csv,
    list_queue,
    parse_filter,
)

G1 = "09506000134352"
G2 = "0690123400011" + gs1_check_digit("0690123400011")
DAY = dt.date(2026, 12, 1)
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
INSPECTOR = Actor(name="ines", role=Role.INSPECTOR)
REFUSED_READ = "role 'inspector' may not read violations; it needs one of: admin, compliance"


def at(day: int, hour: int = 9, minute: int = 0, second: int = 0, micro: int = 0
       ) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, micro, tzinfo=dt.UTC)


def distributor(party: str) -> Actor:
    return Actor(name=f"user-of-{party}", role=Role.DISTRIBUTOR, party_id=party)


def add_violation(session: Any, n: int, **fields: Any) -> int:
    values: dict[str, Any] = dict(
        key=f"key-{n}", serial=f"SERIAL{n}", type=ViolationType.DIVERTED,
        status=ViolationStatus.OPEN, expected_territories=[], scan_count=1,
        opened_at=T0, last_scan_at=None, updated_at=T0)
    values.update(fields)
    violation = Violation(**values)
    session.add(violation)
    session.flush()
    return violation.id


def add_scan(session: Any, violation_id: int, *, near_border: bool) -> None:
    session.add(Scan(code="x", form="serial", latitude=1.0, longitude=1.0, scanned_at=T0,
                     verdict="diverted", near_border=near_border, response={},
                     violation_id=violation_id))
    session.flush()


@pytest.fixture()
def queue(session: Any) -> dict[str, int]:
    """ROOT (a region) holds A and B; A holds A1. Five violations, one of each kind of
    thing the filters look at; ids in the order listed."""
    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "ROOT", "name": "Root"},
             "geometry": None},
            square("A", 0, 0, 10, "ROOT"), square("B", 20, 0, 10, "ROOT"),
            square("A1", 0, 0, 2, "A")]})
    alice = create_user(session, name="alice", role="compliance", actor=SYSTEM)[0]
    bob = create_user(session, name="bob", role="compliance", actor=SYSTEM)[0]
    ids = {
        "gd": add_violation(
            session, 1, type=ViolationType.DIVERTED, status=ViolationStatus.OPEN,
            expected_territories=["A"], found_territory="B", responsible_party="t1",
            gtin=G1, batch_id=1, opened_at=at(1), last_scan_at=at(3, 12), scan_count=4,
            assignee_id=alice.id),
        "city": add_violation(
            session, 2, type=ViolationType.DIVERTED, status=ViolationStatus.INVESTIGATING,
            expected_territories=["A1"], found_territory="B", responsible_party="t2",
            gtin=G1, batch_id=2, opened_at=at(2), last_scan_at=at(2, 10), scan_count=1,
            assignee_id=bob.id),
        "clone": add_violation(
            session, 3, type=ViolationType.SUSPECTED_CLONE, status=ViolationStatus.CONFIRMED,
            expected_territories=["B"], found_territory="A1", responsible_party="t1",
            gtin=G2, batch_id=3, opened_at=at(3), last_scan_at=at(4), scan_count=2),
        # No scan yet: last_scan sorts it by when it was opened (a tie with "clone").
        "unknown": add_violation(
            session, 4, type=ViolationType.UNKNOWN_CODE, status=ViolationStatus.OPEN,
            serial=None, opened_at=at(4), last_scan_at=None, scan_count=0),
        "recalled": add_violation(
            session, 5, type=ViolationType.RECALLED, status=ViolationStatus.DISMISSED,
            expected_territories=["B", "A"], found_territory="A", responsible_party="t1b",
            gtin=G2, batch_id=3, opened_at=at(5, 23, 59, 59, 999_999),
            last_scan_at=at(5, 23, 59, 59, 999_999), scan_count=4),
    }
    add_scan(session, ids["gd"], near_border=False)
    add_scan(session, ids["gd"], near_border=True)
    add_scan(session, ids["city"], near_border=False)
    return ids


def names(queue: dict[str, int], rows: list[Any]) -> list[str]:
    by_id = {v: k for k, v in queue.items()}
    return [by_id[r.id] for r in rows]


def listed(session: Any, queue: dict[str, int], args: dict[str, Any], *,
           sort: str = "newest", actor: Actor = SYSTEM) -> list[str]:
    page = list_queue(session, filters=parse_filter(args), sort=sort, actor=actor)
    assert page.next_cursor is None
    return names(queue, page.rows)


# --- filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ({}, ["recalled", "unknown", "clone", "city", "gd"]),
    ({"type": "diverted"}, ["city", "gd"]),
    ({"type": "diverted,recalled"}, ["recalled", "city", "gd"]),
    ({"type": ["recalled", "suspected_clone"]}, ["recalled", "clone"]),
    ({"status": "open"}, ["unknown", "gd"]),
    ({"status": "open,investigating"}, ["unknown", "city", "gd"]),
    ({"expected": "A"}, ["recalled", "city", "gd"]),  # A1 lies in A
    ({"expected": "A1"}, ["city"]),
    ({"expected": "B"}, ["recalled", "clone"]),
    ({"expected": "ROOT"}, ["recalled", "clone", "city", "gd"]),
    ({"expected": "NOWHERE"}, []),
    ({"found": "A"}, ["recalled", "clone"]),  # found in A1, which lies in A
    ({"found": "A1"}, ["clone"]),
    ({"found": "B"}, ["city", "gd"]),
    ({"found": "ROOT"}, ["recalled", "clone", "city", "gd"]),
    ({"party": "t1"}, ["clone", "gd"]),
    ({"gtin": G1}, ["city", "gd"]),
    ({"gtin": G2.lstrip("0")}, ["recalled", "clone"]),  # a GTIN-13 is padded to 14
    ({"batch": "3"}, ["recalled", "clone"]),
    ({"from": "2026-12-03"}, ["recalled", "unknown", "clone"]),
    ({"until": "2026-12-02"}, ["city", "gd"]),
    ({"from": "2026-12-05", "until": "2026-12-05"}, ["recalled"]),  # 23:59:59.999999
    ({"until": "2026-12-04"}, ["unknown", "clone", "city", "gd"]),
    ({"near_border": "yes"}, ["gd"]),
    ({"near_border": "no"}, ["recalled", "unknown", "clone", "city"]),
    ({"assignee": "alice"}, ["gd"]),
    ({"assignee": "-"}, ["recalled", "unknown", "clone"]),
    ({"assignee": "nobody"}, []),
    ({"type": "diverted", "found": "ROOT", "assignee": "bob"}, ["city"]),
])
def test_filter_selects_exactly(session, queue, args, expected):
    assert listed(session, queue, args) == expected


def test_row_carries_every_field(session, queue):
    row = list_queue(session, filters=QueueFilter(party="t1", types=(ViolationType.DIVERTED,)),
                     actor=SYSTEM).rows
    assert row == [violation_queue.QueueRow(
        id=queue["gd"], type=ViolationType.DIVERTED, status=ViolationStatus.OPEN,
        serial="SERIAL1", gtin=G1, batch_id=1, responsible_party="t1",
        expected_territories=["A"], found_territory="B", scan_count=4, opened_at=at(1),
        last_scan_at=at(3, 12), updated_at=T0, assignee="alice", near_border=True)]


# --- parsing query words -------------------------------------------------------------------


def test_parse_filter_reads_every_word():
    assert parse_filter({
        "type": ["diverted", "recalled,diverted"], "status": "open, investigating",
        "expected": "A", "found": " B ", "party": "t1", "gtin": G1, "batch": "7",
        "from": "2026-12-01", "until": "2026-12-31", "near_border": "No", "assignee": "-",
        "sort": "oldest", "unrelated": "x",
    }) == QueueFilter(
        types=(ViolationType.DIVERTED, ViolationType.RECALLED),
        statuses=(ViolationStatus.OPEN, ViolationStatus.INVESTIGATING),
        expected_territory="A", found_territory="B", party="t1", gtin=G1, batch_id=7,
        opened_from=DAY, opened_until=dt.date(2026, 12, 31), near_border=False,
        assignee="-")


@pytest.mark.parametrize("word", ["yes", "true", "1", "YES"])
def test_near_border_yes_words(word):
    assert parse_filter({"near_border": word}).near_border is True


def test_empty_words_set_no_condition():
    assert parse_filter({"type": "", "status": [",", ""], "from": " ", "assignee": ""}) \
        == QueueFilter()


@pytest.mark.parametrize("filters", [
    QueueFilter(),
    QueueFilter(types=(ViolationType.RECALLED, ViolationType.DIVERTED),
                statuses=(ViolationStatus.OPEN,), expected_territory="A",
                found_territory="B", party="t1", gtin=G1, batch_id=3, opened_from=DAY,
                opened_until=DAY, near_border=True, assignee="alice"),
    QueueFilter(near_border=False, assignee="-"),
])
def test_to_args_reads_back_to_the_same_filter(filters):
    assert parse_filter(filters.to_args()) == filters


def test_to_args_omits_empty_fields():
    assert QueueFilter(statuses=(ViolationStatus.OPEN, ViolationStatus.CONFIRMED),
                       opened_from=DAY, near_border=False).to_args() == {
        "status": "open,confirmed", "from": "2026-12-01", "near_border": "no"}


@pytest.mark.parametrize(("args", "message"), [
    ({"from": "2026-13-01"}, "from: '2026-13-01' is not a date (YYYY-MM-DD)"),
    ({"until": "20261201"}, "until: '20261201' is not a date (YYYY-MM-DD)"),
    ({"from": "2026-12-06", "until": "2026-12-05"},
     "until: '2026-12-05' is before from '2026-12-06'"),
    ({"type": "diverted,stolen"}, "type: 'stolen' is not a violation type; use one of: "
     "diverted, unknown_code, suspected_clone, recalled"),
    ({"status": ["open", "closed"]}, "status: 'closed' is not a violation status; use one "
     "of: open, investigating, confirmed, dismissed, resolved"),
    ({"batch": "x1"}, "batch: 'x1' is not a batch id (a positive number)"),
    ({"batch": "0"}, "batch: '0' is not a batch id (a positive number)"),
    ({"near_border": "maybe"}, "near_border: 'maybe' is not yes or no"),
    ({"gtin": "9520123456789"},
     "gtin: GTIN '9520123456789' has check digit 9; it should be 8"),
    ({"party": ["t1", "t2"]}, "party: give one value, not 2 ('t1', 't2')"),
])
def test_parse_filter_refuses_quoting_the_value(args, message):
    with pytest.raises(InvalidInput) as error:
        parse_filter(args)
    assert (error.value.code, error.value.message) == ("invalid_parameter", message)


# --- sorts and keyset pages ------------------------------------------------------------------


@pytest.mark.parametrize(("sort", "expected"), [
    ("newest", ["recalled", "unknown", "clone", "city", "gd"]),
    ("oldest", ["gd", "city", "clone", "unknown", "recalled"]),
    # "unknown" has no scan: it sorts by opening, a tie with "clone"'s last scan.
    ("last_scan", ["recalled", "unknown", "clone", "gd", "city"]),
    ("most_scans", ["recalled", "gd", "clone", "city", "unknown"]),  # 4, 4, 2, 1, 0
])
def test_sort_orders_rows(session, queue, sort, expected):
    assert listed(session, queue, {}, sort=sort) == expected


def tied(session: Any) -> list[tuple[int, dt.datetime, int]]:
    """Nine violations in three groups of equal opening time and scan count."""
    rows = []
    for n, (hour, scans) in enumerate([(1, 2), (1, 2), (1, 1), (2, 1), (2, 3), (2, 3),
                                       (3, 2), (3, 2), (3, 2)]):
        opened = at(1, hour)
        vid = add_violation(session, 100 + n, opened_at=opened, scan_count=scans,
                            last_scan_at=None if n % 2 else at(2, hour))
        rows.append((vid, opened, scans))
    return rows


def walk(session: Any, sort: str, limit: int, filters: QueueFilter = QueueFilter(),
         actor: Actor = SYSTEM) -> list[list[int]]:
    pages, after = [], None
    while True:
        page = list_queue(session, filters=filters, sort=sort, after=after, limit=limit,
                          actor=actor)
        pages.append([r.id for r in page.rows])
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 4])
@pytest.mark.parametrize("sort", list(violation_queue.SORTS))
def test_pages_walk_every_row_once_in_order_across_ties(session, sort, limit):
    rows = tied(session)
    last_scan = {vid: (at(2, o.hour) if n % 2 == 0 else o)
                 for n, (vid, o, _) in enumerate(rows)}
    key = {"newest": lambda r: (r[1], r[0]), "oldest": lambda r: (r[1], r[0]),
           "last_scan": lambda r: (last_scan[r[0]], r[0]),
           "most_scans": lambda r: (r[2], r[0])}[sort]
    expected = [r[0] for r in sorted(rows, key=key, reverse=sort != "oldest")]
    pages = walk(session, sort, limit)
    assert [vid for page in pages for vid in page] == expected
    assert [len(page) for page in pages] == [len(p) for p in
                                             [expected[i:i + limit]
                                              for i in range(0, len(expected), limit)]]


def test_last_page_that_fills_up_has_no_cursor(session):
    tied(session)
    assert [len(page) for page in walk(session, "newest", 3)] == [3, 3, 3]


def test_pages_keep_the_filter(session, queue):
    assert walk(session, "oldest", 1, parse_filter({"expected": "A"})) == [
        [queue["gd"]], [queue["city"]], [queue["recalled"]]]


def test_page_after_a_cursor_ignores_rows_opened_meanwhile(session, queue):
    first = list_queue(session, filters=QueueFilter(), limit=2, actor=SYSTEM)
    add_violation(session, 99, opened_at=at(9))
    second = list_queue(session, filters=QueueFilter(), after=first.next_cursor, limit=2,
                        actor=SYSTEM)
    assert names(queue, first.rows + second.rows) == ["recalled", "unknown", "clone", "city"]


def cursor_of(*parts: Any) -> str:
    import json

    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not a cursor!",
    "e30",  # {}
    cursor_of("oldest", "2026-12-01T09:00:00+00:00", 1),  # another sort's
    cursor_of("newest", "2026-12-01T09:00:00", 1),  # no timezone
    cursor_of("newest", "yesterday", 1),
    cursor_of("newest", "2026-12-01T09:00:00+00:00", "1"),
    cursor_of("most_scans", "3", 1),
])
def test_bad_cursor_is_refused(session, queue, cursor):
    with pytest.raises(InvalidInput) as error:
        list_queue(session, filters=QueueFilter(), after=cursor, actor=SYSTEM)
    assert (error.value.code, error.value.message) == (
        "invalid_parameter", f"after: '{cursor}' is not a cursor of this queue sorted by "
        "newest; start again from the first page")


def test_cursor_of_another_sort_is_refused(session, queue):
    cursor = list_queue(session, filters=QueueFilter(), sort="most_scans", limit=1,
                        actor=SYSTEM).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput, match="^after: '.*' is not a cursor of this queue "
                       "sorted by oldest; start again from the first page$"):
        list_queue(session, filters=QueueFilter(), sort="oldest", after=cursor, actor=SYSTEM)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sort": "random"},
     "sort: 'random' is not a sort; use one of: newest, oldest, last_scan, most_scans"),
    ({"limit": 0}, "limit: 0 is not between 1 and 500"),
    ({"limit": 501}, "limit: 501 is not between 1 and 500"),
])
def test_bad_sort_or_limit_is_refused(session, kwargs, message):
    with pytest.raises(InvalidInput) as error:
        list_queue(session, filters=QueueFilter(), actor=SYSTEM, **kwargs)
    assert (error.value.code, error.value.message) == ("invalid_parameter", message)


# --- counts ------------------------------------------------------------------------------------


def test_counts_per_status_ignore_the_status_condition(session, queue):
    filters = parse_filter({"type": "diverted,suspected_clone", "status": "open"})
    assert count_by_status(session, filters=filters, actor=SYSTEM) == {
        "open": 1, "investigating": 1, "confirmed": 1, "dismissed": 0, "resolved": 0}


def test_counts_of_an_empty_queue_are_zero(session):
    assert count_by_status(session, filters=QueueFilter(), actor=SYSTEM) == {
        "open": 0, "investigating": 0, "confirmed": 0, "dismissed": 0, "resolved": 0}


# --- who sees what -------------------------------------------------------------------------


def test_distributor_sees_only_its_own(session, queue):
    t1 = distributor("t1")
    assert listed(session, queue, {}, actor=t1) == ["clone", "gd"]
    assert listed(session, queue, {"party": "t2"}, actor=t1) == []
    assert count_by_status(session, filters=QueueFilter(), actor=t1) == {
        "open": 1, "investigating": 0, "confirmed": 1, "dismissed": 0, "resolved": 0}
    lines = list(csv.reader(io.StringIO("".join(export_csv(
        session, filters=QueueFilter(), sort="newest", actor=t1)))))
    assert [int(line[0]) for line in lines[1:]] == [queue["clone"], queue["gd"]]


@pytest.mark.parametrize("call", [
    lambda s: list_queue(s, filters=QueueFilter(), actor=INSPECTOR),
    lambda s: count_by_status(s, filters=QueueFilter(), actor=INSPECTOR),
    # Refused at the call, before a streamed response could start.
    lambda s: export_csv(s, filters=QueueFilter(), sort="newest", actor=INSPECTOR),
])
def test_inspector_is_refused(session, queue, call):
    with pytest.raises(PermissionDenied) as error:
        call(session)
    assert error.value.message == REFUSED_READ


# --- CSV ---------------------------------------------------------------------------------------


HEADER = ("id,type,status,serial,gtin,batch_id,responsible_party,expected_territories,"
          "found_territory,scan_count,opened_at,last_scan_at,assignee,near_border\r\n")


def test_csv_lines_are_the_queue_rows(session, queue):
    text = "".join(export_csv(session, filters=QueueFilter(), sort="last_scan", actor=SYSTEM))
    assert text.startswith(HEADER)
    lines = list(csv.reader(io.StringIO(text)))[1:]
    assert lines[3] == [str(queue["gd"]), "diverted", "open", "SERIAL1", G1, "1", "t1", "A",
                        "B", "4", "2026-12-01T09:00:00+00:00", "2026-12-03T12:00:00+00:00",
                        "alice", "true"]
    assert lines[0][7] == "B A" and lines[0][10] == "2026-12-05T23:59:59.999999+00:00"
    assert lines[1][3:8] == ["", "", "", "", ""] and lines[1][11:] == ["", "", "false"]
    rows = list_queue(session, filters=QueueFilter(), sort="last_scan", actor=SYSTEM).rows
    assert [line[0] for line in lines] == [str(r.id) for r in rows]


@pytest.mark.parametrize("sort", list(violation_queue.SORTS))
def test_csv_of_a_filter_equals_its_queue_across_batches(session, queue, monkeypatch, sort):
    monkeypatch.setattr(violation_queue, "EXPORT_BATCH", 2)
    tied(session)
    filters = parse_filter({"found": "ROOT"}) if sort == "oldest" else QueueFilter()
    chunks = list(export_csv(session, filters=filters, sort=sort, actor=SYSTEM))
    lines = list(csv.reader(io.StringIO("".join(chunks))))[1:]
    expected = [r.id for r in list_queue(session, filters=filters, sort=sort, limit=500,
                                         actor=SYSTEM).rows]
    assert [int(line[0]) for line in lines] == expected
    assert [chunk.count("\r\n") for chunk in chunks] == [1] + [2] * (len(expected) // 2) \
        + [1] * (len(expected) % 2)


def test_csv_quotes_values_with_commas(session):
    add_violation(session, 1, responsible_party='GD "Trading", Ltd')
    text = "".join(export_csv(session, filters=QueueFilter(), sort="newest", actor=SYSTEM))
    assert ',"GD ""Trading"", Ltd",' in text


def test_csv_streams_reading_rows_as_chunks_are_taken(session, queue, monkeypatch):
    monkeypatch.setattr(violation_queue, "EXPORT_BATCH", 2)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        chunks = export_csv(session, filters=QueueFilter(), sort="newest", actor=SYSTEM)
        assert statements == []
        assert next(chunks) == HEADER
        assert statements == []  # the header comes before the rows are asked for
        assert next(chunks).count("\r\n") == 2
        assert [chunk.count("\r\n") for chunk in chunks] == [2, 1]
        assert len([s for s in statements if "FROM violations" in s]) == 1
    finally:
        event.remove(bind, "before_cursor_execute", count)


# --- assignment --------------------------------------------------------------------------------


def audit(session: Any, violation_id: int) -> list[tuple[Any, ...]]:
    return [(a.actor, a.action, a.from_status, a.to_status, a.note, a.at)
            for a in session.scalars(select(ViolationAudit).where(
                ViolationAudit.violation_id == violation_id).order_by(ViolationAudit.id))]


def test_assign_sets_the_assignee_and_audits_each_change(session, queue):
    now = at(10)
    officer = Actor(name="carla", role=Role.COMPLIANCE)
    changed = assign(session, [queue["gd"], queue["clone"], queue["city"], queue["gd"]],
                     assignee="bob", actor=officer, now=now)
    assert changed == 2  # "city" was bob's already
    assert listed(session, queue, {"assignee": "bob"}) == ["clone", "city", "gd"]
    assert audit(session, queue["gd"]) == [
        ("carla", "assign", None, None, "assigned to bob", now)]
    assert audit(session, queue["city"]) == []
    assert session.get(Violation, queue["gd"]).updated_at == now


def test_assign_none_unassigns(session, queue):
    assert assign(session, [queue["gd"], queue["unknown"]], assignee=None, actor=SYSTEM,
                  now=at(10)) == 1
    assert listed(session, queue, {"assignee": "-"}) == ["recalled", "unknown", "clone", "gd"]
    assert audit(session, queue["gd"]) == [
        ("system", "assign", None, None, "unassigned", at(10))]


def test_assign_to_an_unknown_user_changes_nothing(session, queue):
    with pytest.raises(NotFound) as error:
        assign(session, [queue["clone"]], assignee="zoe", actor=SYSTEM)
    assert (error.value.code, error.value.message) == ("unknown_user",
                                                        "user 'zoe' does not exist")
    assert listed(session, queue, {"assignee": "-"}) == ["recalled", "unknown", "clone"]


@pytest.mark.parametrize("role", ["inspector", "distributor"])
def test_assign_only_to_people_who_work_cases(session, queue, role):
    party = None
    if role == "distributor":
        party = masterdata.create_party(session, id="d-field", name="Field", role=role,
                                        territories=[], parent=None, actor=SYSTEM).id
    create_user(session, name="field", role=role, party_id=party, actor=SYSTEM)
    with pytest.raises(InvalidInput) as error:
        assign(session, [queue["clone"]], assignee="field", actor=SYSTEM)
    assert (error.value.code, error.value.message) == (
        "invalid_assignee", "user 'field' cannot work cases: only active compliance officers"
        " and administrators can")
    assert listed(session, queue, {"assignee": "-"}) == ["recalled", "unknown", "clone"]


def test_assign_with_an_unknown_violation_changes_nothing(session, queue):
    with pytest.raises(NotFound) as error:
        assign(session, [queue["clone"], 9998, 9999], assignee="bob", actor=SYSTEM)
    assert (error.value.code, error.value.message) == (
        "unknown_violation", "no violation with id 9998, 9999")
    assert listed(session, queue, {"assignee": "bob"}) == ["city"]
    assert audit(session, queue["clone"]) == []


@pytest.mark.parametrize("actor", [distributor("t1"), INSPECTOR])
def test_only_compliance_assigns(session, queue, actor):
    with pytest.raises(PermissionDenied) as error:
        assign(session, [queue["gd"]], assignee="bob", actor=actor)
    assert error.value.message == (f"role '{actor.role.value}' may not assign violations; "
                                   "it needs one of: admin, compliance")


# --- the JSON API's list shares the filter ------------------------------------------------


def test_list_violations_territory_includes_the_territories_below(session, queue):
    rows, total = violations.list_violations(session, actor=SYSTEM, territory="A")
    assert ([v.id for v in rows], total) == ([queue["recalled"], queue["clone"]], 2)


def test_list_violations_keeps_its_offset_paging(session, queue):
    rows, total = violations.list_violations(session, actor=SYSTEM, status="open",
                                             type="diverted", limit=1, offset=0)
    assert ([v.id for v in rows], total) == ([queue["gd"]], 1)
    rows, total = violations.list_violations(session, actor=SYSTEM, limit=2, offset=3)
    assert total == 5 and len(rows) == 2
