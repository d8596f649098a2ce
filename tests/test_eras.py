"""condition_era and drug_era: "these events in, these eras out", on every engine.

The cases are tables of OMOP rows; each case runs once per engine (all cases of a table in
one query, each case under its own person ids). A randomised check compares the set-based
SQL with the OHDSI event-counting scripts themselves, run on DuckDB.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest

from healthhub.engines.base import Engine
from healthhub.standardize.eras import condition_era_sql, drug_era_sql

# --- the vocabulary every drug case reads --------------------------------------------
# concept_id, concept_class_id, vocabulary_id
CONCEPTS = [
    (1001, "Ingredient", "RxNorm"),  # acetaminophen
    (1002, "Ingredient", "RxNorm"),  # hydrocodone
    (1003, "Ingredient", "RxNorm Extension"),
    (2001, "Clinical Drug", "RxNorm"),  # acetaminophen 500 MG Oral Tablet
    (2002, "Clinical Drug", "RxNorm"),  # acetaminophen 325 MG Oral Tablet
    (2003, "Clinical Drug", "RxNorm"),  # acetaminophen / hydrocodone (combination)
    (2004, "Clinical Drug", "RxNorm Extension"),
    (2005, "Clinical Drug", "RxNorm"),  # no ingredient in concept_ancestor
    (4001, "ATC 5th", "ATC"),  # a classification above 2001: not an ingredient
    (4002, "Ingredient", "HemOnc"),  # an ingredient outside RxNorm: ignored
]
# ancestor_concept_id, descendant_concept_id
ANCESTORS = [
    *[(c, c) for c, _, _ in CONCEPTS],
    (1001, 2001),
    (1001, 2002),
    (1001, 2003),
    (1002, 2003),
    (1003, 2004),
    (4001, 2001),
    (4002, 2001),
]


@dataclass(frozen=True)
class Case:
    name: str
    events: list[tuple[Any, ...]]  # person, concept, start, end, [days_supply]
    eras: list[tuple[Any, ...]]  # person, concept, start, end, count, [gap_days]
    persistence_days: int = 30


CONDITION_CASES = [
    Case("one occurrence", [(1, 10, "2021-01-01", "2021-01-05")], [(1, 10, "2021-01-01", "2021-01-05", 1)]),
    Case("no end date: start + 1 day", [(1, 10, "2021-01-01", None)], [(1, 10, "2021-01-01", "2021-01-02", 1)]),
    Case(
        "overlapping occurrences merge, the latest end wins",
        [(1, 10, "2021-01-01", "2021-01-20"), (1, 10, "2021-01-05", "2021-01-10"), (1, 10, "2021-01-15", "2021-02-01")],
        [(1, 10, "2021-01-01", "2021-02-01", 3)],
    ),
    Case(
        "a gap of 30 days merges",
        [(1, 10, "2021-01-01", "2021-01-10"), (1, 10, "2021-02-09", "2021-02-10")],
        [(1, 10, "2021-01-01", "2021-02-10", 2)],
    ),
    Case(
        "a gap of 31 days does not",
        [(1, 10, "2021-01-01", "2021-01-10"), (1, 10, "2021-02-10", "2021-02-11")],
        [(1, 10, "2021-01-01", "2021-01-10", 1), (1, 10, "2021-02-10", "2021-02-11", 1)],
    ),
    Case(
        "the gap counts from the no-end-date default (start + 1 day)",
        [(1, 10, "2021-01-01", None), (1, 10, "2021-01-31", None), (1, 10, "2021-03-04", None)],
        [(1, 10, "2021-01-01", "2021-02-01", 2), (1, 10, "2021-03-04", "2021-03-05", 1)],
    ),
    Case(
        "persistence counts from the latest end so far, not the previous row's",
        [(1, 10, "2021-01-01", "2021-06-30"), (1, 10, "2021-02-01", "2021-02-02"), (1, 10, "2021-07-20", "2021-07-21")],
        [(1, 10, "2021-01-01", "2021-07-21", 3)],
    ),
    Case(
        "concept 0 is skipped",
        [(1, 0, "2021-01-01", "2021-01-05"), (1, 10, "2021-03-01", "2021-03-02")],
        [(1, 10, "2021-03-01", "2021-03-02", 1)],
    ),
    Case(
        "different concepts and persons never merge",
        [(1, 10, "2021-01-01", "2021-01-05"), (1, 11, "2021-01-02", "2021-01-06"), (2, 10, "2021-01-03", "2021-01-07")],
        [(1, 10, "2021-01-01", "2021-01-05", 1), (1, 11, "2021-01-02", "2021-01-06", 1), (2, 10, "2021-01-03", "2021-01-07", 1)],
    ),
    Case(
        "duplicate occurrences each count",
        [(1, 10, "2021-01-01", "2021-01-05"), (1, 10, "2021-01-01", "2021-01-05")],
        [(1, 10, "2021-01-01", "2021-01-05", 2)],
    ),
    Case(
        "persistence 0: touching merges, one day apart does not",
        [(1, 10, "2021-01-01", "2021-01-05"), (1, 10, "2021-01-05", "2021-01-07"), (1, 10, "2021-01-08", "2021-01-09")],
        [(1, 10, "2021-01-01", "2021-01-07", 2), (1, 10, "2021-01-08", "2021-01-09", 1)],
        persistence_days=0,
    ),
]  # fmt: skip

DRUG_CASES = [
    Case(
        "an end date: one era, no gap",
        [(1, 2001, "2021-01-01", "2021-01-31", None)],
        [(1, 1001, "2021-01-01", "2021-01-31", 1, 0)],
    ),
    Case(
        "no end date: start + days_supply",
        [(1, 2001, "2021-01-01", None, 30)],
        [(1, 1001, "2021-01-01", "2021-01-31", 1, 0)],
    ),
    Case(
        "the end date wins over days_supply",
        [(1, 2001, "2021-01-01", "2021-01-10", 30)],
        [(1, 1001, "2021-01-01", "2021-01-10", 1, 0)],
    ),
    Case(
        "no end date nor days_supply: start + 1 day",
        [(1, 2001, "2021-01-01", None, None)],
        [(1, 1001, "2021-01-01", "2021-01-02", 1, 0)],
    ),
    Case(
        "days_supply 0 counts as missing: start + 1 day",
        [(1, 2001, "2021-01-01", None, 0)],
        [(1, 1001, "2021-01-01", "2021-01-02", 1, 0)],
    ),
    Case(
        "a negative days_supply leaves the exposure out",
        [(1, 2001, "2021-01-01", "2021-01-10", -5), (1, 2001, "2021-03-01", "2021-03-02", None)],
        [(1, 1001, "2021-03-01", "2021-03-02", 1, 0)],
    ),
    Case(
        "overlapping exposures: no gap",
        [(1, 2001, "2021-01-01", "2021-01-20", None), (1, 2001, "2021-01-10", "2021-02-01", None)],
        [(1, 1001, "2021-01-01", "2021-02-01", 2, 0)],
    ),
    Case(
        "a gap of 30 days merges and is counted",
        [(1, 2001, "2021-01-01", "2021-01-10", None), (1, 2001, "2021-02-09", "2021-02-19", None)],
        [(1, 1001, "2021-01-01", "2021-02-19", 2, 30)],
    ),
    Case(
        "a gap of 31 days starts a new era",
        [(1, 2001, "2021-01-01", "2021-01-10", None), (1, 2001, "2021-02-10", "2021-02-20", None)],
        [(1, 1001, "2021-01-01", "2021-01-10", 1, 0), (1, 1001, "2021-02-10", "2021-02-20", 1, 0)],
    ),
    Case(
        "gap_days: era length minus the days of the merged sub-exposures",
        [
            (1, 2001, "2021-01-01", "2021-01-11", None),
            (1, 2001, "2021-01-05", "2021-01-20", None),  # overlaps: sub-exposure 1 to 20 Jan
            (1, 2001, "2021-02-01", "2021-02-11", None),  # 12 days after 20 Jan
            (1, 2001, "2021-02-11", "2021-02-21", None),  # touches: no gap
            (1, 2001, "2021-03-01", "2021-03-06", None),  # 8 days after 21 Feb
        ],
        [(1, 1001, "2021-01-01", "2021-03-06", 5, 20)],
    ),
    Case(
        "a long exposure hides a short one inside it",
        [(1, 2001, "2021-01-01", "2021-04-01", None), (1, 2001, "2021-02-01", "2021-02-05", None), (1, 2001, "2021-04-20", "2021-04-30", None)],
        [(1, 1001, "2021-01-01", "2021-04-30", 3, 19)],
    ),
    Case(
        "two drugs with the same ingredient make one era",
        [(1, 2001, "2021-01-01", "2021-01-31", None), (1, 2002, "2021-02-10", "2021-03-01", None)],
        [(1, 1001, "2021-01-01", "2021-03-01", 2, 10)],
    ),
    Case(
        "a combination drug gives one era per ingredient",
        [(1, 2003, "2021-01-01", "2021-01-31", None), (1, 2001, "2021-02-05", "2021-02-15", None)],
        [(1, 1001, "2021-01-01", "2021-02-15", 2, 5), (1, 1002, "2021-01-01", "2021-01-31", 1, 0)],
    ),
    Case(
        "an ingredient recorded as the drug counts through its self row",
        [(1, 1001, "2021-01-01", "2021-01-10", None), (1, 2001, "2021-01-10", "2021-01-20", None)],
        [(1, 1001, "2021-01-01", "2021-01-20", 2, 0)],
    ),
    Case(
        "RxNorm Extension ingredients count",
        [(1, 2004, "2021-01-01", None, 7)],
        [(1, 1003, "2021-01-01", "2021-01-08", 1, 0)],
    ),
    Case(
        "concept 0, drugs without an ingredient and non-RxNorm ancestors give nothing",
        [(1, 0, "2021-01-01", "2021-01-31", None), (1, 2005, "2021-01-01", "2021-01-31", None), (1, 4001, "2021-01-01", "2021-01-31", None), (1, 4002, "2021-01-01", "2021-01-31", None)],
        [],
    ),
    Case(
        "several persons",
        [(1, 2001, "2021-01-01", "2021-01-10", None), (2, 2001, "2021-01-05", "2021-01-15", None), (2, 2002, "2021-03-01", None, 10)],
        [(1, 1001, "2021-01-01", "2021-01-10", 1, 0), (2, 1001, "2021-01-05", "2021-01-15", 1, 0), (2, 1001, "2021-03-01", "2021-03-11", 1, 0)],
    ),
    Case(
        "persistence 0: sub-exposures are the eras",
        [(1, 2001, "2021-01-01", "2021-01-10", None), (1, 2001, "2021-01-10", "2021-01-15", None), (1, 2001, "2021-01-16", "2021-01-18", None)],
        [(1, 1001, "2021-01-01", "2021-01-15", 2, 0), (1, 1001, "2021-01-16", "2021-01-18", 1, 0)],
        persistence_days=0,
    ),
]  # fmt: skip

PERSON_STRIDE = 1000  # case i uses person ids i * PERSON_STRIDE + person


# --- SQL inputs ------------------------------------------------------------------------
def _literal(value: Any, sql_type: str) -> str:
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if isinstance(value, str):
        return f"CAST('{value}' AS {sql_type})"
    return f"CAST({value} AS {sql_type})"


def _values(rows: list[tuple[Any, ...]], columns: list[tuple[str, str]]) -> str:
    """A DuckDB-dialect SELECT of these rows with typed columns."""
    body = ", ".join(
        "(" + ", ".join(_literal(v, t) for v, (_, t) in zip(row, columns, strict=True)) + ")"
        for row in rows
    )
    names = ", ".join(n for n, _ in columns)
    return f"SELECT * FROM (VALUES {body}) AS t({names})"


CONDITION_COLUMNS = [
    ("person_id", "BIGINT"),
    ("condition_concept_id", "INTEGER"),
    ("condition_start_date", "DATE"),
    ("condition_end_date", "DATE"),
]
DRUG_COLUMNS = [
    ("person_id", "BIGINT"),
    ("drug_concept_id", "INTEGER"),
    ("drug_exposure_start_date", "DATE"),
    ("drug_exposure_end_date", "DATE"),
    ("days_supply", "INTEGER"),
]


def _register(engine: Engine, name: str, query: str) -> str:
    engine.register(name, engine.dialect.from_reference(query))
    return name


def _vocabulary(engine: Engine) -> tuple[str, str]:
    concept = _values(
        CONCEPTS,
        [("concept_id", "INTEGER"), ("concept_class_id", "VARCHAR"), ("vocabulary_id", "VARCHAR")],
    )
    ancestor = _values(
        ANCESTORS, [("ancestor_concept_id", "INTEGER"), ("descendant_concept_id", "INTEGER")]
    )
    return _register(engine, "eras_ancestor", ancestor), _register(engine, "eras_concept", concept)


def _run(engine: Engine, sql: str) -> list[dict[str, Any]]:
    return engine.rows(engine.dialect.from_reference(sql))[1]


def _table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Result rows as sorted tuples, dates as ISO text, the id left out."""
    out = [
        tuple(v.isoformat() if isinstance(v, date) else v for v in list(row.values())[1:])
        for row in rows
    ]
    return sorted(out, key=repr)


