"""Runs and landed files, kept in the governance store (SQLite).

A run is one delivery from one provider going through the pipeline. Its state is one of
``RUN_STATES``; each change is kept in ``run_event`` so a run's history can be read back.
A failed run keeps the state it reached and the reason; resuming it starts again from the
stage after that state.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from healthhub.exceptions import UserError

RunState = Literal["received", "landed", "flattened", "identified", "standardized", "failed"]
# The order the pipeline moves through; "failed" can follow any of them.
PIPELINE: tuple[RunState, ...] = ("received", "landed", "flattened", "identified", "standardized")
TRANSITIONS: dict[str, set[str]] = {
    "received": {"landed", "failed"},
    "landed": {"flattened", "failed"},
    "flattened": {"identified", "failed"},
    "identified": {"standardized", "failed"},
    "standardized": set(),
    "failed": {"landed", "flattened", "identified", "standardized", "failed"},
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS landed_file (
    sha256 TEXT NOT NULL, provider TEXT NOT NULL, size INTEGER NOT NULL,
    received_at TEXT NOT NULL, object_path TEXT NOT NULL,
    run_id TEXT NOT NULL, PRIMARY KEY (sha256, provider));
CREATE TABLE IF NOT EXISTS run (
    run_id TEXT PRIMARY KEY, provider TEXT NOT NULL, engine TEXT NOT NULL,
    state TEXT NOT NULL, reached TEXT NOT NULL, reason TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_file (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, sha256 TEXT,
    PRIMARY KEY (run_id, position));
CREATE TABLE IF NOT EXISTS run_event (
    run_id TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL, reason TEXT);
"""
# names of files as the providers sent them: a provider may name a file after a patient,
# so they stay with the landed files (the landing zone), not in the governance store
PROVENANCE_NAME = "provenance.sqlite"
PROVENANCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS provenance.run_source (
    run_id TEXT NOT NULL, position INTEGER NOT NULL, source_path TEXT NOT NULL,
    PRIMARY KEY (run_id, position));
