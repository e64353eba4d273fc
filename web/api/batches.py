"""Issuing batches of serials, and the codes and labels that carry them."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO, cast

from flask import Response, g, jsonify, request, send_file, stream_with_context

from tracker.db import write_transaction
from tracker.domain.labels import LabelLayout, qr_png, render_label_sheets
from tracker.errors import InvalidInput
from tracker.services import issuing
from web.api import bp, render
from web.api.inputs import date_field, field, int_arg, json_body
from web.api.masterdata import created
from web.db import get_session, session_factory, settings

# One PDF request renders at most this many labels (about 840 A4 pages at the default
# grid); larger runs go through `tracker batches labels`, which has a progress bar.
MAX_LABELS_PER_PDF = 20_000
CSV_COLUMNS = ("serial", "uri", "epc")


@bp.post("/batches")
def post_batch() -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        batch = issuing.issue_batch(
            session,
            gtin=field(body, "gtin", str),
            territory=field(body, "territory", str),
            quantity=field(body, "quantity", int),
            lot=field(body, "lot", str, default=None),
            expiry=date_field(body, "expiry"),
            party=field(body, "party", str, default=None),
            actor=g.actor,
            settings=settings(),
        )
        data = render.batch(batch)
    response = created(data)
    response.headers["Location"] = f"{request.script_root}/api/v1/batches/{batch.id}"
    return response


@bp.get("/batches")
def get_batches() -> Response:
    limit = int_arg("limit", 100, minimum=1, maximum=1000)
    offset = int_arg("offset", 0)
    batches = issuing.list_batches(get_session(), actor=g.actor, limit=limit, offset=offset)
    return jsonify({"items": [render.batch(b) for b in batches], "limit": limit,
                    "offset": offset})


@bp.get("/batches/<int:batch_id>")
def get_batch(batch_id: int) -> Response:
    session = get_session()
    batch = issuing.get_batch(session, batch_id, actor=g.actor)
    data = render.batch(batch)
    data["issued"] = issuing.count_serials(session, batch.id)
    return jsonify(data)


@bp.get("/batches/<int:batch_id>/codes")
def get_batch_codes(batch_id: int) -> Response:
    """CSV of the batch's codes, streamed: a million rows never sit in memory."""
    columns = _csv_columns(request.args.get("columns", "serial,uri"))
    batch = issuing.get_batch(get_session(), batch_id, actor=g.actor)
    app_settings = settings()
    factory = session_factory()

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        with factory() as session:
            own_batch = session.merge(batch, load=False)
            for n, row in enumerate(issuing.iter_batch_codes(session, own_batch, app_settings), 1):
                writer.writerow([getattr(row, c) for c in columns])
                if n % 5000 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{batch_id}.csv"'
    return response


def _csv_columns(raw: str) -> list[str]:
    columns = [c.strip() for c in raw.split(",") if c.strip()]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if not columns or unknown:
        raise InvalidInput(
            f"query parameter 'columns' may list {', '.join(CSV_COLUMNS)}; got {raw!r}",
            code="invalid_parameter",
        )
    return columns


@bp.get("/batches/<int:batch_id>/labels.pdf")
def get_batch_labels(batch_id: int) -> Response:
    session = get_session()
    batch = issuing.get_batch(session, batch_id, actor=g.actor)
    offset = int_arg("offset", 0)
    limit = int_arg("limit", min(batch.quantity, MAX_LABELS_PER_PDF), minimum=1)
    if limit > MAX_LABELS_PER_PDF:
        raise InvalidInput(
            f"one PDF holds at most {MAX_LABELS_PER_PDF:,} labels; ask for a range with "
            "'offset' and 'limit', or use 'tracker batches labels' for the whole batch",
            code="too_many_labels",
        )
    layout = LabelLayout.from_options(
        columns=int_arg("columns", LabelLayout.columns, minimum=1),
        rows=int_arg("rows", LabelLayout.rows, minimum=1),
    )
    codes = issuing.iter_batch_codes(session, batch, settings(), offset=offset, limit=limit)
    return pdf_response(((c.uri, c.serial) for c in codes), layout=layout,
                        title=f"{batch.product.name} · batch {batch.id} · {batch.territory.code}",
                        name=f"batch-{batch_id}.pdf")


def pdf_response(labels: Iterable[tuple[str, str]], *, layout: LabelLayout, title: str,
                 name: str) -> Response:
    """Render label sheets into a spooled file (memory up to 16 MiB, then disk) and send it."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    render_label_sheets(labels, cast(BinaryIO, spool), layout=layout, title=title)
    spool.seek(0)
    return send_file(spool, mimetype="application/pdf", download_name=name)


@bp.get("/serials/<serial>/qr.png")
def get_serial_qr(serial: str) -> Response:
    record = issuing.get_serial(get_session(), serial, actor=g.actor, settings=settings())
    box = int_arg("box_size", 10, minimum=1, maximum=40)
    response = Response(qr_png(record.code.uri, box_size=box), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/serials/<serial>")
def get_serial(serial: str) -> Response:
    record = issuing.get_serial(get_session(), serial, actor=g.actor, settings=settings())
    return jsonify({"serial": record.serial, "uri": record.code.uri, "epc": record.code.epc,
                    "batch": render.batch(record.batch)})
