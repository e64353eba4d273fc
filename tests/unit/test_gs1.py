"""GS1 primitives: check digits, GTIN/SSCC, Digital Link URIs, EPC URNs.

Reference values come from the standards' own examples where they have one: GTIN
9520123456788 (GS1 Digital Link standard), SGTIN 0614141.812345.6789 and SSCC
0614141.1234567890 (EPC Tag Data Standard). Check digits were worked by hand with weights
3, 1, 3, ... from the rightmost body digit.
"""

from __future__ import annotations

import datetime
import random

import pytest

from tracker.domain import gs1
from tracker.domain.gs1 import (
    DigitalLink,
    build_digital_link,
    gs1_check_digit,
    make_sscc,
    normalise_gtin,
    normalise_sscc,
    parse_digital_link,
    parse_sgtin_urn,
    parse_sscc_urn,
    quoted,
    sgtin_urn,
    sscc_urn,
    uri_escape,
    uri_unescape,
)
from tracker.errors import InvalidInput, MalformedCode

GTIN = "09520123456788"
SERIAL = "23456789ABCDEFD"  # well-formed: see tracker.domain.serials


def dl_error(uri: str, problem: str) -> str:
    return f"{quoted(uri)} is not a valid GS1 Digital Link URI: {problem}"


# --- check digits --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("0", "0"),
        ("1", "7"),  # 1 x 3 = 3, 10 - 3 = 7
        ("9638507", "4"),  # GTIN-8 96385074
        ("61414112345", "2"),  # GTIN-12 614141123452
        ("952012345678", "8"),  # GTIN-13 9520123456788
        ("8061414112345", "8"),  # GTIN-14 80614141123458
        ("10614141234567890", "8"),  # SSCC 106141412345678908
    ],
)
def test_gs1_check_digit(body: str, check: str) -> None:
    assert gs1_check_digit(body) == check


@pytest.mark.parametrize("body", ["", "12A4", "١٢٣"])
def test_gs1_check_digit_refuses_non_digits(body: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        gs1_check_digit(body)
    assert excinfo.value.message == (
        f"cannot compute a GS1 check digit for {body!r}: digits 0-9 only"
    )
    assert excinfo.value.code == "invalid_digits"


# --- GTIN -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("614141123452", "00614141123452"),  # GTIN-12
        ("9520123456788", "09520123456788"),  # GTIN-13
        ("80614141123458", "80614141123458"),  # GTIN-14
        (" 09520123456788\n", "09520123456788"),  # surrounding whitespace
    ],
)
def test_normalise_gtin_pads_to_14_digits(text: str, gtin14: str) -> None:
    assert normalise_gtin(text) == gtin14


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "GTIN '' has 0 digits; expected 8, 12, 13 or 14"),
        ("95201234567", "GTIN '95201234567' has 11 digits; expected 8, 12, 13 or 14"),
        ("095201234567880", "GTIN '095201234567880' has 15 digits; expected 8, 12, 13 or 14"),
        ("9520-123456788", "GTIN '9520-123456788' contains '-'; only digits 0-9 are allowed"),
        ("٩٥٢٠١٢٣٤٥٦٧٨٨", "GTIN '٩٥٢٠١٢٣٤٥٦٧٨٨' contains '٩'; only digits 0-9 are allowed"),
        ("9520123456789", "GTIN '9520123456789' has check digit 9; it should be 8"),
        ("80614141123450", "GTIN '80614141123450' has check digit 0; it should be 8"),
    ],
)
def test_normalise_gtin_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        normalise_gtin(text)
    assert excinfo.value.message == message


def test_normalise_gtin_error_code() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        normalise_gtin("1")
    assert excinfo.value.code == "invalid_gtin"


