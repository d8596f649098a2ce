"""National person identifiers (NIR, SSN, NHS number, BSN, ...): recognise, normalise, validate.

The schemes, and the FHIR ``Identifier.system`` URIs that carry them, are data:
``rules/national_ids.csv`` has one row per (scheme, system) naming the check algorithm, the
separators a value may be written with and the known dummy values. This module interprets
the table with one small, precomputed check per algorithm.

Record linkage uses a national identifier deterministically only when ``validate`` says
``valid`` and ``consistent_with`` does not say ``False``; other values are kept and flagged,
never linked on. ``validate`` decides in this order:

1. normalise: drop the scheme's separators, upper-case, left-pad with zeros where the
   algorithm allows (8-digit BSNs, Israeli IDs written without their leading zeros);
2. ``invalid_format`` when the layout is wrong (length, characters, impossible fields);
3. ``placeholder`` when the value is well formed but a known dummy (the table's patterns,
   ``repeated`` for one character repeated, or a system reserved for test patients);
4. ``invalid_check`` when the check digits disagree;
5. ``valid``.

No identifier value ever reaches an exception message, a log or a ``repr``.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Literal, NamedTuple

from healthhub.exceptions import HealthhubError, UserError
from healthhub.identity.national_id_checks import ALGORITHMS, Encoded, digits_only

Status = Literal["valid", "invalid_format", "invalid_check", "placeholder"]
STATUSES: tuple[Status, ...] = ("valid", "invalid_format", "invalid_check", "placeholder")

RULES_FILE = "rules/national_ids.csv"
COLUMNS = (
    "scheme", "country", "system", "algorithm", "separators", "placeholders", "test_only",
    "description",
)  # fmt: skip
# separator words of the ``separators`` column -> the characters normalisation drops
SEPARATORS = {
    "space": " \t\r\n\u00a0\u2007\u2009\u202f",  # incl. the no-break spaces of French typography
    "dot": ".",
    "dash": "-\u2010\u2011\u2012\u2013\u2014\u2212",  # incl. the dashes word processors put in
    "slash": "/",
}
REPEATED = "repeated"  # placeholder keyword: one character repeated (000000000, 1111111111)


@dataclass(frozen=True, slots=True)
class Scheme:
    """A national identifier scheme, as ``rules/national_ids.csv`` describes it."""

    name: str  # e.g. ``fr-nir``
    country: str  # ISO 3166-1 alpha-2
    algorithm: str  # a key of ``ALGORITHMS``
    systems: tuple[str, ...]  # the FHIR Identifier.system URIs that carry it
    separators: tuple[str, ...]  # words of ``SEPARATORS``
    placeholders: tuple[str, ...]  # glob patterns over the normalised value, or ``repeated``
    test_only: bool  # every value is a fictitious test patient's
    description: str


class Validation(NamedTuple):
    """The verdict on one identifier: its status and its normalised value.

    The value is left out of ``repr`` and ``str``, so a logged verdict names no one.
    """

    status: Status
    value: str

    @property
    def usable_for_linkage(self) -> bool:
        """Whether deterministic linkage may use this value (only ``valid`` ones)."""
        return self.status == "valid"

    def __repr__(self) -> str:
        return f"Validation(status={self.status!r}, value=<{len(self.value)} characters>)"


_new = tuple.__new__  # builds a Validation without the NamedTuple constructor's overhead


class _Interpreter:
    """One scheme's rules, precomputed: what ``validate`` runs per value."""

    __slots__ = (
        "_ascii_separators", "_check", "_encoded", "_exact", "_pad_from", "_pad_to", "_pattern",
        "_repeated", "_table", "_test_only", "_well_formed", "scheme",
    )  # fmt: skip

    def __init__(self, scheme: Scheme) -> None:
        algorithm = ALGORITHMS[scheme.algorithm]
        self.scheme = scheme
        self._well_formed = algorithm.well_formed
        self._check = algorithm.check
        self._encoded = algorithm.encoded
        self._pad_to, self._pad_from = algorithm.pad_to, algorithm.pad_from
        drop = "".join(SEPARATORS[word] for word in scheme.separators)
        self._table = str.maketrans("", "", drop)
        self._ascii_separators = tuple(c for c in drop if c.isascii())
        self._repeated = REPEATED in scheme.placeholders
        patterns = [p for p in scheme.placeholders if p != REPEATED]
        wild = [p for p in patterns if set(p) & set("*?[")]
        self._exact = frozenset(patterns) - frozenset(wild)
        joined = "|".join(fnmatch.translate(p) for p in wild)
        self._pattern = re.compile(joined).match if wild else None
        self._test_only = scheme.test_only

    def normalize(self, value: str) -> str:
        v = value
        if not (v.isascii() and v.isalnum()):
            if v.isascii():  # chained replaces beat str.translate on short ASCII strings
                for separator in self._ascii_separators:
                    if separator in v:
                        v = v.replace(separator, "")
            else:
                v = v.translate(self._table)
        v = v.upper()
        if self._pad_from <= len(v) < self._pad_to and digits_only(v):
            v = v.zfill(self._pad_to)
        return v

    def status(self, v: str) -> Status:
        """The status of an already normalised value."""
        if not self._well_formed(v):
            return "invalid_format"
        if (
            self._test_only
            or (self._repeated and v == v[0] * len(v))
            or v in self._exact
            or (self._pattern is not None and self._pattern(v) is not None)
        ):
            return "placeholder"
        if not self._check(v):
            return "invalid_check"
        return "valid"

    def validate(self, value: str) -> Validation:
        v = self.normalize(value)
        return _new(Validation, (self.status(v), v))

    def validate_column(self, values: Iterable[str | None]) -> tuple[list[str], list[Status]]:
        normalize, status = self.normalize, self.status
        normalized = ["" if value is None else normalize(value) for value in values]
        return normalized, [status(v) for v in normalized]

    def encoded(self, value: str) -> Encoded | None:
        if self._encoded is None:
            return None
        v = self.normalize(value)
        return self._encoded(v) if self._well_formed(v) else None


