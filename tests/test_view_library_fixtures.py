"""The shipped views on small hand-written resources: every value[x] type and the
resource types Synthea does not produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from healthhub.engines.base import create_engine
from healthhub.sources.fhir.runner import RunSummary, library_views, run_views

# --- what Synthea lacks: every value[x] type, the other resource types --------------------
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT = {"reference": "Patient/p1"}
ENCOUNTER = {"reference": "Encounter/e1"}


def observation(oid: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final", "subject": PATIENT,
        "code": {"coding": [{"system": LOINC, "code": "0000-0"}]}, **fields,
    }  # fmt: skip


FIXTURES = [
    observation(
        "quantity",
        valueQuantity={
            "value": 7.25,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
            "comparator": "<",
        },
        effectivePeriod={"start": "2024-01-01T08:00:00Z", "end": "2024-01-01T09:00:00Z"},
        interpretation=[{"coding": [{"code": "L"}]}],
        referenceRange=[{"low": {"value": 3.5}, "high": {"value": 5.5}, "text": "3.5-5.5"}],
    ),
    observation(
        "concept",
        valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009"}], "text": "neg"},
        effectiveInstant="2024-01-02T10:00:00.000Z",
    ),
    observation("string", valueString="free text"),
    observation("boolean", valueBoolean=True),
    observation("integer", valueInteger=42),
    observation("range", valueRange={"low": {"value": 1, "unit": "g"}, "high": {"value": 2.5}}),
    observation("ratio", valueRatio={"numerator": {"value": 1}, "denominator": {"value": 128}}),
    observation(
        "sampled",
        valueSampledData={"origin": {"value": 0}, "period": 10, "dimensions": 1, "data": "1 2 E"},
    ),
    observation("time", valueTime="12:30:00"),
    observation("datetime", valueDateTime="2024-02-29T23:59:59+01:00"),
    observation("period", valuePeriod={"start": "2024-03-01", "end": "2024-03-05"}),
    observation(
        "components",
        dataAbsentReason={"coding": [{"code": "not-performed"}]},
        component=[
            {"code": {"coding": [{"system": LOINC, "code": "1-1"}]}, "valueBoolean": False},
            {
                "code": {"coding": [{"system": LOINC, "code": "1-2"}]},
                "valueRatio": {"numerator": {"value": 3}, "denominator": {"value": 4}},
            },
            {"code": {"coding": [{"system": LOINC, "code": "1-3"}]}, "valueTime": "01:02:03"},
        ],
    ),
    {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-05-06",
        "deceasedDateTime": "2020-01-01",
        "multipleBirthInteger": 2,
        "identifier": [
            {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "2500506123456"},
            {"type": {"coding": [{"code": "MR"}]}, "value": "MRN-77"},
        ],
        "name": [
            {"use": "usual", "family": "Nick", "given": ["Jo"]},
            {"use": "official", "family": "Martin", "given": ["Marie", "Anne"]},
        ],
        "address": [
            {"use": "work", "city": "Lyon"},
            {
                "use": "home",
                "line": ["1 rue A", "Bat B"],
                "city": "Paris",
                "postalCode": "75001",
                "country": "FR",
            },
        ],
        "telecom": [
            {"system": "email", "value": "m@example.org"},
            {"system": "phone", "value": "+33 1 23"},
        ],
    },
    {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": PATIENT,
        "period": {"start": "2024-01-01", "end": "2024-01-03"},
        "participant": [
            {"individual": {"reference": "RelatedPerson/rp1"}},
            {"individual": {"reference": "Practitioner/dr1"}},
        ],
        "location": [{"location": {"reference": "Location/loc1"}}],
    },
    {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "subject": PATIENT,
        "type": {"coding": [{"system": LOINC, "code": "18842-5"}]},
        "date": "2024-01-03T12:00:00Z",
        "context": {"encounter": [ENCOUNTER]},
        "content": [
            {"attachment": {"contentType": "text/plain", "data": "aGVsbG8=", "title": "Summary"}},
            {"attachment": {"contentType": "application/pdf", "url": "http://example.org/d.pdf"}},
        ],
    },
    {
        "resourceType": "Location",
        "id": "loc1",
        "status": "active",
        "name": "Ward 3",
        "physicalType": {"coding": [{"code": "wa"}]},
        "position": {"latitude": 48.85, "longitude": 2.35},
    },
    {
        "resourceType": "PractitionerRole",
        "id": "pr1",
        "practitioner": {"reference": "Practitioner/dr1"},
        "organization": {"reference": "Organization/org1"},
        "specialty": [{"coding": [{"system": SNOMED, "code": "394579002"}]}],
    },
    {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "subject": PATIENT,
        "context": ENCOUNTER,
        "effectivePeriod": {"start": "2023-01-01"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "197361"}]},
        "dosage": [{"text": "1 tablet daily", "asNeededBoolean": False}],
    },
    {  # the repeat example of the SQL-on-FHIR specification, with more answers
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "subject": PATIENT,
        "item": [
            {
                "linkId": "1",
                "text": "Demographics",
                "item": [{"linkId": "1.1", "text": "Age", "answer": [{"valueInteger": 45}]}],
            },
            {
                "linkId": "2",
                "text": "Medical History",
                "answer": [
                    {
                        "valueBoolean": True,
                        "item": [
                            {
                                "linkId": "2.1",
                                "text": "Conditions",
                                "answer": [
                                    {"valueCoding": {"system": SNOMED, "code": "44054006"}},
                                    {"valueString": "Type 2"},
                                ],
                            },
                        ],
                    }
                ],
            },
        ],
    },
]

# view -> key column -> {key: {column: expected value}}; unlisted columns are not checked
EXPECTED_FIXTURE_ROWS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "observation": ("id", {
        "quantity": {"value_quantity": 7.25, "value_quantity_unit": "mmol/L",
                     "value_quantity_comparator": "<", "effective_period_start": "2024-01-01T08:00:00Z",
                     "effective_period_end": "2024-01-01T09:00:00Z", "interpretation_code": "L",
                     "reference_range_low": 3.5, "reference_range_high": 5.5,
                     "reference_range_text": "3.5-5.5", "patient_id": "p1"},
        "concept": {"value_codeable_concept_system": SNOMED, "value_codeable_concept_code": "260385009",
                    "value_codeable_concept_text": "neg", "effective_instant": "2024-01-02T10:00:00.000Z",
                    "value_quantity": None},
        "string": {"value_string": "free text"},
        "boolean": {"value_boolean": True},
        "integer": {"value_integer": 42},
        "range": {"value_range_low": 1.0, "value_range_low_unit": "g", "value_range_high": 2.5},
        "ratio": {"value_ratio_numerator": 1.0, "value_ratio_denominator": 128.0},
        "sampled": {"value_sampled_data_origin": 0.0, "value_sampled_data_period": 10.0,
                    "value_sampled_data_dimensions": 1, "value_sampled_data_data": "1 2 E"},
        "time": {"value_time": "12:30:00"},
        "datetime": {"value_date_time": "2024-02-29T23:59:59+01:00"},
        "period": {"value_period_start": "2024-03-01", "value_period_end": "2024-03-05"},
        "components": {"data_absent_reason_code": "not-performed", "component_count": 3},
    }),
    "patient": ("id", {
        "p1": {"deceased": True, "deceased_date_time": "2020-01-01", "multiple_birth_integer": 2,
               "mrn": "MRN-77", "national_id": "2500506123456", "family": "Martin",
               "given": "Marie Anne", "address_line": "1 rue A Bat B", "city": "Paris",
               "postal_code": "75001", "country": "FR", "phone": "+33 1 23",
               "email": "m@example.org"},
    }),
    "encounter": ("id", {
        "e1": {"patient_id": "p1", "class_code": "IMP", "practitioner_id": "dr1",
               "location_id": "loc1", "period_end": "2024-01-03"},
    }),
    "document_reference": ("id", {
        "d1": {"patient_id": "p1", "encounter_id": "e1", "type_loinc_code": "18842-5",
               "date": "2024-01-03T12:00:00Z", "content_count": 2, "content_type": "text/plain",
               "content_data": "aGVsbG8=", "content_title": "Summary", "content_url": None},
    }),
    "location": ("id", {
        "loc1": {"name": "Ward 3", "physical_type_code": "wa", "latitude": 48.85, "longitude": 2.35},
    }),
    "practitioner_role": ("id", {
        "pr1": {"practitioner_id": "dr1", "organization_id": "org1", "specialty_code": "394579002"},
    }),
    "medication_statement": ("id", {
        "ms1": {"patient_id": "p1", "encounter_id": "e1", "rxnorm_code": "197361",
                "effective_period_start": "2023-01-01", "dosage_text": "1 tablet daily",
                "dosage_as_needed": False},
    }),
}  # fmt: skip


@pytest.fixture(scope="module")
def fixture_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSummary, Path]:
    folder = tmp_path_factory.mktemp("fixtures")
    (folder / "resources.ndjson").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in FIXTURES))
    out = folder / "out"
    summary = run_views(library_views(), [folder], create_engine("duckdb"), out, "parquet")
    return summary, out


def read_rows(path: Path, order: str) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        cur = con.execute(f"SELECT * FROM read_parquet(?) ORDER BY {order}", [str(path)])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.mark.parametrize("view", sorted(EXPECTED_FIXTURE_ROWS))
def test_fixture_values(fixture_output: tuple[RunSummary, Path], view: str) -> None:
    summary, out = fixture_output
    assert summary.problems == 0 and summary.skipped == {}
    key, expected = EXPECTED_FIXTURE_ROWS[view]
    rows = {r[key]: r for r in read_rows(out / f"{view}.parquet", key)}
    assert set(rows) == set(expected)
    for k, columns in expected.items():
        assert {c: rows[k][c] for c in columns} == columns, k


def test_fixture_observation_components(fixture_output: tuple[RunSummary, Path]) -> None:
    rows = read_rows(fixture_output[1] / "observation_component.parquet", "component_index")
    got = [
        (r["observation_id"], r["component_index"], r["loinc_code"], r["value_boolean"],
         r["value_ratio_numerator"], r["value_ratio_denominator"], r["value_time"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        ("components", 0, "1-1", False, None, None, None),
        ("components", 1, "1-2", None, 3.0, 4.0, None),
        ("components", 2, "1-3", None, None, None, "01:02:03"),
    ]


def test_fixture_questionnaire_items(fixture_output: tuple[RunSummary, Path]) -> None:
    rows = read_rows(
        fixture_output[1] / "questionnaire_response_item.parquet", "item_index, answer_index"
    )
    got = [
        (r["questionnaire_response_id"], r["link_id"], r["text"], r["answer_index"],
         r["value_integer"], r["value_boolean"], r["value_coding_code"], r["value_string"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        ("q1", "1", "Demographics", 0, None, None, None, None),  # a group: no answer
        ("q1", "1.1", "Age", 0, 45, None, None, None),
        ("q1", "2", "Medical History", 0, None, True, None, None),
        ("q1", "2.1", "Conditions", 0, None, None, "44054006", None),  # under answer.item
        ("q1", "2.1", "Conditions", 1, None, None, None, "Type 2"),
    ]
