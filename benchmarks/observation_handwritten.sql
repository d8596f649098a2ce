-- Hand-written DuckDB equivalent of the shipped Observation view (views/observation.json),
-- for benchmarks/fhir_flatten.py: {files} is replaced with a DuckDB list of NDJSON paths.
-- References are read as "Type/id" or "urn:uuid:id" (no absolute URLs); single-valued
-- columns take the first value instead of checking.
SELECT
    id,
    CASE
        WHEN starts_with(subject.reference, 'Patient/') THEN nullif(split_part(subject.reference, '/', 2), '')
        WHEN starts_with(subject.reference, 'urn:uuid:') THEN substr(subject.reference, 10)
    END AS patient_id,
    CASE
        WHEN starts_with(encounter.reference, 'Encounter/') THEN nullif(split_part(encounter.reference, '/', 2), '')
        WHEN starts_with(encounter.reference, 'urn:uuid:') THEN substr(encounter.reference, 10)
    END AS encounter_id,
    status,
    list_filter(
        flatten(list_transform(category, lambda c: c.coding)),
        lambda c: c.system = 'http://terminology.hl7.org/CodeSystem/observation-category' AND c.code IS NOT NULL
    )[1].code AS category,
    category[1].coding[1].system AS category_system,
    category[1].coding[1].code AS category_code,
    category[1].coding[1].display AS category_display,
    code.coding[1].system AS code_system,
    code.coding[1].code AS code,
    code.coding[1].display AS code_display,
    code.text AS code_text,
    list_filter(code.coding, lambda c: c.system = 'http://loinc.org' AND c.code IS NOT NULL)[1].code AS loinc_code,
    list_filter(code.coding, lambda c: c.system = 'http://snomed.info/sct' AND c.code IS NOT NULL)[1].code AS snomed_code,
    effectiveDateTime AS effective_date_time,
    effectivePeriod.start AS effective_period_start,
    effectivePeriod.end AS effective_period_end,
    effectiveInstant AS effective_instant,
    effectiveTiming.event[1] AS effective_timing_event,
    issued,
    valueQuantity.value AS value_quantity,
    valueQuantity.unit AS value_quantity_unit,
    valueQuantity.system AS value_quantity_system,
    valueQuantity.code AS value_quantity_code,
    valueQuantity.comparator AS value_quantity_comparator,
    valueCodeableConcept.coding[1].system AS value_codeable_concept_system,
    valueCodeableConcept.coding[1].code AS value_codeable_concept_code,
    valueCodeableConcept.coding[1].display AS value_codeable_concept_display,
    valueCodeableConcept.text AS value_codeable_concept_text,
    valueString AS value_string,
    valueBoolean AS value_boolean,
    valueInteger AS value_integer,
    valueRange.low.value AS value_range_low,
    valueRange.low.unit AS value_range_low_unit,
    valueRange.high.value AS value_range_high,
    valueRange.high.unit AS value_range_high_unit,
    valueRatio.numerator.value AS value_ratio_numerator,
    valueRatio.numerator.unit AS value_ratio_numerator_unit,
    valueRatio.denominator.value AS value_ratio_denominator,
    valueRatio.denominator.unit AS value_ratio_denominator_unit,
    valueSampledData.origin.value AS value_sampled_data_origin,
    valueSampledData.origin.unit AS value_sampled_data_origin_unit,
    valueSampledData.period AS value_sampled_data_period,
    valueSampledData.factor AS value_sampled_data_factor,
    valueSampledData.dimensions AS value_sampled_data_dimensions,
    valueSampledData.data AS value_sampled_data_data,
    valueTime AS value_time,
    valueDateTime AS value_date_time,
    valuePeriod.start AS value_period_start,
    valuePeriod.end AS value_period_end,
    dataAbsentReason.coding[1].code AS data_absent_reason_code,
    interpretation[1].coding[1].system AS interpretation_system,
    interpretation[1].coding[1].code AS interpretation_code,
    interpretation[1].coding[1].display AS interpretation_display,
    referenceRange[1].low.value AS reference_range_low,
    referenceRange[1].low.unit AS reference_range_low_unit,
    referenceRange[1].high.value AS reference_range_high,
    referenceRange[1].high.unit AS reference_range_high_unit,
    referenceRange[1].text AS reference_range_text,
    bodySite.coding[1].system AS body_site_system,
    bodySite.coding[1].code AS body_site_code,
    bodySite.coding[1].display AS body_site_display,
    method.coding[1].system AS method_system,
    method.coding[1].code AS method_code,
    method.coding[1].display AS method_display,
    CASE
        WHEN starts_with(specimen.reference, 'Specimen/') THEN nullif(split_part(specimen.reference, '/', 2), '')
        WHEN starts_with(specimen.reference, 'urn:uuid:') THEN substr(specimen.reference, 10)
    END AS specimen_id,
    CASE
        WHEN starts_with(device.reference, 'Device/') THEN nullif(split_part(device.reference, '/', 2), '')
        WHEN starts_with(device.reference, 'urn:uuid:') THEN substr(device.reference, 10)
    END AS device_id,
    CASE
        WHEN starts_with(performer[1].reference, 'urn:uuid:') THEN substr(performer[1].reference, 10)
        ELSE nullif(split_part(performer[1].reference, '/', 2), '')
    END AS performer_id,
    coalesce(len(hasMember), 0) AS has_member_count,
    coalesce(len(component), 0) AS component_count,
    nullif(array_to_string(list_transform(note, lambda n: n.text), ' | '), '') AS note,
    meta.lastUpdated AS last_updated
