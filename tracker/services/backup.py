"""Backups of the whole database to one file, and their restore.

SQLite: SQLite's online backup API copies the database in one step, inside one read
transaction, so the copy is the state of the moment it started while the server goes on
reading and writing (write-ahead log: readers do not block writers). PostgreSQL:
``pg_dump -Fc`` (one snapshot for the whole dump) and ``pg_restore --clean --if-exists``
in a single transaction. The connection's credentials reach the PostgreSQL programs
through the environment (PGPASSWORD, ...), never on their command line.

A backup is written beside its file name and renamed into place once complete, so a
failed backup leaves no half-written file; only its owner may read it (it holds password
hashes and everything else). A restore is all or nothing.

Migrations: a backup carries its schema revision. Restoring it

- is refused when the backup's revision is unknown to this version of the tracker (made
  by a newer one) — the message names both revisions;
- is refused when the database restored into already holds a schema at another revision
  than the backup's (tables of the other revision would be left beside the restored
  ones) — the message names both; an empty database, or one at the backup's revision,
  is replaced wholly;
- upgrades the restored database to this version's newest revision afterwards when the
  backup is older (what ``tracker db upgrade`` would do next).

These take the engine, not a session: they work on the whole database, outside any
transaction of the application.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from tracker import migrate
from tracker.db import sqlite_write_lock
from tracker.errors import Conflict, InvalidInput, NotFound, TrackerError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# The first bytes of each kind of backup file.
_MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
_NAMES = {SQLITE: "an SQLite database", POSTGRESQL: "a PostgreSQL archive (pg_dump -Fc)"}
_LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# libpq settings a URL may carry as query parameters, and their environment variables.
_LIBPQ_QUERY = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE",
                "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
                "connect_timeout": "PGCONNECT_TIMEOUT"}


class BackupFailed(TrackerError):
    """The database program or file system failed while writing or reading a backup."""

    code = "backup_failed"


@dataclass(frozen=True)
class BackupResult:
    file: str
    database: str  # sqlite | postgresql
    revision: str
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    file: str
    database: str
    revision: str  # the backup's
    upgraded_to: str | None  # this version's newest revision, when the backup was older


def backup_database(engine: Engine, file: str | os.PathLike[str]) -> BackupResult:
    """Write the whole database to ``file`` (replaced if it exists) while it is in use."""
    kind = _kind_of(engine)
    revision = _current(engine)
    if revision is None:
        raise InvalidInput("the database has no schema yet: there is nothing to back up "
                           "(run 'tracker db upgrade' first)", code="empty_database")
    target = Path(file)
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder: name the backup file to write",
                           code="backup_is_a_folder")
    if not target.parent.is_dir():
        raise NotFound(f"cannot write {target}: the folder {target.parent} does not exist",
                       code="backup_folder_not_found")
    with _partial_file(target) as partial:
        if kind == SQLITE:
            _sqlite_backup(_sqlite_path(engine), partial)
        else:
            _run_pg("pg_dump", ["-Fc", "--no-owner", "--no-privileges", "-f", str(partial)],
                    engine.url, doing=f"backing up to {target}")
    return BackupResult(str(target), kind, revision, target.stat().st_size)


def restore_database(engine: Engine, file: str | os.PathLike[str]) -> RestoreResult:
    """Replace the database's content with the backup in ``file``, all or nothing."""
    kind = _kind_of(engine)
    source = Path(file)
    found = backup_kind(source)
    if found != kind:
        raise InvalidInput(f"{source} is {_NAMES[found]}, and this database is "
                           f"{_LABELS[kind]}: restore it into a {_LABELS[found]} database",
                           code="wrong_backup_kind")
    revision = backup_revision(source, kind)
    script = migrations(engine)
    head = script.get_current_head() or ""
    if revision not in {r.revision for r in script.walk_revisions()}:
        raise Conflict(f"{source} was made at migration {revision}, which this version of "
                       f"tracker does not know (its newest is {head}): restore it with the "
                       "version that made it", code="migration_mismatch")
    present = _current(engine)
    if present is not None and present != revision:
        raise Conflict(f"the database is at migration {present} and the backup {source} at "
                       f"{revision}: restore into an empty database (or one at {revision})",
                       code="migration_mismatch")
    if kind == SQLITE:
        database = _sqlite_path(engine)
        if Path(database).exists() and Path(database).resolve() == source.resolve():
            raise InvalidInput(f"{source} is the database itself", code="not_a_backup")
        _sqlite_restore(source, database)
    else:
        _run_pg("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges",
                               "--single-transaction", "--exit-on-error",
                               "-d", engine.url.database or "", str(source)],
                engine.url, doing=f"restoring {source}")
    engine.dispose()  # the pool's connections may hold the replaced schema's state
    upgraded = None
    if revision != head:
        migrate.upgrade(engine)
        upgraded = head
    return RestoreResult(str(source), kind, revision, upgraded)


def backup_kind(file: Path) -> str:
    """``sqlite`` or ``postgresql``, from the file's first bytes; a clear error for a
    missing or unreadable file, or one that is neither."""
    try:
        with open(file, "rb") as handle:
            start = handle.read(16)
    except FileNotFoundError:
        raise NotFound(f"{file} does not exist", code="backup_not_found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{file} is a folder, not a backup file",
                           code="not_a_backup") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}",
                           code="backup_unreadable") from None
    for kind, magic in _MAGIC.items():
        if start.startswith(magic):
            return kind
    raise InvalidInput(f"{file} is not a tracker backup: it is neither {_NAMES[SQLITE]} "
                       f"nor {_NAMES[POSTGRESQL]}", code="not_a_backup")


