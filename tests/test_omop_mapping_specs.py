"""FHIR to OMOP mapping specs: "these FHIR resources in, these OMOP rows out".

Each case is one row of a table: a name, the FHIR resources it sends, the OMOP table it
checks and the rows that table must then hold for the case (only the columns that
matter; surrogate ids are left out unless the relation matters, and then written
``Ref(table, resource type, id)``: the id of the row that table holds for that record).

Strings may say ``{case}``: it becomes the case's own key, so every case has its own
patient (``Patient/{case}``, sent for it unless the case says otherwise) and its own
resource ids. All cases go into one hub in one delivery (plus a second delivery with the
re-sent resources), so the suite ingests twice in all; a case then reads the rows of its
own person (or, for location, care site and provider, the rows whose source value is one
of its ids).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from healthhub.hub.config import Hub, init_hub
from healthhub.hub.pipeline import ingest
from healthhub.identity.keys import KeyStore
from healthhub.identity.links import source_links
from healthhub.identity.vault import Vault
from healthhub.standardize.cdm import quote
from healthhub.standardize.vocabulary import load_source_to_concept_map
from healthhub.standardize.warehouse import connect
from omop_spec_builders import LOCAL_MAP, PROVIDER, Case, Ref
from omop_spec_cases import CASES, UNVIEWED

# --- running the cases -------------------------------------------------------------------


def case_key(index: int) -> str:
    return f"case{index:03d}"


def fill(value: Any, key: str) -> Any:
    """``value`` with ``{case}`` replaced by the case's key, at any depth."""
    return json.loads(json.dumps(value).replace("{case}", key))


def case_resources(case: Case, key: str) -> list[dict[str, Any]]:
    sent = [*([case.patient] if case.patient is not None else []), *case.resources]
    return fill(sent, key)


def write_delivery(
    folder: Path, resources: list[dict[str, Any]], extra: list[tuple[str, str]]
) -> Path:
    folder.mkdir(parents=True)
    by_file: dict[str, list[str]] = {}
    for r in resources:
        by_file.setdefault(f"{r['resourceType']}.ndjson", []).append(json.dumps(r))
    for name, line in extra:
        by_file.setdefault(name, []).append(line)
    for name, lines in by_file.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


