"""The privacy guard (tests/privacy_guard.py) catches what it is meant to catch.

Most tests run a small pytest session with the plugin (``pytester``, in this process;
the last one in another) on a copy of one hub that holds one patient with a distinctive
name, MRN, phone and street line. A session that shows one of them in its output, an
error, the warehouse or the audit trail must fail and say where and what kind of value,
never the value; a clean session and a test marked ``shows_identifiers`` pass. A table
then says what counts as a value in a string.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

import privacy_guard
from healthhub.hub.config import init_hub
from healthhub.hub.pipeline import ingest

TESTS = Path(__file__).resolve().parent
PATIENT = {
    "resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1961-03-12",
    "name": [{"family": "Zyxwabc", "given": ["Quorra"]}],
    "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                         "code": "MR"}]},
                    "system": "urn:x", "value": "MRN-778899"}],
    "telecom": [{"system": "phone", "value": "0612345678"}],
    "address": [{"line": ["12 rue des Zinnias"], "city": "Lyon", "postalCode": "69003"}],
}  # fmt: skip
# plugins the inner sessions do without (they only cost time)
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
VALUES = ("Quorra Zyxwabc", "Zyxwabc Quorra", "MRN-778899", "0612345678", "12 rue des Zinnias")

# the inner sessions' conftest: the plugin, and a fresh copy of the hub for each test
CONFTEST = """
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, {tests!r})  # privacy_guard, for a session in another process too
pytest_plugins = ["privacy_guard"]


@pytest.fixture
def hub(tmp_path):
    from healthhub.hub.config import open_hub

    shutil.copytree({template!r}, tmp_path / "hub")
    return open_hub(tmp_path / "hub")
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub with the one patient (made once: an ingest takes seconds)."""
    root = tmp_path_factory.mktemp("privacy_guard")
    hub = init_hub(root / "hub")
    delivery = root / "delivery"
    delivery.mkdir()
    (delivery / "Patient.ndjson").write_bytes(orjson.dumps(PATIENT) + b"\n")
    ingest(hub, "hospital", [delivery])
    shutil.rmtree(delivery)
    return hub.root


@pytest.fixture
def session(pytester: pytest.Pytester, template: Path) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST.format(tests=str(TESTS), template=str(template)))
    return pytester


def run(session: pytest.Pytester, test: str) -> tuple[pytest.RunResult, str]:
    session.makepyfile(test_inner=test)
    result = session.runpytest(*QUIET)
    output = "\n".join(result.outlines + result.errlines)
    for value in VALUES:
        assert value.lower() not in output.lower(), "the report shows a value"
    return result, output


def assert_leak(result: pytest.RunResult, output: str, *words: str) -> None:
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    result.assert_outcomes(passed=1)  # the test passed: the guard failed the session
    assert "privacy guard: vault values found" in output
    report = [line for line in output.splitlines() if all(w in line for w in words)]
    assert report, f"no report line with {words}:\n{output}"


def test_a_name_in_click_output_fails_the_session(session: pytest.Pytester) -> None:
    result, output = run(session, """
import click

def test_echo(hub):
    click.echo("reviewing Quorra Zyxwabc")
""")  # fmt: skip
    assert_leak(result, output, "test_inner.py::test_echo", "click output", "a full name")


def test_an_mrn_in_an_error_message_fails_the_session(session: pytest.Pytester) -> None:
    result, output = run(session, """
from healthhub.exceptions import UserError

def test_error(hub):
    try:
        raise UserError("record MRN-778899 is invalid")
    except UserError:
        pass
""")  # fmt: skip
    assert_leak(result, output, "test_inner.py::test_error", "a UserError message", "an MRN")


def test_a_phone_in_a_warehouse_table_fails_the_session(session: pytest.Pytester) -> None:
    result, output = run(session, """
import duckdb

def test_table(hub):
    con = duckdb.connect(str(hub.warehouse))
    con.execute("CREATE TABLE leak AS SELECT 'called 0612345678' AS v")
    con.close()
