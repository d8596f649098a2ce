"""Synthetic people and the noisy records that providers keep of them.

A `Person` is the truth: sex, birth and death, names, birth place, national identifier
(NIR), addresses, phone, habits. Each provider that sees the person keeps its own
`Patient` record, with its own id and medical record number and with the noise real
registration desks make: typos, nicknames, married or hyphenated names, day and month
swapped in the birth date, an old address, a missing or mistyped national identifier,
house conventions (upper-case family names, no accents, phone formats).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from healthhub.synth import codes, names
from healthhub.synth.primitives import (
    DAY_OF_MONTH,
    MINUTES_PER_DAY,
    MONTH,
    RECORDS_START_DAY,
    REFERENCE_DAY,
    YEAR,
    codeable,
    date_text,
    instant,
)

# Population pyramid: relative weight of each 5-year age band, 0-4 to 90-94.
_AGE_BANDS = (5.3, 5.8, 6.2, 6.2, 5.7, 5.6, 6.0, 6.3, 6.2, 6.6, 6.6, 6.5, 6.2, 5.8, 5.4,
              3.9, 2.9, 2.0, 1.0)  # fmt: skip
_AGE_CUMULATIVE = list(accumulate(_AGE_BANDS))
_PLACE_CUMULATIVE = list(accumulate(p[4] for p in names.PLACES))
_COUNTRY_CUMULATIVE = list(accumulate(c[2] for c in names.BIRTH_COUNTRIES))
_FAMILY_CUMULATIVE = list(accumulate(1 / (rank + 8) for rank in range(len(names.FAMILY))))
_ACCENTS = str.maketrans("éèêëàâäîïôöùûüçÉÈÊËÀÂÄÎÏÔÖÙÛÜÇ", "eeeeaaaiioouuucEEEEAAAIIOOUUUC")
_GENERATIONS = {
    "male": (names.MALE_OLDER, names.MALE_MIDDLE, names.MALE_YOUNGER),
    "female": (names.FEMALE_OLDER, names.FEMALE_MIDDLE, names.FEMALE_YOUNGER),
}
_YEAR_DAYS = 365.25
_TYPO_LETTERS = "aeiounrstlmcdp"


@dataclass(slots=True)
class Address:
    since: int  # day the person moved in
    line: str
    city: str
    postal_code: str


@dataclass(slots=True)
class Person:
    key: str
    sex: str
    birth: int  # day number
    death: int  # day number, or -1 when alive
    given: list[str]
    family: str  # birth family name
    married_family: str
    marital: str
    nir: str
    addresses: list[Address]
    phone: str
    email: str
    smoking: str
    height: float  # adult height, cm
    bmi: float  # usual adult body mass index

    @property
    def last_day(self) -> int:
        return self.death if self.death >= 0 else REFERENCE_DAY


def nir_key(first13: str) -> str:
    """The two-digit control key of a NIR: 97 - (number mod 97)."""
    return f"{97 - int(first13) % 97:02d}"


def nir_is_valid(nir: str) -> bool:
    return len(nir) == 15 and nir.isdigit() and nir_key(nir[:13]) == nir[13:]


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    return bisect(cumulative, rng.random() * cumulative[-1])


def _ascii(text: str) -> str:
    return text.translate(_ACCENTS)


def make_person(rng: random.Random, index: int) -> Person:
    """Draw the true person number `index`."""
    r = rng.random
    sex = "female" if r() < 0.51 else "male"
    age = min(94, _pick(rng, _AGE_CUMULATIVE) * 5 + int(r() * 5))
    birth = REFERENCE_DAY - int(age * _YEAR_DAYS) - int(r() * 365)
    death = -1
    if REFERENCE_DAY - birth > 30 and r() < 0.03 + 0.6 * (age / 95) ** 3:
        death = REFERENCE_DAY - 1 - int(r() * min(15 * 365, REFERENCE_DAY - birth - 2))
    birth_year = YEAR[birth]
    generation = 0 if birth_year < 1965 else 1 if birth_year < 1995 else 2
    if r() < 0.15:
        generation = min(2, max(0, generation + (1 if r() < 0.5 else -1)))
    pool = _GENERATIONS[sex][generation]
    given = [pool[int(r() * len(pool))]]
    if r() < 0.25:
        second = pool[int(r() * len(pool))]
        if second != given[0]:
            given.append(second)
    family = names.FAMILY[_pick(rng, _FAMILY_CUMULATIVE)]
    adult = age >= 18
    marital = "S"
    if adult:
        u = r()
        marital = "M" if u < 0.5 else "S" if u < 0.78 else "D" if u < 0.9 else "W"
        if marital == "W" and age < 50:
            marital = "M"
    married_family = ""
    if sex == "female" and marital in "MWD" and r() < 0.8:
        married_family = names.FAMILY[_pick(rng, _FAMILY_CUMULATIVE)]
    if r() < 0.9:
        place = names.PLACES[_pick(rng, _PLACE_CUMULATIVE)]
        department, commune = place[2], place[3]
    else:
        department, commune = "99", names.BIRTH_COUNTRIES[_pick(rng, _COUNTRY_CUMULATIVE)][1]
    first13 = (
        ("1" if sex == "male" else "2")
        + f"{birth_year % 100:02d}{MONTH[birth]:02d}{department}{commune}"
        + f"{1 + int(r() * 999):03d}"
    )
    addresses = [_address(rng, birth)]
    moved_from = max(birth + 18 * 365, RECORDS_START_DAY)
    if r() < 0.35 and moved_from < REFERENCE_DAY - 60:
        current = _address(rng, moved_from + int(r() * (REFERENCE_DAY - 60 - moved_from)))
        addresses.append(current)
    if r() < 0.8:
        phone = ("06" if r() < 0.6 else "07") + f"{int(r() * 1e8):08d}"
    else:
        phone = f"0{1 + int(r() * 5)}{int(r() * 1e8):08d}"
    email = ""
    if age >= 16 and r() < 0.6:
        local = _ascii(f"{given[0]}.{married_family or family}").lower()
        local = local.replace(" ", "").replace("'", "").replace("-", "")
        if r() < 0.4:
            local += str(int(r() * 100))
        email = f"{local}@{names.EMAIL_DOMAINS[int(r() * len(names.EMAIL_DOMAINS))]}"
    u = r()
    smoking = (
        "never" if u < 0.55 else "former" if u < 0.75 else "daily" if u < 0.95 else "occasional"
    )
    height = rng.gauss(176.0, 7.0) if sex == "male" else rng.gauss(163.0, 6.5)
    bmi = min(45.0, max(17.0, rng.gauss(25.5, 4.5)))
    return Person(
        key=f"P{index + 1:06d}",
        sex=sex,
        birth=birth,
        death=death,
        given=given,
        family=family,
        married_family=married_family,
        marital=marital,
        nir=first13 + nir_key(first13),
        addresses=addresses,
        phone=phone,
        email=email,
        smoking=smoking,
        height=height,
        bmi=bmi,
    )


def _address(rng: random.Random, since: int) -> Address:
    place = names.PLACES[_pick(rng, _PLACE_CUMULATIVE)]
    street = names.STREETS[int(rng.random() * len(names.STREETS))]
    return Address(since, f"{1 + int(rng.random() * 150)} {street}", place[0], place[1])


def choose_providers(rng: random.Random, kinds: list[str]) -> list[int]:
    """Which providers see a person: the first (home) one is a hospital or a clinic."""
    count = len(kinds)
    u = rng.random()
    wanted = 1 if u < 0.6 else 2 if u < 0.9 else 3 if u < 0.97 else 4
    wanted = min(wanted, count)
    care = [i for i, kind in enumerate(kinds) if kind in ("hospital", "clinic")] or list(
        range(count)
    )
    home = care[int(rng.random() * len(care))]
    chosen = [home]
    others = [i for i in range(count) if i != home]
    while len(chosen) < wanted:
        chosen.append(others.pop(int(rng.random() * len(others))))
    return chosen


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


@dataclass(slots=True)
class HouseStyle:
    """How one provider's registration desk writes things down."""

    upper_family: bool
    plain_letters: bool
    phone_style: int
    missing_nir: float
    mrn_prefix: str


