"""The OMOP CDM v5.4 specification as values, as DuckDB tables and as SQL helpers."""

from __future__ import annotations

import csv
import importlib.util
import json
from importlib import resources
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from healthhub.model.omop import GROUPS, ColumnSpec, TableSpec
from healthhub.standardize.cdm import (
    CDM_TABLES,
    VOCABULARY_TABLES,
    cast_select,
    create_warehouse_tables,
    empty_select,
    sql_type,
    table_spec,
)

REPO = Path(__file__).resolve().parents[1]
FIELD_LEVEL = "omop-cdm/OMOP_CDMv5.4_Field_Level.csv"
#: Integer columns holding another table's row id without a declared foreign key: BIGINT.
ROW_REFERENCES = {
    "fact_id_1", "fact_id_2", "measurement_event_id", "observation_event_id", "note_event_id",
    "cost_event_id", "event_id", "episode_parent_id", "note_id", "payer_plan_period_id",
    "subject_id",
}  # fmt: skip


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fields(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / FIELD_LEVEL, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _expected_sql_type(row: dict[str, str]) -> str:
    cdm_type = row["cdmDatatype"].lower()
    if cdm_type.startswith("varchar"):
        return "VARCHAR"
    if cdm_type == "integer":
        fk_table = row["fkTableName"].lower()
        is_row_id = row["isPrimaryKey"] == "Yes" and row["cdmFieldName"] != "concept_id"
        if is_row_id or fk_table not in ("na", "", "concept"):
            return "BIGINT"
        return "BIGINT" if row["cdmFieldName"] in ROW_REFERENCES else "INTEGER"
    return {"date": "DATE", "datetime": "TIMESTAMP", "float": "DOUBLE"}[cdm_type]


def test_every_field_of_the_specification_is_described(fields: list[dict[str, str]]) -> None:
    assert {row["cdmTableName"].lower() for row in fields} == set(CDM_TABLES)
    by_table: dict[str, list[str]] = {}
    for row in fields:
        table = CDM_TABLES[row["cdmTableName"].lower()]
        column = table.column(row["cdmFieldName"].strip('"').lower())
        by_table.setdefault(table.name, []).append(column.name)
        assert column.cdm_type == row["cdmDatatype"].lower()
        assert column.required == (row["isRequired"] == "Yes")
        assert column.primary_key == (row["isPrimaryKey"] == "Yes")
        if row["isForeignKey"] == "Yes":
            assert column.fk_table == row["fkTableName"].lower()
            assert column.fk_column == row["fkFieldName"].lower()
        else:
            assert column.fk_table is None and column.fk_column is None
        assert column.sql_type == sql_type(column) == _expected_sql_type(row), column.name
    for name, columns in by_table.items():
        assert CDM_TABLES[name].column_names == tuple(columns)  # the specification's order


def test_keys_and_groups() -> None:
    assert CDM_TABLES["person"].primary_key == ("person_id",)
    assert CDM_TABLES["concept"].primary_key == ("concept_id",)
    assert CDM_TABLES["concept_relationship"].primary_key == ()
    assert CDM_TABLES["visit_occurrence"].column("person_id").fk_table == "person"
    assert CDM_TABLES["concept"].column("concept_id").sql_type == "INTEGER"  # as every FK to it
    assert CDM_TABLES["person"].column("person_id").sql_type == "BIGINT"
    assert CDM_TABLES["measurement"].column("provider_id").sql_type == "BIGINT"
    assert CDM_TABLES["measurement"].column("unit_concept_id").sql_type == "INTEGER"
    assert CDM_TABLES["fact_relationship"].column("fact_id_2").sql_type == "BIGINT"
    groups = {name: table.group for name, table in CDM_TABLES.items()}
    assert set(groups.values()) <= set(GROUPS)
    assert groups["person"] == "clinical" and groups["care_site"] == "health system"
    assert groups["drug_era"] == "derived" and groups["cdm_source"] == "metadata"
    assert set(VOCABULARY_TABLES) == {
        "concept", "vocabulary", "domain", "concept_class", "concept_relationship",
        "relationship", "concept_synonym", "concept_ancestor", "source_to_concept_map",
        "drug_strength",
    }  # fmt: skip


def test_packaged_spec_is_what_the_tool_generates(shared_data: Path) -> None:
    packaged = resources.files("healthhub.standardize").joinpath("cdm_v54.json").read_text()
    generated = _tool("gen_cdm_schema").build(shared_data / "omop-cdm")
    assert json.loads(packaged) == generated


def test_specs_validate_themselves() -> None:
    column = ColumnSpec("person_id", "integer", "BIGINT", True, True)
    with pytest.raises(ValueError, match="lower-case"):
        ColumnSpec("Person_ID", "integer", "BIGINT", True, True)
    with pytest.raises(ValueError, match="foreign key"):
        ColumnSpec("person_id", "integer", "BIGINT", True, False, "person", None)
    with pytest.raises(ValueError, match="duplicate"):
        TableSpec("person", "clinical", (column, column))
    with pytest.raises(ValueError, match="group"):
        TableSpec("person", "clinic", (column,))
    with pytest.raises(KeyError, match="not an OMOP"):
        table_spec("patient")
    assert table_spec("PERSON") is CDM_TABLES["person"]


def test_create_warehouse_tables_creates_every_table() -> None:
    con = duckdb.connect()
    assert create_warehouse_tables(con) == tuple(CDM_TABLES)
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        found.setdefault(table, []).append((column, data_type))
    assert set(found) == set(CDM_TABLES)
    for name, table in CDM_TABLES.items():
        assert found[name] == [(c.name, c.sql_type) for c in table.columns]
    constraints = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type <> 'NOT NULL'"
    ).fetchone()
    assert constraints == (0,)  # keys are described, not enforced


