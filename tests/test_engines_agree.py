"""DuckDB is the reference: Spark must give the same rows for every shipped view."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from healthhub.engines.base import Engine
from healthhub.sources.fhir.runner import library_views, run_views
from healthhub.synth import generate


def _rows(path: Path) -> list[tuple]:
    table = pq.read_table(path)
    columns = table.column_names
    out = []
    for row in table.to_pylist():
        out.append(tuple(repr(_normal(row[c])) for c in columns))
    return sorted(out)


def _normal(value: object) -> object:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


@pytest.mark.spark
def test_spark_matches_duckdb_on_every_view(
    tmp_path: Path, duckdb_engine: Engine, spark_engine: Engine
) -> None:
    source = tmp_path / "source"
    generate(source, patients=15, providers=2, seed=7)
    providers = sorted(p for p in source.iterdir() if p.is_dir())
    views = library_views()
    duck = run_views(views, providers, duckdb_engine, tmp_path / "duck", "parquet")
    spark = run_views(views, providers, spark_engine, tmp_path / "spark", "parquet")
    assert duck.received == spark.received and duck.problems == spark.problems == 0
    compared = 0
    for d, s in zip(duck.outputs, spark.outputs, strict=True):
        assert (d.view, d.rows) == (s.view, s.rows)
        assert pq.read_schema(d.path).names == pq.read_schema(s.path).names, d.view
        assert _rows(Path(d.path)) == _rows(Path(s.path)), f"view {d.view} differs"
        compared += d.rows
    assert compared > 1000