class _Rules(NamedTuple):
    schemes: tuple[Scheme, ...]
    by_name: dict[str, _Interpreter]
    by_system: dict[str, Scheme]


def _parse_rules(text: str, source: str = RULES_FILE) -> _Rules:
    """Read the rules table; every problem is reported at once, by line and column."""
    reader = csv.DictReader(text.splitlines())
    problems: list[str] = []
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise HealthhubError(f"{source}: the header must be {','.join(COLUMNS)}")
    rows: dict[str, list[tuple[int, dict[str, str]]]] = {}
    by_system_name: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        where = f"{source} line {line}"
        if None in row or any(row[c] is None for c in COLUMNS):
            problems.append(f"{where}: expected {len(COLUMNS)} columns")
            continue
        if not row["scheme"] or not row["system"]:
            problems.append(f"{where}: scheme and system must not be empty")
            continue
        if row["algorithm"] not in ALGORITHMS:
            problems.append(
                f"{where}: unknown algorithm {row['algorithm']!r} "
                f"(known: {', '.join(sorted(ALGORITHMS))})"
            )
        unknown = sorted(set(row["separators"].split()) - set(SEPARATORS))
        if unknown:
            problems.append(
                f"{where}: unknown separators {', '.join(unknown)} (known: {', '.join(SEPARATORS)})"
            )
        if row["test_only"] not in ("yes", "no"):
            problems.append(f"{where}: test_only must be yes or no")
        if row["system"] in by_system_name:
            problems.append(f"{where}: system {row['system']} is listed twice")
        by_system_name[row["system"]] = row["scheme"]
        rows.setdefault(row["scheme"], []).append((line, row))
    schemes: list[Scheme] = []
    for name, scheme_rows in rows.items():
        first = scheme_rows[0][1]
        for line, row in scheme_rows[1:]:
            for column in ("country", "algorithm", "separators", "placeholders", "test_only"):
                if row[column] != first[column]:
                    problems.append(
                        f"{source} line {line}: {column} differs from the first row of "
                        f"scheme {name} (line {scheme_rows[0][0]})"
                    )
        schemes.append(
            Scheme(
                name=name,
                country=first["country"],
                algorithm=first["algorithm"],
                systems=tuple(row["system"] for _, row in scheme_rows),
                separators=tuple(first["separators"].split()),
                placeholders=tuple(first["placeholders"].split()),
                test_only=first["test_only"] == "yes",
                description=first["description"],
            )
        )
    if problems:
        raise HealthhubError("; ".join(problems))
    by_name = {scheme.name: _Interpreter(scheme) for scheme in schemes}
    by_system = {system: scheme for scheme in schemes for system in scheme.systems}
    return _Rules(tuple(schemes), by_name, by_system)


@cache
def _rules() -> _Rules:
    text = resources.files("healthhub.identity").joinpath(RULES_FILE).read_text("utf-8")
    return _parse_rules(text)


def interpreter(scheme: Scheme | str) -> _Interpreter:
    name = scheme if isinstance(scheme, str) else scheme.name
    found = _rules().by_name.get(name)
    if found is None:
        known = ", ".join(sorted(_rules().by_name))
        raise UserError(f"unknown national identifier scheme {name!r}; known schemes: {known}")
    return found


