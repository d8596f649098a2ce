"""Source rows to OMOP CDM v5.4 rows, set-based (DuckDB dialect; transpiled for Spark).

Relations read (registered on the engine by the standardise stage):
``stg_fhir__<view>`` (staging, identifiers already removed), ``int__person_map``
(provider, patient_id, person_id) and ``int__code_map`` (system, code -> source concept,
standard target concepts with their domain; several rows when a code maps to several).

Rules:
- a code maps through 'Maps to' (or a local source_to_concept_map row, which wins); the
  row goes to the table of its target concept's domain, else to its resource's default
  table; an unmapped code is kept with concept 0 and its source value;
- a row's visit is its encounter's, or the parent's when the encounter is ``partOf``
  another (the encounter is then the row's visit_detail);
- the records of a patient without a usable birth date are skipped (no person row);
- a drug's end is its explicit end, else start + days_supply - 1, else its start;
- surrogate keys are ``hh_key`` of (provider, resource type, id, part, target concept):
  deterministic, so a re-sent resource replaces its rows, and engines agree exactly;
- every row carries ``_record_key`` (the hash of its source record) so a re-delivery can
  delete the rows of the records it replaces, and the run can account for every record
  (it stays in the run's work folder and the lineage table; it is not an OMOP column).
"""

from __future__ import annotations

DOMAIN_TABLE = {
    "Condition": "condition_occurrence",
    "Drug": "drug_exposure",
    "Procedure": "procedure_occurrence",
    "Device": "device_exposure",
    "Measurement": "measurement",
    "Observation": "observation",
}
UCUM = "http://unitsofmeasure.org"
# FHIR Encounter.class (v3 ActCode) -> OMOP visit concept
VISIT_CLASS = {
    "IMP": 9201, "ACUTE": 9201, "NONAC": 9201, "AMB": 9202, "OBSENC": 9202, "PRENC": 9202,
    "SS": 9202, "FLD": 9202, "EMER": 9203, "HH": 581476, "VR": 5083,
}  # fmt: skip
GENDER = {"male": 8507, "female": 8532}
RACE = {"2106-3": 8527, "2054-5": 8516, "2028-9": 8515, "1002-5": 8657, "2076-8": 8557}
ETHNICITY = {"2135-2": 38003563, "2186-5": 38003564}
OPERATOR = {"<": 4171756, "<=": 4171754, "=": 4172703, ">": 4172704, ">=": 4171755}
EHR = 32817
UTF8 = 32678
ENGLISH = 4180186


def _case(column: str, mapping: dict[str, int], default: str = "0") -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in mapping.items())
    return f"CASE {column} {whens} ELSE {default} END"


def key(provider: str, *parts: str) -> str:
    """SQL for a surrogate key: hh_key of the hub's secret salt, the provider and the parts.

    The salt (``hh_salt()``, derived from the hub key) makes ids impossible to recompute
    from source ids outside the hub.
    """
    return f"hh_key(concat_ws('|', hh_salt(), {provider}, {', '.join(parts)}))"


def ref_key(provider: str, rtype: str, column: str) -> str:
    return f"CASE WHEN {column} IS NOT NULL THEN {key(provider, repr(rtype), column)} END"


# Patients of this delivery that get no person row (no usable birth date)
# people whose Patient (in this delivery or an earlier one) has no usable birth date
NO_BIRTH_DATE = "(SELECT patient_id AS id FROM int__person_map WHERE NOT has_birth_date)"
# This delivery's encounters: the encounter they are part of, and whether they have a
# visit_detail row of their own (the conditions of entities' visit_detail)
ENCOUNTERS = """(SELECT id, min(part_of_encounter_id) AS part_of_encounter_id,
    max(CASE WHEN (part_of_encounter_id IS NOT NULL OR location_id IS NOT NULL)
              AND coalesce(status, '') NOT IN ('entered-in-error', 'cancelled')
              AND hh_date(period_start) IS NOT NULL THEN 1 ELSE 0 END) AS has_detail
  FROM stg_fhir__encounter GROUP BY id)"""


