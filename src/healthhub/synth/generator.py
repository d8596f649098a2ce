"""Generate a synthetic population's FHIR data: the `generate` entry point.

People are generated one at a time, each from its own random generator derived from the
seed and the person's number, so a run is reproducible byte for byte and memory stays
bounded whatever the population. For each person: draw the person, choose the providers
that see them and the noisy Patient record each keeps, plan the history, record it on the
charts, write the charts and the ground-truth rows, then forget the person.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from healthhub.synth.clinical import Chart, Recorder
from healthhub.synth.episodes import record_history
from healthhub.synth.people import choose_providers, make_person, patient_record
from healthhub.synth.primitives import id_maker
from healthhub.synth.providers import make_providers
from healthhub.synth.timeline import plan_conditions, plan_episodes
from healthhub.synth.writers import BundleWriter, NdjsonWriter

FORMATS = ("ndjson", "ndjson.gz", "bundles")
GROUND_TRUTH = "ground_truth.csv"
MANIFEST = "manifest.json"


class SynthError(ValueError):
    """A request the generator cannot carry out; the message says what to change."""


@dataclass(frozen=True)
class SynthSummary:
    people: int
    source_patients: int  # Patient records, across providers
    resources: int
    resources_by_type: dict[str, int]
    files: list[Path]
    seconds: float
    out_dir: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "source_patients": self.source_patients,
            "resources": self.resources,
            "resources_by_type": self.resources_by_type,
            "files": [str(path) for path in self.files],
            "seconds": round(self.seconds, 3),
            "out_dir": str(self.out_dir),
        }


def _literal(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _urn(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource_id}"}


def generate(
    out_dir: Path,
    patients: int,
    providers: int = 3,
    seed: int = 0,
    fmt: str = "ndjson",
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Write `patients` synthetic people seen by `providers` providers under `out_dir`.

    `fmt` is "ndjson" (bulk export, one file per provider and resource type) or "bundles"
    (one transaction Bundle per provider and patient). `progress`, if given, is called
    with the number of people done, about every 1% of the run.
    """
    if patients < 1:
        raise SynthError(f"patients must be at least 1 (got {patients})")
    if providers < 1:
        raise SynthError(f"providers must be at least 1 (got {providers})")
    if fmt not in FORMATS:
        raise SynthError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bundles = fmt == "bundles"
    linker = _urn if bundles else _literal
    roster = make_providers(providers, seed, linker, conditional=bundles)
    for provider in roster:
        (out / provider.key).mkdir(exist_ok=True)
    writer = BundleWriter(out, roster) if bundles else NdjsonWriter(out, roster, fmt == "ndjson.gz")
    writer.write_providers()
    step = max(1, patients // 100)
    source_patients = 0
    with (out / GROUND_TRUTH).open("w", newline="", encoding="utf-8") as truth_file:
        truth = csv.writer(truth_file, lineterminator="\n")
        truth.writerow(("provider", "patient_id", "person_key"))
        for index in range(patients):
            rng = random.Random(f"healthhub-synth:{seed}:person:{index}")
            person = make_person(rng, index)
            chosen = choose_providers(rng, [p.kind for p in roster])
            new_id = id_maker(rng.getrandbits)
            charts = []
            for order, provider_index in enumerate(chosen):
                provider = roster[provider_index]
                patient_id = new_id()
                patient = patient_record(
                    rng, person, patient_id, provider.new_mrn(), provider.mrn_system,
                    provider.style, order == 0, provider.organization_ref,
                )  # fmt: skip
                name = patient["name"][-1]
                display = f"{' '.join(name['given'])} {name['family']}"
                subject = linker("Patient", patient_id)
                charts.append(Chart(provider, patient_id, subject, display, [patient]))
                truth.writerow((provider.key, patient_id, person.key))
            source_patients += len(charts)
            conditions = plan_conditions(rng, person)
            episodes = plan_episodes(rng, person, [c.provider.kind for c in charts], conditions)
            record_history(Recorder(rng, person, charts, conditions, linker), episodes)
            for chart in charts:
                writer.write_chart(chart)
            if progress is not None and ((index + 1) % step == 0 or index + 1 == patients):
                progress(index + 1)
    files = writer.close()
    counts = dict(sorted(writer.counts.items()))
    files = [*files, out / GROUND_TRUTH, out / MANIFEST]
    manifest = {
        "generator": "healthhub.synth",
        "seed": seed,
        "format": fmt,
        "people": patients,
        "providers": [provider.key for provider in roster],
        "source_patients": source_patients,
        "resources": sum(counts.values()),
        "resources_by_type": counts,
        "files": [path.relative_to(out).as_posix() for path in files],
    }
    (out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return SynthSummary(
        people=patients,
        source_patients=source_patients,
        resources=manifest["resources"],  # type: ignore[arg-type]
        resources_by_type=counts,
        files=files,
        seconds=time.perf_counter() - started,
        out_dir=out,
    )
