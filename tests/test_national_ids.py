"""National identifiers: the rules table, each scheme's checks, placeholders, consistency.

Valid examples are either public documentation examples (named where used) or made here
by computing their check digits with the documented algorithm, written out again below
independently of the module.
"""

from __future__ import annotations

import pytest

from healthhub.exceptions import HealthhubError, UserError
from healthhub.identity import national_ids
from healthhub.identity.national_ids import (
    ALGORITHMS,
    STATUSES,
    consistent_with,
    normalize,
    scheme_for_system,
    scheme_named,
    schemes,
    validate,
)
from national_id_examples import bsn, israeli, kvnr, luhn_digit, nhs, nir, niss, status

# --- the rules table ------------------------------------------------------------------------

SYSTEMS = {
    "urn:oid:1.2.250.1.213.1.4.8": "fr-nir",
    "urn:oid:1.2.250.1.213.1.4.9": "fr-nia",
    "urn:oid:1.2.250.1.213.1.4.10": "fr-nir-test",
    "urn:oid:1.2.250.1.213.1.4.11": "fr-nir-test",
    "http://hl7.org/fhir/sid/us-ssn": "us-ssn",
    "urn:oid:2.16.840.1.113883.4.1": "us-ssn",
    "https://fhir.nhs.uk/Id/nhs-number": "uk-nhs",
    "urn:oid:2.16.840.1.113883.2.1.4.1": "uk-nhs",
    "http://fhir.nl/fhir/NamingSystem/bsn": "nl-bsn",
    "urn:oid:2.16.840.1.113883.2.4.6.3": "nl-bsn",
    "http://fhir.health.gov.il/identifier/il-national-id": "il-tz",
    "http://fhir.health.org.il/identifier/il-national-id": "il-tz",
    "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin": "be-niss",
    "https://www.ehealth.fgov.be/standards/fhir/NamingSystem/ssin": "be-niss",
    "urn:oid:1.3.6.1.4.1.21297.100.1.1": "be-niss",
    "urn:oid:1.2.208.176.1.2": "dk-cpr",
    "http://fhir.de/sid/gkv/kvid-10": "de-kvnr",
    "http://fhir.de/sid/pkv/kvid-10": "de-kvnr",
    "http://fhir.de/NamingSystem/gkv/kvid-10": "de-kvnr",
}


@pytest.mark.parametrize(("system", "name"), SYSTEMS.items())
def test_each_system_uri_names_its_scheme(system: str, name: str) -> None:
    found = scheme_for_system(system)
    assert found is not None and found.name == name
    assert system in found.systems


def test_the_table_lists_exactly_these_systems() -> None:
    assert {system for scheme in schemes() for system in scheme.systems} == set(SYSTEMS)


def test_unknown_or_missing_systems_have_no_scheme() -> None:
    assert scheme_for_system("http://example.org/mrn") is None
    assert scheme_for_system("") is None
    assert scheme_for_system(None) is None
    assert scheme_for_system("HTTP://HL7.ORG/FHIR/SID/US-SSN") is None  # URIs are case-sensitive


def test_a_bare_oid_is_read_as_its_urn() -> None:
    found = scheme_for_system("1.2.250.1.213.1.4.8")
    assert found is not None and found.name == "fr-nir"


def test_every_scheme_names_a_known_algorithm_and_every_algorithm_is_used() -> None:
    assert {scheme.algorithm for scheme in schemes()} == set(ALGORITHMS)


def test_only_the_test_oids_are_test_only() -> None:
    assert [s.name for s in schemes() if s.test_only] == ["fr-nir-test"]


def test_an_unknown_scheme_name_is_a_user_error_naming_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown national identifier scheme 'xx-id'.*fr-nir"):
        validate("xx-id", "123")


