"""A violation's case file as one PDF: what a compliance officer hands to a distributor or
keeps for a dispute.

Pure functions, no database: the caller gathers the violation into a :class:`CaseFileData`
with every text already translated, :func:`render_case_file` draws it, and
:func:`content_hash` fingerprints what it shows. The sections, in order: title and facts,
the map, the serial's custody chain (the step where the goods left their authorised
territory marked in red), the evidence scans (each with the inspector's note), their
photos scaled into the page, the audit trail; every page's footer carries
"page N of M", the time the file was generated and the content hash.

Fonts: Latin text is set in Helvetica; any character Helvetica's encoding (Windows-1252)
cannot show (Chinese, fullwidth punctuation, Cyrillic) in ReportLab's built-in CID font
``STSong-Light``, which PDF readers supply themselves, so no font file is shipped or
embedded. That holds in an English file too, for a Chinese party name.

The map is drawn as vector paths, equirectangular with longitude scaled by the cosine of
the mean latitude, fitted to the areas and the scans (with their accuracy circles), and
outlines simplified to about half a point at the drawn scale. A territory cut at the
antimeridian (Chukotka, Fiji) has its parts shifted by ±360° to lie next to the scans.

>>> from shapely.geometry import box
>>> areas = [("expected", box(178, 64, 180, 66)), ("found", box(-180, 64, -179, 66))]
>>> [round(v) for v in map_extent(areas, [])]
[178, 64, 181, 66]
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import FILL_EVEN_ODD, Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from tracker.domain.photos import scaled_jpeg
from tracker.errors import InvalidInput

__all__ = [
    "LABEL_KEYS",
    "AuditRow",
    "CaseFileData",
    "ChainRow",
    "ScanRow",
    "content_hash",
    "map_extent",
    "render_case_file",
]

# The headings and captions a case file needs, each already translated by the caller.
# "page" is a template with the placeholders {page} and {pages}
# ("Page {page} of {pages}", "第 {page} 页，共 {pages} 页").
LABEL_KEYS: frozenset[str] = frozenset({
    "map",             # section heading: the map
    "chain",           # section heading: custody chain
    "scans",           # section heading: evidence scans
    "audit",           # section heading: audit trail
    "hash",            # footer: what the hash is ("Content hash (SHA-256)")
    "generated",       # footer: "Generated"
    "page",            # footer template with {page} and {pages}
    "time",            # scans column: when scanned
    "place",           # scans column: latitude, longitude
    "accuracy",        # scans column: accuracy in metres
    "verdict",         # scans column
    "found",           # scans column: territory the scan fell in
    "photo",           # scans column
    "note",            # before an inspector's note on a scan ("Note")
    "photos",          # section heading: the evidence photos
    "when",            # chain and audit column
    "what",            # chain and audit column
    "who",             # audit column
    "expected",        # map legend: the expected (authorised) territories
    "found_area",      # map legend: the territory where the goods were found
    "scan",            # map legend: a scan with its accuracy circle
    "left_territory",  # marker on the chain step where the goods left their territory
    "none",            # shown in an empty section
})
LANGUAGES = ("en", "zh")
AREA_ROLES = ("expected", "found")
HASH_VERSION = "case-file/2"  # changes whenever the canonical serialisation does

LATIN_FONT, LATIN_BOLD, CJK_FONT = "Helvetica", "Helvetica-Bold", "STSong-Light"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FOOTER_SPACE = 14 * mm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN

MAP_MIN_HEIGHT, MAP_MAX_HEIGHT = 55 * mm, 115 * mm
MAP_MARGIN = 0.06  # of the extent, on each side
MAP_MIN_SPAN_DEG = 0.02  # a lone scan still gets about two kilometres of map
LEGEND_HEIGHT = 14
SIMPLIFY_PT = 0.5  # outline detail finer than this, at the drawn scale, is dropped
DOT_RADIUS_PT = 3.0
METRES_PER_DEGREE = 111_320.0
MIN_COS_LAT = 0.1  # near the poles the scaled longitude would collapse

GREEN, RED, BLUE = (colors.Color(0.13, 0.55, 0.22), colors.Color(0.82, 0.12, 0.12),
                    colors.Color(0.10, 0.35, 0.85))
AREA_COLOURS = {"expected": GREEN, "found": RED}
GRID_GREY, TEXT_GREY = colors.Color(0.82, 0.82, 0.82), colors.Color(0.35, 0.35, 0.35)
LEFT_BACKGROUND = colors.Color(0.99, 0.91, 0.90)
LEFT_MARK = "\u25b2 "  # ▲: in the CID font's character set, unlike Helvetica's
THUMBNAIL_PX, THUMBNAIL_PT = 240, 16 * mm
# A photo in its own section: as wide as the text, at most this tall, and no more pixels
# than print at about 200 dpi there (a phone's photo would swell the file).
PHOTO_MAX_HEIGHT = 110 * mm
PHOTO_PX = 1400
HEADING_ROOM = 40 * mm


@dataclass(frozen=True)
class ScanRow:
    """One evidence scan: where and when it was read, how sure the position is, and what
    the inspector added: a note and a photo."""

    scanned_at: str
    latitude: float
    longitude: float
    accuracy_m: float | None
    verdict: str
    found: str
    photo_jpeg: bytes | None = None
    note: str | None = None


@dataclass(frozen=True)
class ChainRow:
    """One step of the serial's custody; ``left_territory`` marks where the goods left."""

    when: str
    what: str
    left_territory: bool = False


