"""What the warehouse must apply after identity changes: moves of source patients.

A merge (two people found to be one) or a move (a re-sent record now belongs to someone
else) is recorded in the vault as an event with its *moves*: source patients, by the
warehouse's salted key of their Patient record, and the person they now belong to. The
warehouse applies every event it has not applied yet (``standardize.warehouse
.apply_moves``), in order, and remembers which it applied.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from healthhub.identity.keys import KeyStore
from healthhub.identity.vault import Vault


def moves_after(vault: Vault, event_id: int) -> pa.Table:
    """Moves of the events after ``event_id``: event_id, patient_key, person_id."""
    return vault.con.sql(
        "SELECT m.event_id, m.patient_key, p.person_id FROM vault.person_move m"
        " JOIN vault.person p USING (person_seq) WHERE m.event_id > $1 ORDER BY m.event_id",
        params=[event_id],
    ).to_arrow_table()


def pending_moves(folder: Path, keys: KeyStore, after: int) -> pa.Table:
    vault = Vault(folder, keys)
    try:
        return moves_after(vault, after)
    finally:
        vault.close()
