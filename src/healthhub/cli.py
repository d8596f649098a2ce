"""The ``healthhub`` command line.

Exit status: 0 success; 1 failed checks (a conformance test failed, a view failed on the
data); 2 usage or input error (a missing file, an invalid ViewDefinition). Errors print one
line without a traceback. Long work reports progress on stderr and ends with a short
summary; ``--json`` prints the same summary as one JSON object on stdout.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import orjson

from healthhub import __version__
from healthhub.exceptions import HealthhubError

ENGINES = click.Choice(["duckdb", "spark"])


def emit_json(summary: dict[str, Any]) -> None:
    click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


def progress_printer(quiet: bool = False) -> Any:
    start = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - start:6.1f}s] {message}", err=True)

    return say


class HealthhubGroup(click.Group):
    """Turns healthhub's own errors into one line and the documented exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HealthhubError as exc:
            click.echo(f"healthhub: error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 1))


@click.group(cls=HealthhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="healthhub")
def cli() -> None:
    """healthhub: collect, structure, protect, govern and serve health data.

    \b
    Exit status: 0 ok, 1 failed checks, 2 usage or input error.
    """


@cli.group()
def view() -> None:
    """SQL-on-FHIR v2 ViewDefinitions: flatten FHIR resources into tables."""


@view.command("run")
@click.argument("view_spec", metavar="VIEW")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engine", type=ENGINES, default="duckdb", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "ndjson", "parquet"]),
    default="csv",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file, or folder for several views (default: CSV on stdout).",
)
@click.option(
    "--quarantine",
    type=click.Path(path_type=Path),
    help="Where bad records go (default: OUTPUT.quarantine.ndjson).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def view_run(view_spec: str, inputs: tuple[Path, ...], engine: str, fmt: str, output: Path | None,
             quarantine: Path | None, as_json: bool) -> None:  # fmt: skip
    """Flatten FHIR INPUTS (NDJSON, Bundles, .gz, folders) with VIEW.

    VIEW is a ViewDefinition file, a folder of them, or @library for the shipped views.
    """
    from healthhub.engines.base import create_engine
    from healthhub.sources.fhir.runner import load_views, run_views

    views = load_views(view_spec)
    if as_json and output is None:
        raise click.UsageError("--json prints the summary on stdout: give -o OUTPUT for the rows")
    say = progress_printer(quiet=output is None and not as_json)
    eng = create_engine(engine)
    with tempfile.TemporaryDirectory(prefix="healthhub-out-") as tmp:
        target = output or Path(tmp) / "rows.csv"
        if output is None and quarantine is None:
            quarantine = Path("healthhub-quarantine.ndjson")
        try:
            summary = run_views(views, list(inputs), eng, target, fmt, quarantine, progress=say)
        finally:
            eng.close()
        if output is None:
            with open(target, "rb") as rows:
                sys.stdout.flush()
                shutil.copyfileobj(rows, sys.stdout.buffer)
                sys.stdout.buffer.flush()
    if as_json:
        emit_json(summary.as_dict())
        return
    out = click.echo if output is not None else (lambda m: click.echo(m, err=True))
    out(f"Flattened {summary.resources:,} resources from {summary.inputs} file(s) with "
        f"{len(views)} view(s) on {summary.engine} in {summary.seconds:.1f}s")  # fmt: skip
    for o in summary.outputs:
        out(f"  {o.view:<32} {o.rows:>10,} rows  {o.path or '(stdout)'}")
    if summary.skipped:
        skipped = ", ".join(f"{t} {n:,}" for t, n in summary.skipped.items())
        out(f"  skipped (no view for the type): {skipped}")
    if summary.problems:
        out(f"  {summary.problems:,} bad record(s) set aside in {summary.quarantine}")


@view.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--engine", type=ENGINES, default="duckdb", show_default=True)
@click.option(
    "--report", type=click.Path(path_type=Path), help="Write the test report (JSON) here."
)
@click.option("-v", "--verbose", is_flag=True, help="Show why each failed test failed.")
def view_test(paths: tuple[Path, ...], engine: str, report: Path | None, verbose: bool) -> None:
    """Run SQL-on-FHIR conformance test files (or folders of them)."""
    from healthhub.engines.base import create_engine
    from healthhub.sources.fhir.conformance import TestOutcome, run_conformance

    def show(outcome: TestOutcome) -> None:
        mark = "pass" if outcome.passed else "FAIL"
        click.echo(f"{mark}  {outcome.file}: {outcome.name}")
        if not outcome.passed and verbose:
            click.echo(f"      {outcome.reason}")

    eng = create_engine(engine)
    try:
        result = run_conformance(eng, list(paths), on_result=show)
    finally:
        eng.close()
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_bytes(orjson.dumps(result.report(), option=orjson.OPT_INDENT_2))
    click.echo(f"{result.passed} passed, {result.failed} failed")
    if result.failed:
        sys.exit(1)


@view.command("sql")
@click.argument("view_file", type=click.Path(path_type=Path))
@click.option("--engine", type=ENGINES, default="duckdb", show_default=True)
def view_sql(view_file: Path, engine: str) -> None:
    """Print the SQL a ViewDefinition compiles to, with its read schema and columns."""
    from healthhub.engines.dialects import DIALECTS
    from healthhub.sources.fhir.compiler import compile_view
    from healthhub.sources.fhir.viewdef import load_view

    compiled = compile_view(load_view(view_file), engine)
    dialect = DIALECTS[engine]
    click.echo("-- columns: " + ", ".join(f"{c.name} ({c.fhir_type})" for c in compiled.columns))
    click.echo("-- read schema:")
    for name, t in compiled.read_schema:
        click.echo(f"--   {name} {dialect.render_type(t)}")
    click.echo(compiled.sql("{source}"))


@view.command("list")
def view_list() -> None:
    """List the ViewDefinitions shipped with healthhub (use them as @library)."""
    from healthhub.sources.fhir.runner import library_views

    for v in library_views():
        click.echo(f"{v.name:<36} {v.resource:<28} {len(v.column_names())} columns")


def _add_stage_commands() -> None:
    """Commands defined beside their stage (they import their work only when run)."""
    from healthhub.demo import demo_command
    from healthhub.hub.commands import (
        ingest_command,
        init_command,
        runs_group,
        vocab_group,
    )
    from healthhub.hub.identity_commands import (
        audit_group,
        identity_group,
        keys_group,
        optout_group,
    )
    from healthhub.synth.command import synth_command

    cli.add_command(init_command, "init")
    cli.add_command(ingest_command, "ingest")
    cli.add_command(runs_group, "runs")
    cli.add_command(vocab_group, "vocab")
    cli.add_command(synth_command, "synth")
    cli.add_command(demo_command, "demo")
    cli.add_command(identity_group, "identity")
    cli.add_command(keys_group, "keys")
    cli.add_command(optout_group, "optout")
    cli.add_command(audit_group, "audit")


_add_stage_commands()


def main() -> None:
    cli(prog_name="healthhub")


if __name__ == "__main__":
    main()
