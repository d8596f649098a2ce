"""Link the new records of a delivery to each other and to every record the vault holds.

On an engine connection holding ``features`` (see ``features.py``; ``is_new`` marks the
records being linked), ``link`` runs, all set-based:

1. blocking: candidate pairs, after estimating how many there will be and refusing with
   a clear message when that exceeds the memory budget;
2. pairs whose records carry two different validated national identifiers of one scheme
   are set apart (different people); pairs sharing one are deterministic links;
3. comparison levels of every other pair; ``u`` from random pairs; ``m`` and the prior by
   EM (or the last model the hub estimated, when this delivery has too few pairs);
4. match weights and probabilities; the decision per pair: *link* above
   ``link_threshold``, *review* between ``review_threshold`` and it, else none. A pair
   that looks like two relatives (one family name and home, wholly different given
   names; or both records marked as a multiple birth, with given names that differ:
   twins share everything else) is never linked on probability alone: at most it goes
   to review;
5. reviewers' decisions win over all of it: "same" links, "different" keeps apart.

The result is the table ``decided`` (id_l, id_r, decision, probability, ...) and counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from healthhub.exceptions import UserError
from healthhub.identity.linkage import blocking
from healthhub.identity.linkage.comparisons import COMPARISONS, comparison_columns, tf_columns
from healthhub.identity.linkage.model import (
    Model,
    default_model,
    estimate_by_sessions,
    implausible,
    m_from_labelled,
    match_share,
    u_from_counts,
)

LEVEL_COLUMNS = [f"g_{c.name}" for c in COMPARISONS]
MIN_LABELLED = 30  # known matches needed to start EM from them
U_KEPT_WHILE = 1.25  # u is estimated again once the hub holds 25 % more records
# relatives, not one person: one home (street line or phone) and birth dates years apart
# (a parent and a child, even of one name) or wholly different given names (siblings,
# twins, a couple; whatever their family names: a married sister, a wife under her maiden
# name); or both records marked as a multiple birth with given names that differ
GUARD = """NOT national_link AND (
    ((g_address = 0 OR g_phone = 0)
        AND (g_birth_date = 4 OR (g_given = 5 AND NOT same_given_sound)))
    OR (both_multiple_birth AND g_given >= 3))"""
# a shared validated national id links on its own only when the birth dates agree and the
# rest does not say otherwise: numbers get mistyped into another patient's record, and a
# family may share one card
NATIONAL_LINK = "by_national_id AND g_birth_date IN (0, 1)"
MIN_NATIONAL_EVIDENCE = -10.0  # bits the other fields may hold against a national-id link


@dataclass(frozen=True)
class LinkSettings:
    link_threshold: float = 0.95
    review_threshold: float = 0.60
    max_block_size: int = 1000
    memory_budget: int = 4 * 1024**3  # bytes the candidate pairs may take
    min_pairs_for_em: int = 2000
    random_pairs: int = 300_000


class LinkageTooLarge(UserError):
    """Blocking would make more candidate pairs than the memory budget allows."""


@dataclass
class LinkOutcome:
    model: Model
    candidate_pairs: int = 0
    estimated_pairs: int = 0
    national_id_links: int = 0
    national_id_conflicts: int = 0
    probabilistic_links: int = 0
    review_pairs: int = 0
    decided_same: int = 0
    decided_different: int = 0
    guarded: int = 0
    skipped_keys: dict[str, int] = field(default_factory=dict)
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("model", "seconds")}
        out["model"] = {"prior": round(self.model.prior, 6), "pairs": self.model.pairs,
                        "iterations": self.model.iterations, "notes": self.model.notes}  # fmt: skip
        out["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return out


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def _pair_levels_sql(pairs: str, where: str = "TRUE") -> str:
    """Levels and term frequencies of each pair in ``pairs`` (columns id_l, id_r)."""
    return f"""
        SELECT p.id_l, p.id_r, p.rules,
            coalesce(l.nid_scheme = r.nid_scheme AND l.nid = r.nid, false) AS by_national_id,
            coalesce(l.multiple_birth AND r.multiple_birth, false) AS both_multiple_birth,
            coalesce(l.given_sound = r.given_sound, false) AS same_given_sound,
            {comparison_columns()}, {tf_columns()}
        FROM {pairs} p
        JOIN features l ON l.record_id = p.id_l
        JOIN features r ON r.record_id = p.id_r
        WHERE {where}"""


def estimate_u(con: duckdb.DuckDBPyConnection, draws: int) -> dict[str, list[float]]:
    """u per level from pseudo-random pairs of records (deterministic: hashes, not a RNG)."""
    n = _scalar(con, "SELECT count(*) FROM features")
    draws = int(min(draws, max(n * (n - 1) // 2, 0)))
    counts = {c.name: np.zeros(c.size) for c in COMPARISONS}
    if n < 2 or draws == 0:
        return u_from_counts(counts)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE random_pairs AS
        SELECT l.record_id AS id_l, r.record_id AS id_r, 0 AS rules FROM
            (SELECT hash(2 * k) % {n} AS a, hash(2 * k + 1) % {n} AS b
             FROM range({draws}) t(k)) d
        JOIN features l ON l.rowid = d.a JOIN features r ON r.rowid = d.b
        WHERE d.a <> d.b""")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE random_levels AS"
        f" SELECT {', '.join(LEVEL_COLUMNS)} FROM ({_pair_levels_sql('random_pairs')})"
    )
    for comparison in COMPARISONS:
        column = f"g_{comparison.name}"
        for level, count in con.execute(
            f"SELECT {column}, count(*) FROM random_levels WHERE {column} >= 0 GROUP BY 1"
        ).fetchall():
            counts[comparison.name][int(level)] = count
    con.execute("DROP TABLE random_pairs")
    con.execute("DROP TABLE random_levels")
    return u_from_counts(counts)