# --- SSCC -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sscc"),
    [
        ("106141412345678908", "106141412345678908"),
        (" 006141410000000005 ", "006141410000000005"),
    ],
)
def test_normalise_sscc(text: str, sscc: str) -> None:
    assert normalise_sscc(text) == sscc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10614141234567890", "SSCC '10614141234567890' has 17 digits; expected 18"),
        (
            "10614141234567890X",
            "SSCC '10614141234567890X' contains 'X'; only digits 0-9 are allowed",
        ),
        ("106141412345678900", "SSCC '106141412345678900' has check digit 0; it should be 8"),
    ],
)
def test_normalise_sscc_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        normalise_sscc(text)
    assert (excinfo.value.message, excinfo.value.code) == (message, "invalid_sscc")


@pytest.mark.parametrize(
    ("company_prefix", "serial_reference", "extension_digit", "sscc"),
    [
        ("0614141", 234567890, 1, "106141412345678908"),  # TDS example
        ("0614141", 0, 0, "006141410000000005"),
        ("952012", 9_999_999_999, 9, "995201299999999990"),  # 6-digit prefix, 10-digit ref
        ("952012345678", 1234, 3, "395201234567812347"),  # 12-digit prefix, 4-digit ref
    ],
)
def test_make_sscc(
    company_prefix: str, serial_reference: int, extension_digit: int, sscc: str
) -> None:
    assert make_sscc(company_prefix, serial_reference, extension_digit) == sscc


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("06141", 1, 0), "GS1 company prefix '06141' must be 6 to 12 digits"),
        (("061414A", 1, 0), "GS1 company prefix '061414A' must be 6 to 12 digits"),
        (("0614141", 1, 10), "SSCC extension digit 10 must be 0 to 9"),
        (
            ("0614141", 1_000_000_000, 0),
            "SSCC serial reference 1000000000 must be 0 to 999999999 "
            "after a 7-digit company prefix",
        ),
        (
            ("0614141", -1, 0),
            "SSCC serial reference -1 must be 0 to 999999999 after a 7-digit company prefix",
        ),
    ],
)
def test_make_sscc_refuses_bad_parts(args: tuple[str, int, int], message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        make_sscc(*args)
    assert (excinfo.value.message, excinfo.value.code) == (message, "invalid_sscc")


# --- percent-encoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path", "query"),
    [
        ("LOT-1.2_3~", "LOT-1.2_3~", "LOT-1.2_3~"),
        ("A/B", "A%2FB", "A%2FB"),
        ("A+B", "A%2BB", "A%2BB"),
        ("A B", "A%20B", "A+B"),
        ("é", "%C3%A9", "%C3%A9"),
    ],
)
def test_uri_escape(value: str, path: str, query: str) -> None:
    assert (uri_escape(value), uri_escape(value, query=True)) == (path, query)


def test_uri_unescape_refuses_nul() -> None:
    with pytest.raises(MalformedCode) as excinfo:
        uri_unescape("A%00B")
    assert excinfo.value.message == "'A%00B' decodes to a NUL character (%00)"


def test_quoted_truncates_long_text() -> None:
    assert quoted("x" * 81) == repr("x" * 77 + "...")


