"""Engine errors never carry a patient's value; the view's own errors keep their location.

Engines quote data values in their messages (a failed cast names the value), so only the
errors that compiled view SQL raises on purpose pass through, found by their marker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from healthhub.cli import cli
from healthhub.engines.base import Engine
from healthhub.engines.duckdb_engine import VIEW_ERROR_MARKER, _translate, view_error_message
from healthhub.exceptions import ViewExecutionError
from healthhub.sources.fhir.compiler import compile_view
from healthhub.sources.fhir.runner import library_views, run_views
from healthhub.sources.fhir.viewdef import parse_view

# A patient's value, made to look like the view locations that used to pass through.
SENTINEL = "repeat Henrietta Zabrowski select[0] where[1]"
SHORT = "repeat!"  # 7 characters: read as a year-month by lowBoundary()/highBoundary()
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "t"}}

MALFORMED = {
    "valueInteger string": {**OBSERVATION, "valueInteger": SENTINEL},
    "valueQuantity.value string": {**OBSERVATION, "valueQuantity": {"value": SENTINEL}},
    "valueBoolean string": {**OBSERVATION, "valueBoolean": SENTINEL},
    "subject a string": {**OBSERVATION, "subject": SENTINEL},
    "code a list": {**OBSERVATION, "code": [SENTINEL]},
    "birthDate not a date": {"resourceType": "Patient", "id": "p1", "birthDate": SENTINEL},
    "active a string": {"resourceType": "Patient", "id": "p1", "active": SENTINEL},
    "name an object": {"resourceType": "Patient", "id": "p1", "name": {"family": SENTINEL}},
    "value quoting the marker": {**OBSERVATION, "valueInteger": VIEW_ERROR_MARKER + SENTINEL},
}


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEALTHHUB_DEBUG", raising=False)  # it prints the engine's own words


def _ndjson(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _run_rows(
    engine: Engine, view: dict[str, Any], records: list[dict[str, Any]], tmp: Path
) -> None:
    compiled = compile_view(parse_view(view), engine.dialect.name)
    source = engine.ndjson_source([_ndjson(tmp / "in.ndjson", records)], compiled.read_schema)
    engine.write(compiled.sql(source), "parquet", tmp / "out.parquet")


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_values_never_reach_the_message(
    case: str, engine: Engine, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data = _ndjson(tmp_path / "in.ndjson", [MALFORMED[case]])
    if engine.name == "duckdb" and case != "birthDate not a date":
        # DuckDB rejects a value that does not fit the read type: it names file and line
        with pytest.raises(ViewExecutionError, match=r"in .*in\.ndjson, line 1: a value does") as e:
            run_views(library_views(), [data], engine, tmp_path / "out", "parquet")
        assert "Zabrowski" not in str(e.value)
        assert str(e.value).startswith("the engine failed on the data (InvalidInputException)")
    else:  # Spark reads such a value as null; dates are read as text
        run_views(library_views(), [data], engine, tmp_path / "out", "parquet")
    assert "Zabrowski" not in capfd.readouterr().err  # nor a log line


def test_a_cast_the_view_makes_fails_without_the_value(
    engine: Engine, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    view = {"name": "v", "resource": "Patient", "select": [{"column": [
        {"name": "until", "path": "birthDate.highBoundary()"}]}]}  # fmt: skip
    with pytest.raises(ViewExecutionError, match=r"^the engine failed on the data \(") as exc:
        _run_rows(
            engine, view, [{"resourceType": "Patient", "id": "p", "birthDate": SHORT}], tmp_path
        )
    assert SHORT not in str(exc.value)
    assert SHORT not in capfd.readouterr().err


def test_the_cli_prints_no_value(tmp_path: Path) -> None:
    data = _ndjson(tmp_path / "obs.ndjson", [MALFORMED["valueInteger string"]])
    result = CliRunner().invoke(
        cli, ["view", "run", "@library", str(data), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "Zabrowski" not in result.output
    assert "the engine failed on the data (InvalidInputException)" in result.output


def test_several_values_for_a_single_column_name_the_column(engine: Engine, tmp_path: Path) -> None:
    view = {"name": "v", "resource": "Patient", "select": [{"column": [
        {"name": "given", "path": "name.given"}]}]}  # fmt: skip
    patient = {"resourceType": "Patient", "id": "p", "name": [{"given": [SENTINEL, "b"]}]}
    with pytest.raises(ViewExecutionError) as exc:
        _run_rows(engine, view, [patient], tmp_path)
    assert str(exc.value) == (
        "select[0].column[0].path: column 'given' returned several values where one was expected"
    )


def test_a_structure_deeper_than_repeat_allows_names_the_select(
    engine: Engine, tmp_path: Path
) -> None:
    view = parse_view({"name": "v", "resource": "QuestionnaireResponse", "select": [{
        "repeat": ["item"], "column": [{"name": "link", "path": "linkId"}]}]})  # fmt: skip
    item: dict[str, Any] = {"linkId": SENTINEL}
    for depth in range(3):
        item = {"linkId": f"l{depth}", "item": [item]}
    record = {
        "resourceType": "QuestionnaireResponse",
        "id": "q",
        "status": "completed",
        "item": [item],
    }
    compiled = compile_view(view, engine.dialect.name, repeat_depth=2)
    source = engine.ndjson_source([_ndjson(tmp_path / "q.ndjson", [record])], compiled.read_schema)
    with pytest.raises(ViewExecutionError) as exc:
        engine.rows(compiled.sql(source))
    assert str(exc.value) == "select[0].repeat: structure deeper than 2 levels"


def test_only_a_message_that_starts_with_the_marker_passes() -> None:
    assert view_error_message(VIEW_ERROR_MARKER + "select[0]: x\nLINE 1") == "select[0]: x"
    assert view_error_message('Failed to cast "' + VIEW_ERROR_MARKER + SENTINEL + '"') is None
    raised = duckdb.InvalidInputException(
        "Invalid Input Error: " + VIEW_ERROR_MARKER + "where[0]: y"
    )
    assert str(_translate(raised)) == "where[0]: y"
    for kind in (
        duckdb.ConversionException,
        duckdb.InvalidInputException,
        duckdb.OutOfRangeException,
    ):
        message = str(_translate(kind(f'Conversion Error: "{SENTINEL}" select[0] repeat')))
        assert message == f"the engine failed on the data ({kind.__name__})"
