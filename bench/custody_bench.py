"""Custody at scale: a pallet of 10,000 items shipped and received, one EPCIS document of
10,000 events captured, and a serial's trace on a database of 10 million serials.

    python bench/custody_bench.py [--quick] [--serials N] [--postgres URL] [--skip-api]
                                  [--only capture]

1. Packing 100 cases x 100 items onto one pallet (set-up, timed for information), then
   ``record_shipment`` of the pallet's SSCC and ``receive_shipment``, each in its own
   transaction. Target: under 1 s each way. Then the same pallet declared by EPCIS alone
   (a packing line's own system: one document of 100 case and 1 pallet AggregationEvents
   under SSCCs this system never issued) captured, shipped by its SSCC and received.
2. ``epcis.capture_document`` of a document of 10,000 ObjectEvents (observations with
   1-5 EPCs each, plus shipping/receiving pairs between known parties), validation
   included, three times with fresh documents (each run and the median are printed);
   then three more documents of the same size and shape through
   ``POST /api/v1/epcis/capture`` on one ``tracker serve`` (the first is its first
   request), their median as a share of the service's. The service starts from the parsed
   document; over HTTP the JSON (5 MB for 10,000 events) is also sent, read and parsed:
   that is in the HTTP figures, and ``json.loads`` of it alone is printed beside them.
   Targets: >= 5,000 events/s on SQLite; over HTTP >= 80% of the service's rate.
3. ``trace_serial`` on a database holding ``--serials`` issued serials (10 batches of
   1,000,000 by default), through the service and over HTTP with a keep-alive client,
   for serials moved through three tiers, moved on a pallet, observed in EPCIS events,
   and never moved. Baseline in the same run: the serial's row read by primary key with
   raw ``sqlite3`` (PostgreSQL: ``psycopg``) from the same database. Target: < 20 ms.

SQLite in a temporary directory by default; ``--postgres URL`` runs on that database
instead (its public schema is dropped first!). The load generator and ``tracker serve``
share the machine's cores. Prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
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
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.domain.gs1 import make_sscc, sscc_urn  # noqa: E402
from tracker.models import CustodyException, CustodyState, Serial  # noqa: E402
from tracker.services import custody, demo, epcis, issuing, masterdata, trace  # noqa: E402
from tracker.services.auth import SYSTEM, create_user  # noqa: E402
from tracker.services.events import party_list  # noqa: E402

GTIN = demo.demo_gtin("00011")
BRAND, T1, T2, SHOP = (demo.pgln(r) for r in ("00001", "10001", "11001", "12001"))
TIERS = [(BRAND, T1), (T1, T2), (T2, SHOP)]
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
BIZ_STEPS = ["inspecting", "storing", "https://ref.gs1.org/cbv/BizStep-inspecting",
             "urn:epcglobal:cbv:bizstep:storing", "accepting"]
DISPOSITIONS = ["in_progress", "active", "sellable_accessible"]
# Serials per issue_batch call: the service's own upper limit.
ISSUE_CHUNK = 1_000_000
# Documents captured through the service, each of --events events.
CAPTURES = 3


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.3f} ms"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def spread(values: Sequence[float]) -> str:
    return (f"p50 {ms(percentile(values, 0.50))}  p99 {ms(percentile(values, 0.99))}  "
            f"mean {ms(statistics.fmean(values))}  (n={len(values):,})")


@contextmanager
def clock() -> Iterator[dict[str, float]]:
    """Times the block; the caller reads ``["s"]`` afterwards."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    yield box
    box["s"] = time.perf_counter() - start


# --- the database --------------------------------------------------------------------


def prepare(url: str) -> None:
    engine = make_engine(url)
    migrate.rebuild(engine)
    with make_session_factory(engine)() as session, session.begin():
        # Region territories without geometry: custody and traces never look at maps.
        masterdata.import_territories(session, collection=demo.regions(), actor=SYSTEM)
        masterdata.create_product(session, gtin=GTIN, name="Lotus Jasmine Green Tea 250 g",
                                  company_prefix_length=len(demo.BRAND_PREFIX), actor=SYSTEM)
        for pid, role, parent in [(BRAND, "brand", None), (T1, "distributor", BRAND),
                                  (T2, "distributor", T1), (SHOP, "retailer", T2)]:
            masterdata.create_party(session, id=pid, name=pid, role=role, territories=["CN"],
                                    parent=parent, actor=SYSTEM)
    engine.dispose()


