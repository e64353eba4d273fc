"""Rate limits of the pages and the API, counted in the database
(:mod:`tracker.services.rate_limits`) so that every server process and node counts the
same requests: the public page of a code, signing in (per user name and per client: a
lock-out that ends with its window) and issuing API tokens (per user). The limits are
settings, read once at start so a bad value stops the server, not a page."""

from __future__ import annotations

import math

from flask import Flask, Response, current_app, request
from flask_babel import ngettext

from tracker.services import rate_limits
from web.db import get_session, settings
from web.errors import error_response

# Limit name -> the Settings field holding it.
LIMITS = {"public": "public_rate_limit", "sign-in-user": "sign_in_user_limit",
          "sign-in-client": "sign_in_client_limit", "token": "token_limit"}


def init_app(app: Flask) -> None:
    known = app.extensions["tracker.settings"]
    app.extensions["tracker.limits"] = {
        name: rate_limits.Limit.parse(getattr(known, field)) for name, field in LIMITS.items()}


def client_address() -> str:
    """The client a limit counts: the peer, or behind N trusted proxies the address the
    N-th proxy from the right saw (entries further left are the client's own claims)."""
    proxies = settings().trusted_proxies
    if proxies:
        forwarded = [part.strip() for part in
                     request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return request.remote_addr or "unknown"


def limit(name: str) -> rate_limits.Limit:
    """The limit called ``name`` (``LIMITS``), as the settings gave it."""
    return current_app.extensions["tracker.limits"][name]  # type: ignore[no-any-return]


def first_refusal(*counted: tuple[str, str]) -> rate_limits.Decision | None:
    """Count a request against each (limit, who); the refusal that waits longest, or
    None when every limit allows it."""
    decisions = rate_limits.count(get_session(), [(f"{name}:{who}", limit(name))
                                                  for name, who in counted])
    refused = [d for d in decisions if not d.allowed]
    return max(refused, key=lambda d: d.retry_after) if refused else None


def too_many(decision: rate_limits.Decision, message: str) -> Response:
    """429 with the API's error body and ``Retry-After``."""
    response = error_response(429, "rate_limited", message)
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def wait_words(decision: rate_limits.Decision) -> str:
    """How long to wait, in words of the page's language."""
    if decision.retry_after < 120:
        return ngettext("%(num)s second", "%(num)s seconds", decision.retry_after)
    minutes = math.ceil(decision.retry_after / 60)
    return ngettext("%(num)s minute", "%(num)s minutes", minutes)
