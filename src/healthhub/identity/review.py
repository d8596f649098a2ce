"""Clerical review: pairs linkage was not sure of, and the reviewers' decisions.

A pair whose match probability falls between the review and link thresholds (or that
looks like two relatives) is kept as a *review pair*, by the blind indexes of its two
source records. A reviewer decides "same" or "different"; the decision is kept for good
and wins over the model in every later run. It takes effect at once:

- "same" for records of two people merges them (the one with fewer records moves);
- "different" for records of one person splits that person: its records are compared
  again, pair by pair, under every decision about them, and each group that no longer
  holds together becomes a person of its own (the largest group keeps the person).

The moves go to the warehouse like those of a delivery (``events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from healthhub.exceptions import UserError
from healthhub.identity.features import FEATURES_VERSION, build_features
from healthhub.identity.linkage.cluster import cluster
from healthhub.identity.linkage.comparisons import describe
from healthhub.identity.linkage.link import LinkSettings, compare_pairs, decide_pairs, estimate_u
from healthhub.identity.linkage.model import default_model
from healthhub.identity.pseudonyms import new_person_keys, person_ids
from healthhub.identity.stage import obsolete_pairs, stored_model
from healthhub.identity.vault import IDENTITY_COLUMNS, Vault

DECISIONS = ("same", "different")
SHOWN = ("given", "all_given", "family", "all_family", "birth_date", "gender", "address_line",
         "city", "postal_code", "phone", "email", "mrn", "national_id", "national_id_status")  # fmt: skip


@dataclass(frozen=True)
class ReviewPair:
    pair_id: int
    probability: float
    match_weight: float
    reason: str
    levels: dict[str, str]
    providers: tuple[str | None, str | None]
    status: str
    run_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "providers": list(self.providers)}


def pairs(vault: Vault, status: str | None = "pending") -> list[ReviewPair]:
    where = "WHERE p.status = $1" if status else "WHERE $1 IS NULL"
    rows = vault.con.execute(f"""
        SELECT p.pair_id, p.probability, p.match_weight, p.reason, p.levels,
            (SELECT any_value(provider) FROM vault.record WHERE source_key = p.source_key_a),
            (SELECT any_value(provider) FROM vault.record WHERE source_key = p.source_key_b),
            p.status, p.run_id
        FROM vault.review_pair p {where} ORDER BY p.probability DESC, p.pair_id""",
                             [status]).fetchall()  # fmt: skip
    return [ReviewPair(int(i), float(pr), float(w), reason, describe(orjson.loads(levels)),
                       (a, b), st, run) for i, pr, w, reason, levels, a, b, st, run in rows]  # fmt: skip


def _pair(vault: Vault, pair_id: int) -> tuple[int, int, str]:
    rows = vault.con.execute("SELECT source_key_a, source_key_b, status FROM vault.review_pair"
                             " WHERE pair_id = ?", [pair_id]).fetchall()  # fmt: skip
    if not rows:
        raise UserError(f"no review pair {pair_id} (healthhub identity review lists them)")
    a, b, status = rows[0]
    return int(a), int(b), str(status)


def values(vault: Vault, pair_id: int) -> list[dict[str, Any]]:
    """The identifiers of both records of a pair, for a steward deciding it."""
    a, b, _ = _pair(vault, pair_id)
    vault.load_identities(f"r.source_key IN ({a}, {b})", name="shown")
    columns = ", ".join(["provider", "patient_id", *SHOWN])
    rows = vault.con.execute(f"SELECT {columns} FROM shown ORDER BY source_key = {b}").fetchall()
    names = ["provider", "patient_id", *SHOWN]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _active(vault: Vault, source_key: int) -> tuple[int, int] | None:
    rows = vault.con.execute("SELECT record_id, person_seq FROM vault.record WHERE active AND"
                             " source_key = ?", [source_key]).fetchall()  # fmt: skip
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _event(vault: Vault, kind: str, from_seq: int, to_seq: int, record_ids: list[int],
           reason: str) -> int:  # fmt: skip
    con = vault.con
    event_id = int(con.execute("SELECT nextval('vault.event_seq')").fetchall()[0][0])
    con.execute("INSERT INTO vault.person_event VALUES (?, NULL, ?, ?, ?, ?, ?, now())",
                [event_id, kind, from_seq, to_seq, len(record_ids), reason])  # fmt: skip
    ids = ", ".join(str(i) for i in record_ids)
    con.execute(f"INSERT INTO vault.person_move SELECT ?, patient_key, ? FROM vault.record"
                f" WHERE record_id IN ({ids})", [event_id, to_seq])  # fmt: skip
    con.execute(f"UPDATE vault.record SET person_seq = ? WHERE record_id IN ({ids})", [to_seq])
    return event_id


def _national_conflict(vault: Vault, first: int, second: int) -> bool:
    """Whether the two people's records carry two different valid ids of one scheme."""
    vault.load_features(FEATURES_VERSION, f"r.person_seq IN ({int(first)}, {int(second)})",
                        name="merging")  # fmt: skip
    found = vault.count(
        "SELECT count(*) FROM (SELECT nid_scheme FROM merging WHERE nid IS NOT NULL"
        " GROUP BY nid_scheme HAVING count(DISTINCT nid) > 1)"
    )
    vault.forget("merging")
    return found > 0


