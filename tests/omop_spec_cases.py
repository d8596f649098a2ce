"""The FHIR to OMOP mapping spec cases, as tables (run by test_omop_mapping_specs.py).

Each ``Case``: a name, the FHIR resources it sends, the OMOP table it checks and the rows
that table must then hold for it. ``{case}`` in a string becomes the case's own key.
"""

from __future__ import annotations

import base64
import json
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


# --- the cases, by table -----------------------------------------------------------------

NAMED = patient(
    gender="male", birthDate="1961-09-30",
    name=[{"use": "official", "family": "Quarrington", "given": ["Zebulon"]}],
    telecom=[{"system": "phone", "value": "555-0199"}],
    identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-4417"}],
)  # fmt: skip
RACE = {"url": f"{US_CORE}/us-core-race",
        "extension": [{"url": "ombCategory", "valueCoding": {"code": "2106-3"}}]}  # fmt: skip
ETHNICITY = {"url": f"{US_CORE}/us-core-ethnicity",
             "extension": [{"url": "ombCategory", "valueCoding": {"code": "2186-5"}}]}  # fmt: skip

PEOPLE = [
    Case("female born 1980-05-17: month precision keeps year and month, not the day", "person",
         [], [{"gender_concept_id": 8532, "year_of_birth": 1980, "month_of_birth": 5,
               "day_of_birth": None, "birth_datetime": None, "gender_source_value": "female",
               "race_concept_id": 0, "ethnicity_concept_id": 0, "location_id": None}]),
    Case("male, US Core race and ethnicity, home state as the person's location", "person", [],
         [{"gender_concept_id": 8507, "race_concept_id": 8527, "race_source_value": "2106-3",
           "ethnicity_concept_id": 38003564, "ethnicity_source_value": "2186-5",
           "location_id": Ref("location", "region", "MA")}],
         patient=patient(gender="male", birthDate="1970-01-02", extension=[RACE, ETHNICITY],
                         address=[{"use": "home", "state": "MA"}])),
    Case("birth year only: no month", "person", [],
         [{"year_of_birth": 1975, "month_of_birth": None, "day_of_birth": None}],
         patient=patient(gender="female", birthDate="1975")),
    Case("gender unknown: concept 0, source value kept", "person", [],
         [{"gender_concept_id": 0, "gender_source_value": "unknown"}],
         patient=patient(gender="unknown", birthDate="1990-02-03")),
    Case("no birth date: no person", "person", [], [],
         patient=patient(gender="female"), skipped=[("Patient", "{case}", "no usable birth date")]),
    Case("no birth date: the patient's records are skipped too", "condition_occurrence",
         [condition(code(SNOMED, "44054006"), onsetDateTime="2020-01-01"),
          encounter("AMB", "2020-01-01")], [],
         patient=patient(gender="female"),
         skipped=[("Patient", "{case}", "no usable birth date"),
                  ("Condition", "{case}-cond", "patient without a usable birth date"),
                  ("Encounter", "{case}-enc", "patient without a usable birth date")]),
    Case("a re-sent Patient replaces its person row", "person", [],
         [{"gender_concept_id": 8507, "year_of_birth": 1981}],
         resent=[patient(gender="male", birthDate="1981-01-01")]),
    Case("deceasedDateTime: a death row", "death", [],
         [{"death_date": "2021-03-04", "death_datetime": "2021-03-04T10:00:00",
           "death_type_concept_id": 32817, "cause_concept_id": 0}],
         patient=patient(gender="male", birthDate="1940-01-01",
                         deceasedDateTime="2021-03-04T10:00:00+01:00")),
    Case("deceasedBoolean without a date: no death row", "death", [], [],
         patient=patient(gender="male", birthDate="1940-01-01", deceasedBoolean=True)),
]  # fmt: skip

