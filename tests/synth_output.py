"""Reading what the generator wrote: its NDJSON by provider, references, codings, truth."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

PROVIDER_TYPES = {"Organization", "Location", "Practitioner", "PractitionerRole"}


def read_ndjson(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Provider key -> every resource in its NDJSON files."""
    found: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        found[folder.name] = [
            orjson.loads(line)
            for path in sorted(folder.glob("*.ndjson"))
            for line in path.read_bytes().splitlines()
        ]
    return found


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def codings(value: Any) -> Iterator[dict[str, Any]]:
    """Every Coding: a dict with a system and a code that is not a Quantity."""
    if isinstance(value, dict):
        if "system" in value and "code" in value and "value" not in value:
            yield value
        for item in value.values():
            yield from codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from codings(item)


def ground_truth(out: Path) -> list[dict[str, str]]:
    with (out / "ground_truth.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
