"""Territories, products, parties and users through the services."""

from __future__ import annotations

import pytest
import shapely

from tests.conftest import MAPS, load_json
from tracker.errors import AuthenticationRequired, Conflict, InvalidGeoJSON, InvalidInput
from tracker.models import Territory
from tracker.services import auth, masterdata


def square(code: str, x: float, y: float, size: float = 1.0, **props: object) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Feature", "properties": {"code": code, "name": code, **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def test_china_provinces_import_by_code_property(session, system):
    result = masterdata.import_territories(
        session, collection=load_json(MAPS / "cn_provinces_ne10m.geojson"),
        code_property="iso_3166_2", actor=system)
    assert (result.created, result.updated) == (32, 0)
    gd = masterdata.get_territory(session, "CN-GD", actor=system)
    assert gd.name == "Guangdong"
    guangzhou = shapely.Point(113.26, 23.13)
    assert shapely.from_wkb(gd.geometry_wkb).contains(guangzhou)
    assert gd.min_lon < 113.26 < gd.max_lon


def test_reposting_a_code_replaces_its_geometry(session, system):
    masterdata.import_territories(session, collection=collection(square("A", 0, 0)),
                                  actor=system)
    result = masterdata.import_territories(
        session, collection=collection(square("A", 10, 10)), actor=system)
    assert (result.created, result.updated) == (0, 1)
    a = masterdata.get_territory(session, "A", actor=system)
    assert shapely.from_wkb(a.geometry_wkb).contains(shapely.Point(10.5, 10.5))
    assert session.query(Territory).count() == 1


def test_region_without_geometry_holds_its_children(session, system):
    region = {"type": "Feature", "properties": {"code": "R", "name": "Region"}, "geometry": None}
    masterdata.import_territories(
        session, collection=collection(square("A", 0, 0, parent="R"), region,
                                       square("B", 1, 0, parent="R")), actor=system)
    r = masterdata.get_territory(session, "R", actor=system)
    assert r.geometry_wkb is None
    assert [t.code for t in masterdata.children_of(session, r)] == ["A", "B"]


def test_parent_that_does_not_exist_is_named(session, system):
    with pytest.raises(InvalidGeoJSON) as info:
        masterdata.import_territories(
            session, collection=collection(square("A", 0, 0, parent="NOPE")), actor=system)
    assert info.value.message == (
        "feature 'A': parent 'NOPE' is neither in this collection nor a known territory")


def test_parent_cycle_through_existing_territories_is_refused(session, system):
    masterdata.import_territories(session, collection=collection(
        square("A", 0, 0), square("B", 1, 0, parent="A")), actor=system)
    with pytest.raises(InvalidGeoJSON, match="parent links form a cycle"):
        masterdata.import_territories(
            session, collection=collection(square("A", 0, 0, parent="B")), actor=system)


@pytest.mark.parametrize(
    ("gtin", "stored"),
    [("96385074", "00000096385074"), ("036000291452", "00036000291452"),
     ("4006381333931", "04006381333931"), ("09506000134352", "09506000134352")],
)
def test_products_store_gtin_14(session, system, gtin, stored):
    assert masterdata.create_product(session, gtin=gtin, name="X", actor=system).gtin == stored


def test_same_gtin_twice_conflicts(session, system):
    masterdata.create_product(session, gtin="4006381333931", name="X", actor=system)
    with pytest.raises(Conflict) as info:
        masterdata.create_product(session, gtin="04006381333931", name="Y", actor=system)
    assert info.value.message == "product with GTIN 04006381333931 already exists"


def test_party_tiers_follow_parents(session, system):
    masterdata.import_territories(session, collection=collection(square("A", 0, 0)),
                                  actor=system)
    masterdata.create_party(session, id="brand", name="B", role="brand", actor=system)
    masterdata.create_party(session, id="t1", name="T1", role="distributor",
                            territories=["A"], parent="brand", actor=system)
    t2 = masterdata.create_party(session, id="t2", name="T2", role="distributor",
                                 territories=["A"], parent="t1", actor=system)
    assert t2.tier == 2 and [t.code for t in t2.territories] == ["A"]


def test_party_with_unknown_territory_names_it(session, system):
    with pytest.raises(InvalidInput) as info:
        masterdata.create_party(session, id="d", name="D", role="distributor",
                                territories=["ZZ", "YY"], actor=system)
    assert info.value.message == (
        "unknown territory 'ZZ', 'YY'; import it first with POST /territories")


def test_token_is_stored_hashed_and_authenticates(session, system):
    user, token = auth.create_user(session, name="ins", role="inspector", actor=system)
    stored = [t.token_hash for t in session.query(auth.ApiToken).all()]
    assert token not in stored and auth.hash_token(token) in stored
    actor = auth.authenticate_token(session, token)
    assert (actor.name, actor.role.value, actor.user_id) == ("ins", "inspector", user.id)
    with pytest.raises(AuthenticationRequired):
        auth.authenticate_token(session, token + "x")


def test_password_sign_in(session, system):
    auth.create_user(session, name="c", role="compliance", password="s3cret!", actor=system)
    assert auth.authenticate_password(session, "c", "s3cret!").role.value == "compliance"
    with pytest.raises(AuthenticationRequired, match="wrong user name or password"):
        auth.authenticate_password(session, "c", "wrong")


def test_distributor_user_needs_a_party(session, system):
    with pytest.raises(InvalidInput, match="needs --party"):
        auth.create_user(session, name="d", role="distributor", actor=system)
