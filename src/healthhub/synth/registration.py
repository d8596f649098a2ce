"""The records providers keep of people, with the noise of registration desks.

Each provider that sees a person keeps a `Patient` record with its own id and medical
record number (MRN), written down in its house style (upper-case family names, no
accents, a phone format) and with the slips real desks make. The first (home) provider
registers the person carefully, at a fifth of the rates below for the slips marked *.
Each record carries the names of the hard cases of record linkage it holds, as the
`cases` column of ground_truth.csv lists them (in this order, ';'-joined):

- `nickname`: the first given name as a short form or a split compound (Alex,
  Jean Pierre, Jean), in 15% of the records of people whose name has one;
- `transliteration`: a given or family name in another spelling or transliteration
  (Mohammed for Mohamed, Schmidt for Schmitt, Bensalah for Ben Salah), in 25%* of the
  records of people whose name has one (`names.GIVEN_SPELLINGS`, `FAMILY_SPELLINGS`);
- `given_dropped`: the second given name left out, 12%* of people with two;
- `typo_given`, `typo_family`: one keyboard slip in the name, 3%* and 4%*;
- `name_swap`: the given and family names swapped, 0.3% of records but the home one;
- `married_name`, `hyphenated_name`, `maiden_only`: a married woman with a married name
  is recorded under her birth and married names (40%), her married name only (35%),
  both joined by a hyphen (15%) or her birth name only (10%);
- `dob_swap`: day and month of birth swapped, 2%* of people born on day 12 or before;
- `nir_missing`: no national identifier (NIR), at the provider's rate* (8% of hospital,
  15% of clinic, 30% of laboratory, 35% of radiology records);
- `nir_typo`: one digit of the NIR mistyped or two neighbours swapped, 2%* of the NIRs
  recorded; the key check then always fails;
- `old_address`: a previous address, 40% of the records but the home one of people who
  moved;
- `twin`: the person has a twin (see `people`);
- `household`: the person lives with another person of the population (a twin, a spouse,
  a parent or a child), at the same address (unrelated people may share one too, by
  chance, as neighbours in a building do);
- `shared_phone`: the record gives a phone number another person gives too;
- `duplicate`: the provider registered the person twice (1.5% of the charts): both
  records carry the case, the second one with its own id, MRN and noise, as a provider
  that is not the home one writes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from healthhub.synth import codes, names
from healthhub.synth.people import Person, plain_name
from healthhub.synth.primitives import (
    DATE_TEXT,
    DAY_OF_MONTH,
    MINUTES_PER_DAY,
    MONTH,
    codeable,
    instant,
)

if TYPE_CHECKING:
    from healthhub.synth.providers import Provider

CASES = ("nickname", "transliteration", "given_dropped", "typo_given", "typo_family",
         "name_swap", "married_name", "hyphenated_name", "maiden_only", "dob_swap",
         "nir_missing", "nir_typo", "old_address", "twin", "household", "shared_phone",
         "duplicate")  # fmt: skip
_CASE_ORDER = {name: n for n, name in enumerate(CASES)}
DUPLICATE_RATE = 0.015
_TYPO_LETTERS = "aeiounrstlmcdp"


def _spellings(groups: Sequence[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Name -> the other spellings of its group."""
    return {name: tuple(n for n in group if n != name) for group in groups for name in group}


_NICKNAMES = names.NICKNAMES
_GIVEN_SPELLINGS = _spellings(names.GIVEN_SPELLINGS)
_FAMILY_SPELLINGS = _spellings(names.FAMILY_SPELLINGS)


@dataclass(slots=True)
class HouseStyle:
    """How one provider's registration desk writes things down."""

    upper_family: bool
    plain_letters: bool
    phone_style: int
    missing_nir: float
    mrn_prefix: str


class Registration(NamedTuple):
    """One Patient record a provider keeps of a person, and the hard cases it carries."""

    provider: int  # index in the roster
    patient: dict[str, Any]
    cases: list[str]
    duplicate_of: int  # index of the first record at the same provider, or -1


