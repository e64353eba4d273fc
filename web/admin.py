"""The administrator's pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from tracker.models import Party, Role, Territory, User
from web import admin_webhooks
from web.auth import role_required
from web.db import get_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(admin_webhooks.bp)  # /admin/webhooks


@bp.get("/")
@role_required(Role.ADMIN)
def home() -> str:
    session = get_session()
    counts = {name: session.scalar(select(func.count()).select_from(model)) or 0
              for name, model in (("territories", Territory), ("parties", Party),
                                  ("users", User))}
    session.rollback()
    return render_template("admin/home.html", counts=counts)
