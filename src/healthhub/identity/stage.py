"""The identify stage: a delivery's patients into the vault, linked to hub persons.

1. The run's flattened Patient rows become vault records (``incoming``): national ids
   recognised and checked, blind index and warehouse key computed.
2. The vault's active records are decrypted into memory; each incoming record is *new*,
   *unchanged* (re-sent as it was: nothing to do) or *changed* (linked again).
3. New and changed records are linked (``linkage.link``) to each other and to every
   record of the vault, then clustered into people (``assign``).
4. In one vault transaction: a sealed segment with the delivery's records, the records'
   people, new people (random person keys, person ids under the hub key), merges and
   moves as events, pairs for clerical review, the model.
5. For standardisation, in ``<staging>/identified/``: the patient rows without their
   direct identifiers, ``person_map.parquet`` (provider, patient_id, person_id,
   has_birth_date) for every record of the provider, and the free-text views scrubbed of
   the patients' own identifiers.

The flattened files are left as they are until the stage has written its outputs, so it
can run again after a failure and give the same result (a delivery already in the vault
is unchanged); then the flattened files that held identifiers are deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from healthhub.engines.base import Engine
from healthhub.engines.dialects import DUCKDB
from healthhub.identity import scrub
from healthhub.identity.assign import assign
from healthhub.identity.features import FEATURES_VERSION, STORED, finish_features, record_features
from healthhub.identity.incoming import stage_incoming
from healthhub.identity.keys import KeyStore
from healthhub.identity.linkage.comparisons import COMPARISONS
from healthhub.identity.linkage.link import LinkOutcome, LinkSettings, link
from healthhub.identity.linkage.model import Model
from healthhub.identity.pseudonyms import new_person_keys, person_ids
from healthhub.identity.vault import IDENTITY_COLUMNS, Vault
from healthhub.sources.fhir.runner import library_views

IDENTIFIED = "identified"  # the staging sub-folder standardisation reads first


@dataclass
class IdentifySummary:
    source_patients: int = 0  # Patient records in this delivery
    new_records: int = 0
    changed_records: int = 0
    unchanged_records: int = 0
    new_people: int = 0
    joined_existing: int = 0  # new records that joined a person the hub knew
    merges: int = 0
    moves: int = 0
    review_pairs: int = 0  # new pairs waiting for a reviewer
    people: int = 0  # in the hub, after the run
    records: int = 0  # source patients in the hub, after the run
    notes_scrubbed: int = 0
    linkage: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@cache
def direct_columns() -> frozenset[str]:
    """The patient view's columns tagged as direct identifiers."""
    view = next(v for v in library_views() if v.name == "patient")
    return frozenset(view.tagged_columns("healthhub/identifier", "direct"))


def stored_model(vault: Vault) -> Model | None:
    rows = vault.con.execute(
        "SELECT params FROM vault.linkage_model ORDER BY created_at DESC LIMIT 1"
    ).fetchall()
    return Model.from_dict(orjson.loads(rows[0][0])) if rows else None


IDENTITY_SELECT = ", ".join(IDENTITY_COLUMNS)


def _prepare(vault: Vault) -> None:
    """``incoming_status`` (each incoming record new, changed or unchanged, with its record
    id) and ``incoming_linked`` (the new and changed ones, to link)."""
    con = vault.con
    identity_cols = ", ".join(f"i.{c}" for c in IDENTITY_COLUMNS if c != "provider")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE incoming_status AS
        SELECT i.*, e.record_id AS old_record_id, e.person_seq AS old_person_seq,
            CASE WHEN e.record_id IS NULL THEN 'new'
                 WHEN struct_pack({identity_cols}) IS NOT DISTINCT FROM
                      struct_pack({identity_cols.replace("i.", "e.")}) THEN 'unchanged'
                 ELSE 'changed' END AS status,
            nextval('vault.record_seq') AS record_id  -- used unless unchanged
        FROM incoming i LEFT JOIN identity e ON e.source_key = i.source_key""")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW incoming_linked AS
        SELECT record_id, NULL::BIGINT AS person_seq, source_key, true AS is_new,
            {IDENTITY_SELECT}
        FROM incoming_status WHERE status <> 'unchanged'""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE person_counts AS
        SELECT person_seq, count(*) AS n FROM vault.record WHERE active GROUP BY person_seq""")
    # ``solo``: every record the old person has is re-sent with changes in this delivery,
    # so nothing else holds that person and its records may keep it
    con.execute("""
        CREATE OR REPLACE TEMP TABLE changed AS
        SELECT s.record_id, s.old_person_seq,
            coalesce(pc.n, 0) <= count(*) OVER (PARTITION BY s.old_person_seq) AS solo
        FROM incoming_status s LEFT JOIN person_counts pc ON pc.person_seq = s.old_person_seq
        WHERE s.status = 'changed'""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE decisions AS
        SELECT source_key_a, source_key_b, arg_max(decision, decided_at) AS decision
        FROM vault.review_decision GROUP BY ALL""")


