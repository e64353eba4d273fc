"""The violation queue page through Flask's test client: filters, counts per status,
keyset paging, the streamed CSV export, bulk actions with CSRF, names shown as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from tests.pages import PASSWORDS, csrf_of, sign_in
from tracker.db import make_session_factory
from tracker.models import Violation, ViolationAudit, ViolationStatus, ViolationType
from tracker.services import masterdata
from tracker.services.auth import SYSTEM

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
SQUARES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"code": "R", "name": "Region", "name_zh": "大区"},
     "geometry": None},
    *({"type": "Feature", "properties": {"code": code, "name": name, "parent": "R"},
       "geometry": {"type": "Polygon", "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1],
                                                        [x, 1], [x, 0]]]}}
      for code, name, x in [("A", "Alpha", 0), ("B", "Beta", 2)])]}
EVIL = "<script>alert(1)</script>"


@pytest.fixture()
def cases(db, users):  # type: ignore[no-untyped-def]
    """120 violations: 80 diverted found in B (expected A), 40 clones found in A; every
    tenth dismissed; the distributor named EVIL responsible for the diverted ones."""
    with make_session_factory(db)() as session, session.begin():
        masterdata.import_territories(session, collection=SQUARES, actor=SYSTEM)
        masterdata.create_party(session, id="evil", name=EVIL, role="distributor",
                                territories=["A"], parent=None, actor=SYSTEM)
        for i in range(120):
            diverted = i < 80
            session.add(Violation(
                key=f"k{i}", serial=f"S{i:04d}", gtin="06901234000110",
                type=ViolationType.DIVERTED if diverted else ViolationType.SUSPECTED_CLONE,
                status=ViolationStatus.DISMISSED if i % 10 == 0 else ViolationStatus.OPEN,
                responsible_party="evil" if diverted else None,
                expected_territories=["A"], found_territory="B" if diverted else "A",
                scan_count=1 + i % 3, opened_at=T0 + dt.timedelta(hours=i),
                updated_at=T0 + dt.timedelta(hours=i)))
    return 120


def rows_of(page: str) -> list[int]:
    return [int(v) for v in re.findall(r'<tr data-violation="(\d+)"', page)]


@pytest.fixture()
def compliance(client, users):  # type: ignore[no-untyped-def]
    sign_in(client, users["compliance"], PASSWORDS["compliance"])
    return client


def every_page(client, url: str) -> list[int]:  # type: ignore[no-untyped-def]
    """The violation ids of the queue at ``url`` and of every page after it."""
    seen: list[int] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += rows_of(page)
        following = re.search(r'data-action="next-page" href="([^"]+)"', page)
        url = following.group(1).replace("&amp;", "&") if following else ""
    return seen


def test_the_queue_pages_through_every_match_newest_first(compliance, cases):
    seen = every_page(compliance, "/compliance/violations?type=diverted")

    assert len(seen) == 80 and len(set(seen)) == 80
    assert seen == sorted(seen, reverse=True)  # opened one hour apart, in id order


def test_status_tabs_count_the_filtered_violations(compliance, cases):
    page = compliance.get("/compliance/violations?found=B").get_data(as_text=True)
    counts = dict(re.findall(r'data-status-tab="(\w+)"[^>]*>[^<]*<span[^>]*>(\d+)</span>', page))

    assert counts == {"all": "80", "open": "72", "investigating": "0", "confirmed": "0",
                      "dismissed": "8", "resolved": "0"}


def test_a_region_filter_includes_its_children(compliance, cases):
    by_region = rows_of(compliance.get("/compliance/violations?found=R").get_data(as_text=True))
    by_child = rows_of(compliance.get("/compliance/violations?found=A").get_data(as_text=True))

    assert len(by_region) == 50 and len(by_child) == 40  # first page of 120; the 40 clones


def test_a_bad_filter_is_explained_on_the_page(compliance, cases):
    response = compliance.get("/compliance/violations?from=2026-13-01")

    assert response.status_code == 400
    assert "from: &#39;2026-13-01&#39; is not a date" in response.get_data(as_text=True)


def test_the_csv_export_holds_the_same_rows_as_the_queue(compliance, cases):
    queue = every_page(compliance, "/compliance/violations?status=open&found=B&sort=oldest")
    export = compliance.get("/compliance/violations.csv?status=open&found=B&sort=oldest")

    assert export.mimetype == "text/csv"
    assert export.is_streamed
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == queue
    assert len(rows) == 72


def test_bulk_dismiss_needs_a_reason_and_is_audited(compliance, cases, db):
    page = compliance.get("/compliance/violations?status=open").get_data(as_text=True)
    ticked = rows_of(page)[:3]
    token = csrf_of(page)

    refused = compliance.post("/compliance/violations/bulk?status=open", data={
        "csrf_token": token, "ids": ticked, "action": "dismiss", "reason": ""})
    done = compliance.post("/compliance/violations/bulk?status=open", data={
        "csrf_token": token, "ids": ticked, "action": "dismiss", "reason": "test scans"})

    assert refused.status_code == done.status_code == 302
    assert done.headers["Location"] == "/compliance/violations?status=open"
    shown = compliance.get("/compliance/violations?status=open").get_data(as_text=True)
    assert "Nothing was changed: a review needs a &#39;note&#39; saying why" in shown
    assert "3 violations updated." in shown
    with make_session_factory(db)() as session:
        statuses = session.scalars(select(Violation.status).where(Violation.id.in_(ticked)))
        assert set(statuses) == {ViolationStatus.DISMISSED}
        notes = session.scalars(select(ViolationAudit.note).where(
            ViolationAudit.violation_id.in_(ticked), ViolationAudit.action == "status"))
        assert list(notes) == ["test scans"] * 3


def test_bulk_assign_and_filter_by_assignee(compliance, cases, users):
    page = compliance.get("/compliance/violations?type=suspected_clone").get_data(as_text=True)
    ticked = rows_of(page)[:2]
    compliance.post("/compliance/violations/bulk", data={
        "csrf_token": csrf_of(page), "ids": ticked, "action": "assign",
        "assignee": users["compliance"]})

    mine = compliance.get(f"/compliance/violations?assignee={users['compliance']}")
    nobody = compliance.get("/compliance/violations?assignee=-&type=suspected_clone")

    assert rows_of(mine.get_data(as_text=True)) == ticked
    assert set(rows_of(nobody.get_data(as_text=True))) & set(ticked) == set()


def test_a_bulk_action_without_csrf_token_changes_nothing(compliance, cases, db):
    response = compliance.post("/compliance/violations/bulk", data={
        "ids": ["2", "3"], "action": "dismiss", "reason": "no token"})

    assert response.status_code == 400
    with make_session_factory(db)() as session:
        assert session.scalar(select(Violation.status).where(Violation.id == 2)) is (
            ViolationStatus.OPEN)


def test_a_party_named_like_a_script_is_shown_as_text(compliance, cases):
    page = compliance.get("/compliance/violations?type=diverted").get_data(as_text=True)

    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_queue_is_refused_to_inspectors_and_distributors(client, users, cases):
    for role in ("inspector", "distributor"):
        sign_in(client, users[role], PASSWORDS[role])
        assert client.get("/compliance/violations").status_code == 403
        assert client.get("/compliance/violations.csv").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/").get_data(
            as_text=True))})


def test_a_decision_without_a_reason_changes_nothing(compliance, cases, db):
    page = compliance.get("/compliance/violations/2").get_data(as_text=True)
    response = compliance.post("/compliance/violations/2/status", data={
        "csrf_token": csrf_of(page), "status": "confirmed", "reason": " "})

    assert response.headers["Location"] == "/compliance/violations/2"
    shown = compliance.get("/compliance/violations/2").get_data(as_text=True)
    assert "Nothing was changed: a review needs a &#39;note&#39; saying why" in shown
    with make_session_factory(db)() as session:
        assert session.get(Violation, 2).status is ViolationStatus.OPEN


def test_a_comment_shows_on_the_case_with_its_author(compliance, cases, users):
    page = compliance.get("/compliance/violations/2").get_data(as_text=True)
    compliance.post("/compliance/violations/2/comments", data={
        "csrf_token": csrf_of(page), "body": "Called the distributor <b>today</b>"})

    shown = compliance.get("/compliance/violations/2").get_data(as_text=True)
    comments = shown.split("data-comments")[1].split("</ul>")[0]
    assert users["compliance"] in comments
    assert "Called the distributor &lt;b&gt;today&lt;/b&gt;" in comments


def test_the_case_map_lists_the_expected_and_found_territories(compliance, cases):
    data = compliance.get("/compliance/violations/2/map.json").get_json()

    roles = [(f["properties"]["role"], f["properties"].get("code")) for f in data["features"]]
    assert roles == [("expected", "A"), ("found", "B")]  # these cases have no scans
    assert data["features"][0]["geometry"]["type"] == "Polygon"


def test_the_case_page_is_refused_to_distributors(client, users, cases):
    sign_in(client, users["distributor"], PASSWORDS["distributor"])

    assert client.get("/compliance/violations/2").status_code == 403
    assert client.get("/compliance/violations/2/map.json").status_code == 403


def test_the_reports_page_counts_the_period_and_offers_csv(compliance, cases):
    page = compliance.get("/compliance/reports/?since=2026-11-01&until=2026-11-30")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    assert 'hx-get="/compliance/reports/flows-table?since=2026-11-01&amp;until=2026-11-30"' in text
    table = compliance.get("/compliance/reports/flows-table?since=2026-11-01&until=2026-11-30")
    assert 'data-flow="A>B"' in table.get_data(as_text=True)
    flows = compliance.get("/compliance/reports/flows.csv?since=2026-11-01&until=2026-11-30")
    assert flows.headers["Content-Disposition"] == (
        "attachment; filename=flows-2026-11-01-2026-11-30.csv")
    assert flows.get_data(as_text=True).splitlines()[1] == "A,B,80,80"


def test_a_bad_period_is_explained_in_the_layout(compliance, cases):
    response = compliance.get("/compliance/reports/?since=2026-12-01&until=2026-11-01")

    assert response.status_code == 422
    assert "must not be after" in response.get_data(as_text=True)
    assert 'data-error="422"' in response.get_data(as_text=True)


def test_the_reports_are_refused_to_inspectors(client, users, cases):
    sign_in(client, users["inspector"], PASSWORDS["inspector"])

    for page in ("/compliance/reports/", "/compliance/reports/flows-table",
                 "/compliance/reports/flows.csv",
                 "/compliance/reports/scorecard.csv", "/compliance/reports/flows-map.json"):
        assert client.get(page).status_code == 403, page


def pdf_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


@pytest.mark.parametrize(("language", "title"), [("en", "Violation 2: Diverted"),
                                                 ("zh", "违规 2: 窜货")])
def test_the_case_file_is_a_pdf_in_the_readers_language(compliance, cases, language, title):
    response = compliance.get("/compliance/violations/2/case-file.pdf",
                              headers={"Accept-Language": language})

    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert title in text
    assert "S0001" in text  # the serial
    assert response.headers["X-Content-Hash"] in text.replace("\n", "")


def test_the_flow_table_and_map_show_the_largest_flows_and_say_so(compliance, cases, db,
                                                                   monkeypatch):
    import web.reports

    with make_session_factory(db)() as session, session.begin():  # a smaller flow B>A
        session.add(Violation(key="k-back", type=ViolationType.DIVERTED,
                              expected_territories=["B"], found_territory="A",
                              opened_at=T0, updated_at=T0))
    period = "since=2026-11-01&until=2026-11-30"
    every = compliance.get(f"/compliance/reports/flows.csv?{period}").get_data(as_text=True)
    monkeypatch.setattr(web.reports, "TOP_FLOWS", 1)

    text = compliance.get(f"/compliance/reports/flows-table?{period}").get_data(as_text=True)
    arrows = compliance.get(f"/compliance/reports/flows-map.json?{period}").get_json()["flows"]

    assert every.splitlines()[1:] == ["A,B,80,80", "B,A,1,1"]
    assert text.count("data-flow=") == 1 and 'data-flow="A>B"' in text  # the largest
    assert 'data-flows-shown="1"' in text and "The 1 largest of 2 flows" in text
    assert [(a["from"], a["to"]) for a in arrows] == [("A", "B")]
