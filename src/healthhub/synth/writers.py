"""Write generated charts to disk: bulk NDJSON files or FHIR transaction bundles.

Both writers take one chart (a provider's resources about one person) at a time and keep
memory bounded. The NDJSON writer appends one compact JSON line per resource to
`<provider>/<ResourceType>.ndjson`, buffering up to a few megabytes before it writes, so
any number of providers works without holding many files open. The bundle writer writes
`<provider>/<patient id>.json`, one transaction Bundle per chart, and one bundle per
provider for its Organization, Locations, Practitioners and PractitionerRoles.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

from healthhub.synth.clinical import Chart
from healthhub.synth.providers import Provider

_FLUSH_BYTES = 32 * 1024 * 1024
PROVIDER_BUNDLE = "provider-directory.json"


class NdjsonWriter:
    """Bulk-export NDJSON; with ``compress``, gzip files (kept open: one per provider and type)."""

    def __init__(self, out_dir: Path, providers: list[Provider], compress: bool = False) -> None:
        self.out_dir = out_dir
        self.providers = providers
        self.compress = compress
        self.handles: dict[Path, Any] = {}
        self.buffers: list[dict[str, list[bytes]]] = [{} for _ in providers]
        self.pending = 0
        self.written: set[Path] = set()
        self.counts: dict[str, int] = {}

    def write_providers(self) -> None:
        for provider in self.providers:
            self._add(provider.index, provider.resources)

    def write_chart(self, chart: Chart) -> None:
        self._add(chart.provider.index, chart.out)

    def write_lines(self, provider_index: int, kind: str, lines: bytes, count: int) -> None:
        """`count` NDJSON lines of resources of one kind, already serialised."""
        buffers = self.buffers[provider_index]
        found = buffers.get(kind)
        if found is None:
            found = buffers[kind] = []
        found.append(lines)
        self.counts[kind] = self.counts.get(kind, 0) + count
        self.pending += len(lines)
        if self.pending > _FLUSH_BYTES:
            self.flush()

    def _add(self, index: int, resources: list[dict[str, Any]]) -> None:
        buffers = self.buffers[index]
        dumps = orjson.dumps
        newline = orjson.OPT_APPEND_NEWLINE
        counts = self.counts
        size = 0
        for resource in resources:
            line = dumps(resource, option=newline)
            size += len(line)
            kind = resource["resourceType"]
            lines = buffers.get(kind)
            if lines is None:
                lines = buffers[kind] = []
            lines.append(line)
            counts[kind] = counts.get(kind, 0) + 1
        self.pending += size
        if self.pending > _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for provider, buffers in zip(self.providers, self.buffers, strict=True):
            for kind, lines in buffers.items():
                if not lines:
                    continue
                if self.compress:
                    path = self.out_dir / provider.key / f"{kind}.ndjson.gz"
                    if path not in self.handles:
                        self.handles[path] = gzip.open(path, "wb", compresslevel=1)  # noqa: SIM115 - closed by close()
                    self.handles[path].write(b"".join(lines))
                else:
                    path = self.out_dir / provider.key / f"{kind}.ndjson"
                    with path.open("ab" if path in self.written else "wb") as handle:
                        handle.write(b"".join(lines))
                self.written.add(path)
                lines.clear()
        self.pending = 0

    def close(self) -> list[Path]:
        self.flush()
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
        return sorted(self.written)


_REQUESTS: dict[str, dict[str, str]] = {}


class BundleWriter:
    def __init__(self, out_dir: Path, providers: list[Provider]) -> None:
        self.out_dir = out_dir
        self.providers = providers
        self.written: list[Path] = []
        self.counts: dict[str, int] = {}

    def _count(self, resources: list[dict[str, Any]]) -> None:
        counts = self.counts
        for resource in resources:
            kind = resource["resourceType"]
            counts[kind] = counts.get(kind, 0) + 1

    def write_providers(self) -> None:
        for provider in self.providers:
            entries = []
            for resource in provider.resources:
                identifier = resource["identifier"][0]
                request = {
                    "method": "POST",
                    "url": resource["resourceType"],
                    "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
                }
                entries.append(
                    {
                        "fullUrl": f"urn:uuid:{resource['id']}",
                        "resource": resource,
                        "request": request,
                    }
                )
            self._write(self.out_dir / provider.key / PROVIDER_BUNDLE, entries)
            self._count(provider.resources)

    def write_chart(self, chart: Chart) -> None:
        entries = []
        for resource in chart.out:
            kind = resource["resourceType"]
            request = _REQUESTS.get(kind)
            if request is None:
                request = _REQUESTS[kind] = {"method": "POST", "url": kind}
            entries.append(
                {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource, "request": request}
            )
        self._write(self.out_dir / chart.provider.key / f"{chart.patient_id}.json", entries)
        self._count(chart.out)

    def _write(self, path: Path, entries: list[dict[str, Any]]) -> None:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        path.write_bytes(orjson.dumps(bundle))
        self.written.append(path)

    def close(self) -> list[Path]:
        return list(self.written)
