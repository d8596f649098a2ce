"""Benchmark: OMOP condition_era and drug_era on DuckDB at scale.

    python benchmarks/eras.py [--persons 100000] [--events 20] [--ohdsi-persons 5000]

Synthesises (in DuckDB, not timed) ``persons x events`` condition occurrences and drug
exposures over two years (each person 3 of 30 conditions and 4 of 2,000 clinical drugs,
which roll up to 500 RxNorm ingredients, one drug in ten a two-ingredient combination;
about 30% of end dates missing), then measures in the
same run, best of 2, each query materialised into a temporary table:
- ``condition_era_s`` / ``drug_era_s``: ``healthhub.standardize.eras`` on all persons;
- ``ceiling_s``: a bare scan-and-group of the exposures joined to their ingredients (what
  reading and grouping the same rows costs, no eras);
- ``ohdsi_condition_era_s`` / ``ohdsi_drug_era_s`` with ``ohdsi_persons``: the OHDSI
  event-counting scripts (as reproduced in ``tests/test_eras.py``) on the first
  ``--ohdsi-persons`` persons only, with the set-based queries on the same subset
  (``subset_*_s``) for the ratio; their join is quadratic per person and concept.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from healthhub.engines.duckdb_engine import DuckDBEngine
from healthhub.standardize.eras import condition_era_sql, drug_era_sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def synthesise(engine: DuckDBEngine, persons: int, events: int) -> None:
    engine.execute(
        f"""CREATE OR REPLACE TABLE event_keys AS
        SELECT person_id, k, hash(person_id * 1000 + k) AS h
        FROM range(1, {persons} + 1) AS p(person_id), range({events}) AS e(k)"""
    )
    engine.execute(
        """CREATE OR REPLACE TABLE condition_occurrence AS
        SELECT person_id,
            CAST(CASE WHEN h % 100 = 0 THEN 0 ELSE 1 + (person_id % 10) * 3 + (h // 100) % 3 END AS INTEGER)
                AS condition_concept_id,
            CAST(DATE '2015-01-01' + CAST((h // 10000) % 730 AS INTEGER) AS DATE)
                AS condition_start_date,
            CASE WHEN (h // 100000000) % 10 < 3 THEN NULL
                ELSE CAST(DATE '2015-01-01' + CAST((h // 10000) % 730 AS INTEGER)
                    + CAST((h // 1000000000) % 60 AS INTEGER) AS DATE) END
                AS condition_end_date
        FROM event_keys"""
    )
    engine.execute(
        """CREATE OR REPLACE TABLE drug_exposure AS
        SELECT person_id,
            CAST(CASE WHEN h % 100 = 0 THEN 0 ELSE 100000 + (person_id * 13 + (h // 100) % 4) % 2000 END AS INTEGER)
                AS drug_concept_id,
            CAST(DATE '2015-01-01' + CAST((h // 1000000) % 730 AS INTEGER) AS DATE)
                AS drug_exposure_start_date,
            CASE WHEN (h // 100000000) % 10 < 3 THEN NULL
                ELSE CAST(DATE '2015-01-01' + CAST((h // 1000000) % 730 AS INTEGER)
                    + CAST((h // 1000000000) % 90 AS INTEGER) AS DATE) END
                AS drug_exposure_end_date,
            CAST(CASE WHEN (h // 10000000000) % 4 = 0 THEN NULL
                ELSE 30 * (1 + (h // 10000000000) % 3) END AS INTEGER) AS days_supply
        FROM event_keys"""
    )
    engine.execute(
        """CREATE OR REPLACE TABLE concept AS
        SELECT CAST(i AS INTEGER) AS concept_id, 'Ingredient' AS concept_class_id,
            'RxNorm' AS vocabulary_id FROM range(1, 501) AS t(i)
        UNION ALL
        SELECT CAST(100000 + i AS INTEGER), 'Clinical Drug', 'RxNorm' FROM range(2000) AS t(i)"""
    )
    engine.execute(
        """CREATE OR REPLACE TABLE concept_ancestor AS
        SELECT concept_id AS ancestor_concept_id, concept_id AS descendant_concept_id
        FROM concept
        UNION ALL
        SELECT CAST(1 + i % 500 AS INTEGER), CAST(100000 + i AS INTEGER) FROM range(2000) AS t(i)
        UNION ALL
        SELECT CAST(1 + (i * 7 + 3) % 500 AS INTEGER), CAST(100000 + i AS INTEGER)
        FROM range(0, 2000, 10) AS t(i)"""
    )
    engine.execute("DROP TABLE event_keys")


def timed(engine: DuckDBEngine, sql: str, repeat: int = 2) -> tuple[float, int]:
    """Best wall time of materialising ``sql``, and its row count."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        engine.execute(f"CREATE OR REPLACE TEMP TABLE bench_out AS {sql}")
        best = min(best, time.perf_counter() - started)
    counted = engine.rows("SELECT count(*) AS n FROM bench_out")[1][0]["n"]
    return best, int(counted)


def same_eras(engine: DuckDBEngine, sql: str, reference: str) -> bool:
    """Whether two era queries give the same rows, ids (column 1) left out."""
    columns = ", ".join(f"c{i}" for i in range(1, 8 if "gap_days" in sql else 7))
    rest = columns.split(", ", 1)[1]
    left = f"SELECT {rest} FROM ({sql}) AS a({columns})"
    right = f"SELECT {rest} FROM ({reference}) AS b({columns})"
    differing = engine.rows(
        f"SELECT count(*) AS n FROM (({left} EXCEPT ALL {right}) UNION ALL"
        f" ({right} EXCEPT ALL {left}))"
    )[1][0]["n"]
    return differing == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--ohdsi-persons", type=int, default=5_000)
    args = parser.parse_args()

    engine = DuckDBEngine()
    started = time.perf_counter()
    synthesise(engine, args.persons, args.events)
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "date": time.strftime("%Y-%m-%d"),
        "persons": args.persons,
        "condition_occurrences": args.persons * args.events,
        "drug_exposures": args.persons * args.events,
        "synthesis_s": round(time.perf_counter() - started, 2),
    }
    vocabulary = ("concept_ancestor", "concept")
    report["condition_era_s"], report["condition_eras"] = timed(
        engine, condition_era_sql("condition_occurrence")
    )
    report["drug_era_s"], report["drug_eras"] = timed(
        engine, drug_era_sql("drug_exposure", *vocabulary)
    )
    report["ceiling_s"], _ = timed(
        engine,
        """SELECT person_id, ancestor_concept_id, count(*), min(drug_exposure_start_date)
        FROM drug_exposure JOIN concept_ancestor ON descendant_concept_id = drug_concept_id
        JOIN concept ON concept_id = ancestor_concept_id
        WHERE concept_class_id = 'Ingredient' GROUP BY ALL""",
    )
    if args.ohdsi_persons:
        from test_eras import ohdsi_condition_era, ohdsi_drug_era

        subset = args.ohdsi_persons
        engine.register(
            "condition_subset", f"SELECT * FROM condition_occurrence WHERE person_id <= {subset}"
        )
        engine.register("drug_subset", f"SELECT * FROM drug_exposure WHERE person_id <= {subset}")
        report["ohdsi_persons"] = subset
        report["subset_condition_era_s"], _ = timed(engine, condition_era_sql("condition_subset"))
        report["ohdsi_condition_era_s"], _ = timed(engine, ohdsi_condition_era("condition_subset"))
        report["subset_drug_era_s"], _ = timed(engine, drug_era_sql("drug_subset", *vocabulary))
        report["ohdsi_drug_era_s"], _ = timed(engine, ohdsi_drug_era("drug_subset", *vocabulary))
        report["agrees_with_ohdsi"] = same_eras(
            engine, condition_era_sql("condition_subset"), ohdsi_condition_era("condition_subset")
        ) and same_eras(
            engine,
            drug_era_sql("drug_subset", *vocabulary),
            ohdsi_drug_era("drug_subset", *vocabulary),
        )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()}))


if __name__ == "__main__":
    main()
