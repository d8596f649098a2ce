"""Synthetic people: who they truly are, and the households some of them share.

A `Person` is the truth: sex, birth and death, names, birth place, national identifier
(NIR), addresses, phone, habits. Person `index` is drawn from their own random generator,
seeded with the run's seed and the index. Persons `2k` and `2k + 1` may form a household:
the first of them (the anchor) is drawn as anyone, then their generator decides whether
the next person lives with them and how; that person (the member) is drawn knowing the
anchor. So people are still drawn one at a time, in bounded memory, each reproducible
from the seed and their number. Households, as shares of all people (the last person of
an odd population lives alone):

- twins, about 1.5% of people (as in France): same birth date and place, family name,
  addresses and phone, different given names, the same sex two times in three; each twin
  has their own NIR (the same first ten characters but for the sex digit, another order
  number, a valid key);
- couples, about 7.5%: a married adult and their spouse, two years apart on average
  (3% of couples are of the same sex), at the same address; a wife who uses a married
  name uses her husband's, a husband carries the married name his wife uses;
- a parent and their child, about 7%, 20 to 42 years apart, at the same address (a minor
  shares the parent's whole address history); the child carries the father's family name
  (the one a married mother uses) or a single mother's.

Twins always give the same phone number, couples half the time, parents and children
60% of the time: about 9% of people share a phone number with another person. Members
of couples and of parent-child households are alive at the extract date.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import NamedTuple

from healthhub.synth import names
from healthhub.synth.primitives import (
    MONTH,
    RECORDS_START_DAY,
    REFERENCE_DAY,
    YEAR,
)

# Population pyramid: relative weight of each 5-year age band, 0-4 to 90-94.
_AGE_BANDS = (5.3, 5.8, 6.2, 6.2, 5.7, 5.6, 6.0, 6.3, 6.2, 6.6, 6.6, 6.5, 6.2, 5.8, 5.4,
              3.9, 2.9, 2.0, 1.0)  # fmt: skip
_AGE_CUMULATIVE = list(accumulate(weight for weight in _AGE_BANDS for _ in range(5)))
_AGE_TOTAL = _AGE_CUMULATIVE[-1]
#: Chance of having died (in the last 15 years) by age at the extract date.
_DEATH_RATE = [0.03 + 0.6 * (age / 95) ** 3 for age in range(95)]
_PLACE_CUMULATIVE = list(accumulate(p[4] for p in names.PLACES))
_PLACE_TOTAL = _PLACE_CUMULATIVE[-1]
_HOMES = [(p[0], p[1]) for p in names.PLACES]
_BIRTH_PLACES = [p[2] + p[3] for p in names.PLACES]  # département and commune, in the NIR
_COUNTRY_CUMULATIVE = list(accumulate(c[2] for c in names.BIRTH_COUNTRIES))
_COUNTRY_TOTAL = _COUNTRY_CUMULATIVE[-1]
_BIRTH_COUNTRIES = ["99" + c[1] for c in names.BIRTH_COUNTRIES]
_FAMILY = names.FAMILY
_FAMILY_CUMULATIVE = list(accumulate(1 / (rank + 8) for rank in range(len(names.FAMILY))))
_FAMILY_TOTAL = _FAMILY_CUMULATIVE[-1]
_STREETS = names.STREETS
_EMAIL_DOMAINS = names.EMAIL_DOMAINS
_SEX_DIGIT = {"male": "1", "female": "2"}
# phone numbers: index * step (prime to 10^8) visits every 8-digit number once
_PHONE_STEP, _PHONE_SEED_STEP = 38_196_601, 7_919_017
_GENERATIONS = {
    "male": (names.MALE_OLDER, names.MALE_MIDDLE, names.MALE_YOUNGER),
    "female": (names.FEMALE_OLDER, names.FEMALE_MIDDLE, names.FEMALE_YOUNGER),
}
_YEAR_DAYS = 365.25
_ADULT_DAYS = int(18 * _YEAR_DAYS) + 1
_OLDEST_DAYS = int(95 * _YEAR_DAYS) - 1
_OTHER_SEX = {"male": "female", "female": "male"}

#: Households: the pair's relation -> its share of pairs (of all pairs for twins; of
#: pairs whose anchor is a married living adult for couples; of pairs whose anchor is
#: alive for a parent and child), and the chance they share a phone.
TWINS, COUPLE, PARENT_CHILD = "twins", "couple", "parent_child"
_HOUSEHOLD_RATE = {TWINS: 0.015, COUPLE: 0.20, PARENT_CHILD: 0.08}
_SHARED_PHONE = {TWINS: 1.0, COUPLE: 0.5, PARENT_CHILD: 0.6}
_SAME_SEX_TWINS = 0.65
_SAME_SEX_COUPLE = 0.03


@dataclass(slots=True)
class Address:
    since: int  # day the person moved in
    line: str
    city: str
    postal_code: str


@dataclass(slots=True)
class Person:
    key: str
    index: int  # the person's number in the population, from 0
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
    household: str = ""  # TWINS, COUPLE, PARENT_CHILD or "" (lives alone here)
    shares_phone: bool = False  # another person of the population gives the same phone
    smoking: str = ""  # the habits are drawn with the history (`draw_habits`)
    height: float = 0.0  # adult height, cm
    bmi: float = 0.0  # usual adult body mass index

    @property
    def last_day(self) -> int:
        return self.death if self.death >= 0 else REFERENCE_DAY


class Kin(NamedTuple):
    """What the second person of a household is to the first (the anchor)."""

    relation: str  # "twin", "spouse", "child" (of the anchor) or "parent" (of the anchor)
    anchor: Person
    shares_phone: bool


def nir_key(first13: str) -> str:
    """The two-digit control key of a NIR: 97 - (number mod 97)."""
    return f"{97 - int(first13) % 97:02d}"


def nir_is_valid(nir: str) -> bool:
    return len(nir) == 15 and nir.isdigit() and nir_key(nir[:13]) == nir[13:]


def people(
    seed: int, count: int, start: int = 0, stop: int | None = None
) -> Iterator[tuple[random.Random, Person]]:
    """The people of a run of `count`, in order, each with the generator that drew them.

    From person `start` (even: households stay whole) to `stop` (excluded), all of them
    by default. The generator goes on drawing the person's providers, records and history;
    it is seeded again for the next person (use it before asking for the next).
    """
    if start % 2:
        raise ValueError(f"people are drawn in households from an even number (got {start})")
    kin: Kin | None = None
    rng = random.Random()
    for index in range(start, count if stop is None else stop):
        rng.seed(f"healthhub-synth:{seed}:person:{index}")  # as a new Random(...), faster
        if index % 2 == 0:
            person = make_person(rng, index, seed=seed)
            kin = household(rng, person, alone=index + 1 == count)
        else:
            person = make_person(rng, index, kin, seed)
        yield rng, person


def household(rng: random.Random, anchor: Person, alone: bool = False) -> Kin | None:
    """Whether the person after `anchor` shares a household with them, and how.

    Drawn from the anchor's generator right after the anchor (the same draws whether or
    not the anchor is `alone`, the last person of an odd population). Marks the anchor;
    returns what the next person is to the anchor, or None.
    """
    r = rng.random
    u, direction, share = r(), r(), r()
    if alone:
        return None
    age = (REFERENCE_DAY - anchor.birth) / _YEAR_DAYS
    alive = anchor.death < 0
    relation = ""
    for kind, rate in _HOUSEHOLD_RATE.items():
        if u >= rate:
            u -= rate
            continue
        if kind == TWINS:
            relation = "twin"
        elif kind == COUPLE and alive and age >= 18 and anchor.marital == "M":
            relation = "spouse"
        elif kind == PARENT_CHILD and alive:
            relation = "child" if age > 74 or (age >= 20 and direction < 0.5) else "parent"
        break
    if not relation:
        return None
    anchor.household = kind
    anchor.shares_phone = share < _SHARED_PHONE[kind]
    return Kin(relation, anchor, anchor.shares_phone)


def make_person(rng: random.Random, index: int, kin: Kin | None = None, seed: int = 0) -> Person:
    """Draw the true person number `index` of the run of `seed`; `kin` is their household's
    anchor, if any.

    Habits (smoking, height, body mass) are drawn with the history, by `draw_habits`.
    """
    r = rng.random
    sex = "female" if r() < 0.51 else "male"
    age = bisect(_AGE_CUMULATIVE, r() * _AGE_TOTAL)
    birth = REFERENCE_DAY - int(age * _YEAR_DAYS) - int(r() * 365)
    relation = ""
    anchor: Person | None = None
    if kin is not None:
        relation, anchor = kin.relation, kin.anchor
        sex, birth = _kin_sex_and_birth(rng, relation, anchor, sex)
        age = int((REFERENCE_DAY - birth) / _YEAR_DAYS)
    death = -1
    if r() < _DEATH_RATE[age] and REFERENCE_DAY - birth > 30:
        death = REFERENCE_DAY - 1 - int(r() * min(15 * 365, REFERENCE_DAY - birth - 2))
        if relation and relation != "twin":
            death = -1  # households are of people alive at the extract date
    birth_year = YEAR[birth]
    generation = 0 if birth_year < 1965 else 1 if birth_year < 1995 else 2
    if r() < 0.15:
        generation = min(2, max(0, generation + (1 if r() < 0.5 else -1)))
    pool = _GENERATIONS[sex][generation]
    size = len(pool)
    given = [pool[int(r() * size)]]
    if relation == "twin":
        while given[0] == anchor.given[0]:  # type: ignore[union-attr]
            given = [pool[int(r() * size)]]
    if r() < 0.25:
        second = pool[int(r() * size)]
        if second != given[0]:
            given.append(second)
    family = _FAMILY[bisect(_FAMILY_CUMULATIVE, r() * _FAMILY_TOTAL)]
    marital = "S"
    if age >= 18:
        u = r()
        marital = "M" if u < 0.5 else "S" if u < 0.78 else "D" if u < 0.9 else "W"
        if marital == "W" and age < 50:
            marital = "M"
        if relation == "spouse":
            marital = "M"
    married_family = ""
    if sex == "female" and marital != "S" and r() < 0.8:
        married_family = _FAMILY[bisect(_FAMILY_CUMULATIVE, r() * _FAMILY_TOTAL)]
    if anchor is not None:
        family, married_family = _kin_names(relation, anchor, sex, marital, family, married_family)
    if married_family == family:
        married_family = ""  # married someone of the same name: nothing to tell apart
    if r() < 0.9:
        born_in = _BIRTH_PLACES[bisect(_PLACE_CUMULATIVE, r() * _PLACE_TOTAL)]
    else:
        born_in = _BIRTH_COUNTRIES[bisect(_COUNTRY_CUMULATIVE, r() * _COUNTRY_TOTAL)]
    order = 1 + int(r() * 999)
    if anchor is not None and relation == "twin":
        born_in = anchor.nir[5:10]
        while order == int(anchor.nir[10:13]):
            order = 1 + int(r() * 999)
    first13 = f"{_SEX_DIGIT[sex]}{birth_year % 100:02d}{MONTH[birth]:02d}{born_in}{order:03d}"
    addresses = [_address(r, birth)]
    moved_from = max(birth + 18 * 365, RECORDS_START_DAY)
    if r() < 0.35 and moved_from < REFERENCE_DAY - 60:
        addresses.append(_address(r, moved_from + int(r() * (REFERENCE_DAY - 60 - moved_from))))
    if anchor is not None:
        if relation == "twin" or (relation == "child" and age < 18):
            addresses = list(anchor.addresses)
        else:
            addresses = [*addresses[:-1], anchor.addresses[-1]]
    # the eight last digits are the person's own: no two people share a number by chance
    number = (index * _PHONE_STEP + seed * _PHONE_SEED_STEP) % 100_000_000
    if r() < 0.8:
        phone = f"{'06' if r() < 0.6 else '07'}{number:08d}"
    else:
        phone = f"0{1 + int(r() * 5)}{number:08d}"
    if kin is not None and kin.shares_phone:
        phone = kin.anchor.phone
    email = ""
    if age >= 16 and r() < 0.6:
        local = f"{plain_name(given[0])}.{plain_name(married_family or family)}".lower()
        local = local.replace(" ", "").replace("'", "").replace("-", "")
        if r() < 0.4:
            local += str(int(r() * 100))
        email = f"{local}@{_EMAIL_DOMAINS[int(r() * len(_EMAIL_DOMAINS))]}"
    return Person(
        f"P{index + 1:06d}", index, sex, birth, death, given, family, married_family, marital,
        first13 + nir_key(first13), addresses, phone, email,
        kin.anchor.household if kin is not None else "",
        kin is not None and kin.shares_phone,
    )  # fmt: skip


def draw_habits(rng: random.Random, person: Person) -> None:
    """Draw the person's smoking habit, adult height and usual body mass index."""
    u = rng.random()
    person.smoking = (
        "never" if u < 0.55 else "former" if u < 0.75 else "daily" if u < 0.95 else "occasional"
    )
    male = person.sex == "male"
    person.height = rng.gauss(176.0, 7.0) if male else rng.gauss(163.0, 6.5)
    person.bmi = min(45.0, max(17.0, rng.gauss(25.5, 4.5)))


