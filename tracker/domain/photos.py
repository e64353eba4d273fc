"""Evidence photos: a JPEG judged by its bytes (never by the type the sender declared),
of a size a phone camera makes, and a small copy for pages.

Pure functions on bytes; the service decides who may attach one and stores it.

>>> megabytes(7_200_000), megabytes(5_000_000), megabytes(640)
('7.2 MB', '5 MB', '0.001 MB')
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from tracker.errors import InvalidInput, TooLarge

__all__ = ["MAX_PIXELS", "MAX_SIDE_PX", "MIN_SIDE_PX", "THUMBNAIL_PX", "Photo", "megabytes",
           "read_photo", "scaled_jpeg", "too_large"]

# Smaller than this shows nothing an officer could use; larger is no phone photo, or an
# image crafted to take the server's memory when decoded.
MIN_SIDE_PX = 32
MAX_SIDE_PX = 16_384
MAX_PIXELS = 80_000_000  # below Pillow's decompression-bomb warning
THUMBNAIL_PX = 320
# JPEG from a camera with several frames (MPO: a phone's portrait or 3D shot) is a JPEG
# whose first frame every viewer shows.
JPEG_FORMATS = ("JPEG", "MPO")

# What a file that is not a JPEG probably is, by its first bytes, to say so.
_SIGNATURES = (
    (0, b"\x89PNG", "a PNG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"BM", "a BMP image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"%PDF", "a PDF document"),
    (8, b"WEBP", "a WebP image"),
    (4, b"ftypheic", "a HEIC photo (the iPhone's own format)"),
    (4, b"ftypheix", "a HEIC photo (the iPhone's own format)"),
    (4, b"ftypmif1", "a HEIF photo"),
    (4, b"ftypavif", "an AVIF image"),
)


@dataclass(frozen=True)
class Photo:
    """A checked JPEG, kept exactly as sent, with its decoded size and a thumbnail."""

    jpeg: bytes
    width: int
    height: int
    thumbnail: bytes


def megabytes(size: int) -> str:
    """A byte count in megabytes (10^6 bytes) as people read it: one decimal at most."""
    value = size / 1_000_000
    text = f"{value:.1f}" if value >= 0.1 else f"{value:.3f}".rstrip("0")
    return f"{text.removesuffix('.0')} MB"


def too_large(size: int, most: int) -> TooLarge:
    """The refusal of a photo of ``size`` bytes, larger than ``most``; in bytes when the
    two would read the same in megabytes.

    >>> str(too_large(7_200_000, 5_000_000)), str(too_large(5_000_100, 5_000_000))
    ('photo is 7.2 MB; the most is 5 MB', 'photo is 5,000,100 bytes; the most is 5,000,000 bytes')
    """
    shown, limit = megabytes(size), megabytes(most)
    if shown == limit:
        shown, limit = f"{size:,} bytes", f"{most:,} bytes"
    return TooLarge(f"photo is {shown}; the most is {limit}", code="photo_too_large")


def _what_it_is(data: bytes) -> str | None:
    for offset, signature, name in _SIGNATURES:
        if data[offset:offset + len(signature)] == signature:
            return name
    return None


def _not_a_jpeg(data: bytes) -> InvalidInput:
    kind = _what_it_is(data)
    detail = f" (it is {kind})" if kind else ""
    return InvalidInput(f"photo is not a JPEG image{detail}; send it as a JPEG",
                        code="not_a_jpeg")


def read_photo(data: bytes, *, max_bytes: int) -> Photo:
    """Check that ``data`` is a whole JPEG of sane dimensions, no larger than
    ``max_bytes``; raise ``TooLarge`` or ``InvalidInput`` naming the problem.

    >>> read_photo(b"GIF89a", max_bytes=1000)
    Traceback (most recent call last):
    tracker.errors.InvalidInput: photo is not a JPEG image (it is a GIF image); send it as a JPEG
    """
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data:
        raise InvalidInput("photo is empty", code="not_a_jpeg")
    if not data.startswith(b"\xff\xd8\xff"):  # every JPEG starts with SOI and a marker
        raise _not_a_jpeg(data)
    try:
        with warnings.catch_warnings():
            # Past Pillow's own limit the size check below refuses it, by its dimensions.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in JPEG_FORMATS:
                    raise _not_a_jpeg(data)
                width, height = image.size
                _check_dimensions(width, height)
                # Decoding the whole stream (at an eighth of the size: quick, little
                # memory) finds a truncated or damaged file.
                image.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
                image.load()
                thumbnail = _jpeg_within(image, THUMBNAIL_PX, quality=80)
    except Image.DecompressionBombError:
        raise InvalidInput(f"photo has far more than {MAX_PIXELS // 1_000_000} megapixels",
                           code="photo_dimensions") from None
    except (OSError, SyntaxError, ValueError):
        raise InvalidInput("photo is a damaged or incomplete JPEG image and cannot be read; "
                           "take it again", code="unreadable_photo") from None
    return Photo(data, width, height, thumbnail)


def _check_dimensions(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE_PX:
        raise InvalidInput(f"photo is {width} × {height} pixels; it needs at least "
                           f"{MIN_SIDE_PX} pixels on each side", code="photo_dimensions")
    if max(width, height) > MAX_SIDE_PX or width * height > MAX_PIXELS:
        raise InvalidInput(f"photo is {width:,} × {height:,} pixels; the most is "
                           f"{MAX_SIDE_PX:,} pixels on a side and {MAX_PIXELS // 1_000_000} "
                           "megapixels in all", code="photo_dimensions")


def _jpeg_within(image: Image.Image, side: int, *, quality: int) -> bytes:
    # Upright as the camera held it (the EXIF orientation), then scaled down.
    upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((side, side))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def scaled_jpeg(jpeg: bytes, side: int, *, quality: int = 85) -> bytes | None:
    """The photo upright and at most ``side`` pixels on its longer side, as a JPEG (for a
    printed page); None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            image.draft("RGB", (side, side))
            return _jpeg_within(image, side, quality=quality)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
