"""Reading territories out of a GeoJSON FeatureCollection (``POST /territories``).

``parse_feature_collection`` takes the decoded JSON and returns one ``TerritoryFeature``
per feature, its geometry made fit for point-in-polygon tests on plain longitude /
latitude: valid, polygonal, every longitude in [-180, 180]. Anything it cannot use
without guessing is refused with ``InvalidGeoJSON``, whose message names the feature
(``features[i]``, counted from 0, with its code and name when known) and the problem.

>>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
>>> doc = {"type": "FeatureCollection", "features": [
...     {"type": "Feature", "id": 7, "properties": {"name": "Seven"}, "geometry": square}]}
>>> [(f.code, f.name, f.geometry.area, f.notes) for f in parse_feature_collection(doc)]
[('7', 'Seven', 1.0, ())]

Repairs and refusals, in the order a geometry meets them:

1. Structure. Rings are arrays of ``[longitude, latitude]`` (an altitude may follow and
   is ignored) of finite numbers, latitude within [-90, 90], longitude within
   [-360, 360] (beyond ±180 only makes sense for a ring drawn across the antimeridian),
   closed (last position = first; GeoJSON requires it, and closing a ring for the sender
   would be a guess about where it ends).
2. Antimeridian (RFC 7946 §3.1.9). Coordinates are planar longitude/latitude, and a
   geometry that crosses the antimeridian is expected to come cut at ±180. Each ring is
   read one of three ways, decided from its coordinates alone:

   - *Flat*: every step between consecutive positions is at most 180° of longitude, or
     runs along a pole from exactly -180 to 180 (a box around the whole world, the usual
     drawing of Antarctica). The ring is read as drawn. A ring that runs along the
     ±180° line is part of such a cut and stays as it is.
   - *Across*: some step jumps more than 180° of longitude (179.9 then -179.9), or a
     longitude lies beyond ±180. The ring crosses the antimeridian: its longitudes are
     made continuous (each step taken the short way round), the area it encloses is cut
     at every multiple of ±180 and the pieces are shifted back into [-180, 180].
   - *Edge*: the only long steps go from exactly -180 to 180 (or back) away from the
     poles. On the globe such a step joins two points of one meridian; drawn flat it is
     a line across the whole map, and the ring a band around the globe (what a ring cut
     with the wrong sign at the line looks like). It is read across, as the globe
     says, when that encloses an area; otherwise (a band around the world meant as
     drawn, a world box short of the poles) flat. The import's notes say which.

   A ring whose longitudes wind once around the globe circles a pole (Antarctica); it is
   closed along that pole (the one on the side of its mean latitude), and the rings of
   such a polygon combine by even-odd, because their roles as exterior or hole follow
   the winding on the sphere, which the plane cannot express.

   A polygon that, once read, spans at least ``SLIVER_MIN_LONGITUDE`` degrees of
   longitude without reaching a pole, while its latitudes span less than
   ``SLIVER_MAX_ASPECT`` of that, is refused: it is a ring drawn the long way round the
   globe (no territory is a thin band around the Earth), and read as drawn it would
   claim land on every continent at its latitude.
3. Validity. A geometry that is valid and stays within [-180, 180] is kept as it is
   (the fast path for clean maps). Otherwise it is rebuilt ring by ring: each ring's
   area is ``shapely.make_valid`` of that ring alone; a polygon is its exterior minus its
   holes; the feature is the union of its polygons (which merges overlapping parts).
   A ring that encloses no area (fewer than 4 positions, collinear points) is dropped;
   a feature left with no area at all is refused.
4. Guess detection. Comparing the repaired area with the area the rings "sum to" does
   not work: a bow-tie's two lobes cancel in the shoelace sum (area 0) yet its repair
   into two triangles is exactly what the sender drew. What shows a guess is a drawing
   that two reasonable readings turn into different areas, so those are refused:
   - a ring whose loops overlap with the same orientation: read even-odd
     (``make_valid`` method ``linework``) the overlap is a hole, read non-zero
     (method ``structure``) it is filled; when the two areas differ by more than
     ``AMBIGUITY_TOLERANCE`` of the larger, nobody can tell which was meant;
   - a hole that lies wholly outside its exterior ring: it cannot be a hole, and making
     it an island (what ``make_valid`` does) would add land nobody said was there.
   A hole that only reaches across its exterior ring is cut out where it overlaps, with
   a note, as the polygon's definition (exterior minus holes) says.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, TypeAlias

import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from tracker.errors import InvalidGeoJSON

# The sizes of territories.code and territories.name: refusing here names the feature,
# a database error would not.
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 200

# Relative difference between the even-odd and the non-zero reading of a self-crossing
# ring above which the repair would be a guess. Both readings of an unambiguous ring
# agree to rounding error (about 1e-12); 1e-6 lets only noise through.
AMBIGUITY_TOLERANCE = 1e-6

# A polygon at least this wide in longitude (no country's single polygon is, once cut at
# the antimeridian; Russia's widest part spans 153°) that reaches no pole and is thinner
# than this fraction of its width in latitude is a ring drawn the long way round.
SLIVER_MIN_LONGITUDE = 180.0
SLIVER_MAX_ASPECT = 0.1

_SUPPORTED_TYPES = ("Polygon", "MultiPolygon")

Geometry: TypeAlias = Polygon | MultiPolygon


@dataclass(frozen=True)
class TerritoryFeature:
    """One territory read from a feature: its code, name, parent and usable geometry.

    ``geometry`` is None for a sales region whose area is the union of its children.
    ``notes`` says, for people, what was done to the geometry to make it usable.
    """

    code: str
    name: str
    parent_code: str | None
    geometry: Geometry | None
    properties: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def parse_feature_collection(
    doc: object, *, code_property: str | None = None
) -> list[TerritoryFeature]:
    """The territories of a decoded GeoJSON FeatureCollection, in document order.

    A feature's code is ``properties.code``, else its ``id``, else
    ``properties[code_property]`` (a member that is null counts as absent); numbers become
    strings, surrounding spaces are dropped. The name is ``properties.name``, else the
    code. Raises ``InvalidGeoJSON`` for the first problem found, in document order.
    """
    if not isinstance(doc, dict):
        raise InvalidGeoJSON(
            f"the document is not a GeoJSON FeatureCollection: it is {_json_type(doc)}"
        )
    if doc.get("type") != "FeatureCollection":
        raise InvalidGeoJSON(
            "the document is not a GeoJSON FeatureCollection: " + _type_problem(doc)
        )
    features = doc.get("features")
    if not isinstance(features, list):
        if "features" not in doc:
            raise InvalidGeoJSON("the FeatureCollection has no features array")
        raise InvalidGeoJSON(
            f"the FeatureCollection's features member is {_json_type(features)}, not an array"
        )
    if not features:
        raise InvalidGeoJSON("the FeatureCollection has no features")

    result: list[TerritoryFeature] = []
    index_of_code: dict[str, int] = {}
    for index, raw in enumerate(features):
        feature = _parse_feature(index, raw, code_property)
        earlier = index_of_code.get(feature.code)
        if earlier is not None:
            raise _error(
                f"{_label(index, feature.code, feature.name)}: duplicate code, already used"
                f" by {_label(earlier, None, _given_name(result[earlier]))}",
                index,
                feature.code,
            )
        index_of_code[feature.code] = index
        result.append(feature)
    _check_parent_cycles(result)
    return result


def order_for_insert(features: Sequence[TerritoryFeature]) -> list[TerritoryFeature]:
    """The same features with every parent before its children when both are present.

    Otherwise the order is kept, so a collection already in order comes back unchanged.
    """
    _check_parent_cycles(features)
    by_code = {f.code: f for f in features}
    placed: set[str] = set()
    ordered: list[TerritoryFeature] = []
    for feature in features:
        # Walk up to the first ancestor already placed (or outside the collection), then
        # place the chain top down. Iterative: a deep hierarchy must not hit the
        # recursion limit.
        chain: list[TerritoryFeature] = []
        current: TerritoryFeature | None = feature
        while current is not None and current.code not in placed:
            chain.append(current)
            placed.add(current.code)
            current = by_code.get(current.parent_code) if current.parent_code else None
        ordered.extend(reversed(chain))
    return ordered


def bounding_box(geometry: Geometry) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a geometry read by this module, as RFC 7946
    section 5.2 writes it: for a territory across the antimeridian, west is greater
    than east (the box runs east from west across 180), so that the box is the smallest
    one and not a band round the globe.

    >>> pacific = MultiPolygon([box(178, -17, 180, -16), box(-180, -17, -179, -16)])
    >>> bounding_box(pacific)
    (178.0, -17.0, -179.0, -16.0)
    """
    spans = sorted((part.bounds[0], part.bounds[2]) for part in shapely.get_parts(geometry))
    _, south, _, north = geometry.bounds
    merged: list[list[float]] = []
    for west, east in spans:
        if merged and west <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], east)
        else:
            merged.append([west, east])
    # The widest stretch of longitude no part covers: round the back (east of the last
    # span to west of the first), or between two spans, which puts 180 inside the box.
    widest = merged[0][0] + 360.0 - merged[-1][1]
    between: tuple[float, float] | None = None
    for (_, end), (start, _) in pairwise(merged):
        if start - end > widest:
            widest, between = start - end, (end, start)
    if between is None:
        return merged[0][0], south, merged[-1][1], north
    return between[1], south, between[0], north


