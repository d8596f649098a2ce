"""Identity through the pipeline and the CLI: vault, linkage across deliveries, merges and
splits re-keying the warehouse, review decisions, source links, opt-outs, key rotation."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from healthhub.cli import cli
from healthhub.exceptions import UserError
from healthhub.governance import audit
from healthhub.hub import pipeline
from healthhub.hub.config import CONFIG_NAME, Hub, init_hub, open_hub
from healthhub.identity import optouts, review
from healthhub.identity.crypto import VaultIntegrityError
from healthhub.identity.features import FEATURES_VERSION
from healthhub.identity.keys import KeyStore
from healthhub.identity.links import source_links
from healthhub.identity.projects import pseudonyms_for
from healthhub.identity.vault import Vault
from healthhub.standardize.warehouse import connect

NIR = "urn:oid:1.2.250.1.213.1.4.8"
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def nir(first13: str) -> str:
    return first13 + f"{97 - int(first13) % 97:02d}"


def patient(pid: str, family: str = "Zyxwabc", given: str = "Quorra", birth: str = "1961-03-12",
            *, mrn: str | None = None, phone: str | None = "0612345678",
            line: str | None = "12 rue des Zinnias", city: str = "Lyon", postcode: str = "69003",
            national: str | None = None, names: list[dict[str, Any]] | None = None,
            gender: str = "female") -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {"resourceType": "Patient", "id": pid, "gender": gender,
                              "birthDate": birth,
                              "name": names or [{"use": "official", "family": family,
                                                 "given": [given]}]}  # fmt: skip
    identifiers = []
    if mrn:
        identifiers.append({"type": MR, "system": "urn:hospital:mrn", "value": mrn})
    if national:
        identifiers.append({"system": NIR, "value": national})
    if identifiers:
        record["identifier"] = identifiers
    if phone:
        record["telecom"] = [{"system": "phone", "value": phone}]
    if line:
        record["address"] = [{"line": [line], "city": city, "postalCode": postcode}]
    return record


def condition(cid: str, pid: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "onsetDateTime": "2020-01-05"}  # fmt: skip


def deliver(hub: Hub, provider: str, folder: Path, *resources: dict[str, Any]) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(json.dumps(r))
    for rtype, lines in by_type.items():
        (folder / f"{rtype}.ndjson").write_text("\n".join(lines) + "\n")
    result = pipeline.ingest(hub, provider, [folder])
    assert result["state"] == "standardized"
    return result


def links(hub: Hub) -> dict[tuple[str, str], int]:
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        return {(p, s): pid for p, s, pid in source_links(vault)}
    finally:
        vault.close()


def scalar(hub: Hub, sql: str) -> Any:
    con = connect(hub.warehouse)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def orphans(hub: Hub) -> int:
    """Rows whose person has no person row, over every person table."""
    con = connect(hub.warehouse)
    try:
        total = 0
        for table in ("visit_occurrence", "condition_occurrence", "observation_period", "death",
                      "healthhub_person_source", "condition_era"):  # fmt: skip
            total += con.execute(f"SELECT count(*) FROM {table} WHERE person_id NOT IN"
                                 " (SELECT person_id FROM person)").fetchall()[0][0]  # fmt: skip
        return int(total)
    finally:
        con.close()


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return init_hub(tmp_path / "hub", name="identity test hub")


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin)


# --- the vault ------------------------------------------------------------------------


def test_identifiers_are_sealed_in_the_vault(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1",
            patient("p1", mrn="MRN-778899", national=nir("2610369383123")))  # fmt: skip
    secrets = [b"Zyxwabc", b"Quorra", b"MRN-778899", b"0612345678", b"Zinnias",
               nir("2610369383123").encode()]  # fmt: skip
    files = [p for p in hub.vault.rglob("*") if p.is_file()]
    assert any(p.suffix == ".seg" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not [s for s in secrets if s in data or s.lower() in data.lower()], path.name
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        assert vault.count_records() == 1
        vault.load_identities()
        assert vault.con.execute(
            "SELECT family, mrn, national_id_status FROM identity"
        ).fetchall() == [("Zyxwabc", "MRN-778899", "valid")]
    finally:
        vault.close()
    assert stat.S_IMODE(os.stat(hub.vault).st_mode) == 0o700


def test_an_altered_segment_or_another_hubs_keys_are_refused(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("p1"))
    other = init_hub(tmp_path / "other")
    with pytest.raises(UserError, match=r"another (hub|vault) key"):
        Vault(hub.vault, KeyStore(other.keys))
    files = sorted(hub.vault.glob("segments/*.seg"))
    assert [p.name.endswith(".features.seg") for p in files] == [True, False]
    for path in files:  # one bit changed in either file
        data = bytearray(path.read_bytes())
        data[40] ^= 0xFF
        path.write_bytes(bytes(data))
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        with pytest.raises(VaultIntegrityError, match="does not decrypt") as caught:
            vault.load_identities()
        assert "Zyxwabc" not in str(caught.value)
        with pytest.raises(VaultIntegrityError, match=r"features\.seg: does not decrypt"):
            vault.load_features(FEATURES_VERSION)
    finally:
        vault.close()


# --- linkage across providers and deliveries ----------------------------------------------


def test_one_person_across_providers_with_maiden_and_married_names(
    hub: Hub, tmp_path: Path
) -> None:
    both = [{"use": "official", "family": "Zyxwabc", "given": ["Quorra"]},
            {"use": "usual", "family": "Kowalczyk", "given": ["Quorra"]}]  # fmt: skip
    first = deliver(hub, "hospital", tmp_path / "d1",
                    patient("h1", names=both, mrn="H-1", national=nir("2610369383123")),
                    patient("h2", family="Other", given="Paul", birth="1950-01-01", phone=None,
                            line=None, gender="male"),
                    condition("c1", "h1"))  # fmt: skip
    assert first["summary"]["identify"]["new_people"] == 2
    second = deliver(hub, "laboratory", tmp_path / "d2",
                     patient("l1", family="KOWALCZYK", given="Quorra", phone="+33 6 12 34 56 78",
                             line="3 avenue Foch", city="Nantes", postcode="44000"),
                     condition("c2", "l1"))  # fmt: skip
    ident = second["summary"]["identify"]
    assert (ident["new_people"], ident["joined_existing"], ident["people"]) == (0, 1, 2)
    people = links(hub)
    assert people[("hospital", "h1")] == people[("laboratory", "l1")]
    assert scalar(hub, "SELECT count(*) FROM person") == 2
    assert scalar(hub, "SELECT count(DISTINCT person_id) FROM condition_occurrence") == 1
    assert scalar(hub, "SELECT count(*) FROM healthhub_person_source") == 3
    assert orphans(hub) == 0


def test_a_bridging_record_merges_two_people_and_rekeys_their_rows(
    hub: Hub, tmp_path: Path
) -> None:
    # the hospital knows her maiden name, the laboratory her married name and new home:
    # nothing links them, until the clinic sends a record with both names
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", phone="0611111111"),
            condition("c1", "h1"))  # fmt: skip
    deliver(hub, "laboratory", tmp_path / "d2",
            patient("l1", family="Kowalczyk", phone="0622222222", line="3 avenue Foch",
                    city="Nantes", postcode="44000"), condition("c2", "l1"))  # fmt: skip
    before = links(hub)
    assert before[("hospital", "h1")] != before[("laboratory", "l1")]
    both = [{"use": "official", "family": "Zyxwabc", "given": ["Quorra"]},
            {"use": "usual", "family": "Kowalczyk", "given": ["Quorra"]}]  # fmt: skip
    result = deliver(hub, "clinic", tmp_path / "d3",
                     patient("k1", names=both, phone="0611111111", line="3 avenue Foch",
                             city="Nantes", postcode="44000"))  # fmt: skip
    assert result["summary"]["identify"]["merges"] == 1
    after = links(hub)
    assert len(set(after.values())) == 1
    merged = next(iter(after.values()))
    assert merged in set(before.values())  # the survivor keeps its id
    assert scalar(hub, "SELECT list(DISTINCT person_id) FROM condition_occurrence") == [merged]
    assert scalar(hub, "SELECT count(*) FROM person") == 1
    assert scalar(hub, "SELECT count(*) FROM observation_period") == 1
    assert orphans(hub) == 0
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        kinds = vault.con.execute("SELECT kind, records FROM vault.person_event").fetchall()
    finally:
        vault.close()
    assert kinds == [("merge", 1)]


def test_a_resent_record_with_corrected_names_keeps_its_person(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", family="Zyxwabd"))
    before = links(hub)
    again = deliver(hub, "hospital", tmp_path / "d2", patient("h1"))
    ident = again["summary"]["identify"]
    assert (ident["changed_records"], ident["moves"], ident["new_people"]) == (1, 0, 0)
    assert links(hub) == before
    resent = {**patient("h1"), "meta": {"lastUpdated": "2026-01-01T00:00:00Z"}}
    same = deliver(hub, "hospital", tmp_path / "d3", resent, condition("c1", "h1"))
    assert same["summary"]["identify"]["unchanged_records"] == 1
    assert links(hub) == before


def test_national_id_statuses_are_kept_and_only_valid_ones_link(hub: Hub, tmp_path: Path) -> None:
    good = nir("2610369383123")
    deliver(hub, "hospital", tmp_path / "d1",
            patient("a", national=good),
            patient("b", family="Other", given="Paul", birth="1970-05-01", gender="male",
                    phone=None, line=None, national=good[:-2] + "00"),  # wrong key
            patient("c", family="Third", given="Anne", birth="1980-02-02", phone=None,
                    line=None, national=nir("1800269383123")))  # fmt: skip
    # the same valid NIR with other demographics links; the inconsistent one (a man's
    # number on a woman born in 1980) is kept but not linked on
    deliver(hub, "laboratory", tmp_path / "d2",
            patient("x", family="Completely", given="Different", phone=None, line=None,
                    national=good),
            patient("y", family="Third", given="Anne", birth="1980-02-02", phone=None,
                    line=None, national=nir("1800269383123")))  # fmt: skip
    people = links(hub)
    assert people[("hospital", "a")] == people[("laboratory", "x")]
    result = run("identity", "status", "--hub", str(hub.root), "--json")
    assert result.exit_code == 0, result.output
    statuses = json.loads(result.output)["national_ids"]
    assert statuses["valid"] == 2 and statuses["invalid_check"] == 1
    assert statuses["inconsistent"] == 2


def test_twins_wait_for_review_and_a_decision_wins(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("t1", given="Jeanne"),
            condition("c1", "t1"))  # fmt: skip
    deliver(hub, "laboratory", tmp_path / "d2", patient("t2", given="Louise"),
            condition("c2", "t2"))  # fmt: skip
    people = links(hub)
    assert people[("hospital", "t1")] != people[("laboratory", "t2")]
    listed = run("identity", "review", "--hub", str(hub.root), "--json")
    (pair,) = json.loads(listed.output)["pairs"]
    assert pair["levels"]["given"] == "different" and "relatives" in pair["reason"]
    decided = run("identity", "review", "decide", str(pair["pair_id"]), "same", "--hub",
                  str(hub.root), "--note", "one person, two given names", "--json")  # fmt: skip
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.output)["warehouse_rows_rekeyed"] > 0
    merged = links(hub)
    assert merged[("hospital", "t1")] == merged[("laboratory", "t2")]
    assert scalar(hub, "SELECT count(DISTINCT person_id) FROM condition_occurrence") == 1
    assert orphans(hub) == 0
    # now the reviewer changes their mind: "different" splits the person again
    pair_id = str(pair["pair_id"])
    split = run("identity", "review", "decide", pair_id, "different", "--hub", str(hub.root))
    assert split.exit_code == 0, split.output
    apart = links(hub)
    assert apart[("hospital", "t1")] != apart[("laboratory", "t2")]
    assert scalar(hub, "SELECT count(DISTINCT person_id) FROM condition_occurrence") == 2
    assert scalar(hub, "SELECT count(*) FROM person") == 2
    assert orphans(hub) == 0
    # a later delivery re-sending them does not undo the decision
    deliver(hub, "laboratory", tmp_path / "d3", patient("t2", given="Louise", mrn="L-9"))
    again = links(hub)
    assert again[("hospital", "t1")] != again[("laboratory", "t2")]
    events = [e.action for e in audit.events(hub.governance)]
    assert events.count(audit.REVIEW_DECIDED) == 2


def test_review_values_are_for_stewards_only(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("t1", given="Jeanne"))
    deliver(hub, "laboratory", tmp_path / "d2", patient("t2", given="Louise"))
    config = hub.root / CONFIG_NAME
    lines = config.read_text().splitlines()
    config.write_text("\n".join('stewards = ["nobody-here"]' if line.startswith("stewards")
                                 else line for line in lines) + "\n")  # fmt: skip
    refused = run("identity", "review", "show", "1", "--values", "--hub", str(hub.root))
    assert refused.exit_code == 2 and "only the hub's stewards" in refused.output
    assert "Jeanne" not in refused.output
    refused = run("identity", "links", "-o", str(hub.root.parent / "l.csv"), "--hub", str(hub.root))
    assert refused.exit_code == 2 and not (hub.root.parent / "l.csv").exists()


@pytest.mark.shows_identifiers
def test_a_steward_sees_a_pairs_values_and_it_is_audited(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("t1", given="Jeanne"))
    deliver(hub, "laboratory", tmp_path / "d2", patient("t2", given="Louise"))
    shown = run("identity", "review", "show", "1", "--values", "--hub", str(hub.root), "--json")
    assert shown.exit_code == 0, shown.output
    records = json.loads(shown.output)["records"]
    assert sorted(r["given"] for r in records) == ["Jeanne", "Louise"]
    (event,) = [e for e in audit.events(hub.governance) if e.action == audit.REVIEW_VALUES_SHOWN]
    assert event.payload == {"pair_ids": [1]}


@pytest.mark.shows_identifiers
def test_source_links_export_for_stewards_audited(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"), patient("h2", family="Other",
            given="Paul", birth="1950-01-01", gender="male", phone=None, line=None))  # fmt: skip
    deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None))
    out = tmp_path / "exports" / "links.csv"
    result = run("identity", "links", "-o", str(out), "--hub", str(hub.root), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 3
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    rows = list(csv.DictReader(out.open()))
    assert {(r["provider"], r["source_patient_id"]) for r in rows} == {
        ("hospital", "h1"), ("hospital", "h2"), ("laboratory", "l1")}  # fmt: skip
    person = {(r["provider"], r["source_patient_id"]): int(r["person_id"]) for r in rows}
    assert person[("hospital", "h1")] == person[("laboratory", "l1")] != person[("hospital", "h2")]
    assert set(person.values()) == set(
        int(v[0]) for v in connect(hub.warehouse).execute("SELECT person_id FROM person").fetchall()
    )
    (event,) = [e for e in audit.events(hub.governance) if e.action == audit.LINKS_EXPORTED]
    assert event.payload["rows"] == 3
    inside = run("identity", "links", "-o", str(hub.warehouse.parent / "x.csv"), "--hub",
                 str(hub.root))  # fmt: skip
    assert inside.exit_code == 2 and "outside" in inside.output
    verified = run("audit", "verify", "--hub", str(hub.root), "--json")
    assert json.loads(verified.output)["intact"] is True
    db = sqlite3.connect(hub.governance)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_event SET actor = 'someone'")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("UPDATE audit_event SET actor = 'someone' WHERE seq = 1")
    db.commit()
    tampered = run("audit", "verify", "--hub", str(hub.root))
    assert tampered.exit_code == 1 and "breaks at event 1" in tampered.output
    # rewriting the chain needs the audit key: recomputed without it, it still breaks
    import hashlib

    db.execute("DROP TRIGGER IF EXISTS audit_no_update")  # made again by every open
    rows = db.execute("SELECT seq, at, actor, action, payload FROM audit_event ORDER BY seq")
    prev = "0" * 64
    for seq, at, who, act, body in rows.fetchall():
        digest = hashlib.sha256("\x1f".join((prev, at, who, act, body)).encode()).hexdigest()
        db.execute(
            "UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq)
        )
        prev = digest
    db.commit()
    assert run("audit", "verify", "--hub", str(hub.root)).exit_code == 1
    # and dropping the last events is seen: the head is kept outside the database
    fresh = init_hub(tmp_path / "fresh")
    deliver(fresh, "hospital", tmp_path / "f1", patient("h1"))
    for _ in range(2):
        assert (
            run(
                "identity", "links", "-o", str(tmp_path / "f.csv"), "--hub", str(fresh.root)
            ).exit_code
            == 0
        )
    db.close()
    db = sqlite3.connect(fresh.governance)
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit_event WHERE seq = 2")
    db.commit()
    db.close()
    cut = run("audit", "verify", "--hub", str(fresh.root), "--json")
    assert cut.exit_code == 1 and json.loads(cut.output)["first_broken"] == 2


# --- opt-outs -------------------------------------------------------------------------------


def test_an_opt_out_follows_the_person_and_keeps_its_history(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", mrn="H-0001"),
            patient("h2", family="Other", given="Paul", birth="1950-01-01", gender="male",
                    phone=None, line=None, mrn="H-0002"))  # fmt: skip
    deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None))
    people = links(hub)
    her = people[("hospital", "h1")]
    added = run("optout", "add", "--mrn", "-", "--provider", "hospital", "--basis",
                "GDPR art. 21", "--date", "2026-01-10", "--hub", str(hub.root), "--json",
                stdin="H-0001\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "H-0001" not in added.output
    optout_id = json.loads(added.output)["optout_id"]
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        assert optouts.opted_out(vault, date(2026, 1, 9)) == set()
        assert optouts.opted_out(vault, date(2026, 2, 1)) == {her}
    finally:
        vault.close()
    removed = run("optout", "remove", str(optout_id), "--date", "2026-03-01", "--hub",
                  str(hub.root))  # fmt: skip
    assert removed.exit_code == 0, removed.output
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        assert optouts.opted_out(vault, date(2026, 2, 1)) == {her}
        assert optouts.opted_out(vault, date(2026, 3, 2)) == set()
    finally:
        vault.close()
    listed = run("optout", "list", "--as-of", "2026-02-01", "--hub", str(hub.root), "--json")
    (entry,) = json.loads(listed.output)["optouts"]
    assert entry["in_force"] and [h["action"] for h in entry["history"]] == ["add", "remove"]
    assert "H-0001" not in listed.output
    bad = run("optout", "add", "--mrn", "H-1", "--basis", "x", "--hub", str(hub.root))
    assert bad.exit_code == 2 and "--provider" in bad.output


def test_an_opt_out_by_national_id_reaches_every_provider(hub: Hub, tmp_path: Path) -> None:
    number = nir("2610369383123")
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", national=number))
    deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None))  # no NIR there
    spaced = " ".join((number[0], number[1:3], number[3:5], number[5:7], number[7:10],
                       number[10:13], number[13:]))  # fmt: skip
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        optouts.add(vault, "national_id", spaced, date(2026, 1, 1), "GDPR art. 21", "tester")
    finally:
        vault.close()
    out = optouts.opted_out_people(hub.vault, KeyStore(hub.keys), date(2026, 6, 1))
    people = links(hub)
    assert out == {people[("hospital", "h1")]} == {people[("laboratory", "l1")]}


# --- keys ----------------------------------------------------------------------------------


def test_rotating_the_hub_key_rekeys_every_person_id(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"), condition("c1", "h1"),
            patient("h2", family="Other", given="Paul", birth="1950-01-01", gender="male",
                    phone=None, line=None), condition("c2", "h2"))  # fmt: skip
    deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None), condition("c3", "l1"))
    before = links(hub)
    counts = {t: scalar(hub, f"SELECT count(*) FROM {t}") for t in
              ("person", "condition_occurrence", "observation_period", "condition_era")}  # fmt: skip
    project = KeyStore(hub.keys).project_key("study-1", create=True)
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        pseudonyms = pseudonyms_for(vault, project, sorted(set(before.values())))
    finally:
        vault.close()
    old_key = KeyStore(hub.keys).hub_key()
    result = run("keys", "rotate", "--hub", str(hub.root), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["people"] == 2
    after = links(hub)
    assert KeyStore(hub.keys).hub_key() != old_key
    assert not list(hub.keys.glob("*.next.key")) and not list(hub.keys.glob("*.retired"))
    assert set(after.values()).isdisjoint(before.values())
    renamed = {before[k]: after[k] for k in before}
    assert len(set(renamed.values())) == len(renamed)  # the same people, new ids
    assert {t: scalar(hub, f"SELECT count(*) FROM {t}") for t in counts} == counts
    assert set(scalar(hub, "SELECT list(person_id) FROM person")) == set(after.values())
    assert orphans(hub) == 0
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:  # project pseudonyms derive from person keys: unchanged
        assert pseudonyms_for(vault, project, [renamed[p] for p in pseudonyms]) == {
            renamed[p]: v for p, v in pseudonyms.items()}  # fmt: skip
    finally:
        vault.close()
    assert [e.action for e in audit.events(hub.governance)] == [audit.KEYS_ROTATED]
    # when the permit ends the project's key is destroyed: its pseudonyms lead nowhere
    assert KeyStore(hub.keys).destroy("project-study-1")
    with pytest.raises(UserError, match="not found"):
        KeyStore(hub.keys).project_key("study-1")


def test_an_interrupted_rotation_resumes(hub: Hub, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"), condition("c1", "h1"))
    before = links(hub)
    import healthhub.hub.sync as sync

    def broken(self: Vault) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Vault, "finish_rotation", broken)
    with pytest.raises(OSError):
        sync.rotate_hub_key(open_hub(hub.root))
    with pytest.raises(UserError, match="rotation of the hub key was interrupted"):
        Vault(hub.vault, KeyStore(hub.keys))
    monkeypatch.undo()
    result = run("keys", "rotate", "--hub", str(hub.root))
    assert result.exit_code == 0, result.output
    after = links(hub)
    assert list(before) == list(after) and set(before.values()).isdisjoint(after.values())
    assert scalar(hub, "SELECT list(DISTINCT person_id) FROM condition_occurrence") == list(
        after.values())  # fmt: skip


# --- limits ----------------------------------------------------------------------------------


def test_too_many_candidate_pairs_are_refused_before_linking(hub: Hub, tmp_path: Path) -> None:
    config = hub.root / CONFIG_NAME
    config.write_text(
        config.read_text().replace('linkage_memory = "4GB"', 'linkage_memory = "1KB"')
    )
    small = open_hub(hub.root)
    crowd = [patient(f"p{i}", given=f"Given{i % 7}", family="Zyxwabc", birth="1961-03-12",
                     phone=None, line=None) for i in range(30)]  # fmt: skip
    folder = tmp_path / "crowd"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text("".join(json.dumps(r) + "\n" for r in crowd))
    with pytest.raises(pipeline.RunFailed) as caught:
        pipeline.ingest(small, "hospital", [folder])
    message = str(caught.value)
    assert "candidate pairs" in message and "linkage_memory" in message
    assert "Zyxwabc" not in message and "Given" not in message
    config.write_text(
        config.read_text().replace('linkage_memory = "1KB"', 'linkage_memory = "1GB"')
    )
    run_id = message.split()[1]
    resumed = pipeline.resume(open_hub(hub.root), run_id)
    assert resumed["state"] == "standardized"


def test_a_value_shared_by_too_many_records_is_no_blocking_key(hub: Hub, tmp_path: Path) -> None:
    config = hub.root / CONFIG_NAME
    config.write_text(config.read_text().replace("max_block_size = 1000", "max_block_size = 10"))
    crowd = [patient(f"p{i}", family=f"Family{chr(65 + i % 26)}{i}", given=f"Name{i}",
                     birth=f"19{40 + i}-01-0{1 + i % 9}", phone="0000000000", line=None)
             for i in range(20)]  # fmt: skip
    result = deliver(open_hub(hub.root), "hospital", tmp_path / "d1", *crowd)
    linkage = result["summary"]["identify"]["linkage"]
    assert linkage["skipped_keys"] == {"phone": 1}
    assert result["summary"]["identify"]["new_people"] == 20


def test_reviewed_pairs_stay_decided_in_the_vault(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("t1", given="Jeanne"))
    deliver(hub, "laboratory", tmp_path / "d2", patient("t2", given="Louise"))
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        (pending,) = review.pairs(vault)
        with pytest.raises(UserError, match="one of same, different"):
            review.decide(vault, pending.pair_id, "maybe", "tester", None,
                          pipeline.link_settings(hub))  # fmt: skip
        with pytest.raises(UserError, match="no review pair 99"):
            review.decide(vault, 99, "same", "tester", None, pipeline.link_settings(hub))
        assert review.pairs(vault, "decided") == []
    finally:
        vault.close()
