"""Point queries against the territory hierarchy: which territories hold a field scan, and
how far a scan outside its expected territories lies from their boundary.

The index is built once from every territory (``TerritoryIndex.build``) and then answers
many scans; the service keeps it and rebuilds it when territories change. It knows
nothing of the database: the service turns its rows into ``TerritoryRecord`` values.

Geometries are longitude/latitude (WGS84) polygons as ``parse_feature_collection`` makes
them: valid, every longitude within [-180, 180] (a territory across the antimeridian is
split into parts on either side). Containment is the planar test on those coordinates,
as everywhere else in the project; a point on a boundary counts as inside (``covers``).

Where territories overlap, the most specific territory of a point is the smallest one
that contains it, and a territory always ranks before those above it in the hierarchy
(a city before its province, even where the city's box reaches beyond the province).
Two unrelated territories overlap where a map draws a small state inside its neighbour
without a hole, or where maps of different sources meet: the smaller is the more
specific. Which one is most specific names the place (``found_territory``); it does not
decide authorisation: a point inside an expected territory is inside it, whatever
smaller territory also covers it (``contains_point``). A hole is outside its territory
(Lesotho is no part of South Africa).

A territory without geometry is a sales region whose area is the union of its children's
areas (recursively); one with neither geometry nor children has no area. A child's area
may reach beyond its parent's own geometry (a city box drawn across a coastline): the
parent's area is then its own geometry, not the union.

>>> from shapely.geometry import box
>>> index = TerritoryIndex.build([
...     TerritoryRecord("CN", None, None),
...     TerritoryRecord("CN-GD", "CN", box(109.6, 20.2, 117.3, 25.5)),
...     TerritoryRecord("CN-GD-SZ", "CN-GD", box(113.75, 22.45, 114.6, 22.85)),
... ])
>>> index.containing(114.06, 22.54)
['CN-GD-SZ', 'CN-GD', 'CN']
>>> index.most_specific(113.26, 23.13), index.ancestors("CN-GD-SZ")
('CN-GD', ['CN-GD', 'CN'])
>>> round(index.distance_to_boundary_m(["CN-GD-SZ"], 114.6, 22.95))
11074

Distances (``distance_to_boundary_m``) are geodesic metres on the WGS84 ellipsoid, from
the point to the nearest point of the territories' boundaries, where a boundary is the
polyline that is straight in longitude/latitude (the same line the containment test
uses). How the nearest point is found, so that it is right next to the poles and across
the antimeridian and costs well under a millisecond:

1. At build time every boundary ring is cut into segments no longer than
   ``SEGMENT_STEP_DEG`` in longitude or latitude (extra vertices on the same straight
   line: the boundary does not move), and the segments are grouped into chunks of
   ``CHUNK_SEGMENTS`` consecutive ones, each bounded by a spherical cap (centre and
   angular radius on the unit sphere). Caps are in 3-D, so they know nothing of the
   antimeridian or of the poles.
2. A query takes the territories' chunks, a lower bound on the angle to each (angle to
   the cap centre minus its radius), measures the segments of the chunk with the
   smallest bound, and keeps only the chunks whose bound does not exceed that distance.
3. It measures every kept segment in an azimuthal equidistant projection centred on the
   query point (spherical formulas on longitude differences, so ±180 is no edge). The
   sphere is the conformal sphere (latitude replaced by the conformal latitude), on
   which the ellipsoid's local metric is isotropic: the foot of the perpendicular found
   there is the ellipsoid's to first order.
4. The few nearest segments are cut into ``REFINE_STEPS`` pieces along their
   longitude/latitude line and the nearest piece found again, which pins the nearest
   point onto the true boundary line (a projected chord deviates from it by metres at
   high latitudes). The distance to that point is measured with
   ``geopy.distance.geodesic``: the answer is a real geodesic to a real boundary point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import shapely
from geopy.distance import geodesic
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Point, Polygon

__all__ = ["TerritoryIndex", "TerritoryRecord"]

Geometry: TypeAlias = Polygon | MultiPolygon
FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.intp]

# Boundary segments longer than this (degrees of longitude or latitude) are cut, so that
# a straight chord in the local projection stays within metres of the real boundary line
# and the chunk caps stay tight. 0.1 degree is at most about 11 km.
SEGMENT_STEP_DEG = 0.1
# Segments per chunk: fewer means tighter caps but more caps to test per query.
CHUNK_SEGMENTS = 16
# Pieces a candidate segment is cut into to pin the nearest point onto its true line.
REFINE_STEPS = 16
_REFINE_STEPS = np.linspace(0.0, 1.0, REFINE_STEPS + 1)
# At most this many nearest segments are refined and measured on the ellipsoid.
MAX_REFINED = 8
# At most this many refined points are measured on the ellipsoid (about 60 µs each).
MAX_MEASURED = 3

# WGS84, for the conformal latitude; the mean radius only scales slack thresholds.
_FLATTENING = 1 / 298.257223563
_ECCENTRICITY = math.sqrt(_FLATTENING * (2 - _FLATTENING))
_MEAN_RADIUS_M = 6_371_008.8
# Segments whose projected distance is within this of the nearest one are refined too:
# the projected chord and the real line differ by metres (see SEGMENT_STEP_DEG), and
# far from the query point the projection bends lines a little more.
_SLACK_M = 100.0
_SLACK_RELATIVE = 2e-3
# How much the conformal sphere's scale (relative to the ellipsoid's) changes per radian
# of latitude, rounded up from e² ≈ 0.0067.
_SCALE_SPREAD = 0.01

_GEODESIC = geodesic()  # one instance: building one per call costs as much as measuring


@dataclass(frozen=True)
class TerritoryRecord:
    """One territory as the index needs it: its code, parent and own geometry.

    ``geometry`` is None for a region whose area is the union of its children's.
    """

    code: str
    parent_code: str | None
    geometry: Geometry | None


class TerritoryIndex:
    """The territories, their hierarchy and prepared geometries, for fast point queries.

    Built once with ``build``; afterwards it changes only by filling two caches (chunks
    per set of codes, region unions), so one index can serve many scans and threads.
    A code the index does not know has no area and no relatives.
    """

    def __init__(self) -> None:
        # Filled by build(); __init__ stays trivial so that an index is only made there.
        self._parent: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._has_geometry: dict[str, bool] = {}
        self._geometry: dict[str, Geometry | None] = {}
        self._owners: dict[str, tuple[str, ...]] = {}
        self._regions_above: dict[str, tuple[str, ...]] = {}
        self._area_km2: dict[str, float] = {}
        self._part_owner: list[str] = []
        self._parts: NDArray[np.object_] = np.empty(0, dtype=object)
        self._tree: shapely.STRtree = shapely.STRtree([])
        self._chunk_range: dict[str, tuple[int, int]] = {}
        self._effective_cache: dict[str, Geometry | None] = {}
        # Per set of codes: its boundary chunks, and one cap (unit vector, angular
        # radius) holding them all.
        self._chunk_cache: dict[frozenset[str], tuple[IntArray, _Cap]] = {}
        # The last point asked about: judging a scan asks about one point several times.
        self._last_point: tuple[float, float, frozenset[str]] | None = None
        # Segment arrays (one entry per boundary segment) and chunk arrays.
        self._seg_lon_a = self._seg_lat_a = self._seg_lon_b = self._seg_lat_b = _floats(0)
        # Unit vectors of the segments' ends on the conformal sphere.
        self._seg_a: FloatArray = np.empty((0, 3))
        self._seg_b: FloatArray = np.empty((0, 3))
        self._chunk_start: IntArray = np.empty(0, dtype=np.intp)
        self._chunk_end: IntArray = np.empty(0, dtype=np.intp)
        self._chunk_centre: FloatArray = np.empty((0, 3))
        self._chunk_radius: FloatArray = _floats(0)

    # --- building ----------------------------------------------------------------------

    @classmethod
    def build(cls, records: Iterable[TerritoryRecord]) -> TerritoryIndex:
        """An index of these territories.

        A parent code that is not among the records is ignored (the territory is then a
        root). Raises ``ValueError`` for a code given twice or parent links in a cycle.
        """
        index = cls()
        by_code: dict[str, TerritoryRecord] = {}
        for record in records:
            if record.code in by_code:
                raise ValueError(f"territory code '{record.code}' is given twice")
            by_code[record.code] = record
        index._link(by_code)
        index._index_areas(by_code)
        index._index_boundaries(by_code)
        return index

    def _link(self, by_code: dict[str, TerritoryRecord]) -> None:
        for code, record in by_code.items():
            parent = record.parent_code if record.parent_code in by_code else None
            self._parent[code] = parent
            self._children.setdefault(code, [])
            if parent is not None:
                self._children.setdefault(parent, []).append(code)
            self._has_geometry[code] = record.geometry is not None
            self._geometry[code] = record.geometry
        for code in by_code:
            chain: list[str] = []
            current = self._parent[code]
            while current is not None:
                if current == code or current in chain:
                    raise ValueError(
                        f"territory '{code}': parent links form a cycle through '{current}'"
                    )
                chain.append(current)
                current = self._parent[current]
            self._ancestors[code] = tuple(chain)
            # The regions that contain whatever this territory's own geometry contains:
            # geometry-less ancestors up to the first ancestor with a geometry of its own
            # (whose area is that geometry, not the union of its children).
            regions: list[str] = []
            for ancestor in chain:
                if self._has_geometry[ancestor]:
                    break
                regions.append(ancestor)
            self._regions_above[code] = tuple(regions)

        # The territories whose own geometries make up each territory's area, deepest
        # first so that every child is done before its parent.
        for code in sorted(by_code, key=lambda c: -len(self._ancestors[c])):
            geometry = self._geometry[code]
            if geometry is not None:
                self._owners[code] = () if geometry.is_empty else (code,)
            else:
                owners: dict[str, None] = {}
                for child in self._children[code]:
                    owners.update(dict.fromkeys(self._owners[child]))
                self._owners[code] = tuple(owners)

    def _index_areas(self, by_code: dict[str, TerritoryRecord]) -> None:
        parts: list[Polygon] = []
        for code, record in by_code.items():
            geometry = record.geometry
            if geometry is None or geometry.is_empty:
                continue
            own = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
            parts.extend(own)
            self._part_owner.extend([code] * len(own))
            self._area_km2[code] = _equal_area_km2(geometry)
        # The tree holds parts, not whole territories: a MultiPolygon across the
        # antimeridian (Alaska, Fiji) has an envelope around the whole globe.
        self._parts = np.array(parts, dtype=object)
        shapely.prepare(self._parts)
        self._tree = shapely.STRtree(self._parts)
        for code, owners in self._owners.items():
            if not self._has_geometry[code]:
                # Overlapping children are counted twice; this only orders ties.
                self._area_km2[code] = sum(self._area_km2[o] for o in owners)

    def _index_boundaries(self, by_code: dict[str, TerritoryRecord]) -> None:
        rings: list[FloatArray] = []
        ring_owner: list[str] = []
        for code, record in by_code.items():
            geometry = record.geometry
            if geometry is None or geometry.is_empty:
                continue
            for ring in shapely.get_rings(shapely.get_parts(geometry)):
                rings.append(_densify(shapely.get_coordinates(ring)))
                ring_owner.append(code)

        lon_a: list[FloatArray] = []
        lat_a: list[FloatArray] = []
        lon_b: list[FloatArray] = []
        lat_b: list[FloatArray] = []
        chunk_starts: list[int] = []
        count = 0
        for code, ring in zip(ring_owner, rings, strict=True):
            segments = len(ring) - 1
            if segments < 1:
                continue
            first_chunk = len(chunk_starts)
            chunk_starts.extend(range(count, count + segments, CHUNK_SEGMENTS))
            start, _ = self._chunk_range.get(code, (first_chunk, 0))
            self._chunk_range[code] = (start, len(chunk_starts))
            lon_a.append(ring[:-1, 0])
            lat_a.append(ring[:-1, 1])
            lon_b.append(ring[1:, 0])
            lat_b.append(ring[1:, 1])
            count += segments
        if not count:
            return
        self._seg_lon_a, self._seg_lat_a = np.concatenate(lon_a), np.concatenate(lat_a)
        self._seg_lon_b, self._seg_lat_b = np.concatenate(lon_b), np.concatenate(lat_b)
        lam_a, chi_a = np.radians(self._seg_lon_a), _conformal(self._seg_lat_a)
        lam_b, chi_b = np.radians(self._seg_lon_b), _conformal(self._seg_lat_b)
        self._seg_a = a = _unit_vectors(lam_a, chi_a)
        self._seg_b = b = _unit_vectors(lam_b, chi_b)

        starts = np.array(chunk_starts, dtype=np.intp)
        self._chunk_start = starts
        self._chunk_end = np.append(starts[1:], count)
        centre = np.add.reduceat(a + b, starts, axis=0)
        centre /= np.linalg.norm(centre, axis=1, keepdims=True)
        chunk_of = np.repeat(np.arange(len(starts)), self._chunk_end - starts)
        reach = np.maximum(_angle(centre[chunk_of], a), _angle(centre[chunk_of], b))
        # Every point of a segment lies within this angle of its start: along the
        # meridian to the point's latitude, then along that parallel (whose length is
        # largest at the latitude nearest the equator the segment reaches).
        nearest_equator = np.where(
            np.sign(chi_a) != np.sign(chi_b), 0.0, np.minimum(np.abs(chi_a), np.abs(chi_b))
        )
        along = np.abs(chi_b - chi_a) + np.abs(lam_b - lam_a) * np.cos(nearest_equator)
        self._chunk_centre = centre
        self._chunk_radius = np.maximum.reduceat(reach + along, starts)

    # --- hierarchy ---------------------------------------------------------------------

    @property
    def codes(self) -> list[str]:
        """Every territory code, sorted."""
        return sorted(self._parent)

    def __contains__(self, code: object) -> bool:
        return code in self._parent

    def ancestors(self, code: str) -> list[str]:
        """The territory's parent, grandparent and so on, nearest first."""
        return list(self._ancestors.get(code, ()))

    def descendants(self, code: str) -> set[str]:
        """Every territory below this one, at any depth."""
        found: set[str] = set()
        stack = list(self._children.get(code, ()))
        while stack:
            child = stack.pop()
            found.add(child)
            stack.extend(self._children[child])
        return found

    def is_same_or_related(self, a: str, b: str) -> bool:
        """True when a is b, or one is an ancestor of the other (the authorisation rule)."""
        return a == b or a in self._ancestors.get(b, ()) or b in self._ancestors.get(a, ())

    def lies_within(self, code: str, other: str) -> bool:
        """True when code is other or one of its descendants."""
        return code == other or other in self._ancestors.get(code, ())

    def geometry(self, code: str) -> Geometry | None:
        """The territory's area: its own geometry, or for a region the union of its
        children's areas; None when it has no area. Regions are unioned on first use
        (point queries never need the union) and kept."""
        if code not in self._parent:
            return None
        if self._has_geometry[code]:
            return self._geometry[code]
        if code not in self._effective_cache:
            owned = [self._geometry[o] for o in self._owners[code]]
            self._effective_cache[code] = _polygonal(shapely.unary_union(owned)) if owned else None
        return self._effective_cache[code]

    # --- point queries -----------------------------------------------------------------

    def containing(self, lon: float, lat: float) -> list[str]:
        """Every territory that contains the point (boundary included), regions by the
        union of their children; the most specific first (see the module docstring:
        the smallest, and a territory always before the territories above it)."""
        found: set[str] = set()
        for owner in self._covering_owners(lon, lat):
            found.add(owner)
            found.update(self._regions_above[owner])
        if len(found) < 2:
            return list(found)
        # A territory ranks by the largest area among itself and what it holds of the
        # point's territories below it, so it never ranks before them.
        rank = {code: self._area_km2.get(code, 0.0) for code in found}
        for code in found:
            for ancestor in self._ancestors[code]:
                if ancestor in rank and rank[ancestor] < rank[code]:
                    rank[ancestor] = rank[code]
        return sorted(found, key=lambda c: (rank[c], -len(self._ancestors[c]), c))

    def most_specific(self, lon: float, lat: float) -> str | None:
        """The most specific territory that contains the point (``containing``'s first)."""
        found = self.containing(lon, lat)
        return found[0] if found else None

    def contains_point(self, codes: Iterable[str], lon: float, lat: float) -> bool:
        """True when any of the territories contains the point (boundary included)."""
        owners = self._owners_of(codes)
        return bool(owners) and not owners.isdisjoint(self._covering_owners(lon, lat))

    def distance_to_boundary_m(self, codes: Iterable[str], lon: float, lat: float,
                               exact_within: float | None = None) -> float:
        """Geodesic metres from the point to the nearest point of the union of the
        territories: 0.0 when they contain it, ``math.inf`` when they have no area.

        For a point outside, that is the distance to their boundary (holes included).
        Exact to millimetres at the scale of GPS accuracy; beyond a few thousand
        kilometres the nearest point found may be a little off the true nearest one.

        ``exact_within``: a caller that only compares the distance with this many metres
        may get, without the (costly) measure on the ellipsoid, for a point certainly
        farther a lower bound of the distance that is still farther, and for a point
        certainly nearer an upper bound that is still no farther.
        """
        codes = list(codes)
        lon, lat = _checked(lon, lat)
        if self.contains_point(codes, lon, lat):
            return 0.0
        chunks, cap = self._chunks_of(codes)
        if not len(chunks):
            return math.inf
        if exact_within is not None:
            # Farther than the cap that holds the whole boundary allows (most points
            # outside are far away): a lower bound, without projecting anything.
            floor = _beyond(cap, _unit_vector(lon, lat)) * _MEAN_RADIUS_M * (1 - 2 * _SCALE_SPREAD)
            if floor > exact_within:
                return floor
        projection = _Projection(lon, lat)

        # A lower bound on the angle to every chunk (arccos loses about 1e-8 radian near
        # 0, so the bound is widened by more). The chunk that may be nearest gives a
        # distance that the answer cannot exceed; only chunks that may come closer count.
        cosine = np.minimum(np.maximum(self._chunk_centre[chunks] @ projection.centre, -1.0), 1.0)
        lower = np.arccos(cosine) - self._chunk_radius[chunks] - 1e-7
        nearest_chunk = int(np.argmin(lower))
        if exact_within is not None:
            # Farther than every chunk's cap allows: no need to look at a segment.
            floor = max(0.0, float(lower[nearest_chunk])) * _MEAN_RADIUS_M * (1 - 2 * _SCALE_SPREAD)
            if floor > exact_within:
                return floor
        first = chunks[nearest_chunk]
        bound, _ = self._projected_distances(
            np.arange(self._chunk_start[first], self._chunk_end[first]), projection
        )
        kept = chunks[lower <= _widened(float(bound.min()))]
        segments = _ranges(self._chunk_start[kept], self._chunk_end[kept])
        distances, _ = self._projected_distances(segments, projection)
        if exact_within is not None:
            # No point of the boundary is nearer than the nearest chord less the slack,
            # and the conformal sphere's scale is within 1 % of the ellipsoid's.
            nearest_chord = max(0.0, float(distances.min()) * (1 - _SLACK_RELATIVE)
                                - _SLACK_M / _MEAN_RADIUS_M)
            lower = nearest_chord * _MEAN_RADIUS_M * (1 - 2 * _SCALE_SPREAD)
            if lower > exact_within:
                return lower

        nearest = np.argsort(distances)[:MAX_REFINED]
        nearest = nearest[distances[nearest] <= _widened(float(distances[nearest[0]]))]
        points, refined = self._refine(segments[nearest], projection)
        if exact_within is not None:
            # A boundary point certainly within the threshold settles the comparison
            # too: the spherical distance to it, widened, bounds the distance from above.
            upper = min(spherical_km(lat, lon, p_lat, p_lon) for p_lon, p_lat in points
                        ) * 1000.0 * SPHERE_MARGIN
            if upper <= exact_within:
                return upper
        # The conformal sphere's scale differs from the ellipsoid's by up to 1 %, but
        # nearly alike for candidates at about the same distance: it varies with latitude
        # (about e² per radian), and their latitudes differ by at most twice the distance.
        order = np.argsort(refined)
        best = float(refined[order[0]])
        window = best * _SCALE_SPREAD * min(best, 1.0) + 1.0 / _MEAN_RADIUS_M
        # Neighbouring segments often refine to the same vertex: measure it once.
        candidates = list(dict.fromkeys(points[i] for i in order if refined[i] <= best + window))
        return min(
            _GEODESIC.measure((lat, lon), (p_lat, p_lon)) * 1000.0
            for p_lon, p_lat in candidates[:MAX_MEASURED]
        )

    # --- internals ---------------------------------------------------------------------

    def _covering_owners(self, lon: float, lat: float) -> frozenset[str]:
        """The territories whose own geometry covers the point."""
        last = self._last_point  # one read: other threads may replace it meanwhile
        if last is not None and last[0] == lon and last[1] == lat:
            return last[2]
        found: set[str] = set()
        for point in _points(*_checked(lon, lat)):
            candidates = self._tree.query(point)
            if len(candidates):
                hits = candidates[shapely.covers(self._parts[candidates], point)]
                found.update(self._part_owner[i] for i in hits)
        owners = frozenset(found)
        self._last_point = (lon, lat, owners)  # replaced whole: safe to read from threads
        return owners

    def _owners_of(self, codes: Iterable[str]) -> set[str]:
        owners: set[str] = set()
        for code in codes:
            owners.update(self._owners.get(code, ()))
        return owners

    def _chunks_of(self, codes: Iterable[str]) -> tuple[IntArray, _Cap]:
        key = frozenset(codes)
        cached = self._chunk_cache.get(key)
        if cached is None:
            ranges = sorted(self._chunk_range[o] for o in self._owners_of(key)
                            if o in self._chunk_range)
            chunks = _ranges(
                np.array([r[0] for r in ranges], dtype=np.intp),
                np.array([r[1] for r in ranges], dtype=np.intp),
            )
            cached = (chunks, self._cap_of(chunks))
            if len(self._chunk_cache) > 1024:  # a bound, not a policy: sets of codes are few
                self._chunk_cache.clear()
            self._chunk_cache[key] = cached
        return cached

    def _cap_of(self, chunks: IntArray) -> _Cap:
        """A cap holding the chunks' caps: around their mean direction, reaching the
        farthest of them (π, a cap holding everything, when they have no mean)."""
        if not len(chunks):
            return (0.0, 0.0, 1.0, math.pi)
        centres = self._chunk_centre[chunks]
        total = centres.sum(axis=0)
        norm = float(np.linalg.norm(total))
        if norm < 1e-9:
            return (0.0, 0.0, 1.0, math.pi)
        centre = total / norm
        reach = _angle(np.broadcast_to(centre, centres.shape), centres) + self._chunk_radius[chunks]
        x, y, z = (float(v) for v in centre)
        return (x, y, z, min(math.pi, float(reach.max())))

    def _projected_distances(
        self, segments: IntArray, projection: _Projection
    ) -> tuple[FloatArray, FloatArray]:
        """Distances (radians of the conformal sphere) from the projection centre to each
        segment's chord in the azimuthal equidistant projection, and the chord parameter
        of the nearest point."""
        ax, ay = projection.project(self._seg_a[segments])
        bx, by = projection.project(self._seg_b[segments])
        return _to_chords(ax, ay, bx, by)

    def _refine(
        self, segments: IntArray, projection: _Projection
    ) -> tuple[list[tuple[float, float]], FloatArray]:
        """For each segment, the point of its longitude/latitude line nearest the centre
        (lon, lat in degrees) and its projected distance."""
        lon_a, lat_a = self._seg_lon_a[segments, None], self._seg_lat_a[segments, None]
        d_lon = self._seg_lon_b[segments, None] - lon_a
        d_lat = self._seg_lat_b[segments, None] - lat_a
        lons, lats = lon_a + _REFINE_STEPS * d_lon, lat_a + _REFINE_STEPS * d_lat
        vectors = _unit_vectors(np.radians(lons.ravel()), _conformal(lats.ravel()))
        x, y = (c.reshape(lons.shape) for c in projection.project(vectors))
        distances, t = _to_chords(x[:, :-1], y[:, :-1], x[:, 1:], y[:, 1:])
        piece = np.argmin(distances, axis=1)
        rows = np.arange(len(segments))
        fraction = (piece + t[rows, piece]) / REFINE_STEPS
        # The point on the segment's own line, not on the projected chord.
        points_lon = (lon_a[:, 0] + fraction * d_lon[:, 0]).tolist()
        points_lat = (lat_a[:, 0] + fraction * d_lat[:, 0]).tolist()
        return list(zip(points_lon, points_lat, strict=True)), distances[rows, piece]


