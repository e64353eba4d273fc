"""A realistic demo: real maps, a brand, tiers of distributors and batches per territory.

Every step looks for what an earlier run made, so running it twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from geopy.distance import geodesic
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.db import utcnow
from tracker.domain.gs1 import gs1_check_digit
from tracker.domain.serials import with_check_character
from tracker.domain.territory_index import TerritoryIndex
from tracker.models import Batch, Party, Product, Serial, Shipment, User
from tracker.services import auth, issuing, masterdata
from tracker.services.auth import SYSTEM

US_POSTAL = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT",
    "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL",
    "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD",
    "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
    "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND",
    "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV",
    "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
}

# City sales areas for tier-2 distributors, drawn as simple boxes around the city
# centre (lon/lat): enough to show an expectation narrowed below a province.
CITIES = [
    ("CN-GD-GZ", "Guangzhou", "CN-GD", (113.10, 22.70, 113.70, 23.40)),
    ("CN-GD-SZ", "Shenzhen", "CN-GD", (113.75, 22.45, 114.60, 22.85)),
    ("CN-ZJ-HZ", "Hangzhou", "CN-ZJ", (119.70, 29.90, 120.50, 30.50)),
    ("CN-SC-CD", "Chengdu", "CN-SC", (103.70, 30.40, 104.40, 30.90)),
    ("US-CA-LA", "Los Angeles", "US-CA", (-118.70, 33.70, -117.90, 34.35)),
    ("US-CA-SF", "San Francisco Bay", "US-CA", (-122.55, 37.40, -121.80, 37.95)),
    ("US-NY-NYC", "New York City", "US-NY", (-74.26, 40.49, -73.70, 40.92)),
]
# Chinese names, as the China map carries them for provinces (properties.name_zh).
CITY_NAMES_ZH = {"CN-GD-GZ": "广州市", "CN-GD-SZ": "深圳市", "CN-ZJ-HZ": "杭州市",
                 "CN-SC-CD": "成都市", "US-CA-LA": "洛杉矶", "US-CA-SF": "旧金山湾区",
                 "US-NY-NYC": "纽约市"}

BRAND_PREFIX = "6901234"
BRAND = ("urn:epc:id:pgln:6901234.00001", "Lotus Tea Co.")
PRODUCTS = [("00011", "Lotus Jasmine Green Tea 250 g"), ("00028", "Lotus Oolong 500 g"),
            ("00035", "Lotus Pu-erh Cake 357 g")]
TIER1 = [  # (territory, location reference, name)
    ("CN-GD", "10001", "Guangdong Southern Trading"),
    ("CN-ZJ", "10002", "Zhejiang Westlake Distribution"),
    ("CN-SC", "10003", "Sichuan Tianfu Supply"),
    ("CN-BJ", "10004", "Beijing Capital Wholesale"),
    ("CN-SH", "10005", "Shanghai Pudong Logistics"),
    ("US-CA", "20001", "Pacific Tea Imports"),
    ("US-NY", "20002", "Empire Fine Foods"),
    ("US-TX", "20003", "Lone Star Grocery Supply"),
]
TIER2 = [  # (city territory, location reference, name, tier-1 location reference)
    ("CN-GD-GZ", "11001", "Guangzhou Pearl River Retail Supply", "10001"),
    ("CN-GD-SZ", "11002", "Shenzhen Bay Merchants", "10001"),
    ("CN-ZJ-HZ", "11003", "Hangzhou Longjing Trading", "10002"),
    ("CN-SC-CD", "11004", "Chengdu Jinjiang Distribution", "10003"),
    ("US-CA-LA", "21001", "LA Basin Foods", "20001"),
    ("US-CA-SF", "21002", "Bay Area Provisions", "20001"),
    ("US-NY-NYC", "21003", "Five Boroughs Grocery", "20002"),
]
RETAILERS = [  # (territory, location reference, name, supplier location reference)
    ("CN-GD-SZ", "12001", "Futian Tea House", "11002"),
    ("US-CA-LA", "22001", "Silver Lake Market", "21001"),
]
DEMO_USERS = [  # (name, role, party location reference or None, password)
    ("admin", "admin", None, "demo-admin"),
    ("compliance", "compliance", None, "demo-compliance"),
    ("inspector", "inspector", None, "demo-inspector"),
    ("gd-distributor", "distributor", "10001", "demo-distributor"),
]
SERIALS_PER_BATCH = 500


def pgln(location_reference: str) -> str:
    return f"urn:epc:id:pgln:{BRAND_PREFIX}.{location_reference}"


def demo_gtin(item_reference: str) -> str:
    body = "0" + BRAND_PREFIX + item_reference  # GTIN-13 padded to 14 (indicator 0)
    return body + gs1_check_digit(body)


def load_map(name: str) -> dict[str, Any]:
    return json.loads((files("tracker.data") / "maps" / name).read_text(encoding="utf-8"))


def china_provinces() -> dict[str, Any]:
    collection = load_map("cn_provinces_ne10m.geojson")
    for feature in collection["features"]:
        feature["properties"]["parent"] = "CN"
    return collection


def us_states() -> dict[str, Any]:
    collection = load_map("us_states.geojson")
    for feature in collection["features"]:
        fips = str(feature.pop("id"))
        feature["properties"]["code"] = f"US-{US_POSTAL[fips]}"
        feature["properties"]["fips"] = fips
        feature["properties"]["parent"] = "US"
    return collection


def regions() -> dict[str, Any]:
    def region(code: str, name: str, name_zh: str) -> dict[str, Any]:
        return {"type": "Feature", "properties": {"code": code, "name": name, "name_zh": name_zh},
                "geometry": None}

    return {"type": "FeatureCollection",
            "features": [region("CN", "China", "中国"), region("US", "United States", "美国")]}


def cities() -> dict[str, Any]:
    features = []
    for code, name, parent, (x0, y0, x1, y1) in CITIES:
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        features.append({"type": "Feature",
                         "properties": {"code": code, "name": name, "parent": parent,
                                        "name_zh": CITY_NAMES_ZH[code]},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def load_maps(session: Session, *, log: Callable[[str], None] = lambda _msg: None
              ) -> dict[str, int]:
    """The shipped maps: regions CN and US, China's provinces, the US states and a few
    city areas; how many territories each map holds."""
    counts = {}
    for label, collection, code_property in [
        ("regions", regions(), None),
        ("China provinces", china_provinces(), "iso_3166_2"),
        ("US states", us_states(), None),
        ("cities", cities(), None),
    ]:
        result = masterdata.import_territories(session, collection=collection,
                                               code_property=code_property, actor=SYSTEM)
        log(f"territories: {label}: {result.created} created, {result.updated} refreshed")
        counts[label] = len(result.codes)
    return counts


def load_demo(session: Session, *, settings: Settings,
              log: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    summary: dict[str, Any] = {"territories": load_maps(session, log=log), "products": 0,
                               "parties": 0, "batches": 0, "serials": 0, "users": []}

    for item_reference, name in PRODUCTS:
        gtin = demo_gtin(item_reference)
        if session.get(Product, gtin) is None:
            masterdata.create_product(session, gtin=gtin, name=name,
                                      company_prefix_length=len(BRAND_PREFIX), actor=SYSTEM)
            summary["products"] += 1

    def party(party_id: str, name: str, role: str, territories: list[str],
              parent: str | None) -> None:
        if session.get(Party, party_id) is None:
            masterdata.create_party(session, id=party_id, name=name, role=role,
                                    territories=territories, parent=parent, actor=SYSTEM)
            summary["parties"] += 1

    party(BRAND[0], BRAND[1], "brand", ["CN", "US"], None)
    for territory, ref, name in TIER1:
        party(pgln(ref), name, "distributor", [territory], BRAND[0])
    for territory, ref, name, supplier in TIER2:
        party(pgln(ref), name, "distributor", [territory], pgln(supplier))
    for territory, ref, name, supplier in RETAILERS:
        party(pgln(ref), name, "retailer", [territory], pgln(supplier))
    log(f"parties: {summary['parties']} created")

    for territory, _ref, _name in TIER1:
        for item_reference, _product in PRODUCTS:
            gtin = demo_gtin(item_reference)
            lot = f"D{territory[-2:]}{item_reference[-2:]}"
            exists = session.scalar(
                select(Batch.id).where(Batch.gtin == gtin, Batch.lot == lot).limit(1)
            )
            if exists is None:
                batch = issuing.issue_batch(session, gtin=gtin, territory=territory,
                                            quantity=SERIALS_PER_BATCH, lot=lot, actor=SYSTEM,
                                            settings=settings)
                summary["batches"] += 1
                summary["serials"] += batch.quantity
    log(f"batches: {summary['batches']} issued ({summary['serials']} serials)")

    for user_name, role, party_ref, password in DEMO_USERS:
        if session.scalar(select(User.id).where(User.name == user_name)) is None:
            auth.create_user(session, name=user_name, role=role,
                             party_id=pgln(party_ref) if party_ref else None, password=password,
                             actor=SYSTEM)
            summary["users"].append({"name": user_name, "role": role, "password": password})
    summary["activity"] = load_activity(session, settings=settings, log=log)
    return summary


def point_outside(index: TerritoryIndex, code: str, start: tuple[float, float],
                  metres: float, bearing: float) -> tuple[float, float]:
    """A (lat, lon) point ``metres`` outside territory ``code``, found by walking from
    ``start`` (outside it) along ``bearing`` towards it on the real map."""
    lat, lon = start
    for _ in range(60):
        gap = index.distance_to_boundary_m([code], lon, lat)
        if abs(gap - metres) < 1:
            return lat, lon
        point = geodesic(meters=gap - metres).destination((lat, lon), bearing)
        lat, lon = point.latitude, point.longitude
    raise ValueError(f"could not place a point {metres} m outside {code} from {start}")


PLACES = {  # (lat, lon)
    "Shenzhen": (22.54, 114.06), "Guangzhou": (23.13, 113.26), "Hangzhou": (30.27, 120.15),
    "Beijing": (39.90, 116.40), "Chengdu": (30.66, 104.07), "Los Angeles": (34.05, -118.24),
    "Las Vegas": (36.17, -115.14),
}


def load_activity(session: Session, *, settings: Settings,
                  log: Callable[[str], None] = lambda _msg: None) -> dict[str, int]:
    """Shipments down the tiers (one leaking across provinces), a pallet in transit, a
    partial receipt, a recall and scans giving every verdict. Done once."""
    if session.scalar(select(func.count()).select_from(Shipment)):
        return {"shipments": 0, "scans": 0}
    from tracker.services import custody, scans, violations
    from tracker.services.territory_cache import territory_index

    def serials(territory: str, item_reference: str) -> tuple[Batch, list[str]]:
        batch = session.scalars(select(Batch).where(
            Batch.lot == f"D{territory[-2:]}{item_reference[-2:]}")).one()
        return batch, list(session.scalars(select(Serial.serial).where(
            Serial.batch_id == batch.id).order_by(Serial.serial)))

    def hand_off(chain: list[tuple[str, str]], codes: list[str], receive: int | None = None
                 ) -> None:
        for sender, receiver in chain:
            shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                               codes=codes, actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM,
                                     codes=None if receive is None else codes[:receive])

    brand, gd, sz, futian, zj = BRAND[0], pgln("10001"), pgln("11002"), pgln("12001"), \
        pgln("10002")
    _, gd_tea = serials("CN-GD", "00011")
    hand_off([(brand, gd)], gd_tea[:100])
    hand_off([(gd, sz)], gd_tea[:40])
    hand_off([(sz, futian)], gd_tea[:10])
    hand_off([(gd, zj)], gd_tea[60:70])  # the leak: Guangdong stock sold into Zhejiang
    _, bj_tea = serials("CN-BJ", "00011")
    hand_off([(brand, pgln("10004"))], bj_tea[:10], receive=8)
    _, sh_tea = serials("CN-SH", "00011")
    cases = custody.create_containers(session, party=brand, kind="case", count=2, actor=SYSTEM)
    (pallet,) = custody.create_containers(session, party=brand, kind="pallet", actor=SYSTEM)
    custody.pack(session, party=brand, container=cases[0].sscc, codes=sh_tea[:20], actor=SYSTEM)
    custody.pack(session, party=brand, container=cases[1].sscc, codes=sh_tea[20:40],
                 actor=SYSTEM)
    custody.pack(session, party=brand, container=pallet.sscc, codes=[c.sscc for c in cases],
                 actor=SYSTEM)
    custody.record_shipment(session, from_party=brand, to_party=pgln("10005"),
                            codes=[pallet.sscc], actor=SYSTEM)  # left in transit
    _, ca_tea = serials("US-CA", "00011")
    hand_off([(brand, pgln("20001")), (pgln("20001"), pgln("21001"))], ca_tea[:20])
    sc_batch, sc_cake = serials("CN-SC", "00035")
    violations.recall_batch(session, sc_batch.id, reason="label misprint: wrong expiry",
                            actor=SYSTEM)

    inspector_user = session.scalars(select(User).where(User.name == "inspector")).one()
    inspector = auth.actor_for(inspector_user)
    index = territory_index(session)
    near_gd = point_outside(index, "CN-GD", (26.0, 113.0), 40.0, bearing=180)
    fake = with_check_character("23456789ABCDEF")
    base = utcnow() - dt.timedelta(days=3)
    plan: list[tuple[str, str | tuple[float, float], int, float | None]] = [
        (gd_tea[5], "Shenzhen", 0, None),        # authentic at a retailer in its city
        (gd_tea[60], "Hangzhou", 60, None),      # diverted: the GD tier-1 leaked it
        (gd_tea[61], "Hangzhou", 65, None),
        (gd_tea[80], near_gd, 120, 100.0),       # near the border: not a violation
        (fake, "Guangzhou", 180, None),          # unknown code: a counterfeit label
        (gd_tea[90], "Shenzhen", 240, None),     # one code, two places 40 minutes apart
        (gd_tea[90], "Beijing", 280, None),
        (sc_cake[0], "Chengdu", 300, None),      # recalled
        (ca_tea[3], "Las Vegas", 400, None),     # diverted across state lines
        (ca_tea[4], "Los Angeles", 420, None),
    ]
    answers = []
    for n, (serial, place, minutes, accuracy) in enumerate(plan):
        lat, lon = PLACES[place] if isinstance(place, str) else place
        gtin = demo_gtin("00035") if serial in sc_cake else demo_gtin("00011")
        answers.append(scans.record_scan(session, scans.ScanRequest(
            code=f"{settings.dl_base}/01/{gtin}/21/{serial}", latitude=lat, longitude=lon,
            accuracy_m=accuracy, scanned_at=base + dt.timedelta(minutes=minutes),
            client_scan_id=f"demo-{n}", device_id="demo-phone"), actor=inspector,
            settings=settings))
    diverted = next(a for a in answers if a["verdict"] == "diverted")
    violations.review(session, diverted["violation_id"], status="investigating",
                      note="asked the Guangdong distributor for its sales records",
                      actor=SYSTEM)
    log(f"activity: shipments down the tiers and {len(answers)} scans: "
        + ", ".join(sorted({a["verdict"] for a in answers})))
    return {"shipments": session.scalar(select(func.count()).select_from(Shipment)) or 0,
            "scans": len(answers)}
