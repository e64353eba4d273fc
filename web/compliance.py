"""The compliance workspace: what needs attention, the violation queue, each case."""

from __future__ import annotations

from flask import Blueprint, render_template

from tracker.models import Role
from tracker.services import attention
from web.auth import actor, role_required
from web.db import get_session
from web.territories import remember_territory_names

bp = Blueprint("compliance", __name__, url_prefix="/compliance")


@bp.get("/")
@role_required(Role.COMPLIANCE)
def home() -> str:
    session = get_session()
    with session.begin():
        since = attention.note_visit(session, actor=actor())
        summary = attention.attention(session, actor=actor(), since=since)
        remember_territory_names(session)
    return render_template("compliance/home.html", summary=summary)


@bp.get("/violations")
@role_required(Role.COMPLIANCE)
def queue() -> str:
    return render_template("compliance/queue.html")
