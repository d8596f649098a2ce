"""Generate a synthetic population's FHIR data: the `generate` entry point.

People are generated one at a time, each from its own random generator derived from the
seed and the person's number, so a run is reproducible byte for byte and memory stays
bounded whatever the population. For each person: draw the person (knowing the other
member of their household, if any), choose the providers that see them and the noisy
Patient records each keeps, plan the history, record it on the charts, write the charts
and the ground-truth rows, then forget the person. Without the clinical history
(`clinical=False`, the command's `--demographics-only`) only the Patient records, the
providers' own resources and the ground truth are written, fast enough for linkage
benchmarks of a million records.

ground_truth.csv has one row per Patient record: `provider`, `patient_id`,
`person_key` (the same for every record of one person) and `cases`, the hard cases of
record linkage the record carries (`registration.CASES`, ';'-joined, empty when none).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from healthhub.synth.clinical import Chart, Recorder
from healthhub.synth.demographics import chunks, truth_line
from healthhub.synth.episodes import record_history
from healthhub.synth.people import Person, choose_providers, draw_habits, people
from healthhub.synth.primitives import id_maker
from healthhub.synth.providers import (
    Linker,
    Provider,
    literal_reference,
    make_providers,
    urn_reference,
)
from healthhub.synth.registration import CASES, Registration, register
from healthhub.synth.timeline import plan_conditions, plan_episodes, share_with_duplicates
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
    clinical: bool = True
    cases: dict[str, int] | None = None  # Patient records carrying each hard case

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "source_patients": self.source_patients,
            "resources": self.resources,
            "resources_by_type": self.resources_by_type,
            "files": [str(path) for path in self.files],
            "seconds": round(self.seconds, 3),
            "out_dir": str(self.out_dir),
            "clinical": self.clinical,
            "cases": self.cases or {},
        }


def generate(
    out_dir: Path,
    patients: int,
    providers: int = 3,
    seed: int = 0,
    fmt: str = "ndjson",
    progress: Callable[[int], None] | None = None,
    clinical: bool = True,
    workers: int = 1,
) -> SynthSummary:
    """Write `patients` synthetic people seen by `providers` providers under `out_dir`.

    `fmt` is "ndjson" (bulk export, one file per provider and resource type) or "bundles"
    (one transaction Bundle per provider and patient). `progress`, if given, is called
    with the number of people done, about every 1% of the run. With `clinical` false,
    only the Patient records and the providers' own resources are written; in NDJSON,
    `workers` processes may share the work (see `demographics.chunks`), and the output
    is the same bytes whatever their number.
    """
    if patients < 1:
        raise SynthError(f"patients must be at least 1 (got {patients})")
    if providers < 1:
        raise SynthError(f"providers must be at least 1 (got {providers})")
    if fmt not in FORMATS:
        raise SynthError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if workers < 1:
        raise SynthError(f"workers must be at least 1 (got {workers})")
    if workers > 1 and (clinical or fmt == "bundles"):
        raise SynthError("several workers share only demographics-only runs in NDJSON")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bundles = fmt == "bundles"
    linker = urn_reference if bundles else literal_reference
    roster = make_providers(providers, seed, linker, conditional=bundles)
    for provider in roster:
        (out / provider.key).mkdir(exist_ok=True)
    writer = BundleWriter(out, roster) if bundles else NdjsonWriter(out, roster, fmt == "ndjson.gz")
    writer.write_providers()
    kinds = [p.kind for p in roster]
    step = max(1, patients // 100)
    source_patients = 0
    case_counts = dict.fromkeys(CASES, 0)
    with (out / GROUND_TRUTH).open("wb") as truth:
        truth.write(b"provider,patient_id,person_key,cases\n")
        if not clinical and isinstance(writer, NdjsonWriter):
            for chunk in chunks(seed, providers, patients, workers):
                for index, lines in enumerate(chunk.patients):
                    writer.write_lines(index, "Patient", lines, chunk.records[index])
                truth.write(chunk.truth)
                source_patients += sum(chunk.records)
                for case, count in zip(CASES, chunk.cases, strict=True):
                    case_counts[case] += count
                if progress is not None:
                    progress(chunk.stop)
        else:
            for done, (rng, person) in enumerate(people(seed, patients), 1):
                chosen = choose_providers(rng, kinds)
                records = register(rng, person, roster, chosen, id_maker(rng.getrandbits))
                for record in records:
                    line = truth_line(roster[record.provider].key, record, person.key)
                    truth.write(line.encode())
                    for case in record.cases:
                        case_counts[case] += 1
                source_patients += len(records)
                charts = _charts(roster, records, linker)
                if clinical:
                    _record_history(rng, person, charts, records, linker)
                for chart in charts:
                    writer.write_chart(chart)
                if progress is not None and (done % step == 0 or done == patients):
                    progress(done)
    files = writer.close()
    counts = dict(sorted(writer.counts.items()))
    files = [*files, out / GROUND_TRUTH, out / MANIFEST]
    manifest = {
        "generator": "healthhub.synth",
        "seed": seed,
        "format": fmt,
        "clinical": clinical,
        "people": patients,
        "providers": [provider.key for provider in roster],
        "source_patients": source_patients,
        "resources": sum(counts.values()),
        "resources_by_type": counts,
        "cases": case_counts,
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
        clinical=clinical,
        cases=case_counts,
    )


def _charts(roster: list[Provider], records: list[Registration], linker: Linker) -> list[Chart]:
    charts = []
    for record in records:
        patient = record.patient
        name = patient["name"][-1]
        display = f"{' '.join(name['given'])} {name['family']}"
        subject = linker("Patient", patient["id"])
        charts.append(Chart(roster[record.provider], patient["id"], subject, display, [patient]))
    return charts


def _record_history(rng: random.Random, person: Person, charts: list[Chart],
                    records: list[Registration], linker: Linker) -> None:  # fmt: skip
    """Plan and record the person's history on the charts; a provider's second record of
    the person gets some of the visits of its first."""
    first = [c for c, record in zip(charts, records, strict=True) if record.duplicate_of < 0]
    draw_habits(rng, person)
    conditions = plan_conditions(rng, person)
    episodes = plan_episodes(rng, person, [c.provider.kind for c in first], conditions)
    duplicates = [(record.duplicate_of, n) for n, record in enumerate(records)
                  if record.duplicate_of >= 0]  # fmt: skip
    if duplicates:
        episodes = share_with_duplicates(rng, episodes, duplicates)
    record_history(Recorder(rng, person, charts, conditions, linker), episodes)