def issue(factory: sessionmaker[Session], settings: Settings, quantity: int,
          lot: str | None = None) -> tuple[int, list[str]]:
    """One batch in one transaction; returns its id and serials (for small batches)."""
    with factory() as session, session.begin():
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN", quantity=quantity,
                                    lot=lot, party=BRAND, actor=SYSTEM, settings=settings)
        serials = list(session.scalars(select(Serial.serial)
                                       .where(Serial.batch_id == batch.id))) \
            if quantity <= 100_000 else []
        return batch.id, serials


def issue_population(factory: sessionmaker[Session], settings: Settings, total: int
                     ) -> list[int]:
    batch_ids = []
    start = time.perf_counter()
    done = 0
    while done < total:
        want = min(ISSUE_CHUNK, total - done)
        batch_id, _ = issue(factory, settings, want)
        batch_ids.append(batch_id)
        done += want
        elapsed = time.perf_counter() - start
        print(f"  issued {done:>12,}/{total:,} serials  {elapsed:6.1f} s "
              f"({done / elapsed:,.0f}/s)", flush=True)
    return batch_ids


def sample_serials(factory: sessionmaker[Session], batch_id: int, count: int) -> list[str]:
    # Serials are random, so the first rows of a batch land all over the primary key.
    with factory() as session:
        return list(session.scalars(select(Serial.serial).where(Serial.batch_id == batch_id)
                                    .limit(count)))


# --- 1. a pallet shipped and received ------------------------------------------------


def bench_pallet(factory: sessionmaker[Session], settings: Settings, cases: int,
                 per_case: int) -> list[str]:
    _, serials = issue(factory, settings, cases * per_case, lot="PALLET")
    with factory() as session, session.begin():
        case_ssccs = [c.sscc for c in custody.create_containers(
            session, party=BRAND, kind="case", count=cases, actor=SYSTEM)]
        (pallet,) = [c.sscc for c in custody.create_containers(
            session, party=BRAND, kind="pallet", count=1, actor=SYSTEM)]
    with clock() as packing, factory() as session, session.begin():
        for i, case in enumerate(case_ssccs):
            custody.pack(session, party=BRAND, container=case,
                         codes=serials[i * per_case:(i + 1) * per_case], actor=SYSTEM)
        custody.pack(session, party=BRAND, container=pallet, codes=case_ssccs, actor=SYSTEM)
    with clock() as shipping, factory() as session, session.begin():
        shipment = custody.record_shipment(session, from_party=BRAND, to_party=T1,
                                           codes=[pallet], actor=SYSTEM)
        shipment_id = shipment.id
        moved = shipment.item_count
    with clock() as receiving, factory() as session, session.begin():
        status = custody.receive_shipment(session, shipment_id=shipment_id,
                                          actor=SYSTEM).status.value
    with factory() as session:
        held = session.scalar(select(func.count()).select_from(CustodyState)
                              .where(CustodyState.custodian == T1))
    n = len(serials)
    print(f"pack    {cases} cases x {per_case} items + 1 pallet (set-up, one transaction)  "
          f"{packing['s']:6.2f} s")
    print(f"ship    record_shipment(pallet SSCC) -> {moved:,} items    {shipping['s']:6.3f} s  "
          f"({n / shipping['s']:,.0f} items/s)  target < 1 s")
    print(f"receive receive_shipment -> {status}, {held:,} keys held by T1  "
          f"{receiving['s']:6.3f} s  ({n / receiving['s']:,.0f} items/s)  target < 1 s")
    return serials


FOREIGN_PREFIX = "4012345"  # a packing line's GS1 company prefix: no party here has it


