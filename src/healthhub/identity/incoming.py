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
from healthhub.identity import national_ids
from healthhub.identity.crypto import blind_indexes, source_texts


def _national_ids(con: duckdb.DuckDBPyConnection) -> None:
    """``incoming_nid`` (patient_id, scheme, value, status): the first recognised one."""
    rows = con.execute("""
        SELECT id, split_part(entry, '|', 1) AS system,
               substr(entry, length(split_part(entry, '|', 1)) + 2) AS value, position
        FROM (SELECT id, unnest(identifier_entries) AS entry,
                     generate_subscripts(identifier_entries, 1) AS position FROM staged)
        """).fetchall()
    found: dict[str, tuple[int, str, str]] = {}
    for patient, system, value, position in rows:
        scheme = national_ids.scheme_for_system(system)
        if scheme is None or not value:
            continue
        if patient not in found or position < found[patient][0]:
            found[patient] = (position, scheme.name, value)
    patients = list(found)
    schemes = [found[p][1] for p in patients]
    values, statuses = [], []
    for patient, scheme_name in zip(patients, schemes, strict=True):
        verdict = national_ids.validate(scheme_name, found[patient][2])
        values.append(verdict.value)
        statuses.append(verdict.status)
    con.register("nid_arrow", pa.table({
        "patient_id": pa.array(patients, pa.string()), "scheme": pa.array(schemes, pa.string()),
        "value": pa.array(values, pa.string()), "status": pa.array(statuses, pa.string()),
    }))  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE incoming_nid AS SELECT * FROM nid_arrow")
    con.unregister("nid_arrow")


def _consistency(con: duckdb.DuckDBPyConnection) -> None:
    """A valid national id that contradicts the record's sex or birth date is not used."""
    rows = con.execute("""
        SELECT n.patient_id, n.scheme, n.value, s.gender, s.birth_date
        FROM incoming_nid n JOIN staged s ON s.id = n.patient_id WHERE n.status = 'valid'
        """).fetchall()
    inconsistent = [patient for patient, scheme, value, sex, birth in rows
                    if national_ids.consistent_with(scheme, value, sex, birth) is False]  # fmt: skip
    if inconsistent:
        con.register("inconsistent", pa.table({"patient_id": pa.array(inconsistent, pa.string())}))
        con.execute("UPDATE incoming_nid SET status = 'inconsistent' WHERE patient_id IN"
                    " (SELECT patient_id FROM inconsistent)")  # fmt: skip
        con.unregister("inconsistent")


def stage_incoming(con: duckdb.DuckDBPyConnection, patient_file: Path, provider: str,
                   index_key: bytes) -> int:  # fmt: skip
    """Make ``incoming`` from the run's flattened patients; returns its row count."""
    p = DUCKDB.string(provider)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE staged AS
        SELECT * FROM read_parquet({DUCKDB.string(str(patient_file))}) WHERE id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY last_updated DESC NULLS LAST) = 1""")
    _national_ids(con)
    _consistency(con)
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
            CAST(NULL AS BIGINT) AS source_key
        FROM staged s LEFT JOIN incoming_nid n ON n.patient_id = s.id""")
    ids = [r[0] for r in con.execute("SELECT patient_id FROM incoming ORDER BY 1").fetchall()]
    keys = blind_indexes(index_key, "source", source_texts([provider] * len(ids), ids))
    con.register("source_keys", pa.table({"patient_id": pa.array(ids, pa.string()),
                                          "source_key": pa.array(keys, pa.int64())}))  # fmt: skip
    con.execute("UPDATE incoming SET source_key = k.source_key FROM source_keys k"
                " WHERE k.patient_id = incoming.patient_id")  # fmt: skip
    con.unregister("source_keys")
    con.execute("DROP TABLE staged")
    return len(ids)
