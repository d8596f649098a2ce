"""DuckDB: the embedded default engine and the reference every other engine must match."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from healthhub.engines.dialects import DUCKDB, SqlType
from healthhub.exceptions import UserError, ViewExecutionError

# Prefixed by the view compiler to the messages of the errors its SQL raises on purpose
# (a view location and what went wrong, never a value), so that they alone pass through.
VIEW_ERROR_MARKER = "healthhub view error: "


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBEngine:
    name = "duckdb"
    dialect = DUCKDB
    caches_reads = False

    def __init__(
        self,
        database: str | Path = ":memory:",
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.con = duckdb.connect(str(database))
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_literal(memory_limit)}")
        if temp_directory:
            self.con.execute(f"SET temp_directory = {_literal(str(temp_directory))}")
        self.con.execute("SET preserve_insertion_order = false")
        for statement in self.dialect.functions:
            self.con.execute(statement)

    def ndjson_source(
        self, files: Sequence[Path], schema: Sequence[tuple[str, SqlType]], cache: bool = False
    ) -> str:
        paths = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
        columns = ", ".join(
            f"{_literal(n)}: {_literal(self.dialect.render_type(t))}" for n, t in schema
        )
        return (
            f"read_json({paths}, format = 'newline_delimited', columns = {{{columns}}},"
            " sample_size = 1)"  # the schema is given: sampling records only costs time
        )

    def parquet_source(self, files: Sequence[Path]) -> str:
        return "read_parquet([" + ", ".join(_literal(str(f)) for f in files) + "])"

    def execute(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except duckdb.Error as exc:
            raise _translate(exc) from None

    def register(self, name: str, query: str) -> None:
        self.execute(f"CREATE OR REPLACE TEMP VIEW {self.dialect.quote(name)} AS {query}")

    def release(self, source: str) -> None:
        """Nothing is cached: DuckDB re-reads (faster than materialising, measured)."""

    def rows(self, query: str) -> tuple[list[str], list[dict[str, Any]]]:
        try:
            cursor = self.con.execute(query)
            names = [c[0] for c in cursor.description or []]
            return names, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise _translate(exc) from None

    def write(self, query: str, fmt: str, path: Path) -> int:
        options = {
            "csv": "FORMAT csv, HEADER true",
            "ndjson": "FORMAT json",
            "parquet": "FORMAT parquet, COMPRESSION zstd",
        }[fmt]
        try:
            self.con.execute(f"COPY ({query}) TO {_literal(str(path))} ({options})")
            counted = self.con.fetchone()
        except duckdb.Error as exc:
            raise _translate(exc) from None
        return int(counted[0]) if counted else 0

    def close(self) -> None:
        self.con.close()


def view_error_message(text: str) -> str | None:
    """The message of an ``error()`` that compiled view SQL raised on purpose, else None.

    Only text that starts with ``VIEW_ERROR_MARKER`` counts: an engine error that merely
    quotes a data value containing the marker does not start with it.
    """
    if not text.startswith(VIEW_ERROR_MARKER):
        return None
    return (text[len(VIEW_ERROR_MARKER) :].splitlines() or [""])[0]


# DuckDB's words when a JSON value does not fit the declared column type; the value follows.
_JSON_TRANSFORM = re.compile(
    r'Invalid Input Error: JSON transform error in file "(?P<file>[^"\n]*)", in line (?P<line>\d+):'
)


def _translate(exc: Exception) -> Exception:
    """Engine errors, without echoing data: only our own raised messages pass through.

    Data values reach DuckDB's messages (a failed cast quotes the value), so every error
    is reduced to its class, except the view errors the compiled SQL raises on purpose
    (found by their marker) and the classes about the SQL text, never about data.
    """
    text = str(exc)
    if isinstance(exc, duckdb.InvalidInputException):
        message = view_error_message(text.removeprefix("Invalid Input Error: "))
        if message is not None:
            return ViewExecutionError(message)
    if isinstance(exc, duckdb.IOException):
        return UserError("cannot read input: " + text.splitlines()[0].split(":")[0])
    if isinstance(exc, duckdb.BinderException | duckdb.ParserException | duckdb.CatalogException):
        # raised before any row is read: about the SQL text (the view), never data values
        return ViewExecutionError(f"the engine rejected the query: {text.splitlines()[0][:300]}")
    message = f"the engine failed on the data ({type(exc).__name__})"
    where = _JSON_TRANSFORM.match(text)
    if where:  # the file and line are safe to name; the value DuckDB quotes after them is not
        message += (
            f" in {where['file']}, line {where['line']}:"
            " a value does not have the type the view reads it as"
        )
    if os.environ.get("HEALTHHUB_DEBUG"):  # for developers on test data: the engine's own words
        message += ": " + text.splitlines()[0][:2000]
    return ViewExecutionError(message)
