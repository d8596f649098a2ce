"""Clinical events: every flattened clinical row in one shape, before vocabulary mapping.

Each FHIR view that carries clinical facts contributes one SELECT to ``int__events``,
written as data below (event column -> SQL over the staging relation ``stg_fhir__<view>``).
One event is one future OMOP row (before a code maps to several concepts). The event
keeps where it came from (resource type, id, part), the table it goes to when its code
does not decide (``default_table``), and why it must be skipped (``skip_reason``), so
every received record can be accounted for.
"""

from __future__ import annotations

from dataclasses import dataclass

# (name, DuckDB type) of every event column, in order
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("src_type", "VARCHAR"), ("src_id", "VARCHAR"), ("part", "VARCHAR"),
    ("patient_id", "VARCHAR"), ("encounter_id", "VARCHAR"),
    ("code_system", "VARCHAR"), ("code", "VARCHAR"),
    ("start_raw", "VARCHAR"), ("end_raw", "VARCHAR"),
    ("default_table", "VARCHAR"), ("type_concept_id", "INTEGER"), ("skip_reason", "VARCHAR"),
    ("value_number", "DOUBLE"), ("unit_code", "VARCHAR"), ("unit_source", "VARCHAR"),
    ("value_system", "VARCHAR"), ("value_code", "VARCHAR"), ("value_string", "VARCHAR"),
    ("range_low", "DOUBLE"), ("range_high", "DOUBLE"), ("operator", "VARCHAR"),
    ("quantity", "DOUBLE"), ("days_supply", "INTEGER"), ("refills", "INTEGER"),
    ("route_code", "VARCHAR"), ("sig", "VARCHAR"), ("lot_number", "VARCHAR"),
    ("practitioner_id", "VARCHAR"), ("unique_device_id", "VARCHAR"),
)  # fmt: skip

# OMOP type concepts (where a record came from)
EHR = 32817
EHR_ADMINISTRATION = 32818
EHR_PRESCRIPTION = 32838
PATIENT_SELF_REPORT = 32865


def status_skip(column: str, reasons: dict[str, str]) -> str:
    """A CASE giving the skip reason for the listed status values (else NULL)."""
    whens = " ".join(f"WHEN {column} = '{value}' THEN '{why}'" for value, why in reasons.items())
    return f"CASE {whens} END"


ERROR = {"entered-in-error": "status entered-in-error"}
NOT_DONE = {**ERROR, "not-done": "status not-done"}


@dataclass(frozen=True)
class EventSource:
    view: str
    resource: str
    columns: dict[str, str]  # event column -> SQL over alias s (the staging row)
    joins: str = ""

    def select(self, provider_literal: str) -> str:
        defaults = {"src_type": f"'{self.resource}'", "part": "''"}
        items = []
        for name, sql_type in EVENT_COLUMNS:
            expr = self.columns.get(name, defaults.get(name, "NULL"))
            items.append(f"CAST({expr} AS {sql_type}) AS {name}")
        return (
            f"SELECT {provider_literal} AS provider, {', '.join(items)}"
            f" FROM stg_fhir__{self.view} s {self.joins}"
        )


def _values(prefix: str) -> dict[str, str]:
    """Value columns shared by observation and its components."""
    return {
        "value_number": f"coalesce(s.{prefix}value_quantity, CAST(s.{prefix}value_integer AS DOUBLE))",
        "unit_code": f"s.{prefix}value_quantity_code",
        "unit_source": f"coalesce(s.{prefix}value_quantity_code, s.{prefix}value_quantity_unit)",
        "value_system": f"s.{prefix}value_codeable_concept_system",
        "value_code": f"s.{prefix}value_codeable_concept_code",
        "value_string": (
            f"coalesce(s.{prefix}value_string, CAST(s.{prefix}value_boolean AS VARCHAR),"
            f" s.{prefix}value_codeable_concept_text,"
            f" s.{prefix}value_date_time, s.{prefix}value_time)"
        ),
        "range_low": f"s.{prefix}reference_range_low",
        "range_high": f"s.{prefix}reference_range_high",
        "operator": f"s.{prefix}value_quantity_comparator",
        "default_table": (
            f"CASE WHEN s.{prefix}value_quantity IS NOT NULL OR s.{prefix}value_integer IS NOT NULL"
            " THEN 'measurement' ELSE 'observation' END"
        ),
    }


