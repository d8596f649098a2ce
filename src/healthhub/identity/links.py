"""Which source record belongs to which person: the steward's export.

``export_links`` writes one CSV row per active source record: provider, source patient
id, warehouse person id. It joins the warehouse back to the sources, so only stewards may
run it, every export is audited (who, when, how many rows, where), and the file is
written readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from healthhub.engines.dialects import DUCKDB
from healthhub.exceptions import UserError
from healthhub.identity.vault import Vault

COLUMNS = ("provider", "source_patient_id", "person_id")


def source_links(vault: Vault) -> list[tuple[str, str, int]]:
    """(provider, source patient id, person id) of every active record."""
    vault.load_identities(name="linked")
    rows = vault.con.execute("""
        SELECT l.provider, l.patient_id, p.person_id FROM linked l
        JOIN vault.person p USING (person_seq) ORDER BY 1, 2""").fetchall()
    vault.forget("linked")
    return [(a, b, int(c)) for a, b, c in rows]


def export_links(vault: Vault, out: Path, forbidden: list[Path]) -> int:
    """Write the links CSV to ``out`` (mode 0600); returns the rows written."""
    target = out.resolve()
    for folder in forbidden:
        if target.is_relative_to(folder.resolve()):
            raise UserError(f"{out}: write the links outside the hub ({folder})")
    if out.exists() and out.is_dir():
        raise UserError(f"{out}: is a folder; give a file name ending in .csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    vault.load_identities(name="linked")
    mask = os.umask(0o077)  # the engine creates the file: readable by its owner only
    try:
        vault.con.execute(f"""
            COPY (SELECT l.provider, l.patient_id AS source_patient_id, p.person_id FROM linked l
                  JOIN vault.person p USING (person_seq) ORDER BY 1, 2)
            TO {DUCKDB.string(str(tmp))} (FORMAT csv, HEADER true)""")
    finally:
        os.umask(mask)
    rows = vault.count("SELECT count(*) FROM linked")
    vault.forget("linked")
    os.chmod(tmp, 0o600)
    os.replace(tmp, out)
    return rows
