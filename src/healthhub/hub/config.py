"""A hub on disk: its folders, its configuration file, and opening it.

``healthhub init DIR`` writes ``DIR/healthhub.toml`` (documented below and in the
README) and creates the zones: the landing zone, the warehouse (one DuckDB file), the
identity vault, the key store with a fresh hub key (outside the warehouse), the
governance store (SQLite) and a work folder for runs in progress. Every other verb opens
the hub with ``--hub DIR`` or the ``HEALTHHUB_HOME`` setting.
"""

from __future__ import annotations

import os
import re
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
# The identity vault: direct identifiers (encrypted) and who is who.
path = "vault"
# Record linkage: a pair of source patients whose match probability reaches
# link_threshold becomes one person; a pair between review_threshold and it waits for a
# reviewer (healthhub identity review).
link_threshold = 0.95
review_threshold = 0.6
# A blocking key shared by more records than this forms no candidate pairs.
max_block_size = 1000
# Most memory the candidate pairs of one delivery may take; a delivery that would need
# more is refused with a message saying how many pairs it would make.
linkage_memory = "4GB"
# Who may export source-record links, decide review pairs and manage opt-outs: user names
# on this machine.
stewards = {stewards}

[keys]
# The key store (hub, vault, surrogate-key and project keys): outside the warehouse,
# mode 0600.
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
    link_threshold: float = 0.95
    review_threshold: float = 0.6
    max_block_size: int = 1000
    linkage_memory: str = "4GB"
    stewards: tuple[str, ...] = ()

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"


UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
         "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}  # fmt: skip


def memory_bytes(text: str) -> int | None:
    """``"4GB"`` -> 4,000,000,000; None when not a size."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in UNITS:
        return None
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_hub(root: Path, name: str | None = None) -> Hub:
    """Create a hub in ``root`` (an empty or new folder) and return it."""
    from healthhub.governance.policies import current_user
    from healthhub.hub.runs import RunStore
    from healthhub.identity.keys import KeyStore

    if (root / CONFIG_NAME).exists():
        raise UserError(f"{root}: a hub already exists here ({CONFIG_NAME})")
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root}: folder is not empty; give a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    text = CONFIG_TEMPLATE.format(
        name=_toml_string(name or root.resolve().name),
        created=_toml_string(created),
        stewards="[" + _toml_string(current_user()) + "]",
    )
    (root / CONFIG_NAME).write_text(text)
    hub = open_hub(root)
    for folder in (hub.landing, hub.warehouse.parent, hub.vault, hub.work, hub.quarantine):
        folder.mkdir(parents=True, exist_ok=True)
    for private in (hub.landing, hub.vault, hub.work, hub.quarantine):
        private.chmod(0o700)  # raw records and identifiers: the hub's owner only
    KeyStore(hub.keys).create()
    RunStore(hub.governance, hub.landing).close()
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

    def number(section: str, key: str, default: float, low: float, high: float) -> float:
        value = config.get(section, {}).get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            problems.append(f"[{section}] {key} must be a number from {low:g} to {high:g}")
            return default
        return float(value)

    identity = config.get("identity", {})
    stewards = identity.get("stewards", [])
    if not isinstance(stewards, list) or not all(isinstance(x, str) for x in stewards):
        problems.append("[identity] stewards must be a list of user names")
        stewards = []
    link_threshold = number("identity", "link_threshold", 0.95, 0.5, 1.0)
    review_threshold = number("identity", "review_threshold", 0.6, 0.0, 1.0)
    if review_threshold > link_threshold:
        problems.append("[identity] review_threshold must not exceed link_threshold")
    linkage_memory = setting("identity", "linkage_memory", "4GB")
    if memory_bytes(linkage_memory) is None:
        problems.append('[identity] linkage_memory must be a size such as "4GB" or "512MB"')
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
        link_threshold=link_threshold,
        review_threshold=review_threshold,
        max_block_size=int(number("identity", "max_block_size", 1000, 2, 10_000_000)),
        linkage_memory=linkage_memory,
        stewards=tuple(stewards),
    )
    for section, path in (("keys", hub.keys), ("identity", hub.vault), ("work", hub.work),
                          ("landing", hub.landing)):  # fmt: skip
        if path.resolve().is_relative_to(hub.warehouse.parent.resolve()):
            problems.append(f"[{section}] path must be outside the warehouse folder")
    if problems:
        raise UserError(f"{path}: " + "; ".join(problems))
    return hub