OBSERVATION_SKIP = {**ERROR, "cancelled": "status cancelled"}

EVENT_SOURCES: tuple[EventSource, ...] = (
    EventSource("condition", "Condition", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.code_system", "code": "s.code",
        "start_raw": "coalesce(s.onset_date_time, s.onset_period_start, s.recorded_date)",
        "end_raw": "coalesce(s.abatement_date_time, s.abatement_period_end)",
        "default_table": "'condition_occurrence'", "type_concept_id": str(EHR),
        "skip_reason": status_skip("s.verification_status",
                                   {**ERROR, "refuted": "verification status refuted"}),
        "practitioner_id": "s.asserter_id",
    }),
    EventSource("observation", "Observation", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.code_system", "code": "s.code",
        "start_raw": "coalesce(s.effective_date_time, s.effective_period_start, s.effective_instant,"
                     " s.issued)",
        "end_raw": "s.effective_period_end", "type_concept_id": str(EHR),
        "skip_reason": "coalesce(" + status_skip("s.status", OBSERVATION_SKIP) + ", CASE WHEN"
                       " s.component_count > 0 AND s.value_quantity IS NULL AND s.value_string IS"
                       " NULL AND s.value_codeable_concept_code IS NULL AND s.value_integer IS NULL"
                       " AND s.value_boolean IS NULL THEN 'panel without a value of its own:"
                       " its components are mapped' END)",
        **_values(""),
        "practitioner_id": "s.performer_id",
    }),
    EventSource("observation_component", "Observation", {
        "src_id": "s.observation_id", "part": "'component ' || CAST(s.component_index AS VARCHAR)",
        "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.code_system", "code": "s.code",
        "start_raw": "coalesce(o.effective_date_time, o.effective_period_start, o.effective_instant,"
                     " o.issued)",
        "end_raw": "o.effective_period_end", "type_concept_id": str(EHR),
        "skip_reason": status_skip("o.status", OBSERVATION_SKIP),
        **_values(""),
    }, joins="LEFT JOIN stg_fhir__observation o ON o.id = s.observation_id"),
    EventSource("procedure", "Procedure", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.code_system", "code": "s.code",
        "start_raw": "coalesce(s.performed_date_time, s.performed_period_start)",
        "end_raw": "s.performed_period_end", "default_table": "'procedure_occurrence'",
        "type_concept_id": str(EHR), "skip_reason": status_skip("s.status", NOT_DONE),
        "practitioner_id": "s.performer_id",
    }),
    EventSource("medication_request", "MedicationRequest", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.medication_system", "code": "s.medication_code",
        "start_raw": "s.authored_on",  # validityPeriod is when it may be filled, not taken
        "default_table": "'drug_exposure'", "type_concept_id": str(EHR_PRESCRIPTION),
        "skip_reason": "coalesce(" + status_skip("s.status", {**ERROR, "cancelled": "status cancelled"})
                       + ", CASE WHEN s.do_not_perform THEN 'do not perform' END)",
        "quantity": "s.dispense_quantity",
        "days_supply": "CASE WHEN s.dispense_supply_duration_unit IN ('d', 'day', 'days')"
                       " THEN s.dispense_supply_duration END",
        "refills": "s.dispense_repeats_allowed", "route_code": "s.dosage_route_code",
        "sig": "s.dosage_text", "practitioner_id": "s.requester_id",
    }),
    EventSource("medication_administration", "MedicationAdministration", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.medication_system", "code": "s.medication_code",
        "start_raw": "coalesce(s.effective_date_time, s.effective_period_start)",
        "end_raw": "s.effective_period_end", "default_table": "'drug_exposure'",
        "type_concept_id": str(EHR_ADMINISTRATION), "skip_reason": status_skip("s.status", NOT_DONE),
        "quantity": "s.dose_quantity", "route_code": "s.dosage_route_code", "sig": "s.dosage_text",
        "practitioner_id": "s.performer_id",
    }),
    EventSource("medication_statement", "MedicationStatement", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.medication_system", "code": "s.medication_code",
        "start_raw": "coalesce(s.effective_date_time, s.effective_period_start, s.date_asserted)",
        "end_raw": "s.effective_period_end", "default_table": "'drug_exposure'",
        "type_concept_id": str(PATIENT_SELF_REPORT),
        "skip_reason": status_skip("s.status", {**ERROR, "not-taken": "status not-taken"}),
        "quantity": "s.dose_quantity", "route_code": "s.dosage_route_code", "sig": "s.dosage_text",
    }),
    EventSource("immunization", "Immunization", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.vaccine_system", "code": "s.vaccine_code",
        "start_raw": "coalesce(s.occurrence_date_time, s.recorded)",
        "default_table": "'drug_exposure'",
        "type_concept_id": f"CASE WHEN s.primary_source = false THEN {PATIENT_SELF_REPORT}"
                           f" ELSE {EHR_ADMINISTRATION} END",
        "skip_reason": status_skip("s.status", NOT_DONE),
        "quantity": "s.dose_quantity", "route_code": "s.route_code", "lot_number": "s.lot_number",
        "practitioner_id": "s.performer_id",
    }),
    EventSource("allergy_intolerance", "AllergyIntolerance", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.code_system", "code": "s.code",
        "start_raw": "coalesce(s.onset_date_time, s.onset_period_start, s.recorded_date)",
        "default_table": "'observation'", "type_concept_id": str(EHR),
        "skip_reason": status_skip("s.verification_status",
                                   {**ERROR, "refuted": "verification status refuted"}),
        "value_system": "s.reaction_manifestation_system",
        "value_code": "s.reaction_manifestation_code",
        "practitioner_id": "s.asserter_id",
    }),
    EventSource("device", "Device", {
        "src_id": "s.id", "patient_id": "s.patient_id",
        "code_system": "s.type_system", "code": "s.type_code",
        "start_raw": "s.manufacture_date", "end_raw": "s.expiration_date",
        "default_table": "'device_exposure'", "type_concept_id": str(EHR),
        "skip_reason": "coalesce(" + status_skip("s.status", ERROR) + ", CASE WHEN s.patient_id"
                       " IS NULL THEN 'device not attached to a patient' END)",
        "unique_device_id": "s.udi_device_identifier", "lot_number": "s.lot_number",
    }),
    EventSource("imaging_study", "ImagingStudy", {
        "src_id": "s.id", "patient_id": "s.patient_id", "encounter_id": "s.encounter_id",
        "code_system": "s.procedure_system", "code": "s.procedure_code",
        "start_raw": "s.started", "default_table": "'procedure_occurrence'",
        "type_concept_id": str(EHR),
        "skip_reason": "coalesce(" + status_skip("s.status", {**ERROR, "cancelled": "status cancelled"})
                       + ", CASE WHEN s.procedure_code IS NULL THEN 'imaging study without a"
                       " procedure code' END)",
        "practitioner_id": "s.referrer_id",
    }),
    EventSource("questionnaire_response_item", "QuestionnaireResponse", {
        "src_id": "s.questionnaire_response_id",
        "part": "'item ' || CAST(s.item_index AS VARCHAR) || '.' || coalesce(CAST(s.answer_index AS VARCHAR), '')",
        "patient_id": "s.patient_id", "encounter_id": "q.encounter_id",
        "code_system": "s.questionnaire", "code": "s.link_id",
        "start_raw": "q.authored", "default_table": "'observation'", "type_concept_id": str(PATIENT_SELF_REPORT),
        "skip_reason": "coalesce(" + status_skip("q.status", {**ERROR, "in-progress": "status in-progress"})
                       + ", CASE WHEN s.answer_index IS NULL THEN 'question without an answer' END)",
        "value_number": "coalesce(s.value_decimal, CAST(s.value_integer AS DOUBLE), s.value_quantity)",
        "unit_source": "s.value_quantity_unit", "value_system": "s.value_coding_system",
        "value_code": "s.value_coding_code",
        "value_string": "coalesce(s.value_string, CAST(s.value_boolean AS VARCHAR), s.value_date,"
                        " s.value_date_time, s.value_time, s.value_uri)",
    }, joins="LEFT JOIN stg_fhir__questionnaire_response q ON q.id = s.questionnaire_response_id"),
)  # fmt: skip


def events_sql(provider_literal: str) -> str:
    """``int__events``: the union of every event source (DuckDB dialect)."""
    return "\nUNION ALL\n".join(src.select(provider_literal) for src in EVENT_SOURCES)
