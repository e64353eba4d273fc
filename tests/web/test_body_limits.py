"""Each route's body limit: over it, 413 naming the limit and its setting, before the body
is read (or, sent in chunks, once the limit is passed); under it, the route works."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from tracker.config import Settings
from web import body_limits


class Unreadable(io.RawIOBase):
    def readinto(self, buffer):  # type: ignore[no-untyped-def]
        raise AssertionError("the body was read")


@pytest.fixture()
def small(db, settings):  # type: ignore[no-untyped-def]
    """An app whose limits are small enough to pass in a test."""
    from web import create_app

    app = create_app({"TESTING": True}, settings=dataclasses.replace(
        settings, max_scan_body_bytes=2_000, max_body_bytes=3_000,
        max_codes_body_bytes=4_000, max_document_body_bytes=50_000))
    yield app.test_client()
    app.extensions["tracker.engine"].dispose()


def test_every_route_named_in_the_table_exists(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(body_limits.ROUTE_KINDS) <= endpoints
    assert set(body_limits.ROUTE_KINDS.values()) <= set(body_limits.KINDS)


@pytest.mark.parametrize(("path", "limit", "variable"), [
    ("/api/v1/scans", 2_000, "TRACKER_MAX_SCAN_BODY_BYTES"),
    ("/api/v1/products", 3_000, "TRACKER_MAX_BODY_BYTES"),
    ("/api/v1/shipments", 4_000, "TRACKER_MAX_CODES_BODY_BYTES"),
    ("/api/v1/shipments/1/receive", 4_000, "TRACKER_MAX_CODES_BODY_BYTES"),
    ("/api/v1/epcis/capture", 50_000, "TRACKER_MAX_DOCUMENT_BODY_BYTES"),
    ("/api/v1/territories", 50_000, "TRACKER_MAX_DOCUMENT_BODY_BYTES"),
])
def test_a_body_over_its_routes_limit_is_refused_before_it_is_read(small, admin, path, limit,
                                                                    variable):
    response = small.post(path, headers={**admin, "Content-Type": "application/json"},
                          environ_overrides={"wsgi.input": Unreadable(),
                                             "CONTENT_LENGTH": str(limit + 1)})
    assert response.status_code == 413
    # (under /epcis the error member sits in GS1's problem body: test_epcis_binding.py)
    assert response.get_json()["error"] == {
        "code": "too_large",
        "message": f"the request body ({limit + 1:,} bytes) is larger than this route's "
                   f"limit of {limit:,} bytes (set by {variable})"}


def test_no_token_is_needed_to_be_refused_for_size(small):
    # The size is known from the header: nothing is read, no one is looked up.
    response = small.post("/api/v1/scans", environ_overrides={
        "wsgi.input": Unreadable(), "CONTENT_LENGTH": "1000000"})
    assert response.status_code == 413


def test_a_body_sent_in_chunks_stops_at_its_limit(small, admin):
    body = json.dumps({"code": "x" * 5_000}).encode()
    response = small.post("/api/v1/scans", headers=admin, input_stream=io.BytesIO(body),
                          content_type="application/json", environ_overrides={
                              "HTTP_TRANSFER_ENCODING": "chunked",
                              "wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.get_json() == {"error": {
        "code": "too_large",
        "message": "the request body is larger than this route's limit of 2,000 bytes "
                   "(set by TRACKER_MAX_SCAN_BODY_BYTES)"}}


def test_a_document_larger_than_a_form_reaches_its_route(small, admin):
    # 20 kB: over the form limit, under the document limit; the capture itself judges it.
    body = json.dumps({"type": "EPCISDocument", "padding": "x" * 20_000})
    response = small.post("/api/v1/epcis/capture", data=body,
                          headers={**admin, "Content-Type": "application/json"})
    assert response.status_code not in (413, 500)
    assert response.get_json()["error"]["code"] != "too_large"


def test_a_page_form_over_its_limit_is_a_page_naming_the_limit(small):
    response = small.post("/login", data={"username": "u", "password": "p" * 5_000})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<html" in page and "3,000 bytes" in page


def test_the_limits_are_read_from_the_environment_in_bytes_or_units():
    settings = Settings.from_env({"TRACKER_MAX_SCAN_BODY_BYTES": "8 KiB",
                                  "TRACKER_MAX_DOCUMENT_BODY_BYTES": "1 GB",
                                  "TRACKER_MAX_BODY_BYTES": "100000"})
    assert (settings.max_scan_body_bytes, settings.max_document_body_bytes,
            settings.max_body_bytes) == (8192, 10**9, 100_000)
    with pytest.raises(ValueError, match="TRACKER_MAX_CODES_BODY_BYTES: 'lots' is not a size"):
        Settings.from_env({"TRACKER_MAX_CODES_BODY_BYTES": "lots"})


def test_a_receipt_list_is_read_as_it_arrives_and_stops_at_its_limit(db, settings, small,
                                                                      make_token):
    from tests.integration.network import GTIN, build
    from tracker.db import make_session_factory

    with make_session_factory(db)() as session, session.begin():
        net = build(session, settings)
    admin = {"Authorization": f"Bearer {make_token('admin')}"}
    t1 = {"Authorization": f"Bearer {make_token('distributor', 't1')}"}
    shipped = small.post("/api/v1/shipments", headers=admin,
                         json={"from": "brand", "to": "t1", "codes": net.serials[:3]})
    shipment = shipped.get_json()["id"]
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}

    over = "\ufeffserial\n" + "".join(f"{net.serials[0]}\n" for _ in range(400))
    refused = small.post(f"/api/v1/shipments/{shipment}/receive", headers=t1,
                         input_stream=io.BytesIO(over.encode()), content_type="text/csv",
                         environ_overrides=chunked)
    assert refused.status_code == 413
    assert small.get(f"/api/v1/shipments/{shipment}", headers=admin).get_json()[
        "status"] == "in_transit"  # nothing received

    listed = "\ufeffserial,uri\n" + "".join(
        f"{s},https://id.example.com/01/{GTIN}/21/{s}\n" for s in net.serials[:3])
    received = small.post(f"/api/v1/shipments/{shipment}/receive", headers=t1,
                          input_stream=io.BytesIO(listed.encode()), content_type="text/csv",
                          environ_overrides=chunked)
    assert received.status_code == 200
    assert received.get_json()["status"] == "received"
