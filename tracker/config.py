"""Settings read once from the environment; every one has a working default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_database_url() -> str:
    instance = Path.cwd() / "instance"
    return f"sqlite:///{instance / 'tracker.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    # Base of the GS1 Digital Link URIs printed in QR codes (scheme and host, no path).
    dl_base: str = "https://id.example.com"
    max_batch_quantity: int = 1_000_000
    # Verdict settings (used by the scan judge).
    clone_speed_kmh: float = 1000.0
    border_tolerance_m: float = 0.0
    # Allowance of a scan that no territory holds (at sea, in a coarse map's gaps).
    offshore_tolerance_m: float = 0.0
    # Helper processes that check big EPCIS documents; None: one per further CPU core.
    helper_processes: int | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        kwargs: dict[str, object] = {}
        if env.get("TRACKER_DATABASE_URL"):
            kwargs["database_url"] = env["TRACKER_DATABASE_URL"]
        if env.get("TRACKER_DL_BASE"):
            kwargs["dl_base"] = env["TRACKER_DL_BASE"].rstrip("/")
        if env.get("TRACKER_MAX_BATCH_QUANTITY"):
            kwargs["max_batch_quantity"] = int(env["TRACKER_MAX_BATCH_QUANTITY"])
        if env.get("TRACKER_CLONE_SPEED_KMH"):
            kwargs["clone_speed_kmh"] = float(env["TRACKER_CLONE_SPEED_KMH"])
        if env.get("TRACKER_BORDER_TOLERANCE_M"):
            kwargs["border_tolerance_m"] = float(env["TRACKER_BORDER_TOLERANCE_M"])
        if env.get("TRACKER_OFFSHORE_TOLERANCE_M"):
            kwargs["offshore_tolerance_m"] = float(env["TRACKER_OFFSHORE_TOLERANCE_M"])
        if env.get("TRACKER_HELPER_PROCESSES"):
            kwargs["helper_processes"] = max(0, int(env["TRACKER_HELPER_PROCESSES"]))
        return cls(**kwargs)  # type: ignore[arg-type]
