"""The ``tracker`` command: scripted set-up, issuing, labels, demo data and the server."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from tracker import migrate
from tracker.config import Settings
from tracker.db import make_engine, make_session_factory, write_transaction
from tracker.errors import TrackerError
from tracker.services import auth, issuing, masterdata
from tracker.services.auth import SYSTEM
from web.api import render


class Context:
    def __init__(self) -> None:
        self.settings = Settings.from_env()
        self._engine = None

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One CLI command, one transaction: all of it lands or none of it."""
        with make_session_factory(self.engine)() as session, write_transaction(session):
            yield session


pass_context = click.make_pass_decorator(Context, ensure=True)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


class TrackerGroup(click.Group):
    """Turns the core's errors into the contract's error body on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}},
                                  ensure_ascii=False), err=True)
            ctx.exit(1)


@click.group(cls=TrackerGroup)
def main() -> None:
    """tracker: serial numbers per territory, custody and field-scan verdicts."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the schema (safe to run again)."""
    migrate.upgrade(ctx.engine)
    click.echo(f"database at revision {migrate.current(ctx.engine)}", err=True)


@db.command("current")
@pass_context
def db_current(ctx: Context) -> None:
    """Print the schema revision."""
    click.echo(migrate.current(ctx.engine) or "empty")


@contextlib.contextmanager
def _snapshot(ctx: Context) -> Iterator[Session]:
    """One read transaction that sees one state of the database while a server writes
    (PostgreSQL: REPEATABLE READ; a SQLite read transaction does so already)."""
    postgresql = ctx.engine.dialect.name == "postgresql"
    with make_session_factory(ctx.engine)() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"}
                           if postgresql else {})
        yield session
        session.rollback()


@db.command("check")
@pass_context
def db_check(ctx: Context) -> None:
    """Verify the database's invariants (custody = replay of its moves, batch quantities,
    violation evidence, receipt rollups, violation territories, the audit chain); exit
    status 1 naming what is wrong."""
    from tracker.services import integrity

    with _snapshot(ctx) as session:
        checks = integrity.check_database(session)
    for check in checks:
        if check.passed:
            click.echo(f"ok    {check.name}: {check.checked}")
            continue
        click.echo(f"FAIL  {check.name}:")
        for problem in check.problems:
            click.echo(f"  - {problem}")
        if check.more:
            click.echo(f"  - and {check.more:,} more")
    failed = [check.name for check in checks if not check.passed]
    if failed:
        click.echo(f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}",
                   err=True)
        sys.exit(1)
    click.echo(f"all {len(checks)} checks passed")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@pass_context
def audit_verify(ctx: Context) -> None:
    """Walk the audit log's hash chain; exit status 1 naming the first entry altered or
    removed."""
    from tracker.services import audit as audit_log

    with _snapshot(ctx) as session:
        report = audit_log.verify(session)
    if report.problem is not None:
        click.echo(report.problem, err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.entries:,} entries verified (last hash "
               f"{report.head_hash})")


@db.command("backup")
@click.argument("file", type=click.Path())
@pass_context
def db_backup(ctx: Context, file: str) -> None:
    """Write the whole database to FILE while it is in use (SQLite's online backup,
    PostgreSQL's pg_dump -Fc); FILE is replaced once the backup is complete."""
    from dataclasses import asdict

    from tracker.services.backup import backup_database

    emit(asdict(backup_database(ctx.engine, file)))


@db.command("restore")
@click.argument("file", type=click.Path())
@pass_context
def db_restore(ctx: Context, file: str) -> None:
    """Replace the database's content with the backup in FILE, all or nothing; a backup
    of an older schema is upgraded afterwards. Refused when the database holds a schema
    at another revision than the backup's (restore into an empty database then)."""
    from dataclasses import asdict

    from tracker.services.backup import restore_database

    emit(asdict(restore_database(ctx.engine, file)))


@main.group()
def users() -> None:
    """Users and their bearer tokens."""


@users.command("create")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["admin", "compliance", "inspector", "distributor"]))
@click.option("--party", "party_id", help="The party a distributor user acts for.")
@click.option("--password-stdin", is_flag=True, help="Read the sign-in password from stdin.")
@pass_context
def users_create(ctx: Context, name: str, role: str, party_id: str | None,
                 password_stdin: bool) -> None:
    """Create a user and print it with a bearer token for the API."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: standard input held no password")
    with ctx.transaction() as session:
        user, token = auth.create_user(session, name=name, role=role, party_id=party_id,
                                       password=password, actor=SYSTEM)
        emit(render.user(user, token))


@users.command("tokens")
@click.argument("name")
@pass_context
def users_tokens(ctx: Context, name: str) -> None:
    """List NAME's bearer tokens (ids and prefixes; the tokens themselves are not kept)."""
    with ctx.transaction() as session:
        emit([render.api_token(t) for t in auth.list_tokens(session, actor=SYSTEM,
                                                            user_name=name)])


