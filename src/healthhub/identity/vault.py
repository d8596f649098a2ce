"""The identity vault: direct identifiers, encrypted at rest, and who is who.

Layout (``[identity] path``, folder mode 0700)::

    vault/vault.duckdb        what is not identifying: records, persons, events, review,
                              opt-outs, the linkage model; values only as blind indexes
    vault/segments/<id>.seg   identifiers: a Parquet table of records, sealed with
                              AES-256-GCM (``crypto.Sealer``), one file per delivery
    vault/tmp/                the engine's spill folder while the vault is open

A *record* is one source patient: (provider, source patient id) with its identifiers.
It belongs to one *person*; a person has a random key (``person_key``) and the warehouse
``person_id`` derived from it under the hub key. A re-sent record gets a new version in
a new segment; the older one is no longer active.

Only the ``identity`` package opens the vault. The rest of healthhub receives person ids,
and the warehouse receives *moves* (a source patient's rows go to another person id),
which carry no identifier.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from healthhub.engines.dialects import DUCKDB
from healthhub.exceptions import UserError
from healthhub.identity.crypto import Sealer, subkey
from healthhub.identity.keys import KeyStore, fingerprint

SCHEMA_VERSION = "2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS vault_meta (name VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS segment (
    segment_id VARCHAR PRIMARY KEY, run_id VARCHAR, records BIGINT, created_at TIMESTAMP,
    features_version INTEGER);
CREATE SEQUENCE IF NOT EXISTS record_seq START 1;
CREATE TABLE IF NOT EXISTS record (
    record_id BIGINT PRIMARY KEY, source_key BIGINT NOT NULL, provider VARCHAR NOT NULL,
    patient_key BIGINT NOT NULL, person_seq BIGINT NOT NULL, segment_id VARCHAR NOT NULL,
    has_birth_date BOOLEAN NOT NULL, national_id_status VARCHAR NOT NULL,
    active BOOLEAN NOT NULL, run_id VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE SEQUENCE IF NOT EXISTS person_seq START 1;
CREATE TABLE IF NOT EXISTS person (
    person_seq BIGINT PRIMARY KEY, person_key BLOB NOT NULL, person_id BIGINT NOT NULL,
    created_run VARCHAR NOT NULL, retired_run VARCHAR, merged_into BIGINT);
CREATE SEQUENCE IF NOT EXISTS event_seq START 1;
CREATE TABLE IF NOT EXISTS person_event (
    event_id BIGINT PRIMARY KEY, run_id VARCHAR, kind VARCHAR NOT NULL,
    from_person_seq BIGINT, to_person_seq BIGINT, records BIGINT NOT NULL,
    reason VARCHAR NOT NULL, happened_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS person_move (
    event_id BIGINT NOT NULL, patient_key BIGINT NOT NULL, person_seq BIGINT NOT NULL);
CREATE SEQUENCE IF NOT EXISTS pair_seq START 1;
CREATE TABLE IF NOT EXISTS review_pair (
    pair_id BIGINT PRIMARY KEY, source_key_a BIGINT NOT NULL, source_key_b BIGINT NOT NULL,
    probability DOUBLE NOT NULL, match_weight DOUBLE NOT NULL, levels VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, status VARCHAR NOT NULL, run_id VARCHAR, created_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS review_decision (
    source_key_a BIGINT NOT NULL, source_key_b BIGINT NOT NULL, decision VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, note VARCHAR,
    pair_id BIGINT);
CREATE TABLE IF NOT EXISTS linkage_model (
    run_id VARCHAR, created_at TIMESTAMP, pairs BIGINT, params VARCHAR);
CREATE SEQUENCE IF NOT EXISTS optout_seq START 1;
CREATE TABLE IF NOT EXISTS optout_event (
    optout_id BIGINT NOT NULL, action VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    provider VARCHAR, value_key BIGINT NOT NULL, sealed BLOB NOT NULL, effective DATE NOT NULL,
    legal_basis VARCHAR, recorded_by VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,
    note VARCHAR);
"""
# the identifiers a vault record keeps (the patient view's direct columns and a few more)
IDENTITY_COLUMNS = {
    "provider": pa.string(), "patient_id": pa.string(), "given": pa.string(),
    "all_given": pa.list_(pa.string()), "family": pa.string(),
    "all_family": pa.list_(pa.string()), "birth_date": pa.string(), "gender": pa.string(),
    "address_line": pa.string(), "city": pa.string(), "postal_code": pa.string(),
    "country": pa.string(), "all_address_lines": pa.list_(pa.string()),
    "all_cities": pa.list_(pa.string()), "all_postal_codes": pa.list_(pa.string()),
    "phone": pa.string(), "email": pa.string(), "all_telecom": pa.list_(pa.string()),
    "mrn": pa.string(), "all_identifiers": pa.list_(pa.string()),
    "identifier_entries": pa.list_(pa.string()), "multiple_birth": pa.bool_(),
    "national_id_scheme": pa.string(), "national_id": pa.string(),
    "national_id_status": pa.string(),
}  # fmt: skip
SEGMENT_SCHEMA = pa.schema([("record_id", pa.int64()), *IDENTITY_COLUMNS.items()])


