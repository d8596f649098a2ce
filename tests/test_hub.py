"""The hub on disk: init, configuration, keys, landing, runs, resume, incremental loads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest

from healthhub.exceptions import UserError
from healthhub.hub import pipeline
from healthhub.hub.config import CONFIG_NAME, init_hub, open_hub
from healthhub.hub.runs import RunStore
from healthhub.identity.keys import KeyStore
from healthhub.standardize.warehouse import connect


def write_ndjson(path: Path, resources: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def patient(pid: str, family: str = "Testperson", birth: str = "1961-03-12") -> dict:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": birth,
            "name": [{"family": family, "given": ["Marie"]}]}  # fmt: skip


def condition(cid: str, pid: str, code: str = "44054006", onset: str = "2020-01-05") -> dict:
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
            "onsetDateTime": onset}  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path):
    return init_hub(tmp_path / "hub", name="test hub")


def scalar(hub, sql: str):
    con = connect(hub.warehouse)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_init_creates_every_zone_and_a_private_hub_key(hub) -> None:
    root = hub.root
    assert (root / CONFIG_NAME).is_file()
    for folder in (hub.landing, hub.vault, hub.work, hub.keys):
        assert folder.is_dir()
    assert hub.warehouse.is_file() and hub.governance.is_file()
    key_file = hub.keys / "hub.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(KeyStore(hub.keys).hub_key()) == 32
    assert not hub.keys.resolve().is_relative_to(hub.warehouse.parent.resolve())
    # the warehouse holds every CDM table and the starter vocabulary
    assert scalar(hub, "SELECT count(*) FROM concept") > 100
    assert scalar(hub, "SELECT count(*) FROM information_schema.tables") >= 39


def test_init_refuses_an_existing_hub_or_a_folder_in_use(tmp_path: Path, hub) -> None:
    with pytest.raises(UserError, match="already exists"):
        init_hub(hub.root)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        init_hub(tmp_path / "busy")


def test_configuration_problems_are_reported_together(hub) -> None:
    config = hub.root / CONFIG_NAME
    text = config.read_text().replace('default = "duckdb"', 'default = "oracle"')
    text = text.replace('birth_date_precision = "month"', 'birth_date_precision = "hour"')
    config.write_text(text)
    with pytest.raises(UserError) as caught:
        open_hub(hub.root)
    assert "[engine] default" in str(caught.value)
    assert "birth_date_precision" in str(caught.value)


def test_hub_from_the_environment(hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHHUB_HOME", str(hub.root))
    assert open_hub(None).name == "test hub"
    monkeypatch.delenv("HEALTHHUB_HOME")
    with pytest.raises(UserError, match="HEALTHHUB_HOME"):
        open_hub(None)


def test_a_key_readable_by_others_is_refused(hub) -> None:
    os.chmod(hub.keys / "hub.key", 0o644)
    with pytest.raises(UserError, match="chmod 600"):
        KeyStore(hub.keys).hub_key()


def test_landing_is_content_addressed_read_only_and_idempotent(hub, tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    first = pipeline.ingest(hub, "hospital", [source.parent])
    assert first["state"] == "standardized"
    objects = list((hub.landing / "sha256").rglob("*.ndjson"))
    assert len(objects) == 1
    assert stat.S_IMODE(os.stat(objects[0]).st_mode) == 0o444
    again = pipeline.ingest(hub, "hospital", [source])
    assert again["summary"].get("nothing_new") is True
    assert list((hub.landing / "sha256").rglob("*.ndjson")) == objects
    assert scalar(hub, "SELECT count(*) FROM person") == 1


def test_runs_record_named_states_in_order(hub, tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    result = pipeline.ingest(hub, "hospital", [source])
    store = RunStore(hub.governance)
    try:
        states = [s for s, _, _ in store.events(result["run_id"])]
        runs = store.runs()
    finally:
        store.close()
    assert states == ["received", "landed", "flattened", "identified", "standardized"]
    assert [r.run_id for r in runs] == [result["run_id"]]


def test_a_failed_run_keeps_its_reason_and_resumes(hub, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    write_ndjson(tmp_path / "in" / "Condition.ndjson", [condition("c1", "p1")])
    import healthhub.standardize.stage as stage

    real = stage.standardize

    def broken(*args, **kwargs):
        raise UserError("vocabulary table damaged")

    monkeypatch.setattr(stage, "standardize", broken)
    with pytest.raises(pipeline.RunFailed, match="healthhub runs resume"):
        pipeline.ingest(hub, "hospital", [source.parent])
    store = RunStore(hub.governance)
    try:
        failed = store.runs()[0]
    finally:
        store.close()
    assert failed.state == "failed" and failed.reached == "identified"
    assert failed.reason == "standardize: vocabulary table damaged"
    monkeypatch.setattr(stage, "standardize", real)
    resumed = pipeline.resume(hub, failed.run_id)
    assert resumed["state"] == "standardized"
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 1
    # re-running the same delivery after a failure resumes it rather than starting over
    with pytest.raises(UserError, match="not failed"):
        pipeline.resume(hub, failed.run_id)


def test_a_second_delivery_adds_and_updates_without_duplicates(hub, tmp_path: Path) -> None:
    first = tmp_path / "d1"
    write_ndjson(first / "Patient.ndjson", [patient("p1"), patient("p2", "Other")])
    write_ndjson(first / "Condition.ndjson",
                 [condition("c1", "p1", onset="2020-01-05"), condition("c2", "p2")])  # fmt: skip
    pipeline.ingest(hub, "hospital", [first])
    second = tmp_path / "d2"
    # c1 re-sent with a corrected date; c3 new, for a patient sent in the first delivery
    write_ndjson(second / "Condition.ndjson",
                 [condition("c1", "p1", onset="2020-02-07"), condition("c3", "p2", code="38341003")])  # fmt: skip
    result = pipeline.ingest(hub, "hospital", [second])
    assert result["state"] == "standardized"
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 3
    assert scalar(hub, "SELECT count(*) FROM person") == 2
    dates = scalar(hub, "SELECT list(CAST(condition_start_date AS VARCHAR)"
                        " ORDER BY condition_start_date)"
                        " FROM condition_occurrence")  # fmt: skip
    assert dates == ["2020-01-05", "2020-01-05", "2020-02-07"]  # c2, c3, corrected c1
    assert scalar(hub, "SELECT count(*) FROM healthhub_lineage") == scalar(
        hub, "SELECT (SELECT count(*) FROM condition_occurrence) + (SELECT count(*) FROM person)"
    )


def test_person_id_is_keyed_not_the_source_id(hub, tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("12345")])
    pipeline.ingest(hub, "hospital", [source])
    person_id = scalar(hub, "SELECT person_id FROM person")
    assert person_id != 12345 and person_id > 0
    from healthhub.identity.pseudonyms import person_ids
    from healthhub.identity.vault import Vault

    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        (person_key,) = [bytes(r[0]) for r in vault.con.execute(
            "SELECT person_key FROM vault.person").fetchall()]  # fmt: skip
    finally:
        vault.close()
    # HMAC of the person's random key under the hub key: nothing of the source id in it
    assert person_id == int(person_ids(KeyStore(hub.keys).hub_key(), [person_key])[0])
    assert scalar(hub, "SELECT count(*) FROM person WHERE person_source_value IS NOT NULL") == 0
    # another hub given the same patient makes another person id (random person keys)
    other = init_hub(tmp_path / "other")
    pipeline.ingest(other, "hospital", [source])
    assert scalar(other, "SELECT person_id FROM person") != person_id


def test_bad_records_are_quarantined_and_counted(hub, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_ndjson(folder / "Patient.ndjson", [patient("p1")])
    (folder / "Condition.ndjson").write_bytes(
        orjson.dumps(condition("c1", "p1")) + b"\n{not json\n" + b'{"resourceType": "Nope"}\n'
    )
    result = pipeline.ingest(hub, "hospital", [folder])
    summary = result["summary"]
    assert summary["flatten"]["problems"] == 2
    quarantined = [a for a in summary["accounting"] if a["outcome"] == "quarantined"]
    assert sum(a["records"] for a in quarantined) == 2
    quarantine = hub.quarantine / f"{result['run_id']}.ndjson"
    lines = [orjson.loads(line) for line in quarantine.read_bytes().splitlines()]
    assert [entry["position"] for entry in lines] == ["line 2", "line 3"]
    assert all(entry["file"].endswith(".ndjson") for entry in lines)


def test_a_mended_quarantine_file_replays_into_the_warehouse(hub, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_ndjson(folder / "Patient.ndjson", [patient("p1")])
    broken = condition("c1", "p1")
    del broken["resourceType"]
    (folder / "Condition.ndjson").write_bytes(orjson.dumps(broken) + b"\n")
    first = pipeline.ingest(hub, "hospital", [folder])
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 0
    quarantine = hub.quarantine / f"{first['run_id']}.ndjson"
    (entry,) = [orjson.loads(line) for line in quarantine.read_bytes().splitlines()]
    assert entry["reason"] == "resource without resourceType"
    mended = orjson.loads(entry["record"])
    mended["resourceType"] = "Condition"
    entry["record"] = orjson.dumps(mended).decode()
    fixed = tmp_path / "mended.quarantine.ndjson"
    fixed.write_bytes(orjson.dumps(entry) + b"\n")
    replay = pipeline.ingest(hub, "hospital", [fixed])
    assert replay["state"] == "standardized"
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 1


def test_one_writer_at_a_time(hub, tmp_path: Path) -> None:
    from healthhub.hub.lock import hub_lock

    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    with hub_lock(hub.root), pytest.raises(UserError, match="hub is busy"):
        pipeline.ingest(hub, "hospital", [source])
    assert pipeline.ingest(hub, "hospital", [source])["state"] == "standardized"


def test_records_of_a_person_without_birth_date_stay_out_in_later_deliveries(hub,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    undated = patient("p9")
    del undated["birthDate"]
    pipeline.ingest(hub, "hospital", [write_ndjson(tmp_path / "d1" / "Patient.ndjson", [undated])])
    later = pipeline.ingest(
        hub,
        "hospital",
        [write_ndjson(tmp_path / "d2" / "Condition.ndjson", [condition("c9", "p9")])],
    )
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 0
    (row,) = later["summary"]["accounting"]
    assert row["reason"] == "patient without a usable birth date"
    # the Patient re-sent with its birth date: its later records are written
    pipeline.ingest(
        hub, "hospital", [write_ndjson(tmp_path / "d3" / "Patient.ndjson", [patient("p9")])]
    )
    # (a new export: the very same bytes again would be "nothing new")
    resent = condition("c9", "p9", onset="2020-01-06")
    pipeline.ingest(hub, "hospital", [write_ndjson(tmp_path / "d4" / "Condition.ndjson", [resent])])
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 1


def test_an_interrupted_run_is_recorded_and_resumed_by_the_same_delivery(
    hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    import healthhub.identity.stage as identity_stage

    real = identity_stage.identify

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(identity_stage, "identify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.ingest(hub, "hospital", [source])
    store = RunStore(hub.governance)
    try:
        (run,) = store.runs()
    finally:
        store.close()
    assert (run.state, run.reason) == ("failed", "identify: interrupted")
    monkeypatch.setattr(identity_stage, "identify", real)
    again = pipeline.ingest(hub, "hospital", [source])  # the same delivery: resumed
    assert again["run_id"] == run.run_id and again["state"] == "standardized"
    assert scalar(hub, "SELECT count(*) FROM person") == 1


def test_files_of_an_unfinished_run_are_taken_over_by_the_next(
    hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "first"
    write_ndjson(first / "Patient.ndjson", [patient("p1")])
    write_ndjson(first / "Condition.ndjson", [condition("c1", "p1")])
    import healthhub.sources.fhir.runner as runner

    real = runner.run_views
    monkeypatch.setattr(runner, "run_views", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    with pytest.raises(pipeline.RunFailed):
        pipeline.ingest(hub, "hospital", [first])
    monkeypatch.setattr(runner, "run_views", real)
    # the provider sends again from elsewhere, with one more file: all three are processed
    second = tmp_path / "second"
    second.mkdir()
    for name in ("Patient.ndjson", "Condition.ndjson"):
        (second / name).write_bytes((first / name).read_bytes())
    write_ndjson(second / "Procedure.ndjson", [])
    result = pipeline.ingest(hub, "hospital", [second])
    assert result["state"] == "standardized"
    assert result["summary"]["landed_files"] == 3
    assert scalar(hub, "SELECT count(*) FROM condition_occurrence") == 1


def test_row_ids_cannot_be_recomputed_from_source_ids(hub, tmp_path: Path) -> None:
    import hashlib

    pipeline.ingest(
        hub, "hospital", [write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("MRN-001")])]
    )
    unsalted = int(hashlib.md5(b"hospital|Patient|MRN-001").hexdigest()[:15], 16)
    keys = scalar(hub, "SELECT list(record_key) FROM healthhub_lineage")
    assert keys and unsalted not in keys


def test_provider_names_and_private_folders(hub, tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "in" / "Patient.ndjson", [patient("p1")])
    for bad in ("", ".hidden", "a/b", "tab\tname", "x" * 65, "semi;colon"):
        with pytest.raises(UserError, match="invalid provider name"):
            pipeline.ingest(hub, bad, [source])
    for folder in (hub.landing, hub.vault, hub.work, hub.quarantine, hub.keys):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
