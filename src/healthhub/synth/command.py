"""The `healthhub synth` command: generate a synthetic population from the command line.

Usage errors (fewer than one person or provider, an output folder that is not empty,
workers for a run with clinical history) print one line and exit with status 2. Long runs
report progress on stderr about every 5%; the summary goes to stdout, for people or, with
`--json`, as one JSON object.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import NoReturn

import click

_PROVIDER_FOLDER = re.compile(r"^[a-z]+-[a-z]+$")


def _fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(status)


def _clear_previous_run(output: Path) -> None:
    """Remove what an earlier synth run wrote in `output`, and nothing else."""
    manifest_path = output / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(manifest, dict) or manifest.get("generator") != "healthhub.synth":
        return
    for key in manifest.get("providers", []):
        folder = output / str(key)
        if _PROVIDER_FOLDER.match(str(key)) and folder.is_dir():
            shutil.rmtree(folder)
    for name in ("ground_truth.csv", "manifest.json"):
        (output / name).unlink(missing_ok=True)


@click.command("synth")
@click.option("--patients", "-n", type=int, required=True, help="How many people to generate.")
@click.option("--providers", "-p", type=int, default=3, show_default=True,
              help="How many providers (hospital, lab, radiology, clinic, ...) see them.")  # fmt: skip
@click.option("--seed", "-s", type=int, default=0, show_default=True,
              help="Random seed: the same seed gives byte-identical output.")  # fmt: skip
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="Output folder (created if missing; must be empty unless --force).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["ndjson", "ndjson.gz", "bundles"]), default="ndjson",
              show_default=True,
              help="ndjson: one bulk-export file per provider and resource type (ndjson.gz: "
                   "gzipped); "
                   "bundles: one transaction Bundle per provider and patient.")  # fmt: skip
@click.option("--demographics-only", is_flag=True,
              help="Write only the Patient records (and the providers' own resources) and the "
                   "ground truth, without clinical history: fast, for record-linkage "
                   "benchmarks.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes sharing a --demographics-only run in NDJSON, on a machine with "
                   "several real cores; the output is the same whatever their number.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty folder, replacing an earlier synth output there.")  # fmt: skip
def synth_command(patients: int, providers: int, seed: int, output: Path, fmt: str,
                  demographics_only: bool, workers: int, as_json: bool,
                  force: bool) -> None:  # fmt: skip
    """Generate synthetic FHIR R4 data (Synthea-like) for a population and its providers.

    Writes one folder per provider, ground_truth.csv (which source patient record is
    which person, and the hard cases of record linkage each record carries) and
    manifest.json.
    """
    if patients < 1:
        _fail(f"--patients must be at least 1 (got {patients}).")
    if providers < 1:
        _fail(f"--providers must be at least 1 (got {providers}).")
    if workers > 1 and (not demographics_only or fmt == "bundles"):
        _fail("--workers needs --demographics-only and an NDJSON format.")
    if output.exists() and not output.is_dir():
        _fail(f"{output} is a file; give a folder to --output.")
    if output.is_dir() and any(output.iterdir()):
        if not force:
            _fail(f"{output} is not empty; choose an empty folder or pass --force to write there.")
        _clear_previous_run(output)

    from healthhub.synth.generator import SynthError, generate

    started = time.monotonic()
    next_report = 5

    def report(done: int) -> None:
        nonlocal next_report
        percent = done * 100 // patients
        if percent >= next_report and time.monotonic() - started >= 1.0:
            click.echo(f"synth: {done:,}/{patients:,} people ({percent}%)", err=True)
        if percent >= next_report:
            next_report = percent - percent % 5 + 5

    try:
        summary = generate(output, patients, providers, seed, fmt, progress=report,
                           clinical=not demographics_only, workers=workers)  # fmt: skip
    except SynthError as error:
        _fail(f"{error}.")
    except OSError as error:
        _fail(f"cannot write to {output}: {error.strerror or error}.", status=1)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    seconds = summary.seconds or 1e-9
    click.echo(
        f"Generated {summary.people:,} people: {summary.source_patients:,} source patient "
        f"records at {providers} providers, {summary.resources:,} resources "
        f"in {summary.seconds:.1f} s ({summary.people / seconds:,.0f} people/s, "
        f"{summary.resources / seconds:,.0f} resources/s)"
        + (", demographics only." if demographics_only else ".")
    )
    click.echo("Resources by type:")
    width = max(len(kind) for kind in summary.resources_by_type)
    for kind, count in sorted(summary.resources_by_type.items(), key=lambda item: -item[1]):
        click.echo(f"  {kind:<{width}}  {count:>12,}")
    if summary.cases:
        click.echo("Hard cases of record linkage (Patient records carrying each):")
        width = max(len(case) for case in summary.cases)
        for case, count in summary.cases.items():
            click.echo(f"  {case:<{width}}  {count:>12,}")
    click.echo(f"Output: {summary.out_dir} ({fmt}; ground truth in ground_truth.csv)")