@users.command("token")
@click.argument("name")
@pass_context
def users_token(ctx: Context, name: str) -> None:
    """Issue NAME another bearer token and print it (shown this once)."""
    with ctx.transaction() as session:
        row, token = auth.create_token(session, actor=SYSTEM, user_name=name)
        emit(render.api_token(row, token))


@users.command("revoke-token")
@click.argument("token_id", type=int)
@pass_context
def users_revoke_token(ctx: Context, token_id: int) -> None:
    """Revoke the bearer token TOKEN_ID (see 'tracker users tokens NAME'). A running
    server stops accepting it within 5 seconds."""
    with ctx.transaction() as session:
        emit(render.api_token(auth.revoke_token(session, token_id, actor=SYSTEM)))


@main.group()
def territories() -> None:
    """Territories from GeoJSON maps."""


@territories.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--code-property", help="Property holding the code when features have no "
              "properties.code and no id (e.g. iso_3166_2).")
@click.option("--parent", help="Put every top-level feature under this territory code.")
@pass_context
def territories_import(ctx: Context, files: tuple[str, ...], code_property: str | None,
                       parent: str | None) -> None:
    """Import (or replace) territories from GeoJSON FeatureCollection FILES, all or nothing."""
    results = []
    with ctx.transaction() as session:
        for path in files:
            collection = _load_geojson(path)
            if parent:
                _set_default_parent(collection, parent)
            result = masterdata.import_territories(session, collection=collection,
                                                   code_property=code_property, actor=SYSTEM)
            results.append({"file": path, "created": result.created, "updated": result.updated,
                            "notes": render.import_notes(result)})
    emit(results)


def _load_geojson(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}") from None


def _set_default_parent(collection: Any, parent: str) -> None:
    if isinstance(collection, dict):
        for feature in collection.get("features") or []:
            if isinstance(feature, dict):
                props = feature.setdefault("properties", {}) or {}
                feature["properties"] = props
                props.setdefault("parent", parent)


@territories.command("list")
@pass_context
def territories_list(ctx: Context) -> None:
    with ctx.transaction() as session:
        emit([render.territory(t) for t in masterdata.list_territories(session, actor=SYSTEM)])


@main.group()
def products() -> None:
    """Products (GTINs)."""


@products.command("create")
@click.argument("gtin")
@click.argument("name")
@click.option("--company-prefix-length", default=7, show_default=True, type=int)
@pass_context
def products_create(ctx: Context, gtin: str, name: str, company_prefix_length: int) -> None:
    with ctx.transaction() as session:
        emit(render.product(masterdata.create_product(
            session, gtin=gtin, name=name, company_prefix_length=company_prefix_length,
            actor=SYSTEM)))


@main.group()
def parties() -> None:
    """Brands, distributors and retailers."""


@parties.command("create")
@click.argument("party_id")
@click.option("--name", default="")
@click.option("--role", required=True, type=click.Choice(["brand", "distributor", "retailer"]))
@click.option("--territory", "territory_codes", multiple=True, help="Repeat for several.")
@click.option("--parent")
@pass_context
def parties_create(ctx: Context, party_id: str, name: str, role: str,
                   territory_codes: tuple[str, ...], parent: str | None) -> None:
    with ctx.transaction() as session:
        emit(render.party(masterdata.create_party(
            session, id=party_id, name=name, role=role, territories=territory_codes,
            parent=parent, actor=SYSTEM)))


@main.group()
def batches() -> None:
    """Issuing serial numbers, their codes and labels."""


@batches.command("issue")
@click.option("--gtin", required=True)
@click.option("--territory", required=True)
@click.option("--quantity", required=True, type=int)
@click.option("--lot")
@click.option("--expiry", type=click.DateTime(formats=["%Y-%m-%d"]))
@pass_context
def batches_issue(ctx: Context, gtin: str, territory: str, quantity: int, lot: str | None,
                  expiry: dt.datetime | None) -> None:
    """Issue QUANTITY serials, with a progress bar on stderr."""
    with ctx.transaction() as session, _progress(quantity, "issuing") as advance:
        batch = issuing.issue_batch(
            session, gtin=gtin, territory=territory, quantity=quantity, lot=lot,
            expiry=expiry.date() if expiry else None, actor=SYSTEM, settings=ctx.settings,
            progress=lambda done, _total: advance(done),
        )
        emit(render.batch(batch))


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A bar on a terminal; on a pipe or log, one line per tenth, so scripts see it too."""
    state = {"done": 0, "tenth": 0}
    if sys.stderr.isatty():
        with click.progressbar(length=total, label=label, file=sys.stderr,
                               show_pos=True, show_percent=True) as bar:

            def advance(done: int) -> None:
                bar.update(done - state["done"])
                state["done"] = done

            yield advance
        return

    def advance_lines(done: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth > state["tenth"] or done == total:
            state["tenth"] = tenth
            click.echo(f"{label}: {done:,}/{total:,} ({done * 100 // max(total, 1)}%)", err=True)

    yield advance_lines


@batches.command("codes")
@click.argument("batch_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
@click.option("--epc", is_flag=True, help="Add the SGTIN EPC URN column.")
@pass_context
def batches_codes(ctx: Context, batch_id: int, output: str | None, epc: bool) -> None:
    """Write the batch's codes as CSV (serial,uri)."""
    with ctx.transaction() as session:
        batch = issuing.get_batch(session, batch_id, actor=SYSTEM)
        with click.open_file(output or "-", "w", encoding="utf-8", lazy=False) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["serial", "uri", "epc"] if epc else ["serial", "uri"])
            for row in issuing.iter_batch_codes(session, batch, ctx.settings):
                writer.writerow([row.serial, row.uri, row.epc] if epc else [row.serial, row.uri])