# --- building Digital Link URIs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "uri"),
    [
        (
            {"base": "https://id.example.com", "gtin14": GTIN, "serial": SERIAL},
            f"https://id.example.com/01/{GTIN}/21/{SERIAL}",
        ),
        (  # trailing slash dropped; path prefix kept; GTIN-13 padded
            {"base": "https://example.com/p/", "gtin14": "9520123456788", "serial": "S1"},
            f"https://example.com/p/01/{GTIN}/21/S1",
        ),
        (
            {"base": "https://x.test", "gtin14": GTIN, "serial": "S1", "lot": "L1"},
            f"https://x.test/01/{GTIN}/10/L1/21/S1",
        ),
        (
            {"base": "https://x.test", "gtin14": GTIN, "serial": "A&B?C", "lot": "L/1+2%"},
            f"https://x.test/01/{GTIN}/10/L%2F1%2B2%25/21/A%26B%3FC",
        ),
        (
            {
                "base": "https://x.test",
                "gtin14": GTIN,
                "serial": "S1",
                "expiry": datetime.date(2027, 3, 1),
            },
            f"https://x.test/01/{GTIN}/21/S1?17=270301",
        ),
    ],
)
def test_build_digital_link(kwargs: dict[str, object], uri: str) -> None:
    assert build_digital_link(**kwargs) == uri  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"base": "ftp://x.test", "gtin14": GTIN, "serial": "S1"},
            "invalid_base_uri",
            "Digital Link base 'ftp://x.test' must start with https:// or http://",
        ),
        (
            {"base": "https://x.test", "gtin14": "09520123456789", "serial": "S1"},
            "invalid_gtin",
            "GTIN '09520123456789' has check digit 9; it should be 8",
        ),
        (
            {"base": "https://x.test", "gtin14": GTIN, "serial": ""},
            "invalid_serial",
            "serial '' must be 1 to 20 characters of GS1 character set 82 "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
        (
            {"base": "https://x.test", "gtin14": GTIN, "serial": "S" * 21},
            "invalid_serial",
            f"serial {'S' * 21!r} must be 1 to 20 characters of GS1 character set 82 "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
        (
            {"base": "https://x.test", "gtin14": GTIN, "serial": "S1", "lot": "L 1"},
            "invalid_lot",
            "lot 'L 1' must be 1 to 20 characters of GS1 character set 82 "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
    ],
)
def test_build_digital_link_refuses_bad_values(
    kwargs: dict[str, object], code: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        build_digital_link(**kwargs)  # type: ignore[arg-type]
    assert (excinfo.value.code, excinfo.value.message) == (code, message)


@pytest.mark.parametrize(
    ("serial", "lot", "expiry"),
    [
        (SERIAL, None, None),
        (SERIAL, "LOT2027-03", datetime.date(2027, 3, 31)),
        ('A/B%C+D&E?F=G"<>', "1/2kg?", None),  # escape-worthy CSET 82 characters
        ("!'()*,-.:;_", "%41", datetime.date(2030, 1, 1)),  # "%41" must not decode to "A"
        ("s" * 20, "l" * 20, datetime.date(2026, 12, 31)),
    ],
    ids=["serial-only", "lot-and-expiry", "escapes", "literal-percent", "max-lengths"],
)
def test_digital_link_round_trip(
    serial: str, lot: str | None, expiry: datetime.date | None
) -> None:
    uri = build_digital_link("https://id.example.com/x", GTIN, serial, lot=lot, expiry=expiry)
    link = parse_digital_link(uri)
    assert (link.gtin, link.serial, link.lot, link.expiry) == (GTIN, serial, lot, expiry)


# --- parsing Digital Link URIs ----------------------------------------------------------


def test_parse_digital_link_keeps_ais_in_uri_order() -> None:
    uri = f"https://example.com/a/b/01/{GTIN}/10/L1/21/S1?3103=000195&linkType=gs1:pip&17=270331"
    assert parse_digital_link(uri) == DigitalLink(
        uri=uri,
        ais=(("01", GTIN), ("10", "L1"), ("21", "S1"), ("3103", "000195"), ("17", "270331")),
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            f"https://example.com/01/{GTIN}/10/L1/21/S1?17=270331",
            (GTIN, "S1", "L1", datetime.date(2027, 3, 31), None),
        ),
        (  # day 00 is the last day of the month
            f"https://example.com/01/{GTIN}?17=280200",
            (GTIN, None, None, datetime.date(2028, 2, 29), None),
        ),
        (
            "https://example.com/00/106141412345678908",
            (None, None, None, None, "106141412345678908"),
        ),
    ],
)
def test_digital_link_properties(
    uri: str, expected: tuple[str | None, str | None, str | None, object, str | None]
) -> None:
    link = parse_digital_link(uri)
    assert (link.gtin, link.serial, link.lot, link.expiry, link.sscc) == expected


