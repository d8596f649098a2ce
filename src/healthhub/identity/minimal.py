"""The identify stage, minimal form: one hub person per (provider, source patient id).

This module is the only one that reads the direct identifiers of the flattened Patient
rows (the columns the patient view tags ``healthhub/identifier = direct``). It

1. derives each person's warehouse ``person_id`` by HMAC under the hub key and records the
   link (provider, source patient id) -> person_id in the identity vault;
2. moves the direct identifiers into the vault;
3. writes what standardisation reads into ``<staging>/identified/``, so nothing downstream
   can read an identifier: the patient rows without the direct columns, and the views with
   free text (notes, text values, dosage instructions, titles) with the patient's own
   names, identifiers, phone numbers, e-mail, address lines and birth date replaced by
   placeholders;
4. writes ``identified/person_map.parquet`` (provider, patient_id, person_id,
   has_birth_date): every person of the provider, this delivery's and earlier ones'.

The flattened files are left as they are until the run ends, so the stage can run again
(after a failure) and give the same result.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from healthhub.engines.base import Engine
from healthhub.identity.pseudonyms import person_ids
from healthhub.sources.fhir.runner import library_views

VAULT_SCHEMA = """
CREATE TABLE IF NOT EXISTS person_link (
    provider TEXT NOT NULL, source_patient_id TEXT NOT NULL, person_id INTEGER NOT NULL,
    run_id TEXT NOT NULL, PRIMARY KEY (provider, source_patient_id));
CREATE TABLE IF NOT EXISTS identifier (
    provider TEXT NOT NULL, source_patient_id TEXT NOT NULL, kind TEXT NOT NULL,
    value TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (provider, source_patient_id, kind, value));
"""
# placeholder written into note text for each kind of identifier
PLACEHOLDERS = {
    "name": "[NAME]",
    "id": "[ID]",
    "contact": "[CONTACT]",
    "address": "[ADDRESS]",
    "birth_date": "[BIRTH DATE]",
}
# vault kind (a patient view column) -> the placeholder group it is scrubbed as
KIND_OF_COLUMN = {
    "family": "name",
    "given": "name",
    "all_family": "name",
    "all_given": "name",
    "mrn": "id",
    "national_id": "id",
    "all_identifiers": "id",
    "phone": "contact",
    "email": "contact",
    "all_telecom": "contact",
    "address_line": "address",
    "city": "address",
    "postal_code": "address",
    "all_address_lines": "address",
    "all_cities": "address",
    "all_postal_codes": "address",
    "birth_date": "birth_date",
}  # fmt: skip  (country is kept in the vault but not scrubbed: it names no one)
IDENTIFIED = "identified"  # the staging sub-folder standardisation reads first
REGEX_SPECIAL = set("\\.^$|?*+()[]{}")
MIN_TERM = 3  # shorter strings (initials, "12") would blank ordinary words and numbers
NEVER = "\\b\\B"  # a regular expression that matches nothing (RE2 and Java alike)


def usable_date(text: str | None) -> bool:
    """Whether the warehouse can read a year from this FHIR date (as ``hh_date`` does)."""
    if not text:
        return False
    padded = {4: f"{text}-01-01", 7: f"{text}-01"}.get(len(text), text[:10])
    try:
        date.fromisoformat(padded)
    except ValueError:
        return False
    return len(padded) == 10


def direct_columns() -> list[str]:
    """The patient view's columns tagged as direct identifiers."""
    view = next(v for v in library_views() if v.name == "patient")
    return view.tagged_columns("healthhub/identifier", "direct")


@dataclass
class IdentifySummary:
    source_patients: int
    new_people: int
    people: int
    notes_scrubbed: int

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _escape(term: str) -> str:
    return "".join("\\" + ch if ch in REGEX_SPECIAL else ch for ch in term)


def _pattern(terms: set[str]) -> str | None:
    usable = sorted(
        {t.strip() for t in terms if t and len(t.strip()) >= MIN_TERM}, key=lambda t: (-len(t), t)
    )
    if not usable:
        return None
    return "(?i)(" + "|".join(_escape(t) for t in usable) + ")"


