"""OMOP CDM v5.4 ``condition_era`` and ``drug_era`` as one set-based SQL query each.

The semantics are those of the OHDSI standard era scripts (CDM v5 ``GenerateEra``,
ETL-Synthea and dbt-synthea ``condition_era`` / ``drug_era``); the evaluation is not.
The OHDSI scripts turn every interval into a start and an end event, number them, and
then join each interval to every era end at or after its start and keep the earliest:
pairs quadratic in the events of one person and concept. Here one window pass carries the
running maximum of the end dates seen so far (its *reach*); a row whose start lies more
than ``persistence_days`` after the reach opens a new era, and a running count of those
openings numbers the eras: two window passes over the same partition and order, then one
aggregation per table (``drug_era`` computes its sub-exposures in the same passes).

How the OHDSI definitions are read (all as the scripts do, unless said otherwise):

- **Condition intervals** are ``[condition_start_date, coalesce(condition_end_date,
  condition_start_date + 1 day)]``; ``condition_concept_id`` 0 (unmapped) is skipped.
- **Drug intervals** are ``[drug_exposure_start_date, end]`` with ``end`` the first of
  ``drug_exposure_end_date``, ``start + days_supply`` *when that differs from the start*
  (``days_supply`` 0 counts as missing, the scripts' ``NULLIF``), ``start + 1 day``.
  Exposures with a negative ``days_supply`` are left out, as the scripts do, and so is
  ``drug_concept_id`` 0.
- **Ingredients**: each exposure counts once for every ancestor in ``concept_ancestor``
  whose ``concept`` row has ``concept_class_id = 'Ingredient'`` and ``vocabulary_id`` in
  ``('RxNorm', 'RxNorm Extension')``; an Ingredient reaches itself through its
  self-ancestor row. A combination drug gives one era per ingredient; two drugs with one
  ingredient share that ingredient's eras. ``drug_exposure_count`` counts exposures per
  ingredient.
- **Persistence** (default 30 days): the next interval joins the era when its start is at
  most ``persistence_days`` after the latest end so far (``start <= reach + 30``). The
  scripts sort a start event before an end event of the same date, so a gap of exactly
  30 days merges and one of 31 days does not. The era ends on the latest end date of its
  intervals (the scripts add 30 days to each end and take them off again).
- **gap_days** is the era's length in days minus the days exposed, where the days exposed
  are summed over *sub-exposures*: the era's exposures merged when they overlap or touch
  (persistence 0), each counting ``end - start`` days. That equals the sum of the holes
  between consecutive sub-exposures inside the era, which is how it is computed here.
  Lengths are date differences (an exposure from 1 to 31 January is 30 days), as in the
  scripts.
- **Ids**: not the scripts' ``row_number()`` but a stable key,
  ``hh_key('condition_era|person_id|concept_id|era_start_date')`` (resp. ``drug_era``
  and the ingredient), the same on every engine and on every rerun.
- **Beyond the scripts**: rows without a person, concept or start date are skipped (CDM
  requires them). An end date before the start date is read as the start date (an empty
  interval); the scripts' event counting gives no sensible answer for such rows.

Both functions return DuckDB-dialect SQL (the reference); other engines take it through
``engine.dialect.from_reference``. The arguments are relations: a table or view name, or a
query (parenthesised here when it is not already).
"""

from __future__ import annotations

import re

_QUERY = re.compile(r"(select|with|values|from)\b", re.IGNORECASE)


def _relation(relation: str) -> str:
    """A relation usable after FROM: names as they are, queries in parentheses."""
    text = relation.strip()
    return f"({text})" if _QUERY.match(text) else text


def _check_persistence(persistence_days: int) -> int:
    if isinstance(persistence_days, bool) or not isinstance(persistence_days, int):
        raise TypeError("persistence_days must be a whole number of days")
    if persistence_days < 0:
        raise ValueError(f"persistence_days must be 0 or more, not {persistence_days}")
    return persistence_days


def _key(table: str, concept: str, start: str) -> str:
    return (
        f"hh_key(concat_ws('|', '{table}', CAST(person_id AS VARCHAR),"
        f" CAST({concept} AS VARCHAR), CAST({start} AS VARCHAR)))"
    )


def _numbered(intervals: str, persistence_days: int) -> str:
    """CTEs ``reached`` and ``numbered`` over ``intervals(person_id, concept_id, start_date,
    end_date)``: each row's reach (latest end before it) and its era number."""
    window = "PARTITION BY person_id, concept_id ORDER BY start_date, end_date"
    return f"""intervals AS (
    {intervals}
),
reached AS (
    SELECT
        person_id, concept_id, start_date, end_date,
        max(end_date) OVER (
            {window} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS reach
    FROM intervals
),
numbered AS (
    SELECT
        person_id, concept_id, start_date, end_date, reach,
        sum(CASE WHEN reach IS NULL OR start_date > reach + {persistence_days} THEN 1 ELSE 0 END)
            OVER ({window} ROWS UNBOUNDED PRECEDING) AS era_number
    FROM reached
)"""