# --- features --------------------------------------------------------------------------


def _parse_feature(index: int, raw: object, code_property: str | None) -> TerritoryFeature:
    if not isinstance(raw, dict):
        raise _error(f"features[{index}] is not a GeoJSON Feature: it is {_json_type(raw)}", index)
    if raw.get("type") != "Feature":
        raise _error(f"features[{index}] is not a GeoJSON Feature: {_type_problem(raw)}", index)
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        raise _error(
            f"features[{index}]: properties must be an object or null,"
            f" got {_json_type(properties)}",
            index,
        )

    # The name is read first so that a feature without a code can still be named.
    given_name = properties.get("name")
    if given_name is not None and not isinstance(given_name, str) and not _is_number(given_name):
        raise _error(
            f"features[{index}]: properties.name must be a string, got {_json_type(given_name)}",
            index,
        )
    name = _text(given_name) if given_name is not None else ""

    code = _read_code(index, raw, properties, code_property, name)
    name = name or code
    label = _label(index, code, name)
    if len(code) > MAX_CODE_LENGTH:
        raise _error(
            f"{label}: the code is {len(code)} characters long; at most {MAX_CODE_LENGTH}"
            " are allowed",
            index,
            code,
        )
    if len(name) > MAX_NAME_LENGTH:
        raise _error(
            f"{label}: the name is {len(name)} characters long; at most {MAX_NAME_LENGTH}"
            " are allowed",
            index,
            code,
        )

    parent_code: str | None = None
    raw_parent = properties.get("parent")
    if raw_parent is not None:
        if not isinstance(raw_parent, str) and not _is_number(raw_parent):
            raise _error(
                f"{label}: properties.parent must be a string or a number,"
                f" got {_json_type(raw_parent)}",
                index,
                code,
            )
        parent_code = _text(raw_parent) or None
        if parent_code == code:
            raise _error(f"{label} is its own parent", index, code)

    if "geometry" not in raw:
        raise _error(
            f"{label} has no geometry member (use null for a region made of its children)",
            index,
            code,
        )
    geometry, notes = _read_geometry(raw["geometry"], label, index, code)
    return TerritoryFeature(
        code=code,
        name=name,
        parent_code=parent_code,
        geometry=geometry,
        properties=dict(properties),
        notes=notes,
    )