VISITS = [
    Case("Encounter class AMB: outpatient visit 9202", "visit_occurrence",
         [encounter("AMB", "2020-01-01T09:00:00", "2020-01-01T09:30:00")],
         [{"visit_concept_id": 9202, "visit_start_date": "2020-01-01",
           "visit_start_datetime": "2020-01-01T09:00:00", "visit_end_date": "2020-01-01",
           "visit_end_datetime": "2020-01-01T09:30:00", "visit_type_concept_id": 32817,
           "visit_source_value": "AMB"}]),
    Case("Encounter class EMER: emergency room visit 9203", "visit_occurrence",
         [encounter("EMER", "2020-02-01T22:00:00", "2020-02-02T03:00:00")],
         [{"visit_concept_id": 9203, "visit_start_date": "2020-02-01", "visit_end_date": "2020-02-02"}]),
    Case("Encounter class IMP: inpatient visit 9201, with care site and provider", "visit_occurrence",
         [encounter("IMP", "2020-03-01", "2020-03-05", serviceProvider=ref("Organization", "-org"),
                    participant=[{"individual": ref("Practitioner", "-doc")}]),
          organization(), practitioner()],
         [{"visit_concept_id": 9201, "visit_start_date": "2020-03-01", "visit_end_date": "2020-03-05",
           "care_site_id": Ref("care_site", "Organization", "{case}-org"),
           "provider_id": Ref("provider", "Practitioner", "{case}-doc")}]),
    Case("Encounter without an end: ends on its start", "visit_occurrence",
         [encounter("AMB", "2020-04-01T10:00:00")],
         [{"visit_start_date": "2020-04-01", "visit_end_date": "2020-04-01"}]),
    Case("cancelled Encounter: skipped", "visit_occurrence",
         [encounter("AMB", "2020-04-01", status="cancelled")], [],
         skipped=[("Encounter", "{case}-enc", "status cancelled")]),
    Case("entered-in-error Encounter: skipped", "visit_occurrence",
         [encounter("AMB", "2020-04-01", status="entered-in-error")], [],
         skipped=[("Encounter", "{case}-enc", "status entered-in-error")]),
    Case("partOf: the sub-encounter is a visit_detail under the parent visit", "visit_detail",
         [encounter("IMP", "2020-05-01", "2020-05-10"),
          encounter("IMP", "2020-05-02", "2020-05-04", suffix="-sub", partOf=ref("Encounter", "-enc"))],
         [{"visit_detail_concept_id": 9201, "visit_detail_start_date": "2020-05-02",
           "visit_detail_end_date": "2020-05-04",
           "visit_occurrence_id": Ref("visit_occurrence", "Encounter", "{case}-enc")}]),
    Case("partOf: the sub-encounter is no visit_occurrence of its own", "visit_occurrence",
         [encounter("IMP", "2020-05-01", "2020-05-10"),
          encounter("IMP", "2020-05-02", "2020-05-04", suffix="-sub", partOf=ref("Encounter", "-enc"))],
         [{"visit_start_date": "2020-05-01", "visit_end_date": "2020-05-10"}]),
    Case("a condition recorded in a sub-encounter belongs to the parent visit", "condition_occurrence",
         [encounter("IMP", "2020-05-01", "2020-05-10"),
          encounter("IMP", "2020-05-02", "2020-05-04", suffix="-sub", partOf=ref("Encounter", "-enc")),
          condition(code(SNOMED, "44054006"), onsetDateTime="2020-05-03",
                    encounter=ref("Encounter", "-sub"))],
         [{"condition_start_date": "2020-05-03",
           "visit_occurrence_id": Ref("visit_occurrence", "Encounter", "{case}-enc"),
           "visit_detail_id": Ref("visit_detail", "Encounter", "{case}-sub")}]),
]  # fmt: skip

