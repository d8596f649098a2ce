"""Per-project pseudonyms of warehouse people, for provisioning.

A project sees its people under its own pseudonyms: HMAC-SHA-256 of each person's random
key under the project's key (``KeyStore.project_key``). Two projects' extracts cannot be
joined on person, rotating the hub key changes no project's pseudonyms, and destroying a
project's key when its permit ends leaves its pseudonyms unlinkable to anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from healthhub.identity.pseudonyms import project_pseudonyms
from healthhub.identity.vault import Vault


def pseudonyms_for(vault: Vault, project_key: bytes, person_ids: Sequence[int]) -> dict[int, int]:
    """Warehouse person id -> the project's pseudonym (ids the vault does not know are left
    out)."""
    vault.con.register(
        "wanted_people", pa.table({"person_id": pa.array(list(person_ids), pa.int64())})
    )
    try:
        rows = vault.con.execute(
            "SELECT p.person_id, p.person_key FROM vault.person p"
            " JOIN wanted_people w USING (person_id) ORDER BY p.person_id"
        ).fetchall()
    finally:
        vault.con.unregister("wanted_people")
    keys = [bytes(k) for _, k in rows]
    pseudonyms: np.ndarray = project_pseudonyms(project_key, keys)
    return {int(pid): int(ps) for (pid, _), ps in zip(rows, pseudonyms.tolist(), strict=True)}