def test_a_broken_table_reports_every_problem_with_its_line() -> None:
    header = ",".join(national_ids.COLUMNS)
    text = "\n".join(
        [
            header,
            "a,FR,urn:a,nir,space,,no,first",
            "a,FR,urn:b,nhs,space,,no,algorithm differs from line 2",
            "b,FR,urn:a,luhn,space comma,,maybe,system twice; bad algorithm and words",
        ]
    )
    with pytest.raises(HealthhubError) as caught:
        national_ids._parse_rules(text, "rules.csv")
    message = str(caught.value)
    for expected in (
        "rules.csv line 3: algorithm differs from the first row of scheme a (line 2)",
        "rules.csv line 4: unknown algorithm 'luhn'",
        "rules.csv line 4: unknown separators comma",
        "rules.csv line 4: test_only must be yes or no",
        "rules.csv line 4: system urn:a is listed twice",
    ):
        assert expected in message


def test_a_table_with_the_wrong_header_is_refused() -> None:
    with pytest.raises(HealthhubError, match="the header must be scheme,country,system"):
        national_ids._parse_rules("scheme,system\nfr-nir,urn:x\n", "rules.csv")


# --- known valid and invalid examples of every scheme -----------------------------------

EXAMPLES: dict[str, dict[str, list[str]]] = {
    "fr-nir": {
        # public examples: the french-ssn README and the python-stdnum documentation
        "valid": ["2 55 08 14 168 025 38", "295109912611193", nir("1840375123456")],
        "invalid_check": ["2 55 08 14 168 025 39", "295109912611139"],
        "invalid_format": [
            nir("5840375123456"),
            nir("1841375123456"),
            nir("1840300123456"),
            "18403751234567",
            "2551A1416802538",
            "2 55 08 14 168 025 38 1",
        ],
        "placeholder": ["111111111111111", "199999999999999"],
    },
    "fr-nia": {
        "valid": [nir("3920199123045"), nir("8850299350012")],
        "invalid_check": [nir("3920199123045")[:-2] + "00"],
        "invalid_format": [nir("0920199123045"), "ABCDEFGHIJKLMNO"],
        "placeholder": ["222222222222222"],
    },
    "fr-nir-test": {  # every value of the test and demonstration OIDs is a fictitious person
        "valid": [],
        "invalid_check": [],
        "invalid_format": ["12345"],
        "placeholder": [nir("2790351215189"), nir("1700175101123")[:-2] + "00"],
    },
    "us-ssn": {
        "valid": ["536-22-1234", "772 01 0042", "123456788"],
        "invalid_check": [],  # no check digit
        "invalid_format": ["536-22-123", "536-22-12345", "53a-22-1234"],
        "placeholder": [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "987-65-4321",
            "536-00-1234",
            "536-22-0000",
            "078-05-1120",
            "219-09-9999",
            "123-45-6789",
            "111-11-1111",
        ],
    },
    "uk-nhs": {
        # 943 476 5919 is Wikipedia's worked example; 987 654 4321 the NHS format example,
        # whose check digit is wrong (it would be 2)
        "valid": ["943 476 5919", "943-476-5919", nhs("401023213") or "", nhs("612345678") or ""],
        "invalid_check": ["987 654 4321", "9434765918"],
        "invalid_format": ["943476591", "94347659190", "943476591X"],
        "placeholder": ["0000000000", "4444444444", nhs("999123457") or ""],
    },
    "nl-bsn": {
        "valid": ["111222333", "1112.22.333", bsn("12345670") or "", bsn("03216549") or ""],
        "invalid_check": ["111222334", "123456789"],
        "invalid_format": ["1112223", "1112223334", "11122233X"],
        "placeholder": ["000000000", "999999990", "123456782", bsn("99999123") or ""],
    },
    "il-tz": {
        "valid": [israeli("04123456"), israeli("31234567"), israeli("20000004")],
        "invalid_check": [israeli("04123456")[:-1] + str((luhn_digit("04123456") + 1) % 10)],
        "invalid_format": ["1234567890", "12345678X"],
        "placeholder": ["000000000", "18", "000000018", "123456782"],
    },
    "be-niss": {
        # 42.01.22-051.81: the example of the national register's instruction IT000
        "valid": [
            "42.01.22-051.81",
            niss("850730033"),
            niss("060705002", True),
            niss("852309045"),
            niss("854930046"),
            niss("850000123"),
        ],
        "invalid_check": ["42.01.22-051.82", niss("060705002")[:9] + "00"],
        "invalid_format": ["4201220518", "420122051812", niss("851330033"), niss("850732033")],
        "placeholder": [niss("380126999"), niss("850730000"), "11111111111"],
    },
    "dk-cpr": {
        # MedCom test persons (Bruno Test Elmer, Niels Test Vendelboe)
        "valid": ["250947-9989", "3001749995", "290200-4123", "010160-5123"],
        "invalid_check": [],  # no modulus 11 check since 2007
        "invalid_format": ["300288-1234", "290200-0123", "011385-1234", "000185-1234", "25094799"],
        "placeholder": ["1111111111", "111111-1111"],
    },
    "de-kvnr": {
        # T046142499: a gematik e-prescription example; X110411675: a gematik test card
        "valid": [
            "T046142499",
            "t046142499",
            "X 110 411 675",
            kvnr("A12345670"),
            kvnr("Z98765432"),
        ],
        "invalid_check": ["T046142498", "X234567890"],
        "invalid_format": ["1046142499", "T04614249", "T0461424999", "TT46142499"],
        "placeholder": ["A000000000", "A999999999", "A123456789"],
    },
}
CASES = [
    (scheme, expected, value)
    for scheme, by_status in EXAMPLES.items()
    for expected, values in by_status.items()
    for value in values
]


