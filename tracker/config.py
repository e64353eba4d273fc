"""Settings read once from the environment; every one has a working default."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def default_secret_key() -> str:
    """A key kept in ``instance/secret_key``, made once: every server process and restart
    signs with the same key. Set TRACKER_SECRET_KEY in production instead."""
    path = Path.cwd() / "instance" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32))
    return path.read_text().strip()


def flag(name: str, value: str) -> bool:
    """An on/off setting: 1/true/yes/on or 0/false/no/off."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be one of 1, true, yes, on, 0, false, no, off; not {value!r}")


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
    # Pages: the key signing CSRF tokens (sessions are kept on the server), how long an
    # unused session lives, and the time zone pages show times in.
    secret_key: str = field(default_factory=default_secret_key)
    session_idle_minutes: float = 30.0
    timezone: str = "UTC"
    # A tile server for the maps behind the territories ({z}/{x}/{y} URL); none by default:
    # territories are drawn from their own outlines.
    map_tile_url: str = ""
    # Helper processes that check big EPCIS documents; None: one per further CPU core.
    helper_processes: int | None = None
    # The largest JPEG an inspector may attach to a scan as evidence, in bytes.
    max_photo_bytes: int = 5_000_000
    # The public page of a code (web.public): requests allowed per client ("N/second",
    # "N/minute" or "N/hour"); whether a consumer's check opens violations (off: it is a
    # signal shown to compliance); how many proxies in front of the server append to
    # X-Forwarded-For (0: the peer's address is the client's, the header is ignored).
    public_rate_limit: str = "30/minute"
    # Sign-in attempts per user name and per client (a lock-out that ends with the
    # window), and API tokens a user may be issued.
    sign_in_user_limit: str = "10/15 minutes"
    sign_in_client_limit: str = "30/minute"
    token_limit: str = "20/hour"
    # How long a device's sign-in (the scanner app's token) lasts.
    device_token_days: float = 30.0
    consumer_violations: bool = False
    trusted_proxies: int = 0

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
        if env.get("TRACKER_SECRET_KEY"):
            kwargs["secret_key"] = env["TRACKER_SECRET_KEY"]
        if env.get("TRACKER_SESSION_IDLE_MINUTES"):
            kwargs["session_idle_minutes"] = float(env["TRACKER_SESSION_IDLE_MINUTES"])
        if env.get("TRACKER_TIMEZONE"):
            kwargs["timezone"] = env["TRACKER_TIMEZONE"]
        if env.get("TRACKER_MAP_TILE_URL"):
            kwargs["map_tile_url"] = env["TRACKER_MAP_TILE_URL"]
        if env.get("TRACKER_HELPER_PROCESSES"):
            kwargs["helper_processes"] = max(0, int(env["TRACKER_HELPER_PROCESSES"]))
        if env.get("TRACKER_MAX_PHOTO_BYTES"):
            kwargs["max_photo_bytes"] = int(env["TRACKER_MAX_PHOTO_BYTES"])
        if env.get("TRACKER_PUBLIC_RATE_LIMIT"):
            kwargs["public_rate_limit"] = env["TRACKER_PUBLIC_RATE_LIMIT"]
        if env.get("TRACKER_DEVICE_TOKEN_DAYS"):
            kwargs["device_token_days"] = float(env["TRACKER_DEVICE_TOKEN_DAYS"])
        for variable, limit in (("TRACKER_SIGN_IN_USER_LIMIT", "sign_in_user_limit"),
                                ("TRACKER_SIGN_IN_CLIENT_LIMIT", "sign_in_client_limit"),
                                ("TRACKER_TOKEN_LIMIT", "token_limit")):
            if env.get(variable):
                kwargs[limit] = env[variable]
        if env.get("TRACKER_CONSUMER_VIOLATIONS"):
            kwargs["consumer_violations"] = flag("TRACKER_CONSUMER_VIOLATIONS",
                                                 env["TRACKER_CONSUMER_VIOLATIONS"])
        if env.get("TRACKER_TRUSTED_PROXIES"):
            kwargs["trusted_proxies"] = max(0, int(env["TRACKER_TRUSTED_PROXIES"]))
        return cls(**kwargs)  # type: ignore[arg-type]
