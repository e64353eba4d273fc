"""Property tests (Hypothesis) through the API on a real database: random bad bodies to
``POST /scans``, ``POST /territories`` and ``POST /epcis/capture`` never get a server
error, and a refused request leaves every table as it was (rows counted before and
after). Bodies range from any bytes to valid requests with one thing wrong; the valid
ones that come up are answered 2xx and may store rows.

``-s`` prints how many cases each property ran.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from tests.integration.network import GTIN, build
from tests.unit.test_properties import EVENTS, geometries, json_values
from tracker.db import Base, make_session_factory

CASES: Counter[str] = Counter()
# Each example shares the test's database with the earlier ones: only the counts
# before and after one request are compared.
def one_database(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Any:
    yield
    if CASES:
        print("\nHypothesis cases run through the API: " + ", ".join(
            f"{k} {v}" for k, v in sorted(CASES.items())) + f"; total {sum(CASES.values())}")


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.execute(
            select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables}


@pytest.fixture()
def serials(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings, quantity=4).serials


@pytest.fixture()
def tokens(make_token):  # type: ignore[no-untyped-def]
    return {role: {"Authorization": f"Bearer {make_token(role)}"}
            for role in ("admin", "inspector")}


def post(client: Any, db: Engine, path: str, headers: dict[str, str], body: Any,
         name: str) -> int:
    """Post one body; assert no server error, and no row changed when it is refused."""
    CASES[name] += 1
    before = row_counts(db)
    if isinstance(body, bytes | str):
        response = client.post(path, headers=headers, data=body,
                               content_type="application/json")
    else:
        response = client.post(path, headers=headers, json=body)
    status = response.status_code
    event(f"{status}")
    assert status < 500, response.get_data(as_text=True)[:500]
    if status >= 400:
        error = response.get_json()["error"]
        assert error["code"] and error["message"]
        assert row_counts(db) == before, f"{status} {error} left rows behind"
    return status


raw_bodies = st.binary(max_size=200) | st.text(max_size=200)


def scan_bodies(serials: list[str]) -> Any:
    codes = st.sampled_from([f"https://id.example.com/01/{GTIN}/21/{s}" for s in serials]
                            + serials + ["not a code", "", "urn:epc:id:sgtin:1.2.3"])
    plausible = {
        "code": codes | json_values,
        "latitude": st.floats(min_value=-95, max_value=95) | json_values,
        "longitude": st.floats(min_value=-200, max_value=200) | json_values,
        "accuracy_m": st.floats(min_value=-10, max_value=1e7) | json_values,
        "scanned_at": st.sampled_from(["2026-01-01T10:00:00Z", "2026-01-01T10:00:00",
                                       "yesterday", "9999-12-31T23:59:59+14:00"]) | json_values,
        "client_scan_id": st.text(max_size=300) | json_values,
        "device_id": st.text(max_size=300) | json_values,
    }
    valid = st.fixed_dictionaries({"code": codes, "latitude": st.floats(-90, 90),
                                   "longitude": st.floats(-180, 180)})
    one_wrong = st.builds(lambda body, name, value: {**body, name: value}, valid,
                          st.sampled_from(sorted(plausible)), json_values)
    return (valid | one_wrong | st.fixed_dictionaries({}, optional=plausible) | json_values
            | raw_bodies)


@one_database(100)
@given(data=st.data())
def test_a_bad_scan_is_refused_and_stores_nothing(client, db, serials, tokens, data):  # type: ignore[no-untyped-def]
    body = data.draw(scan_bodies(serials))
    post(client, db, "/api/v1/scans", tokens["inspector"], body, "POST /scans")


territory_bodies = st.one_of(
    st.builds(lambda geometry, code: {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "parent": "A"},
         "geometry": geometry}]}, geometries, st.sampled_from(["Z1", "Z2", "A", ""])),
    st.builds(lambda features: {"type": "FeatureCollection", "features": features},
              st.lists(json_values, max_size=3)),
    json_values, raw_bodies)


@one_database(100)
@given(body=territory_bodies)
def test_a_bad_map_is_refused_and_stores_nothing(client, db, serials, tokens, body):  # type: ignore[no-untyped-def]
    post(client, db, "/api/v1/territories", tokens["admin"], body, "POST /territories")


def document(events: list[Any]) -> dict[str, Any]:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": events}}


@st.composite
def capture_bodies(draw: Any) -> Any:
    """An official event or two and one broken one (a member dropped or replaced), or
    any JSON at all."""
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        return draw(json_values | raw_bodies)
    chosen = [copy.deepcopy(e) for e, _context in draw(st.lists(st.sampled_from(EVENTS),
                                                                min_size=1, max_size=3))]
    victim = chosen[draw(st.integers(min_value=0, max_value=len(chosen) - 1))]
    name = draw(st.sampled_from(sorted(victim)))
    if draw(st.booleans()):
        del victim[name]
    else:
        victim[name] = draw(json_values)
    doc = document(chosen)
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["type", "schemaVersion", "creationDate", "epcisBody"]))] = \
            draw(json_values)
    return doc


@one_database(100)
@given(body=capture_bodies())
def test_a_bad_capture_is_refused_and_stores_nothing(client, db, serials, tokens, body):  # type: ignore[no-untyped-def]
    post(client, db, "/api/v1/epcis/capture", tokens["admin"], body, "POST /epcis/capture")
