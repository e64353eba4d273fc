"""Reports over HTTP: GET /reports/flows and /reports/scorecard as JSON and CSV, who may
read them, and how since/until are read (tests.integration.diversion's March 2024)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.integration.diversion import build_diversion
from tracker.db import make_session_factory

MARCH = "since=2024-03-01&until=2024-03-31"
FLOWS = [
    {"from_territory": "A1", "to_territory": "B", "violations": 4, "units": 3},
    {"from_territory": "A", "to_territory": "B", "violations": 3, "units": 3},
    {"from_territory": "A2", "to_territory": "B", "violations": 2, "units": 1},
    {"from_territory": "A", "to_territory": None, "violations": 1, "units": 1},
]
T1_ROW = {"party": "t1", "received_units": 10, "violations": 3, "violations_per_1000": 300.0,
          "confirmed": 1, "repeat": True, "previous_violations": 1}
SCORECARD = [
    T1_ROW,
    {"party": "t2", "received_units": 3, "violations": 2, "violations_per_1000": 666.67,
     "confirmed": 1, "repeat": False, "previous_violations": 0},
    {"party": "t3", "received_units": 2, "violations": 2, "violations_per_1000": 1000.0,
     "confirmed": 0, "repeat": False, "previous_violations": 0},
    {"party": "t1b", "received_units": 4, "violations": 0, "violations_per_1000": 0.0,
     "confirmed": 0, "repeat": False, "previous_violations": 0},
    {"party": "t4", "received_units": 0, "violations": 0, "violations_per_1000": None,
     "confirmed": 0, "repeat": False, "previous_violations": 0},
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def month(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        build_diversion(session, settings)


def get(client, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/reports/{path}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response


def test_flows_as_json(client, admin, month):
    assert get(client, f"flows?{MARCH}", admin).get_json() == {
        "since": "2024-03-01T00:00:00+00:00", "until": "2024-04-01T00:00:00+00:00",
        "items": FLOWS}


def test_scorecard_as_json(client, admin, month):
    assert get(client, f"scorecard?{MARCH}", admin).get_json()["items"] == SCORECARD


def test_a_distributor_reads_only_its_own_row_and_flows(client, make_token, month):
    t1 = bearer(make_token("distributor", party="t1"))
    assert get(client, f"scorecard?{MARCH}", t1).get_json()["items"] == [T1_ROW]
    assert get(client, f"flows?{MARCH}", t1).get_json()["items"] == [
        {"from_territory": "A", "to_territory": "B", "violations": 2, "units": 2},
        {"from_territory": "A", "to_territory": None, "violations": 1, "units": 1}]


@pytest.mark.parametrize("report", ["flows", "scorecard"])
def test_an_inspector_gets_403(client, make_token, report):
    response = client.get(f"/api/v1/reports/{report}?{MARCH}",
                          headers=bearer(make_token("inspector")))
    assert response.status_code == 403
    assert response.get_json() == {"error": {
        "code": "forbidden", "message": "role 'inspector' may not read reports; it needs "
                                        "one of: admin, compliance, distributor"}}


@pytest.mark.parametrize(("query", "message"), [
    ("since=2024-02-30", "parameter 'since' must be a date as YYYY-MM-DD or an ISO 8601 time "
                         "such as 2024-03-01T08:00:00+08:00, not '2024-02-30'"),
    ("until=yesterday", "parameter 'until' must be a date as YYYY-MM-DD or an ISO 8601 time "
                        "such as 2024-03-01T08:00:00+08:00, not 'yesterday'"),
    ("since=2024-03-01T08:00", "parameter 'since' must carry a timezone (Z or +08:00) when "
                               "it gives a time, not '2024-03-01T08:00'"),
    ("since=2024-04-01&until=2024-03-01", "parameter 'since' ('2024-04-01') must not be "
                                          "after parameter 'until' ('2024-03-01')"),
    ("format=xlsx", "query parameter 'format' must be one of: json, csv; not 'xlsx'"),
])
@pytest.mark.parametrize("report", ["flows", "scorecard"])
def test_bad_parameters_are_422_naming_them(client, admin, report, query, message):
    response = client.get(f"/api/v1/reports/{report}?{query}", headers=admin)
    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": "invalid_parameter", "message": message}}


def test_instants_with_a_timezone_name_the_same_period_as_dates(client, admin, month):
    beijing = "since=2024-03-01T08:00:00%2B08:00&until=2024-04-01T08:00:00%2B08:00"
    assert (get(client, f"scorecard?{beijing}", admin).get_json()
            == get(client, f"scorecard?{MARCH}", admin).get_json())


def test_the_default_period_is_the_last_30_days(client, admin, month):
    body = get(client, "flows", admin).get_json()
    since, until = (dt.datetime.fromisoformat(body[k]) for k in ("since", "until"))
    assert until - since == dt.timedelta(days=30)
    assert abs(until - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert body["items"] == []  # the scenario happened in 2024


def csv_rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@pytest.mark.parametrize("report", ["flows", "scorecard"])
def test_csv_holds_the_same_rows_as_json(client, admin, month, report):
    response = get(client, f"{report}?{MARCH}&format=csv", admin)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{report}-2024-03-01-2024-03-31.csv"')
    items = get(client, f"{report}?{MARCH}", admin).get_json()["items"]
    assert csv_rows(response) == [{k: as_text(v) for k, v in row.items()} for row in items]


def test_a_distributors_csv_holds_only_its_own_row(client, make_token, month):
    t2 = bearer(make_token("distributor", party="t2"))
    rows = csv_rows(get(client, f"scorecard?{MARCH}&format=csv", t2))
    assert [row["party"] for row in rows] == ["t2"]


def test_openapi_describes_the_reports(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for report in ("flows", "scorecard"):
        operation = paths[f"/reports/{report}"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["since", "until", "format"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json",
                                                                 "text/csv"}