def test_create_warehouse_tables_keeps_existing_rows() -> None:
    con = duckdb.connect()
    create_warehouse_tables(con, ["person"], schema="cdm")
    con.execute("INSERT INTO cdm.person (person_id, gender_concept_id) VALUES (1, 8507)")
    create_warehouse_tables(con, ["person"], schema="cdm")
    assert con.execute("SELECT count(*) FROM cdm.person").fetchone() == (1,)


def test_empty_select_is_typed_and_empty() -> None:
    relation = duckdb.connect().sql(empty_select("death"))
    assert relation.columns == list(CDM_TABLES["death"].column_names)
    assert [str(t) for t in relation.types] == [c.sql_type for c in CDM_TABLES["death"].columns]
    assert relation.fetchall() == []


@pytest.mark.parametrize("named", [False, True])
def test_cast_select_gives_the_table_columns(named: bool) -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE source AS SELECT '7' AS Person_ID, '2020-02-03' AS death_date, "
        "32817 AS death_type_concept_id, 'x' AS not_a_column"
    )
    columns = ["Person_ID", "death_date", "death_type_concept_id", "not_a_column"]
    sql = cast_select("death", "source", columns if named else None)
    relation = con.sql(sql)
    assert relation.columns == list(CDM_TABLES["death"].column_names)
    assert [str(t) for t in relation.types] == [c.sql_type for c in CDM_TABLES["death"].columns]
    row = dict(zip(relation.columns, relation.fetchall()[0], strict=True))
    assert row["person_id"] == 7 and str(row["death_date"]) == "2020-02-03"
    assert row["death_type_concept_id"] == 32817 and row["cause_concept_id"] is None
    create_warehouse_tables(con, ["death"])
    con.execute(f"INSERT INTO death {sql}")
    assert con.execute("SELECT count(*) FROM death").fetchone() == (1,)


def test_cast_select_rejects_a_value_of_the_wrong_type() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE source AS SELECT 'seven' AS person_id")
    with pytest.raises(duckdb.ConversionException):
        con.sql(cast_select("death", "(SELECT * FROM source)")).fetchall()