def test_every_scheme_has_examples() -> None:
    assert set(EXAMPLES) == {scheme.name for scheme in schemes()}
    for name, by_status in EXAMPLES.items():
        assert set(by_status) == set(STATUSES), name
        if not scheme_named(name).test_only:
            assert by_status["valid"], name
        assert all(by_status["invalid_format"]), name


@pytest.mark.parametrize(("scheme", "expected", "value"), CASES)
def test_examples(scheme: str, expected: str, value: str) -> None:
    assert value, "an example helper gave no value"
    assert status(scheme, value) == expected


def test_corsican_nirs_replace_2a_by_19_and_2b_by_18_before_the_modulus() -> None:
    for department in ("2A", "2B"):
        body = "1780" + "3" + department + "004123"
        assert status("fr-nir", nir(body)) == "valid"
        assert status("fr-nir", nir(body).lower()) == "valid"  # 2a, 2b
        # the key of the plain-digit body (2A read as 20, or as its replacement) is refused
        as_twenty = nir(body.replace(department, "20"))[-2:]
        assert status("fr-nir", body + as_twenty) == "invalid_check"
    assert status("fr-nir", nir("1780320004123")) == "valid"  # 20: Corsica before 1976
    assert status("fr-nir", "17803" + "2C" + "00412345") == "invalid_format"


@pytest.mark.parametrize("sex", "123478")
def test_nir_sex_digits_1_2_3_4_7_8_are_accepted(sex: str) -> None:
    assert status("fr-nir", nir(sex + "840375123456")) == "valid"


@pytest.mark.parametrize("sex", "0569")
def test_other_nir_sex_digits_are_malformed(sex: str) -> None:
    assert status("fr-nir", nir(sex + "840375123456")) == "invalid_format"


@pytest.mark.parametrize(("month", "expected"), [
    ("01", "valid"), ("12", "valid"), ("20", "valid"), ("30", "valid"), ("31", "valid"),
    ("42", "valid"), ("50", "valid"), ("99", "valid"), ("00", "invalid_format"),
    ("13", "invalid_format"), ("19", "invalid_format"), ("43", "invalid_format"),
    ("49", "invalid_format"),
])  # fmt: skip
def test_nir_months(month: str, expected: str) -> None:
    assert status("fr-nir", nir("184" + month + "75123456")) == expected


