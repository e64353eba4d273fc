"""Issuing 1,000,000 serials: through the service, once through the HTTP API, and the
same rows written with raw ``sqlite3.executemany`` (PostgreSQL: ``COPY``) as a baseline.

    python bench/issue_bench.py [--quantity N] [--postgres URL] [--skip-api]

Prints times and ratios; it asserts nothing. Target: service / raw <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.domain.serials import generate_serials  # noqa: E402
from tracker.services import issuing, masterdata  # noqa: E402
from tracker.services.auth import SYSTEM, create_user  # noqa: E402

GTIN = "09506000134352"
SQUARE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"code": "T1", "name": "Bench land"},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
}]}
# The same table shape as the project's serials table: text primary key + index on batch_id.
SQLITE_DDL = [
    "CREATE TABLE serials (serial VARCHAR(20) NOT NULL PRIMARY KEY, batch_id INTEGER NOT NULL)",
    "CREATE INDEX ix_serials_batch_id ON serials (batch_id)",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str) -> None:
    engine = make_engine(url)
    migrate.rebuild(engine)
    with make_session_factory(engine)() as session, session.begin():
        masterdata.import_territories(session, collection=SQUARE, actor=SYSTEM)
        masterdata.create_product(session, gtin=GTIN, name="Bench tea", actor=SYSTEM)
    engine.dispose()


def issue_through_service(url: str, quantity: int) -> float:
    engine = make_engine(url)
    settings = Settings(database_url=url)
    start = time.perf_counter()
    with make_session_factory(engine)() as session, session.begin():
        issuing.issue_batch(session, gtin=GTIN, territory="T1", quantity=quantity,
                            actor=SYSTEM, settings=settings)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def raw_sqlite(path: Path, quantity: int) -> float:
    rows = [(s, 1) for s in generate_serials(quantity)]  # generated outside the clock
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in SQLITE_DDL:
        connection.execute(statement)
    connection.commit()
    start = time.perf_counter()
    connection.executemany("INSERT INTO serials (serial, batch_id) VALUES (?, ?)", rows)
    connection.commit()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def raw_postgres_copy(url: str, quantity: int) -> float:
    import psycopg

    serials = generate_serials(quantity)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_serials")
        connection.execute("CREATE TABLE bench_serials (serial VARCHAR(20) PRIMARY KEY, "
                           "batch_id INTEGER NOT NULL)")
        connection.execute("CREATE INDEX ix_bench ON bench_serials (batch_id)")
        connection.commit()
        start = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.copy("COPY bench_serials (serial, batch_id) FROM STDIN") as copy:
                for i in range(0, quantity, 50_000):
                    copy.write("".join(f"{s}\t1\n" for s in serials[i:i + 50_000]))
        connection.commit()
        elapsed = time.perf_counter() - start
        connection.execute("DROP TABLE bench_serials")
        connection.commit()
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def issue_through_api(url: str, quantity: int) -> float:
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        _, token = create_user(session, name=f"bench-{time.time_ns()}", role="admin",
                               actor=SYSTEM)
    engine.dispose()
    port = free_port()
    exe = shutil.which("tracker", path=str(Path(sys.executable).parent)) or "tracker"
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    server = subprocess.Popen([exe, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/batches", method="POST",
            data=json.dumps({"gtin": GTIN, "territory": "T1", "quantity": quantity}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            assert response.status == 201, response.status
        return time.perf_counter() - start
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quantity", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL "
                        "(its public schema is dropped!)")
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    n = args.quantity
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        prepare(url)
        rss0 = rss_mb()
        service = issue_through_service(url, n)
        rss1 = rss_mb()
        raw = raw_sqlite(Path(tmp) / "raw.db", n)
        print(f"SQLite  service issue_batch   {n:>9,} serials  {service:6.2f} s "
              f"({n / service:,.0f}/s)  peak RSS +{rss1 - rss0:.0f} MB")
        print(f"SQLite  raw sqlite3.executemany {n:>7,} rows     {raw:6.2f} s "
              f"({n / raw:,.0f}/s)")
        print(f"SQLite  ratio service/raw = {service / raw:.2f}  (target <= 1.5)")
        if not args.skip_api:
            api = issue_through_api(url, n)
            print(f"SQLite  POST /batches via tracker serve  {api:6.2f} s  "
                  f"ratio api/raw = {api / raw:.2f}")
    if args.postgres:
        prepare(args.postgres)
        service = issue_through_service(args.postgres, n)
        raw = raw_postgres_copy(args.postgres, n)
        print(f"Postgres service issue_batch  {n:>9,} serials  {service:6.2f} s")
        print(f"Postgres raw COPY             {n:>9,} rows     {raw:6.2f} s")
        print(f"Postgres ratio service/raw = {service / raw:.2f}")
        if not args.skip_api:
            api = issue_through_api(args.postgres, n)
            print(f"Postgres POST /batches via tracker serve  {api:6.2f} s  "
                  f"ratio api/raw = {api / raw:.2f}")


if __name__ == "__main__":
    main()