def packing_line_document(serials: Sequence[str], cases: int, per_case: int
                          ) -> tuple[dict[str, Any], str]:
    """A packing line's EPCIS document: each case (SSCC EPC URN) packed with its items, then
    the cases onto a pallet (Digital Link), one second apart; and the pallet's SSCC."""
    start = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)

    def at(second: int) -> str:
        return (start + dt.timedelta(seconds=second)).isoformat().replace("+00:00", "Z")

    def packed(parent: str, children: list[str], second: int) -> dict[str, Any]:
        return {"type": "AggregationEvent", "eventTime": at(second),
                "eventTimeZoneOffset": "+00:00", "parentID": parent, "childEPCs": children,
                "action": "ADD", "bizStep": "packing", "disposition": "in_progress"}

    case_ssccs = [make_sscc(FOREIGN_PREFIX, c + 1, extension_digit=1) for c in range(cases)]
    pallet = make_sscc(FOREIGN_PREFIX, 1, extension_digit=3)
    events = [packed(sscc_urn(sscc, len(FOREIGN_PREFIX)),
                     [uri(s) for s in serials[c * per_case:(c + 1) * per_case]], c)
              for c, sscc in enumerate(case_ssccs)]
    events.append(packed(f"https://id.gs1.org/00/{pallet}",
                         [f"https://id.gs1.org/00/{sscc}" for sscc in case_ssccs], cases))
    return ({"@context": [EPCIS_CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
             "creationDate": at(0), "epcisBody": {"eventList": events}}, pallet)


def bench_declared_pallet(factory: sessionmaker[Session], settings: Settings, cases: int,
                          per_case: int) -> None:
    _, serials = issue(factory, settings, cases * per_case, lot="DECLARED")
    document, pallet = packing_line_document(serials, cases, per_case)
    with clock() as packing, factory() as session, session.begin():
        job = epcis.capture_document(session, document, actor=SYSTEM)
        captured = job.captured_count
    with clock() as shipping, factory() as session, session.begin():
        shipment = custody.record_shipment(session, from_party=BRAND, to_party=T1,
                                           codes=[pallet], actor=SYSTEM)
        shipment_id, moved = shipment.id, shipment.item_count
    with clock() as receiving, factory() as session, session.begin():
        status = custody.receive_shipment(session, shipment_id=shipment_id,
                                          actor=SYSTEM).status.value
    with factory() as session:
        exceptions = session.scalar(select(func.count()).select_from(CustodyException))
    n = len(serials)
    print(f"declare capture_document: {cases} cases x {per_case} items + 1 pallet under "
          f"SSCCs never issued here, {captured} events  {packing['s']:6.2f} s  "
          f"custody exceptions {exceptions}")
    print(f"ship    record_shipment(declared pallet SSCC) -> {moved:,} items  "
          f"{shipping['s']:6.3f} s  ({n / shipping['s']:,.0f} items/s)  target < 1 s")
    print(f"receive receive_shipment -> {status}  {receiving['s']:6.3f} s  "
          f"({n / receiving['s']:,.0f} items/s)  target < 1 s")


# --- 2. EPCIS capture ----------------------------------------------------------------


def uri(serial: str) -> str:
    return f"https://id.gs1.org/01/{GTIN}/21/{serial}"


def build_document(count: int, observed: Sequence[str], loose: Sequence[str],
                   start: dt.datetime, rng: random.Random, hop_pairs: int) -> dict[str, Any]:
    """``count`` ObjectEvents: ``hop_pairs`` shipping + receiving pairs (brand -> T1) of
    ``loose`` serials the brand holds, the rest observations of ``observed`` serials."""
    tz = dt.timezone(dt.timedelta(hours=8))
    events: list[dict[str, Any]] = []
    hop_at = set(rng.sample(range(count - 1), hop_pairs)) if hop_pairs else set()
    next_loose = 0
    i = 0
    while len(events) < count:
        moment = (start + dt.timedelta(seconds=i)).astimezone(tz)
        when = moment.isoformat(timespec="milliseconds")
        i += 1
        if len(events) in hop_at and next_loose + 5 <= len(loose):
            size = rng.randint(1, 5)
            epcs = [uri(s) for s in loose[next_loose:next_loose + size]]
            next_loose += size
            for step, disposition, at in (("shipping", "in_transit", when),
                                          ("receiving", "in_progress",
                                           (moment + dt.timedelta(milliseconds=500))
                                           .isoformat(timespec="milliseconds"))):
                events.append({
                    "type": "ObjectEvent", "eventTime": at, "eventTimeZoneOffset": "+08:00",
                    "epcList": epcs, "action": "OBSERVE", "bizStep": step,
                    "disposition": disposition,
                    "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
                    "sourceList": party_list("source", BRAND),
                    "destinationList": party_list("destination", T1)})
            continue
        dock = rng.randint(1, 40)
        events.append({
            "type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": "+08:00",
            "epcList": [uri(s) for s in rng.sample(observed, rng.randint(1, 5))],
            "action": "OBSERVE", "bizStep": rng.choice(BIZ_STEPS),
            "disposition": rng.choice(DISPOSITIONS),
            "readPoint": {"id": f"urn:epc:id:sgln:6901234.10001.{dock}"},
            "bizLocation": {"id": "urn:epc:id:sgln:6901234.10001.0"}})
    return {"@context": [EPCIS_CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": start.isoformat().replace("+00:00", "Z"),
            "epcisBody": {"eventList": events[:count]}}


def observed_in(document: dict[str, Any], candidates: Sequence[str], count: int
                ) -> list[str]:
    """The candidates named in most of the document's events (the busiest traces)."""
    wanted = set(candidates)
    seen: dict[str, int] = {}
    for event in document["epcisBody"]["eventList"]:
        for epc in event["epcList"]:
            serial = epc.rsplit("/", 1)[1]
            if serial in wanted:
                seen[serial] = seen.get(serial, 0) + 1
    return sorted(seen, key=lambda s: -seen[s])[:count]


def bench_capture(factory: sessionmaker[Session], documents: Sequence[dict[str, Any]]
                  ) -> float:
    """Each document captured in its own transaction; the machine's speed varies from one
    second to the next, so every run is printed, then the median (returned)."""
    from tracker.domain.epcis import warm_up
    from tracker.services import workers

    # As a server does at start (create_app, tracker serve): compile the schema and start
    # the processes that share out the checking of a big document.
    warm_up()
    workers.start()
    rates = []
    for document in documents:
        n = len(document["epcisBody"]["eventList"])
        with factory() as session:
            exceptions_before = session.scalar(select(func.count())
                                               .select_from(CustodyException))
        with clock() as took, factory() as session, session.begin():
            job = epcis.capture_document(session, document, actor=SYSTEM)
            captured, errors = job.captured_count, len(job.errors or [])
        with factory() as session:
            exceptions = session.scalar(select(func.count()).select_from(CustodyException)) \
                - (exceptions_before or 0)
        rates.append(n / took["s"])
        print(f"capture epcis.capture_document  {n:,} events  {took['s']:6.2f} s  "
              f"({rates[-1]:,.0f} events/s)  captured {captured:,}, errors {errors}, "
              f"custody exceptions {exceptions}", flush=True)
    print(f"capture median of {len(rates)} documents: {statistics.median(rates):,.0f} events/s "
          f"({workers.helpers() + 1} processes check the events)  target >= 5,000/s")
    return statistics.median(rates)


# --- servers and HTTP clients --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_token(factory: sessionmaker[Session], role: str) -> str:
    with factory() as session, session.begin():
        _, token = create_user(session, name=f"bench-{role}-{time.time_ns()}", role=role,
                               actor=SYSTEM)
    return token


@contextmanager
def tracker_server(url: str, *extra: str) -> Iterator[int]:
    """``tracker serve`` (gunicorn) on a free port; stopped however the block ends."""
    port = free_port()
    exe = shutil.which("tracker", path=str(Path(sys.executable).parent)) or "tracker"
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    server = subprocess.Popen([exe, "serve", "--port", str(port), *extra], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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


def capture_through_api(url: str, factory: sessionmaker[Session],
                        documents: Sequence[dict[str, Any]]) -> float:
    """Each document through ``POST /api/v1/epcis/capture`` on one ``tracker serve``, as
    many as the service captured, each run printed (the first is the server's first
    request), then the median (returned). Unlike the service's, these figures include
    sending, reading and parsing the JSON; what ``json.loads`` of it alone takes in this
    process is printed beside them."""
    token = make_token(factory, "admin")
    rates = []
    with tracker_server(url, "--workers", "1") as port:
        for document in documents:
            body = json.dumps(document).encode()
            n = len(document["epcisBody"]["eventList"])
            with clock() as parsing:
                json.loads(body)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/epcis/capture", method="POST", data=body,
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"})
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=900) as response:
                status = response.status
                job = json.loads(response.read())
            took = time.perf_counter() - start
            rates.append(n / took)
            print(f"capture POST /api/v1/epcis/capture via tracker serve  {n:,} events "
                  f"({len(body) / 1e6:.1f} MB; json.loads alone {parsing['s']:.2f} s)  "
                  f"{took:6.2f} s  ({n / took:,.0f} events/s)  HTTP {status}, captured "
                  f"{job.get('capturedCount')}, errors {len(job.get('errors') or [])}",
                  flush=True)
    print(f"capture median over HTTP of {len(rates)} documents: "
          f"{statistics.median(rates):,.0f} events/s")
    return statistics.median(rates)


class KeepAlive:
    """One keep-alive connection; reconnects once if the server closed it when idle."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


# --- 3. traces -----------------------------------------------------------------------


def move_through_tiers(factory: sessionmaker[Session], serials: list[str]) -> None:
    for sender, receiver in TIERS:
        with factory() as session, session.begin():
            shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                               codes=serials, actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)


def time_service_traces(factory: sessionmaker[Session], settings: Settings,
                        serials: Sequence[str], repetitions: int
                        ) -> tuple[list[float], dict[str, Any]]:
    """One session per trace, as one request has; the first call per serial is warm-up."""
    last: dict[str, Any] = {}
    for serial in serials:
        with factory() as session:
            last = trace.trace_serial(session, serial, actor=SYSTEM, settings=settings)
    times = []
    for i in range(repetitions):
        serial = serials[i % len(serials)]
        start = time.perf_counter()
        with factory() as session:
            trace.trace_serial(session, serial, actor=SYSTEM, settings=settings)
        times.append(time.perf_counter() - start)
    return times, last


def time_http_traces(port: int, token: str, serials: Sequence[str], requests: int
                     ) -> tuple[list[float], int]:
    client = KeepAlive(port)
    headers = {"Authorization": f"Bearer {token}"}
    errors = 0
    try:
        for serial in serials[:20]:  # warm-up: both workers, caches, pooled connections
            client.request("GET", f"/api/v1/serials/{serial}/trace", headers=headers)
        times = []
        for i in range(requests):
            serial = serials[i % len(serials)]
            start = time.perf_counter()
            status, _ = client.request("GET", f"/api/v1/serials/{serial}/trace",
                                       headers=headers)
            times.append(time.perf_counter() - start)
            errors += status != 200
        return times, errors
    finally:
        client.close()


def raw_lookups(url: str, serials: Sequence[str], repetitions: int) -> list[float]:
    """The serial's row by primary key, straight through the driver: the floor."""
    parsed = make_url(url)
    times = []
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database)
        lookup: Callable[[str], Any] = lambda s: connection.execute(  # noqa: E731
            "SELECT serial, batch_id FROM serials WHERE serial = ?", (s,)).fetchone()
    else:
        import psycopg

        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                     autocommit=True)
        lookup = lambda s: connection.execute(  # noqa: E731
            "SELECT serial, batch_id FROM serials WHERE serial = %s", (s,),
            prepare=True).fetchone()
    try:
        for serial in serials:
            lookup(serial)
        for i in range(repetitions):
            serial = serials[i % len(serials)]
            start = time.perf_counter()
            row = lookup(serial)
            times.append(time.perf_counter() - start)
            assert row is not None, serial
    finally:
        connection.close()
    return times