def condition_era_sql(condition_occurrence: str, persistence_days: int = 30) -> str:
    """One SELECT giving OMOP ``condition_era`` rows from a ``condition_occurrence`` relation."""
    persistence = _check_persistence(persistence_days)
    intervals = f"""SELECT person_id, concept_id, start_date,
        greatest(coalesce(end_date, start_date + 1), start_date) AS end_date
    FROM (
        SELECT
            CAST(person_id AS BIGINT) AS person_id,
            CAST(condition_concept_id AS INTEGER) AS concept_id,
            CAST(condition_start_date AS DATE) AS start_date,
            CAST(condition_end_date AS DATE) AS end_date
        FROM {_relation(condition_occurrence)} AS condition_occurrence
        WHERE condition_concept_id <> 0
            AND person_id IS NOT NULL
            AND condition_start_date IS NOT NULL
    ) AS occurrence"""
    return f"""WITH {_numbered(intervals, persistence)},
eras AS (
    SELECT
        person_id, concept_id,
        min(start_date) AS era_start_date,
        max(end_date) AS era_end_date,
        count(*) AS occurrence_count
    FROM numbered
    GROUP BY person_id, concept_id, era_number
)
SELECT
    {_key("condition_era", "concept_id", "era_start_date")} AS condition_era_id,
    person_id,
    concept_id AS condition_concept_id,
    era_start_date AS condition_era_start_date,
    era_end_date AS condition_era_end_date,
    CAST(occurrence_count AS INTEGER) AS condition_occurrence_count
FROM eras"""


def drug_era_sql(
    drug_exposure: str, concept_ancestor: str, concept: str, persistence_days: int = 30
) -> str:
    """One SELECT giving OMOP ``drug_era`` rows (per Ingredient) from ``drug_exposure``,
    with the vocabulary's ``concept_ancestor`` and ``concept`` relations."""
    persistence = _check_persistence(persistence_days)
    # gap_days: a row starting after the reach opens a sub-exposure; when it stays in the
    # era (start_date <= reach + persistence) the days between reach and start are a gap.
    intervals = f"""SELECT
        exposure.person_id,
        ingredient.ancestor_concept_id AS concept_id,
        exposure.start_date,
        greatest(
            coalesce(
                exposure.end_date,
                nullif(exposure.start_date + exposure.days_supply, exposure.start_date),
                exposure.start_date + 1
            ),
            exposure.start_date
        ) AS end_date
    FROM (
        SELECT
            CAST(person_id AS BIGINT) AS person_id,
            CAST(drug_concept_id AS INTEGER) AS drug_concept_id,
            CAST(drug_exposure_start_date AS DATE) AS start_date,
            CAST(drug_exposure_end_date AS DATE) AS end_date,
            CAST(days_supply AS INTEGER) AS days_supply
        FROM {_relation(drug_exposure)} AS drug_exposure
        WHERE drug_concept_id <> 0
            AND person_id IS NOT NULL
            AND drug_exposure_start_date IS NOT NULL
            AND coalesce(days_supply, 0) >= 0
    ) AS exposure
    JOIN (
        SELECT
            CAST(ancestor.descendant_concept_id AS INTEGER) AS descendant_concept_id,
            CAST(ancestor.ancestor_concept_id AS INTEGER) AS ancestor_concept_id
        FROM {_relation(concept_ancestor)} AS ancestor
        JOIN {_relation(concept)} AS concept
            ON concept.concept_id = ancestor.ancestor_concept_id
        WHERE concept.concept_class_id = 'Ingredient'
            AND concept.vocabulary_id IN ('RxNorm', 'RxNorm Extension')
    ) AS ingredient
        ON ingredient.descendant_concept_id = exposure.drug_concept_id"""
    return f"""WITH {_numbered(intervals, persistence)},
eras AS (
    SELECT
        person_id, concept_id,
        min(start_date) AS era_start_date,
        max(end_date) AS era_end_date,
        count(*) AS exposure_count,
        sum(CASE WHEN start_date > reach AND start_date <= reach + {persistence}
            THEN date_diff('day', reach, start_date) ELSE 0 END) AS gap_days
    FROM numbered
    GROUP BY person_id, concept_id, era_number
)
SELECT
    {_key("drug_era", "concept_id", "era_start_date")} AS drug_era_id,
    person_id,
    concept_id AS drug_concept_id,
    era_start_date AS drug_era_start_date,
    era_end_date AS drug_era_end_date,
    CAST(exposure_count AS INTEGER) AS drug_exposure_count,
    CAST(gap_days AS INTEGER) AS gap_days
FROM eras"""
