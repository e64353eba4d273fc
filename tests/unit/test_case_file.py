"""Case file PDF: the text reads back in English and Chinese, long tables flow over
pages with "page N of M", the hash follows the content, the map and photos are drawn and
a territory across the antimeridian keeps the map narrow.

Every rendered file and a PNG of its first page are kept in tests/unit/output/case_file/
for a person to look at."""

from __future__ import annotations

import dataclasses
import doctest
import io
import re
from functools import cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from shapely.geometry import MultiPolygon, box, shape
from shapely.geometry.base import BaseGeometry

from tests.conftest import MAPS, load_json
from tracker.domain.case_file import (
    LABEL_KEYS,
    AuditRow,
    CaseFileData,
    ChainRow,
    ScanRow,
    content_hash,
    map_extent,
    render_case_file,
)
from tracker.domain.geojson import parse_feature_collection
from tracker.errors import InvalidInput

OUTPUT = Path(__file__).parent / "output" / "case_file"
SERIAL = "R76QKTXBC87KXVV"

LABELS = {
    "en": {
        "map": "Map", "chain": "Custody chain", "scans": "Evidence scans",
        "audit": "Audit trail", "hash": "Content hash (SHA-256)", "generated": "Generated",
        "page": "Page {page} of {pages}", "time": "Time", "place": "Place (lat, lon)",
        "accuracy": "Accuracy", "verdict": "Verdict", "found": "Found in", "photo": "Photo",
        "note": "Note", "photos": "Evidence photos",
        "when": "When", "what": "What", "who": "Who", "expected": "Authorised territory",
        "found_area": "Territory where found", "scan": "Scan (with accuracy)",
        "left_territory": "Left its authorised territory here", "none": "None",
    },
    "zh": {
        "map": "地图", "chain": "流转链", "scans": "证据扫描", "audit": "审计记录",
        "hash": "内容哈希 (SHA-256)", "generated": "生成时间",
        "page": "第 {page} 页，共 {pages} 页",
        "time": "时间", "place": "位置（纬度，经度）", "accuracy": "精度", "verdict": "判定",
        "found": "发现地区", "photo": "照片", "note": "备注", "photos": "证据照片",
        "when": "时间", "what": "事件", "who": "操作人",
        "expected": "授权区域", "found_area": "发现区域", "scan": "扫描（含精度）",
        "left_territory": "货物在此离开授权区域", "none": "无",
    },
}


@cache
def province(code: str) -> BaseGeometry:
    doc = load_json(MAPS / "cn_provinces_ne10m.geojson")
    feature = next(f for f in doc["features"] if f["properties"]["iso_3166_2"] == code)
    return shape(feature["geometry"])


@cache
def country(name: str) -> BaseGeometry:
    """A country as the system stores it: read by the territory import, so cut at ±180."""
    doc = load_json(MAPS / "countries_50m.geojson")
    features = [f for f in doc["features"] if f["properties"]["name"] == name]
    return parse_feature_collection({"type": "FeatureCollection", "features": features})[0] \
        .geometry


