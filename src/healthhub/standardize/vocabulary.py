"""OMOP standardised vocabularies: bulk-load an Athena download, local maps, the starter set.

`load_vocabulary` reads the files of an OHDSI Athena download (CONCEPT, CONCEPT_RELATIONSHIP,
CONCEPT_ANCESTOR, CONCEPT_SYNONYM, VOCABULARY, DOMAIN, CONCEPT_CLASS, RELATIONSHIP,
DRUG_STRENGTH; names in any case, ending .csv, .tsv or .txt) with DuckDB's CSV reader and
explicit column types. The layout is read from each file: the delimiter from its header
line (Athena: tab, unquoted; otherwise comma with double quotes) and the date format from
its first dated row (Athena: YYYYMMDD; otherwise YYYY-MM-DD).

A vocabulary release is loaded whole: each table for which a file is found is emptied and
refilled, the others are left as they are; the load runs in one transaction, so a bad
file leaves the warehouse unchanged (call it outside a transaction of your own). Several
folders may be given: the files of one table are combined, and where two folders give a
row with the same key (CONCEPT: concept_id; CONCEPT_RELATIONSHIP: concept_id_1,
concept_id_2, relationship_id; see `TABLE_KEYS`) the row of the later folder wins. Rows of
one file are loaded as they are.

`load_source_to_concept_map` adds a local SOURCE_TO_CONCEPT_MAP file; `load_starter_vocabulary`
loads the small vocabulary shipped with healthhub that covers the synthetic generator's
codes (see ``tools/gen_starter_vocabulary.py``).
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from healthhub.engines.dialects import DUCKDB
from healthhub.exceptions import InputFileError
from healthhub.model.omop import TableSpec
from healthhub.standardize.cdm import CDM_TABLES, create_table_sql, create_warehouse_tables, quote

#: The tables of an Athena download, in load order, with the columns that identify a row.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "vocabulary": ("vocabulary_id",),
    "domain": ("domain_id",),
    "concept_class": ("concept_class_id",),
    "relationship": ("relationship_id",),
    "concept": ("concept_id",),
    "concept_relationship": ("concept_id_1", "concept_id_2", "relationship_id"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "concept_synonym": ("concept_id", "concept_synonym_name", "language_concept_id"),
    "drug_strength": ("drug_concept_id", "ingredient_concept_id"),
}
SUFFIXES = (".csv", ".tsv", ".txt")
STCM_KEY = ("source_vocabulary_id", "source_code", "target_concept_id")
STCM_REQUIRED = ("source_code", "source_vocabulary_id", "target_concept_id")
DEFAULT_VALID_START = "1970-01-01"
DEFAULT_VALID_END = "2099-12-31"
ATHENA_DATES = "%Y%m%d"
ISO_DATES = "%Y-%m-%d"
_SAMPLE_LINES = 200

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class VocabularySummary:
    """What `load_vocabulary` did: rows now in each table it loaded, and the time taken."""

    rows: dict[str, int]
    files: dict[str, tuple[Path, ...]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "files": {table: [str(p) for p in paths] for table, paths in self.files.items()},
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class CsvLayout:
    """How one delimited file is written: found from its header and first rows."""

    path: Path
    delimiter: str
    quoted: bool
    columns: tuple[str, ...]  # header names, lower-case, in file order
    date_format: str


# -- reading files -----------------------------------------------------------------------


def _header_fields(line: str, delimiter: str, quoted: bool) -> list[str]:
    if quoted:
        return next(csv.reader([line], delimiter=delimiter))
    return line.split(delimiter)


def _date_format(path: Path, layout: CsvLayout, date_columns: Sequence[str]) -> str:
    """The date format of the file's first non-empty date, or the layout's default."""
    default = ISO_DATES if layout.quoted else ATHENA_DATES
    positions = [layout.columns.index(c) for c in date_columns if c in layout.columns]
    if not positions:
        return default
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if layout.quoted:
            rows: Iterator[list[str]] = csv.reader(fh, delimiter=layout.delimiter)
        else:
            rows = (line.rstrip("\r\n").split(layout.delimiter) for line in fh)
        next(rows, None)
        for number, row in enumerate(rows, start=2):
            if number > _SAMPLE_LINES:
                break
            for position in positions:
                value = row[position].strip() if position < len(row) else ""
                if re.fullmatch(r"\d{8}", value):
                    return ATHENA_DATES
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    return ISO_DATES
                if value:
                    column = layout.columns[position]
                    raise InputFileError(
                        f"{path}: line {number}: column {column}: dates must be written "
                        "YYYYMMDD (Athena) or YYYY-MM-DD"
                    )
    return default


def read_layout(path: Path, date_columns: Sequence[str] = ()) -> CsvLayout:
    """The delimiter, quoting, header and date format of a delimited file."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = fh.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot be read as UTF-8 text ({error})") from None
    if not header.strip():
        raise InputFileError(f"{path}: line 1: the file is empty; a header line is expected")
    if "\t" in header:
        delimiter, quoted = "\t", False
    elif "," in header:
        delimiter, quoted = ",", True
    else:
        raise InputFileError(
            f"{path}: line 1: cannot tell the delimiter; files must be tab-separated "
            "(Athena) or comma-separated with a header line"
        )
    columns = tuple(
        name.strip().strip('"').lower() for name in _header_fields(header, delimiter, quoted)
    )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InputFileError(f"{path}: line 1: duplicate columns {', '.join(duplicates)}")
    layout = CsvLayout(path, delimiter, quoted, columns, "")
    return CsvLayout(path, delimiter, quoted, columns, _date_format(path, layout, date_columns))


