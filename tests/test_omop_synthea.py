"""Standardisation on real Synthea data and on generated providers.

- no record lost: per resource type, written + skipped + quarantined = received;
- mapping coverage reported per vocabulary;
- no direct identifier of any source patient in any warehouse table;
- Spark gives exactly the same OMOP rows as DuckDB.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from healthhub.hub.config import init_hub
from healthhub.hub.pipeline import ingest
from healthhub.identity.keys import KeyStore
from healthhub.identity.links import source_links
from healthhub.identity.vault import Vault
from healthhub.standardize.vocabulary import load_vocabulary
from healthhub.standardize.warehouse import SOURCED_TABLES, connect
from healthhub.synth import generate

DERIVED = ("observation_period", "condition_era", "drug_era")


def bundle_resources(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.json.gz")):
        bundle = orjson.loads(gzip.decompress(path.read_bytes()))
        found.extend(e["resource"] for e in bundle.get("entry", []))
    return found


def ndjson_resources(folder: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for p in sorted(folder.rglob("*.ndjson")) for line in
            p.read_bytes().splitlines() if line.strip()]  # fmt: skip


def build_hub(root: Path, shared: Path, sources: dict[str, Path], engine: str,
              keys: Path | None = None) -> tuple[Any, dict[str, dict[str, Any]]]:  # fmt: skip
    """A hub with the shared vocabulary, given each source; ``keys``: another hub's key
    store to share (the same surrogate-key salt, so the same row ids)."""
    hub = init_hub(root)
    if keys is not None:
        for name in ("hub", "vault", "surrogate-keys"):
            KeyStore(hub.keys).write(name, KeyStore(keys).read(name))
    con = connect(hub.warehouse)
    try:
        vocab = shared / "omop-vocab"
        load_vocabulary(con, [vocab, vocab / "dbt-synthea-shard"])
    finally:
        con.close()
    runs = {name: ingest(hub, name, [folder], engine) for name, folder in sources.items()}
    return hub, runs


@pytest.fixture(scope="module")
def sources(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    generated = tmp_path_factory.mktemp("generated")
    generate(generated, patients=40, providers=2, seed=11)
    found = {
        "smart": shared_data / "synthea" / "smart-r4",
        "pathling": shared_data / "synthea" / "pathling-r4",
    }
    for folder in sorted(p for p in generated.iterdir() if p.is_dir()):
        found[folder.name] = folder
    return found


@pytest.fixture(scope="module")
def duck_hub(shared_data: Path, sources: dict[str, Path],
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    return build_hub(tmp_path_factory.mktemp("duck") / "hub", shared_data, sources, "duckdb")


def received_by_type(folder: Path) -> Counter[str]:
    resources = (
        bundle_resources(folder) if any(folder.glob("*.json.gz")) else ndjson_resources(folder)
    )
    return Counter(r["resourceType"] for r in resources)


def test_no_record_lost(duck_hub, sources: dict[str, Path]) -> None:
    _, runs = duck_hub
    for name, folder in sources.items():
        summary = runs[name]["summary"]
        accounted: Counter[str] = Counter()
        for row in summary["accounting"]:
            accounted[row["resource_type"]] += row["records"]
            assert row["outcome"] in ("written", "skipped", "quarantined")
            if row["outcome"] != "written":
                assert row["reason"], row  # every record set aside says why
        assert accounted == received_by_type(folder), name


def test_every_kind_of_record_reaches_its_table(duck_hub) -> None:
    hub, runs = duck_hub
    written = {
        (row["resource_type"]) for run in runs.values() for row in run["summary"]["accounting"]
        if row["outcome"] == "written"
    }  # fmt: skip
    for rtype in ("Patient", "Encounter", "Condition", "Observation", "Procedure", "Immunization",
                  "MedicationRequest", "AllergyIntolerance", "Device", "DocumentReference",
                  "Organization", "Practitioner", "Location", "MedicationAdministration"):  # fmt: skip
        assert rtype in written, rtype
    con = connect(hub.warehouse)
    try:
        for table in (*SOURCED_TABLES, *DERIVED):
            if table == "specimen":
                continue  # neither Synthea nor the generator send Specimen (tested in the specs)
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
        assert con.execute("SELECT count(*) FROM cdm_source").fetchone()[0] == 1
    finally:
        con.close()


def test_mapping_coverage_is_reported_per_vocabulary(duck_hub) -> None:
    _, runs = duck_hub
    coverage = runs["smart"]["summary"]["coverage"]
    assert {"SNOMED", "LOINC", "RxNorm", "CVX"} <= set(coverage)
    assert coverage["CVX"]["mapped"] == 0  # the shared vocabulary subset has no CVX
    assert coverage["LOINC"]["mapped"] / coverage["LOINC"]["records"] > 0.9
    for c in coverage.values():
        assert 0 <= c["mapped"] <= c["records"]


def test_unmapped_codes_are_kept_with_concept_zero(duck_hub) -> None:
    hub, _ = duck_hub
    con = connect(hub.warehouse)
    try:
        kept = con.execute(
            "SELECT count(*) FROM drug_exposure WHERE drug_concept_id = 0"
            " AND drug_source_value IS NOT NULL"
        ).fetchone()[0]
    finally:
        con.close()
    assert kept > 0  # the CVX immunizations, absent from this vocabulary, are all there


def direct_identifiers(sources: dict[str, Path]) -> tuple[set[str], set[str]]:
    """Full names, identifiers, phone numbers and street lines of every source Patient, and
    their family names (searched as whole values: practitioners share surnames)."""
    found: set[str] = set()
    families: set[str] = set()
    for folder in sources.values():
        resources = (
            bundle_resources(folder) if any(folder.glob("*.json.gz")) else ndjson_resources(folder)
        )
        for r in resources:
            if r["resourceType"] != "Patient":
                continue
            for name in r.get("name", []):
                given = " ".join(name.get("given", []))
                if name.get("family"):
                    found.add(f"{given} {name['family']}".strip())
                    families.add(name["family"])
            found.update(i["value"] for i in r.get("identifier", []) if i.get("value"))
            found.update(t["value"] for t in r.get("telecom", []) if t.get("value"))
            for address in r.get("address", []):
                found.update(address.get("line", []))
    # very short values (initials) would match ordinary words
    return {v for v in found if len(v) >= 4}, families


def test_no_direct_identifier_in_the_warehouse(duck_hub, sources: dict[str, Path]) -> None:
    hub, _ = duck_hub
    terms, families = direct_identifiers(sources)
    assert len(terms) > 500
    con = connect(hub.warehouse)
    try:
        con.execute("CREATE TEMP TABLE terms (term VARCHAR, whole BOOLEAN)")
        con.executemany("INSERT INTO terms VALUES (?, ?)",
                        [(t, False) for t in sorted(terms)] + [(f, True) for f in sorted(families)])  # fmt: skip
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE data_type = 'VARCHAR' AND table_schema = 'main' AND table_name <> 'terms'"
            " AND table_name NOT IN (SELECT table_name FROM information_schema.tables"
            "   WHERE table_name LIKE 'concept%' OR table_name IN ('vocabulary', 'domain',"
            "   'relationship', 'drug_strength', 'source_to_concept_map'))"
        ).fetchall()
        leaks = []
        for table, name in columns:
            column = name.replace('"', '""')
            hit = con.execute(
                f'SELECT count(*) FROM "{table}" t JOIN terms ON'
                f' (NOT terms.whole AND length(terms.term) >= 8 AND contains(t."{column}", terms.term))'
                f' OR t."{column}" = terms.term'
            ).fetchone()[0]
            if hit:
                leaks.append(f"{table}.{name}")
    finally:
        con.close()
    assert leaks == [], leaks


def table_rows(hub: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every sourced and derived table's rows, person ids replaced by the person's first
    source record (person keys are random: two hubs give one person different ids) and
    the derived tables' own ids (made from person ids) left out."""
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        label: dict[int, str] = {}
        for provider, patient, person in source_links(vault):
            label[person] = min(label.get(person, "~"), f"{provider}/{patient}")
    finally:
        vault.close()
    con = duckdb.connect(str(hub.warehouse), read_only=True)
    try:
        found = {}
        for table in (*SOURCED_TABLES, *DERIVED):
            cursor = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            rows = []
            for row in cursor.fetchall():
                values = [label.get(v, v) if n == "person_id" else v
                          for n, v in zip(names, row, strict=True)]  # fmt: skip
                rows.append(tuple(values[1:] if table in DERIVED else values))
            found[table] = sorted(rows, key=repr)
        return found
    finally:
        con.close()


@pytest.mark.spark
def test_spark_gives_the_same_omop_rows(duck_hub, shared_data: Path, sources: dict[str, Path],
                                        spark_engine, tmp_path: Path) -> None:  # fmt: skip
    hub, _ = duck_hub
    # real Synthea (Device, MedicationAdministration...) and a generated provider (notes, NIR)
    subset = {
        k: sources[k]
        for k in ("pathling", *[k for k in sources if k not in ("smart", "pathling")][:1])
    }
    spark_hub, runs = build_hub(tmp_path / "spark-hub", shared_data, subset, "spark", hub.keys)
    assert all(r["state"] == "standardized" for r in runs.values())
    duck_only = build_hub(tmp_path / "duck-hub", shared_data, subset, "duckdb", hub.keys)[0]
    expected = table_rows(duck_only)
    got = table_rows(spark_hub)
    for table in expected:
        assert len(got[table]) == len(expected[table]), table
        assert got[table] == expected[table], table
    assert sum(len(v) for v in expected.values()) > 5_000