def register(rng: random.Random, person: Person, roster: Sequence[Provider],
             chosen: list[int], new_id: Callable[[], str]) -> list[Registration]:  # fmt: skip
    """The records the `chosen` providers keep of `person`, the home one first, then the
    second records of the providers that registered the person twice."""
    found = []
    home = True
    for index in chosen:
        provider = roster[index]
        patient, cases = patient_record(
            rng, person, new_id(), provider.mrn(person.index), provider.mrn_system,
            provider.style, home, provider.organization_ref,
        )  # fmt: skip
        found.append(Registration(index, patient, cases, -1))
        home = False
    for order in range(len(chosen)):
        if rng.random() >= DUPLICATE_RATE:
            continue
        first = found[order]
        provider = roster[first.provider]
        patient, cases = patient_record(
            rng, person, new_id(), provider.mrn(person.index, True), provider.mrn_system,
            provider.style, False, provider.organization_ref,
        )  # fmt: skip
        first.cases.append("duplicate")
        cases.append("duplicate")
        found.append(Registration(first.provider, patient, cases, order))
    return found


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a letter replaced, dropped, doubled or two letters swapped."""
    if len(text) < 3:
        return text
    at = 1 + int(rng.random() * (len(text) - 1))
    op = int(rng.random() * 4)
    if op == 0:
        letter = _TYPO_LETTERS[int(rng.random() * len(_TYPO_LETTERS))]
        return text[:at] + letter + text[at + 1 :]
    if op == 1:
        return text[:at] + text[at + 1 :]
    if op == 2:
        return text[:at] + text[at] + text[at:]
    if at == len(text) - 1:
        at -= 1
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def nir_typo(rng: random.Random, nir: str) -> str:
    """One slip in the first 13 digits: a digit mistyped (70%) or two neighbours swapped.

    Either changes the number but not by a multiple of 97, so the key check fails.
    """
    at = int(rng.random() * 12)
    if rng.random() < 0.3 and nir[at] != nir[at + 1]:
        return nir[:at] + nir[at + 1] + nir[at] + nir[at + 2 :]
    at += int(rng.random() * 2)
    return nir[:at] + str((int(nir[at]) + 1 + int(rng.random() * 9)) % 10) + nir[at + 1 :]


def patient_record(
    rng: random.Random,
    person: Person,
    patient_id: str,
    mrn: str,
    mrn_system: str,
    style: HouseStyle,
    home: bool,
    organization_ref: dict[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """The Patient resource a provider keeps of `person`, and the hard cases it carries."""
    r = rng.random
    slip = 0.2 if home else 1.0
    plain = style.plain_letters
    cases: list[str] = []
    case = cases.append
    given = person.given
    if len(given) > 1 and r() < 0.12 * slip:
        given = given[:1]
        case("given_dropped")
    else:
        given = given[:]
    first = given[0]
    given_case = ""
    nicknames = _NICKNAMES.get(first)
    spellings = _GIVEN_SPELLINGS.get(first)
    if nicknames and r() < 0.15:
        given[0], given_case = nicknames[int(r() * len(nicknames))], "nickname"
    elif spellings and r() < 0.25 * slip:
        given[0], given_case = spellings[int(r() * len(spellings))], "transliteration"
    elif r() < 0.03 * slip:
        given[0], given_case = typo(rng, first), "typo_given"
    married = person.married_family
    layout = _layout(r()) if married else ""
    # the slips hit the family name written first: the married one when it stands alone
    true_family = family = married if layout == "married" else person.family
    family_case = ""
    spellings = _FAMILY_SPELLINGS.get(family)
    if spellings and r() < 0.25 * slip:
        family, family_case = spellings[int(r() * len(spellings))], "transliteration"
    elif r() < 0.04 * slip:
        family, family_case = typo(rng, family), "typo_family"
    if plain:  # a slip that only moves an accent does not show
        given = [plain_name(g) for g in given]
        first, family, true_family = plain_name(first), plain_name(family), plain_name(true_family)
        married = plain_name(married)
    if given_case and given[0] != first:
        case(given_case)
    if family_case and family != true_family and family_case not in cases:
        case(family_case)
    names_out: list[dict[str, Any]]
    if layout == "both":
        names_out = [{"use": "official", "family": family, "given": given},
                     {"use": "usual", "family": married, "given": given}]  # fmt: skip
        case("married_name")
    elif layout == "married":
        names_out = [{"use": "official", "family": family, "given": given}]
        case("married_name")
    elif layout == "joined":
        joined = f"{married}-{family}" if r() < 0.5 else f"{family}-{married}"
        names_out = [{"use": "official", "family": joined, "given": given}]
        case("hyphenated_name")
    else:
        names_out = [{"use": "official", "family": family, "given": given}]
        if layout == "maiden":
            case("maiden_only")
    if not home and r() < 0.003:
        swapped = names_out[0]
        swapped["family"], swapped["given"] = swapped["given"][0], [swapped["family"]]
        case("name_swap")
    if style.upper_family:
        for name in names_out:
            name["family"] = name["family"].upper()
    birth = person.birth
    birth_date = DATE_TEXT[birth]
    day = DAY_OF_MONTH[birth]
    if day <= 12 and r() < 0.02 * slip and day != MONTH[birth]:
        birth_date = f"{birth_date[:4]}-{day:02d}-{MONTH[birth]:02d}"
        case("dob_swap")
    addresses = person.addresses
    address = addresses[-1]
    if len(addresses) > 1 and not home and r() < 0.4:
        address = addresses[0]
        case("old_address")
    line = address.line
    if r() < 0.1:
        number, _, street = line.partition(" ")
        line = f"{number}, {street}" if r() < 0.5 else line.upper()
    phone = person.phone
    if r() < 0.92:
        telecom = [{"system": "phone", "value": _PHONE_STYLES[style.phone_style](phone),
                    "use": "mobile" if phone[1] in "67" else "home"}]  # fmt: skip
        if person.shares_phone:
            case("shared_phone")
    else:
        telecom = []
    if person.email and r() < 0.5:
        telecom.append({"system": "email", "value": person.email})
    identifiers = [{"use": "usual", "type": _MRN_TYPE, "system": mrn_system, "value": mrn}]
    if r() >= style.missing_nir * slip:
        nir = person.nir
        if r() < 0.02 * slip:
            nir = nir_typo(rng, nir)
            case("nir_typo")
        identifiers.append(
            {"use": "official", "type": _NIR_TYPE, "system": codes.NIR_SYSTEM, "value": nir}
        )
    else:
        case("nir_missing")
    if person.household:
        if person.household == "twins":
            case("twin")
        case("household")
    if len(cases) > 1:
        cases.sort(key=_CASE_ORDER.__getitem__)
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": patient_id, "identifier": identifiers,
        "active": True, "name": names_out, "telecom": telecom, "gender": person.sex,
        "birthDate": birth_date,
    }  # fmt: skip
    if person.death >= 0 and (home or r() < 0.5):
        resource["deceasedDateTime"] = instant(person.death * MINUTES_PER_DAY + 720)
    resource["address"] = [{"use": "home", "line": [line], "city": address.city,
                            "postalCode": address.postal_code, "country": "FR"}]  # fmt: skip
    resource["maritalStatus"] = _MARITAL[person.marital]
    resource["managingOrganization"] = organization_ref
    return resource, cases


def _layout(u: float) -> str:
    """How a married woman's names are written: birth and married, married only, both
    joined, or birth only."""
    return "both" if u < 0.4 else "married" if u < 0.75 else "joined" if u < 0.9 else "maiden"


def _spaced(digits: str) -> str:
    return f"{digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]} {digits[8:]}"


def _international(digits: str) -> str:
    return "+33" + digits[1:]


def _digits(digits: str) -> str:
    return digits


#: How a desk writes a phone number down: 0612345678, 06 12 34 56 78 or +33612345678.
_PHONE_STYLES = (_digits, _spaced, _international)
_MRN_TYPE = codeable(codes.MEDICAL_RECORD_NUMBER)
_NIR_TYPE = codeable(codes.NATIONAL_ID)
_MARITAL = {key: codeable(code) for key, code in codes.MARITAL_STATUS.items()}
