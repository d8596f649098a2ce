"""CLI verbs of identity and keys: ``identity``, ``keys``, ``optout``, ``audit``.

Commands that read source identifiers or links (``identity links``, ``identity review
show --values``, ``identity review decide``, ``optout``) are for the hub's stewards
(``[identity] stewards``) and leave an audit event. None prints an identifier unless it
is asked to show a review pair's values.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from healthhub.hub.commands import HUB_OPTION, JSON_OPTION


@contextmanager
def _vault(hub_dir: Path | None, write: bool = True) -> Iterator[tuple[Any, Any]]:
    from healthhub.hub.config import open_hub
    from healthhub.hub.lock import hub_lock
    from healthhub.identity.keys import KeyStore
    from healthhub.identity.vault import Vault

    hub = open_hub(hub_dir)
    with hub_lock(hub.root):
        vault = Vault(hub.vault, KeyStore(hub.keys), hub.memory_limit)
        try:
            yield hub, vault
        finally:
            vault.close()


def _steward(hub: Any, action: str) -> str:
    from healthhub.governance.policies import check_steward, current_user

    user = current_user()
    check_steward(user, hub.stewards, action)
    return user


def _audit(hub: Any, action: str, payload: dict[str, Any], user: str) -> None:
    from healthhub.governance import audit
    from healthhub.identity.keys import KeyStore

    audit.record(hub.governance, KeyStore(hub.keys).audit_key(), action, payload, user)


def _date(value: str | None, option: str) -> date:
    from healthhub.exceptions import UserError

    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} must be a date YYYY-MM-DD") from None


def _emit(as_json: bool, summary: dict[str, Any], lines: list[str]) -> None:
    from healthhub.cli import emit_json

    if as_json:
        emit_json(summary)
        return
    for line in lines:
        click.echo(line)


@click.group("identity")
def identity_group() -> None:
    """Identity: people across providers, clerical review, source links."""


@identity_group.command("status")
@HUB_OPTION
@JSON_OPTION
def identity_status(hub_dir: Path | None, as_json: bool) -> None:
    """How many source patients became how many people; what waits for review."""
    with _vault(hub_dir) as (_hub, vault):
        by_provider = vault.con.execute(
            "SELECT provider, count(*), count(DISTINCT person_seq) FROM vault.record"
            " WHERE active GROUP BY 1 ORDER BY 1").fetchall()  # fmt: skip
        statuses = dict(vault.con.execute("SELECT national_id_status, count(*) FROM vault.record"
                                          " WHERE active GROUP BY 1").fetchall())  # fmt: skip
        events = dict(vault.con.execute("SELECT kind, count(*) FROM vault.person_event"
                                        " GROUP BY 1").fetchall())  # fmt: skip
        pending = vault.count("SELECT count(*) FROM vault.review_pair WHERE status = 'pending'")
        summary = {
            "source_patients": vault.count_records(), "people": vault.count_people(),
            "providers": [{"provider": p, "source_patients": n, "people": k}
                          for p, n, k in by_provider],
            "national_ids": statuses, "events": events, "pending_review": pending,
        }  # fmt: skip
    lines = [f"{summary['source_patients']:,} source patients are {summary['people']:,} people"]
    lines += [f"  {p['provider']:<20} {p['source_patients']:>10,} source patients"
              f" {p['people']:>10,} people" for p in summary["providers"]]  # fmt: skip
    lines.append("  national ids: " + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    if events:
        lines.append("  events: " + ", ".join(f"{k} {v:,}" for k, v in sorted(events.items())))
    lines.append(f"  {pending:,} pair(s) wait for review (healthhub identity review)")
    _emit(as_json, summary, lines)


@identity_group.group("review", invoke_without_command=True)
@HUB_OPTION
@JSON_OPTION
@click.option("--all", "show_all", is_flag=True, help="Decided pairs too.")
@click.pass_context
def review_group(ctx: click.Context, hub_dir: Path | None, as_json: bool, show_all: bool) -> None:
    """List the pairs waiting for a reviewer (or show / decide one)."""
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)
        ctx.obj["hub_dir"] = hub_dir
        return
    from healthhub.identity.review import pairs

    with _vault(hub_dir) as (_hub, vault):
        found = pairs(vault, None if show_all else "pending")
    lines = [] if found else ["No pair waits for review."]
    for p in found:
        agree = ", ".join(f"{k}: {v}" for k, v in p.levels.items() if v != "missing")
        lines.append(f"pair {p.pair_id}  p={p.probability:.3f}  {p.providers[0]} / {p.providers[1]}"
                     f"  {p.status}  {p.reason}")  # fmt: skip
        lines.append(f"    {agree}")
    if found:
        lines.append("Decide: healthhub identity review decide PAIR same|different")
    _emit(as_json, {"pairs": [p.as_dict() for p in found]}, lines)


@review_group.command("show")
@click.argument("pair_id", type=int)
@HUB_OPTION
@JSON_OPTION
@click.option("--values", is_flag=True,
              help="Show both records' identifiers (stewards only; audited).")  # fmt: skip
@click.pass_context
def review_show(ctx: click.Context, pair_id: int, hub_dir: Path | None, as_json: bool,
                values: bool) -> None:  # fmt: skip
    """One pair: how its fields compare, and with --values the identifiers themselves."""
    from healthhub.exceptions import UserError
    from healthhub.governance import audit
    from healthhub.identity import review

    with _vault(hub_dir or ctx.obj.get("hub_dir")) as (hub, vault):
        found = [p for p in review.pairs(vault, None) if p.pair_id == pair_id]
        if not found:
            raise UserError(f"no review pair {pair_id} (healthhub identity review lists them)")
        summary: dict[str, Any] = found[0].as_dict()
        if values:
            user = _steward(hub, "see the identifiers of review pairs")
            summary["records"] = review.values(vault, pair_id)
            _audit(hub, audit.REVIEW_VALUES_SHOWN, {"pair_ids": [pair_id]}, user)
    lines = [f"pair {pair_id}: p={summary['probability']:.4f}, weight {summary['match_weight']:.1f}"
             f", {summary['reason']} ({summary['status']})"]  # fmt: skip
    lines += [f"  {k:<12} {v}" for k, v in summary["levels"].items()]
    for record in summary.get("records", []):
        lines.append("  " + "; ".join(f"{k}={v}" for k, v in record.items() if v not in (None, [])))
    _emit(as_json, summary, lines)


@review_group.command("decide")
@click.argument("pair_id", type=int)
@click.argument("decision", type=click.Choice(["same", "different"]))
@HUB_OPTION
@JSON_OPTION
@click.option("--note", help="Why (kept with the decision).")
@click.pass_context
def review_decide(ctx: click.Context, pair_id: int, decision: str, hub_dir: Path | None,
                  as_json: bool, note: str | None) -> None:  # fmt: skip
    """Decide a pair: the decision is kept and wins over the model from now on.

    "same" merges two people, "different" splits one; the warehouse is re-keyed at once.
    """
    from healthhub.governance import audit
    from healthhub.hub.pipeline import link_settings
    from healthhub.hub.sync import apply_identity_events
    from healthhub.identity import review

    with _vault(hub_dir or ctx.obj.get("hub_dir")) as (hub, vault):
        user = _steward(hub, "decide review pairs")
        events = review.decide(vault, pair_id, decision, user, note, link_settings(hub))
        applied = apply_identity_events(hub, vault)
        _audit(hub, audit.REVIEW_DECIDED,
                     {"pair_id": pair_id, "decision": decision, "events": events}, user)  # fmt: skip
        people = vault.count_people()
    summary = {"pair_id": pair_id, "decision": decision, "events": events,
               "warehouse_rows_rekeyed": applied["rows"], "people": people}  # fmt: skip
    what = {0: "no change of people"}.get(len(events), f"{len(events)} event(s)")
    _emit(as_json, summary, [f"pair {pair_id}: {decision} ({what}; {applied['rows']:,} warehouse"
                             f" row(s) re-keyed); {people:,} people"])  # fmt: skip


@identity_group.command("links")
@HUB_OPTION
@JSON_OPTION
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The CSV file to write (mode 0600).")  # fmt: skip
def identity_links(hub_dir: Path | None, as_json: bool, output: Path) -> None:
    """Export which source record (provider, source patient id) is which person_id.

    For stewards only; every export is audited.
    """
    from healthhub.governance import audit
    from healthhub.identity.links import export_links

    started = time.perf_counter()
    with _vault(hub_dir) as (hub, vault):
        user = _steward(hub, "export source links")
        rows = export_links(vault, output, [hub.root, hub.warehouse.parent, hub.landing, hub.vault,
                                            hub.keys, hub.work])  # fmt: skip
        _audit(hub, audit.LINKS_EXPORTED, {"rows": rows, "file": str(output)}, user)
    summary = {
        "rows": rows,
        "output": str(output),
        "seconds": round(time.perf_counter() - started, 3),
    }
    _emit(as_json, summary, [f"Wrote {rows:,} source links to {output} (mode 0600; audited)"])


@click.group("keys")
def keys_group() -> None:
    """The key store: list keys by fingerprint, rotate the hub key."""


@keys_group.command("list")
@HUB_OPTION
@JSON_OPTION
def keys_list(hub_dir: Path | None, as_json: bool) -> None:
    """The keys of the key store, by name and fingerprint (never the keys)."""
    from healthhub.hub.config import open_hub
    from healthhub.identity.keys import KeyStore, fingerprint

    hub = open_hub(hub_dir)
    store = KeyStore(hub.keys)
    names = sorted(p.stem for p in hub.keys.glob("*.key"))
    found = [{"name": n, "fingerprint": fingerprint(store.read(n))} for n in names]
    _emit(as_json, {"keys": found}, [f"{k['name']:<24} {k['fingerprint']}" for k in found])


@keys_group.command("rotate")
@HUB_OPTION
@JSON_OPTION
def keys_rotate(hub_dir: Path | None, as_json: bool) -> None:
    """Replace the hub key and re-key every person id of vault and warehouse.

    Project pseudonyms do not change (they derive from person keys). An interrupted
    rotation resumes when the command is run again.
    """
    from healthhub.governance import audit
    from healthhub.hub.config import open_hub
    from healthhub.hub.lock import hub_lock
    from healthhub.hub.sync import rotate_hub_key

    hub = open_hub(hub_dir)
    user = _steward(hub, "rotate keys")
    started = time.perf_counter()
    with hub_lock(hub.root):
        result = rotate_hub_key(hub)
        _audit(hub, audit.KEYS_ROTATED, result, user)
    result["seconds"] = round(time.perf_counter() - started, 3)
    _emit(as_json, result, [
        f"Rotated the hub key ({result['old']} -> {result['new']}): {result['people']:,} people,"
        f" {result['rows']:,} warehouse rows re-keyed in {result['seconds']:.1f}s"])  # fmt: skip


@click.group("optout")
def optout_group() -> None:
    """Patients' objections: record, withdraw, list (stewards only; audited)."""


