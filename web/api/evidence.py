"""An inspector's note and photo on a scan (multipart/form-data), and the photo back."""

from __future__ import annotations

from flask import Response, g, request

from tracker.db import write_transaction
from tracker.services import evidence
from web.api import bp
from web.api.inputs import BadRequest
from web.api.masterdata import created
from web.api.schemas import models
from web.api.schemas.contract import BINARY, operation
from web.db import get_session, settings

EVIDENCE_FORM = {"type": "object", "properties": {
    "note": {"type": "string", "maxLength": 2000},
    "photo": {"type": "string", "format": "binary",
              "description": "a JPEG image (at most TRACKER_MAX_PHOTO_BYTES, 5 MB)"}}}


@bp.post("/scans/<int:scan_id>/evidence")
@operation("Attach a note and/or a JPEG photo to one's own scan; sending again replaces",
           reply=models.Evidence, status=201, content={"multipart/form-data": EVIDENCE_FORM},
           errors=(400, 404, 413, 422))
def post_evidence(scan_id: int) -> Response:
    """Fields ``note`` (text) and ``photo`` (a JPEG file), either or both. 201 with
    ``{"scan_id", "note", "has_photo", "photo_bytes"}``; sending again replaces."""
    # The body's limit (the photo's and room for the form) is web.body_limits'.
    if request.mimetype != "multipart/form-data":
        raise BadRequest("send the note and the photo as multipart/form-data with the fields "
                         "'note' and 'photo'", code="not_multipart")
    note = request.form.get("note")
    upload = request.files.get("photo")
    photo = upload.read() if upload is not None else None
    if photo is None and "photo" in request.form:
        raise BadRequest("field 'photo' must be a file (a part with a filename), not text",
                         code="invalid_field")
    checked = evidence.check_evidence(note=note, photo=photo, actor=g.actor,
                                      settings=settings())
    session = get_session()
    with write_transaction(session):
        stored = evidence.attach_evidence(session, scan_id, checked, actor=g.actor)
    answer: models.Evidence = {"scan_id": stored.scan_id, "note": stored.note,
                               "has_photo": stored.has_photo, "photo_bytes": stored.photo_bytes}
    return created(answer)


@bp.get("/scans/<int:scan_id>/photo")
@operation("The scan's evidence photo as sent (the scan's inspector, compliance, admin)",
           reply=BINARY, media="image/jpeg", errors=(404,))
def get_scan_photo(scan_id: int) -> Response:
    """The photo as sent (image/jpeg): for the scan's inspector, compliance and admin."""
    session = get_session()
    photo = evidence.get_photo(session, scan_id, actor=g.actor)
    session.rollback()
    return jpeg_response(photo)


def jpeg_response(photo: bytes) -> Response:
    response = Response(photo, mimetype="image/jpeg")
    # Replaced photos are rare, but a cached old one must not pass for the new one.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