def _read_code(
    index: int,
    raw: dict[str, Any],
    properties: dict[str, Any],
    code_property: str | None,
    name: str,
) -> str:
    sources: list[tuple[str, object]] = [
        ("properties.code", properties.get("code")),
        ("id", raw.get("id")),
    ]
    if code_property is not None:
        sources.append((f"properties.{code_property}", properties.get(code_property)))
    label = _label(index, None, name)
    for source, value in sources:
        if value is None:
            continue
        if not isinstance(value, str) and not _is_number(value):
            raise _error(
                f"{label}: {source} must be a string or a number, got {_json_type(value)}",
                index,
            )
        code = _text(value)
        if not code:
            raise _error(f"{label}: {source} is empty", index)
        return code
    tried = [source for source, _ in sources]
    hint = "" if code_property is not None else " (name another property with code_property)"
    raise _error(f"{label} has no code: tried {', '.join(tried[:-1])} and {tried[-1]}{hint}", index)


def _check_parent_cycles(features: Sequence[TerritoryFeature]) -> None:
    index_of_code = {f.code: i for i, f in enumerate(features)}
    # 0 = not seen, 1 = on the path being followed, 2 = known to reach no cycle.
    state = [0] * len(features)
    for start in range(len(features)):
        path: list[int] = []
        i: int | None = start
        while i is not None and state[i] == 0:
            state[i] = 1
            path.append(i)
            parent = features[i].parent_code
            i = index_of_code.get(parent) if parent is not None else None
        if i is not None and state[i] == 1:
            cycle = path[path.index(i) :]
            # Name the earliest feature of the cycle so that the message does not depend
            # on where the search happened to start.
            first = cycle.index(min(cycle))
            cycle = cycle[first:] + cycle[:first]
            links = " -> ".join(f"'{features[j].code}'" for j in [*cycle, cycle[0]])
            head = features[cycle[0]]
            raise _error(
                f"{_label(cycle[0], head.code, head.name)}: parent links form a cycle: {links}",
                cycle[0],
                head.code,
            )
        for j in path:
            state[j] = 2


