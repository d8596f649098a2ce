"""Bring the warehouse up to date with the vault: identity events and key rotation.

The identity package records who is who; the warehouse holds rows by person id. After a
merge, split or move (a delivery's, or a reviewer's decision) the warehouse re-keys the
rows of the source patients that moved (``apply_identity_events``). After the hub key is
rotated every person id changes (``rotate_hub_key``). Both run in one warehouse
transaction each, then recompute person, death, observation periods and eras of the
people concerned; both can be run again after a failure.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from healthhub.exceptions import UserError
from healthhub.hub.config import Hub
from healthhub.identity.events import moves_after
from healthhub.identity.keys import HUB_KEY, KeyStore, fingerprint
from healthhub.identity.rotation import apply_ids, id_mapping
from healthhub.identity.vault import Vault
from healthhub.standardize.cdm import CDM_TABLES
from healthhub.standardize.warehouse import (
    SOURCE_OF,
    applied_events,
    apply_moves,
    connect,
    refresh_derived,
)

META_DDL = "CREATE TABLE IF NOT EXISTS healthhub_meta (name VARCHAR PRIMARY KEY, value VARCHAR)"


def check_warehouse_key(con: Any, keys: KeyStore) -> None:
    """Refuse to write person ids into a warehouse re-keyed under another hub key."""
    con.execute(META_DDL)
    rows = con.execute("SELECT value FROM healthhub_meta WHERE name = 'hub_key'").fetchall()
    if rows and rows[0][0] != fingerprint(keys.hub_key()):
        raise UserError(
            "the warehouse's person ids are under another hub key than the key store's: a"
            " rotation was interrupted; run `healthhub keys rotate` again to finish it"
        )


def apply_identity_events(hub: Hub, vault: Vault) -> dict[str, int]:
    """Apply the vault's events the warehouse has not applied yet."""
    con = connect(hub.warehouse, memory_limit=hub.memory_limit,
                  temp_directory=hub.work / "spill")  # fmt: skip
    try:
        moves = moves_after(vault, applied_events(con))
        if not len(moves):
            return {"events": 0, "rows": 0}
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE run_people (person_id BIGINT)")
            rows = apply_moves(con, moves)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        refresh_derived(con, hub.name)
        return {"events": len(set(moves.column("event_id").to_pylist())), "rows": rows}
    finally:
        con.close()


def person_id_tables() -> list[tuple[str, str]]:
    """(table, column) of every warehouse column holding a person id."""
    found = [(t, "person_id") for t, spec in CDM_TABLES.items() if "person_id" in spec.column_names]
    found += [(source, "person_id") for source in SOURCE_OF.values()]
    found.append(("cohort", "subject_id"))
    return found


def rotate_hub_key(hub: Hub) -> dict[str, Any]:
    """Replace the hub key; every person id in vault and warehouse changes with it.

    A new key is staged first (``hub.next.key``); the warehouse is re-keyed in one
    transaction and marked with the new key's fingerprint, then the vault, then the new
    key replaces the old one, which is destroyed. Interrupted, the command resumes.
    """
    keys = KeyStore(hub.keys)
    old_key = keys.hub_key()
    new_key = keys.stage_next(HUB_KEY)
    old_print, new_print = fingerprint(old_key), fingerprint(new_key)
    vault = Vault(hub.vault, keys, hub.memory_limit, rotating_to=new_print)
    try:
        mapping, vault_done = id_mapping(vault, old_key, new_key)
        rows = _rekey_warehouse(hub, mapping, new_print)
        if not vault_done:
            apply_ids(vault, mapping, new_print)
        vault.finish_rotation()
    finally:
        vault.close()
    keys.promote(HUB_KEY)
    return {"key": HUB_KEY, "people": len(mapping), "rows": rows, "old": old_print,
            "new": new_print}  # fmt: skip


def _rekey_warehouse(hub: Hub, mapping: pa.Table, new_print: str) -> int:
    con = connect(hub.warehouse, memory_limit=hub.memory_limit,
                  temp_directory=hub.work / "spill")  # fmt: skip
    try:
        con.execute(META_DDL)
        # run whatever the marker says: mapping old ids to new ones is idempotent, and rows
        # written under the old key after an interrupted rotation are re-keyed too
        con.register("mapping_arrow", mapping)
        rows = 0
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE mapping AS SELECT * FROM mapping_arrow")
            for table, column in person_id_tables():
                result = con.execute(f"UPDATE {table} SET {column} = m.new_id FROM mapping m"
                                     f" WHERE {table}.{column} = m.old_id").fetchall()  # fmt: skip
                rows += int(result[0][0]) if result else 0
            con.execute("INSERT OR REPLACE INTO healthhub_meta VALUES ('hub_key', ?)", [new_print])
            con.execute("CREATE OR REPLACE TEMP TABLE run_people AS SELECT new_id AS person_id"
                        " FROM mapping")  # fmt: skip
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        refresh_derived(con, hub.name)  # their row ids derive from person ids
        return rows
    finally:
        con.close()
