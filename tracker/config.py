"""Settings read once from the environment; every one has a working default."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
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
    # The largest request body of a route (web.body_limits), in bytes: a scan; a form or
    # a small JSON body; a list of codes shipped, received or packed; a document (an
    # EPCIS capture, a territory map).
    max_scan_body_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024
    max_codes_body_bytes: int = 64 * 1024 * 1024
    max_document_body_bytes: int = 512 * 1024 * 1024
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
    # Webhooks (tracker.services.deliveries): the delays before each retry of a failed
    # delivery, in seconds (the default spans more than a day); how long a POST may take;
    # how many days of nothing but failures disable an endpoint; whether ``tracker
    # serve`` runs the delivery worker beside each server process.
    webhook_retry_delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_timeout_s: float = 10.0
    webhook_disable_after_days: float = 5.0
    webhook_worker: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """The settings from ``TRACKER_*`` variables; an empty or absent one keeps its
        default (the table below names each variable's field and how it is read)."""
        env = dict(os.environ if env is None else env)
        kwargs = {}
        for variable, name, read in _VARIABLES:
            if env.get(variable):
                try:
                    kwargs[name] = read(env[variable])
                except ValueError as exc:
                    raise ValueError(f"{variable}: {exc}") from None
        return cls(**kwargs)  # type: ignore[arg-type]


def _at_least_zero(value: str) -> int:
    return max(0, int(value))


_BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
               "kib": 2**10, "mib": 2**20, "gib": 2**30}


def byte_size(value: str) -> int:
    """A size as people write it: ``65536``, ``64 KiB``, ``500MB``, ``1 GiB``.

    >>> byte_size("64 KiB"), byte_size("500MB"), byte_size("1000")
    (65536, 500000000, 1000)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _BYTE_UNITS:
        raise ValueError(f"{value!r} is not a size in bytes (write e.g. 65536, 64 KiB, 500 MB)")
    return int(float(match.group(1)) * _BYTE_UNITS[unit])


def delays(value: str) -> tuple[float, ...]:
    """Seconds, comma-separated: ``5,30,300,1800``.

    >>> delays("5, 30,0.5")
    (5.0, 30.0, 0.5)
    """
    try:
        seconds = tuple(float(part) for part in value.split(","))
    except ValueError:
        seconds = ()
    if not seconds or any(not 0 <= s < float("inf") for s in seconds):
        raise ValueError(f"{value!r} is not a list of delays in seconds (write e.g. "
                         "5,30,300,1800)")
    return seconds


def _flag(variable: str) -> Callable[[str], bool]:
    return lambda value: flag(variable, value)


# Environment variable, Settings field, how its text is read.
_VARIABLES: list[tuple[str, str, Callable[[str], object]]] = [
    ("TRACKER_DATABASE_URL", "database_url", str),
    ("TRACKER_DL_BASE", "dl_base", lambda value: value.rstrip("/")),
    ("TRACKER_MAX_BATCH_QUANTITY", "max_batch_quantity", int),
    ("TRACKER_CLONE_SPEED_KMH", "clone_speed_kmh", float),
    ("TRACKER_BORDER_TOLERANCE_M", "border_tolerance_m", float),
    ("TRACKER_OFFSHORE_TOLERANCE_M", "offshore_tolerance_m", float),
    ("TRACKER_SECRET_KEY", "secret_key", str),
    ("TRACKER_SESSION_IDLE_MINUTES", "session_idle_minutes", float),
    ("TRACKER_TIMEZONE", "timezone", str),
    ("TRACKER_MAP_TILE_URL", "map_tile_url", str),
    ("TRACKER_HELPER_PROCESSES", "helper_processes", _at_least_zero),
    ("TRACKER_MAX_PHOTO_BYTES", "max_photo_bytes", byte_size),
    ("TRACKER_MAX_SCAN_BODY_BYTES", "max_scan_body_bytes", byte_size),
    ("TRACKER_MAX_BODY_BYTES", "max_body_bytes", byte_size),
    ("TRACKER_MAX_CODES_BODY_BYTES", "max_codes_body_bytes", byte_size),
    ("TRACKER_MAX_DOCUMENT_BODY_BYTES", "max_document_body_bytes", byte_size),
    ("TRACKER_PUBLIC_RATE_LIMIT", "public_rate_limit", str),
    ("TRACKER_SIGN_IN_USER_LIMIT", "sign_in_user_limit", str),
    ("TRACKER_SIGN_IN_CLIENT_LIMIT", "sign_in_client_limit", str),
    ("TRACKER_TOKEN_LIMIT", "token_limit", str),
    ("TRACKER_DEVICE_TOKEN_DAYS", "device_token_days", float),
    ("TRACKER_CONSUMER_VIOLATIONS", "consumer_violations",
     _flag("TRACKER_CONSUMER_VIOLATIONS")),
    ("TRACKER_TRUSTED_PROXIES", "trusted_proxies", _at_least_zero),
    ("TRACKER_WEBHOOK_RETRY_DELAYS", "webhook_retry_delays", delays),
    ("TRACKER_WEBHOOK_TIMEOUT_S", "webhook_timeout_s", float),
    ("TRACKER_WEBHOOK_DISABLE_AFTER_DAYS", "webhook_disable_after_days", float),
    ("TRACKER_WEBHOOK_WORKER", "webhook_worker", _flag("TRACKER_WEBHOOK_WORKER")),
]
