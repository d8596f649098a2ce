"""A delivery's Patient rows as vault records: identifiers, national ids checked, keys.

From the flattened patient view (``<staging>/patient.parquet``, which carries the direct
identifiers) this makes the temporary table ``incoming``: one row per source patient of
the delivery (the copy last updated when one is sent twice), with the vault's identity
columns, the national identifier found among the patient's identifiers (recognised by its
``Identifier.system``) with its status, and two keys:

- ``source_key``: the blind index of (provider, patient id), how the vault finds the
  record again when the provider re-sends it;
- ``patient_key``: the warehouse's salted key of the source Patient, as the standardise
  stage computes it, so that moving a source patient to another person can be expressed
  to the warehouse without any identifier.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from healthhub.engines.dialects import DUCKDB
from healthhub.identity import national_ids, national_ids_sql
from healthhub.identity.crypto import blind_indexes, source_texts


def _national_ids(con: duckdb.DuckDBPyConnection) -> None:
    """``incoming_nid`` (patient_id, scheme, value, status): the patient's first identifier
    whose system is a national identifier scheme, normalised and checked; a valid one that
    contradicts the record's sex or birth date is ``inconsistent`` (a parent's number on a
    child's record): kept, but not linked on."""
    systems = [(system, scheme.name) for scheme in national_ids.schemes()
               for system in scheme.systems]  # fmt: skip
    con.register("nid_systems", pa.table({"system": [s for s, _ in systems],
                                          "scheme": [n for _, n in systems]}))  # fmt: skip
    con.execute("""
        CREATE OR REPLACE TEMP TABLE nid_found AS
        SELECT e.id AS patient_id, n.scheme, e.value, e.gender, e.birth_date FROM (
            SELECT id, gender, birth_date, split_part(entry, '|', 1) AS system,
                substr(entry, length(split_part(entry, '|', 1)) + 2) AS value, position
            FROM (SELECT id, gender, birth_date, unnest(identifier_entries) AS entry,
                         generate_subscripts(identifier_entries, 1) AS position FROM staged)) e
        JOIN nid_systems n ON n.system = e.system OR n.system = 'urn:oid:' || e.system
        WHERE e.value <> ''
        QUALIFY row_number() OVER (PARTITION BY e.id ORDER BY e.position) = 1""")
    con.unregister("nid_systems")
    con.execute("CREATE OR REPLACE TEMP TABLE incoming_nid (patient_id VARCHAR, scheme VARCHAR,"
                " value VARCHAR, status VARCHAR)")  # fmt: skip
    for (scheme,) in con.execute("SELECT DISTINCT scheme FROM nid_found ORDER BY 1").fetchall():
        if national_ids_sql.has_sql(scheme):  # set-based
            normal, status = national_ids_sql.sql_verdict(
                scheme, "value", "n", "gender", "birth_date"
            )
            con.execute(f"INSERT INTO incoming_nid SELECT patient_id, scheme, n, {status} FROM"
                        f" (SELECT *, {normal} AS n FROM nid_found WHERE scheme = ?)", [scheme])  # fmt: skip
            continue
        _check_in_python(con, scheme)
    con.execute("DROP TABLE nid_found")


def _check_in_python(con: duckdb.DuckDBPyConnection, scheme: str) -> None:
    """The schemes without an SQL form: validated a column at a time in Python."""
    rows = con.execute("SELECT patient_id, value, gender, birth_date FROM nid_found"
                       " WHERE scheme = ?", [scheme]).fetchall()  # fmt: skip
    ids = [r[0] for r in rows]
    normal, status = national_ids.validate_column(scheme, [r[1] for r in rows])
    valid = [i for i, st in enumerate(status) if st == "valid"]
    agree = national_ids.consistent_column(scheme, [normal[i] for i in valid],
                                            [rows[i][2] for i in valid],
                                            [rows[i][3] for i in valid])  # fmt: skip
    checked: list[str] = list(status)
    for i, ok in zip(valid, agree, strict=True):
        if ok is False:
            checked[i] = "inconsistent"
    con.register("nid_arrow", pa.table({
        "patient_id": pa.array(ids, pa.string()), "scheme": pa.array([scheme] * len(ids), pa.string()),
        "value": pa.array(normal, pa.string()), "status": pa.array(checked, pa.string()),
    }))  # fmt: skip
    con.execute("INSERT INTO incoming_nid SELECT * FROM nid_arrow")
    con.unregister("nid_arrow")


def stage_incoming(con: duckdb.DuckDBPyConnection, patient_file: Path, provider: str,
                   index_key: bytes) -> int:  # fmt: skip
    """Make ``incoming`` from the run's flattened patients; returns its row count."""
    p = DUCKDB.string(provider)
    source = f"read_parquet({DUCKDB.string(str(patient_file))})"
    repeated = con.execute(f"SELECT count(id) - count(DISTINCT id) FROM {source}").fetchall()[0][0]
    if repeated:  # a Patient sent twice in one delivery: the copy last updated
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM {source} WHERE id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY last_updated DESC NULLS LAST) = 1""")
    else:  # the usual case: read in place
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW staged AS SELECT * FROM {source} WHERE id IS NOT NULL"
        )
    _national_ids(con)
    ids = con.sql("SELECT id FROM staged ORDER BY 1").to_arrow_table().column(0).to_pylist()
    keys = blind_indexes(index_key, "source", source_texts([provider] * len(ids), ids))
    con.register("source_keys", pa.table({"patient_id": pa.array(ids, pa.string()),
                                          "source_key": pa.array(keys, pa.int64())}))  # fmt: skip
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE incoming AS
        SELECT {p} AS provider, s.id AS patient_id, s.given, s.all_given, s.family,
            s.all_family, s.birth_date, s.gender, s.address_line, s.city, s.postal_code,
            s.country, s.all_address_lines, s.all_cities, s.all_postal_codes, s.phone,
            s.email, s.all_telecom, s.mrn, s.all_identifiers, s.identifier_entries,
            coalesce(s.multiple_birth_boolean, s.multiple_birth_integer IS NOT NULL)
                AS multiple_birth,
            n.scheme AS national_id_scheme, n.value AS national_id,
            coalesce(n.status, 'absent') AS national_id_status,
            hh_key(concat_ws('|', hh_salt(), {p}, 'Patient', s.id)) AS patient_key,
            k.source_key
        FROM staged s LEFT JOIN incoming_nid n ON n.patient_id = s.id
        JOIN source_keys k ON k.patient_id = s.id""")
    con.unregister("source_keys")
    con.execute("DROP VIEW IF EXISTS staged" if not repeated else "DROP TABLE staged")
    return len(ids)
