"""Input handling: NDJSON, Bundles, gzip, folders; bad records counted and quarantined."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from healthhub.engines.base import Engine
from healthhub.exceptions import InputFileError
from healthhub.sources.fhir.inputs import stage_inputs
from healthhub.sources.fhir.runner import run_views
from healthhub.sources.fhir.viewdef import parse_view

SECRET = "Zebulon-Quartermaine"  # a patient value that must never appear in messages

PATIENT_VIEW = parse_view({"name": "patient_ids", "resource": "Patient", "select": [{"column": [
    {"name": "id", "path": "getResourceKey()", "type": "string"},
    {"name": "family", "path": "name.family.first()", "type": "string"}]}]})  # fmt: skip


def _patient(i: int) -> dict:
    return {"resourceType": "Patient", "id": f"p{i}", "name": [{"family": f"{SECRET}{i}"}]}


def _write_ndjson(path: Path, lines: list[str | dict]) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_clean_bulk_files_are_read_in_place(tmp_path: Path) -> None:
    f = _write_ndjson(tmp_path / "Patient.ndjson", [_patient(1), _patient(2)])
    staged = stage_inputs([tmp_path], tmp_path / "work", tmp_path / "q.ndjson")
    assert staged.by_type == {"Patient": [f]}
    assert staged.received == {"Patient": 2}
    assert staged.problems == []
    assert not (tmp_path / "q.ndjson").exists()


def test_bad_lines_are_quarantined_with_file_line_and_reason(
    tmp_path: Path, duckdb_engine: Engine
) -> None:
    (tmp_path / "in").mkdir()
    _write_ndjson(tmp_path / "in" / "mixed.ndjson.gz", [
        _patient(1),
        '{"resourceType": "Patient", "id": "p2", "name": [{"family": "' + SECRET + '"}]',  # malformed
        "",
        {"id": "x", "name": [{"family": SECRET}]},  # no resourceType
        "[1, 2]",
        {"resourceType": "NotAType", "id": "y"},
        {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "t"}},
        _patient(3),
    ])  # fmt: skip
    quarantine = tmp_path / "out.quarantine.ndjson"
    summary = run_views(
        [PATIENT_VIEW], [tmp_path / "in"], duckdb_engine, tmp_path / "out.csv", "csv", quarantine
    )
    assert summary.received == {"Patient": 2, "Observation": 1}
    assert summary.skipped == {"Observation": 1}
    assert summary.outputs[0].rows == 2
    assert summary.problems == 4
    records = [orjson.loads(line) for line in quarantine.read_bytes().splitlines()]
    assert [(r["position"], r["reason"]) for r in records] == [
        ("line 2", "malformed JSON"),
        ("line 4", "resource without resourceType"),
        ("line 5", "not a FHIR resource (a JSON object is expected)"),
        ("line 6", "unknown resourceType (not a FHIR R4 resource type)"),
    ]
    assert all(r["file"].endswith("mixed.ndjson.gz") for r in records)
    # the raw record is kept so it can be fixed and replayed; the summary never shows it
    assert SECRET in records[0]["record"]
    assert SECRET not in json.dumps(summary.as_dict())


def test_a_fixed_quarantine_file_replays_its_records(tmp_path: Path, duckdb_engine: Engine) -> None:
    _write_ndjson(
        tmp_path / "a.ndjson", [_patient(1), '{"resourceType": "Patient", "id": "p2"', {"id": "p3"}]
    )
    q = tmp_path / "q.ndjson"
    first = run_views(
        [PATIENT_VIEW], [tmp_path / "a.ndjson"], duckdb_engine, tmp_path / "o1.csv", "csv", q
    )
    assert first.problems == 2 and first.outputs[0].rows == 1
    entries = [orjson.loads(line) for line in q.read_bytes().splitlines()]
    entries[0]["record"] += "}"  # the steward mends the truncated line, leaves the other
    fixed = tmp_path / "fixed.ndjson"
    fixed.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    again = run_views(
        [PATIENT_VIEW], [fixed], duckdb_engine, tmp_path / "o2.csv", "csv", tmp_path / "q2.ndjson"
    )
    assert again.received == {"Patient": 1} and again.outputs[0].rows == 1
    assert again.problems == 1
    (left,) = [orjson.loads(line) for line in (tmp_path / "q2.ndjson").read_bytes().splitlines()]
    assert left["reason"] == "resource without resourceType"
    assert left["position"] == "line 2 (replay of line 3 of " + str(tmp_path / "a.ndjson") + ")"


def test_bundles_of_every_kind_and_entry_problems(tmp_path: Path, duckdb_engine: Engine) -> None:
    for kind in ("transaction", "batch", "collection", "searchset"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [
            {"fullUrl": f"urn:uuid:{kind}", "resource": _patient(hash(kind) % 1000)},
            {"fullUrl": "urn:uuid:none", "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"id": "no-type", "name": [{"family": SECRET}]}},
        ]}  # fmt: skip
        (tmp_path / f"{kind}.json.gz").write_bytes(gzip.compress(json.dumps(bundle).encode()))
    (tmp_path / "notes.json").write_text('{"hello": "' + SECRET + '"}')
    (tmp_path / "broken.json").write_text('{"resourceType": "Bundle", ')
    q = tmp_path / "q.ndjson"
    summary = run_views([PATIENT_VIEW], [tmp_path], duckdb_engine, tmp_path / "out", "parquet", q)
    assert summary.received == {"Patient": 4}
    assert summary.outputs[0].rows == 4
    reasons = sorted(
        (Path(r["file"]).name, r["position"], r["reason"])
        for r in map(orjson.loads, q.read_bytes().splitlines())
    )
    assert ("batch.json.gz", "entry 1", "Bundle entry without resource") in reasons
    assert ("batch.json.gz", "entry 2", "resource without resourceType") in reasons
    assert ("notes.json", "file", "resource without resourceType") in reasons
    assert ("broken.json", "file", "not valid JSON") in reasons
    assert summary.problems == 10


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"no-such\.ndjson: no such file or folder"):
        stage_inputs([tmp_path / "no-such.ndjson"], tmp_path, tmp_path / "q.ndjson")


def test_several_views_over_one_type_read_the_input_once(
    tmp_path: Path, duckdb_engine: Engine
) -> None:
    _write_ndjson(tmp_path / "p.ndjson", [_patient(i) for i in range(5)])
    second = parse_view(
        {
            "name": "patient_names",
            "resource": "Patient",
            "select": [{"forEach": "name", "column": [{"name": "family", "path": "family"}]}],
        }
    )
    summary = run_views(
        [PATIENT_VIEW, second], [tmp_path / "p.ndjson"], duckdb_engine, tmp_path / "out", "ndjson"
    )
    assert [o.rows for o in summary.outputs] == [5, 5]
    rows = [
        orjson.loads(x)
        for x in (tmp_path / "out" / "patient_names.ndjson").read_bytes().splitlines()
    ]
    assert sorted(r["family"] for r in rows) == sorted(f"{SECRET}{i}" for i in range(5))


def _readable_lines(path: Path) -> int:
    """How many lines Python's gzip reader gives before a damaged file breaks off."""
    n = 0
    try:
        with gzip.open(path) as fh:
            for _ in fh:
                n += 1
    except EOFError:
        pass
    return n