def _features(vault: Vault) -> None:
    """``features``: the new records' features, computed, and every other active record's,
    decrypted (or computed again where they were stored by another version)."""
    con = vault.con
    record_features(con, "incoming_linked", "features_new")
    replaced = ("r.record_id NOT IN (SELECT old_record_id FROM incoming_status"
                " WHERE status = 'changed')")  # fmt: skip
    stale = vault.load_features(FEATURES_VERSION, replaced)
    sources = ["stored_features", "features_new"]
    if stale:
        listed = ", ".join(DUCKDB.string(seg) for seg in stale)
        vault.load_identities(f"r.segment_id IN ({listed})", name="stale_identity",
                              active_only=False)  # fmt: skip
        con.execute(f"""CREATE OR REPLACE TEMP VIEW stale_records AS SELECT record_id,
            person_seq, source_key, false AS is_new, {IDENTITY_SELECT} FROM stale_identity""")
        record_features(con, "stale_records", "features_stale")
        for segment in stale:  # store them again, in this version
            rows = con.sql(f"SELECT {', '.join(STORED)} FROM features_stale f JOIN vault.record r"
                           f" USING (record_id) WHERE r.segment_id = ?", params=[segment])  # fmt: skip
            vault.write_features(segment, rows.to_arrow_table())
            con.execute("UPDATE vault.segment SET features_version = ? WHERE segment_id = ?",
                        [FEATURES_VERSION, segment])  # fmt: skip
        con.execute(f"CREATE OR REPLACE TEMP VIEW features_stale_active AS SELECT f.* FROM"
                    f" features_stale f JOIN vault.record r USING (record_id) WHERE r.active"
                    f" AND {replaced}")  # fmt: skip
        sources.append("features_stale_active")
        vault.forget("stale_identity")
    finish_features(con, sources)