def visit_refs(provider: str, column: str, alias: str) -> tuple[str, str, str]:
    """The join, visit_occurrence_id and visit_detail_id for the encounter id in ``column``.

    An encounter that is part of another belongs to the parent's visit; an encounter not
    in this delivery is taken as a visit of its own.
    """
    join = f"LEFT JOIN {ENCOUNTERS} {alias} ON {alias}.id = {column}"
    visit = ref_key(provider, "Encounter", f"coalesce({alias}.part_of_encounter_id, {column})")
    detail = (
        f"CASE WHEN {alias}.has_detail = 1"
        f" THEN {key(provider, repr('Encounter'), column, repr('detail'))} END"
    )
    return join, visit, detail


def source_codes_sql() -> str:
    """Every (system, code) the run needs looked up in the vocabulary."""
    return """
SELECT DISTINCT code_system AS system, code FROM int__events WHERE code IS NOT NULL
UNION SELECT DISTINCT value_system, value_code FROM int__events WHERE value_code IS NOT NULL
UNION SELECT DISTINCT 'http://unitsofmeasure.org', unit_code FROM int__events
    WHERE unit_code IS NOT NULL
UNION SELECT DISTINCT type_system, type_code FROM stg_fhir__document_reference
    WHERE type_code IS NOT NULL
UNION SELECT DISTINCT specialty_system, specialty_code FROM stg_fhir__practitioner_role
    WHERE specialty_code IS NOT NULL
UNION SELECT DISTINCT type_system, type_code FROM stg_fhir__specimen WHERE type_code IS NOT NULL
UNION SELECT DISTINCT 'http://unitsofmeasure.org', quantity_unit FROM stg_fhir__specimen
    WHERE quantity_unit IS NOT NULL
UNION SELECT DISTINCT body_site_system, body_site_code FROM stg_fhir__specimen
    WHERE body_site_code IS NOT NULL
"""


def code_map_sql(source_codes: str) -> str:
    """The code map, run where the vocabulary lives (the warehouse)."""
    return f"""
WITH src AS (
    SELECT DISTINCT s.system, s.code, coalesce(cs.vocabulary_id, s.system) AS vocabulary_id
    FROM {source_codes} s LEFT JOIN int__code_systems cs ON cs.system = s.system
    WHERE s.system IS NOT NULL AND s.code IS NOT NULL),
src_concept AS (
    SELECT src.*, c.concept_id AS source_concept_id, c.standard_concept
    FROM src LEFT JOIN concept c
      ON c.vocabulary_id = src.vocabulary_id AND c.concept_code = src.code),
local_map AS (
    SELECT DISTINCT src.system, src.code, m.target_concept_id
    FROM src JOIN source_to_concept_map m
      ON m.source_code = src.code AND m.source_vocabulary_id IN (src.vocabulary_id, src.system)
     AND m.invalid_reason IS NULL),
maps_to AS (
    SELECT sc.system, sc.code, r.concept_id_2 AS target_concept_id
    FROM src_concept sc JOIN concept_relationship r
      ON r.concept_id_1 = sc.source_concept_id AND r.relationship_id = 'Maps to'
     AND r.invalid_reason IS NULL
    UNION
    SELECT system, code, source_concept_id FROM src_concept WHERE standard_concept = 'S'),
targets AS (
    SELECT * FROM local_map
    UNION ALL
    SELECT m.* FROM maps_to m
    WHERE NOT EXISTS (SELECT 1 FROM local_map l WHERE l.system = m.system AND l.code = m.code)),
standard AS (
    SELECT t.system, t.code, c.concept_id, c.domain_id
    FROM targets t JOIN concept c ON c.concept_id = t.target_concept_id
    WHERE c.standard_concept = 'S' AND c.invalid_reason IS NULL)
SELECT sc.system, sc.code, sc.vocabulary_id,
       coalesce(sc.source_concept_id, 0) AS source_concept_id,
       coalesce(st.concept_id, 0) AS target_concept_id, st.domain_id AS target_domain_id,
       row_number() OVER (PARTITION BY sc.system, sc.code ORDER BY st.concept_id) AS target_rank
FROM src_concept sc LEFT JOIN standard st ON st.system = sc.system AND st.code = sc.code
"""


