"""Reports: diversion flows and the distributor scorecard, as JSON or CSV.

``since`` and ``until`` are dates (``YYYY-MM-DD``, UTC days, ``until`` included) or ISO
8601 instants with a timezone; left out, the report covers the last 30 days. The reply
gives the period it covers as ``since`` and ``until`` instants (``until`` excluded).
``?format=csv`` answers the same rows as ``text/csv`` with a header row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flask import Response, g, jsonify, request

from tracker.db import utcnow
from tracker.domain.periods import Period, parse_period
from tracker.errors import InvalidInput
from tracker.services import reports
from web.api import bp, render
from web.db import get_session

FORMATS = ("json", "csv")


def _period() -> Period:
    return parse_period(request.args.get("since"), request.args.get("until"), now=utcnow())


def _format() -> str:
    chosen = request.args.get("format", "json")
    if chosen not in FORMATS:
        raise InvalidInput(f"query parameter 'format' must be one of: {', '.join(FORMATS)}; "
                           f"not {chosen!r}", code="invalid_parameter")
    return chosen


def _csv(text: str, name: str, period: Period) -> Response:
    response = Response(text, mimetype="text/csv")
    last_day = (period.until - dt.timedelta(microseconds=1)).date()
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{period.since.date()}-{last_day}.csv"')
    return response


def _json(report: reports.FlowReport | reports.Scorecard) -> Response:
    items: list[dict[str, Any]] = [dataclasses.asdict(row) for row in report.items]
    return jsonify({"since": render.iso(report.since), "until": render.iso(report.until),
                    "items": items})


@bp.get("/reports/flows")
def get_flows() -> Response:
    period, chosen = _period(), _format()
    if chosen == "csv":
        return _csv(reports.flows_csv(get_session(), since=period.since, until=period.until,
                                      actor=g.actor), "flows", period)
    return _json(reports.flows(get_session(), since=period.since, until=period.until,
                               actor=g.actor))


@bp.get("/reports/scorecard")
def get_scorecard() -> Response:
    period, chosen = _period(), _format()
    if chosen == "csv":
        return _csv(reports.scorecard_csv(get_session(), since=period.since,
                                          until=period.until, actor=g.actor),
                    "scorecard", period)
    return _json(reports.scorecard(get_session(), since=period.since, until=period.until,
                                   actor=g.actor))