CREATE TABLE IF NOT EXISTS provenance.landed_name (
    sha256 TEXT NOT NULL, provider TEXT NOT NULL, original_name TEXT NOT NULL,
    received_at TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Run:
    run_id: str
    provider: str
    engine: str
    state: str
    reached: str  # the last successful state (equals state unless failed)
    reason: str | None
    created_at: str
    updated_at: str
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class RunStore:
    """Runs in the governance store; with ``landing``, the file names in the landing zone's
    provenance store too (needed to land and resume, not to list runs)."""

    def __init__(self, path: Path, landing: Path | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)  # writes commit at the end of each `with self.db:`
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA)
        self.has_provenance = landing is not None
        if landing is not None:
            landing.mkdir(parents=True, exist_ok=True)
            self.db.execute("ATTACH DATABASE ? AS provenance", (str(landing / PROVENANCE_NAME),))
            self.db.executescript(PROVENANCE_SCHEMA)

    def _needs_provenance(self) -> None:
        if not self.has_provenance:
            raise RuntimeError("this RunStore was opened without the landing zone")

    def close(self) -> None:
        self.db.close()

    # --- runs -----------------------------------------------------------------------
    def create(self, provider: str, engine: str, files: list[Path]) -> Run:
        self._needs_provenance()
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        at = now()
        with self.db:
            self.db.execute(
                "INSERT INTO run VALUES (?, ?, ?, 'received', 'received', NULL, ?, ?, '{}')",
                (run_id, provider, engine, at, at),
            )
            self.db.executemany("INSERT INTO run_file VALUES (?, ?, NULL)",
                                [(run_id, i) for i in range(len(files))])  # fmt: skip
            self.db.executemany(
                "INSERT INTO provenance.run_source VALUES (?, ?, ?)",
                [(run_id, i, str(f)) for i, f in enumerate(files)],
            )
            self.db.execute("INSERT INTO run_event VALUES (?, 'received', ?, NULL)", (run_id, at))
        return self.get(run_id)

    def get(self, run_id: str) -> Run:
        row = self.db.execute("SELECT * FROM run WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"no run '{run_id}' in this hub (list them: healthhub runs)")
        run_id, provider, engine, state, reached, reason, created, updated, summary = row
        return Run(run_id, provider, engine, state, reached, reason, created, updated,
                   orjson.loads(summary))  # fmt: skip

    def runs(self, provider: str | None = None) -> list[Run]:
        query = "SELECT run_id FROM run"
        args: tuple[str, ...] = ()
        if provider:
            query += " WHERE provider = ?"
            args = (provider,)
        ids = [r[0] for r in self.db.execute(query + " ORDER BY created_at, run_id", args)]
        return [self.get(i) for i in ids]

    def advance(self, run_id: str, state: RunState, summary: dict[str, Any]) -> Run:
        run = self.get(run_id)
        if state not in TRANSITIONS[run.state]:
            raise UserError(f"run {run_id} cannot go from '{run.state}' to '{state}'")
        merged = {**run.summary, **summary}
        at = now()
        with self.db:
            self.db.execute(
                "UPDATE run SET state = ?, reached = ?, reason = NULL, updated_at = ?, summary = ?"
                " WHERE run_id = ?",
                (state, state, at, orjson.dumps(merged).decode(), run_id),
            )
            self.db.execute("INSERT INTO run_event VALUES (?, ?, ?, NULL)", (run_id, state, at))
        return self.get(run_id)

    def fail(self, run_id: str, reason: str) -> Run:
        at = now()
        with self.db:
            self.db.execute(
                "UPDATE run SET state = 'failed', reason = ?, updated_at = ? WHERE run_id = ?",
                (reason, at, run_id),
            )
            self.db.execute(
                "INSERT INTO run_event VALUES (?, 'failed', ?, ?)", (run_id, at, reason)
            )
        return self.get(run_id)

    def events(self, run_id: str) -> list[tuple[str, str, str | None]]:
        return list(
            self.db.execute(
                "SELECT state, at, reason FROM run_event WHERE run_id = ? ORDER BY rowid",
                (run_id,),
            )
        )

    def files(self, run_id: str) -> list[tuple[str, str | None]]:
        """(source path, sha256 once landed) of each file of the run, in order."""
        self._needs_provenance()
        return list(
            self.db.execute(
                "SELECT s.source_path, f.sha256 FROM run_file f JOIN provenance.run_source s"
                " USING (run_id, position) WHERE f.run_id = ? ORDER BY f.position",
                (run_id,),
            )
        )

    # --- landed files ---------------------------------------------------------------
    def landed(self, sha256: str, provider: str) -> tuple[str, str] | None:
        """(object path, state of the run that landed it) when this provider sent these bytes."""
        row = self.db.execute(
            "SELECT f.object_path, r.state FROM landed_file f JOIN run r ON r.run_id = f.run_id"
            " WHERE f.sha256 = ? AND f.provider = ?",
            (sha256, provider),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def adopt(self, sha256: str, provider: str, run_id: str) -> None:
        """Give a landed file to another run (its first run did not finish)."""
        with self.db:
            self.db.execute(
                "UPDATE landed_file SET run_id = ? WHERE sha256 = ? AND provider = ?",
                (run_id, sha256, provider),
            )

    def record_landing(self, run_id: str, position: int, provider: str, sha256: str, size: int,
                       original: str, object_path: str) -> None:  # fmt: skip
        self._needs_provenance()
        at = now()
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO landed_file VALUES (?, ?, ?, ?, ?, ?)",
                (sha256, provider, size, at, object_path, run_id),
            )
            self.db.execute("INSERT INTO provenance.landed_name VALUES (?, ?, ?, ?)",
                            (sha256, provider, original, at))  # fmt: skip
            self.db.execute(
                "UPDATE run_file SET sha256 = ? WHERE run_id = ? AND position = ?",
                (sha256, run_id, position),
            )

    def landed_objects(self, run_id: str) -> list[str]:
        """Objects first landed by this run (re-sent files are not processed again)."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT object_path FROM landed_file WHERE run_id = ? ORDER BY object_path",
                (run_id,),
            )
        ]
