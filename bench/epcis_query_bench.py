"""EPCIS queries on a big event store: the standard query parameters, deep pages and the
top-level resources, through the query service, against a baseline read in the same run.

    python bench/epcis_query_bench.py [--quick] [--events N] [--postgres URL]

Stores ``--events`` events (200,000 by default; 20,000 with ``--quick``) through the event
store (``events.store_events``, as capture does): observations of 1-3 items each, a
shipping step every 10th, a sensor report every 100th, an error declaration every 200th,
spread over 50 business locations. Then times, each 30 times (p50 and p95 printed):

- the baseline: one event read by its primary key (the cheapest read there is);
- ``MATCH_epc`` of one item; ``EQ_bizStep=shipping`` first page, and 20 pages followed
  by their cursors (the time per page printed); ``EQ_type=Temperature`` (sensor data,
  in ``event_fields``); ``EXISTS_errorDeclaration``; the latest event (``orderBy=eventTime``,
  ``eventCountLimit=1``); ``MATCH_epc`` by an ``idpat`` pattern (a GTIN's items);
- ``/epcs`` and ``/bizLocations`` first pages, and ``/epcs`` 20 pages followed (per page).

SQLite in a temporary directory by default; ``--postgres URL`` runs on that database
instead (its public schema is dropped first!). Prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tracker import migrate  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.domain.epcis import normalise_event  # noqa: E402
from tracker.models import Event  # noqa: E402
from tracker.services import epcis_query, epcis_resources, events  # noqa: E402
from tracker.services.auth import SYSTEM  # noqa: E402

CHUNK = 5_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def item(n: int) -> str:
    return f"urn:epc:id:sgtin:0614141.{107346 + n % 7}.{n}"


def event(n: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "ObjectEvent", "action": "OBSERVE",
        "eventTime": (START + dt.timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [item(n * 3 + k) for k in range(1 + n % 3)],
        "bizStep": "shipping" if n % 10 == 0 else "inspecting",
        "bizLocation": {"id": f"urn:epc:id:sgln:0614141.{n % 50:05d}.0"},
    }
    if n % 100 == 0:
        document["sensorElementList"] = [{"sensorReport": [
            {"type": "gs1:Temperature", "value": 4.0 + n % 5, "uom": "CEL"}]}]
    if n % 200 == 0:
        document["errorDeclaration"] = {"declarationTime": document["eventTime"],
                                        "reason": "incorrect_data"}
    return document


def fill(session_factory: Any, count: int) -> None:
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        normalised = [normalise_event(event(n)) for n in range(first, min(count, first + CHUNK))]
        with session_factory() as session, session.begin():
            events.store_events(session, normalised, origin="capture")
        done = min(count, first + CHUNK)
        print(f"  stored {done:>9,}/{count:,} events  {time.perf_counter() - started:6.1f} s",
              flush=True)


def timed(run: Callable[[], Any], rounds: int = 30) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], result


def deep(session: Session, params: dict[str, object], pages: int) -> int:
    """Follow the cursor ``pages`` pages; the events on the last."""
    token = None
    for _ in range(pages):
        page = epcis_query.query_events(session, params, actor=SYSTEM, per_page=30,
                                        after=token)
        token = page.next_cursor
    return len(page.events)


def deep_values(session: Session, name: str, pages: int) -> int:
    token = None
    for _ in range(pages):
        members, token = epcis_resources.list_values(session, name, actor=SYSTEM,
                                                     per_page=30, after=token)
    return len(members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 events")
    parser.add_argument("--events", type=int)
    parser.add_argument("--postgres", help="run on this PostgreSQL URL (its public schema "
                                           "is dropped first)")
    args = parser.parse_args()
    count = args.events or (20_000 if args.quick else 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        if args.postgres:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        print(f"== EPCIS query bench on {engine.dialect.name}: {count:,} events", flush=True)
        fill(factory, count)
        with factory() as session:
            if engine.dialect.name == "postgresql":
                session.execute(text("ANALYZE"))
            middle = session.scalar(select(Event.id).offset(count // 2).limit(1))
            one_item = item((count // 2) * 3)
            cases: list[tuple[str, Callable[[], Any]]] = [
                ("baseline: one event by primary key",
                 lambda: session.get(Event, middle, populate_existing=True)),
                ("MATCH_epc one item", lambda: epcis_query.query_events(
                    session, {"MATCH_epc": one_item}, actor=SYSTEM).events),
                ("EQ_bizStep=shipping first page", lambda: epcis_query.query_events(
                    session, {"EQ_bizStep": "shipping"}, actor=SYSTEM).events),
                ("EQ_bizStep=shipping, 20 pages: per page",
                 lambda: deep(session, {"EQ_bizStep": "shipping"}, 20)),
                ("EQ_type=Temperature first page", lambda: epcis_query.query_events(
                    session, {"EQ_type": "Temperature"}, actor=SYSTEM).events),
                ("EXISTS_errorDeclaration first page", lambda: epcis_query.query_events(
                    session, {"EXISTS_errorDeclaration": "true"}, actor=SYSTEM).events),
                ("latest: orderBy=eventTime eventCountLimit=1", lambda: epcis_query.query_events(
                    session, {"orderBy": "eventTime", "eventCountLimit": "1"},
                    actor=SYSTEM).events),
                ("MATCH_epc idpat (a GTIN's items) first page", lambda: epcis_query.query_events(
                    session, {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"},
                    actor=SYSTEM).events),
                ("/epcs first page", lambda: epcis_resources.list_values(
                    session, "epcs", actor=SYSTEM)),
                ("/epcs, 20 pages: per page", lambda: deep_values(session, "epcs", 20)),
                ("/bizLocations first page", lambda: epcis_resources.list_values(
                    session, "bizLocations", actor=SYSTEM)),
            ]
            baseline = None
            for name, run in cases:
                p50, p95, _ = timed(run)
                if "20 pages" in name:
                    p50, p95 = p50 / 20, p95 / 20
                baseline = baseline or p50
                print(f"query   {name:<46} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  "
                      f"({p50 / baseline:6.1f}x baseline)", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