""")  # fmt: skip
    assert_leak(result, output, "hub ", "warehouse table leak, column v", "a phone number")


def test_a_street_line_in_an_audit_payload_fails_the_session(session: pytest.Pytester) -> None:
    result, output = run(session, """
from healthhub.governance import audit
from healthhub.identity.keys import KeyStore

def test_audit(hub):
    key = KeyStore(hub.keys).audit_key()
    audit.record(hub.governance, key, audit.LINKS_EXPORTED, {"file": "12 Rue des Zinnias.csv"})
""")  # fmt: skip
    assert_leak(result, output, "governance store table audit_event, column payload",
                "a street line")  # fmt: skip


def test_a_clean_session_passes_and_says_what_it_checked(session: pytest.Pytester) -> None:
    result, output = run(session, """
import click
from healthhub.exceptions import UserError

def test_clean(hub):
    click.echo("1 person, 1 record")
    try:
        raise UserError("record 1 is invalid")
    except UserError:
        pass
""")  # fmt: skip
    assert result.ret == pytest.ExitCode.OK, output
    assert "privacy guard: no vault value found; 1 hub(s)" in output


def test_a_test_that_shows_identifiers_on_purpose_passes(session: pytest.Pytester) -> None:
    result, output = run(session, """
import click
import pytest

@pytest.mark.shows_identifiers
def test_review_values(hub):
    click.echo("A: Quorra Zyxwabc, MRN-778899")
""")  # fmt: skip
    assert result.ret == pytest.ExitCode.OK, output


def test_the_exit_status_of_a_separate_pytest_process(session: pytest.Pytester) -> None:
    session.makepyfile(test_inner="""
def test_print(hub):
    print("calling 06 12 34 56 78")  # the phone as written in a captured stdout
""")  # fmt: skip
    result = session.runpytest_subprocess(*QUIET, timeout=120)
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "test_inner.py::test_print: captured stdout call: a phone number" in output
    assert "0612345678" not in output and "06 12 34 56 78" not in output


# --- what counts as a value ------------------------------------------------------------------
def test_the_values_of_a_vault(template: Path) -> None:
    assert privacy_guard.vault_values(template) == {
        "quorra zyxwabc": "name", "zyxwabc quorra": "name", "zyxwabc": "family",
        "mrn-778899": "mrn", "0612345678": "phone", "12 rue des zinnias": "street",
    }  # fmt: skip


@pytest.mark.parametrize(("text", "kind"), [
    ("reviewing QUORRA Zyxwabc.", "name"),
    ("Zyxwabc Quorra", "name"),
    ("Quorra Zyxwabcson", None),  # another name
    ("Quorra", None),
    ("Zyxwabc", "family"),  # a whole value only
    ("M. Zyxwabc", None),
    ("file=MRN-778899.csv", "mrn"),
    ("MRN-7788990", None),  # another identifier
    ("call 06 12 34 56 78 or 06.12.34.56.78", "phone"),
    ("id 10612345678", None),  # part of a longer number
    ("12 rue des Zinnias, Lyon", "street"),
    ("rue des Zinnias", None),  # part of a street line
])  # fmt: skip
def test_what_counts_as_a_value_in_a_string(text: str, kind: str | None) -> None:
    values = {"quorra zyxwabc": "name", "zyxwabc quorra": "name", "zyxwabc": "family",
              "mrn-778899": "mrn", "0612345678": "phone", "12 rue des zinnias": "street"}  # fmt: skip
    con = duckdb.connect()
    privacy_guard.load_needles(con, [(0, k, v) for v, k in values.items()])
    privacy_guard.load_hay(
        con, privacy_guard.arrow_table([(7, text)], place=pa.int32(), s=pa.string())
    )
    assert list(privacy_guard.matches(con, "TRUE")) == ([(7, kind)] if kind else [])
