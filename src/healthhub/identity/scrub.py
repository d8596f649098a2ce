"""Free text that reaches the warehouse, with each patient's own identifiers replaced.

Notes (DocumentReference text), text values, code texts, dosage instructions, note titles
and descriptions, questionnaire answers may quote the patient they are about. Each such
text is stored with that patient's names, identifiers, phone numbers, e-mail, address
lines and birth date (as ``1961-03-12``, ``12/03/1961``, ``03/12/1961``...) replaced by
``[NAME]``, ``[ID]``, ``[CONTACT]``, ``[ADDRESS]``, ``[BIRTH DATE]`` (case-insensitive,
set-based regular expressions on the engine; only texts holding one of the patient's
terms pay for them, and a view none of whose texts does is not rewritten at all).

The terms come from the vault's records of the provider (decrypted in memory), for the
patients the run's texts are about.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from healthhub.engines.base import Engine
from healthhub.identity.vault import Vault

# placeholder written into note text for each kind of identifier
PLACEHOLDERS = {
    "name": "[NAME]",
    "id": "[ID]",
    "contact": "[CONTACT]",
    "address": "[ADDRESS]",
    "birth_date": "[BIRTH DATE]",
}
# vault identity column -> the placeholder group it is scrubbed as
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
REGEX_SPECIAL = set("\\.^$|?*+()[]{}")
MIN_TERM = 3  # shorter strings (initials, "12") would blank ordinary words and numbers
NEVER = "\\b\\B"  # a regular expression that matches nothing (RE2 and Java alike)

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


def date_spellings(value: str) -> set[str]:
    """How a birth date may be written in a note: 1961-03-12, 12/03/1961, 03/12/1961, ..."""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return set()
    d, m, y = f"{day.day:02d}", f"{day.month:02d}", f"{day.year:04d}"
    return {f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}", f"{d}-{m}-{y}", f"{y}{m}{d}",
            f"{y}/{m}/{d}", value[:10]}  # fmt: skip


def _escape(term: str) -> str:
    return "".join("\\" + ch if ch in REGEX_SPECIAL else ch for ch in term)


def _pattern(terms: set[str]) -> str | None:
    usable = sorted(
        {t.strip() for t in terms if t and len(t.strip()) >= MIN_TERM}, key=lambda t: (-len(t), t)
    )
    if not usable:
        return None
    return "(?i)(" + "|".join(_escape(t) for t in usable) + ")"


def _all_null(path: Path, column: str) -> bool:
    """Whether the column holds no value (from the Parquet statistics, no data read)."""
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.names.index(column)
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or stats.null_count != meta.row_group(group).num_rows:
            return False
    return True


def _text_files(staging: Path) -> dict[str, tuple[Path, list[str]]]:
    """The run's free-text views that hold some text: view -> (file, text columns)."""
    found = {}
    for view, targets in FREE_TEXT.items():
        path = staging / f"{view}.parquet"
        if not path.exists():
            continue
        names = pq.ParquetFile(path).schema_arrow.names
        # the encoded note text is always decoded (standardisation reads content_text)
        columns = [c for c in targets if c in names
                   and ((view, c) == ENCODED or not _all_null(path, c))]  # fmt: skip
        if columns:
            found[view] = (path, columns)
    return found


def patient_terms(vault: Vault, provider: str,
                  patients: list[str]) -> dict[str, dict[str, set[str]]]:  # fmt: skip
    """Each listed patient's identifiers from the vault, by placeholder group."""
    con = vault.con
    con.register("wanted", pa.table({"patient_id": pa.array(patients, pa.string())}))
    columns = ", ".join(KIND_OF_COLUMN)
    wanted = "provider = $1 AND patient_id IN (SELECT patient_id FROM wanted)"
    rows = con.execute(f"""
        SELECT patient_id, {columns} FROM incoming_status WHERE status <> 'unchanged' AND {wanted}
        UNION ALL SELECT patient_id, {columns} FROM identity WHERE {wanted}""",
                       [provider]).fetchall()  # fmt: skip
    con.unregister("wanted")
    found: dict[str, dict[str, set[str]]] = {}
    names = list(KIND_OF_COLUMN)
    for patient, *values in rows:
        groups = found.setdefault(patient, {})
        for column, value in zip(names, values, strict=True):
            group = KIND_OF_COLUMN[column]
            items = value if isinstance(value, list) else [value]
            terms = groups.setdefault(group, set())
            for item in items:
                if not item:
                    continue
                terms.add(item)
                if group == "name":  # each word of a name on its own too
                    terms.update(item.split())
                elif group == "birth_date":
                    terms.update(date_spellings(item))
    return found


def scrub_free_text(engine: Engine, vault: Vault, provider: str, staging: Path, out: Path) -> int:
    """Write the run's free-text views to ``out`` with each patient's identifiers replaced;
    notes are decoded on the way (``content_data`` -> ``content_text``). Returns the number
    of notes."""
    texts = _text_files(staging)
    if not texts:
        return 0
    patients: set[str] = set()
    for path, _ in texts.values():
        query = (f"SELECT DISTINCT patient_id FROM {engine.parquet_source([path])}"
                 " WHERE patient_id IS NOT NULL")  # fmt: skip
        patients.update(r["patient_id"] for r in engine.rows(query)[1])
    terms = patient_terms(vault, provider, sorted(patients))
    people = list(terms)
    columns: dict[str, list[str | None]] = {k: [] for k in PLACEHOLDERS}
    for patient in people:
        for kind in PLACEHOLDERS:
            columns[kind].append(_pattern(terms[patient].get(kind, set())))
    terms_file = out / "note_terms.parquet"
    pq.write_table(
        pa.table({"patient_id": pa.array(people, pa.string()),
                  **{k: pa.array(v, pa.string()) for k, v in columns.items()}}),
        terms_file,
    )  # fmt: skip
    # every term on its own, lower-cased: a cheap test of which texts need the regexes
    words = [(p, t.lower()) for p in people for group in terms[p].values() for t in group
             if len(t.strip()) >= MIN_TERM]  # fmt: skip
    words_file = out / "note_words.parquet"
    pq.write_table(
        pa.table({"patient_id": pa.array([w[0] for w in words], pa.string()),
                  "term": pa.array([w[1] for w in words], pa.string())}),
        words_file,
    )  # fmt: skip
    words_source = engine.parquet_source([words_file])
    notes = 0
    try:
        for view, (path, targets) in texts.items():
            names = pq.ParquetFile(path).schema_arrow.names
            replaced: dict[str, str] = {}
            for column in targets:
                encoded = (view, column) == ENCODED
                text = f"decode(from_base64(d.{column}))" if encoded else f"d.{column}"
                for kind, placeholder in PLACEHOLDERS.items():
                    pattern = f"coalesce(t.{kind}, '{NEVER}')"
                    text = f"regexp_replace({text}, {pattern}, '{placeholder}', 'g')"
                if encoded:  # notes name their patient: always scrubbed
                    replaced[column] = (
                        f"CASE WHEN d.{column} IS NULL THEN NULL ELSE {text} END AS content_text"
                    )
                    continue
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
                engine.dialect.from_reference(query), "parquet", out / f"{view}.parquet"
            )
            if view == "document_reference":
                notes = rows
    finally:
        terms_file.unlink()
        words_file.unlink()
    return notes