def read_csv_sql(layout: CsvLayout, types: dict[str, str]) -> str:
    """A DuckDB ``read_csv(...)`` call for the file, columns typed (VARCHAR if not given)."""
    columns = ", ".join(
        f"{DUCKDB.string(name)}: {DUCKDB.string(types.get(name, 'VARCHAR'))}"
        for name in layout.columns
    )
    quote_char = '"' if layout.quoted else ""
    return (
        f"read_csv({DUCKDB.string(str(layout.path))}, auto_detect = false, header = true, "
        f"delim = {DUCKDB.string(layout.delimiter)}, quote = {DUCKDB.string(quote_char)}, "
        f"escape = {DUCKDB.string(quote_char)}, dateformat = {DUCKDB.string(layout.date_format)}, "
        f"columns = {{{columns}}})"
    )


def _check_header(layout: CsvLayout, spec: TableSpec, required: Sequence[str]) -> None:
    missing = [name for name in required if name not in layout.columns]
    if missing:
        raise InputFileError(
            f"{layout.path}: line 1: the header lacks column(s) {', '.join(missing)} "
            f"of the {spec.name.upper()} table"
        )


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERSION = re.compile(r'Error when converting column "([^"]+)"\..* to \'([^\']+)\'')
_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def file_error(path: Path, error: duckdb.Error, date_format: str = ISO_DATES) -> InputFileError:
    """A user error naming the file, line and problem of a failed CSV read, without values."""
    message = str(error)
    line = _LINE.search(message)
    where = f"{path}: line {line.group(1)}" if line else str(path)
    conversion = _CONVERSION.search(message)
    fields = _FIELDS.search(message)
    if conversion:
        column, sql_type = conversion.groups()
        written = {ATHENA_DATES: "YYYYMMDD", ISO_DATES: "YYYY-MM-DD"}.get(date_format, date_format)
        expected = {"DATE": f"a date written {written}"}.get(
            sql_type, f"a value of type {sql_type}"
        )
        reason = f"column {column}: expected {expected}"
    elif fields:
        reason = f"expected {fields.group(1)} fields, found {fields.group(2)}"
    else:
        reason = message.split("\n", 1)[0]
    return InputFileError(f"{where}: {reason}")


# -- loading a vocabulary ----------------------------------------------------------------


def find_vocabulary_files(folders: Sequence[Path]) -> dict[str, list[Path]]:
    """The files of each vocabulary table in the folders, in folder order."""
    found: dict[str, list[Path]] = {}
    for folder in folders:
        if not folder.is_dir():
            raise InputFileError(
                f"{folder}: not a folder; give the folder of a vocabulary download"
            )
        in_folder: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            table = path.stem.lower()
            if path.suffix.lower() not in SUFFIXES or table not in TABLE_KEYS:
                continue
            if table in in_folder:
                raise InputFileError(
                    f"{folder}: both {in_folder[table].name} and {path.name} hold "
                    f"{table.upper()}; keep one"
                )
            in_folder[table] = path
        for table, path in in_folder.items():
            found.setdefault(table, []).append(path)
    if "concept" not in found:
        names = ", ".join(str(folder) for folder in folders) or "(no folder given)"
        raise InputFileError(
            f"no CONCEPT file in {names}: give the folder of an OHDSI Athena download "
            "(CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, ...)"
        )
    return found