def test_a_cut_gzip_file_keeps_its_readable_records(tmp_path: Path, duckdb_engine: Engine) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _write_ndjson(folder / "a.ndjson", [_patient(i) for i in range(5)])
    _write_ndjson(folder / "b.ndjson.gz", [_patient(i) for i in range(5, 10)])
    whole = _write_ndjson(folder / "cut.ndjson.gz", [_patient(i) for i in range(10, 2010)])
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])
    readable = _readable_lines(whole)
    assert 0 < readable < 2000
    q = tmp_path / "q.ndjson"
    summary = run_views([PATIENT_VIEW], [folder], duckdb_engine, tmp_path / "out.csv", "csv", q)
    assert summary.received == {"Patient": 10 + readable}
    assert summary.outputs[0].rows == 10 + readable
    assert summary.problems == 1
    (entry,) = [orjson.loads(line) for line in q.read_bytes().splitlines()]
    assert entry == {
        "file": str(whole),
        "position": f"line {readable + 1}",
        "reason": "file is truncated or not valid gzip",
        "record": None,
    }


def test_a_cut_gzip_bundle_and_a_file_that_is_not_gzip(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _patient(i)} for i in range(500)]}  # fmt: skip
    text = json.dumps(bundle, indent=1).encode()
    packed = gzip.compress(text)
    (tmp_path / "cut.json.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "plain.ndjson.gz").write_text(json.dumps(_patient(1)) + "\n")
    _write_ndjson(tmp_path / "good.ndjson", [_patient(2)])
    staged = stage_inputs([tmp_path], tmp_path, tmp_path.parent / "q.ndjson")
    assert staged.received == {"Patient": 1}
    problems = sorted((Path(p.file).name, p.position, p.reason) for p in staged.problems)
    assert [name for name, _, _ in problems] == ["cut.json.gz", "plain.ndjson.gz"]
    assert problems[1][1:] == ("line 1", "file is truncated or not valid gzip")
    assert problems[0][2] == "file is truncated or not valid gzip"
    assert 1 < int(problems[0][1].removeprefix("line ")) < text.count(b"\n")
    assert SECRET not in (tmp_path.parent / "q.ndjson").read_text()


def test_a_huge_bad_line_is_kept_only_in_part(tmp_path: Path) -> None:
    garbage = "x" * (3 << 20)
    _write_ndjson(tmp_path / "a.ndjson", [_patient(1), garbage, "{not json"])
    q = tmp_path / "q.ndjson"
    (tmp_path / "work").mkdir()
    staged = stage_inputs([tmp_path / "a.ndjson"], tmp_path / "work", q)
    assert [(p.position, p.reason) for p in staged.problems] == [
        ("line 2", "malformed JSON"),
        ("line 3", "malformed JSON"),
    ]
    huge, small = [orjson.loads(line) for line in q.read_bytes().splitlines()]
    assert q.stat().st_size < 2 << 20
    assert huge["record"] == "x" * (1 << 20) and huge["truncated"] is True
    assert small["record"] == "{not json" and "truncated" not in small
    # given back, a shortened entry is still read as a quarantine entry, not as a resource
    again = stage_inputs([q], tmp_path / "work", tmp_path / "q2.ndjson")
    assert [p.position for p in again.problems] == [
        f"line 1 (replay of line 2 of {tmp_path / 'a.ndjson'})",
        f"line 2 (replay of line 3 of {tmp_path / 'a.ndjson'})",
    ]


def test_folders_without_fhir_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "notes.txt").write_text("hello")
    with pytest.raises(InputFileError, match=r"no FHIR file in .*one, .*two: give NDJSON") as exc:
        stage_inputs([tmp_path / "one", tmp_path / "two"], tmp_path, tmp_path / "q.ndjson")
    assert exc.value.exit_code == 2
    from click.testing import CliRunner

    from healthhub.cli import cli

    result = CliRunner().invoke(
        cli, ["view", "run", "@library", str(tmp_path / "one"), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert f"no FHIR file in {tmp_path / 'one'}" in result.output
