"""The building blocks that write a person's history down as FHIR R4 resources.

A `Recorder` appends to the chart of the provider that saw the person: the Encounter,
then what happened in it (Conditions, Observations, DiagnosticReports, MedicationRequests,
Procedures, AllergyIntolerances and a short clinical note as a DocumentReference), every
fact dated inside its encounter's period and referring to the chart's Patient and to the
encounter. This is the generator's hot path: resources are plain dicts built from
constants prepared once (shared CodeableConcepts, dosages, reference ranges).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from typing import Any

from healthhub.synth import codes
from healthhub.synth.measures import Body
from healthhub.synth.people import Person
from healthhub.synth.primitives import (
    MINUTES_PER_DAY,
    codeable,
    coding,
    date_text,
    id_maker,
    instant,
    quantity,
)
from healthhub.synth.providers import Linker, Provider


@dataclass(slots=True)
class Chart:
    """What one provider records of one person."""

    provider: Provider
    patient_id: str
    subject: dict[str, str]
    name: str  # the person's name as this provider wrote it
    out: list[dict[str, Any]]
    known: dict[str, dict[str, str]] = field(default_factory=dict)  # condition key -> ref
    allergies: set[int] = field(default_factory=set)
    medications: dict[str, int] = field(default_factory=dict)  # condition key -> drugs given
    doctor: dict[str, str] | None = None  # the practitioner the person usually sees here


_CC: dict[codes.Code, dict[str, Any]] = {}


def cc(code: codes.Code) -> dict[str, Any]:
    """The shared CodeableConcept of a code."""
    found = _CC.get(code)
    if found is None:
        found = _CC[code] = codeable(code)
    return found


_CLASS = {"AMB": coding(codes.AMBULATORY), "EMER": coding(codes.EMERGENCY),
          "IMP": coding(codes.INPATIENT)}  # fmt: skip
_PERFORMER_TYPE = [cc(codes.PRIMARY_PERFORMER)]
_VITAL = [cc(codes.VITAL_SIGNS)]
_LABORATORY = [cc(codes.LABORATORY)]
SOCIAL = [cc(codes.SOCIAL_HISTORY)]
SURVEY = [cc(codes.SURVEY)]
_LAB_REPORT = [cc(codes.LAB_REPORT)]
_RAD_REPORT = [cc(codes.RADIOLOGY_REPORT)]
_NOTE_CATEGORY = [cc(codes.CLINICAL_NOTE)]
_ACTIVE, _RESOLVED, _CONFIRMED = cc(codes.ACTIVE), cc(codes.RESOLVED), cc(codes.CONFIRMED)
_DIAGNOSIS_CATEGORY = [cc(codes.ENCOUNTER_DIAGNOSIS)]
_PROBLEM_CATEGORY = [cc(codes.PROBLEM_LIST_ITEM)]
_FLAGS = {"H": [cc(codes.HIGH)], "L": [cc(codes.LOW)], "N": [cc(codes.NORMAL)]}
SMOKING = {key: cc(code) for key, code in codes.SMOKING_ANSWERS.items()}
_CHRONIC = {c.key: c for c in codes.CHRONIC}


def _lab_range(lab: codes.Lab) -> list[dict[str, Any]] | None:
    if lab.high <= lab.low:
        return None
    bounds: dict[str, Any] = {"high": quantity(lab.high, lab.unit)}
    if lab.low > 0:
        bounds = {"low": quantity(lab.low, lab.unit), **bounds}
    return [bounds]


_RANGES = {key: _lab_range(lab) for key, lab in codes.LABS.items()}


_UNIT_WORDS = {"{tbl}": "tablet", "{cap}": "capsule", "{puff}": "puff", "{vial}": "vial",
               "{application}": "application", "[IU]": "units"}  # fmt: skip
_TIMES = {1: "once a day", 2: "twice a day", 3: "three times a day", 4: "four times a day"}


def _prescription(med: codes.Medication) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dose = {"doseQuantity": quantity(med.dose, med.unit)}
    word = _UNIT_WORDS.get(med.unit, med.unit)
    if word.isalpha() and med.dose != 1 and word != "units":
        word += "s"
    if med.per_day:
        dosage = {"sequence": 1, "text": f"{med.dose:g} {word} {_TIMES[med.per_day]}",
                  "timing": {"repeat": {"frequency": med.per_day, "period": 1, "periodUnit": "d"}},
                  "asNeededBoolean": False, "doseAndRate": [dose]}  # fmt: skip
    else:
        dosage = {"sequence": 1, "text": f"{med.dose:g} {word} when needed",
                  "timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}},
                  "asNeededBoolean": True, "doseAndRate": [dose]}  # fmt: skip
    units = med.dose * max(med.per_day, 1) * med.supply_days
    dispense = {"numberOfRepeatsAllowed": 0 if med.supply_days < 30 else 3,
                "quantity": quantity(units, med.unit),
                "expectedSupplyDuration": {"value": med.supply_days, "unit": "days",
                                           "system": "http://unitsofmeasure.org", "code": "d"}}  # fmt: skip
    return [dosage], dispense


_PRESCRIPTIONS = {key: _prescription(med) for key, med in codes.MEDICATIONS.items()}


class Recorder:
    """Turns one person's planned episodes into resources on their charts."""

    def __init__(self, rng: random.Random, person: Person, charts: list[Chart],
                 conditions: dict[str, tuple[int, int]], linker: Linker) -> None:  # fmt: skip
        self.rng = rng
        self.r = rng.random
        self.new_id = id_maker(rng.getrandbits)
        self.person = person
        self.charts = charts
        self.conditions = conditions
        self.link = linker
        self.body = Body(rng, person, conditions)
        self.last_minute = person.last_day * MINUTES_PER_DAY
        self.allergies: list[tuple[int, codes.Allergy]] = []
        count = 0 if self.r() > 0.16 else 1 if self.r() < 0.7 else 2
        for _ in range(count):
            allergy = codes.ALLERGIES[int(self.r() * len(codes.ALLERGIES))]
            onset = person.birth + 365 + int(self.r() * 9 * 365)
            if allergy.category == "medication":
                onset = person.birth + int(self.r() * (person.last_day - person.birth))
            self.allergies.append((onset, allergy))

    # -- building blocks ----------------------------------------------------------------
    def encounter(self, chart: Chart, start: int, end: int, klass: str, kind: codes.Code,
                  reason: codes.Code | None, location: str,
                  practitioner: dict[str, str]) -> dict[str, str]:  # fmt: skip
        encounter_id = self.new_id()
        provider = chart.provider
        period = {"start": instant(start), "end": instant(end)}
        resource: dict[str, Any] = {
            "resourceType": "Encounter", "id": encounter_id, "status": "finished",
            "class": _CLASS[klass], "type": [cc(kind)], "subject": chart.subject,
            "participant": [{"type": _PERFORMER_TYPE, "period": period, "individual": practitioner}],
            "period": period,
        }  # fmt: skip
        if reason is not None:
            resource["reasonCode"] = [cc(reason)]
        refs = provider.location_refs
        resource["location"] = [{"location": refs.get(location) or next(iter(refs.values()))}]
        resource["serviceProvider"] = provider.organization_ref
        chart.out.append(resource)
        return self.link("Encounter", encounter_id)

    def observation(self, chart: Chart, encounter: dict[str, str], category: list[Any],
                    code: codes.Code, when: str, value: Any,
                    key: str = "valueQuantity") -> dict[str, Any]:  # fmt: skip
        resource = {
            "resourceType": "Observation", "id": self.new_id(),
            "status": "final" if self.r() >= 0.003 else "entered-in-error",
            "category": category, "code": cc(code), "subject": chart.subject,
            "encounter": encounter, "effectiveDateTime": when, "issued": when, key: value,
        }  # fmt: skip
        chart.out.append(resource)
        return resource

    def vitals(self, chart: Chart, encounter: dict[str, str], minute: int, full: bool,
               fever: bool = False) -> list[str]:  # fmt: skip
        """Vital signs for the person's age; returns a line for the note."""
        when = instant(minute)
        age = (minute // MINUTES_PER_DAY - self.person.birth) / 365.25
        height, weight, bmi = self.body.measure(age)
        obs = self.observation
        gauss = self.rng.gauss
        if full:
            obs(chart, encounter, _VITAL, codes.HEIGHT.code, when, quantity(height, "cm"))
        obs(chart, encounter, _VITAL, codes.WEIGHT.code, when, quantity(weight, "kg"))
        if full and age >= 2:
            obs(chart, encounter, _VITAL, codes.BMI.code, when, quantity(bmi, "kg/m2"))
        if full and age < 2:
            circumference = round(35 + 13 * (1 - 2.718 ** (-2.2 * age)) + gauss(0, 0.8), 1)
            obs(chart, encounter, _VITAL, codes.HEAD_CIRCUMFERENCE.code, when,
                quantity(circumference, "cm"))  # fmt: skip
        heart = round(gauss(125 if age < 2 else 95 if age < 12 else 72, 9))
        obs(chart, encounter, _VITAL, codes.HEART_RATE.code, when, quantity(heart, "/min"))
        line = f"Weight {weight} kg, heart rate {heart}/min"
        if full or fever:
            breath = round(gauss(34 if age < 2 else 22 if age < 12 else 15, 2))
            obs(
                chart,
                encounter,
                _VITAL,
                codes.RESPIRATORY_RATE.code,
                when,
                quantity(breath, "/min"),
            )
        if fever or (full and self.r() < 0.3):
            temperature = round(gauss(38.5, 0.5) if fever else gauss(36.9, 0.25), 1)
            obs(
                chart, encounter, _VITAL, codes.TEMPERATURE.code, when, quantity(temperature, "Cel")
            )
            line += f", temperature {temperature} Cel"
        if age >= 3:
            systolic, diastolic = self.body.pressure(age, minute // MINUTES_PER_DAY)
            obs(chart, encounter, _VITAL, codes.BLOOD_PRESSURE, when, [
                {"code": cc(codes.SYSTOLIC.code), "valueQuantity": quantity(systolic, "mm[Hg]")},
                {"code": cc(codes.DIASTOLIC.code), "valueQuantity": quantity(diastolic, "mm[Hg]")},
            ], "component")  # fmt: skip
            line += f", blood pressure {systolic}/{diastolic} mm[Hg]"
        return [line + "."]

    def panels(self, chart: Chart, encounter: dict[str, str], minute: int,
               keys: tuple[str, ...], extra: str = "") -> list[str]:  # fmt: skip
        """Laboratory results, with a DiagnosticReport for each panel."""
        if not keys:
            return []
        day = minute // MINUTES_PER_DAY
        effects: dict[str, tuple[float, float]] = {}
        for key, (onset, end) in self.conditions.items():
            if key in codes.LAB_EFFECTS and onset <= day and (end < 0 or day < end):
                effects.update(codes.LAB_EFFECTS[key])
        if extra:
            effects.update(codes.LAB_EFFECTS[extra])
        when = instant(minute)
        issued = instant(minute + 120 + int(self.r() * 600))
        gauss = self.rng.gauss
        lines = []
        for panel in keys:
            report_code, lab_keys = codes.PANELS[panel]
            results = []
            for key in lab_keys:
                lab = codes.LABS[key]
                mean, sd = effects.get(key, (lab.mean, lab.sd))
                value = max(gauss(mean, sd), mean * 0.2)
                value = round(value, lab.decimals) if lab.decimals else round(value)
                resource = self.observation(chart, encounter, _LABORATORY, lab.code, when,
                                            quantity(value, lab.unit))  # fmt: skip
                resource["issued"] = issued
                reference_range = _RANGES[key]
                if reference_range is not None:
                    resource["referenceRange"] = reference_range
                    flag = "H" if value > lab.high else "L" if value < lab.low else "N"
                    resource["interpretation"] = _FLAGS[flag]
                    if flag != "N":
                        lines.append(f"{lab.code.display}: {value} {lab.unit} ({flag}).")
                results.append({**self.link("Observation", resource["id"]),
                                "display": lab.code.display})  # fmt: skip
            if report_code is not None:
                chart.out.append({
                    "resourceType": "DiagnosticReport", "id": self.new_id(), "status": "final",
                    "category": _LAB_REPORT, "code": cc(report_code), "subject": chart.subject,
                    "encounter": encounter, "effectiveDateTime": when, "issued": issued,
                    "performer": [chart.provider.organization_ref], "result": results,
                })  # fmt: skip
        return lines

    def condition(self, chart: Chart, encounter: dict[str, str], code: codes.Code, onset: int,
                  end: int, recorded: int, problem: bool) -> dict[str, str]:  # fmt: skip
        condition_id = self.new_id()
        resolved = 0 <= end < self.last_minute
        resource: dict[str, Any] = {
            "resourceType": "Condition", "id": condition_id,
            "clinicalStatus": _RESOLVED if resolved else _ACTIVE,
            "verificationStatus": _CONFIRMED,
            "category": _PROBLEM_CATEGORY if problem else _DIAGNOSIS_CATEGORY,
            "code": cc(code), "subject": chart.subject, "encounter": encounter,
            "onsetDateTime": instant(onset),
        }  # fmt: skip
        if resolved:
            resource["abatementDateTime"] = instant(end)
        resource["recordedDate"] = instant(recorded)
        chart.out.append(resource)
        return self.link("Condition", condition_id)

    def prescribe(self, chart: Chart, encounter: dict[str, str], minute: int, key: str,
                  status: str, reason: dict[str, str] | None,
                  requester: dict[str, str]) -> str:  # fmt: skip
        medication = codes.MEDICATIONS[key]
        dosage, dispense = _PRESCRIPTIONS[key]
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest", "id": self.new_id(), "status": status,
            "intent": "order", "medicationCodeableConcept": cc(medication.code),
            "subject": chart.subject, "encounter": encounter, "authoredOn": instant(minute),
            "requester": requester,
        }  # fmt: skip
        if reason is not None:
            resource["reasonReference"] = [reason]
        resource["dosageInstruction"] = dosage
        resource["dispenseRequest"] = dispense
        chart.out.append(resource)
        return medication.code.display

    def procedure(self, chart: Chart, encounter: dict[str, str], code: codes.Code, start: int,
                  end: int, reason: dict[str, str] | None = None) -> None:  # fmt: skip
        resource: dict[str, Any] = {
            "resourceType": "Procedure", "id": self.new_id(), "status": "completed",
            "code": cc(code), "subject": chart.subject, "encounter": encounter,
        }  # fmt: skip
        if end > start:
            resource["performedPeriod"] = {"start": instant(start), "end": instant(end)}
        else:
            resource["performedDateTime"] = instant(start)
        if reason is not None:
            resource["reasonReference"] = [reason]
        chart.out.append(resource)

    def note(self, chart: Chart, encounter: dict[str, str], start: int, end: int,
             kind: codes.Code, author: dict[str, str], title: str, lines: list[str]) -> None:  # fmt: skip
        birth = chart.out[0]["birthDate"]
        text = "\n".join([
            f"{kind.display} - {date_text(start // MINUTES_PER_DAY)} - {chart.provider.name}",
            f"Patient: {chart.name}, born {birth}.", title, *lines,
            f"Signed: {author['display']}.",
        ])  # fmt: skip
        chart.out.append({
            "resourceType": "DocumentReference", "id": self.new_id(), "status": "current",
            "type": cc(kind), "category": _NOTE_CATEGORY, "subject": chart.subject,
            "date": instant(end), "author": [author],
            "custodian": chart.provider.organization_ref,
            "content": [{"attachment": {
                "contentType": "text/plain; charset=utf-8", "language": "en",
                "data": base64.b64encode(text.encode()).decode("ascii"),
                "title": kind.display}}],
            "context": {"encounter": [encounter],
                        "period": {"start": instant(start), "end": instant(end)}},
        })  # fmt: skip

    def known_condition(self, chart: Chart, encounter: dict[str, str], key: str,
                        minute: int) -> dict[str, str]:  # fmt: skip
        """The chart's Condition for a chronic condition, recorded on first mention."""
        found = chart.known.get(key)
        if found is None:
            onset, end = self.conditions[key]
            code = codes.OBESITY if key == "obesity" else _CHRONIC[key].code
            onset_minute = min(onset * MINUTES_PER_DAY + 600, minute)
            end_minute = end * MINUTES_PER_DAY + 600 if end >= 0 else -1
            found = self.condition(chart, encounter, code, onset_minute, end_minute, minute, True)
            chart.known[key] = found
        return found

    def record_allergies(self, chart: Chart, encounter: dict[str, str], minute: int) -> list[str]:
        lines = []
        day = minute // MINUTES_PER_DAY
        for number, (onset, allergy) in enumerate(self.allergies):
            if (
                onset > day
                or number in chart.allergies
                or chart.provider.kind not in ("hospital", "clinic")
            ):
                continue
            chart.allergies.add(number)
            chart.out.append({
                "resourceType": "AllergyIntolerance", "id": self.new_id(),
                "clinicalStatus": cc(codes.ALLERGY_ACTIVE),
                "verificationStatus": cc(codes.ALLERGY_CONFIRMED), "type": "allergy",
                "category": [allergy.category],
                "criticality": "high" if allergy.reactions[0].code == "39579001" else "low",
                "code": cc(allergy.code), "patient": chart.subject, "encounter": encounter,
                "onsetDateTime": instant(min(onset * MINUTES_PER_DAY + 600, minute)),
                "recordedDate": instant(minute),
                "reaction": [{"manifestation": [cc(reaction)], "severity": "mild"}
                             for reaction in allergy.reactions],
            })  # fmt: skip
            lines.append(f"Known allergy: {allergy.code.display}.")
        return lines