def _kin_sex_and_birth(
    rng: random.Random, relation: str, anchor: Person, sex: str
) -> tuple[str, int]:
    """The member's sex and birth day, given what they are to the anchor."""
    r = rng.random
    if relation == "twin":
        same = r() < _SAME_SEX_TWINS
        return (anchor.sex if same else _OTHER_SEX[anchor.sex]), anchor.birth
    anchor_age = (REFERENCE_DAY - anchor.birth) / _YEAR_DAYS
    if relation == "spouse":
        sex = anchor.sex if r() < _SAME_SEX_COUPLE else _OTHER_SEX[anchor.sex]
        years = rng.gauss(2.0 if sex == "male" else -2.0, 4.0)
        birth = anchor.birth - int(years * _YEAR_DAYS)
        return sex, max(REFERENCE_DAY - _OLDEST_DAYS, min(REFERENCE_DAY - _ADULT_DAYS, birth))
    if relation == "child":  # 20 to 42 years younger than the anchor
        years = 20 + r() * min(22.0, anchor_age - 20)
        return sex, min(REFERENCE_DAY - 1, anchor.birth + int(years * _YEAR_DAYS))
    years = 20 + r() * min(22.0, 74 - anchor_age)  # a parent, 20 to 42 years older
    return sex, max(REFERENCE_DAY - _OLDEST_DAYS, anchor.birth - int(years * _YEAR_DAYS))