@cache
def _case_results(engine: Engine, table: str) -> dict[str, list]:
    """Every case of a table on one engine, grouped by persistence into few queries."""
    cases = CONDITION_CASES if table == "condition" else DRUG_CASES
    results: dict[str, list] = {c.name: [] for c in cases}
    for persistence in sorted({c.persistence_days for c in cases}):
        rows = [
            (i * PERSON_STRIDE + e[0], *e[1:])
            for i, c in enumerate(cases)
            if c.persistence_days == persistence
            for e in c.events
        ]
        if table == "condition":
            source = _register(engine, "eras_events", _values(rows, CONDITION_COLUMNS))
            sql = condition_era_sql(source, persistence)
        else:
            source = _register(engine, "eras_events", _values(rows, DRUG_COLUMNS))
            sql = drug_era_sql(source, *_vocabulary(engine), persistence_days=persistence)
        for era in _table(_run(engine, sql)):
            index, person = divmod(era[0], PERSON_STRIDE)
            results[cases[index].name].append((person, *era[1:]))
    return results


@pytest.mark.parametrize("case", CONDITION_CASES, ids=lambda c: c.name)
def test_condition_era(engine: Engine, case: Case) -> None:
    got = _case_results(engine, "condition")[case.name]
    assert got == sorted(case.eras, key=repr)


