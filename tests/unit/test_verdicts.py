"""The verdict rules on the real maps: order of the rules, borders, clones, expectations
narrowed to a tier-2 city, and who answers for a diverted item."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.unit.test_territory_index import (
    GD_GX_VERTEX,
    GUANGZHOU,
    HANGZHOU,
    SHAOGUAN,
    SHENZHEN,
    china_us,
    china_us_geometry,
    moved,
    outside_by,
)
from tracker.domain.verdicts import (
    Judgement,
    Place,
    ScanPoint,
    Verdict,
    expected_territories,
    judge,
    latest_authorised_custodian,
    locate,
    may_exceed_speed,
    party_is_authorised,
    responsible_party,
    travel_speed_kmh,
)

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

# The demo's chain: brand -> tier 1 (Guangdong) -> tier 2 (Shenzhen) -> a retailer in
# Zhejiang, who is not authorised for a Guangdong batch.
PARTY_TERRITORIES = {
    "brand": ["CN", "US"],
    "t1-guangdong": ["CN-GD"],
    "t2-shenzhen": ["CN-GD-SZ"],
    "t2-guangzhou": ["CN-GD-GZ"],
    "retailer-zhejiang": ["CN-ZJ"],
    "importer-california": ["US-CA"],
}


def at(point: tuple[float, float], when: dt.datetime = T0) -> ScanPoint:
    lon, lat = point
    return ScanPoint(lat=lat, lon=lon, at=when)


def judged(
    point: tuple[float, float],
    *,
    known: bool = True,
    expected: Sequence[str] = ("CN-GD",),
    **facts: Any,
) -> Judgement:
    lon, lat = point
    return judge(
        china_us(),
        latitude=lat,
        longitude=lon,
        at=T0,
        known=known,
        expected_territories=expected,
        **facts,
    )


def authorised_for(territory: str) -> Callable[[str], bool]:
    """Whether a party of PARTY_TERRITORIES is authorised for the territory."""
    return lambda party: party_is_authorised(china_us(), PARTY_TERRITORIES[party], territory)


# 30 m outside Guangdong, in Guangxi, off a real border vertex.
NEAR_BORDER = outside_by(china_us_geometry("CN-GD"), GD_GX_VERTEX, 30.0)
# 2,000 km due north of Guangzhou.
FAR_NORTH = moved(*GUANGZHOU, 0.0, 2_000_000.0)


# --- the verdict words --------------------------------------------------------------------


def test_verdict_words_are_the_contract_s() -> None:
    assert [v.value for v in Verdict] == [
        "unknown_code",
        "recalled",
        "suspected_clone",
        "diverted",
        "authentic",
    ]


# --- authentic and diverted -----------------------------------------------------------------


def test_a_scan_inside_the_expected_territory_is_authentic() -> None:
    assert judged(SHAOGUAN) == Judgement(Verdict.AUTHENTIC, False, ["CN-GD"], "CN-GD", [])


def test_a_scan_in_another_province_is_diverted() -> None:
    assert judged(HANGZHOU) == Judgement(
        Verdict.DIVERTED, False, ["CN-GD"], "CN-ZJ-HZ", ["outside_expected"]
    )


def test_a_scan_outside_every_known_territory_is_diverted_with_no_found_territory() -> None:
    assert judged((2.352, 48.857)) == Judgement(  # Paris
        Verdict.DIVERTED, False, ["CN-GD"], None, ["outside_expected"]
    )


def test_a_scan_in_a_region_defined_by_its_children_is_authentic() -> None:
    assert judged(HANGZHOU, expected=["CN"]) == Judgement(
        Verdict.AUTHENTIC, False, ["CN"], "CN-ZJ-HZ", []
    )


@pytest.mark.parametrize(
    ("accuracy_m", "tolerance_m", "verdict", "near_border", "flags"),
    [
        (50.0, 0.0, Verdict.AUTHENTIC, True, ["near_border"]),
        (30.5, 0.0, Verdict.AUTHENTIC, True, ["near_border"]),
        (29.5, 0.0, Verdict.DIVERTED, False, ["outside_expected"]),
        (20.0, 0.0, Verdict.DIVERTED, False, ["outside_expected"]),
        (None, 0.0, Verdict.DIVERTED, False, ["outside_expected"]),
        (None, 40.0, Verdict.AUTHENTIC, True, ["near_border"]),
        (10.0, 40.0, Verdict.AUTHENTIC, True, ["near_border"]),
        (10.0, 20.0, Verdict.DIVERTED, False, ["outside_expected"]),
    ],
)
def test_a_scan_30_m_across_the_border_is_near_border_within_the_allowance(
    accuracy_m: float | None,
    tolerance_m: float,
    verdict: Verdict,
    near_border: bool,
    flags: list[str],
) -> None:
    assert judged(NEAR_BORDER, accuracy_m=accuracy_m, tolerance_m=tolerance_m) == Judgement(
        verdict, near_border, ["CN-GD"], "CN-GX", flags
    )


def test_the_same_point_seen_from_guangxi_is_authentic() -> None:
    assert judged(NEAR_BORDER, expected=["CN-GX"]) == Judgement(
        Verdict.AUTHENTIC, False, ["CN-GX"], "CN-GX", []
    )


def test_expected_territories_are_reported_sorted_and_once() -> None:
    judgement = judged(SHAOGUAN, expected=["CN-ZJ", "CN-GD", "CN-ZJ"])

    assert judgement.expected_territories == ["CN-GD", "CN-ZJ"]
    assert judgement.verdict == Verdict.AUTHENTIC


def test_an_expectation_without_area_is_not_claimed_as_diversion() -> None:
    assert judged(SHAOGUAN, expected=["NO-SUCH-TERRITORY"]) == Judgement(
        Verdict.AUTHENTIC, False, ["NO-SUCH-TERRITORY"], "CN-GD", ["no_expected_area"]
    )


@pytest.mark.parametrize("accuracy_m", [-1.0, math.nan, math.inf])
def test_an_impossible_accuracy_is_refused(accuracy_m: float) -> None:
    with pytest.raises(ValueError, match="accuracy_m must be a finite number of metres >= 0"):
        judged(SHAOGUAN, accuracy_m=accuracy_m)


# --- a tier-2 city inside a tier-1 province --------------------------------------------------


def test_a_shenzhen_distributor_narrows_a_guangdong_batch_to_shenzhen() -> None:
    assert expected_territories(china_us(), "CN-GD", ["CN-GD-SZ"]) == ["CN-GD-SZ"]


def test_a_guangzhou_scan_of_an_item_expected_in_shenzhen_is_diverted() -> None:
    expected = expected_territories(china_us(), "CN-GD", ["CN-GD-SZ"])

    assert judged(GUANGZHOU, expected=expected) == Judgement(
        Verdict.DIVERTED, False, ["CN-GD-SZ"], "CN-GD-GZ", ["outside_expected"]
    )


def test_a_shenzhen_scan_of_an_item_expected_in_shenzhen_is_authentic() -> None:
    expected = expected_territories(china_us(), "CN-GD", ["CN-GD-SZ"])

    assert judged(SHENZHEN, expected=expected) == Judgement(
        Verdict.AUTHENTIC, False, ["CN-GD-SZ"], "CN-GD-SZ", []
    )


@pytest.mark.parametrize(
    ("custodian_territories", "expected"),
    [
        (None, ["CN-GD"]),
        ([], ["CN-GD"]),
        (["CN-GD"], ["CN-GD"]),
        (["CN", "US"], ["CN-GD"]),  # the brand: an ancestor does not narrow
        (["CN-ZJ"], ["CN-GD"]),  # outside the batch's territory: ignored
        (["CN-GD-SZ", "CN-GD-GZ"], ["CN-GD-GZ", "CN-GD-SZ"]),
        (["CN-ZJ-HZ", "CN-GD-SZ"], ["CN-GD-SZ"]),
    ],
)
def test_expected_territories_keep_only_custodian_territories_inside_the_batch_s(
    custodian_territories: list[str] | None, expected: list[str]
) -> None:
    assert expected_territories(china_us(), "CN-GD", custodian_territories) == expected


# --- unknown codes ---------------------------------------------------------------------------


def test_a_serial_never_issued_is_unknown() -> None:
    assert judged(GUANGZHOU, known=False) == Judgement(
        Verdict.UNKNOWN_CODE, False, [], "CN-GD-GZ", ["never_issued"]
    )


def test_the_right_serial_with_another_product_s_gtin_is_unknown() -> None:
    assert judged(GUANGZHOU, gtin_matches=False) == Judgement(
        Verdict.UNKNOWN_CODE, False, [], "CN-GD-GZ", ["gtin_mismatch"]
    )


def test_a_serial_with_a_bad_check_character_is_unknown() -> None:
    assert judged(GUANGZHOU, known=False, check_ok=False) == Judgement(
        Verdict.UNKNOWN_CODE, False, [], "CN-GD-GZ", ["never_issued", "bad_check_character"]
    )


def test_unknown_code_comes_before_recalled_clone_and_diverted() -> None:
    other = at(FAR_NORTH, T0 - HOUR)

    assert judged(HANGZHOU, known=False, recalled=True, other_scans=[other]) == Judgement(
        Verdict.UNKNOWN_CODE, False, [], "CN-ZJ-HZ", ["never_issued"]
    )


def test_an_unknown_code_outside_any_territory_has_no_found_territory() -> None:
    assert judged((-150.0, 0.0), known=False).found_territory is None


# --- recalled --------------------------------------------------------------------------------


def test_a_recalled_serial_is_recalled() -> None:
    assert judged(SHAOGUAN, recalled=True) == Judgement(
        Verdict.RECALLED, False, ["CN-GD"], "CN-GD", ["recalled"]
    )


def test_recalled_comes_before_clone_and_diverted_which_stay_as_flags() -> None:
    other = at(moved(*HANGZHOU, 0.0, 2_000_000.0), T0 - HOUR)

    assert judged(HANGZHOU, recalled=True, other_scans=[other]) == Judgement(
        Verdict.RECALLED,
        False,
        ["CN-GD"],
        "CN-ZJ-HZ",
        ["recalled", "clone_speed_exceeded", "speed_kmh=2000", "outside_expected"],
    )


def test_a_recalled_serial_near_the_border_keeps_near_border() -> None:
    assert judged(NEAR_BORDER, recalled=True, accuracy_m=50.0) == Judgement(
        Verdict.RECALLED, True, ["CN-GD"], "CN-GX", ["recalled", "near_border"]
    )


# --- clones --------------------------------------------------------------------------------------


def test_two_scans_2000_km_apart_within_an_hour_suggest_a_clone() -> None:
    assert judged(GUANGZHOU, other_scans=[at(FAR_NORTH, T0 - HOUR)]) == Judgement(
        Verdict.SUSPECTED_CLONE,
        False,
        ["CN-GD"],
        "CN-GD-GZ",
        ["clone_speed_exceeded", "speed_kmh=2000"],
    )


def test_the_same_two_scans_three_days_apart_are_no_clone() -> None:
    other = at(FAR_NORTH, T0 - dt.timedelta(days=3))

    assert judged(GUANGZHOU, other_scans=[other]) == Judgement(
        Verdict.AUTHENTIC, False, ["CN-GD"], "CN-GD-GZ", []
    )


def test_the_fastest_of_several_earlier_scans_counts() -> None:
    others = [
        at(FAR_NORTH, T0 - dt.timedelta(days=3)),
        at(SHENZHEN, T0 - 24 * HOUR),
        at(FAR_NORTH, T0 - 4 * HOUR),  # 500 km/h
        at(FAR_NORTH, T0 + HOUR / 2),  # a later scan: 4000 km/h
    ]

    assert judged(GUANGZHOU, other_scans=others).flags == [
        "clone_speed_exceeded",
        "speed_kmh=4000",
    ]


def test_the_clone_speed_is_configurable() -> None:
    other = at(FAR_NORTH, T0 - HOUR)

    assert judged(GUANGZHOU, other_scans=[other], clone_speed_kmh=2500.0).verdict == (
        Verdict.AUTHENTIC
    )
    assert judged(GUANGZHOU, other_scans=[other], clone_speed_kmh=1999.0).verdict == (
        Verdict.SUSPECTED_CLONE
    )


def test_two_places_at_the_same_instant_travel_infinitely_fast() -> None:
    assert judged(GUANGZHOU, other_scans=[at(SHENZHEN)]).flags == [
        "clone_speed_exceeded",
        "speed_kmh=inf",
    ]


def test_suspected_clone_comes_before_diverted() -> None:
    other = at(moved(*HANGZHOU, 0.0, 2_000_000.0), T0 - HOUR)

    assert judged(HANGZHOU, other_scans=[other]) == Judgement(
        Verdict.SUSPECTED_CLONE,
        False,
        ["CN-GD"],
        "CN-ZJ-HZ",
        ["clone_speed_exceeded", "speed_kmh=2000", "outside_expected"],
    )


# --- travel speed ----------------------------------------------------------------------------


def test_travel_speed_is_geodesic_km_per_hour_either_way_round() -> None:
    here, there = at(GUANGZHOU), at(FAR_NORTH, T0 + 2 * HOUR)

    assert travel_speed_kmh(here, there) == pytest.approx(1000.0, abs=1e-6)
    assert travel_speed_kmh(there, here) == pytest.approx(1000.0, abs=1e-6)


def test_travel_speed_at_the_same_place_is_zero_even_at_the_same_instant() -> None:
    assert travel_speed_kmh(at(GUANGZHOU), at(GUANGZHOU)) == 0.0


def test_travel_speed_between_two_places_at_the_same_instant_is_infinite() -> None:
    assert travel_speed_kmh(at(GUANGZHOU), at(SHENZHEN)) == math.inf


def test_the_spherical_shortcut_never_hides_a_speed_above_the_limit() -> None:
    # Pole to pole, along the equator, across the antimeridian, near and far: wherever
    # the exact speed exceeds the limit, the shortcut must send the pair to be measured.
    rng = random.Random(7)
    skipped = 0
    for _ in range(20_000):
        a = ScanPoint(rng.uniform(-90, 90), rng.uniform(-180, 180), T0)
        b = ScanPoint(rng.uniform(-90, 90), rng.uniform(-180, 180),
                      T0 + dt.timedelta(hours=rng.uniform(0.001, 30)))
        exact = travel_speed_kmh(a, b)
        limit = exact * rng.uniform(0.985, 1.015)  # limits within 1.5 % of the speed
        if not may_exceed_speed(a, b, limit):
            skipped += 1
            assert exact <= limit, (a, b, exact, limit)
    assert skipped > 1_000  # the shortcut is taken, not just always refused


def test_the_spherical_shortcut_measures_two_places_at_the_same_instant() -> None:
    assert may_exceed_speed(at(GUANGZHOU), at(SHENZHEN), 1e12)


def test_a_scan_time_without_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match=r"scan time 2025-03-01T09:00:00 has no timezone"):
        ScanPoint(lat=23.1, lon=113.3, at=dt.datetime(2025, 3, 1, 9, 0))


def test_judging_a_scan_time_without_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match=r"scan time 2025-03-01T09:00:00 has no timezone"):
        judge(china_us(), latitude=23.1, longitude=113.3, at=dt.datetime(2025, 3, 1, 9, 0),
              known=True, expected_territories=["CN-GD"])


# --- authorisation and attribution ----------------------------------------------------------


@pytest.mark.parametrize(
    ("party", "authorised"),
    [
        ("brand", True),  # an ancestor (CN)
        ("t1-guangdong", True),  # the territory itself
        ("t2-shenzhen", True),  # a descendant
        ("retailer-zhejiang", False),
        ("importer-california", False),
    ],
)
def test_a_party_is_authorised_for_its_territories_ancestors_and_descendants(
    party: str, authorised: bool
) -> None:
    assert party_is_authorised(china_us(), PARTY_TERRITORIES[party], "CN-GD") is authorised


def test_a_party_without_territories_is_authorised_nowhere() -> None:
    assert party_is_authorised(china_us(), [], "CN-GD") is False


CHAIN = [
    ("brand", "t1-guangdong"),
    ("t1-guangdong", "t2-shenzhen"),
    ("t2-shenzhen", "retailer-zhejiang"),
]


def test_the_sender_to_an_unauthorised_receiver_two_tiers_down_is_responsible() -> None:
    assert responsible_party(CHAIN, authorised_for("CN-GD"), "retailer-zhejiang") == (
        "t2-shenzhen"
    )


def test_the_first_unauthorised_hand_off_decides_even_if_later_ones_return() -> None:
    handoffs = [
        ("brand", "t1-guangdong"),
        ("t1-guangdong", "importer-california"),
        ("importer-california", "t2-shenzhen"),
    ]

    assert responsible_party(handoffs, authorised_for("CN-GD"), "t2-shenzhen") == "t1-guangdong"


def test_when_every_hand_off_was_authorised_the_last_custodian_is_responsible() -> None:
    assert responsible_party(CHAIN[:2], authorised_for("CN-GD"), "t2-shenzhen") == "t2-shenzhen"


def test_nobody_is_responsible_for_an_item_never_shipped() -> None:
    assert responsible_party([], authorised_for("CN-GD"), "brand") is None


def test_the_latest_authorised_custodian_skips_unauthorised_later_ones() -> None:
    custodians = ["brand", "t1-guangdong", "t2-shenzhen", "retailer-zhejiang"]

    assert latest_authorised_custodian(custodians, authorised_for("CN-GD")) == "t2-shenzhen"
    assert latest_authorised_custodian(["retailer-zhejiang"], authorised_for("CN-GD")) is None
    assert latest_authorised_custodian([], authorised_for("CN-GD")) is None


def test_an_item_diverted_two_tiers_down_end_to_end() -> None:
    # The item went brand -> Guangdong -> Shenzhen -> Zhejiang and is scanned in Hangzhou.
    custodians = ["brand", "t1-guangdong", "t2-shenzhen", "retailer-zhejiang"]
    authorised = authorised_for("CN-GD")
    latest = latest_authorised_custodian(custodians, authorised)
    assert latest is not None
    expected = expected_territories(china_us(), "CN-GD", PARTY_TERRITORIES[latest])

    judgement = judged(HANGZHOU, expected=expected, accuracy_m=15.0)

    assert judgement == Judgement(
        Verdict.DIVERTED, False, ["CN-GD-SZ"], "CN-ZJ-HZ", ["outside_expected"]
    )
    assert responsible_party(CHAIN, authorised, custodians[-1]) == "t2-shenzhen"


# --- the place, worked out ahead ------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "expected", "accuracy_m", "others"),
    [
        (GUANGZHOU, ["CN-GD"], None, []),
        (HANGZHOU, ["CN-GD"], 30.0, []),
        (HANGZHOU, ["CN-GD-SZ", "CN-GD"], None, [at(GUANGZHOU, T0 - HOUR / 60)]),
        (NEAR_BORDER, ["CN-GD"], 100.0, []),
        (SHENZHEN, [], None, []),
    ],
    ids=["inside", "outside", "clone and outside", "near the border", "no expected area"],
)
def test_a_place_worked_out_ahead_gives_the_same_judgement(
        point: tuple[float, float], expected: list[str], accuracy_m: float | None,
        others: list[ScanPoint]) -> None:
    lon, lat = point
    place = locate(china_us(), latitude=lat, longitude=lon, expected_territories=expected,
                   accuracy_m=accuracy_m)
    assert judged(point, expected=expected, accuracy_m=accuracy_m, other_scans=others,
                  place=place) == judged(point, expected=expected, accuracy_m=accuracy_m,
                                         other_scans=others)


def test_locating_a_point_off_the_globe_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(91.0, 0.0\) is not a latitude/longitude point"):
        locate(china_us(), latitude=91.0, longitude=0.0, expected_territories=["CN-GD"])


def test_judge_takes_the_place_it_is_given_rather_than_working_it_out_again() -> None:
    # A place said to be outside, for a point inside: the verdict follows the place.
    outside = Place(found="CN-GD", outside=True, near_border=False, no_expected_area=False)
    judgement = judged(GUANGZHOU, place=outside)
    assert (judgement.verdict, judgement.flags) == (Verdict.DIVERTED, ["outside_expected"])
