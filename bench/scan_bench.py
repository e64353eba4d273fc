"""Field-scan verdicts per second: through the service, and over HTTP against two Flask +
sqlite3 endpoints served the same way: a minimal one and one doing the same SQL.

    python bench/scan_bench.py [--quick] [--requests N] [--clients 16] [--serials N]
                               [--postgres URL]

Set-up: the real maps (regions, Chinese provinces, US states, city boxes), a brand and
distributors, one batch of serials in CN-GD with custody down two tiers (and on to an
unauthorised retailer in Zhejiang) for some of them, and an inspector user.

1. ``scans.record_scan`` with the inspector's actor, one transaction per scan as one
   request has: scans/s, over a mix of points inside, outside and near the borders, in
   open sea, and of unknown, mistyped and wrong-GTIN codes.
   Then a hot code: ``--hot`` scans (default 100,000) of one code stored in bulk over
   the last 20 hours, Beijing, Guangzhou and Shanghai in turn (a copied label), and
   scans of it taken in turn with scans of codes never scanned: the time of each, and
   the ratio of their medians (target <= 1.5: a scan costs the same however often its
   code was scanned).
2. ``tracker serve`` (gunicorn, default workers and threads) hit by ``--clients``
   keep-alive clients POSTing /api/v1/scans: requests/s, p50/p99 latency, errors.
3. Baseline, same run: a minimal Flask app (``minimal_app`` below: parse the JSON, read
   the serial by primary key, insert a scan row, commit) served by gunicorn with the
   same settings, hit by the same load. Both servers stay up and take turns for
   ``--rounds`` rounds, so a drift in the machine's speed shows in both; each round's
   ratio and the median are printed.
4. Second baseline, same run and same turns: ``same_work_app`` runs the tracker's own
   SQL for each scan (the item, its hand-offs, the clone read, the scan, the violation
   upsert, the scan's link to it, the audit entry) on a copy of the tracker's database
   with plain sqlite3 and no judging. It splits the gap to the minimal endpoint into
   what the stored facts cost the database and what the tracker's Python adds.

Targets: tracker >= half the same-work endpoint's throughput, p99 < 50 ms, no errors.
(The first target, half the minimal endpoint's, proved out of reach: the same-work
endpoint alone reaches about 0.65 of the minimal one, so it left the judging about a
quarter of the time. See README, "Benchmarks".)

The load generator runs in this process and shares the machine's cores with the server;
its CPU time is printed with each run. Prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify, request  # noqa: E402

MINIMAL_DB_ENV = "SCAN_BENCH_MINIMAL_DB"
MINIMAL_DDL = [
    "CREATE TABLE IF NOT EXISTS serials (serial VARCHAR(20) NOT NULL PRIMARY KEY, "
    "batch_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS scans (id INTEGER PRIMARY KEY, code TEXT NOT NULL, "
    "serial VARCHAR(20), batch_id INTEGER, latitude FLOAT NOT NULL, longitude FLOAT NOT NULL, "
    "accuracy_m FLOAT, device_id VARCHAR(200), client_scan_id VARCHAR(200), "
    "received_at VARCHAR(40) NOT NULL)",
]


# --- the baseline: the least a scan endpoint can do ----------------------------------


def per_thread(path: str, **options: Any) -> Callable[[], sqlite3.Connection]:
    """One sqlite3 connection per thread, as the tracker's request threads keep theirs,
    in WAL mode as the tracker's."""
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            c = sqlite3.connect(path, timeout=30, **options)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            local.connection = c
        return local.connection

    return connection


def baseline_app(name: str) -> Flask:
    """A Flask app with the health check the bench waits for."""
    app = Flask(name)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app


