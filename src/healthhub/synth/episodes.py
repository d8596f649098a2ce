"""What happens in each kind of visit, written down with the `Recorder`'s building blocks.

One function per kind of episode planned by `timeline`: wellness visits (vital signs,
smoking status, vaccines, screening, tests), the diagnosis and follow-up of chronic
conditions (prescriptions and their renewals, monitoring tests, devices), acute episodes
in a clinic or the emergency room, hospital stays (medication given, procedures,
implants, discharge summary), laboratory sampling visits and imaging studies.
"""

from __future__ import annotations

from typing import Any

from healthhub.synth import codes
from healthhub.synth.clinical import SMOKING, SOCIAL, SURVEY, Chart, Recorder, cc
from healthhub.synth.primitives import MINUTES_PER_DAY, coding, date_text, instant, quantity
from healthhub.synth.timeline import (
    ACUTE,
    ADMISSION,
    DIAGNOSIS,
    FOLLOW_UP,
    IMAGING,
    LAB,
    SCREENING,
    WELLNESS,
    Episode,
)

_CONCLUSIONS = ("No acute abnormality.", "Findings within normal limits for age.",
                "Findings consistent with the clinical question.", "Mild degenerative changes.")  # fmt: skip
_DOSES = {key: {"dose": quantity(m.dose, m.unit)} for key, m in codes.MEDICATIONS.items()}


def _doctor(rec: Recorder, chart: Chart) -> dict[str, str]:
    refs = chart.provider.practitioner_refs
    if chart.doctor is None:
        chart.doctor = refs[int(rec.r() * len(refs))]
    return chart.doctor if rec.r() < 0.8 else refs[int(rec.r() * len(refs))]


def _immunize(rec: Recorder, chart: Chart, encounter: dict[str, str], code: codes.Code,
              minute: int) -> None:  # fmt: skip
    chart.out.append({
        "resourceType": "Immunization", "id": rec.new_id(), "status": "completed",
        "vaccineCode": cc(code), "patient": chart.subject, "encounter": encounter,
        "occurrenceDateTime": instant(minute), "primarySource": True,
    })  # fmt: skip


