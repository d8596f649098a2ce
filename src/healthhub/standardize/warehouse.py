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
import pyarrow as pa
import pyarrow.parquet as pq

from healthhub.engines.dialects import DUCKDB
from healthhub.standardize.cdm import CDM_TABLES, cast_select, create_warehouse_tables
from healthhub.standardize.eras import condition_era_sql, drug_era_sql

if TYPE_CHECKING:
    from healthhub.hub.config import Hub

LINEAGE_DDL = """CREATE TABLE IF NOT EXISTS healthhub_lineage (
    table_name VARCHAR NOT NULL, row_id BIGINT NOT NULL, record_key BIGINT NOT NULL,
    patient_key BIGINT)"""
# one row per source Patient (several providers may know one person): person and death
# are chosen from them per person (see ``refresh_people``)
SOURCE_OF = {"person": "healthhub_person_source", "death": "healthhub_death_source"}
SOURCE_DDL = [
    f"CREATE TABLE IF NOT EXISTS {source} AS SELECT *, CAST(NULL AS BIGINT) AS source_record_key"
    f" FROM {table} WHERE false"
    for table, source in SOURCE_OF.items()
]
# identity events (merges, moves) already applied to the warehouse
IDENTITY_EVENTS_DDL = """CREATE TABLE IF NOT EXISTS healthhub_identity_event (
    event_id BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"""

# tables whose rows come from source records (loaded from a run's output)
SOURCED_TABLES = (
    "location", "care_site", "provider", "person", "death", "visit_occurrence", "visit_detail",
    "condition_occurrence", "drug_exposure", "procedure_occurrence", "device_exposure",
    "measurement", "observation", "note", "specimen",
)  # fmt: skip
# each table's row id column (person and death rows are stored per source Patient)
ROW_ID = {name: CDM_TABLES[name].columns[0].name for name in SOURCED_TABLES}
ROW_ID["person"] = ROW_ID["death"] = "source_record_key"
ROW_ID_OF_STORED = {SOURCE_OF.get(t, t): ROW_ID[t] for t in SOURCED_TABLES}
# tables whose rows belong to a person, as stored (lineage names these)
PERSON_TABLES = tuple(
    SOURCE_OF.get(t, t) for t in SOURCED_TABLES if "person_id" in CDM_TABLES[t].column_names
)

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
        for statement in (LINEAGE_DDL, *SOURCE_DDL, IDENTITY_EVENTS_DDL):
            con.execute(statement)
        if not vocabulary_loaded(con):
            load_starter_vocabulary(con)
    finally:
        con.close()


def merge_run(con: duckdb.DuckDBPyConnection, outputs: dict[str, Path], records: Path,
              moves: pa.Table | None = None) -> dict[str, int]:  # fmt: skip
    """Load a run's table files into the warehouse, after the identity events it brings.

    ``records`` lists the record key of every record the run received, written or not:
    the rows these records produced before are deleted first, so a re-sent record replaces
    its rows (or removes them, when it now is skipped, e.g. entered-in-error). ``moves``
    (event_id, patient_key, person_id) re-key the rows of source patients that now belong
    to another person. The people whose rows changed are left in ``run_people``.
    """
    files = {t: p for t, p in outputs.items() if pq.ParquetFile(p).metadata.num_rows > 0}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE run_people (person_id BIGINT)")
        if moves is not None:
            apply_moves(con, moves)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE run_records AS SELECT DISTINCT _record_key FROM"
            f" read_parquet({DUCKDB.string(str(records))})"
        )
        for table in SOURCED_TABLES:
            stored = SOURCE_OF.get(table, table)
            replaced = (
                f"{ROW_ID[table]} IN (SELECT row_id FROM healthhub_lineage WHERE table_name ="
                f" '{stored}' AND record_key IN (SELECT _record_key FROM run_records))"
            )
            if "person_id" in CDM_TABLES[table].column_names:
                con.execute(
                    f"INSERT INTO run_people SELECT person_id FROM {stored} WHERE {replaced}"
                )
            con.execute(f"DELETE FROM {stored} WHERE {replaced}")
        con.execute(
            "DELETE FROM healthhub_lineage WHERE record_key IN (SELECT _record_key FROM run_records)"
        )
        inserted = {}
        for table, path in files.items():
            source = f"read_parquet({DUCKDB.string(str(path))})"
            names = pq.ParquetFile(path).schema_arrow.names
            stored = SOURCE_OF.get(table, table)
            select = cast_select(table, source, names)
            if stored != table:  # stored per source Patient: its record key is the row id
                select = select.replace(f" FROM {source} AS source",
                                        f", source._record_key FROM {source} AS source")  # fmt: skip
            con.execute(f"INSERT INTO {stored} {select}")
            patient = "_patient_key" if "_patient_key" in names else "NULL"
            row_id = "_record_key" if stored != table else ROW_ID[table]
            con.execute(f"INSERT INTO healthhub_lineage SELECT '{stored}', {row_id}, _record_key,"
                        f" {patient} FROM {source}")  # fmt: skip
            if "person_id" in names:
                con.execute(f"INSERT INTO run_people SELECT person_id FROM {source}")
            inserted[table] = pq.ParquetFile(path).metadata.num_rows
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return inserted


