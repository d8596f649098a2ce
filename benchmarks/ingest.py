"""Benchmark: the whole ingest path (land -> flatten -> identify -> OMOP) on generated data.

    python benchmarks/ingest.py --patients 10000 [--providers 3] [--gzip] [--workdir DIR]

Generates N people with healthhub's generator (not timed; ``--gzip`` writes .ndjson.gz),
creates a hub and ingests each provider's folder on DuckDB, then flattens the same files
alone (the shipped views, Parquet out) as the baseline measured in the same run. Prints one
JSON object: ``patients``, ``resources``, ``resources_per_s``, ``people_per_s``,
``stage_seconds`` (summed over the providers' runs), ``flatten_only_resources_per_s``,
``eras_share`` (condition_era + drug_era seconds over the whole run), ``omop_rows`` and
``peak_rss_mb`` (largest resident memory of this process).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from healthhub.engines.base import create_engine
from healthhub.hub.config import init_hub
from healthhub.hub.pipeline import ingest
from healthhub.sources.fhir.runner import library_views, run_views
from healthhub.standardize.warehouse import connect, table_counts
from healthhub.synth import generate


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(own / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="generate .ndjson.gz")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--skip-flatten-only", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="healthhub-bench-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        fmt = "ndjson.gz" if args.gzip else "ndjson"
        print(f"generating {args.patients:,} people ({fmt})", file=sys.stderr)
        synth = generate(work / "source", args.patients, args.providers, args.seed, fmt)
        folders = sorted(p for p in (work / "source").iterdir() if p.is_dir())
        hub = init_hub(work / "hub", name="benchmark")
        stage_seconds: dict[str, float] = {}
        started = time.perf_counter()
        for folder in folders:
            print(f"ingesting {folder.name}", file=sys.stderr)
            run = ingest(hub, folder.name, [folder], "duckdb")
            for stage, seconds in run["summary"]["stage_seconds"].items():
                stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
        total = time.perf_counter() - started
        con = connect(hub.warehouse)
        try:
            rows = table_counts(con)
        finally:
            con.close()
        rss_after_ingest = peak_rss_mb()
        flatten_only = None
        if not args.skip_flatten_only:
            print("flattening alone (baseline)", file=sys.stderr)
            engine = create_engine("duckdb")
            t0 = time.perf_counter()
            try:
                summary = run_views(library_views(), folders, engine, work / "flat", "parquet")
            finally:
                engine.close()
            flatten_only = round(summary.resources / (time.perf_counter() - t0))
        eras = stage_seconds.get("condition_era", 0.0) + stage_seconds.get("drug_era", 0.0)
        result = {
            "patients": args.patients,
            "providers": args.providers,
            "input": fmt,
            "source_patients": synth.source_patients,
            "resources": synth.resources,
            "seconds": round(total, 2),
            "resources_per_s": round(synth.resources / total),
            "people_per_s": round(args.patients / total, 1),
            "stage_seconds": {k: round(v, 2) for k, v in stage_seconds.items()},
            "flatten_only_resources_per_s": flatten_only,
            "end_to_end_vs_flatten_only": round(synth.resources / total / flatten_only, 3)
            if flatten_only
            else None,
            "eras_share": round(eras / total, 4),
            "omop_rows": {k: v for k, v in rows.items() if v},
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_mb_ingest": rss_after_ingest,
        }
        print(json.dumps(result, indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