def _age(rec: Recorder, minute: int) -> float:
    return (minute // MINUTES_PER_DAY - rec.person.birth) / 365.25


def wellness(rec: Recorder, chart: Chart, episode: Episode) -> None:
    r = rec.r
    start = episode.start
    end = start + 20 + int(r() * 25)
    age = _age(rec, start)
    doctor = _doctor(rec, chart)
    kind = codes.WELL_CHILD if age < 18 else codes.GENERAL_EXAMINATION
    encounter = rec.encounter(chart, start, end, "AMB", kind, None, "outpatient", doctor)
    minute = start + 5
    when = instant(minute)
    lines = rec.vitals(chart, encounter, minute, True)
    if age >= 15:
        rec.observation(chart, encounter, SOCIAL, codes.SMOKING_STATUS, when,
                        SMOKING[rec.person.smoking], "valueCodeableConcept")  # fmt: skip
        if r() < 0.3:
            score = int(r() * 4) if r() < 0.8 else 3 + int(r() * 6)
            rec.observation(chart, encounter, SURVEY, codes.PAIN_SEVERITY.code, when,
                            quantity(score, "{score}"))  # fmt: skip
    lines += rec.record_allergies(chart, encounter, minute)
    obesity = rec.conditions.get("obesity")
    if obesity is not None and obesity[0] * MINUTES_PER_DAY <= minute:
        rec.known_condition(chart, encounter, "obesity", minute)
    for vaccine in episode.detail:  # type: ignore[attr-defined]
        _immunize(rec, chart, encounter, vaccine, minute + 10)
        lines.append(f"Vaccine given: {vaccine.display}.")
    lines += rec.panels(chart, encounter, minute + 12, episode.panels)
    if age >= 18 and r() < 0.3:
        rec.procedure(chart, encounter, codes.DEPRESSION_SCREENING, minute + 15, minute + 15)
    if rec.person.sex == "female" and 25 <= age <= 65 and r() < 0.3:
        rec.procedure(chart, encounter, codes.CERVICAL_SMEAR, minute + 12, minute + 15)
    if r() < 0.35:
        rec.note(chart, encounter, start, end, codes.PROGRESS_NOTE, doctor,
                 "Reason: routine examination.", lines)  # fmt: skip


def _medication_status(rec: Recorder, chronic: codes.Chronic, episode: Episode) -> str:
    if not episode.last:
        return "completed"
    if rec.conditions[chronic.key][1] >= 0 or rec.person.death >= 0:
        return "stopped"
    return "active"


def chronic_visit(rec: Recorder, chart: Chart, episode: Episode) -> None:
    r = rec.r
    chronic: codes.Chronic = episode.detail  # type: ignore[assignment]
    first = episode.kind == DIAGNOSIS
    start = episode.start
    end = start + 20 + int(r() * 20)
    doctor = _doctor(rec, chart)
    kind = codes.PROBLEM_VISIT if first else codes.FOLLOW_UP
    encounter = rec.encounter(chart, start, end, "AMB", kind, chronic.code, "outpatient", doctor)
    minute = start + 5
    lines = rec.vitals(chart, encounter, minute, False)
    condition = rec.known_condition(chart, encounter, chronic.key, minute)
    lines += rec.record_allergies(chart, encounter, minute)
    lines += rec.panels(chart, encounter, minute + 8, episode.panels)
    medications = chronic.medications
    if medications:
        given = chart.medications.get(chronic.key, 0) or 1
        if given < len(medications) and not first and r() < 0.12:
            given += 1
        chart.medications[chronic.key] = given
        status = _medication_status(rec, chronic, episode)
        for key in medications[:given]:
            name = rec.prescribe(chart, encounter, minute + 15, key, status, condition, doctor)
            lines.append(f"Prescribed: {name}.")
    if first and chronic.key == "diabetes" and r() < 0.7:
        _device(rec, chart, codes.BLOOD_GLUCOSE_METER, minute + 16)
    elif first and chronic.key in ("copd", "asthma") and r() < 0.3:
        _device(rec, chart, codes.HOME_NEBULIZER, minute + 16)
    if not first and r() < 0.3:
        rec.procedure(chart, encounter, codes.CHRONIC_FOLLOW_UP_PROCEDURE, minute + 10, minute + 10)
    if episode.imaging:
        lines += _imaging(rec, chart, encounter, episode.imaging, minute + 12, end, condition)
    if r() < (0.7 if first else 0.35):
        title = f"Reason: {chronic.code.display}" + (
            " (new diagnosis)." if first else " follow-up."
        )
        rec.note(chart, encounter, start, end, codes.PROGRESS_NOTE, doctor, title, lines)


def acute(rec: Recorder, chart: Chart, episode: Episode) -> None:
    r = rec.r
    acute: codes.Acute = episode.detail  # type: ignore[assignment]
    emergency = acute.setting == "EMER" and chart.provider.kind == "hospital"
    start = episode.start
    end = start + (120 + int(r() * 240) if emergency else 15 + int(r() * 20))
    if emergency:
        refs = chart.provider.emergency_practitioner_refs
        doctor = refs[int(r() * len(refs))]
        encounter = rec.encounter(chart, start, end, "EMER", codes.EMERGENCY_ROOM, acute.code,
                                  "emergency", doctor)  # fmt: skip
    else:
        doctor = _doctor(rec, chart)
        encounter = rec.encounter(chart, start, end, "AMB", codes.SYMPTOM_VISIT, acute.code,
                                  "outpatient", doctor)  # fmt: skip
    minute = start + 5
    onset = max(start - int(r() * 3 * MINUTES_PER_DAY), rec.person.birth * MINUTES_PER_DAY)
    abatement = start + int(acute.days * (0.6 + 0.8 * r()) * MINUTES_PER_DAY)
    condition = rec.condition(chart, encounter, acute.code, onset, abatement, minute, False)
    lines = rec.vitals(chart, encounter, minute, False, acute.code.code in codes.FEVERISH)
    lines += rec.record_allergies(chart, encounter, minute)
    if acute.procedure is not None:
        done = minute + 10
        rec.procedure(chart, encounter, acute.procedure, done, done + (20 if emergency else 0),
                      condition)  # fmt: skip
    if episode.imaging:
        middle = start + (end - start) // 2
        lines += _imaging(rec, chart, encounter, episode.imaging, middle, end, condition)
    if acute.medications and r() < 0.75:
        key = acute.medications[int(r() * len(acute.medications))]
        status = "active" if abatement >= rec.last_minute else "completed"
        lines.append(
            f"Prescribed: {rec.prescribe(chart, encounter, end - 2, key, status, condition, doctor)}."
        )
    if emergency or r() < 0.4:
        kind = codes.EMERGENCY_NOTE if emergency else codes.PROGRESS_NOTE
        rec.note(
            chart, encounter, start, end, kind, doctor, f"Reason: {acute.code.display}.", lines
        )


def admission(rec: Recorder, chart: Chart, episode: Episode) -> None:
    r = rec.r
    stay: codes.Admission = episode.detail  # type: ignore[assignment]
    start = episode.start
    days = max(1, round(stay.days * (0.6 + 0.8 * r())))
    end = (start // MINUTES_PER_DAY + days) * MINUTES_PER_DAY + 600 + int(r() * 240)
    code = stay.code.code
    kind = codes.HOSPITAL_ADMISSION if code == "72892002" else codes.EMERGENCY_ADMISSION
    doctor = _doctor(rec, chart)
    encounter = rec.encounter(chart, start, end, "IMP", kind, stay.code, "ward", doctor)
    minute = start + 30
    if stay.requires and _chronic_code(stay.requires) == code:
        condition = rec.known_condition(chart, encounter, stay.requires, minute)
    else:
        abatement = -1
        if code in codes.RESOLVING:
            abatement = end + (90 * MINUTES_PER_DAY if code == "359817006" else 0)
        condition = rec.condition(chart, encounter, stay.code, start - int(r() * 600), abatement,
                                  minute, False)  # fmt: skip
    lines = rec.vitals(chart, encounter, minute, False, code in codes.FEVERISH)
    lines += rec.record_allergies(chart, encounter, minute)
    extra = (
        "infection"
        if code in ("233604007", "74400008")
        else "infarction"
        if code == "22298006"
        else ""
    )
    lines += rec.panels(chart, encounter, minute + 20, episode.panels, extra)
    if episode.imaging:
        lines += _imaging(rec, chart, encounter, episode.imaging, minute + 60, end, condition)
    operated = min(minute + 180 + int(r() * 600), end - 300)
    if stay.procedure is not None:
        rec.procedure(chart, encounter, stay.procedure, operated, operated + 60 + int(r() * 120),
                      condition)  # fmt: skip
        lines.append(f"Procedure: {stay.procedure.display}.")
    if stay.device is not None:
        _device(rec, chart, stay.device, operated)
    for key in stay.administrations:
        medication = codes.MEDICATIONS[key]
        for day in range(min(days, 4)):
            given = min(minute + 45 + day * MINUTES_PER_DAY, end - 60)
            chart.out.append({
                "resourceType": "MedicationAdministration", "id": rec.new_id(),
                "status": "completed", "medicationCodeableConcept": cc(medication.code),
                "subject": chart.subject, "context": encounter,
                "effectiveDateTime": instant(given), "reasonReference": [condition],
                "dosage": _DOSES[key],
            })  # fmt: skip
    title = f"Admitted for {stay.code.display}; discharged after {days} days."
    rec.note(chart, encounter, start, end, codes.DISCHARGE_SUMMARY, doctor, title, lines)


def _chronic_code(key: str) -> str:
    return next(c.code.code for c in codes.CHRONIC if c.key == key)


def sampling(rec: Recorder, chart: Chart, episode: Episode) -> None:
    start = episode.start
    end = start + 10 + int(rec.r() * 10)
    refs = chart.provider.practitioner_refs
    biologist = refs[int(rec.r() * len(refs))]
    encounter = rec.encounter(chart, start, end, "AMB", codes.SAMPLING_VISIT, None, "laboratory",
                              biologist)  # fmt: skip
    rec.panels(chart, encounter, start + 5, episode.panels)


def imaging_visit(rec: Recorder, chart: Chart, episode: Episode) -> None:
    start = episode.start
    end = start + 20 + int(rec.r() * 40)
    refs = chart.provider.practitioner_refs
    radiologist = refs[int(rec.r() * len(refs))]
    encounter = rec.encounter(chart, start, end, "AMB", codes.OUTPATIENT_PROCEDURE, None,
                              "radiology", radiologist)  # fmt: skip
    lines = _imaging(rec, chart, encounter, episode.imaging, start + 5, end, None)
    if rec.r() < 0.3:
        rec.note(chart, encounter, start, end, codes.IMAGING_REPORT, radiologist,
                 "Reason: imaging examination.", lines)  # fmt: skip


def screening(rec: Recorder, chart: Chart, episode: Episode) -> None:
    start = episode.start
    end = start + 60 + int(rec.r() * 60)
    doctor = _doctor(rec, chart)
    encounter = rec.encounter(chart, start, end, "AMB", codes.OUTPATIENT_PROCEDURE, None,
                              "outpatient", doctor)  # fmt: skip
    code: codes.Code = episode.detail  # type: ignore[assignment]
    rec.procedure(chart, encounter, code, start + 10, start + 40 + int(rec.r() * 15))
    if rec.r() < 0.5:
        rec.note(chart, encounter, start, end, codes.PROGRESS_NOTE, doctor,
                 f"Reason: screening ({code.display}).", [])  # fmt: skip


def _imaging(rec: Recorder, chart: Chart, encounter: dict[str, str], key: str, minute: int,
             until: int, reason: dict[str, str] | None) -> list[str]:  # fmt: skip
    """An ImagingStudy, its Procedure and the radiology report."""
    exam = codes.IMAGING[key]
    bits = rec.rng.getrandbits
    when = instant(minute)
    count = max(1, int(exam.instances * (0.5 + rec.r())))
    sop_class = coding(exam.sop_class)
    modality = coding(exam.modality)
    instances = [{"uid": f"2.25.{bits(120)}", "sopClass": sop_class, "number": n + 1,
                  "title": exam.procedure.display} for n in range(count)]  # fmt: skip
    study_id = rec.new_id()
    study: dict[str, Any] = {
        "resourceType": "ImagingStudy", "id": study_id,
        "identifier": [{"use": "official", "system": "urn:dicom:uid",
                        "value": f"urn:oid:2.25.{bits(120)}"}],
        "status": "available", "modality": [modality], "subject": chart.subject,
        "encounter": encounter, "started": when, "numberOfSeries": 1,
        "numberOfInstances": count, "procedureCode": [cc(exam.procedure)],
        "series": [{"uid": f"2.25.{bits(120)}", "number": 1, "modality": modality,
                    "numberOfInstances": count, "bodySite": coding(exam.body_site),
                    "started": when, "instance": instances}],
    }  # fmt: skip
    if reason is not None:
        study["reasonReference"] = [reason]
    chart.out.append(study)
    done = min(minute + 10 + count // 4, until)
    rec.procedure(chart, encounter, exam.procedure, minute, done, reason)
    conclusion = _CONCLUSIONS[int(rec.r() * len(_CONCLUSIONS))]
    chart.out.append({
        "resourceType": "DiagnosticReport", "id": rec.new_id(), "status": "final",
        "category": [cc(codes.RADIOLOGY_REPORT)], "code": cc(codes.IMAGING_REPORT),
        "subject": chart.subject, "encounter": encounter, "effectiveDateTime": when,
        "issued": instant(minute + 30), "performer": [chart.provider.organization_ref],
        "imagingStudy": [rec.link("ImagingStudy", study_id)],
        "conclusion": f"{exam.procedure.display}: {conclusion}",
    })  # fmt: skip
    return [f"{exam.procedure.display}: {conclusion}"]


def _device(rec: Recorder, chart: Chart, code: codes.Code, minute: int) -> None:
    r = rec.r
    day = minute // MINUTES_PER_DAY
    made = day - 100 - int(r() * 600)
    expires = made + 5 * 365
    identifier = f"{int(r() * 1e14):014d}"
    lot = f"{int(r() * 1e6):06d}"
    serial = f"{int(r() * 1e9):09d}"

    def short(d: int) -> str:
        return date_text(d)[2:].replace("-", "")

    chart.out.append({
        "resourceType": "Device", "id": rec.new_id(),
        "udiCarrier": [{"deviceIdentifier": identifier,
                        "carrierHRF": f"(01){identifier}(11){short(made)}(17){short(expires)}"
                                      f"(10){lot}(21){serial}"}],
        "status": "active", "distinctIdentifier": identifier,
        "manufactureDate": instant(made * MINUTES_PER_DAY + 600),
        "expirationDate": instant(expires * MINUTES_PER_DAY + 600),
        "lotNumber": lot, "serialNumber": serial,
        "deviceName": [{"name": code.display, "type": "user-friendly-name"}],
        "type": cc(code), "patient": chart.subject,
    })  # fmt: skip


RECORDERS = {
    WELLNESS: wellness,
    DIAGNOSIS: chronic_visit,
    FOLLOW_UP: chronic_visit,
    ACUTE: acute,
    ADMISSION: admission,
    LAB: sampling,
    IMAGING: imaging_visit,
    SCREENING: screening,
}


def record_history(rec: Recorder, episodes: list[Episode]) -> None:
    """Record every planned episode on the chart it was routed to."""
    charts = rec.charts
    for episode in episodes:
        RECORDERS[episode.kind](rec, charts[episode.chart], episode)
