"""What every page's layout needs: each role's navigation and the words for roles."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.models import Role

NAVIGATION: dict[Role, list[tuple[str, Any]]] = {
    Role.COMPLIANCE: [("compliance.home", _l("Overview")),
                      ("compliance.queue", _l("Violations")),
                      ("reports.overview", _l("Reports")),
                      ("admin.webhooks.index", _l("Webhooks"))],
    Role.ADMIN: [("admin.home", _l("Administration")), ("compliance.home", _l("Overview")),
                 ("compliance.queue", _l("Violations")), ("reports.overview", _l("Reports")),
                 ("admin.webhooks.index", _l("Webhooks"))],
    Role.DISTRIBUTOR: [("portal.home", _l("My distribution"))],
    Role.INSPECTOR: [("scanner.app", _l("Scanner")), ("inspector.home", _l("My scans"))],
}

VIOLATION_TYPE_LABELS = {"diverted": _l("Diverted"), "unknown_code": _l("Unknown code"),
                         "suspected_clone": _l("Suspected clone"), "recalled": _l("Recalled")}
VERDICT_LABELS = {**VIOLATION_TYPE_LABELS, "authentic": _l("Authentic")}
STATUS_LABELS = {"open": _l("Open"), "investigating": _l("Investigating"),
                 "confirmed": _l("Confirmed"), "dismissed": _l("Dismissed"),
                 "resolved": _l("Resolved")}

MOVE_LABELS = {"ship": _l("Shipped"), "receive": _l("Received"), "pack": _l("Packed"),
               "unpack": _l("Unpacked"), "dispose": _l("Disposed"), "void": _l("Voided")}

ROLE_LABELS = {Role.ADMIN: _l("administrator"), Role.COMPLIANCE: _l("compliance"),
               Role.INSPECTOR: _l("inspector"), Role.DISTRIBUTOR: _l("distributor")}


def init_app(app: Flask) -> None:
    @app.context_processor
    def _layout() -> dict[str, Any]:
        return {"navigation": lambda role: NAVIGATION.get(role, []),
                "role_label": lambda role: ROLE_LABELS.get(role, str(role)),
                "violation_type_label": lambda kind: VIOLATION_TYPE_LABELS.get(kind, kind),
                "verdict_label": lambda verdict: VERDICT_LABELS.get(verdict, verdict),
                "status_label": lambda status: STATUS_LABELS.get(status, status),
                "move_label": lambda kind: MOVE_LABELS.get(kind, kind)}

    @app.template_filter("points_json")
    def _points_json(points: list[tuple[dt.date, float]]) -> str:
        """[(day, value), ...] as JSON for a chart's data-points attribute."""
        return json.dumps([[day.isoformat(), value] for day, value in points])
