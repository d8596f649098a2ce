"""From the links of a delivery to people: clusters, survivors, merges and moves.

Nodes of the graph are the delivery's new records (``is_new``) and the existing people
its records link to. After clustering (``linkage.cluster``), each cluster becomes one
person:

- a cluster with no existing person is a new person;
- a cluster with one existing person joins it;
- a cluster with several existing people merges them into the one with the most records
  (the oldest on a tie): the others' records *move* to it;
- a re-sent record whose identifiers changed is linked again like a new one; when it was
  its person's only record, that person is a candidate of its cluster (its rows stay
  where they are if nothing says otherwise), and when it ends in another person than
  before, it *moves*.

Everything here is set-based but the clustering itself; no identifier is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from healthhub.identity.linkage.cluster import cluster

NODE_KEY = "CASE WHEN {a}.is_new THEN {a}.record_id ELSE -{a}.person_seq END"


@dataclass
class Assignment:
    clusters: int
    refused_links: int


def _edges(con: duckdb.DuckDBPyConnection, decision: str) -> dict[str, np.ndarray]:
    return con.execute(f"""
        SELECT {NODE_KEY.format(a="l")} AS a, {NODE_KEY.format(a="r")} AS b,
            d.probability + CASE WHEN d.basis = 'probability' THEN 0 ELSE 2 END AS strength
        FROM decided d
        JOIN features l ON l.record_id = d.id_l JOIN features r ON r.record_id = d.id_r
        WHERE d.decision = '{decision}'""").fetchnumpy()


def assign(con: duckdb.DuckDBPyConnection) -> Assignment:
    """Cluster the links in ``decided`` and make the tables ``assigned`` (record_id,
    person_seq or NULL for a new person with its ``label``) and ``merges`` (person_seq,
    survivor). Expects ``features``, ``decided``, ``changed`` (record_id, old_person_seq,
    solo) and ``person_counts`` (person_seq, n)."""
    links = _edges(con, "link")
    apart = _edges(con, "apart")
    new_ids = con.execute("SELECT record_id FROM features WHERE is_new").fetchnumpy()["record_id"]
    keys, inverse = np.unique(
        np.concatenate([new_ids, links["a"], links["b"], apart["a"], apart["b"]]).astype(np.int64),
        return_inverse=True,
    )
    n_new, n_links = len(new_ids), len(links["a"])
    left = inverse[n_new : n_new + n_links]
    right = inverse[n_new + n_links : n_new + 2 * n_links]
    rest = inverse[n_new + 2 * n_links :]
    pairs_apart = zip(
        rest[: len(apart["a"])].tolist(), rest[len(apart["a"]) :].tolist(), strict=True
    )
    cannot = [(a, b) for a, b in pairs_apart if a != b]
    con.register("node_keys", pa.table({"key": pa.array(keys, pa.int64())}))
    found = con.sql(f"""
        SELECT DISTINCT {NODE_KEY.format(a="f")} AS key, hash(f.nid_scheme) AS scheme,
            hash(f.nid) AS value
        FROM features f JOIN node_keys k ON k.key = {NODE_KEY.format(a="f")}
        WHERE f.nid IS NOT NULL""").fetchnumpy()
    con.unregister("node_keys")
    national = (np.searchsorted(keys, found["key"].astype(np.int64)),
                found["scheme"].astype(np.uint64).view(np.int64),
                found["value"].astype(np.uint64).view(np.int64))  # fmt: skip
    labels, refused = cluster(len(keys), left, right, links["strength"], national, cannot)
    con.register("node_arrow", pa.table({"key": pa.array(keys, pa.int64()),
                                         "label": pa.array(labels, pa.int64())}))  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE node_labels AS SELECT * FROM node_arrow")
    con.unregister("node_arrow")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cluster_persons AS
        SELECT label, -key AS person_seq FROM node_labels WHERE key < 0
        UNION
        SELECT n.label, c.old_person_seq FROM node_labels n
        JOIN changed c ON c.record_id = n.key WHERE c.solo""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE survivors AS
        SELECT label, person_seq AS survivor FROM (
            SELECT cp.label, cp.person_seq, row_number() OVER (PARTITION BY cp.label
                ORDER BY coalesce(pc.n, 0) DESC, cp.person_seq) AS rank
            FROM cluster_persons cp LEFT JOIN person_counts pc USING (person_seq))
        WHERE rank = 1""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE assigned AS
        SELECT n.key AS record_id, n.label, s.survivor AS person_seq
        FROM node_labels n LEFT JOIN survivors s USING (label) WHERE n.key > 0""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE merges AS
        SELECT cp.person_seq, s.survivor FROM cluster_persons cp JOIN survivors s USING (label)
        WHERE cp.person_seq <> s.survivor""")
    clusters = int(con.execute("SELECT count(DISTINCT label) FROM node_labels").fetchall()[0][0])
    return Assignment(clusters, refused)
