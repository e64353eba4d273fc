"""parse_code: the one entry point for every code a person types or a scanner reads."""

from __future__ import annotations

import datetime

import pytest

from tracker.domain.codes import ACCEPTED_FORMS, ParsedCode, epc_key, parse_code
from tracker.domain.gs1 import build_digital_link, sgtin_urn
from tracker.domain.serials import with_check_character
from tracker.errors import MalformedCode

GTIN = "09520123456788"
SERIAL = "23456789ABCDEFD"  # with_check_character("23456789ABCDEF")
BAD_CHECK_SERIAL = "23456789ABCDEFG"  # same body, wrong check character


def test_test_serials_are_what_they_claim() -> None:
    assert with_check_character(SERIAL[:-1]) == SERIAL != BAD_CHECK_SERIAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"https://id.example.com/01/{GTIN}/21/{SERIAL}",
            ParsedCode(
                form="digital_link",
                raw=f"https://id.example.com/01/{GTIN}/21/{SERIAL}",
                gtin=GTIN,
                serial=SERIAL,
            ),
        ),
        (
            f"  https://x.test/shop/01/{GTIN}/10/L%2F1/21/{SERIAL}?17=270331&linkType=all\n",
            ParsedCode(
                form="digital_link",
                raw=f"  https://x.test/shop/01/{GTIN}/10/L%2F1/21/{SERIAL}?17=270331&linkType=all\n",
                gtin=GTIN,
                serial=SERIAL,
                lot="L/1",
                expiry=datetime.date(2027, 3, 31),
            ),
        ),
        (  # GS1 key only, no serial: well-formed, callers decide
            f"https://x.test/01/{GTIN}",
            ParsedCode(form="digital_link", raw=f"https://x.test/01/{GTIN}", gtin=GTIN),
        ),
        (  # zero-suppressed GTIN: same product, read rather than bounced
            f"HTTPS://x.test/01/9520123456788/21/{SERIAL}",
            ParsedCode(
                form="digital_link",
                raw=f"HTTPS://x.test/01/9520123456788/21/{SERIAL}",
                gtin=GTIN,
                serial=SERIAL,
            ),
        ),
        (
            "https://x.test/00/106141412345678908",
            ParsedCode(
                form="sscc", raw="https://x.test/00/106141412345678908", sscc="106141412345678908"
            ),
        ),
        (
            f"urn:epc:id:sgtin:9520123.045678.{SERIAL}",
            ParsedCode(
                form="sgtin",
                raw=f"urn:epc:id:sgtin:9520123.045678.{SERIAL}",
                gtin=GTIN,
                serial=SERIAL,
            ),
        ),
        (
            "urn:epc:id:sscc:0614141.1234567890",
            ParsedCode(
                form="sscc", raw="urn:epc:id:sscc:0614141.1234567890", sscc="106141412345678908"
            ),
        ),
        (
            " 106141412345678908 ",
            ParsedCode(form="sscc", raw=" 106141412345678908 ", sscc="106141412345678908"),
        ),
        (SERIAL, ParsedCode(form="serial", raw=SERIAL, serial=SERIAL)),
        (
            f" {SERIAL.lower()}\t",
            ParsedCode(form="serial", raw=f" {SERIAL.lower()}\t", serial=SERIAL),
        ),
    ],
    ids=[
        "dl-serial",
        "dl-stem-lot-expiry-whitespace",
        "dl-no-serial",
        "dl-zero-suppressed-gtin",
        "dl-sscc",
        "sgtin-urn",
        "sscc-urn",
        "bare-sscc",
        "bare-serial",
        "bare-serial-lower-case",
    ],
)
def test_parse_code(text: str, expected: ParsedCode) -> None:
    assert parse_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        BAD_CHECK_SERIAL,
        f"https://x.test/01/{GTIN}/21/{BAD_CHECK_SERIAL}",
        f"urn:epc:id:sgtin:9520123.045678.{BAD_CHECK_SERIAL}",
    ],
    ids=["bare", "digital-link", "sgtin-urn"],
)
def test_serial_with_wrong_check_character_parses_as_not_well_formed(text: str) -> None:
    code = parse_code(text)
    assert (code.serial, code.serial_well_formed) == (BAD_CHECK_SERIAL, False)


@pytest.mark.parametrize(
    "text",
    [SERIAL, f"https://x.test/01/{GTIN}/21/{SERIAL}", sgtin_urn(GTIN, SERIAL, 7)],
    ids=["bare", "digital-link", "sgtin-urn"],
)
def test_serial_with_right_check_character_is_well_formed(text: str) -> None:
    assert parse_code(text).serial_well_formed is True