def _kin_names(relation: str, anchor: Person, sex: str, marital: str, family: str,
               married_family: str) -> tuple[str, str]:  # fmt: skip
    """The member's birth and married family names, given what they are to the anchor."""
    if relation == "twin":
        return anchor.family, married_family
    if relation == "child":
        return anchor.married_family or anchor.family, married_family
    if relation == "spouse":
        if sex == "female" and anchor.sex == "male":
            return family, married_family and anchor.family
        if sex == "male" and anchor.sex == "female" and anchor.married_family:
            return anchor.married_family, married_family
        return family, married_family
    # a parent of the anchor: the father, or the mother (by her married name, or single)
    if sex == "male":
        return anchor.family, married_family
    if married_family:
        return family, anchor.family
    if marital == "S":
        return anchor.family, married_family
    return family, married_family


def _address(r: Callable[[], float], since: int) -> Address:
    city, postal_code = _HOMES[bisect(_PLACE_CUMULATIVE, r() * _PLACE_TOTAL)]
    street = _STREETS[int(r() * len(_STREETS))]
    return Address(since, f"{1 + int(r() * 150)} {street}", city, postal_code)


def choose_providers(rng: random.Random, kinds: Sequence[str]) -> list[int]:
    """Which providers see a person: the first (home) one is a hospital or a clinic.

    60% of people are seen by one provider, 30% by two, 7% by three and 3% by four (as
    many as there are, at most).
    """
    care, others = _provider_choices(tuple(kinds))
    r = rng.random
    u = r()
    wanted = 1 if u < 0.6 else 2 if u < 0.9 else 3 if u < 0.97 else 4
    home = care[int(r() * len(care))]
    if wanted == 1:
        return [home]
    chosen = [home]
    left = list(others[home])
    for _ in range(min(wanted, len(kinds)) - 1):
        chosen.append(left.pop(int(r() * len(left))))
    return chosen