def _new_people(vault: Vault, run_id: str) -> int:
    """Persons for the clusters that have none: random keys, ids under the hub key."""
    con = vault.con
    labels = [r[0] for r in con.execute(
        "SELECT DISTINCT label FROM assigned WHERE person_seq IS NULL ORDER BY 1").fetchall()]  # fmt: skip
    if not labels:
        return 0
    keys = new_person_keys(len(labels))
    ids = person_ids(vault.hub_key, keys)
    con.register("new_person_arrow", pa.table({
        "label": pa.array(labels, pa.int64()), "person_key": pa.array(keys, pa.binary()),
        "person_id": pa.array(ids, pa.int64())}))  # fmt: skip
    clash = vault.scalar("SELECT count(*) FROM new_person_arrow n JOIN vault.person p"
                         " USING (person_id)")  # fmt: skip
    if clash:  # 63-bit ids: about one chance in 10^7 at a million people; draw again
        con.unregister("new_person_arrow")
        return _new_people(vault, run_id)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE new_persons AS
        SELECT label, nextval('vault.person_seq') AS person_seq, person_key, person_id
        FROM new_person_arrow""")
    con.unregister("new_person_arrow")
    con.execute("INSERT INTO vault.person SELECT person_seq, person_key, person_id, ?, NULL, NULL"
                " FROM new_persons", [run_id])  # fmt: skip
    con.execute("UPDATE assigned SET person_seq = n.person_seq FROM new_persons n"
                " WHERE n.label = assigned.label AND assigned.person_seq IS NULL")  # fmt: skip
    return len(labels)


def _event(vault: Vault, run_id: str, kind: str, source: str, reason: str) -> int:
    """Record one event per (from_seq, to_seq) of relation ``source`` (from_seq, to_seq,
    patient_key), its rows as the event's moves; returns the number of events."""
    con = vault.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE event_rows AS
        SELECT nextval('vault.event_seq') AS event_id, from_seq, to_seq, records
        FROM (SELECT from_seq, to_seq, count(*) AS records FROM {source} GROUP BY ALL)""")
    con.execute("INSERT INTO vault.person_event SELECT event_id, ?, ?, from_seq, to_seq, records,"
                " ?, now() FROM event_rows", [run_id, kind, reason])  # fmt: skip
    con.execute(f"""
        INSERT INTO vault.person_move
        SELECT e.event_id, s.patient_key, s.to_seq FROM {source} s
        JOIN event_rows e ON e.from_seq = s.from_seq AND e.to_seq = s.to_seq""")
    return vault.count("SELECT count(*) FROM event_rows")


def _persist(vault: Vault, run_id: str, outcome: LinkOutcome | None) -> dict[str, int]:
    con = vault.con
    counts: dict[str, int] = {}
    with vault.transaction():
        counts["new_people"] = _new_people(vault, run_id)
        counts["joined_existing"] = vault.count(
            "SELECT count(*) FROM assigned a JOIN incoming_status s USING (record_id)"
            " WHERE s.status = 'new' AND a.person_seq IN (SELECT person_seq FROM person_counts)"
        )
        table = con.sql(
            f"SELECT record_id, {IDENTITY_SELECT} FROM incoming_status WHERE status <> 'unchanged'"
        ).to_arrow_table()
        if len(table):
            features = (con.sql(f"SELECT {', '.join(STORED)} FROM features_new").to_arrow_table()
                        if outcome is not None else None)  # fmt: skip
            segment = vault.write_segment(table, run_id, features, FEATURES_VERSION)
            con.execute(
                """
                INSERT INTO vault.record
                SELECT s.record_id, s.source_key, s.provider, s.patient_key, a.person_seq, ?,
                    CASE WHEN length(s.birth_date) >= 4
                         AND TRY_CAST(left(s.birth_date, 4) AS INTEGER) IS NOT NULL THEN true
                         ELSE false END,
                    s.national_id_status, true, ?, now()
                FROM incoming_status s JOIN assigned a USING (record_id)""",
                [segment, run_id],
            )
            con.execute("UPDATE vault.record SET active = false WHERE record_id IN"
                        " (SELECT old_record_id FROM incoming_status WHERE status = 'changed')")  # fmt: skip
        # merges: every active record of a merged person moves to the survivor
        con.execute("""
            CREATE OR REPLACE TEMP TABLE merge_moves AS
            SELECT m.person_seq AS from_seq, m.survivor AS to_seq, r.patient_key
            FROM merges m JOIN vault.record r ON r.person_seq = m.person_seq AND r.active""")
        counts["merges"] = _event(vault, run_id, "merge", "merge_moves",
                                  "linked through a new record")  # fmt: skip
        con.execute("UPDATE vault.record SET person_seq = m.survivor FROM merges m"
                    " WHERE vault.record.person_seq = m.person_seq AND vault.record.active")  # fmt: skip
        con.execute("UPDATE vault.person SET retired_run = ?, merged_into = m.survivor FROM merges m"
                    " WHERE vault.person.person_seq = m.person_seq", [run_id])  # fmt: skip
        # re-sent records that now belong to someone else (their earlier rows carry the old
        # person's id, merged away or not)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE record_moves AS
            SELECT c.old_person_seq AS from_seq, a.person_seq AS to_seq, s.patient_key
            FROM changed c JOIN assigned a USING (record_id)
            JOIN incoming_status s USING (record_id)
            WHERE a.person_seq <> c.old_person_seq""")
        counts["moves"] = _event(vault, run_id, "move", "record_moves",
                                 "re-sent with other identifiers")  # fmt: skip
        con.execute(
            """
            UPDATE vault.person SET retired_run = ? WHERE retired_run IS NULL AND person_seq IN
                (SELECT from_seq FROM record_moves) AND person_seq NOT IN
                (SELECT person_seq FROM vault.record WHERE active)""",
            [run_id],
        )
        counts["review_pairs"] = _review_pairs(vault, run_id) if outcome else 0
        obsolete_pairs(vault)
        if outcome is not None and "estimated by EM" in outcome.model.notes:
            con.execute("INSERT INTO vault.linkage_model VALUES (?, now(), ?, ?)",
                        [run_id, outcome.model.pairs, orjson.dumps(outcome.model.as_dict()).decode()])  # fmt: skip
    return counts