class Vault:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        self.db = sqlite3.connect(folder / "identity.sqlite")  # commits with `with db:`
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(VAULT_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def people(self, provider: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT source_patient_id, person_id FROM person_link WHERE provider = ?", (provider,)
        )
        return dict(rows.fetchall())

    def birth_dates(self, provider: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT source_patient_id, value FROM identifier WHERE provider = ?"
            " AND kind = 'birth_date'",
            (provider,),
        )
        return dict(rows.fetchall())

    def count_people(self) -> int:
        return int(
            self.db.execute("SELECT count(DISTINCT person_id) FROM person_link").fetchone()[0]
        )

    def terms(self, provider: str) -> dict[str, dict[str, set[str]]]:
        found: dict[str, dict[str, set[str]]] = {}
        for patient, kind, value in self.db.execute(
            "SELECT source_patient_id, kind, value FROM identifier WHERE provider = ?", (provider,)
        ):
            group = KIND_OF_COLUMN.get(kind)
            if group is None:
                continue
            terms = found.setdefault(patient, {}).setdefault(group, set())
            terms.add(value)
            if group == "name":  # each word of a name on its own too
                terms.update(value.split())
            elif group == "birth_date":
                terms.update(date_spellings(value))
        return found


def date_spellings(value: str) -> set[str]:
    """How a birth date may be written in a note: 1961-03-12, 12/03/1961, 03/12/1961, ..."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return set()
    d, m, y = f"{day.day:02d}", f"{day.month:02d}", f"{day.year:04d}"
    return {f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}", f"{d}-{m}-{y}", f"{y}{m}{d}",
            f"{y}/{m}/{d}"}  # fmt: skip


def identify(engine: Engine, vault_folder: Path, key: bytes, provider: str, run_id: str,
             staging: Path) -> IdentifySummary:  # fmt: skip
    """Link, vault and scrub one run's staging (see the module docstring)."""
    vault = Vault(vault_folder)
    try:
        patient_file = staging / "patient.parquet"
        out = staging / IDENTIFIED
        out.mkdir(exist_ok=True)
        direct = direct_columns()
        new_people = 0
        source_patients = 0
        if patient_file.exists():
            table = pq.read_table(patient_file)
            ids = table.column("id").to_pylist()
            source_patients = len(ids)
            known = vault.people(provider)
            fresh = sorted({i for i in ids if i is not None and i not in known})
            new_people = len(fresh)
            rows: list[tuple[str, str, str, str, str]] = []
            for column in [*direct, "birth_date"]:
                if column not in table.column_names:
                    continue
                for patient, value in zip(ids, table.column(column).to_pylist(), strict=True):
                    values = value if isinstance(value, list) else [value]
                    rows.extend((provider, patient, column, str(v), run_id) for v in values
                                if patient is not None and v not in (None, ""))  # fmt: skip
            with vault.db:
                vault.db.executemany(
                    "INSERT INTO person_link VALUES (?, ?, ?, ?)",
                    [(provider, s, p, run_id) for s, p in zip(fresh, person_ids(key, provider, fresh), strict=True)],
                )  # fmt: skip
                # a re-sent Patient replaces what the vault knew of it
                vault.db.executemany(
                    "DELETE FROM identifier WHERE provider = ? AND source_patient_id = ?",
                    [(provider, i) for i in set(ids) if i is not None],
                )
                vault.db.executemany(
                    "INSERT OR REPLACE INTO identifier VALUES (?, ?, ?, ?, ?)", rows
                )
            keep = [c for c in table.column_names if c not in direct]
            pq.write_table(table.select(keep), out / "patient.parquet", compression="zstd")
            del table
        people = vault.people(provider)
        births = vault.birth_dates(provider)
        pq.write_table(
            pa.table({
                "provider": pa.array([provider] * len(people), pa.string()),
                "patient_id": pa.array(list(people), pa.string()),
                "person_id": pa.array(list(people.values()), pa.int64()),
                "has_birth_date": pa.array([usable_date(births.get(p)) for p in people], pa.bool_()),
            }),
            out / "person_map.parquet",
        )  # fmt: skip
        notes = _scrub_text(engine, vault, provider, staging)
        return IdentifySummary(source_patients, new_people, vault.count_people(), notes)
    finally:
        vault.close()


# free text that may quote a patient's identifiers and reaches the warehouse, by view (rows
# carry patient_id). Code displays do not reach it (value_as_string holds text values; a
# coded value is value_as_concept_id with its code as value_source_value).
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "document_reference": ("content_data", "content_title", "description"),
    "observation": ("value_string", "value_codeable_concept_text", "note"),
    "observation_component": ("value_string", "value_codeable_concept_text"),
    "questionnaire_response_item": ("value_string",),
    "medication_request": ("dosage_text",),
    "medication_administration": ("dosage_text",),
    "medication_statement": ("dosage_text", "note"),
}
ENCODED = ("document_reference", "content_data")  # base64 note text, decoded as content_text


