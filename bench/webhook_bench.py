"""Webhook deliveries: how many per second, how soon after a scan, and what the outbox
costs a scan.

    python bench/webhook_bench.py [--notifications 5000] [--scans 200] [--postgres URL]

On a fresh database (an SQLite file in a temporary folder, or the PostgreSQL database
named, which is emptied) with the small synthetic network of the tests:

1. Throughput: two ``tracker webhooks deliver`` processes, warmed up, then
   ``--notifications`` notifications committed at once for one endpoint, a local HTTP
   receiver (http.server, keep-alive) in this process: deliveries per second from the
   commit to the last arrival. Target >= 500/s.
2. Delay: ``tracker serve`` (2 processes, each with its delivery worker) takes ``--scans``
   diverted scans over HTTP, one every 50 ms; for each, the time from the scan's answer
   (its transaction committed) to the arrival of its ``violation.opened``: p50, p95, max.
   Target p95 < 1 s.
3. The scan path: ``scans.record_scan`` of diverted scans, each opening a violation, one
   transaction each, in three modes taking turns (six rounds, each mode first in two):
   the outbox call skipped (the path as it was before webhooks), no endpoint subscribed,
   one subscribed (a notification and a delivery written with each scan). Scans/s and
   the ratio to the first.

The receiver shares this process's cores with the workers and the server; its figures
are the machine's, not a limit of the design. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402

from tests.integration.network import build  # noqa: E402
from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import make_engine, make_session_factory, write_transaction  # noqa: E402
from tracker.models import Role  # noqa: E402
from tracker.services import auth, notify, scans, webhooks  # noqa: E402
from tracker.services.auth import SYSTEM, Actor  # noqa: E402

IN_B = (5.0, 25.0)
DL_BASE = "https://id.example.com"


class Receiver:
    """Records when each notification arrived, by webhook-id and by the data's id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, float] = {}
        self.by_data_id: dict[int, float] = {}
        self.duplicates = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                at = time.perf_counter()
                message = self.headers["webhook-id"]
                with receiver.lock:
                    if message in receiver.arrivals:
                        receiver.duplicates += 1
                    receiver.arrivals[message] = at
                    data_id = json.loads(body)["data"].get("id")
                    if isinstance(data_id, int):
                        receiver.by_data_id.setdefault(data_id, at)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.arrivals)} of {count} notifications arrived")
            time.sleep(0.005)
        return max(self.arrivals.values())


def tracker_command() -> list[str]:
    exe = shutil.which("tracker", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "web.cli"]


