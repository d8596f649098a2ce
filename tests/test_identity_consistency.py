"""Vault and warehouse stay in step: decisions that outlive deliveries, re-sent records that
move, runs resumed after people changed, interrupted rotations, keys and stewards that
cannot be faked."""

from __future__ import annotations

import json
import os
import stat
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

import healthhub.hub.sync as sync
import healthhub.standardize.warehouse as warehouse
from healthhub.exceptions import UserError
from healthhub.hub import pipeline
from healthhub.hub.config import CONFIG_NAME, Hub, init_hub, open_hub
from healthhub.identity import optouts
from healthhub.identity.keys import KeyStore
from healthhub.identity.vault import Vault
from test_identity import condition, deliver, links, nir, orphans, patient, run, scalar


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return init_hub(tmp_path / "hub", name="consistency test hub")


def test_a_different_stays_different_when_a_record_links_to_both(hub: Hub, tmp_path: Path) -> None:
    number = nir("2610369383123")
    deliver(hub, "hospital", tmp_path / "d1", patient("t1", given="Jeanne"), condition("c1", "t1"))
    deliver(hub, "laboratory", tmp_path / "d2", patient("t2", given="Louise", national=number),
            condition("c2", "t2"))  # fmt: skip
    (pair,) = json.loads(run("identity", "review", "--hub", str(hub.root), "--json").output)[
        "pairs"
    ]
    assert run("identity", "review", "decide", str(pair["pair_id"]), "different", "--hub",
               str(hub.root)).exit_code == 0  # fmt: skip
    # the clinic's record matches the first twin's name and carries the second's NIR
    result = deliver(hub, "clinic", tmp_path / "d3", patient("k1", given="Jeanne", national=number))
    assert result["summary"]["identify"]["merges"] == 0
    people = links(hub)
    assert people[("hospital", "t1")] != people[("laboratory", "t2")]
    assert scalar(hub, "SELECT count(DISTINCT person_id) FROM condition_occurrence") == 2


def test_a_corrected_record_that_joins_someone_moves_its_rows(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "laboratory", tmp_path / "d1", patient("l1"), condition("c0", "l1"))
    deliver(hub, "hospital", tmp_path / "d2",
            patient("h1", family="Abcdefgh", given="Bob", birth="1990-07-07", gender="male",
                    phone=None, line=None, city="Brest", postcode="29200"),
            condition("c1", "h1"))  # fmt: skip
    before = links(hub)
    assert before[("hospital", "h1")] != before[("laboratory", "l1")]
    result = deliver(hub, "hospital", tmp_path / "d3", patient("h1"))  # corrected
    assert result["summary"]["identify"]["moves"] == 1
    after = links(hub)
    assert after[("hospital", "h1")] == after[("laboratory", "l1")]
    assert scalar(hub, "SELECT list(DISTINCT person_id) FROM condition_occurrence") == [
        after[("laboratory", "l1")]]  # fmt: skip
    assert orphans(hub) == 0


def test_a_person_whose_records_are_all_resent_keeps_its_id(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", mrn="H-1"),
            patient("h2", phone=None, mrn="H-2"))  # fmt: skip
    before = links(hub)
    assert before[("hospital", "h1")] == before[("hospital", "h2")]
    result = deliver(hub, "hospital", tmp_path / "d2", patient("h1", mrn="H-1b"),
                     patient("h2", phone=None, mrn="H-2b"))  # fmt: skip
    ident = result["summary"]["identify"]
    assert (ident["changed_records"], ident["new_people"], ident["moves"]) == (2, 0, 0)
    assert links(hub) == before