def _merge(vault: Vault, first: int, second: int) -> list[int]:
    if _national_conflict(vault, first, second):
        raise UserError("these records belong to people with two different valid national ids"
                        " of one scheme: they cannot be one person")  # fmt: skip
    counts = dict(vault.con.execute(
        "SELECT person_seq, count(*) FROM vault.record WHERE active AND person_seq IN (?, ?)"
        " GROUP BY 1", [first, second]).fetchall())  # fmt: skip
    keep, leave = sorted((first, second), key=lambda p: (-counts.get(p, 0), p))
    records = [int(r[0]) for r in vault.con.execute(
        "SELECT record_id FROM vault.record WHERE active AND person_seq = ?", [leave]).fetchall()]  # fmt: skip
    event = _event(vault, "merge", leave, keep, records, "a reviewer said: same person")
    vault.con.execute("UPDATE vault.person SET retired_run = 'review', merged_into = ?"
                      " WHERE person_seq = ?", [keep, leave])  # fmt: skip
    return [event]


def _split(vault: Vault, person_seq: int, settings: LinkSettings) -> list[int]:
    """Compare the person's records again under the decisions; regroup them."""
    con = vault.con
    vault.load_identities(f"r.person_seq = {int(person_seq)}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE linkage_records AS
        SELECT record_id, NULL::BIGINT AS person_seq, source_key, true AS is_new,
            {", ".join(IDENTITY_COLUMNS)} FROM identity""")
    build_features(con, "linkage_records")
    con.execute("CREATE OR REPLACE TEMP TABLE pairs AS SELECT l.record_id AS id_l,"
                " r.record_id AS id_r, 0 AS rules FROM features l JOIN features r"
                " ON l.record_id < r.record_id")  # fmt: skip
    con.execute("""
        CREATE OR REPLACE TEMP TABLE decisions AS
        SELECT source_key_a, source_key_b, arg_max(decision, decided_at) AS decision
        FROM vault.review_decision GROUP BY ALL""")
    compare_pairs(con)
    model = stored_model(vault) or default_model(estimate_u(con, 10_000))
    decide_pairs(con, model, settings)
    ids = con.execute("SELECT record_id FROM features ORDER BY record_id").fetchnumpy()["record_id"]
    links = con.execute(
        "SELECT id_l, id_r, probability FROM decided WHERE decision = 'link'"
    ).fetchnumpy()
    apart = con.execute("SELECT id_l, id_r FROM decided WHERE decision = 'apart'").fetchall()
    found = con.sql(
        "SELECT record_id, hash(nid_scheme) AS scheme, hash(nid) AS value"
        " FROM features WHERE nid IS NOT NULL"
    ).fetchnumpy()
    national = (np.searchsorted(ids, found["record_id"]),
                found["scheme"].astype(np.uint64).view(np.int64),
                found["value"].astype(np.uint64).view(np.int64))  # fmt: skip
    labels, _ = cluster(len(ids), np.searchsorted(ids, links["id_l"]),
                        np.searchsorted(ids, links["id_r"]), links["probability"], national,
                        [(int(np.searchsorted(ids, a)), int(np.searchsorted(ids, b))) for a, b in apart])  # fmt: skip
    groups: dict[int, list[int]] = {}
    for record, label in zip(ids.tolist(), labels.tolist(), strict=True):
        groups.setdefault(label, []).append(record)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), min(g)))
    events = []
    for group in ordered[1:]:
        key = new_person_keys(1)
        pid = int(person_ids(vault.hub_key, key)[0])
        seq = int(con.execute("SELECT nextval('vault.person_seq')").fetchall()[0][0])
        con.execute("INSERT INTO vault.person VALUES (?, ?, ?, 'review', NULL, NULL)",
                    [seq, key[0], pid])  # fmt: skip
        events.append(_event(vault, "split", person_seq, seq, group,
                             "a reviewer said: different people"))  # fmt: skip
    return events


def decide(vault: Vault, pair_id: int, decision: str, actor: str, note: str | None,
           settings: LinkSettings) -> list[int]:  # fmt: skip
    """Record a decision and apply it to the vault's people; returns the events made."""
    if decision not in DECISIONS:
        raise UserError(f"a decision is one of {', '.join(DECISIONS)}")
    a, b, _ = _pair(vault, pair_id)
    with vault.transaction():
        vault.con.execute("INSERT INTO vault.review_decision VALUES (?, ?, ?, ?, now(), ?, ?)",
                          [a, b, decision, actor, note, pair_id])  # fmt: skip
        vault.con.execute("UPDATE vault.review_pair SET status = 'decided' WHERE pair_id = ?",
                          [pair_id])  # fmt: skip
        left, right = _active(vault, a), _active(vault, b)
        if left is None or right is None:
            return []
        if decision == "same" and left[1] != right[1]:
            events = _merge(vault, left[1], right[1])
        elif decision == "different" and left[1] == right[1]:
            events = _split(vault, left[1], settings)
        else:
            events = []
        obsolete_pairs(vault)
        return events
