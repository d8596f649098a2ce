"""FHIRPath lowBoundary() and highBoundary() for dates, times, decimals and Periods.

A partial date or time stands for an interval; its boundaries are the first and last
instants of it at full precision. Without a time zone, the low boundary takes the
earliest zone (+14:00) and the high boundary the latest (-12:00).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from healthhub.sources.fhir.expressions import Value

if TYPE_CHECKING:
    from healthhub.sources.fhir.expressions import ExpressionCompiler

_TZ = r"(Z|[+-][0-9]{2}:[0-9]{2})$"


def _last_day(c: ExpressionCompiler, year_month: str) -> str:
    d = c.d
    first = f"CAST(concat({year_month}, '-01') AS DATE)"
    return d.to_string(f"last_day({first})")


def _date(c: ExpressionCompiler, s: str, high: bool) -> str:
    if high:
        return (
            f"(CASE length({s}) WHEN 4 THEN concat({s}, '-12-31')"
            f" WHEN 7 THEN {_last_day(c, s)} ELSE {s} END)"
        )
    return f"(CASE length({s}) WHEN 4 THEN concat({s}, '-01-01') WHEN 7 THEN concat({s}, '-01') ELSE {s} END)"


def _date_time(c: ExpressionCompiler, s: str, high: bool) -> str:
    d = c.d
    tz = d.regexp_extract(s, _TZ, 1)
    body = (
        f"(CASE WHEN {tz} IS NULL THEN {s} ELSE substring({s}, 1, length({s}) - length({tz})) END)"
    )
    zone = f"coalesce({tz}, {d.string('-12:00' if high else '+14:00')})"
    date_part = _date(c, f"substring({body}, 1, 10)", high)
    time_full = "'T23:59:59.999'" if high else "'T00:00:00.000'"
    fraction = "'.999'" if high else "'.000'"
    full = (
        f"(CASE WHEN length({body}) <= 10 THEN concat({date_part}, {time_full})"
        f" WHEN length({body}) = 16 THEN concat({body}, {':59.999' if high else ':00.000'!r})"
        f" WHEN length({body}) = 19 THEN concat({body}, {fraction})"
        f" ELSE {body} END)"
    )
    return f"concat({full}, {zone})"


def _time(s: str, high: bool) -> str:
    return (
        f"(CASE length({s}) WHEN 2 THEN concat({s}, {':59:59.999' if high else ':00:00.000'!r})"
        f" WHEN 5 THEN concat({s}, {':59.999' if high else ':00.000'!r})"
        f" WHEN 8 THEN concat({s}, {'.999' if high else '.000'!r}) ELSE {s} END)"
    )


def _decimal(c: ExpressionCompiler, v: str, high: bool, precision: str | None) -> str:
    d = c.d
    text = d.to_string(v)
    dot = d.position(text, "'.'")
    # doubles print whole numbers as "12.0": that trailing zero is no precision of the source
    whole = d.ends_with(text, "'.0'")
    scale = f"(CASE WHEN {dot} = 0 OR {whole} THEN 0 ELSE length({text}) - {dot} END)"
    half = f"(0.5 / power(10, {scale}))"
    out = f"({v} {'+' if high else '-'} {half})"
    if precision is not None:
        out = f"round({out}, {precision})"
    return out


def boundary(c: ExpressionCompiler, item: Value, high: bool, precision: str | None) -> Value:
    """The boundary of one item; empty stays empty."""
    value = _boundary(c, item, high, precision)
    if value.sql == "NULL" or item.type == "Period":
        return value
    return Value(
        f"(CASE WHEN {item.sql} IS NULL THEN NULL ELSE {value.sql} END)", value.type, False
    )


def _boundary(c: ExpressionCompiler, item: Value, high: bool, precision: str | None) -> Value:
    t = item.type
    if t == "Period":
        part = c.member(item, "end" if high else "start")
        return boundary(c, c.single(part), high, precision)
    if t == "date":
        return Value(_date(c, item.sql, high), "date", False)
    if t in ("dateTime", "instant"):
        return Value(_date_time(c, item.sql, high), "dateTime", False)
    if t == "time":
        return Value(_time(item.sql, high), "time", False)
    if t in ("decimal", "integer"):
        return Value(_decimal(c, item.sql, high, precision), "decimal", False)
    raise c.error(f"{'high' if high else 'low'}Boundary() is not defined for {t}")
