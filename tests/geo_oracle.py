"""An independent reading of GeoJSON polygons per RFC 7946, for property tests of the
importer and the territory index: where points lie inside a feature as drawn, and where
they lie certainly outside it by some distance.

It shares no code with ``tracker.domain.geojson``: rings are tested by even-odd ray
casting on their own coordinates (numpy), never through shapely's validity repair. A
ring that steps more than 180° of longitude between two positions (other than along a
pole) crosses the antimeridian and is read with its longitudes made continuous; a ring
that then winds around the globe is closed along the pole on the side of its mean
latitude. A query point is tried at its longitude and 360° either side of it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import shapely
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic
from shapely.geometry import MultiPolygon, Polygon

from tests.conftest import MAPS

# Metres of one degree of arc at least (the meridian degree at the equator, rounded down).
METRES_PER_DEGREE_MIN = 110_500.0

# The three maps the project ships, each with how its features get their codes: the
# country map's ids are not unique (Australia and Ashmore and Cartier Is. share 036; a
# few have none), so its names are made its codes, as a user would before importing it.
SHIPPED_MAPS = {
    "countries": ("countries_50m.geojson", "name"),
    "us_states": ("us_states.geojson", None),
    "cn_provinces": ("cn_provinces_ne10m.geojson", "iso_3166_2"),
}


@cache
def _raw_map(name: str) -> str:
    return (MAPS / SHIPPED_MAPS[name][0]).read_text(encoding="utf-8")


def shipped_map(name: str) -> dict[str, Any]:
    """A fresh copy of a shipped map with ``properties.code`` set on every feature."""
    doc = json.loads(_raw_map(name))
    code_property = SHIPPED_MAPS[name][1]
    for feature in doc["features"]:
        properties = feature["properties"]
        if code_property is not None:
            properties["code"] = properties[code_property]
        elif "code" not in properties:
            properties["code"] = str(feature["id"])
        feature.pop("id", None)
    return doc


def crossings_drawn_on_the_line(doc: dict[str, Any]) -> dict[str, Any]:
    """The map with every step across the antimeridian (179.9 then -179.9) drawn through
    the line instead: to it on one side, from it on the other (179.9, 180, -180, -179.9)
    - the way a ring cut without being split is often written."""
    for feature in doc["features"]:
        geometry = feature["geometry"]
        polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                    else geometry["coordinates"])
        for rings in polygons:
            for i, ring in enumerate(rings):
                redrawn = [ring[0]]
                for a, b in zip(ring, ring[1:], strict=False):
                    if abs(b[0] - a[0]) > 180.0 and not (abs(a[1]) == abs(b[1]) == 90.0):
                        side_a, side_b = math.copysign(180.0, a[0]), math.copysign(180.0, b[0])
                        # Where the step meets the line (latitude interpolated the short way).
                        gap = (side_a - a[0]) + (b[0] - side_b)
                        t = (side_a - a[0]) / gap if gap else 0.5
                        lat = a[1] + t * (b[1] - a[1])
                        redrawn += [p for p in ([side_a, lat], [side_b, lat]) if p != a and p != b]
                    redrawn.append(b)
                rings[i] = redrawn
    return doc


class Ring:
    """One ring as RFC 7946 draws it, longitudes made continuous where it crosses."""

    def __init__(self, coordinates: list[list[float]]) -> None:
        xy = np.array([c[:2] for c in coordinates], dtype=float)
        steps = np.diff(xy[:, 0])
        along_pole = (np.abs(xy[:-1, 1]) == 90.0) & (np.abs(xy[1:, 1]) == 90.0)
        if ((np.abs(steps) > 180.0) & ~along_pole).any() or np.abs(xy[:, 0]).max() > 180.0:
            wrapped = (steps + 180.0) % 360.0 - 180.0
            wrapped[steps == 360.0] = 0.0  # (-180 -> 180: the same meridian)
            wrapped[steps == -360.0] = 0.0
            xy[1:, 0] = xy[0, 0] + np.cumsum(wrapped)
            turn = xy[-1, 0] - xy[0, 0]
            if abs(turn) > 1.0:  # winds around the globe: close it along its pole
                pole = -90.0 if xy[:, 1].mean() < 0 else 90.0
                xy = np.vstack([xy, [[xy[-1, 0], pole], [xy[0, 0], pole]], xy[:1]])
        self.xy = xy
        self.line = shapely.LineString(xy)

    def holds(self, x: float, y: float) -> bool:
        """Even-odd ray casting (a ray towards +x) at x, x - 360 and x + 360."""
        ax, ay = self.xy[:-1, 0], self.xy[:-1, 1]
        bx, by = self.xy[1:, 0], self.xy[1:, 1]
        straddles = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = ax + (y - ay) * (bx - ax) / (by - ay)
        for shifted in (x, x - 360.0, x + 360.0):
            if int(np.count_nonzero(straddles & (cross_x > shifted))) % 2:
                return True
        return False

    def degrees_to(self, x: float, y: float) -> float:
        return min(self.line.distance(shapely.Point(s, y)) for s in (x, x - 360.0, x + 360.0))


class Feature:
    """A feature's polygons as rings; a point is inside when an odd number of one
    polygon's rings hold it (exterior minus holes, even-odd round a pole)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.code = str(raw["properties"]["code"])
        geometry = raw["geometry"]
        polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                    else geometry["coordinates"])
        self.polygons = [[Ring(r) for r in rings] for rings in polygons]

    def holds(self, lon: float, lat: float) -> bool:
        return any(sum(r.holds(lon, lat) for r in rings) % 2 for rings in self.polygons)

    def degrees_to_boundary(self, lon: float, lat: float) -> float:
        return min(r.degrees_to(lon, lat) for rings in self.polygons for r in rings)

    def certainly_outside_by(self, lon: float, lat: float, metres: float) -> bool:
        """True when the point lies outside and at least ``metres`` from the boundary:
        a planar distance of d degrees is at least d × cos(latitude reached) degrees of
        arc, and a degree of arc at least ``METRES_PER_DEGREE_MIN``."""
        if self.holds(lon, lat):
            return False
        d = self.degrees_to_boundary(lon, lat)
        reach = min(89.99, abs(lat) + d)
        # 0.9: the small-angle reading of the haversine, kept on the safe side.
        return d * math.cos(math.radians(reach)) * METRES_PER_DEGREE_MIN * 0.9 >= metres

    def _boxes(self) -> Iterator[tuple[float, float, float, float]]:
        for rings in self.polygons:
            xy = rings[0].xy
            yield xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()

    def sample_inside(self, rng: random.Random, n: int) -> list[tuple[float, float]]:
        """Up to n random points inside, each in a polygon chosen at random."""
        return self._sample(rng, n, 0.0, self.holds)

    def sample_outside(self, rng: random.Random, n: int, metres: float,
                       margin_deg: float = 0.5) -> list[tuple[float, float]]:
        """Up to n random points at least ``metres`` outside, near a random polygon."""
        return self._sample(rng, n, margin_deg,
                            lambda lon, lat: self.certainly_outside_by(lon, lat, metres))

    def _sample(self, rng: random.Random, n: int, margin_deg: float,
                accept: Callable[[float, float], bool]) -> list[tuple[float, float]]:
        """Up to n random points that ``accept`` takes, drawn in a random polygon's
        bounding box widened by ``margin_deg``."""
        boxes = list(self._boxes())
        points: list[tuple[float, float]] = []
        for _ in range(n * 400):
            if len(points) == n:
                break
            west, south, east, north = rng.choice(boxes)
            lon = rng.uniform(west - margin_deg, east + margin_deg)
            lat = rng.uniform(max(-90.0, south - margin_deg), min(90.0, north + margin_deg))
            if accept(lon, lat):
                points.append((wrap(float(lon)), float(lat)))
        return points


def wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def features(doc: dict[str, Any]) -> list[Feature]:
    return [Feature(raw) for raw in doc["features"]]


# --- reference measures (slow, independent of the territory index) ----------------------

WGS84 = Geodesic.WGS84


def moved(lon: float, lat: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point reached from (lon, lat) along a geodesic with this bearing."""
    point = geodesic(meters=metres).destination((lat, lon), bearing)
    return point.longitude, point.latitude


def corner_bisector(geometry: Polygon | MultiPolygon, vertex: tuple[float, float]) -> float:
    """The bearing from a vertex of the geometry along the bisector of its two edges,
    on the side of the smaller angle between them."""
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        coords = shapely.get_coordinates(ring)[:-1]
        matches = [i for i, c in enumerate(coords) if math.dist(c, vertex) < 1e-9]
        if matches:
            i = matches[0]
            break
    else:
        raise AssertionError(f"{vertex} is not a vertex of the geometry")
    here = coords[i]
    sines = cosines = 0.0
    for neighbour in (coords[i - 1], coords[(i + 1) % len(coords)]):
        # The direction in which the edge leaves the vertex (a point just along it).
        toward = here + (neighbour - here) * 1e-4
        azimuth = math.radians(WGS84.Inverse(here[1], here[0], toward[1], toward[0])["azi1"])
        sines += math.sin(azimuth)
        cosines += math.cos(azimuth)
    return math.degrees(math.atan2(sines, cosines))


def nearest_on_segment_m(
    point: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    """Reference: the geodesic distance from the point to the longitude/latitude segment
    a-b, by golden-section search along it (slow, independent of the index)."""
    lon, lat = point

    def distance(t: float) -> float:
        return float(WGS84.Inverse(lat, lon, a[1] + t * (b[1] - a[1]), a[0] + t * (b[0] - a[0]))[
            "s12"
        ])

    low, high = 0.0, 1.0
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(50):  # 0.618^50 of a segment: far below a millimetre
        left, right = high - ratio * (high - low), low + ratio * (high - low)
        if distance(left) < distance(right):
            high = right
        else:
            low = left
    return distance((low + high) / 2)