def _review_pairs(vault: Vault, run_id: str) -> int:
    levels = ", ".join(f"{c.name} := d.g_{c.name}" for c in COMPARISONS)
    con = vault.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE review_new AS
        SELECT least(l.source_key, r.source_key) AS a, greatest(l.source_key, r.source_key) AS b,
            d.probability, d.match_weight, to_json(struct_pack({levels})) AS levels,
            CASE WHEN d.guarded THEN 'looks like relatives (one home, other given names or'
                 || ' birth years far apart, or both twins)' ELSE 'uncertain match' END AS reason
        FROM decided d JOIN features l ON l.record_id = d.id_l JOIN features r ON r.record_id = d.id_r
        WHERE d.decision = 'review'""")
    con.execute("""
        DELETE FROM review_new WHERE (a, b) IN
            (SELECT (source_key_a, source_key_b) FROM vault.review_pair WHERE status <> 'obsolete')""")
    con.execute(
        """
        INSERT INTO vault.review_pair SELECT nextval('vault.pair_seq'), a, b, probability,
            match_weight, levels, reason, 'pending', ?, now() FROM review_new""",
        [run_id],
    )
    return vault.count("SELECT count(*) FROM review_new")


def obsolete_pairs(vault: Vault) -> None:
    """Pending review pairs whose two records are now one person (linked since) are no
    longer a question."""
    vault.con.execute("""
        UPDATE vault.review_pair SET status = 'obsolete' WHERE status = 'pending' AND pair_id IN (
            SELECT q.pair_id FROM vault.review_pair q
            JOIN vault.record a ON a.source_key = q.source_key_a AND a.active
            JOIN vault.record b ON b.source_key = q.source_key_b AND b.active
            WHERE q.status = 'pending' AND a.person_seq = b.person_seq)""")


def _person_map(vault: Vault, provider: str, out: Path) -> None:
    """Every active record of the provider with its person id (patient ids decrypted)."""
    vault.con.execute(
        f"""
        COPY (
            SELECT r.provider, i.patient_id, p.person_id, r.has_birth_date, r.patient_key
            FROM vault.record r JOIN vault.person p USING (person_seq)
            JOIN (SELECT record_id, patient_id FROM identity WHERE provider = $1
                  UNION ALL SELECT record_id, patient_id FROM incoming_status
                  WHERE status <> 'unchanged') i USING (record_id)
            WHERE r.active AND r.provider = $1
        ) TO '{out}' (FORMAT parquet)""",
        [provider],
    )


def refresh_person_map(vault_folder: Path, keys: KeyStore, staging: Path) -> int:
    """Bring a run's person map up to date with the vault, just before standardisation:
    other runs, reviewers or a key rotation may have changed people or their ids since
    this run was identified. Returns how many source patients now have another id."""
    path = staging / IDENTIFIED / "person_map.parquet"
    if not path.exists():
        return 0
    vault = Vault(vault_folder, keys)
    try:
        source = f"read_parquet({DUCKDB.string(str(path))})"
        changed = vault.count(
            f"SELECT count(*) FROM {source} m JOIN vault.record r ON r.patient_key = m.patient_key"
            " AND r.active JOIN vault.person p USING (person_seq) WHERE p.person_id <> m.person_id"
        )
        if changed:
            fresh = vault.con.sql(
                f"SELECT m.provider, m.patient_id, coalesce(p.person_id, m.person_id) AS person_id,"
                f" m.has_birth_date, m.patient_key FROM {source} m LEFT JOIN vault.record r"
                f" ON r.patient_key = m.patient_key AND r.active"
                f" LEFT JOIN vault.person p USING (person_seq)"
            ).to_arrow_table()
            pq.write_table(fresh, path)
        return changed
    finally:
        vault.close()


def identify(engine: Engine, hub_vault: Path, keys: KeyStore, provider: str, run_id: str, staging: Path,
             settings: LinkSettings, memory_limit: str | None = None,
             say: Callable[[str], None] = lambda _m: None) -> IdentifySummary:  # fmt: skip
    """Vault, link and scrub one run's staging (see the module docstring)."""
    summary = IdentifySummary()
    out = staging / IDENTIFIED
    out.mkdir(exist_ok=True)
    vault = Vault(hub_vault, keys, memory_limit)
    try:
        t0 = time.perf_counter()
        patient_file = staging / "patient.parquet"
        con = vault.con
        if patient_file.exists():
            summary.source_patients = stage_incoming(con, patient_file, provider,
                                                     vault.keys.index)  # fmt: skip
        else:
            con.register(
                "empty_incoming",
                pa.table({c: pa.array([], t) for c, t in IDENTITY_COLUMNS.items()}),
            )
            con.execute("CREATE OR REPLACE TEMP TABLE incoming AS SELECT *, CAST(NULL AS BIGINT)"
                        " AS patient_key, CAST(NULL AS BIGINT) AS source_key FROM empty_incoming")  # fmt: skip
        # identifiers of this provider's records and of the records re-sent, for the
        # person map, scrubbing and telling changed records from unchanged ones
        vault.load_identities(f"r.provider = {DUCKDB.string(provider)}"
                              " OR r.source_key IN (SELECT source_key FROM incoming)")  # fmt: skip
        summary.seconds["vault read"] = time.perf_counter() - t0
        _prepare(vault)
        status = dict(
            con.execute("SELECT status, count(*) FROM incoming_status GROUP BY 1").fetchall()
        )
        summary.new_records = int(status.get("new", 0))
        summary.changed_records = int(status.get("changed", 0))
        summary.unchanged_records = int(status.get("unchanged", 0))
        outcome: LinkOutcome | None = None
        if summary.new_records + summary.changed_records:
            t0 = time.perf_counter()
            _features(vault)
            summary.seconds["features"] = time.perf_counter() - t0
            outcome = link(con, settings, stored_model(vault), say)
            summary.seconds.update({f"linkage {k}": v for k, v in outcome.seconds.items()})
            t0 = time.perf_counter()
            assignment = assign(con)
            summary.seconds["clustering"] = time.perf_counter() - t0
            summary.linkage = {**outcome.as_dict(), "clusters": assignment.clusters,
                               "refused_links": assignment.refused_links}  # fmt: skip
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE assigned (record_id BIGINT, label BIGINT,"
                        " person_seq BIGINT)")  # fmt: skip
            con.execute("CREATE OR REPLACE TEMP TABLE merges (person_seq BIGINT, survivor BIGINT)")
        t0 = time.perf_counter()
        counts = _persist(vault, run_id, outcome)
        summary.new_people, summary.joined_existing = (
            counts["new_people"],
            counts["joined_existing"],
        )
        summary.merges, summary.moves = counts["merges"], counts["moves"]
        summary.review_pairs = counts["review_pairs"]
        summary.people, summary.records = vault.count_people(), vault.count_records()
        summary.seconds["vault write"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if patient_file.exists():
            keep = [c for c in pq.ParquetFile(patient_file).schema_arrow.names
                    if c not in direct_columns()]  # fmt: skip
            pq.write_table(pq.read_table(patient_file, columns=keep), out / "patient.parquet",
                           compression="zstd")  # fmt: skip
        _person_map(vault, provider, out / "person_map.parquet")
        summary.notes_scrubbed = scrub.scrub_free_text(engine, vault, provider, staging, out)
        summary.seconds["scrubbing"] = time.perf_counter() - t0
        # the flattened rows that held identifiers are no longer needed: standardisation
        # reads their identified versions (a failed standardisation resumes from those)
        for done in out.glob("*.parquet"):
            (staging / done.name).unlink(missing_ok=True)
        return summary
    finally:
        vault.close()
