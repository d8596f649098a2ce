"""A hub on disk: its folders, its configuration file, and opening it.

``healthhub init DIR`` writes ``DIR/healthhub.toml`` (documented below and in the
README) and creates the zones: the landing zone, the warehouse (one DuckDB file), the
identity vault, the key store with a fresh hub key (outside the warehouse), the
governance store (SQLite) and a work folder for runs in progress. Every other verb opens
the hub with ``--hub DIR`` or the ``HEALTHHUB_HOME`` setting.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from healthhub.exceptions import UserError

CONFIG_NAME = "healthhub.toml"
BIRTH_DATE_PRECISIONS = ("year", "month", "day")
ENGINES = ("duckdb", "spark")

CONFIG_TEMPLATE = """\
# healthhub hub configuration. Paths are relative to this file's folder.

[hub]
name = {name}
created = {created}

[engine]
# Engine that runs the pipeline: "duckdb" (embedded, default) or "spark" (PySpark).
default = "duckdb"
# Most memory DuckDB may use for one stage; beyond it, work spills to the work folder.
memory_limit = "3GB"

[landing]
# Every received file, content-addressed by sha256, read-only.
path = "landing"

[warehouse]
# OMOP CDM v5.4 in one DuckDB file. No direct identifier is ever written here.
path = "warehouse/omop.duckdb"
# How much of a birth date the person table keeps: "year", "month" or "day".
birth_date_precision = "month"

[identity]
# The identity vault: direct identifiers and source-record-to-person links.
path = "vault"

[keys]
# The key store (hub key, later project keys): outside the warehouse, mode 0600.
path = "keys"

[governance]
# Runs, landed files, and later users, permits and the audit chain (SQLite).
path = "governance.sqlite"

[work]
# Staging rows of runs in progress (deleted when a run is standardized).
path = "work"
"""


@dataclass(frozen=True)
class Hub:
    root: Path
    name: str
    engine: str
    memory_limit: str
    landing: Path
    warehouse: Path
    birth_date_precision: str
    vault: Path
    keys: Path
    governance: Path
    work: Path

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_hub(root: Path, name: str | None = None) -> Hub:
    """Create a hub in ``root`` (an empty or new folder) and return it."""
    from healthhub.hub.runs import RunStore
    from healthhub.identity.keys import KeyStore

    if (root / CONFIG_NAME).exists():
        raise UserError(f"{root}: a hub already exists here ({CONFIG_NAME})")
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root}: folder is not empty; give a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    text = CONFIG_TEMPLATE.format(
        name=_toml_string(name or root.resolve().name), created=_toml_string(created)
    )
    (root / CONFIG_NAME).write_text(text)
    hub = open_hub(root)
    for folder in (hub.landing, hub.warehouse.parent, hub.vault, hub.work, hub.quarantine):
        folder.mkdir(parents=True, exist_ok=True)
    for private in (hub.landing, hub.vault, hub.work, hub.quarantine):
        private.chmod(0o700)  # raw records and identifiers: the hub's owner only
    KeyStore(hub.keys).create()
    RunStore(hub.governance).close()
    from healthhub.standardize.warehouse import create_warehouse

    create_warehouse(hub)
    return hub


def hub_root(given: Path | None) -> Path:
    """The hub folder: ``--hub`` if given, else ``HEALTHHUB_HOME``."""
    if given is not None:
        return given
    home = os.environ.get("HEALTHHUB_HOME")
    if home:
        return Path(home)
    raise UserError(
        "no hub given: use --hub DIR or set HEALTHHUB_HOME (create one: healthhub init DIR)"
    )


def open_hub(root: Path | None) -> Hub:
    """Read ``root/healthhub.toml``; every problem in it is reported at once."""
    root = hub_root(root)
    path = root / CONFIG_NAME
    if not path.is_file():
        raise UserError(
            f"{root}: not a healthhub hub (no {CONFIG_NAME}; create one: healthhub init DIR)"
        )
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    problems: list[str] = []

    def setting(section: str, key: str, default: str) -> str:
        value = config.get(section, {}).get(key, default)
        if not isinstance(value, str) or not value:
            problems.append(f"[{section}] {key} must be a non-empty string")
            return default
        return value

    def folder(section: str, default: str) -> Path:
        value = Path(setting(section, "path", default))
        return value if value.is_absolute() else root / value

    engine = setting("engine", "default", "duckdb")
    if engine not in ENGINES:
        problems.append(f"[engine] default must be one of {', '.join(ENGINES)}")
    precision = setting("warehouse", "birth_date_precision", "month")
    if precision not in BIRTH_DATE_PRECISIONS:
        problems.append(
            f"[warehouse] birth_date_precision must be one of {', '.join(BIRTH_DATE_PRECISIONS)}"
        )
    hub = Hub(
        root=root,
        name=setting("hub", "name", root.name),
        engine=engine,
        memory_limit=setting("engine", "memory_limit", "3GB"),
        landing=folder("landing", "landing"),
        warehouse=folder("warehouse", "warehouse/omop.duckdb"),
        birth_date_precision=precision,
        vault=folder("identity", "vault"),
        keys=folder("keys", "keys"),
        governance=folder("governance", "governance.sqlite"),
        work=folder("work", "work"),
    )
    for section, path in (("keys", hub.keys), ("identity", hub.vault), ("work", hub.work),
                          ("landing", hub.landing)):  # fmt: skip
        if path.resolve().is_relative_to(hub.warehouse.parent.resolve()):
            problems.append(f"[{section}] path must be outside the warehouse folder")
    if problems:
        raise UserError(f"{path}: " + "; ".join(problems))
    return hub
