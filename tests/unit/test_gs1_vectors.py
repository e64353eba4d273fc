"""GS1 conformance vectors, used as they are from tests/data/standards/gs1/ (a copy).

``gs1_test_vectors.json`` collects the unit-test cases of two GS1 reference
implementations: gs1/gs1-syntax-engine (``dl.c``: ``dl_uri_parse``, ``uri_escape``,
``uri_unescape``, ``dl_uri_generate_from_ais``) and gs1/digital-link.js
(``digital_link_js_isValid``). ``gs1-syntax-dictionary.txt`` is the GS1 Barcode Syntax
Dictionary the engine is built from; it is used here to check the small tables that
``tracker.domain.gs1`` carries so as not to read the dictionary at run time.

Every case of ``dl_uri_parse`` and ``digital_link_js_isValid`` lands in exactly one of:

* in scope, checked against its expected verdict (and AIs, when the vector gives them);
* a deliberate difference (``DELIBERATE_DIFFERENCES``), checked against what we do instead;
* out of scope: the URI's primary key is neither a GTIN (01) nor an SSCC (00), which
  ``parse_digital_link`` refuses by design; checked to be refused.

``test_every_uri_case_is_exercised`` proves that no case falls through.
"""

from __future__ import annotations

import datetime
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STANDARDS
from tracker.domain import gs1
from tracker.domain.gs1 import (
    build_digital_link,
    parse_digital_link,
    quoted,
    uri_escape,
    uri_unescape,
)
from tracker.errors import MalformedCode


def gs1_file(name: str) -> Path:
    """A file of tests/data/standards/gs1."""
    return STANDARDS / "gs1" / name


@cache
def vectors() -> dict[str, Any]:
    return json.loads(gs1_file("gs1_test_vectors.json").read_text(encoding="utf-8"))


