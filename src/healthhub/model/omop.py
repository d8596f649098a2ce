"""OMOP CDM table specifications as values: tables, their columns, keys and types.

Pure data, no I/O: `healthhub.standardize.cdm` builds these from the generated
``cdm_v54.json`` and turns them into DuckDB tables and SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Table groups, as the sections of the OMOP CDM v5.4 documentation name them.
GROUPS = (
    "clinical",
    "health system",
    "health economics",
    "derived",
    "metadata",
    "vocabulary",
    "results",
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an OMOP table.

    `cdm_type` is the specification's datatype (``integer``, ``varchar(50)``, ``date``,
    ...); `sql_type` the DuckDB type the warehouse uses. A foreign key names the table and
    column it refers to, both lower-case.
    """

    name: str
    cdm_type: str
    sql_type: str
    required: bool
    primary_key: bool
    fk_table: str | None = None
    fk_column: str | None = None

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower():
            raise ValueError(f"column name must be lower-case and not empty: {self.name!r}")
        if (self.fk_table is None) != (self.fk_column is None):
            raise ValueError(f"column {self.name}: a foreign key names a table and a column")

    @property
    def foreign_key(self) -> bool:
        return self.fk_table is not None


@dataclass(frozen=True)
class TableSpec:
    """One OMOP table: its name, its documentation group and its columns in order."""

    name: str
    group: str
    columns: tuple[ColumnSpec, ...]

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"table {self.name}: unknown group {self.group!r}")
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        if not names:
            raise ValueError(f"table {self.name}: no columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """The primary-key column names (empty for tables without one)."""
        return tuple(column.name for column in self.columns if column.primary_key)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> ColumnSpec:
        """The column called `name`; KeyError if the table has none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")