# --- geometry helpers -------------------------------------------------------------------


# Geodesic distances on WGS84 differ from great-circle distances on a sphere of the
# equatorial radius by less than 0.5 %: this factor makes a spherical distance a bound
# of the geodesic one either way (times it: never less; divided by it: never more).
SPHERE_MARGIN = 1.01
_EQUATORIAL_RADIUS_KM = 6378.137


def spherical_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle kilometres between two points (degrees) on the equatorial-radius
    sphere: within ``SPHERE_MARGIN`` of the geodesic distance, at a fraction of its cost."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    haversine = (math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2)
                 * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * _EQUATORIAL_RADIUS_KM * math.asin(min(1.0, math.sqrt(haversine)))


def _widened(distance: float) -> float:
    """A projected distance (radians) plus the slack for how far a projected chord may be
    from the boundary line it stands for."""
    return distance * (1 + _SLACK_RELATIVE) + _SLACK_M / _MEAN_RADIUS_M


def _floats(n: int) -> FloatArray:
    return np.zeros(n, dtype=np.float64)


def _checked(lon: float, lat: float) -> tuple[float, float]:
    """The point with its longitude wrapped into [-180, 180); refuses what is no point."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or not -90.0 <= lat <= 90.0:
        raise ValueError(
            f"({lon!r}, {lat!r}) is not a longitude/latitude point: latitude must be within"
            " [-90, 90] and both must be finite"
        )
    if not -180.0 <= lon < 180.0:
        lon = (lon + 180.0) % 360.0 - 180.0
    return lon, lat


def _points(lon: float, lat: float) -> list[Point]:
    # Longitude -180 and 180 are one meridian, and a territory may touch it on either
    # side of the map.
    if lon == -180.0:
        return [Point(-180.0, lat), Point(180.0, lat)]
    return [Point(lon, lat)]


def _ranges(starts: IntArray, ends: IntArray) -> IntArray:
    """The concatenation of arange(s, e) for every pair, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, dtype=np.intp)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return (np.arange(total, dtype=np.intp) + offsets).astype(np.intp)


