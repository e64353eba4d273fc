"""GS1 primitives: check digits, GTIN and SSCC, Digital Link URIs and EPC URNs.

Pure functions, no database. Builders (``normalise_*``, ``make_sscc``, ``build_*``,
``*_urn``) raise ``InvalidInput`` for values a caller supplied; parsers of scanned or typed
codes (``parse_*``) raise ``MalformedCode``. Every message quotes the offending value.

>>> normalise_gtin("9520123456788")
'09520123456788'
>>> uri = build_digital_link("https://id.example.com", "09520123456788", "23456789ABCDEFD",
...                          lot="L/7", expiry=datetime.date(2027, 3, 31))
>>> uri
'https://id.example.com/01/09520123456788/10/L%2F7/21/23456789ABCDEFD?17=270331'
>>> link = parse_digital_link(uri)
>>> link.gtin, link.lot, link.serial, link.expiry
('09520123456788', 'L/7', '23456789ABCDEFD', datetime.date(2027, 3, 31))
>>> sgtin_urn("80614141123458", "6789", company_prefix_length=7)
'urn:epc:id:sgtin:0614141.812345.6789'

Digital Link parsing follows the GS1 reference parser (gs1/gs1-syntax-engine, ``dl.c``):
the stem before the rightmost primary key is ignored, path qualifiers must form one of the
key's permitted sequences, query parameters with non-numeric names are not GS1 data, and
every AI value is checked against its GS1 format. Only GTIN (01) and SSCC (00) keys are
accepted: nothing else identifies an item or a logistic unit in this project.
"""

from __future__ import annotations

import calendar
import datetime
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from tracker.errors import InvalidInput, MalformedCode

__all__ = [
    "DigitalLink",
    "build_digital_link",
    "gs1_check_digit",
    "is_company_prefix",
    "key_from_epc_fields",
    "make_sscc",
    "normalise_gtin",
    "normalise_sscc",
    "parse_digital_link",
    "parse_sgtin_urn",
    "parse_sscc_urn",
    "quoted",
    "sgtin_urn",
    "sscc_urn",
    "uri_escape",
    "uri_unescape",
    "with_check_digit",
]

SGTIN_URN_PREFIX = "urn:epc:id:sgtin:"
SSCC_URN_PREFIX = "urn:epc:id:sscc:"

# ASCII only: str.isdigit() would let Arabic-Indic and superscript digits through.
_DIGITS = re.compile(r"[0-9]+")
# GS1 AI encodable character set 82 (General Specifications, figure 7.11-1).
_CSET82 = re.compile(r"[!\"%-?A-Z_a-z]+")
GTIN_LENGTHS = (8, 12, 13, 14)
SSCC_LENGTH = 18
# EPC URNs need the company prefix length; the Tag Data Standard allows 6 to 12 digits.
COMPANY_PREFIX_LENGTHS = range(6, 13)
_MESSAGE_LIMIT = 80
# Makes the MalformedCode for one input from a description of its problem.
_Fail = Callable[[str], MalformedCode]