# --- geometry --------------------------------------------------------------------------


@dataclass
class _Ring:
    path: str
    xs: list[float]
    ys: list[float]


def _read_geometry(
    geometry: object, label: str, index: int, code: str
) -> tuple[Geometry | None, tuple[str, ...]]:
    if geometry is None:
        return None, ()
    if not isinstance(geometry, dict):
        raise _error(
            f"{label}: geometry must be an object or null, got {_json_type(geometry)}",
            index,
            code,
        )
    kind = geometry.get("type")
    if kind not in _SUPPORTED_TYPES:
        shown = f"'{kind}'" if isinstance(kind, str) else _json_literal(kind)
        raise _error(
            f"{label}: geometry type {shown} is not supported; use Polygon or MultiPolygon"
            " (or null for a region made of its children)",
            index,
            code,
        )
    coordinates = geometry.get("coordinates")
    try:
        if kind == "Polygon":
            polygons = [_read_polygon(coordinates, "coordinates")]
        else:
            if not isinstance(coordinates, list):
                raise _Refusal("coordinates must be an array of polygons")
            if not coordinates:
                raise _Refusal("coordinates has no polygons")
            polygons = [_read_polygon(p, f"coordinates[{i}]") for i, p in enumerate(coordinates)]
        return _build(kind, polygons)
    except _Refusal as refusal:
        raise _error(f"{label}{refusal.joiner}{refusal}", index, code) from None


class _Refusal(Exception):
    """A geometry problem, raised without the feature's label, which the caller adds."""

    def __init__(self, message: str, *, joiner: str = ": ") -> None:
        super().__init__(message)
        self.joiner = joiner


def _read_polygon(raw: object, path: str) -> list[_Ring]:
    if not isinstance(raw, list):
        raise _Refusal(f"{path} must be an array of rings")
    if not raw:
        raise _Refusal(f"{path} has no rings")
    return [_read_ring(r, f"{path}[{i}]") for i, r in enumerate(raw)]


def _read_ring(raw: object, path: str) -> _Ring:
    if not isinstance(raw, list):
        raise _Refusal(f"{path} must be an array of positions")
    if not raw:
        raise _Refusal(f"{path} has no positions")
    xs: list[float] = []
    ys: list[float] = []
    for i, position in enumerate(raw):
        # The hot loop of a big map: type() is checked rather than isinstance() so that
        # true/false, which Python counts as ints, are refused.
        if (
            type(position) is not list
            or not 2 <= len(position) <= 3
            or any(type(v) is not float and type(v) is not int for v in position)
        ):
            raise _Refusal(_position_problem(position, f"{path}[{i}]"))
        x, y = position[0], position[1]
        if not (-360.0 <= x <= 360.0 and -90.0 <= y <= 90.0):
            raise _Refusal(_range_problem(position, f"{path}[{i}]"))
        xs.append(float(x))
        ys.append(float(y))
    if xs[0] != xs[-1] or ys[0] != ys[-1]:
        raise _Refusal(
            f"{path} is not closed: it starts at {_json_literal(raw[0])} and ends at"
            f" {_json_literal(raw[-1])}; repeat the first position at the end"
        )
    return _Ring(path, xs, ys)