@cache
def syntax_dictionary() -> dict[str, tuple[str, tuple[str, ...]]]:
    """AI -> (flags, attributes) from the GS1 Barcode Syntax Dictionary.

    A line is ``AIs [flags] spec... [attributes...] [# title]``; flags are punctuation
    (``*`` fixed length, ``?`` Digital Link data attribute), spec components start with
    a type letter or ``[``, attributes are lower-case ``key`` or ``key=value``.
    """
    entries = {}
    text = gs1_file("gs1-syntax-dictionary.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        flags = tokens[1] if len(tokens) > 1 and re.fullmatch(r"[^\w\[]+", tokens[1]) else ""
        attributes = tuple(t for t in tokens[1:] if re.fullmatch(r"[a-z]+(=\S*)?", t))
        first, _, last = tokens[0].partition("-")
        for number in range(int(first), int(last or first) + 1):
            entries[str(number).zfill(len(first))] = (flags, attributes)
    return entries


def source_line(case: dict[str, Any]) -> str:
    """Test id: the vector's file and line, e.g. ``dl.c:1350`` or ``index.js:513``."""
    return case["src"].rsplit("/", 1)[-1]


# --- which cases apply ------------------------------------------------------------------

# Convenience alphas that name a primary key (dl.c alpha_ai_map). Not accepted by our
# parser, but a URI keyed by "/gln/" is as out of scope as one keyed by "/414/".
ALPHA_PRIMARY_KEYS = {
    "cpid": "8010",
    "gcn": "255",
    "gdti": "253",
    "giai": "8004",
    "ginc": "401",
    "gln": "414",
    "gmn": "8013",
    "grai": "8003",
    "gsin": "402",
    "gsrn": "8018",
    "gsrnp": "8017",
    "gtin": "01",
    "itip": "8006",
    "party": "417",
    "sscc": "00",
}


def dictionary_primary_keys() -> set[str]:
    return {
        ai
        for ai, (_, attributes) in syntax_dictionary().items()
        if any(a == "dlpkey" or a.startswith("dlpkey=") for a in attributes)
    }


def primary_key_segment(uri: str) -> str | None:
    """The rightmost path segment naming a primary key, numeric or alpha, or None.

    Worked out from the text alone, not by the parser under test, so the filter cannot
    hide a parser bug.
    """
    after_scheme = uri.split("://", 1)[-1]
    path = after_scheme[after_scheme.find("/") :] if "/" in after_scheme else ""
    path = path.split("#", 1)[0].split("?", 1)[0]
    keys = [
        segment
        for segment in path.split("/")
        if ALPHA_PRIMARY_KEYS.get(segment, segment) in dictionary_primary_keys()
    ]
    return keys[-1] if keys else None


def claimed_primary_key(uri: str) -> str | None:
    """The primary key the URI's path names, as an AI, or None."""
    segment = primary_key_segment(uri)
    return None if segment is None else ALPHA_PRIMARY_KEYS.get(segment, segment)


def in_scope(case: dict[str, Any]) -> bool:
    """A case applies when its URI is keyed by a GTIN or an SSCC, or by nothing at all.

    The GTIN (/01/) URIs are the point; SSCC (/00/) URIs are included because
    ``parse_digital_link`` reads them too (cases and pallets in shipments). URIs with no
    primary key are included: whatever else is wrong with them, our parser must refuse
    them as the reference does. Cases keyed by another identifier (GIAI, GDTI, GLN, GSRN,
    GINC, GRAI and their convenience alphas) test rules for keys we never accept.
    """
    return claimed_primary_key(case["input_uri"]) in (None, "01", "00")


# --- options --------------------------------------------------------------------------

# gs1_encoder settings we implement, and the keyword argument that carries each.
IMPLEMENTED_OPTIONS = {"PermitZeroSuppressedGTINinDLuris": "permit_zero_suppressed_gtin"}
# Settings at their default: nothing to pass.
DEFAULT_OPTIONS = {
    ("permitConvenienceAlphas", "false"),
    ("PermitUnknownAIs", "false"),
    ("ValidationEnabled", "gs1_encoder_vUNKNOWN_AI_NOT_DL_ATTR, true"),
}
# Settings we do not implement. Each only makes the reference accept more, so when a
# vector expects "invalid" even with one switched on, the URI is invalid without it too,
# and the case still checks us. Expected-valid cases with these are deliberate differences.
PERMISSIVE_UNIMPLEMENTED_OPTIONS = {
    ("permitConvenienceAlphas", "true"),
    ("PermitUnknownAIs", "true"),
    ("ValidationEnabled", "gs1_encoder_vUNKNOWN_AI_NOT_DL_ATTR, false"),
}


def parser_options(case: dict[str, Any]) -> dict[str, bool]:
    """Keyword arguments for ``parse_digital_link`` that reproduce the case's settings.

    digital-link.js cases carry no options: they hold that library's own defaults, which
    differ from the GS1 engine's; where that changes the verdict, the case is listed in
    DELIBERATE_DIFFERENCES.
    """
    kwargs = {}
    for name, value in case.get("options", {}).items():
        if name in IMPLEMENTED_OPTIONS:
            assert value in ("true", "false"), f"{source_line(case)}: {name}={value!r}"
            kwargs[IMPLEMENTED_OPTIONS[name]] = value == "true"
        elif (name, value) in PERMISSIVE_UNIMPLEMENTED_OPTIONS:
            assert not case["expect_valid"], (
                f"{source_line(case)} needs {name}={value}, which parse_digital_link does not "
                "implement: add the input to DELIBERATE_DIFFERENCES"
            )
        elif (name, value) not in DEFAULT_OPTIONS:
            pytest.fail(f"{source_line(case)}: unknown option {name}={value!r}")
    return kwargs


# --- deliberate differences -----------------------------------------------------------

_CONVENIENCE_ALPHAS = (
    "convenience alphas (/gtin/, /ser/, /sscc/) are deprecated in GS1 Digital Link "
    "and off by default in the GS1 reference parser; our labels never carry "
    "them, so permitConvenienceAlphas is not implemented"
)
_ZERO_SUPPRESSED = (
    "digital-link.js pads a zero-suppressed GTIN by default; we follow the GS1 reference "
    "parser's default and refuse it (permit_zero_suppressed_gtin=True accepts it, and "
    "parse_code passes that)"
)

DELIBERATE_DIFFERENCES: dict[str, str] = {
    # gs1-syntax-engine, cases with options we do not implement
    "https://a/gtin/12312312312333": _CONVENIENCE_ALPHAS,
    "https://a/gtin/12312312312333/ser/ABC123": _CONVENIENCE_ALPHAS,
    "https://a/sscc/006141411234567890": _CONVENIENCE_ALPHAS,
    "https://example.com/01/09520123456788?99=XYZ&89=ABC123": (
        "AI (89) is not in the GS1 AI table; the reference takes it only with "
        "PermitUnknownAIs on and the unknown-AI-attribute check off. We never accept an AI "
        "whose format we cannot check, so PermitUnknownAIs is not implemented"
    ),
    # digital-link.js: that library's defaults are more lenient than the GS1 engine's
    "https://dlnkd.tn.gg/ARHKVAdpQg": (
        "a compressed Digital Link URI: decompression is not implemented (nor in the GS1 "
        "reference parser); our labels carry uncompressed URIs"
    ),
    "https://example.com/01/01234565/": (
        "GTIN-8 and a trailing '/': the GS1 reference parser refuses both (dl.c:1474, "
        "dl.c:1531); digital-link.js accepts both"
    ),
    "https://example.com/01/01234565/10/12345/21/4512": _ZERO_SUPPRESSED,
    "https://example.com/01/01234565/21/12345/10/4512": (
        "GTIN-8, and /21/ before /10/: digital-link.js checks neither; the standard's "
        "qualifier order after /01/ is 22, 10, 21 (dlpkey=22,10,21|235)"
    ),
    "https://example.com/01/12345670/10/4512?240=ABCD": _ZERO_SUPPRESSED,
    "https://example.com/gtin/012345678905": _CONVENIENCE_ALPHAS
    + "; the GTIN-12 is "
    + _ZERO_SUPPRESSED,
    "https://example.com/01/012345678905": _ZERO_SUPPRESSED,
    "https://example.com/sscc/012345678912345675": _CONVENIENCE_ALPHAS,
    "https://example.com/01/12345670/10/4512?linkType=ABCD": _ZERO_SUPPRESSED,
}

_NO_KEY = "its path has no GS1 primary key such as /01/{GTIN} or /00/{SSCC}"
# What parse_digital_link (default options) says instead, for each difference.
PROJECT_REFUSALS: dict[str, str] = {
    "https://a/gtin/12312312312333": _NO_KEY,
    "https://a/gtin/12312312312333/ser/ABC123": _NO_KEY,
    "https://a/sscc/006141411234567890": _NO_KEY,
    "https://example.com/01/09520123456788?99=XYZ&89=ABC123": (
        "query parameter '89' is numeric but not a GS1 Application Identifier"
    ),
    "https://dlnkd.tn.gg/ARHKVAdpQg": _NO_KEY,
    "https://example.com/01/01234565/": "its path must not end with '/'",
    "https://example.com/01/01234565/10/12345/21/4512": (
        "GTIN '01234565' has 8 digits; write it as 14 digits, zero-padded"
    ),
    "https://example.com/01/01234565/21/12345/10/4512": (
        "GTIN '01234565' has 8 digits; write it as 14 digits, zero-padded"
    ),
    "https://example.com/01/12345670/10/4512?240=ABCD": (
        "GTIN '12345670' has 8 digits; write it as 14 digits, zero-padded"
    ),
    "https://example.com/gtin/012345678905": _NO_KEY,
    "https://example.com/01/012345678905": (
        "GTIN '012345678905' has 12 digits; write it as 14 digits, zero-padded"
    ),
    "https://example.com/sscc/012345678912345675": _NO_KEY,
    "https://example.com/01/12345670/10/4512?linkType=ABCD": (
        "GTIN '12345670' has 8 digits; write it as 14 digits, zero-padded"
    ),
}


def is_deliberate_difference(case: dict[str, Any]) -> bool:
    # Keyed by input, but only expected-valid cases differ: the same input may recur with
    # default options and an "invalid" verdict we share (dl.c:1435 vs dl.c:1437).
    return case["expect_valid"] and case["input_uri"] in DELIBERATE_DIFFERENCES


# --- the cases -----------------------------------------------------------------------------


def uri_cases() -> list[dict[str, Any]]:
    return vectors()["dl_uri_parse"] + vectors()["digital_link_js_isValid"]


def cases(*, scope: bool, valid: bool | None = None, differ: bool = False) -> list[Any]:
    return [
        pytest.param(case, id=source_line(case))
        for case in uri_cases()
        if in_scope(case) == scope
        and (valid is None or case["expect_valid"] == valid)
        and is_deliberate_difference(case) == differ
    ]


@pytest.mark.parametrize("case", cases(scope=True, valid=True))
def test_valid_uri_parses_to_the_expected_ais(case: dict[str, Any]) -> None:
    link = parse_digital_link(case["input_uri"], **parser_options(case))
    # expected_ais follow the element string, which dl.c writes in URI order (path, then
    # query as given), so they compare as an ordered list. digital-link.js gives none.
    if case.get("expected_ais") is not None:
        assert [list(ai) for ai in link.ais] == case["expected_ais"]


@pytest.mark.parametrize("case", cases(scope=True, valid=False))
def test_invalid_uri_is_refused(case: dict[str, Any]) -> None:
    uri = case["input_uri"]
    with pytest.raises(MalformedCode) as excinfo:
        parse_digital_link(uri, **parser_options(case))
    assert excinfo.value.message.startswith(f"{quoted(uri)} is not a valid GS1 Digital Link URI: ")


@pytest.mark.parametrize("case", cases(scope=True, valid=True, differ=True))
def test_deliberate_difference(case: dict[str, Any]) -> None:
    uri = case["input_uri"]
    with pytest.raises(MalformedCode) as excinfo:
        parse_digital_link(uri)
    assert excinfo.value.message == (
        f"{quoted(uri)} is not a valid GS1 Digital Link URI: {PROJECT_REFUSALS[uri]}"
    )


# Data titles of the out-of-scope numeric keys, for the exact refusal message.
KEY_TITLES = {
    "253": "GDTI",
    "401": "GINC",
    "414": "LOC No.",
    "8003": "GRAI",
    "8004": "GIAI",
    "8018": "GSRN - RECIPIENT",
}


@pytest.mark.parametrize("case", cases(scope=False))
def test_uri_keyed_by_another_identifier_is_refused(case: dict[str, Any]) -> None:
    uri = case["input_uri"]
    key = primary_key_segment(uri)
    assert key is not None
    problem = (
        f"its primary key is ({key}) {KEY_TITLES[key]}; only (01) GTIN and (00) SSCC are read"
        if key.isdigit()
        else _NO_KEY  # a convenience alpha such as /gln/ names no key to us
    )
    with pytest.raises(MalformedCode) as excinfo:
        parse_digital_link(uri)
    assert excinfo.value.message == f"{quoted(uri)} is not a valid GS1 Digital Link URI: {problem}"


def test_every_uri_case_is_exercised() -> None:
    checked = [
        *cases(scope=True, valid=True),
        *cases(scope=True, valid=False),
        *cases(scope=True, valid=True, differ=True),
        *cases(scope=False, differ=False),
        *cases(scope=False, differ=True),
    ]
    assert len(checked) == len(uri_cases()) == 149
    assert cases(scope=False, differ=True) == []  # no difference hides among skipped keys


def test_every_deliberate_difference_is_used_and_explained() -> None:
    differing = {p.values[0]["input_uri"] for p in cases(scope=True, valid=True, differ=True)}
    assert differing == set(DELIBERATE_DIFFERENCES) == set(PROJECT_REFUSALS)


def test_case_counts() -> None:
    # Pinned so that a change of the vectors file, or of the filter, is noticed.
    assert len(cases(scope=True, valid=True)) == 60
    assert len(cases(scope=True, valid=False)) == 48
    assert len(cases(scope=True, valid=True, differ=True)) == 14
    assert len(cases(scope=False)) == 27


# --- percent-encoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [pytest.param(c["args"], id=source_line(c)) for c in vectors()["uri_escape"]]
)
def test_uri_escape_vector(args: list[str]) -> None:
    value, path_form, query_form = args
    assert (uri_escape(value), uri_escape(value, query=True)) == (path_form, query_form)


@pytest.mark.parametrize(
    "args", [pytest.param(c["args"], id=source_line(c)) for c in vectors()["uri_unescape"]]
)
def test_uri_unescape_vector(args: list[str]) -> None:
    value, path_form, query_form = args
    assert (uri_unescape(value), uri_unescape(value, query=True)) == (path_form, query_form)


# --- building -------------------------------------------------------------------------------


def buildable(case: dict[str, Any]) -> bool:
    """Generation cases that build_digital_link can express: GTIN and serial, optionally
    lot and expiry, each once, and nothing else."""
    ais = re.findall(r"\((\d+)\)", case["input_hri"])
    return (
        case["expect_success"]
        and {"01", "21"} <= set(ais) <= {"01", "10", "17", "21"}
        and len(ais) == len(set(ais))
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=source_line(c))
        for c in vectors()["dl_uri_generate_from_ais"]
        if buildable(c)
    ],
)
def test_build_digital_link_matches_generation_vector(case: dict[str, Any]) -> None:
    values = dict(re.findall(r"\((\d+)\)([^(]*)", case["input_hri"]))
    expiry = None
    if "17" in values:
        expiry = datetime.datetime.strptime(values["17"], "%y%m%d").date()
    uri = build_digital_link(
        case["stem"] or "https://id.gs1.org",  # the engine's canonical stem when none given
        values["01"],
        values["21"],
        lot=values.get("10"),
        expiry=expiry,
    )
    assert uri == case["expected_uri"]


# --- the tables gs1.py carries, against the dictionary ---------------------------------------


def test_primary_keys_match_dictionary() -> None:
    assert gs1._DL_PRIMARY_KEYS == dictionary_primary_keys()


def test_non_attribute_ais_match_dictionary() -> None:
    not_attributes = {ai for ai, (flags, _) in syntax_dictionary().items() if "?" not in flags}
    assert gs1._NOT_DL_ATTRIBUTES == not_attributes


@pytest.mark.parametrize("key", ["01", "00"])
def test_path_qualifiers_match_dictionary(key: str) -> None:
    _, attributes = syntax_dictionary()[key]
    declared = next(a for a in attributes if a.startswith("dlpkey"))
    alternatives = declared.partition("=")[2]
    expected = (
        tuple(tuple(alt.split(",")) for alt in alternatives.split("|")) if alternatives else ()
    )
    assert gs1._PATH_QUALIFIERS[key] == expected