def spawn(args: list[str], url: str, folder: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_DL_BASE": DL_BASE,
           "TRACKER_HELPER_PROCESSES": "0"}
    with open(folder / f"{name}.log", "ab") as log:
        return subprocess.Popen([*tracker_command(), *args], env=env, cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def subscribe(engine: Engine, url: str, events: list[str]) -> int:
    with make_session_factory(engine)() as session, write_transaction(session):
        return webhooks.create_endpoint(session, url=url, events=events,
                                        actor=SYSTEM)[0].endpoint.id


def unsubscribe(engine: Engine, endpoint_id: int) -> None:
    with make_session_factory(engine)() as session, write_transaction(session):
        webhooks.delete_endpoint(session, endpoint_id, actor=SYSTEM)


def emit_many(engine: Engine, count: int, start: int) -> None:
    with make_session_factory(engine)() as session, write_transaction(session):
        for i in range(start, start + count):
            notify.emit(session, "shipment.received", {"id": i})


def throughput(engine: Engine, url: str, folder: Path, count: int) -> None:
    receiver = Receiver()
    endpoint = subscribe(engine, receiver.url, ["shipment.received"])
    workers = [spawn(["webhooks", "deliver"], url, folder, f"worker-{n}") for n in range(2)]
    try:
        emit_many(engine, 20, 0)  # warm-up: both workers polling, connections open
        receiver.wait_for(20)
        emit_many(engine, count, 1000)
        started = time.perf_counter()
        last = receiver.wait_for(20 + count)
        time.sleep(1.0)
    finally:
        for worker in workers:
            stop(worker)
    elapsed = last - started
    print(f"1. throughput, 2 worker processes: {count} notifications in {elapsed:.2f} s = "
          f"{count / elapsed:,.0f}/s (target >= 500/s); duplicates: {receiver.duplicates}")
    unsubscribe(engine, endpoint)


def request(port: int, method: str, path: str, body: Any, token: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, json.dumps(body).encode(), {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def delay(engine: Engine, url: str, folder: Path, serials: list[str], count: int) -> None:
    import socket

    receiver = Receiver()
    endpoint = subscribe(engine, receiver.url, ["violation.opened"])
    with make_session_factory(engine)() as session, write_transaction(session):
        _, token = auth.create_user(session, name="bench-inspector", role="inspector",
                                    actor=SYSTEM)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = spawn(["serve", "--port", str(port), "--workers", "2"], url, folder, "server")
    answered: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("tracker serve did not start")
            time.sleep(0.2)
        for serial in serials[:count]:
            status, answer = request(port, "POST", "/api/v1/scans", {
                "code": serial, "latitude": IN_B[0], "longitude": IN_B[1],
                "accuracy_m": 5}, token)
            answered[answer["violation_id"]] = time.perf_counter()
            time.sleep(0.05)
        receiver.wait_for(len(answered))
    finally:
        stop(server)
    delays = sorted((receiver.by_data_id[v] - at) * 1000 for v, at in answered.items())
    p95 = delays[max(0, round(0.95 * len(delays)) - 1)]
    print(f"2. scan -> violation.opened delivered, {len(delays)} scans via tracker serve: "
          f"p50 {statistics.median(delays):.0f} ms, p95 {p95:.0f} ms, max {delays[-1]:.0f} ms"
          " (target p95 < 1000 ms)")
    unsubscribe(engine, endpoint)


def scan_path(engine: Engine, settings: Settings, serials: list[str], per_mode: int) -> None:
    inspector = Actor(name="bench", role=Role.INSPECTOR)
    real = notify.violation_opened
    sessions = make_session_factory(engine)
    rates: dict[str, list[float]] = {"outbox skipped": [], "no endpoint": [],
                                     "one endpoint": []}
    left = iter(serials)
    endpoint = None
    rounds = 6
    modes = list(rates)
    for turn in range(rounds):
        # Each mode goes first in turn: the tables grow as the run goes on.
        for mode in modes[turn % 3:] + modes[:turn % 3]:
            if mode == "outbox skipped":
                notify.violation_opened = lambda *a, **k: None  # type: ignore[assignment]
            else:
                notify.violation_opened = real  # type: ignore[assignment]
            if mode == "one endpoint" and endpoint is None:
                endpoint = subscribe(engine, "http://127.0.0.1:9/never", ["violation.opened"])
            if mode != "one endpoint" and endpoint is not None:
                unsubscribe(engine, endpoint)
                endpoint = None
            chosen = [next(left) for _ in range(per_mode // rounds)]
            started = time.perf_counter()
            for serial in chosen:
                with sessions() as session, write_transaction(session):
                    answer = scans.record_scan(session, scans.ScanRequest(
                        code=serial, latitude=IN_B[0], longitude=IN_B[1], accuracy_m=5),
                        actor=inspector, settings=settings)
                assert answer["verdict"] == "diverted"
            rates[mode].append(len(chosen) / (time.perf_counter() - started))
    notify.violation_opened = real  # type: ignore[assignment]
    base = statistics.median(rates["outbox skipped"])
    print("3. diverted scans, each opening a violation (scans.record_scan, one transaction "
          "each; modes take turns, median of 6 rounds):")
    for mode, values in rates.items():
        rate = statistics.median(values)
        print(f"   {mode:15} {rate:7,.0f} scans/s  ({rate / base:.2f} of the first)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--path-scans", type=int, default=1200,
                        help="scans per mode of the scan path measure")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    url = args.postgres or f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate.rebuild(engine)
    settings = Settings(database_url=url, dl_base=DL_BASE)
    with make_session_factory(engine)() as session, write_transaction(session):
        net = build(session, settings, quantity=args.scans + 3 * args.path_scans + 10)
    print(f"database: {engine.dialect.name}; {os.cpu_count()} cores")
    try:
        throughput(engine, url, folder, args.notifications)
        delay(engine, url, folder, net.serials, args.scans)
        scan_path(engine, settings, net.serials[args.scans:], args.path_scans)
    finally:
        engine.dispose()
        if not args.postgres:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