@dataclass(frozen=True)
class AuditRow:
    when: str
    who: str
    what: str


@dataclass(frozen=True)
class CaseFileData:
    """Everything a case file shows, every text already translated into ``language``."""

    violation_id: int
    title: str
    facts: list[tuple[str, str]]
    map_areas: list[tuple[str, BaseGeometry]]  # ("expected" | "found", lon/lat polygons)
    scans: list[ScanRow]
    chain: list[ChainRow]
    audit: list[AuditRow]
    labels: Mapping[str, str]  # keys: LABEL_KEYS
    generated_at: str
    language: str  # "en" | "zh"


# --- content hash ---------------------------------------------------------------------


def _canonical(data: CaseFileData) -> dict[str, Any]:
    # Headings, language and generated_at are left out: they frame the facts, and the
    # same file generated twice must carry the same hash.
    return {
        "version": HASH_VERSION,
        "violation_id": data.violation_id,
        "title": data.title,
        "facts": [[label, value] for label, value in data.facts],
        "map_areas": [[role, shapely.to_wkb(geometry, hex=True, output_dimension=2,
                                            byte_order=1, include_srid=False)]
                      for role, geometry in data.map_areas],
        "scans": [[s.scanned_at, repr(float(s.latitude)), repr(float(s.longitude)),
                   None if s.accuracy_m is None else repr(float(s.accuracy_m)),
                   s.verdict, s.found,
                   None if s.photo_jpeg is None else hashlib.sha256(s.photo_jpeg).hexdigest(),
                   s.note]
                  for s in data.scans],
        "chain": [[c.when, c.what, bool(c.left_territory)] for c in data.chain],
        "audit": [[a.when, a.who, a.what] for a in data.audit],
    }


