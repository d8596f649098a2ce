"""The command line: verbs, exit statuses, summaries, errors without tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from healthhub.cli import cli

VIEW = {"resourceType": "ViewDefinition", "name": "pt", "resource": "Patient", "select": [{"column": [
    {"name": "id", "path": "getResourceKey()", "type": "id"},
    {"name": "gender", "path": "gender", "type": "code"}]}]}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    view = tmp_path / "pt.json"
    view.write_text(json.dumps(VIEW))
    data = tmp_path / "Patient.ndjson"
    data.write_text(
        "\n".join(
            json.dumps({"resourceType": "Patient", "id": f"p{i}", "gender": "female"})
            for i in range(3)
        )
        + "\n"
    )
    return view, data


def test_help_lists_every_verb() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for verb in ("view", "synth", "demo"):
        assert verb in result.output
    view_help = CliRunner().invoke(cli, ["view", "--help"]).output
    for verb in ("run", "test", "sql", "list"):
        assert verb in view_help


def test_view_run_csv_to_stdout(files: tuple[Path, Path]) -> None:
    view, data = files
    result = CliRunner().invoke(cli, ["view", "run", str(view), str(data)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "id,gender"
    assert sorted(lines[1:]) == ["p0,female", "p1,female", "p2,female"]


def test_view_run_json_summary(files: tuple[Path, Path], tmp_path: Path) -> None:
    view, data = files
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        cli, ["view", "run", str(view), str(data), "--format", "parquet", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["received"] == {"Patient": 3}
    assert summary["outputs"][0]["rows"] == 3 and out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["view", "run", "missing-view.json", "x.ndjson"],
            "missing-view.json: no such ViewDefinition file",
        ),
        (
            ["view", "run", "{view}", "missing-input.ndjson"],
            "missing-input.ndjson: no such file or folder",
        ),
        (["view", "run", "{bad}", "{data}"], "invalid FHIRPath"),
        (["view", "test", "missing-tests.json"], "missing-tests.json: no such test file"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    files: tuple[Path, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    view, data = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**VIEW, "select": [{"column": [{"name": "x", "path": "name.("}]}]}))
    argv = [a.format(view=view, data=data, bad=bad) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "healthhub", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_view_test_exits_1_when_a_test_fails(tmp_path: Path) -> None:
    suite = {"resources": [{"resourceType": "Patient", "id": "p1"}], "tests": [
        {"title": "ok", "view": VIEW | {"select": [{"column": [{"name": "id", "path": "id"}]}]}, "expect": [{"id": "p1"}]},
        {"title": "wrong", "view": VIEW | {"select": [{"column": [{"name": "id", "path": "id"}]}]}, "expect": [{"id": "zz"}]},
    ]}  # fmt: skip
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(suite))
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["view", "test", str(path), "--report", str(report)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "1 passed, 1 failed"
    assert json.loads(report.read_text())["suite.json"]["tests"][1] == {
        "name": "wrong",
        "result": {
            "passed": False,
            "reason": json.loads(report.read_text())["suite.json"]["tests"][1]["result"]["reason"],
        },
    }


def test_view_sql_prints_query_and_schema(files: tuple[Path, Path]) -> None:
    view, _ = files
    result = CliRunner().invoke(cli, ["view", "sql", str(view), "--engine", "spark"])
    assert result.exit_code == 0
    assert "-- read schema:" in result.output and "`gender` STRING" not in result.output
    assert "--   gender STRING" in result.output and "SELECT" in result.output


def test_every_verb_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name, command in cli.commands.items():
        sub = getattr(command, "commands", None)
        verbs = [f"healthhub {name} {s}" for s in sub] if sub else [f"healthhub {name}"]
        for verb in verbs:
            assert verb in readme, f"README does not document '{verb}'"


def test_every_setting_is_documented_in_the_readme() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    names = set()
    for path in (root / "src" / "healthhub").rglob("*.py"):
        names.update(re.findall(r"\b(HEALTHHUB_[A-Z_]+)\b", path.read_text()))
    assert names, "the code reads at least one setting"
    for name in sorted(names):
        assert f"`{name}`" in readme, f"README does not document the setting {name}"


def test_no_patient_value_in_messages_or_summary(files: tuple[Path, Path], tmp_path: Path) -> None:
    view, _ = files
    secret = "Philomena-Xanthopoulos"
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        json.dumps({"resourceType": "Patient", "id": "ok", "gender": "male"}) + "\n"
        + '{"resourceType": "Patient", "name": [{"family": "' + secret + '"}\n'
        + json.dumps({"name": [{"family": secret}]}) + "\n"
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "healthhub", "view", "run", str(view), str(bad), "-o", str(tmp_path / "o.csv"), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["problems"] == 2
    assert secret not in proc.stdout and secret not in proc.stderr
    human = subprocess.run(
        [sys.executable, "-m", "healthhub", "view", "run", str(view), str(bad), "-o", str(tmp_path / "p.csv")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "2 bad record(s) set aside in" in human.stdout
    assert secret not in human.stdout and secret not in human.stderr