def mapped_sql(provider: str) -> str:
    """``int__mapped``: events with person, dates, concepts, target table and keys."""
    whens = " ".join(f"WHEN '{d}' THEN '{t}'" for d, t in DOMAIN_TABLE.items())
    domain_table = f"CASE m.target_domain_id {whens} ELSE e.default_table END"
    visit_join, visit, visit_detail = visit_refs(provider, "e.encounter_id", "enc")
    return f"""
SELECT e.*, pm.person_id,
    hh_date(e.start_raw) AS start_date, hh_datetime(e.start_raw) AS start_datetime,
    hh_date(e.end_raw) AS end_date, hh_datetime(e.end_raw) AS end_datetime,
    coalesce(m.source_concept_id, 0) AS source_concept_id,
    coalesce(m.target_concept_id, 0) AS concept_id,
    m.vocabulary_id, coalesce(m.target_rank, 1) AS target_rank,
    {domain_table} AS target_table,
    vm.target_concept_id AS value_concept_id,
    um.target_concept_id AS unit_concept_id,
    CASE WHEN e.skip_reason IS NOT NULL THEN e.skip_reason
         WHEN pm.person_id IS NULL THEN 'patient not received from this provider'
         WHEN nb.id IS NOT NULL THEN 'patient without a usable birth date'
         WHEN hh_date(e.start_raw) IS NULL THEN 'no usable date' END AS final_reason,
    {key(provider, "e.src_type", "e.src_id")} AS _record_key,
    {key(provider, "'Patient'", "e.patient_id")} AS _patient_key,
    {key(provider, "e.src_type", "e.src_id", "e.part", "CAST(coalesce(m.target_concept_id, 0) AS VARCHAR)")} AS row_key,
    {visit} AS visit_occurrence_id, {visit_detail} AS visit_detail_id,
    {ref_key(provider, "Practitioner", "e.practitioner_id")} AS provider_id
FROM int__events e
LEFT JOIN int__person_map pm ON pm.patient_id = e.patient_id
LEFT JOIN {NO_BIRTH_DATE} nb ON nb.id = e.patient_id
{visit_join}
LEFT JOIN int__code_map m ON m.system = e.code_system AND m.code = e.code
LEFT JOIN int__code_map vm
  ON vm.system = e.value_system AND vm.code = e.value_code AND vm.target_rank = 1
LEFT JOIN int__code_map um
  ON um.system = '{UCUM}' AND um.code = e.unit_code AND um.target_rank = 1
"""


LINEAGE = "e._record_key, e._patient_key"


def _event_table(table: str, columns: str) -> str:
    return (
        f"SELECT {columns}, {LINEAGE} FROM int__mapped e"
        f" WHERE e.target_table = '{table}' AND e.final_reason IS NULL"
    )


