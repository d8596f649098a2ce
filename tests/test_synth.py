"""Tests of the synthetic data generator: determinism, ground truth, noise, references,
volume, R4 structure, declared codes, both output formats and the command line."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from healthhub.synth import SynthError, emitted_codes, generate
from healthhub.synth.command import synth_command
from healthhub.synth.people import (
    make_person,
    nir_is_valid,
)
from healthhub.synth.primitives import DAY_OF_MONTH, MONTH
from healthhub.synth.providers import provider_key
from healthhub.synth.registration import HouseStyle, patient_record
from synth_output import PROVIDER_TYPES, all_files, codings, ground_truth, read_ndjson, references

NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
R4_MODEL = Path(__file__).parent.parent / "src/healthhub/sources/fhir/r4_model.json.gz"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    out = tmp_path_factory.mktemp("synth") / "out"
    summary = generate(out, patients=200, providers=4, seed=11)
    return summary, read_ndjson(out)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", patients=25, providers=3, seed=5)
    generate(tmp_path / "b", patients=25, providers=3, seed=5)
    generate(tmp_path / "c", patients=25, providers=3, seed=6)
    first, second, other = (all_files(tmp_path / n) for n in "abc")
    assert first == second
    assert "hospital-a/Observation.ndjson" in first
    assert first["ground_truth.csv"] != other["ground_truth.csv"]
    assert first["hospital-a/Patient.ndjson"] != other["hospital-a/Patient.ndjson"]


def test_summary_and_manifest_match_the_files(run: Any) -> None:
    summary, charts = run
    counts = Counter(r["resourceType"] for resources in charts.values() for r in resources)
    assert summary.people == 200
    assert summary.resources_by_type == dict(sorted(counts.items()))
    assert summary.resources == sum(counts.values())
    assert summary.source_patients == counts["Patient"]
    assert sorted(charts) == ["clinic-d", "hospital-a", "lab-b", "radiology-c"]
    assert all(path.is_file() for path in summary.files)
    manifest = json.loads((summary.out_dir / "manifest.json").read_text())
    assert manifest["resources_by_type"] == summary.resources_by_type
    assert manifest["providers"] == ["hospital-a", "lab-b", "radiology-c", "clinic-d"]
    assert "seconds" not in manifest  # the folder stays byte-identical for a seed
    assert summary.to_dict()["people"] == 200


def test_ground_truth_maps_every_patient_record_once(run: Any) -> None:
    summary, charts = run
    rows = ground_truth(summary.out_dir)
    records = [(key, r["id"]) for key, resources in charts.items() for r in resources
               if r["resourceType"] == "Patient"]  # fmt: skip
    assert sorted((row["provider"], row["patient_id"]) for row in rows) == sorted(records)
    assert len(set(records)) == len(records)
    providers_per_person = Counter(Counter(row["person_key"] for row in rows).values())
    assert sum(providers_per_person.values()) == 200
    shared = 1 - providers_per_person[1] / 200
    assert 0.25 <= shared <= 0.55  # about 40% of people are seen by several providers
    assert providers_per_person[3] + providers_per_person[4] > 0


def test_national_ids_are_mostly_valid_with_realistic_gaps(run: Any) -> None:
    _, charts = run
    patients = [r for resources in charts.values() for r in resources
                if r["resourceType"] == "Patient"]  # fmt: skip
    valid = invalid = missing = 0
    for patient in patients:
        nirs = [i["value"] for i in patient["identifier"] if i["system"] == NIR_SYSTEM]
        if not nirs:
            missing += 1
            continue
        nir = nirs[0]
        assert len(nir) == 15 and nir.isdigit()
        if not nir_is_valid(nir):
            invalid += 1
            continue
        valid += 1
        assert nir[0] == ("1" if patient["gender"] == "male" else "2")
        assert nir[1:3] == patient["birthDate"][2:4]
    total = len(patients)
    assert valid / total > 0.7
    assert 0 < invalid / total < 0.05
    assert 0.05 < missing / total < 0.35
    assert nir_is_valid("255081416802538") and not nir_is_valid("255081416802539")


def test_records_of_one_person_carry_provider_noise(run: Any) -> None:
    summary, charts = run
    patients = {r["id"]: r for resources in charts.values() for r in resources
                if r["resourceType"] == "Patient"}  # fmt: skip
    by_person = defaultdict(list)
    for row in ground_truth(summary.out_dir):
        by_person[row["person_key"]].append(patients[row["patient_id"]])
    differing_names = 0
    for records in by_person.values():
        if len(records) < 2:
            continue
        if len({(r["name"][0]["family"], tuple(r["name"][0]["given"])) for r in records}) > 1:
            differing_names += 1
        assert len({r["gender"] for r in records}) == 1
    assert differing_names >= 5


def test_registration_noise_of_every_kind_occurs() -> None:
    rng = random.Random(3)
    person = make_person(rng, 0)
    while not (person.married_family and len(person.addresses) > 1
               and 1 < DAY_OF_MONTH[person.birth] <= 12 != MONTH[person.birth]):  # fmt: skip
        person = make_person(rng, 0)
    style = HouseStyle(upper_family=False, plain_letters=False, phone_style=1,
                       missing_nir=0.2, mrn_prefix="H")  # fmt: skip
    records = [patient_record(rng, person, "x", "H1", "https://h.example.org/mrn", style, False,
                              {"reference": "Organization/o"})[0] for _ in range(3000)]  # fmt: skip
    nirs = [next((i["value"] for i in r["identifier"] if i["system"] == NIR_SYSTEM), None)
            for r in records]  # fmt: skip
    families = Counter(n["family"] for r in records for n in r["name"])
    assert nirs.count(None) > 300
    assert 0 < sum(1 for n in nirs if n and n != person.nir) < 200
    assert all(nir_is_valid(n) != (n != person.nir) for n in nirs if n)
    assert families[person.family] > 100 and families[person.married_family] > 100
    assert any("-" in f and person.family in f and person.married_family in f for f in families)
    assert any(f not in (person.family, person.married_family) and "-" not in f for f in families)
    assert Counter(r["birthDate"] for r in records).most_common(2)[1][1] > 10  # day/month swap
    assert {r["address"][0]["city"] for r in records} >= {a.city for a in person.addresses}


def test_every_reference_resolves_in_the_same_provider(run: Any) -> None:
    _, charts = run
    checked = 0
    for resources in charts.values():
        known = {f"{r['resourceType']}/{r['id']}" for r in resources}
        for resource in resources:
            for reference in references(resource):
                assert reference in known, (resource["resourceType"], reference)
                checked += 1
    assert checked > 100_000


def test_resources_per_person_are_at_synthea_volume(run: Any) -> None:
    summary, _ = run
    per_person = (
        sum(
            count for kind, count in summary.resources_by_type.items() if kind not in PROVIDER_TYPES
        )
        / summary.people
    )
    assert 250 <= per_person <= 450
    for kind in ("Encounter", "Condition", "Observation", "MedicationRequest", "Immunization",
                 "Procedure", "DiagnosticReport", "DocumentReference", "ImagingStudy"):  # fmt: skip
        assert summary.resources_by_type[kind] > 0, kind


def _earliest_birth(birth_date: str) -> str:
    """A recorded birth date may have day and month swapped: the earlier of both readings."""
    year, month, day = birth_date.split("-")
    if int(day) <= 12:
        return min(birth_date, f"{year}-{day}-{month}")
    return birth_date


def test_facts_are_dated_inside_their_encounter_and_the_life(run: Any) -> None:
    _, charts = run
    for resources in charts.values():
        encounters = {r["id"]: r["period"] for r in resources if r["resourceType"] == "Encounter"}
        patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
        for r in resources:
            kind = r["resourceType"]
            encounter = (
                r.get("context") if kind == "MedicationAdministration" else r.get("encounter")
            )
            when = [r[k] for k in ("effectiveDateTime", "occurrenceDateTime", "authoredOn",
                                   "recordedDate", "started", "performedDateTime") if k in r]  # fmt: skip
            if "performedPeriod" in r:
                when += [r["performedPeriod"]["start"], r["performedPeriod"]["end"]]
            if encounter is not None:
                period = encounters[encounter["reference"].split("/")[1]]
                assert all(period["start"] <= w <= period["end"] for w in when), r
            if kind == "Encounter":
                when = [r["period"]["start"], r["period"]["end"]]
                assert r["period"]["start"] < r["period"]["end"]
            if kind == "Condition":
                assert r["onsetDateTime"] <= r["recordedDate"]
                assert r.get("abatementDateTime", "9999") >= r["onsetDateTime"]
            subject = r.get("subject") or r.get("patient")
            if subject and kind not in PROVIDER_TYPES:
                patient = patients[subject["reference"].split("/")[1]]
                birth = _earliest_birth(patient["birthDate"])
                death = patient.get("deceasedDateTime", "9999")
                assert all(birth <= w[:10] and w <= death for w in when), r
                assert all(w < "2025-01-02" for w in when)


def test_observations_carry_loinc_ucum_and_categories(run: Any) -> None:
    _, charts = run
    observations = [r for res in charts.values() for r in res if r["resourceType"] == "Observation"]
    codes_seen = {o["code"]["coding"][0]["code"] for o in observations}
    assert {"8302-2", "29463-7", "39156-5", "8867-4", "9279-1", "8310-5", "85354-9", "2339-0",
            "4548-4", "2160-0", "2093-3", "718-7", "72166-2"} <= codes_seen  # fmt: skip
    for o in observations:
        assert o["code"]["coding"][0]["system"] == "http://loinc.org"
        assert o["category"][0]["coding"][0]["code"] in {"vital-signs", "laboratory",
                                                         "social-history", "survey"}  # fmt: skip
        if "valueQuantity" in o:
            assert o["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    pressure = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in pressure["component"]] == ["8480-6", "8462-4"]
    assert any("referenceRange" in o for o in observations)
    statuses = Counter(o["status"] for o in observations)
    assert statuses["final"] > 100 * statuses["entered-in-error"] > 0


def test_notes_mention_the_patient_name(run: Any) -> None:
    _, charts = run
    notes = 0
    for resources in charts.values():
        patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
        for r in resources:
            if r["resourceType"] != "DocumentReference":
                continue
            attachment = r["content"][0]["attachment"]
            assert attachment["contentType"].startswith("text/plain")
            text = base64.b64decode(attachment["data"]).decode("utf-8")
            patient = patients[r["subject"]["reference"].split("/")[1]]
            assert patient["name"][-1]["family"] in text
            notes += 1
    assert notes > 1000


def test_every_emitted_code_is_declared(run: Any) -> None:
    _, charts = run
    declared = {(system, code) for system, code, _ in emitted_codes()}
    seen = {(c["system"], c["code"]) for res in charts.values() for r in res for c in codings(r)}
    assert seen <= declared, seen - declared
    table = emitted_codes()
    assert table == sorted(set(table))
    assert ("http://hl7.org/fhir/sid/cvx", "140",
            "Influenza, seasonal, injectable, preservative free") in table  # fmt: skip


def _check_element(model: dict[str, Any], type_name: str, value: Any, path: str) -> None:
    if type_name in model["primitives"]:
        assert not isinstance(value, dict | list), path
        return
    spec = model["types"][type_name]
    choices = model["choices"].get(type_name, {})
    assert isinstance(value, dict), path
    for key, item in value.items():
        if key == "resourceType":
            continue
        if key in spec:
            element_type, many = spec[key]
        else:
            element_type = next(
                (t for base, options in choices.items() for t in options
                 if key == base + t[0].upper() + t[1:]),
                None,
            )  # fmt: skip
            assert element_type is not None, f"{path}.{key} is not an R4 element"
            many = False
        assert isinstance(item, list) == many, f"{path}.{key} cardinality"
        for element in item if many else [item]:
            _check_element(model, element_type, element, f"{path}.{key}")


@pytest.mark.skipif(not R4_MODEL.exists(), reason="the FHIR R4 model is not in this checkout")
def test_resources_are_structurally_valid_r4(run: Any) -> None:
    _, charts = run
    model = json.loads(gzip.decompress(R4_MODEL.read_bytes()))
    checked: Counter[str] = Counter()
    for resources in charts.values():
        for resource in resources:
            kind = resource["resourceType"]
            if checked[kind] < 500:  # enough of each kind to meet every branch
                _check_element(model, kind, resource, kind)
                checked[kind] += 1
    assert len(checked) >= 16


def test_bundles_are_transactions_whose_references_resolve(tmp_path: Path) -> None:
    summary = generate(tmp_path, patients=40, providers=4, seed=2, fmt="bundles")
    bundles = 0
    for folder in sorted(p for p in tmp_path.iterdir() if p.is_dir()):
        directory = json.loads((folder / "provider-directory.json").read_bytes())
        identifiers = set()
        for entry in directory["entry"]:
            resource = entry["resource"]
            assert entry["request"]["ifNoneExist"].startswith("identifier=")
            for identifier in resource["identifier"]:
                identifiers.add(f"{resource['resourceType']}?identifier="
                                f"{identifier['system']}|{identifier['value']}")  # fmt: skip
        for path in folder.glob("*.json"):
            bundle = json.loads(path.read_bytes())
            assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
            full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
            for entry in bundle["entry"]:
                resource = entry["resource"]
                assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
                assert entry["request"]["method"] == "POST"
                assert entry["request"]["url"] == resource["resourceType"]
                for reference in references(resource):
                    if reference.startswith("urn:uuid:"):
                        assert reference in full_urls
                    else:
                        assert reference in identifiers, reference
            if path.name != "provider-directory.json":
                assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
                assert path.stem == bundle["entry"][0]["resource"]["id"]
            bundles += 1
    assert bundles == summary.source_patients + 4
    assert {row["patient_id"] for row in ground_truth(tmp_path)} == {
        p.stem for p in tmp_path.glob("*/*.json") if p.name != "provider-directory.json"
    }


def test_generate_rejects_bad_requests_and_reports_progress(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="patients"):
        generate(tmp_path, patients=0)
    with pytest.raises(SynthError, match="providers"):
        generate(tmp_path, patients=1, providers=0)
    with pytest.raises(SynthError, match="format"):
        generate(tmp_path, patients=1, fmt="xml")
    with pytest.raises(SynthError, match="demographics-only"):
        generate(tmp_path, patients=1, workers=2)
    seen: list[int] = []
    generate(tmp_path / "one", patients=7, providers=1, seed=1, progress=seen.append)
    assert seen[-1] == 7 and seen == sorted(seen)
    assert {row["provider"] for row in ground_truth(tmp_path / "one")} == {"hospital-a"}


def test_provider_keys() -> None:
    assert [provider_key(i) for i in range(5)] == [
        "hospital-a", "lab-b", "radiology-c", "clinic-d", "hospital-e",
    ]  # fmt: skip
    assert provider_key(26) == "radiology-aa"


def test_command_prints_a_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--patients", "12", "--providers", "2", "--seed", "4", "-o", str(out), "--json"]
    result = CliRunner().invoke(synth_command, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["people"] == 12
    assert summary["resources"] == sum(summary["resources_by_type"].values())
    assert summary["out_dir"] == str(out)
    again = CliRunner().invoke(synth_command, [*args, "--force"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["resources"] == summary["resources"]
    human = CliRunner().invoke(synth_command, ["-n", "3", "-o", str(tmp_path / "h")])
    assert human.exit_code == 0
    assert "Generated 3 people" in human.stdout and "Observation" in human.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "0"], "--patients must be at least 1"),
        (["--patients", "3", "--providers", "0"], "--providers must be at least 1"),
        (["--patients", "3"], "is not empty"),
        (["--patients", "3", "--workers", "2"], "--workers needs --demographics-only"),
    ],
)
def test_command_refuses_bad_usage_with_one_line(tmp_path: Path, args: list[str],
                                                 message: str) -> None:  # fmt: skip
    (tmp_path / "keep.txt").write_text("not synth output")
    result = CliRunner().invoke(synth_command, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert (tmp_path / "keep.txt").exists()


def test_duplicates_carry_some_of_the_history(run: Any) -> None:
    summary, charts = run
    rows = ground_truth(summary.out_dir)
    per_chart = Counter((row["provider"], row["person_key"]) for row in rows)
    seconds = [row for row in rows if per_chart[row["provider"], row["person_key"]] > 1]
    assert seconds, "the 200 people of the run have duplicates"
    used = Counter()
    for resources in charts.values():
        for resource in resources:
            subject = resource.get("subject") or resource.get("patient")
            if subject:
                used[subject["reference"].split("/")[1]] += 1
    assert all(used[row["patient_id"]] > 0 or "duplicate" in row["cases"] for row in rows)
    assert any(used[row["patient_id"]] > 0 for row in seconds[1::2] + seconds[0::2])
