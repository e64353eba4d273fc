"""A realistic demo: real maps, a brand, tiers of distributors and batches per territory.

Every step looks for what an earlier run made, so running it twice adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.domain.gs1 import gs1_check_digit
from tracker.models import Batch, Party, Product, User
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
    def region(code: str, name: str) -> dict[str, Any]:
        return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": None}

    return {"type": "FeatureCollection",
            "features": [region("CN", "China"), region("US", "United States")]}


def cities() -> dict[str, Any]:
    features = []
    for code, name, parent, (x0, y0, x1, y1) in CITIES:
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        features.append({"type": "Feature",
                         "properties": {"code": code, "name": name, "parent": parent},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def load_demo(session: Session, *, settings: Settings,
              log: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    summary: dict[str, Any] = {"territories": {}, "products": 0, "parties": 0, "batches": 0,
                               "serials": 0, "users": []}
    for label, collection, code_property in [
        ("regions", regions(), None),
        ("China provinces", china_provinces(), "iso_3166_2"),
        ("US states", us_states(), None),
        ("cities", cities(), None),
    ]:
        result = masterdata.import_territories(session, collection=collection,
                                               code_property=code_property, actor=SYSTEM)
        log(f"territories: {label}: {result.created} created, {result.updated} refreshed")
        summary["territories"][label] = len(result.codes)

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

    for name, role, ref, password in DEMO_USERS:
        if session.scalar(select(User.id).where(User.name == name)) is None:
            auth.create_user(session, name=name, role=role,
                             party_id=pgln(ref) if ref else None, password=password,
                             actor=SYSTEM)
            summary["users"].append({"name": name, "role": role, "password": password})
    return summary