def _position_problem(position: object, path: str) -> str:
    if type(position) is not list or not 2 <= len(position) <= 3:
        return f"{path} must be a position [longitude, latitude], got {_json_literal(position)}"
    for value in position:
        if type(value) is not float and type(value) is not int:
            return f"{path} has a non-numeric value {_json_literal(value)}"
    raise AssertionError("no problem found")  # pragma: no cover


def _range_problem(position: list[float], path: str) -> str:
    x, y = position[0], position[1]
    for value in (x, y):
        if not math.isfinite(value):
            return f"{path} has a non-finite value {_json_literal(value)}"
    if not -90.0 <= y <= 90.0:
        return f"{path}: latitude {_json_literal(y)} is outside -90..90"
    return (
        f"{path}: longitude {_json_literal(x)} is outside -180..180"
        " (-360..360 is accepted for rings drawn across the antimeridian)"
    )


def _build(kind: str, polygons: list[list[_Ring]]) -> tuple[Geometry, tuple[str, ...]]:
    flat = all(_reading(r) is _Reading.FLAT for rings in polygons for r in rings)
    if flat and all(len(r.xs) >= 4 for rings in polygons for r in rings):
        parts = [
            Polygon(
                list(zip(rings[0].xs, rings[0].ys, strict=True)),
                [list(zip(h.xs, h.ys, strict=True)) for h in rings[1:]],
            )
            for rings in polygons
        ]
        geometry: Geometry = parts[0] if kind == "Polygon" else MultiPolygon(parts)
        if shapely.is_valid(geometry):
            for rings, part in zip(polygons, parts, strict=True):
                _refuse_sliver(rings[0].path, part)
            return geometry, ()
        rebuilt, notes = _rebuild(polygons)
        # Holes that overlap each other, for one, are invalid although every ring is
        # fine: say what GEOS found rather than nothing.
        return rebuilt, notes or (f"repaired the geometry: {explain_validity(geometry)}",)
    return _rebuild(polygons)


class _Reading(enum.Enum):
    """How a ring's coordinates are read (module docstring, step 2)."""

    FLAT = "flat"
    ACROSS = "across"
    EDGE = "edge"


def _reading(ring: _Ring) -> _Reading:
    xs, ys = ring.xs, ring.ys
    if min(xs) < -180.0 or max(xs) > 180.0:
        return _Reading.ACROSS
    edge = False
    for i, (a, b) in enumerate(pairwise(xs)):
        if abs(b - a) <= 180.0:
            continue
        if not (abs(a) == 180.0 and b == -a):
            return _Reading.ACROSS
        if not (abs(ys[i]) == 90.0 and abs(ys[i + 1]) == 90.0):
            edge = True
    return _Reading.EDGE if edge else _Reading.FLAT


def _edge_latitudes(ring: _Ring) -> str:
    """Where an edge ring steps between -180 and 180, for its note."""
    lats = [ring.ys[i] for i, (a, b) in enumerate(pairwise(ring.xs))
            if abs(a) == 180.0 and b == -a]
    return ", ".join(f"{lat:.6g}" for lat in lats)


def _refuse_sliver(path: str, area: BaseGeometry) -> None:
    for part in shapely.get_parts(area):
        west, south, east, north = part.bounds
        width, height = east - west, north - south
        if (width >= SLIVER_MIN_LONGITUDE and -90.0 < south and north < 90.0
                and height < SLIVER_MAX_ASPECT * width):
            raise _Refusal(
                f"{path} spans {width:.6g} degrees of longitude but only {height:.6g} of"
                f" latitude ({south:.6g} to {north:.6g}): a ring drawn the long way round the"
                " globe, which would claim land on every continent at that latitude; if it"
                " crosses the antimeridian, give consecutive positions on either side of it"
                " (179.9 then -179.9) or cut it there (RFC 7946, section 3.1.9)"
            )


