"""How large a request body each route takes, refused with 413 before it is read.

A scan is a few hundred bytes; a list of codes received or shipped can run to megabytes;
an EPCIS document or a territory map to hundreds of megabytes. One limit for all would
either refuse real documents or let anyone make the server read a gigabyte to post a scan.
Each route has a kind (below; a route not named takes ``form``), each kind a setting.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask, request

from tracker.config import Settings
from tracker.domain.photos import megabytes, too_large
from tracker.errors import TooLarge
from web.db import settings


@dataclass(frozen=True)
class Kind:
    """A kind of body: the setting that limits it and how a refusal reads."""

    variable: str  # the environment variable, named in the refusal
    limit: Callable[[Settings], int]
    refusal: Callable[[int | None, int], TooLarge] | None = None  # default: _refusal


# Room in a photo upload beside the photo: part headers and boundaries, and the note
# (2,000 characters of up to 4 bytes each).
PHOTO_FORM_ROOM = 64 * 1024


def _photo_refusal(size: int | None, most: int) -> TooLarge:
    photo_most = most - PHOTO_FORM_ROOM
    if size is None:  # sent in chunks: known only to be over the limit
        return TooLarge(f"the photo is larger than the most, {megabytes(photo_most)}",
                        code="photo_too_large")
    return too_large(size, photo_most)


KINDS: dict[str, Kind] = {
    "scan": Kind("TRACKER_MAX_SCAN_BODY_BYTES", lambda s: s.max_scan_body_bytes),
    "form": Kind("TRACKER_MAX_BODY_BYTES", lambda s: s.max_body_bytes),
    "codes": Kind("TRACKER_MAX_CODES_BODY_BYTES", lambda s: s.max_codes_body_bytes),
    "document": Kind("TRACKER_MAX_DOCUMENT_BODY_BYTES",
                     lambda s: s.max_document_body_bytes),
    "photo": Kind("TRACKER_MAX_PHOTO_BYTES", lambda s: s.max_photo_bytes + PHOTO_FORM_ROOM,
                  _photo_refusal),
}

# Routes whose bodies are larger than a form's (by endpoint); every other route, API or
# page, takes ``form``.
ROUTE_KINDS: dict[str, str] = {
    "api.post_scan": "scan",
    "public.share_position": "scan",
    "api.post_shipment": "codes",
    "api.post_receive": "codes",
    "api.post_containers": "codes",
    "api.post_pack": "codes",
    "api.post_unpack": "codes",
    "compliance.bulk": "codes",
    "api.post_capture": "document",
    "api.post_event": "document",
    "api.post_territories": "document",
    "api.post_evidence": "photo",
}


def kind_of(endpoint: str | None) -> Kind:
    return KINDS[ROUTE_KINDS.get(endpoint or "", "form")]


def refusal(size: int | None) -> TooLarge:
    """The refusal of this request's body, ``size`` bytes long (None: sent in chunks and
    found over the limit while read)."""
    kind = kind_of(request.endpoint)
    most = kind.limit(settings())
    if kind.refusal is not None:
        return kind.refusal(size, most)
    sent = f" ({size:,} bytes)" if size is not None else ""
    return TooLarge(f"the request body{sent} is larger than this route's limit of "
                    f"{most:,} bytes (set by {kind.variable})")


def whole_body() -> bytes:
    """The request body read whole (and kept for the request). A body sent in chunks is
    read only up to its limit; one byte more tells whether there was more (then 413)."""
    raw = request.get_data(cache=True)
    if request.content_length is None:
        request.stream.read(1)
    return raw


def text_lines() -> Iterator[str]:
    """The request body as lines of text (UTF-8, a byte-order mark skipped), read as they
    arrive rather than held whole; past the route's limit, 413."""
    return io.TextIOWrapper(request.stream, encoding="utf-8-sig", errors="replace",  # type: ignore[arg-type]
                            newline="")


def init_app(app: Flask) -> None:
    @app.before_request
    def _limit_body() -> None:
        most = kind_of(request.endpoint).limit(settings())
        if request.content_length is not None and request.content_length > most:
            raise refusal(request.content_length)
        # A body sent in chunks (no Content-Length) stops being read at the limit.
        request.max_content_length = most