def fit_model(con: duckdb.DuckDBPyConnection, u: dict[str, list[float]], stored: Model | None,
              min_pairs: int) -> Model:  # fmt: skip
    """EM on this delivery's compared pairs, or the stored model when they are too few."""
    rows = con.execute(
        f"SELECT {', '.join(LEVEL_COLUMNS)}, rules, {NATIONAL_LINK} AS known, count(*)"
        " FROM compared"
        " GROUP BY ALL"
    ).fetchall()
    start = _with_u(stored, u) if stored else default_model(u)
    if not rows:
        return start
    data = np.array(rows, dtype=np.int64)
    patterns, rules = data[:, : len(COMPARISONS)], data[:, -3]
    labelled, counts = data[:, -2] == 1, data[:, -1]
    total = int(counts.sum())
    if total < min_pairs:
        start.notes = [*start.notes, f"too few pairs ({total:,}) to estimate m"]
        return start
    if int(counts[labelled].sum()) >= MIN_LABELLED:
        start = Model(m_from_labelled(patterns[labelled], counts[labelled]), u,
                      float(counts[labelled].sum() / total), notes=start.notes)  # fmt: skip
    sessions = [(bit, rule.fixes) for bit, rule in enumerate(blocking.RULES)]
    estimated = estimate_by_sessions(patterns, rules, counts, labelled, start, sessions)
    problem = implausible(estimated)
    if problem:
        start.notes = [*start.notes, f"EM estimate set aside: {problem}"]
        start.prior = match_share(patterns, counts, labelled, start)
        return start
    return estimated


def _with_u(model: Model, u: dict[str, list[float]]) -> Model:
    return Model(model.m, u, model.prior, model.pairs, model.iterations,
                 ["the hub's last estimate"])  # fmt: skip


def decide_pairs(con: duckdb.DuckDBPyConnection, model: Model, settings: LinkSettings) -> None:
    """Score ``compared`` with ``model`` (its ``prior_weight_used``) into ``scored``, then
    decide each pair into ``decided``, reviewers' decisions (``decisions``) first."""
    prior = model.prior_weight_used
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE scored AS
        SELECT *, 1.0 / (1.0 + pow(2.0, -match_weight)) AS probability, {GUARD} AS guarded
        FROM (SELECT *, {NATIONAL_LINK}
                        AND match_weight - {prior:.10f} >= {MIN_NATIONAL_EVIDENCE} AS national_link
              FROM (SELECT c.*, {model.score_sql(prior)} AS match_weight FROM compared c))""")
    link_t, review_t = settings.link_threshold, settings.review_threshold
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE decided AS
        SELECT s.id_l, s.id_r, s.probability, s.match_weight, s.national_link AS by_national_id,
            s.guarded,
            {", ".join(f"s.{c}" for c in LEVEL_COLUMNS)},
            CASE WHEN d.decision = 'same' THEN 'link'
                 WHEN d.decision = 'different' THEN 'apart'
                 WHEN s.national_link THEN 'link'
                 WHEN s.probability >= {link_t} AND NOT s.guarded THEN 'link'
                 WHEN s.probability >= {review_t} THEN 'review'
                 ELSE 'none' END AS decision,
            CASE WHEN d.decision IS NOT NULL THEN 'reviewer'
                 WHEN s.national_link THEN 'national id'
                 ELSE 'probability' END AS basis
        FROM scored s
        JOIN features l ON l.record_id = s.id_l JOIN features r ON r.record_id = s.id_r
        LEFT JOIN decisions d ON d.source_key_a = least(l.source_key, r.source_key)
            AND d.source_key_b = greatest(l.source_key, r.source_key)""")
    # reviewers' decisions on pairs blocking did not bring up this time, new records or not
    # (a "different" between two people the hub knows keeps them apart when a new record
    # links to both)
    con.execute("""
        INSERT INTO decided (id_l, id_r, probability, match_weight, by_national_id, guarded,
                             decision, basis)
        SELECT least(l.record_id, r.record_id), greatest(l.record_id, r.record_id),
            CASE WHEN d.decision = 'same' THEN 1.0 ELSE 0.0 END, 0, false, false,
            CASE WHEN d.decision = 'same' THEN 'link' ELSE 'apart' END, 'reviewer'
        FROM decisions d
        JOIN features l ON l.source_key = d.source_key_a
        JOIN features r ON r.source_key = d.source_key_b
        WHERE NOT EXISTS (SELECT 1 FROM decided x
                          WHERE x.id_l = least(l.record_id, r.record_id)
                            AND x.id_r = greatest(l.record_id, r.record_id))""")