def _rebuild(polygons: list[list[_Ring]]) -> tuple[Geometry, tuple[str, ...]]:
    """The geometry built ring by ring, with notes; see the module docstring."""
    notes: list[str] = []
    moved = split = False
    first_empty: str | None = None
    areas: list[BaseGeometry] = []
    for rings in polygons:
        regions = [_ring_region(ring, notes) for ring in rings]
        for ring, region in zip(rings, regions, strict=True):
            moved = moved or region.windows != {0}
            split = split or len(region.windows) > 1
            if region.pole is not None:
                notes.append(f"closed {ring.path} along the {region.pole} pole, which it circles")
            if region.empty_reason is not None:
                first_empty = first_empty or f"{ring.path} {region.empty_reason}"
                notes.append(f"dropped {ring.path}: it {region.empty_reason}")
        if any(region.pole is not None for region in regions):
            # Even-odd: see the module docstring, step 2.
            area: BaseGeometry = Polygon()
            for region in regions:
                area = area.symmetric_difference(region.area)
        else:
            exterior = regions[0].area
            if exterior.is_empty:
                continue
            area = exterior
            for ring, region in zip(rings[1:], regions[1:], strict=True):
                hole = region.area
                if hole.is_empty:
                    continue
                if hole.intersection(exterior).area == 0:
                    raise _Refusal(
                        f"{ring.path} is a hole outside its exterior ring {rings[0].path};"
                        " make it a polygon of its own or remove it"
                    )
                if hole.difference(exterior).area > 0:
                    notes.append(
                        f"{ring.path}: the hole reaches outside its exterior ring; only the"
                        " part inside was cut out"
                    )
                area = area.difference(hole)
        area = _polygonal(area)
        if not area.is_empty:
            areas.append(area)

    merged = _polygonal(shapely.unary_union(areas)) if areas else Polygon()
    if merged.is_empty:
        raise _Refusal(f"encloses no area: {first_empty}", joiner=" ")
    if len(areas) > 1 and sum(a.area for a in areas) > merged.area * (1 + 1e-9):
        notes.append("merged overlapping polygons")
    if split:
        notes.insert(0, "split at the antimeridian")
    elif moved:
        notes.insert(0, "moved longitudes beyond ±180 into -180..180")
    return merged, tuple(notes)


@dataclass
class _Region:
    """What one ring encloses, within [-180, 180] (empty when it encloses nothing)."""

    area: Geometry
    # The pole the ring circles, if it winds around the globe.
    pole: str | None = None
    # The bands [-180 + 360k, 180 + 360k] its pieces were shifted out of.
    windows: set[int] = field(default_factory=lambda: {0})
    # Why it encloses nothing ("has 3 positions; ..."), for notes and refusals.
    empty_reason: str | None = None


def _ring_region(ring: _Ring, notes: list[str]) -> _Region:
    if len(ring.xs) < 4:
        return _Region(
            Polygon(),
            empty_reason=f"has {len(ring.xs)} positions; a ring needs at least 4 (the first"
            " repeated at the end)",
        )
    reading = _reading(ring)
    region: _Region | None = None
    if reading is _Reading.EDGE:
        across_notes: list[str] = []
        across = _enclosed(ring, across_notes, across=True)
        if not across.area.is_empty:
            notes.append(
                f"read {ring.path} across the antimeridian: its steps between -180 and 180"
                f" (at latitude {_edge_latitudes(ring)}) join points of one meridian; drawn"
                " flat they would run across the whole map"
            )
            notes.extend(across_notes)
            region = across
    if region is None:
        region = _enclosed(ring, notes, across=reading is _Reading.ACROSS)
    _refuse_sliver(ring.path, region.area)
    return region