def bench_traces(url: str, factory: sessionmaker[Session], settings: Settings,
                 groups: dict[str, list[str]], repetitions: int, requests: int,
                 skip_api: bool) -> None:
    everything = [s for serials in groups.values() for s in serials]
    raw = raw_lookups(url, everything, max(repetitions * len(groups), 10_000))
    print(f"trace   baseline: raw {make_url(url).get_backend_name()} SELECT of the serial "
          f"row by primary key: {spread(raw)}")
    for name, serials in groups.items():
        times, sample = time_service_traces(factory, settings, serials, repetitions)
        shape = (f"{len(sample['custody'])} custody moves, {len(sample['events'])} events, "
                 f"{len(sample['scans'])} scans")
        print(f"trace   service trace_serial  {name:<22} {spread(times)}  [{shape}]  "
              f"p50 / raw p50 = {percentile(times, 0.5) / percentile(raw, 0.5):,.0f}x")
    if skip_api:
        return
    token = make_token(factory, "compliance")
    with tracker_server(url) as port:  # default workers and threads, as in production
        for name, serials in groups.items():
            times, errors = time_http_traces(port, token, serials, requests)
            print(f"trace   GET /serials/{{serial}}/trace  {name:<22} {spread(times)}  "
                  f"errors {errors}  target < 20 ms")


