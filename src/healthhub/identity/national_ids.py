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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from operator import mul
from typing import Literal, NamedTuple

from healthhub.exceptions import HealthhubError, UserError

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


class _Encoded(NamedTuple):
    """What an identifier says of its holder; None where it says nothing."""

    sex: str | None  # FHIR administrative gender: 'male' or 'female'
    year: int | None  # the full birth year, where the century can be told
    year_of_century: int | None  # the two-digit year, where only that is encoded
    month: int | None
    day: int | None


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One check algorithm: layout, check digits, zero-padding and encoded demographics."""

    well_formed: Callable[[str], bool]
    check: Callable[[str], bool]
    pad_to: int = 0  # left-pad all-digit values of pad_from..pad_to-1 digits with zeros
    pad_from: int = 0
    encoded: Callable[[str], _Encoded] | None = None


def _digits(v: str) -> bool:
    return v.isascii() and v.isdigit()


def _weighted(v: str, weights: tuple[int, ...]) -> int:
    """Sum of digit times weight over the leading ``len(weights)`` ASCII digits of ``v``."""
    total: int = sum(map(mul, weights, v.encode("ascii")))  # bytes iterate as their codes
    return total - 48 * sum(weights)


def _n_digits(n: int) -> Callable[[str], bool]:
    """The layout check of a scheme whose values are ``n`` ASCII digits."""

    def well_formed(v: str) -> bool:
        return len(v) == n and v.isascii() and v.isdigit()

    return well_formed


def _no_check(v: str) -> bool:
    return True


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _parity_sex(digit: str) -> str:
    return "male" if digit in "13579" else "female"


# --- France: NIR (INS-NIR, INS-NIA) -------------------------------------------------------
# sex digit: 1 male, 2 female; 3/4 foreign-born people being registered; 7/8 temporary
# numbers. Month: 01-12; 31-42 "pseudo-fictitious" (an incomplete civil record that still
# gives the month, which is MM - 30); 20-30 and 50-99 fictitious (month unknown).
# Department: 01-99 (91-96 also for Algeria, Morocco, Tunisia before independence; 97/98
# overseas with a 2-digit commune; 99 born abroad), 2A/2B Corsica. Key: 97 - (n mod 97) of
# the 13-digit body n, with 2A -> 19 and 2B -> 18.
_NIR_SEX = {"1": "male", "3": "male", "7": "male", "2": "female", "4": "female", "8": "female"}
_CORSICA = {"A": "19", "B": "18"}


_NIR_FORMAT = re.compile(
    r"[123478][0-9]{2}"  # sex, year of century
    r"(?:0[1-9]|1[0-2]|[23][0-9]|4[0-2]|[5-9][0-9])"  # month: 01-12, 20-42, 50-99
    r"(?:0[1-9]|[13-9][0-9]|2[0-9AB])"  # department: 01-99, 2A, 2B
    r"[0-9]{8}"  # commune (or country), order, key
).fullmatch


def _nir_well_formed(v: str) -> bool:
    return _NIR_FORMAT(v) is not None


def _nir_check(v: str) -> bool:
    corsica = _CORSICA.get(v[6])
    if corsica is not None:
        return int(v[13:]) == 97 - int(v[:5] + corsica + v[7:13]) % 97
    number = int(v)
    return number % 100 == 97 - (number // 100) % 97


def _nir_encoded(v: str) -> _Encoded:
    month = int(v[3:5])
    known = month if month <= 12 else month - 30 if 31 <= month <= 42 else None
    return _Encoded(_NIR_SEX[v[0]], None, int(v[1:3]), known, None)


# --- United Kingdom: NHS number (modulus 11; a check value of 10 is never issued) ---------
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def _nhs_check(v: str) -> bool:
    check = 11 - _weighted(v, _NHS_WEIGHTS) % 11
    return (0 if check == 11 else check) == ord(v[9]) - 48


# --- Netherlands: BSN (11-proof: 9a + 8b + ... + 2h - i = 0 mod 11) -----------------------
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def _bsn_check(v: str) -> bool:
    return _weighted(v, _BSN_WEIGHTS) % 11 == 0


# --- Israel: teudat zehut (Luhn: weights 1,2,1,2,...; a doubled digit over 9 loses 9) -----
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # digit -> digit sum of twice the digit


def _luhn_sum(digits: tuple[int, ...]) -> int:
    """Digits weighted 1,2,1,2,... from the left, each product replaced by its digit sum."""
    return sum(digits[0::2]) + sum(_DOUBLED[d] for d in digits[1::2])


def _il_check(v: str) -> bool:
    return _luhn_sum(tuple(c - 48 for c in v.encode("ascii"))) % 10 == 0


# --- Belgium: INSZ/NISS (national register number or BIS number) -------------------------
# YYMMDD SSS CC. Month 00-12 (register; 00 = unknown), 20-32 (BIS, sex unknown: MM + 20),
# 40-52 (BIS, sex known: MM + 40); day 00-31 (00 = unknown). Sequence 001-998 (000 and 999
# are never assigned: the table lists them as placeholders), odd for men and even for women
# (in BIS numbers only when the sex was known). Key: 97 - (n mod 97) of
# the 9 digits n, or of 2n (a 2 prefixed) for births from 2000, which gives the century.
_NISS_MONTHS = frozenset(f"{m:02d}" for m in (*range(0, 13), *range(20, 33), *range(40, 53)))
_DAYS = frozenset(f"{d:02d}" for d in range(32))


def _niss_well_formed(v: str) -> bool:
    return len(v) == 11 and _digits(v) and v[2:4] in _NISS_MONTHS and v[4:6] in _DAYS


def _niss_century(v: str) -> int | None:
    body, key = int(v[:9]), int(v[9:])
    if key == 97 - body % 97:
        return 1900
    if key == 97 - (2_000_000_000 + body) % 97:
        return 2000
    return None


def _niss_check(v: str) -> bool:
    return _niss_century(v) is not None


def _niss_encoded(v: str) -> _Encoded:
    century = _niss_century(v)
    year_of_century, month, day = int(v[:2]), int(v[2:4]), int(v[4:6])
    year = century + year_of_century if century is not None else None
    if month <= 12:  # national register: the birth date and the sex are the person's
        return _Encoded(_parity_sex(v[8]), year, year_of_century, month or None, day or None)
    if month < 40:  # BIS, sex unknown when issued; the day may be administrative
        return _Encoded(None, year, year_of_century, (month - 20) or None, None)
    return _Encoded(_parity_sex(v[8]), year, year_of_century, (month - 40) or None, None)


# --- Denmark: CPR (DDMMYY-SSSS; the 7th digit and YY give the century; no check) ----------
def _cpr_year(v: str) -> int:
    year_of_century, seventh = int(v[4:6]), v[6]
    if seventh in "0123":
        return 1900 + year_of_century
    if seventh in "49":
        return (2000 if year_of_century <= 36 else 1900) + year_of_century
    return (2000 if year_of_century <= 57 else 1800) + year_of_century


def _cpr_well_formed(v: str) -> bool:
    if len(v) != 10 or not _digits(v):
        return False
    day, month = int(v[:2]), int(v[2:4])
    return 1 <= month <= 12 and 1 <= day <= _days_in_month(_cpr_year(v), month)


def _cpr_encoded(v: str) -> _Encoded:
    year = _cpr_year(v)
    return _Encoded(_parity_sex(v[9]), year, year % 100, int(v[2:4]), int(v[:2]))


# --- Germany: KVNR (a letter, 8 digits, a modulus 10 check digit) -------------------------
# The letter becomes its two-digit alphabet position (A = 01 ... Z = 26); the 10 digits that
# gives are weighted 1,2,1,2,... with the digit sum of each product; the sum mod 10 is the
# check digit.
def _kvnr_well_formed(v: str) -> bool:
    return len(v) == 10 and "A" <= v[0] <= "Z" and _digits(v[1:])


def _kvnr_check(v: str) -> bool:
    letter = ord(v[0]) - 64
    digits = (letter // 10, letter % 10, *(c - 48 for c in v[1:9].encode("ascii")))
    return _luhn_sum(digits) % 10 == ord(v[9]) - 48


ALGORITHMS: dict[str, Algorithm] = {
    "nir": Algorithm(_nir_well_formed, _nir_check, encoded=_nir_encoded),
    "ssn": Algorithm(_n_digits(9), _no_check),  # no check digit: the table's patterns flag dummies
    "nhs": Algorithm(_n_digits(10), _nhs_check),
    "bsn": Algorithm(_n_digits(9), _bsn_check, pad_to=9, pad_from=8),
    "il-id": Algorithm(_n_digits(9), _il_check, pad_to=9, pad_from=1),
    "niss": Algorithm(_niss_well_formed, _niss_check, encoded=_niss_encoded),
    "cpr": Algorithm(_cpr_well_formed, _no_check, encoded=_cpr_encoded),
    "kvnr": Algorithm(_kvnr_well_formed, _kvnr_check),
}


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
        if self._pad_from <= len(v) < self._pad_to and _digits(v):
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

    def encoded(self, value: str) -> _Encoded | None:
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


def _interpreter(scheme: Scheme | str) -> _Interpreter:
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
    return _interpreter(name).scheme


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
    return _interpreter(scheme).normalize(value)


def validate(scheme: Scheme | str, value: str) -> Validation:
    """The status of ``value`` under ``scheme`` and its normalised form."""
    return _interpreter(scheme).validate(value)


_MISSING = Validation("invalid_format", "")


def validate_many(scheme: Scheme | str, values: Iterable[str | None]) -> list[Validation]:
    """``validate`` over a column; a missing value (None) is ``invalid_format`` with value ""."""
    one = _interpreter(scheme).validate
    return [_MISSING if value is None else one(value) for value in values]


def validate_column(
    scheme: Scheme | str, values: Iterable[str | None]
) -> tuple[list[str], list[Status]]:
    """``validate_many`` as two parallel columns (normalised values, statuses).

    Faster than ``validate_many`` on a large column (no object per value), and ready for
    ``pyarrow.array``. A missing value (None) gives "" and ``invalid_format``.
    """
    return _interpreter(scheme).validate_column(values)


def _birth_parts(text: str | date | None) -> tuple[int | None, int | None, int | None]:
    """Year, month, day of a FHIR date ('YYYY', 'YYYY-MM', 'YYYY-MM-DD'); None where absent."""
    if isinstance(text, date):
        return text.year, text.month, text.day
    if not text or len(text) < 4 or not _digits(text[:4]):
        return None, None, None
    year = int(text[:4])
    month = int(text[5:7]) if text[4:5] == "-" and _digits(text[5:7]) else None
    if month is None or not 1 <= month <= 12:
        return year, None, None
    day = int(text[8:10]) if text[7:8] == "-" and _digits(text[8:10]) else None
    return year, month, day


def consistent_column(
    scheme: Scheme | str,
    values: Sequence[str],
    sexes: Sequence[str | None],
    births: Sequence[str | None],
) -> list[bool | None]:
    """``consistent_with`` over columns of values already normalised and valid (as
    ``validate_column`` leaves them): each value is decoded once, without checking again."""
    decode = _interpreter(scheme)._encoded
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
    encoded = _interpreter(scheme).encoded(value)
    if encoded is None:
        return None
    return _agrees(encoded, sex, birth_date)


def _agrees(encoded: _Encoded, sex: str | None, birth_date: str | date | None) -> bool | None:
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


# --- the same verdicts as SQL, for whole columns ------------------------------------------
# The NIR family (fr-nir, fr-nia, fr-nir-test) is what most French records carry: a
# delivery of a million patients checks a million NIRs, which SQL does in a fraction of
# the time a Python loop takes. ``tests/test_national_ids.py`` checks both agree.
_NIR_FORMAT_SQL = (
    "[123478][0-9]{2}(?:0[1-9]|1[0-2]|[23][0-9]|4[0-2]|[5-9][0-9])"
    "(?:0[1-9]|[13-9][0-9]|2[0-9AB])[0-9]{8}"
)
_SQL_ALGORITHMS = frozenset({"nir"})


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def has_sql(scheme: Scheme | str) -> bool:
    """Whether ``sql_verdict`` covers this scheme (else use ``validate_column``)."""
    return _interpreter(scheme).scheme.algorithm in _SQL_ALGORITHMS


def sql_verdict(scheme: Scheme | str, value: str, n: str, sex: str, birth: str) -> tuple[str, str]:
    """DuckDB SQL for the normalised form of the identifier in column ``value``, and for
    its status given that normalised form in column ``n``: ``validate``'s status, or
    ``inconsistent`` for a valid one that ``consistent_with`` says contradicts ``sex`` /
    ``birth`` (FHIR gender, FHIR date)."""
    found = _interpreter(scheme)
    if found.scheme.algorithm not in _SQL_ALGORITHMS:
        raise ValueError(f"no SQL form for scheme {found.scheme.name}")
    drop = "".join(SEPARATORS[word] for word in found.scheme.separators)
    klass = "".join("\\" + c if c in "\\]^-[" else c for c in drop)
    normal = f"upper(regexp_replace({value}, '[{klass}]', '', 'g'))" if drop else f"upper({value})"
    placeholder = ["false"]
    if found._test_only:
        placeholder.append("true")
    if found._repeated:
        placeholder.append(f"{n} = repeat(left({n}, 1), length({n}))")
    for pattern in found.scheme.placeholders:
        if pattern == REPEATED:
            continue
        if set(pattern) & set("*?["):
            regex = fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")
            placeholder.append(f"regexp_full_match({n}, {_sql_string(regex)})")
        else:
            placeholder.append(f"{n} = {_sql_string(pattern)}")
    body = (f"CASE substr({n}, 7, 1) WHEN 'A' THEN substr({n}, 1, 5) || '19' || substr({n}, 8, 6)"
            f" WHEN 'B' THEN substr({n}, 1, 5) || '18' || substr({n}, 8, 6)"
            f" ELSE substr({n}, 1, 13) END")  # fmt: skip
    check = f"TRY_CAST(substr({n}, 14, 2) AS INTEGER) = 97 - TRY_CAST({body} AS BIGINT) % 97"
    encoded_sex = (f"CASE WHEN substr({n}, 1, 1) IN ('1', '3', '7') THEN 'male'"
                   f" WHEN substr({n}, 1, 1) IN ('2', '4', '8') THEN 'female' END")  # fmt: skip
    mm = f"TRY_CAST(substr({n}, 4, 2) AS INTEGER)"
    encoded_month = f"CASE WHEN {mm} <= 12 THEN {mm} WHEN {mm} BETWEEN 31 AND 42 THEN {mm} - 30 END"
    year = f"CASE WHEN regexp_full_match(left({birth}, 4), '[0-9]{{4}}') THEN TRY_CAST(left({birth}, 4) AS INTEGER) END"
    month = (f"CASE WHEN substr({birth}, 5, 1) = '-' AND regexp_full_match(substr({birth}, 6, 2),"
             f" '[0-9]{{2}}') AND TRY_CAST(substr({birth}, 6, 2) AS INTEGER) BETWEEN 1 AND 12"
             f" THEN TRY_CAST(substr({birth}, 6, 2) AS INTEGER) END")  # fmt: skip
    disagrees = (f"(({sex}) IN ('male', 'female') AND ({sex}) <> {encoded_sex})"
                 f" OR (({year}) IS NOT NULL AND ({year}) % 100 <> TRY_CAST(substr({n}, 2, 2) AS INTEGER))"
                 f" OR (({month}) IS NOT NULL AND ({encoded_month}) IS NOT NULL"
                 f" AND ({month}) <> ({encoded_month}))")  # fmt: skip
    status = (f"CASE WHEN NOT regexp_full_match({n}, '{_NIR_FORMAT_SQL}') THEN 'invalid_format'"
              f" WHEN {' OR '.join(placeholder)} THEN 'placeholder'"
              f" WHEN NOT coalesce({check}, false) THEN 'invalid_check'"
              f" WHEN {disagrees} THEN 'inconsistent' ELSE 'valid' END")  # fmt: skip
    return normal, status