@cache
def photo_jpeg() -> bytes:
    image = Image.new("RGB", (640, 480), (200, 180, 40))
    image.paste((40, 40, 40), (100, 100, 540, 380))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def scans(count: int) -> list[ScanRow]:
    return [ScanRow(scanned_at=f"2025-03-{1 + i % 28:02d} 10:{i % 60:02d}",
                    latitude=22.81700 + 0.01 * (i % 10), longitude=108.36600 + 0.01 * (i // 10),
                    accuracy_m=[12.0, None, 15000.0][i % 3], verdict="Diverted",
                    found="Guangxi", photo_jpeg=photo_jpeg() if i == 0 else None)
            for i in range(count)]


def case(language: str = "en", *, scan_count: int = 3) -> CaseFileData:
    zh = language == "zh"
    return CaseFileData(
        violation_id=12,
        title="违规 12：窜货" if zh else "Violation 12: Diverted",
        facts=[("序列号" if zh else "Serial", SERIAL),
               ("产品" if zh else "Product", "09506000134352 润肤霜 50 ml" if zh
                else "09506000134352 Face cream 50 ml"),
               ("批次" if zh else "Batch", "LOT/7"),
               ("应在" if zh else "Expected", "广东" if zh else "Guangdong"),
               ("发现于" if zh else "Found", "广西" if zh else "Guangxi"),
               ("责任方" if zh else "Responsible party", "广州南方贸易有限公司"),
               ("状态" if zh else "Status", "调查中" if zh else "Investigating"),
               ("创建" if zh else "Opened", "2025-03-02 08:15")],
        map_areas=[("expected", province("CN-GD")), ("found", province("CN-GX"))],
        scans=scans(scan_count),
        chain=[ChainRow("2025-02-01 09:00", "品牌方 发货给 广州南方贸易" if zh
                        else "Brand shipped to Guangzhou Southern Trading"),
               ChainRow("2025-02-10 14:30", "广州南方贸易 发货给 南宁批发" if zh
                        else "Guangzhou Southern Trading shipped to Nanning Wholesale",
                        left_territory=True),
               ChainRow("2025-02-12 11:00", "南宁批发 收货" if zh
                        else "Nanning Wholesale received")],
        audit=[AuditRow("2025-03-02 08:15", "system", "已创建" if zh else "Opened"),
               AuditRow("2025-03-03 16:40", "Li Wei", "已联系经销商，等待答复" if zh
                        else "Called the distributor, awaiting reply")],
        labels=LABELS[language],
        generated_at="2025-03-04 09:00 UTC",
        language=language,
    )


def save(name: str, pdf: bytes) -> pdfium.PdfDocument:
    """Keep the PDF and a PNG of its first page; return the opened document."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{name}.pdf").write_bytes(pdf)
    document = pdfium.PdfDocument(pdf)
    document[0].render(scale=1.5).to_pil().save(OUTPUT / f"{name}.png")
    return document


def page_texts(document: pdfium.PdfDocument) -> list[str]:
    return [page.get_textpage().get_text_range() for page in document]


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["Violation 12: Diverted", SERIAL, "Guangzhou Southern Trading shipped to Nanning",
            "Left its authorised territory here", "Called the distributor, awaiting reply",
            "广州南方贸易有限公司", "Content hash (SHA-256)", "Generated: 2025-03-04 09:00 UTC"]),
    ("zh", ["违规 12：窜货", SERIAL, "广州南方贸易 发货给 南宁批发", "货物在此离开授权区域",
            "已联系经销商，等待答复", "内容哈希", "生成时间: 2025-03-04 09:00 UTC"]),
])
def test_text_reads_back_in_the_readers_language(language: str, expected: list[str]) -> None:
    data = case(language)
    document = save(f"case_{language}", render_case_file(data))
    text = "\n".join(page_texts(document))
    for wanted in [*expected, content_hash(data)]:
        assert wanted in text


@pytest.mark.parametrize(("language", "template"), [
    ("en", "Page {page} of {pages}"), ("zh", "第 {page} 页，共 {pages} 页")])
def test_every_page_says_page_n_of_m(language: str, template: str) -> None:
    data = case(language, scan_count=120)
    document = save(f"case_{language}_120_scans", render_case_file(data))
    texts = page_texts(document)
    assert len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert template.format(page=number, pages=len(texts)) in text
        assert content_hash(data) in text


def test_long_scan_table_repeats_its_header_on_each_page() -> None:
    document = pdfium.PdfDocument(render_case_file(case(scan_count=120)))
    texts = page_texts(document)
    scan_pages = [t for t in texts if re.search(r"22\.8\d{4}, 108\.", t)]
    assert len(scan_pages) >= 2
    assert all("Place (lat, lon)" in t for t in scan_pages)
    assert "22.81700, 108.36600" in texts[0] + texts[1]
    assert sum(len(re.findall(r"\d\.\d{5}, 1\d\d\.\d{5}", t)) for t in texts) == 120


def test_hash_is_stable_for_equal_data() -> None:
    assert content_hash(case()) == content_hash(case())
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(case()))


def test_hash_ignores_generated_time() -> None:
    data = case()
    assert content_hash(dataclasses.replace(data, generated_at="2030-01-01")) \
        == content_hash(data)


@pytest.mark.parametrize("change", [
    {"audit": [AuditRow("2025-03-02 08:15", "system", "Opened"),
               AuditRow("2025-03-03 16:40", "Li Wei", "Called the distributor, no reply")]},
    {"scans": [dataclasses.replace(scans(1)[0], photo_jpeg=b"\xff\xd8other photo")]},
    {"map_areas": [("expected", province("CN-GD")), ("found", province("CN-HN"))]},
    {"facts": [("Serial", "R76QKTXBC87KXVW")]},
    {"scans": [dataclasses.replace(scans(3)[0], note="another note"), *scans(3)[1:]]},
], ids=["audit note", "photo", "map", "facts", "scan note"])
def test_hash_follows_what_the_file_shows(change: dict[str, object]) -> None:
    data = case()
    assert content_hash(dataclasses.replace(data, **change)) != content_hash(data)  # type: ignore[arg-type]


def colour_masks(pixels: np.ndarray) -> dict[str, np.ndarray]:
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    return {"green": (g - r > 20) & (g - b > 15), "red": (r - g > 60) & (r - b > 60),
            "blue": (b - r > 60) & (b - g > 30)}


def test_map_draws_expected_found_and_scans() -> None:
    # No custody chain, so the only colour on page 1 is the map's.
    data = dataclasses.replace(case(), chain=[])
    document = save("case_map_only", render_case_file(data))
    pixels = np.asarray(document[0].render(scale=1).to_pil().convert("RGB"))
    masks = colour_masks(pixels)
    assert {name: int(mask.sum()) > 20 for name, mask in masks.items()} \
        == {"green": True, "red": True, "blue": True}
    # Everything coloured lies in one band of the page: the map, below the facts.
    rows = np.flatnonzero(masks["green"].any(axis=1) | masks["red"].any(axis=1))
    assert rows.min() > pixels.shape[0] * 0.25


def test_photo_is_embedded_as_an_image() -> None:
    document = pdfium.PdfDocument(render_case_file(case()))
    images = [obj for page in document
              for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))]
    # The thumbnail in the scans table, and the photo in its own section.
    assert sorted(image.get_px_size() for image in images) == [(240, 180), (640, 480)]


def test_a_scans_note_is_shown_under_it_and_beside_its_photo() -> None:
    data = dataclasses.replace(case(), scans=[dataclasses.replace(
        scans(1)[0], note="Found on the top shelf, label torn")])
    text = "\n".join(page_texts(pdfium.PdfDocument(render_case_file(data))))
    assert "Note: Found on the top shelf, label torn" in text
    assert "Evidence photos (1)" in text
    assert "2025-03-01 10:00 · Found on the top shelf, label torn" in text


def test_unreadable_photo_is_left_out() -> None:
    data = dataclasses.replace(case(), scans=[dataclasses.replace(
        scans(1)[0], photo_jpeg=b"not a jpeg")])
    document = pdfium.PdfDocument(render_case_file(data))
    assert not list(document[0].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))


def chukotka() -> MultiPolygon:
    return MultiPolygon([box(170, 64, 180, 70), box(-180, 64, -169, 68)])


def scan_at(longitude: float, latitude: float) -> ScanRow:
    return ScanRow("2025-03-01 10:00", latitude, longitude, 50.0, "Diverted", "Chukotka")


@pytest.mark.parametrize(("scan_list", "expected"), [
    ([scan_at(-172.5, 65.0)], (-190, 64, -169, 70)),
    ([scan_at(177.0, 65.0)], (170, 64, 191, 70)),
    ([], (170, 64, 191, 70)),  # next to the larger part
], ids=["scan east of 180", "scan west of 180", "no scans"])
def test_parts_across_the_antimeridian_are_drawn_together(
        scan_list: list[ScanRow], expected: tuple[int, ...]) -> None:
    extent = map_extent([("found", chukotka())], scan_list)
    assert tuple(round(v) for v in extent) == expected


def test_russia_stays_one_piece_beside_a_scan_in_moscow() -> None:
    west, _, east, _ = map_extent([("found", country("Russia"))], [scan_at(37.6, 55.75)])
    assert (round(west), round(east)) == (20, 190)  # Kaliningrad to the Bering Strait


def test_antimeridian_map_renders_the_area_in_one_piece() -> None:
    data = dataclasses.replace(case(), chain=[], map_areas=[("expected", chukotka())],
                               scans=[scan_at(-172.5, 65.0)])
    document = save("case_antimeridian", render_case_file(data))
    masks = colour_masks(np.asarray(document[0].render(scale=1).to_pil().convert("RGB")))
    # Columns with more green than the legend's swatch, 7 pt tall, has.
    columns = np.flatnonzero(masks["green"].sum(axis=0) > 12)
    # One run of green columns: the two halves touch at 180° instead of lying at the
    # map's two edges.
    assert columns.size and (np.diff(columns) <= 2).all()


@pytest.mark.parametrize(("change", "message"), [
    ({"language": "fr"}, "language must be one of en, zh, not 'fr'"),
    ({"labels": {k: v for k, v in LABELS["en"].items() if k not in ("map", "photo")}},
     "labels lack map, photo"),
    ({"map_areas": [("scan", box(0, 0, 1, 1))]},
     "a map area's role must be expected or found, not 'scan'"),
    ({"labels": {**LABELS["en"], "page": "Page {n}"}},
     "the page label may use only {page} and {pages}, not 'Page {n}'"),
])
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        render_case_file(dataclasses.replace(case(), **change))  # type: ignore[arg-type]
    assert str(error.value) == message


def test_label_keys_are_what_the_test_labels_define() -> None:
    assert set(LABELS["en"]) == set(LABELS["zh"]) == LABEL_KEYS


def test_empty_sections_say_none() -> None:
    data = dataclasses.replace(case(), scans=[], chain=[], audit=[])
    text = page_texts(pdfium.PdfDocument(render_case_file(data)))[0]
    assert "Custody chain (0)\nNone" in text.replace("\r\n", "\n")


def test_module_examples_hold() -> None:
    from tracker.domain import case_file

    assert doctest.testmod(case_file).failed == 0