def content_hash(data: CaseFileData) -> str:
    """SHA-256 (hex) of a canonical JSON serialisation of what the file shows: title,
    facts, map geometry (WKB), scans (a photo by its own SHA-256) with their notes, chain
    and audit trail.
    Equal data gives an equal hash whatever the PDF bytes; ``generated_at``, the headings
    in ``labels`` and ``language`` do not enter it."""
    text = json.dumps(_canonical(data), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- text -----------------------------------------------------------------------------


@functools.cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _latin(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _runs(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_latin, chunk) runs, each to be set in one font."""
    runs: list[tuple[bool, str]] = []
    for char in text:
        latin = _latin(char) or char.isspace()
        if runs and runs[-1][0] == latin:
            runs[-1] = (latin, runs[-1][1] + char)
        else:
            runs.append((latin, char))
    return runs


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(text: str) -> str:
    """Paragraph markup for text, CJK runs switched to the CID font; newlines kept."""
    return "".join(_escape(chunk) if latin else f'<font name="{CJK_FONT}">{_escape(chunk)}</font>'
                   for latin, chunk in _runs(text)).replace("\n", "<br/>")


def _draw_text(canvas: Canvas, x: float, y: float, text: str, size: float,
               *, right: bool = False, font: str = LATIN_FONT) -> None:
    """Draw one line of mixed Latin and CJK text on the canvas."""
    runs = [(font if latin else CJK_FONT, chunk) for latin, chunk in _runs(text)]
    if right:
        x -= sum(pdfmetrics.stringWidth(chunk, name, size) for name, chunk in runs)
    for name, chunk in runs:
        canvas.setFont(name, size)
        canvas.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, name, size)


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    label: ParagraphStyle
    header: ParagraphStyle
    left: ParagraphStyle

    @classmethod
    def for_language(cls, language: str) -> _Styles:
        # CJK wrapping breaks between any two characters: Chinese has no spaces to
        # break at. English keeps breaking at spaces so serials stay whole.
        wrap = "CJK" if language == "zh" else None
        body = ParagraphStyle("body", fontName=LATIN_FONT, fontSize=8.5, leading=11.5,
                              alignment=TA_LEFT, wordWrap=wrap)
        return cls(
            title=ParagraphStyle("title", parent=body, fontName=LATIN_BOLD, fontSize=16,
                                 leading=21, spaceAfter=4 * mm),
            heading=ParagraphStyle("heading", parent=body, fontName=LATIN_BOLD, fontSize=12,
                                   leading=16, spaceBefore=5 * mm, spaceAfter=2 * mm),
            body=body,
            label=ParagraphStyle("label", parent=body, textColor=TEXT_GREY),
            header=ParagraphStyle("header", parent=body, fontName=LATIN_BOLD, fontSize=8),
            left=ParagraphStyle("left", parent=body, textColor=RED, fontName=LATIN_BOLD),
        )


# --- map ------------------------------------------------------------------------------


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, MultiPolygon):
        return [p for p in geometry.geoms if not p.is_empty]
    if hasattr(geometry, "geoms"):  # a GeometryCollection from make_valid
        return [p for g in geometry.geoms for p in _polygons(g)]
    return []


def _circular_mean(longitudes: Iterable[float], weights: Iterable[float]) -> float | None:
    x = y = 0.0
    for lon, weight in zip(longitudes, weights, strict=True):
        x += weight * math.cos(math.radians(lon))
        y += weight * math.sin(math.radians(lon))
    if abs(x) < 1e-12 and abs(y) < 1e-12:
        return None
    return math.degrees(math.atan2(y, x))


def _near(lon: float, reference: float) -> float:
    """The longitude shifted by a multiple of 360° to within 180° of the reference."""
    return lon + 360.0 * round((reference - lon) / 360.0)


@dataclass(frozen=True)
class _Layout:
    """The areas and scans with longitudes made continuous around one reference."""

    areas: list[tuple[str, Polygon]]
    points: list[tuple[float, float, float]]  # lon, lat, accuracy radius in degrees

    @classmethod
    def of(cls, map_areas: Sequence[tuple[str, BaseGeometry]],
           scans: Sequence[ScanRow]) -> _Layout:
        parts = [(role, p) for role, geometry in map_areas for p in _polygons(geometry)]
        if scans:
            reference = _circular_mean((s.longitude for s in scans), [1.0] * len(scans))
        else:
            reference = _circular_mean((p.centroid.x for _, p in parts),
                                       (p.area for _, p in parts))
        reference = reference or 0.0
        areas = []
        for role, part in parts:
            shift = _near(part.centroid.x, reference) - part.centroid.x
            areas.append((role, part if shift == 0 else
                          shapely.transform(part, lambda xy, s=shift: xy + (s, 0.0))))
        points = [(_near(s.longitude, reference), s.latitude,
                   (s.accuracy_m or 0.0) / METRES_PER_DEGREE) for s in scans]
        return cls(areas, points)

    def extent(self) -> tuple[float, float, float, float]:
        """West, south, east, north in degrees (east may exceed 180), without margin."""
        boxes = [p.bounds for _, p in self.areas]
        lats = [lat for _, lat, _ in self.points] or [b[1] for b in boxes] + [b[3] for b in boxes]
        cos_lat = _cos(sum(lats) / len(lats)) if lats else 1.0
        boxes += [(lon - r / cos_lat, lat - r, lon + r / cos_lat, lat + r)
                  for lon, lat, r in self.points]
        if not boxes:
            return (-1.0, -1.0, 1.0, 1.0)
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))


def _cos(lat: float) -> float:
    return max(math.cos(math.radians(lat)), MIN_COS_LAT)


def map_extent(map_areas: Sequence[tuple[str, BaseGeometry]],
               scans: Sequence[ScanRow]) -> tuple[float, float, float, float]:
    """The longitude/latitude box the map is fitted to (before its margin): west, south,
    east, north. Parts of a territory on the far side of the antimeridian are counted
    shifted by ±360° next to the scans (or, with no scans, next to most of the area)."""
    return _Layout.of(map_areas, scans).extent()


class _MapFlowable(Flowable):
    """The map box and its legend, drawn straight onto the canvas as paths."""

    def __init__(self, data: CaseFileData, width: float) -> None:
        super().__init__()
        self.layout = _Layout.of(data.map_areas, data.scans)
        self.labels = data.labels
        west, south, east, north = self.layout.extent()
        self.cos_lat = _cos((south + north) / 2)
        span_x = max((east - west) * self.cos_lat, MAP_MIN_SPAN_DEG)
        span_y = max(north - south, MAP_MIN_SPAN_DEG)
        self.span_x, self.span_y = span_x * (1 + 2 * MAP_MARGIN), span_y * (1 + 2 * MAP_MARGIN)
        self.centre = ((west + east) / 2 * self.cos_lat, (south + north) / 2)
        self.map_width = width
        self.map_height = min(max(width * self.span_y / self.span_x, MAP_MIN_HEIGHT),
                              MAP_MAX_HEIGHT)
        self.scale = min(width / self.span_x, self.map_height / self.span_y)  # pt per unit
        self.width, self.height = width, self.map_height + LEGEND_HEIGHT

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.map_width / 2 + (lon * self.cos_lat - self.centre[0]) * self.scale,
                LEGEND_HEIGHT + self.map_height / 2 + (lat - self.centre[1]) * self.scale)

    def _project(self, geometry: Polygon) -> BaseGeometry:
        (x0, y0), s = self._xy(0.0, 0.0), self.scale
        projected = shapely.transform(
            geometry, lambda xy: xy * (self.cos_lat * s, s) + (x0, y0))
        return shapely.simplify(projected, SIMPLIFY_PT, preserve_topology=True)

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setStrokeColor(GRID_GREY)
        canvas.setLineWidth(0.6)
        canvas.rect(0, LEGEND_HEIGHT, self.map_width, self.map_height)
        clip = canvas.beginPath()
        clip.rect(0, LEGEND_HEIGHT, self.map_width, self.map_height)
        canvas.clipPath(clip, stroke=0, fill=0)
        self._draw_grid(canvas)
        for wanted in AREA_ROLES:
            for role, polygon in self.layout.areas:
                if role == wanted:
                    self._draw_area(canvas, polygon, AREA_COLOURS[role])
        for lon, lat, radius in self.layout.points:
            self._draw_scan(canvas, *self._xy(lon, lat), radius * self.scale)
        canvas.restoreState()
        self._draw_legend(canvas)

    def _draw_grid(self, canvas: Canvas) -> None:
        """Faint parallels and meridians with their degrees, so the reader can place it."""
        half_w = self.map_width / 2 / self.scale / self.cos_lat
        half_h = self.map_height / 2 / self.scale
        lon_c, lat_c = self.centre[0] / self.cos_lat, self.centre[1]
        step = _grid_step(max(2 * half_w, 2 * half_h))
        canvas.setLineWidth(0.3)
        canvas.setFillColor(TEXT_GREY)
        lon = math.ceil((lon_c - half_w) / step) * step
        while lon <= lon_c + half_w:
            x, _ = self._xy(lon, 0.0)
            canvas.line(x, LEGEND_HEIGHT, x, LEGEND_HEIGHT + self.map_height)
            _draw_text(canvas, x + 1.5, LEGEND_HEIGHT + 2, _degrees(lon, "E", "W", step), 5.5)
            lon += step
        lat = math.ceil((lat_c - half_h) / step) * step
        while lat <= lat_c + half_h:
            _, y = self._xy(0.0, lat)
            canvas.line(0, y, self.map_width, y)
            if y > LEGEND_HEIGHT + 9:  # clear of the longitudes along the bottom
                _draw_text(canvas, 2, y + 1.5, _degrees(lat, "N", "S", step), 5.5)
            lat += step

    def _draw_area(self, canvas: Canvas, polygon: Polygon, colour: colors.Color) -> None:
        for shape in _polygons(self._project(polygon)):
            path = canvas.beginPath()
            for ring in (shape.exterior, *shape.interiors):
                coords = list(ring.coords)
                path.moveTo(*coords[0])
                for x, y in coords[1:]:
                    path.lineTo(x, y)
                path.close()
            canvas.setFillColor(colour, alpha=0.28)
            canvas.setStrokeColor(colour)
            canvas.setLineWidth(0.9)
            canvas.drawPath(path, stroke=1, fill=1, fillMode=FILL_EVEN_ODD)

    @staticmethod
    def _draw_scan(canvas: Canvas, x: float, y: float, radius: float) -> None:
        if radius > DOT_RADIUS_PT:
            canvas.setFillColor(BLUE, alpha=0.15)
            canvas.setStrokeColor(BLUE)
            canvas.setLineWidth(0.6)
            canvas.circle(x, y, radius, stroke=1, fill=1)
        canvas.setFillColor(BLUE, alpha=1)
        canvas.setStrokeColor(colors.white)
        canvas.setLineWidth(0.8)
        canvas.circle(x, y, DOT_RADIUS_PT, stroke=1, fill=1)

    def _draw_legend(self, canvas: Canvas) -> None:
        canvas.saveState()
        x, y = 0.0, 3.0
        for colour, key in ((GREEN, "expected"), (RED, "found_area")):
            canvas.setFillColor(colour, alpha=0.28)
            canvas.setStrokeColor(colour)
            canvas.rect(x, y, 12, 7, stroke=1, fill=1)
            canvas.setFillColor(colors.black, alpha=1)
            _draw_text(canvas, x + 16, y + 1, self.labels[key], 7.5)
            x += 16 + _text_width(self.labels[key], 7.5) + 14
        self._draw_scan(canvas, x + 6, y + 3.5, 0)
        canvas.setFillColor(colors.black)
        _draw_text(canvas, x + 16, y + 1, self.labels["scan"], 7.5)
        self._draw_scale_bar(canvas, y)
        canvas.restoreState()

    def _draw_scale_bar(self, canvas: Canvas, y: float) -> None:
        metres_per_pt = METRES_PER_DEGREE / self.scale
        length_m = _nice(metres_per_pt * self.map_width / 5)
        length_pt = length_m / metres_per_pt
        right = self.map_width
        canvas.setStrokeColor(colors.black)
        canvas.setLineWidth(0.8)
        canvas.line(right - length_pt, y + 2, right, y + 2)
        canvas.line(right - length_pt, y, right - length_pt, y + 5)
        canvas.line(right, y, right, y + 5)
        text = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
        canvas.setFillColor(colors.black)
        _draw_text(canvas, right - length_pt - 4, y + 1, text, 7, right=True)


def _text_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(chunk, LATIN_FONT if latin else CJK_FONT, size)
               for latin, chunk in _runs(text))


def _nice(value: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten not above value."""
    power = 10 ** math.floor(math.log10(value))
    return max(m * power for m in (1, 2, 5) if m * power <= value)


def _grid_step(span_deg: float) -> float:
    return _nice(span_deg / 4)


def _degrees(value: float, positive: str, negative: str, step: float) -> str:
    value = (value + 180) % 360 - 180 if positive == "E" else value
    decimals = max(0, -math.floor(math.log10(step)))
    letter = positive if value > 0 else negative if value < 0 else ""
    return f"{abs(value):.{decimals}f}°{letter}"


# --- tables ---------------------------------------------------------------------------


def _table(rows: list[list[Any]], widths: list[float],
           extra: Sequence[tuple[Any, ...]] = (), header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID_GREY),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
                  ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black)]
    table.setStyle(TableStyle(style + list(extra)))
    return table