def _densify(coords: FloatArray) -> FloatArray:
    """The ring with extra vertices on its straight lines, so no segment is longer than
    SEGMENT_STEP_DEG in longitude or latitude."""
    steps = np.abs(np.diff(coords, axis=0)).max(axis=1)
    pieces = np.maximum(np.ceil(steps / SEGMENT_STEP_DEG).astype(np.intp), 1)
    if (pieces == 1).all():
        return coords
    starts = np.repeat(coords[:-1], pieces, axis=0)
    deltas = np.repeat(np.diff(coords, axis=0) / pieces[:, None], pieces, axis=0)
    within = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    return np.vstack([starts + deltas * within[:, None], coords[-1:]])


def _conformal(lat_deg: FloatArray) -> FloatArray:
    """Conformal latitude (radians) of geodetic latitudes (degrees) on WGS84."""
    phi = np.radians(lat_deg)
    psi = np.arcsinh(np.tan(phi)) - _ECCENTRICITY * np.arctanh(_ECCENTRICITY * np.sin(phi))
    return np.arctan(np.sinh(psi))


def _unit_vectors(lam: FloatArray, chi: FloatArray) -> FloatArray:
    vectors = np.empty((len(lam), 3))
    cos_chi = np.cos(chi)
    np.multiply(cos_chi, np.cos(lam), out=vectors[:, 0])
    np.multiply(cos_chi, np.sin(lam), out=vectors[:, 1])
    np.sin(chi, out=vectors[:, 2])
    return vectors


