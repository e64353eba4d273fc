"""The scan service on its own: the territory index follows territory changes."""

from __future__ import annotations

from tests.integration.network import build, square
from tracker.services import masterdata, scans
from tracker.services.auth import SYSTEM


def test_index_follows_a_redrawn_territory(session, settings):
    net = build(session, settings)

    def verdict(serial: str) -> str:
        return scans.record_scan(session, scans.ScanRequest(
            code=serial, latitude=5.0, longitude=25.0), actor=SYSTEM,
            settings=settings)["verdict"]

    assert verdict(net.serials[0]) == "diverted"  # (25, 5) lies in B, the batch is for A
    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [square("A", 0, 0, 30, "ROOT")]})
    assert verdict(net.serials[1]) == "authentic"