def event_tables() -> dict[str, str]:
    """OMOP event tables from ``int__mapped`` (each SELECT lists the v5.4 columns)."""
    end_date = (
        "coalesce(e.end_date, CASE WHEN e.days_supply > 0"
        " THEN hh_add_days(e.start_date, e.days_supply - 1) END, e.start_date)"
    )
    return {
        "condition_occurrence": _event_table(
            "condition_occurrence",
            """
            e.row_key AS condition_occurrence_id, e.person_id, e.concept_id AS condition_concept_id,
            e.start_date AS condition_start_date, e.start_datetime AS condition_start_datetime,
            e.end_date AS condition_end_date, e.end_datetime AS condition_end_datetime,
            e.type_concept_id AS condition_type_concept_id, 0 AS condition_status_concept_id,
            e.provider_id, e.visit_occurrence_id, e.visit_detail_id,
            e.code AS condition_source_value,
            e.source_concept_id AS condition_source_concept_id""",
        ),
        "drug_exposure": _event_table(
            "drug_exposure",
            f"""
            e.row_key AS drug_exposure_id, e.person_id, e.concept_id AS drug_concept_id,
            e.start_date AS drug_exposure_start_date,
            e.start_datetime AS drug_exposure_start_datetime,
            {end_date} AS drug_exposure_end_date, e.end_datetime AS drug_exposure_end_datetime,
            e.end_date AS verbatim_end_date, e.type_concept_id AS drug_type_concept_id,
            e.refills, e.quantity, e.days_supply, e.sig, 0 AS route_concept_id, e.lot_number,
            e.provider_id, e.visit_occurrence_id, e.visit_detail_id,
            e.code AS drug_source_value,
            e.source_concept_id AS drug_source_concept_id, e.route_code AS route_source_value""",
        ),
        "procedure_occurrence": _event_table(
            "procedure_occurrence",
            """
            e.row_key AS procedure_occurrence_id, e.person_id, e.concept_id AS procedure_concept_id,
            e.start_date AS procedure_date, e.start_datetime AS procedure_datetime,
            e.end_date AS procedure_end_date, e.end_datetime AS procedure_end_datetime,
            e.type_concept_id AS procedure_type_concept_id, 0 AS modifier_concept_id,
            e.provider_id, e.visit_occurrence_id, e.visit_detail_id,
            e.code AS procedure_source_value,
            e.source_concept_id AS procedure_source_concept_id""",
        ),
        "device_exposure": _event_table(
            "device_exposure",
            """
            e.row_key AS device_exposure_id, e.person_id, e.concept_id AS device_concept_id,
            e.start_date AS device_exposure_start_date,
            e.start_datetime AS device_exposure_start_datetime,
            e.end_date AS device_exposure_end_date, e.end_datetime AS device_exposure_end_datetime,
            e.type_concept_id AS device_type_concept_id, e.unique_device_id,
            e.lot_number AS production_id, e.quantity, e.provider_id, e.visit_occurrence_id,
            e.visit_detail_id,
            e.code AS device_source_value, e.source_concept_id AS device_source_concept_id""",
        ),
        "measurement": _event_table(
            "measurement",
            f"""
            e.row_key AS measurement_id, e.person_id, e.concept_id AS measurement_concept_id,
            e.start_date AS measurement_date, e.start_datetime AS measurement_datetime,
            e.type_concept_id AS measurement_type_concept_id,
            {_case("e.operator", OPERATOR, "NULL")} AS operator_concept_id,
            e.value_number AS value_as_number,
            CASE WHEN e.value_code IS NOT NULL THEN coalesce(e.value_concept_id, 0) END
                AS value_as_concept_id,
            CASE WHEN e.unit_source IS NOT NULL THEN coalesce(e.unit_concept_id, 0) END
                AS unit_concept_id,
            e.range_low, e.range_high, e.provider_id, e.visit_occurrence_id, e.visit_detail_id,
            e.code AS measurement_source_value,
            e.source_concept_id AS measurement_source_concept_id,
            e.unit_source AS unit_source_value,
            coalesce(e.value_code, CAST(e.value_number AS VARCHAR), e.value_string)
                AS value_source_value""",
        ),
        "observation": _event_table(
            "observation",
            """
            e.row_key AS observation_id, e.person_id, e.concept_id AS observation_concept_id,
            e.start_date AS observation_date, e.start_datetime AS observation_datetime,
            e.type_concept_id AS observation_type_concept_id, e.value_number AS value_as_number,
            e.value_string AS value_as_string,
            CASE WHEN e.value_code IS NOT NULL THEN coalesce(e.value_concept_id, 0) END
                AS value_as_concept_id,
            CASE WHEN e.unit_source IS NOT NULL THEN coalesce(e.unit_concept_id, 0) END
                AS unit_concept_id,
            e.provider_id, e.visit_occurrence_id, e.visit_detail_id,
            e.code AS observation_source_value,
            e.source_concept_id AS observation_source_concept_id,
            e.unit_source AS unit_source_value,
            coalesce(e.value_code, CAST(e.value_number AS VARCHAR), e.value_string)
                AS value_source_value""",
        ),
    }
