"""The vault's side of a hub-key rotation: every person's id under the old and the new key.

Person keys are random and stay; only the ids derived from them change. The orchestration
(stage the new key, re-key the warehouse, then the vault, then promote the key) is
``hub.sync.rotate_hub_key``; these functions are what of it touches the vault.
"""

from __future__ import annotations

import pyarrow as pa

from healthhub.identity.pseudonyms import person_ids
from healthhub.identity.vault import Vault


def id_mapping(vault: Vault, old_key: bytes, new_key: bytes) -> tuple[pa.Table, bool]:
    """(old_id -> new_id of every person, whether the vault already holds the new ids)."""
    people = vault.con.execute(
        "SELECT person_key, person_id FROM vault.person ORDER BY person_seq"
    ).fetchall()
    person_keys = [bytes(k) for k, _ in people]
    new_ids = person_ids(new_key, person_keys)
    mapping = pa.table({"old_id": pa.array(person_ids(old_key, person_keys), pa.int64()),
                        "new_id": pa.array(new_ids, pa.int64())})  # fmt: skip
    done = bool(people) and int(people[0][1]) == int(new_ids[0])
    return mapping, done


def apply_ids(vault: Vault, mapping: pa.Table, new_fingerprint: str) -> None:
    """Give every person its new id, and mark the vault as under the new key."""
    with vault.transaction():
        vault.con.register("mapping_arrow", mapping)
        vault.con.execute("UPDATE vault.person SET person_id = m.new_id FROM mapping_arrow m"
                          " WHERE vault.person.person_id = m.old_id")  # fmt: skip
        vault.con.unregister("mapping_arrow")
        vault.con.execute("UPDATE vault.vault_meta SET value = ? WHERE name = 'hub_key'",
                          [new_fingerprint])  # fmt: skip
