"""Keyed pseudonyms: HMAC-SHA-256 under a key of the key store, many at a time.

Every hub person has a random *person key* (16 bytes, kept in the identity vault). Ids
derive from it:

- the warehouse ``person_id`` is ``HMAC-SHA-256(hub key, person key)``, its first 8 bytes
  with the top bit cleared (a positive BIGINT);
- a project's pseudonym of a person is the same function under the project's own key
  (``project_pseudonyms``), so two projects cannot join their extracts, and rotating the
  hub key changes no project's pseudonyms.

The function is computed for whole arrays: the inner and outer SHA-256 states of the key
are computed once and copied per message (two compressions per id instead of four), and
large batches are shared by two cores.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

PERSON_KEY_BYTES = 16
PARALLEL_FROM = 200_000  # smaller batches are quicker on one core
SQL_SHARE = 0.4  # DuckDB's SHA-256 is slower than hashlib with precomputed pads
ID_MASK = 0x7FFF_FFFF_FFFF_FFFF
_BLOCK = 64  # SHA-256 block size


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def _hmac_prefixes(job: tuple[bytes, bytes, Sequence[bytes]]) -> bytes:
    """The first 8 bytes of HMAC-SHA-256 of each message, concatenated."""
    ipad, opad, messages = job
    inner_copy = hashlib.sha256(ipad).copy
    outer_copy = hashlib.sha256(opad).copy
    out: list[bytes] = []
    append = out.append
    for message in messages:
        inner = inner_copy()
        inner.update(message)
        outer = outer_copy()
        outer.update(inner.digest())
        append(outer.digest()[:8])
    return b"".join(out)


def _hmac_prefixes_sql(job: tuple[bytes, bytes, Sequence[bytes]], out: list[bytes]) -> None:
    """The same as ``_hmac_prefixes``, by DuckDB's SHA-256 on one thread of its own (it
    releases the interpreter while it runs, so Python can hash the rest meanwhile)."""
    ipad, opad, messages = job
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("messages", pa.table({"m": pa.array(messages, pa.binary())}))
        digests = con.sql(
            "SELECT unhex(substr(sha256($2 || unhex(sha256($1 || m))), 1, 16)) AS h FROM messages",
            params=[ipad, opad],
        ).fetchnumpy()["h"]
        out.append(b"".join(digests.tolist()))
    finally:
        con.close()


def hmac_ids(key: bytes, messages: Sequence[bytes]) -> np.ndarray:
    """63-bit ids: HMAC-SHA-256 of each message under ``key``, first 8 bytes, top bit cleared.

    A large batch is shared between this thread (Python's hashlib, two SHA-256 compressions
    per id from the key's precomputed pads) and DuckDB's SHA-256 on another core.
    """
    ipad, opad = _pads(key)
    if len(messages) < PARALLEL_FROM:
        raw = _hmac_prefixes((ipad, opad, messages))
    else:
        cut = int(len(messages) * SQL_SHARE)
        done: list[bytes] = []
        helper = threading.Thread(
            target=_hmac_prefixes_sql, args=((ipad, opad, messages[:cut]), done)
        )
        helper.start()
        rest = _hmac_prefixes((ipad, opad, messages[cut:]))
        helper.join()
        if not done:
            raise RuntimeError("the SQL half of the pseudonyms failed")
        raw = done[0] + rest
    ids = np.frombuffer(raw, dtype=">u8").astype(np.int64)
    return ids & np.int64(ID_MASK)


def new_person_keys(count: int) -> list[bytes]:
    """Fresh random person keys (from the operating system's CSPRNG)."""
    raw = secrets.token_bytes(PERSON_KEY_BYTES * count)
    return [raw[i : i + PERSON_KEY_BYTES] for i in range(0, len(raw), PERSON_KEY_BYTES)]


def person_ids(hub_key: bytes, person_keys: Sequence[bytes]) -> np.ndarray:
    """Warehouse person ids of these person keys under the hub key."""
    return hmac_ids(hub_key, person_keys)


def project_pseudonyms(project_key: bytes, person_keys: Sequence[bytes]) -> np.ndarray:
    """A project's pseudonyms of these person keys under the project's key."""
    return hmac_ids(project_key, person_keys)