def _thumbnail(jpeg: bytes) -> Image | None:
    """The photo scaled down to a thumbnail, so a phone's photo does not swell the file."""
    try:
        with PILImage.open(io.BytesIO(jpeg)) as original:
            photo = original.convert("RGB")
        photo.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        photo.save(out, format="JPEG", quality=80)
        width, height = photo.size
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None  # an unreadable photo must not keep the rest of the case from print
    ratio = THUMBNAIL_PT / max(width, height)
    out.seek(0)
    return Image(out, width=width * ratio, height=height * ratio)


def _facts_table(data: CaseFileData, styles: _Styles) -> Table:
    rows = [[Paragraph(_markup(label), styles.label), Paragraph(_markup(value), styles.body)]
            for label, value in data.facts]
    return _table(rows, [48 * mm, TEXT_WIDTH - 48 * mm], header=False)


def _chain_table(data: CaseFileData, styles: _Styles) -> Table:
    labels = data.labels
    rows: list[list[Any]] = [[Paragraph(_markup(labels["when"]), styles.header),
                              Paragraph(_markup(labels["what"]), styles.header)]]
    extra: list[tuple[Any, ...]] = []
    for i, step in enumerate(data.chain, start=1):
        if step.left_territory:
            text = f"{_markup(step.what)}<br/>{_markup(LEFT_MARK + labels['left_territory'])}"
            rows.append([Paragraph(_markup(step.when), styles.left), Paragraph(text, styles.left)])
            extra += [("BACKGROUND", (0, i), (-1, i), LEFT_BACKGROUND),
                      ("LINEBEFORE", (0, i), (0, i), 3, RED)]
        else:
            rows.append([Paragraph(_markup(step.when), styles.body),
                         Paragraph(_markup(step.what), styles.body)])
    return _table(rows, [40 * mm, TEXT_WIDTH - 40 * mm], extra)


