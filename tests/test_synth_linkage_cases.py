"""The generator's hard cases of record linkage: their rates, their ground truth, and the
demographics-only mode."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from healthhub.synth import generate, names
from healthhub.synth.command import synth_command
from healthhub.synth.demographics import CHUNK_PEOPLE
from healthhub.synth.people import (
    Person,
    nir_is_valid,
    nir_key,
    people,
    plain_letters,
)
from healthhub.synth.primitives import date_text
from healthhub.synth.registration import CASES, nir_typo
from synth_output import PROVIDER_TYPES, all_files, ground_truth, read_ndjson

NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"


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
