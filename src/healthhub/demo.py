"""``healthhub demo``: generate synthetic providers' FHIR data and flatten it.

The demo needs nothing but healthhub itself: it generates people cared for by several
providers with the built-in generator, flattens every provider's bulk export with the
shipped ViewDefinitions on the embedded engine, and prints what it did.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click


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
    """Generate PATIENTS people at PROVIDERS providers and flatten them (default ./healthhub-demo)."""
    from healthhub.cli import emit_json, progress_printer
    from healthhub.engines.base import create_engine
    from healthhub.exceptions import UserError
    from healthhub.sources.fhir.runner import library_views, run_views
    from healthhub.synth import generate

    if patients < 1 or providers < 1:
        raise UserError("--patients and --providers must be at least 1")
    root = directory or Path("healthhub-demo")
    if root.exists() and any(root.iterdir()):
        if not (root / "source").exists():
            raise UserError(f"{root}: folder exists and is not a healthhub demo; choose another")
        shutil.rmtree(root)
    say = progress_printer(quiet=False)
    started = time.perf_counter()
    say(f"generating {patients:,} people at {providers} providers")
    synth = generate(root / "source", patients=patients, providers=providers, seed=seed)
    say(f"generated {synth.resources:,} resources in {synth.seconds:.1f}s")
    eng = create_engine(engine)
    try:
        summary = run_views(
            library_views(), sorted(p for p in (root / "source").iterdir() if p.is_dir()), eng, root / "flat", "parquet",
            root / "quarantine.ndjson", progress=say,
        )  # fmt: skip
    finally:
        eng.close()
    total = time.perf_counter() - started
    result = {
        "directory": str(root),
        "people": synth.people,
        "source_patients": synth.source_patients,
        "providers": providers,
        "generated_resources": synth.resources,
        "generate_seconds": round(synth.seconds, 3),
        "flatten": summary.as_dict(),
        "seconds": round(total, 3),
    }
    if as_json:
        emit_json(result)
        return
    click.echo(f"healthhub demo in {root}/")
    click.echo(f"  generated  {synth.people:,} people, {synth.source_patients:,} patient records at "
               f"{providers} providers, {synth.resources:,} FHIR resources ({synth.seconds:.1f}s)")  # fmt: skip
    click.echo(f"  flattened  {summary.resources:,} resources with {len(summary.outputs)} views on "
               f"{summary.engine} ({summary.seconds:.1f}s, "
               f"{summary.resources / max(summary.seconds, 1e-9):,.0f} resources/s)")  # fmt: skip
    for o in sorted(summary.outputs, key=lambda o: -o.rows):
        if o.rows:
            click.echo(f"    {o.view:<34} {o.rows:>10,} rows")
    if summary.skipped:
        click.echo("  skipped    " + ", ".join(f"{t} {n:,}" for t, n in summary.skipped.items()))
    click.echo(
        f"  bad records {summary.problems}"
        + (f" (see {summary.quarantine})" if summary.problems else "")
    )
    click.echo(f"  output     {root / 'flat'}/ (Parquet, one file per view); total {total:.1f}s")