def _table_select(layout: CsvLayout, spec: TableSpec) -> str:
    """SELECT of the table's columns from one file; columns the file lacks are NULL."""
    columns = ", ".join(
        quote(c.name)
        if c.name in layout.columns
        else f"CAST(NULL AS {c.sql_type}) AS {quote(c.name)}"
        for c in spec.columns
    )
    types = {c.name: c.sql_type for c in spec.columns}
    return f"SELECT {columns} FROM {read_csv_sql(layout, types)}"


def _insert_files(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, layouts: Sequence[CsvLayout]
) -> int:
    """Insert the files' rows, later files first; an earlier file adds only new keys."""
    rows = 0
    key = TABLE_KEYS[spec.name]
    for number, layout in enumerate(reversed(layouts)):
        select = _table_select(layout, spec)
        if number:
            match = " AND ".join(f"target.{quote(k)} = source.{quote(k)}" for k in key)
            select = (
                f"SELECT * FROM ({select}) AS source WHERE NOT EXISTS "
                f"(SELECT 1 FROM {quote(spec.name)} AS target WHERE {match})"
            )
        try:
            result = con.execute(f"INSERT INTO {quote(spec.name)} {select}").fetchone()
        except duckdb.Error as error:
            raise file_error(layout.path, error, layout.date_format) from None
        rows += int(result[0]) if result else 0
    return rows


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def load_vocabulary(
    con: duckdb.DuckDBPyConnection,
    folders: Sequence[Path],
    progress: Progress | None = None,
) -> VocabularySummary:
    """Load the vocabulary files found in `folders`; each table found is replaced.

    `progress`, if given, is called with each table's name and row count once loaded.
    Raises `InputFileError` (a `UserError`) naming the file and line of a problem.
    """
    started = time.perf_counter()
    folders = [Path(folder) for folder in folders]
    found = find_vocabulary_files(folders)
    plan: list[tuple[TableSpec, list[CsvLayout]]] = []
    for table in TABLE_KEYS:
        if table not in found:
            continue
        spec = CDM_TABLES[table]
        dates = [c.name for c in spec.columns if c.sql_type == "DATE"]
        layouts = [read_layout(path, dates) for path in found[table]]
        for layout in layouts:
            _check_header(layout, spec, spec.required_columns)
        plan.append((spec, layouts))
    rows: dict[str, int] = {}
    create_warehouse_tables(con, TABLE_KEYS)
    with _transaction(con):
        for spec, layouts in plan:
            con.execute(f"DROP TABLE {quote(spec.name)}")
            con.execute(create_table_sql(spec))
            rows[spec.name] = _insert_files(con, spec, layouts)
            if progress is not None:
                progress(spec.name, rows[spec.name])
    files = {spec.name: tuple(layout.path for layout in layouts) for spec, layouts in plan}
    return VocabularySummary(rows, files, time.perf_counter() - started)


# -- local maps ----------------------------------------------------------------------------


def _check_map_rows(layout: CsvLayout) -> None:
    """Every row has a source code, vocabulary and an integer target_concept_id."""
    positions = {name: layout.columns.index(name) for name in STCM_REQUIRED}
    with open(layout.path, encoding="utf-8-sig", newline="") as fh:
        if layout.quoted:
            reader: Iterator[list[str]] = csv.reader(fh, delimiter=layout.delimiter)
        else:
            reader = (line.rstrip("\r\n").split(layout.delimiter) for line in fh)
        next(reader, None)
        for number, row in enumerate(reader, start=2):
            if not row or row == [""]:
                continue
            for name, position in positions.items():
                value = row[position].strip() if position < len(row) else ""
                if not value:
                    raise InputFileError(f"{layout.path}: line {number}: {name} is empty")
                if name == "target_concept_id" and not re.fullmatch(r"[+-]?\d+", value):
                    raise InputFileError(
                        f"{layout.path}: line {number}: target_concept_id must be an integer "
                        "concept id (0 when there is no match)"
                    )


