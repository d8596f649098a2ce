"""Spark (PySpark, ``local[*]``): the same compiled views when data outgrow one machine."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Any

from healthhub.engines.dialects import SPARK, SqlType
from healthhub.engines.duckdb_engine import view_error_message
from healthhub.exceptions import MissingDependencyError, ViewExecutionError

_views = count(1)
_session: Any = None


def spark_session(threads: int | None = None) -> Any:
    """One local Spark session per process (starting one takes seconds)."""
    global _session
    if _session is not None:
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingDependencyError(
            "the Spark engine needs PySpark: pip install 'healthhub[spark]' (and Java 17)"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    master = f"local[{threads}]" if threads else "local[*]"
    _session = (
        SparkSession.builder.master(master)
        .appName("healthhub")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.legacy.sizeOfNull", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("HEALTHHUB_SPARK_MEMORY", "4g"))
        .config("spark.sql.jsonGenerator.ignoreNullFields", "false")
        .config("spark.sql.analyzer.maxIterations", "1000")
        .config("spark.sql.optimizer.maxIterations", "1000")
        .getOrCreate()
    )
    _session.sparkContext.setLogLevel("FATAL")  # failures reach the caller as exceptions
    _quiet_query_context_loggers()
    return _session


def _quiet_query_context_loggers() -> None:
    """PySpark (4.x) logs each failed query's message on stderr, values quoted: silence it.

    The failure still reaches the caller, as an exception that ``_translate`` reduces.
    """
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # PySpark 3.5 has no such logger
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def _plain(value: Any) -> Any:
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class SparkEngine:
    name = "spark"
    dialect = SPARK
    caches_reads = True

    def __init__(self, threads: int | None = None) -> None:
        self.spark = spark_session(threads)
        for statement in self.dialect.functions:
            self.spark.sql(statement)

    def parquet_source(self, files: Sequence[Path]) -> str:
        name = f"healthhub_source_{next(_views)}"
        self.spark.read.parquet(*[str(f) for f in files]).createOrReplaceTempView(name)
        return name

    def execute(self, sql: str) -> None:
        self._frame(sql)

    def register(self, name: str, query: str) -> None:
        self._frame(query).createOrReplaceTempView(name)

    def ndjson_source(
        self, files: Sequence[Path], schema: Sequence[tuple[str, SqlType]], cache: bool = False
    ) -> str:
        ddl = ", ".join(f"{self.dialect.quote(n)} {self.dialect.render_type(t)}" for n, t in schema)
        frame = (
            self.spark.read.schema(ddl).option("mode", "PERMISSIVE").json([str(f) for f in files])
        )
        if cache:
            frame = frame.cache()
        name = f"healthhub_source_{next(_views)}"
        frame.createOrReplaceTempView(name)
        return name

    def release(self, source: str) -> None:
        self.spark.table(source).unpersist()
        self.spark.catalog.dropTempView(source)

    def _frame(self, query: str) -> Any:
        try:
            return self.spark.sql(query)
        except Exception as exc:  # analysis errors arrive as several exception classes
            raise _translate(exc) from None

    def rows(self, query: str) -> tuple[list[str], list[dict[str, Any]]]:
        frame = self._frame(query)
        try:
            collected = frame.collect()
        except Exception as exc:
            raise _translate(exc) from None
        names = list(frame.columns)
        return names, [{n: _plain(row[n]) for n in names} for row in collected]

    def write(self, query: str, fmt: str, path: Path) -> int:
        """Spark writes part files in parallel; they are joined into one file at ``path``."""
        frame = self._frame(query)
        parts = path.with_name(path.name + ".parts")
        shutil.rmtree(parts, ignore_errors=True)
        try:
            if fmt == "parquet":
                frame.write.option("compression", "zstd").parquet(str(parts))
            elif fmt == "csv":
                from pyspark.sql import functions as F
                from pyspark.sql.types import ArrayType, MapType, StructType

                nested = (ArrayType, MapType, StructType)
                flat = frame.select(
                    *[F.to_json(F.col(f"`{f.name}`")).alias(f.name) if isinstance(f.dataType, nested)
                      else F.col(f"`{f.name}`") for f in frame.schema.fields]
                )  # fmt: skip
                flat.write.option("header", "true").option("escape", '"').csv(str(parts))
            else:
                frame.write.option("ignoreNullFields", "false").json(str(parts))
        except Exception as exc:
            raise _translate(exc) from None
        try:
            return _join_parts(sorted(parts.glob("part-*")), fmt, path, frame.columns)
        finally:
            shutil.rmtree(parts, ignore_errors=True)

    def close(self) -> None:
        """The shared session stays up for the process; nothing to release per engine."""


def _join_parts(parts: list[Path], fmt: str, path: Path, columns: list[str]) -> int:
    """One output file from Spark's part files, streaming (bounded memory)."""
    rows = 0
    if fmt == "parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                rows += table.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no rows: an empty file with no columns is still a valid output
            import pyarrow as pa

            pq.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), path)
        return rows
    with open(path, "wb") as out:
        if fmt == "csv":
            out.write((",".join(columns) + "\n").encode())
        for part in parts:
            with open(part, "rb") as fh:
                if fmt == "csv":
                    fh.readline()  # each part repeats the header
                for line in fh:
                    out.write(line)
                    rows += 1
    return rows


# Error classes raised while analysing the SQL, before any row is read (not CANNOT_PARSE_*,
# which are about values).
_ABOUT_THE_QUERY = ("PARSE_SYNTAX_ERROR", "UNRESOLVED_", "DATATYPE_MISMATCH")


def _translate(exc: Exception) -> Exception:
    """Engine errors, without echoing data: only our own raised messages pass through.

    Spark quotes data values in its messages (``CAST_INVALID_INPUT``: "The value '...'"),
    so only the error class is kept, except for the view errors the compiled SQL raises
    on purpose (``raise_error``, found by their marker) and analysis errors about the SQL.
    """
    text = str(exc)
    kind = str(getattr(exc, "getCondition", lambda: None)() or type(exc).__name__)
    if kind == "USER_RAISED_EXCEPTION":
        raised = text.removeprefix("[USER_RAISED_EXCEPTION] ")
        message = view_error_message(raised)
        if message is not None:
            return ViewExecutionError(message.split(" SQLSTATE: ")[0])
    if kind.startswith(_ABOUT_THE_QUERY):
        # analysis errors: about the SQL text (the view), raised before any row is read
        return ViewExecutionError(f"the engine rejected the query: {text.splitlines()[0][:300]}")
    message = f"the engine failed on the data ({kind})"
    if os.environ.get("HEALTHHUB_DEBUG"):  # for developers on test data: the engine's own words
        message += ": " + text.splitlines()[0][:2000]
    return ViewExecutionError(message)
