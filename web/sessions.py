"""Flask's session kept on the server (tracker.services.web_sessions): the cookie holds a
random id only. HttpOnly, SameSite=Lax, Secure when the request came over HTTPS (or
``SESSION_COOKIE_SECURE`` says so). API calls carry bearer tokens and never touch it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from tracker.db import write_transaction
from tracker.services import web_sessions
from web.db import session_factory

COOKIE = "tracker_session"


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The session's data, with its id (None until first saved)."""

    def __init__(self, data: dict[str, Any] | None = None, session_id: str | None = None
                 ) -> None:
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.session_id = session_id
        self.modified = False
        self.renew = False

    def regenerate(self) -> None:
        """A new id for the same data (on sign-in, against session fixation)."""
        self.renew = True
        self.modified = True


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession | None:
        if request.path.startswith("/api/") or request.path.startswith("/static/"):
            return ServerSession()
        session_id = request.cookies.get(COOKIE)
        if not session_id:
            return ServerSession()
        # A read alone for most page views; the write lock only to end an idle session
        # or to note a use at most once a minute.
        with session_factory()() as db:
            row = web_sessions.load(db, session_id)
            if row is None:
                return ServerSession()
            idle, touch, data = (web_sessions.is_idle(row, idle=idle_limit(app)),
                                 web_sessions.needs_touch(row), dict(row.data))
            db.rollback()
            if idle or touch:
                with write_transaction(db):
                    if idle:
                        web_sessions.end(db, session_id)
                    else:
                        web_sessions.touch(db, session_id)
        return ServerSession() if idle else ServerSession(data, session_id)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if not session.modified:
            return
        domain, path = self.get_cookie_domain(app), self.get_cookie_path(app)
        with session_factory()() as db, write_transaction(db):
            if session.session_id and (session.renew or not session):
                web_sessions.end(db, session.session_id)
            if session.renew:  # signing in or out: clear away sessions left idle
                web_sessions.end_idle(db, idle=idle_limit(app))
            if not session:
                response.delete_cookie(COOKIE, domain=domain, path=path)
                return
            if session.session_id is None or session.renew:
                session.session_id = web_sessions.new_id()
            user_id = session.get("_user_id")
            web_sessions.save(db, session.session_id, data=dict(session),
                              user_id=int(user_id) if user_id else None)
        response.set_cookie(
            COOKIE, session.session_id, httponly=True, samesite="Lax",
            secure=bool(app.config.get("SESSION_COOKIE_SECURE")) or _over_https(),
            domain=domain, path=path)


def _over_https() -> bool:
    from flask import request

    return request.is_secure


def idle_limit(app: Flask) -> dt.timedelta:
    return dt.timedelta(minutes=float(app.config.get("SESSION_IDLE_MINUTES", 30)))


def init_app(app: Flask) -> None:
    app.session_interface = DatabaseSessionInterface()
