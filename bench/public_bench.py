"""The public page of a code under load: p50/p95 of its answer at a fixed rate of
requests (default 200 per second), from ``tracker serve`` (gunicorn, as in production).

    python bench/public_bench.py [--rate 200] [--seconds 15] [--serials 5000]
                                 [--workers N] [--threads 2] [--postgres URL]

Set-up: a fresh database (SQLite in a temporary folder, or the ``--postgres`` database,
whose tables are dropped and rebuilt!) with the demo's maps, one product and
``--serials`` serials of a Guangdong batch, through the services. ``tracker serve`` is
started on it as a subprocess, behind one "trusted proxy" (``TRACKER_TRUSTED_PROXIES=1``):
each request claims one of 2,000 client addresses in X-Forwarded-For, as many phones
behind a load balancer would, so the rate limit (30 a minute per client) is exercised
on every request but refuses none.

The client is open-loop: request *i* is due at ``start + i / rate`` whatever the
answers before it did, sent from a pool of threads with kept-alive connections. Its
time is measured from when it was due to its last byte (a server that falls behind
shows as growing times, not as a slower client); how late the client itself sent is
printed too. Every public request is a person's check of a random serial (HTML, a
consumer scan recorded); a run with ``--json`` asks for the JSON answer instead.

Baseline in the same run, on the same server at the same rate: ``GET /healthz``, a
trivial Flask route (the server, framework and client's floor). Target: the public
page's p95 under 50 ms at 200 requests per second. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.models import Serial  # noqa: E402
from tracker.services import demo, issuing, masterdata  # noqa: E402
from tracker.services.auth import SYSTEM  # noqa: E402

GTIN = demo.demo_gtin("00011")
CLIENTS = 2000
TARGET_P95_MS = 50.0


def build(url: str, serials: int) -> list[str]:
    engine = make_engine(url)
    migrate.rebuild(engine)
    settings = Settings(database_url=url)
    with make_session_factory(engine)() as session, session.begin():
        demo.load_maps(session)
        masterdata.create_product(session, gtin=GTIN, name="Jasmine Green Tea 250 g",
                                  actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=serials,
                                    lot="L2026A", actor=SYSTEM, settings=settings)
        found = list(session.scalars(select(Serial.serial).where(Serial.batch_id == batch.id)))
    engine.dispose()
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, workers: int | None, threads: int,
                 folder: Path) -> subprocess.Popen[bytes]:
    tracker = shutil.which("tracker", path=str(Path(sys.executable).parent))
    command = [tracker] if tracker else [sys.executable, "-m", "web.cli"]
    command += ["serve", "--port", str(port), "--threads", str(threads)]
    if workers:
        command += ["--workers", str(workers)]
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_TRUSTED_PROXIES": "1",
           "TRACKER_SECRET_KEY": "bench"}
    server = subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("tracker serve did not start within 60 s")


class Client:
    """Open-loop requests at a fixed rate from a pool of threads, each with its own
    kept-alive connection."""

    def __init__(self, port: int, threads: int = 64) -> None:
        self.port = port
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=30)
        return connection

    def _send(self, path: str, headers: dict[str, str], due: float
              ) -> tuple[float, float, int]:
        sent = time.perf_counter()
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                break
            except (http.client.HTTPException, OSError):
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    return time.perf_counter() - due, sent - due, 0
        return time.perf_counter() - due, sent - due, response.status

    def run(self, rate: float, seconds: float, request: object
            ) -> list[tuple[float, float, int]]:
        count = int(rate * seconds)
        start = time.perf_counter() + 0.2
        futures = []
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            path, headers = request(i)  # type: ignore[operator]
            futures.append(self.pool.submit(self._send, path, headers, due))
        return [future.result() for future in futures]


def client_address(n: int) -> str:
    return f"10.{n // 250}.0.{n % 250}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, results: list[tuple[float, float, int]], seconds: float,
           baseline_p50: float | None = None) -> tuple[float, float]:
    times = [r[0] * 1000 for r in results]
    late = [r[1] * 1000 for r in results]
    statuses: dict[int, int] = {}
    for _t, _l, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    line = (f"{name:<28} {len(results) / seconds:6.0f}/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  p99 {percentile(times, 0.99):6.1f} ms  max {max(times):7.1f} ms"
            f"  client late p95 {percentile(late, 0.95):5.1f} ms  statuses {statuses}")
    if baseline_p50:
        line += f"  ({p50 / baseline_p50:.1f}x baseline p50)"
    print(line, flush=True)
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--serials", type=int, default=5000)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="ask for the JSON answer")
    parser.add_argument("--postgres", help="a PostgreSQL URL (its tables are rebuilt!)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="public-bench-"))
    url = args.postgres or f"sqlite:///{folder / 'bench.db'}"
    began = time.perf_counter()
    serials = build(url, args.serials)
    print(f"database: {url.split('@')[-1]} with {len(serials):,} serials "
          f"({time.perf_counter() - began:.1f} s to build); cores: {os.cpu_count()}",
          flush=True)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads, folder)
    try:
        client = Client(port)
        rng = random.Random(7)
        accept = "application/json" if args.json else "text/html"

        def check(_i: int) -> tuple[str, dict[str, str]]:
            return (f"/01/{GTIN}/21/{rng.choice(serials)}",
                    {"Accept": accept, "Accept-Language": "zh-CN,zh;q=0.9",
                     "X-Forwarded-For": client_address(rng.randrange(CLIENTS))})

        def health(_i: int) -> tuple[str, dict[str, str]]:
            return "/healthz", {}

        client.run(50, 2, check)  # warm-up: every worker's caches and connections
        client.run(50, 1, health)
        print(f"open-loop at {args.rate:.0f} requests/s for {args.seconds:.0f} s each, "
              f"server: tracker serve (gunicorn, {args.workers or 'one per core'} workers x "
              f"{args.threads} threads)", flush=True)
        base_p50, _ = report("baseline GET /healthz", client.run(args.rate, args.seconds, health),
                             args.seconds)
        _p50, p95 = report("public page" + (" (JSON)" if args.json else " (HTML)"),
                           client.run(args.rate, args.seconds, check), args.seconds,
                           baseline_p50=base_p50)
        verdict = "met" if p95 < TARGET_P95_MS else "NOT met"
        print(f"target: public page p95 < {TARGET_P95_MS:.0f} ms at {args.rate:.0f}/s: "
              f"{verdict} ({p95:.1f} ms)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.postgres:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
