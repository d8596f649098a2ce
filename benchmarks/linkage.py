"""Benchmark: record linkage of generated providers, end to end, against the ground truth.

    python benchmarks/linkage.py --records 1000000 [--providers 3] [--workdir DIR] [--reuse]
                                 [--fake-1000 PATH] [--splink]

Generates people with healthhub's generator in demographics-only mode (not timed) until
about N source Patient records exist across the providers, creates a hub and ingests each
provider's Patient export in turn: landing, flattening (the patient view), identity (vault,
national ids, blocking, comparisons, EM, clustering, person ids), standardisation of the
person rows, merge. Pairwise precision, recall and F1 are computed from the hub's source
links against the generator's ground truth.

Prints one JSON object: ``records``, ``precision``, ``recall``, ``f1``, ``seconds`` (end to
end, every provider), ``records_per_s``, ``peak_rss_mb``, and ``identify_seconds``,
``stage_seconds``, ``linkage`` (per run), ``baseline`` (the same files read by the patient
view alone, the same run: the ratio says what linkage costs over reading), ``pseudonyms``
(person ids per second, 1M keys), ``fake_1000`` (precision, recall and F1 on Splink's
fake_1000 with its true clusters, ingested as one provider's Patients) and, with
``--splink``, Splink's own F1 and time on the same fake_1000 data.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from healthhub.engines.base import create_engine
from healthhub.hub.config import init_hub
from healthhub.hub.pipeline import ingest
from healthhub.identity.evaluation import hub_accuracy, pairwise, read_truth
from healthhub.identity.keys import KeyStore
from healthhub.identity.pseudonyms import new_person_keys, person_ids
from healthhub.sources.fhir.runner import library_views, run_views
from healthhub.synth import generate

RECORDS_PER_PERSON = 1.54  # source Patients per generated person at 3 providers (measured)
FAKE_1000 = (
    Path(__file__).resolve().parents[2] / "shared/data/linkage/fake_1000_from_splink_demos.csv"
)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def accuracy(hub: Any, truth: dict[tuple[str, str], str]) -> dict[str, Any]:
    return hub_accuracy(hub.vault, KeyStore(hub.keys), truth).as_dict()


def link_hub(hub_dir: Path, providers: list[Path]) -> tuple[Any, float, list[dict[str, Any]]]:
    hub = init_hub(hub_dir, name="linkage benchmark")
    runs = []
    started = time.perf_counter()
    for folder in providers:
        runs.append(ingest(hub, folder.name, [folder]))
    return hub, time.perf_counter() - started, runs


def baseline_read(providers: list[Path], out: Path) -> float:
    """The same Patient files through the patient view alone (Parquet out)."""
    engine = create_engine("duckdb")
    view = [v for v in library_views() if v.name == "patient"]
    started = time.perf_counter()
    try:
        for folder in providers:
            run_views(
                view, sorted(folder.glob("Patient.ndjson*")), engine, out / folder.name, "parquet"
            )
    finally:
        engine.close()
    return time.perf_counter() - started


def pseudonym_speed(count: int = 1_000_000) -> float:
    keys = new_person_keys(count)
    started = time.perf_counter()
    person_ids(b"k" * 32, keys)
    return count / (time.perf_counter() - started)


def fake_1000_patients(source: Path, out: Path) -> dict[tuple[str, str], str]:
    """Splink's fake_1000 as FHIR Patients of one provider, and its truth."""
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    lines = []
    with source.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            patient: dict[str, Any] = {"resourceType": "Patient", "id": f"f{row['unique_id']}"}
            name = {k: v for k, v in (("family", row["surname"].strip()),
                                      ("given", [row["first_name"].strip()])) if v and v != [""]}  # fmt: skip
            if name:
                patient["name"] = [name]
            if row["dob"]:
                patient["birthDate"] = row["dob"]
            if row["city"]:
                patient["address"] = [{"city": row["city"]}]
            if row["email"]:
                patient["telecom"] = [{"system": "email", "value": row["email"]}]
            lines.append(orjson.dumps(patient))
            truth[("fake", patient["id"])] = row["cluster"]
    (out / "Patient.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return truth


def splink_fake_1000(source: Path) -> dict[str, Any]:
    """Splink 5 on fake_1000, for comparison: its deduplication tutorial's comparisons and
    training (EM on first name and surname, then e-mail; clusters at 0.5), with blocking
    as loose as ours (first name and birth date, surname, birth date, e-mail, first name
    and city)."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on, splink_datasets  # noqa: F401

    frame = pd.read_csv(source)
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="unique_id",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("dob", input_is_string=True),
                     cl.ExactMatch("city").configure(term_frequency_adjustments=True),
                     cl.EmailComparison("email")],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "dob"), block_on("surname"), block_on("dob"),
            block_on("email"), block_on("first_name", "city")],
    )  # fmt: skip
    started = time.perf_counter()
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    table = clusters.as_pandas_dataframe()
    seconds = time.perf_counter() - started
    label = dict(zip(table["unique_id"], table["cluster_id"], strict=True))
    ids = list(frame["unique_id"])
    result = pairwise([label[i] for i in ids], list(frame["cluster"])).as_dict()
    return {**result, "seconds": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse WORKDIR/source generated by an earlier run")  # fmt: skip
    parser.add_argument("--fake-1000", type=Path, default=FAKE_1000)
    parser.add_argument("--splink", action="store_true", help="also run Splink on fake_1000")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="healthhub-linkage-"))
    source = work / "source"
    if not (args.reuse and (source / "manifest.json").is_file()):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        people = max(1, round(args.records / RECORDS_PER_PERSON))
        print(f"generating {people:,} people", file=sys.stderr)
        generate(source, patients=people, providers=args.providers, seed=args.seed,
                 clinical=False)  # fmt: skip
    for name in ("hub", "flat", "fake"):
        shutil.rmtree(work / name, ignore_errors=True)
    providers = sorted(p for p in source.iterdir() if p.is_dir())
    truth = read_truth(source / "ground_truth.csv")

    baseline = baseline_read(providers, work / "flat")
    hub, seconds, runs = link_hub(work / "hub", providers)
    peak = peak_rss_mb()
    result: dict[str, Any] = {"records": len(truth), **{k: v for k, v in accuracy(hub, truth).items()
                                                         if k in ("precision", "recall", "f1")}}  # fmt: skip
    identify = sum(r["summary"].get("stage_seconds", {}).get("identify", 0.0) for r in runs)
    stages: dict[str, float] = {}
    for r in runs:
        for k, v in r["summary"].get("stage_seconds", {}).items():
            stages[k] = round(stages.get(k, 0.0) + v, 3)
    result.update({
        "seconds": round(seconds, 3), "records_per_s": round(len(truth) / seconds),
        "peak_rss_mb": peak, "identify_seconds": round(identify, 3), "stage_seconds": stages,
        "baseline": {"patient_view_read_seconds": round(baseline, 3),
                     "end_to_end_over_read": round(seconds / baseline, 2)},
        "pseudonyms_per_s": round(pseudonym_speed()),
        "people": runs[-1]["summary"]["identify"]["people"],
        "linkage": [{"provider": r["provider"], **{k: r["summary"]["identify"][k] for k in
                     ("source_patients", "new_people", "joined_existing", "merges", "review_pairs")},
                     "candidate_pairs": r["summary"]["identify"]["linkage"].get("candidate_pairs"),
                     "seconds": r["summary"]["identify"]["seconds"]} for r in runs],
    })  # fmt: skip
    if args.fake_1000.is_file():
        fake_truth = fake_1000_patients(args.fake_1000, work / "fake" / "source" / "fake")
        fake_hub, fake_seconds, _ = link_hub(
            work / "fake" / "hub", [work / "fake" / "source" / "fake"]
        )
        result["fake_1000"] = {**accuracy(fake_hub, fake_truth), "seconds": round(fake_seconds, 3)}
        if args.splink:
            result["fake_1000"]["splink"] = splink_fake_1000(args.fake_1000)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