def _scans_table(data: CaseFileData, styles: _Styles) -> Table:
    labels = data.labels
    keys = ("time", "place", "accuracy", "verdict", "found", "photo")
    rows: list[list[Any]] = [[Paragraph(_markup(labels[k]), styles.header) for k in keys]]
    extra: list[tuple[Any, ...]] = [("ALIGN", (2, 1), (2, -1), "RIGHT")]
    for scan in data.scans:
        accuracy = "—" if scan.accuracy_m is None else f"{scan.accuracy_m:,.0f} m"
        photo = _thumbnail(scan.photo_jpeg) if scan.photo_jpeg else None
        rows.append([Paragraph(_markup(scan.scanned_at), styles.body),
                     Paragraph(f"{scan.latitude:.5f}, {scan.longitude:.5f}", styles.body),
                     Paragraph(accuracy, styles.body),
                     Paragraph(_markup(scan.verdict), styles.body),
                     Paragraph(_markup(scan.found), styles.body),
                     photo if photo is not None else ""])
        if scan.note:
            # The note under its scan, across the row, without the line between them.
            i = len(rows)
            rows.append([Paragraph(f"{_markup(labels['note'])}: {_markup(scan.note)}",
                                   styles.body), "", "", "", "", ""])
            extra += [("SPAN", (0, i), (-1, i)), ("LINEBELOW", (0, i - 1), (-1, i - 1), 0,
                                                   colors.white),
                      ("TOPPADDING", (0, i), (-1, i), 0)]
    widths = [34 * mm, 36 * mm, 18 * mm, 26 * mm]
    widths += [TEXT_WIDTH - sum(widths) - 20 * mm, 20 * mm]
    return _table(rows, widths, extra)


