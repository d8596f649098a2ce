"""The SQL form of national identifier checks agrees with the Python one."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from healthhub.identity import national_ids as ids
from healthhub.identity.national_ids_sql import sql_verdict


def _sql_verdicts(rows: list[tuple[str, str | None, str | None]]) -> list[tuple[str, str]]:
    normal, status = sql_verdict("fr-nir", "v", "n", "sex", "birth")
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR, sex VARCHAR, birth VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
    return [tuple(r) for r in con.execute(
        f"SELECT n, {status} FROM (SELECT *, {normal} AS n FROM t) ORDER BY i").fetchall()]  # fmt: skip


def _python_verdict(value: str, sex: str | None, birth: str | None) -> tuple[str, str]:
    verdict = ids.validate("fr-nir", value)
    if (
        verdict.status == "valid"
        and ids.consistent_with("fr-nir", verdict.value, sex, birth) is False
    ):
        return verdict.value, "inconsistent"
    return verdict.value, verdict.status


NIR_LIKE = st.one_of(
    st.from_regex(r"\A[0-9 .\-]{13,21}\Z", fullmatch=True),
    st.builds(lambda body, sep: sep.join([body[:1], body[1:3], body[3:5], body[5:7], body[7:10],
                                          body[10:13]]) + sep + f"{97 - int(body) % 97:02d}",
              st.from_regex(r"\A[12378][0-9]{2}(0[1-9]|1[0-2]|3[1-9]|4[0-2]|50)(0[1-9]|[1-9][0-9])[0-9]{6}\Z",
                            fullmatch=True), st.sampled_from(["", " ", ".", "-"])),
)  # fmt: skip
BIRTHS = st.one_of(st.none(), st.sampled_from(["1961", "1961-03", "1961-03-12", "2061-13-01", "x"]),
                   st.dates().map(lambda d: d.isoformat()))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NIR_LIKE, st.sampled_from(["male", "female", "other", None]), BIRTHS),
                min_size=1, max_size=40))  # fmt: skip
def test_sql_and_python_nir_verdicts_agree(rows: list[tuple[str, str | None, str | None]]) -> None:
    assert _sql_verdicts(rows) == [_python_verdict(*r) for r in rows]


def test_sql_nir_verdicts_on_known_values() -> None:
    good = "2610369383123"
    good += f"{97 - int(good) % 97:02d}"
    corsica = "161032A123456"
    corsica += f"{97 - int(corsica.replace('2A', '19')) % 97:02d}"
    rows = [(good, "female", "1961-03-12"), (good, "male", None), (good, None, "1971-03-12"),
            (good, "female", "1961-04-01"), (good[:-2] + "00", None, None), ("1" * 15, None, None),
            ("abc", None, None), (corsica, "male", "1961"), ("2 61 03 69 383 123 " + good[-2:], "female", None)]  # fmt: skip
    assert [s for _, s in _sql_verdicts(rows)] == [
        "valid", "inconsistent", "inconsistent", "inconsistent", "invalid_check", "placeholder",
        "invalid_format", "valid", "valid"]  # fmt: skip