def minimal_app() -> Flask:
    """Gunicorn factory (``bench.scan_bench:minimal_app()``): one POST endpoint."""
    connection = per_thread(os.environ[MINIMAL_DB_ENV])
    app = baseline_app("minimal_scans")

    @app.post("/api/v1/scans")
    def post_scan() -> Any:
        body = request.get_json()
        code = body["code"]
        serial = code.rsplit("/", 1)[-1]
        c = connection()
        row = c.execute("SELECT batch_id FROM serials WHERE serial = ?", (serial,)).fetchone()
        with c:  # commits
            cursor = c.execute(
                "INSERT INTO scans (code, serial, batch_id, latitude, longitude, accuracy_m, "
                "device_id, client_scan_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "datetime('now'))",
                (code, serial, row[0] if row else None, float(body["latitude"]),
                 float(body["longitude"]), body.get("accuracy_m"), body.get("device_id"),
                 body.get("client_scan_id")))
        return jsonify({"scan_id": cursor.lastrowid, "known": row is not None}), 201

    return app


# --- the second baseline: the same statements as a scan, without the judging -------------

SAME_WORK_DB_ENV = "SCAN_BENCH_SAME_WORK_DB"
# Guangdong's bounding box: the same-work endpoint's stand-in for the territory test, so
# about as many of its scans open or extend a violation as the tracker's do.
GUANGDONG_BOX = (20.2, 25.6, 109.6, 117.4)


def same_work_app() -> Flask:
    """Gunicorn factory (``bench.scan_bench:same_work_app()``): one POST endpoint that runs
    the tracker's own SQL for a scan on a copy of its database (the item with its batch,
    custody and owner's territories; the hand-offs of an item that moved; the clone
    read; the scan, and for a suspicious one the violation upsert, the scan's link to it
    and the audit entry), reading as the tracker does and writing in one transaction,
    with plain sqlite3 and no judging: a point in Guangdong's bounding box with a known
    serial and its own GTIN counts as authentic.
    What the tracker does on top of it is its own Python: parsing, geometry, the
    verdict rules, column conversions, authentication."""
    from tracker.db import make_engine
    from tracker.services import clone_frontier, scans, violations

    dialect = make_engine("sqlite://").dialect

    def prepared(statement: Any) -> tuple[str, list[str], dict[str, Any]]:
        form = statement.form(dialect)
        return form.sql, [name for name, _ in form.slots], form.defaults

    statements = {name: prepared(statement) for name, statement in [
        ("item", scans._ITEM), ("handoffs", scans._HANDOFFS), ("live", clone_frontier._LIVE),
        ("latest", clone_frontier._LATEST), ("keep", clone_frontier._KEEP),
        ("forget", clone_frontier._FORGET),
        ("earlier", scans._EARLIER), ("scan", scans._INSERT_SCAN),
        ("set_violation", scans._SET_VIOLATION), ("upsert", violations._UPSERT),
        ("audit", violations._INSERT_AUDIT)]}
    path = os.environ[SAME_WORK_DB_ENV]
    connection = per_thread(path, isolation_level=None)  # its own BEGIN and COMMIT

    def run(c: sqlite3.Connection, name: str, values: dict[str, Any]) -> list[Any]:
        sql, names, defaults = statements[name]
        given = {**defaults, **values}
        return c.execute(sql, [given[n] for n in names]).fetchall()

    inspector = sqlite3.connect(path).execute(
        "SELECT id FROM users WHERE name = 'bench-inspector'").fetchone()[0]
    south, north, west, east = GUANGDONG_BOX
    app = baseline_app("same_work_scans")

    @app.post("/api/v1/scans")
    def post_scan() -> Any:
        body = json.loads(request.get_data())
        code = body["code"]
        gtin, serial = code.split("/01/")[-1].split("/21/")
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
        c = connection()
        rows = run(c, "item", {"serial": serial})
        key = f"01/{gtin}/21/{serial}"
        if rows and rows[0][8] is not None:  # moved: the item again and its hand-offs
            c.execute("BEGIN")
            rows = run(c, "item", {"serial": serial})
            run(c, "handoffs", {"key": key})
            c.execute("COMMIT")
        now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
        authentic = (bool(rows) and rows[0][1] == gtin and south <= latitude <= north
                     and west <= longitude <= east)
        verdict = "authentic" if authentic else ("diverted" if rows else "unknown_code")
        expected = json.dumps([rows[0][4]] if rows else [])
        response = {"verdict": verdict, "near_border": False, "expected_territories":
                    json.loads(expected), "found_territory": None,
                    "responsible_party": None, "flags": [], "serial": serial,
                    "scanned_at": now}
        c.execute("BEGIN IMMEDIATE")
        # The clone frontier: its live rows, the latest scan when there are none.
        live = run(c, "live", {"key": key})
        if not live:
            run(c, "latest", {"key": key})
        inserted = run(c, "scan", {
            "client_scan_id": body.get("client_scan_id"), "inspector_id": inspector,
            "code": code, "form": "digital_link", "gtin": gtin, "serial": serial,
            "key": key, "latitude": latitude, "longitude": longitude,
            "accuracy_m": body.get("accuracy_m"), "device_id": body.get("device_id"),
            "scanned_at": now, "received_at": now, "verdict": verdict, "near_border": 0,
            "expected_territories": expected, "found_territory": None,
            "responsible_party": None, "violation_id": None, "flags": "[]",
            "response": json.dumps(response)})
        if not inserted:  # a retry
            earlier = run(c, "earlier", {"inspector": inspector,
                                         "client_scan_id": body.get("client_scan_id")})
            c.execute("COMMIT")
            return jsonify(json.loads(earlier[0][0])), 201
        scan_id, violation_id = inserted[0][0], None
        run(c, "keep", {"key": key, "scan_id": scan_id, "latitude": latitude,
                        "longitude": longitude, "scanned_at": now, "superseded_at": None,
                        "clone_speed_kmh": 1000.0})
        if live:
            run(c, "forget", {"key": key, "before": now})
        if not authentic:
            violation_id, count = run(c, "upsert", {
                "key": key, "serial": serial, "gtin": gtin, "type": verdict,
                "status": "open", "batch_id": rows[0][0] if rows else None,
                "responsible_party": None, "expected_territories": expected,
                "found_territory": None, "scan_count": 1, "opened_at": now,
                "last_scan_at": now, "updated_at": now})[0]
            run(c, "set_violation", {"scan": scan_id, "violation": violation_id})
            run(c, "audit", {"violation_id": violation_id, "at": now, "actor": "inspector",
                             "action": "opened" if count == 1 else "evidence",
                             "from_status": None, "to_status": None,
                             "note": f"scan {scan_id}"})
        c.execute("COMMIT")
        return jsonify({"scan_id": scan_id, "violation_id": violation_id, **response}), 201

    return app


