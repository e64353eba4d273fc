"""Report pages: violations over time, where goods leak (map and flow table), the
distributor scorecard; each with a period picker, drill-down to the queue and CSV."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from tracker.db import utcnow
from tracker.domain.periods import Period, parse_period
from tracker.models import Role
from tracker.services import maps, reports
from web.auth import actor, role_required
from web.db import get_session
from web.layout import VIOLATION_TYPE_LABELS
from web.names import party_names, remember_territory_names

bp = Blueprint("reports", __name__, url_prefix="/compliance/reports")

# The table and the map's arrows show the largest flows (a quarter of a year of a big
# brand holds thousands of pairs); the CSV download holds every one.
TOP_FLOWS = 25
QUICK_PERIODS = [(30, _l("Last 30 days")), (90, _l("Last 90 days")), (365, _l("Last 12 months"))]


def _period() -> Period:
    return parse_period(request.args.get("since"), request.args.get("until"), now=utcnow())


def queue_words(period: Period) -> dict[str, str]:
    """The queue's date filter for a period (its ``until`` day is inclusive)."""
    return {"from": period.since.date().isoformat(),
            "until": (period.until - dt.timedelta(microseconds=1)).date().isoformat()}


@bp.get("/")
@role_required(Role.COMPLIANCE)
def overview() -> str:
    session = get_session()
    period = _period()
    who = actor()
    days = reports.violations_over_time(session, since=period.since, until=period.until,
                                        actor=who)
    scorecard = reports.scorecard(session, since=period.since, until=period.until, actor=who)
    remember_territory_names(session)
    names = party_names(session)
    session.rollback()
    return render_template(
        "compliance/reports.html", period=period, words=queue_words(period),
        quick=QUICK_PERIODS, scorecard=scorecard, party_names=names,
        timeline=json.dumps(_timeline(period, days)),
        type_labels=json.dumps({k: str(v) for k, v in VIOLATION_TYPE_LABELS.items()}))


@bp.get("/flows-table")
@role_required(Role.COMPLIANCE)
def flows_table() -> str:
    """The reports page's flow table, which the page loads after itself."""
    session = get_session()
    period = _period()
    flows = reports.flows(session, since=period.since, until=period.until, actor=actor(),
                          largest=TOP_FLOWS)
    remember_territory_names(session)
    session.rollback()
    return render_template("compliance/_flows_table.html", words=queue_words(period),
                           top_flows=flows.items, flow_count=flows.pairs)


@bp.get("/flows-map.json")
@role_required(Role.COMPLIANCE)
def flows_map() -> Response:
    """Territories with the violations found in them and leaking out of them, and the
    largest flows between them, for the map."""
    session = get_session()
    period = _period()
    who = actor()
    leaks = reports.leaks(session, since=period.since, until=period.until, actor=who)
    flows = reports.busiest_flows(session, since=period.since, until=period.until, actor=who,
                                  largest=TOP_FLOWS)
    shapes = maps.outlines(session, leaks)
    session.rollback()
    features = [{"type": "Feature", "geometry": shape.geometry,
                 "properties": {"code": code, "name": shape.name, "name_zh": shape.name_zh,
                                "found_in": leaks[code][0], "out_of": leaks[code][1]}}
                for code, shape in shapes.items()]
    arrows = [{"from": flow.from_territory, "to": flow.to_territory,
               "from_at": shapes[flow.from_territory].anchor,
               "to_at": shapes[flow.to_territory].anchor, "violations": flow.violations}
              for flow in flows
              if flow.from_territory in shapes and flow.to_territory in shapes]
    return jsonify({"type": "FeatureCollection", "features": features, "flows": arrows})


@bp.get("/flows.csv")
@role_required(Role.COMPLIANCE)
def flows_csv() -> Response:
    period = _period()
    session = get_session()
    text = reports.flows_csv(session, since=period.since, until=period.until, actor=actor())
    session.rollback()
    return _download(text, "flows", period)


@bp.get("/scorecard.csv")
@role_required(Role.COMPLIANCE)
def scorecard_csv() -> Response:
    period = _period()
    session = get_session()
    text = reports.scorecard_csv(session, since=period.since, until=period.until,
                                 actor=actor())
    session.rollback()
    return _download(text, "scorecard", period)


def _download(text: str, name: str, period: Period) -> Response:
    words = queue_words(period)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition":
            f"attachment; filename={name}-{words['from']}-{words['until']}.csv"})


def _timeline(period: Period, days: tuple[reports.DayCount, ...]) -> dict[str, Any]:
    """Every day of the period with the count of each type (0 where none)."""
    words = queue_words(period)
    first, last = dt.date.fromisoformat(words["from"]), dt.date.fromisoformat(words["until"])
    labels = [(first + dt.timedelta(days=i)).isoformat()
              for i in range((last - first).days + 1)]
    position = {day: i for i, day in enumerate(labels)}
    series: dict[str, list[int]] = {kind: [0] * len(labels) for kind in VIOLATION_TYPE_LABELS}
    for row in days:
        if row.day.isoformat() in position:
            series[row.type][position[row.day.isoformat()]] = row.violations
    return {"days": labels, "series": series}
