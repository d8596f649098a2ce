"""CLI verbs of the hub: ``init``, ``ingest``, ``runs``, ``vocab``."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Any

import click

HUB_OPTION = click.option(
    "--hub",
    "hub_dir",
    type=click.Path(path_type=Path),
    help="The hub folder (default: the HEALTHHUB_HOME setting).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", help="The hub's name (default: the folder's name).")
@JSON_OPTION
def init_command(directory: Path, name: str | None, as_json: bool) -> None:
    """Create a hub in DIRECTORY: config, landing, warehouse, vault, keys, governance."""
    from healthhub.cli import emit_json
    from healthhub.hub.config import init_hub

    started = time.perf_counter()
    hub = init_hub(directory, name)
    summary = {
        "hub": str(hub.root), "name": hub.name, "config": str(hub.root / "healthhub.toml"),
        "warehouse": str(hub.warehouse), "landing": str(hub.landing), "vault": str(hub.vault),
        "keys": str(hub.keys), "governance": str(hub.governance),
        "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip
    if as_json:
        emit_json(summary)
        return
    click.echo(f"Created hub '{hub.name}' in {hub.root}/ ({summary['seconds']:.1f}s)")
    for key in ("config", "warehouse", "landing", "vault", "keys", "governance"):
        click.echo(f"  {key:<11} {summary[key]}")
    click.echo(f"Next: healthhub ingest --hub {hub.root} --provider NAME FILES...")


def print_run(result: dict[str, Any]) -> None:
    summary = result["summary"]
    click.echo(f"Run {result['run_id']} ({result['provider']}): {result['state']}"
               f" in {result.get('seconds', 0):.1f}s")  # fmt: skip
    if summary.get("nothing_new"):
        click.echo("  nothing new: every file was already landed from this provider")
        return
    flat = summary.get("flatten", {})
    click.echo(f"  landed     {summary.get('landed_files', 0):,} new file(s),"
               f" {summary.get('already_landed', 0):,} already landed")  # fmt: skip
    click.echo(f"  received   {flat.get('resources', 0):,} resources;"
               f" {flat.get('problems', 0):,} bad record(s) quarantined")  # fmt: skip
    ident = summary.get("identify", {})
    if ident:
        click.echo(f"  people     {ident['source_patients']:,} source patients,"
                   f" {ident['new_people']:,} new; {ident['people']:,} in the hub")  # fmt: skip
    rows = summary.get("omop_rows", {})
    if rows:
        click.echo("  OMOP rows  " + ", ".join(f"{t} {n:,}" for t, n in rows.items() if n))
    for vocabulary, c in sorted(summary.get("coverage", {}).items()):
        share = c["mapped"] / c["records"] if c["records"] else 0
        click.echo(f"  mapped     {vocabulary:<10} {c['mapped']:>9,} of {c['records']:>9,}"
                   f" coded records ({share:.1%})")  # fmt: skip
    skipped = [a for a in summary.get("accounting", []) if a["outcome"] != "written"]
    for a in skipped:
        click.echo(f"  {a['outcome']:<10} {a['resource_type']} {a['records']:,}: {a['reason']}")
    seconds = summary.get("stage_seconds", {})
    if seconds:
        click.echo("  time       " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))


@click.command("ingest")
@HUB_OPTION
@click.option("--provider", required=True, help="Who sent the files (a short name).")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]),
              help="Engine for this run (default: the hub's).")  # fmt: skip
@JSON_OPTION
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest_command(hub_dir: Path | None, provider: str, engine: str | None, as_json: bool,
                   paths: tuple[Path, ...]) -> None:  # fmt: skip
    """Land PATHS (files or folders) from PROVIDER and standardise them into the warehouse.

    Exit status 1 when a stage fails (the run is kept as failed: resume it with
    `healthhub runs resume RUN`), 2 for bad usage or input.
    """
    from healthhub.cli import emit_json, progress_printer
    from healthhub.hub.config import open_hub
    from healthhub.hub.pipeline import ingest

    hub = open_hub(hub_dir)
    result = ingest(hub, provider, list(paths), engine, progress_printer(quiet=as_json))
    if as_json:
        emit_json(result)
    else:
        print_run(result)
        click.echo(f"  warehouse  {hub.warehouse}")


@click.group("runs", invoke_without_command=True)
@HUB_OPTION
@JSON_OPTION
@click.pass_context
def runs_group(ctx: click.Context, hub_dir: Path | None, as_json: bool) -> None:
    """List the hub's runs (or show / resume one)."""
    ctx.ensure_object(dict)
    ctx.obj["hub_dir"] = hub_dir
    if ctx.invoked_subcommand is not None:
        return
    from healthhub.cli import emit_json
    from healthhub.hub.config import open_hub
    from healthhub.hub.runs import RunStore

    store = RunStore(open_hub(hub_dir).governance)
    try:
        runs = store.runs()
    finally:
        store.close()
    if as_json:
        emit_json({"runs": [r.as_dict() for r in runs]})
        return
    if not runs:
        click.echo("No runs yet (healthhub ingest --hub DIR --provider NAME FILES...)")
    for r in runs:
        people = r.summary.get("identify", {}).get("source_patients", "")
        why = f"  ({r.reason})" if r.reason else ""
        click.echo(f"{r.run_id}  {r.provider:<16} {r.state:<13} {r.updated_at}"
                   f"  {people} patients{why}" if people != "" else
                   f"{r.run_id}  {r.provider:<16} {r.state:<13} {r.updated_at}{why}")  # fmt: skip