@pytest.mark.parametrize(
    ("uri", "gtin"),
    [
        ("https://example.com/01/9520123456788/21/S1", GTIN),
        ("https://example.com/01/614141123452", "00614141123452"),
        ("https://example.com/01/96385074", "00000096385074"),
    ],
)
def test_parse_digital_link_pads_zero_suppressed_gtin_when_permitted(uri: str, gtin: str) -> None:
    assert parse_digital_link(uri, permit_zero_suppressed_gtin=True).gtin == gtin


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        (f"example.com/01/{GTIN}", "it must start with https:// or http://"),
        (f"HtTps://example.com/01/{GTIN}", "it must start with https:// or http://"),
        (f"https://example.com/01/{GTIN} ", "' ' cannot appear in a URI unless percent-encoded"),
        ("https://example.com", "it needs a domain name followed by a path"),
        (f"https://ex_ample.com/01/{GTIN}", "its domain name contains '_'"),
        (f"https://example.com/01/{GTIN}/", "its path must not end with '/'"),
        (
            "https://example.com/products/1",
            "its path has no GS1 primary key such as /01/{GTIN} or /00/{SSCC}",
        ),
        (
            f"https://example.com/01/{GTIN}/89/X",
            "path segment '89' is not a GS1 Application Identifier",
        ),
        (
            "https://example.com/414/9520123456788",
            "its primary key is (414) LOC No.; only (01) GTIN and (00) SSCC are read",
        ),
        (
            f"https://example.com/01/{GTIN}/21/%00",
            "the value of AI (21) decodes to a NUL character (%00)",
        ),
        (
            "https://example.com/01/09520123456789",
            "GTIN '09520123456789' has check digit 9; it should be 8",
        ),
        (
            "https://example.com/00/106141412345678900",
            "SSCC '106141412345678900' has check digit 0; it should be 8",
        ),
        (
            "https://example.com/01/9520123456788",
            "GTIN '9520123456788' has 13 digits; write it as 14 digits, zero-padded",
        ),
        (
            f"https://example.com/01/{GTIN}/21/S/10/L",
            "the path qualifiers 21/10 are not allowed; after /01/ may follow only "
            "/22/, /10/, /21/ in that order, or /235/ alone",
        ),
        (
            f"https://example.com/01/{GTIN}/235/T/21/S",
            "the path qualifiers 235/21 are not allowed; after /01/ may follow only "
            "/22/, /10/, /21/ in that order, or /235/ alone",
        ),
        (
            "https://example.com/00/106141412345678908/10/L",
            "the path qualifiers 10 are not allowed; after /00/ may follow nothing",
        ),
        (f"https://example.com/01/{GTIN}?17=", "AI (17) in the query string has an empty value"),
        (
            f"https://example.com/01/{GTIN}?999=X",
            "query parameter '999' is numeric but not a GS1 Application Identifier",
        ),
        (f"https://example.com/01/{GTIN}/21/S1?21=S2", "AI (21) appears more than once"),
        (
            f"https://example.com/01/{GTIN}?10=L1",
            "AI (10) belongs in the path (/10/...), not in the query string",
        ),
        (
            f"https://example.com/01/{GTIN}/235/T?21=S",
            "AI (21) is not permitted as a query-string attribute",
        ),
        (
            f"https://example.com/01/{GTIN}?17=270230",
            "AI (17) USE BY or EXPIRY value '270230' is not a valid date",
        ),
        (
            f"https://example.com/01/{GTIN}/21/A%20B",
            "AI (21) SERIAL value 'A B' does not match its format X..20",
        ),
        (
            f"https://example.com/01/{GTIN}?3103=12",
            "AI (3103) NET WEIGHT (kg) value '12' does not match its format N6",
        ),
    ],
)
def test_parse_digital_link_names_the_problem(uri: str, problem: str) -> None:
    with pytest.raises(MalformedCode) as excinfo:
        parse_digital_link(uri)
    assert excinfo.value.message == dl_error(uri, problem)