def schemes() -> tuple[Scheme, ...]:
    """Every scheme of the rules table, in table order."""
    return _rules().schemes


def scheme_named(name: str) -> Scheme:
    """The scheme called ``name`` (e.g. ``fr-nir``); a ``UserError`` names the known ones."""
    return interpreter(name).scheme


def scheme_for_system(system: str | None) -> Scheme | None:
    """The scheme whose identifiers a FHIR ``Identifier.system`` carries, or None.

    A bare OID (``1.2.250.1.213.1.4.8``, as HL7 v2 and CDA write them) is read as its
    ``urn:oid:`` URI.
    """
    if not system:
        return None
    by_system = _rules().by_system
    found = by_system.get(system)
    if found is None and system[0].isdigit():
        found = by_system.get("urn:oid:" + system)
    return found


def normalize(scheme: Scheme | str, value: str) -> str:
    """``value`` without the scheme's separators, upper-cased, zero-padded where allowed."""
    return interpreter(scheme).normalize(value)


def validate(scheme: Scheme | str, value: str) -> Validation:
    """The status of ``value`` under ``scheme`` and its normalised form."""
    return interpreter(scheme).validate(value)


_MISSING = Validation("invalid_format", "")


def validate_many(scheme: Scheme | str, values: Iterable[str | None]) -> list[Validation]:
    """``validate`` over a column; a missing value (None) is ``invalid_format`` with value ""."""
    one = interpreter(scheme).validate
    return [_MISSING if value is None else one(value) for value in values]


def validate_column(
    scheme: Scheme | str, values: Iterable[str | None]
) -> tuple[list[str], list[Status]]:
    """``validate_many`` as two parallel columns (normalised values, statuses).

    Faster than ``validate_many`` on a large column (no object per value), and ready for
    ``pyarrow.array``. A missing value (None) gives "" and ``invalid_format``.
    """
    return interpreter(scheme).validate_column(values)


def _birth_parts(text: str | date | None) -> tuple[int | None, int | None, int | None]:
    """Year, month, day of a FHIR date ('YYYY', 'YYYY-MM', 'YYYY-MM-DD'); None where absent."""
    if isinstance(text, date):
        return text.year, text.month, text.day
    if not text or len(text) < 4 or not digits_only(text[:4]):
        return None, None, None
    year = int(text[:4])
    month = int(text[5:7]) if text[4:5] == "-" and digits_only(text[5:7]) else None
    if month is None or not 1 <= month <= 12:
        return year, None, None
    day = int(text[8:10]) if text[7:8] == "-" and digits_only(text[8:10]) else None
    return year, month, day


def consistent_column(
    scheme: Scheme | str,
    values: Sequence[str],
    sexes: Sequence[str | None],
    births: Sequence[str | None],
) -> list[bool | None]:
    """``consistent_with`` over columns of values already normalised and valid (as
    ``validate_column`` leaves them): each value is decoded once, without checking again."""
    decode = interpreter(scheme)._encoded
    if decode is None:
        return [None] * len(values)
    return [
        _agrees(decode(v), sex, birth) for v, sex, birth in zip(values, sexes, births, strict=True)
    ]


def consistent_with(
    scheme: Scheme | str, value: str, sex: str | None, birth_date: str | date | None
) -> bool | None:
    """Whether an identifier agrees with the record's sex and birth date.

    Where the identifier encodes them (NIR: sex, year of century, month; NISS and CPR: the
    birth date and, mostly, the sex), each part both sides know is compared: False when one
    disagrees, True when at least one agrees and none disagrees, None when nothing can be
    compared (a scheme that encodes nothing, a malformed value, an unknown sex or date).
    ``sex`` is a FHIR administrative gender ('male', 'female'; others are not compared);
    ``birth_date`` a FHIR date, possibly partial, or a ``datetime.date``.
    """
    encoded = interpreter(scheme).encoded(value)
    if encoded is None:
        return None
    return _agrees(encoded, sex, birth_date)


def _agrees(encoded: Encoded, sex: str | None, birth_date: str | date | None) -> bool | None:
    year, month, day = _birth_parts(birth_date)
    agreements: list[bool] = []
    if encoded.sex is not None and sex in ("male", "female"):
        agreements.append(encoded.sex == sex)
    if year is not None:
        if encoded.year is not None:
            agreements.append(encoded.year == year)
        elif encoded.year_of_century is not None:
            agreements.append(encoded.year_of_century == year % 100)
    if month is not None and encoded.month is not None:
        agreements.append(encoded.month == month)
    if day is not None and encoded.day is not None:
        agreements.append(encoded.day == day)
    if not agreements:
        return None
    return all(agreements)
