"""Vocabulary loading: Athena downloads, local maps, the starter vocabulary and its rules."""

from __future__ import annotations

import csv
import datetime
import importlib.util
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from healthhub.exceptions import InputFileError, UserError
from healthhub.standardize.cdm import create_warehouse_tables
from healthhub.standardize.vocabulary import (
    code_systems,
    load_source_to_concept_map,
    load_starter_vocabulary,
    load_vocabulary,
    vocabulary_loaded,
)
from healthhub.synth import codes, emitted_codes

REPO = Path(__file__).resolve().parents[1]
STARTER_VOCABULARIES = {"SNOMED", "LOINC", "RxNorm", "CVX"}
CONCEPT_HEADER = (
    "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\t"
    "concept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason"
)


def records(path: Path) -> int:
    """Data rows of a quoted CSV file (a quoted value may hold a line break)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def athena(tmp_path: Path) -> Path:
    """A tiny Athena download: tab-separated, unquoted, YYYYMMDD dates, odd file names."""
    folder = tmp_path / "athena"
    write(
        folder / "concept.csv",
        CONCEPT_HEADER,
        '1\tPain "severe"\tCondition\tSNOMED\tClinical Finding\tS\t22253000\t19700101\t20991231\t',
        "2\tOld pain\tCondition\tSNOMED\tClinical Finding\t\t9999\t19700101\t20200131\tU",
    )
    write(
        folder / "Concept_Relationship.TSV",
        "concept_id_1\tconcept_id_2\trelationship_id\tvalid_start_date\tvalid_end_date\t"
        "invalid_reason",
        "2\t1\tMaps to\t20200131\t20991231\t",
        "1\t1\tMaps to\t19700101\t20991231\t",
    )
    write(
        folder / "VOCABULARY.txt",
        "vocabulary_id\tvocabulary_name\tvocabulary_reference\tvocabulary_version\t"
        "vocabulary_concept_id",
        "SNOMED\tSNOMED CT\thttp://snomed.info\t2024\t44819097",
    )
    write(folder / "README.txt", "not a vocabulary table")
    return folder


# -- Athena downloads ------------------------------------------------------------------------


def test_shared_vocabulary_loads_every_row(shared_data: Path) -> None:
    folder = shared_data / "omop-vocab"
    con = duckdb.connect()
    seen: list[str] = []
    summary = load_vocabulary(con, [folder], progress=lambda table, rows: seen.append(table))
    files = {p.stem.lower(): p for p in folder.glob("*.csv")}
    assert set(summary.rows) == set(files) == set(seen)
    for table, path in files.items():
        assert summary.rows[table] == records(path) == count(con, f"SELECT count(*) FROM {table}")
    # quoted empty values are NULL; dates are dates
    assert count(con, "SELECT count(*) FROM concept WHERE standard_concept = ''") == 0
    row = con.execute(
        "SELECT concept_name, valid_end_date FROM concept WHERE concept_id = 40316773"
    ).fetchone()
    assert row is not None and row[0] == "Prediabetes" and str(row[1]) == "2002-01-31"
    assert summary.seconds < 10


def test_several_folders_combine_and_the_later_folder_wins(shared_data: Path) -> None:
    top, shard = shared_data / "omop-vocab", shared_data / "omop-vocab" / "dbt-synthea-shard"
    con = duckdb.connect()
    summary = load_vocabulary(con, [top, shard])
    keys: set[tuple[str, str, str]] = set()
    for path in (top / "CONCEPT_RELATIONSHIP.csv", shard / "CONCEPT_RELATIONSHIP.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            keys |= {
                (r["concept_id_1"], r["concept_id_2"], r["relationship_id"])
                for r in csv.DictReader(fh)
            }
    assert summary.rows["concept_relationship"] == len(keys)
    assert summary.rows["concept_ancestor"] == records(shard / "CONCEPT_ANCESTOR.csv")
    assert summary.rows["concept"] == records(top / "CONCEPT.csv")
    duplicates = count(
        con,
        "SELECT count(*) FROM (SELECT 1 FROM concept_relationship "
        "GROUP BY concept_id_1, concept_id_2, relationship_id HAVING count(*) > 1)",
    )
    assert duplicates == 0


def test_later_folder_row_replaces_the_same_key(athena: Path, tmp_path: Path) -> None:
    later = write(
        tmp_path / "later" / "CONCEPT.csv",
        CONCEPT_HEADER,
        "1\tSevere pain\tCondition\tSNOMED\tClinical Finding\tS\t22253000\t19700101\t20991231\t",
    ).parent
    con = duckdb.connect()
    load_vocabulary(con, [athena, later])
    assert con.execute("SELECT concept_id, concept_name FROM concept ORDER BY 1").fetchall() == [
        (1, "Severe pain"),
        (2, "Old pain"),
    ]


def test_athena_layout_loads(athena: Path) -> None:
    con = duckdb.connect()
    summary = load_vocabulary(con, [athena])
    assert summary.rows == {"vocabulary": 1, "concept": 2, "concept_relationship": 2}
    assert con.execute("SELECT * FROM concept ORDER BY concept_id").fetchall()[1][5:] == (
        None,
        "9999",
        datetime.date(1970, 1, 1),
        datetime.date(2020, 1, 31),
        "U",
    )
    name = con.execute("SELECT concept_name FROM concept WHERE concept_id = 1").fetchone()
    assert name == ('Pain "severe"',)  # Athena does not quote: a quote is a character
    assert vocabulary_loaded(con)


def test_loading_again_replaces_the_tables(athena: Path) -> None:
    con = duckdb.connect()
    first = load_vocabulary(con, [athena])
    second = load_vocabulary(con, [athena])
    assert first.rows == second.rows
    assert count(con, "SELECT count(*) FROM concept") == 2


def test_tables_without_a_file_are_left_alone(athena: Path, tmp_path: Path) -> None:
    only_concepts = write(tmp_path / "only" / "CONCEPT.tsv", CONCEPT_HEADER).parent
    con = duckdb.connect()
    load_vocabulary(con, [athena])
    summary = load_vocabulary(con, [only_concepts])
    assert summary.rows == {"concept": 0}
    assert count(con, "SELECT count(*) FROM concept_relationship") == 2


def test_a_folder_without_concept_is_an_error(tmp_path: Path, athena: Path) -> None:
    (athena / "concept.csv").unlink()
    with pytest.raises(InputFileError, match="no CONCEPT file in") as error:
        load_vocabulary(duckdb.connect(), [athena])
    assert isinstance(error.value, UserError) and error.value.exit_code == 2
    with pytest.raises(InputFileError, match="not a folder"):
        load_vocabulary(duckdb.connect(), [tmp_path / "missing"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x\tPain\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t",
         r"line 3: column concept_id: expected a value of type INTEGER"),
        ("3\tPain\tCondition\tSNOMED\tClinical Finding\tS\t1\t19701301\t20991231\t",
         r"line 3: column valid_start_date: expected a date written YYYYMMDD"),
        ("3\tPain\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101",
         r"line 3: expected 10 fields, found 8"),
    ],
)  # fmt: skip
def test_a_bad_row_names_the_file_and_line(athena: Path, line: str, message: str) -> None:
    good = "1\tPain\tCondition\tSNOMED\tClinical Finding\tS\t22253000\t19700101\t20991231\t"
    path = write(athena / "concept.csv", CONCEPT_HEADER, good, line)
    with pytest.raises(InputFileError, match=message) as error:
        load_vocabulary(duckdb.connect(), [athena])
    assert str(path) in str(error.value)
    assert "Pain" not in str(error.value)  # no value of the file in the message


def test_a_failed_load_leaves_the_tables_as_they_were(athena: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    load_vocabulary(con, [athena])
    bad = write(
        tmp_path / "bad" / "CONCEPT.csv",
        CONCEPT_HEADER,
        "x\tPain\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t",
    ).parent
    write(bad / "VOCABULARY.csv", (athena / "VOCABULARY.txt").read_text().strip())
    with pytest.raises(InputFileError):
        load_vocabulary(con, [bad])
    assert count(con, "SELECT count(*) FROM concept") == 2
    assert count(con, "SELECT count(*) FROM vocabulary") == 1


def test_a_header_without_required_columns_is_an_error(athena: Path) -> None:
    path = write(athena / "concept.csv", "concept_id\tconcept_name", "1\tPain")
    with pytest.raises(InputFileError, match=r"line 1: the header lacks column\(s\) domain_id"):
        load_vocabulary(duckdb.connect(), [athena])
    assert path.exists()


def test_a_date_in_another_format_is_an_error(athena: Path) -> None:
    write(
        athena / "concept.csv",
        CONCEPT_HEADER,
        "1\tPain\tCondition\tSNOMED\tClinical Finding\tS\t1\t01/01/1970\t20991231\t",
    )
    with pytest.raises(InputFileError, match="line 2: column valid_start_date: dates must"):
        load_vocabulary(duckdb.connect(), [athena])


def test_two_files_for_one_table_in_a_folder_is_an_error(athena: Path) -> None:
    write(athena / "CONCEPT.tsv", CONCEPT_HEADER)
    with pytest.raises(InputFileError, match="keep one"):
        load_vocabulary(duckdb.connect(), [athena])


def test_vocabulary_loaded() -> None:
    con = duckdb.connect()
    assert not vocabulary_loaded(con)
    con.execute("CREATE TABLE concept (concept_id INTEGER)")
    assert not vocabulary_loaded(con)


# -- local source-to-concept maps -----------------------------------------------------------


STCM_FILE = "omop-vocab/dbt-synthea-shard/SOURCE_TO_CONCEPT_MAP.csv"


def stcm_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT source_code, source_concept_id, source_vocabulary_id, source_code_description, "
        "target_concept_id, target_vocabulary_id, CAST(valid_start_date AS VARCHAR), "
        "CAST(valid_end_date AS VARCHAR) FROM source_to_concept_map ORDER BY source_code"
    ).fetchall()


def test_source_to_concept_map_loads_and_replaces(shared_data: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    assert load_source_to_concept_map(con, shared_data / STCM_FILE) == 2
    assert load_source_to_concept_map(con, shared_data / STCM_FILE) == 2  # same keys: replaced
    assert stcm_rows(con) == [
        ("U/L", 0, "Synthea units", "U/L", 8645, "UCUM", "1970-01-01", "2099-12-31"),
        ("{score}", 0, "Synthea units", "{score}", 44777566, "UCUM", "1970-01-01", "2099-12-31"),
    ]
    load_starter_vocabulary(con)
    local = write(
        tmp_path / "map.csv",
        "source_vocabulary_id,source_code,target_concept_id,source_code_description,extra",
        "Synthea units,U/L,8645,units per litre,x",
        "Local labs,GLU,0,,y",
        "Local sex,M,8507,,z",
    )
    assert load_source_to_concept_map(con, local) == 3
    assert stcm_rows(con) == [
        ("GLU", 0, "Local labs", None, 0, "None", "1970-01-01", "2099-12-31"),
        ("M", 0, "Local sex", None, 8507, "Gender", "1970-01-01", "2099-12-31"),
        ("U/L", 0, "Synthea units", "units per litre", 8645, "UCUM", "1970-01-01", "2099-12-31"),
        ("{score}", 0, "Synthea units", "{score}", 44777566, "UCUM", "1970-01-01", "2099-12-31"),
    ]


def test_source_to_concept_map_errors(tmp_path: Path) -> None:
    con = duckdb.connect()
    create_warehouse_tables(con, ["source_to_concept_map"])
    header = "source_code,source_vocabulary_id,target_concept_id"
    no_target = write(tmp_path / "a.csv", "source_code,source_vocabulary_id", "A,Local")
    with pytest.raises(
        InputFileError, match=r"a\.csv: line 1: .*lacks column\(s\) target_concept_id"
    ):
        load_source_to_concept_map(con, no_target)
    not_integer = write(tmp_path / "b.csv", header, "A,Local,8507", "B,Local,male")
    with pytest.raises(
        InputFileError, match=r"b\.csv: line 3: target_concept_id must be an integer"
    ):
        load_source_to_concept_map(con, not_integer)
    empty_code = write(tmp_path / "c.csv", header, ",Local,8507")
    with pytest.raises(InputFileError, match=r"c\.csv: line 2: source_code is empty"):
        load_source_to_concept_map(con, empty_code)
    with pytest.raises(InputFileError, match="no such file"):
        load_source_to_concept_map(con, tmp_path / "missing.csv")
    assert count(con, "SELECT count(*) FROM source_to_concept_map") == 0


# -- the starter vocabulary ----------------------------------------------------------------


@pytest.fixture(scope="module")
def starter() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_starter_vocabulary(con)
    return con


def test_starter_files_are_athena_layout() -> None:
    folder = resources.files("healthhub.standardize").joinpath("starter")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".csv"))
    assert names == [
        "CONCEPT.csv", "CONCEPT_ANCESTOR.csv", "CONCEPT_CLASS.csv", "CONCEPT_RELATIONSHIP.csv",
        "DOMAIN.csv", "RELATIONSHIP.csv", "VOCABULARY.csv",
    ]  # fmt: skip
    lines = folder.joinpath("CONCEPT.csv").read_text("utf-8").splitlines()
    assert lines[0] == CONCEPT_HEADER
    assert all(
        line.split("\t")[7].isdigit() and len(line.split("\t")[7]) == 8 for line in lines[1:]
    )
    assert 300 < len(lines) < 5000


def test_starter_maps_every_emitted_code_to_a_standard_concept(
    starter: duckdb.DuckDBPyConnection,
) -> None:
    systems = code_systems()
    wanted = [
        (systems[system], code)
        for system, code, _ in emitted_codes()
        if systems.get(system) in STARTER_VOCABULARIES
    ]
    assert {v for v, _ in wanted} == STARTER_VOCABULARIES
    mapped = set(
        starter.execute(
            "SELECT source.vocabulary_id, source.concept_code FROM concept AS source "
            "JOIN concept_relationship AS r ON r.concept_id_1 = source.concept_id "
            "AND r.relationship_id = 'Maps to' AND r.invalid_reason IS NULL "
            "JOIN concept AS target ON target.concept_id = r.concept_id_2 "
            "AND target.standard_concept = 'S' AND target.invalid_reason IS NULL"
        ).fetchall()
    )
    assert [code for code in wanted if code not in mapped] == []


def test_starter_has_every_unit_the_generator_writes(starter: duckdb.DuckDBPyConnection) -> None:
    units = {lab.unit for lab in codes.LABS.values()} | {m.unit for m in codes.MEDICATIONS.values()}
    units |= {v.unit for v in vars(codes).values() if isinstance(v, codes.Vital)} | {"d"}
    found = {
        code
        for (code,) in starter.execute(
            "SELECT concept_code FROM concept WHERE vocabulary_id = 'UCUM' "
            "AND domain_id = 'Unit' AND standard_concept = 'S'"
        ).fetchall()
    }
    assert units - found == set()


def test_every_generator_drug_has_an_ingredient(starter: duckdb.DuckDBPyConnection) -> None:
    drugs = {code for system, code, _ in emitted_codes() if system == codes.RXNORM}
    with_ingredient = {
        code
        for (code,) in starter.execute(
            "SELECT DISTINCT drug.concept_code FROM concept AS drug "
            "JOIN concept_ancestor AS a ON a.descendant_concept_id = drug.concept_id "
            "JOIN concept AS ingredient ON ingredient.concept_id = a.ancestor_concept_id "
            "WHERE drug.vocabulary_id = 'RxNorm' AND ingredient.concept_class_id = 'Ingredient' "
            "AND ingredient.vocabulary_id IN ('RxNorm', 'RxNorm Extension') "
            "AND ingredient.standard_concept = 'S'"
        ).fetchall()
    }
    assert drugs - with_ingredient == set()


def test_starter_rules_hold(starter: duckdb.DuckDBPyConnection) -> None:
    def none(sql: str) -> None:
        assert starter.execute(sql).fetchall() == [], sql

    # every standard concept maps to itself and is its own ancestor
    none(
        "SELECT concept_id FROM concept WHERE standard_concept = 'S' AND concept_id NOT IN "
        "(SELECT concept_id_1 FROM concept_relationship WHERE concept_id_1 = concept_id_2 "
        "AND relationship_id = 'Maps to')"
    )
    none(
        "SELECT concept_id FROM concept WHERE standard_concept = 'S' AND concept_id NOT IN "
        "(SELECT ancestor_concept_id FROM concept_ancestor WHERE ancestor_concept_id = "
        "descendant_concept_id AND min_levels_of_separation = 0)"
    )
    # every reference resolves
    none(
        "SELECT * FROM concept_relationship WHERE concept_id_1 NOT IN (SELECT concept_id FROM "
        "concept) OR concept_id_2 NOT IN (SELECT concept_id FROM concept) "
        "OR relationship_id NOT IN (SELECT relationship_id FROM relationship)"
    )
    none(
        "SELECT * FROM concept_ancestor WHERE ancestor_concept_id NOT IN (SELECT concept_id "
        "FROM concept) OR descendant_concept_id NOT IN (SELECT concept_id FROM concept)"
    )
    none(
        "SELECT * FROM concept WHERE vocabulary_id NOT IN (SELECT vocabulary_id FROM vocabulary)"
        " OR domain_id NOT IN (SELECT domain_id FROM domain) "
        "OR concept_class_id NOT IN (SELECT concept_class_id FROM concept_class)"
    )
    # a code names one concept; local concepts are numbered from 2,000,000,001
    none(
        "SELECT vocabulary_id, concept_code FROM concept GROUP BY ALL HAVING count(*) > 1 "
        "AND min(concept_code) <> 'healthhub:unknown-code'"
    )
    local = starter.execute(
        "SELECT min(concept_id), max(concept_id), count(*) FROM concept "
        "WHERE concept_id >= 2000000000"
    ).fetchone()
    assert local is not None and local[0] == 2_000_000_001
    assert local[1] - local[0] + 1 == local[2]
    # the CVX vaccines are local drugs
    assert starter.execute(
        "SELECT DISTINCT domain_id, concept_class_id FROM concept WHERE vocabulary_id = 'CVX'"
    ).fetchall() == [("Drug", "CVX")]


@pytest.mark.parametrize(
    ("concept_id", "domain"),
    [(0, "Metadata"), (8507, "Gender"), (8532, "Gender"), (8551, "Gender"), (8521, "Gender"),
     (8527, "Race"), (8516, "Race"), (8515, "Race"), (8657, "Race"), (8557, "Race"),
     (38003563, "Ethnicity"), (38003564, "Ethnicity"), (9201, "Visit"), (9202, "Visit"),
     (9203, "Visit"), (262, "Visit"), (581476, "Visit"), (5083, "Visit"), (32036, "Visit"),
     (32817, "Type Concept"), (32818, "Type Concept"), (32838, "Type Concept"),
     (32865, "Type Concept"), (32880, "Type Concept"), (32678, "Metadata"),
     (4180186, "Language"), (4171756, "Meas Value Operator"), (4171754, "Meas Value Operator"),
     (4172703, "Meas Value Operator"), (4172704, "Meas Value Operator"),
     (4171755, "Meas Value Operator")],
)  # fmt: skip
def test_starter_has_the_etl_constants(
    starter: duckdb.DuckDBPyConnection, concept_id: int, domain: str
) -> None:
    row = starter.execute(
        "SELECT domain_id FROM concept WHERE concept_id = ?", [concept_id]
    ).fetchone()
    assert row == (domain,)


def test_starter_is_what_the_tool_generates(shared_data: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_starter_vocabulary", REPO / "tools" / "gen_starter_vocabulary.py"
    )
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    files = tool.render(tool.build(shared_data / "omop-vocab"))
    folder = resources.files("healthhub.standardize").joinpath("starter")
    for name, text in files.items():
        assert folder.joinpath(name).read_text("utf-8") == text, f"rerun the tool: {name}"


def test_starter_loads_again_without_change() -> None:
    con = duckdb.connect()
    first = load_starter_vocabulary(con)
    second = load_starter_vocabulary(con)
    assert first.rows == second.rows and vocabulary_loaded(con)


def test_code_systems_are_rules() -> None:
    systems = code_systems()
    assert systems["http://snomed.info/sct"] == "SNOMED"
    assert systems["http://hl7.org/fhir/sid/cvx"] == "CVX"
    assert systems["http://unitsofmeasure.org"] == "UCUM"
    systems.clear()  # a copy: the rules stay
    assert code_systems()["http://loinc.org"] == "LOINC"
