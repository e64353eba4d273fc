"""The compliance pages at scale: server time of the queue, a case, the overview, the
reports and the CSV export on a database of 1,000,000 serials, 1,000,000 scans and
100,000 violations over 200 distributors.

    python bench/web_bench.py [--scale 1.0] [--repeat 20] [--export-repeat 3]
                              [--keep PATH] [--rebuild] [--postgres URL]

Set-up: the demo's maps (regions, Chinese provinces, US states, city boxes) and products
through the services; then straight through the driver (executemany on SQLite, COPY on
PostgreSQL, in batches): 200 distributors over the provinces and states in two tiers,
batches holding the serials, each serial shipped to and received by the tier-1
distributor of its batch's territory (a third of them on to a tier-2 one), violations
opened over the last 90 days (every type and status, some assigned) with 1-3 evidence
scans and an audit trail each, and authentic scans for the rest. ``--scale`` multiplies
the counts (not the distributors). The database is kept with ``--keep PATH`` (SQLite) or
stays in the ``--postgres`` database and is used again by the next run with the same
scale; ``--rebuild`` builds it afresh (on PostgreSQL its public schema is dropped!).

Measured in this process with Flask's test client on ``web.create_app`` (server time:
routing, the views' queries, templates; no sockets), signed in as a compliance user
(the reports' JSON with an admin's bearer token): each page ``--repeat`` times after one
warm-up request, p50 and p95. Baseline in the same run: ``GET /healthz``, the
framework's floor; each page's p50 is printed as a multiple of it.

The CSV export of every violation is streamed ``--export-repeat`` times: time to the
first byte (the header line), to the first chunk of rows, and to the end; then once
more under ``tracemalloc`` (Python allocations only) for its peak memory, beside the
peak of an export of about a tenth of the rows: memory bounded by the batch, not the
export, shows as two similar peaks.

Targets: p95 < 300 ms for every page and report; the export streams in bounded memory.
Prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import insert_plain_rows, make_engine, make_session_factory, table  # noqa: E402
from tracker.domain.codes import item_key  # noqa: E402
from tracker.domain.serials import generate_serials  # noqa: E402
from tracker.models import (  # noqa: E402
    Batch,
    CustodyMove,
    Party,
    Scan,
    Serial,
    Territory,
    User,
    Violation,
    ViolationAudit,
    party_territories,
)
from tracker.services import auth, custody, demo, masterdata, violation_queue  # noqa: E402
from tracker.services.auth import SYSTEM  # noqa: E402
from tracker.services.violation_filter import QueueFilter  # noqa: E402

SERIALS = 1_000_000
SCANS = 1_000_000
VIOLATIONS = 100_000
DISTRIBUTORS = 200
SERIALS_PER_BATCH = 5_000
DAYS = 90
# Rows per executemany / COPY, each batch in its own transaction: memory stays flat and
# SQLite's write-ahead log is copied back into the database as the build goes.
CHUNK = 50_000
TARGET_MS = 300.0
PAGE_SIZE = 50  # web.compliance.PAGE_SIZE
DEEP_PAGE = 500
DL_BASE = "https://id.example.com"

PASSWORD = "bench-compliance-pw"
COMPLIANCE = "bench-compliance"
ASSIGNEES = [f"bench-officer-{i}" for i in range(1, 6)]
ADMIN = "bench-admin"
INSPECTOR = "bench-inspector"
BRAND = demo.BRAND[0]
GTINS = [demo.demo_gtin(ref) for ref, _name in demo.PRODUCTS]

TYPES = [("diverted", 70), ("unknown_code", 12), ("suspected_clone", 12), ("recalled", 6)]
STATUSES = [("open", 50), ("investigating", 20), ("confirmed", 10), ("dismissed", 12),
            ("resolved", 8)]
CLOSED = {"dismissed", "resolved"}


@dataclasses.dataclass(frozen=True)
class Plan:
    serials: int
    scans: int
    violations: int
    distributors: int

    @classmethod
    def at(cls, scale: float) -> Plan:
        return cls(serials=max(SERIALS_PER_BATCH, round(SERIALS * scale)),
                   scans=max(1_000, round(SCANS * scale)),
                   violations=max(200, round(VIOLATIONS * scale)),
                   distributors=DISTRIBUTORS)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# --- building the database -----------------------------------------------------------


class Stamps:
    """Timestamps as the database stores them: naive UTC text on SQLite (as
    ``tracker.db.UTCDateTime`` writes it), with an offset for PostgreSQL's COPY."""

    def __init__(self, dialect: str) -> None:
        self.suffix = "" if dialect == "sqlite" else "+00"

    def __call__(self, moment: float) -> str:
        text_ = dt.datetime.fromtimestamp(moment, dt.UTC).replace(tzinfo=None).isoformat(
            " ", "microseconds")
        return text_ + self.suffix


