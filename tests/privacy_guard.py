"""A pytest plugin: no vault value reaches a warehouse, a log, an error or the audit.

The security property it checks over a whole test session: no direct identifier kept
in an identity vault (a name, a national id, an MRN or other identifier, a phone
number, an e-mail address, a street line) appears

- in any table of that hub's warehouse, except the vocabulary and the provider-side
  tables (``NOT_SCANNED``);
- in that hub's governance store (run summaries and reasons, audit payloads: every
  text column of every table);
- in any text a user or an operator could read, whichever hub the value comes from:
  messages of ``HealthhubError`` (every one constructed), ``click.echo`` output, the
  output and errors of ``CliRunner`` invocations, log records, warnings, failure
  messages and each test's captured stdout, stderr and log sections.

While the session runs, the plugin keeps that text (each test's distinct lines, at
most ``MAX_TEXT`` characters in all). When it ends, it finds every hub under the
session's ``basetemp`` (a ``healthhub.toml``), decrypts each vault (every record
version) and looks for its values with DuckDB, set-based: each string's
``GRAM``-character pieces are joined to one piece of each value (around its last space,
else its end), and only those hits are compared, so a check costs the text's size, not
its size times the number of values. A value counts case-insensitively, unaccented or
not, where it stands between word boundaries (no letter or digit right before or
after); a phone or id written in digit groups ("06 12 34 56 78") counts too. Family
names alone count in the warehouse only, as a whole value.

A leak is reported by place (hub, table and column; or test and kind of output) and
kind of value ("a full name", "an MRN"), never the value itself, and the session fails
(exit status 1). Tests that show identifiers to a steward on purpose carry
``@pytest.mark.shows_identifiers``: what they print is not kept (their hubs are still
checked). ``-p no:privacy_guard`` turns the plugin off.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from healthhub.exceptions import HealthhubError

MARKER = "shows_identifiers"
CONFIG_NAME = "healthhub.toml"
# what the vocabulary holds, and the providers' own names and addresses (the synthetic
# generator draws those from the same lists as the patients')
NOT_SCANNED = frozenset({
    "concept", "concept_synonym", "concept_relationship", "concept_ancestor", "vocabulary",
    "domain", "concept_class", "relationship", "drug_strength", "source_to_concept_map",
    "location", "care_site", "provider",
})  # fmt: skip
HUB_ZONES = frozenset({"landing", "vault", "keys", "work", "warehouse", "quarantine"})
GRAM = 5  # the shortest value looked for
MAX_TEXT = 32_000_000  # characters of text kept for the whole session
MAX_TEXT_PER_TEST = 4_000_000
MAX_LINE = 65_536  # a longer line is kept in overlapping pieces
KIND_WORDS = {  # in priority order: a value found as several kinds is named by the first
    "national_id": "a national id", "mrn": "an MRN", "identifier": "an identifier",
    "phone": "a phone number", "email": "an e-mail address", "street": "a street line",
    "name": "a full name", "family": "a family name (a whole value)",
}  # fmt: skip
OUTSIDE = "(outside any test)"
CHECKED = ".privacy_guard_checked"  # left in a session's basetemp once its hubs are checked


# --- collecting text during the session ----------------------------------------------------
class Collector:
    """One session's text: for each test, its distinct lines and the kind of the first
    output each came from."""

    def __init__(self) -> None:
        self.where = OUTSIDE
        self.exempt = False
        self.exempt_tests: set[str] = set()
        self.text: dict[str, dict[str, str]] = {}
        self.kept: Counter[str] = Counter()
        self.dropped = 0
        self.outcome: Outcome | None = None

    def add(self, kind: str, text: object, where: str | None = None) -> None:
        """Keep ``text``'s lines, as said by the test running now or by ``where``."""
        exempt = self.exempt if where is None else where in self.exempt_tests
        if exempt:
            return
        where = where or self.where
        lines = self.text.setdefault(where, {})
        for line in _lines(text):
            if line in lines:
                continue
            if self.kept.total() + len(line) > MAX_TEXT or (
                self.kept[where] + len(line) > MAX_TEXT_PER_TEST
            ):
                self.dropped += len(line)
                continue
            lines[line] = kind
            self.kept[where] += len(line)