@dataclass
class Delivered:
    hub: Hub
    con: duckdb.DuckDBPyConnection
    first: dict[str, Any]  # ingest result of the first delivery
    sent: Counter[str]  # records of the first delivery, per resource type
    people: dict[str, int]  # source patient id -> person_id


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def delivered(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:  # fmt: skip
    """Every case delivered once (and re-sent once), on each engine: the same specs hold."""
    engine = request.param
    if engine == "spark":
        request.getfixturevalue("spark_engine")  # Java present, or a failure under CI
    root = tmp_path_factory.mktemp(f"omop_specs_{engine}")
    hub = init_hub(root / "hub")
    local_map = root / "source_to_concept_map.tsv"
    local_map.write_text("source_code\tsource_vocabulary_id\ttarget_concept_id\n"
                         + "".join(f"{c}\t{v}\t{t}\n" for c, v, t in LOCAL_MAP))  # fmt: skip
    con = connect(hub.warehouse)
    load_source_to_concept_map(con, local_map)
    con.close()
    first = [r for i, case in enumerate(CASES) for r in case_resources(case, case_key(i))]
    extra = [(name, line) for name, line, *_ in UNVIEWED]
    result = ingest(hub, PROVIDER, [write_delivery(root / "first", first, extra)], engine)
    resent = [r for i, case in enumerate(CASES) for r in fill(case.resent, case_key(i))]
    ingest(hub, PROVIDER, [write_delivery(root / "second", resent, [])], engine)
    sent = Counter(r["resourceType"] for r in first)
    sent.update(rtype for _, _, rtype, _, _ in UNVIEWED)
    vault = Vault(hub.vault, KeyStore(hub.keys))
    people = {patient: person for _, patient, person in source_links(vault)}
    vault.close()
    con = connect(hub.warehouse)
    yield Delivered(hub, con, result, sent, people)
    con.close()


# tables without a person: a case's rows are those whose source value is one of its ids
SOURCE_VALUE = {"location": "location_source_value", "care_site": "care_site_source_value",
                "provider": "provider_source_value"}  # fmt: skip


def record_key(d: Delivered, *parts: str) -> int:
    """A source record's key, as the hub computes it (its secret salt first)."""
    salt = KeyStore(d.hub.keys).salt()
    sql = "SELECT hh_key(concat_ws('|', ?, ?" + ", ?" * len(parts) + "))"
    return int(d.con.execute(sql, [salt, PROVIDER, *parts]).fetchone()[0])  # type: ignore[index]


def resolve(d: Delivered, value: Any) -> Any:
    if not isinstance(value, Ref):
        return value
    ids = d.con.execute(
        "SELECT row_id FROM healthhub_lineage WHERE table_name = ? AND record_key = ?",
        [value.table, record_key(d, value.rtype, value.id)],
    ).fetchall()
    return ids[0][0] if len(ids) == 1 else f"{len(ids)} rows for {value}"


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def actual_rows(d: Delivered, case: Case, key: str, columns: list[str]) -> list[dict[str, Any]]:
    if case.table in SOURCE_VALUE:
        where, params = f"{SOURCE_VALUE[case.table]} LIKE ?", [f"{key}-%"]
    else:
        where, params = "person_id = ?", [d.people.get(key, -1)]
    names = [c for c, *_ in d.con.execute(f"DESCRIBE {case.table}").fetchall()]
    missing = [c for c in columns if c not in names]
    assert not missing, f"{case.table} has no column {missing}"
    cursor = d.con.execute(
        f"SELECT {', '.join(columns) or '1'} FROM {case.table} WHERE {where}", params
    )
    return [{c: plain(v) for c, v in zip(columns, row, strict=False)} for row in cursor.fetchall()]


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def params(cases: list[Case]) -> list[Any]:
    marks = {
        i: pytest.mark.xfail(strict=True, reason=c.xfail) for i, c in enumerate(cases) if c.xfail
    }
    return [pytest.param(i, c, id=c.name, marks=marks.get(i, ())) for i, c in enumerate(cases)]


def expected_rows(case: Case, key: str) -> list[dict[str, Any]]:
    """The case's expected rows with ``{case}`` filled in, in Refs too."""
    out = []
    for row in case.rows:
        filled = {}
        for column, value in row.items():
            if isinstance(value, Ref):
                value = Ref(value.table, value.rtype, fill(value.id, key))
            else:
                value = fill(value, key)
            filled[column] = value
        out.append(filled)
    return out


@pytest.mark.parametrize(("index", "case"), params(CASES))
def test_fhir_in_omop_out(delivered: Delivered, index: int, case: Case) -> None:
    key = case_key(index)
    expected = [
        {c: resolve(delivered, v) for c, v in row.items()} for row in expected_rows(case, key)
    ]
    columns = sorted({c for row in expected for c in row})
    actual = actual_rows(delivered, case, key, columns)
    if not expected:
        assert actual == [], f"{case.table} should hold no row for this case"
    assert ordered(actual) == ordered(expected)
    for rtype, rid, _ in case.skipped:
        written = delivered.con.execute(
            "SELECT table_name FROM healthhub_lineage WHERE record_key = ?",
            [record_key(delivered, rtype, fill(rid, key))],
        ).fetchall()
        assert written == [], f"skipped {rtype} {rid} has rows in {written}"


def test_accounting_sums_to_the_records_sent(delivered: Delivered) -> None:
    accounted: Counter[str] = Counter()
    for row in delivered.first["summary"]["accounting"]:
        assert row["outcome"] in ("written", "skipped", "quarantined"), row
        accounted[row["resource_type"]] += row["records"]
    assert dict(accounted) == dict(delivered.sent)


def test_every_skip_is_accounted_for_with_its_reason(delivered: Delivered) -> None:
    expected = Counter((rtype, reason) for case in CASES for rtype, _, reason in case.skipped)
    expected.update(
        (rtype, reason) for *_, rtype, outcome, reason in UNVIEWED if outcome == "skipped"
    )
    actual = Counter({(r["resource_type"], r["reason"]): r["records"]
                      for r in delivered.first["summary"]["accounting"] if r["outcome"] == "skipped"})  # fmt: skip
    assert actual == expected


def test_quarantined_records_are_accounted_for(delivered: Delivered) -> None:
    expected = Counter(rtype for *_, rtype, outcome, _ in UNVIEWED if outcome == "quarantined")
    actual = Counter({r["resource_type"]: r["records"] for r in delivered.first["summary"]["accounting"]
                      if r["outcome"] == "quarantined"})  # fmt: skip
    assert actual == expected


def test_patient_names_reach_no_warehouse_table(delivered: Delivered) -> None:
    """The named patient's name, phone and MRN appear in no text column of any table."""
    secrets = ["Zebulon", "Quarrington", "555-0199", "MRN-4417"]
    columns = delivered.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
    ).fetchall()
    found = []
    for table, column in columns:
        for secret in secrets:
            hits = delivered.con.execute(
                f"SELECT count(*) FROM {quote(table)} WHERE lower({quote(column)}) LIKE ?",
                [f"%{secret.lower()}%"],
            ).fetchone()[0]  # type: ignore[index]
            if hits:
                found.append((table, column, secret))
    assert found == []
