"""Run SQL-on-FHIR v2 conformance test files on an engine and write the test report.

A test file holds fixture resources and tests, each a ViewDefinition with the rows it
must produce (compared as multisets), the columns in order, or an expected error. The
report follows the official test-report layout: ``{file: {"tests": [{"name", "result":
{"passed": bool}}]}}``.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from healthhub.engines.base import Engine
from healthhub.exceptions import HealthhubError, InputFileError
from healthhub.sources.fhir.compiler import compile_view
from healthhub.sources.fhir.viewdef import parse_view


@dataclass
class TestOutcome:
    file: str
    name: str
    passed: bool
    reason: str = ""


@dataclass
class ConformanceResult:
    outcomes: list[TestOutcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = defaultdict(lambda: {"tests": []})
        for o in self.outcomes:
            result: dict[str, Any] = {"passed": o.passed}
            if not o.passed:
                result["reason"] = o.reason
            out[o.file]["tests"].append({"name": o.name, "result": result})
        return dict(out)


def test_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.json") if p.name != "tests.schema.json")
        elif path.exists():
            yield path
        else:
            raise InputFileError(f"{path}: no such test file or folder")


def _normal(value: Any) -> Any:
    """A comparable form: numbers by value, lists and objects recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        f = float(value)
        return int(f) if math.isfinite(f) and f.is_integer() else round(f, 9)
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return str(value)


def _multiset(rows: list[dict[str, Any]]) -> Counter[bytes]:
    return Counter(orjson.dumps(_normal(r), option=orjson.OPT_SORT_KEYS) for r in rows)


def _write_fixtures(resources: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    by_type: dict[str, list[bytes]] = defaultdict(list)
    for resource in resources:
        by_type[str(resource.get("resourceType"))].append(orjson.dumps(resource))
    files = {}
    for rtype, lines in by_type.items():
        path = folder / f"{rtype}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        files[rtype] = path
    return files


def run_test(
    engine: Engine, test: dict[str, Any], fixtures: dict[str, Path], folder: Path
) -> tuple[bool, str]:
    expects_error = bool(test.get("expectError")) or "error" in test
    try:
        view = parse_view(test.get("view"))
        compiled = compile_view(view, engine.dialect.name)
        files = [fixtures[view.resource]] if view.resource in fixtures else []
        if not files:
            empty = folder / "empty.ndjson"
            empty.write_bytes(b"")
            files = [empty]
        source = engine.ndjson_source(files, compiled.read_schema)
        names, rows = engine.rows(compiled.sql(source))
    except HealthhubError as exc:
        if expects_error:
            return True, ""
        return False, f"{type(exc).__name__}: {exc}"
    if expects_error:
        return False, "expected an error, the view ran"
    if "expectColumns" in test and names != test["expectColumns"]:
        return False, f"columns {names} != expected {test['expectColumns']}"
    if "expect" in test:
        got, want = _multiset(rows), _multiset(test["expect"])
        if got != want:
            return False, f"rows differ: got {sorted(got)[:5]} want {sorted(want)[:5]}"
    return True, ""


def run_conformance(engine: Engine, paths: list[Path],
                    on_result: Callable[[TestOutcome], None] | None = None) -> ConformanceResult:  # fmt: skip
    result = ConformanceResult()
    for path in test_files(paths):
        try:
            suite = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise InputFileError(
                f"{path}: not a readable JSON test file ({type(exc).__name__})"
            ) from None
        with tempfile.TemporaryDirectory(prefix="healthhub-conformance-") as tmp:
            fixtures = _write_fixtures(suite.get("resources", []), Path(tmp))
            for test in suite.get("tests", []):
                passed, reason = run_test(engine, test, fixtures, Path(tmp))
                outcome = TestOutcome(path.name, str(test.get("title")), passed, reason)
                result.outcomes.append(outcome)
                if on_result:
                    on_result(outcome)
    return result