def applied_events(con: duckdb.DuckDBPyConnection) -> int:
    """The last identity event the warehouse has applied (0 for none)."""
    return int(con.execute("SELECT coalesce(max(event_id), 0) FROM healthhub_identity_event")
               .fetchall()[0][0])  # fmt: skip


def apply_moves(con: duckdb.DuckDBPyConnection, moves: pa.Table) -> int:
    """Re-key the rows of moved source patients (inside the caller's transaction).

    ``moves`` has event_id, patient_key, person_id; of several moves of one source patient
    the latest event wins. Old and new person ids go to ``run_people``. Returns the rows
    re-keyed.
    """
    con.register("moves_arrow", moves)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE pending_moves AS
        SELECT patient_key, arg_max(person_id, event_id) AS person_id FROM moves_arrow
        WHERE event_id NOT IN (SELECT event_id FROM healthhub_identity_event)
        GROUP BY patient_key""")
    con.execute("""
        INSERT INTO healthhub_identity_event SELECT DISTINCT event_id, now() FROM moves_arrow
        WHERE event_id NOT IN (SELECT event_id FROM healthhub_identity_event)""")
    con.unregister("moves_arrow")
    changed = 0
    for table in PERSON_TABLES:
        row_id = ROW_ID_OF_STORED[table]
        targets = (f"SELECT l.row_id, m.person_id FROM healthhub_lineage l JOIN pending_moves m"
                   f" ON m.patient_key = l.patient_key WHERE l.table_name = '{table}'")  # fmt: skip
        con.execute(f"INSERT INTO run_people SELECT t.person_id FROM {table} t WHERE t.{row_id} IN"
                    f" (SELECT row_id FROM ({targets}))")  # fmt: skip
        result = con.execute(
            f"UPDATE {table} SET person_id = m.person_id FROM ({targets}) m"
            f" WHERE {table}.{row_id} = m.row_id"
        ).fetchall()
        changed += int(result[0][0]) if result else 0
    con.execute("INSERT INTO run_people SELECT DISTINCT person_id FROM pending_moves")
    return changed


def refresh_people(con: duckdb.DuckDBPyConnection, touched: str) -> None:
    """``person`` and ``death`` of the touched people, from their source Patients' rows.

    Of several source Patients of one person, the person row is the one whose birth date
    most of them agree on, then the most precise birth date, then a stable order; death is
    the earliest date reported.
    """
    person_columns = ", ".join(CDM_TABLES["person"].column_names)
    death_columns = ", ".join(CDM_TABLES["death"].column_names)
    con.execute(f"DELETE FROM person WHERE {touched}")
    con.execute(f"""
        INSERT INTO person SELECT {person_columns} FROM (
            SELECT s.*, row_number() OVER (PARTITION BY person_id ORDER BY votes DESC,
                precision DESC, source_record_key) AS choice
            FROM (SELECT *, count(*) OVER (PARTITION BY person_id, year_of_birth,
                         month_of_birth, day_of_birth) AS votes,
                     CAST(month_of_birth IS NOT NULL AS INTEGER)
                         + CAST(day_of_birth IS NOT NULL AS INTEGER) AS precision
                  FROM healthhub_person_source WHERE {touched}) s)
        WHERE choice = 1""")
    con.execute(f"DELETE FROM death WHERE {touched}")
    con.execute(f"""
        INSERT INTO death SELECT {death_columns} FROM (
            SELECT *, row_number() OVER (PARTITION BY person_id
                ORDER BY death_date, source_record_key) AS choice
            FROM healthhub_death_source WHERE {touched} AND person_id IN
                (SELECT person_id FROM healthhub_person_source))
        WHERE choice = 1""")


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
        t0 = time.perf_counter()
        refresh_people(con, touched)
        seconds["person"] = time.perf_counter() - t0
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
