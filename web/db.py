"""The database extension: one engine per app, one session per request."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.db import make_engine, make_session_factory


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    app.extensions["tracker.engine"] = engine
    app.extensions["tracker.sessions"] = make_session_factory(engine)
    app.extensions["tracker.settings"] = settings
    app.teardown_appcontext(_close_session)


def session_factory() -> sessionmaker:
    return current_app.extensions["tracker.sessions"]


def engine() -> Engine:
    return current_app.extensions["tracker.engine"]


def settings() -> Settings:
    return current_app.extensions["tracker.settings"]


def get_session() -> Session:
    """This request's session; the view owns its transactions. The session keeps one
    connection for the whole request, so a view with two transactions (a scan's read
    and write phases) does not hand the connection back to the pool in between."""
    if "db_session" not in g:
        connection = engine().connect()
        g.db_session = session_factory()(bind=connection)
        g.db_connection = connection
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
        g.pop("db_connection").close()
