"""The JSON API under /api/v1. Every call is authenticated; the services check the role."""

from __future__ import annotations

import time

from flask import Blueprint, g, request

from tracker.services.auth import Actor, authenticate_token
from web.db import get_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}
# A token checked a moment ago is trusted for this long without a database round trip
# (a sixth of a scan's cost); a token revoked in another server process stops working
# within this time (in the revoking process at once). Under load a busy token costs one
# lookup per process every few seconds.
TOKEN_CACHE_SECONDS = 5.0
_RECENT_MAX = 10_000
_recent: dict[str, tuple[Actor, float]] = {}


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    cached = _recent.get(token)
    if cached is not None and cached[1] > time.monotonic():
        g.actor = cached[0]
        return
    session = get_session()
    g.actor = authenticate_token(session, token or None)
    session.rollback()  # end the read transaction; the view starts its own
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()
    _recent[token] = (g.actor, time.monotonic() + TOKEN_CACHE_SECONDS)


def forget_tokens() -> None:
    """Drop this process's remembered tokens (after a revocation): each is checked again."""
    _recent.clear()


# Registers the routes on bp.
from web.api import (  # noqa: E402,F401
    batches,
    custody,
    epcis,
    epcis_binding,
    epcis_queries,
    epcis_resources,
    evidence,
    masterdata,
    meta,
    reports,
    verdicts,
    webhooks,
)
