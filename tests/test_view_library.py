"""The shipped ViewDefinition library (``sources/fhir/views/*.json``).

Every view compiles on every dialect; flattening the shared Synthea bundles accounts for
every resource received; row counts and spot-checked values agree with the bundles read
independently here (the value[x] and resource types Synthea lacks: see
test_view_library_fixtures.py). DuckDB only: Spark is compared in test_engines_agree.py.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from healthhub.engines.base import create_engine
from healthhub.sources.fhir.compiler import compile_view
from healthhub.sources.fhir.runner import RunSummary, library_views, run_views
from healthhub.sources.fhir.viewdef import Column, Select, ViewDefinition

SYNTHEA = Path(__file__).resolve().parents[2] / "shared/data/synthea"
needs_synthea = pytest.mark.skipif(not SYNTHEA.is_dir(), reason="shared Synthea data not present")

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
BLOOD_PRESSURE = {"85354-9", "55284-4"}  # panel codes: current LOINC, older Synthea

# Views with one row per resource of their type (the others unnest a repeating element).
CHILD_VIEWS = {
    "observation_component",
    "diagnostic_report_result",
    "imaging_series",
    "questionnaire_response_item",
}
EXPECTED_VIEWS = {
    "patient", "encounter", "condition", "observation", "observation_component", "procedure",
    "medication_request", "medication_administration", "medication_statement", "immunization",
    "allergy_intolerance", "diagnostic_report", "diagnostic_report_result", "document_reference",
    "imaging_study", "imaging_series", "device", "practitioner", "practitioner_role",
    "organization", "location", "questionnaire_response", "questionnaire_response_item",
    "specimen",
}  # fmt: skip
# Columns holding direct identifiers, routed to the vault by the identity stage.
DIRECT_IDENTIFIERS = {
    "patient": {
        "mrn", "national_id", "family", "given", "address_line", "city", "postal_code",
        "country", "phone", "email", "all_family", "all_given", "all_identifiers",
        "all_telecom", "all_address_lines", "all_cities", "all_postal_codes", "identifier_entries",
    },
    "device": {"udi_carrier_hrf", "serial_number", "distinct_identifier"},
}  # fmt: skip
IDENTIFIER_TAG = ("healthhub/identifier", "direct")
NOT_KEYS = {"national_id", "link_id"}  # end in _id but are not resource keys

# Totals from shared/data/synthea/SOURCE.md.
MANIFEST_TOTALS = {
    "smart-r4": (
        43_288,
        {
            "Observation": 19_855, "Claim": 5_159, "Encounter": 4_033,
            "ExplanationOfBenefit": 4_033, "Procedure": 3_275, "Immunization": 1_769,
            "DiagnosticReport": 1_381, "MedicationRequest": 1_126, "Condition": 1_012,
            "CarePlan": 402, "Organization": 342, "Practitioner": 342, "Goal": 231,
            "Patient": 148, "AllergyIntolerance": 103, "ImagingStudy": 77,
        },
    ),
    "pathling-r4": (
        1_725,
        {
            "Observation": 796, "Procedure": 199, "Claim": 170, "Encounter": 124,
            "ExplanationOfBenefit": 124, "DiagnosticReport": 83, "Condition": 76,
            "Immunization": 60, "MedicationRequest": 46, "SupplyDelivery": 13,
            "AllergyIntolerance": 10, "CareTeam": 8, "CarePlan": 8, "Patient": 4,
            "MedicationAdministration": 2, "Device": 2,
        },
    ),
}  # fmt: skip
# Administrative and care-planning types the library deliberately does not flatten.
EXPECTED_SKIPPED = {
    "smart-r4": {"Claim", "ExplanationOfBenefit", "CarePlan", "Goal"},
    "pathling-r4": {"Claim", "ExplanationOfBenefit", "CarePlan", "CareTeam", "SupplyDelivery"},
}


@cache
def views_by_name() -> dict[str, ViewDefinition]:
    return {v.name: v for v in library_views()}


def view_files() -> list[Path]:
    folder = resources.files("healthhub.sources.fhir").joinpath("views")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".json"))


def all_columns(selects: tuple[Select, ...]) -> list[Column]:
    out: list[Column] = []
    for sel in selects:
        out.extend(sel.columns)
        out.extend(all_columns(sel.selects))
        out.extend(all_columns(sel.union_all))
    return out


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql, list(params)).fetchall()


# --- the library as data ---------------------------------------------------------------
def test_library_has_the_expected_views() -> None:
    views = library_views()
    assert {v.name for v in views} == EXPECTED_VIEWS
    assert len(views) == len(EXPECTED_VIEWS)


@pytest.mark.parametrize("path", view_files(), ids=lambda p: p.stem)
def test_view_file_conventions(path: Path) -> None:
    data = json.loads(path.read_text())
    assert data["resourceType"] == "ViewDefinition"
    assert data["name"] == path.stem
    assert data["status"] == "active"
    assert data["description"].strip()
    view = views_by_name()[path.stem]
    for col in all_columns(view.select):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", col.name), col.name
        assert col.type, f"{view.name}.{col.name} has no explicit type"
        if col.name == "id" or (col.name.endswith("_id") and col.name not in NOT_KEYS):
            assert re.search(r"get(Resource|Reference)Key\(\w*\)(\.first\(\))?$", col.path), (
                f"{view.name}.{col.name}: keys come from getResourceKey/getReferenceKey"
            )
    tagged = {c.name for c in all_columns(view.select) if IDENTIFIER_TAG in c.tags}
    assert tagged == DIRECT_IDENTIFIERS.get(view.name, set())


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_every_view_compiles(dialect: str) -> None:
    for view in library_views():
        compiled = compile_view(view, dialect)
        assert [c.name for c in compiled.columns] == view.column_names()
        assert "{source}" in compiled.query


# --- the Synthea bundles, read independently ---------------------------------------------
@dataclass
class BundleFacts:
    """What the test needs from the bundles: counts and a few resources to spot-check."""

    received: Counter[str] = field(default_factory=Counter)
    components: int = 0
    results: int = 0
    series: int = 0
    picked: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pick(self, name: str, resource: dict[str, Any]) -> None:
        self.picked.setdefault(name, resource)


def codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c.get("system") == system]


def read_bundles(folder: Path) -> BundleFacts:
    facts = BundleFacts()
    for path in sorted(folder.glob("*.json.gz")):
        bundle = orjson.loads(gzip.decompress(path.read_bytes()))
        for entry in bundle["entry"]:
            r = entry["resource"]
            rtype = r["resourceType"]
            facts.received[rtype] += 1
            facts.components += len(r.get("component", []))
            facts.results += len(r.get("result", [])) if rtype == "DiagnosticReport" else 0
            facts.series += len(r.get("series", [])) if rtype == "ImagingStudy" else 0
            if rtype == "Observation":
                if "valueQuantity" in r and codes(r["code"], LOINC):
                    facts.pick("quantity", r)
                if BLOOD_PRESSURE & set(codes(r["code"], LOINC)):
                    facts.pick("blood_pressure", r)
            elif rtype == "Patient" and "deceasedDateTime" in r:
                facts.pick("deceased_patient", r)
            elif rtype == "Patient":
                facts.pick("patient", r)
            elif rtype == "MedicationRequest" and "medicationCodeableConcept" in r:
                facts.pick("medication_request", r)
            elif rtype in ("Encounter", "Condition", "DiagnosticReport", "ImagingStudy"):
                facts.pick(rtype.lower(), r)
    return facts


@dataclass
class Flattened:
    name: str
    summary: RunSummary
    out: Path
    facts: BundleFacts

    def parquet(self, view: str) -> str:
        return str(self.out / f"{view}.parquet")

    def row(self, view: str, key: str, value: str) -> dict[str, Any]:
        with duckdb.connect() as con:
            cur = con.execute(
                f"SELECT * FROM read_parquet(?) WHERE {key} = ?", [self.parquet(view), value]
            )
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        assert len(rows) == 1, f"{view}: {len(rows)} rows for {key}={value}"
        return dict(zip(names, rows[0], strict=True))


@pytest.fixture(scope="module", params=sorted(MANIFEST_TOTALS))
def flattened(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Flattened:
    if not SYNTHEA.is_dir():
        pytest.skip("shared Synthea data not present")
    folder = SYNTHEA / request.param
    out = tmp_path_factory.mktemp(request.param) / "out"
    summary = run_views(library_views(), [folder], create_engine("duckdb"), out, "parquet")
    return Flattened(request.param, summary, out, read_bundles(folder))


def reference_key(reference: dict[str, Any]) -> str:
    return reference["reference"].removeprefix("urn:uuid:").rsplit("/", 1)[-1]


@needs_synthea
def test_every_resource_is_accounted_for(flattened: Flattened) -> None:
    s = flattened.summary
    assert s.problems == 0
    assert s.received == dict(flattened.facts.received)
    for rtype, n in s.received.items():
        assert (rtype in s.flattened) != (rtype in s.skipped), rtype
        if rtype in s.skipped:
            assert s.skipped[rtype] == n
    assert set(s.skipped) == EXPECTED_SKIPPED[flattened.name]


@needs_synthea
def test_manifest_totals_are_received(flattened: Flattened) -> None:
    total, by_type = MANIFEST_TOTALS[flattened.name]
    assert flattened.summary.resources == total
    assert flattened.summary.received == by_type


@needs_synthea
def test_row_counts(flattened: Flattened) -> None:
    s, facts = flattened.summary, flattened.facts
    rows = {o.view: o.rows for o in s.outputs}
    assert set(rows) == EXPECTED_VIEWS
    for o in s.outputs:
        if o.view not in CHILD_VIEWS:
            assert o.rows == s.received.get(o.resource, 0), o.view
    assert rows["observation"] == s.received["Observation"]
    assert rows["patient"] == s.received["Patient"]
    assert rows["observation_component"] == facts.components
    assert rows["diagnostic_report_result"] == facts.results
    assert rows["imaging_series"] == facts.series
    assert rows["questionnaire_response_item"] == 0
    # keys are unique and every row has one
    for view in ("patient", "encounter", "observation", "condition", "medication_request"):
        (distinct, total, nulls), *_ = query(
            "SELECT count(DISTINCT id), count(*), count(*) - count(id) FROM read_parquet(?)",
            flattened.parquet(view),
        )
        assert distinct == total and nulls == 0, view


ORPHAN_CHECKS = [
    ("observation", "patient_id", "patient"),
    ("observation", "encounter_id", "encounter"),
    ("observation_component", "observation_id", "observation"),
    ("diagnostic_report_result", "observation_id", "observation"),
    ("condition", "encounter_id", "encounter"),
    ("encounter", "patient_id", "patient"),
    ("medication_request", "reason_reference_id", "condition"),
    ("imaging_series", "imaging_study_id", "imaging_study"),
]


@needs_synthea
@pytest.mark.parametrize(("child", "column", "parent"), ORPHAN_CHECKS)
def test_reference_keys_join_resource_keys(
    flattened: Flattened, child: str, column: str, parent: str
) -> None:
    (orphans,), *_ = query(
        f"SELECT count(*) FROM read_parquet(?) c WHERE c.{column} IS NOT NULL"
        f" AND c.{column} NOT IN (SELECT id FROM read_parquet(?))",
        flattened.parquet(child),
        flattened.parquet(parent),
    )
    assert orphans == 0


@needs_synthea
def test_observation_quantity(flattened: Flattened) -> None:
    r = flattened.facts.picked["quantity"]
    row = flattened.row("observation", "id", r["id"])
    assert row["loinc_code"] == codes(r["code"], LOINC)[0]
    assert row["code"] == r["code"]["coding"][0]["code"]
    assert row["value_quantity"] == pytest.approx(r["valueQuantity"]["value"])
    assert row["value_quantity_unit"] == r["valueQuantity"]["unit"]
    assert row["value_quantity_code"] == r["valueQuantity"]["code"]
    assert row["patient_id"] == reference_key(r["subject"])
    assert row["encounter_id"] == reference_key(r["encounter"])
    assert row["effective_date_time"] == r["effectiveDateTime"]
    assert row["issued"] == r["issued"]
    assert row["value_codeable_concept_code"] is None and row["value_string"] is None


@needs_synthea
def test_blood_pressure_components(flattened: Flattened) -> None:
    r = flattened.facts.picked["blood_pressure"]
    assert flattened.row("observation", "id", r["id"])["component_count"] == 2
    got = query(
        "SELECT component_index, loinc_code, value_quantity, value_quantity_unit, patient_id"
        " FROM read_parquet(?) WHERE observation_id = ? ORDER BY component_index",
        flattened.parquet("observation_component"),
        r["id"],
    )
    expected = [
        (
            i,
            codes(c["code"], LOINC)[0],
            pytest.approx(c["valueQuantity"]["value"]),
            c["valueQuantity"]["unit"],
            reference_key(r["subject"]),
        )
        for i, c in enumerate(r["component"])
    ]
    assert got == expected
    assert {g[1] for g in got} == {"8480-6", "8462-4"}  # systolic, diastolic


@needs_synthea
def test_patient(flattened: Flattened) -> None:
    for name in ("patient", "deceased_patient"):
        r = flattened.facts.picked.get(name)
        if r is None:  # pathling-r4 has no deceased patient
            continue
        row = flattened.row("patient", "id", r["id"])
        assert row["gender"] == r["gender"]
        assert row["birth_date"] == r["birthDate"]
        assert row["deceased"] is ("deceasedDateTime" in r)
        assert row["deceased_date_time"] == r.get("deceasedDateTime")
        assert row["marital_status_code"] == r["maritalStatus"]["coding"][0]["code"]
        mrn = [
            i["value"]
            for i in r["identifier"]
            if any(c["code"] == "MR" for c in i.get("type", {}).get("coding", []))
        ]
        assert row["mrn"] == mrn[0]
        official = next(n for n in r["name"] if n.get("use") == "official")
        assert row["family"] == official["family"]
        assert row["given"] == " ".join(official["given"])
        assert row["city"] == r["address"][0]["city"]
        assert row["national_id"] is None  # US data: no French NIR


@needs_synthea
def test_encounter(flattened: Flattened) -> None:
    r = flattened.facts.picked["encounter"]
    row = flattened.row("encounter", "id", r["id"])
    assert row["period_start"] == r["period"]["start"]
    assert row["period_end"] == r["period"]["end"]
    assert row["class_code"] == r["class"]["code"]
    assert row["type_snomed_code"] == codes(r["type"][0], SNOMED)[0]
    assert row["patient_id"] == reference_key(r["subject"])


@needs_synthea
def test_medication_request(flattened: Flattened) -> None:
    r = flattened.facts.picked["medication_request"]
    row = flattened.row("medication_request", "id", r["id"])
    assert row["rxnorm_code"] == codes(r["medicationCodeableConcept"], RXNORM)[0]
    assert row["medication_display"] == r["medicationCodeableConcept"]["coding"][0]["display"]
    assert row["authored_on"] == r["authoredOn"]
    assert row["status"] == r["status"]
    assert row["intent"] == r["intent"]


@needs_synthea
def test_condition(flattened: Flattened) -> None:
    r = flattened.facts.picked["condition"]
    row = flattened.row("condition", "id", r["id"])
    assert row["snomed_code"] == codes(r["code"], SNOMED)[0]
    assert row["onset_date_time"] == r["onsetDateTime"]
    assert row["abatement_date_time"] == r.get("abatementDateTime")
    assert row["clinical_status"] == r["clinicalStatus"]["coding"][0]["code"]


@needs_synthea
def test_diagnostic_report_results(flattened: Flattened) -> None:
    r = flattened.facts.picked["diagnosticreport"]
    got = query(
        "SELECT result_index, observation_id FROM read_parquet(?)"
        " WHERE diagnostic_report_id = ? ORDER BY result_index",
        flattened.parquet("diagnostic_report_result"),
        r["id"],
    )
    assert got == [(i, reference_key(ref)) for i, ref in enumerate(r["result"])]


@needs_synthea
def test_imaging_series(flattened: Flattened) -> None:
    r = flattened.facts.picked.get("imagingstudy")
    if r is None:  # pathling-r4 has no ImagingStudy
        assert flattened.facts.series == 0
        return
    series = r["series"][0]
    row = flattened.row("imaging_series", "imaging_study_id", r["id"])
    assert row["modality_code"] == series["modality"]["code"]
    assert row["body_site_code"] == series["bodySite"]["code"]
    assert row["number_of_instances"] == series["numberOfInstances"]
    assert row["series_uid"] == series["uid"]