def insert(engine: Engine, model: Any, columns: Sequence[str],
           rows: Iterator[tuple[Any, ...]]) -> int:
    """Rows in batches of ``CHUNK``, each batch one transaction; returns the count."""
    target = model if hasattr(model, "c") else table(model)
    done = 0
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            with engine.begin() as connection:
                insert_plain_rows(connection, target, columns, batch)
            done += len(batch)
            batch = []
    with engine.begin() as connection:
        insert_plain_rows(connection, target, columns, batch)
    return done + len(batch)


def weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclasses.dataclass
class Network:
    """What the generated rows refer to."""

    territory_ids: dict[str, int]
    boxes: dict[str, tuple[float, float, float, float]]  # code -> (lon0, lat0, lon1, lat1)
    leaves: list[str]  # provinces and states, where distributors sell
    tier1: dict[str, str]  # territory -> tier-1 distributor
    tier2: dict[str, list[str]]  # tier-1 distributor -> its tier-2 distributors
    users: dict[str, int]


def set_up_services(engine: Engine) -> Network:
    """Maps, products and users through the services (few rows; passwords hashed)."""
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        demo.load_maps(session)
        for gtin, (_ref, name) in zip(GTINS, demo.PRODUCTS, strict=True):
            masterdata.create_product(session, gtin=gtin, name=name,
                                      company_prefix_length=len(demo.BRAND_PREFIX),
                                      actor=SYSTEM)
        masterdata.create_party(session, id=BRAND, name=demo.BRAND[1], role="brand",
                                territories=["CN", "US"], parent=None, actor=SYSTEM)
        users = {}
        for name, role in [(COMPLIANCE, "compliance"), *[(n, "compliance") for n in ASSIGNEES],
                           (ADMIN, "admin"), (INSPECTOR, "inspector")]:
            user, _token = auth.create_user(session, name=name, role=role,
                                            password=PASSWORD if name == COMPLIANCE else None,
                                            actor=SYSTEM)
            users[name] = user.id
        rows = session.execute(select(Territory.code, Territory.id, Territory.parent_id,
                                      Territory.min_lon, Territory.min_lat,
                                      Territory.max_lon, Territory.max_lat)).all()
    ids = {code: tid for code, tid, *_ in rows}
    parents = {tid: parent for _code, tid, parent, *_ in rows}
    boxes = {code: (x0, y0, x1, y1) for code, _tid, _p, x0, y0, x1, y1 in rows
             if x0 is not None}
    top = {ids["CN"], ids["US"]}
    leaves = sorted(code for code, tid, *_ in rows
                    if parents[tid] in top and re.fullmatch(r"[A-Z]{2}-[A-Z]{2}", code))
    return Network(ids, boxes, leaves, {}, {}, users)