def _photo_flowables(data: CaseFileData, styles: _Styles) -> list[Flowable]:
    """Each evidence photo as large as the page allows, under its scan's time and note."""
    flowables: list[Flowable] = []
    for scan in data.scans:
        jpeg = scaled_jpeg(scan.photo_jpeg, PHOTO_PX) if scan.photo_jpeg else None
        if jpeg is None:
            continue
        with PILImage.open(io.BytesIO(jpeg)) as decoded:
            width, height = decoded.size
        ratio = min(TEXT_WIDTH / width, PHOTO_MAX_HEIGHT / height)
        caption = scan.scanned_at + (f" · {scan.note}" if scan.note else "")
        flowables.append(KeepTogether([
            Paragraph(_markup(caption), styles.label),
            Image(io.BytesIO(jpeg), width=width * ratio, height=height * ratio, hAlign="LEFT"),
            Spacer(1, 4 * mm)]))
    return flowables


def _audit_table(data: CaseFileData, styles: _Styles) -> Table:
    labels = data.labels
    rows: list[list[Any]] = [[Paragraph(_markup(labels[k]), styles.header)
                              for k in ("when", "who", "what")]]
    rows += [[Paragraph(_markup(a.when), styles.body), Paragraph(_markup(a.who), styles.body),
              Paragraph(_markup(a.what), styles.body)] for a in data.audit]
    return _table(rows, [34 * mm, 36 * mm, TEXT_WIDTH - 70 * mm])


