"""EPC URIs and Digital Link URIs as the CBV 2.0 event hash writes them.

CBV 2.0 rule 17/18: EPC URIs become canonical GS1 Digital Link URIs on id.gs1.org and
Digital Link URIs are constrained (id.gs1.org, no query string, finest key level only).
The character classes and length limits follow the reference implementation so that
the same identifiers are (and are not) rewritten.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tracker.domain.gs1 import is_company_prefix, key_from_epc_fields, with_check_digit

_DL = "https://id.gs1.org/"
# An EPC URI character (Tag Data Standard "GS3A3"), or one of the %-escapes it allows.
_EPC_CHAR = (r"(?:[!'()*+,\-.0-9:;=A-Za-z_]|%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]"
             r"|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa]))")
_CPI_CHAR = r"(?:[0-9A-Z\-]|%(?:2[3dfDF]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]))"
# Characters GS1 Digital Link wants %-encoded that EPC URIs carry raw.
_DL_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B",
                             ",": "%2C", ":": "%3A"})


def _escape(value: str) -> str:
    return value.translate(_DL_ESCAPES)


def _chars(pattern: str, low: int, high: int) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern}){{{low},{high}}}")


_SERIAL_20 = _chars(_EPC_CHAR, 1, 20)
_SERIAL_16 = _chars(_EPC_CHAR, 1, 16)
_SERIAL_28 = _chars(_EPC_CHAR, 1, 28)
_GDTI_SERIAL = _chars(_EPC_CHAR, 0, 20)
_DIGITS_RE = re.compile(r"[0-9]+")


def _digits(text: str, length: int | None = None) -> bool:
    return _DIGITS_RE.fullmatch(text) is not None and (length is None or len(text) == length)


def _split_prefixed(fields: list[str], total: int) -> str | None:
    """Company prefix + reference (two URN fields), when they make ``total`` digits."""
    prefix, reference = fields[0], fields[1]
    if not (is_company_prefix(prefix) and len(prefix) + len(reference) == total
            and (reference == "" or _digits(reference))):
        return None
    return prefix + reference


def _gtin14(fields: list[str]) -> str | None:
    # SGTIN-style: the indicator digit leads the item reference and the GTIN.
    body = _split_prefixed(fields, 13)
    if body is None or not fields[1]:
        return None
    return key_from_epc_fields(fields[0], fields[1])


def _epc_id(scheme: str, rest: str) -> str | None:
    fields = rest.split(".")
    if scheme in ("sgtin", "upui"):
        if len(fields) < 3:
            return None
        gtin = _gtin14(fields[:2])
        serial = rest.split(".", 2)[2]
        pattern = _SERIAL_20 if scheme == "sgtin" else _SERIAL_28
        if gtin is None or not pattern.fullmatch(serial):
            return None
        ai = "/21/" if scheme == "sgtin" else "/235/"
        return f"{_DL}01/{gtin}{ai}{_escape(serial)}"
    if scheme == "sscc" and len(fields) == 2:
        body = _split_prefixed(fields, 17)
        return None if body is None else f"{_DL}00/{key_from_epc_fields(fields[0], fields[1])}"
    if scheme in ("sgln", "grai", "gdti", "sgcn") and len(fields) >= 3:
        body = _split_prefixed(fields[:2], 12)
        tail = rest.split(".", 2)[2]
        if body is None:
            return None
        if scheme == "sgln":
            if not _SERIAL_20.fullmatch(tail):
                return None
            gln = with_check_digit(body)
            return f"{_DL}414/{gln}" if tail == "0" else f"{_DL}414/{gln}/254/{_escape(tail)}"
        if scheme == "grai":
            return (f"{_DL}8003/{with_check_digit('0' + body)}{_escape(tail)}"
                    if _SERIAL_16.fullmatch(tail) else None)
        if scheme == "gdti":
            return (f"{_DL}253/{with_check_digit(body)}{_escape(tail)}"
                    if _GDTI_SERIAL.fullmatch(tail) else None)
        return (f"{_DL}255/{with_check_digit(body)}{tail}"
                if _digits(tail) and len(tail) <= 12 else None)
    if scheme in ("giai", "ginc") and len(fields) >= 2:
        prefix, reference = rest.split(".", 1)
        if not (is_company_prefix(prefix)
                and _chars(_EPC_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}{'8004' if scheme == 'giai' else '401'}/{prefix}{_escape(reference)}"
    if scheme in ("gsrn", "gsrnp", "gsin") and len(fields) == 2:
        body = _split_prefixed(fields, 16 if scheme == "gsin" else 17)
        ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402"}[scheme]
        return None if body is None or not fields[1] else f"{_DL}{ai}/{with_check_digit(body)}"
    if scheme == "pgln" and len(fields) == 2:
        body = _split_prefixed(fields, 12)
        return None if body is None else f"{_DL}417/{with_check_digit(body)}"
    if scheme == "cpi" and len(fields) >= 3:
        prefix, reference, serial = fields[0], ".".join(fields[1:-1]), fields[-1]
        if not (is_company_prefix(prefix) and _digits(serial)
                and len(serial) <= 12
                and _chars(_CPI_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}8010/{_escape(prefix + reference)}/8011/{serial}"
    if scheme == "itip" and len(fields) >= 5:
        gtin = _gtin14(fields[:2])
        piece, total, serial = fields[2], fields[3], rest.split(".", 4)[4]
        if gtin is None or not (_digits(piece, 2) and _digits(total, 2)
                                and _SERIAL_20.fullmatch(serial)):
            return None
        return f"{_DL}8006/{gtin}{piece}{total}/21/{_escape(serial)}"
    return None


def _epc_class_or_pattern(kind: str, scheme: str, rest: str) -> str | None:
    fields = rest.split(".")
    if kind == "class":
        if scheme != "lgtin" or len(fields) < 3:
            return None
        gtin, lot = _gtin14(fields[:2]), rest.split(".", 2)[2]
        return (f"{_DL}01/{gtin}/10/{_escape(lot)}"
                if gtin is not None and _SERIAL_20.fullmatch(lot) else None)
    if fields[-1] != "*":
        return None
    fields = fields[:-1]
    if scheme in ("sgtin", "upui") and len(fields) == 2:
        gtin = _gtin14(fields)
        return None if gtin is None else f"{_DL}01/{gtin}"
    if scheme in ("grai", "gdti", "sgcn") and len(fields) == 2:
        body = _split_prefixed(fields, 12)
        if body is None:
            return None
        if scheme == "grai":
            return f"{_DL}8003/{with_check_digit('0' + body)}"
        return f"{_DL}{'253' if scheme == 'gdti' else '255'}/{with_check_digit(body)}"
    if scheme == "cpi" and len(fields) == 2:
        prefix, reference = fields
        if not (is_company_prefix(prefix)
                and _chars(_CPI_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}8010/{_escape(prefix + reference)}"
    if scheme == "itip" and len(fields) == 4:
        gtin = _gtin14(fields[:2])
        if gtin is None or not (_digits(fields[2], 2) and _digits(fields[3], 2)):
            return None
        return f"{_DL}8006/{gtin}{fields[2]}{fields[3]}"
    return None


_DL_KEYS = ("01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc"
            "|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai")
_DL_CANDIDATE = re.compile(rf"https?:[^?#]*/(?:{_DL_KEYS})/\d{{4}}[^/]")
_DL_NAMES = (("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
             ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"),
             ("/gcn/", "/255/"), ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"),
             ("/gsin/", "/402/"), ("/grai/", "/8003/"), ("/giai/", "/8004/"),
             ("/cpv/", "/22/"), ("/lot/", "/10/"), ("/ser/", "/21/"))
_ON_ID_GS1 = re.compile(
    r"https://id\.gs1\.org/(?:01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)"
    r"/\d{4}[^/]")
# Where a custom domain's path starts, tried in this order.
_PRIMARY_KEYS = ("00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006",
                 "8010", "8017", "8018")
# The reference's value character set: GS1 AI encodable characters without % / & and a few.
_V = r"[\"'\-.0-9;-?A-Z_a-z]"
_DL_WITH_CPV = re.compile(rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/22/{_V}{{0,20}}")
_DL_CPV_THEN_MORE = re.compile(
    rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/22/(?:{_V}|/){{0,20}}")
_DL_LOT_AND_SERIAL = re.compile(
    rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/10/{_V}{{0,20}}/21/{_V}{{0,20}}")
_DL_CONSTRAINED = re.compile(
    r"https://id\.gs1\.org/(?:"
    rf"00/\d{{18}}|01/\d{{14}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}}|/235/{_V}{{0,28}})?"
    rf"|253/\d{{13}}{_V}{{0,17}}|255/\d{{13}}\d{{0,12}}|401/{_V}{{0,30}}|402/\d{{17}}"
    rf"|414/\d{{13}}(?:/254/{_V}{{0,20}})?|417/\d{{13}}|8003/\d{{14}}{_V}{{0,16}}"
    rf"|8004/{_V}{{0,30}}|8006/\d{{18}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}})?"
    r"|8010/[#\-/0-9A-Z]{0,30}(?:/8011/\d{0,12})?|8017/\d{18}|8018/\d{18})")
_GTIN_PADDING = {13: "0", 12: "00", 11: "000000", 10: "000000", 9: "000000", 8: "000000"}


def _constrained_digital_link(uri: str) -> str | None:
    if not _DL_CANDIDATE.match(uri):
        return None
    uri = uri.split("?", 1)[0]
    for name, ai in _DL_NAMES:
        uri = uri.replace(name, ai)
    if not _ON_ID_GS1.match(uri):
        for key in _PRIMARY_KEYS:
            at = uri.find(f"/{key}/")
            if at != -1:
                uri = _DL[:-1] + uri[at:]
                break
    if uri.startswith(_DL + "01/"):
        digits = len(uri[len(_DL) + 3:]) - len(uri[len(_DL) + 3:].lstrip("0123456789"))
        if digits in _GTIN_PADDING:  # GTIN-8/12/13 are written as GTIN-14
            uri = uri.replace("/01/", "/01/" + _GTIN_PADDING[digits])
    at = uri.find("/22/")
    if at != -1:  # the consumer product variant is not part of the identity
        if _DL_WITH_CPV.fullmatch(uri):
            uri = uri[:at]
        elif _DL_CPV_THEN_MORE.fullmatch(uri):
            rest = uri[at + 4:]
            uri = uri[:at] + rest[rest.find("/"):]
    if _DL_LOT_AND_SERIAL.fullmatch(uri):  # a serial identifies more finely than a lot
        at = uri.find("/10/")
        rest = uri[at + 4:]
        uri = uri[:at] + rest[rest.find("/"):]
    return uri if _DL_CONSTRAINED.fullmatch(uri) else None


@lru_cache(maxsize=65_536)
def canonical_identifier(text: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI for an EPC or DL URI, else None."""
    if "." not in text:  # every EPC URI and every Digital Link host has one
        return None
    if text.startswith("urn:epc:"):
        parts = text.split(":", 4)
        if len(parts) == 5:
            kind, scheme, body = parts[2], parts[3], parts[4]
            if kind == "id":
                return _epc_id(scheme, body)
            if kind in ("class", "idpat"):
                return _epc_class_or_pattern(kind, scheme, body)
        return None
    if text.startswith("http"):
        return _constrained_digital_link(text)
    return None



