"""Properties of national identifier checks (Hypothesis), and their consistency with a
record's sex and birth date."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from healthhub.identity.national_ids import (
    STATUSES,
    consistent_with,
    normalize,
    schemes,
    validate,
    validate_column,
    validate_many,
)
from national_id_examples import bsn, israeli, kvnr, nhs, nir, niss, status

# --- properties -----------------------------------------------------------------------------

NIR_MONTHS = [*range(1, 13), *range(20, 43), *range(50, 100)]
NIR_DEPARTMENTS = [*(f"{d:02d}" for d in range(1, 100)), "2A", "2B"]


@st.composite
def nir_bodies(draw: st.DrawFn) -> str:
    sex = draw(st.sampled_from("123478"))
    year = draw(st.integers(0, 99))
    month = draw(st.sampled_from(NIR_MONTHS))
    department = draw(st.sampled_from(NIR_DEPARTMENTS))
    rest = draw(st.text("0123456789", min_size=6, max_size=6))
    return f"{sex}{year:02d}{month:02d}{department}{rest}"


@settings(max_examples=300, deadline=None)
@given(nir_bodies())
def test_every_single_substitution_of_a_valid_nir_fails(body: str) -> None:
    value = nir(body)
    assume(status("fr-nir", value) == "valid")
    for i, original in enumerate(value):
        for replacement in "0123456789AB":
            if replacement != original:
                changed = value[:i] + replacement + value[i + 1 :]
                assert status("fr-nir", changed) != "valid", (i, replacement)


@settings(max_examples=300, deadline=None)
@given(nir_bodies())
def test_adjacent_transpositions_in_a_nir_body_always_fail(body: str) -> None:
    value = nir(body)
    assume(status("fr-nir", value) == "valid")
    for i in range(12):  # pairs inside the 13-character body
        if value[i] != value[i + 1]:
            swapped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
            assert status("fr-nir", swapped) != "valid", i


def _random_valid(scheme: str, rng: random.Random) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    while True:
        match scheme:
            case "fr-nir":
                value: str | None = nir(
                    rng.choice("12") + f"{rng.randrange(100):02d}{rng.randrange(1, 13):02d}"
                    + rng.choice(NIR_DEPARTMENTS) + digits(6)
                )  # fmt: skip
            case "uk-nhs":
                value = nhs(rng.choice("4678") + digits(8))
            case "nl-bsn":
                value = bsn(rng.choice("1234567") + digits(7))
            case "il-tz":
                value = israeli(digits(8))
            case "be-niss":
                value = niss(f"{rng.randrange(100):02d}{rng.randrange(1, 13):02d}"
                             f"{rng.randrange(1, 29):02d}{rng.randrange(1, 999):03d}")  # fmt: skip
            case "de-kvnr":
                value = kvnr(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + digits(8))
            case _:
                raise AssertionError(scheme)
        if value is not None and status(scheme, value) == "valid":
            return value


@pytest.mark.parametrize("scheme", ["fr-nir", "uk-nhs", "nl-bsn", "il-tz", "be-niss", "de-kvnr"])
def test_adjacent_transpositions_mostly_fail(scheme: str) -> None:
    rng = random.Random(20240601)
    caught = tried = 0
    for _ in range(300):
        value = _random_valid(scheme, rng)
        for i in range(len(value) - 1):
            if value[i] != value[i + 1]:
                tried += 1
                swapped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
                caught += status(scheme, swapped) != "valid"
    assert caught / tried >= 0.9, (scheme, caught, tried)


SCHEME_NAMES = [scheme.name for scheme in schemes()]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCHEME_NAMES), st.text(max_size=24))
def test_validation_never_raises_and_normalises_idempotently(name: str, text: str) -> None:
    verdict = validate(name, text)
    assert verdict.status in STATUSES
    assert normalize(name, verdict.value) == verdict.value
    assert validate(name, verdict.value) == verdict
    consistent_with(name, text, "female", text)  # never raises either


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(SCHEME_NAMES),
    st.lists(st.one_of(st.none(), st.text("0123456789 -.AB", max_size=16)), max_size=20),
)
def test_validate_many_and_validate_column_agree_with_validate(
    name: str, values: list[str | None]
) -> None:
    expected = [validate(name, v) if v is not None else None for v in values]
    many = validate_many(name, values)
    normalised, statuses = validate_column(name, values)
    for verdict, one, value, state in zip(expected, many, normalised, statuses, strict=True):
        if verdict is None:
            assert one.status == state == "invalid_format" and one.value == value == ""
        else:
            assert one == verdict and (value, state) == (verdict.value, verdict.status)


# --- consistency with the record's demographics ------------------------------------------


@pytest.mark.parametrize(("value", "sex", "birth_date", "expected"), [
    ("2 55 08 14 168 025 38", "female", "1955-08-17", True),
    ("2 55 08 14 168 025 38", "female", "1955-08", True),
    ("2 55 08 14 168 025 38", "female", "1955", True),
    ("2 55 08 14 168 025 38", None, "1955-08-17", True),
    ("2 55 08 14 168 025 38", "female", None, True),
    ("2 55 08 14 168 025 38", "male", "1955-08-17", False),
    ("2 55 08 14 168 025 38", "female", "2010-05-02", False),  # a child on a parent's number
    ("2 55 08 14 168 025 38", "female", "1955-09-17", False),
    ("2 55 08 14 168 025 38", "female", "2055-08-17", True),  # NIRs give no century
    ("2 55 08 14 168 025 38", "unknown", None, None),
    ("2 55 08 14 168 025 38", "other", "", None),
    ("2 55 08 14 168 025 38", None, "not a date", None),
    (nir("7553375123456"), "male", "1955-03-02", True),  # pseudo-fictitious month 33 = March
    (nir("7553375123456"), "male", "1955-04-02", False),
    (nir("4552099123456"), "female", "1955-04-02", True),  # fictitious month 20: unknown
    (nir("4555099123456"), "male", "1955-04-02", False),
    ("12345", "male", "1955-04-02", None),  # malformed: nothing can be told
])  # fmt: skip
def test_nir_consistency(
    value: str, sex: str | None, birth_date: str | None, expected: object
) -> None:
    assert consistent_with("fr-nir", value, sex, birth_date) is expected


@pytest.mark.parametrize(("value", "sex", "birth_date", "expected"), [
    ("42.01.22-051.81", "male", "1942-01-22", True),
    ("42.01.22-051.81", "male", "2042-01-22", False),  # the key says 19xx
    ("42.01.22-051.81", "female", "1942-01-22", False),
    ("42.01.22-051.81", "male", "1942-01-23", False),
    (niss("060705002", True), "female", "2006-07-05", True),  # the key says 20xx
    (niss("060705002", True), "female", "1906-07-05", False),
    (niss("852309045"), "female", "1985-03-09", True),  # BIS, sex unknown: month - 20
    (niss("852309045"), "male", "1985-03-09", True),  # its sequence says nothing of sex
    (niss("852309045"), "male", "1985-04-09", False),
    (niss("854930046"), "female", "1985-09-30", True),  # BIS, sex known: month - 40
    (niss("854930046"), "male", "1985-09-30", False),
    (niss("850000123"), "male", "1985-06-01", True),  # date unknown but the year
    (niss("850000123"), "male", "1984-06-01", False),
])  # fmt: skip
def test_niss_consistency(
    value: str, sex: str | None, birth_date: str | None, expected: object
) -> None:
    assert consistent_with("be-niss", value, sex, birth_date) is expected


@pytest.mark.parametrize(("value", "sex", "birth_date", "expected"), [
    ("3001749995", "male", "1974-01-30", True),  # MedCom: Niels Test Vendelboe
    ("2701779899", "male", "1977-01-27", True),  # MedCom: William ManyDiagnoses Thomsen
    ("0201919990", "female", "1991-01-02", True),
    ("0201919990", "female", "1991-02-02", False),  # a public example whose CPR disagrees
    ("3001749995", "female", "1974-01-30", False),
    ("3001749995", None, "1974", True),
])  # fmt: skip
def test_cpr_consistency(
    value: str, sex: str | None, birth_date: str | None, expected: object
) -> None:
    assert consistent_with("dk-cpr", value, sex, birth_date) is expected


def test_a_birth_date_may_be_a_date_object() -> None:
    assert consistent_with("dk-cpr", "3001749995", "male", date(1974, 1, 30)) is True
    assert consistent_with("fr-nir", "2 55 08 14 168 025 38", "female", date(2010, 5, 2)) is False


@pytest.mark.parametrize(("scheme", "value"), [
    ("us-ssn", "536-22-1234"), ("uk-nhs", "9434765919"), ("nl-bsn", "111222333"),
    ("il-tz", israeli("04123456")), ("de-kvnr", "T046142499"),
])  # fmt: skip
def test_schemes_that_encode_no_demographics_cannot_tell(scheme: str, value: str) -> None:
    assert consistent_with(scheme, value, "male", "1970-01-01") is None
