"""Printable labels: a QR code of each serial's GS1 Digital Link URI, the serial beneath it.

Pure functions, no database. :func:`qr_png` draws one code as a PNG for screens;
:func:`render_label_sheets` streams a PDF of label sheets for a whole batch.

The sheets are drawn as vector rectangles, one per run of dark modules in a row, and
the PDF is written page by page straight to the output. ReportLab is not used here:
its canvas keeps every page's uncompressed content stream in memory until ``save()``
(measured with ReportLab 5.1: about 4 KB per label, some 400 MB for 100,000 labels) and
took as long formatting the rectangles as the QR encoder took encoding. The PDF subset
written here is small: rectangles and text in Courier and Courier Bold, which every
PDF reader has built in.

>>> layout = LabelLayout()
>>> layout.labels_per_page, round(layout.cell_width_mm, 2), round(layout.qr_size_mm, 2)
(24, 45.25, 37.36)
>>> LabelLayout.from_options(columns=0)
Traceback (most recent call last):
...
tracker.errors.InvalidInput: columns must be a whole number from 1 to 40, not 0
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import qrcode
import qrcode.constants
import qrcode.exceptions
from qrcode import util as qr_util
from qrcode.image.pil import PilImage

from tracker.domain.serials import SERIAL_LENGTH
from tracker.errors import InvalidInput

MM = 72 / 25.4  # PDF points per millimetre
QUIET_ZONE = 4  # modules of light margin ISO/IEC 18004 requires around a QR code
# Below ~10 mm a QR code of a Digital Link URI is too small for phones and most
# handheld scanners to read reliably.
MIN_QR_SIZE_MM = 10.0
# A module narrower than this smears on 203/300 dpi label and office printers.
MIN_MODULE_MM = 0.25
MIN_TEXT_PT, MAX_TEXT_PT = 6.0, 24.0
MAX_GRID = 40
# Courier: every glyph is 600/1000 em wide, so text width needs no metrics table.
COURIER_ADVANCE = 0.6
TEXT_BAND_EM = 1.6  # height of the line under the QR code, in text sizes
HEADER_PT = 8.0
MIN_HEADER_MARGIN_MM = 6.0

ERROR_CORRECTION = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}

ProgressCallback = Callable[[int], None]


def _error_correction_level(value: str) -> int:
    try:
        return ERROR_CORRECTION[value]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"error_correction must be one of L, M, Q, H, not {value!r}"
        ) from None


def _fit(qr: qrcode.QRCode, data: str) -> None:
    qr.add_data(data)
    try:
        qr.make(fit=True)
    # qrcode 8.2 overflows into its version setter's ValueError, older releases raise
    # DataOverflowError.
    except (qrcode.exceptions.DataOverflowError, ValueError):
        raise InvalidInput(f"{len(data)} characters are too many for one QR code") from None


def qr_png(data: str, *, box_size: int = 10, border: int = QUIET_ZONE,
           error_correction: str = "M") -> bytes:
    """PNG bytes of a black-on-white QR code of ``data``, ``box_size`` pixels per module.

    ``border`` is the quiet zone in modules; less than 4 is refused because scanners
    then mistake neighbouring print for part of the code.
    """
    level = _error_correction_level(error_correction)
    if isinstance(box_size, bool) or not isinstance(box_size, int) or box_size < 1:
        raise InvalidInput(f"box_size must be a whole number of pixels from 1, not {box_size!r}")
    if isinstance(border, bool) or not isinstance(border, int) or border < QUIET_ZONE:
        raise InvalidInput(
            f"border must be at least {QUIET_ZONE} modules (the QR quiet zone), not {border!r}"
        )
    qr = qrcode.QRCode(error_correction=level, box_size=box_size, border=border,
                       image_factory=PilImage)
    _fit(qr, data)
    buffer = io.BytesIO()
    qr.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


# --- QR modules -------------------------------------------------------------------------
#
# qrcode picks the mask the way ISO/IEC 18004 says: it lays the symbol out eight times
# and scores each. In pure Python that is three quarters of its run time, so
# qr_modules() lays the data out once (mask 0), applies the other seven masks to the
# data region with numpy and scores them with the same rules and tie-break as qrcode
# 8. The result is the very symbol qrcode makes; tests compare them module for module.


@functools.cache  # 40 versions at most
def _symbol_regions(version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data modules, format/version information modules, the 8 masks on data modules)."""
    n = version * 4 + 17
    reserved = np.zeros((n, n), dtype=bool)
    reserved[:9, :9] = True  # finder, separator, format information
    reserved[:9, n - 8:] = True
    reserved[n - 8:, :9] = True
    reserved[6, :] = True  # timing patterns
    reserved[:, 6] = True
    finder_centres = {(6, 6), (6, n - 7), (n - 7, 6)}
    centres = qr_util.pattern_position(version)
    for r in centres:
        for c in centres:
            if (r, c) not in finder_centres:
                reserved[r - 2:r + 3, c - 2:c + 3] = True
    info = np.zeros((n, n), dtype=bool)
    info[8, :9] = True
    info[:9, 8] = True
    info[6, 8] = info[8, 6] = False  # timing, not format bits
    info[8, n - 8:] = True
    info[n - 8:, 8] = True  # with the dark module at (n - 8, 8)
    if version >= 7:
        reserved[:6, n - 11:n - 8] = True
        reserved[n - 11:n - 8, :6] = True
        info[:6, n - 11:n - 8] = True
        info[n - 11:n - 8, :6] = True
    data = ~reserved
    i, j = np.indices((n, n))
    masks = np.stack([
        (i + j) % 2 == 0,
        i % 2 == 0,
        j % 3 == 0,
        (i + j) % 3 == 0,
        (i // 2 + j // 3) % 2 == 0,
        (i * j) % 2 + (i * j) % 3 == 0,
        ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        ((i * j) % 3 + (i + j) % 2) % 2 == 0,
    ]) & data
    for array in (data, info, masks):
        array.flags.writeable = False  # shared through the cache
    return data, info, masks


def _line_penalties(a: np.ndarray) -> np.ndarray:
    """Penalty rules 1 (runs of 5+) and 3 (finder-like 1:1:3:1:1) along a's last axis."""
    n = a.shape[-1]
    same = a[..., 1:] == a[..., :-1]
    run5 = same[..., :-3] & same[..., 1:-2] & same[..., 2:-1] & same[..., 3:]
    run_starts = run5.copy()
    run_starts[..., 1:] &= ~same[..., :n - 5]
    # A run of length L holds L-4 windows of five and scores L-2: windows + 2 per run.
    score = run5.sum(axis=(1, 2)) + 2 * run_starts.sum(axis=(1, 2))
    light = ~a
    light4 = light[..., :-3] & light[..., 1:-2] & light[..., 2:-1] & light[..., 3:]
    core = (a[..., :-6] & light[..., 1:-5] & a[..., 2:-4] & a[..., 3:-3] & a[..., 4:-2]
            & light[..., 5:-1] & a[..., 6:])
    m = n - 10
    finder_like = (core[..., :m] & light4[..., 7:7 + m]) | (light4[..., :m] & core[..., 4:4 + m])
    return score + 40 * finder_like.sum(axis=(1, 2))


def _mask_penalties(candidates: np.ndarray) -> list[int]:
    """qrcode.util.lost_point for each of a (k, n, n) stack of symbols."""
    n = candidates.shape[-1]
    total = _line_penalties(candidates) + _line_penalties(candidates.transpose(0, 2, 1))
    top_left = candidates[:, :-1, :-1]
    blocks = ((top_left == candidates[:, 1:, :-1]) & (top_left == candidates[:, :-1, 1:])
              & (top_left == candidates[:, 1:, 1:]))
    total += 3 * blocks.sum(axis=(1, 2))
    dark = candidates.sum(axis=(1, 2)).tolist()
    # Same float expression as qrcode so that ties break the same way.
    return [int(t) + int(abs(d / (n * n) * 100 - 50) / 5) * 10
            for t, d in zip(total.tolist(), dark, strict=True)]


def _place_format_information(modules: np.ndarray, level: int, mask: int) -> None:
    n = modules.shape[0]
    bits = qr_util.BCH_type_info((level << 3) | mask)
    for i in range(15):
        dark = (bits >> i) & 1 == 1
        modules[i if i < 6 else i + 1 if i < 8 else n - 15 + i, 8] = dark
        modules[8, n - i - 1 if i < 8 else 15 - i if i < 9 else 14 - i] = dark


def qr_modules(data: str, *, error_correction: str = "M") -> np.ndarray:
    """The QR code of ``data`` as a square boolean array, True for dark, no quiet zone.

    Module for module what ``qrcode.QRCode(...).make(fit=True)`` produces, about three
    times faster.

    >>> qr_modules("https://id.example.com/01/09506000134352/21/X").shape
    (29, 29)
    """
    level = _error_correction_level(error_correction)
    qr = qrcode.QRCode(error_correction=level, border=0, mask_pattern=0)
    _fit(qr, data)
    laid_out = np.array(qr.modules, dtype=bool)
    region, info, masks = _symbol_regions(qr.version)
    data_bits = (laid_out ^ masks[0]) & region
    # qrcode scores with format and version information left light; so do we.
    candidates = (laid_out & ~region & ~info) | (data_bits ^ masks)
    penalties = _mask_penalties(candidates)
    best = penalties.index(min(penalties))
    modules = candidates[best] | (laid_out & info)  # version information, dark module
    _place_format_information(modules, level, best)
    return modules


# --- Layout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelLayout:
    """Where the labels go on a sheet; lengths in millimetres, text size in points.

    Built valid or not at all: the constructor raises :class:`InvalidInput` naming the
    bad value. The defaults suit plain A4 paper; for label stock copy its margins and
    gaps from the manufacturer's template.
    """

    page_width_mm: float = 210.0
    page_height_mm: float = 297.0
    columns: int = 4
    rows: int = 6
    margin_top_mm: float = 12.0
    margin_bottom_mm: float = 12.0
    margin_left_mm: float = 10.0
    margin_right_mm: float = 10.0
    column_gap_mm: float = 3.0
    row_gap_mm: float = 3.0
    error_correction: str = "M"
    text_size_pt: float = 10.0
    header_footer: bool = True

    @classmethod
    def from_options(cls, **options: Any) -> LabelLayout:
        """A layout from keyword options (the defaults for the rest), with unknown
        option names reported as :class:`InvalidInput` rather than ``TypeError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise InvalidInput(
                f"unknown label layout option {unknown[0]!r}; known: {', '.join(sorted(names))}"
            )
        return cls(**options)

    def __post_init__(self) -> None:
        for name in ("columns", "rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GRID:
                raise InvalidInput(
                    f"{name} must be a whole number from 1 to {MAX_GRID}, not {value!r}"
                )
        for name, low, high in (("page_width_mm", 50, 2000), ("page_height_mm", 50, 2000),
                                ("margin_top_mm", 0, 500), ("margin_bottom_mm", 0, 500),
                                ("margin_left_mm", 0, 500), ("margin_right_mm", 0, 500),
                                ("column_gap_mm", 0, 500), ("row_gap_mm", 0, 500),
                                ("text_size_pt", MIN_TEXT_PT, MAX_TEXT_PT)):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or not low <= value <= high):
                raise InvalidInput(f"{name} must be a number from {low:g} to {high:g}, "
                                   f"not {value!r}")
        _error_correction_level(self.error_correction)
        if self.header_footer:
            for name in ("margin_top_mm", "margin_bottom_mm"):
                value = getattr(self, name)
                if value < MIN_HEADER_MARGIN_MM:
                    raise InvalidInput(
                        f"{name} must be at least {MIN_HEADER_MARGIN_MM:g} mm to hold the "
                        f"header and footer, not {value:g}; or set header_footer off"
                    )
        grid = f"a {self.columns} x {self.rows} grid"
        page = f"{self.page_width_mm:g} x {self.page_height_mm:g} mm"
        if self.cell_width_mm <= 0 or self.cell_height_mm <= 0:
            raise InvalidInput(f"{grid} does not fit on a {page} page with these margins "
                               "and gaps")
        if self.qr_size_mm < MIN_QR_SIZE_MM:
            raise InvalidInput(
                f"{grid} on a {page} page leaves labels of {self.cell_width_mm:.1f} x "
                f"{self.cell_height_mm:.1f} mm and QR codes of {self.qr_size_mm:.1f} mm; "
                f"scanners need at least {MIN_QR_SIZE_MM:g} mm"
            )
        serial_width_mm = SERIAL_LENGTH * COURIER_ADVANCE * self.text_size_pt / MM
        if serial_width_mm > self.cell_width_mm:
            raise InvalidInput(
                f"a {SERIAL_LENGTH}-character serial at {self.text_size_pt:g} pt is "
                f"{serial_width_mm:.1f} mm wide but {grid} leaves labels "
                f"{self.cell_width_mm:.1f} mm wide; use a smaller text_size_pt or fewer columns"
            )

    @property
    def labels_per_page(self) -> int:
        return self.columns * self.rows

    @property
    def cell_width_mm(self) -> float:
        usable = self.page_width_mm - self.margin_left_mm - self.margin_right_mm
        return (usable - (self.columns - 1) * self.column_gap_mm) / self.columns

    @property
    def cell_height_mm(self) -> float:
        usable = self.page_height_mm - self.margin_top_mm - self.margin_bottom_mm
        return (usable - (self.rows - 1) * self.row_gap_mm) / self.rows

    @property
    def text_band_mm(self) -> float:
        return TEXT_BAND_EM * self.text_size_pt / MM

    @property
    def qr_size_mm(self) -> float:
        """Side of the square each QR code gets, quiet zone included."""
        return min(self.cell_width_mm, self.cell_height_mm - self.text_band_mm)


# --- PDF --------------------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pdf_text(text: str) -> str:
    # The built-in fonts use WinAnsiEncoding, so characters outside cp1252 become "?".
    raw = text.encode("cp1252", errors="replace").decode("latin-1")
    return "(" + raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") \
        .replace("\r", "\\r").replace("\n", "\\n") + ")"


class _PdfWriter:
    """Writes a PDF object by object, keeping only the byte offsets it needs for the
    cross-reference table, so memory does not grow with the page count's contents.

    The output need not be seekable: offsets are counted, not asked of ``out``.
    """

    CATALOG, PAGES, FONT, BOLD_FONT, RESOURCES = 1, 2, 3, 4, 5

    def __init__(self, out: BinaryIO, width_pt: float, height_pt: float) -> None:
        self._out = out
        self._position = 0
        self._offsets: dict[int, int] = {}
        self._next_number = self.RESOURCES + 1
        self._pages: list[int] = []
        self._media_box = f"[0 0 {_num(width_pt)} {_num(height_pt)}]"
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary marker for transfer tools
        self._object(self.CATALOG, f"<< /Type /Catalog /Pages {self.PAGES} 0 R >>")
        self._object(self.FONT, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier "
                                "/Encoding /WinAnsiEncoding >>")
        self._object(self.BOLD_FONT, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold "
                                     "/Encoding /WinAnsiEncoding >>")
        self._object(self.RESOURCES, f"<< /Font << /F1 {self.FONT} 0 R /F2 {self.BOLD_FONT} 0 R "
                                     ">> >>")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)

    def _object(self, number: int, body: str | bytes) -> None:
        self._offsets[number] = self._position
        if isinstance(body, str):
            body = body.encode("latin-1")
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def _allocate(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def add_page(self, content: str) -> None:
        stream = zlib.compress(content.encode("latin-1"))
        contents, page = self._allocate(), self._allocate()
        self._object(contents, b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                     % (len(stream), stream))
        self._object(page, f"<< /Type /Page /Parent {self.PAGES} 0 R /MediaBox "
                           f"{self._media_box} /Resources {self.RESOURCES} 0 R "
                           f"/Contents {contents} 0 R >>")
        self._pages.append(page)

    def close(self, title: str | None) -> None:
        kids = " ".join(f"{p} 0 R" for p in self._pages)
        self._object(self.PAGES, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} >>")
        info = self._allocate()
        fields = f"/Producer {_pdf_text('tracker labels')}"
        if title:
            fields += f" /Title {_pdf_text(title)}"
        self._object(info, f"<< {fields} >>")
        xref_at = self._position
        size = self._next_number
        rows = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        rows += [b"%010d 00000 n \n" % self._offsets[n] for n in range(1, size)]
        self._write(b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                    % (size, self.CATALOG, info, xref_at))


def _qr_operators(modules: np.ndarray, x_pt: float, top_pt: float, module_pt: float) -> str:
    """PDF operators filling a QR code's dark modules, top-left corner of its quiet zone
    at (x_pt, top_pt). One rectangle per horizontal run of dark modules."""
    n = modules.shape[1]
    padded = np.zeros((modules.shape[0], n + 2), dtype=np.int8)
    padded[:, 1:-1] = modules
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    # Work in module units, y downwards, so every rectangle is four small integers.
    ops = [f"q {_num(module_pt)} 0 0 {_num(-module_pt)} {_num(x_pt)} {_num(top_pt)} cm"]
    ops += [f"{s + QUIET_ZONE} {r + QUIET_ZONE} {w} 1 re"
            for r, s, w in zip(rows.tolist(), starts.tolist(), (ends - starts).tolist(),
                               strict=True)]
    ops.append("f Q")
    return "\n".join(ops)


def _text_operators(text: str, centre_x_pt: float, baseline_pt: float, size_pt: float,
                    max_width_pt: float) -> str:
    # Bold: the strokes of plain Courier are thin enough to break up on label printers.
    if not text:
        return ""
    # Shrink rather than clip: a label whose text runs off its edge is unreadable.
    size = min(size_pt, max_width_pt / (COURIER_ADVANCE * len(text)))
    x = centre_x_pt - COURIER_ADVANCE * size * len(text) / 2
    return f"BT /F2 {_num(size)} Tf {_num(x)} {_num(baseline_pt)} Td {_pdf_text(text)} Tj ET"


def _fit_text(text: str, width_pt: float, size_pt: float) -> str:
    fits = int(width_pt / (COURIER_ADVANCE * size_pt))
    return text if len(text) <= fits else text[:max(fits - 3, 0)] + "..."


def render_label_sheets(labels: Iterable[tuple[str, str]], out: BinaryIO, *,
                        layout: LabelLayout = LabelLayout(),
                        progress: ProgressCallback | None = None,
                        title: str | None = None) -> int:
    """Write a PDF of label sheets to ``out`` and return how many labels it holds.

    Each label of ``labels`` is ``(uri, text)``: a QR code of ``uri`` (the GS1 Digital
    Link URI) with ``text`` (the serial) printed beneath it in Courier Bold. Labels fill the
    grid row by row, a page at a time; ``labels`` is read lazily and each page is
    written as soon as it is full, so memory stays flat however many labels there are.
    ``progress(labels_done)`` is called after every page.

    With ``layout.header_footer`` each page carries ``title`` at the top and its page
    number at the bottom. No labels gives one page with just those.

    Raises :class:`InvalidInput` if a URI's QR code would have modules narrower than
    ``MIN_MODULE_MM`` at this layout; ``out`` then holds an unfinished PDF.
    """
    width_pt, height_pt = layout.page_width_mm * MM, layout.page_height_mm * MM
    cell_w, cell_h = layout.cell_width_mm * MM, layout.cell_height_mm * MM
    qr_pt, band_pt = layout.qr_size_mm * MM, layout.text_band_mm * MM
    text_size = layout.text_size_pt
    baseline_below_qr = band_pt / 2 + 0.3 * text_size  # roughly centres the capitals
    # (left of the cell, top of its QR code) for each slot on the page, the code and its
    # line of text centred in the cell, which may be taller or wider than they need.
    slots = [
        ((layout.margin_left_mm + column * (layout.cell_width_mm + layout.column_gap_mm)) * MM,
         height_pt - (layout.margin_top_mm + row * (layout.cell_height_mm + layout.row_gap_mm))
         * MM - (cell_h - qr_pt - band_pt) / 2)
        for row in range(layout.rows) for column in range(layout.columns)
    ]
    writer = _PdfWriter(out, width_pt, height_pt)

    def page_furniture(number: int) -> list[str]:
        if not layout.header_footer:
            return []
        left, right = layout.margin_left_mm * MM, width_pt - layout.margin_right_mm * MM
        ops = []
        if title:
            baseline = height_pt - layout.margin_top_mm * MM / 2 - HEADER_PT * 0.3
            text = _fit_text(title, right - left, HEADER_PT)
            ops.append(f"BT /F1 {_num(HEADER_PT)} Tf {_num(left)} {_num(baseline)} Td "
                       f"{_pdf_text(text)} Tj ET")
        footer = f"Page {number}"
        baseline = layout.margin_bottom_mm * MM / 2 - HEADER_PT * 0.3
        x = right - COURIER_ADVANCE * HEADER_PT * len(footer)
        ops.append(f"BT /F1 {_num(HEADER_PT)} Tf {_num(x)} {_num(baseline)} Td "
                   f"{_pdf_text(footer)} Tj ET")
        return ops

    module_pt_by_width: dict[int, float] = {}  # one width per batch in practice
    page_ops: list[str] = []
    done = pages = 0
    for uri, text in labels:
        slot = done % len(slots)
        if slot == 0:
            page_ops = ["0 g", *page_furniture(pages + 1)]
        modules = qr_modules(uri, error_correction=layout.error_correction)
        width = modules.shape[0]
        if width not in module_pt_by_width:
            module_pt = qr_pt / (width + 2 * QUIET_ZONE)
            if module_pt / MM < MIN_MODULE_MM:
                raise InvalidInput(
                    f"the QR code of {uri!r} is {width} modules wide, so in a "
                    f"{layout.qr_size_mm:.1f} mm square each module is "
                    f"{module_pt / MM:.2f} mm; print needs at least {MIN_MODULE_MM:g} mm, "
                    "so use fewer columns or rows, or a lower error_correction"
                )
            module_pt_by_width[width] = module_pt
        cell_x, qr_top = slots[slot]
        page_ops.append(_qr_operators(modules, cell_x + (cell_w - qr_pt) / 2, qr_top,
                                      module_pt_by_width[width]))
        page_ops.append(_text_operators(text, cell_x + cell_w / 2,
                                        qr_top - qr_pt - baseline_below_qr, text_size, cell_w))
        done += 1
        if slot == len(slots) - 1:
            writer.add_page("\n".join(page_ops))
            pages += 1
            if progress is not None:
                progress(done)
    if done % len(slots) or pages == 0:
        writer.add_page("\n".join(page_ops if done else ["0 g", *page_furniture(1)]))
        if progress is not None:
            progress(done)
    writer.close(title)
    return done
