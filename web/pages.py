"""The front door: the front page, signing in and out, the language switch."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from tracker.errors import AuthenticationRequired
from tracker.models import User
from tracker.services.auth import authenticate_password
from web import i18n, throttle
from web.auth import PageUser, safe_next
from web.db import get_session

bp = Blueprint("pages", __name__)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


@bp.get("/")
def front() -> str:
    return render_template("front.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or current_user.home)
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data.strip()
        # Counted before the password is checked: a refused attempt tells nothing.
        refused = throttle.first_refusal(("sign-in-user", name.casefold()),
                                         ("sign-in-client", throttle.client_address()))
        if refused is not None:
            flash(_("Too many sign-in attempts. Wait %(wait)s and try again.",
                    wait=throttle.wait_words(refused)), "danger")
            page = Response(render_template("login.html", form=form), status=429)
            page.headers["Retry-After"] = str(refused.retry_after)
            return page
        db = get_session()
        try:
            signed_in = authenticate_password(db, name, form.password.data)
        except AuthenticationRequired:
            db.rollback()
            flash(_("Wrong user name or password."), "danger")
            return render_template("login.html", form=form), 401  # type: ignore[return-value]
        user = db.get(User, signed_in.user_id)
        assert user is not None
        page_user = PageUser(user)
        db.rollback()
        session.clear()
        session.regenerate()  # type: ignore[attr-defined]
        login_user(page_user)
        return redirect(safe_next(request.args.get("next")) or page_user.home)
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]  # the old id is dead at once
    flash(_("You have signed out."), "info")
    return redirect(url_for("pages.front"))


@bp.get("/language")
def set_language() -> Response:
    """The language switch: remembered in a cookie for a year."""
    response = redirect(safe_next(request.args.get("next")) or url_for("pages.front"))
    chosen = request.args.get("lang", "")
    if chosen in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


@bp.get("/home")
def home() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return redirect(current_user.home)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