def _identifier(value: str) -> str:
    """A value given as '-' is read from standard input (kept out of shell history)."""
    return sys.stdin.readline().strip() if value == "-" else value


@optout_group.command("add")
@HUB_OPTION
@JSON_OPTION
@click.option("--mrn", help="The patient's medical record number at --provider ('-': stdin).")
@click.option("--provider", help="The provider whose MRN it is.")
@click.option(
    "--national-id", "national_id", help="The patient's national identifier ('-': stdin)."
)
@click.option("--scheme", default="fr-nir", show_default=True,
              help="The national identifier's scheme (fr-nir, us-ssn, uk-nhs, ...).")  # fmt: skip
@click.option("--basis", required=True, help="The legal basis, e.g. 'GDPR art. 21'.")
@click.option("--date", "effective", help="When it takes effect (YYYY-MM-DD; default today).")
@click.option("--note", help="A note kept with it (no identifier).")
def optout_add(hub_dir: Path | None, as_json: bool, mrn: str | None, provider: str | None,
               national_id: str | None, scheme: str, basis: str, effective: str | None,
               note: str | None) -> None:  # fmt: skip
    """Record a patient's objection, by provider and MRN or by national identifier."""
    from healthhub.exceptions import UserError
    from healthhub.governance import audit
    from healthhub.identity import optouts

    if (mrn is None) == (national_id is None):
        raise UserError("give one of --mrn (with --provider) or --national-id")
    day = _date(effective, "--date")
    with _vault(hub_dir) as (hub, vault):
        user = _steward(hub, "record opt-outs")
        if mrn is not None:
            optout_id = optouts.add(vault, "mrn", _identifier(mrn), day, basis, user, provider,
                                    note=note)  # fmt: skip
        else:
            optout_id = optouts.add(vault, "national_id", _identifier(national_id or ""), day,
                                    basis, user, scheme=scheme, note=note)  # fmt: skip
        people = len(optouts.opted_out(vault, max(day, date.today())))
        _audit(hub, audit.OPTOUT_ADDED,
                     {"optout_id": optout_id, "kind": "mrn" if mrn else "national_id",
                      "provider": provider, "effective": day.isoformat(), "legal_basis": basis},
                     user)  # fmt: skip
    _emit(as_json, {"optout_id": optout_id, "effective": day.isoformat(), "opted_out_people": people},
          [f"Recorded opt-out {optout_id} from {day.isoformat()}; {people:,} people opted out"])  # fmt: skip


