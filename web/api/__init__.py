"""The JSON API under /api/v1. Every call is authenticated; the services check the role."""

from __future__ import annotations

from flask import Blueprint, g, request

from tracker.services.auth import authenticate_token
from web.db import get_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    session = get_session()
    g.actor = authenticate_token(session, token.strip() if scheme.lower() == "bearer" else None)
    session.rollback()  # end the read transaction; the view starts its own


# Registers the routes on bp.
from web.api import batches, custody, epcis, masterdata, meta, verdicts  # noqa: E402,F401
