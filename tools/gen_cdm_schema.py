"""Regenerate ``src/healthhub/standardize/cdm_v54.json`` from the OMOP CDM v5.4 CSV specs.

Keeps the facts only: for each table its name, schema (CDM, VOCAB, RESULTS) and group
(the section of the CDM documentation it belongs to), and for each column in order its
name, CDM datatype, whether it is required, part of the primary key, and the table and
column a foreign key refers to. The prose of the specification (descriptions, user
guidance, ETL conventions) is not copied.

    python tools/gen_cdm_schema.py ../shared/data/omop-cdm
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/healthhub/standardize/cdm_v54.json"
FIELD_LEVEL = "OMOP_CDMv5.4_Field_Level.csv"
TABLE_LEVEL = "OMOP_CDMv5.4_Table_Level.csv"

#: The tables of the CDM schema by documentation section; VOCAB and RESULTS tables take
#: their group from their schema.
CDM_GROUPS = {
    "clinical": (
        "person", "observation_period", "visit_occurrence", "visit_detail",
        "condition_occurrence", "drug_exposure", "procedure_occurrence", "device_exposure",
        "measurement", "observation", "death", "note", "note_nlp", "specimen",
        "fact_relationship",
    ),
    "health system": ("location", "care_site", "provider"),
    "health economics": ("payer_plan_period", "cost"),
    "derived": ("drug_era", "dose_era", "condition_era", "episode", "episode_event"),
    "metadata": ("metadata", "cdm_source"),
}  # fmt: skip
SCHEMA_GROUPS = {"VOCAB": "vocabulary", "RESULTS": "results"}


def _flag(value: str) -> bool:
    if value not in ("Yes", "No"):
        raise SystemExit(f"expected Yes or No, got {value!r}")
    return value == "Yes"


def _name(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "NA") else value.lower()


def _group(table: str, schema: str) -> str:
    if schema in SCHEMA_GROUPS:
        return SCHEMA_GROUPS[schema]
    for group, tables in CDM_GROUPS.items():
        if table in tables:
            return group
    raise SystemExit(f"table {table} of schema {schema} has no group: add it to CDM_GROUPS")


def build(folder: Path) -> dict[str, object]:
    with open(folder / TABLE_LEVEL, newline="", encoding="utf-8") as fh:
        table_rows = list(csv.DictReader(fh))
    with open(folder / FIELD_LEVEL, newline="", encoding="utf-8") as fh:
        field_rows = list(csv.DictReader(fh))
    columns: dict[str, list[dict[str, object]]] = {}
    for row in field_rows:
        table = row["cdmTableName"].strip().lower()
        fk_table = _name(row["fkTableName"]) if _flag(row["isForeignKey"]) else None
        fk_column = _name(row["fkFieldName"]) if fk_table else None
        columns.setdefault(table, []).append(
            {
                "name": row["cdmFieldName"].strip().strip('"').lower(),  # the spec quotes "offset"
                "cdm_type": row["cdmDatatype"].strip().lower(),
                "required": _flag(row["isRequired"]),
                "primary_key": _flag(row["isPrimaryKey"]),
                "fk_table": fk_table,
                "fk_column": fk_column,
            }
        )
    tables = []
    for row in table_rows:
        name = row["cdmTableName"].strip().lower()
        schema = row["schema"].strip()
        tables.append(
            {
                "name": name,
                "schema": schema,
                "group": _group(name, schema),
                "columns": columns.pop(name),
            }
        )
    if columns:
        raise SystemExit(f"fields of tables absent from {TABLE_LEVEL}: {sorted(columns)}")
    return {
        "cdm_version": "5.4",
        "source": f"OHDSI/CommonDataModel inst/csv/{TABLE_LEVEL}, {FIELD_LEVEL}",
        "tables": tables,
    }


def dump(spec: dict[str, object]) -> str:
    """The spec as JSON with one line per column, so that a diff shows what changed."""
    tables = spec["tables"]
    assert isinstance(tables, list)
    lines = ["{"]
    for key, value in spec.items():
        if key != "tables":
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines.append(' "tables": [')
    for t, table in enumerate(tables):
        head = {key: value for key, value in table.items() if key != "columns"}
        lines.append("  " + json.dumps(head)[:-1] + ', "columns": [')
        columns = table["columns"]
        for c, column in enumerate(columns):
            lines.append("   " + json.dumps(column) + ("," if c < len(columns) - 1 else ""))
        lines.append("  ]}" + ("," if t < len(tables) - 1 else ""))
    lines.extend([" ]", "}"])
    return "\n".join(lines) + "\n"


def main(folder: str) -> None:
    spec = build(Path(folder))
    OUT.write_text(dump(spec), encoding="utf-8")
    print(f"wrote {OUT} ({len(spec['tables'])} tables)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/omop-cdm")