def test_an_nhs_check_value_of_10_is_never_valid() -> None:
    nine = next(f"4{n:08d}" for n in range(1000) if nhs(f"4{n:08d}") is None)
    assert all(status("uk-nhs", nine + str(d)) == "invalid_check" for d in range(10))


def test_danish_centuries_follow_the_seventh_digit() -> None:
    # 29 February exists in 2000 (7th digit 4, YY 00) and 1900 is not a leap year (7th 0-3)
    assert status("dk-cpr", "2902004123") == "valid"
    assert status("dk-cpr", "2902000123") == "invalid_format"
    assert consistent_with("dk-cpr", "0101364123", None, "2036-01-01") is True
    assert consistent_with("dk-cpr", "0101374123", None, "1937-01-01") is True
    assert consistent_with("dk-cpr", "0101575123", None, "2057-01-01") is True
    assert consistent_with("dk-cpr", "0101585123", None, "1858-01-01") is True
    assert consistent_with("dk-cpr", "0101589123", None, "1958-01-01") is True


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "written", "normalised"), [
    ("fr-nir", "2 55 08 14 168 025 38", "255081416802538"),
    ("fr-nir", "2\u00a055\u00a008\u202f14 168 025 38", "255081416802538"),  # no-break spaces
    ("fr-nir", "2-55-08-14-168-025-38", "255081416802538"),
    ("fr-nir", " 1 78 03 2a 004 123 xx ", "178032A004123XX"),
    ("us-ssn", "536-22-1234", "536221234"),
    ("us-ssn", "536 22 1234", "536221234"),
    ("us-ssn", "536.22.1234", "536.22.1234"),  # dots are no SSN separator
    ("uk-nhs", "943 476 5919", "9434765919"),
    ("uk-nhs", "943\u2013476\u20135919", "9434765919"),  # en dashes
    ("nl-bsn", "1112.22.333", "111222333"),
    ("nl-bsn", "11222333", "011222333"),  # 8-digit BSNs get their leading zero
    ("nl-bsn", "1222333", "1222333"),  # but 7 digits are not a BSN
    ("il-tz", "4123456", "004123456"),  # Israeli IDs without their leading zeros
    ("be-niss", "42.01.22-051.81", "42012205181"),
    ("be-niss", "42 01 22 051 81", "42012205181"),
    ("dk-cpr", "250947-9989", "2509479989"),
    ("de-kvnr", "t 046 142 499", "T046142499"),
    ("de-kvnr", "T-046142499", "T-046142499"),  # dashes are no KVNR separator
])  # fmt: skip
def test_normalisation(scheme: str, written: str, normalised: str) -> None:
    assert normalize(scheme, written) == normalised
    assert validate(scheme, written).value == normalised


def test_normalisation_accepts_a_scheme_object_or_its_name() -> None:
    assert normalize(scheme_named("us-ssn"), "536-22-1234") == normalize("us-ssn", "536-22-1234")


# --- placeholders and linkage ------------------------------------------------------------


def test_only_valid_values_are_usable_for_linkage() -> None:
    assert validate("uk-nhs", "9434765919").usable_for_linkage
    for value in ("9434765918", "943476591", "0000000000"):
        assert not validate("uk-nhs", value).usable_for_linkage


def test_test_patient_oids_never_give_a_valid_identifier() -> None:
    test_scheme = scheme_for_system("urn:oid:1.2.250.1.213.1.4.10")
    assert test_scheme is not None
    assert status("fr-nir", "2 55 08 14 168 025 38") == "valid"
    assert validate(test_scheme, "2 55 08 14 168 025 38").status == "placeholder"


def test_a_verdict_never_shows_its_value() -> None:
    verdict = validate("fr-nir", "2 55 08 14 168 025 38")
    for shown in (repr(verdict), str(verdict), f"{verdict}", repr([verdict])):
        assert "255081416802538" not in shown and "55 08" not in shown
    assert "placeholder" not in repr(verdict) and "valid" in repr(verdict)
