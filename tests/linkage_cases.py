"""Linkage specs as a table: two source patients in, one person or two out.

Each case is a pair of FHIR Patients, the first sent by ``hospital``, the second by
``laboratory`` (or by ``hospital`` too, for a duplicate registration), and the expected
outcome: ``same`` (one person), ``different`` (two people, no review) or ``review`` (two
people, the pair waiting for a reviewer). Records are a base person with one change each,
so a case reads as the one difference it is about. Every case has its own base person
(family name, birth year, address, phone), written ``{family}``, ``{FAMILY}``, ``{year}``,
``{phone}``, ``{street}``, ``{nir}`` in the table, and all cases share one hub with a
background population, so that term frequencies and blocking work as in a real hub.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
FAMILIES = ("Dupont", "Kowalczyk", "Haddad", "Lemaire", "Ferreira", "Nguyen", "Rossi",
            "Benali", "Schmitt", "Traoré", "Caron", "Lambert", "Gauthier", "Perrin", "Roussel",
            "Vidal", "Brunet", "Picard", "Gaillard", "Fontaine", "Renaud", "Barbier", "Carpentier",
            "Marchal")  # fmt: skip


def nir_key(first13: str) -> str:
    return f"{97 - int(first13) % 97:02d}"


def nir(first13: str) -> str:
    return first13 + nir_key(first13)


def base_values(index: int) -> dict[str, str]:
    year = 1950 + index
    first13 = f"2{year % 100:02d}0369383{100 + index:03d}"
    return {
        "family": FAMILIES[index], "FAMILY": FAMILIES[index].upper(), "year": str(year),
        "phone": f"06123456{index:02d}", "phone_intl": f"+33 6 12 34 56 {index:02d}",
        "street": f"{index + 1} rue des Lilas",
        "nir": nir(first13), "nir_other": nir(first13[:-3] + f"{500 + index:03d}"),
        "nir_typo": first13 + nir_key(first13)[::-1] if nir_key(first13)[0] != nir_key(first13)[1]
        else first13 + f"{(int(nir_key(first13)) + 1) % 100:02d}",
    }  # fmt: skip


BASE: dict[str, Any] = {
    "resourceType": "Patient",
    "gender": "female",
    "birthDate": "{year}-03-12",
    "name": [{"use": "official", "family": "{family}", "given": ["Marie", "Claire"]}],
    "telecom": [{"system": "phone", "value": "{phone}"}],
    "address": [
        {
            "use": "home",
            "line": ["{street}"],
            "city": "Lyon",
            "postalCode": "69003",
            "country": "FR",
        }
    ],
}


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Pair:
    name: str
    first: dict[str, Any]  # changes to BASE: field -> new value (None removes it)
    second: dict[str, Any]
    expected: str  # same | different | review
    same_provider: bool = False
    why: str = ""

    def records(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        values = base_values(index)
        made = []
        for number, changes in enumerate((self.first, self.second)):
            record = copy.deepcopy(BASE)
            for key, value in changes.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = value
            record = fill(record, values)
            record["id"] = f"case{index}-{number}"
            made.append(record)
        return made[0], made[1]


def name(family: str = "{family}", *given: str, use: str = "official") -> dict[str, Any]:
    return {"use": use, "family": family, "given": list(given) or ["Marie", "Claire"]}


def national(value: str) -> list[dict[str, Any]]:
    return [{"system": NIR_SYSTEM, "value": value}]


NO_PHONE: dict[str, Any] = {"telecom": None}
MOVED: dict[str, Any] = {
    "address": [
        {"use": "home", "line": ["3 avenue Foch"], "city": "Nantes", "postalCode": "44000"}
    ],
    "telecom": [{"system": "phone", "value": "0799887766"}],
}

PAIRS: tuple[Pair, ...] = (
    Pair("identical records", {}, {}, "same"),
    Pair("upper-case family name, another phone format",
         {"name": [name("{FAMILY}")]},
         {"telecom": [{"system": "phone", "value": "{phone_intl}"}]},
         "same"),
    Pair("nickname", {"name": [name("{family}", "Catherine")]},
         {"name": [name("{family}", "Cathy")], **NO_PHONE}, "same"),
    Pair("transliteration of the given name",
         {"name": [name("{family}", "Mohamed")], "gender": "male"},
         {"name": [name("{family}", "Muhammad")], "gender": "male", **NO_PHONE}, "same"),
    Pair("Cyrillic and Latin spellings",
         {"name": [name("Иванова", "Александра")]},
         {"name": [name("Ivanova", "Aleksandra")], **NO_PHONE}, "same"),
    Pair("maiden and married names at one provider, married name and new home at the other",
         {"name": [name("{family}", "Sophie-Anne"), name("Wójcik", "Sophie-Anne", use="usual")]},
         {"name": [name("Wójcik", "Sophie-Anne")], **MOVED}, "same"),
    Pair("hyphenated married name", {"name": [name("{family}-Martin")]}, {**NO_PHONE}, "same"),
    Pair("day and month swapped", {}, {"birthDate": "{year}-12-03", **NO_PHONE}, "same"),
    Pair("a typo in the family name", {},
         {"name": [name("{family}x")], **NO_PHONE}, "same"),
    Pair("given and family name swapped", {},
         {"name": [{"use": "official", "family": "Marie", "given": ["{family}"]}]}, "same"),
    Pair("moved: new address and phone", {}, {**MOVED}, "same"),
    Pair("a duplicate registration at the same provider", {},
         {"name": [name("{family}", "Marie")]}, "same", same_provider=True),
    Pair("the same valid NIR, names written differently",
         {"identifier": national("{nir}")},
         {"name": [name("{FAMILY} MARTIN", "M")], **MOVED, "identifier": national("{nir}")},
         "same", why="deterministic on the national id"),
    Pair("twins: same birth date, family, home and phone, other given names",
         {"name": [name("{family}", "Jeanne")]}, {"name": [name("{family}", "Louise")]},
         "review", why="relatives: never linked on probability alone"),
    Pair("twins with their own valid NIRs",
         {"name": [name("{family}", "Jeanne")], "identifier": national("{nir}")},
         {"name": [name("{family}", "Louise")], "identifier": national("{nir_other}")},
         "different"),
    Pair("identical demographics but two different valid NIRs",
         {"identifier": national("{nir}")}, {"identifier": national("{nir_other}")},
         "different", why="one person has one national id"),
    Pair("mother and daughter: same name and home, born 27 years apart", {},
         {"birthDate": "1988-07-02"}, "review", why="relatives: never linked on probability"),
    Pair("household: shared phone and address, another person", {},
         {"name": [name("Moreau", "Paul")], "gender": "male", "birthDate": "1958-09-30"},
         "different"),
    Pair("a mistyped NIR shared by two different people is no link",
         {"name": [name("Leroy", "Paul")], "gender": "male", "birthDate": "1970-01-05", **MOVED,
          "identifier": national("{nir_typo}")},
         {"identifier": national("{nir_typo}")}, "different"),
)  # fmt: skip

POPULATION_GIVEN = ("Paul", "Louis", "Emma", "Lucas", "Chloé", "Hugo", "Léa", "Jules", "Alice",
                    "Nathan", "Inès", "Tom", "Sarah", "Noah", "Julie", "Adam", "Clara", "Léo",
                    "Marie", "Jean", "Pierre", "Anne", "Michel", "Sophie")  # fmt: skip
POPULATION_FAMILY = ("Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
                     "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
                     "Fournier", "Morel", "Girard", "André", "Mercier", "Blanc", "Martin",
                     "Thomas", "Robert", "Richard")  # fmt: skip


def population(count: int) -> list[dict[str, Any]]:
    """Distinct background people (no two share name and birth date)."""
    people = []
    for i in range(count):
        given = POPULATION_GIVEN[i % len(POPULATION_GIVEN)]
        family = POPULATION_FAMILY[(i // len(POPULATION_GIVEN)) % len(POPULATION_FAMILY)]
        people.append({
            "resourceType": "Patient", "id": f"pop{i}", "gender": "female" if i % 2 else "male",
            "birthDate": f"{1930 + i % 80}-{1 + (i // 80) % 12:02d}-{1 + i % 28:02d}",
            "name": [{"family": family, "given": [given]}],
            "address": [{"line": [f"{1 + i % 150} rue {POPULATION_FAMILY[(i * 7) % 24]}"],
                         "city": "Lyon", "postalCode": f"6900{1 + i % 9}"}],
            "telecom": [{"system": "phone", "value": f"04{i:08d}"}],
        })  # fmt: skip
    return people