def patient_record(
    rng: random.Random,
    person: Person,
    patient_id: str,
    mrn: str,
    mrn_system: str,
    style: HouseStyle,
    home: bool,
    organization_ref: dict[str, Any],
) -> dict[str, Any]:
    """The Patient resource a provider keeps of `person`, with its noise."""
    r = rng.random
    slip = 0.2 if home else 1.0
    family = person.family
    names_out: list[dict[str, Any]] = []
    given = list(person.given)
    if r() < 0.12 * slip and len(given) > 1:
        given = given[:1]
    first = given[0]
    variants = names.VARIANTS.get(first)
    if variants and r() < 0.15:
        given[0] = variants[int(r() * len(variants))]
    elif r() < 0.03 * slip:
        given[0] = typo(rng, first)
    if r() < 0.04 * slip:
        family = typo(rng, family)
    if style.plain_letters:
        family, given = _ascii(family), [_ascii(g) for g in given]
    if style.upper_family:
        family = family.upper()
    married = person.married_family
    if married:
        if style.plain_letters:
            married = _ascii(married)
        if style.upper_family:
            married = married.upper()
        u = r()
        if u < 0.4:
            names_out.append({"use": "official", "family": family, "given": given})
            names_out.append({"use": "usual", "family": married, "given": given})
        elif u < 0.75:
            names_out.append({"use": "official", "family": married, "given": given})
        elif u < 0.9:
            joined = f"{married}-{family}" if r() < 0.5 else f"{family}-{married}"
            names_out.append({"use": "official", "family": joined, "given": given})
        else:
            names_out.append({"use": "official", "family": family, "given": given})
    else:
        names_out.append({"use": "official", "family": family, "given": given})
    birth = person.birth
    birth_date = date_text(birth)
    day, month = DAY_OF_MONTH[birth], MONTH[birth]
    if day <= 12 and day != month and r() < 0.02 * slip:
        birth_date = f"{YEAR[birth]:04d}-{day:02d}-{month:02d}"
    address = person.addresses[-1]
    if len(person.addresses) > 1 and not home and r() < 0.4:
        address = person.addresses[0]
    line = address.line
    if r() < 0.1:
        number, _, street = line.partition(" ")
        line = f"{number}, {street}" if r() < 0.5 else line.upper()
    telecom: list[dict[str, Any]] = []
    if r() < 0.92:
        telecom.append({"system": "phone", "value": _phone(person.phone, style.phone_style),
                        "use": "mobile" if person.phone[1] in "67" else "home"})  # fmt: skip
    if person.email and r() < 0.5:
        telecom.append({"system": "email", "value": person.email})
    identifiers: list[dict[str, Any]] = [
        {"use": "usual", "type": _MRN_TYPE, "system": mrn_system, "value": mrn}
    ]
    if r() >= style.missing_nir * slip:
        nir = person.nir
        if r() < 0.02 * slip:
            at = int(r() * 13)
            nir = nir[:at] + str((int(nir[at]) + 1 + int(r() * 9)) % 10) + nir[at + 1 :]
        identifiers.append(
            {"use": "official", "type": _NIR_TYPE, "system": codes.NIR_SYSTEM, "value": nir}
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": identifiers,
        "active": True,
        "name": names_out,
        "telecom": telecom,
        "gender": person.sex,
        "birthDate": birth_date,
    }
    if person.death >= 0 and (home or r() < 0.5):
        resource["deceasedDateTime"] = instant(person.death * MINUTES_PER_DAY + 720)
    resource["address"] = [{"use": "home", "line": [line], "city": address.city,
                            "postalCode": address.postal_code, "country": "FR"}]  # fmt: skip
    resource["maritalStatus"] = _MARITAL[person.marital]
    resource["managingOrganization"] = organization_ref
    return resource


def _phone(digits: str, style: int) -> str:
    if style == 1:
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    if style == 2:
        return "+33" + digits[1:]
    return digits


_MRN_TYPE = codeable(codes.MEDICAL_RECORD_NUMBER)
_NIR_TYPE = codeable(codes.NATIONAL_ID)
_MARITAL = {key: codeable(code) for key, code in codes.MARITAL_STATUS.items()}