def _lines(text: object) -> Iterator[str]:
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        try:
            text = "" if text is None else str(text)
        except Exception:
            return
    for line in text.splitlines():
        line = line.strip()
        if len(line) <= MAX_LINE:
            if len(line) >= GRAM:
                yield line
            continue
        for start in range(0, len(line), MAX_LINE - 256):
            yield line[start : start + MAX_LINE]


# Sessions run in this process, innermost last (pytester runs sessions inside a test):
# the taps give each piece of text to the innermost one only.
STACK: list[Collector] = []


def _record(kind: str, text: object) -> None:
    if STACK:
        STACK[-1].add(kind, text)


class _Taps:
    """The wrappers around the places text comes from; installed while a session runs."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def install(self) -> None:
        self._wrap_errors()
        self._wrap_echo()
        self._wrap_cli_runner()
        handler = _LogTap(logging.DEBUG)
        logging.getLogger().addHandler(handler)
        ours = logging.getLogger("healthhub")
        level = ours.level
        ours.setLevel(logging.DEBUG)  # healthhub's own records at every level
        self.undo.append(lambda: logging.getLogger().removeHandler(handler))
        self.undo.append(lambda: ours.setLevel(level))

    def uninstall(self) -> None:
        while self.undo:
            self.undo.pop()()

    def _wrap_errors(self) -> None:
        own = HealthhubError.__dict__.get("__init__")
        init = own or Exception.__init__

        def __init__(self: HealthhubError, *args: Any, **kwargs: Any) -> None:
            _record(f"a {type(self).__name__} message", " ".join(map(str, args)))
            init(self, *args, **kwargs)

        HealthhubError.__init__ = __init__  # type: ignore[method-assign]

        def undo() -> None:
            if own is None:
                del HealthhubError.__init__
            else:
                HealthhubError.__init__ = own  # type: ignore[method-assign]

        self.undo.append(undo)

    def _wrap_echo(self) -> None:
        import click.utils

        original = click.utils.echo

        def echo(message: Any = None, *args: Any, **kwargs: Any) -> None:
            _record("click output", message)
            return original(message, *args, **kwargs)

        # click.echo, click.utils.echo and every `from click... import echo` (secho's too)
        holders = [m for name, m in list(sys.modules.items())
                   if (name == "click" or name.startswith(("click.", "healthhub")))
                   and getattr(m, "echo", None) is original]  # fmt: skip
        for module in holders:
            module.echo = echo  # type: ignore[attr-defined]
        self.undo.append(lambda: [setattr(m, "echo", original) for m in holders])

    def _wrap_cli_runner(self) -> None:
        from click.testing import CliRunner

        original = CliRunner.invoke

        def invoke(self: CliRunner, *args: Any, **kwargs: Any) -> Any:
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:  # catch_exceptions=False lets it through
                _record("a CLI error", f"{type(exc).__name__}: {exc}")
                raise
            _record("CLI output", result.output)
            _record("CLI output", result.stderr)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                _record("a CLI error", f"{type(result.exception).__name__}: {result.exception}")
            return result

        CliRunner.invoke = invoke  # type: ignore[method-assign]
        self.undo.append(lambda: setattr(CliRunner, "invoke", original))


class _LogTap(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:
            return
        _record(f"log record ({record.name})", text)


TAPS = _Taps()
COLLECTOR = pytest.StashKey[Collector]()


# --- the hooks -----------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: the test shows identifiers to a steward on purpose; the privacy guard"
        " does not scan what it prints",
    )
    collector = Collector()
    config.stash[COLLECTOR] = collector
    if not STACK:
        TAPS.install()
    STACK.append(collector)


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop(config.stash.get(COLLECTOR, None))


def _stop(collector: Collector | None) -> None:
    if collector in STACK:
        STACK.remove(collector)
        if not STACK:
            TAPS.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    collector = item.config.stash[COLLECTOR]
    collector.where = item.nodeid
    collector.exempt = item.get_closest_marker(MARKER) is not None
    if collector.exempt:
        collector.exempt_tests.add(item.nodeid)
    try:
        return (yield)
    finally:
        collector.where, collector.exempt = OUTSIDE, False


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not STACK:
        return
    collector = STACK[-1]
    for name, content in report.sections:
        collector.add(name.lower(), content, where=report.nodeid)
    crash = getattr(report.longrepr, "reprcrash", None)
    if report.failed and crash is not None:
        collector.add("a failure message", crash.message, where=report.nodeid)


def pytest_warning_recorded(warning_message: Any, when: str, nodeid: str) -> None:
    if STACK:
        STACK[-1].add("a warning", warning_message.message, where=nodeid or None)


@pytest.hookimpl(tryfirst=True)  # before the temporary folders may be removed
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    collector = session.config.stash.get(COLLECTOR, None)
    if collector is None:
        return
    _stop(collector)  # what follows is the check's own doing, not the suite's
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None)  # None: no test made a temporary folder
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                          pytest.ExitCode.NO_TESTS_COLLECTED):  # fmt: skip
        return
    collector.outcome = check(Path(basetemp) if basetemp else None, collector)
    if collector.outcome.leaks and session.exitstatus in (0, 5):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collector = config.stash.get(COLLECTOR, None)
    outcome = collector.outcome if collector else None
    if outcome is None:
        return
    if outcome.leaks:
        terminalreporter.section("privacy guard: vault values found", sep="=", red=True)
        for line in outcome.report():
            terminalreporter.write_line(line)
    terminalreporter.write_line(outcome.summary())


# --- the check at the end ------------------------------------------------------------------
@dataclass
class Outcome:
    hubs: int = 0
    values: int = 0
    characters: int = 0
    lines: int = 0
    tests: int = 0
    dropped: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # "hub: why"
    leaks: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # place, where, kind

    def report(self) -> list[str]:
        lines = [f"{place}: {where}: {KIND_WORDS[kind]} ({count} match{'es' * (count > 1)})"
                 for (place, where, kind), count in sorted(self.leaks.items())]  # fmt: skip
        return [*lines, "(values are never shown: look for them in that hub's vault)"]

    def summary(self) -> str:
        found = f"{len(self.leaks)} leak(s)" if self.leaks else "no vault value found"
        text = (f"privacy guard: {found}; {self.hubs} hub(s), {self.values:,} values;"
                f" {self.lines:,} lines ({self.characters / 1e6:.2f} MB) of logs, errors and"
                f" output from {self.tests} test(s); {self.seconds:.1f} s")  # fmt: skip
        if self.skipped:
            text += f"; {len(self.skipped)} hub(s) not checked ({'; '.join(self.skipped)})"
        if self.dropped:
            text += f"; {self.dropped / 1e6:.1f} MB of text over the limit not checked"
        return text


def check(basetemp: Path | None, collector: Collector) -> Outcome:
    import duckdb
    import pyarrow as pa

    started = time.perf_counter()
    outcome = Outcome(dropped=collector.dropped, tests=len(collector.text))
    outcome.characters = collector.kept.total()
    hubs = find_hubs(basetemp) if basetemp else []
    if basetemp:
        (basetemp / CHECKED).write_text("the privacy guard checked the hubs under this folder\n")
    con = duckdb.connect()
    try:
        needles: list[tuple[int, str, str]] = []  # hub index, kind, value
        checked: list[tuple[int, Path]] = []
        for index, root in enumerate(hubs):
            try:
                values = vault_values(root)
            except Exception as exc:  # a hub a test damaged on purpose
                outcome.skipped.append(f"{root}: {type(exc).__name__}")
                continue
            outcome.hubs += 1
            if values:  # else nothing to look for
                needles.extend((index, kind, value) for value, kind in values.items())
                checked.append((index, root))
        outcome.values = len(needles)
        load_needles(con, needles)
        for index, root in checked:
            for where, kind in warehouse_leaks(con, root, index, outcome):
                outcome.leaks[(f"hub {root}", f"warehouse {where}", kind)] += 1
            for where, kind in governance_leaks(con, root, index):
                outcome.leaks[(f"hub {root}", f"governance store {where}", kind)] += 1
        places = [(test, kind) for test, lines in collector.text.items()
                  for kind in dict.fromkeys(lines.values())]  # fmt: skip
        number = {place: i for i, place in enumerate(places)}
        rows = [(number[(test, kind)], line) for test, lines in collector.text.items()
                for line, kind in lines.items()]  # fmt: skip
        outcome.lines = len(rows)
        load_hay(con, arrow_table(rows, place=pa.int32(), s=pa.string()))
        for place, kind in matches(con, "n.kind <> 'family'"):
            outcome.leaks[(*places[place], kind)] += 1
    finally:
        con.close()
    outcome.seconds = time.perf_counter() - started
    return outcome


def find_hubs(basetemp: Path) -> list[Path]:
    """Every hub under ``basetemp``, but not under the basetemp of a session run by a
    test (pytester): that session checked its own hubs, some holding leaks on purpose."""
    found = []
    for folder, dirs, files in os.walk(basetemp):
        if CHECKED in files and Path(folder) != basetemp:
            dirs[:] = []
            continue
        if CONFIG_NAME in files:
            found.append(Path(folder))
            dirs[:] = [d for d in dirs if d not in HUB_ZONES]
    return sorted(found)


def vault_values(root: Path) -> dict[str, str]:
    """The direct identifiers of every record version in the hub's vault: value -> kind."""
    from healthhub.hub.config import open_hub
    from healthhub.identity.keys import KeyStore
    from healthhub.identity.vault import Vault

    hub = open_hub(root)
    if not (hub.vault / "vault.duckdb").is_file():
        return {}
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        vault.load_identities(name="privacy_guard_ids", active_only=False)
        rows = vault.con.execute(
            "SELECT given, all_given, family, all_family, national_id, mrn, all_identifiers,"
            " phone, email, all_telecom, address_line, all_address_lines FROM privacy_guard_ids"
        ).fetchall()
    finally:
        vault.close()
    found: dict[str, str] = {}  # lower-case value -> kind
    rank = list(KIND_WORDS)

    def add(kind: str, value: str | None, shortest: int) -> None:
        value = " ".join((value or "").split()).lower()
        for form in {value, _unaccented(value)}:
            known = found.get(form)
            if len(form) >= shortest and (known is None or rank.index(kind) < rank.index(known)):
                found[form] = kind

    for (given, all_given, family, all_family, national_id, mrn, identifiers, phone, email,
         telecom, street, streets) in rows:  # fmt: skip
        givens = {g for g in [given, *(all_given or []), *(given or "").split()[:1]] if g}
        families = {f for f in [family, *(all_family or [])] if f}
        for f in families:
            add("family", f, 3)
            for g in givens:
                add("name", f"{g} {f}", GRAM)
                add("name", f"{f} {g}", GRAM)
        add("national_id", national_id, 6)
        add("mrn", mrn, 6)
        for value in identifiers or []:
            add("identifier", value, 6)
        for value in {phone, email, *(telecom or [])} - {None}:
            if "@" in value:
                add("email", value, 6)
            elif len(digits := re.sub(r"\D", "", value)) >= 8:
                add("phone", value, 8)
                add("phone", digits, 8)
        for value in {street, *(streets or [])}:
            add("street", value, 8)
    return found


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def warehouse_leaks(con: Any, root: Path, hub: int, outcome: Outcome) -> Iterator[tuple[str, str]]:
    from healthhub.hub.config import open_hub

    path = open_hub(root).warehouse
    if not path.is_file():
        return
    try:
        con.execute(f"ATTACH '{_sql_text(str(path))}' AS wh (READ_ONLY)")
    except Exception as exc:  # still open for writing in this process
        outcome.skipped.append(f"{root} warehouse: {type(exc).__name__}")
        return
    try:
        columns = con.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c"
            " JOIN duckdb_tables() t USING (database_name, schema_name, table_name)"
            " WHERE c.database_name = 'wh' AND c.data_type = 'VARCHAR' AND t.estimated_size > 0"
            " ORDER BY ALL"
        ).fetchall()
        columns = [c for c in columns if c[1] not in NOT_SCANNED]
        if not columns:
            return
        selects = [
            f'SELECT DISTINCT {i} AS place, "{c}" AS s FROM wh."{s}"."{t}" WHERE "{c}" IS NOT NULL'
            for i, (s, t, c) in enumerate(columns)
        ]
        load_hay(con, None, " UNION ALL ".join(selects))
    finally:
        con.execute("DETACH wh")
    for place, kind in matches(con, f"n.hub = {hub}"):
        yield f"table {columns[place][1]}, column {columns[place][2]}", kind