def fill(engine: Engine, plan: Plan, rng: random.Random, log: Callable[[str], None]) -> None:
    dialect = engine.dialect.name
    stamp = Stamps(dialect)
    net = set_up_services(engine)
    end = time.time()
    start = end - DAYS * 86_400

    # Distributors: one tier-1 per province or state, the rest tier 2 below them, in
    # the same territory.
    parties, areas = [], []
    for i in range(plan.distributors):
        pid = demo.pgln(f"{30000 + i:05d}")
        if i < len(net.leaves):
            area, parent, tier = net.leaves[i], BRAND, 1
            net.tier1[area] = pid
        else:
            area = net.leaves[i % len(net.leaves)]
            parent, tier = net.tier1[area], 2
            net.tier2.setdefault(parent, []).append(pid)
        parties.append((pid, f"Distributor {i:03d} ({area})", "distributor", tier, parent,
                        stamp(start - 86_400)))
        areas.append((pid, net.territory_ids[area]))
    insert(engine, Party, ("id", "name", "role", "tier", "parent_id", "created_at"),
           iter(parties))
    insert(engine, party_territories, ("party_id", "territory_id"), iter(areas))

    # Batches: each of one product for one province or state; two recalled.
    n_batches = plan.serials // SERIALS_PER_BATCH
    batches = []
    batch_area = {}
    for b in range(1, n_batches + 1):
        area = net.leaves[b % len(net.leaves)]
        batch_area[b] = area
        recalled = b in (1, 2)
        issued = start - 86_400 * 10
        batches.append((b, GTINS[b % len(GTINS)], net.territory_ids[area], SERIALS_PER_BATCH,
                        BRAND, f"B{b:05d}", "recalled" if recalled else "issued", "system",
                        stamp(issued), stamp(issued + 86_400) if recalled else None,
                        "bench recall" if recalled else None))
    insert(engine, Batch, ("id", "gtin", "territory_id", "quantity", "owner_party_id", "lot",
                           "status", "issued_by", "issued_at", "recalled_at",
                           "recall_reason"), iter(batches))

    # Serials: reproducible from the seed (a collision is a 1e-9 chance: the primary
    # key would say so).
    serials = generate_serials(n_batches * SERIALS_PER_BATCH,
                               random_source=random.Random(rng.random()).randbytes)
    started = time.perf_counter()
    insert(engine, Serial, ("serial", "batch_id"),
           ((s, 1 + n // SERIALS_PER_BATCH) for n, s in enumerate(serials)))
    log(f"  serials {len(serials):,}  {time.perf_counter() - started:6.1f} s")

    def batch_of(n: int) -> int:
        return 1 + n // SERIALS_PER_BATCH

    def gtin_of(n: int) -> str:
        return GTINS[batch_of(n) % len(GTINS)]

    def holders(n: int) -> tuple[str, str | None]:
        """The tier-1 distributor of the serial and, for a third, the tier-2 one below."""
        first = net.tier1[batch_area[batch_of(n)]]
        below = net.tier2.get(first)
        return first, (below[n % len(below)] if below and n % 3 == 0 else None)

    def holder(n: int) -> str:
        first, second = holders(n)
        return second or first

    def moves() -> Iterator[tuple[Any, ...]]:
        # In the order of the item keys, so the (key, at) index is appended to, not
        # split all over (twice as fast to build).
        for n in sorted(range(len(serials)), key=lambda n: (gtin_of(n), serials[n])):
            key = item_key(gtin_of(n), serials[n])
            at = start + rng.random() * (DAYS - 12) * 86_400
            first, second = holders(n)
            yield key, "ship", BRAND, first, stamp(at)
            yield key, "receive", BRAND, first, stamp(at + 7_200)
            if second is not None:
                at += 86_400 * (1 + rng.random() * 10)
                yield key, "ship", first, second, stamp(at)
                yield key, "receive", first, second, stamp(at + 3_600)

    started = time.perf_counter()
    count = insert(engine, CustodyMove, ("key", "kind", "from_party", "to_party", "at"),
                   moves())
    log(f"  custody moves {count:,}  {time.perf_counter() - started:6.1f} s")
    started = time.perf_counter()
    with make_session_factory(engine)() as session, session.begin():
        custody.recount_receipts(session)  # what receiving them would have counted
    log(f"  receipts counted for the reports  {time.perf_counter() - started:6.1f} s")

    def point(code: str | None) -> tuple[float, float, bool]:
        """(lat, lon, near_border) inside the territory's box (the open sea for None)."""
        if code is None:
            return 18.0 + rng.random(), 116.0 + rng.random(), False
        x0, y0, x1, y1 = net.boxes[code]
        u, v = 0.3 + 0.4 * rng.random(), 0.3 + 0.4 * rng.random()
        return y0 + v * (y1 - y0), x0 + u * (x1 - x0), rng.random() < 0.1

    inspector = net.users[INSPECTOR]
    scan_id = 0

    def scan(n_or_serial: int | str, verdict: str, at: float, expected: list[str],
             found: str | None, party: str | None, violation_id: int | None
             ) -> tuple[Any, ...]:
        nonlocal scan_id
        scan_id += 1
        if isinstance(n_or_serial, int):
            serial, gtin = serials[n_or_serial], gtin_of(n_or_serial)
        else:
            serial, gtin = n_or_serial, GTINS[0]
        lat, lon, near = point(found)
        expected_json = json.dumps(expected)
        return (scan_id, f"s{scan_id}", inspector, f"{DL_BASE}/01/{gtin}/21/{serial}",
                "digital_link", gtin, serial, item_key(gtin, serial), lat, lon,
                10.0 + 40 * rng.random(), f"device-{scan_id % 97}", stamp(at),
                stamp(at + 1.5), verdict, near, expected_json, found, party, violation_id,
                "[]", json.dumps({"verdict": verdict}))

    scan_columns = ("id", "client_scan_id", "inspector_id", "code", "form", "gtin", "serial",
                    "key", "latitude", "longitude", "accuracy_m", "device_id", "scanned_at",
                    "received_at", "verdict", "near_border", "expected_territories",
                    "found_territory", "responsible_party", "violation_id", "flags",
                    "response")

    # Violations, each about a serial of its own (one open violation per serial and type).
    picked = rng.sample(range(len(serials)), plan.violations)
    recalled_serials = list(range(0, min(2 * SERIALS_PER_BATCH, len(serials))))
    assignees = [net.users[n] for n in ASSIGNEES]
    violations, audits, evidence = [], [], []
    fake = generate_serials(plan.violations, random_source=random.Random(7).randbytes)
    for vid, n in enumerate(picked, start=1):
        kind = weighted(rng, TYPES)
        status = weighted(rng, STATUSES)
        opened = end - rng.random() * DAYS * 86_400
        times = [opened] + sorted(opened + rng.random() * (end - opened)
                                  for _ in range(rng.choice((0, 0, 1, 2))))
        if kind == "recalled":
            n = rng.choice(recalled_serials)
        if kind == "unknown_code":
            serial, gtin, batch, party = fake[vid - 1], GTINS[0], None, None
            expected: list[str] = []
            found: str | None = rng.choice(net.leaves)
            subject: int | str = serial
        else:
            serial, gtin, batch, party = serials[n], gtin_of(n), batch_of(n), holder(n)
            expected = [batch_area[batch]]
            if kind == "diverted":
                found = rng.choice([c for c in net.leaves if c != expected[0]] + [None])
            else:
                found = expected[0] if rng.random() < 0.5 else rng.choice(net.leaves)
            subject = n
        updated = times[-1] if status == "open" else min(end, times[-1] + 3_600)
        assignee = rng.choice(assignees) if rng.random() < 0.3 else None
        violations.append((vid, item_key(gtin, serial), serial, gtin, kind, status, batch,
                           party, json.dumps(expected), found, len(times), stamp(opened),
                           stamp(times[-1]), stamp(updated), assignee))
        for k, at in enumerate(times):
            evidence.append(scan(subject, kind, at, expected, found, party, vid))
            audits.append((vid, stamp(at), INSPECTOR, "opened" if k == 0 else "evidence",
                           None, None, f"scan {scan_id}"))
        if status != "open":
            audits.append((vid, stamp(updated), COMPLIANCE, "status", "open", status,
                           "bench review"))
    # A recalled serial can be picked twice: keep one open violation per key and type.
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(violations):
        if row[5] not in CLOSED:
            if (row[1], row[4]) in seen:
                violations[i] = row[:5] + ("dismissed",) + row[6:]
            seen.add((row[1], row[4]))
    started = time.perf_counter()
    insert(engine, Violation, ("id", "key", "serial", "gtin", "type", "status", "batch_id",
                               "responsible_party", "expected_territories", "found_territory",
                               "scan_count", "opened_at", "last_scan_at", "updated_at",
                               "assignee_id"), iter(violations))
    insert(engine, ViolationAudit, ("violation_id", "at", "actor", "action", "from_status",
                                    "to_status", "note"), iter(audits))
    log(f"  violations {len(violations):,}, audit rows {len(audits):,}, evidence scans "
        f"{len(evidence):,}  {time.perf_counter() - started:6.1f} s")
    del violations, audits

    def authentic() -> Iterator[tuple[Any, ...]]:
        yield from evidence
        for _ in range(plan.scans - len(evidence)):
            n = rng.randrange(len(serials))
            area = batch_area[batch_of(n)]
            yield scan(n, "authentic", end - rng.random() * DAYS * 86_400, [area], area,
                       holder(n), None)

    started = time.perf_counter()
    count = insert(engine, Scan, scan_columns, authentic())
    log(f"  scans {count:,}  {time.perf_counter() - started:6.1f} s")
    if dialect == "postgresql":
        with engine.begin() as connection:
            # COPY with explicit ids leaves the sequences behind.
            for name in ("scans", "violations"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', "
                                        f"'id'), (SELECT max(id) FROM {name}))"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def built(engine: Engine, plan: Plan) -> bool:
    """The database holds what this plan builds (a cheap check: users and counts)."""
    try:
        with engine.connect() as connection:
            users = connection.scalar(select(func.count()).select_from(User)
                                      .where(User.name == COMPLIANCE))
            violations = connection.scalar(select(func.count()).select_from(Violation))
            scans = connection.scalar(select(func.max(Scan.id)))
    except Exception:  # no schema yet
        return False
    return users == 1 and violations == plan.violations and scans == plan.scans


def database(url: str, plan: Plan, rebuild: bool, rng: random.Random) -> Engine:
    engine = make_engine(url)
    if not rebuild and built(engine, plan):
        # Migrations added since it was built (an index, say) apply to it as to a
        # production database.
        migrate.upgrade(engine)
        print(f"using the database built before: {engine.url.render_as_string()} "
              f"(schema revision {migrate.current(engine)})", flush=True)
        return engine
    print(f"building: {plan.serials:,} serials, {plan.scans:,} scans, "
          f"{plan.violations:,} violations, {plan.distributors} distributors", flush=True)
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        # A new file: dropping the tables of a full one one by one trips their foreign
        # keys and takes longer than building.
        engine.dispose()
        database_path = Path(engine.url.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database_path}{suffix}").unlink(missing_ok=True)
        migrate.upgrade(engine)
    else:
        migrate.rebuild(engine)
    fill(engine, plan, rng, lambda line: print(line, flush=True))
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    return engine


# --- measuring --------------------------------------------------------------------------


@dataclasses.dataclass
class Timing:
    label: str
    path: str
    times: list[float]
    note: str = ""

    @property
    def p50(self) -> float:
        return percentile(self.times, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)


def csrf_of(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    return match.group(1)


def sign_in(client: FlaskClient, name: str, password: str) -> None:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": name, "password": password,
                                         "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"signing in as {name} answered {answer.status_code}")


def timed(client: FlaskClient, label: str, paths: Sequence[str], repeat: int,
          headers: dict[str, str] | None = None, note: str = "") -> Timing:
    """Each request read to its end; one warm-up request first. Several paths are
    taken in turn (a page of each of several cases)."""
    first = client.get(paths[0], headers=headers)
    if first.status_code != 200:
        raise RuntimeError(f"{paths[0]} answered {first.status_code}: "
                           f"{first.get_data(as_text=True)[:300]}")
    times = []
    for i in range(repeat):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        answer.get_data()
        times.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
    return Timing(label, paths[0], times, note)


def deep_cursor(engine: Engine, page: int, actor: auth.Actor) -> str | None:
    """The ``after`` of the queue's page ``page`` (newest first), collected through the
    service in steps of up to its largest page rather than 50 rows at a time."""
    remaining = (page - 1) * PAGE_SIZE
    cursor = None
    with make_session_factory(engine)() as session:
        while remaining:
            step = min(violation_queue.MAX_LIMIT, remaining)
            cursor = violation_queue.list_queue(session, filters=QueueFilter(),
                                                sort="newest", after=cursor, limit=step,
                                                actor=actor).next_cursor
            remaining -= step
    return cursor


NEXT_LINK = re.compile(r'<a[^>]*data-action="next-page"[^>]*href="[^"]*after=([^"&]+)')


def stream(client: FlaskClient, path: str) -> tuple[float, float, float, int, int]:
    """(first byte, first chunk of rows, total) seconds, bytes and lines of one export."""
    started = time.perf_counter()
    answer = client.get(path, buffered=False)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}")
    first_byte = first_rows = 0.0
    size = lines = 0
    try:
        for chunk in answer.response:
            if not chunk:
                continue
            now = time.perf_counter() - started
            if not first_byte:
                first_byte = now
            elif not first_rows:
                first_rows = now
            size += len(chunk)
            lines += chunk.count(b"\n")
    finally:
        answer.close()
    return first_byte, first_rows or first_byte, time.perf_counter() - started, size, lines


def traced_peak(client: FlaskClient, path: str) -> tuple[int, int, int]:
    """tracemalloc's peak over one streamed export (what Python allocated while the
    request ran, above what it held before), the CSV's bytes and lines."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _fb, _fr, _total, size, lines = stream(client, path)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, size, lines


def explain(engine: Engine, statement: Any) -> list[str]:
    """The database's plan of a Core statement, literal values bound."""
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + sql).all()
    if engine.dialect.name == "sqlite":
        return [str(row[3]) for row in rows]
    return [row[0] for row in rows]


def bench(engine: Engine, url: str, plan: Plan, repeat: int, export_repeat: int,
          show_plans: bool) -> None:
    from web import create_app

    with engine.connect() as connection:
        ends = connection.execute(select(func.min(Violation.opened_at),
                                         func.max(Violation.opened_at))).one()
        party = connection.scalar(select(Violation.responsible_party)
                                  .where(Violation.responsible_party.is_not(None))
                                  .group_by(Violation.responsible_party)
                                  .order_by(func.count().desc()).limit(1))
        cases = list(connection.scalars(select(Violation.id).where(
            Violation.type == "diverted", Violation.scan_count == 3,
            Violation.found_territory.is_not(None)).order_by(Violation.id).limit(20)))
        total = connection.scalar(select(func.count()).select_from(Violation)) or 0
    first_day, last_day = (_as_datetime(ends[0]).date(), _as_datetime(ends[1]).date())
    with make_session_factory(engine)() as session, session.begin():
        compliance = auth.actor_for(session.scalars(select(User)
                                                    .where(User.name == COMPLIANCE)).one())
        token = auth.issue_token(session, session.scalars(select(User)
                                                          .where(User.name == ADMIN)).one())

    app = create_app({"SECRET_KEY": "bench"},
                     settings=Settings(database_url=url, secret_key="bench"))
    client = app.test_client()
    sign_in(client, COMPLIANCE, PASSWORD)
    bearer = {"Authorization": f"Bearer {token}"}

    pages = max(1, math.ceil(total / PAGE_SIZE))
    deep = min(DEEP_PAGE, pages)
    started = time.perf_counter()
    cursor = deep_cursor(engine, deep, compliance) if deep > 1 else None
    collected = time.perf_counter() - started
    first_page = client.get("/compliance/violations").get_data(as_text=True)
    linked = NEXT_LINK.search(first_page)
    with make_session_factory(engine)() as session:
        second = violation_queue.list_queue(session, filters=QueueFilter(), limit=PAGE_SIZE,
                                            actor=compliance).next_cursor
    if linked is None or linked.group(1) != second:
        print(f"note: the first page's next-page link ({linked and linked.group(1)}) is not "
              f"the service's cursor ({second})")

    filtered = {"type": "diverted", "status": "open,investigating", "found": "CN",
                "from": (last_day - dt.timedelta(days=60)).isoformat()}
    expected = {"expected": "US", "near_border": "yes", "sort": "most_scans"}
    by_party = {"party": party, "status": "open", "sort": "last_scan"}
    month = {"since": (last_day - dt.timedelta(days=29)).isoformat(),
             "until": last_day.isoformat()}
    quarter = {"since": first_day.isoformat(), "until": last_day.isoformat()}
    if not cases:
        raise RuntimeError("no diverted violation with three scans to open as a case")

    dialect = engine.dialect.name
    print(f"== web bench on {dialect}: {total:,} violations; {repeat} requests per page "
          f"after one warm-up; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ==", flush=True)
    print(f"page {deep}'s cursor collected through list_queue in {collected:.1f} s")
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'p50/healthz':>12}  notes")
    results: list[Timing] = []

    def measure(label: str, paths: Sequence[str], note: str = "",
                headers: dict[str, str] | None = None) -> None:
        """Time a page and print its row at once (a slow page shows while it runs)."""
        r = timed(client, label, paths, repeat, headers=headers, note=note)
        results.append(r)
        print(f"{r.label:<32} {ms(r.p50)} {ms(r.p95)} {r.p50 / results[0].p50:11.0f}x  "
              f"{r.note}", flush=True)

    queue = "/compliance/violations"
    measure("GET /healthz (baseline)", ["/healthz"])
    measure("overview", ["/compliance/"])
    measure("queue, first page", [queue])
    measure("queue, filtered", [f"{queue}?{urlencode(filtered)}"],
            "type, status, found region, from")
    measure("queue, filtered 2", [f"{queue}?{urlencode(expected)}"],
            "expected region, near border, most scans")
    measure("queue, filtered 3", [f"{queue}?{urlencode(by_party)}"],
            "party, open, last scan")
    if cursor is not None:
        measure(f"queue, page {deep}", [f"{queue}?after={cursor}"])
    measure("violation page", [f"{queue}/{c}" for c in cases], f"{len(cases)} cases in turn")
    measure("violation map.json", [f"{queue}/{c}/map.json" for c in cases],
            f"{len(cases)} cases in turn")
    report_page = client.get("/compliance/reports/").status_code
    if report_page == 200:
        for period, words in (("30 days", month), ("90 days", quarter)):
            measure(f"report page, {period}", [f"/compliance/reports/?{urlencode(words)}"],
                    "over time, scorecard")
            measure(f"report flow table, {period}",
                    [f"/compliance/reports/flows-table?{urlencode(words)}"],
                    "loaded by the page after it")
        measure("report flows-map.json, 90 days",
                [f"/compliance/reports/flows-map.json?{urlencode(quarter)}"])
    for name in ("flows", "scorecard"):
        for period, words in (("30 days", month), ("90 days", quarter)):
            measure(f"report {name}, {period}",
                    [f"/api/v1/reports/{name}?{urlencode(words)}"], "JSON, bearer token",
                    headers=bearer)
    if report_page != 200:
        print(f"report pages: GET /compliance/reports/ answers {report_page} (not built "
              "yet): the reports' JSON endpoints are timed instead")

    # The export: every violation, newest first; then about a tenth (the last 9 days).
    everything = "/compliance/violations.csv"
    recent = "/compliance/violations.csv?" + urlencode(
        {"from": (last_day - dt.timedelta(days=8)).isoformat()})
    stream(client, recent)  # warm-up
    runs = [stream(client, everything) for _ in range(export_repeat)]
    size, lines = runs[0][3], runs[0][4]
    print(f"CSV export of {lines - 1:,} rows ({size / 1e6:.1f} MB), {export_repeat} runs: "
          f"first byte (header) p50 {ms(statistics.median(r[0] for r in runs)).strip()} ms, "
          f"first rows p50 {ms(statistics.median(r[1] for r in runs)).strip()} ms, "
          f"total p50 {statistics.median(r[2] for r in runs):.2f} s "
          f"({(lines - 1) / statistics.median(r[2] for r in runs):,.0f} rows/s)")
    small_peak, small_size, small_lines = traced_peak(client, recent)
    big_peak, big_size, big_lines = traced_peak(client, everything)
    print(f"CSV export peak memory (tracemalloc peak over the request, Python allocations): "
          f"{big_peak / 1e6:.1f} MB for {big_lines - 1:,} rows ({big_size / 1e6:.1f} MB); "
          f"{small_peak / 1e6:.1f} MB for {small_lines - 1:,} rows "
          f"({small_size / 1e6:.1f} MB)")

    print("targets:")
    for r in results[1:]:
        verdict = "met" if r.p95 * 1000 < TARGET_MS else "NOT met"
        print(f"  {r.label:<32} p95 {ms(r.p95).strip():>7} ms < {TARGET_MS:.0f} ms: {verdict}")
    bounded = big_peak < 2 * small_peak + 4e6 and big_peak < big_size / 4
    print(f"  {'CSV export, bounded memory':<32} peak {big_peak / 1e6:.1f} MB for "
          f"{big_size / 1e6:.1f} MB of CSV, {small_peak / 1e6:.1f} MB for a tenth: "
          f"{'met' if bounded else 'NOT met'}")
    slow = [r for r in results[1:] if r.p95 * 1000 >= TARGET_MS]
    if show_plans and slow:
        print_plans(engine, compliance, slow, filtered, expected, by_party)


def print_plans(engine: Engine, actor: auth.Actor, slow: Sequence[Timing],
                filtered: dict[str, str], expected: dict[str, str],
                by_party: dict[str, str]) -> None:
    """The plan of the queue's page query for each slow queue page."""
    from tracker.services.violation_filter import parse_filter

    words = {"queue, first page": {}, "queue, filtered": filtered,
             "queue, filtered 2": expected, "queue, filtered 3": by_party}
    for r in slow:
        if r.label not in words:
            continue
        args = dict(words[r.label])
        sort = args.pop("sort", "newest")
        filters = parse_filter({k: [v] for k, v in args.items()})
        order = violation_queue._sort(sort)
        statement = violation_queue._rows(violation_queue._keys(filters, order, actor),
                                          order, after=None, limit=PAGE_SIZE + 1)
        print(f"plan of {r.label}'s rows:")
        for line in explain(engine, statement):
            print(f"    {line}")
        counts = violation_queue.visible(
            select(Violation.status, func.count()).where(
                *violation_queue.conditions(filters, statuses=False))
            .group_by(Violation.status), actor)
        print(f"plan of {r.label}'s counts per status:")
        for line in explain(engine, counts):
            print(f"    {line}")


def _as_datetime(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the serials, scans and violations (default 1.0: "
                             "1,000,000 / 1,000,000 / 100,000)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed requests per page (default 20)")
    parser.add_argument("--export-repeat", type=int, default=3,
                        help="timed CSV exports (default 3)")
    parser.add_argument("--keep", metavar="PATH",
                        help="SQLite file to build once and use again (default: a "
                             "temporary one, deleted afterwards)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the database afresh even if it holds this scale's data")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on this PostgreSQL database (kept between runs; "
                             "--rebuild drops its public schema)")
    parser.add_argument("--no-plans", action="store_true",
                        help="do not print the query plans of queue pages over target")
    args = parser.parse_args()
    plan = Plan.at(args.scale)
    rng = random.Random(20261206)
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        if args.postgres:
            url = args.postgres
        else:
            path = Path(args.keep).resolve() if args.keep else Path(tmp) / "web.db"
            url = f"sqlite:///{path}"
        if make_url(url).get_backend_name() not in ("sqlite", "postgresql"):
            parser.error(f"{url}: SQLite or PostgreSQL only")
        engine = database(url, plan, args.rebuild, rng)
        try:
            bench(engine, url, plan, args.repeat, args.export_repeat, not args.no_plans)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
