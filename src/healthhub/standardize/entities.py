"""OMOP rows that come one-to-one from a FHIR resource: people, visits, sites, notes.

Same conventions as ``mapping``: DuckDB-dialect SELECTs over the staging relations, keys
from ``hh_key``, and the lineage column ``_record_key`` (the hash of the source record).
"""

from __future__ import annotations

from healthhub.standardize.mapping import (
    EHR,
    ENGLISH,
    ETHNICITY,
    GENDER,
    NO_BIRTH_DATE,
    RACE,
    UCUM,
    UTF8,
    VISIT_CLASS,
    _case,
    key,
    ref_key,
    visit_refs,
)


def _lineage(provider: str, rtype: str, alias: str = "s", id_column: str = "id",
             patient: str | None = None) -> str:  # fmt: skip
    """The record key of the source record, and of its source Patient when it has one
    (how the warehouse finds a source patient's rows when they move to another person)."""
    ident = f"{alias}.{id_column}"
    lineage = f"{key(provider, repr(rtype), ident)} AS _record_key"
    if patient is not None:
        lineage += f", {key(provider, repr('Patient'), patient)} AS _patient_key"
    return lineage


def _concept(system: str, code: str, alias: str) -> str:
    """A first-target join on the code map."""
    return (
        f"LEFT JOIN int__code_map {alias} ON {alias}.system = {system}"
        f" AND {alias}.code = {code} AND {alias}.target_rank = 1"
    )


ENCOUNTER_SKIP = (
    "CASE s.status WHEN 'entered-in-error' THEN 'status entered-in-error'"
    " WHEN 'cancelled' THEN 'status cancelled' END"
)


