"""Labels: the QR codes decode to exactly the URIs given, the serials are printed
readably, layouts that cannot print are refused and big runs stream."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import numpy as np
import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from PIL import Image

from tracker.domain.labels import (
    ERROR_CORRECTION,
    LabelLayout,
    qr_modules,
    qr_png,
    render_label_sheets,
)
from tracker.domain.serials import generate_serials
from tracker.errors import InvalidInput

URI = "https://id.example.com/01/09506000134352/10/LOT%2F7/21/R76QKTXBC87KXVV?17=271231"
RENDER_DPI = 200


def make_labels(count: int, seed: int = 7) -> list[tuple[str, str]]:
    serials = generate_serials(count, random.Random(seed).randbytes)
    return [(f"https://id.example.com/01/09506000134352/10/LOT%2F7/21/{s}?17=271231", s)
            for s in serials]


def render(labels: list[tuple[str, str]], **kwargs: object) -> tuple[int, bytes]:
    out = io.BytesIO()
    count = render_label_sheets(iter(labels), out, **kwargs)  # type: ignore[arg-type]
    return count, out.getvalue()


def decode(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return sorted(barcode.text for barcode in found)


def page_contents(pdf_bytes: bytes) -> list[tuple[list[str], list[str]]]:
    """(decoded QR texts, sorted; words of the page's text) for each page."""
    document = pdfium.PdfDocument(pdf_bytes)
    pages = []
    for page in document:
        image = page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
        words = page.get_textpage().get_text_range().split()
        pages.append((decode(image), words))
    return pages


# --- qr_png ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", sorted(ERROR_CORRECTION))
@pytest.mark.parametrize("data", [
    URI,
    "https://id.example.com/01/09506000134352/21/23456789ABCDEFD",
    "HELLO 123",
])
def test_qr_png_decodes_to_the_exact_data(data: str, level: str) -> None:
    image = Image.open(io.BytesIO(qr_png(data, error_correction=level)))

    assert decode(image.convert("L")) == [data]


def test_qr_png_is_box_size_pixels_per_module_with_a_four_module_quiet_zone() -> None:
    modules = qr_modules(URI).shape[0]

    image = Image.open(io.BytesIO(qr_png(URI, box_size=3)))

    assert image.format == "PNG"
    assert image.size == ((modules + 8) * 3, (modules + 8) * 3)
    pixels = np.array(image.convert("L"))
    quiet = np.ones(pixels.shape, dtype=bool)
    quiet[12:-12, 12:-12] = False
    assert (pixels[quiet] == 255).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"border": 2}, "border must be at least 4 modules (the QR quiet zone), not 2"),
    ({"box_size": 0}, "box_size must be a whole number of pixels from 1, not 0"),
    ({"error_correction": "X"}, "error_correction must be one of L, M, Q, H, not 'X'"),
])
def test_qr_png_refuses_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        qr_png(URI, **kwargs)  # type: ignore[arg-type]

    assert str(caught.value) == message


def test_qr_png_refuses_data_too_long_for_any_qr_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        qr_png("A" * 5000, error_correction="H")

    assert str(caught.value) == "5000 characters are too many for one QR code"


# --- qr_modules --------------------------------------------------------------------------


def qrcode_reference(data: str, level: str) -> np.ndarray:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION[level], border=0)
    qr.add_data(data)
    qr.make(fit=True)
    return np.array(qr.modules, dtype=bool)


@pytest.mark.parametrize("level", sorted(ERROR_CORRECTION))
@pytest.mark.parametrize("length", [1, 10, 40, 80, 120, 200, 400])
def test_qr_modules_is_the_symbol_qrcode_makes(length: int, level: str) -> None:
    # Many inputs per size so every mask pattern gets chosen somewhere; sizes run from
    # version 1 past version 7, where version information appears.
    rng = random.Random(length)
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefgh%/?=.:-"
    for _ in range(12):
        data = "".join(rng.choice(alphabet) for _ in range(length))

        assert np.array_equal(qr_modules(data, error_correction=level),
                              qrcode_reference(data, level)), data


# --- LabelLayout -------------------------------------------------------------------------