@pytest.mark.parametrize(
    "text",
    [f"https://x.test/01/{GTIN}", f"https://x.test/01/{GTIN}/21/S1", "106141412345678908"],
    ids=["no-serial", "foreign-serial", "sscc"],
)
def test_serial_well_formed_is_false_without_one_of_our_serials(text: str) -> None:
    assert parse_code(text).serial_well_formed is False


def test_built_digital_link_round_trips_through_parse_code() -> None:
    uri = build_digital_link(
        "https://id.example.com", GTIN, SERIAL, lot="LOT/7", expiry=datetime.date(2027, 1, 31)
    )
    assert parse_code(uri) == ParsedCode(
        form="digital_link",
        raw=uri,
        gtin=GTIN,
        serial=SERIAL,
        lot="LOT/7",
        expiry=datetime.date(2027, 1, 31),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"'' is not a code we can read; {ACCEPTED_FORMS}"),
        ("hello", f"'hello' is not a code we can read; {ACCEPTED_FORMS}"),
        (GTIN, f"'{GTIN}' is not a code we can read; {ACCEPTED_FORMS}"),  # no serial
        (  # look-alike "0" and "1" are not in the serial alphabet
            "23456789ABCDEF0",
            f"'23456789ABCDEF0' is not a code we can read; {ACCEPTED_FORMS}",
        ),
        ("x" * 200, f"'{'x' * 77}...' is not a code we can read; {ACCEPTED_FORMS}"),
        (
            "106141412345678900",
            "SSCC '106141412345678900' has check digit 0; it should be 8; " + ACCEPTED_FORMS,
        ),
        (
            "https://x.test/01/09520123456789/21/S1",
            "'https://x.test/01/09520123456789/21/S1' is not a valid GS1 Digital Link URI: "
            f"GTIN '09520123456789' has check digit 9; it should be 8; {ACCEPTED_FORMS}",
        ),
        (
            "https://x.test/414/9520123456788",
            "'https://x.test/414/9520123456788' is not a valid GS1 Digital Link URI: "
            "its primary key is (414) LOC No.; only (01) GTIN and (00) SSCC are read; "
            + ACCEPTED_FORMS,
        ),
        (
            "urn:epc:id:sgtin:0614141.81234.1",
            "'urn:epc:id:sgtin:0614141.81234.1' is not a valid SGTIN EPC URN: the company "
            f"prefix and the reference have 12 digits together, not 13; {ACCEPTED_FORMS}",
        ),
        (
            "urn:epc:id:sscc:0614141.123456789",
            "'urn:epc:id:sscc:0614141.123456789' is not a valid SSCC EPC URN: the company "
            f"prefix and the reference have 16 digits together, not 17; {ACCEPTED_FORMS}",
        ),
    ],
    ids=[
        "empty",
        "word",
        "bare-gtin",
        "look-alike-characters",
        "long-input-truncated",
        "sscc-check-digit",
        "dl-gtin-check-digit",
        "dl-other-primary-key",
        "sgtin-urn-digits",
        "sscc-urn-digits",
    ],
)
def test_parse_code_refuses_unreadable_code(text: str, message: str) -> None:
    with pytest.raises(MalformedCode) as excinfo:
        parse_code(text)
    assert excinfo.value.message == message


def test_accepted_forms_message() -> None:
    assert ACCEPTED_FORMS == (
        "accepted: a GS1 Digital Link URI (https://host/01/{GTIN-14}/21/{serial}), "
        "an SGTIN EPC URN (urn:epc:id:sgtin:...), an SSCC (18 digits or urn:epc:id:sscc:...) "
        "or a 15-character serial"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "https://id.gs1.org/01/09506000134352/21/R76QKTXBC87KXVV",
        "https://id.gs1.org/01/09506000134353/21/R76QKTXBC87KXVV",  # bad check digit
        "https://example.com:8080/01/09506000134352/21/a.b_c-d",
        "http://id.example.com/01/09506000134352/21/12345678901234567890",
        "https://id.gs1.org/01/09506000134352/21/123456789012345678901",  # too long
        "https://id.gs1.org/01/9506000134352/21/ABC",  # GTIN-13
        "https://id.gs1.org/01/09506000134352/10/L1/21/ABC",
    ],
)
def test_epc_key_fast_path_agrees_with_the_full_parser(uri):
    epc_key.cache_clear()
    try:
        expected = parse_code(uri).key or uri
    except MalformedCode:
        expected = uri
    assert epc_key(uri) == expected
