"""tracker.domain.epcis as a package: its interface, its purity, and identifier translation
that agrees with tracker.domain.gs1 (whose code it shares)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tracker.domain import epcis
from tracker.domain.epcis.identifiers import canonical_identifier
from tracker.domain.gs1 import make_sscc, parse_sgtin_urn, parse_sscc_urn, sgtin_urn, sscc_urn
from tracker.errors import MalformedCode

GTINS = ("09520123456788", "80614141123458", "00000096385074", "10614141000019")


def test_every_name_of_the_interface_is_importable_from_the_package():
    missing = [name for name in epcis.__all__ if not hasattr(epcis, name)]
    assert missing == []
    for name in ("normalise_event", "normalise_cbv", "event_hash", "validate_document",
                 "validate_event", "document_events", "warm_up", "normalised_slices"):
        assert name in epcis.__all__


def test_the_package_imports_neither_the_database_nor_the_web_framework():
    probe = ("import sys, tracker.domain.epcis; "
             "print(sorted(m for m in ('flask', 'sqlalchemy', 'tracker.db', 'tracker.services', "
             "'web') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("prefix_length", range(6, 13))
@pytest.mark.parametrize("gtin", GTINS)
def test_an_sgtin_urn_becomes_the_digital_link_of_the_gtin_gs1_reads_from_it(gtin, prefix_length):
    urn = sgtin_urn(gtin, "A1-b.7", company_prefix_length=prefix_length)
    read_gtin, serial = parse_sgtin_urn(urn)
    assert (read_gtin, serial) == (gtin, "A1-b.7")
    assert canonical_identifier(urn) == f"https://id.gs1.org/01/{gtin}/21/A1-b.7"


@pytest.mark.parametrize("prefix_length", range(6, 13))
@pytest.mark.parametrize("extension", [0, 1, 3, 9])
def test_an_sscc_urn_becomes_the_digital_link_of_the_sscc_gs1_reads_from_it(extension,
                                                                             prefix_length):
    prefix = "0614141234"[:prefix_length].ljust(prefix_length, "7")
    sscc = make_sscc(prefix, 42, extension_digit=extension)
    urn = sscc_urn(sscc, company_prefix_length=prefix_length)
    assert parse_sscc_urn(urn) == sscc
    assert canonical_identifier(urn) == f"https://id.gs1.org/00/{sscc}"


@pytest.mark.parametrize("urn", [
    "urn:epc:id:sscc:06141.1234567890123",  # a company prefix of 5 digits
    "urn:epc:id:sscc:0614141234567.1234",  # of 13
    "urn:epc:id:sscc:0614141.123456789",  # 16 digits in all, not 17
    "urn:epc:id:sgtin:06141A1.812345.1",  # a letter in the prefix
])
def test_urns_gs1_refuses_are_not_translated(urn):
    parse = parse_sscc_urn if urn.startswith("urn:epc:id:sscc:") else parse_sgtin_urn
    with pytest.raises(MalformedCode):
        parse(urn)
    assert canonical_identifier(urn) is None