@runs_group.command("show")
@click.argument("run_id")
@HUB_OPTION
@JSON_OPTION
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, hub_dir: Path | None, as_json: bool) -> None:
    """Show one run: its states over time and its summary."""
    from healthhub.cli import emit_json
    from healthhub.hub.config import open_hub
    from healthhub.hub.runs import RunStore

    store = RunStore(open_hub(hub_dir or ctx.obj.get("hub_dir")).governance)
    try:
        run = store.get(run_id)
        events = store.events(run_id)
    finally:
        store.close()
    if as_json:
        emit_json({**run.as_dict(), "events": [list(e) for e in events]})
        return
    print_run(run.as_dict())
    for state, at, reason in events:
        click.echo(f"  {at}  {state}" + (f": {reason}" if reason else ""))


@runs_group.command("resume")
@click.argument("run_id")
@HUB_OPTION
@click.option("--engine", type=click.Choice(["duckdb", "spark"]))
@JSON_OPTION
@click.pass_context
def runs_resume(ctx: click.Context, run_id: str, hub_dir: Path | None, engine: str | None,
                as_json: bool) -> None:  # fmt: skip
    """Resume a failed run from the stage after the last one it finished."""
    from healthhub.cli import emit_json, progress_printer
    from healthhub.hub.config import open_hub
    from healthhub.hub.pipeline import resume

    hub = open_hub(hub_dir or ctx.obj.get("hub_dir"))
    result = resume(hub, run_id, engine, progress_printer(quiet=as_json))
    if as_json:
        emit_json(result)
    else:
        print_run(result)


@click.group("vocab")
def vocab_group() -> None:
    """Vocabularies: load an OHDSI Athena download, add local source-to-concept maps."""


@vocab_group.command("load")
@HUB_OPTION
@JSON_OPTION
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
def vocab_load(hub_dir: Path | None, as_json: bool, folders: tuple[Path, ...]) -> None:
    """Bulk-load vocabulary FOLDERS (Athena CSV files) into the warehouse, replacing tables."""
    from healthhub.cli import emit_json, progress_printer
    from healthhub.hub.config import open_hub
    from healthhub.hub.lock import hub_lock
    from healthhub.standardize.vocabulary import load_vocabulary
    from healthhub.standardize.warehouse import connect

    hub = open_hub(hub_dir)
    say = progress_printer(quiet=as_json)
    with hub_lock(hub.root), closing(connect(hub.warehouse)) as con:
        summary = load_vocabulary(
            con, list(folders), lambda table, rows: say(f"{table}: {rows:,} rows")
        )
    result = summary.to_dict()
    if as_json:
        emit_json(result)
        return
    click.echo(f"Loaded vocabulary into {hub.warehouse}")
    for table, rows in result["rows"].items():
        click.echo(f"  {table:<22} {rows:>12,} rows")


@vocab_group.command("map")
@HUB_OPTION
@JSON_OPTION
@click.argument("file", type=click.Path(path_type=Path))
def vocab_map(hub_dir: Path | None, as_json: bool, file: Path) -> None:
    """Load local source-to-concept maps (SOURCE_TO_CONCEPT_MAP layout, CSV)."""
    from healthhub.cli import emit_json
    from healthhub.hub.config import open_hub
    from healthhub.hub.lock import hub_lock
    from healthhub.standardize.vocabulary import load_source_to_concept_map
    from healthhub.standardize.warehouse import connect

    hub = open_hub(hub_dir)
    with hub_lock(hub.root), closing(connect(hub.warehouse)) as con:
        rows = load_source_to_concept_map(con, file)
    if as_json:
        emit_json({"file": str(file), "rows": rows})
        return
    click.echo(f"Loaded {rows:,} local map row(s) from {file} into {hub.warehouse}")
