"""Benchmark: flatten generated FHIR through the shipped ViewDefinitions.

    python benchmarks/fhir_flatten.py --patients 10000 [--workdir DIR] [--no-spark]

Generates N people with healthhub's generator (3 providers, NDJSON bulk export; not
timed), then measures in the same run, on the same files:
- ``duckdb_resources_per_s``: every shipped view over every file on DuckDB (inventory,
  checks and writing Parquet included);
- ``spark_resources_per_s``: the same on Spark ``local[*]`` (in a child process);
- ``ceiling_resources_per_s``: DuckDB's bare ``read_json`` of the same files, a count only;
- ``observation_view_resources_per_s`` and ``handwritten_resources_per_s``: the shipped
  Observation view and a hand-written DuckDB query producing the same rows;
- ``baseline_resources_per_s``: validating 20,000 of the resources with ``fhir.resources``
  (R4B models), the naive way to process FHIR in Python;
- ``typed_read_resources_per_s``: reading every record with the views' read schemas, values
  hashed, nothing written (what parsing alone costs);
- ``peak_rss_mb``: the largest resident memory of this process and its children (the Spark
  child runs with a 2 GB driver); ``duckdb_peak_rss_mb``: this process before Spark starts.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from healthhub.engines.base import create_engine
from healthhub.sources.fhir.compiler import compile_view
from healthhub.sources.fhir.runner import library_views, run_views
from healthhub.synth import generate

HANDWRITTEN_OBSERVATION = Path(__file__).with_name("observation_handwritten.sql")


def _files(root: Path, rtype: str | None = None) -> list[str]:
    pattern = f"{rtype}.ndjson*" if rtype else "*.ndjson*"
    return sorted(str(p) for p in root.rglob(pattern))


def _read_json(files: list[str], columns: str) -> str:
    paths = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    return f"read_json({paths}, format = 'newline_delimited', columns = {columns})"


def ceiling(root: Path) -> tuple[int, float]:
    """DuckDB's bare read of every record (resourceType parsed), a count only; best of 2."""
    con = duckdb.connect()
    source = _read_json(_files(root), "{'resourceType': 'VARCHAR'}, sample_size = 1")
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        (n,) = con.execute(f"SELECT count(resourceType) FROM {source}").fetchone()  # type: ignore[misc]
        best = min(best, time.perf_counter() - t0)
    return int(n), best


def flatten_all(engine_name: str, root: Path, out: Path) -> float:
    engine = create_engine(engine_name)
    t0 = time.perf_counter()
    providers = sorted(p for p in root.iterdir() if p.is_dir())
    summary = run_views(
        library_views(), providers, engine, out, "parquet", out / "quarantine.ndjson"
    )
    seconds = time.perf_counter() - t0
    assert summary.problems == 0, "generated data must be clean"
    engine.close()
    return seconds


def _spark_child(root: str, out: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.environ.setdefault("HEALTHHUB_SPARK_MEMORY", "2g")
    queue.put(flatten_all("spark", Path(root), Path(out)))


def typed_read(root: Path) -> float:
    """Seconds to read every record with the views' read schemas, values hashed, no output."""
    views = library_views()
    engine = create_engine("duckdb")
    seconds = 0.0
    for rtype in sorted({v.resource for v in views}):
        files = [Path(f) for f in _files(root, rtype)]
        if not files:
            continue
        schema: dict[str, object] = {}
        for v in views:
            if v.resource == rtype:
                schema.update(compile_view(v, "duckdb").read_schema)
        columns = ", ".join(f'"{c}"' for c in schema)
        source = engine.ndjson_source(files, list(schema.items()))  # type: ignore[arg-type]
        t0 = time.perf_counter()
        engine.rows(f"SELECT sum(hash({columns})) FROM {source}")
        seconds += time.perf_counter() - t0
    engine.close()
    return seconds


def observation_views(root: Path, out: Path) -> tuple[int, float, float]:
    """The shipped Observation view vs the hand-written query, both to Parquet."""
    view = next(v for v in library_views() if v.name == "observation")
    compiled = compile_view(view, "duckdb")
    engine = create_engine("duckdb")
    files = [Path(f) for f in _files(root, "Observation")]
    t0 = time.perf_counter()
    rows = engine.write(
        compiled.sql(engine.ndjson_source(files, compiled.read_schema)),
        "parquet",
        out / "obs_view.parquet",
    )
    view_s = time.perf_counter() - t0
    handwritten = HANDWRITTEN_OBSERVATION.read_text().replace(
        "{files}", "[" + ", ".join(f"'{f}'" for f in files) + "]"
    )
    t0 = time.perf_counter()
    rows_hand = engine.write(handwritten, "parquet", out / "obs_hand.parquet")
    hand_s = time.perf_counter() - t0
    con = duckdb.connect()  # same rows: equal counts and equal order-free row checksums
    checksum = "SELECT count(*), sum(hash(t)) FROM '{}' AS t"
    view_sum = con.execute(checksum.format(out / "obs_view.parquet")).fetchone()
    hand_sum = con.execute(checksum.format(out / "obs_hand.parquet")).fetchone()
    assert rows == rows_hand and view_sum == hand_sum, (
        "the hand-written query must give the same rows"
    )
    engine.close()
    return rows, view_s, hand_s


def baseline(root: Path, sample: int = 20_000) -> float:
    import orjson
    from fhir.resources.R4B import get_fhir_model_class

    resources = []
    for f in _files(root):
        with open(f, "rb") as fh:
            for line in fh:
                resources.append(orjson.loads(line))
                if len(resources) >= sample:
                    break
        if len(resources) >= sample:
            break
    t0 = time.perf_counter()
    for r in resources:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
    return len(resources) / (time.perf_counter() - t0)


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="healthhub-bench-"))
    root = work / "source"
    if not root.exists():
        print(f"generating {args.patients:,} people in {root}", file=sys.stderr)
        generate(root, patients=args.patients, providers=3, seed=args.seed)
    resources, ceiling_s = ceiling(root)
    print(f"{resources:,} resources; ceiling {resources / ceiling_s:,.0f}/s", file=sys.stderr)
    out = work / "out-duckdb"
    shutil.rmtree(out, ignore_errors=True)
    duck_s = flatten_all("duckdb", root, out)
    print(f"duckdb {resources / duck_s:,.0f}/s", file=sys.stderr)
    obs_rows, view_s, hand_s = observation_views(root, work)
    read_s = typed_read(root)
    duckdb_peak = peak_rss_mb()
    spark_rate = None
    if not args.no_spark:
        out = work / "out-spark"
        shutil.rmtree(out, ignore_errors=True)
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        child = ctx.Process(target=_spark_child, args=(str(root), str(out), queue))
        child.start()
        spark_s = queue.get()
        child.join()
        spark_rate = round(resources / spark_s)
        print(f"spark {spark_rate:,}/s", file=sys.stderr)
    result = {
        "patients": args.patients,
        "resources": resources,
        "duckdb_resources_per_s": round(resources / duck_s),
        "spark_resources_per_s": spark_rate,
        "ceiling_resources_per_s": round(resources / ceiling_s),
        "typed_read_resources_per_s": round(resources / read_s),
        "observation_view_resources_per_s": round(obs_rows / view_s),
        "handwritten_resources_per_s": round(obs_rows / hand_s),
        "baseline_resources_per_s": round(baseline(root)),
        "peak_rss_mb": peak_rss_mb(),
        "duckdb_peak_rss_mb": duckdb_peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
