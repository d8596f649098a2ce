"""The warehouse: OMOP CDM v5.4 in one DuckDB file, and how a run's rows enter it.

Besides the CDM tables the warehouse keeps ``healthhub_lineage`` (table, row id, source
record key): a re-delivered record first removes the rows it produced before, so a
second delivery updates instead of duplicating. The record key is a hash of (provider,
resource type, resource id); it carries no identifier.

Derived tables (observation_period, condition_era, drug_era) are recomputed for the
people a run touched, from everything the warehouse holds about them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow.parquet as pq

from healthhub.engines.dialects import DUCKDB
from healthhub.standardize.cdm import CDM_TABLES, cast_select, create_warehouse_tables
from healthhub.standardize.eras import condition_era_sql, drug_era_sql

if TYPE_CHECKING:
    from healthhub.hub.config import Hub

LINEAGE_DDL = """CREATE TABLE IF NOT EXISTS healthhub_lineage (
    table_name VARCHAR NOT NULL, row_id BIGINT NOT NULL, record_key BIGINT NOT NULL)"""

# tables whose rows come from source records (loaded from a run's output)
SOURCED_TABLES = (
    "location", "care_site", "provider", "person", "death", "visit_occurrence", "visit_detail",
    "condition_occurrence", "drug_exposure", "procedure_occurrence", "device_exposure",
    "measurement", "observation", "note", "specimen",
)  # fmt: skip
# each table's row id column (death has none of its own: one row per person)
ROW_ID = {name: CDM_TABLES[name].columns[0].name for name in SOURCED_TABLES}
ROW_ID["death"] = "person_id"

# (table, person column, start date, end date) feeding observation periods
PERIOD_SOURCES = (
    ("visit_occurrence", "visit_start_date", "visit_end_date"),
    ("condition_occurrence", "condition_start_date", "condition_end_date"),
    ("drug_exposure", "drug_exposure_start_date", "drug_exposure_end_date"),
    ("procedure_occurrence", "procedure_date", "procedure_end_date"),
    ("device_exposure", "device_exposure_start_date", "device_exposure_end_date"),
    ("measurement", "measurement_date", "measurement_date"),
    ("observation", "observation_date", "observation_date"),
    ("note", "note_date", "note_date"),
    ("specimen", "specimen_date", "specimen_date"),
    ("death", "death_date", "death_date"),
)
EHR = 32817
CDM_V54_CONCEPT = 756265


def connect(path: Path, threads: int | None = None, memory_limit: str | None = None,
            temp_directory: Path | None = None) -> duckdb.DuckDBPyConnection:  # fmt: skip
    """A connection to the warehouse with healthhub's SQL functions defined."""
    con = duckdb.connect(str(path))
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {DUCKDB.string(memory_limit)}")
    if temp_directory:
        con.execute(f"SET temp_directory = {DUCKDB.string(str(temp_directory))}")
    for statement in DUCKDB.functions:
        con.execute(statement)
    return con


def create_warehouse(hub: Hub) -> None:
    """All CDM v5.4 tables, the lineage table, and the starter vocabulary when empty."""
    from healthhub.standardize.vocabulary import load_starter_vocabulary, vocabulary_loaded

    con = connect(hub.warehouse)
    try:
        create_warehouse_tables(con)
        con.execute(LINEAGE_DDL)
        if not vocabulary_loaded(con):
            load_starter_vocabulary(con)
    finally:
        con.close()