def governance_leaks(con: Any, root: Path, hub: int) -> Iterator[tuple[str, str]]:
    import pyarrow as pa

    from healthhub.hub.config import open_hub

    path = open_hub(root).governance
    if not path.is_file():
        return
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    places: list[tuple[str, str]] = []
    rows: list[tuple[int, str]] = []
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for column in [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]:
                values = db.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()
                texts = [v for (v,) in values if isinstance(v, str)]
                if texts:
                    places.append((table, column))
                    rows.extend((len(places) - 1, v) for v in texts)
    finally:
        db.close()
    load_hay(con, arrow_table(rows, place=pa.int32(), s=pa.string()))
    for place, kind in matches(con, f"n.hub = {hub} AND n.kind <> 'family'"):
        yield f"table {places[place][0]}, column {places[place][1]}", kind


def arrow_table(rows: list[tuple[Any, ...]], **types: Any) -> Any:
    """An Arrow table of ``rows``, its columns named and typed by ``types``."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in types]
    return pa.table([pa.array(c, t) for c, t in zip(columns, types.values(), strict=True)],
                    names=list(types))  # fmt: skip


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def load_hay(con: Any, table: Any, sql: str | None = None) -> None:
    """The strings to search, ``hay(hid, sid, place, s)`` (``sid``: the string a row
    comes from), from an Arrow table or a query."""
    if table is not None:
        con.register("hay_in", table)
        sql = "SELECT place, s FROM hay_in"
    # each string, and its runs of digit groups joined: "06 12 34 56 78" -> "0612345678"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE hay AS
        WITH given AS (SELECT row_number() OVER () AS sid, place, lower(s) AS s FROM ({sql})),
        digits AS (
            SELECT sid, place, regexp_replace(unnest(regexp_extract_all(
                s, '\\d+(?:[ .-]\\d+)+')), '[ .-]', '', 'g') AS s
            FROM given WHERE regexp_matches(s, '\\d[ .-]\\d'))
        SELECT row_number() OVER () AS hid, sid, place, s
        FROM (SELECT * FROM given UNION ALL SELECT * FROM digits)""")  # fmt: skip
    if table is not None:
        con.unregister("hay_in")