def _angle(u: FloatArray, v: FloatArray) -> FloatArray:
    """Angles between rows of unit vectors; atan2 keeps small angles exact."""
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=1), np.einsum("ij,ij->i", u, v))


# A cap on the unit sphere: the unit vector of its centre and its angular radius.
_Cap: TypeAlias = tuple[float, float, float, float]


def _sines(lon: float, lat: float) -> tuple[float, float, float, float]:
    """Sine and cosine of the longitude and of the conformal latitude of a point."""
    lam = math.radians(lon)
    phi = math.radians(lat)
    chi = math.atan(math.sinh(
        math.asinh(math.tan(phi)) - _ECCENTRICITY * math.atanh(_ECCENTRICITY * math.sin(phi))
    ))
    return math.sin(lam), math.cos(lam), math.sin(chi), math.cos(chi)


def _unit_vector(lon: float, lat: float) -> tuple[float, float, float]:
    """The point's unit vector on the conformal sphere (``_unit_vectors`` for one)."""
    sin_lam, cos_lam, sin_chi, cos_chi = _sines(lon, lat)
    return cos_chi * cos_lam, cos_chi * sin_lam, sin_chi


def _beyond(cap: _Cap, point: tuple[float, float, float]) -> float:
    """A lower bound on the angle (radians) from the point to anything in the cap: 0.0
    within it. arccos loses about 1e-8 radian near 0, so the bound is widened by more."""
    x, y, z, radius = cap
    cosine = max(-1.0, min(1.0, x * point[0] + y * point[1] + z * point[2]))
    return max(0.0, math.acos(cosine) - radius - 1e-7)