def entity_tables(provider: str, birth_precision: str) -> dict[str, str]:
    """OMOP tables filled from one resource each (plus person's coarse location)."""
    p = provider
    # as much of the birth date as the hub keeps and the source gives ('1975' has no month)
    month = "month(b.d)" if birth_precision in ("month", "day") else "NULL"
    month = f"CASE WHEN length(s.birth_date) >= 7 THEN {month} END"
    day = "day(b.d)" if birth_precision == "day" else "NULL"
    day = f"CASE WHEN length(s.birth_date) >= 10 THEN {day} END"
    birth_datetime = "CAST(b.d AS TIMESTAMP)" if birth_precision == "day" else "NULL"
    birth_datetime = f"CASE WHEN length(s.birth_date) >= 10 THEN {birth_datetime} END"
    # a patient without a usable birth date has no person row, so nothing of theirs is kept
    has_person = f"LEFT JOIN {NO_BIRTH_DATE} nb ON nb.id = s.patient_id"
    note_visit_join, note_visit, note_visit_detail = visit_refs(p, "s.encounter_id", "enc")
    region = key(p, "'region'", "s.state")
    person_location = f"CASE WHEN s.state IS NOT NULL THEN {region} END"
    return {
        "person": f"""
SELECT pm.person_id, {_case("s.gender", GENDER)} AS gender_concept_id,
    year(b.d) AS year_of_birth, {month} AS month_of_birth, {day} AS day_of_birth,
    {birth_datetime} AS birth_datetime,
    {_case("s.race_code", RACE)} AS race_concept_id,
    {_case("s.ethnicity_code", ETHNICITY)} AS ethnicity_concept_id,
    {person_location} AS location_id,
    {ref_key(p, "Practitioner", "s.general_practitioner_id")} AS provider_id,
    {ref_key(p, "Organization", "s.managing_organization_id")} AS care_site_id,
    s.gender AS gender_source_value, 0 AS gender_source_concept_id,
    s.race_code AS race_source_value, 0 AS race_source_concept_id,
    s.ethnicity_code AS ethnicity_source_value, 0 AS ethnicity_source_concept_id,
    {_lineage(p, "Patient", patient="s.id")}
FROM stg_fhir__patient s
JOIN int__person_map pm ON pm.patient_id = s.id
CROSS JOIN LATERAL (SELECT hh_date(s.birth_date) AS d) b
WHERE b.d IS NOT NULL""",
        "death": f"""
SELECT pm.person_id, hh_date(s.deceased_date_time) AS death_date,
    hh_datetime(s.deceased_date_time) AS death_datetime, {EHR} AS death_type_concept_id,
    0 AS cause_concept_id, {_lineage(p, "Patient", patient="s.id")}
FROM stg_fhir__patient s JOIN int__person_map pm ON pm.patient_id = s.id
WHERE hh_date(s.deceased_date_time) IS NOT NULL AND hh_date(s.birth_date) IS NOT NULL""",
        "visit_occurrence": f"""
SELECT {key(p, "'Encounter'", "s.id")} AS visit_occurrence_id, pm.person_id,
    {_case("s.class_code", VISIT_CLASS)} AS visit_concept_id,
    hh_date(s.period_start) AS visit_start_date,
    hh_datetime(s.period_start) AS visit_start_datetime,
    coalesce(hh_date(s.period_end), hh_date(s.period_start)) AS visit_end_date,
    coalesce(hh_datetime(s.period_end), hh_datetime(s.period_start)) AS visit_end_datetime,
    {EHR} AS visit_type_concept_id,
    {ref_key(p, "Practitioner", "s.practitioner_id")} AS provider_id,
    {ref_key(p, "Organization", "s.service_provider_id")} AS care_site_id,
    coalesce(s.type_code, s.class_code) AS visit_source_value, 0 AS visit_source_concept_id,
    0 AS admitted_from_concept_id, s.admit_source_code AS admitted_from_source_value,
    0 AS discharged_to_concept_id, s.discharge_disposition_code AS discharged_to_source_value,
    {_lineage(p, "Encounter", patient="s.patient_id")}
FROM stg_fhir__encounter s JOIN int__person_map pm ON pm.patient_id = s.patient_id
{has_person}
WHERE {ENCOUNTER_SKIP} IS NULL AND hh_date(s.period_start) IS NOT NULL AND nb.id IS NULL
  AND s.part_of_encounter_id IS NULL""",
        "visit_detail": f"""
SELECT {key(p, "'Encounter'", "s.id", "'detail'")} AS visit_detail_id, pm.person_id,
    {_case("s.class_code", VISIT_CLASS)} AS visit_detail_concept_id,
    hh_date(s.period_start) AS visit_detail_start_date,
    hh_datetime(s.period_start) AS visit_detail_start_datetime,
    coalesce(hh_date(s.period_end), hh_date(s.period_start)) AS visit_detail_end_date,
    coalesce(hh_datetime(s.period_end), hh_datetime(s.period_start)) AS visit_detail_end_datetime,
    {EHR} AS visit_detail_type_concept_id,
    {ref_key(p, "Practitioner", "s.practitioner_id")} AS provider_id,
    coalesce({ref_key(p, "Location", "s.location_id")},
             {ref_key(p, "Organization", "s.service_provider_id")}) AS care_site_id,
    coalesce(s.type_code, s.class_code) AS visit_detail_source_value,
    0 AS visit_detail_source_concept_id, 0 AS admitted_from_concept_id,
    0 AS discharged_to_concept_id,
    {key(p, "'Encounter'", "coalesce(s.part_of_encounter_id, s.id)")} AS visit_occurrence_id,
    {_lineage(p, "Encounter", patient="s.patient_id")}
FROM stg_fhir__encounter s JOIN int__person_map pm ON pm.patient_id = s.patient_id
{has_person}
WHERE {ENCOUNTER_SKIP} IS NULL AND hh_date(s.period_start) IS NOT NULL AND nb.id IS NULL
  AND (s.part_of_encounter_id IS NOT NULL OR s.location_id IS NOT NULL)""",
        "care_site": f"""
SELECT {key(p, "'Organization'", "s.id")} AS care_site_id, s.name AS care_site_name,
    0 AS place_of_service_concept_id,
    CASE WHEN coalesce(s.address_line, s.city, s.postal_code) IS NOT NULL
         THEN {key(p, "'Organization'", "s.id", "'address'")} END AS location_id,
    s.id AS care_site_source_value, s.type_code AS place_of_service_source_value,
    {_lineage(p, "Organization")}
FROM stg_fhir__organization s
UNION ALL
SELECT {key(p, "'Location'", "s.id")}, s.name, 0, {key(p, "'Location'", "s.id")}, s.id,
    s.type_code, {_lineage(p, "Location")}
FROM stg_fhir__location s""",
        "location": f"""
SELECT {key(p, "'Location'", "s.id")} AS location_id, s.address_line AS address_1,
    CAST(NULL AS VARCHAR) AS address_2, s.city, s.state, s.postal_code AS zip,
    CAST(NULL AS VARCHAR) AS county, s.id AS location_source_value, 0 AS country_concept_id,
    s.country AS country_source_value, s.latitude, s.longitude, {_lineage(p, "Location")}
FROM stg_fhir__location s
UNION ALL
SELECT {key(p, "'Organization'", "s.id", "'address'")}, s.address_line, NULL, s.city, s.state,
    s.postal_code, NULL, s.id, 0, s.country, NULL, NULL, {_lineage(p, "Organization")}
FROM stg_fhir__organization s WHERE coalesce(s.address_line, s.city, s.postal_code) IS NOT NULL
UNION ALL
SELECT DISTINCT {key(p, "'region'", "s.state")}, NULL, NULL, NULL, s.state, NULL, NULL,
    NULL, 0, NULL, NULL, NULL, {key(p, "'region'", "s.state")}
FROM stg_fhir__patient s WHERE s.state IS NOT NULL""",
        "provider": f"""
SELECT {key(p, "'Practitioner'", "s.id")} AS provider_id,
    trim(concat_ws(' ', s.prefix, s.given, s.family)) AS provider_name, s.npi,
    coalesce(sp.target_concept_id, 0) AS specialty_concept_id,
    {ref_key(p, "Organization", "r.organization_id")} AS care_site_id,
    {_case("s.gender", GENDER)} AS gender_concept_id, s.id AS provider_source_value,
    r.specialty_code AS specialty_source_value,
    coalesce(sp.source_concept_id, 0) AS specialty_source_concept_id,
    s.gender AS gender_source_value, 0 AS gender_source_concept_id,
    {_lineage(p, "Practitioner")}
FROM stg_fhir__practitioner s
LEFT JOIN (SELECT practitioner_id, min(organization_id) AS organization_id,
                  min(specialty_system) AS specialty_system, min(specialty_code) AS specialty_code
           FROM stg_fhir__practitioner_role GROUP BY practitioner_id) r
  ON r.practitioner_id = s.id
{_concept("r.specialty_system", "r.specialty_code", "sp")}""",
        "note": f"""
SELECT {key(p, "'DocumentReference'", "s.id")} AS note_id, pm.person_id,
    coalesce(hh_date(s.date), hh_date(s.context_period_start)) AS note_date,
    coalesce(hh_datetime(s.date), hh_datetime(s.context_period_start)) AS note_datetime,
    {EHR} AS note_type_concept_id, coalesce(nc.target_concept_id, 0) AS note_class_concept_id,
    s.content_title AS note_title, s.content_text AS note_text,
    {UTF8} AS encoding_concept_id,
    CASE WHEN s.content_language LIKE 'en%' THEN {ENGLISH} ELSE 0 END AS language_concept_id,
    {ref_key(p, "Practitioner", "s.author_id")} AS provider_id,
    {note_visit} AS visit_occurrence_id, {note_visit_detail} AS visit_detail_id,
    s.type_code AS note_source_value,
    {_lineage(p, "DocumentReference", patient="s.patient_id")}
FROM stg_fhir__document_reference s
JOIN int__person_map pm ON pm.patient_id = s.patient_id
{has_person}
{note_visit_join}
{_concept("s.type_system", "s.type_code", "nc")}
WHERE coalesce(s.status, '') <> 'entered-in-error' AND s.content_text IS NOT NULL AND nb.id IS NULL
  AND coalesce(hh_date(s.date), hh_date(s.context_period_start)) IS NOT NULL""",
        "specimen": f"""
SELECT {key(p, "'Specimen'", "s.id")} AS specimen_id, pm.person_id,
    coalesce(st.target_concept_id, 0) AS specimen_concept_id,
    {EHR} AS specimen_type_concept_id,
    hh_date(coalesce(s.collected_date_time, s.collected_period_start, s.received_time))
        AS specimen_date,
    hh_datetime(coalesce(s.collected_date_time, s.collected_period_start, s.received_time))
        AS specimen_datetime,
    s.quantity,
    CASE WHEN s.quantity_unit IS NOT NULL THEN coalesce(su.target_concept_id, 0) END
        AS unit_concept_id,
    coalesce(bs.target_concept_id, 0) AS anatomic_site_concept_id,
    0 AS disease_status_concept_id, s.type_code AS specimen_source_value,
    s.quantity_unit AS unit_source_value, s.body_site_code AS anatomic_site_source_value,
    {_lineage(p, "Specimen", patient="s.patient_id")}
FROM stg_fhir__specimen s JOIN int__person_map pm ON pm.patient_id = s.patient_id
{has_person}
{_concept("s.type_system", "s.type_code", "st")}
{_concept("s.body_site_system", "s.body_site_code", "bs")}
{_concept(f"'{UCUM}'", "s.quantity_unit", "su")}
WHERE coalesce(s.status, '') <> 'entered-in-error' AND nb.id IS NULL
  AND hh_date(coalesce(s.collected_date_time, s.collected_period_start, s.received_time))
      IS NOT NULL""",
    }


