"""A change asked for from a page: one transaction, all or nothing, then a message saying
what happened (or the core's own sentence for why nothing did), back on a page."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from tracker.db import write_transaction
from tracker.errors import TrackerError
from web.db import get_session


def act(change: Callable[[Session], object], *, back: str, done: str,
        failed_back: str | None = None) -> Response:
    """Run ``change`` in one transaction; back to ``back`` saying ``done``, or, refused,
    to ``failed_back`` (else ``back``) saying why."""
    session = get_session()
    try:
        with write_transaction(session):
            change(session)
    except TrackerError as exc:
        flash(_("Nothing was changed: %(problem)s", problem=exc.message), "danger")
        return redirect(failed_back or back)
    flash(done, "success")
    return redirect(back)
