"""Pages for people. The full UI comes with the web issue; this is the front door."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    return render_template("home.html")


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
