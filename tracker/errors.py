"""One exception hierarchy for the core.

Each class carries a snake_case ``code`` that the web layer puts in the error body and a
message a person can act on. The web layer alone maps classes to HTTP status codes.
"""

from __future__ import annotations

from typing import Any


class TrackerError(Exception):
    """Base of every error the core raises on purpose."""

    code = "tracker_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message


class InvalidInput(TrackerError):
    """Well-formed request whose values break a rule (unknown GTIN check digit, quantity 0)."""

    code = "invalid_input"


class MalformedCode(TrackerError):
    """A code that is neither a Digital Link URI, an SGTIN URN nor a serial."""

    code = "malformed_code"


class InvalidGeoJSON(InvalidInput):
    code = "invalid_geojson"


class NotFound(TrackerError):
    code = "not_found"


class Conflict(TrackerError):
    code = "conflict"


class PermissionDenied(TrackerError):
    code = "forbidden"


class AuthenticationRequired(TrackerError):
    code = "unauthorized"


class TooLarge(TrackerError):
    code = "too_large"
