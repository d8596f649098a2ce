"""The standardise stage: a run's staging rows to OMOP rows, accounted for, then merged.

1. On the engine (DuckDB or Spark): the staging files become ``stg_fhir__<view>``
   relations; events are gathered and the source codes they use listed.
2. In the warehouse (where the vocabulary is): those codes are looked up once
   (``int__code_map``).
3. On the engine: events are mapped and routed, entity tables built, each OMOP table
   written to ``<work>/omop/<table>.parquet``; every received record is accounted for.
4. In the warehouse: the run's tables are merged (re-sent records replace their rows) and
   derived tables refreshed for the people the run touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from healthhub.engines.base import Engine
from healthhub.engines.dialects import DUCKDB
from healthhub.sources.fhir.runner import library_views
from healthhub.standardize import entities, mapping
from healthhub.standardize.events import events_sql


@dataclass
class StandardizeResult:
    tables: dict[str, int]  # rows written by this run, per OMOP table
    accounting: list[dict[str, Any]]  # resource_type, outcome, reason, records
    coverage: dict[str, dict[str, int]]  # vocabulary -> coded records, mapped to standard
    outputs: dict[str, Path] = field(default_factory=dict)
    records: Path = Path()  # every record received (written or not), with its record key
    stage_seconds: dict[str, float] = field(default_factory=dict)


# child views (several rows per resource): the columns naming one row
CHILD_KEYS = {
    "observation_component": ("observation_id", "component_index"),
    "diagnostic_report_result": ("diagnostic_report_id", "result_index"),
    "imaging_series": ("imaging_study_id", "series_index"),
    "questionnaire_response_item": ("questionnaire_response_id", "item_index", "answer_index"),
}
DUPLICATE = "duplicate: the same resource id came more than once in this delivery (one kept)"


def register_staging(engine: Engine, staging: Path) -> dict[str, int]:
    """Name the staging files ``stg_fhir__<view>``, one row per resource (or child) id.

    A resource sent several times in one delivery (Synthea repeats its practitioners and
    organisations in every bundle) is kept once: the copy last updated. Returns how many
    copies were set aside, by resource type.
    """
    views = library_views()
    sources: dict[str, str] = {}
    duplicates: dict[str, int] = {}
    identified = staging / "identified"  # the identify stage's output wins over flattening's
    for view in views:
        path = identified / f"{view.name}.parquet"
        if not path.exists():
            path = staging / f"{view.name}.parquet"
        if not path.exists():
            raise FileNotFoundError(path)
        sources[view.name] = engine.parquet_source([path])
        if view.name not in CHILD_KEYS and "id" in view.column_names():
            query = f"SELECT count(*) - count(DISTINCT id) AS n FROM {sources[view.name]}"
            _, rows = engine.rows(query)
            if rows[0]["n"]:
                duplicates[view.resource] = int(rows[0]["n"])
    for view in views:
        source = sources[view.name]
        keys = CHILD_KEYS.get(view.name, ("id",) if "id" in view.column_names() else ())
        if view.resource not in duplicates or not keys:  # the usual case: nothing to drop
            engine.register(f"stg_fhir__{view.name}", f"SELECT * FROM {source}")
            continue
        order = "last_updated DESC NULLS LAST" if "last_updated" in view.column_names() else "1"
        query = (
            f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY {', '.join(keys)}"
            f" ORDER BY {order}) AS _copy FROM {source}) WHERE _copy = 1"
        )
        engine.register(f"stg_fhir__{view.name}", engine.dialect.from_reference(query))
    engine.register(
        "int__person_map",
        f"SELECT * FROM {engine.parquet_source([identified / 'person_map.parquet'])}",
    )
    return duplicates


def build_code_map(warehouse: duckdb.DuckDBPyConnection, source_codes: Path, target: Path) -> None:
    from healthhub.standardize.vocabulary import code_systems

    pairs = ", ".join(
        f"({DUCKDB.string(s)}, {DUCKDB.string(v)})" for s, v in code_systems().items()
    )
    warehouse.execute(
        "CREATE OR REPLACE TEMP VIEW int__code_systems AS SELECT * FROM"
        f" (VALUES {pairs}) AS t(system, vocabulary_id)"
    )
    query = mapping.code_map_sql(f"read_parquet({DUCKDB.string(str(source_codes))})")
    warehouse.execute(f"COPY ({query}) TO {DUCKDB.string(str(target))} (FORMAT parquet)")


COVERAGE_SQL = """
SELECT vocabulary_id, count(*) AS records,
       sum(CASE WHEN concept_id <> 0 THEN 1 ELSE 0 END) AS mapped
