"""The inspector's page: their own recent scans and verdicts."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from tracker.models import Role, Scan
from web.auth import actor, role_required
from web.db import get_session

bp = Blueprint("inspector", __name__, url_prefix="/inspector")


@bp.get("/")
@role_required(Role.INSPECTOR)
def home() -> str:
    session = get_session()
    scans = list(session.scalars(select(Scan).where(Scan.inspector_id == actor().user_id)
                                 .order_by(Scan.scanned_at.desc(), Scan.id.desc()).limit(50)))
    session.rollback()
    return render_template("inspector/home.html", scans=scans)
