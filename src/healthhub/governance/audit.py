"""The audit trail: typed events, append-only, chained (governance store, SQLite).

Each event records when, who (the operating-system user), a stable action name and a
payload of counts and ids; never a patient's value. Each row carries an HMAC-SHA-256,
under the key store's ``audit`` key, of its content and of the previous row's code, so
altering, removing or reordering a row breaks the chain from there on, and without the key
no one can write a chain that holds. The last event's number and code are also kept
outside the database (``<governance store>.audit-head``), so dropping the last events is
seen too. ``verify`` (``healthhub audit verify``) recomputes all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from healthhub.governance.policies import current_user

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_event (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
GENESIS: Final = "0" * 64

# the actions, with stable names (payload keys in brackets)
LINKS_EXPORTED: Final = "identity.links.exported"  # [rows, file]
REVIEW_DECIDED: Final = "identity.review.decided"  # [pair_id, decision, events]
REVIEW_VALUES_SHOWN: Final = "identity.review.values_shown"  # [pair_ids]
OPTOUT_ADDED: Final = "optout.added"  # [optout_id, kind, provider, effective, legal_basis]
OPTOUT_REMOVED: Final = "optout.removed"  # [optout_id, effective]
KEYS_ROTATED: Final = "keys.rotated"  # [key, people, rows, old, new] (fingerprints)
ACTIONS: Final = (LINKS_EXPORTED, REVIEW_DECIDED, REVIEW_VALUES_SHOWN, OPTOUT_ADDED,
                  OPTOUT_REMOVED, KEYS_ROTATED)  # fmt: skip


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    actor: str
    action: str
    payload: dict[str, Any]


def _digest(key: bytes, prev: str, at: str, actor: str, action: str, payload: str) -> str:
    text = "\x1f".join((prev, at, actor, action, payload))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".audit-head")


def _write_head(path: Path, seq: int, digest: str) -> None:
    head = _head_path(path)
    tmp = head.with_name(head.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{seq} {digest}\n")
    os.replace(tmp, head)


def _read_head(path: Path) -> tuple[int, str] | None:
    head = _head_path(path)
    if not head.exists():
        return None
    seq, digest = head.read_text().split()
    return int(seq), digest


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def record(path: Path, key: bytes, action: str, payload: dict[str, Any],
           actor: str | None = None) -> int:  # fmt: skip
    """Append one event (``key``: the key store's audit key); returns its number."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db = _open(path)
    try:
        with db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            who = actor or current_user()
            body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
            digest = _digest(key, prev, at, who, action, body)
            cursor = db.execute(
                "INSERT INTO audit_event (at, actor, action, payload, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at, who, action, body, prev, digest),
            )
            seq = int(cursor.lastrowid or 0)
            _write_head(path, seq, digest)
            return seq
    finally:
        db.close()


def events(path: Path) -> list[AuditEvent]:
    db = _open(path)
    try:
        rows = db.execute("SELECT seq, at, actor, action, payload FROM audit_event ORDER BY seq")
        return [AuditEvent(s, at, who, act, orjson.loads(p)) for s, at, who, act, p in rows]
    finally:
        db.close()


def verify(path: Path, key: bytes) -> tuple[int, int | None]:
    """(events checked, the first event whose code does not hold, or None when all do; an
    event missing at the end counts as the one after the last found)."""
    db = _open(path)
    try:
        prev = GENESIS
        count = 0
        last = 0
        for seq, at, who, act, body, prev_hash, digest in db.execute(
            "SELECT seq, at, actor, action, payload, prev_hash, hash FROM audit_event ORDER BY seq"
        ):
            count += 1
            if (
                seq != last + 1
                or prev_hash != prev
                or digest != _digest(key, prev, at, who, act, body)
            ):
                return count, int(seq)
            prev, last = digest, int(seq)
        head = _read_head(path)
        if (head is None and count) or (head is not None and head != (last, prev)):
            return count, last + 1
        return count, None
    finally:
        db.close()