# Everything below runs only in the bench process, not in the baseline's workers.


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class Planned:
    """One scan to send: the service's request and the same as a JSON body."""

    kind: str
    code: str
    latitude: float
    longitude: float
    accuracy_m: float | None
    client_scan_id: str
    device_id: str

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "latitude": self.latitude,
                                "longitude": self.longitude,
                                "client_scan_id": self.client_scan_id,
                                "device_id": self.device_id}
        if self.accuracy_m is not None:
            data["accuracy_m"] = self.accuracy_m
        return data


# --- set-up --------------------------------------------------------------------------


def network_ids() -> dict[str, str]:
    from tracker.services import demo

    return {"gtin": demo.demo_gtin("00011"), "other_gtin": demo.demo_gtin("00028"),
            "brand": demo.pgln("00001"), "t1": demo.pgln("10001"), "t2": demo.pgln("11002"),
            "t1_zj": demo.pgln("10002"), "r_zj": demo.pgln("12009"),
            "t1_ca": demo.pgln("20001"), "t2_la": demo.pgln("21001")}


def prepare(url: str, quantity: int, moved: int) -> tuple[list[str], str, Any]:
    """Maps, parties, one batch and custody down the tiers; returns the batch's serials,
    an inspector's token and the inspector as an actor."""
    from sqlalchemy import select

    from tracker import migrate
    from tracker.config import Settings
    from tracker.db import make_engine, make_session_factory
    from tracker.models import Serial
    from tracker.services import auth, custody, demo, issuing, masterdata
    from tracker.services.auth import SYSTEM

    ids = network_ids()
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        demo.load_maps(session)
        for gtin in (ids["gtin"], ids["other_gtin"]):
            masterdata.create_product(session, gtin=gtin, name=gtin, company_prefix_length=7,
                                      actor=SYSTEM)
        for pid, role, area, parent in [
                (ids["brand"], "brand", ["CN", "US"], None),
                (ids["t1"], "distributor", ["CN-GD"], ids["brand"]),
                (ids["t2"], "distributor", ["CN-GD-SZ"], ids["t1"]),
                (ids["t1_zj"], "distributor", ["CN-ZJ"], ids["brand"]),
                (ids["r_zj"], "retailer", ["CN-ZJ"], ids["t1_zj"]),
                (ids["t1_ca"], "distributor", ["US-CA"], ids["brand"]),
                (ids["t2_la"], "distributor", ["US-CA-LA"], ids["t1_ca"])]:
            masterdata.create_party(session, id=pid, name=pid, role=role, territories=area,
                                    parent=parent, actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=ids["gtin"], territory="CN-GD",
                                    quantity=quantity, party=ids["brand"], actor=SYSTEM,
                                    settings=Settings(database_url=url))
        serials = sorted(session.scalars(select(Serial.serial)
                                         .where(Serial.batch_id == batch.id)))
    # brand -> T1 for `moved` serials, half of them on to T2 (Shenzhen), and an eighth
    # on from T2 to a retailer in Zhejiang, outside both of their territories.
    for sender, receiver, count in [(ids["brand"], ids["t1"], moved),
                                    (ids["t1"], ids["t2"], moved // 2),
                                    (ids["t2"], ids["r_zj"], moved // 8)]:
        for start in range(0, count, 1_000):
            with factory() as session, session.begin():
                shipment = custody.record_shipment(
                    session, from_party=sender, to_party=receiver,
                    codes=serials[start:min(count, start + 1_000)], actor=SYSTEM)
                custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)
    with factory() as session, session.begin():
        user, token = auth.create_user(session, name="bench-inspector", role="inspector",
                                       actor=SYSTEM)
        actor = auth.actor_for(user)
    engine.dispose()
    return serials, token, actor


def sample_in(geometry: Any, rng: random.Random) -> tuple[float, float]:
    """A uniform random point inside a (multi)polygon, as (latitude, longitude)."""
    import shapely

    x0, y0, x1, y1 = geometry.bounds
    while True:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geometry.contains(shapely.Point(lon, lat)):
            return lat, lon


def plan_scans(count: int, serials: Sequence[str], rng: random.Random, tag: str
               ) -> list[Planned]:
    """A mix of the scans inspectors send: mostly genuine codes inside or outside their
    territory, some near a border within GPS accuracy, some unknown or mistyped codes."""
    import shapely
    from shapely.geometry import shape

    from tracker.domain.serials import ALPHABET, RANDOM_LENGTH, with_check_character
    from tracker.services import demo

    ids = network_ids()
    provinces = {f["properties"]["iso_3166_2"]: shape(f["geometry"])
                 for f in demo.china_provinces()["features"]}
    states = {f["properties"]["code"]: shape(f["geometry"])
              for f in demo.us_states()["features"]}
    guangdong = provinces["CN-GD"]
    shapely.prepare(guangdong)
    elsewhere = [g for code, g in {**provinces, **states}.items() if code != "CN-GD"]
    for g in elsewhere:
        shapely.prepare(g)
    # Guangdong's border, as the vertices of its largest ring.
    largest = max(getattr(guangdong, "geoms", [guangdong]), key=lambda p: p.area)
    border = list(largest.exterior.coords)
    cities = [box for code, _n, _p, box in demo.CITIES if code.startswith("CN-GD")]
    mix = [("inside", 30), ("inside_city", 10), ("outside", 25), ("near_border", 15),
           ("open_sea", 3), ("unknown", 9), ("bad_check", 4), ("wrong_gtin", 4)]
    kinds = [k for k, weight in mix for _ in range(weight)]
    planned = []
    for i in range(count):
        kind = rng.choice(kinds)
        serial = rng.choice(serials)
        gtin = ids["gtin"]
        accuracy: float | None = round(rng.uniform(5, 60), 1)
        if kind == "unknown":
            serial = with_check_character("".join(rng.choices(ALPHABET, k=RANDOM_LENGTH)))
        elif kind == "bad_check":
            serial = serial[:-1] + rng.choice([c for c in ALPHABET if c != serial[-1]])
        elif kind == "wrong_gtin":
            gtin = ids["other_gtin"]
        if kind == "inside_city":
            x0, y0, x1, y1 = rng.choice(cities)
            lat, lon = rng.uniform(y0, y1), rng.uniform(x0, x1)
        elif kind == "outside":
            lat, lon = sample_in(rng.choice(elsewhere), rng)
        elif kind == "near_border":
            lon, lat = rng.choice(border)
            lat, lon = lat + rng.uniform(-0.002, 0.002), lon + rng.uniform(-0.002, 0.002)
            accuracy = round(rng.uniform(20, 300), 1)
        elif kind == "open_sea":
            lat, lon = rng.uniform(-30, 0), rng.uniform(-150, -120)
            accuracy = None
        else:
            lat, lon = sample_in(guangdong, rng)
        planned.append(Planned(kind, f"https://id.example.com/01/{gtin}/21/{serial}",
                               round(lat, 6), round(lon, 6), accuracy, f"{tag}-{i}",
                               f"phone-{i % 40}"))
    return planned


# --- 1. the service alone ------------------------------------------------------------


def bench_service(url: str, actor: Any, planned: Sequence[Planned]) -> None:
    from tracker.config import Settings
    from tracker.db import make_engine, make_session_factory
    from tracker.services import scans

    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url)
    verdicts: collections.Counter[str] = collections.Counter()
    times = []
    try:
        with factory() as session:  # builds the territory index once, outside the clock
            from tracker.services.territory_cache import territory_index

            territory_index(session)
        start = time.perf_counter()
        for p in planned:
            t0 = time.perf_counter()
            request_ = scans.ScanRequest(code=p.code, latitude=p.latitude,
                                         longitude=p.longitude, accuracy_m=p.accuracy_m,
                                         client_scan_id=p.client_scan_id,
                                         device_id=p.device_id)
            with factory() as session, session.begin():
                answer = scans.record_scan(session, request_, actor=actor, settings=settings)
            times.append(time.perf_counter() - t0)
            verdicts[answer["verdict"]] += 1
        took = time.perf_counter() - start
    finally:
        engine.dispose()
    n = len(planned)
    print(f"service scans.record_scan  {n:,} scans  {took:6.2f} s  ({n / took:,.0f} scans/s)  "
          f"p50 {ms(percentile(times, 0.5))}  p99 {ms(percentile(times, 0.99))}")
    print(f"        verdicts: {', '.join(f'{v} {c}' for v, c in verdicts.most_common())}")


# --- 1b. a hot code next to fresh ones ---------------------------------------------

HOT_PLACES = [(39.9042, 116.4074), (23.1291, 113.2644), (31.2304, 121.4737)]


def store_in_bulk(url: str, serial: str, count: int) -> tuple[float, float]:
    """``count`` scans of one code written straight into ``scans`` (an import, not the
    scan path), spread over the 20 hours before now in three cities in turn, then the
    code's clone frontier built from them: seconds for each."""
    import datetime as dt

    from sqlalchemy import insert

    from tracker.config import Settings
    from tracker.db import DirectConnection, make_engine, make_session_factory
    from tracker.domain.codes import item_key
    from tracker.models import Scan
    from tracker.services import clone_frontier

    gtin = network_ids()["gtin"]
    key = item_key(gtin, serial)
    now = dt.datetime.now(dt.UTC)
    step = dt.timedelta(hours=20) / count
    engine = make_engine(url)
    start = time.perf_counter()
    rows = []
    for i in range(count):
        lat, lon = HOT_PLACES[i % len(HOT_PLACES)]
        at = now - dt.timedelta(minutes=1) - step * (count - i)
        rows.append(dict(code=serial, form="serial", gtin=gtin, serial=serial, key=key,
                         latitude=lat, longitude=lon, scanned_at=at, received_at=at,
                         verdict="suspected_clone", near_border=False,
                         expected_territories=["CN-GD"], flags=["clone_speed_exceeded"],
                         response={}))
    with engine.begin() as connection:
        for start_row in range(0, count, 5_000):
            connection.execute(insert(Scan), rows[start_row:start_row + 5_000])
    stored = time.perf_counter() - start
    start = time.perf_counter()
    with make_session_factory(engine)() as session, session.begin():
        clone_frontier.start(DirectConnection.of(session), key, now,
                             settings=Settings(database_url=url))
    built = time.perf_counter() - start
    engine.dispose()
    return stored, built


def bench_hot_code(url: str, actor: Any, serials: Sequence[str], count: int, scans_each: int
                   ) -> None:
    """A code scanned ``count`` times before, against codes never scanned, in turn."""
    from tracker.config import Settings
    from tracker.db import make_engine, make_session_factory
    from tracker.services import scans

    hot, fresh = serials[0], list(serials[1:scans_each + 1])
    stored, built = store_in_bulk(url, hot, count)
    print(f"hot     {count:,} scans of one code stored in bulk in {stored:5.1f} s, its clone "
          f"frontier built from them in {built:5.1f} s", flush=True)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url)
    times: dict[str, list[float]] = {"hot": [], "fresh": []}
    answers: dict[str, collections.Counter[str]] = {"hot": collections.Counter(),
                                                    "fresh": collections.Counter()}

    def scan(code: str, n: int) -> tuple[float, str]:
        lat, lon = HOT_PLACES[n % len(HOT_PLACES)]
        request_ = scans.ScanRequest(code=f"https://id.example.com/01/"
                                          f"{network_ids()['gtin']}/21/{code}",
                                     latitude=lat, longitude=lon, accuracy_m=20.0,
                                     client_scan_id=f"hot-{code}-{n}")
        t0 = time.perf_counter()
        with factory() as session, session.begin():
            answer = scans.record_scan(session, request_, actor=actor, settings=settings)
        return time.perf_counter() - t0, answer["verdict"]

    try:
        first, _ = scan(hot, 0)
        print(f"hot     first scan of the hot code after the bulk load {ms(first)}")
        for n in range(scans_each):
            for kind, code in (("hot", hot), ("fresh", fresh[n])):
                seconds, verdict = scan(code, n + 1)
                times[kind].append(seconds)
                answers[kind][verdict] += 1
    finally:
        engine.dispose()
    for kind in ("hot", "fresh"):
        print(f"hot     {kind:<5} {scans_each} scans  p50 {ms(percentile(times[kind], 0.5))}  "
              f"mean {ms(statistics.fmean(times[kind]))}  "
              f"p99 {ms(percentile(times[kind], 0.99))}  "
              f"({', '.join(f'{v} {c}' for v, c in answers[kind].most_common())})")
    ratio = percentile(times["hot"], 0.5) / percentile(times["fresh"], 0.5)
    print(f"hot     median hot/fresh {ratio:.2f} (target <= 1.5) after {count:,} scans "
          "of the hot code")


