"""Opt-outs: a patient's objection, by provider and MRN or by national identifier.

An opt-out is recorded dated (the day it takes effect), with its legal basis, and kept
in the vault (the identifier sealed, a blind index to find it again). Removing it is a
new event, dated too: the history stays. An objection follows the *person*: whichever
record it names, every record linked to that person is out, at every provider.

``opted_out(vault, as_of)`` (or ``opted_out_people(vault folder, keys, as_of)``) answers
"who is opted out on day D" with the warehouse person ids, in one call: the opt-outs in force on D (the last event on or before D is an
addition), matched against the vault's records, then extended to their people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from healthhub.exceptions import UserError
from healthhub.identity import national_ids
from healthhub.identity.crypto import SEPARATOR, Sealer, blind_indexes
from healthhub.identity.keys import KeyStore
from healthhub.identity.vault import Vault

KINDS = ("mrn", "national_id")


@dataclass(frozen=True)
class OptOut:
    optout_id: int
    kind: str
    provider: str | None
    scheme: str | None
    in_force: bool
    since: date | None  # when the current addition took effect
    legal_basis: str | None
    history: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["since"] = self.since.isoformat() if self.since else None
        return out


def _normalised(kind: str, value: str, scheme: str | None) -> tuple[str, str | None]:
    value = value.strip()
    if not value:
        raise UserError("the identifier of an opt-out must not be empty")
    if kind == "mrn":
        return value, None
    name = scheme or "fr-nir"
    verdict = national_ids.validate(name, value)
    if verdict.status == "invalid_format":
        raise UserError(f"the national identifier is not a well-formed {name} number")
    return verdict.value, name


def _lookup_text(kind: str, provider: str | None, value: str, scheme: str | None) -> str:
    return SEPARATOR.join((kind, provider or "", scheme or "", value))


def add(vault: Vault, kind: str, value: str, effective: date, legal_basis: str, actor: str,
        provider: str | None = None, scheme: str | None = None,
        note: str | None = None) -> int:  # fmt: skip
    """Record an objection; an identifier already objected to gets a new dated addition."""
    if kind not in KINDS:
        raise UserError(f"an opt-out names a patient by one of {', '.join(KINDS)}")
    if kind == "mrn" and not provider:
        raise UserError("an opt-out by MRN needs the provider whose MRN it is (--provider)")
    if not legal_basis.strip():
        raise UserError("an opt-out needs its legal basis (--basis)")
    normal, scheme = _normalised(kind, value, scheme)
    text = _lookup_text(kind, provider, normal, scheme)
    value_key = int(blind_indexes(vault.keys.index, "optout", [text])[0])
    sealed = Sealer(vault.keys.sealing).seal(text.encode(), b"optout")
    con = vault.con
    with vault.transaction():
        known = con.execute("SELECT optout_id FROM vault.optout_event WHERE value_key = ? LIMIT 1",
                            [value_key]).fetchall()  # fmt: skip
        optout_id = int(known[0][0]) if known else int(
            con.execute("SELECT nextval('vault.optout_seq')").fetchall()[0][0])  # fmt: skip
        con.execute("INSERT INTO vault.optout_event VALUES (?, 'add', ?, ?, ?, ?, ?, ?, ?, now(), ?)",
                    [optout_id, kind, provider, value_key, sealed, effective, legal_basis, actor,
                     note])  # fmt: skip
    return optout_id


def remove(vault: Vault, optout_id: int, effective: date, actor: str, note: str | None = None,
           legal_basis: str | None = None) -> None:  # fmt: skip
    """The patient withdraws the objection from ``effective`` on (the history is kept)."""
    con = vault.con
    rows = con.execute("SELECT kind, provider, value_key, sealed FROM vault.optout_event WHERE"
                       " optout_id = ? ORDER BY recorded_at LIMIT 1", [optout_id]).fetchall()  # fmt: skip
    if not rows:
        raise UserError(f"no opt-out {optout_id} (healthhub optout list shows them)")
    kind, provider, value_key, sealed = rows[0]
    with vault.transaction():
        con.execute("INSERT INTO vault.optout_event VALUES (?, 'remove', ?, ?, ?, ?, ?, ?, ?, now(), ?)",
                    [optout_id, kind, provider, value_key, sealed, effective, legal_basis, actor,
                     note])  # fmt: skip


def _in_force(vault: Vault, as_of: date) -> list[tuple[int, str, str | None, str, date, str]]:
    """(optout_id, kind, provider, lookup text, since, legal basis) of the opt-outs in force
    on a day: those whose last event on or before it is an addition."""
    rows = vault.con.execute(
        """
        SELECT optout_id, kind, provider, sealed, effective, legal_basis FROM (
            SELECT *, row_number() OVER (PARTITION BY optout_id
                                         ORDER BY effective DESC, recorded_at DESC) AS latest
            FROM vault.optout_event WHERE effective <= ?)
        WHERE latest = 1 AND action = 'add'""",
        [as_of],
    ).fetchall()
    sealer = Sealer(vault.keys.sealing)
    return [(int(i), k, p, sealer.open(s, b"optout", f"opt-out {i}").decode(), since, basis)
            for i, k, p, s, since, basis in rows]  # fmt: skip


def opted_out(vault: Vault, as_of: date) -> set[int]:
    """Warehouse person ids of everyone opted out on ``as_of``, across every provider."""
    wanted = _in_force(vault, as_of)
    if not wanted:
        return set()
    kinds, providers, schemes, values = [], [], [], []
    for _, kind, _provider, text, _since, _basis in wanted:
        _, p, scheme, value = text.split(SEPARATOR)
        kinds.append(kind)
        providers.append(p or None)
        schemes.append(scheme or None)
        values.append(value)
    con = vault.con
    con.register("optouts_arrow", pa.table({
        "kind": pa.array(kinds, pa.string()), "provider": pa.array(providers, pa.string()),
        "scheme": pa.array(schemes, pa.string()), "value": pa.array(values, pa.string())}))  # fmt: skip
    # every version of every record: a record re-sent with another MRN stays objected to
    vault.load_identities(name="optout_identity", active_only=False)
    rows = con.execute("""
        SELECT DISTINCT p.person_id FROM optout_identity i
        JOIN optouts_arrow o ON (o.kind = 'mrn' AND o.provider = i.provider
                                 AND (i.mrn = o.value OR list_contains(i.all_identifiers, o.value)))
                             OR (o.kind = 'national_id' AND i.national_id_scheme = o.scheme
                                 AND i.national_id = o.value)
        JOIN vault.record now ON now.source_key = i.source_key AND now.active
        JOIN vault.person p ON p.person_seq = now.person_seq""").fetchall()
    con.unregister("optouts_arrow")
    vault.forget("optout_identity")
    return {int(r[0]) for r in rows}


def listing(vault: Vault, as_of: date) -> list[OptOut]:
    """Every opt-out with its history and whether it is in force on ``as_of`` (no values)."""
    in_force = {row[0]: row for row in _in_force(vault, as_of)}
    sealer = Sealer(vault.keys.sealing)
    history: dict[int, list[dict[str, Any]]] = {}
    first: dict[int, tuple[str, str | None, bytes]] = {}
    for (
        optout_id,
        action,
        kind,
        provider,
        effective,
        basis,
        who,
        at,
        note,
        sealed,
    ) in vault.con.execute(
        """SELECT optout_id, action, kind, provider, effective, legal_basis, recorded_by,
               CAST(recorded_at AS VARCHAR), note, sealed
           FROM vault.optout_event ORDER BY optout_id, effective, recorded_at"""
    ).fetchall():
        first.setdefault(int(optout_id), (kind, provider, sealed))
        history.setdefault(int(optout_id), []).append(
            {"action": action, "effective": effective.isoformat(), "legal_basis": basis,
             "recorded_by": who, "recorded_at": at, "note": note})  # fmt: skip
    out = []
    for optout_id, (kind, provider, sealed) in first.items():
        scheme = sealer.open(sealed, b"optout", f"opt-out {optout_id}").decode().split(SEPARATOR)[2]
        current = in_force.get(optout_id)
        out.append(OptOut(optout_id, kind, provider, scheme or None, current is not None,
                          current[4] if current else None, current[5] if current else None,
                          history[optout_id]))  # fmt: skip
    return out


def opted_out_people(vault_folder: Path, keys: KeyStore, as_of: date) -> set[int]:
    """``opted_out`` for callers outside the identity package (provisioning): opens the
    vault, answers, closes it."""
    vault = Vault(vault_folder, keys)
    try:
        return opted_out(vault, as_of)
    finally:
        vault.close()
