"""The landing zone: every received file kept as received, content-addressed and read-only.

A file lands at ``landing/sha256/<first two hex digits>/<sha256><suffixes>`` (the suffixes
keep the format readable, e.g. ``.ndjson.gz``), with its provenance (provider, size,
received time) in the governance store and its original name in the landing zone's own
``provenance.sqlite`` (a provider may name files after patients). Landing bytes that the same
provider already sent changes nothing: the file is reported as already landed and is not
processed again — unless the run that landed it did not finish, in which case the new run
takes it over.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from healthhub.hub.config import Hub
from healthhub.hub.runs import RunStore

CHUNK = 1 << 20
KNOWN_SUFFIXES = (".ndjson", ".jsonl", ".json", ".gz")


@dataclass
class LandingSummary:
    new: list[str] = field(default_factory=list)  # object paths landed by this run
    already_landed: int = 0
    bytes: int = 0


def _suffixes(name: str) -> str:
    parts: list[str] = []
    for suffix in reversed(Path(name).suffixes):
        if suffix.lower() not in KNOWN_SUFFIXES:
            break
        parts.insert(0, suffix.lower())
    return "".join(parts)


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def land_files(hub: Hub, store: RunStore, run_id: str, provider: str, files: Sequence[Path],
               progress: Callable[[str], None] | None = None) -> LandingSummary:  # fmt: skip
    """Copy each file into the landing zone (hashing as it copies) and record it."""
    summary = LandingSummary()
    incoming = hub.landing / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for position, source in enumerate(files):
        tmp = incoming / f"{run_id}-{position}"
        sha, size = _copy_hashing(source, tmp)
        existing = store.landed(sha, provider)
        if existing is not None:
            tmp.unlink()
            path, state = existing
            if state == "standardized":  # done before: nothing to do again
                summary.already_landed += 1
            else:  # its run did not finish: this run processes it
                store.adopt(sha, provider, run_id)
                summary.new.append(path)
            store.record_landing(run_id, position, provider, sha, size, source.name, path)
            continue
        target = hub.landing / "sha256" / sha[:2] / f"{sha}{_suffixes(source.name)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # same bytes from another provider: one object, two provenances
            tmp.unlink()
        else:
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        store.record_landing(run_id, position, provider, sha, size, source.name, str(target))
        summary.new.append(str(target))
        summary.bytes += size
        if progress and (position + 1) % 20 == 0:
            progress(f"landed {position + 1:,} of {len(files):,} files")
    shutil.rmtree(incoming, ignore_errors=True)
    return summary
