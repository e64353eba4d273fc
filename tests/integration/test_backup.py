"""``tracker db backup FILE`` and ``tracker db restore FILE`` on the test database (SQLite
or PostgreSQL): a backup taken while a server takes scans restores every scan committed
before it into an empty database, consistent and usable; bad files and schema revisions
are refused with a message naming the problem."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy import inspect as sa_inspect

from tests.integration.consistency import consistency_problems
from tests.integration.network import Network, build
from tests.integration.served import call, tracker_serve
from tracker import migrate
from tracker.db import make_engine, make_session_factory
from tracker.errors import TrackerError
from tracker.models import Scan, User
from tracker.services.backup import (
    backup_database,
    migrations,
    pg_environment,
    pg_program,
    restore_database,
)
from web import create_app

AT_HOME = (1.0, 1.0)  # inside the batch's territory


def drop_everything(engine: Engine) -> None:
    """Make the database empty, as a fresh one: no tables, no schema revision."""
    engine.dispose()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        tables = sa_inspect(engine).get_table_names()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            # The pragma only works outside a transaction.
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in tables:
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
    assert migrate.current(engine) is None


@pytest.fixture()
def head(db: Engine) -> Iterator[str]:
    """This version's newest revision; the test may drop and restore the test database,
    which is migrated afresh afterwards if the test left it elsewhere."""
    revision = migrations(db).get_current_head()
    assert revision is not None and migrate.current(db) == revision
    yield revision
    db.dispose()  # the restore replaced the tables under the pool's connections
    if migrate.current(db) != revision or "scans" not in sa_inspect(db).get_table_names():
        migrate.rebuild(db)


@pytest.fixture()
def net(db, settings) -> Network:
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings, quantity=24)


def cli_error(result: Any) -> dict[str, str]:
    assert result.returncode == 1, (result.stdout, result.stderr)
    return json.loads(result.stderr)["error"]


def test_a_backup_taken_while_scans_arrive_restores_every_scan_committed_before_it(
        db, database_url, settings, net, make_token, run_cli, tmp_path, head):
    inspectors = [make_token("inspector") for _ in range(4)]
    brand, t1 = make_token("distributor", "brand"), make_token("distributor", "t1")
    backup = tmp_path / "tracker.backup"
    acknowledged: list[tuple[float, str, int]] = []  # (when answered, client id, scan id)
    received: list[int] = []  # shipments shipped and received while the load ran
    errors: list[Any] = []
    stop = threading.Event()

    with tracker_serve(database_url, tmp_path) as base:

        def scanner(n: int) -> None:
            count = 0
            while not stop.is_set():
                client_scan_id = f"{n}-{count}"
                status, answer = call(base, "POST", "/api/v1/scans", {
                    "code": net.serials[count % 12], "latitude": AT_HOME[0],
                    "longitude": AT_HOME[1], "client_scan_id": client_scan_id},
                    inspectors[n % len(inspectors)])
                if status != 201:
                    errors.append(answer)
                    return
                acknowledged.append((time.monotonic(), client_scan_id, answer["scan_id"]))
                count += 1
                time.sleep(0.01)  # a steady load that leaves the backup some CPU

        def mover() -> None:
            # Custody moves during the backup too: ship two items and receive them.
            for first in range(12, 24, 2):
                if stop.is_set():
                    return
                status, shipment = call(base, "POST", "/api/v1/shipments", {
                    "from": "brand", "to": "t1", "codes": net.serials[first:first + 2]}, brand)
                if status != 201:
                    errors.append(shipment)
                    return
                status, answer = call(base, "POST", f"/api/v1/shipments/{shipment['id']}/"
                                      "receive", None, t1)
                if status != 200:
                    errors.append(answer)
                    return
                received.append(shipment["id"])

        threads = [threading.Thread(target=scanner, args=(n,)) for n in range(4)]
        threads.append(threading.Thread(target=mover))
        for t in threads:
            t.start()
        try:
            while len(acknowledged) < 60 and not errors:
                time.sleep(0.05)
            started = time.monotonic()
            made = json.loads(run_cli("db", "backup", str(backup)).stdout)
            finished = time.monotonic()
            while (len([a for a in acknowledged if a[0] > finished]) < 20 and not errors):
                time.sleep(0.05)  # the server goes on taking scans after the backup
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert errors == []
    assert made == {"file": str(backup), "database": db.dialect.name, "revision": head,
                    "bytes": backup.stat().st_size}
    before = {scan_id for at, _, scan_id in acknowledged if at < started}
    during = [a for a in acknowledged if started <= a[0] <= finished]
    with make_session_factory(db)() as session:
        original = {s.id: (s.client_scan_id, s.serial, s.verdict) for s in
                    session.scalars(select(Scan))}
        original_users = sorted(session.scalars(select(User.name)))

    drop_everything(db)
    restored = json.loads(run_cli("db", "restore", str(backup)).stdout)
    assert restored == {"file": str(backup), "database": db.dialect.name, "revision": head,
                        "upgraded_to": None}
    db.dispose()
    with make_session_factory(db)() as session:
        scans = {s.id: (s.client_scan_id, s.serial, s.verdict) for s in
                 session.scalars(select(Scan))}
        assert before <= set(scans)  # every scan answered before the backup started
        assert all(original[i] == row for i, row in scans.items())  # as it was stored
        assert sorted(session.scalars(select(User.name))) == original_users
    assert consistency_problems(db) == []
    print(f"\nbackup ({db.dialect.name}): {len(acknowledged)} scans answered in all, "
          f"{len(during)} while the backup ran ({finished - started:.2f} s), "
          f"{len(before)} before it; {len(scans)} in the restored database; "
          f"{len(received)} shipments received meanwhile")

    # The application works on the restored database, with the tokens it held.
    app = create_app({"TESTING": True}, settings=settings)
    try:
        client = app.test_client()
        answer = client.post("/api/v1/scans", headers=bearer(inspectors[0]), json={
            "code": net.serials[0], "latitude": AT_HOME[0], "longitude": AT_HOME[1],
            "client_scan_id": "after-restore"})
        assert (answer.status_code, answer.get_json()["verdict"]) == (201, "authentic")
        assert answer.get_json()["scan_id"] > max(scans)  # ids go on after the restored
        listing = client.get("/api/v1/scans?limit=1", headers=bearer(inspectors[0]))
        assert listing.get_json()["items"][0]["scan_id"] == answer.get_json()["scan_id"]
    finally:
        app.extensions["tracker.engine"].dispose()
    assert received  # custody moved while the backup ran, and is consistent after it


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refusal(engine: Engine, path: Path) -> tuple[str, str]:
    with pytest.raises(TrackerError) as info:
        restore_database(engine, path)
    return info.value.code, info.value.message


def test_a_restore_into_the_database_it_came_from_replaces_what_came_after(
        db, make_token, tmp_path, head):
    make_token("admin")
    file = tmp_path / "tracker.backup"
    assert backup_database(db, file).revision == head
    make_token("inspector")
    restored = restore_database(db, file)
    assert (restored.revision, restored.upgraded_to) == (head, None)
    with make_session_factory(db)() as session:
        assert list(session.scalars(select(User.name))) == ["admin-0"]


def test_an_older_backup_is_upgraded_after_restore_and_refused_by_another_schema(
        db, tmp_path, head):
    older = "0009"
    drop_everything(db)
    migrate.upgrade(db, older)
    file = tmp_path / "old.backup"
    assert backup_database(db, file).revision == older

    migrate.upgrade(db)  # the database now holds another schema than the backup's
    assert refusal(db, file) == ("migration_mismatch", (
        f"the database is at migration {head} and the backup {file} at {older}: restore "
        f"into an empty database (or one at {older})"))

    drop_everything(db)
    restored = restore_database(db, file)
    assert (restored.revision, restored.upgraded_to) == (older, head)
    assert migrate.current(db) == head


def test_a_backup_made_by_a_newer_version_is_refused_naming_both_revisions(
        db, tmp_path, head):
    with db.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    file = tmp_path / "newer.backup"
    try:
        backup_database(db, file)
    finally:
        with db.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"),
                               {"head": head})
    assert refusal(db, file) == ("migration_mismatch", (
        f"{file} was made at migration 9999, which this version of tracker does not know "
        f"(its newest is {head}): restore it with the version that made it"))
    assert migrate.current(db) == head


def sqlite_without_schema(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()


KIND = {"sqlite": "an SQLite database", "postgresql": "a PostgreSQL archive (pg_dump -Fc)"}
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@pytest.mark.parametrize("case", ["missing", "folder", "text", "other_kind", "no_schema",
                                  "damaged"])
def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(
        db, tmp_path, make_token, case):
    make_token("admin")
    dialect = db.dialect.name
    other = "postgresql" if dialect == "sqlite" else "sqlite"
    path = tmp_path / "file"
    if case == "folder":
        path.mkdir()
    elif case == "text":
        path.write_text("serial,uri\n")
    elif case == "other_kind":
        if dialect == "sqlite":
            path.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 100)
        else:
            sqlite_without_schema(path)
    elif case == "no_schema":
        if dialect == "sqlite":
            sqlite_without_schema(path)
        else:  # an archive of a database without the tracker's schema revision
            subprocess.run([pg_program("pg_dump"), "-Fc", "-f", str(path),
                            "--exclude-table=alembic_version"],
                           env=pg_environment(db.url), check=True)
    elif case == "damaged":
        whole = tmp_path / "whole.backup"
        backup_database(db, whole)
        path.write_bytes(whole.read_bytes()[: 200 if dialect == "postgresql" else 2048])
    expected = {
        "missing": ("backup_not_found", f"{path} does not exist"),
        "folder": ("not_a_backup", f"{path} is a folder, not a backup file"),
        "text": ("not_a_backup", f"{path} is not a tracker backup: it is neither an SQLite "
                 "database nor a PostgreSQL archive (pg_dump -Fc)"),
        "other_kind": ("wrong_backup_kind", f"{path} is {KIND[other]}, and this database is "
                       f"{LABEL[dialect]}: restore it into a {LABEL[other]} database"),
        "no_schema": ("not_a_backup", f"{path} is {KIND[dialect]} but not a tracker backup: "
                      "it has no schema revision (alembic_version)"),
    }
    code, message = refusal(db, path)
    if case == "damaged":
        assert code == "not_a_backup"
        assert message.startswith(f"{path} is damaged" if dialect == "sqlite" else
                                  f"reading {path}: not a readable PostgreSQL archive "
                                  "(pg_restore: ")
    else:
        assert (code, message) == expected[case]
    with make_session_factory(db)() as session:
        assert session.scalar(select(User.name)) == "admin-0"


def test_the_command_prints_a_refusal_as_the_error_body(db, run_cli, tmp_path):
    result = run_cli("db", "restore", str(tmp_path / "nothing.backup"), check=False)
    assert result.returncode == 1
    assert json.loads(result.stderr) == {"error": {
        "code": "backup_not_found", "message": f"{tmp_path / 'nothing.backup'} does not exist"}}


def test_a_failed_backup_names_the_problem_shows_no_password_and_leaves_no_file(
        db, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    if db.dialect.name == "postgresql":
        engine = make_engine(db.url.set(password="not-the-password-42")
                             .render_as_string(hide_password=False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'nothing.db'}")
    try:
        with pytest.raises(TrackerError) as info:
            backup_database(engine, folder / "x.backup")
    finally:
        engine.dispose()
    if db.dialect.name == "postgresql":
        assert info.value.code == "database_unreachable"
        assert "password authentication failed" in info.value.message
        assert "not-the-password-42" not in info.value.message
    else:
        assert (info.value.code, info.value.message) == ("empty_database", (
            "the database has no schema yet: there is nothing to back up (run 'tracker db "
            "upgrade' first)"))
    assert list(folder.iterdir()) == []


def test_a_backup_into_a_folder_or_a_missing_folder_is_refused(db, tmp_path):
    with pytest.raises(TrackerError) as info:
        backup_database(db, tmp_path)
    assert (info.value.code, info.value.message) == (
        "backup_is_a_folder", f"{tmp_path} is a folder: name the backup file to write")
    with pytest.raises(TrackerError) as info:
        backup_database(db, tmp_path / "gone" / "x.backup")
    assert (info.value.code, info.value.message) == (
        "backup_folder_not_found",
        f"cannot write {tmp_path / 'gone' / 'x.backup'}: the folder {tmp_path / 'gone'} "
        "does not exist")