# --- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small fast run: 20 x 50 pallet, 1,000 events, "
                             "200,000 serials, fewer repetitions")
    parser.add_argument("--serials", type=int,
                        help="serials issued before tracing (default 10,000,000)")
    parser.add_argument("--cases", type=int)
    parser.add_argument("--per-case", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--postgres", help="run on this PostgreSQL URL instead of SQLite "
                        "(its public schema is dropped!)")
    parser.add_argument("--skip-api", action="store_true", help="no tracker serve runs")
    parser.add_argument("--only", choices=["capture"],
                        help="capture: only section 2 (after the pallet it observes), on "
                             "20,000 serials unless --serials says otherwise")
    args = parser.parse_args()
    quick = args.quick
    only_capture = args.only == "capture"
    total = args.serials or (20_000 if only_capture else 200_000 if quick else 10_000_000)
    cases = args.cases or (20 if quick else 100)
    per_case = args.per_case or (50 if quick else 100)
    n_events = args.events or (1_000 if quick else 10_000)
    repetitions = 100 if quick else 500
    requests = 50 if quick else 200
    rng = random.Random(20260501)

    with tempfile.TemporaryDirectory(prefix="custody-bench-") as tmp:
        url = args.postgres or f"sqlite:///{tmp}/custody.db"
        backend = make_url(url).get_backend_name()
        print(f"== custody bench on {backend}: pallet {cases} x {per_case}, EPCIS "
              f"{n_events:,} events, trace at {total:,} serials; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ==", flush=True)
        prepare(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        settings = Settings(database_url=url)
        try:
            print(f"issuing {total:,} serials in batches of up to {ISSUE_CHUNK:,} "
                  "(issue_batch, one transaction each)", flush=True)
            population = issue_population(factory, settings, total)

            pallet_serials = bench_pallet(factory, settings, cases, per_case)
            if not only_capture:
                bench_declared_pallet(factory, settings, cases, per_case)

            # Loose serials the brand still holds, for the documents' shipping events;
            # observations name pallet serials and serials from the big population.
            hop_pairs = max(1, n_events // 100)
            share = 5 * hop_pairs  # loose serials one document ships
            _, loose = issue(factory, settings, 2 * CAPTURES * share, lot="LOOSE")
            observed = pallet_serials + sample_serials(factory, population[0], 10_000)
            start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
            # Fresh events in each (later times, other loose serials): none is a duplicate.
            documents = [build_document(n_events, observed, loose[k * share:(k + 1) * share],
                                        start + dt.timedelta(days=30 * k), rng, hop_pairs)
                         for k in range(2 * CAPTURES)]
            document = documents[0]
            service_rate = bench_capture(factory, documents[:CAPTURES])
            if not args.skip_api:
                http_rate = capture_through_api(url, factory, documents[CAPTURES:])
                print(f"capture over HTTP / through the service: {http_rate / service_rate:.0%} "
                      f"({http_rate:,.0f} vs {service_rate:,.0f} events/s)  target >= 80%")
            if only_capture:
                return

            chain = sample_serials(factory, population[-1], 10)
            move_through_tiers(factory, chain)
            busy = {*chain, *observed, *loose}
            untouched = [s for s in sample_serials(factory, population[len(population) // 2],
                                                   len(busy) + 10) if s not in busy][:10]
            groups = {
                "moved 3 tiers": chain,
                "packed, pallet moved": rng.sample(pallet_serials, 10),
                "in EPCIS observations": observed_in(document, observed[len(pallet_serials):],
                                                     10),
                "never moved": untouched,
            }
            with factory() as session:
                count = session.scalar(select(func.count()).select_from(Serial))
            print(f"tracing on a database of {count:,} serials", flush=True)
            bench_traces(url, factory, settings, groups, repetitions, requests, args.skip_api)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