# --- 2 and 3. HTTP -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_defaults() -> tuple[int, int]:
    """The workers and threads ``tracker serve`` uses when not told otherwise."""
    from web.cli import serve
    from web.server import default_workers

    defaults = {p.name: p.default for p in serve.params}
    return default_workers(), int(defaults["threads"])


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server on port {port} did not answer /healthz within 30 s")


@contextmanager
def running(command: list[str], env: dict[str, str], port: int
            ) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, server)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def tracker_command(port: int, workers: int, threads: int) -> list[str]:
    exe = shutil.which("tracker", path=str(Path(sys.executable).parent)) or "tracker"
    return [exe, "serve", "--port", str(port), "--workers", str(workers),
            "--threads", str(threads)]


def minimal_command(port: int, workers: int, threads: int) -> list[str]:
    # The options web.server.run gives gunicorn, access log included.
    return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--access-logfile", "-", "--timeout", "300",
            "bench.scan_bench:minimal_app()"]


def same_work_command(port: int, workers: int, threads: int) -> list[str]:
    return [*minimal_command(port, workers, threads)[:-1], "bench.scan_bench:same_work_app()"]


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]
    errors: int
    statuses: collections.Counter[int]
    client_cpu: float
    server_cpu: float


def load(port: int, bodies: Sequence[bytes], headers: dict[str, str], clients: int,
         total: int, server_pid: int) -> LoadResult:
    """``clients`` threads, each with one keep-alive connection, send ``total`` POSTs."""
    counter = itertools.count()
    latencies: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        seen: collections.Counter[int] = collections.Counter()
        failed = 0
        barrier.wait()
        while (i := next(counter)) < total:
            body = bodies[i % len(bodies)]
            start = time.perf_counter()
            try:
                connection.request("POST", "/api/v1/scans", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - start)
                seen[response.status] += 1
                failed += response.status != 201
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    cpu0, server0 = time.process_time(), process_tree_cpu(server_pid)
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return LoadResult(seconds, latencies, errors[0], statuses, time.process_time() - cpu0,
                      process_tree_cpu(server_pid) - server0)


