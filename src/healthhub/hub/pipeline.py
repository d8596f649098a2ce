"""The ingest pipeline: land -> flatten -> identify -> standardize, one recorded run.

Each stage's output stays in the run's work folder until the run is standardized, so a
failed run resumes from the stage after the last one it finished. Re-running the same
delivery (same provider, same files) after a failure resumes the failed run.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from healthhub.engines.base import Engine, create_engine
from healthhub.exceptions import HealthhubError, UserError
from healthhub.hub.config import Hub
from healthhub.hub.landing import land_files
from healthhub.hub.lock import hub_lock
from healthhub.hub.runs import PIPELINE, Run, RunStore
from healthhub.identity.keys import KeyStore
from healthhub.sources.fhir.inputs import find_inputs

Progress = Callable[[str], None]
PROVIDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STAGE_NAMES = {"landed": "land", "flattened": "flatten", "identified": "identify",
               "standardized": "standardize"}  # fmt: skip


class RunFailed(HealthhubError):
    """A stage failed; the run is recorded as failed and can be resumed."""

    exit_code = 1


def _quiet(_message: str) -> None:
    pass


def ingest(hub: Hub, provider: str, paths: Sequence[Path], engine_name: str | None = None,
           progress: Progress | None = None) -> dict[str, Any]:  # fmt: skip
    """Receive a provider's delivery and take it through every stage."""
    if not PROVIDER_NAME.fullmatch(provider):
        raise UserError(
            "invalid provider name: use 1 to 64 letters, digits, '.', '-' or '_',"
            " starting with a letter or digit"
        )
    files = find_inputs(paths)  # names the paths when they hold no FHIR file
    with hub_lock(hub.root):
        return _ingest_locked(hub, provider, files, engine_name, progress)


def _ingest_locked(hub: Hub, provider: str, files: list[Path], engine_name: str | None,
                   progress: Progress | None) -> dict[str, Any]:  # fmt: skip
    store = RunStore(hub.governance, hub.landing)
    try:
        sources = [str(f.resolve()) for f in files]
        for run in reversed(store.runs(provider)):
            unfinished = run.state != "standardized"
            if unfinished and [s for s, _ in store.files(run.run_id)] == sources:
                (progress or _quiet)(f"resuming unfinished run {run.run_id} ({run.state})")
                return _drive(hub, store, run, engine_name or run.engine, progress)
        run = store.create(provider, engine_name or hub.engine, [f.resolve() for f in files])
        return _drive(hub, store, run, engine_name or hub.engine, progress)
    finally:
        store.close()


def resume(hub: Hub, run_id: str, engine_name: str | None = None,
           progress: Progress | None = None) -> dict[str, Any]:  # fmt: skip
    with hub_lock(hub.root), closing(RunStore(hub.governance, hub.landing)) as store:
        run = store.get(run_id)
        if run.state == "standardized":
            raise UserError(f"run {run_id} is 'standardized', not failed: nothing to resume")
        return _drive(hub, store, run, engine_name or run.engine, progress)