@pytest.mark.parametrize("case", DRUG_CASES, ids=lambda c: c.name)
def test_drug_era(engine: Engine, case: Case) -> None:
    got = _case_results(engine, "drug")[case.name]
    assert got == sorted(case.eras, key=repr)


def _hh_key(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def test_columns_types_and_ids(engine: Engine) -> None:
    conditions = _register(
        engine, "eras_events", _values([(7, 10, "2021-01-01", None)], CONDITION_COLUMNS)
    )
    columns, rows = engine.rows(engine.dialect.from_reference(condition_era_sql(conditions)))
    assert columns == [
        "condition_era_id",
        "person_id",
        "condition_concept_id",
        "condition_era_start_date",
        "condition_era_end_date",
        "condition_occurrence_count",
    ]
    assert rows == [
        {
            "condition_era_id": _hh_key("condition_era|7|10|2021-01-01"),
            "person_id": 7,
            "condition_concept_id": 10,
            "condition_era_start_date": date(2021, 1, 1),
            "condition_era_end_date": date(2021, 1, 2),
            "condition_occurrence_count": 1,
        }
    ]
    drugs = _register(
        engine, "eras_events", _values([(7, 2001, "2021-01-01", None, 3)], DRUG_COLUMNS)
    )
    columns, rows = engine.rows(
        engine.dialect.from_reference(drug_era_sql(drugs, *_vocabulary(engine)))
    )
    assert columns == [
        "drug_era_id",
        "person_id",
        "drug_concept_id",
        "drug_era_start_date",
        "drug_era_end_date",
        "drug_exposure_count",
        "gap_days",
    ]
    assert rows == [
        {
            "drug_era_id": _hh_key("drug_era|7|1001|2021-01-01"),
            "person_id": 7,
            "drug_concept_id": 1001,
            "drug_era_start_date": date(2021, 1, 1),
            "drug_era_end_date": date(2021, 1, 4),
            "drug_exposure_count": 1,
            "gap_days": 0,
        }
    ]


def test_relations_may_be_names_or_queries(duckdb_engine: Engine) -> None:
    query = _values([(1, 10, "2021-01-01", "2021-01-03")], CONDITION_COLUMNS)
    named = _register(duckdb_engine, "selected_conditions", query)
    expected = [(1, 10, "2021-01-01", "2021-01-03", 1)]
    assert _table(_run(duckdb_engine, condition_era_sql(query))) == expected
    assert _table(_run(duckdb_engine, condition_era_sql(f"  {query}  "))) == expected
    assert _table(_run(duckdb_engine, condition_era_sql(named))) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_persistence_must_be_days(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        condition_era_sql("condition_occurrence", bad)


# --- against the OHDSI scripts ---------------------------------------------------------
def _ohdsi_end_dates(target: str, persistence: int) -> str:
    """The OHDSI scripts' era ends: start and end events, kept where all started ended."""
    return f"""SELECT person_id, concept_id, event_date - {persistence} AS end_date
    FROM (
        SELECT person_id, concept_id, event_date, event_type,
            max(start_ordinal) OVER (PARTITION BY person_id, concept_id
                ORDER BY event_date, event_type ROWS UNBOUNDED PRECEDING) AS start_ordinal,
            row_number() OVER (PARTITION BY person_id, concept_id
                ORDER BY event_date, event_type) AS overall_ord
        FROM (
            SELECT person_id, concept_id, start_date AS event_date, -1 AS event_type,
                row_number() OVER (PARTITION BY person_id, concept_id
                    ORDER BY start_date) AS start_ordinal
            FROM {target}
            UNION ALL
            SELECT person_id, concept_id, end_date + {persistence}, 1, NULL FROM {target}
        ) AS raw_data
    ) AS e
    WHERE 2 * e.start_ordinal - e.overall_ord = 0"""


def _ohdsi_ends(target: str, persistence: int) -> str:
    """Each row of ``target`` with the earliest era end at or after its start."""
    return f"""SELECT t.*, min(e.end_date) AS era_end_date
    FROM {target} AS t
    JOIN ({_ohdsi_end_dates(target, persistence)}) AS e
        ON t.person_id = e.person_id AND t.concept_id = e.concept_id
        AND e.end_date >= t.start_date
    GROUP BY ALL"""


def ohdsi_condition_era(source: str) -> str:
    return f"""WITH target AS (
        SELECT row_number() OVER () AS row_id, person_id,
            condition_concept_id AS concept_id, condition_start_date AS start_date,
            coalesce(condition_end_date, condition_start_date + 1) AS end_date
        FROM {source} WHERE condition_concept_id <> 0
    ), ends AS ({_ohdsi_ends("target", 30)})
    SELECT 0 AS id, person_id, concept_id, min(start_date), era_end_date, count(*)
    FROM ends GROUP BY person_id, concept_id, era_end_date"""


def ohdsi_drug_era(source: str, ancestor: str, concept: str) -> str:
    return f"""WITH target AS (
        SELECT row_number() OVER () AS row_id, d.person_id, c.concept_id,
            d.drug_exposure_start_date AS start_date,
            coalesce(d.drug_exposure_end_date,
                nullif(d.drug_exposure_start_date + d.days_supply, d.drug_exposure_start_date),
                d.drug_exposure_start_date + 1) AS end_date
        FROM {source} AS d
        JOIN {ancestor} AS ca ON ca.descendant_concept_id = d.drug_concept_id
        JOIN {concept} AS c ON ca.ancestor_concept_id = c.concept_id
        WHERE c.vocabulary_id IN ('RxNorm', 'RxNorm Extension')
            AND c.concept_class_id = 'Ingredient' AND d.drug_concept_id <> 0
            AND coalesce(d.days_supply, 0) >= 0
    ), sub_ends AS ({_ohdsi_ends("target", 0)}),
    sub_exposures AS (
        SELECT person_id, concept_id, min(start_date) AS start_date, era_end_date AS end_date,
            count(*) AS exposure_count, date_diff('day', min(start_date), era_end_date) AS days
        FROM sub_ends GROUP BY person_id, concept_id, era_end_date
    ), era_ends AS ({_ohdsi_ends("sub_exposures", 30)})
    SELECT 0 AS id, person_id, concept_id, min(start_date), era_end_date,
        sum(exposure_count), date_diff('day', min(start_date), era_end_date) - sum(days)
    FROM era_ends GROUP BY person_id, concept_id, era_end_date"""


def _random_rows(seed: int, drugs: bool) -> list[tuple[Any, ...]]:
    """Overlapping, tied, touching and distant events of a few persons and concepts."""
    rng = random.Random(seed)
    concepts = [2001, 2002, 2003, 2004, 2005, 1001, 0] if drugs else [10, 11, 0]
    rows = []
    for _ in range(600):
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(400))
        end = (
            start + timedelta(days=rng.choice([0, 0, 1, 5, 20, 45])) if rng.random() < 0.7 else None
        )
        row = (
            rng.randrange(1, 8),
            rng.choice(concepts),
            start.isoformat(),
            end and end.isoformat(),
        )
        rows.append((*row, rng.choice([None, 0, 3, 30, 60, -2])) if drugs else row)
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_same_eras_as_the_ohdsi_scripts(duckdb_engine: Engine, seed: int) -> None:
    conditions = _register(
        duckdb_engine, "eras_random", _values(_random_rows(seed, False), CONDITION_COLUMNS)
    )
    assert _table(_run(duckdb_engine, condition_era_sql(conditions))) == _table(
        _run(duckdb_engine, ohdsi_condition_era(conditions))
    )
    drugs = _register(duckdb_engine, "eras_random", _values(_random_rows(seed, True), DRUG_COLUMNS))
    vocabulary = _vocabulary(duckdb_engine)
    assert _table(_run(duckdb_engine, drug_era_sql(drugs, *vocabulary))) == _table(
        _run(duckdb_engine, ohdsi_drug_era(drugs, *vocabulary))
    )


@pytest.mark.spark
def test_spark_gives_identical_rows(duckdb_engine: Engine, spark_engine: Engine) -> None:
    """Same rows, ids and Python types on both engines, on random dense data."""
    results = []
    for engine in (duckdb_engine, spark_engine):
        conditions = _register(
            engine, "eras_random", _values(_random_rows(11, False), CONDITION_COLUMNS)
        )
        drugs = _register(
            engine, "eras_random_drugs", _values(_random_rows(11, True), DRUG_COLUMNS)
        )
        got = [
            sorted(_run(engine, condition_era_sql(conditions)), key=repr),
            sorted(_run(engine, drug_era_sql(drugs, *_vocabulary(engine))), key=repr),
        ]
        results.append(got)
    duck, spark = results
    assert len(duck[0]) > 20 and len(duck[1]) > 20
    assert duck == spark
    assert [[type(v) for v in r.values()] for r in duck[1]] == [
        [type(v) for v in r.values()] for r in spark[1]
    ]