def compare_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """``compared``: levels of every pair in ``pairs`` but those set apart by two different
    validated national identifiers of one scheme."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE compared AS"
        + _pair_levels_sql(
            "pairs", "NOT coalesce(l.nid_scheme = r.nid_scheme AND l.nid <> r.nid, false)"
        )
    )
    return _scalar(con, "SELECT count(*) FROM compared")


def link(con: duckdb.DuckDBPyConnection, settings: LinkSettings, stored: Model | None,
         say: Callable[[str], None] = lambda _m: None) -> LinkOutcome:  # fmt: skip
    """Compare, score and decide the candidate pairs of the new records (see module doc).

    Expects ``features`` and ``decisions`` (source_key_a < source_key_b, decision) on
    ``con``; leaves ``decided``.
    """
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = blocking.plan_blocks(con, settings.max_block_size)
    if plan.estimated_bytes > settings.memory_budget:
        largest = ", ".join(f"{rule}: {n:,} records" for rule, n in
                            sorted(plan.largest_block.items(), key=lambda kv: -kv[1])[:3])  # fmt: skip
        raise LinkageTooLarge(
            f"identity: linkage would compare about {plan.estimated_pairs:,} candidate pairs"
            f" (about {plan.estimated_bytes / 1024**3:.1f} GB), more than [identity]"
            f" linkage_memory allows ({settings.memory_budget / 1024**3:.1f} GB); largest"
            f" blocks by rule: {largest}. Raise linkage_memory in healthhub.toml or lower"
            " max_block_size"
        )
    candidates = blocking.candidate_pairs(con)
    by_rule = dict(con.execute(
        "SELECT r.name, count(*) FROM pairs p JOIN (VALUES "
        + ", ".join(f"({i}, '{rule.name}')" for i, rule in enumerate(blocking.RULES))
        + ") AS r(bit, name) ON (p.rules & (1 << r.bit)) <> 0 GROUP BY 1").fetchall())  # fmt: skip
    seconds["blocking"] = time.perf_counter() - t0
    say(f"linkage: {candidates:,} candidate pairs")

    t0 = time.perf_counter()
    compared = compare_pairs(con)
    seconds["comparing"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    records = _scalar(con, "SELECT count(*) FROM features")
    if stored is not None and stored.records > 0 and records <= stored.records * U_KEPT_WHILE:
        u = stored.u  # the population has hardly changed since u was estimated
    else:
        u = estimate_u(con, settings.random_pairs)
    model = fit_model(con, u, stored, settings.min_pairs_for_em)
    model.records = stored.records if stored is not None and u is stored.u else records
    seconds["model"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    new = _scalar(con, "SELECT count(*) FROM features WHERE is_new")
    possible = new * (records - new) + new * (new - 1) // 2
    estimated = "estimated by EM" in model.notes
    model.prior_weight_used = model.prior_weight(compared, possible, 0 if estimated else new)
    decide_pairs(con, model, settings)
    counts = dict(
        con.execute("SELECT decision || '|' || basis, count(*) FROM decided GROUP BY 1").fetchall()
    )
    seconds["scoring"] = time.perf_counter() - t0
    return LinkOutcome(
        model=model,
        candidate_pairs=candidates,
        estimated_pairs=plan.estimated_pairs,
        national_id_links=int(counts.get("link|national id", 0)),
        national_id_conflicts=candidates - compared,
        probabilistic_links=int(counts.get("link|probability", 0)),
        review_pairs=int(counts.get("review|probability", 0)),
        decided_same=int(counts.get("link|reviewer", 0)),
        decided_different=int(counts.get("apart|reviewer", 0)),
        guarded=_scalar(
            con,
            "SELECT count(*) FROM scored WHERE guarded AND probability >="
            f" {settings.link_threshold}",
        ),
        skipped_keys=plan.skipped_keys,
        pairs_by_rule={k: int(v) for k, v in sorted(by_rule.items())},
        seconds=seconds,
    )
