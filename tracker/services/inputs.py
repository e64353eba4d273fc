"""Small parsers for values services take from people, with errors that name the problem."""

from __future__ import annotations

import enum
from typing import TypeVar

from tracker.errors import InvalidInput

E = TypeVar("E", bound=enum.Enum)


def parse_enum(cls: type[E], value: object, *, what: str, code: str) -> E:
    """``cls(value)``, or a 422-class error listing the accepted words.

    >>> from tracker.models import PartyRole
    >>> parse_enum(PartyRole, "brand", what="party role", code="invalid_party")
    <PartyRole.BRAND: 'brand'>
    """
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)
        raise InvalidInput(f"unknown {what} '{value}'; use one of: {allowed}",
                           code=code) from None