FROM read_json(
    {files},
    format = 'newline_delimited',
    columns = {
        resourceType: 'VARCHAR',
        id: 'VARCHAR',
        meta: 'STRUCT(lastUpdated VARCHAR)',
        status: 'VARCHAR',
        category: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[])[]',
        code: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)',
        subject: 'STRUCT(reference VARCHAR)',
        encounter: 'STRUCT(reference VARCHAR)',
        effectiveDateTime: 'VARCHAR',
        effectivePeriod: 'STRUCT(start VARCHAR, "end" VARCHAR)',
        effectiveInstant: 'VARCHAR',
        effectiveTiming: 'STRUCT(event VARCHAR[])',
        issued: 'VARCHAR',
        performer: 'STRUCT(reference VARCHAR)[]',
        valueQuantity: 'STRUCT(value DOUBLE, unit VARCHAR, system VARCHAR, code VARCHAR, comparator VARCHAR)',
        valueCodeableConcept: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)',
        valueString: 'VARCHAR',
        valueBoolean: 'BOOLEAN',
        valueInteger: 'BIGINT',
        valueRange: 'STRUCT(low STRUCT(value DOUBLE, unit VARCHAR), high STRUCT(value DOUBLE, unit VARCHAR))',
        valueRatio: 'STRUCT(numerator STRUCT(value DOUBLE, unit VARCHAR), denominator STRUCT(value DOUBLE, unit VARCHAR))',
        valueSampledData: 'STRUCT(origin STRUCT(value DOUBLE, unit VARCHAR), period DOUBLE, factor DOUBLE, dimensions BIGINT, data VARCHAR)',
        valueTime: 'VARCHAR',
        valueDateTime: 'VARCHAR',
        valuePeriod: 'STRUCT(start VARCHAR, "end" VARCHAR)',
        dataAbsentReason: 'STRUCT(coding STRUCT(code VARCHAR)[])',
        interpretation: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[])[]',
        referenceRange: 'STRUCT(low STRUCT(value DOUBLE, unit VARCHAR), high STRUCT(value DOUBLE, unit VARCHAR), text VARCHAR)[]',
        bodySite: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[])',
        method: 'STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[])',
        specimen: 'STRUCT(reference VARCHAR)',
        device: 'STRUCT(reference VARCHAR)',
        hasMember: 'STRUCT(reference VARCHAR)[]',
        component: 'STRUCT(id VARCHAR)[]',
        note: 'STRUCT(text VARCHAR)[]'
    },
    sample_size = 1
)
WHERE resourceType = 'Observation'