def backup_revision(file: Path, kind: str) -> str:
    """The schema revision a backup was made at."""
    not_ours = InvalidInput(f"{file} is {_NAMES[kind]} but not a tracker backup: it has no "
                            "schema revision (alembic_version)", code="not_a_backup")
    if kind == SQLITE:
        try:
            with contextlib.closing(sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro",
                                                    uri=True)) as connection:
                (check,) = connection.execute("PRAGMA quick_check").fetchone()
                if check != "ok":
                    raise InvalidInput(f"{file} is damaged: {check}", code="not_a_backup")
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise not_ours from None
            raise InvalidInput(f"cannot read {file}: {exc}", code="not_a_backup") from None
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{file} is damaged: {exc}", code="not_a_backup") from None
        if row is None:
            raise not_ours
        return str(row[0])
    listing = _run_pg("pg_restore", ["--data-only", "--table=alembic_version", "-f", "-",
                                     str(file)], None, doing=f"reading {file}",
                      bad_input=True)
    lines = listing.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            if lines[number + 1] != "\\.":
                return lines[number + 1].strip()
    raise not_ours


def _current(engine: Engine) -> str | None:
    """The database's schema revision; a clear error when it cannot be reached."""
    try:
        return migrate.current(engine)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackupFailed(f"cannot reach the database "
                           f"{engine.url.render_as_string(hide_password=True)}: {reason}",
                           code="database_unreachable") from None


def _kind_of(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in _MAGIC:
        raise InvalidInput(f"backups are made of SQLite and PostgreSQL databases, not {name}",
                           code="unsupported_database")
    return name


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput("only an SQLite database in a file can be backed up or restored",
                           code="unsupported_database")
    return database


@contextlib.contextmanager
def _partial_file(target: Path) -> Iterator[Path]:
    """A file beside ``target`` that becomes it once the block succeeds."""
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent)
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_backup(database: str, partial: Path) -> None:
    if not Path(database).exists():
        raise NotFound(f"the database file {database} does not exist",
                       code="database_not_found")
    try:
        with contextlib.closing(sqlite3.connect(database)) as source, \
                contextlib.closing(sqlite3.connect(partial)) as copy:
            source.execute("PRAGMA busy_timeout=30000")
            # pages=-1: all of it in one step, inside one read transaction.
            source.backup(copy, pages=-1)
            # One self-contained file: no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode=DELETE").fetchall()
    except sqlite3.Error as exc:
        raise BackupFailed(f"the SQLite backup of {database} failed: {exc}") from None


def _sqlite_restore(source: Path, database: str) -> None:
    # Writers of every process of the server queue on the write lock meanwhile.
    with sqlite_write_lock(database), \
            contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro",
                                               uri=True)) as backup, \
            contextlib.closing(sqlite3.connect(database)) as target:
        target.execute("PRAGMA busy_timeout=30000")
        try:
            backup.backup(target, pages=-1)  # one step: one transaction on the target
            target.execute("PRAGMA journal_mode=WAL").fetchall()
        except sqlite3.Error as exc:
            raise BackupFailed(f"restoring {source} into {database} failed, and nothing "
                               f"was changed: {exc}") from None


def migrations(engine: Engine) -> ScriptDirectory:
    """This version's migration scripts."""
    return ScriptDirectory.from_config(migrate.alembic_config(
        engine.url.render_as_string(hide_password=False)))


def pg_program(name: str) -> str:
    """A PostgreSQL client program: on PATH, else the newest of Debian's installations."""
    found = shutil.which(name)
    if found:
        return found
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                       key=lambda path: [int(p) if p.isdigit() else 0
                                         for p in Path(path).parts[-3].split(".")])
    if installed:
        return installed[-1]
    raise BackupFailed(f"{name} is not installed: install PostgreSQL's client programs "
                       "(Debian: apt-get install postgresql-client)", code="program_missing")


def pg_environment(url: URL) -> dict[str, str]:
    """The connection settings of a URL as libpq's environment variables."""
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port),
                            ("PGUSER", url.username), ("PGPASSWORD", url.password),
                            ("PGDATABASE", url.database)):
        if value is not None:
            env[variable] = str(value)
    for parameter, variable in _LIBPQ_QUERY.items():
        given = url.query.get(parameter)
        if given is not None:
            env[variable] = given if isinstance(given, str) else given[0]
    return env


def _run_pg(program: str, arguments: list[str], url: URL | None, *, doing: str,
            bad_input: bool = False) -> str:
    """Run a PostgreSQL program; its standard output. ``bad_input``: a failure means the
    file given to it is not a readable archive."""
    command = [pg_program(program), *arguments]
    env = pg_environment(url) if url is not None else dict(os.environ)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        # The command shows no credentials: they are in its environment.
        detail = result.stderr.strip() or f"exit status {result.returncode}"
        if bad_input:
            raise InvalidInput(f"{doing}: not a readable PostgreSQL archive ({detail})",
                               code="not_a_backup")
        raise BackupFailed(f"{doing} failed: {' '.join(command)}: {detail}")
    return result.stdout
