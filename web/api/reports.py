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

from flask import Response, g, jsonify

from tracker.db import utcnow
from tracker.domain.periods import Period, parse_period
from tracker.services import reports
from web.api import bp, render
from web.api.schemas import models
from web.api.schemas.contract import CSV_TEXT, operation
from web.db import get_session


def _period(query: models.ReportQuery) -> Period:
    return parse_period(query.since, query.until, now=utcnow())


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
@operation("Diversion flows: diverted violations opened in the period, per expected and "
           "found territory", reply=models.Flows, also={"text/csv": CSV_TEXT},
           query=models.ReportQuery, errors=(422,))
def get_flows(query: models.ReportQuery) -> Response:
    period = _period(query)
    if query.format == "csv":
        return _csv(reports.flows_csv(get_session(), since=period.since, until=period.until,
                                      actor=g.actor), "flows", period)
    return _json(reports.flows(get_session(), since=period.since, until=period.until,
                               actor=g.actor))


@bp.get("/reports/scorecard")
@operation("Per distributor: units received, violations, rate per 1,000, confirmed, repeat "
           "offender", reply=models.Scorecard, also={"text/csv": CSV_TEXT},
           query=models.ReportQuery, errors=(422,))
def get_scorecard(query: models.ReportQuery) -> Response:
    period = _period(query)
    if query.format == "csv":
        return _csv(reports.scorecard_csv(get_session(), since=period.since,
                                          until=period.until, actor=g.actor),
                    "scorecard", period)
    return _json(reports.scorecard(get_session(), since=period.since, until=period.until,
                                   actor=g.actor))
