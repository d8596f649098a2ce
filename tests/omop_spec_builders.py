"""Building blocks of the OMOP mapping specs: FHIR resources of one case, references to
the rows a case expects, and the case itself."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

PROVIDER = "hospital"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
LOCAL = "http://hospital.example/codes"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"

# the hub's local SOURCE_TO_CONCEPT_MAP: (source_code, source_vocabulary_id, target_concept_id)
LOCAL_MAP = [
    ("10509002", "SNOMED", 258780),  # acute bronchitis: the vocabulary says 260139
    ("DM2", LOCAL, 201826),  # a code of the provider's own system
    ("DM2-HTN", LOCAL, 201826),  # ... mapped to two concepts
    ("DM2-HTN", LOCAL, 320128),
]


# --- building resources ------------------------------------------------------------------


def code(system: str, value: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": value} | ({"display": display} if display else {})
    return {"coding": [coding]}


def quantity(
    value: float, unit: str, comparator: str | None = None, ucum: bool = True
) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        q |= {"system": UCUM, "code": unit}
    if comparator:
        q["comparator"] = comparator
    return q


SUBJECT = {"reference": "Patient/{case}"}
PATIENT = {"resourceType": "Patient", "id": "{case}", "gender": "female", "birthDate": "1980-05-17"}


def resource(rtype: str, suffix: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": rtype, "id": "{case}" + suffix, **fields}


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "{case}", **fields}


def condition(concept: dict[str, Any], suffix: str = "-cond", **fields: Any) -> dict[str, Any]:
    return resource("Condition", suffix, subject=SUBJECT, code=concept, **fields)


def observation(concept: dict[str, Any], suffix: str = "-obs", **fields: Any) -> dict[str, Any]:
    fields.setdefault("status", "final")
    return resource("Observation", suffix, subject=SUBJECT, code=concept, **fields)


def encounter(klass: str, start: str, end: str | None = None, suffix: str = "-enc",
              **fields: Any) -> dict[str, Any]:  # fmt: skip
    period = {"start": start} | ({"end": end} if end else {})
    fields.setdefault("status", "finished")
    return resource("Encounter", suffix, subject=SUBJECT, period=period,
                    **{"class": {"system": ACT_CODE, "code": klass}}, **fields)  # fmt: skip


def prescription(rxnorm: str, authored: str, suffix: str = "-rx", **fields: Any) -> dict[str, Any]:
    fields.setdefault("status", "active")
    return resource("MedicationRequest", suffix, intent="order", subject=SUBJECT,
                    medicationCodeableConcept=code(RXNORM, rxnorm), authoredOn=authored, **fields)  # fmt: skip


def supply(days: int, amount: float | None = None, repeats: int | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"expectedSupplyDuration": {"value": days, "unit": "days"}}
    if amount is not None:
        request["quantity"] = {"value": amount}
    if repeats is not None:
        request["numberOfRepeatsAllowed"] = repeats
    return request


def status(value: str) -> dict[str, Any]:
    return code("http://terminology.hl7.org/CodeSystem/condition-ver-status", value)


def organization(suffix: str = "-org", **fields: Any) -> dict[str, Any]:
    return resource("Organization", suffix, name="Springfield General", **fields)


def practitioner(suffix: str = "-doc", **fields: Any) -> dict[str, Any]:
    return resource("Practitioner", suffix, name=[{"family": "Osler", "given": ["William"]}],
                    gender="male", **fields)  # fmt: skip


def ref(rtype: str, suffix: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{{case}}{suffix}"}


def note_text(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Ref:
    """The id of the row ``table`` holds for one source record (found through lineage)."""

    table: str
    rtype: str
    id: str


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    resources: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    patient: dict[str, Any] | None = field(default_factory=lambda: PATIENT)  # None: not sent
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # type, id, reason
    resent: list[dict[str, Any]] = field(default_factory=list)  # the second delivery
    xfail: str | None = None  # a known gap, with why