def _all_null(path: Path, column: str) -> bool:
    """Whether the column holds no value (from the Parquet statistics, no data read)."""
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.names.index(column)
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or stats.null_count != meta.row_group(group).num_rows:
            return False
    return True


def _scrub_text(engine: Engine, vault: Vault, provider: str, staging: Path) -> int:
    """Replace the patient's own identifiers in free text; notes are decoded on the way.

    ``document_reference.content_data`` (base64) becomes ``content_text``; other text
    columns are rewritten in place. Returns the number of notes.
    """
    terms = vault.terms(provider)
    patients = list(terms)
    columns: dict[str, list[str | None]] = {k: [] for k in PLACEHOLDERS}
    for patient in patients:
        for kind in PLACEHOLDERS:
            columns[kind].append(_pattern(terms[patient].get(kind, set())))
    terms_file = staging / IDENTIFIED / "note_terms.parquet"
    pq.write_table(
        pa.table({"patient_id": pa.array(patients, pa.string()),
                  **{k: pa.array(v, pa.string()) for k, v in columns.items()}}),
        terms_file,
    )  # fmt: skip
    # every term on its own, lower-cased: a cheap test of which texts need the regexes
    words = [(p, t.lower()) for p in patients for group in terms[p].values() for t in group
             if len(t.strip()) >= MIN_TERM]  # fmt: skip
    words_file = staging / IDENTIFIED / "note_words.parquet"
    pq.write_table(
        pa.table({"patient_id": pa.array([w[0] for w in words], pa.string()),
                  "term": pa.array([w[1] for w in words], pa.string())}),
        words_file,
    )  # fmt: skip
    words_source = engine.parquet_source([words_file])
    notes = 0
    for view, targets in FREE_TEXT.items():
        path = staging / f"{view}.parquet"
        if not path.exists():
            continue
        names = pq.ParquetFile(path).schema_arrow.names
        replaced: dict[str, str] = {}
        for column in targets:
            encoded = (view, column) == ENCODED
            if column not in names or (not encoded and _all_null(path, column)):
                continue
            text = f"decode(from_base64(d.{column}))" if encoded else f"d.{column}"
            for kind, placeholder in PLACEHOLDERS.items():
                pattern = f"coalesce(t.{kind}, '{NEVER}')"
                text = f"regexp_replace({text}, {pattern}, '{placeholder}', 'g')"
            if encoded:  # notes name their patient: always scrubbed
                replaced[column] = (
                    f"CASE WHEN d.{column} IS NULL THEN NULL ELSE {text} END AS content_text"
                )
                continue
            # short texts rarely hold a term: only those that do pay for the regexes, and a
            # view none of whose texts does is not rewritten at all
            hit = (f"EXISTS (SELECT 1 FROM {words_source} w WHERE w.patient_id ="
                   f" d.patient_id AND contains(lower(d.{column}), w.term))")  # fmt: skip
            count = (f"SELECT count(*) AS n FROM {engine.parquet_source([path])} d"
                     f" WHERE d.{column} IS NOT NULL AND {hit}")  # fmt: skip
            if not engine.rows(engine.dialect.from_reference(count))[1][0]["n"]:
                continue
            replaced[column] = (f"CASE WHEN d.{column} IS NULL THEN NULL WHEN {hit} THEN {text}"
                                f" ELSE d.{column} END AS {column}")  # fmt: skip
        if not replaced:
            continue
        # reference (DuckDB) SQL, transpiled below
        select = [replaced.get(c, f'd."{c}"') for c in names]
        query = (
            f"SELECT {', '.join(select)} FROM {engine.parquet_source([path])} d"
            f" LEFT JOIN {engine.parquet_source([terms_file])} t"
            " ON t.patient_id = d.patient_id"
        )
        rows = engine.write(
            engine.dialect.from_reference(query),
            "parquet",
            staging / IDENTIFIED / f"{view}.parquet",
        )
        if view == "document_reference":
            notes = rows
    terms_file.unlink()
    words_file.unlink()
    return notes
