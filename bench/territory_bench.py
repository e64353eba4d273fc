"""The geometric part of judging a scan (``verdicts.locate``: most specific territory,
containment, distance to the expected territories' boundary) on the shipped maps and the
demo's hierarchy of regions, provinces and cities, with
today's importer and territory index against a baseline revision's, in one run.

    python bench/territory_bench.py [--baseline REV] [--rounds 9] [--points 400]

The baseline's ``tracker/domain/geojson.py`` and ``territory_index.py`` are read from git
at REV (default: the commit before the antimeridian work) and loaded beside today's; both
judge the same seeded points (inside, near a border, far outside, either side of 180), in
alternating rounds. Prints microseconds per locate, each round's ratio and the median
ratio (today / baseline; above 1 is slower). Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import geo_oracle  # noqa: E402
from tracker.domain import geojson, territory_index, verdicts  # noqa: E402
from tracker.services import demo  # noqa: E402

BASELINE = "59fa1ba"
BLOCKS = 6
MAPS = {"countries": ["Russia", "Fiji", "South Africa", "Lesotho", "France", "Brazil"],
        "us_states": ["02", "06", "32", "15"], "cn_provinces": ["CN-GD", "CN-ZJ", "CN-XJ"]}


def module_at(revision: str, path: str, name: str) -> ModuleType:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
                            check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)  # noqa: S102
    return module


def demo_hierarchy() -> dict:
    """The demo's territories in one collection: regions CN and US, provinces, states and
    city boxes beneath them (a scan there finds three territories, not one)."""
    provinces = demo.china_provinces()
    for feature in provinces["features"]:
        feature["properties"]["code"] = feature["properties"]["iso_3166_2"]
    features = [f for doc in (demo.regions(), provinces, demo.us_states(), demo.cities())
                for f in doc["features"]]
    return {"type": "FeatureCollection", "features": features}


def build(reader: ModuleType, index_module: ModuleType, doc: dict) -> object:
    features = reader.parse_feature_collection(doc)
    return index_module.TerritoryIndex.build(
        index_module.TerritoryRecord(f.code, f.parent_code, f.geometry) for f in features)


def cases(rng: random.Random, points: int) -> list[tuple[str, list[str], float, float]]:
    """(map, expected codes, lon, lat): a quarter each inside, within 3 km outside,
    1 km to 50 km outside, and in the Pacific either side of 180."""
    chosen: list[tuple[str, list[str], float, float]] = []
    per_map = points // (len(MAPS) + 1)
    for map_name, codes in MAPS.items():
        features = {f.code: f for f in geo_oracle.features(geo_oracle.shipped_map(map_name))}
        while len([c for c in chosen if c[0] == map_name]) < per_map:
            feature = features[rng.choice(codes)]
            kind = rng.randrange(4)
            if kind == 0:
                found = feature.sample_inside(rng, 1)
            elif kind == 1:
                found = feature.sample_outside(rng, 1, 50.0, margin_deg=0.03)
            elif kind == 2:
                found = feature.sample_outside(rng, 1, 1000.0, margin_deg=0.5)
            else:
                found = [(rng.choice((-1, 1)) * rng.uniform(179.0, 180.0), rng.uniform(-20, 70))]
            chosen += [(map_name, [feature.code], lon, lat) for lon, lat in found]
    for _ in range(per_map):  # the demo's cities, inside and around them
        code, _name, _parent, (west, south, east, north) = rng.choice(demo.CITIES)
        lon, lat = rng.uniform(west - 0.1, east + 0.1), rng.uniform(south - 0.1, north + 0.1)
        chosen.append(("demo", [code], lon, lat))
    return chosen


def per_locate_us(indexes: dict[str, object], points: list[tuple[str, list[str], float, float]]
                  ) -> float:
    start = time.perf_counter()
    for map_name, expected, lon, lat in points:
        verdicts.locate(indexes[map_name], latitude=lat, longitude=lon,  # type: ignore[arg-type]
                        expected_territories=expected, accuracy_m=25.0)
    return (time.perf_counter() - start) / len(points) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--points", type=int, default=400)
    args = parser.parse_args()

    old_reader = module_at(args.baseline, "tracker/domain/geojson.py", "baseline_geojson")
    old_index = module_at(args.baseline, "tracker/domain/territory_index.py", "baseline_index")
    docs = {name: geo_oracle.shipped_map(name) for name in MAPS} | {"demo": demo_hierarchy()}
    today = {name: build(geojson, territory_index, doc) for name, doc in docs.items()}
    baseline = {name: build(old_reader, old_index, doc) for name, doc in docs.items()}
    points = cases(random.Random(20261206), args.points)
    # Warm both (caches of chunks per code set, shapely preparation) before timing.
    per_locate_us(today, points)
    per_locate_us(baseline, points)

    ratios = []
    print(f"locate() on {len(points)} points of the three shipped maps and the demo's"
          " hierarchy, µs per call")
    for round_ in range(1, args.rounds + 1):
        # Short alternating blocks, so that the machine's drift falls on both alike.
        ours = theirs = 0.0
        for _ in range(BLOCKS):
            ours += per_locate_us(today, points) / BLOCKS
            theirs += per_locate_us(baseline, points) / BLOCKS
        ratios.append(ours / theirs)
        print(f"round {round_}: today {ours:7.1f}  baseline {args.baseline} {theirs:7.1f}"
              f"  ratio {ours / theirs:.3f}")
    print(f"median ratio today / baseline: {statistics.median(ratios):.3f}"
          " (target: not above 1, within the machine's noise)")


if __name__ == "__main__":
    main()
