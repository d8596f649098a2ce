"""Blocking: which pairs of records are compared at all (rules as data).

Comparing every record with every other is quadratic; comparing only records that share
a *blocking key* is not. A pair is a candidate when it shares the key of at least one
rule, so the rules are chosen for recall: each rests on different fields, and a pair
whose records differ in one or two fields (a typo in the name, a married name, day and
month swapped, a new address, no phone) still shares another rule's key.

Only pairs with at least one record of the delivery being linked are formed (linkage is
incremental). A key shared by more than ``max_block_size`` records (a placeholder phone
number, a default birth date) is not used: it would make many pairs and tell little; the
run's summary counts such keys per rule, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class BlockingRule:
    name: str
    key: str  # SQL over a feature row; with ``each`` it may use ``x``, one element at a time
    present: str
    description: str
    each: str | None = None  # a list column: one key per element
    # comparisons whose fields make the key: among the rule's pairs they agree by
    # construction, so EM learns nothing about them there (Splink's training sessions)
    fixes: tuple[str, ...] = ()
    # the most records one key of this rule may gather (else ``max_block_size``): names
    # alone are a good key only where they are rare
    max_block: int | None = None


RULES: tuple[BlockingRule, ...] = (
    BlockingRule("national_id", "nid_scheme || ':' || nid", "nid IS NOT NULL",
                 "the same validated national identifier"),
    BlockingRule("birth_date_name", "dob_sorted || '|' || x", "dob_sorted IS NOT NULL",
                 "birth date (day and month in either order) and the sound of a given or"
                 " family name", each="name_sounds",
                 fixes=("birth_date", "given", "family")),
    BlockingRule("birth_year_names", "birth_year || '|' || x", "birth_year IS NOT NULL",
                 "birth year and the sounds of the given and a family name (either order)",
                 each="name_pairs", fixes=("birth_date", "given", "family")),
    BlockingRule("place_names", "coalesce(postcode, city_sq) || '|' || x",
                 "coalesce(postcode, city_sq) IS NOT NULL",
                 "postal code (else city) and the sounds of the given and a family name",
                 each="name_pairs", fixes=("place", "given", "family")),
    BlockingRule("names", "x", "TRUE",
                 "the sounds of the given and a family name (rare names: a key shared by more than"
                 " 20 records)", each="name_pairs", fixes=("given", "family"), max_block=20),
    BlockingRule("phone", "x", "TRUE", "a phone number", each="phones", fixes=("phone",)),
    BlockingRule("email", "email", "email IS NOT NULL", "the e-mail address", fixes=("email",)),
    BlockingRule("address", "address || '|' || coalesce(postcode, city_sq)",
                 "address IS NOT NULL AND coalesce(postcode, city_sq) IS NOT NULL",
                 "street line and postal code (else city; a key shared by more than 20 records,"
                 " a care home or a shelter, is not used)", fixes=("address", "place"),
                 max_block=20),
)  # fmt: skip
BYTES_PER_PAIR = 400  # memory one candidate pair takes through comparison (measured)


def _rule_keys(index: int, rule: BlockingRule) -> str:
    if rule.each:
        return (f"SELECT {index} AS rule, hash({rule.key}) AS key, record_id, is_new FROM"
                f" (SELECT *, unnest({rule.each}) AS x FROM features WHERE {rule.present})"
                " WHERE x IS NOT NULL")  # fmt: skip
    return (f"SELECT {index} AS rule, hash({rule.key}) AS key, record_id, is_new FROM features"
            f" WHERE {rule.present}")  # fmt: skip


@dataclass
class BlockingPlan:
    estimated_pairs: int
    skipped_keys: dict[str, int]  # rule -> keys over max_block_size
    largest_block: dict[str, int]  # rule -> most records under one key (among used keys)

    @property
    def estimated_bytes(self) -> int:
        return self.estimated_pairs * BYTES_PER_PAIR


def plan_blocks(con: duckdb.DuckDBPyConnection, max_block_size: int) -> BlockingPlan:
    """Make ``block_keys`` and ``blocks`` (``usable`` when under the rule's limit) and
    estimate the candidate pairs (an upper bound: a pair sharing keys of several rules is
    counted once per rule)."""
    union = "\nUNION ALL\n".join(_rule_keys(i, r) for i, r in enumerate(RULES))
    con.execute(f"CREATE OR REPLACE TEMP TABLE block_keys AS {union}")
    limits = ", ".join(f"({i}, {min(r.max_block or max_block_size, max_block_size)})"
                       for i, r in enumerate(RULES))  # fmt: skip
    con.execute(
        "CREATE OR REPLACE TEMP TABLE blocks AS SELECT b.*, b.n <= l.most AS usable FROM"
        " (SELECT rule, key, count(*) AS n, count(*) FILTER (WHERE is_new) AS n_new"
        "  FROM block_keys GROUP BY rule, key"
        "  HAVING count(*) > 1 AND count(*) FILTER (WHERE is_new) > 0) b"
        f" JOIN (VALUES {limits}) AS l(rule, most) USING (rule)"
    )
    rows = con.execute("""
        SELECT rule, count(*) FILTER (WHERE NOT usable) AS skipped,
            max(n) FILTER (WHERE usable) AS largest,
            sum(CASE WHEN usable THEN n_new * (n - n_new) + n_new * (n_new - 1) / 2 ELSE 0 END)
                AS pairs
        FROM blocks GROUP BY rule ORDER BY rule""").fetchall()
    skipped = {RULES[r].name: int(s) for r, s, _, _ in rows if s}
    largest = {RULES[r].name: int(n) for r, _, n, _ in rows if n}
    pairs = sum(int(p or 0) for *_, p in rows)
    return BlockingPlan(pairs, skipped, largest)


def candidate_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """``pairs`` (id_l < id_r, and ``rules``: a bit per rule that formed the pair): every pair
    sharing a usable key, at least one record new."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE pairs AS
        SELECT least(a.record_id, b.record_id) AS id_l,
            greatest(a.record_id, b.record_id) AS id_r,
            bit_or(CAST(1 AS INTEGER) << a.rule) AS rules
        FROM blocks k
        JOIN block_keys a ON a.rule = k.rule AND a.key = k.key AND a.is_new
        JOIN block_keys b ON b.rule = k.rule AND b.key = k.key
            AND (NOT b.is_new OR a.record_id < b.record_id)
        WHERE k.usable
        GROUP BY ALL""")
    return int(con.execute("SELECT count(*) FROM pairs").fetchall()[0][0])
