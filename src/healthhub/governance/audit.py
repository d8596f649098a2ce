"""The audit trail: typed events, append-only, hash-chained (governance store, SQLite).

Each event records when, who (the operating-system user), a stable action name and a
payload of counts and ids; never a patient's value. Each row carries the SHA-256 of its
content and of the previous row's hash, so altering, removing or reordering a row breaks
the chain from there on; ``verify`` (``healthhub audit verify``) recomputes it.
"""

from __future__ import annotations

import getpass
import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

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


def _digest(prev: str, at: str, actor: str, action: str, payload: str) -> str:
    text = "\x1f".join((prev, at, actor, action, payload))
    return hashlib.sha256(text.encode()).hexdigest()


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def record(path: Path, action: str, payload: dict[str, Any], actor: str | None = None) -> int:
    """Append one event; returns its sequence number."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db = _open(path)
    try:
        with db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            who = actor or getpass.getuser()
            body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
            cursor = db.execute(
                "INSERT INTO audit_event (at, actor, action, payload, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at, who, action, body, prev, _digest(prev, at, who, action, body)),
            )
            return int(cursor.lastrowid or 0)
    finally:
        db.close()


def events(path: Path) -> list[AuditEvent]:
    db = _open(path)
    try:
        rows = db.execute("SELECT seq, at, actor, action, payload FROM audit_event ORDER BY seq")
        return [AuditEvent(s, at, who, act, orjson.loads(p)) for s, at, who, act, p in rows]
    finally:
        db.close()


def verify(path: Path) -> tuple[int, int | None]:
    """(events checked, the first event whose hash does not hold, or None when all do)."""
    db = _open(path)
    try:
        prev = GENESIS
        count = 0
        for seq, at, who, act, body, prev_hash, digest in db.execute(
            "SELECT seq, at, actor, action, payload, prev_hash, hash FROM audit_event ORDER BY seq"
        ):
            count += 1
            if prev_hash != prev or digest != _digest(prev, at, who, act, body):
                return count, int(seq)
            prev = digest
        return count, None
    finally:
        db.close()
