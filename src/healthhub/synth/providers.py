"""The synthetic providers: hospitals, laboratories, radiology centres and clinics.

Each provider has a key (`hospital-a`, `lab-b`, `radiology-c`, `clinic-d`, ...), its
Organization, Locations, Practitioners and PractitionerRoles, the references patient
data use to point at them, and the house style of its registration desk. References are
literal (`Organization/<id>`) in bulk NDJSON output and conditional on an identifier
(`Organization?identifier=<system>|<value>`) in transaction bundles, where the provider's
own resources travel in a separate bundle.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from healthhub.synth import codes, names
from healthhub.synth.primitives import codeable, id_maker
from healthhub.synth.registration import HouseStyle

KINDS = ("hospital", "lab", "radiology", "clinic")
#: Locations each kind of provider has (codes.LOCATIONS keys).
_LOCATIONS = {
    "hospital": ("outpatient", "emergency", "ward", "laboratory", "radiology"),
    "clinic": ("outpatient",),
    "lab": ("laboratory",),
    "radiology": ("radiology",),
}
_PRACTITIONERS = {"hospital": 24, "clinic": 5, "lab": 4, "radiology": 6}
_MRN_PREFIX = {"hospital": "H", "clinic": "C", "lab": "LB", "radiology": "RX"}
_MISSING_NIR = {"hospital": 0.08, "clinic": 0.15, "lab": 0.3, "radiology": 0.35}
_LOCATION_KINDS = {key: (code, label) for key, code, label in codes.LOCATIONS}

Linker = Callable[[str, str], dict[str, str]]


def literal_reference(resource_type: str, resource_id: str) -> dict[str, str]:
    """A reference within bulk NDJSON output: `Patient/<id>`."""
    return {"reference": f"{resource_type}/{resource_id}"}


def urn_reference(resource_type: str, resource_id: str) -> dict[str, str]:
    """A reference within a transaction bundle: `urn:uuid:<id>`."""
    return {"reference": f"urn:uuid:{resource_id}"}


def provider_key(index: int) -> str:
    """`hospital-a`, `lab-b`, `radiology-c`, `clinic-d`, `hospital-e`, ... `clinic-ab`."""
    letters = ""
    n = index
    while True:
        letters = chr(ord("a") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            break
    return f"{KINDS[index % len(KINDS)]}-{letters}"


@dataclass(slots=True)
class Provider:
    index: int
    key: str
    kind: str
    name: str
    resources: list[dict[str, Any]]  # Organization, Locations, Practitioners, roles
    organization_ref: dict[str, str]
    practitioner_refs: list[dict[str, str]]
    emergency_practitioner_refs: list[dict[str, str]]
    location_refs: dict[str, dict[str, str]]
    style: HouseStyle
    mrn_system: str
    first_mrn: int

    def mrn(self, person_index: int, second: bool = False) -> str:
        """The medical record number of a person's record (of their second, for a provider
        that registered them twice): in the order of the people, as if the provider saw
        other patients in between. It depends on the person alone, not on who came first."""
        return f"{self.style.mrn_prefix}{self.first_mrn + 2 * person_index + second:08d}"


def make_providers(count: int, seed: int, linker: Linker, conditional: bool) -> list[Provider]:
    """The `count` providers of a run; `conditional` selects bundle-style references."""
    return [_make_provider(i, seed, linker, conditional) for i in range(count)]


def _make_provider(index: int, seed: int, linker: Linker, conditional: bool) -> Provider:
    rng = random.Random(f"healthhub-synth:{seed}:provider:{index}")
    new_id = id_maker(rng.getrandbits)
    key = provider_key(index)
    kind = KINDS[index % len(KINDS)]
    place = names.PLACES[int(rng.random() * len(names.PLACES))]
    city = place[0]
    family = names.FAMILY[int(rng.random() * len(names.FAMILY))]
    if kind == "hospital":
        name = f"{names.HOSPITAL_NAMES[int(rng.random() * len(names.HOSPITAL_NAMES))]} de {city}"
    elif kind == "lab":
        name = f"Laboratoire de biologie médicale {family}"
    elif kind == "radiology":
        name = f"Centre d'imagerie médicale de {city}"
    else:
        name = f"Maison de santé {family}"
    street = names.STREETS[int(rng.random() * len(names.STREETS))]
    address = {"line": [f"{1 + int(rng.random() * 80)} {street}"], "city": city,
               "postalCode": place[1], "country": "FR"}  # fmt: skip
    base = f"https://{key}.example.org"

    def ref(resource_type: str, resource_id: str, system: str, value: str, display: str) -> dict:
        if conditional:
            target = f"{resource_type}?identifier={system}|{value}"
            return {"reference": target, "display": display}
        return {**linker(resource_type, resource_id), "display": display}

    organization_id = new_id()
    organization_system = f"{base}/organization"
    finess = f"{place[2]}{int(rng.random() * 1e7):07d}"
    organization = {
        "resourceType": "Organization",
        "id": organization_id,
        "identifier": [
            {"system": organization_system, "value": key},
            {"system": codes.FINESS_SYSTEM, "value": finess},
        ],
        "active": True,
        "type": [codeable(codes.HEALTHCARE_PROVIDER)],
        "name": name,
        "telecom": [{"system": "phone", "value": f"0{1 + int(rng.random() * 5)}"
                                                  f"{int(rng.random() * 1e8):08d}"}],
        "address": [address],
    }  # fmt: skip
    organization_ref = ref("Organization", organization_id, organization_system, key, name)
    local_org = linker("Organization", organization_id)

    locations: list[dict[str, Any]] = []
    location_refs: dict[str, dict[str, str]] = {}
    location_system = f"{base}/location"
    for location_key in _LOCATIONS[kind]:
        location_type, label = _LOCATION_KINDS[location_key]
        location_id = new_id()
        value = f"{key}-{location_key}"
        location_name = f"{name} - {label}"
        locations.append({
            "resourceType": "Location",
            "id": location_id,
            "identifier": [{"system": location_system, "value": value}],
            "status": "active",
            "name": location_name,
            "type": [codeable(location_type)],
            "address": address,
            "managingOrganization": local_org,
        })  # fmt: skip
        location_refs[location_key] = ref(
            "Location", location_id, location_system, value, location_name
        )

    practitioners: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    practitioner_refs: list[dict[str, str]] = []
    emergency_refs: list[dict[str, str]] = []
    specialties = codes.SPECIALTIES[kind]
    first_location = linker("Location", locations[0]["id"])
    for n in range(_PRACTITIONERS[kind]):
        sex = "female" if rng.random() < 0.5 else "male"
        pool = (names.FEMALE_MIDDLE if sex == "female" else names.MALE_MIDDLE) + (
            names.FEMALE_YOUNGER if sex == "female" else names.MALE_YOUNGER
        )
        given = pool[int(rng.random() * len(pool))]
        practitioner_family = names.FAMILY[int(rng.random() * len(names.FAMILY))]
        practitioner_id = new_id()
        rpps = f"10{int(rng.random() * 1e9):09d}"
        practitioners.append({
            "resourceType": "Practitioner",
            "id": practitioner_id,
            "identifier": [{"system": codes.RPPS_SYSTEM, "value": rpps}],
            "active": True,
            "name": [{"family": practitioner_family, "given": [given], "prefix": ["Dr"]}],
            "gender": sex,
        })  # fmt: skip
        specialty = specialties[n % len(specialties)]
        roles.append({
            "resourceType": "PractitionerRole",
            "id": new_id(),
            "identifier": [{"system": f"{base}/practitioner-role", "value": f"{key}-{n + 1}"}],
            "active": True,
            "practitioner": linker("Practitioner", practitioner_id),
            "organization": local_org,
            "code": [codeable(codes.DOCTOR)],
            "specialty": [codeable(specialty)],
            "location": [first_location],
        })  # fmt: skip
        display = f"Dr {given} {practitioner_family}"
        practitioner_ref = ref("Practitioner", practitioner_id, codes.RPPS_SYSTEM, rpps, display)
        practitioner_refs.append(practitioner_ref)
        if specialty.code == "773568002":
            emergency_refs.append(practitioner_ref)

    style = HouseStyle(
        upper_family=rng.random() < 0.4,
        plain_letters=rng.random() < 0.3,
        phone_style=int(rng.random() * 3),
        missing_nir=_MISSING_NIR[kind],
        mrn_prefix=_MRN_PREFIX[kind],
    )
    return Provider(
        index=index,
        key=key,
        kind=kind,
        name=name,
        resources=[organization, *locations, *practitioners, *roles],
        organization_ref=organization_ref,
        practitioner_refs=practitioner_refs,
        emergency_practitioner_refs=emergency_refs or practitioner_refs,
        location_refs=location_refs,
        style=style,
        mrn_system=f"{base}/mrn",
        first_mrn=100_000 + int(rng.random() * 5_000_000),
    )