@dataclass(frozen=True)
class VaultKeys:
    sealing: bytes
    index: bytes

    @classmethod
    def from_store(cls, keys: KeyStore, create: bool = False) -> VaultKeys:
        master = keys.vault_key(create)
        return cls(subkey(master, "sealing"), subkey(master, "index"))


class Vault:
    """An open vault: a DuckDB connection with the vault attached as ``vault``.

    The connection is in memory (what is decrypted stays in memory, spilling only to the
    vault's own ``tmp`` folder); ``vault.duckdb`` is attached to it.
    """

    def __init__(self, folder: Path, keys: KeyStore, memory_limit: str | None = None,
                 rotating_to: str | None = None) -> None:  # fmt: skip
        if (folder / "identity.sqlite").exists() and not (folder / "vault.duckdb").exists():
            raise UserError(
                f"{folder}: this vault was written by an earlier healthhub (plain SQLite);"
                " create a new hub and ingest the landing zone's files again"
            )
        self.folder = folder
        for sub in (folder, folder / "segments", folder / "tmp"):
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o700)
        new = not (folder / "vault.duckdb").exists()
        self.keys = VaultKeys.from_store(keys, create=new)
        self._vault_print = fingerprint(keys.vault_key())
        self.hub_key = keys.hub_key()
        self._sealer = Sealer(self.keys.sealing)
        self.con = duckdb.connect()
        try:
            self._open(keys, memory_limit, rotating_to)
        except BaseException:
            self.con.close()  # a refused vault stays detached
            raise

    def _open(self, keys: KeyStore, memory_limit: str | None, rotating_to: str | None) -> None:
        folder = self.folder
        self.con.execute(f"SET temp_directory = {DUCKDB.string(str(folder / 'tmp'))}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {DUCKDB.string(memory_limit)}")
        for statement in DUCKDB.functions:
            self.con.execute(statement)
        self.con.execute(DUCKDB.salt_function(keys.salt()))
        path = folder / "vault.duckdb"
        self.con.execute(f"ATTACH {DUCKDB.string(str(path))} AS vault")
        self.con.execute("USE vault")
        self.con.execute(SCHEMA)
        self.con.execute("USE memory")
        self._check_meta(rotating_to)

    def _check_meta(self, rotating_to: str | None) -> None:
        rows = dict(self.con.execute("SELECT name, value FROM vault.vault_meta").fetchall())
        hub = fingerprint(self.hub_key)
        if not rows:
            self.con.executemany(
                "INSERT INTO vault.vault_meta VALUES (?, ?)",
                [("schema_version", SCHEMA_VERSION), ("hub_key", hub),
                 ("vault_key", self._vault_print)],
            )  # fmt: skip
            return
        if rows.get("vault_key") != self._vault_print:
            raise UserError(f"{self.folder}: the vault was sealed under another vault key than"
                            " the key store's (restore the hub's vault.key)")  # fmt: skip
        if rows.get("schema_version") != SCHEMA_VERSION:
            raise UserError(f"{self.folder}: vault schema {rows.get('schema_version')} is not"
                            f" {SCHEMA_VERSION}, the version this healthhub reads")  # fmt: skip
        if rotating_to:
            self.con.execute("INSERT OR REPLACE INTO vault.vault_meta VALUES ('rotating_to', ?)",
                             [rotating_to])  # fmt: skip
            return
        if rows.get("rotating_to"):
            raise UserError(f"{self.folder}: a rotation of the hub key was interrupted;"
                            " run `healthhub keys rotate` again to finish it")  # fmt: skip
        if rows.get("hub_key") != hub:
            raise UserError(f"{self.folder}: the vault's person ids were made under another hub"
                            " key (key store and vault do not belong together)")  # fmt: skip

    def finish_rotation(self) -> None:
        self.con.execute("DELETE FROM vault.vault_meta WHERE name = 'rotating_to'")

    def close(self) -> None:
        self.con.close()

    # --- segments ---------------------------------------------------------------------
    def _segment_path(self, segment_id: str) -> Path:
        return self.folder / "segments" / f"{segment_id}.seg"

    def _seal_file(self, table: pa.Table, path: Path, associated: str) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="lz4")
        sealed = self._sealer.seal(buffer.getvalue(), associated.encode())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(sealed)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def write_segment(self, table: pa.Table, run_id: str, features: pa.Table | None = None,
                      features_version: int | None = None) -> str:  # fmt: skip
        """Seal a table of records (``SEGMENT_SCHEMA``) into a new segment, and their
        linkage features (if given) beside it."""
        segment_id = uuid.uuid4().hex
        identity = table.select(SEGMENT_SCHEMA.names).cast(SEGMENT_SCHEMA)
        self._seal_file(identity, self._segment_path(segment_id), segment_id)
        if features is not None:
            self.write_features(segment_id, features)
        self.con.execute("INSERT INTO vault.segment VALUES (?, ?, ?, now(), ?)",
                         [segment_id, run_id, len(table),
                          features_version if features is not None else None])  # fmt: skip
        return segment_id

    def write_features(self, segment_id: str, features: pa.Table) -> None:
        self._seal_file(features, self._features_path(segment_id), segment_id + "|features")

    def _features_path(self, segment_id: str) -> Path:
        return self.folder / "segments" / f"{segment_id}.features.seg"

    def read_features(self, segment_id: str) -> pa.Table:
        path = self._features_path(segment_id)
        plain = self._sealer.open(path.read_bytes(), (segment_id + "|features").encode(), str(path))
        return pq.read_table(io.BytesIO(plain))

    def load_features(self, version: int, where: str = "TRUE",
                      name: str = "stored_features") -> list[str]:  # fmt: skip
        """Decrypt the stored linkage features of the active records (``where`` on ``record
        r``) into the view ``name`` (with person_seq, provider, source_key, is_new false);
        returns the segments whose features are missing or of another version."""
        rows = self.con.execute(
            f"SELECT DISTINCT s.segment_id, s.features_version FROM vault.record r JOIN"
            f" vault.segment s USING (segment_id) WHERE r.active AND ({where}) ORDER BY 1"
        ).fetchall()
        stale = [seg for seg, v in rows if v != version or not self._features_path(seg).exists()]
        tables = [self.read_features(seg) for seg, v in rows if seg not in stale]
        self.forget(name)
        if tables:
            self.con.register(
                f"{name}_decrypted", pa.concat_tables(tables, promote_options="default")
            )
            source = f"{name}_decrypted"
        else:
            source = "(SELECT NULL::BIGINT AS record_id WHERE false)"
        self.con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT f.*, r.person_seq, r.provider, r.source_key,"
            f" false AS is_new FROM {source} f JOIN vault.record r USING (record_id)"
            f" WHERE r.active AND ({where})"
        )
        return stale

    def read_segment(self, segment_id: str) -> pa.Table:
        path = self._segment_path(segment_id)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"{path}: vault segment missing") from None
        plain = self._sealer.open(sealed, segment_id.encode(), str(path))
        return pq.read_table(io.BytesIO(plain))

    def load_identities(self, where: str = "TRUE", name: str = "identity",
                        active_only: bool = True) -> int:  # fmt: skip
        """Decrypt the records (``where`` on ``record r``; the active ones unless
        ``active_only`` is false) and show them as the temporary view ``name``.

        The decrypted segments stay in this process's memory as Arrow tables, read by the
        engine in place (never written to disk); ``forget(name)`` lets them go.
        """
        active = "r.active" if active_only else "TRUE"
        segments = [
            row[0]
            for row in self.con.execute(
                f"SELECT DISTINCT segment_id FROM vault.record r WHERE {active} AND ({where})"
                " ORDER BY 1"
            ).fetchall()
        ]
        tables = [self.read_segment(s) for s in segments]
        plain = pa.concat_tables(tables) if tables else SEGMENT_SCHEMA.empty_table()
        del tables
        self.forget(name)
        self.con.register(f"{name}_decrypted", plain)
        self.con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT r.*, s.* EXCLUDE (record_id)"
            f" FROM {name}_decrypted s JOIN vault.record r USING (record_id)"
            f" WHERE {active} AND ({where})"
        )
        return self.count(f"SELECT count(*) FROM {name}")

    def forget(self, name: str) -> None:
        """Drop a view of decrypted records and the records it held."""
        self.con.execute(f"DROP VIEW IF EXISTS {name}")
        with suppress(duckdb.Error):  # nothing registered under that name
            self.con.unregister(f"{name}_decrypted")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # --- small queries ----------------------------------------------------------------
    def count(self, sql: str, params: list[object] | None = None) -> int:
        """An integer the query returns (0 for NULL or no row)."""
        return int(self.scalar(sql, params) or 0)

    def scalar(self, sql: str, params: list[object] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def count_people(self) -> int:
        return self.count("SELECT count(DISTINCT person_seq) FROM vault.record WHERE active")

    def count_records(self) -> int:
        return self.count("SELECT count(*) FROM vault.record WHERE active")
