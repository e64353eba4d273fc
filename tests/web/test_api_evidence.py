"""Evidence on a scan over HTTP: an inspector's note and JPEG photo, refused clearly when
the photo is no JPEG, too large or too small, and never shown to another inspector."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.integration.network import GTIN, build
from tracker.config import Settings
from tracker.db import make_session_factory
from tracker.domain.photos import megabytes
from tracker.models import ScanEvidence

IN_A, IN_B = (5.0, 5.0), (5.0, 25.0)  # (lat, lon): inside the batch's territory, outside


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jpeg(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (200, 180, 40),
         **save: object) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    image.paste((40, 40, 40), (width // 4, height // 4, width // 2, height // 2))
    out = io.BytesIO()
    image.save(out, format="JPEG", **save)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture()
def net(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings)


@pytest.fixture()
def inspector(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token("inspector"))


def scan(client, headers, net, i=0, point=IN_A) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/scans", headers=headers, json={
        "code": f"https://id.example.com/01/{GTIN}/21/{net.serials[i]}",
        "latitude": point[0], "longitude": point[1], "accuracy_m": 10})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def attach(client, headers, scan_id, *, note=None, photo=None,  # type: ignore[no-untyped-def]
           filename="photo.jpg", content_type="image/jpeg"):
    data: dict[str, object] = {}
    if note is not None:
        data["note"] = note
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), filename, content_type)
    return client.post(f"/api/v1/scans/{scan_id}/evidence", headers=headers, data=data,
                       content_type="multipart/form-data")


def stored(db) -> int:  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session:
        return session.scalar(select(func.count()).select_from(ScanEvidence)) or 0


def test_note_and_photo_attach_to_ones_own_scan_and_the_photo_comes_back_as_sent(
        client, net, inspector):
    scan_id = scan(client, inspector, net)["scan_id"]
    photo = jpeg()

    response = attach(client, inspector, scan_id, note="  Shelf 3, behind the tea  ",
                      photo=photo)

    assert response.status_code == 201
    assert response.get_json() == {"scan_id": scan_id, "note": "Shelf 3, behind the tea",
                                   "has_photo": True, "photo_bytes": len(photo)}
    back = client.get(f"/api/v1/scans/{scan_id}/photo", headers=inspector)
    assert (back.status_code, back.mimetype, back.data) == (200, "image/jpeg", photo)


def test_sending_again_replaces_what_is_sent_and_keeps_the_rest(client, net, inspector, db):
    scan_id = scan(client, inspector, net)["scan_id"]
    first, second = jpeg(), jpeg(800, 600, (10, 120, 200))
    attach(client, inspector, scan_id, note="first", photo=first)

    retried = attach(client, inspector, scan_id, note="first", photo=first)
    note_only = attach(client, inspector, scan_id, note="second")
    photo_only = attach(client, inspector, scan_id, photo=second)
    cleared = attach(client, inspector, scan_id, note="   ")

    assert retried.get_json() == {"scan_id": scan_id, "note": "first", "has_photo": True,
                                  "photo_bytes": len(first)}
    assert note_only.get_json()["note"] == "second"
    assert note_only.get_json()["photo_bytes"] == len(first)
    assert photo_only.get_json() == {"scan_id": scan_id, "note": "second", "has_photo": True,
                                     "photo_bytes": len(second)}
    assert cleared.get_json()["note"] is None
    assert client.get(f"/api/v1/scans/{scan_id}/photo", headers=inspector).data == second
    assert stored(db) == 1


def test_another_inspectors_scan_is_not_found_like_one_that_does_not_exist(
        client, net, inspector, make_token, db):
    scan_id = scan(client, inspector, net)["scan_id"]
    other = bearer(make_token("inspector"))

    theirs = attach(client, other, scan_id, note="mine now")
    missing = attach(client, other, scan_id + 1000, note="x")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == {"error": {
        "code": "unknown_scan", "message": f"scan {scan_id} does not exist or is not one of yours"}}
    assert client.get(f"/api/v1/scans/{scan_id}/photo", headers=other).status_code == 404
    assert stored(db) == 0


def test_admin_may_attach_and_compliance_may_only_look(client, net, inspector, admin,
                                                       make_token):
    scan_id = scan(client, inspector, net)["scan_id"]
    compliance = bearer(make_token("compliance"))
    distributor = bearer(make_token("distributor", "t1"))

    assert attach(client, admin, scan_id, photo=jpeg()).status_code == 201
    refused = attach(client, compliance, scan_id, note="x")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == (
        "role 'compliance' may not add evidence to scans; it needs one of: admin, inspector")
    assert client.get(f"/api/v1/scans/{scan_id}/photo", headers=compliance).status_code == 200
    assert client.get(f"/api/v1/scans/{scan_id}/photo", headers=distributor).status_code == 403


def test_a_scan_with_a_note_only_has_no_photo_to_show(client, net, inspector):
    scan_id = scan(client, inspector, net)["scan_id"]
    attach(client, inspector, scan_id, note="label torn")

    response = client.get(f"/api/v1/scans/{scan_id}/photo", headers=inspector)

    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "no_photo",
                                            "message": f"scan {scan_id} has no photo"}


@pytest.mark.parametrize(("photo", "code", "message"), [
    (png(), "not_a_jpeg", "photo is not a JPEG image (it is a PNG image); send it as a JPEG"),
    (b"\x00\x00\x00\x18ftypheic" + bytes(100), "not_a_jpeg",
     "photo is not a JPEG image (it is a HEIC photo (the iPhone's own format)); send it as "
     "a JPEG"),
    (b"hello", "not_a_jpeg", "photo is not a JPEG image; send it as a JPEG"),
    (jpeg()[:2000], "unreadable_photo",
     "photo is a damaged or incomplete JPEG image and cannot be read; take it again"),
    (jpeg(20, 400), "photo_dimensions",
     "photo is 20 × 400 pixels; it needs at least 32 pixels on each side"),
    (jpeg(16_400, 40), "photo_dimensions",
     "photo is 16,400 × 40 pixels; the most is 16,384 pixels on a side and 80 megapixels in "
     "all"),
], ids=["png", "heic", "text", "truncated", "tiny", "huge"])
def test_a_photo_that_is_no_usable_jpeg_is_refused_whatever_its_declared_type(
        client, net, inspector, db, photo, code, message):
    scan_id = scan(client, inspector, net)["scan_id"]

    response = attach(client, inspector, scan_id, note="kept? no", photo=photo)

    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": code, "message": message}}
    assert stored(db) == 0


@pytest.fixture()
def small_limit(db, database_url):  # type: ignore[no-untyped-def]
    """An app whose photos may be at most 100 kB."""
    from web import create_app

    app = create_app({"TESTING": True}, settings=Settings(
        database_url=database_url, dl_base="https://id.example.com", max_photo_bytes=100_000))
    yield app.test_client()
    app.extensions["tracker.engine"].dispose()


def test_a_photo_over_the_limit_is_413_with_its_size(small_limit, net, inspector, db):
    scan_id = scan(small_limit, inspector, net)["scan_id"]
    photo = jpeg(3000, 2000, quality=100)
    assert 100_000 < len(photo) < 100_000 + 64 * 1024  # inside the body's room

    response = attach(small_limit, inspector, scan_id, photo=photo)

    assert response.status_code == 413
    assert response.get_json() == {"error": {
        "code": "photo_too_large",
        # Both read 0.1 MB, so in bytes.
        "message": f"photo is {len(photo):,} bytes; the most is 100,000 bytes"}}
    assert stored(db) == 0


class Unreadable(io.RawIOBase):
    def readinto(self, buffer):  # type: ignore[no-untyped-def]
        raise AssertionError("the body was read")


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, net, inspector):
    scan_id = scan(client, inspector, net)["scan_id"]

    response = client.post(
        f"/api/v1/scans/{scan_id}/evidence", headers=inspector,
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"wsgi.input": Unreadable(), "CONTENT_LENGTH": "7200000"})

    assert response.status_code == 413
    assert response.get_json() == {"error": {"code": "photo_too_large",
                                             "message": "photo is 7.2 MB; the most is 5 MB"}}


def test_a_body_sent_in_chunks_stops_at_the_limit(small_limit, net, inspector, db):
    scan_id = scan(small_limit, inspector, net)["scan_id"]
    body = (b"--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + bytes(300_000) + b"\r\n--x--\r\n")

    response = small_limit.post(
        f"/api/v1/scans/{scan_id}/evidence", headers=inspector, input_stream=io.BytesIO(body),
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})

    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "code": "photo_too_large", "message": "the photo is larger than the most, 0.1 MB"}
    assert stored(db) == 0


@pytest.mark.parametrize(("send", "status", "error"), [
    ({"note": "x" * 2001}, 422,
     {"code": "note_too_long", "message": "note is 2,001 characters long; the most is 2,000"}),
    ({}, 422, {"code": "missing_field", "message": "send a note, a photo or both"}),
], ids=["long note", "nothing"])
def test_bad_forms_are_refused(client, net, inspector, db, send, status, error):
    scan_id = scan(client, inspector, net)["scan_id"]

    response = attach(client, inspector, scan_id, **send)

    assert (response.status_code, response.get_json()) == (status, {"error": error})
    assert stored(db) == 0


def test_json_instead_of_a_form_is_refused(client, net, inspector):
    scan_id = scan(client, inspector, net)["scan_id"]

    response = client.post(f"/api/v1/scans/{scan_id}/evidence", headers=inspector,
                           json={"note": "x"})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "not_multipart"


def test_evidence_on_a_violations_scan_enters_its_audit_trail(client, net, inspector,
                                                              make_token):
    answer = scan(client, inspector, net, point=IN_B)
    assert answer["verdict"] == "diverted"
    photo = jpeg()
    attach(client, inspector, answer["scan_id"], note="on the shelf", photo=photo)
    attach(client, inspector, answer["scan_id"], note="on the top shelf")

    detail = client.get(f"/api/v1/violations/{answer['violation_id']}",
                        headers=bearer(make_token("compliance"))).get_json()

    assert [(a["action"], a["note"]) for a in detail["audit"]] == [
        ("opened", f"scan {answer['scan_id']}: diverted"),
        ("evidence", f"scan {answer['scan_id']}: photo ({megabytes(len(photo))}) added, "
                     "note added"),
        ("evidence", f"scan {answer['scan_id']}: note replaced")]


def test_evidence_on_an_authentic_scan_writes_no_audit(client, net, inspector, db):
    from tracker.models import ViolationAudit

    scan_id = scan(client, inspector, net)["scan_id"]
    attach(client, inspector, scan_id, note="fine")

    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(ViolationAudit)) == 0


# --- bad input from the device ----------------------------------------------------------


def post_scan(client, headers, code, point=IN_A, **extra):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/scans", headers=headers, json={
        "code": code, "latitude": point[0], "longitude": point[1], **extra})


def scans_stored(db) -> int:  # type: ignore[no-untyped-def]
    from tracker.models import Scan

    with make_session_factory(db)() as session:
        return session.scalar(select(func.count()).select_from(Scan)) or 0


def test_a_code_of_another_brand_is_unknown_and_says_so(client, net, inspector):
    theirs = post_scan(client, inspector, "https://id.gs1.org/01/04012345000009/21/ABC123",
                       accuracy_m=10).get_json()
    ours = post_scan(client, inspector, f"https://id.example.com/01/{GTIN}/21/ABC123",
                     accuracy_m=10).get_json()

    assert (theirs["verdict"], theirs["flags"]) == (
        "unknown_code", ["never_issued", "bad_check_character", "other_brand"])
    assert theirs["violation_id"] is not None  # the contract: never issued opens one
    assert (ours["verdict"], ours["flags"]) == (
        "unknown_code", ["never_issued", "bad_check_character"])


@pytest.mark.parametrize(("code", "message"), [
    ("WIFI:S:Market;T:WPA;P:secret;;",
     "'WIFI:S:Market;T:WPA;P:secret;;' is not a product code: neither a web address nor a "
     "15-character serial. Scan the QR code on the product label, or type the serial "
     "printed beside it"),
    ("ABC-123",
     "'ABC-123' is not a product code: neither a web address nor a 15-character serial. "
     "Scan the QR code on the product label, or type the serial printed beside it"),
    ("https://shop.example.org/promo?id=7",
     "the QR code holds a web link, 'https://shop.example.org/promo?id=7', that is not a "
     "product code (those read https://…/01/GTIN/21/SERIAL): probably another QR code on "
     "the package; scan the one on the product label"),
    ("9506000134352",
     "'9506000134352' is the product's barcode number, which has no serial; scan the QR "
     "code on the label, or type the 15-character serial"),
    ("   ", "the code is empty: nothing was read; scan the QR code again"),
    # A product link with a fault keeps the reader's own words for it.
    ("https://id.example.com/01/09506000134353/21/X",
     "'https://id.example.com/01/09506000134353/21/X' is not a valid GS1 Digital Link URI: "
     "GTIN '09506000134353' has check digit 3; it should be 2; accepted: a GS1 Digital Link "
     "URI (https://host/01/{GTIN-14}/21/{serial}), an SGTIN EPC URN (urn:epc:id:sgtin:...), "
     "an SSCC (18 digits or urn:epc:id:sscc:...) or a 15-character serial"),
], ids=["wifi", "typed", "web link", "barcode number", "empty", "bad product link"])
def test_a_qr_code_that_is_no_product_code_is_400_naming_the_problem(
        client, net, inspector, db, code, message):
    response = post_scan(client, inspector, code)

    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "malformed_code", "message": message}}
    assert scans_stored(db) == 0


def test_a_position_without_accuracy_is_judged_and_flagged(client, net, inspector):
    answer = post_scan(client, inspector,
                       f"https://id.example.com/01/{GTIN}/21/{net.serials[0]}").get_json()

    assert (answer["verdict"], answer["flags"]) == ("authentic", ["no_accuracy"])


@pytest.mark.parametrize(("change", "code", "message"), [
    ({"latitude": None}, "no_position",
     "field 'latitude' is empty: the phone sent no position; a field scan needs one (wait "
     "for the location, or allow it)"),
    ({"latitude": 114.06, "longitude": 22.54}, "invalid_coordinates",
     "field 'latitude' is 114.06, outside -90..90; are latitude and longitude swapped?"),
    ({"latitude": 22.54, "longitude": 194.06}, "invalid_coordinates",
     "field 'longitude' is 194.06, outside -180..180"),
    ({"latitude": 0, "longitude": 0.0}, "no_position",
     "the position is 0, 0 (at sea off West Africa): the phone has no location fix yet; "
     "wait for the location and scan again"),
], ids=["no position", "swapped", "out of range", "no fix"])
def test_a_position_out_of_range_is_422_naming_the_field(client, net, inspector, db, change,
                                                        code, message):
    body = {"code": f"https://id.example.com/01/{GTIN}/21/{net.serials[0]}",
            "latitude": 5.0, "longitude": 5.0, **change}

    response = client.post("/api/v1/scans", headers=inspector, json=body)

    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": code, "message": message}}
    assert scans_stored(db) == 0


def test_a_scan_made_offline_days_ago_keeps_its_time(client, net, inspector):
    import datetime as dt

    days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(microsecond=0)
    answer = post_scan(client, inspector,
                       f"https://id.example.com/01/{GTIN}/21/{net.serials[0]}",
                       accuracy_m=10, scanned_at=days_ago.isoformat()).get_json()

    assert answer["scanned_at"] == days_ago.isoformat()
    assert answer["flags"] == []


@pytest.mark.parametrize("clock", ["3 hours ahead", "never set"])
def test_a_device_clock_that_cannot_be_right_gives_the_time_of_receipt_and_no_clone(
        client, net, inspector, clock):
    import datetime as dt

    code = f"https://id.example.com/01/{GTIN}/21/{net.serials[0]}"
    before = dt.datetime.now(dt.UTC)
    first = post_scan(client, inspector, code, IN_A, accuracy_m=10).get_json()
    sent = (before + dt.timedelta(hours=3) if clock == "3 hours ahead"
            else dt.datetime(1970, 1, 1, tzinfo=dt.UTC))

    # 2,200 km from the first scan, moments later by the server's clock.
    second = post_scan(client, inspector, code, IN_B, accuracy_m=10,
                       scanned_at=sent.isoformat()).get_json()

    assert first["verdict"] == "authentic"
    assert (second["verdict"], second["flags"]) == ("diverted",
                                                    ["outside_expected", "clock_skew"])
    assert before <= dt.datetime.fromisoformat(second["scanned_at"]) <= dt.datetime.now(dt.UTC)


# --- the violation page and its case file -----------------------------------------------


@pytest.fixture()
def diverted_with_evidence(client, net, inspector):  # type: ignore[no-untyped-def]
    answer = scan(client, inspector, net, point=IN_B)
    attach(client, inspector, answer["scan_id"], note="Top shelf <b>behind</b> the tea",
           photo=jpeg())
    return answer


def test_the_violation_page_shows_the_note_and_a_thumbnail_linking_to_the_photo(
        client, users, diverted_with_evidence):
    import re

    from tests.pages import PASSWORDS, sign_in

    scan_id = diverted_with_evidence["scan_id"]
    sign_in(client, users["compliance"], PASSWORDS["compliance"])

    page = client.get(f"/compliance/violations/{diverted_with_evidence['violation_id']}")
    text = page.get_data(as_text=True)

    row = re.search(rf'<tr data-scan-evidence="{scan_id}">(.*?)</tr>', text, re.S)
    assert row is not None
    assert "Top shelf &lt;b&gt;behind&lt;/b&gt; the tea" in row.group(1)
    assert f'href="/compliance/scans/{scan_id}/photo.jpg"' in row.group(1)
    assert f'src="/compliance/scans/{scan_id}/thumbnail.jpg"' in row.group(1)
    thumbnail = client.get(f"/compliance/scans/{scan_id}/thumbnail.jpg")
    with Image.open(io.BytesIO(thumbnail.data)) as small:
        assert (thumbnail.mimetype, small.size) == ("image/jpeg", (320, 240))
    assert client.get(f"/compliance/scans/{scan_id}/photo.jpg").data == jpeg()


def test_the_photo_pages_are_for_compliance_only(client, users, diverted_with_evidence):
    from tests.pages import PASSWORDS, sign_in

    scan_id = diverted_with_evidence["scan_id"]
    assert client.get(f"/compliance/scans/{scan_id}/photo.jpg").status_code == 302  # sign in
    sign_in(client, users["inspector"], PASSWORDS["inspector"])

    assert client.get(f"/compliance/scans/{scan_id}/photo.jpg").status_code == 403
    assert client.get(f"/compliance/scans/{scan_id}/thumbnail.jpg").status_code == 403


def test_the_case_file_carries_the_note_and_the_photo(client, users, diverted_with_evidence):
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from tests.pages import PASSWORDS, sign_in

    sign_in(client, users["compliance"], PASSWORDS["compliance"])

    response = client.get(
        f"/compliance/violations/{diverted_with_evidence['violation_id']}/case-file.pdf")

    document = pdfium.PdfDocument(response.data)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    assert "Note: Top shelf <b>behind</b> the tea" in text
    assert "Evidence photos (1)" in text
    images = [obj.get_px_size() for page in document
              for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))]
    assert sorted(images) == [(240, 180), (640, 480)]