# the person-level reasons a record with patient_id ``s.patient_id`` writes no row
PERSON_SKIP = (
    "WHEN NOT EXISTS (SELECT 1 FROM int__person_map pm WHERE pm.patient_id = s.patient_id)"
    " THEN 'patient not received from this provider'"
    f" WHEN s.patient_id IN {NO_BIRTH_DATE} THEN 'patient without a usable birth date'"
)


def resources_sql(provider: str) -> str:
    """One row per received resource of a mapped type: its type, record key and the reason
    it is skipped when it writes no row."""
    rows = [
        "SELECT 'Patient' AS src_type, id AS src_id, CASE WHEN hh_date(birth_date) IS NULL"
        " THEN 'no usable birth date' END AS reason FROM stg_fhir__patient",
        f"SELECT 'Encounter', id, coalesce({ENCOUNTER_SKIP}, CASE WHEN hh_date(s.period_start)"
        " IS NULL THEN 'no usable date' WHEN NOT EXISTS (SELECT 1 FROM int__person_map pm WHERE"
        " pm.patient_id = s.patient_id) THEN 'patient not received from this provider'"
        f" WHEN s.patient_id IN {NO_BIRTH_DATE} THEN 'patient without a usable birth date' END)"
        " FROM stg_fhir__encounter s",
        "SELECT 'Organization', id, NULL FROM stg_fhir__organization",
        "SELECT 'Location', id, NULL FROM stg_fhir__location",
        "SELECT 'Practitioner', id, NULL FROM stg_fhir__practitioner",
        "SELECT 'PractitionerRole', id, 'merged into provider (specialty, care site)'"
        " FROM stg_fhir__practitioner_role",
        "SELECT 'QuestionnaireResponse', id, 'no answered question' FROM"
        " stg_fhir__questionnaire_response",
        "SELECT 'DocumentReference', id, CASE WHEN s.status = 'entered-in-error' THEN"
        f" 'status entered-in-error' WHEN s.content_text IS NULL THEN 'no text content' {PERSON_SKIP}"
        " WHEN coalesce(hh_date(s.date), hh_date(s.context_period_start)) IS NULL THEN"
        " 'no usable date' END FROM stg_fhir__document_reference s",
        "SELECT 'Specimen', id, CASE WHEN s.status = 'entered-in-error' THEN"
        f" 'status entered-in-error' {PERSON_SKIP} WHEN hh_date(coalesce(s.collected_date_time,"
        " s.collected_period_start, s.received_time)) IS NULL THEN 'no usable date' END"
        " FROM stg_fhir__specimen s",
        "SELECT 'DiagnosticReport', id, 'report: its results are mapped from their"
        " Observations' FROM stg_fhir__diagnostic_report",
    ]
    keyed = "\nUNION ALL\n".join(rows)
    return (
        f"SELECT src_type, {key(provider, 'src_type', 'src_id')} AS _record_key, reason"
        f" FROM ({keyed})\nUNION ALL\n"
        "SELECT src_type, _record_key, min(final_reason) FROM int__mapped"
        " GROUP BY src_type, _record_key"
    )


def accounting_sql(resources: str, written: str) -> str:
    """Per resource type and outcome, how many records; ``written`` lists record keys."""
    return f"""
SELECT r.src_type AS resource_type,
    CASE WHEN w._record_key IS NOT NULL THEN 'written' ELSE 'skipped' END AS outcome,
    CASE WHEN w._record_key IS NOT NULL THEN NULL
         ELSE coalesce(r.reason, 'no OMOP table for this record') END AS reason,
    count(*) AS records
FROM (SELECT src_type, _record_key, min(reason) AS reason FROM {resources}
      GROUP BY src_type, _record_key) r
LEFT JOIN (SELECT DISTINCT _record_key FROM {written}) w ON w._record_key = r._record_key
GROUP BY 1, 2, 3
"""
