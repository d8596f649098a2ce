"""Run ViewDefinitions over FHIR inputs on an engine, and account for every resource.

Views over the same resource type share one read of the input when the engine can hold
it (a typed table with the union of the views' read schemas); each view's rows go to
its own output file. The summary says, for every resource type received, which views
flattened it or that it was skipped, and lists the records set aside in quarantine.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from healthhub.engines.base import OUTPUT_FORMATS, Engine
from healthhub.engines.dialects import ListOf, SqlType, StructOf
from healthhub.exceptions import UserError
from healthhub.sources.fhir.compiler import CompiledView, compile_view
from healthhub.sources.fhir.inputs import stage_inputs
from healthhub.sources.fhir.viewdef import ViewDefinition, load_view

EXTENSIONS = {"csv": "csv", "ndjson": "ndjson", "parquet": "parquet"}


def library_views() -> list[ViewDefinition]:
    """The ViewDefinitions shipped with healthhub, one or more per resource type."""
    folder = resources.files("healthhub.sources.fhir").joinpath("views")
    views = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            with resources.as_file(entry) as path:
                views.append(load_view(path))
    return views


def load_views(spec: Path | str) -> list[ViewDefinition]:
    """A view file, a folder of view files, or ``@library`` for the shipped views."""
    if str(spec) == "@library":
        return library_views()
    path = Path(spec)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise UserError(f"{path}: no ViewDefinition (*.json) in this folder")
        return [load_view(f) for f in files]
    return [load_view(path)]


@dataclass
class ViewOutput:
    view: str
    resource: str
    rows: int
    path: str | None


@dataclass
class RunSummary:
    engine: str
    inputs: int
    received: dict[str, int]
    flattened: dict[str, list[str]]  # resource type -> views that flattened it
    skipped: dict[str, int]  # resource type -> count, no view for it
    outputs: list[ViewOutput]
    problems: int
    quarantine: str | None
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)  # by type ("" when unknown)

    @property
    def resources(self) -> int:
        return sum(self.received.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "inputs": self.inputs,
            "resources": self.resources,
            "received": self.received,
            "flattened": self.flattened,
            "skipped": self.skipped,
            "outputs": [vars(o) for o in self.outputs],
            "problems": self.problems,
            "quarantine": self.quarantine,
            "quarantined": self.quarantined,
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
        }


def merge_types(a: SqlType, b: SqlType) -> SqlType:
    """The union of two read types (struct fields merged); raise ValueError on conflict."""
    if a == b:
        return a
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        return ListOf(merge_types(a.element, b.element))
    if isinstance(a, StructOf) and isinstance(b, StructOf):
        fields: dict[str, SqlType] = dict(a.fields)
        for name, t in b.fields:
            fields[name] = merge_types(fields[name], t) if name in fields else t
        return StructOf(tuple(sorted(fields.items())))
    raise ValueError("conflicting types")


def _shared_schema(compiled: Sequence[CompiledView]) -> tuple[tuple[str, SqlType], ...] | None:
    merged: SqlType = StructOf(())
    try:
        for cv in compiled:
            merged = merge_types(merged, StructOf(tuple(cv.read_schema)))
    except ValueError:
        return None
    assert isinstance(merged, StructOf)
    fields = dict(merged.fields)
    rtype = fields.pop("resourceType")
    return (("resourceType", rtype), *sorted(fields.items()))


def output_path(out: Path, view: ViewDefinition, fmt: str, several: bool) -> Path:
    if several or out.is_dir() or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
        return out / f"{view.name}.{EXTENSIONS[fmt]}"
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def run_views(
    views: Sequence[ViewDefinition],
    inputs: Sequence[Path],
    engine: Engine,
    out: Path | None,
    fmt: str = "csv",
    quarantine_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunSummary:
    """Flatten ``inputs`` with ``views``; write one output per view (or stdout for one CSV)."""
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"unknown format '{fmt}' (choose {', '.join(OUTPUT_FORMATS)})")
    if out is None:
        raise UserError("give an output file or folder: -o OUT")
    names = [v.name for v in views]
    if len(set(names)) != len(names):
        raise UserError("two views have the same name: outputs would collide")
    started = time.perf_counter()
    stages: dict[str, float] = {}
    say = progress or (lambda _message: None)
    compiled = [compile_view(v, engine.dialect.name) for v in views]
    quarantine_path = quarantine_path or Path(f"{out}.quarantine.ndjson")
    outputs: list[ViewOutput] = []
    with tempfile.TemporaryDirectory(prefix="healthhub-stage-") as tmp:
        say("counting and checking inputs")
        t0 = time.perf_counter()
        staged = stage_inputs(inputs, Path(tmp), quarantine_path)
        stages["inventory"] = time.perf_counter() - t0
        say(f"{sum(staged.received.values()):,} resources in {len(staged.files)} file(s)")
        t0 = time.perf_counter()
        by_type: dict[str, list[CompiledView]] = {}
        for cv in compiled:
            by_type.setdefault(cv.resource, []).append(cv)
        for rtype, group in by_type.items():
            files = staged.by_type.get(rtype)
            if not files:
                empty = Path(tmp) / f"{rtype}.empty.ndjson"
                empty.write_bytes(b"")
                files = [empty]
            # Several views of one type share one read where the engine keeps it cheaply
            # (Spark caches it); DuckDB re-reads: measured faster than materialising.
            shared = _shared_schema(group) if len(group) > 1 and engine.caches_reads else None
            shared_source = engine.ndjson_source(files, shared, cache=True) if shared else None
            for cv in group:
                source = shared_source or engine.ndjson_source(files, cv.read_schema)
                target = output_path(out, cv.view, fmt, len(views) > 1)
                say(f"view {cv.view.name} over {staged.received.get(rtype, 0):,} {rtype}")
                rows = engine.write(cv.sql(source), fmt, target)
                outputs.append(ViewOutput(cv.view.name, rtype, rows, str(target)))
            if shared_source:
                engine.release(shared_source)
        stages["flatten"] = time.perf_counter() - t0
    flattened = {t: [cv.view.name for cv in g] for t, g in by_type.items() if t in staged.received}
    skipped = {t: n for t, n in sorted(staged.received.items()) if t not in by_type}
    problems = len(staged.problems)
    quarantined: dict[str, int] = {}
    for problem in staged.problems:
        key = problem.resource_type or ""
        quarantined[key] = quarantined.get(key, 0) + 1
    return RunSummary(
        engine=engine.name,
        inputs=len(staged.files),
        received=dict(sorted(staged.received.items())),
        flattened=flattened,
        skipped=skipped,
        outputs=outputs,
        problems=problems,
        quarantine=str(quarantine_path) if problems else None,
        seconds=time.perf_counter() - started,
        stage_seconds=stages,
        quarantined=dict(sorted(quarantined.items())),
    )
