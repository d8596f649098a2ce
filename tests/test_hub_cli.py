"""The hub's verbs from the command line: summaries, --json, exit codes, no patient value."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from healthhub.cli import cli

SENTINEL = "Zzyzxwellington"
NOTE = ("Patient Zzyzxwellington called from +33 6 12 34 56 78. Nee Quaxmaidenly, born"
        " 02/05/1970, SSN 987-65-4320.")  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    folder = tmp_path / "delivery"
    folder.mkdir()
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1970-05-02",
               "name": [{"use": "official", "family": SENTINEL, "given": ["Quentin"]},
                        {"use": "maiden", "family": "Quaxmaidenly"}],
               "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "987-65-4320"}],
               "telecom": [{"system": "phone", "value": "+33 6 12 34 56 78"}]}  # fmt: skip
    note = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
            "subject": {"reference": "Patient/p1"}, "date": "2021-01-02T10:00:00Z",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
            "content": [{"attachment": {"contentType": "text/plain", "language": "en",
                         "data": base64.b64encode(NOTE.encode()).decode()}}]}  # fmt: skip
    (folder / "Patient.ndjson").write_bytes(orjson.dumps(patient) + b"\n")
    (folder / "DocumentReference.ndjson").write_bytes(orjson.dumps(note) + b"\n{broken\n")
    return folder


def test_init_ingest_runs_in_json(tmp_path: Path, delivery: Path) -> None:
    hub = tmp_path / "hub"
    created = run("init", str(hub), "--json")
    assert created.exit_code == 0
    assert orjson.loads(created.output)["warehouse"].endswith("omop.duckdb")
    ingested = run("ingest", "--hub", str(hub), "--provider", "clinic", "--json", str(delivery))
    assert ingested.exit_code == 0, ingested.output
    result = orjson.loads(ingested.output)
    assert result["state"] == "standardized"
    summary = result["summary"]
    assert summary["omop_rows"]["person"] == 1 and summary["omop_rows"]["note"] == 1
    assert summary["flatten"]["problems"] == 1
    listed = orjson.loads(run("runs", "--hub", str(hub), "--json").output)
    assert [r["run_id"] for r in listed["runs"]] == [result["run_id"]]
    shown = run("runs", "show", result["run_id"], "--hub", str(hub))
    assert shown.exit_code == 0 and "standardized" in shown.output
    for output in (ingested.output, shown.output):
        assert SENTINEL not in output and "12 34 56 78" not in output
    from healthhub.standardize.warehouse import connect

    con = connect(hub / "warehouse" / "omop.duckdb")
    try:
        (text,) = con.execute("SELECT note_text FROM note").fetchone()
    finally:
        con.close()
    # every name, identifier and spelling of the birth date, not only the official ones
    assert text == (
        "Patient [NAME] called from [CONTACT]. Nee [NAME], born [BIRTH DATE], SSN [ID]."
    )


def test_human_summary_names_counts_and_where_the_output_is(tmp_path: Path,
                                                            delivery: Path) -> None:  # fmt: skip
    hub = tmp_path / "hub"
    run("init", str(hub))
    result = run("ingest", "--hub", str(hub), "--provider", "clinic", str(delivery))
    assert result.exit_code == 0
    for words in ("standardized", "people", "OMOP rows", "quarantined", "warehouse"):
        assert words in result.output
    assert SENTINEL not in result.output


def test_hub_from_environment_and_usage_errors(tmp_path: Path, delivery: Path) -> None:
    hub = tmp_path / "hub"
    run("init", str(hub))
    by_env = run("runs", env={"HEALTHHUB_HOME": str(hub)})
    assert by_env.exit_code == 0 and "No runs yet" in by_env.output
    no_hub = run("ingest", "--provider", "clinic", str(delivery))
    assert no_hub.exit_code == 2 and "HEALTHHUB_HOME" in no_hub.output
    not_hub = run("runs", "--hub", str(tmp_path))
    assert not_hub.exit_code == 2 and "not a healthhub hub" in not_hub.output
    missing = run("ingest", "--hub", str(hub), "--provider", "clinic", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = run("runs", "resume", "20990101T000000-abcdef", "--hub", str(hub))
    assert unknown.exit_code == 2 and "no run" in unknown.output
    again = run("init", str(hub))
    assert again.exit_code == 2


def test_vocab_load_and_map(tmp_path: Path, shared_data: Path) -> None:
    hub = tmp_path / "hub"
    run("init", str(hub))
    vocab = shared_data / "omop-vocab"
    loaded = run("vocab", "load", "--hub", str(hub), "--json", str(vocab))
    assert loaded.exit_code == 0, loaded.output
    rows = orjson.loads(loaded.output)["rows"]
    expected = sum(1 for _ in (vocab / "CONCEPT.csv").open()) - 1
    assert rows["concept"] == expected
    mapped = run("vocab", "map", "--hub", str(hub), "--json",
                 str(vocab / "dbt-synthea-shard" / "SOURCE_TO_CONCEPT_MAP.csv"))  # fmt: skip
    assert mapped.exit_code == 0 and orjson.loads(mapped.output)["rows"] == 2
    bad = run("vocab", "load", "--hub", str(hub), str(tmp_path))
    assert bad.exit_code == 2


def test_demo_builds_a_hub_and_reports_people_rows_coverage_and_time(tmp_path: Path) -> None:
    out = run("demo", str(tmp_path / "demo"), "--patients", "30", "--providers", "2", "--json")
    assert out.exit_code == 0, out.output
    summary = orjson.loads(out.stdout)
    # linkage makes one person of a person's records at every provider
    assert summary["source_patients"] > summary["people"] >= 28
    assert summary["linkage"]["precision"] >= 0.98 and summary["linkage"]["recall"] >= 0.95
    rows = summary["omop_rows"]
    for table in ("person", "visit_occurrence", "measurement", "drug_exposure", "note",
                  "condition_occurrence", "observation_period", "drug_era", "condition_era"):  # fmt: skip
        assert rows[table] > 0, table
    # the starter vocabulary covers every code the generator emits
    for vocabulary in ("SNOMED", "LOINC", "RxNorm", "CVX"):
        covered = summary["coverage"][vocabulary]
        assert covered["mapped"] == covered["records"] > 0, vocabulary
    assert {"land", "flatten", "identify", "map", "merge"} <= set(summary["stage_seconds"])
    human = run("demo", str(tmp_path / "demo"), "--patients", "5", "--providers", "1")
    assert human.exit_code == 0
    for words in ("people", "OMOP rows", "mapped", "time", "warehouse"):
        assert words in human.output
    refused = run("demo", str(tmp_path))  # a folder holding other things is not overwritten
    assert refused.exit_code == 2