def test_parse_digital_link_truncates_long_input_in_message() -> None:
    uri = f"https://example.com/{'x' * 100}"
    with pytest.raises(MalformedCode) as excinfo:
        parse_digital_link(uri)
    assert excinfo.value.message == (
        f"'{uri[:77]}...' is not a valid GS1 Digital Link URI: "
        "its path has no GS1 primary key such as /01/{GTIN} or /00/{SSCC}"
    )


# --- SGTIN EPC URNs -----------------------------------------------------------------------


SGTIN_VECTORS = [
    # (gtin14, serial, company prefix length, urn)
    ("80614141123458", "6789", 7, "urn:epc:id:sgtin:0614141.812345.6789"),  # TDS example
    (GTIN, SERIAL, 7, f"urn:epc:id:sgtin:9520123.045678.{SERIAL}"),
    (GTIN, "1", 6, "urn:epc:id:sgtin:952012.0345678.1"),
    (GTIN, "1", 12, "urn:epc:id:sgtin:952012345678.0.1"),
    (GTIN, "!'()*+,-.:;=_", 7, "urn:epc:id:sgtin:9520123.045678.!'()*+,-.:;=_"),
    (GTIN, '"%&/<>?', 7, "urn:epc:id:sgtin:9520123.045678.%22%25%26%2F%3C%3E%3F"),
]


@pytest.mark.parametrize(("gtin", "serial", "prefix_length", "urn"), SGTIN_VECTORS)
def test_sgtin_urn(gtin: str, serial: str, prefix_length: int, urn: str) -> None:
    assert sgtin_urn(gtin, serial, company_prefix_length=prefix_length) == urn


@pytest.mark.parametrize(("gtin", "serial", "prefix_length", "urn"), SGTIN_VECTORS)
def test_parse_sgtin_urn(gtin: str, serial: str, prefix_length: int, urn: str) -> None:
    assert parse_sgtin_urn(urn) == (gtin, serial)


@pytest.mark.parametrize(
    ("urn", "parsed"),
    [
        ("URN:EPC:ID:SGTIN:0614141.812345.6789", ("80614141123458", "6789")),
        ("urn:epc:id:sgtin:0614141.812345.a%2fb", ("80614141123458", "a/b")),
    ],
)
def test_parse_sgtin_urn_is_lenient_on_case_of_namespace_and_escapes(
    urn: str, parsed: tuple[str, str]
) -> None:
    assert parse_sgtin_urn(urn) == parsed


