"""The SQL-on-FHIR v2 conformance suite, on every engine: every test must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthhub.engines.base import Engine
from healthhub.sources.fhir.conformance import run_conformance


def _suite_files(shared: Path) -> list[Path]:
    folder = shared / "sql-on-fhir-tests" / "tests"
    files = sorted(folder.glob("*.json"))
    assert files, f"no conformance files in {folder}"
    return files


def test_conformance_suite_passes(engine: Engine, shared_data: Path) -> None:
    files = _suite_files(shared_data)
    result = run_conformance(engine, files)
    failures = [f"{o.file}: {o.name}: {o.reason}" for o in result.outcomes if not o.passed]
    assert not failures, "\n".join(failures)
    expected = sum(len(json.loads(f.read_text())["tests"]) for f in files)
    assert result.passed == expected


def test_report_has_official_shape(duckdb_engine: Engine, shared_data: Path) -> None:
    files = _suite_files(shared_data)[:2]
    report = run_conformance(duckdb_engine, files).report()
    assert set(report) == {f.name for f in files}
    for entry in report.values():
        assert entry["tests"], "each file lists its tests"
        for test in entry["tests"]:
            assert set(test) == {"name", "result"}
            assert test["result"]["passed"] is True


def test_a_wrong_expectation_is_reported_as_failure(duckdb_engine: Engine, tmp_path: Path) -> None:
    suite = {
        "title": "deliberately wrong",
        "resources": [{"resourceType": "Patient", "id": "p1"}],
        "tests": [
            {
                "title": "right",
                "view": {
                    "resource": "Patient",
                    "select": [{"column": [{"name": "id", "path": "id"}]}],
                },
                "expect": [{"id": "p1"}],
            },
            {
                "title": "wrong",
                "view": {
                    "resource": "Patient",
                    "select": [{"column": [{"name": "id", "path": "id"}]}],
                },
                "expect": [{"id": "p2"}],
            },
            {
                "title": "error expected",
                "view": {
                    "resource": "Patient",
                    "select": [{"column": [{"name": "id", "path": "id"}]}],
                },
                "expectError": True,
            },
        ],
    }
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(suite))
    result = run_conformance(duckdb_engine, [path])
    assert [(o.name, o.passed) for o in result.outcomes] == [
        ("right", True),
        ("wrong", False),
        ("error expected", False),
    ]


@pytest.mark.parametrize("expression", ["name.family", "name.where(use = 'official').given"])
def test_several_values_for_a_single_column_fail_at_run_time(
    duckdb_engine: Engine, tmp_path: Path, expression: str
) -> None:
    suite = {
        "resources": [
            {
                "resourceType": "Patient",
                "id": "p1",
                "name": [{"use": "official", "family": "A", "given": ["x", "y"]}, {"family": "B"}],
            }
        ],
        "tests": [
            {
                "title": "t",
                "view": {
                    "resource": "Patient",
                    "select": [{"column": [{"name": "v", "path": expression}]}],
                },
                "expectError": True,
            }
        ],
    }
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(suite))
    assert run_conformance(duckdb_engine, [path]).failed == 0
