"""The OMOP CDM v5.4 tables, from the packaged specification, as DuckDB tables and SQL.

`CDM_TABLES` holds every table of the v5.4 specification (clinical, health system, health
economics, derived, metadata, vocabulary and results tables), keyed by lower-case name,
with its columns in the specification's order. ``cdm_v54.json`` is generated from the
OHDSI CSV specification by ``tools/gen_cdm_schema.py``.

Types: the specification's ``integer`` is DuckDB ``INTEGER``, except for columns that hold
row identifiers, which are ``BIGINT``: primary keys, foreign keys to tables other than
CONCEPT (person_id, visit_occurrence_id, provider_id, care_site_id, location_id, ...) and
the few columns that refer to rows without a declared foreign key (fact_id_1,
measurement_event_id, episode_event.event_id, cohort.subject_id, ...). Concept ids stay
32-bit everywhere, CONCEPT's own primary key included, so that a concept id has one type
in every table (local concepts, from 2,000,000,001, fit). ``varchar(n)`` and
``varchar(max)`` are ``VARCHAR``, ``date`` is ``DATE``, ``datetime`` is ``TIMESTAMP``,
``float`` is ``DOUBLE``.

The warehouse tables carry no PRIMARY KEY, FOREIGN KEY or NOT NULL constraints: the
pipeline deletes and re-inserts rows by key, which enforced keys would slow down or
forbid. Keys, references and required columns are described here (`TableSpec`,
`ColumnSpec`) and checked by the tests and the quality checks instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources

import duckdb

from healthhub.model.omop import ColumnSpec, TableSpec

SPEC_FILE = "cdm_v54.json"

#: Integer columns that hold the id of a row of another table without a declared foreign
#: key (the table they point to is given by another column or is implied).
ROW_REFERENCES = frozenset(
    {
        "fact_id_1",
        "fact_id_2",
        "measurement_event_id",
        "observation_event_id",
        "note_event_id",
        "cost_event_id",
        "event_id",
        "episode_parent_id",
        "note_id",
        "payer_plan_period_id",
        "subject_id",
    }
)

_SIMPLE_TYPES = {
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}


def _duckdb_type(name: str, cdm_type: str, primary_key: bool, fk_table: str | None) -> str:
    cdm_type = cdm_type.lower()
    if cdm_type.startswith("varchar"):
        return "VARCHAR"
    if cdm_type not in _SIMPLE_TYPES:
        raise ValueError(f"column {name}: unknown CDM datatype {cdm_type!r}")
    if cdm_type == "integer" and name != "concept_id":
        row_id = primary_key or name in ROW_REFERENCES
        if row_id or (fk_table is not None and fk_table != "concept"):
            return "BIGINT"
    return _SIMPLE_TYPES[cdm_type]


def sql_type(column: ColumnSpec) -> str:
    """The DuckDB type of a CDM column, from its CDM datatype and its keys."""
    return _duckdb_type(column.name, column.cdm_type, column.primary_key, column.fk_table)


def _load_tables() -> dict[str, TableSpec]:
    text = resources.files("healthhub.standardize").joinpath(SPEC_FILE).read_text("utf-8")
    tables: dict[str, TableSpec] = {}
    for table in json.loads(text)["tables"]:
        columns = tuple(
            ColumnSpec(
                name=column["name"],
                cdm_type=column["cdm_type"],
                sql_type=_duckdb_type(
                    column["name"], column["cdm_type"], column["primary_key"], column["fk_table"]
                ),
                required=column["required"],
                primary_key=column["primary_key"],
                fk_table=column["fk_table"],
                fk_column=column["fk_column"],
            )
            for column in table["columns"]
        )
        tables[table["name"]] = TableSpec(table["name"], table["group"], columns)
    return tables


CDM_TABLES: dict[str, TableSpec] = _load_tables()
VOCABULARY_TABLES = tuple(name for name, t in CDM_TABLES.items() if t.group == "vocabulary")


def table_spec(table: str | TableSpec) -> TableSpec:
    """The spec of a CDM table given by name (any case) or spec."""
    if isinstance(table, TableSpec):
        return table
    try:
        return CDM_TABLES[table.lower()]
    except KeyError:
        raise KeyError(f"{table!r} is not an OMOP CDM v5.4 table") from None


def quote(identifier: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def create_table_sql(table: str | TableSpec, schema: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one CDM table, without key constraints."""
    spec = table_spec(table)
    name = f"{quote(schema)}.{quote(spec.name)}" if schema else quote(spec.name)
    columns = ",\n  ".join(f"{quote(c.name)} {c.sql_type}" for c in spec.columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {columns}\n)"


def create_warehouse_tables(
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[str] | None = None,
    schema: str | None = None,
) -> tuple[str, ...]:
    """Create the CDM tables (all, or those named) that do not exist yet; their names.

    Existing tables are left as they are, rows included. `schema`, if given, is created
    when missing and holds the tables.
    """
    names = tuple(CDM_TABLES) if tables is None else tuple(t.lower() for t in tables)
    specs = [table_spec(name) for name in names]
    if schema:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    for spec in specs:
        con.execute(create_table_sql(spec, schema))
    return names


def empty_select(table: str | TableSpec) -> str:
    """A SELECT with the table's columns and types and no row.

    ``SELECT CAST(NULL AS BIGINT) AS "person_id", ... WHERE false``: a typed empty relation
    to start a UNION from or to stand in for a source that has nothing.
    """
    spec = table_spec(table)
    columns = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {quote(c.name)}" for c in spec.columns)
    return f"SELECT {columns} WHERE false"


def cast_select(
    table: str | TableSpec,
    source_relation: str,
    source_columns: Iterable[str] | None = None,
) -> str:
    """A SELECT giving exactly the table's columns, in order and typed, from a relation.

    `source_relation` is a table or view name or a parenthesised subquery that has some of
    the table's columns (matched by name, any case); the others come out NULL and columns
    that are not the table's are dropped. Values are CAST, so a value that does not fit
    its column's type is an error, not a NULL.

    With `source_columns` (the relation's column names) the SELECT names the present
    columns directly. Without, it lets DuckDB find them: the relation is put under an
    untyped empty relation with ``UNION ALL BY NAME``, which fills missing columns with
    NULL.
    """
    spec = table_spec(table)
    if source_columns is not None:
        present = {name.lower(): name for name in source_columns}
        values = [
            f"CAST(source.{quote(present[c.name])} AS {c.sql_type})"
            if c.name in present
            else f"CAST(NULL AS {c.sql_type})"
            for c in spec.columns
        ]
        columns = ", ".join(
            f"{value} AS {quote(c.name)}" for value, c in zip(values, spec.columns, strict=True)
        )
        return f"SELECT {columns} FROM {source_relation} AS source"
    nulls = ", ".join(f"NULL AS {quote(c.name)}" for c in spec.columns)
    columns = ", ".join(
        f"CAST(source.{quote(c.name)} AS {c.sql_type}) AS {quote(c.name)}" for c in spec.columns
    )
    return (
        f"SELECT {columns} FROM (SELECT {nulls} WHERE false "
        f"UNION ALL BY NAME SELECT * FROM {source_relation}) AS source"
    )