class _Projection:
    """The azimuthal equidistant projection of the unit (conformal) sphere centred on a
    point: x east, y north, in radians of arc. Built from 3-D unit vectors, so the
    antimeridian is no edge, and the east/north axes stay defined at a pole (there, the
    ones of the point's own meridian)."""

    def __init__(self, lon: float, lat: float) -> None:
        sin_lam, cos_lam, sin_chi, cos_chi = _sines(lon, lat)
        self.centre = np.array([cos_chi * cos_lam, cos_chi * sin_lam, sin_chi])
        # Columns: east, north and the centre, so one product gives all three components.
        self._axes = np.array([
            [-sin_lam, -sin_chi * cos_lam, cos_chi * cos_lam],
            [cos_lam, -sin_chi * sin_lam, cos_chi * sin_lam],
            [0.0, cos_chi, sin_chi],
        ])

    def project(self, vectors: FloatArray) -> tuple[FloatArray, FloatArray]:
        local = vectors @ self._axes
        east, north = local[..., 0], local[..., 1]
        sine = np.hypot(east, north)  # sine of the angle from the centre
        # atan2 keeps the angle exact both near the centre and near the antipode. At the
        # centre east = north = 0, so the floor on the divisor changes nothing.
        scale = np.arctan2(sine, local[..., 2]) / np.maximum(sine, 1e-300)
        return east * scale, north * scale


def _to_chords(
    ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Distance from the origin to each segment a-b, and the parameter of its foot."""
    dx, dy = bx - ax, by - ay
    # A segment of length 0 has a zero numerator too: its parameter is 0.
    # (np.minimum/np.maximum rather than np.clip: a few microseconds less per call.)
    t = -(ax * dx + ay * dy) / np.maximum(dx * dx + dy * dy, 1e-300)
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    return np.hypot(ax + t * dx, ay + t * dy), t


def _equal_area_km2(geometry: Geometry) -> float:
    """Area in km² in the sinusoidal projection (equal-area), good enough to order ties."""
    km_per_degree = math.radians(_MEAN_RADIUS_M / 1000.0)

    def sinusoidal(coords: FloatArray) -> FloatArray:
        x = coords[:, 0] * np.cos(np.radians(coords[:, 1]))
        return np.column_stack([x, coords[:, 1]]) * km_per_degree

    return float(shapely.transform(geometry, sinusoidal).area)


def _polygonal(geometry: shapely.Geometry) -> Geometry | None:
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon | MultiPolygon)]
    polygons: list[Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