# --- document -------------------------------------------------------------------------


class _FooterCanvas(Canvas):
    """Holds every page back until the end, so each footer can say "page N of M"."""

    def __init__(self, *args: Any, footer: tuple[str, str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        page_template, generated, digest = self._footer
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.saveState()
            self.setStrokeColor(GRID_GREY)
            self.setLineWidth(0.5)
            top = FOOTER_SPACE - 3 * mm
            self.line(MARGIN, top, PAGE_WIDTH - MARGIN, top)
            self.setFillColor(TEXT_GREY)
            _draw_text(self, MARGIN, top - 9, digest, 7)
            _draw_text(self, MARGIN, top - 18, generated, 7)
            page = page_template.format(page=number, pages=len(self._pages))
            _draw_text(self, PAGE_WIDTH - MARGIN, top - 18, page, 8, right=True,
                       font=LATIN_BOLD)
            self.restoreState()
            super().showPage()
        super().save()


def _check(data: CaseFileData) -> None:
    if data.language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}, "
                           f"not {data.language!r}")
    missing = sorted(LABEL_KEYS - set(data.labels))
    if missing:
        raise InvalidInput(f"labels lack {', '.join(missing)}")
    for role, _ in data.map_areas:
        if role not in AREA_ROLES:
            raise InvalidInput(f"a map area's role must be expected or found, not {role!r}")
    try:
        data.labels["page"].format(page=1, pages=1)
    except (KeyError, IndexError, ValueError):
        raise InvalidInput("the page label may use only {page} and {pages}, not "
                           f"{data.labels['page']!r}") from None


def render_case_file(data: CaseFileData) -> bytes:
    """The case file as PDF bytes: title and facts, map, custody chain, evidence scans and
    audit trail, with "page N of M", the generated time and :func:`content_hash` in the
    footer of every page. Raises ``InvalidInput`` for a missing label, an unknown
    language or map role."""
    _check(data)
    _register_fonts()
    styles = _Styles.for_language(data.language)
    labels = data.labels
    digest = content_hash(data)

    def heading(key: str, count: int | None = None) -> Paragraph:
        text = _markup(labels[key]) + ("" if count is None else f" ({count})")
        return Paragraph(text, styles.heading)

    def none() -> Paragraph:
        return Paragraph(_markup(labels["none"]), styles.label)

    story: list[Flowable] = [Paragraph(_markup(data.title), styles.title),
                             _facts_table(data, styles)]
    story.append(KeepTogether([heading("map"), _MapFlowable(data, TEXT_WIDTH)]))
    for key, rows, table in (("chain", data.chain, _chain_table),
                             ("scans", data.scans, _scans_table),
                             ("audit", data.audit, _audit_table)):
        # A heading with no room for a few rows under it starts the next page instead;
        # keepWithNext would move a long table whole.
        story += [CondPageBreak(HEADING_ROOM), heading(key, len(rows))]
        story.append(table(data, styles) if rows else none())
        if key == "scans":
            photos = _photo_flowables(data, styles)
            if photos:
                story += [CondPageBreak(HEADING_ROOM), heading("photos", len(photos)), *photos]
    story.append(Spacer(1, 2 * mm))

    out = io.BytesIO()
    document = BaseDocTemplate(
        out, pagesize=A4, title=data.title, subject=f"SHA-256 {digest}",
        lang="zh-CN" if data.language == "zh" else "en")
    # No frame padding: tables and the map are exactly TEXT_WIDTH wide.
    frame = Frame(MARGIN, MARGIN + FOOTER_SPACE / 2, TEXT_WIDTH,
                  PAGE_HEIGHT - 2 * MARGIN - FOOTER_SPACE / 2,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    document.addPageTemplates([PageTemplate("page", frames=[frame])])
    footer = (labels["page"], f"{labels['generated']}: {data.generated_at}",
              f"{labels['hash']}: {digest}")
    document.build(story, canvasmaker=functools.partial(_FooterCanvas, footer=footer))
    return out.getvalue()
