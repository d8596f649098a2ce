"""``healthhub demo``: a hub built from synthetic providers, end to end.

The demo needs nothing but healthhub itself: it creates a hub, generates people cared for
by several providers with the built-in generator, ingests each provider's bulk export
(land, flatten, identify, standardise into OMOP CDM v5.4 with the starter vocabulary) and
prints what it did.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import click

DEMO_MARK = ".healthhub-demo"


def _linkage_accuracy(hub: Any, truth_file: Path) -> dict[str, Any]:
    """Pairwise precision and recall of the hub's people against the generator's truth."""
    from healthhub.identity.evaluation import hub_accuracy, read_truth
    from healthhub.identity.keys import KeyStore

    return hub_accuracy(hub.vault, KeyStore(hub.keys), read_truth(truth_file)).as_dict()


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--patients", default=1000, show_default=True, help="People to generate.")
@click.option("--providers", default=3, show_default=True, help="Providers sending data.")
@click.option("--seed", default=42, show_default=True)
@click.option(
    "--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def demo_command(directory: Path | None, patients: int, providers: int, seed: int, engine: str,
                 as_json: bool) -> None:  # fmt: skip
    """Create a hub in DIRECTORY (default ./healthhub-demo) and fill it from synthetic providers."""
    from healthhub.cli import emit_json, progress_printer
    from healthhub.exceptions import UserError
    from healthhub.hub.config import init_hub
    from healthhub.hub.pipeline import ingest
    from healthhub.standardize.warehouse import connect, table_counts
    from healthhub.synth import generate
    from healthhub.synth.generator import GROUND_TRUTH

    if patients < 1 or providers < 1:
        raise UserError("--patients and --providers must be at least 1")
    root = directory or Path("healthhub-demo")
    if root.exists() and any(root.iterdir()):
        if not (root / DEMO_MARK).is_file():
            raise UserError(f"{root}: folder exists and is not a healthhub demo; choose another")
        shutil.rmtree(root)  # an earlier demo, made by this command
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARK).write_text("made by `healthhub demo`: replaced by the next demo here\n")
    say = progress_printer(quiet=as_json)
    started = time.perf_counter()
    say(f"generating {patients:,} people at {providers} providers")
    synth = generate(root / "source", patients=patients, providers=providers, seed=seed)
    say(f"generated {synth.resources:,} resources in {synth.seconds:.1f}s")
    hub = init_hub(root / "hub", name="healthhub demo")
    runs: list[dict[str, Any]] = []
    for folder in sorted(p for p in (root / "source").iterdir() if p.is_dir()):
        say(f"ingesting provider {folder.name}")
        runs.append(ingest(hub, folder.name, [folder], engine, say))
    con = connect(hub.warehouse)
    try:
        counts = table_counts(con)
    finally:
        con.close()
    linkage = _linkage_accuracy(hub, root / "source" / GROUND_TRUTH)
    stage_seconds: dict[str, float] = {}
    coverage: dict[str, dict[str, int]] = {}
    for run in runs:
        for stage, seconds in run["summary"].get("stage_seconds", {}).items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
        for vocabulary, c in run["summary"].get("coverage", {}).items():
            summed = coverage.setdefault(vocabulary, {"records": 0, "mapped": 0})
            summed["records"] += c["records"]
            summed["mapped"] += c["mapped"]
    total = time.perf_counter() - started
    result = {
        "directory": str(root), "hub": str(hub.root), "generated_people": synth.people,
        "source_patients": synth.source_patients, "providers": providers,
        "generated_resources": synth.resources, "people": counts.get("person", 0),
        "linkage": linkage,
        "omop_rows": counts, "coverage": coverage,
        "stage_seconds": {k: round(v, 3) for k, v in stage_seconds.items()},
        "runs": [r["run_id"] for r in runs], "seconds": round(total, 3),
    }  # fmt: skip
    if as_json:
        emit_json(result)
        return
    click.echo(f"healthhub demo in {root}/ (hub: {hub.root}/)")
    click.echo(f"  generated  {synth.people:,} people, {synth.source_patients:,} patient records"
               f" at {providers} providers, {synth.resources:,} FHIR resources")  # fmt: skip
    click.echo(f"  people     {synth.source_patients:,} source patients became"
               f" {counts.get('person', 0):,} people in the warehouse; linkage against the"
               f" generator's truth: precision {linkage['precision']:.4f}, recall"
               f" {linkage['recall']:.4f}")  # fmt: skip
    click.echo("  OMOP rows")
    for table, rows in sorted(counts.items(), key=lambda kv: -kv[1]):
        if rows:
            click.echo(f"    {table:<24} {rows:>10,}")
    for vocabulary, c in sorted(coverage.items()):
        share = c["mapped"] / c["records"] if c["records"] else 0
        click.echo(f"  mapped     {vocabulary:<10} {share:>6.1%} of {c['records']:,} coded records")
    click.echo("  time       " + ", ".join(f"{k} {v:.1f}s" for k, v in stage_seconds.items())
               + f"; total {total:.1f}s")  # fmt: skip
    click.echo(f"  warehouse  {hub.warehouse} (DuckDB, OMOP CDM v5.4)")
