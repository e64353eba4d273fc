"""Territory outlines for maps on pages and in case files: simplified, with a point to
hang a label or an arrow on."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.domain.territory_index import TerritoryIndex
from tracker.models import Territory
from tracker.services.territory_cache import territory_index

# Outlines are simplified to about this many degrees (a kilometre): a province stays
# recognisable and a page loads in a moment.
TOLERANCE_DEG = 0.01


@dataclass(frozen=True)
class Outline:
    code: str
    name: str
    name_zh: str | None
    geometry: dict[str, Any]  # GeoJSON
    # A point inside the territory (lon, lat), for labels and flow arrows.
    anchor: tuple[float, float]


def outlines(session: Session, codes: Iterable[str], *, tolerance: float = TOLERANCE_DEG
             ) -> dict[str, Outline]:
    """The outlines of those territories that have an area (a region: its children's)."""
    wanted = list(dict.fromkeys(c for c in codes if c))
    if not wanted:
        return {}
    index = territory_index(session)
    names = {code: (name, (properties or {}).get("name_zh")) for code, name, properties in
             session.execute(select(Territory.code, Territory.name, Territory.properties)
                             .where(Territory.code.in_(wanted)))}
    shapes = _shapes.setdefault(index, {})
    found: dict[str, Outline] = {}
    for code in wanted:
        if (code, tolerance) not in shapes:
            shapes[code, tolerance] = _shape(index, code, tolerance)
        shape = shapes[code, tolerance]
        if shape is None:
            continue
        name, name_zh = names.get(code, (code, None))
        found[code] = Outline(code, name, name_zh, *shape)
    return found


# Simplified outlines with their anchors, kept as long as the territory index they were
# made from: a territory import builds a new index, and with it new outlines. (A
# province's outline takes milliseconds to simplify; a report's map shows dozens.)
_Shape = tuple[dict[str, Any], tuple[float, float]]
_shapes: weakref.WeakKeyDictionary[TerritoryIndex, dict[tuple[str, float], _Shape | None]] = (
    weakref.WeakKeyDictionary())


def _shape(index: TerritoryIndex, code: str, tolerance: float) -> _Shape | None:
    geometry = index.geometry(code)
    if geometry is None or geometry.is_empty:
        return None
    # On a grid of a tenth of the tolerance: digits beyond it only make the page heavier.
    shown = shapely.set_precision(shapely.simplify(geometry, tolerance, preserve_topology=True),
                                  tolerance / 10)
    largest = max(getattr(geometry, "geoms", [geometry]), key=lambda part: part.area)
    point = largest.representative_point()
    return mapping(shown), (point.x, point.y)