@optout_group.command("remove")
@click.argument("optout_id", type=int)
@HUB_OPTION
@JSON_OPTION
@click.option("--date", "effective", help="From when (YYYY-MM-DD; default today).")
@click.option("--note", help="A note kept with it.")
def optout_remove(optout_id: int, hub_dir: Path | None, as_json: bool, effective: str | None,
                  note: str | None) -> None:  # fmt: skip
    """Withdraw an objection from a date on (its history is kept)."""
    from healthhub.governance import audit
    from healthhub.identity import optouts

    day = _date(effective, "--date")
    with _vault(hub_dir) as (hub, vault):
        user = _steward(hub, "withdraw opt-outs")
        optouts.remove(vault, optout_id, day, user, note)
        _audit(hub, audit.OPTOUT_REMOVED,
                     {"optout_id": optout_id, "effective": day.isoformat()}, user)  # fmt: skip
    _emit(as_json, {"optout_id": optout_id, "removed_from": day.isoformat()},
          [f"Opt-out {optout_id} withdrawn from {day.isoformat()}"])  # fmt: skip


@optout_group.command("list")
@HUB_OPTION
@JSON_OPTION
@click.option("--as-of", "as_of", help="Which are in force on this day (default today).")
def optout_list(hub_dir: Path | None, as_json: bool, as_of: str | None) -> None:
    """Every opt-out, whether it is in force, and its history (no identifier values)."""
    from healthhub.identity import optouts

    day = _date(as_of, "--as-of")
    with _vault(hub_dir) as (hub, vault):
        _steward(hub, "list opt-outs")
        found = optouts.listing(vault, day)
        people = optouts.opted_out(vault, day)
    summary = {"as_of": day.isoformat(), "optouts": [o.as_dict() for o in found],
               "opted_out_people": len(people)}  # fmt: skip
    lines = [f"{len(found)} opt-out(s); {len(people):,} people opted out on {day.isoformat()}"]
    for o in found:
        state = f"in force since {o.since}" if o.in_force else "not in force"
        where = f" at {o.provider}" if o.provider else f" ({o.scheme})" if o.scheme else ""
        lines.append(f"  {o.optout_id:>6}  {o.kind}{where}: {state}; {len(o.history)} event(s)")
    _emit(as_json, summary, lines)


@click.group("audit")
def audit_group() -> None:
    """The audit trail (append-only, hash-chained)."""


@audit_group.command("verify")
@HUB_OPTION
@JSON_OPTION
def audit_verify(hub_dir: Path | None, as_json: bool) -> None:
    """Recompute the hash chain; exit 1 when an event was altered, removed or reordered."""
    from healthhub.governance import audit
    from healthhub.hub.config import open_hub

    hub = open_hub(hub_dir)
    from healthhub.identity.keys import KeyStore

    count, broken = audit.verify(hub.governance, KeyStore(hub.keys).audit_key())
    summary = {"events": count, "intact": broken is None, "first_broken": broken}
    _emit(as_json, summary, [f"{count:,} audit event(s): " + (
        "the chain is intact" if broken is None else f"the chain breaks at event {broken}")])  # fmt: skip
    if broken is not None:
        raise SystemExit(1)