def report(label: str, result: LoadResult, total: int) -> None:
    rate = total / result.seconds
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items()))
    print(f"http    {label:<28} {total:,} requests  {result.seconds:6.2f} s  "
          f"{rate:7.0f} req/s  p50 {ms(percentile(result.latencies, 0.5))}  "
          f"p99 {ms(percentile(result.latencies, 0.99))}  "
          f"mean {ms(statistics.fmean(result.latencies))}  errors {result.errors}  [{codes}]")
    print(f"        CPU: server {result.server_cpu:5.1f} s, load generator "
          f"{result.client_cpu:5.1f} s, over {result.seconds:5.1f} s wall on "
          f"{os.cpu_count()} cores")


def minimal_database(path: Path, serials: Sequence[str]) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    for statement in MINIMAL_DDL:
        connection.execute(statement)
    connection.executemany("INSERT INTO serials (serial, batch_id) VALUES (?, 1)",
                           [(s,) for s in serials])
    connection.commit()
    connection.close()


def bench_http(url: str, tmp: Path, token: str, serials: Sequence[str],
               planned: Sequence[Planned], clients: int, total: int, rounds: int,
               workers: int | None = None, threads: int | None = None) -> None:
    default_workers, default_threads = serve_defaults()
    workers, threads = workers or default_workers, threads or default_threads

    def bodies(tag: str, count: int | None = None) -> list[bytes]:
        # Fresh client_scan_ids each time: a repeated id is a retry, answered from the
        # first answer without judging anything.
        return [json.dumps(p.body() | {"client_scan_id": f"{tag}-{p.client_scan_id}"}).encode()
                for p in planned[:count]]

    warm = bodies("warm", max(clients * 8, 100))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sqlite = url.startswith("sqlite:///")
    names = ["tracker", "minimal"] + (["same work"] if sqlite else [])
    print(f"http    gunicorn gthread, {workers} workers x {threads} threads; {clients} "
          f"keep-alive clients in this process; {rounds} rounds of {total:,} requests, "
          f"{', '.join(names)} in turn (this machine's speed drifts between minutes)",
          flush=True)

    minimal_db, same_work_db = tmp / "minimal.db", tmp / "same-work.db"
    minimal_database(minimal_db, serials)
    commands = {
        "tracker": (tracker_command, {"TRACKER_DATABASE_URL": url}),
        "minimal": (minimal_command, {MINIMAL_DB_ENV: str(minimal_db)}),
        "same work": (same_work_command, {SAME_WORK_DB_ENV: str(same_work_db)}),
    }
    if sqlite:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as source, \
                sqlite3.connect(same_work_db) as copy:
            source.backup(copy)  # the tracker's database as it stands, its log included
    runs: dict[str, list[LoadResult]] = {name: [] for name in names}
    with contextlib.ExitStack() as stack:
        servers = []
        for name in names:
            command, env = commands[name]
            port = free_port()
            server = stack.enter_context(running(command(port, workers, threads),
                                                 {**os.environ, **env}, port))
            servers.append((name, port, server.pid))
        # Warm-up: every worker builds its territory index and fills its pool.
        for _name, port, pid in servers:
            load(port, warm, headers, clients, len(warm), pid)
        for r in range(rounds):
            for name, port, pid in servers:
                runs[name].append(load(port, bodies(f"r{r}"), headers, clients, total, pid))
                report(f"round {r + 1}: {name}", runs[name][-1], total)
        # Diagnostic: one client, so no queueing and no lock waits.
        single = max(total // 8, 100)
        _name, port, pid = servers[0]
        alone = load(port, bodies("one", single), headers, 1, single, pid)
    report("tracker, 1 client (diagnostic)", alone, single)

    def rate(name: str) -> str:
        return f"{name} {statistics.median(total / run.seconds for run in runs[name]):,.0f} req/s"

    def per_round(faster: str, slower: str) -> str:
        values = [a.seconds / b.seconds for a, b in zip(runs[faster], runs[slower], strict=True)]
        return f"{' '.join(f'{r:.2f}' for r in values)}; median {statistics.median(values):.2f}"

    latencies = [x for run in runs["tracker"] for x in run.latencies]
    errors = sum(run.errors for run in runs["tracker"])
    print(f"http    median over {rounds} rounds: {', '.join(rate(n) for n in names)}; "
          f"tracker p50 {ms(percentile(latencies, 0.5))}, "
          f"p99 {ms(percentile(latencies, 0.99))} over all {len(latencies):,} requests")
    if sqlite:
        print(f"http    ratio same work/minimal per round: {per_round('minimal', 'same work')} "
              "(what the scan's statements cost over one read and one insert)")
    print(f"http    ratio tracker/minimal per round: {per_round('minimal', 'tracker')} " + (
        "(the first target, >= 0.5, lies above what the statements alone reach)" if sqlite
        else "(PostgreSQL: each statement is a round trip to its server; no target)"))
    if sqlite:
        print(f"http    ratio tracker/same work per round: {per_round('same work', 'tracker')} "
              "(target >= 0.5: the judging costs at most what its statements cost)")
    print(f"http    tracker p99 {ms(percentile(latencies, 0.99))} (target < 50 ms); "
          f"errors {errors} (target 0)")


def empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from tracker.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small fast run: 2,000 serials, 300 service scans, "
                             "800 HTTP requests")
    parser.add_argument("--serials", type=int, help="serials in the batch (default 20,000)")
    parser.add_argument("--scans", type=int, help="service scans (default 2,000)")
    parser.add_argument("--requests", type=int, help="HTTP requests per server "
                        "(default 4,000)")
    parser.add_argument("--hot", type=int, help="earlier scans of the hot code "
                        "(default 100,000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3,
                        help="HTTP rounds, tracker, minimal and same work in turn (default 3)")
    parser.add_argument("--workers", type=int, help="server processes, both servers "
                        "(default: what tracker serve uses)")
    parser.add_argument("--threads", type=int, help="threads per process, both servers "
                        "(default: what tracker serve uses)")
    parser.add_argument("--skip-api", action="store_true", help="the service only")
    parser.add_argument("--postgres", metavar="URL",
                        help="the tracker on this PostgreSQL database instead of a new "
                             "SQLite file (its public schema is dropped!); the minimal "
                             "endpoint stays on sqlite3, the same-work one is left out")
    args = parser.parse_args()
    quantity = args.serials or (2_000 if args.quick else 20_000)
    n_service = args.scans or (300 if args.quick else 2_000)
    total = args.requests or (800 if args.quick else 4_000)
    rng = random.Random(20260501)

    with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
        url = args.postgres or f"sqlite:///{tmp}/tracker.db"
        if args.postgres:
            empty_postgres(args.postgres)
        database = "postgresql" if args.postgres else "sqlite"
        print(f"== scan bench on {database}: {quantity:,} serials in CN-GD, custody to "
              f"{quantity // 5:,} of them; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ==", flush=True)
        start = time.perf_counter()
        serials, token, actor = prepare(url, quantity, quantity // 5)
        print(f"set-up (maps, parties, batch, custody) {time.perf_counter() - start:6.2f} s",
              flush=True)
        planned = plan_scans(n_service, serials, rng, "svc")
        bench_service(url, actor, planned)
        used = {p.code.rsplit("/", 1)[-1] for p in planned}
        bench_hot_code(url, actor, [s for s in serials if s not in used],
                       args.hot or (10_000 if args.quick else 100_000),
                       100 if args.quick else 300)
        if not args.skip_api:
            bench_http(url, Path(tmp), token, serials, plan_scans(total, serials, rng, "http"),
                       args.clients, total, args.rounds, args.workers, args.threads)


if __name__ == "__main__":
    main()