def test_a_resumed_run_writes_its_rows_under_the_people_of_now(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(hub, "laboratory", tmp_path / "d1",
            patient("l1", family="Kowalczyk", phone="0622222222", line="3 avenue Foch",
                    city="Nantes", postcode="44000"), condition("c2", "l1"))  # fmt: skip
    real = warehouse.merge_run
    monkeypatch.setattr(warehouse, "merge_run", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    with pytest.raises(pipeline.RunFailed):
        deliver(hub, "hospital", tmp_path / "d2", patient("h1", phone="0611111111"),
                condition("c1", "h1"))  # fmt: skip
    monkeypatch.setattr(warehouse, "merge_run", real)
    both = [{"use": "official", "family": "Zyxwabc", "given": ["Quorra"]},
            {"use": "usual", "family": "Kowalczyk", "given": ["Quorra"]}]  # fmt: skip
    merged = deliver(hub, "clinic", tmp_path / "d3",
                     patient("k1", names=both, phone="0611111111", line="3 avenue Foch",
                             city="Nantes", postcode="44000"))  # fmt: skip
    assert merged["summary"]["identify"]["merges"] == 1
    resumed = pipeline.ingest(hub, "hospital", [tmp_path / "d2"])  # the same files: resumed
    assert resumed["state"] == "standardized"
    people = links(hub)
    assert len(set(people.values())) == 1
    assert scalar(hub, "SELECT list(DISTINCT person_id) FROM condition_occurrence") == list(
        set(people.values()))  # fmt: skip
    assert scalar(hub, "SELECT count(*) FROM person") == 1 and orphans(hub) == 0


def test_an_interrupted_rotation_stops_ingestion_until_it_is_finished(hub: Hub,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"), condition("c1", "h1"))
    original = Vault.transaction

    @contextmanager
    def power_cut(self: Vault):  # the warehouse is re-keyed, the vault is not
        raise OSError("power cut")
        yield

    Vault.transaction = power_cut  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError):
            sync.rotate_hub_key(open_hub(hub.root))
    finally:
        Vault.transaction = original  # type: ignore[method-assign]
    with pytest.raises(pipeline.RunFailed, match="rotation of the hub key was interrupted"):
        deliver(hub, "hospital", tmp_path / "d2", patient("h1"), condition("c2", "h1"))
    assert run("keys", "rotate", "--hub", str(hub.root)).exit_code == 0
    resumed = pipeline.ingest(hub, "hospital", [tmp_path / "d2"])
    assert resumed["state"] == "standardized"
    now = links(hub)[("hospital", "h1")]
    assert scalar(hub, "SELECT list(DISTINCT person_id) FROM condition_occurrence") == [now]
    assert orphans(hub) == 0


def test_an_opt_out_by_mrn_survives_a_new_mrn(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1", mrn="H-0001"))
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        optouts.add(vault, "mrn", "H-0001", date(2026, 1, 1), "GDPR art. 21", "tester", "hospital")
    finally:
        vault.close()
    deliver(hub, "hospital", tmp_path / "d2", patient("h1", mrn="H-0001-B"))  # re-numbered
    out = optouts.opted_out_people(hub.vault, KeyStore(hub.keys), date(2026, 2, 1))
    assert out == {links(hub)[("hospital", "h1")]}


def test_a_lost_vault_key_is_not_replaced(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"))
    (hub.keys / "vault.key").unlink()
    refused = run("identity", "status", "--hub", str(hub.root))
    assert refused.exit_code == 2 and "vault" in refused.output
    assert not (hub.keys / "vault.key").exists()
    KeyStore(hub.keys).write("vault", os.urandom(32))  # another key: refused too
    with pytest.raises(UserError, match="another vault key"):
        Vault(hub.vault, KeyStore(hub.keys))


def test_stewards_are_who_the_process_runs_as(hub: Hub, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"))
    config = hub.root / CONFIG_NAME
    lines = config.read_text().splitlines()
    config.write_text("\n".join('stewards = ["alice"]' if line.startswith("stewards") else line
                                for line in lines) + "\n")  # fmt: skip
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "alice")
    out = tmp_path / "links.csv"
    refused = run("identity", "links", "-o", str(out), "--hub", str(hub.root))
    assert refused.exit_code == 2 and "only the hub's stewards" in refused.output
    assert not out.exists()


def test_links_go_outside_the_hub_and_to_the_owner_only(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1", patient("h1"))
    for inside in (hub.root / "links.csv", hub.keys / "links.csv", hub.work / "x" / "l.csv"):
        refused = run("identity", "links", "-o", str(inside), "--hub", str(hub.root))
        assert refused.exit_code == 2 and "outside the hub" in refused.output, inside
    out = tmp_path / "links.csv"
    old = os.umask(0o022)
    try:
        assert run("identity", "links", "-o", str(out), "--hub", str(hub.root)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def _pair_between(vault: Vault, a: tuple[str, str], b: tuple[str, str]) -> int:
    """A pending review pair between two source records (as linkage would queue one)."""
    from healthhub.identity.crypto import blind_indexes, source_texts

    keys = blind_indexes(vault.keys.index, "source", source_texts([a[0], b[0]], [a[1], b[1]]))
    low, high = sorted(int(k) for k in keys)
    pair_id = int(vault.scalar("SELECT nextval('vault.pair_seq')"))
    vault.con.execute("INSERT INTO vault.review_pair VALUES (?, ?, ?, 0.7, 1.0, '{}', 'test',"
                      " 'pending', 'test', now())", [pair_id, low, high])  # fmt: skip
    return pair_id


def test_same_is_refused_for_two_national_ids(hub: Hub, tmp_path: Path) -> None:
    deliver(hub, "hospital", tmp_path / "d1",
            patient("a", given="Jeanne", national=nir("2610369383123")),
            patient("b", given="Louise", birth="1970-01-01", phone=None, line=None,
                    national=nir("2700169383456")))  # fmt: skip
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        pair = _pair_between(vault, ("hospital", "a"), ("hospital", "b"))
    finally:
        vault.close()
    refused = run("identity", "review", "decide", str(pair), "same", "--hub", str(hub.root))
    assert refused.exit_code == 2 and "two different valid national ids" in refused.output
    people = links(hub)
    assert people[("hospital", "a")] != people[("hospital", "b")]


def test_a_pair_whose_records_became_one_person_leaves_the_queue(hub: Hub, tmp_path: Path) -> None:
    from healthhub.identity.stage import obsolete_pairs

    deliver(hub, "hospital", tmp_path / "d1", patient("h1"))
    deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None))
    people = links(hub)
    assert people[("hospital", "h1")] == people[("laboratory", "l1")]
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        pair = _pair_between(vault, ("hospital", "h1"), ("laboratory", "l1"))
        obsolete_pairs(vault)
        assert (
            vault.scalar("SELECT status FROM vault.review_pair WHERE pair_id = ?", [pair])
            == "obsolete"
        )
    finally:
        vault.close()


def test_a_setting_to_change_exits_2(hub: Hub, tmp_path: Path) -> None:
    config = hub.root / CONFIG_NAME
    config.write_text(
        config.read_text().replace('linkage_memory = "4GB"', 'linkage_memory = "1KB"')
    )
    folder = tmp_path / "crowd"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text("".join(
        json.dumps(patient(f"p{i}", given=f"Given{i % 5}", phone=None, line=None)) + "\n"
        for i in range(30)))  # fmt: skip
    result = run("ingest", "--hub", str(hub.root), "--provider", "hospital", str(folder))
    assert result.exit_code == 2 and "linkage_memory" in result.output


def test_features_stored_by_another_version_are_computed_again(hub: Hub, tmp_path: Path) -> None:
    from healthhub.identity.features import FEATURES_VERSION

    deliver(hub, "hospital", tmp_path / "d1", patient("h1"))
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        vault.con.execute("UPDATE vault.segment SET features_version = ?", [FEATURES_VERSION - 1])
    finally:
        vault.close()
    result = deliver(hub, "laboratory", tmp_path / "d2", patient("l1", phone=None))
    assert result["summary"]["identify"]["joined_existing"] == 1
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        versions = {v for (v,) in vault.con.execute(
            "SELECT features_version FROM vault.segment").fetchall()}  # fmt: skip
        assert versions == {FEATURES_VERSION}
        assert vault.load_features(FEATURES_VERSION) == []
    finally:
        vault.close()
