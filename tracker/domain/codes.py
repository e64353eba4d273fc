"""One entry point for every code a person can type or a scanner can read.

>>> code = parse_code("https://id.example.com/01/09520123456788/21/23456789ABCDEFD")
>>> code.form, code.gtin, code.serial, code.serial_well_formed
('digital_link', '09520123456788', '23456789ABCDEFD', True)
>>> parse_code(" 23456789abcdefg ").serial_well_formed  # wrong check character: still parsed
False
>>> parse_code("urn:epc:id:sscc:0614141.1234567890").sscc
'106141412345678908'

Parsing decides only what a code says, never whether it is genuine: a serial with a wrong
check character parses (``serial_well_formed`` is False) because the verdict rules treat
it as evidence of a counterfeit label, not as a typing error to bounce.
"""

from __future__ import annotations

import csv
import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tracker.domain.gs1 import (
    SGTIN_URN_PREFIX,
    SSCC_URN_PREFIX,
    gs1_check_digit,
    normalise_sscc,
    parse_digital_link,
    parse_sgtin_urn,
    parse_sscc_urn,
    quoted,
)
from tracker.domain.serials import is_well_formed, looks_like_serial
from tracker.errors import InvalidInput, MalformedCode

__all__ = [
    "ACCEPTED_FORMS",
    "CodeForm",
    "ParsedCode",
    "codes_from_lines",
    "container_key",
    "epc_key",
    "item_key",
    "parse_code",
]

CodeForm = Literal["digital_link", "sgtin", "serial", "sscc"]

ACCEPTED_FORMS = (
    "accepted: a GS1 Digital Link URI (https://host/01/{GTIN-14}/21/{serial}), "
    "an SGTIN EPC URN (urn:epc:id:sgtin:...), an SSCC (18 digits or urn:epc:id:sscc:...) "
    "or a 15-character serial"
)
_SSCC_DIGITS = re.compile(r"[0-9]{18}")


@dataclass(frozen=True)
class ParsedCode:
    """What a code identifies, and how it was written.

    ``form`` is ``"sscc"`` for every way of writing an SSCC (18 digits, EPC URN or a
    Digital Link URI with ``/00/``), so callers tell packed cases and pallets from items
    by ``form`` alone; ``"digital_link"`` is a trade-item Digital Link URI (``/01/``).
    """

    form: CodeForm
    raw: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    expiry: datetime.date | None = None
    sscc: str | None = None

    @functools.cached_property  # asked several times per scan
    def serial_well_formed(self) -> bool:
        """True when there is a serial and it passes our format and check character."""
        return self.serial is not None and is_well_formed(self.serial)

    @property
    def key(self) -> str | None:
        """The normalised key custody and events are stored under, when the code alone
        determines it (a bare serial needs its batch's GTIN first: ``item_key``)."""
        if self.sscc is not None:
            return container_key(self.sscc)
        if self.gtin is not None and self.serial is not None:
            return item_key(self.gtin, self.serial)
        return None


_HEADER_WORDS = {"code", "codes", "serial", "uri", "epc", "sscc"}


def codes_from_lines(lines: Iterable[str]) -> list[str]:
    """Codes from a scan list (one per line) or a CSV whose first column holds them, as a
    distributor's scanner or spreadsheet exports them, read line by line (an upload as it
    arrives); blank lines and a header are skipped.

    >>> codes_from_lines(["serial,uri", "ABC,https://x/01/1/21/ABC", "", "  DEF  "])
    ['ABC', 'DEF']
    """
    rows = csv.reader(lines)
    found = [row[0].strip() for row in rows if row and row[0].strip()]
    if found and found[0].lower() in _HEADER_WORDS:
        found = found[1:]
    return found


def item_key(gtin14: str, serial: str) -> str:
    """Key of one trade item, the same whichever form (URI, URN) named it.

    >>> item_key("09506000134352", "23456789ABCDEFD")
    '01/09506000134352/21/23456789ABCDEFD'
    """
    return f"01/{gtin14}/21/{serial}"