def load_source_to_concept_map(con: duckdb.DuckDBPyConnection, file: Path) -> int:
    """Load a local SOURCE_TO_CONCEPT_MAP file; its rows replace those with the same key.

    The key is (source_vocabulary_id, source_code, target_concept_id). source_code,
    source_vocabulary_id and target_concept_id are required; missing optional columns get
    defaults: source_concept_id 0, target_vocabulary_id the target concept's vocabulary
    (or 'None'), valid dates 1970-01-01 to 2099-12-31. Other columns are ignored. Returns
    the number of rows loaded.
    """
    file = Path(file)
    if not file.is_file():
        raise InputFileError(f"{file}: no such file")
    spec = CDM_TABLES["source_to_concept_map"]
    layout = read_layout(file, ("valid_start_date", "valid_end_date"))
    _check_header(layout, spec, STCM_REQUIRED)
    _check_map_rows(layout)
    create_warehouse_tables(con, ("concept", "source_to_concept_map"))
    types = {c.name: c.sql_type for c in spec.columns}
    present = set(layout.columns)

    def value(name: str, default: str) -> str:
        return f"COALESCE(staged.{quote(name)}, {default})" if name in present else default

    target_vocabulary = (
        "COALESCE((SELECT c.vocabulary_id FROM concept AS c "
        "WHERE c.concept_id = staged.target_concept_id), 'None')"
    )
    columns = {
        "source_code": "staged.source_code",
        "source_concept_id": value("source_concept_id", "0"),
        "source_vocabulary_id": "staged.source_vocabulary_id",
        "source_code_description": value("source_code_description", "NULL"),
        "target_concept_id": "staged.target_concept_id",
        "target_vocabulary_id": value("target_vocabulary_id", target_vocabulary),
        "valid_start_date": value("valid_start_date", f"DATE '{DEFAULT_VALID_START}'"),
        "valid_end_date": value("valid_end_date", f"DATE '{DEFAULT_VALID_END}'"),
        "invalid_reason": value("invalid_reason", "NULL"),
    }
    select = ", ".join(f"{expression} AS {quote(name)}" for name, expression in columns.items())
    key = ", ".join(quote(k) for k in STCM_KEY)
    staged = "_healthhub_staged_source_to_concept_map"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT {select} "
            f"FROM {read_csv_sql(layout, types)} AS staged"
        )
    except duckdb.Error as error:
        raise file_error(file, error, layout.date_format) from None
    try:
        with _transaction(con):
            con.execute(
                f"DELETE FROM source_to_concept_map WHERE ({key}) IN (SELECT ({key}) FROM {staged})"
            )
            result = con.execute(
                f"INSERT INTO source_to_concept_map SELECT * FROM {staged}"
            ).fetchone()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {staged}")
    return int(result[0]) if result else 0


# -- the starter vocabulary and rules ----------------------------------------------------


def load_starter_vocabulary(
    con: duckdb.DuckDBPyConnection, progress: Progress | None = None
) -> VocabularySummary:
    """Load the starter vocabulary shipped with healthhub (the synthetic generator's codes)."""
    folder = resources.files("healthhub.standardize").joinpath("starter")
    if isinstance(folder, Path):
        return load_vocabulary(con, [folder], progress)
    with tempfile.TemporaryDirectory() as tmp:  # installed as a zip: copy the files out
        for entry in folder.iterdir():
            if entry.is_file():
                with entry.open("rb") as source, open(Path(tmp) / entry.name, "wb") as target:
                    shutil.copyfileobj(source, target)
        return load_vocabulary(con, [Path(tmp)], progress)


def vocabulary_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection has a CONCEPT table with at least one row."""
    try:
        row = con.execute("SELECT EXISTS (SELECT 1 FROM concept)").fetchone()
    except duckdb.CatalogException:
        return False
    return bool(row and row[0])


@cache
def _code_systems() -> tuple[tuple[str, str], ...]:
    text = (
        resources.files("healthhub.standardize")
        .joinpath("rules/code_systems.csv")
        .read_text("utf-8")
    )
    return tuple((row["system"], row["vocabulary_id"]) for row in csv.DictReader(text.splitlines()))


def code_systems() -> dict[str, str]:
    """FHIR code-system URI -> OMOP vocabulary_id, from ``rules/code_systems.csv``."""
    return dict(_code_systems())