FROM int__mapped
WHERE final_reason IS NULL AND code IS NOT NULL AND vocabulary_id IS NOT NULL
  AND target_rank = 1
GROUP BY vocabulary_id
"""


def standardize(engine: Engine, warehouse: duckdb.DuckDBPyConnection, provider: str,
                staging: Path, birth_precision: str,
                progress: Callable[[str], None] | None = None) -> StandardizeResult:  # fmt: skip
    """Map one run's staging to OMOP table files under ``staging/omop`` (not merged)."""
    say = progress or (lambda _m: None)
    dialect = engine.dialect
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    p = DUCKDB.string(provider)
    duplicates = register_staging(engine, staging)
    engine.register("int__events", dialect.from_reference(events_sql(p)))
    codes_file = staging / "source_codes.parquet"
    engine.write(dialect.from_reference(mapping.source_codes_sql()), "parquet", codes_file)
    code_map_file = staging / "code_map.parquet"
    build_code_map(warehouse, codes_file, code_map_file)
    engine.register("int__code_map", f"SELECT * FROM {engine.parquet_source([code_map_file])}")
    seconds["vocabulary lookup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("mapping events to standard concepts")
    mapped_file = staging / "mapped.parquet"
    engine.write(dialect.from_reference(mapping.mapped_sql(p)), "parquet", mapped_file)
    engine.register("int__mapped", f"SELECT * FROM {engine.parquet_source([mapped_file])}")
    out = staging / "omop"
    out.mkdir(exist_ok=True)
    queries = {**entities.entity_tables(p, birth_precision), **mapping.event_tables()}
    tables: dict[str, int] = {}
    outputs: dict[str, Path] = {}
    for table, query in queries.items():
        target = out / f"{table}.parquet"
        tables[table] = engine.write(dialect.from_reference(query), "parquet", target)
        outputs[table] = target
    say("OMOP rows: " + ", ".join(f"{t} {n:,}" for t, n in tables.items() if n))
    seconds["map"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    resources = staging / "resources.parquet"  # every received record: type, key, reason
    engine.write(dialect.from_reference(entities.resources_sql(p)), "parquet", resources)
    written = " UNION ALL ".join(
        f"SELECT _record_key FROM {engine.parquet_source([path])}" for path in outputs.values()
    )
    query = entities.accounting_sql(engine.parquet_source([resources]), f"({written})")
    _, accounting = engine.rows(dialect.from_reference(query))
    _, coverage_rows = engine.rows(dialect.from_reference(COVERAGE_SQL))
    coverage = {
        str(r["vocabulary_id"]): {"records": int(r["records"]), "mapped": int(r["mapped"])}
        for r in coverage_rows
    }
    seconds["account"] = time.perf_counter() - t0
    accounting = [
        {k: (int(v) if k == "records" else v) for k, v in row.items()} for row in accounting
    ]
    accounting += [{"resource_type": t, "outcome": "skipped", "reason": DUPLICATE, "records": n}
                   for t, n in duplicates.items()]  # fmt: skip
    accounting = sorted(
        accounting,
        key=lambda r: (r["resource_type"], r["outcome"], r["reason"] or ""),
    )
    return StandardizeResult(tables, accounting, coverage, outputs, resources, seconds)
