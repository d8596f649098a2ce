"""Tests of the synthetic data generator: determinism, ground truth, noise, references,
volume, R4 structure, declared codes, both output formats and the command line."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from healthhub.synth import SynthError, emitted_codes, generate, names
from healthhub.synth.command import synth_command
from healthhub.synth.demographics import CHUNK_PEOPLE
from healthhub.synth.people import (
    Person,
    make_person,
    nir_is_valid,
    nir_key,
    people,
    plain_letters,
)
from healthhub.synth.primitives import DAY_OF_MONTH, MONTH, date_text
from healthhub.synth.providers import provider_key
from healthhub.synth.registration import CASES, HouseStyle, nir_typo, patient_record

NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
PROVIDER_TYPES = {"Organization", "Location", "Practitioner", "PractitionerRole"}
R4_MODEL = Path(__file__).parent.parent / "src/healthhub/sources/fhir/r4_model.json.gz"


def read_ndjson(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Provider key -> every resource in its NDJSON files."""
    found: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        found[folder.name] = [
            orjson.loads(line)
            for path in sorted(folder.glob("*.ndjson"))
            for line in path.read_bytes().splitlines()
        ]
    return found


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def codings(value: Any) -> Iterator[dict[str, Any]]:
    """Every Coding: a dict with a system and a code that is not a Quantity."""
    if isinstance(value, dict):
        if "system" in value and "code" in value and "value" not in value:
            yield value
        for item in value.values():
            yield from codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from codings(item)


