"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
TRACKER_TEST_DATABASE_URL says so), migrated once per run and emptied after each test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tracker import migrate
from tracker.config import Settings
from tracker.db import Base, make_engine, make_session_factory
from tracker.services.auth import SYSTEM, Actor, create_user

ROOT = Path(__file__).resolve().parents[1]
# Conformance data copied into the project (tests/data/README.md says from where); the
# maps are the package's own.
STANDARDS = ROOT / "tests" / "data" / "standards"
MAPS = ROOT / "tracker" / "data" / "maps"
DL_BASE = "https://id.example.com"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.rebuild(engine)  # the run starts empty, so migrations are tested from scratch
    yield engine
    engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            names = ", ".join(t.name for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    # Self-referencing RESTRICT keys (territory and party parents) are checked row by row,
    # so switch the checks off; the pragma only works outside a transaction.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("BEGIN")
        for table in tables:
            cursor.execute(f'DELETE FROM "{table.name}"')
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


@pytest.fixture()
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test."""
    yield engine
    empty_all_tables(engine)


@pytest.fixture()
def session(db: Engine) -> Iterator[Session]:
    with make_session_factory(db)() as session:
        yield session
        session.rollback()


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, dl_base=DL_BASE)


@pytest.fixture()
def app(db: Engine, settings: Settings):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app({"TESTING": True}, settings=settings)
    yield app
    app.extensions["tracker.engine"].dispose()


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture()
def make_token(db: Engine) -> Any:
    """make_token(role, party=None) -> bearer token of a fresh user with that role."""
    counter = iter(range(10_000))

    def make(role: str, party: str | None = None) -> str:
        with make_session_factory(db)() as session, session.begin():
            _, token = create_user(session, name=f"{role}-{next(counter)}", role=role,
                                   party_id=party, actor=SYSTEM)
        return token

    return make


@pytest.fixture()
def admin(make_token: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('admin')}"}


@pytest.fixture()
def system() -> Actor:
    return SYSTEM


def tracker_command() -> list[str]:
    exe = shutil.which("tracker", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "web.cli"]


@pytest.fixture()
def run_cli(db: Engine, database_url: str, tmp_path: Path) -> Any:
    """Run the installed ``tracker`` command as a subprocess against the test database."""

    def run(*args: str, input: str | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_DL_BASE": DL_BASE,
               **(env or {})}
        result = subprocess.run([*tracker_command(), *args], input=input, capture_output=True,
                                text=True, env=env, cwd=tmp_path, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"tracker {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    return run
