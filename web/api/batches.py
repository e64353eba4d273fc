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
from web.api.masterdata import created
from web.api.schemas import models
from web.api.schemas.contract import BINARY, CSV_TEXT, operation
from web.db import get_session, session_factory, settings

# One PDF request renders at most this many labels (about 840 A4 pages at the default
# grid); larger runs go through `tracker batches labels`, which has a progress bar.
MAX_LABELS_PER_PDF = 20_000
CSV_COLUMNS = ("serial", "uri", "epc")


@bp.post("/batches")
@operation("Issue a batch of serial numbers authorised for a territory", reply=models.Batch,
           status=201, headers={"Location": "the batch's address"}, body=models.BatchIn,
           errors=(400, 404, 422))
def post_batch(body: models.BatchIn) -> Response:
    session = get_session()
    with write_transaction(session):
        batch = issuing.issue_batch(
            session, gtin=body.gtin, territory=body.territory, quantity=body.quantity,
            lot=body.lot, expiry=body.expiry, party=body.party, actor=g.actor,
            settings=settings())
        data = render.batch(batch)
    response = created(data)
    response.headers["Location"] = f"{request.script_root}/api/v1/batches/{batch.id}"
    return response


@bp.get("/batches")
@operation("List batches, newest first", reply=models.Batches, query=models.BigPage,
           errors=(422,))
def get_batches(query: models.BigPage) -> Response:
    batches = issuing.list_batches(get_session(), actor=g.actor, limit=query.limit,
                                   offset=query.offset)
    page: models.Batches = {"items": [render.batch(b) for b in batches], "limit": query.limit,
                            "offset": query.offset}
    return jsonify(page)


@bp.get("/batches/<int:batch_id>")
@operation("One batch, with the count of serials issued", reply=models.BatchDetail,
           errors=(404,))
def get_batch(batch_id: int) -> Response:
    session = get_session()
    batch = issuing.get_batch(session, batch_id, actor=g.actor)
    data: models.BatchDetail = {**render.batch(batch),
                                "issued": issuing.count_serials(session, batch.id)}
    return jsonify(data)


@bp.get("/batches/<int:batch_id>/codes")
@operation("The batch's codes as CSV with a header row (serial,uri by default)",
           reply=CSV_TEXT, media="text/csv", query=models.CodesQuery, errors=(404, 422))
def get_batch_codes(batch_id: int, query: models.CodesQuery) -> Response:
    """CSV of the batch's codes, streamed: a million rows never sit in memory."""
    columns = _csv_columns(query.columns)
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
@operation("Printable label sheets: a QR code of each serial's Digital Link URI with the "
           "serial beneath", reply=BINARY, media="application/pdf", query=models.LabelsQuery,
           errors=(404, 422))
def get_batch_labels(batch_id: int, query: models.LabelsQuery) -> Response:
    session = get_session()
    batch = issuing.get_batch(session, batch_id, actor=g.actor)
    offset = query.offset
    limit = query.limit or min(batch.quantity, MAX_LABELS_PER_PDF)
    if limit > MAX_LABELS_PER_PDF:
        raise InvalidInput(
            f"one PDF holds at most {MAX_LABELS_PER_PDF:,} labels; ask for a range with "
            "'offset' and 'limit', or use 'tracker batches labels' for the whole batch",
            code="too_many_labels",
        )
    layout = LabelLayout.from_options(columns=query.columns or LabelLayout.columns,
                                      rows=query.rows or LabelLayout.rows)
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
@operation("QR code of the serial's Digital Link URI", reply=BINARY, media="image/png",
           query=models.QrQuery, errors=(400, 404, 422))
def get_serial_qr(serial: str, query: models.QrQuery) -> Response:
    record = issuing.get_serial(get_session(), serial, actor=g.actor, settings=settings())
    response = Response(qr_png(record.code.uri, box_size=query.box_size), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/serials/<serial>")
@operation("One serial: its Digital Link URI, EPC and batch", reply=models.Serial,
           errors=(400, 404, 422))
def get_serial(serial: str) -> Response:
    record = issuing.get_serial(get_session(), serial, actor=g.actor, settings=settings())
    data: models.Serial = {"serial": record.serial, "uri": record.code.uri,
                           "epc": record.code.epc, "batch": render.batch(record.batch)}
    return jsonify(data)