@cache
def _provider_choices(kinds: tuple[str, ...]) -> tuple[list[int], list[list[int]]]:
    """The providers that can be a person's home one, and the others of each."""
    count = len(kinds)
    care = [i for i, kind in enumerate(kinds) if kind in ("hospital", "clinic")] or list(
        range(count)
    )
    return care, [[i for i in range(count) if i != home] for home in range(count)]


def plain_letters(text: str) -> str:
    """The text without accents, as registration systems that know only ASCII write it."""
    return text.translate(_PLAIN)


def plain_name(text: str) -> str:
    """`plain_letters` of a name, looked up for the names of the tables."""
    return _PLAIN_NAMES.get(text) or text.translate(_PLAIN)


def _name_tables() -> tuple[Sequence[str], ...]:
    return (names.FAMILY, names.MALE_OLDER, names.MALE_MIDDLE, names.MALE_YOUNGER,
            names.FEMALE_OLDER, names.FEMALE_MIDDLE, names.FEMALE_YOUNGER,
            *names.GIVEN_SPELLINGS, *names.FAMILY_SPELLINGS, *names.NICKNAMES.values())  # fmt: skip


def _plain_table() -> dict[int, str]:
    letters = {c for table in _name_tables() for name in table for c in name if not c.isascii()}
    letters |= set("éèêëàâäîïôöùûüç")
    table = {}
    for letter in sorted(letters | {c.upper() for c in letters if len(c.upper()) == 1}):
        base = "".join(c for c in unicodedata.normalize("NFKD", letter) if c.isascii())
        table[ord(letter)] = _LIGATURES.get(letter, base)
    return table


_LIGATURES = {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
_PLAIN = _plain_table()
_PLAIN_NAMES = {name: name.translate(_PLAIN) for table in _name_tables() for name in table}