def quoted(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters.

    >>> quoted("abc")
    "'abc'"
    >>> quoted("x" * 100, limit=10)
    "'xxxxxxx...'"
    """
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


# --- check digits, GTIN, SSCC ------------------------------------------------------


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a GTIN, SSCC or GLN body (everything but the check).

    >>> gs1_check_digit("952012345678")
    '8'
    >>> gs1_check_digit("10614141234567890")
    '8'
    """
    if not _DIGITS.fullmatch(digits):
        raise InvalidInput(
            f"cannot compute a GS1 check digit for {quoted(digits)}: digits 0-9 only",
            code="invalid_digits",
        )
    # Weights 3, 1, 3, ... from the rightmost body digit, whatever the length.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def with_check_digit(body: str) -> str:
    """``body`` followed by its GS1 check digit.

    >>> with_check_digit("952012345678")
    '9520123456788'
    """
    return body + gs1_check_digit(body)


def is_company_prefix(text: str) -> bool:
    """Whether ``text`` can be a GS1 company prefix: 6 to 12 digits 0-9."""
    return len(text) in COMPANY_PREFIX_LENGTHS and _DIGITS.fullmatch(text) is not None


def key_from_epc_fields(company_prefix: str, reference: str) -> str:
    """The GS1 key an EPC URN's company prefix and (item or serial) reference stand for.

    The reference's first digit (the GTIN's indicator, the SSCC's extension digit) leads;
    the check digit, which EPC URNs leave out, is recomputed. The caller checks the digits.

    >>> key_from_epc_fields("0614141", "812345")
    '80614141123458'
    >>> key_from_epc_fields("0614141", "1234567890")
    '106141412345678908'
    """
    return with_check_digit(reference[0] + company_prefix + reference[1:])


def _check_numeric_key(kind: str, text: str, lengths: tuple[int, ...], code: str) -> str:
    value = text.strip()
    bad = next((c for c in value if c not in string.digits), None)
    if bad is not None:
        raise InvalidInput(
            f"{kind} {quoted(value)} contains {bad!r}; only digits 0-9 are allowed", code=code
        )
    if len(value) not in lengths:
        expected = " or ".join(", ".join(map(str, lengths)).rsplit(", ", 1))
        raise InvalidInput(
            f"{kind} {quoted(value)} has {len(value)} digits; expected {expected}", code=code
        )
    expected_check = gs1_check_digit(value[:-1])
    if value[-1] != expected_check:
        raise InvalidInput(
            f"{kind} {quoted(value)} has check digit {value[-1]}; it should be {expected_check}",
            code=code,
        )
    return value


def normalise_gtin(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 checked and zero-padded to 14 digits.

    >>> normalise_gtin(" 96385074 ")
    '00000096385074'
    >>> normalise_gtin("9520123456789")
    Traceback (most recent call last):
    ...
    tracker.errors.InvalidInput: GTIN '9520123456789' has check digit 9; it should be 8
    """
    return _check_numeric_key("GTIN", text, GTIN_LENGTHS, "invalid_gtin").zfill(14)


def normalise_sscc(text: str) -> str:
    """An 18-digit SSCC with its check digit verified.

    >>> normalise_sscc("106141412345678908")
    '106141412345678908'
    """
    return _check_numeric_key("SSCC", text, (SSCC_LENGTH,), "invalid_sscc")


def _check_company_prefix(company_prefix: str, code: str) -> None:
    if not is_company_prefix(company_prefix):
        raise InvalidInput(
            f"GS1 company prefix {quoted(company_prefix)} must be 6 to 12 digits", code=code
        )


def make_sscc(company_prefix: str, serial_reference: int, extension_digit: int = 0) -> str:
    """The SSCC ``extension digit + company prefix + serial reference + check digit``.

    The serial reference fills the 16 - len(company_prefix) digits left, zero-padded.

    >>> make_sscc("0614141", 234567890, extension_digit=1)
    '106141412345678908'
    """
    _check_company_prefix(company_prefix, "invalid_sscc")
    if not 0 <= extension_digit <= 9:
        raise InvalidInput(
            f"SSCC extension digit {extension_digit!r} must be 0 to 9", code="invalid_sscc"
        )
    width = 16 - len(company_prefix)
    if not 0 <= serial_reference < 10**width:
        raise InvalidInput(
            f"SSCC serial reference {serial_reference!r} must be 0 to {10**width - 1} "
            f"after a {len(company_prefix)}-digit company prefix",
            code="invalid_sscc",
        )
    return with_check_digit(f"{extension_digit}{company_prefix}{serial_reference:0{width}d}")


# --- percent-encoding ------------------------------------------------------------------

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT_TRIPLET = re.compile(r"%([0-9A-Fa-f]{2})")


def uri_escape(value: str, *, query: bool = False) -> str:
    """Percent-encode a GS1 value for a Digital Link path segment or query value.

    Everything but RFC 3986 unreserved characters is escaped, ``/`` included, so a value
    never splits a path; in a query value a space becomes ``+`` (as gs1-syntax-engine).

    >>> uri_escape("A/B C"), uri_escape("A/B C", query=True)
    ('A%2FB%20C', 'A%2FB+C')
    """
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char in _UNRESERVED:
            out.append(char)
        elif char == " " and query:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _unescape(value: str, *, query: bool) -> str | None:
    """Percent-decoded ``value``, or None when it decodes to a NUL."""
    if query:
        # Before decoding, so that an escaped %2B stays a plus sign.
        value = value.replace("+", " ")
    found_nul = False

    def decode(match: re.Match[str]) -> str:
        nonlocal found_nul
        byte = int(match.group(1), 16)
        found_nul = found_nul or byte == 0
        # One character per byte, as the reference decoder: GS1 values are ASCII, and a
        # stray high byte must stay visible (and fail the CSET 82 check) rather than vanish.
        return chr(byte)

    decoded = _PERCENT_TRIPLET.sub(decode, value)
    return None if found_nul else decoded


def uri_unescape(value: str, *, query: bool = False) -> str:
    """Reverse ``uri_escape``. ``+`` means space only in a query value; a ``%`` not
    followed by two hex digits is kept as it is; ``%00`` is refused.

    >>> uri_unescape("A%2fB+C"), uri_unescape("A%2fB+C", query=True)
    ('A/B+C', 'A/B C')
    """
    decoded = _unescape(value, query=query)
    if decoded is None:
        raise MalformedCode(f"{quoted(value)} decodes to a NUL character (%00)")
    return decoded


# --- Digital Link ------------------------------------------------------------------

# Characters that may appear anywhere in a URI (RFC 3986 unreserved + reserved + "%"),
# and those of them that cannot be in a host name; from gs1-syntax-engine dl.c.
_URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARACTERS = frozenset("_~?#@!$&'()*+,;=%")
# The reference parser accepts the scheme in lower or upper case, never mixed.
_SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")
# AIs flagged "dlpkey" in the GS1 Barcode Syntax Dictionary (release 2026-01-27).
_DL_PRIMARY_KEYS = frozenset(
    "00 01 253 255 401 402 414 415 417 8003 8004 8006 8010 8013 8017 8018".split()
)
# Permitted path qualifier sequences for the two keys we accept ("dlpkey=22,10,21|235"):
# any of the listed AIs, in that order, from one alternative.
_PATH_QUALIFIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "01": (("22", "10", "21"), ("235",)),
    "00": (),
}
# AIs without the "?" (Digital Link data attribute) flag in the same dictionary: they may
# only appear in the path, or not in a Digital Link URI at all.
_NOT_DL_ATTRIBUTES = frozenset(
    "03 21 22 235 254 7040 7041 8011 8014 8019 8020 8040 8041 8042 8043 8200".split()
)


@lru_cache(maxsize=1024)
def _application_identifier(name: str) -> GS1ApplicationIdentifier | None:
    """The AI called exactly ``name``, or None; biip's lookup matches by prefix."""
    if not _DIGITS.fullmatch(name):
        return None
    try:
        entry = GS1ApplicationIdentifier.extract(name)
    except ParseError:
        return None
    return entry if entry.ai == name else None


def _is_ordered_subset(items: list[str], allowed: tuple[str, ...]) -> bool:
    remaining = iter(allowed)
    # ``in`` consumes the iterator, so this checks order and forbids repeats.
    return all(item in remaining for item in items)


def _is_valid_path_sequence(key: str, qualifiers: list[str]) -> bool:
    return not qualifiers or any(
        _is_ordered_subset(qualifiers, alternative) for alternative in _PATH_QUALIFIERS[key]
    )


def _gs1_date(yymmdd: str, today: datetime.date | None = None) -> datetime.date:
    """A GS1 YYMMDD date: day 00 means the month's last day; the century is the one
    that puts the year within 49 years back and 50 ahead (General Specifications 7.12)."""
    today = today or datetime.date.today()
    yy, month, day = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = today.year - today.year % 100
    difference = yy - today.year % 100
    if difference >= 51:
        century -= 100
    elif difference <= -50:
        century += 100
    year = century + yy
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, day)


@dataclass(frozen=True)
class DigitalLink:
    """A parsed GS1 Digital Link URI.

    ``ais`` holds (AI, value) pairs with values decoded: the primary key, then the path
    qualifiers, then the query-string AIs, each in the order the URI gives them.
    Query parameters that are not AIs (``linkType=...``) are not kept.
    """

    uri: str
    ais: tuple[tuple[str, str], ...]

    def get(self, ai: str) -> str | None:
        """The value of ``ai``, or None. A URI never carries an AI twice."""
        return next((value for name, value in self.ais if name == ai), None)

    @property
    def gtin(self) -> str | None:
        return self.get("01")

    @property
    def serial(self) -> str | None:
        return self.get("21")

    @property
    def lot(self) -> str | None:
        return self.get("10")

    @property
    def expiry(self) -> datetime.date | None:
        value = self.get("17")
        return None if value is None else _gs1_date(value)

    @property
    def sscc(self) -> str | None:
        return self.get("00")


def _check_cset82(kind: str, value: str, max_length: int, code: str) -> None:
    if not _CSET82.fullmatch(value) or len(value) > max_length:
        raise InvalidInput(
            f"{kind} {quoted(value)} must be 1 to {max_length} characters of GS1 "
            "character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
            code=code,
        )


def check_lot(lot: str) -> str:
    """A batch/lot number (AI 10) as GS1 allows it: 1 to 20 characters of CSET 82."""
    _check_cset82("lot", lot, 20, "invalid_lot")
    return lot


def build_digital_link(
    base: str,
    gtin14: str,
    serial: str,
    lot: str | None = None,
    expiry: datetime.date | None = None,
) -> str:
    """``{base}/01/{gtin14}[/10/{lot}]/21/{serial}[?17=YYMMDD]``, values percent-encoded.

    ``base`` is the scheme, host and optional path prefix; a trailing ``/`` is ignored.

    >>> build_digital_link("https://example.com/", "09520123456788", "AB/12")
    'https://example.com/01/09520123456788/21/AB%2F12'
    """
    if not base.lower().startswith(("https://", "http://")):
        raise InvalidInput(
            f"Digital Link base {quoted(base)} must start with https:// or http://",
            code="invalid_base_uri",
        )
    gtin = normalise_gtin(gtin14)
    _check_cset82("serial", serial, 20, "invalid_serial")
    uri = f"{base.rstrip('/')}/01/{gtin}"
    if lot is not None:
        uri += f"/10/{uri_escape(check_lot(lot))}"
    uri += f"/21/{uri_escape(serial)}"
    if expiry is not None:
        uri += f"?17={expiry:%y%m%d}"
    return uri


def parse_digital_link(uri: str, *, permit_zero_suppressed_gtin: bool = False) -> DigitalLink:
    """Parse and validate a GS1 Digital Link URI whose primary key is a GTIN or an SSCC.

    ``permit_zero_suppressed_gtin`` accepts an 8, 12 or 13-digit GTIN, padded to 14: a
    legacy form the GS1 reference parser refuses by default, as we do.

    >>> parse_digital_link("https://example.com/shop/01/09520123456788/21/X1?linkType=pip").ais
    (('01', '09520123456788'), ('21', 'X1'))
    >>> parse_digital_link("https://example.com/01/09520123456789")
    Traceback (most recent call last):
    ...
    tracker.errors.MalformedCode: 'https://example.com/01/09520123456789' is not a valid GS1 \
Digital Link URI: GTIN '09520123456789' has check digit 9; it should be 8
    """

    def fail(problem: str) -> MalformedCode:
        return MalformedCode(f"{quoted(uri)} is not a valid GS1 Digital Link URI: {problem}")

    bad = next((c for c in uri if c not in _URI_CHARACTERS), None)
    if bad is not None:
        raise fail(f"{bad!r} cannot appear in a URI unless percent-encoded")
    scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise fail("it must start with https:// or http://")
    rest = uri[len(scheme) :]
    slash = rest.find("/")
    if slash < 1:
        raise fail("it needs a domain name followed by a path")
    bad = next((c for c in rest[:slash] if c in _BAD_DOMAIN_CHARACTERS), None)
    if bad is not None:
        raise fail(f"its domain name contains {bad!r}")
    path, _, query = rest[slash:].partition("#")[0].partition("?")
    if path.endswith("/"):
        raise fail("its path must not end with '/'")

    segments = path.split("/")[1:]
    start = _find_primary_key(segments, fail)
    key = segments[start]
    if key not in _PATH_QUALIFIERS:
        entry = _application_identifier(key)
        title = entry.data_title if entry else key
        raise fail(f"its primary key is ({key}) {title}; only (01) GTIN and (00) SSCC are read")

    path_ais = []
    for i in range(start, len(segments), 2):
        ai, raw = segments[i], segments[i + 1]
        if raw == "":
            raise fail(f"AI ({ai}) in the path has an empty value")
        value = _unescape(raw, query=False)
        if value is None:
            raise fail(f"the value of AI ({ai}) decodes to a NUL character (%00)")
        path_ais.append((ai, _gtin14(ai, value, permit_zero_suppressed_gtin, fail)))
    path_sequence = [ai for ai, _ in path_ais]
    if not _is_valid_path_sequence(key, path_sequence[1:]):
        allowed = {
            "01": "only /22/, /10/, /21/ in that order, or /235/ alone",
            "00": "nothing",
        }[key]
        raise fail(
            f"the path qualifiers {'/'.join(path_sequence[1:])} are not allowed; "
            f"after /{key}/ may follow {allowed}"
        )

    query_ais = _query_ais(query, permit_zero_suppressed_gtin, fail)
    seen = set(path_sequence)
    for ai, _ in query_ais:
        if ai in seen:
            raise fail(f"AI ({ai}) appears more than once")
        seen.add(ai)
        for at in range(1, len(path_sequence) + 1):
            trial = path_sequence[:at] + [ai] + path_sequence[at:]
            if _is_valid_path_sequence(key, trial[1:]):
                raise fail(f"AI ({ai}) belongs in the path (/{ai}/...), not in the query string")
        if ai in _NOT_DL_ATTRIBUTES:
            raise fail(f"AI ({ai}) is not permitted as a query-string attribute")

    ais = tuple(path_ais + query_ais)
    for ai, value in ais:
        _check_value(ai, value, fail)
    return DigitalLink(uri=uri, ais=ais)


def _find_primary_key(segments: list[str], fail: _Fail) -> int:
    """Index of the rightmost primary key, walking (AI, value) pairs back from the end.

    Walking from the end, as the reference parser does, lets the stem contain anything,
    even a segment that looks like a key ("/00/faux/00/{sscc}").
    """
    at = len(segments) - 2
    while at >= 0:
        name = segments[at]
        if name in _DL_PRIMARY_KEYS:
            return at
        if name == "":
            raise fail("its path has an empty segment ('//')")
        if _application_identifier(name) is None:
            if _DIGITS.fullmatch(name):
                raise fail(f"path segment {name!r} is not a GS1 Application Identifier")
            break
        at -= 2
    raise fail("its path has no GS1 primary key such as /01/{GTIN} or /00/{SSCC}")


def _gtin14(ai: str, value: str, permit_zero_suppressed: bool, fail: _Fail) -> str:
    if ai != "01" or len(value) not in (8, 12, 13) or not _DIGITS.fullmatch(value):
        return value
    if permit_zero_suppressed:
        return value.zfill(14)
    raise fail(f"GTIN {value!r} has {len(value)} digits; write it as 14 digits, zero-padded")


def _query_ais(query: str, permit_zero_suppressed: bool, fail: _Fail) -> list[tuple[str, str]]:
    ais = []
    for parameter in query.split("&"):
        name, has_value, raw = parameter.partition("=")
        # Singletons and non-numeric names (linkType, utm_source, ...) are not GS1 data.
        if not has_value or not _DIGITS.fullmatch(name):
            continue
        if _application_identifier(name) is None:
            raise fail(f"query parameter {name!r} is numeric but not a GS1 Application Identifier")
        if raw == "":
            raise fail(f"AI ({name}) in the query string has an empty value")
        value = _unescape(raw, query=True)
        if value is None:
            raise fail(f"the value of AI ({name}) decodes to a NUL character (%00)")
        ais.append((name, _gtin14(name, value, permit_zero_suppressed, fail)))
    return ais


# Serial and lot (X..20 of CSET 82): a value that fits needs no table lookup. Every
# scanned serial is new, so this also keeps them out of the cache below.
_FREE_TEXT_20 = frozenset({"10", "21"})


def _check_value(ai: str, value: str, fail: _Fail) -> None:
    if ai in _FREE_TEXT_20 and len(value) <= 20 and _CSET82.fullmatch(value):
        return
    problem = _value_problem(ai, value)
    if problem is not None:
        raise fail(problem)


# A batch's codes share GTIN, lot and expiry; caching spares biip's parse (most of the
# cost of reading a URI) for all but the serial when a shipment lists thousands of codes.
@lru_cache(maxsize=4096)
def _value_problem(ai: str, value: str) -> str | None:
    """What is wrong with one AI value (format, date, check digit), by biip's AI table."""
    entry = _application_identifier(ai)
    assert entry is not None  # every AI reaching here was looked up already
    try:
        element = GS1ElementString.parse(ai + value)
    except ParseError:
        if re.fullmatch(entry.pattern, ai + value):
            return f"AI ({ai}) {entry.data_title} value {value!r} is not a valid date"
        gs1_format = entry.format.split("+", 1)[-1]
        return (
            f"AI ({ai}) {entry.data_title} value {value!r} does not match its format {gs1_format}"
        )
    error = element.gtin_error or element.sscc_error or element.gln_error
    if error is None:
        return None
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        kind = {"00": "SSCC"}.get(ai, "GLN" if element.gln_error else "GTIN")
        return f"{kind} {value!r} has check digit {value[-1]}; it should be {expected}"
    return f"AI ({ai}) value {value!r}: {error}"


# --- EPC URNs (GS1 EPC Tag Data Standard) ------------------------------------------

# Characters a GS3A3 component (an SGTIN serial) may carry as they are; the other CSET 82
# characters (" % & / < > ?) are percent-escaped (TDS, section 5, "OtherChar").
_EPC_SAFE = frozenset(string.ascii_letters + string.digits + "!'()*+,-.:;=_")
_GS3A3 = re.compile(r"(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+")


def _epc_escape(serial: str) -> str:
    return "".join(c if c in _EPC_SAFE else f"%{ord(c):02X}" for c in serial)


def sgtin_urn(gtin14: str, serial: str, company_prefix_length: int) -> str:
    """The pure-identity SGTIN EPC URN of a GTIN and a serial.

    The indicator digit moves to the front of the item reference and the check digit is
    dropped; serial characters outside the URN-safe set are percent-escaped.

    >>> sgtin_urn("09520123456788", "A/1", company_prefix_length=7)
    'urn:epc:id:sgtin:9520123.045678.A%2F1'
    """
    gtin = normalise_gtin(gtin14)
    if company_prefix_length not in COMPANY_PREFIX_LENGTHS:
        raise InvalidInput(
            f"company prefix length {company_prefix_length!r} must be 6 to 12",
            code="invalid_company_prefix",
        )
    _check_cset82("serial", serial, 20, "invalid_serial")
    company_prefix = gtin[1 : 1 + company_prefix_length]
    item_reference = gtin[0] + gtin[1 + company_prefix_length : 13]
    return f"{SGTIN_URN_PREFIX}{company_prefix}.{item_reference}.{_epc_escape(serial)}"


def _split_urn(urn: str, prefix: str, kind: str, parts: int) -> tuple[list[str], _Fail]:
    """The dot-separated fields after ``prefix`` (compared case-insensitively, as the
    ``urn:epc:id`` namespace is), and the error factory for this URN."""

    def fail(problem: str) -> MalformedCode:
        return MalformedCode(f"{quoted(urn)} is not a valid {kind} EPC URN: {problem}")

    if not urn.lower().startswith(prefix):
        raise fail(f"it must start with {prefix}")
    # The last field may itself contain dots: an SGTIN serial can.
    fields = urn[len(prefix) :].split(".", parts - 1)
    if len(fields) != parts:
        raise fail(f"it must have {parts} dot-separated fields after {prefix}")
    return fields, fail


def _check_urn_digits(fields: list[str], total: int, fail: _Fail) -> None:
    company_prefix, reference = fields[0], fields[1]
    if not (_DIGITS.fullmatch(company_prefix) and _DIGITS.fullmatch(reference)):
        raise fail("the company prefix and the reference must be digits")
    if len(company_prefix) not in COMPANY_PREFIX_LENGTHS:
        raise fail(f"the company prefix has {len(company_prefix)} digits, not 6 to 12")
    if len(company_prefix) + len(reference) != total:
        raise fail(
            f"the company prefix and the reference have {len(company_prefix) + len(reference)} "
            f"digits together, not {total}"
        )


def parse_sgtin_urn(urn: str) -> tuple[str, str]:
    """(GTIN-14 with its check digit recomputed, serial unescaped) of an SGTIN EPC URN.

    >>> parse_sgtin_urn("urn:epc:id:sgtin:0614141.812345.6789")
    ('80614141123458', '6789')
    """
    fields, fail = _split_urn(urn, SGTIN_URN_PREFIX, "SGTIN", 3)
    _check_urn_digits(fields, 13, fail)
    company_prefix, item_reference, raw_serial = fields
    if raw_serial == "":
        raise fail("the serial is empty")
    if not _GS3A3.fullmatch(raw_serial):
        raise fail("the serial may hold letters, digits, !'()*+,-.:;=_ and %-escapes only")
    serial = _PERCENT_TRIPLET.sub(lambda m: chr(int(m.group(1), 16)), raw_serial)
    if not _CSET82.fullmatch(serial) or len(serial) > 20:
        raise fail(f"the serial {serial!r} must be 1 to 20 characters of GS1 character set 82")
    return key_from_epc_fields(company_prefix, item_reference), serial


def sscc_urn(sscc: str, company_prefix_length: int) -> str:
    """The pure-identity SSCC EPC URN: the extension digit leads the serial reference.

    >>> sscc_urn("106141412345678908", company_prefix_length=7)
    'urn:epc:id:sscc:0614141.1234567890'
    """
    value = normalise_sscc(sscc)
    if company_prefix_length not in COMPANY_PREFIX_LENGTHS:
        raise InvalidInput(
            f"company prefix length {company_prefix_length!r} must be 6 to 12",
            code="invalid_company_prefix",
        )
    company_prefix = value[1 : 1 + company_prefix_length]
    serial_reference = value[0] + value[1 + company_prefix_length : 17]
    return f"{SSCC_URN_PREFIX}{company_prefix}.{serial_reference}"


def parse_sscc_urn(urn: str) -> str:
    """The 18-digit SSCC, check digit recomputed, of an SSCC EPC URN.

    >>> parse_sscc_urn("urn:epc:id:sscc:0614141.1234567890")
    '106141412345678908'
    """
    fields, fail = _split_urn(urn, SSCC_URN_PREFIX, "SSCC", 2)
    _check_urn_digits(fields, 17, fail)
    company_prefix, serial_reference = fields
    return key_from_epc_fields(company_prefix, serial_reference)