_SGTIN_PATTERN = re.compile(r"urn:epc:idpat:sgtin:(?:(\d{6,12})\.(?:(\d{1,7})|\*)|\*\.\*)\.\*")
_SSCC_PATTERN = re.compile(r"urn:epc:idpat:sscc:(?:(\d{6,12})|\*)\.\*")


def pattern_like(uri: str) -> str | None:
    """A pure-identity pattern URI for items or containers (``urn:epc:idpat:sgtin:CP.IR.*``,
    ``...:CP.*.*``, ``*.*.*``, ``urn:epc:idpat:sscc:CP.*``, ``*.*``) as a SQL ``LIKE``
    pattern over the repository's item and container keys; None when ``uri`` is not one.

    >>> pattern_like("urn:epc:idpat:sgtin:0614141.107346.*")
    '01/10614141073464/21/%'
    >>> pattern_like("urn:epc:idpat:sgtin:0614141.*.*")
    '01/_0614141%/21/%'
    >>> pattern_like("urn:epc:idpat:sscc:0614141.*")
    '00/_0614141%'
    """
    sgtin = _SGTIN_PATTERN.fullmatch(uri)
    if sgtin is not None:
        prefix, reference = sgtin.groups()
        if prefix is None:
            return "01/%/21/%"
        if reference is None:
            return f"01/_{prefix}%/21/%" if len(prefix) <= 12 else None
        if len(prefix) + len(reference) != 13:
            return None
        gtin = with_check_digit(reference[0] + prefix + reference[1:])
        return f"01/{gtin}/21/%"
    sscc = _SSCC_PATTERN.fullmatch(uri)
    if sscc is not None:
        return "00/%" if sscc[1] is None else f"00/_{sscc[1]}%"
    return None