DIABETES = code(SNOMED, "44054006", "Type 2 diabetes mellitus")
CONDITIONS = [
    Case("Condition with onset and abatement, in a visit, asserted by a practitioner",
         "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03-01T09:30:00", abatementDateTime="2020-06-01",
                    encounter=ref("Encounter", "-enc"), asserter=ref("Practitioner", "-doc")),
          encounter("AMB", "2020-03-01T09:00:00"), practitioner()],
         [{"condition_concept_id": 201826, "condition_start_date": "2020-03-01",
           "condition_start_datetime": "2020-03-01T09:30:00", "condition_end_date": "2020-06-01",
           "condition_type_concept_id": 32817, "condition_source_value": "44054006",
           "condition_source_concept_id": 201826,
           "visit_occurrence_id": Ref("visit_occurrence", "Encounter", "{case}-enc"),
           "provider_id": Ref("provider", "Practitioner", "{case}-doc")}]),
    Case("Condition without abatement: no end date", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03-01")],
         [{"condition_start_date": "2020-03-01", "condition_end_date": None,
           "condition_end_datetime": None}]),
    Case("partial onset date: the first day of the month", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03")],
         [{"condition_start_date": "2020-03-01"}]),
    Case("Condition with only a recorded date: it is the start", "condition_occurrence",
         [condition(DIABETES, recordedDate="2020-07-08")], [{"condition_start_date": "2020-07-08"}]),
    Case("non-standard code: mapped through 'Maps to'", "condition_occurrence",
         [condition(code(SNOMED, "15777000"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 2000000104, "condition_source_concept_id": 40316773,
           "condition_source_value": "15777000"}]),
    Case("unmapped code: kept with concept 0 and its source value", "condition_occurrence",
         [condition(code(SNOMED, "999999999"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 0, "condition_source_concept_id": 0,
           "condition_source_value": "999999999"}]),
    Case("code of an unknown system: concept 0, source value kept", "condition_occurrence",
         [condition(code("http://elsewhere.example/dx", "X1"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 0, "condition_source_concept_id": 0, "condition_source_value": "X1"}]),
    Case("Condition whose concept is in the Observation domain goes to observation", "observation",
         [condition(code(SNOMED, "91936005"), onsetDateTime="2020-03-01")],
         [{"observation_concept_id": 2000000103, "observation_date": "2020-03-01",
           "observation_type_concept_id": 32817, "observation_source_value": "91936005",
           "observation_source_concept_id": 2000000103}]),
    Case("... and not to condition_occurrence", "condition_occurrence",
         [condition(code(SNOMED, "91936005"), onsetDateTime="2020-03-01")], []),
    Case("entered-in-error Condition: skipped", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03-01", verificationStatus=status("entered-in-error"))],
         [], skipped=[("Condition", "{case}-cond", "status entered-in-error")]),
    Case("refuted Condition: skipped", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03-01", verificationStatus=status("refuted"))],
         [], skipped=[("Condition", "{case}-cond", "verification status refuted")]),
    Case("Condition without any date: skipped", "condition_occurrence",
         [condition(DIABETES)], [], skipped=[("Condition", "{case}-cond", "no usable date")]),
    Case("Condition of a patient not received: skipped", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-03-01")], [], patient=None,
         skipped=[("Condition", "{case}-cond", "patient not received from this provider")]),
    Case("local source_to_concept_map wins over the vocabulary", "condition_occurrence",
         [condition(code(SNOMED, "10509002"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 258780, "condition_source_concept_id": 260139,
           "condition_source_value": "10509002"}]),
    Case("local source_to_concept_map maps the provider's own codes", "condition_occurrence",
         [condition(code(LOCAL, "DM2"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 201826, "condition_source_concept_id": 0,
           "condition_source_value": "DM2"}]),
    Case("a code mapped to two concepts: one row each", "condition_occurrence",
         [condition(code(LOCAL, "DM2-HTN"), onsetDateTime="2020-03-01")],
         [{"condition_concept_id": 201826, "condition_source_value": "DM2-HTN"},
          {"condition_concept_id": 320128, "condition_source_value": "DM2-HTN"}]),
    Case("a re-sent Condition (same id) replaces its row", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-01-01")],
         [{"condition_concept_id": 320128, "condition_start_date": "2020-02-02"}],
         resent=[condition(code(SNOMED, "59621000"), onsetDateTime="2020-02-02")]),
    Case("a Condition re-sent as entered-in-error removes its row", "condition_occurrence",
         [condition(DIABETES, onsetDateTime="2020-01-01")], [],
         resent=[condition(DIABETES, onsetDateTime="2020-01-01",
                           verificationStatus=status("entered-in-error"))]),

]  # fmt: skip

LISINOPRIL = "314076"  # lisinopril 10 MG Oral Tablet: concept 19080128, ingredient 1308216
DRUGS = [
    Case("MedicationRequest with dispense supply: end = start + days_supply - 1", "drug_exposure",
         [prescription(LISINOPRIL, "2020-01-10", dispenseRequest=supply(30, 30, 2),
                       dosageInstruction=[{"text": "1 tablet daily",
                                           "route": code(SNOMED, "26643006")}])],
         [{"drug_concept_id": 19080128, "drug_exposure_start_date": "2020-01-10",
           "drug_exposure_end_date": "2020-02-08", "verbatim_end_date": None,
           "drug_type_concept_id": 32838, "days_supply": 30, "quantity": 30.0, "refills": 2,
           "sig": "1 tablet daily", "route_source_value": "26643006",
           "drug_source_value": LISINOPRIL, "drug_source_concept_id": 19080128}]),
    Case("MedicationRequest with only a days supply", "drug_exposure",
         [prescription(LISINOPRIL, "2020-01-10", dispenseRequest=supply(10))],
         [{"drug_exposure_start_date": "2020-01-10", "drug_exposure_end_date": "2020-01-19",
           "days_supply": 10, "verbatim_end_date": None}]),
    Case("MedicationRequest with nothing but a date: end = start", "drug_exposure",
         [prescription(LISINOPRIL, "2020-01-10")],
         [{"drug_exposure_start_date": "2020-01-10", "drug_exposure_end_date": "2020-01-10",
           "days_supply": None, "quantity": None}]),
    Case("cancelled MedicationRequest: skipped", "drug_exposure",
         [prescription(LISINOPRIL, "2020-01-10", status="cancelled")], [],
         skipped=[("MedicationRequest", "{case}-rx", "status cancelled")]),
    Case("MedicationAdministration with a period: its end is the end", "drug_exposure",
         [resource("MedicationAdministration", "-admin", status="completed", subject=SUBJECT,
                   medicationCodeableConcept=code(RXNORM, "313002"),
                   effectivePeriod={"start": "2020-02-01T08:00:00", "end": "2020-02-01T09:00:00"},
                   dosage={"dose": {"value": 500, "unit": "mL"}})],
         [{"drug_concept_id": 19079524, "drug_type_concept_id": 32818,
           "drug_exposure_start_date": "2020-02-01", "drug_exposure_end_date": "2020-02-01",
           "drug_exposure_end_datetime": "2020-02-01T09:00:00", "verbatim_end_date": "2020-02-01",
           "quantity": 500.0}]),
    Case("MedicationStatement: patient self-report", "drug_exposure",
         [resource("MedicationStatement", "-stmt", status="active", subject=SUBJECT,
                   medicationCodeableConcept=code(RXNORM, "313782"),
                   effectiveDateTime="2020-03-03")],
         [{"drug_concept_id": 1127433, "drug_type_concept_id": 32865,
           "drug_exposure_start_date": "2020-03-03", "drug_exposure_end_date": "2020-03-03"}]),
    Case("Immunization (CVX 140) goes to drug_exposure", "drug_exposure",
         [resource("Immunization", "-imm", status="completed", patient=SUBJECT,
                   vaccineCode=code(CVX, "140"), occurrenceDateTime="2020-10-01",
                   lotNumber="FLU-123", primarySource=True)],
         [{"drug_concept_id": 2000000010, "drug_exposure_start_date": "2020-10-01",
           "drug_exposure_end_date": "2020-10-01", "drug_type_concept_id": 32818,
           "lot_number": "FLU-123", "drug_source_value": "140",
           "drug_source_concept_id": 2000000010}]),
    Case("Immunization not done: skipped", "drug_exposure",
         [resource("Immunization", "-imm", status="not-done", patient=SUBJECT,
                   vaccineCode=code(CVX, "140"), occurrenceDateTime="2020-10-01")], [],
         skipped=[("Immunization", "{case}-imm", "status not-done")]),
]  # fmt: skip

PROCEDURES = [
    Case("Procedure with a performed period", "procedure_occurrence",
         [resource("Procedure", "-proc", status="completed", subject=SUBJECT,
                   code=code(SNOMED, "80146002"),
                   performedPeriod={"start": "2020-06-01T10:00:00", "end": "2020-06-01T11:15:00"})],
         [{"procedure_concept_id": 4198190, "procedure_date": "2020-06-01",
           "procedure_datetime": "2020-06-01T10:00:00", "procedure_end_date": "2020-06-01",
           "procedure_end_datetime": "2020-06-01T11:15:00", "procedure_type_concept_id": 32817,
           "procedure_source_value": "80146002", "procedure_source_concept_id": 4198190}]),
    Case("Procedure not done: skipped", "procedure_occurrence",
         [resource("Procedure", "-proc", status="not-done", subject=SUBJECT,
                   code=code(SNOMED, "80146002"), performedDateTime="2020-06-01")], [],
         skipped=[("Procedure", "{case}-proc", "status not-done")]),
    Case("Procedure whose concept is in the Measurement domain goes to measurement", "measurement",
         [resource("Procedure", "-proc", status="completed", subject=SUBJECT,
                   code=code(SNOMED, "117010004"), performedDateTime="2020-06-01")],
         [{"measurement_concept_id": 4024509, "measurement_date": "2020-06-01",
           "value_as_number": None, "value_as_concept_id": None, "unit_concept_id": None}]),
    Case("Device attached to the patient: device_exposure", "device_exposure",
         [resource("Device", "-dev", status="active", patient=SUBJECT,
                   type=code(SNOMED, "706004007"), manufactureDate="2019-06-01",
                   udiCarrier=[{"deviceIdentifier": "00643169001763"}], lotNumber="LOT-7")],
         [{"device_concept_id": 45772840, "device_exposure_start_date": "2019-06-01",
           "device_type_concept_id": 32817, "unique_device_id": "00643169001763",
           "production_id": "LOT-7", "device_source_value": "706004007",
           "device_source_concept_id": 45772840}]),
    Case("Device without a patient: skipped", "device_exposure",
         [resource("Device", "-dev", status="active", type=code(SNOMED, "706004007"),
                   manufactureDate="2019-06-01")], [],
         skipped=[("Device", "{case}-dev", "device not attached to a patient")]),
]  # fmt: skip

BP_PANEL = observation(
    code(LOINC, "85354-9"), effectiveDateTime="2020-02-02T10:00:00",
    component=[{"code": code(LOINC, "8480-6"), "valueQuantity": quantity(120, "mm[Hg]")},
               {"code": code(LOINC, "8462-4"), "valueQuantity": quantity(80, "mm[Hg]")}],
)  # fmt: skip
MEASUREMENTS = [
    Case("body height with a UCUM unit", "measurement",
         [observation(code(LOINC, "8302-2"), effectiveDateTime="2020-02-02T10:00:00",
                      valueQuantity=quantity(172, "cm"))],
         [{"measurement_concept_id": 3036277, "measurement_date": "2020-02-02",
           "measurement_datetime": "2020-02-02T10:00:00", "measurement_type_concept_id": 32817,
           "value_as_number": 172.0, "unit_concept_id": 8582, "unit_source_value": "cm",
           "operator_concept_id": None, "value_as_concept_id": None,
           "measurement_source_value": "8302-2", "measurement_source_concept_id": 3036277}]),
    Case("comparator '<' and a reference range", "measurement",
         [observation(code(LOINC, "2160-0"), effectiveDateTime="2020-02-02",
                      valueQuantity=quantity(0.5, "mg/dL", "<"),
                      referenceRange=[{"low": {"value": 0.6}, "high": {"value": 1.2}}])],
         [{"measurement_concept_id": 3016723, "operator_concept_id": 4171756,
           "value_as_number": 0.5, "unit_concept_id": 8840, "range_low": 0.6, "range_high": 1.2}]),
    Case("value as CodeableConcept: value_as_concept_id", "measurement",
         [observation(code(SNOMED, "117015009"), effectiveDateTime="2020-02-02",
                      valueCodeableConcept=code(SNOMED, "43878008"))],
         [{"measurement_concept_id": 4024958, "value_as_concept_id": 28060,
           "value_as_number": None, "value_source_value": "43878008"}]),
    Case("blood pressure panel: one row per component, none for the panel", "measurement",
         [BP_PANEL],
         [{"measurement_concept_id": 3004249, "value_as_number": 120.0, "unit_concept_id": 8876,
           "measurement_date": "2020-02-02", "measurement_source_value": "8480-6"},
          {"measurement_concept_id": 3012888, "value_as_number": 80.0, "unit_concept_id": 8876,
           "measurement_date": "2020-02-02", "measurement_source_value": "8462-4"}]),
    Case("entered-in-error panel: its components are skipped with it", "measurement",
         [{**BP_PANEL, "status": "entered-in-error"}], [],
         skipped=[("Observation", "{case}-obs", "status entered-in-error")]),
    Case("unmapped lab code with a unit outside the vocabulary", "measurement",
         [observation(code(LOINC, "99999-9"), effectiveDateTime="2020-02-02",
                      valueQuantity=quantity(7.1, "mmol/mol"))],
         [{"measurement_concept_id": 0, "measurement_source_concept_id": 0,
           "measurement_source_value": "99999-9", "value_as_number": 7.1,
           "unit_concept_id": 0, "unit_source_value": "mmol/mol"}]),
    Case("unit given as text only: unit concept 0, text kept", "measurement",
         [observation(code(LOINC, "8867-4"), effectiveDateTime="2020-02-02",
                      valueQuantity=quantity(72, "beats/minute", ucum=False))],
         [{"measurement_concept_id": 3027018, "value_as_number": 72.0, "unit_concept_id": 0,
           "unit_source_value": "beats/minute"}]),
    Case("integer value", "measurement",
         [observation(code(LOINC, "72514-3"), effectiveDateTime="2020-02-02", valueInteger=4)],
         [{"measurement_concept_id": 43055141, "value_as_number": 4.0, "unit_concept_id": None}]),
    Case("entered-in-error Observation: skipped", "measurement",
         [observation(code(LOINC, "8302-2"), status="entered-in-error",
                      effectiveDateTime="2020-02-02", valueQuantity=quantity(172, "cm"))], [],
         skipped=[("Observation", "{case}-obs", "status entered-in-error")]),
    Case("cancelled Observation: skipped", "measurement",
         [observation(code(LOINC, "8302-2"), status="cancelled",
                      effectiveDateTime="2020-02-02", valueQuantity=quantity(172, "cm"))], [],
         skipped=[("Observation", "{case}-obs", "status cancelled")]),
]  # fmt: skip

OBSERVATIONS = [
    Case("value as CodeableConcept: smoking status", "observation",
         [observation(code(LOINC, "72166-2"), effectiveDateTime="2020-02-02",
                      valueCodeableConcept=code(SNOMED, "449868002"))],
         [{"observation_concept_id": 43054909, "observation_date": "2020-02-02",
           "value_as_concept_id": 42709996, "value_as_number": None,
           "value_source_value": "449868002", "observation_source_value": "72166-2"}]),
    Case("string value of a non-standard code", "observation",
         [observation(code(SNOMED, "66348005"), effectiveDateTime="2020-02-02", valueString="twins")],
         [{"observation_concept_id": 2000000105, "observation_source_concept_id": 40623280,
           "value_as_string": "twins", "value_as_number": None, "value_as_concept_id": None}]),
    Case("boolean value: as a string", "observation",
         [observation(code(LOCAL, "FALLS"), effectiveDateTime="2020-02-02", valueBoolean=True)],
         [{"observation_concept_id": 0, "observation_source_value": "FALLS",
           "value_as_string": "true"}]),
    Case("AllergyIntolerance: observation, reaction as the value", "observation",
         [resource("AllergyIntolerance", "-allergy", patient=SUBJECT, code=code(SNOMED, "91936005"),
                   onsetDateTime="2015-04-01", recordedDate="2019-01-01",
                   reaction=[{"manifestation": [code(SNOMED, "271807003")]}])],
         [{"observation_concept_id": 2000000103, "observation_date": "2015-04-01",
           "observation_type_concept_id": 32817, "value_as_concept_id": 2000000075,
           "observation_source_value": "91936005", "observation_source_concept_id": 2000000103}]),
    Case("refuted AllergyIntolerance: skipped", "observation",
         [resource("AllergyIntolerance", "-allergy", patient=SUBJECT, code=code(SNOMED, "91936005"),
                   recordedDate="2019-01-01", verificationStatus=status("refuted"))], [],
         skipped=[("AllergyIntolerance", "{case}-allergy", "verification status refuted")]),
]  # fmt: skip

NOTE = ("Zebulon Quarrington (MRN-4417, born 1961-09-30, tel 555-0199) came back: glucose"
        " better, QUARRINGTON agrees to continue.")  # fmt: skip
NOTES = [
    Case("DocumentReference: note, the patient's identifiers replaced by placeholders", "note",
         [resource("DocumentReference", "-doc", status="current", subject=SUBJECT,
                   type=code(LOINC, "11506-3"), date="2020-05-05T14:00:00+02:00",
                   author=[ref("Practitioner", "-author")],
                   context={"encounter": [ref("Encounter", "-enc")]},
                   content=[{"attachment": {"contentType": "text/plain", "language": "en-US",
                                            "title": "Follow-up", "data": note_text(NOTE)}}]),
          encounter("AMB", "2020-05-05"), practitioner("-author")],
         [{"note_date": "2020-05-05", "note_datetime": "2020-05-05T14:00:00",
           "note_type_concept_id": 32817, "note_class_concept_id": 2000000016,
           "note_title": "Follow-up", "encoding_concept_id": 32678, "language_concept_id": 4180186,
           "note_source_value": "11506-3",
           "note_text": "[NAME] [NAME] ([ID], born [BIRTH DATE], tel [CONTACT]) came back:"
                        " glucose better, [NAME] agrees to continue.",
           "visit_occurrence_id": Ref("visit_occurrence", "Encounter", "{case}-enc"),
           "provider_id": Ref("provider", "Practitioner", "{case}-author")}],
         patient=NAMED),
    Case("entered-in-error DocumentReference: skipped", "note",
         [resource("DocumentReference", "-doc", status="entered-in-error", subject=SUBJECT,
                   date="2020-05-05", content=[{"attachment": {"data": note_text("text")}}])], [],
         skipped=[("DocumentReference", "{case}-doc", "status entered-in-error")]),
    Case("DocumentReference without text (a link only): skipped", "note",
         [resource("DocumentReference", "-doc", status="current", subject=SUBJECT,
                   date="2020-05-05", content=[{"attachment": {"url": "https://x.example/1"}}])], [],
         skipped=[("DocumentReference", "{case}-doc", "no text content")]),
    Case("Specimen: type, body site, quantity with a UCUM unit", "specimen",
         [resource("Specimen", "-spec", status="available", subject=SUBJECT,
                   type=code(SNOMED, "119297000"),
                   collection={"collectedDateTime": "2020-04-02T08:00:00",
                               "quantity": quantity(5, "mL"),
                               "bodySite": code(SNOMED, "8205005")})],
         [{"specimen_concept_id": 0, "specimen_type_concept_id": 32817,
           "specimen_date": "2020-04-02", "specimen_datetime": "2020-04-02T08:00:00",
           "quantity": 5.0, "unit_concept_id": 8587, "unit_source_value": "mL",
           "anatomic_site_concept_id": 2000000100, "anatomic_site_source_value": "8205005",
           "specimen_source_value": "119297000"}]),
]  # fmt: skip

ADDRESS = {"line": ["1 Main St"], "city": "Springfield", "state": "MA", "postalCode": "01101",
           "country": "US"}  # fmt: skip
SITES = [
    Case("Location: a location and a care site", "location",
         [resource("Location", "-loc", name="Ward 3", address=ADDRESS,
                   position={"latitude": 42.1, "longitude": -72.5})],
         [{"address_1": "1 Main St", "city": "Springfield", "state": "MA", "zip": "01101",
           "country_source_value": "US", "latitude": 42.1, "longitude": -72.5,
           "location_source_value": "{case}-loc"}]),
    Case("Location: its care site points to its location", "care_site",
         [resource("Location", "-loc", name="Ward 3", address=ADDRESS,
                   type=[code("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "HOSP")])],
         [{"care_site_name": "Ward 3", "care_site_source_value": "{case}-loc",
           "place_of_service_source_value": "HOSP",
           "location_id": Ref("location", "Location", "{case}-loc")}]),
    Case("Organization with an address: care site and its location", "care_site",
         [organization(address=[ADDRESS])],
         [{"care_site_name": "Springfield General", "care_site_source_value": "{case}-org",
           "location_id": Ref("location", "Organization", "{case}-org")}]),
    Case("Organization's address: a location", "location",
         [organization(address=[ADDRESS])],
         [{"address_1": "1 Main St", "city": "Springfield", "zip": "01101",
           "location_source_value": "{case}-org"}]),
    Case("Practitioner with a role: provider with specialty and care site", "provider",
         [practitioner(identifier=[{"system": "http://hl7.org/fhir/sid/us-npi",
                                    "value": "1234567893"}]),
          organization(),
          resource("PractitionerRole", "-role", practitioner=ref("Practitioner", "-doc"),
                   organization=ref("Organization", "-org"),
                   specialty=[code(SNOMED, "394579002")])],
         [{"provider_name": "William Osler", "npi": "1234567893", "gender_concept_id": 8507,
           "specialty_concept_id": 2000000080, "specialty_source_value": "394579002",
           "care_site_id": Ref("care_site", "Organization", "{case}-org"),
           "provider_source_value": "{case}-doc"}],
         skipped=[("PractitionerRole", "{case}-role", "merged into provider (specialty, care site)")]),
]  # fmt: skip

DERIVED = [
    Case("observation_period: first to last date of the person's records", "observation_period",
         [encounter("AMB", "2020-01-01", "2020-01-03"),
          condition(DIABETES, onsetDateTime="2019-12-01"),
          observation(code(LOINC, "8302-2"), effectiveDateTime="2020-06-01",
                      valueQuantity=quantity(172, "cm"))],
         [{"observation_period_start_date": "2019-12-01",
           "observation_period_end_date": "2020-06-01", "period_type_concept_id": 32817}]),
    Case("condition_era: occurrences 30 days apart or less merge", "condition_era",
         [condition(code(SNOMED, "59621000"), suffix="-a", onsetDateTime="2020-01-01",
                    abatementDateTime="2020-01-10"),
          condition(code(SNOMED, "59621000"), suffix="-b", onsetDateTime="2020-02-05",
                    abatementDateTime="2020-02-08"),
          condition(code(SNOMED, "59621000"), suffix="-c", onsetDateTime="2020-03-10",
                    abatementDateTime="2020-03-12")],
         [{"condition_concept_id": 320128, "condition_era_start_date": "2020-01-01",
           "condition_era_end_date": "2020-02-08", "condition_occurrence_count": 2},
          {"condition_concept_id": 320128, "condition_era_start_date": "2020-03-10",
           "condition_era_end_date": "2020-03-12", "condition_occurrence_count": 1}]),
    Case("condition_era after a re-delivery without the Patient", "condition_era",
         [condition(code(SNOMED, "59621000"), suffix="-a", onsetDateTime="2020-01-01",
                    abatementDateTime="2020-01-10"),
          condition(code(SNOMED, "59621000"), suffix="-b", onsetDateTime="2020-05-01",
                    abatementDateTime="2020-05-02")],
         [{"condition_concept_id": 320128, "condition_era_start_date": "2020-01-01",
           "condition_era_end_date": "2020-02-02", "condition_occurrence_count": 2}],
         resent=[condition(code(SNOMED, "59621000"), suffix="-b", onsetDateTime="2020-02-01",
                           abatementDateTime="2020-02-02")]),
    Case("drug_era: two 30-day supplies 16 days apart, one era of the ingredient", "drug_era",
         [prescription(LISINOPRIL, "2020-01-01", suffix="-a", dispenseRequest=supply(30)),
          prescription(LISINOPRIL, "2020-02-15", suffix="-b", dispenseRequest=supply(30))],
         [{"drug_concept_id": 1308216, "drug_era_start_date": "2020-01-01",
           "drug_era_end_date": "2020-03-15", "drug_exposure_count": 2, "gap_days": 16}]),
]  # fmt: skip

CASES = [*PEOPLE, *VISITS, *CONDITIONS, *DRUGS, *PROCEDURES, *MEASUREMENTS, *OBSERVATIONS,
         *NOTES, *SITES, *DERIVED]  # fmt: skip

# records that never reach a view: (file name, line, resource type, outcome, reason)
UNVIEWED = [
    ("Goal.ndjson", json.dumps({"resourceType": "Goal", "id": "goal-1", "subject": SUBJECT}),
     "Goal", "skipped", "no view for this resource type"),
    ("Bad.ndjson", '{"resourceType": "Condition", "id": ', "(unknown)", "quarantined",
     "bad record: see the run's quarantine file"),
    ("Bad.ndjson", json.dumps({"resourceType": "Conditoin", "id": "typo"}), "Conditoin",
     "quarantined", "bad record: see the run's quarantine file"),
]  # fmt: skip