def test_default_layout_is_4_by_6_on_a4() -> None:
    layout = LabelLayout()

    assert (layout.page_width_mm, layout.page_height_mm) == (210.0, 297.0)
    assert (layout.columns, layout.rows, layout.labels_per_page) == (4, 6, 24)
    assert round(layout.cell_width_mm, 3) == 45.25
    assert round(layout.cell_height_mm, 3) == 43.0
    assert round(layout.qr_size_mm, 3) == 37.356


def test_from_options_overrides_only_what_it_is_given() -> None:
    assert LabelLayout.from_options(columns=3, rows=8) == LabelLayout(columns=3, rows=8)


@pytest.mark.parametrize(("options", "message"), [
    ({"columns": 0}, "columns must be a whole number from 1 to 40, not 0"),
    ({"rows": 41}, "rows must be a whole number from 1 to 40, not 41"),
    ({"columns": "4"}, "columns must be a whole number from 1 to 40, not '4'"),
    ({"columns": True}, "columns must be a whole number from 1 to 40, not True"),
    ({"margin_left_mm": -1}, "margin_left_mm must be a number from 0 to 500, not -1"),
    ({"page_width_mm": float("nan")}, "page_width_mm must be a number from 50 to 2000, not nan"),
    ({"text_size_pt": 4}, "text_size_pt must be a number from 6 to 24, not 4"),
    ({"error_correction": "m"}, "error_correction must be one of L, M, Q, H, not 'm'"),
    ({"margin_top_mm": 4},
     "margin_top_mm must be at least 6 mm to hold the header and footer, not 4; "
     "or set header_footer off"),
    ({"margin_left_mm": 120, "margin_right_mm": 120},
     "a 4 x 6 grid does not fit on a 210 x 297 mm page with these margins and gaps"),
    ({"rows": 30},
     "a 4 x 30 grid on a 210 x 297 mm page leaves labels of 45.2 x 6.2 mm and QR codes of "
     "0.6 mm; scanners need at least 10 mm"),
    ({"columns": 20},
     "a 20 x 6 grid on a 210 x 297 mm page leaves labels of 6.7 x 43.0 mm and QR codes of "
     "6.7 mm; scanners need at least 10 mm"),
    ({"columns": 8},
     "a 15-character serial at 10 pt is 31.7 mm wide but a 8 x 6 grid leaves labels "
     "21.1 mm wide; use a smaller text_size_pt or fewer columns"),
    ({"colums": 3},
     "unknown label layout option 'colums'; known: column_gap_mm, columns, error_correction, "
     "header_footer, margin_bottom_mm, margin_left_mm, margin_right_mm, margin_top_mm, "
     "page_height_mm, page_width_mm, row_gap_mm, rows, text_size_pt"),
])
def test_layout_refuses_what_cannot_print(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        LabelLayout.from_options(**options)

    assert str(caught.value) == message
    assert caught.value.code == "invalid_input"


def test_small_margins_are_allowed_without_header_and_footer() -> None:
    layout = LabelLayout(margin_top_mm=0, margin_bottom_mm=0, header_footer=False)

    assert layout.margin_top_mm == 0


# --- render_label_sheets: what is on the page --------------------------------------------


@pytest.mark.parametrize(("layout", "count", "pages"), [
    pytest.param(LabelLayout(), 24, 1, id="default-4x6-full-page"),
    pytest.param(LabelLayout(columns=3, rows=8), 48, 2, id="3x8-two-full-pages"),
    pytest.param(LabelLayout(), 31, 2, id="default-partial-last-page"),
    pytest.param(LabelLayout(columns=3, rows=8, error_correction="H"), 30, 2,
                 id="3x8-level-H-partial-last-page"),
    pytest.param(LabelLayout(columns=5, rows=13, margin_top_mm=10.7, margin_bottom_mm=10.7,
                             margin_left_mm=4.7, margin_right_mm=4.7, column_gap_mm=2.5,
                             row_gap_mm=0, text_size_pt=7, header_footer=False), 70, 2,
                 id="65-up-label-stock"),
])
def test_every_qr_code_decodes_to_its_uri_with_its_serial_beneath(
        layout: LabelLayout, count: int, pages: int) -> None:
    labels = make_labels(count)

    returned, pdf = render(labels, layout=layout)

    assert returned == count
    contents = page_contents(pdf)
    assert len(contents) == pages
    per_page = layout.labels_per_page
    for number, (decoded, words) in enumerate(contents, start=1):
        on_page = labels[(number - 1) * per_page:number * per_page]
        assert decoded == sorted(uri for uri, _ in on_page)
        furniture = ["Page", str(number)] if layout.header_footer else []
        assert words == furniture + [serial for _, serial in on_page]


def test_each_page_has_the_title_and_its_number() -> None:
    _, pdf = render(make_labels(25), title="Aspirin 500 · batch 12 (EG)")

    assert [words[:6] for _, words in page_contents(pdf)] == [
        ["Aspirin", "500", "·", "batch", "12", "(EG)"],
        ["Aspirin", "500", "·", "batch", "12", "(EG)"],
    ]
    assert [words[6:8] for _, words in page_contents(pdf)] == [["Page", "1"], ["Page", "2"]]


def test_a_title_too_long_for_the_page_is_cut_short() -> None:
    _, pdf = render(make_labels(1), title="X" * 200)

    header = page_contents(pdf)[0][1][0]
    assert header == "X" * 109 + "..."  # 190 mm of 8 pt Courier holds 112 characters


def test_text_too_wide_for_its_label_is_shrunk_not_cut() -> None:
    text = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # 32 characters, wider than a label

    _, pdf = render([(URI, text)])

    assert page_contents(pdf)[0] == ([URI], ["Page", "1", text])


def test_no_labels_gives_one_page_with_only_the_header_and_footer() -> None:
    calls: list[int] = []

    returned, pdf = render([], progress=calls.append, title="empty")

    assert returned == 0
    assert calls == [0]
    assert page_contents(pdf) == [([], ["empty", "Page", "1"])]


def test_a_uri_too_dense_for_the_layout_is_refused() -> None:
    layout = LabelLayout(columns=3, rows=16, text_size_pt=6)  # QR codes of 10.9 mm

    with pytest.raises(InvalidInput) as caught:
        render([(URI, "R76QKTXBC87KXVV")], layout=layout)

    assert str(caught.value) == (
        f"the QR code of {URI!r} is 37 modules wide, so in a 10.9 mm square each module is "
        "0.24 mm; print needs at least 0.25 mm, so use fewer columns or rows, or a lower "
        "error_correction"
    )


# --- render_label_sheets: the file -------------------------------------------------------


class WriteOnly:
    """An output that cannot seek or tell, like a pipe or an HTTP response body."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)


def test_cross_reference_offsets_point_at_their_objects() -> None:
    # pdfium quietly rebuilds a broken xref table, so rendering alone would not notice.
    out = WriteOnly()
    render_label_sheets(iter(make_labels(30)), out, title="t")  # type: ignore[arg-type]
    pdf = b"".join(out.chunks)

    assert pdf.endswith(b"%%EOF\n")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = pdf[startxref:].split(b"trailer")[0].split(b"\n")
    assert table[0] == b"xref"
    size = int(table[1].split()[1])
    entries = table[3:3 + size - 1]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)
    assert b"/Size %d " % size in pdf
    assert len(pdfium.PdfDocument(pdf)) == 2


def test_labels_are_drawn_as_vectors_not_images() -> None:
    _, pdf = render(make_labels(24))

    document = pdfium.PdfDocument(pdf)
    kinds = {obj.type for obj in document[0].get_objects()}
    assert kinds == {pdfium.raw.FPDF_PAGEOBJ_PATH, pdfium.raw.FPDF_PAGEOBJ_TEXT}


def test_labels_are_read_a_page_at_a_time() -> None:
    consumed = 0
    consumed_at_progress: list[tuple[int, int]] = []

    def labels() -> Iterator[tuple[str, str]]:
        nonlocal consumed
        for label in make_labels(2000):
            consumed += 1
            yield label

    out = WriteOnly()
    written_at_progress: list[int] = []

    def progress(done: int) -> None:
        consumed_at_progress.append((done, consumed))
        written_at_progress.append(len(out.chunks))

    returned = render_label_sheets(labels(), out, progress=progress)  # type: ignore[arg-type]

    assert returned == 2000
    assert consumed_at_progress[0] == (24, 24)
    assert consumed_at_progress == [(n, n) for n in [*range(24, 2000, 24), 2000]]
    # Pages leave as soon as they are full rather than all at the end.
    assert written_at_progress == sorted(set(written_at_progress))
    assert len(pdfium.PdfDocument(b"".join(out.chunks))) == 84