@pytest.mark.parametrize(
    ("urn", "problem"),
    [
        ("urn:epc:id:sscc:0614141.1234567890", "it must start with urn:epc:id:sgtin:"),
        (
            "urn:epc:id:sgtin:0614141.812345",
            "it must have 3 dot-separated fields after urn:epc:id:sgtin:",
        ),
        (
            "urn:epc:id:sgtin:0614141.8123A5.1",
            "the company prefix and the reference must be digits",
        ),
        ("urn:epc:id:sgtin:06141.81234567.1", "the company prefix has 5 digits, not 6 to 12"),
        (
            "urn:epc:id:sgtin:0614141.81234.1",
            "the company prefix and the reference have 12 digits together, not 13",
        ),
        ("urn:epc:id:sgtin:0614141.812345.", "the serial is empty"),
        (
            "urn:epc:id:sgtin:0614141.812345.a/b",
            "the serial may hold letters, digits, !'()*+,-.:;=_ and %-escapes only",
        ),
        (
            "urn:epc:id:sgtin:0614141.812345.a%20b",
            "the serial 'a b' must be 1 to 20 characters of GS1 character set 82",
        ),
        (
            f"urn:epc:id:sgtin:0614141.812345.{'s' * 21}",
            f"the serial {'s' * 21!r} must be 1 to 20 characters of GS1 character set 82",
        ),
    ],
)
def test_parse_sgtin_urn_names_the_problem(urn: str, problem: str) -> None:
    with pytest.raises(MalformedCode) as excinfo:
        parse_sgtin_urn(urn)
    assert excinfo.value.message == f"{quoted(urn)} is not a valid SGTIN EPC URN: {problem}"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((GTIN, "1", 5), "invalid_company_prefix", "company prefix length 5 must be 6 to 12"),
        (
            ("09520123456789", "1", 7),
            "invalid_gtin",
            "GTIN '09520123456789' has check digit 9; it should be 8",
        ),
        (
            (GTIN, "a b", 7),
            "invalid_serial",
            "serial 'a b' must be 1 to 20 characters of GS1 character set 82 "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
    ],
)
def test_sgtin_urn_refuses_bad_parts(args: tuple[str, str, int], code: str, message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        sgtin_urn(*args)
    assert (excinfo.value.code, excinfo.value.message) == (code, message)


# --- SSCC EPC URNs ------------------------------------------------------------------------


SSCC_VECTORS = [
    ("106141412345678908", 7, "urn:epc:id:sscc:0614141.1234567890"),  # TDS example
    ("995201299999999990", 6, "urn:epc:id:sscc:952012.99999999999"),
    ("395201234567812347", 12, "urn:epc:id:sscc:952012345678.31234"),
]


@pytest.mark.parametrize(("sscc", "prefix_length", "urn"), SSCC_VECTORS)
def test_sscc_urn(sscc: str, prefix_length: int, urn: str) -> None:
    assert sscc_urn(sscc, company_prefix_length=prefix_length) == urn


@pytest.mark.parametrize(("sscc", "prefix_length", "urn"), SSCC_VECTORS)
def test_parse_sscc_urn(sscc: str, prefix_length: int, urn: str) -> None:
    assert parse_sscc_urn(urn) == sscc


@pytest.mark.parametrize(
    ("urn", "problem"),
    [
        ("urn:epc:id:sgtin:0614141.812345.6789", "it must start with urn:epc:id:sscc:"),
        (
            "urn:epc:id:sscc:06141411234567890",
            "it must have 2 dot-separated fields after urn:epc:id:sscc:",
        ),
        (
            "urn:epc:id:sscc:0614141.1234567890.1",
            "the company prefix and the reference must be digits",
        ),
        (
            "urn:epc:id:sscc:0614141.123456789",
            "the company prefix and the reference have 16 digits together, not 17",
        ),
    ],
)
def test_parse_sscc_urn_names_the_problem(urn: str, problem: str) -> None:
    with pytest.raises(MalformedCode) as excinfo:
        parse_sscc_urn(urn)
    assert excinfo.value.message == f"{quoted(urn)} is not a valid SSCC EPC URN: {problem}"


def test_sscc_urn_refuses_bad_company_prefix_length() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        sscc_urn("106141412345678908", company_prefix_length=13)
    assert excinfo.value.message == "company prefix length 13 must be 6 to 12"


@pytest.mark.parametrize("ai", ["10", "21"])
def test_serial_and_lot_values_pass_the_quick_check_exactly_when_biip_accepts_them(ai):
    # Serials and lots that fit X..20 skip biip's parse; the two must always agree.
    rng = random.Random(int(ai))
    alphabet = "".join(chr(i) for i in range(32, 127)) + "é\u00a0"
    for _ in range(5_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        uri = f"https://id.example.com/01/09520123456788/{ai}/{gs1.uri_escape(value)}"
        try:
            gs1.parse_digital_link(uri)
            accepted = True
        except MalformedCode:
            accepted = False
        assert accepted == (gs1._value_problem.__wrapped__(ai, value) is None), value
