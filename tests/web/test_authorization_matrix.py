"""Who may open what: every route of the application × every identity, answered with the
status the table below says (contract §2 "Who may do what", and each page's roles).

The routes are read from ``app.url_map``: a route without a row fails the test, so a new
route cannot slip in unchecked, and a row without a route fails too (a stale table).

Identities: admin, compliance, an inspector and a second inspector, a distributor of
party A (``t1``) and one of party B (``t1b``); and, refused before any role is looked at,
no token, a wrong token, a revoked token, an expired device token and a disabled user.
Pages are opened with a signed-in session per identity (a disabled user's session ends
with the account).

Decided and tested here:

* A distributor naming another party's object by id — a shipment, a case or pallet, a
  violation, an EPCIS event it took no part in — gets **403** (the object exists, it is
  not theirs: the id sequences are no secret, the content is). Lists answer 200 with the
  caller's own rows only (:func:`test_lists_hold_only_the_distributors_own_rows`).
* A distributor sees the EPCIS events that moved goods from or to its party, and no
  other; traces and serials are compliance's (403 for every distributor).
* An inspector asking for another inspector's scan (its photo, adding evidence) gets
  **404**, "does not exist or is not one of yours", as the evidence service says.
* Territories, products and parties are a directory every signed-in role may read.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.integration.network import GTIN, build, distributor
from tests.pages import sign_in
from tracker.db import make_session_factory
from tracker.domain.gs1 import gs1_check_digit
from tracker.models import (
    ApiToken,
    CustodyMove,
    Event,
    EventEPC,
    User,
    Violation,
    WebhookDelivery,
)
from tracker.services import custody, epcis_queries, epcis_subscriptions, issuing, webhooks
from tracker.services.auth import SYSTEM, create_user, hash_password, issue_token
from tracker.services.events import epc_uri

# --- identities ---------------------------------------------------------------------

PARTY_A, PARTY_B = "t1", "t1b"
SIGNED_IN = ("admin", "compliance", "inspector", "inspector_b", "dist_a", "dist_b")
NOT_SIGNED_IN = ("anonymous", "wrong_token", "revoked_token", "expired_token",
                 "disabled_user")
API_IDENTITIES = SIGNED_IN + NOT_SIGNED_IN
# A page has no tokens: a person is signed in, or not (a disabled user's session ends).
PAGE_IDENTITIES = SIGNED_IN + ("anonymous", "disabled_user")
STAFF = ("admin", "compliance")
INSPECTORS = ("inspector", "inspector_b")
DISTRIBUTORS = ("dist_a", "dist_b")
ROLE_OF = {"admin": "admin", "compliance": "compliance", "inspector": "inspector",
           "inspector_b": "inspector", "dist_a": "distributor", "dist_b": "distributor",
           "revoked_token": "admin", "expired_token": "inspector", "disabled_user": "admin"}
PARTY_OF = {"dist_a": PARTY_A, "dist_b": PARTY_B}
PASSWORD = "pw-matrix-1"

IN_A, IN_B = (5.0, 5.0), (5.0, 25.0)  # (latitude, longitude) inside party A's area, B's


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 180, 40)).save(out, format="JPEG")
    return out.getvalue()


def with_check_digit(digits: str) -> str:
    return digits + gs1_check_digit(digits)


def digital_link(serial: str) -> str:
    return f"https://id.example.com/01/{GTIN}/21/{serial}"


# --- the world the requests act on --------------------------------------------------


@dataclass
class World:
    """Objects of party A and of others, and a way to make fresh ones for each write."""

    factory: Any
    settings: Any
    client: Any
    tokens: dict[str, str]
    users: dict[str, str]
    serials: list[str]
    batch_id: int = 0
    shipment_a: int = 0  # brand -> A, received
    shipment_pending: int = 0  # brand -> A, in transit
    shipment_b: int = 0  # brand -> B, received
    container_a: str = ""
    container_b: str = ""
    scan_id: int = 0  # the inspector's scan, with a photo
    violation_a: int = 0  # attributed to A
    violation_other: int = 0  # attributed to the brand
    event_a: str = ""  # the event that shipped to A
    event_other: str = ""  # an event A took no part in
    capture_job: int = 0
    webhook: int = 0  # subscribed to violation.opened before the scans
    query: str = ""  # a named EPCIS query
    subscription: str = ""  # a stream subscription to it
    delivery: int = 0  # one of its deliveries
    fresh: Iterator[int] = field(default_factory=lambda: count(1))

    def epc_a(self) -> str:
        """An item the event that shipped to A names, as the resources list it."""
        with self.session() as session:
            key = session.scalar(select(EventEPC.key).join(
                Event, Event.id == EventEPC.event_pk).where(Event.event_id == self.event_a,
                                                            EventEPC.role == "epc").limit(1))
        return epc_uri(key)

    @property
    def event_other_quoted(self) -> str:
        return quote(self.event_other, safe="")

    def session(self) -> Session:
        return self.factory()  # type: ignore[no-any-return]

    def next(self) -> int:
        return next(self.fresh)

    def held_by_a(self, quantity: int = 1) -> list[str]:
        """Fresh serials that party A holds (shipped to it by the brand and received)."""
        with self.session() as session, session.begin():
            batch = issuing.issue_batch(session, gtin=GTIN, territory="A", quantity=quantity,
                                        party="brand", actor=SYSTEM, settings=self.settings)
            serials = [row.serial for row in issuing.iter_batch_codes(
                session, batch, self.settings)]
            shipment = custody.record_shipment(session, from_party="brand", to_party=PARTY_A,
                                               codes=serials, actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id,
                                     actor=distributor(PARTY_A))
        return serials

    def fresh_batch(self) -> int:
        with self.session() as session, session.begin():
            return issuing.issue_batch(session, gtin=GTIN, territory="A", quantity=1,
                                       party="brand", actor=SYSTEM,
                                       settings=self.settings).id

    def container_of_a(self) -> str:
        with self.session() as session, session.begin():
            (made,) = custody.create_containers(session, party=PARTY_A, kind="case",
                                                company_prefix="9506000",
                                                actor=distributor(PARTY_A))
            return made.sscc

    def packed_in_a_container(self) -> tuple[str, str]:
        (serial,) = self.held_by_a()
        sscc = self.container_of_a()
        with self.session() as session, session.begin():
            custody.pack(session, party=PARTY_A, container=sscc, codes=[serial],
                         actor=distributor(PARTY_A))
        return sscc, serial

    def fresh_query(self) -> str:
        with self.session() as session, session.begin():
            return epcis_queries.create_query(
                session, name=f"matrix-{self.next()}", query={"EQ_bizStep": ["shipping"]},
                actor=SYSTEM).name

    def fresh_subscription(self) -> str:
        with self.session() as session, session.begin():
            found, _secret = epcis_subscriptions.create_subscription(
                session, self.query, dest=f"https://hooks.example.com/q{self.next()}",
                stream=True, actor=SYSTEM)
            return found.subscription.subscription_id

    def fresh_webhook(self) -> int:
        with self.session() as session, session.begin():
            found, _secret = webhooks.create_endpoint(
                session, url=f"https://hooks.example.com/{self.next()}",
                events=["violation.opened"], actor=SYSTEM)
            return found.endpoint.id

    def victim_token(self) -> int:
        """A token of a user other than any caller's, to revoke."""
        with self.session() as session, session.begin():
            user, _token = create_user(session, name=f"victim-{self.next()}",
                                       role="inspector", actor=SYSTEM)
            return session.scalars(select(ApiToken.id).where(
                ApiToken.user_id == user.id)).one()

    def next_status(self, violation_id: int) -> str:
        from tracker.services.violations import TRANSITIONS

        with self.session() as session:
            status = session.get(Violation, violation_id).status  # type: ignore[union-attr]
            return sorted(s.value for s in TRANSITIONS[status])[0]

    def event_document(self, n: int) -> dict[str, Any]:
        return {"type": "ObjectEvent", "eventTime": f"2026-02-01T10:00:{n % 60:02d}.000Z",
                "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
                "epcList": [f"urn:epc:id:sgtin:9506000.013435.matrix{n}"],
                "bizStep": "inspecting", "readPoint": {"id": f"urn:epc:id:sgln:9506000.00001.{n}"}}

    def capture_document(self, n: int) -> dict[str, Any]:
        return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-02-01T00:00:00Z",
                "epcisBody": {"eventList": [self.event_document(n)]}}


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once: every user of the world shares it (scrypt is slow on purpose)."""
    return hash_password(PASSWORD)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _event_id_of_shipment(session: Session, shipment_id: int) -> str:
    event_pk = session.scalars(select(CustodyMove.event_pk).where(
        CustodyMove.shipment_id == shipment_id, CustodyMove.kind == "ship")).first()
    return session.scalars(select(Event.event_id).where(Event.id == event_pk)).one()


def build_world(db: Any, settings: Any, client: Any) -> World:
    factory = make_session_factory(db)
    tokens: dict[str, str] = {}
    users: dict[str, str] = {}
    with factory() as session, session.begin():
        net = build(session, settings, quantity=12)
        for identity in (*SIGNED_IN, "revoked_token", "expired_token", "disabled_user"):
            name = f"matrix-{identity}"
            user, token = create_user(session, name=name, role=ROLE_OF[identity],
                                      party_id=PARTY_OF.get(identity), actor=SYSTEM)
            user.password_hash = password_hash()
            users[identity] = name
            tokens[identity] = token
            if identity == "expired_token":  # a device's sign-in that has run out
                tokens[identity] = issue_token(session, user,
                                               lifetime=dt.timedelta(seconds=-1))
            if identity == "revoked_token":
                session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                                .values(revoked_at=dt.datetime.now(dt.UTC)))
        tokens["wrong_token"] = "trk_" + "x" * 43
    world = World(factory=factory, settings=settings, client=client, tokens=tokens,
                  users=users, serials=net.serials, batch_id=net.batch_id)
    s = net.serials
    world.webhook = world.fresh_webhook()
    world.query = world.fresh_query()
    world.subscription = world.fresh_subscription()
    with factory() as session, session.begin():
        shipped = custody.record_shipment(session, from_party="brand", to_party=PARTY_A,
                                          codes=s[0:4], actor=SYSTEM)
        custody.receive_shipment(session, shipment_id=shipped.id, actor=distributor(PARTY_A))
        world.shipment_a = shipped.id
        world.shipment_pending = custody.record_shipment(
            session, from_party="brand", to_party=PARTY_A, codes=s[4:6], actor=SYSTEM).id
        to_b = custody.record_shipment(session, from_party="brand", to_party=PARTY_B,
                                       codes=s[6:8], actor=SYSTEM)
        custody.receive_shipment(session, shipment_id=to_b.id, actor=distributor(PARTY_B))
        world.shipment_b = to_b.id
        world.event_a = _event_id_of_shipment(session, shipped.id)
        world.event_other = _event_id_of_shipment(session, to_b.id)
        (case_a,) = custody.create_containers(session, party=PARTY_A, kind="case",
                                              company_prefix="9506000",
                                              actor=distributor(PARTY_A))
        (case_b,) = custody.create_containers(session, party=PARTY_B, kind="case",
                                              company_prefix="9506000",
                                              actor=distributor(PARTY_B))
        world.container_a, world.container_b = case_a.sscc, case_b.sscc
    inspector = bearer(tokens["inspector"])
    scanned = []
    for serial, (lat, lon) in ((s[0], IN_B), (s[6], IN_B)):
        response = client.post("/api/v1/scans", headers=inspector, json={
            "code": digital_link(serial), "latitude": lat, "longitude": lon,
            "accuracy_m": 10})
        assert response.status_code == 201, response.get_json()
        scanned.append(response.get_json())
    assert scanned[0]["responsible_party"] == PARTY_A
    assert scanned[1]["responsible_party"] not in (PARTY_A, PARTY_B)
    world.scan_id = scanned[0]["scan_id"]
    world.violation_a, world.violation_other = (a["violation_id"] for a in scanned)
    with factory() as session:
        world.delivery = session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.endpoint_id == world.webhook)).first()  # type: ignore[assignment]
    assert world.delivery is not None
    attached = client.post(f"/api/v1/scans/{world.scan_id}/evidence", headers=inspector,
                           data={"note": "shelf", "photo": (io.BytesIO(jpeg()), "p.jpg",
                                                            "image/jpeg")},
                           content_type="multipart/form-data")
    assert attached.status_code == 201, attached.get_json()
    job = client.post("/api/v1/epcis/capture", headers=bearer(tokens["admin"]),
                      json=world.capture_document(0))
    assert job.status_code == 202, job.get_json()
    world.capture_job = int(job.get_json()["captureID"])
    with factory() as session, session.begin():
        session.execute(update(User).where(User.name == users["disabled_user"])
                        .values(active=False))
    return world


# --- the table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    data: Any = None
    content_type: str | None = None
    csrf: bool = False  # a page form: send the session's CSRF token


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    expect: Mapping[str, int]
    call: Callable[[World, str], Call]
    auth: str = "bearer"  # bearer | session


def api(ok: int, *allowed: str, **special: int) -> dict[str, int]:
    """``ok`` for the allowed identities, 403 for the other signed-in ones, 401 for every
    request without a good token; ``special`` overrides single identities."""
    table = {i: 401 for i in NOT_SIGNED_IN}
    table |= {i: ok if i in allowed else 403 for i in SIGNED_IN}
    return table | special


def everyone(status: int, identities: tuple[str, ...] = API_IDENTITIES) -> dict[str, int]:
    return dict.fromkeys(identities, status)


DIRECTORY_READERS = SIGNED_IN  # territories, products, parties: every signed-in role


def page(ok: int, *allowed: str, **special: int) -> dict[str, int]:
    """``ok`` for the allowed roles (admin always), 403 for the others, the sign-in page
    (302) when nobody is signed in."""
    table = {"anonymous": 302, "disabled_user": 302}
    table |= {i: ok if i in ("admin", *allowed) else 403 for i in SIGNED_IN}
    return table | special


def get(path: str | Callable[[World], str]) -> Callable[[World, str], Call]:
    return lambda w, who: Call(path(w) if callable(path) else path)


V = "/api/v1"
ROWS: list[Row] = [
    # master data: admin writes, every signed-in role reads the directory
    Row("GET", f"{V}/territories", api(200, *DIRECTORY_READERS), get(f"{V}/territories")),
    Row("GET", f"{V}/territories/<path:code>", api(200, *DIRECTORY_READERS),
        get(f"{V}/territories/A1")),
    Row("POST", f"{V}/territories", api(201, "admin"), lambda w, who: Call(
        f"{V}/territories", json={"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"code": f"M{w.next()}", "parent": "B"},
            "geometry": {"type": "Polygon", "coordinates": [
                [[21, 1], [22, 1], [22, 2], [21, 2], [21, 1]]]}}]})),
    Row("GET", f"{V}/products", api(200, *DIRECTORY_READERS), get(f"{V}/products")),
    Row("POST", f"{V}/products", api(201, "admin"), lambda w, who: Call(
        f"{V}/products", json={"gtin": with_check_digit(f"950600{w.next():06d}"),
                               "name": "Matrix tea"})),
    Row("GET", f"{V}/parties", api(200, *DIRECTORY_READERS), get(f"{V}/parties")),
    Row("GET", f"{V}/parties/<path:party_id>", api(200, *DIRECTORY_READERS),
        get(f"{V}/parties/{PARTY_B}")),
    Row("POST", f"{V}/parties", api(201, "admin"), lambda w, who: Call(
        f"{V}/parties", json={"id": f"p-{w.next()}", "role": "retailer"})),
    # issuing: admin issues; compliance reads and recalls
    Row("POST", f"{V}/batches", api(201, "admin"), lambda w, who: Call(
        f"{V}/batches", json={"gtin": GTIN, "territory": "A", "quantity": 1})),
    Row("GET", f"{V}/batches", api(200, *STAFF), get(f"{V}/batches")),
    Row("GET", f"{V}/batches/<int:batch_id>", api(200, *STAFF),
        get(lambda w: f"{V}/batches/{w.batch_id}")),
    Row("GET", f"{V}/batches/<int:batch_id>/codes", api(200, *STAFF),
        get(lambda w: f"{V}/batches/{w.batch_id}/codes")),
    Row("GET", f"{V}/batches/<int:batch_id>/labels.pdf", api(200, *STAFF),
        get(lambda w: f"{V}/batches/{w.batch_id}/labels.pdf?limit=2")),
    Row("POST", f"{V}/batches/<int:batch_id>/recall", api(200, *STAFF), lambda w, who: Call(
        f"{V}/batches/{w.fresh_batch()}/recall", json={"reason": "matrix"})),
    Row("GET", f"{V}/serials/<serial>", api(200, *STAFF),
        get(lambda w: f"{V}/serials/{w.serials[0]}")),
    Row("GET", f"{V}/serials/<serial>/qr.png", api(200, *STAFF),
        get(lambda w: f"{V}/serials/{w.serials[0]}/qr.png")),
    # a trace is compliance's, also of an item the distributor holds
    Row("GET", f"{V}/serials/<serial>/trace", api(200, *STAFF),
        get(lambda w: f"{V}/serials/{w.serials[0]}/trace")),
    # custody: a distributor ships from and receives for its own party only
    Row("POST", f"{V}/shipments", api(201, "admin", "dist_a"), lambda w, who: Call(
        f"{V}/shipments", json={"from": PARTY_A, "to": PARTY_B,
                                "codes": w.held_by_a() if who in ("admin", "dist_a")
                                else w.serials[1:2]})),
    Row("GET", f"{V}/shipments", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/shipments")),
    Row("GET", f"{V}/shipments/<int:shipment_id>", api(200, *STAFF, "dist_a"),
        get(lambda w: f"{V}/shipments/{w.shipment_a}")),
    Row("POST", f"{V}/shipments/<int:shipment_id>/receive", api(200, "admin", "dist_a"),
        lambda w, who: Call(f"{V}/shipments/{w.shipment_pending}/receive")),
    Row("POST", f"{V}/containers", api(201, "admin", "dist_a"), lambda w, who: Call(
        f"{V}/containers", json={"party": PARTY_A, "kind": "case",
                                 "company_prefix": "9506000"})),
    Row("GET", f"{V}/containers/labels.pdf", api(200, *STAFF, *DISTRIBUTORS),
        get(f"{V}/containers/labels.pdf")),
    Row("GET", f"{V}/containers/<sscc>/qr.png", api(200, *STAFF, "dist_a"),
        get(lambda w: f"{V}/containers/{w.container_a}/qr.png")),
    Row("POST", f"{V}/containers/<sscc>/pack", api(200, "admin", "dist_a"), lambda w, who: Call(
        f"{V}/containers/{w.container_of_a()}/pack",
        json={"party": PARTY_A, "codes": w.held_by_a()})),
    Row("POST", f"{V}/containers/<sscc>/unpack", api(200, "admin", "dist_a"),
        lambda w, who: Call(f"{V}/containers/{w.packed_in_a_container()[0]}/unpack",
                            json={"party": PARTY_A})),
    Row("GET", f"{V}/custody-exceptions", api(200, *STAFF), get(f"{V}/custody-exceptions")),
    # EPCIS: admin captures; a distributor reads the events it took part in
    Row("POST", f"{V}/epcis/capture", api(202, "admin"), lambda w, who: Call(
        f"{V}/epcis/capture", json=w.capture_document(w.next()))),
    Row("GET", f"{V}/epcis/capture/<int:job_id>", api(200, "admin"),
        get(lambda w: f"{V}/epcis/capture/{w.capture_job}")),
    Row("POST", f"{V}/epcis/events", api(201, "admin"), lambda w, who: Call(
        f"{V}/epcis/events", json=w.event_document(w.next()))),
    Row("GET", f"{V}/epcis/events", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/epcis/events")),
    Row("GET", f"{V}/epcis/events/<path:event_id>", api(200, *STAFF, "dist_a"),
        get(lambda w: f"{V}/epcis/events/{quote(w.event_a, safe='')}")),
    Row("GET", f"{V}/epcis/", api(200, *SIGNED_IN), get(f"{V}/epcis/")),  # GS1's discovery
    Row("GET", f"{V}/epcis/capture", api(200, "admin"), get(f"{V}/epcis/capture")),
    Row("DELETE", f"{V}/epcis/nextPageToken/<path:token>", api(204, *SIGNED_IN),
        get(f"{V}/epcis/nextPageToken/abc")),  # whoever holds a token may release it
    # EPCIS top-level resources: what the reader's events hold (a distributor: its own);
    # the vocabulary (event types, CBV steps and dispositions) is no secret
    *(Row("GET", f"{V}/epcis/{name}", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/epcis/{name}"))
      for name in ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints",
                   "dispositions")),
    *(Row("GET", f"{V}/epcis/{name}/<path:value>{tail}",
          api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/epcis/{name}/{value}{tail}"))
      for name, value in (("eventTypes", "ObjectEvent"), ("bizSteps", "shipping"),
                          ("dispositions", "in_transit"))
      for tail in ("", "/events")),
    *(Row("GET", f"{V}/epcis/epcs/<path:value>{tail}",
          api(200, *STAFF, "dist_a", dist_b=404),
          get(lambda w, tail=tail: f"{V}/epcis/epcs/{quote(w.epc_a(), safe='')}{tail}"))
      for tail in ("", "/events")),
    *(Row("GET", f"{V}/epcis/readPoints/<path:value>{tail}",  # of a capture by the admin
          api(200, *STAFF, dist_a=404, dist_b=404),
          get(f"{V}/epcis/readPoints/{quote('urn:epc:id:sgln:9506000.00001.0', safe='')}"
              f"{tail}"))
      for tail in ("", "/events")),
    *(Row("GET", f"{V}/epcis/bizLocations/<path:value>{tail}",  # none held: not found
          api(404, *STAFF, *DISTRIBUTORS),
          get(f"{V}/epcis/bizLocations/{quote('urn:epc:id:sgln:9506000.00009.0', safe='')}"
              f"{tail}"))
      for tail in ("", "/events")),
    # EPCIS named queries: admin's; compliance and distributors read and run them (a
    # distributor sees the events it took part in); subscriptions: admin's, compliance reads
    Row("POST", f"{V}/epcis/queries", api(201, "admin"), lambda w, who: Call(
        f"{V}/epcis/queries", json={"name": f"m{w.next()}", "query": {}})),
    Row("GET", f"{V}/epcis/queries", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/epcis/queries")),
    Row("GET", f"{V}/epcis/queries/<query_name>", api(200, *STAFF, *DISTRIBUTORS),
        get(lambda w: f"{V}/epcis/queries/{w.query}")),
    Row("DELETE", f"{V}/epcis/queries/<query_name>", api(204, "admin"),
        lambda w, who: Call(f"{V}/epcis/queries/{w.fresh_query()}")),
    Row("GET", f"{V}/epcis/queries/<query_name>/events", api(200, *STAFF, *DISTRIBUTORS),
        get(lambda w: f"{V}/epcis/queries/{w.query}/events")),
    Row("POST", f"{V}/epcis/queries/<query_name>/subscriptions", api(201, "admin"),
        lambda w, who: Call(f"{V}/epcis/queries/{w.query}/subscriptions", json={
            "dest": f"https://hooks.example.com/s{w.next()}", "stream": True})),
    Row("GET", f"{V}/epcis/queries/<query_name>/subscriptions", api(200, *STAFF),
        get(lambda w: f"{V}/epcis/queries/{w.query}/subscriptions")),
    Row("GET", f"{V}/epcis/queries/<query_name>/subscriptions/<subscription_id>",
        api(200, *STAFF),
        get(lambda w: f"{V}/epcis/queries/{w.query}/subscriptions/{w.subscription}")),
    Row("DELETE", f"{V}/epcis/queries/<query_name>/subscriptions/<subscription_id>",
        api(204, "admin"), lambda w, who: Call(
            f"{V}/epcis/queries/{w.query}/subscriptions/{w.fresh_subscription()}")),
    # field scans: inspectors (their own scans), compliance reads
    Row("POST", f"{V}/scans", api(201, "admin", *INSPECTORS), lambda w, who: Call(
        f"{V}/scans", json={"code": digital_link(w.serials[2]), "latitude": IN_A[0],
                            "longitude": IN_A[1]})),
    Row("GET", f"{V}/scans", api(200, *STAFF, *INSPECTORS), get(f"{V}/scans")),
    Row("POST", f"{V}/scans/<int:scan_id>/evidence",
        api(201, "admin", "inspector", inspector_b=404), lambda w, who: Call(
            f"{V}/scans/{w.scan_id}/evidence", data={"note": f"seen by {who}"},
            content_type="multipart/form-data")),
    Row("GET", f"{V}/scans/<int:scan_id>/photo", api(200, *STAFF, "inspector", inspector_b=404),
        get(lambda w: f"{V}/scans/{w.scan_id}/photo")),
    # violations: compliance reviews, a distributor reads those attributed to it
    Row("GET", f"{V}/violations", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/violations")),
    Row("GET", f"{V}/violations/<int:violation_id>", api(200, *STAFF, "dist_a"),
        get(lambda w: f"{V}/violations/{w.violation_a}")),
    Row("PATCH", f"{V}/violations/<int:violation_id>", api(200, *STAFF), lambda w, who: Call(
        f"{V}/violations/{w.violation_a}",
        json={"status": w.next_status(w.violation_a), "note": f"by {who}"})),
    Row("GET", f"{V}/reports/flows", api(200, *STAFF, *DISTRIBUTORS), get(f"{V}/reports/flows")),
    Row("GET", f"{V}/reports/scorecard", api(200, *STAFF, *DISTRIBUTORS),
        get(f"{V}/reports/scorecard")),
    # the caller itself and its tokens; another user's token is admin's to revoke
    Row("GET", f"{V}/me", api(200, *SIGNED_IN), get(f"{V}/me")),
    Row("GET", f"{V}/tokens", api(200, *SIGNED_IN), get(f"{V}/tokens")),
    Row("POST", f"{V}/tokens", api(201, *SIGNED_IN), lambda w, who: Call(f"{V}/tokens")),
    Row("DELETE", f"{V}/tokens/<int:token_id>", api(200, "admin"),
        lambda w, who: Call(f"{V}/tokens/{w.victim_token()}")),
    Row("GET", f"{V}/openapi.json", everyone(200), get(f"{V}/openapi.json")),
    # webhooks: admin's; compliance reads
    Row("POST", f"{V}/webhooks", api(201, "admin"), lambda w, who: Call(
        f"{V}/webhooks", json={"url": "https://hooks.example.com/new",
                               "events": ["shipment.received"]})),
    Row("GET", f"{V}/webhooks", api(200, *STAFF), get(f"{V}/webhooks")),
    Row("PATCH", f"{V}/webhooks/<int:webhook_id>", api(200, "admin"), lambda w, who: Call(
        f"{V}/webhooks/{w.webhook}", json={"enabled": True})),
    Row("DELETE", f"{V}/webhooks/<int:webhook_id>", api(204, "admin"),
        lambda w, who: Call(f"{V}/webhooks/{w.fresh_webhook()}")),
    Row("GET", f"{V}/webhooks/<int:webhook_id>/deliveries", api(200, *STAFF),
        get(lambda w: f"{V}/webhooks/{w.webhook}/deliveries")),
    Row("POST", f"{V}/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        api(202, "admin"), lambda w, who: Call(
            f"{V}/webhooks/{w.webhook}/deliveries/{w.delivery}/redeliver")),
    # the scanner app: its shell is public (it signs in inside), its data by device token
    Row("GET", "/scan/names.json", api(200, "admin", *INSPECTORS), get("/scan/names.json")),
    # pages, by signed-in session
    Row("GET", "/", everyone(200, PAGE_IDENTITIES), get("/"), "session"),
    Row("GET", "/healthz", everyone(200, PAGE_IDENTITIES), get("/healthz"), "session"),
    Row("GET", "/language", everyone(302, PAGE_IDENTITIES), get("/language?lang=zh"),
        "session"),
    Row("GET", "/home", everyone(302, PAGE_IDENTITIES), get("/home"), "session"),
    Row("GET", "/login", everyone(302, PAGE_IDENTITIES) | {"anonymous": 200,
                                                          "disabled_user": 200},
        get("/login"), "session"),
    Row("POST", "/login", everyone(401, PAGE_IDENTITIES), lambda w, who: Call(
        "/login", data={"username": "nobody", "password": "wrong"}, csrf=True), "session"),
    Row("POST", "/logout", everyone(302, PAGE_IDENTITIES),
        lambda w, who: Call("/logout", data={}, csrf=True), "session"),
    Row("GET", "/01/<path:_rest>", everyone(200, PAGE_IDENTITIES),
        get(lambda w: f"/01/{GTIN}/21/{w.serials[9]}"), "session"),
    Row("POST", "/checks/position", everyone(400, PAGE_IDENTITIES), lambda w, who: Call(
        "/checks/position", json={"token": "forged", "latitude": 1, "longitude": 1}),
        "session"),
    Row("GET", "/static/<path:filename>", everyone(200, PAGE_IDENTITIES),
        get("/static/app.css"), "session"),
    Row("GET", "/scan", everyone(200, PAGE_IDENTITIES), get("/scan"), "session"),
    Row("GET", "/scan/sw.js", everyone(200, PAGE_IDENTITIES), get("/scan/sw.js"), "session"),
    Row("GET", "/scan/manifest.webmanifest", everyone(200, PAGE_IDENTITIES),
        get("/scan/manifest.webmanifest"), "session"),
    Row("GET", "/scan/session", everyone(200, PAGE_IDENTITIES), get("/scan/session"),
        "session"),
    Row("GET", "/scan/static/<path:filename>", everyone(200, PAGE_IDENTITIES),
        get("/scan/static/scanner.css"), "session"),
    Row("POST", "/scan/token", page(201, *INSPECTORS, anonymous=401, disabled_user=401),
        lambda w, who: Call("/scan/token", csrf=True), "session"),
    Row("GET", "/admin/", page(200), get("/admin/"), "session"),
    # the webhooks pages: admin's; compliance reads
    Row("GET", "/admin/webhooks", page(200, "compliance"), get("/admin/webhooks"), "session"),
    Row("POST", "/admin/webhooks", page(302), lambda w, who: Call(
        "/admin/webhooks", data={"url": "https://hooks.example.com/page",
                                 "events": "shipment.received"}, csrf=True), "session"),
    Row("GET", "/admin/webhooks/<int:webhook_id>", page(200, "compliance"),
        get(lambda w: f"/admin/webhooks/{w.webhook}"), "session"),
    Row("POST", "/admin/webhooks/<int:webhook_id>/enabled", page(302), lambda w, who: Call(
        f"/admin/webhooks/{w.webhook}/enabled", data={"enabled": "yes"}, csrf=True),
        "session"),
    Row("POST", "/admin/webhooks/<int:webhook_id>/delete", page(302), lambda w, who: Call(
        f"/admin/webhooks/{w.fresh_webhook()}/delete", data={}, csrf=True), "session"),
    Row("POST", "/admin/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        page(302), lambda w, who: Call(
            f"/admin/webhooks/{w.webhook}/deliveries/{w.delivery}/redeliver", data={},
            csrf=True), "session"),
    Row("GET", "/inspector/", page(200, *INSPECTORS), get("/inspector/"), "session"),
    Row("GET", "/portal/", page(200, *DISTRIBUTORS), get("/portal/"), "session"),
    Row("GET", "/compliance/", page(200, "compliance"), get("/compliance/"), "session"),
    Row("GET", "/compliance/violations", page(200, "compliance"),
        get("/compliance/violations"), "session"),
    Row("GET", "/compliance/violations.csv", page(200, "compliance"),
        get("/compliance/violations.csv"), "session"),
    Row("GET", "/compliance/violations/<int:violation_id>", page(200, "compliance"),
        get(lambda w: f"/compliance/violations/{w.violation_a}"), "session"),
    Row("GET", "/compliance/violations/<int:violation_id>/map.json", page(200, "compliance"),
        get(lambda w: f"/compliance/violations/{w.violation_a}/map.json"), "session"),
    Row("GET", "/compliance/violations/<int:violation_id>/case-file.pdf",
        page(200, "compliance"),
        get(lambda w: f"/compliance/violations/{w.violation_a}/case-file.pdf"), "session"),
    Row("GET", "/compliance/scans/<int:scan_id>/photo.jpg", page(200, "compliance"),
        get(lambda w: f"/compliance/scans/{w.scan_id}/photo.jpg"), "session"),
    Row("GET", "/compliance/scans/<int:scan_id>/thumbnail.jpg", page(200, "compliance"),
        get(lambda w: f"/compliance/scans/{w.scan_id}/thumbnail.jpg"), "session"),
    Row("POST", "/compliance/violations/<int:violation_id>/status", page(302, "compliance"),
        lambda w, who: Call(f"/compliance/violations/{w.violation_other}/status",
                            data={"status": w.next_status(w.violation_other),
                                  "reason": f"by {who}"}, csrf=True), "session"),
    Row("POST", "/compliance/violations/<int:violation_id>/assign", page(302, "compliance"),
        lambda w, who: Call(f"/compliance/violations/{w.violation_other}/assign",
                            data={"assignee": ""}, csrf=True), "session"),
    Row("POST", "/compliance/violations/<int:violation_id>/comments", page(302, "compliance"),
        lambda w, who: Call(f"/compliance/violations/{w.violation_other}/comments",
                            data={"body": f"noted by {who}"}, csrf=True), "session"),
    Row("POST", "/compliance/violations/bulk", page(302, "compliance"), lambda w, who: Call(
        "/compliance/violations/bulk", data={"ids": [str(w.violation_other)],
                                             "action": "assign", "assignee": ""},
        csrf=True), "session"),
    Row("GET", "/compliance/reports/", page(200, "compliance"), get("/compliance/reports/"),
        "session"),
    Row("GET", "/compliance/reports/flows-table", page(200, "compliance"),
        get("/compliance/reports/flows-table"), "session"),
    Row("GET", "/compliance/reports/flows-map.json", page(200, "compliance"),
        get("/compliance/reports/flows-map.json"), "session"),
    Row("GET", "/compliance/reports/flows.csv", page(200, "compliance"),
        get("/compliance/reports/flows.csv"), "session"),
    Row("GET", "/compliance/reports/scorecard.csv", page(200, "compliance"),
        get("/compliance/reports/scorecard.csv"), "session"),
]
# Signing out ends the session the later rows need: it goes last.
ROWS.sort(key=lambda row: row.rule == "/logout")


def route_keys(app: Any) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


# --- running the table --------------------------------------------------------------


@dataclass
class Outcome:
    checked: int = 0
    wrong: list[str] = field(default_factory=list)


def page_clients(app: Any, world: World) -> dict[str, Any]:
    """A test client per page identity, signed in as that identity (anonymous: none)."""
    clients: dict[str, Any] = {"anonymous": app.test_client()}
    for identity in SIGNED_IN:
        client = app.test_client()
        answer = sign_in(client, world.users[identity], PASSWORD)
        assert answer.status_code == 302, (identity, answer.status_code)
        clients[identity] = client
    clients["disabled_user"] = disabled_session(app, world)
    return clients


def disabled_session(app: Any, world: World) -> Any:
    """A session of a user signed in while active, and disabled since."""
    name = world.users["disabled_user"]
    with world.session() as session, session.begin():
        session.execute(update(User).where(User.name == name).values(active=True))
    client = app.test_client()
    assert sign_in(client, name, PASSWORD).status_code == 302
    with world.session() as session, session.begin():
        session.execute(update(User).where(User.name == name).values(active=False))
    return client


def send(client: Any, row: Row, call: Call, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    data = call.data
    if call.csrf:
        token = client.get("/scan/session").get_json()["csrf_token"]
        data = {**(data or {}), "csrf_token": token}
        if row.rule == "/scan/token":
            data = None
            headers = {**headers, "X-CSRFToken": token}
            kwargs["headers"] = headers
    if call.json is not None:
        kwargs["json"] = call.json
    if data is not None:
        kwargs["data"] = data
    if call.content_type:
        kwargs["content_type"] = call.content_type
    response = client.open(call.path, method=row.method, **kwargs)
    response.get_data()  # a streamed body (CSV) runs to its end inside its request
    response.close()
    return response


def run_table(app: Any, world: World, rows: list[Row]) -> Outcome:
    outcome = Outcome()
    clients = page_clients(app, world)
    for row in rows:
        for identity, expected in row.expect.items():
            call = row.call(world, identity)
            if row.auth == "session":
                response = send(clients[identity], row, call, {})
            else:
                token = None if identity == "anonymous" else world.tokens[identity]
                response = send(world.client, row, call, bearer(token))
            outcome.checked += 1
            if response.status_code != expected:
                body = response.get_data()[:200]
                outcome.wrong.append(f"{row.method} {call.path} as {identity}: "
                                     f"{response.status_code}, table says {expected} ({body})")
            elif row.auth == "session" and expected == 302 and identity in (
                    "anonymous", "disabled_user") and row.expect.get("admin") != 302:
                location = response.headers["Location"]
                if not location.startswith("/login?next="):
                    outcome.wrong.append(f"{row.method} {call.path} as {identity}: "
                                         f"sent to {location}, not to sign in")
    return outcome


@pytest.fixture()
def world(app, client, db, settings):  # type: ignore[no-untyped-def]
    return build_world(db, settings, client)


def test_every_route_has_a_row_and_every_row_a_route(app):  # type: ignore[no-untyped-def]
    table = {(row.method, row.rule) for row in ROWS}
    assert len(table) == len(ROWS), "a route has two rows"
    assert sorted(route_keys(app) - table) == [], "routes without a row in the table"
    assert sorted(table - route_keys(app)) == [], "rows of routes that no longer exist"


def test_every_row_names_every_identity():  # type: ignore[no-untyped-def]
    for row in ROWS:
        wanted = set(API_IDENTITIES if row.auth == "bearer" else PAGE_IDENTITIES)
        assert set(row.expect) == wanted, (row.method, row.rule)


def test_every_route_answers_every_identity_as_the_table_says(app, world):  # type: ignore[no-untyped-def]
    outcome = run_table(app, world, ROWS)
    print(f"\nauthorisation matrix: {len(ROWS)} routes, {outcome.checked} route x identity "
          f"requests checked")
    assert not outcome.wrong, "\n".join(outcome.wrong)
    assert outcome.checked == sum(len(row.expect) for row in ROWS)


# --- another party's objects, and lists that hold only one's own --------------------


@pytest.mark.parametrize("path", [
    "/api/v1/shipments/{w.shipment_b}",
    "/api/v1/violations/{w.violation_other}",
    "/api/v1/epcis/events/{w.event_other_quoted}",
    "/api/v1/containers/{w.container_b}/qr.png",
    "/api/v1/serials/{w.serials[6]}/trace",
    "/api/v1/serials/{w.serials[0]}/trace",
])
def test_a_distributor_is_refused_another_partys_object(world, path):  # type: ignore[no-untyped-def]
    response = world.client.get(path.format(w=world), headers=bearer(world.tokens["dist_a"]))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/shipments/{w.shipment_b}/receive", None),
    ("POST", "/api/v1/containers/{w.container_b}/pack",
     {"party": PARTY_B, "codes": ["{w.serials[6]}"]}),
    ("POST", "/api/v1/containers/{w.container_b}/unpack", {"party": PARTY_B}),
    ("POST", "/api/v1/shipments", {"from": PARTY_B, "to": PARTY_A,
                                   "codes": ["{w.serials[6]}"]}),
    ("POST", "/api/v1/containers", {"party": PARTY_B, "kind": "case",
                                    "company_prefix": "9506000"}),
])
def test_a_distributor_may_not_act_for_another_party(world, method, path, body):  # type: ignore[no-untyped-def]
    if body is not None:
        body = {k: [c.format(w=world) for c in v] if isinstance(v, list) else v
                for k, v in body.items()}
    response = world.client.open(path.format(w=world), method=method, json=body,
                                 headers=bearer(world.tokens["dist_a"]))
    assert response.status_code == 403, response.get_json()


def test_an_inspector_does_not_see_another_inspectors_scan(world):  # type: ignore[no-untyped-def]
    response = world.client.get(f"/api/v1/scans/{world.scan_id}/photo",
                                headers=bearer(world.tokens["inspector_b"]))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_scan"
    listed = world.client.get("/api/v1/scans", headers=bearer(world.tokens["inspector_b"]))
    assert listed.get_json()["items"] == []


def test_lists_hold_only_the_distributors_own_rows(world):  # type: ignore[no-untyped-def]
    def items(path: str, who: str) -> list[dict[str, Any]]:
        response = world.client.get(path, headers=bearer(world.tokens[who]))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]  # type: ignore[no-any-return]

    shipments_a = items("/api/v1/shipments", "dist_a")
    assert {s["id"] for s in shipments_a} == {world.shipment_a, world.shipment_pending}
    assert items(f"/api/v1/shipments?from=brand&to={PARTY_A}", "dist_b") == []
    assert {s["id"] for s in items("/api/v1/shipments", "dist_b")} == {world.shipment_b}
    assert [v["id"] for v in items("/api/v1/violations", "dist_a")] == [world.violation_a]
    assert items("/api/v1/violations", "dist_b") == []
    assert items(f"/api/v1/violations?party={PARTY_A}", "dist_b") == []


def events_of(world: World, who: str, query: str = "") -> set[str]:
    response = world.client.get(f"/api/v1/epcis/events?perPage=1000{query}",
                                headers=bearer(world.tokens[who]))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()["epcisBody"]["queryResults"]["resultsBody"]
    return {e["eventID"] for e in body["eventList"]}


def test_a_distributor_queries_only_the_events_it_took_part_in(world):  # type: ignore[no-untyped-def]
    everything = events_of(world, "compliance")
    seen_by_a = events_of(world, "dist_a")
    assert world.event_a in seen_by_a
    assert world.event_other not in seen_by_a
    assert seen_by_a < everything
    assert world.event_a not in events_of(world, "dist_b")
    assert world.event_other in events_of(world, "dist_b")
    # a filter naming A's items does not widen what B sees
    epc = f"urn:epc:id:sgtin:9506000.013435.{world.serials[0]}"
    assert events_of(world, "dist_b", f"&MATCH_anyEPC={epc}") == set()
    assert world.event_a in events_of(world, "dist_a", f"&MATCH_anyEPC={epc}")


def test_a_revoked_token_is_refused_at_once_after_it_worked(world):  # type: ignore[no-untyped-def]
    headers = bearer(world.tokens["dist_a"])
    assert world.client.get("/api/v1/me", headers=headers).status_code == 200
    mine = world.client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    assert world.client.delete(f"/api/v1/tokens/{mine[0]['id']}",
                               headers=headers).status_code == 200
    refused = world.client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize(("identity", "code"), [
    ("anonymous", "unauthorized"), ("wrong_token", "invalid_token"),
    ("revoked_token", "invalid_token"), ("expired_token", "token_expired"),
    ("disabled_user", "invalid_token")])
def test_a_request_without_a_good_token_says_why(world, identity, code):  # type: ignore[no-untyped-def]
    token = None if identity == "anonymous" else world.tokens[identity]
    response = world.client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tracker"'


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/tokens?user=matrix-admin"),
    ("POST", "/api/v1/tokens?user=matrix-admin"),
])
@pytest.mark.parametrize("who", ["compliance", "inspector", "dist_a"])
def test_only_admin_acts_on_another_users_tokens(world, method, path, who):  # type: ignore[no-untyped-def]
    response = world.client.open(path, method=method, headers=bearer(world.tokens[who]))
    assert response.status_code == 403, response.get_json()


def test_the_api_ignores_a_signed_in_page_session(app, world):  # type: ignore[no-untyped-def]
    """The API authenticates by bearer token only: a page visited while signed in cannot
    make the browser call it with the person's rights (no CSRF through the API)."""
    client = app.test_client()
    assert sign_in(client, world.users["admin"], PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert client.post("/api/v1/products", json={"gtin": with_check_digit("9506000999999"),
                                                 "name": "x"}).status_code == 401


PAGE_FORMS = [row for row in ROWS if row.auth == "session" and row.method == "POST"
              and row.rule not in ("/checks/position",)]


@pytest.mark.parametrize("row", PAGE_FORMS, ids=lambda row: row.rule)
def test_a_page_form_without_its_csrf_token_is_refused(app, world, row):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert sign_in(client, world.users["admin"], PASSWORD).status_code == 302
    call = row.call(world, "admin")
    response = send(client, row, Call(call.path, json=call.json, data=call.data), {})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 200, "the session is still signed in"


def test_a_distributor_sees_the_epcis_events_that_moved_its_goods(world):  # type: ignore[no-untyped-def]
    """Captured events count as the /shipments ones do: shipped to A, A sees it; a
    shipping event naming A for goods it never got (a custody exception) it does not."""
    from tracker.services.events import party_uri

    def hop(serial: str, source: str, destination: str, second: int) -> dict[str, Any]:
        return {"type": "ObjectEvent", "eventTime": f"2026-03-01T10:00:{second:02d}.000Z",
                "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
                "epcList": [f"https://id.gs1.org/01/{GTIN}/21/{serial}"],
                "bizStep": "shipping", "disposition": "in_transit",
                "sourceList": [{"type": "owning_party", "source": party_uri(source)}],
                "destinationList": [{"type": "owning_party",
                                     "destination": party_uri(destination)}]}

    shipped, stray = hop(world.serials[8], "brand", PARTY_A, 1), hop(
        world.serials[9], PARTY_B, PARTY_A, 2)  # B never held serial 9: not moved
    ids = []
    for event_ in (shipped, stray):
        answer = world.client.post("/api/v1/epcis/events", json=event_,
                                   headers=bearer(world.tokens["admin"]))
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["eventID"])
    assert ids[0] in events_of(world, "dist_a")
    assert ids[1] not in events_of(world, "dist_a")
    assert ids[0] not in events_of(world, "dist_b")
    one = world.client.get(f"/api/v1/epcis/events/{quote(ids[0], safe='')}",
                           headers=bearer(world.tokens["dist_a"]))
    assert one.status_code == 200
    assert world.client.get(f"/api/v1/epcis/events/{quote(ids[0], safe='')}",
                            headers=bearer(world.tokens["dist_b"])).status_code == 403