def ground_truth(out: Path) -> list[dict[str, str]]:
    with (out / "ground_truth.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    out = tmp_path_factory.mktemp("synth") / "out"
    summary = generate(out, patients=200, providers=4, seed=11)
    return summary, read_ndjson(out)


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


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


# -- the hard cases of record linkage ---------------------------------------------------

LINKAGE_PEOPLE = 20_000


@dataclass
class Linkage:
    """A demographics-only run, its records with their ground truth, and the true people."""

    out: Path
    summary: Any
    records: list[tuple[dict[str, str], dict[str, Any]]]  # (ground-truth row, Patient)
    people: dict[str, Person]


@pytest.fixture(scope="module")
def linkage(tmp_path_factory: pytest.TempPathFactory) -> Linkage:
    out = tmp_path_factory.mktemp("linkage") / "out"
    summary = generate(out, patients=LINKAGE_PEOPLE, providers=4, seed=21, clinical=False)
    patients = {(key, r["id"]): r for key, resources in read_ndjson(out).items()
                for r in resources if r["resourceType"] == "Patient"}  # fmt: skip
    rows = ground_truth(out)
    records = [(row, patients[row["provider"], row["patient_id"]]) for row in rows]
    truth = {person.key: person for _, person in people(21, LINKAGE_PEOPLE)}
    return Linkage(out, summary, records, truth)


def norm(text: str) -> str:
    """A name as every house style can write it: upper-case, without accents."""
    return plain_letters(text).upper()


def nir_of(patient: dict[str, Any]) -> str | None:
    return next((i["value"] for i in patient["identifier"] if i["system"] == NIR_SYSTEM), None)


def phone_of(patient: dict[str, Any]) -> str | None:
    """The phone number's ten digits, whatever the house format."""
    value = next((t["value"] for t in patient["telecom"] if t["system"] == "phone"), None)
    if value is None:
        return None
    value = value.replace(" ", "")
    return "0" + value[3:] if value.startswith("+33") else value


def spellings_of(name: str, groups: tuple[tuple[str, ...], ...], plain: bool = True) -> set[str]:
    """The other spellings of a name (normalised by `norm`, unless not `plain`)."""
    if not plain:
        return {n for group in groups if name in group for n in group if n != name}
    return {norm(n) for group in groups if name in group for n in group} - {norm(name)}


def edits(a: str, b: str) -> int:
    """Levenshtein distance, with a swap of neighbours as one edit."""
    row = list(range(len(b) + 1))
    before = row[:]
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


def test_the_linkage_cases_occur_at_their_rates(linkage: Linkage) -> None:
    people_in = Counter(person.household for person in linkage.people.values())
    share = {kind: count / LINKAGE_PEOPLE for kind, count in people_in.items()}
    assert 0.010 <= share["twins"] <= 0.020  # 1.5% of people are twins, as in France
    assert 0.05 <= share["couple"] <= 0.10
    assert 0.05 <= share["parent_child"] <= 0.09
    sharing = sum(person.shares_phone for person in linkage.people.values()) / LINKAGE_PEOPLE
    assert 0.06 <= sharing <= 0.12
    charts = Counter((row["provider"], row["person_key"]) for row, _ in linkage.records)
    assert 0.010 <= sum(count > 1 for count in charts.values()) / len(charts) <= 0.022
    assert max(charts.values()) == 2
    first = {row["person_key"]: row["patient_id"] for row, _ in reversed(linkage.records)}
    others = [
        (row, p) for row, p in linkage.records if first[row["person_key"]] != row["patient_id"]
    ]
    swapped = sum("name_swap" in row["cases"] for row, _ in others) / len(others)
    assert 0.001 <= swapped <= 0.006  # 0.3% of the records but the home one
    assert all("name_swap" not in row["cases"] for row, _ in linkage.records
               if first[row["person_key"]] == row["patient_id"])  # fmt: skip
    eligible = respelled = 0
    for row, patient in others:
        true_given = linkage.people[row["person_key"]].given[0]
        spellings = spellings_of(true_given, names.GIVEN_SPELLINGS)
        if not spellings or true_given in names.NICKNAMES or "name_swap" in row["cases"]:
            continue
        eligible += 1
        respelled += norm(patient["name"][0]["given"][0]) in spellings
    assert eligible > 1000
    assert 0.18 <= respelled / eligible <= 0.30  # 25%, less the spellings a style hides
    families = Counter(norm(n["family"]) for _, p in linkage.records for n in p["name"])
    for variant in ("SCHMIDT", "MUELLER", "BENSALAH", "NDIAYE", "LEGALL", "ST-MARTIN"):
        assert families[variant] > 0, variant
    givens = Counter(norm(n["given"][0]) for _, p in linkage.records for n in p["name"])
    for variant in ("MOHAMMED", "MUHAMMAD", "YUSUF", "YOUCEF", "OLEKSANDR", "ALEXANDER"):
        assert givens[variant] > 0, variant


def test_twins_are_two_people_born_together(linkage: Linkage) -> None:
    persons = list(linkage.people.values())
    pairs = [(persons[i], persons[i + 1]) for i in range(0, len(persons) - 1, 2)
             if persons[i].household == "twins"]  # fmt: skip
    assert len(pairs) > 100
    mixed = 0
    for one, two in pairs:
        assert two.household == "twins" and one.key != two.key
        assert (one.birth, one.family, one.phone) == (two.birth, two.family, two.phone)
        assert one.addresses == two.addresses
        assert one.given[0] != two.given[0]
        assert nir_is_valid(one.nir) and nir_is_valid(two.nir)
        assert one.nir[1:10] == two.nir[1:10] and one.nir[10:13] != two.nir[10:13]
        assert (one.nir[0] != two.nir[0]) == (one.sex != two.sex)
        mixed += one.sex != two.sex
    assert 0.2 <= mixed / len(pairs) <= 0.5  # a third of twins are a boy and a girl
    twin_keys = {p.key for pair in pairs for p in pair}
    for row, _ in linkage.records:
        assert ("twin" in row["cases"].split(";")) == (row["person_key"] in twin_keys)


def test_households_share_an_address_and_often_a_phone(linkage: Linkage) -> None:
    persons = list(linkage.people.values())
    seen = Counter()
    for anchor, member in zip(persons[0::2], persons[1::2], strict=False):
        assert anchor.household == member.household
        if not anchor.household:
            assert not (anchor.shares_phone or member.shares_phone)
            continue
        seen[anchor.household] += 1
        assert anchor.addresses[-1] == member.addresses[-1]
        assert anchor.shares_phone == member.shares_phone == (anchor.phone == member.phone)
        years = abs(anchor.birth - member.birth) / 365.25
        if anchor.household == "couple":
            assert anchor.marital == member.marital == "M" and years < 20
            if anchor.sex == "male" and member.married_family:
                assert member.married_family == anchor.family
        elif anchor.household == "parent_child":
            assert 19.9 <= years <= 42.1
            child, parent = (anchor, member) if anchor.birth > member.birth else (member, anchor)
            kept_her_name = parent.sex == "female" and parent.marital != "S"
            if not (kept_her_name and not parent.married_family):  # else the father's name
                assert child.family in (parent.family, parent.married_family)
            assert anchor.death == member.death == -1
    assert seen["couple"] > 300 and seen["parent_child"] > 300


def test_shared_phones_belong_to_different_people(linkage: Linkage) -> None:
    owners = defaultdict(set)
    for row, patient in linkage.records:
        phone = phone_of(patient)
        if phone is not None:
            owners[phone].add(row["person_key"])
    shared = {phone for phone, keys in owners.items() if len(keys) > 1}
    assert len(shared) > 300
    for row, patient in linkage.records:
        phone = phone_of(patient)
        flagged = "shared_phone" in row["cases"].split(";")
        assert flagged == (phone is not None and linkage.people[row["person_key"]].shares_phone)
        if phone in shared:
            assert flagged  # no two people share a phone by chance


def test_duplicates_are_second_records_of_the_same_person(linkage: Linkage) -> None:
    by_chart = defaultdict(list)
    for row, patient in linkage.records:
        by_chart[row["provider"], row["person_key"]].append((row, patient))
    duplicated = [found for found in by_chart.values() if len(found) > 1]
    assert len(duplicated) > 100
    for (first_row, first), (second_row, second) in duplicated:
        assert first["id"] != second["id"]
        assert first["identifier"][0]["value"] != second["identifier"][0]["value"]  # MRN
        assert "duplicate" in first_row["cases"] and "duplicate" in second_row["cases"]
    assert all("duplicate" not in found[0][0]["cases"] for found in by_chart.values()
               if len(found) == 1)  # fmt: skip


def test_cases_say_what_each_record_carries(linkage: Linkage) -> None:
    found = Counter()
    for row, patient in linkage.records:
        person = linkage.people[row["person_key"]]
        cases = row["cases"].split(";") if row["cases"] else []
        assert cases == sorted(cases, key=CASES.index) and len(set(cases)) == len(cases)
        found.update(cases)
        nir = nir_of(patient)
        assert ("nir_missing" in cases) == (nir is None)
        if nir is not None:
            assert ("nir_typo" in cases) == (nir != person.nir)
            assert nir_is_valid(nir) == ("nir_typo" not in cases)
        assert ("dob_swap" in cases) == (patient["birthDate"] != date_text(person.birth))
        assert ("household" in cases) == bool(person.household)
        line = patient["address"][0]["line"][0].replace(",", "").upper()
        if "old_address" in cases:
            assert line == person.addresses[0].line.upper()
        else:
            assert line == person.addresses[-1].line.upper()
        official = patient["name"][0]
        families = [norm(n["family"]) for n in patient["name"]]
        married = norm(person.married_family)
        if "name_swap" in cases:
            given_side, family_side = norm(official["given"][0]), norm(official["family"])
            assert edits(family_side, norm(person.given[0])) <= 2 or "nickname" in cases or (
                "transliteration" in cases)  # fmt: skip
            assert norm(person.family) in given_side or married in given_side or (
                "typo_family" in cases or "transliteration" in cases)  # fmt: skip
            continue
        given = norm(official["given"][0])
        true_given = norm(person.given[0])
        if "nickname" in cases:
            assert given in {norm(n) for n in names.NICKNAMES[person.given[0]]}
        elif "typo_given" in cases:
            assert 1 <= edits(given, true_given) <= 2
        elif "transliteration" not in cases:
            assert given == true_given
        assert ("given_dropped" in cases) == (len(official["given"]) < len(person.given))
        respelled = {v.upper() for group in names.GIVEN_SPELLINGS if person.given[0] in group
                     for v in group if v != person.given[0]}  # fmt: skip
        respelled |= {plain_letters(v) for v in respelled}
        if "transliteration" in cases and official["given"][0].upper() not in respelled:
            written = {n["family"].upper() for n in patient["name"]}
            variants = {v.upper() for true in (person.family, person.married_family)
                        for v in spellings_of(true, names.FAMILY_SPELLINGS, plain=False)}  # fmt: skip
            variants |= {plain_letters(v) for v in variants}
            assert any(v in f for f in written for v in variants), written  # or hyphenated
        noisy = {"transliteration", "typo_family"} & set(cases)
        if "typo_family" in cases:
            birth = norm(person.family)
            candidates = {birth, married, f"{married}-{birth}", f"{birth}-{married}"}
            assert any(1 <= edits(f, true) <= 2 for f in families for true in candidates)
        if "married_name" in cases and not noisy:
            assert married in families
        if "hyphenated_name" in cases:
            assert len(families) == 1 and married in families[0] and "-" in families[0]
        if "maiden_only" in cases and not noisy:
            assert married not in families
        if not person.married_family:
            assert not {"married_name", "hyphenated_name", "maiden_only"} & set(cases)
        if not {"married_name", "hyphenated_name", "transliteration", "typo_family"} & set(cases):
            assert families == [norm(person.family)]
    assert set(found) == set(CASES)  # every case occurs
    assert dict(found) == {k: v for k, v in linkage.summary.cases.items() if v}


def test_a_mistyped_nir_always_fails_its_key_check() -> None:
    rng = random.Random(8)
    for _ in range(20_000):
        first13 = f"{1 + int(rng.random() * 2)}{int(rng.random() * 1e12):012d}"
        nir = first13 + nir_key(first13)
        mistyped = nir_typo(rng, nir)
        assert len(mistyped) == 15 and mistyped != nir and not nir_is_valid(mistyped)


def test_spelling_groups_are_disjoint_and_reachable() -> None:
    for groups, pool in ((names.GIVEN_SPELLINGS, {*names.MALE_OLDER, *names.MALE_MIDDLE,
                          *names.MALE_YOUNGER, *names.FEMALE_OLDER, *names.FEMALE_MIDDLE,
                          *names.FEMALE_YOUNGER}), (names.FAMILY_SPELLINGS, set(names.FAMILY))):  # fmt: skip
        members = [name for group in groups for name in group]
        assert len(members) == len(set(members))
        assert all(set(group) & pool for group in groups), groups
        assert all('"' not in name and "\\" not in name for name in members)


def test_people_are_reproducible_one_household_at_a_time() -> None:
    whole = [person for _, person in people(4, 41)]
    assert [p for _, p in people(4, 101)][:40] == whole[:40]
    assert [p for _, p in people(4, 41, 20, 41)] == whole[20:]
    assert whole[-1].household == ""  # the last of an odd population lives alone
    with pytest.raises(ValueError, match="even"):
        next(people(4, 41, 3))


def test_demographics_only_writes_the_same_patients_and_no_history(tmp_path: Path) -> None:
    full = generate(tmp_path / "full", patients=60, providers=3, seed=5)
    quick = generate(tmp_path / "quick", patients=60, providers=3, seed=5, clinical=False)
    assert set(quick.resources_by_type) == PROVIDER_TYPES | {"Patient"}
    assert quick.resources_by_type["Patient"] == quick.source_patients == full.source_patients
    files = all_files(tmp_path / "quick")
    assert {name.split("/")[-1] for name in files} == {
        "ground_truth.csv", "manifest.json", *(f"{kind}.ndjson" for kind in quick.resources_by_type)
    }  # fmt: skip
    reference = all_files(tmp_path / "full")
    for name, data in files.items():
        if name.endswith(("Patient.ndjson", "Organization.ndjson", "ground_truth.csv")):
            assert data == reference[name], name
    manifest = json.loads(files["manifest.json"])
    assert manifest["clinical"] is False and manifest["cases"] == quick.cases


def test_demographics_only_is_the_same_bytes_with_workers(tmp_path: Path) -> None:
    count = CHUNK_PEOPLE + 901  # two chunks, the last one odd
    generate(tmp_path / "one", patients=count, providers=3, seed=9, clinical=False)
    generate(tmp_path / "two", patients=count, providers=3, seed=9, clinical=False, workers=2)
    generate(tmp_path / "gz", patients=count, providers=3, seed=9, fmt="ndjson.gz",
             clinical=False)  # fmt: skip
    one = all_files(tmp_path / "one")
    assert one == all_files(tmp_path / "two")
    assert one["hospital-a/Patient.ndjson"] == gzip.decompress(
        all_files(tmp_path / "gz")["hospital-a/Patient.ndjson.gz"]
    )
    assert len(ground_truth(tmp_path / "one")) == one["hospital-a/Patient.ndjson"].count(
        b"\n") + one["lab-b/Patient.ndjson"].count(b"\n") + one["radiology-c/Patient.ndjson"].count(
        b"\n")  # fmt: skip


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


def test_command_writes_demographics_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["-n", "30", "-p", "2", "-o", str(out), "--demographics-only", "--json"]
    result = CliRunner().invoke(synth_command, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["clinical"] is False
    assert set(summary["resources_by_type"]) == PROVIDER_TYPES | {"Patient"}
    assert set(summary["cases"]) == set(CASES)
    human = CliRunner().invoke(synth_command, ["-n", "30", "-o", str(tmp_path / "h"),
                                               "--demographics-only"])  # fmt: skip
    assert human.exit_code == 0 and "demographics only" in human.stdout
    assert "people/s" in human.stdout and "twin" in human.stdout
