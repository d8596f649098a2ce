"""The engine protocol: what a stage needs from DuckDB, Spark, or any later engine."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from healthhub.engines.dialects import Dialect, SqlType

OUTPUT_FORMATS = ("csv", "ndjson", "parquet")


class Engine(Protocol):
    name: str
    dialect: Dialect
    caches_reads: bool  # whether a cached read is cheaper than reading again

    def ndjson_source(
        self, files: Sequence[Path], schema: Sequence[tuple[str, SqlType]], cache: bool = False
    ) -> str:
        """A relation (SQL text) reading these NDJSON files with this explicit schema."""
        ...

    def parquet_source(self, files: Sequence[Path]) -> str:
        """A relation (SQL text) reading these Parquet files."""
        ...

    def execute(self, sql: str) -> None:
        """Run a statement in this engine's own dialect (DDL, SET, ...)."""
        ...

    def register(self, name: str, query: str) -> None:
        """Name a query (this engine's dialect) as a temporary view; replace an older one."""
        ...

    def release(self, source: str) -> None:
        """Free what ``ndjson_source(..., cache=True)`` holds."""
        ...

    def rows(self, query: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Run a query; return its column names and rows as plain Python values."""
        ...

    def write(self, query: str, fmt: str, path: Path) -> int:
        """Run a query and write its result to ``path`` in ``fmt``; return the row count."""
        ...

    def close(self) -> None: ...


def create_engine(
    name: str,
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
) -> Engine:
    """The engine named ``duckdb`` (default) or ``spark``.

    ``memory_limit`` (e.g. ``"4GB"``) bounds DuckDB's memory; beyond it, work spills to
    ``temp_directory``. Spark's driver memory is ``HEALTHHUB_SPARK_MEMORY``.
    """
    if name == "duckdb":
        from healthhub.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(
            threads=threads, memory_limit=memory_limit, temp_directory=temp_directory
        )
    if name == "spark":
        from healthhub.engines.spark_engine import SparkEngine

        return SparkEngine(threads=threads)
    from healthhub.exceptions import UserError

    raise UserError(f"unknown engine '{name}' (choose duckdb or spark)")
