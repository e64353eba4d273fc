"""Reports at scale: diversion flows and the distributor scorecard over 100,000 violations
and the custody moves of 1,000,000 serials through three tiers.

    python bench/reports_bench.py [--violations N] [--serials N] [--postgres URL]

Fills a fresh database with synthetic rows straight through the driver (parties,
violations opened over a year, ship and receive moves), then times ``reports.flows`` and
``reports.scorecard`` over a month, a quarter and a year, each three times (the median
is printed). SQLite in a temporary directory by default; ``--postgres URL`` runs on that
database instead (its tables are emptied first!). Prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from tracker import migrate  # noqa: E402
from tracker.db import insert_plain_rows, make_engine, make_session_factory, table  # noqa: E402
from tracker.models import CustodyMove, Party, Violation  # noqa: E402
from tracker.services import reports  # noqa: E402
from tracker.services.auth import SYSTEM  # noqa: E402

GTIN = "09506000134352"
END = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def stamp(moment: dt.datetime, dialect: str) -> str:
    text_ = moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return text_ if dialect == "sqlite" else text_ + "+00"


def fill(engine, violations: int, serials: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    dialect = engine.dialect.name
    territories = [f"CN-{i:02d}" for i in range(34)]
    tier1 = [f"d1-{i:03d}" for i in range(30)]
    tier2 = [f"d2-{i:03d}" for i in range(300)]
    year = (END - dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).total_seconds()

    def when() -> str:
        return stamp(END - dt.timedelta(seconds=rng.random() * year), dialect)

    with engine.begin() as connection:
        insert_plain_rows(connection, table(Party), ("id", "name", "role", "tier", "created_at"),
                          [(p, p, "distributor", 1 if p in tier1 else 2, when())
                           for p in tier1 + tier2])
        moves = []
        for n in range(serials):
            key = f"01/{GTIN}/21/S{n:09d}"
            first, second = rng.choice(tier1), rng.choice(tier2)
            for kind, sender, receiver in (("ship", "brand", first), ("receive", "brand", first),
                                           ("ship", first, second),
                                           ("receive", first, second)):
                moves.append((key, kind, sender, receiver, when()))
            if len(moves) >= 200_000:
                insert_plain_rows(connection, table(CustodyMove),
                                  ("key", "kind", "from_party", "to_party", "at"), moves)
                moves = []
        insert_plain_rows(connection, table(CustodyMove),
                          ("key", "kind", "from_party", "to_party", "at"), moves)
        statuses = ["open"] * 5 + ["investigating", "confirmed", "dismissed", "resolved"]
        rows = []
        for n in range(violations):
            expected = rng.sample(territories, rng.choice((1, 1, 1, 2)))
            # One open violation per serial and type: distinct serials (9973 is prime).
            rows.append((f"01/{GTIN}/21/S{n * 9973 % serials:09d}", "diverted",
                         rng.choice(statuses), rng.choice(tier1 + tier2 + [None]),
                         json.dumps(expected), rng.choice(territories + [None]), 1,
                         when(), when(), None))
            if n % 50_000 == 49_999:
                _violations(connection, rows)
                rows = []
        _violations(connection, rows)


def _violations(connection, rows) -> None:  # type: ignore[no-untyped-def]
    insert_plain_rows(connection, table(Violation), (
        "key", "type", "status", "responsible_party", "expected_territories",
        "found_territory", "scan_count", "opened_at", "updated_at", "last_scan_at"),
        [row[:9] + (row[8],) for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--violations", type=int, default=100_000)
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="reports-bench-")
    url = args.postgres or f"sqlite:///{folder}/bench.db"
    engine = make_engine(url)
    migrate.rebuild(engine)
    started = time.perf_counter()
    fill(engine, args.violations, args.serials)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(f"{engine.dialect.name}: filled {args.violations:,} violations, "
          f"{args.serials * 4:,} custody moves in {time.perf_counter() - started:.1f} s")
    sessions = make_session_factory(engine)
    for label, days in (("month", 31), ("quarter", 92), ("year", 366)):
        since = END - dt.timedelta(days=days)
        for name, report in (("flows", reports.flows), ("scorecard", reports.scorecard)):
            times = []
            for _ in range(3):
                with sessions() as session:
                    started = time.perf_counter()
                    result = report(session, since=since, until=END, actor=SYSTEM)
                    times.append(time.perf_counter() - started)
            print(f"  {name:9} over a {label:7}: {len(result.items):4} rows, "
                  f"median {statistics.median(times) * 1000:8.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