def _drive(hub: Hub, store: RunStore, run: Run, engine_name: str,
           progress: Progress | None) -> dict[str, Any]:  # fmt: skip
    say = progress or _quiet
    started = time.perf_counter()
    staging = hub.work / run.run_id
    engine: Engine | None = None

    def get_engine() -> Engine:
        nonlocal engine
        if engine is None:
            engine = create_engine(engine_name, memory_limit=hub.memory_limit,
                                   temp_directory=hub.work / "spill")  # fmt: skip
            engine.execute(engine.dialect.salt_function(KeyStore(hub.keys).salt()))
        return engine

    def land() -> dict[str, Any]:
        say(f"run {run.run_id}: landing {len(store.files(run.run_id)):,} file(s)")
        t0 = time.perf_counter()
        landed = land_files(hub, store, run.run_id, run.provider,
                            [Path(s) for s, _ in store.files(run.run_id)], say)  # fmt: skip
        return {"landed_files": len(store.landed_objects(run.run_id)),
                "already_landed": landed.already_landed, "landed_bytes": landed.bytes,
                "stage_seconds": {"land": time.perf_counter() - t0}}  # fmt: skip

    def flatten() -> dict[str, Any]:
        from healthhub.sources.fhir.runner import library_views, run_views

        objects = [Path(o) for o in store.landed_objects(run.run_id)]
        if not objects:
            return {"nothing_new": True}
        shutil.rmtree(staging, ignore_errors=True)
        quarantine = hub.quarantine / f"{run.run_id}.ndjson"
        quarantine.unlink(missing_ok=True)
        summary = run_views(library_views(), objects, get_engine(), staging, "parquet",
                            quarantine, progress=say)  # fmt: skip
        return {"flatten": summary.as_dict(),
                "stage_seconds": {"flatten": summary.seconds}}  # fmt: skip

    def identify() -> dict[str, Any]:
        from healthhub.identity.stage import identify as run_identify

        if store.get(run.run_id).summary.get("nothing_new"):
            return {}
        t0 = time.perf_counter()
        result = run_identify(get_engine(), hub.vault, KeyStore(hub.keys), run.provider,
                              run.run_id, staging, link_settings(hub), hub.memory_limit, say)  # fmt: skip
        say(f"{result.source_patients:,} source patients: {result.new_people:,} new people,"
            f" {result.joined_existing:,} joined people the hub knew, {result.merges:,}"
            f" merge(s), {result.review_pairs:,} pair(s) to review")  # fmt: skip
        return {"identify": result.as_dict(),
                "stage_seconds": {"identify": time.perf_counter() - t0}}  # fmt: skip

    def standardize() -> dict[str, Any]:
        from healthhub.identity.events import pending_moves
        from healthhub.standardize.stage import standardize as run_standardize
        from healthhub.standardize.warehouse import (
            applied_events,
            connect,
            merge_run,
            refresh_derived,
        )

        summary = store.get(run.run_id).summary
        if summary.get("nothing_new"):
            return {}
        from healthhub.hub.sync import check_warehouse_key
        from healthhub.identity.stage import refresh_person_map

        refresh_person_map(hub.vault, KeyStore(hub.keys), staging)
        warehouse = connect(hub.warehouse, memory_limit=hub.memory_limit,
                            temp_directory=hub.work / "spill")  # fmt: skip
        try:
            check_warehouse_key(warehouse, KeyStore(hub.keys))
            result = run_standardize(get_engine(), warehouse, run.provider, staging,
                                     hub.birth_date_precision, say)  # fmt: skip
            t0 = time.perf_counter()
            say("merging into the warehouse")
            moves = pending_moves(hub.vault, KeyStore(hub.keys), applied_events(warehouse))
            merge_run(warehouse, result.outputs, result.records, moves)
            result.stage_seconds["merge"] = time.perf_counter() - t0
            result.stage_seconds.update(refresh_derived(warehouse, hub.name))
        finally:
            warehouse.close()
        return {
            "omop_rows": result.tables,
            "accounting": full_accounting(summary.get("flatten", {}), result.accounting),
            "coverage": result.coverage,
            "stage_seconds": result.stage_seconds,
        }

    stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("landed", land), ("flattened", flatten), ("identified", identify),
        ("standardized", standardize),
    ]  # fmt: skip
    try:
        for state, work in stages[PIPELINE.index(run.reached) :]:
            try:
                result = work()
            except HealthhubError as exc:
                store.fail(run.run_id, f"{STAGE_NAMES[state]}: {exc}")
                failed = RunFailed(f"run {run.run_id} failed before '{state}': {exc}"
                                   f" (fix it, then: healthhub runs resume {run.run_id})")  # fmt: skip
                failed.exit_code = getattr(exc, "exit_code", 1)  # a setting to change: 2
                raise failed from None
            except KeyboardInterrupt:
                store.fail(run.run_id, f"{STAGE_NAMES[state]}: interrupted")
                raise
            except Exception as exc:  # an engine or disk failure: record it, say how to resume
                store.fail(run.run_id, f"{STAGE_NAMES[state]}: {type(exc).__name__}")
                raise RunFailed(f"run {run.run_id} failed before '{state}' ({type(exc).__name__});"
                                f" resume it: healthhub runs resume {run.run_id}") from exc  # fmt: skip
            previous = store.get(run.run_id).summary.get("stage_seconds", {})
            if "stage_seconds" in result:
                result["stage_seconds"] = {**previous, **result["stage_seconds"]}
            store.advance(run.run_id, state, result)  # type: ignore[arg-type]
    finally:
        if engine is not None:
            engine.close()
    final = store.get(run.run_id)
    if final.state == "standardized":
        shutil.rmtree(staging, ignore_errors=True)  # staging held identifiers: gone with the run
    return {**final.as_dict(), "seconds": round(time.perf_counter() - started, 3)}


def link_settings(hub: Hub) -> Any:
    from healthhub.hub.config import memory_bytes
    from healthhub.identity.linkage.link import LinkSettings

    return LinkSettings(link_threshold=hub.link_threshold, review_threshold=hub.review_threshold,
                        max_block_size=hub.max_block_size,
                        memory_budget=memory_bytes(hub.linkage_memory) or 4 * 1000**3)  # fmt: skip


def full_accounting(flatten: dict[str, Any], mapped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every received record: written, skipped (with its reason) or quarantined."""
    rows = list(mapped)
    for rtype, count in flatten.get("skipped", {}).items():
        rows.append({"resource_type": rtype, "outcome": "skipped",
                     "reason": "no view for this resource type", "records": count})  # fmt: skip
    for rtype, count in flatten.get("quarantined", {}).items():
        rows.append({"resource_type": rtype or "(unknown)", "outcome": "quarantined",
                     "reason": "bad record: see the run's quarantine file", "records": count})  # fmt: skip
    return sorted(rows, key=lambda r: (r["resource_type"], r["outcome"], r["reason"] or ""))
