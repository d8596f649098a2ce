"""FHIR inputs: find the files, count resources by type, set aside bad records.

Bulk-export NDJSON files that hold one resource type and no bad line are read in place by
the engine (the fast path: the inventory is one engine scan). Bundles, files mixing
types, and files with bad records go through a streaming Python pass that writes one
NDJSON file per resource type into a work folder, and every bad record into the
quarantine file with its file, position and reason. A quarantine file given back as input
replays its records (once fixed). Messages name files and positions, never a record's
content.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import orjson

from healthhub.exceptions import InputFileError
from healthhub.sources.fhir.fhir_model import load_model

NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
JSON_SUFFIXES = (".json", ".json.gz")
RECORD_LIMIT = 1 << 20  # bytes of a bad record kept in quarantine (a line of garbage can be huge)
CORRUPT_GZIP = "file is truncated or not valid gzip"
# What reading a damaged gzip file raises, part way through (BadGzipFile is an OSError).
_GZIP_DAMAGE = (EOFError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True)
class Problem:
    file: str
    position: str  # "line 12", "entry 3", "file"
    reason: str
    resource_type: str | None = None  # when the bad record still names its type


@dataclass
class Quarantine:
    """Bad records with their reason, as NDJSON, so they can be fixed and replayed."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    _fh: IO[bytes] | None = None

    def add(self, problem: Problem, record: bytes | None) -> None:
        self.problems.append(problem)
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        entry: dict[str, Any] = {
            "file": problem.file,
            "position": problem.position,
            "reason": problem.reason,
            "record": None,
        }
        if record is not None:
            entry["record"] = record[:RECORD_LIMIT].decode("utf-8", "replace")
            if len(record) > RECORD_LIMIT:  # its first bytes, enough to see what it was
                entry["truncated"] = True
        self._fh.write(orjson.dumps(entry) + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class StagedInputs:
    files: list[Path]
    by_type: dict[str, list[Path]]  # NDJSON files holding only that resource type
    received: Counter[str]  # resources received, by type
    quarantine: Quarantine

    @property
    def problems(self) -> list[Problem]:
        return self.quarantine.problems


def find_inputs(paths: Iterable[Path]) -> list[Path]:
    """The input files: given files, and FHIR files found under given folders.

    Raise ``InputFileError`` naming the paths when they hold no file at all.
    """
    paths = list(paths)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.name.endswith(NDJSON_SUFFIXES + JSON_SUFFIXES)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputFileError(f"{path}: no such file or folder")
    if not found:
        given = ", ".join(str(p) for p in paths) or "(no path given)"
        raise InputFileError(
            f"no FHIR file in {given}: give NDJSON (.ndjson, .jsonl) or JSON (.json) files,"
            " optionally gzipped (.gz), or folders holding them"
        )
    return found


def _open(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def _open_input(path: Path) -> io.BufferedIOBase:
    try:
        return _open(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({type(exc).__name__})") from None


def _is_ndjson(path: Path) -> bool:
    if path.name.endswith(NDJSON_SUFFIXES):
        return True
    if path.name.endswith(JSON_SUFFIXES):
        return False
    # other names: one JSON object per line if the first line is a whole object
    try:
        with _open(path) as fh:
            first = fh.readline(1 << 20).strip()
        orjson.loads(first)
        return bool(first)
    except (orjson.JSONDecodeError, OSError, EOFError, zlib.error):
        return False


class _TypeWriter:
    """Per-resource-type NDJSON files in the work folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.handles: dict[str, IO[bytes]] = {}
        self.paths: dict[str, Path] = {}

    def write(self, rtype: str, line: bytes) -> None:
        fh = self.handles.get(rtype)
        if fh is None:
            path = self.folder / f"{rtype}.staged.{len(self.paths)}.ndjson"
            fh = io.BufferedWriter(open(path, "wb"), 1 << 20)  # noqa: SIM115
            self.handles[rtype] = fh
            self.paths[rtype] = path
        fh.write(line)
        fh.write(b"\n")

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()


_QUARANTINE_KEYS = {"file", "position", "reason", "record"}


def _is_quarantine_entry(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and set(obj) - {"truncated"} == _QUARANTINE_KEYS
        and isinstance(obj["record"], str)
    )


def _check_resource(obj: Any) -> str | None:
    """The reason a decoded JSON value is not a FHIR resource, or None."""
    if not isinstance(obj, dict):
        return "not a FHIR resource (a JSON object is expected)"
    rtype = obj.get("resourceType")
    if rtype is None:
        return "resource without resourceType"
    if not isinstance(rtype, str) or not load_model().is_resource(rtype):
        return "unknown resourceType (not a FHIR R4 resource type)"
    return None


@dataclass
class _Stager:
    """Checks decoded records, opens Bundles, writes resources by type or to quarantine."""

    out: _TypeWriter
    quarantine: Quarantine
    received: Counter[str]

    def accept(self, obj: Any, raw: bytes | None, name: str, position: str) -> None:
        reason = _check_resource(obj)
        if reason:
            rtype = obj.get("resourceType") if isinstance(obj, dict) else None
            problem = Problem(name, position, reason, rtype if isinstance(rtype, str) else None)
            self.quarantine.add(problem, raw or orjson.dumps(obj))
            return
        rtype = obj["resourceType"]
        if rtype == "Bundle":
            where = name if position == "file" else f"{name} {position}"
            self.bundle(obj, where)
            return
        self.received[rtype] += 1
        self.out.write(rtype, raw if raw is not None and b"\n" not in raw else orjson.dumps(obj))

    def bundle(self, bundle: dict[str, Any], name: str) -> None:
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            self.quarantine.add(
                Problem(name, "file", "Bundle.entry is not a list"), orjson.dumps(bundle)
            )
            return
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if resource is None:
                problem = Problem(name, f"entry {index}", "Bundle entry without resource")
                self.quarantine.add(problem, orjson.dumps(entry))
                continue
            self.accept(resource, None, name, f"entry {index}")

    def json_file(self, path: Path) -> None:
        chunks: list[bytes] = []
        with _open_input(path) as fh:
            try:
                while chunk := fh.read1(1 << 20):  # read1: what precedes damage is kept
                    chunks.append(chunk)
            except _GZIP_DAMAGE:  # a document cut short cannot be parsed: say where it ends
                line = sum(c.count(b"\n") for c in chunks) + 1
                self.quarantine.add(Problem(str(path), f"line {line}", CORRUPT_GZIP), None)
                return
            except OSError as exc:
                raise InputFileError(f"{path}: cannot read ({type(exc).__name__})") from None
        data = b"".join(chunks)
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.quarantine.add(Problem(str(path), "file", "not valid JSON"), data)
            return
        self.accept(obj, data if _check_resource(obj) else None, str(path), "file")

    def ndjson_file(self, path: Path) -> None:
        """The slow path for an NDJSON file with bad lines or several types.

        A damaged gzip file keeps the records read before the damage; the rest of it is
        one problem, at the line reached.
        """
        number = 0
        with _open_input(path) as fh:
            while True:
                try:
                    raw = fh.readline()
                except _GZIP_DAMAGE:
                    problem = Problem(str(path), f"line {number + 1}", CORRUPT_GZIP)
                    self.quarantine.add(problem, None)
                    return
                except OSError as exc:
                    raise InputFileError(f"{path}: cannot read ({type(exc).__name__})") from None
                if not raw:
                    return
                number += 1
                self.ndjson_line(raw.strip(), path, number)

    def ndjson_line(self, line: bytes, path: Path, number: int) -> None:
        if not line:
            return
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.quarantine.add(Problem(str(path), f"line {number}", "malformed JSON"), line)
            return
        if _is_quarantine_entry(obj):  # a quarantine file given back: replay its records
            self.replay(obj, path, number)
            return
        self.accept(obj, line, str(path), f"line {number}")

    def replay(self, entry: dict[str, Any], path: Path, number: int) -> None:
        raw = str(entry["record"]).encode()
        where = f"line {number} (replay of {entry['position']} of {entry['file']})"
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.quarantine.add(Problem(str(path), where, "malformed JSON"), raw)
            return
        self.accept(obj, raw if b"\n" not in raw else None, str(path), where)


def _inventory(files: list[Path]) -> dict[Path, Counter[str]] | None:
    """Resources by type in each NDJSON file, in one scan; None if some file is malformed."""
    if not files:
        return {}
    con = duckdb.connect()
    paths = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    try:
        rows = con.execute(
            f"SELECT filename, resourceType, count(*) FROM read_json({paths},"
            " format = 'newline_delimited', columns = {'resourceType': 'VARCHAR'},"
            " filename = true, sample_size = 1) GROUP BY ALL"
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    by_name = {str(f): f for f in files}
    out: dict[Path, Counter[str]] = {f: Counter() for f in files}
    for filename, rtype, n in rows:
        out[by_name[filename]][rtype] += n
    return out


def _fast_ndjson(files: list[Path]) -> Iterator[tuple[Path, Counter[str] | None]]:
    """Each NDJSON file with its counts by type, or None when it needs the slow path."""
    inventory = _inventory(files)
    if inventory is None:
        for f in files:  # isolate the malformed files
            single = _inventory([f])
            yield f, None if single is None else single[f]
        return
    yield from inventory.items()


def stage_inputs(paths: Iterable[Path], work_dir: Path, quarantine_path: Path) -> StagedInputs:
    """Find, count and (where needed) split the inputs; quarantine bad records."""
    files = find_inputs(paths)
    model = load_model()
    quarantine = Quarantine(quarantine_path)
    received: Counter[str] = Counter()
    by_type: dict[str, list[Path]] = defaultdict(list)
    writer = _TypeWriter(work_dir)
    stager = _Stager(writer, quarantine, received)
    ndjson = [f for f in files if _is_ndjson(f)]
    others = [f for f in files if f not in set(ndjson)]
    try:
        for path, counts in _fast_ndjson(ndjson):
            clean = counts is not None and None not in counts and len(counts) <= 1
            if (
                clean
                and counts is not None
                and all(model.is_resource(t) and t != "Bundle" for t in counts)
            ):
                for rtype, n in counts.items():
                    received[rtype] += n
                    by_type[rtype].append(path)
            else:
                stager.ndjson_file(path)
        for path in others:
            stager.json_file(path)
    finally:
        writer.close()
        quarantine.close()
    for rtype, staged in writer.paths.items():
        by_type[rtype].append(staged)
    return StagedInputs(files, dict(by_type), received, quarantine)