def merge_run(con: duckdb.DuckDBPyConnection, outputs: dict[str, Path],
              records: Path) -> dict[str, int]:  # fmt: skip
    """Load a run's table files into the warehouse.

    ``records`` lists the record key of every record the run received, written or not:
    the rows these records produced before are deleted first, so a re-sent record replaces
    its rows (or removes them, when it now is skipped, e.g. entered-in-error). The people
    whose rows changed are left in the temporary table ``run_people``.
    """
    files = {t: p for t, p in outputs.items() if pq.ParquetFile(p).metadata.num_rows > 0}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE run_records AS SELECT DISTINCT _record_key FROM"
            f" read_parquet({DUCKDB.string(str(records))})"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE run_people (person_id BIGINT)")
        for table in SOURCED_TABLES:
            replaced = (
                f"{ROW_ID[table]} IN (SELECT row_id FROM healthhub_lineage WHERE table_name ="
                f" '{table}' AND record_key IN (SELECT _record_key FROM run_records))"
            )
            if "person_id" in CDM_TABLES[table].column_names:
                con.execute(
                    f"INSERT INTO run_people SELECT person_id FROM {table} WHERE {replaced}"
                )
            con.execute(f"DELETE FROM {table} WHERE {replaced}")
        con.execute(
            "DELETE FROM healthhub_lineage WHERE record_key IN (SELECT _record_key FROM run_records)"
        )
        inserted = {}
        for table, path in files.items():
            source = f"read_parquet({DUCKDB.string(str(path))})"
            names = pq.ParquetFile(path).schema_arrow.names
            con.execute(f"INSERT INTO {table} {cast_select(table, source, names)}")
            con.execute(
                f"INSERT INTO healthhub_lineage SELECT '{table}', {ROW_ID[table]}, _record_key"
                f" FROM {source}"
            )
            if "person_id" in names:
                con.execute(f"INSERT INTO run_people SELECT person_id FROM {source}")
            inserted[table] = pq.ParquetFile(path).metadata.num_rows
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return inserted


def refresh_derived(con: duckdb.DuckDBPyConnection, hub_name: str) -> dict[str, float]:
    """Recompute observation periods and eras of the people in ``run_people``.

    Returns the seconds each derived table took.
    """
    touched = "person_id IN (SELECT DISTINCT person_id FROM run_people)"
    periods = " UNION ALL ".join(
        f"SELECT person_id, {s} AS s, coalesce({e}, {s}) AS e FROM {t} WHERE {touched}"
        for t, s, e in PERIOD_SOURCES
    )
    derived = {
        "observation_period": f"""
            SELECT hh_key(concat_ws('|', 'observation_period', person_id))
                AS observation_period_id, person_id,
                min(s) AS observation_period_start_date, max(e) AS observation_period_end_date,
                {EHR} AS period_type_concept_id
            FROM ({periods}) WHERE s IS NOT NULL GROUP BY person_id""",
        "condition_era": condition_era_sql(f"(SELECT * FROM condition_occurrence WHERE {touched})"),
        "drug_era": drug_era_sql(
            f"(SELECT * FROM drug_exposure WHERE {touched})", "concept_ancestor", "concept"
        ),
    }
    seconds: dict[str, float] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, query in derived.items():
            t0 = time.perf_counter()
            con.execute(f"DELETE FROM {table} WHERE {touched}")
            con.execute(f"INSERT INTO {table} {query}")
            seconds[table] = time.perf_counter() - t0
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    _cdm_source(con, hub_name)
    return seconds


def _cdm_source(con: duckdb.DuckDBPyConnection, hub_name: str) -> None:
    row = con.execute(
        "SELECT vocabulary_version FROM vocabulary WHERE vocabulary_id = 'None'"
    ).fetchone()
    version = row[0] if row else "healthhub starter vocabulary"
    con.execute("DELETE FROM cdm_source")
    con.execute(
        "INSERT INTO cdm_source (cdm_source_name, cdm_source_abbreviation, cdm_holder,"
        " source_description, cdm_etl_reference, source_release_date, cdm_release_date,"
        " cdm_version, cdm_version_concept_id, vocabulary_version) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, '5.4', ?, ?)",
        [hub_name, hub_name[:25], hub_name, "healthhub hub: FHIR R4 deliveries standardised to"
         " OMOP CDM v5.4", "healthhub", date.today(), date.today(), CDM_V54_CONCEPT, version],
    )  # fmt: skip


def table_counts(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str] | None = None
) -> dict[str, int]:
    names = tables or [t for t, spec in CDM_TABLES.items() if spec.group != "vocabulary"]
    counts = {}
    for table in names:
        counts[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    return counts