@batches.command("labels")
@click.argument("batch_id", type=int)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--columns", type=int)
@click.option("--rows", type=int)
@pass_context
def batches_labels(ctx: Context, batch_id: int, output: str, columns: int | None,
                   rows: int | None) -> None:
    """Render the batch's label sheets to a PDF file, with a progress bar."""
    from tracker.domain.labels import LabelLayout, render_label_sheets

    options = {k: v for k, v in {"columns": columns, "rows": rows}.items() if v is not None}
    layout = LabelLayout.from_options(**options)
    with ctx.transaction() as session:
        batch = issuing.get_batch(session, batch_id, actor=SYSTEM)
        codes = issuing.iter_batch_codes(session, batch, ctx.settings)
        with open(output, "wb") as out, _progress(batch.quantity, "rendering") as advance:
            count = render_label_sheets(
                ((c.uri, c.serial) for c in codes), out, layout=layout, progress=advance,
                title=f"{batch.product.name} · batch {batch.id} · {batch.territory.code}")
    emit({"batch": batch_id, "labels": count, "output": output})


@main.command()
@click.argument("code")
@click.option("--lat", "latitude", required=True, type=float)
@click.option("--lon", "longitude", required=True, type=float)
@click.option("--accuracy", "accuracy_m", type=float, help="GPS accuracy in metres.")
@click.option("--at", "scanned_at", help="Scan time, ISO 8601 with a timezone.")
@click.option("--client-scan-id")
@click.option("--device-id", default="cli")
@pass_context
def scan(ctx: Context, code: str, latitude: float, longitude: float, accuracy_m: float | None,
         scanned_at: str | None, client_scan_id: str | None, device_id: str) -> None:
    """Judge a scan of CODE at a position and print the verdict as the API does."""
    from tracker.services import scans

    when = None
    if scanned_at:
        try:
            when = dt.datetime.fromisoformat(scanned_at.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"--at {scanned_at!r} is not an ISO 8601 time") from None
    request = scans.ScanRequest(code=code, latitude=latitude, longitude=longitude,
                                accuracy_m=accuracy_m, scanned_at=when,
                                client_scan_id=client_scan_id, device_id=device_id)
    with ctx.transaction() as session:
        emit(scans.record_scan(session, request, actor=SYSTEM, settings=ctx.settings))


@main.command()
@pass_context
def demo(ctx: Context) -> None:
    """Fill the database with a realistic demo; running it again adds nothing."""
    from tracker.services import demo as demo_service

    migrate.upgrade(ctx.engine)
    with ctx.transaction() as session:
        summary = demo_service.load_demo(session, settings=ctx.settings,
                                         log=lambda msg: click.echo(msg, err=True))
    emit(summary)


@main.group()
def webhooks() -> None:
    """Webhook deliveries (tracker serve also sends them, beside each server process)."""


@webhooks.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@pass_context
def webhooks_deliver(ctx: Context, once: bool) -> None:
    """Send due webhook deliveries until stopped (Ctrl-C), alone or beside servers."""
    import signal
    import threading

    from tracker.services.deliveries import Policy, Worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(ctx.engine, Policy.of(ctx.settings))
    try:
        made = worker.run(stop, once=once)
    except KeyboardInterrupt:
        made = None
    finally:
        worker.close()
    if once:
        emit({"attempts": made})


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=int, help="Worker processes [default: one per CPU core].")
# Few threads per process: more only contend for the interpreter lock. Measured with
# bench/scan_bench.py on 2 cores, 16 clients: 2 x 1 ~380 scans/s, 2 x 2 ~300, 2 x 4 ~290,
# 1 x 8 ~190. Two, so that one slow request (a label sheet) does not stall a process.
@click.option("--threads", default=2, show_default=True, type=int)
@pass_context
def serve(ctx: Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the web UI, the API and the scanner app with gunicorn."""
    from web.server import default_workers, run

    if migrate.current(ctx.engine) is None:
        raise click.ClickException("the database has no schema yet: run 'tracker db upgrade'")
    run(host=host, port=port, threads=threads,
        workers=workers or default_workers())


if __name__ == "__main__":
    main()