def _enclosed(ring: _Ring, notes: list[str], *, across: bool) -> _Region:
    xs, ys = ring.xs, ring.ys
    if not across:
        return _region_of(ring, list(zip(xs, ys, strict=True)), None, notes)
    # Make longitudes continuous: every step is taken the short way round (one from
    # -180 to 180 is no step at all).
    unwrapped = [xs[0]]
    offset = 0.0
    for a, b in pairwise(xs):
        if b - a > 180.0:
            offset -= 360.0
        elif b - a < -180.0:
            offset += 360.0
        unwrapped.append(b + offset)
    points = list(zip(unwrapped, ys, strict=True))
    pole: str | None = None
    if offset != 0.0:
        # The ring winds around the globe: close it along the pole on its side.
        pole_lat = -90.0 if sum(ys) < 0 else 90.0
        pole = "south" if pole_lat < 0 else "north"
        points += [(unwrapped[-1], pole_lat), (unwrapped[0], pole_lat), points[0]]
    elif max(unwrapped) - min(unwrapped) > 360.0:
        raise _Refusal(
            f"{ring.path} spans {max(unwrapped) - min(unwrapped):.6g} degrees of longitude;"
            " a ring can span at most 360"
        )
    return _region_of(ring, points, pole, notes)


def _region_of(ring: _Ring, points: list[tuple[float, float]], pole: str | None,
               notes: list[str]) -> _Region:
    polygon = Polygon(points)
    if shapely.is_valid(polygon):
        area: Geometry = polygon
    else:
        reason = explain_validity(polygon)
        area = _repair_ring(polygon, ring.path, reason)
        if area.is_empty:
            return _Region(
                area,
                pole,
                empty_reason=f"is invalid ({reason}) and repairing it leaves no area",
            )
        notes.append(f"repaired {ring.path}: {reason}")

    west, _, east, _ = area.bounds
    first = math.floor((west + 180.0) / 360.0)
    last = math.ceil((east + 180.0) / 360.0) - 1
    if first == last == 0:
        return _Region(area, pole)
    pieces: list[BaseGeometry] = []
    windows: set[int] = set()
    for k in range(first, last + 1):
        piece = _polygonal(area.intersection(box(-180.0 + 360 * k, -90.0, 180.0 + 360 * k, 90.0)))
        if piece.is_empty:
            continue
        windows.add(k)
        pieces.append(affinity.translate(piece, xoff=-360.0 * k) if k else piece)
    return _Region(_polygonal(shapely.unary_union(pieces)), pole, windows)


def _repair_ring(polygon: Polygon, path: str, reason: str) -> Geometry:
    # make_valid(method=...) needs shapely 2.1 with GEOS 3.10 or later.
    nonzero = _polygonal(shapely.make_valid(polygon, method="structure", keep_collapsed=False))
    if nonzero.is_empty:
        return nonzero
    evenodd = _polygonal(shapely.make_valid(polygon, method="linework"))
    larger = max(nonzero.area, evenodd.area)
    if abs(nonzero.area - evenodd.area) > AMBIGUITY_TOLERANCE * larger:
        raise _Refusal(
            f"cannot repair {path} without guessing ({reason}): its loops overlap, and it"
            f" covers {nonzero.area:.6g} or {evenodd.area:.6g} square degrees depending on"
            " whether the overlap is land or a hole; redraw it without overlapping loops"
        )
    return nonzero


def _polygonal(geometry: BaseGeometry) -> Geometry:
    """The polygonal part of a geometry (make_valid and overlays may add lines, points)."""
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    parts: list[Polygon] = []
    for part in getattr(geometry, "geoms", ()):
        if isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


# --- messages --------------------------------------------------------------------------


def _error(message: str, index: int | None, code: str | None = None) -> InvalidGeoJSON:
    return InvalidGeoJSON(message, details={"feature": index, "code": code})


def _label(index: int, code: str | None, name: str | None) -> str:
    """``features[3] (code 'X', name 'Y')``: the index counts from 0, like the JSON array."""
    parts = []
    if code:
        parts.append(f"code '{code}'")
    if name and name != code:
        parts.append(f"name '{name}'")
    return f"features[{index}]" + (f" ({', '.join(parts)})" if parts else "")


def _given_name(feature: TerritoryFeature) -> str | None:
    return feature.name if feature.name != feature.code else None


def _type_problem(obj: dict[str, Any]) -> str:
    kind = obj.get("type")
    if kind is None:
        return "it has no type"
    if isinstance(kind, str):
        return f"its type is '{kind}'"
    return f"its type is {_json_literal(kind)}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _json_literal(value: object) -> str:
    # NaN and infinities are printed the way Python's JSON decoder accepts them.
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: object) -> str:
    """A code or name as text: numbers as JSON writes them, integral floats without .0."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