def load_needles(con: Any, needles: list[tuple[int, str, str]]) -> None:
    """The values to look for, ``needle(nid, hub, kind, v, anchor, offset)``."""
    import pyarrow as pa

    rows = [(i, hub, kind, value, *_anchor(value)) for i, (hub, kind, value) in enumerate(needles)]
    types = {"nid": pa.int32(), "hub": pa.int32(), "kind": pa.string(), "v": pa.string(),
             "anchor": pa.string(), "offset": pa.int32()}  # fmt: skip
    con.register("needle_in", arrow_table(rows, **types))
    con.execute("CREATE TEMP TABLE needle AS SELECT * FROM needle_in")
    con.unregister("needle_in")


def _anchor(value: str) -> tuple[str, int]:
    """The piece of ``value`` a search joins on, and where it starts in the value: around
    its last space (the start of a family or street name is rarer than its end), else
    its end."""
    space = value.rfind(" ")
    start = space - 2 if 2 <= space <= len(value) - 3 else len(value) - GRAM
    return value[start : start + GRAM], start


def matches(con: Any, needles: str) -> Iterator[tuple[int, str]]:
    """(place, kind) for each string of ``hay`` holding one of the ``needles`` (a
    condition on ``needle n``), once for each string and kind: family names where they
    are the whole value, the other values anywhere between word boundaries (no letter or
    digit right before or after)."""
    word = "regexp_matches(substr(h.s, {}, 1), '[\\pL\\pN]')"
    rows = con.execute(f"""
        WITH gram AS (
            SELECT hid, pos, substr(s, pos, {GRAM}) AS gram
            FROM (SELECT hid, s, unnest(range(1, length(s) - {GRAM - 2})) AS pos
                  FROM hay WHERE length(s) >= {GRAM})),
        hit AS (
            SELECT g.hid, g.pos - n.offset AS start, n.nid FROM gram g
            JOIN needle n ON n.anchor = g.gram
            WHERE n.kind <> 'family' AND g.pos > n.offset AND {needles})
        SELECT DISTINCT h.sid, h.place, n.kind FROM hit JOIN hay h USING (hid)
        JOIN needle n USING (nid)
        WHERE substr(h.s, hit.start, length(n.v)) = n.v
          AND NOT (start > 1 AND {word.format("start - 1")})
          AND NOT {word.format("start + length(n.v)")}
        UNION
        SELECT h.sid, h.place, n.kind FROM hay h JOIN needle n ON n.v = trim(h.s)
        WHERE n.kind = 'family' AND {needles}
    """).fetchall()  # fmt: skip
    for _, place, kind in rows:
        yield place, kind