def container_key(sscc: str) -> str:
    return f"00/{sscc}"


# https://host/01/{GTIN-14}/21/{serial} with only unreserved characters in the serial.
_SIMPLE_ITEM_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?/01/(\d{14})/21/([A-Za-z0-9._-]{1,20})")


# An identifier is typically named by several events (shipping, receiving, packing) and
# parsing a Digital Link URI costs ~25 µs; the answer depends on the text alone.
@functools.lru_cache(maxsize=65_536)
def epc_key(epc: str) -> str:
    """Key for an identifier found in an EPCIS event: normalised when it is a GS1 item or
    SSCC we can read, otherwise the identifier as written (stored as is, never refused).

    >>> epc_key("https://id.gs1.org/01/09506000134352/21/R76QKTXBC87KXVV")
    '01/09506000134352/21/R76QKTXBC87KXVV'
    >>> epc_key("urn:epc:id:grai:0614141.12345.400")
    'urn:epc:id:grai:0614141.12345.400'
    """
    simple = _SIMPLE_ITEM_LINK.fullmatch(epc)
    if simple is not None and gs1_check_digit(simple[1][:13]) == simple[1][13]:
        # The common shape, with nothing to unescape or check beyond the GTIN's digit.
        return item_key(simple[1], simple[2])
    try:
        key = parse_code(epc).key
    except MalformedCode:
        return epc.strip()
    return key if key is not None else epc.strip()


def parse_code(text: str) -> ParsedCode:
    """Parse a Digital Link URI, an SGTIN or SSCC EPC URN, a bare SSCC or a bare serial.

    Surrounding whitespace is ignored; a bare serial is upper-cased. A Digital Link URI
    for a GTIN without ``/21/`` parses with ``serial=None``: callers decide whether they
    need one. Anything else raises ``MalformedCode`` naming the problem and the accepted
    forms.

    >>> parse_code("urn:epc:id:sgtin:0614141.812345.6789")
    ParsedCode(form='sgtin', raw='urn:epc:id:sgtin:0614141.812345.6789', \
gtin='80614141123458', serial='6789', lot=None, expiry=None, sscc=None)
    """
    candidate = text.strip()
    lowered = candidate.lower()
    try:
        if lowered.startswith(("https://", "http://")):
            return _from_digital_link(text, candidate)
        if lowered.startswith(SGTIN_URN_PREFIX):
            gtin, serial = parse_sgtin_urn(candidate)
            return ParsedCode(form="sgtin", raw=text, gtin=gtin, serial=serial)
        if lowered.startswith(SSCC_URN_PREFIX):
            return ParsedCode(form="sscc", raw=text, sscc=parse_sscc_urn(candidate))
        if _SSCC_DIGITS.fullmatch(candidate):
            return ParsedCode(form="sscc", raw=text, sscc=_bare_sscc(candidate))
    except MalformedCode as exc:
        raise MalformedCode(f"{exc.message}; {ACCEPTED_FORMS}") from exc
    serial = candidate.upper()
    if looks_like_serial(serial):
        return ParsedCode(form="serial", raw=text, serial=serial)
    raise MalformedCode(f"{quoted(text)} is not a code we can read; {ACCEPTED_FORMS}")


def _from_digital_link(raw: str, uri: str) -> ParsedCode:
    # Zero-suppressed GTINs (/01/9520123456788) break the Digital Link standard but name
    # the same product; reading them gets a scan a verdict instead of a 400.
    link = parse_digital_link(uri, permit_zero_suppressed_gtin=True)
    if link.sscc is not None:
        return ParsedCode(form="sscc", raw=raw, sscc=link.sscc)
    return ParsedCode(
        form="digital_link",
        raw=raw,
        gtin=link.gtin,
        serial=link.serial,
        lot=link.lot,
        expiry=link.expiry,
    )


def _bare_sscc(digits: str) -> str:
    try:
        return normalise_sscc(digits)
    except InvalidInput as exc:
        # A bad check digit in a typed SSCC is a typing error, so the code is unreadable.
        raise MalformedCode(exc.message) from exc
