"""The check algorithms of national identifier schemes, one per layout: what a well-formed
value looks like, how its check digits are computed, how short values are zero-padded, and
what a value says of its holder (sex, birth date). ``national_ids`` applies them as the
rules table (``rules/national_ids.csv``) assigns them to schemes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import mul
from typing import NamedTuple


class Encoded(NamedTuple):
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
    encoded: Callable[[str], Encoded] | None = None


def digits_only(v: str) -> bool:
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


def _nir_encoded(v: str) -> Encoded:
    month = int(v[3:5])
    known = month if month <= 12 else month - 30 if 31 <= month <= 42 else None
    return Encoded(_NIR_SEX[v[0]], None, int(v[1:3]), known, None)


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
    return len(v) == 11 and digits_only(v) and v[2:4] in _NISS_MONTHS and v[4:6] in _DAYS


def _niss_century(v: str) -> int | None:
    body, key = int(v[:9]), int(v[9:])
    if key == 97 - body % 97:
        return 1900
    if key == 97 - (2_000_000_000 + body) % 97:
        return 2000
    return None


def _niss_check(v: str) -> bool:
    return _niss_century(v) is not None


def _niss_encoded(v: str) -> Encoded:
    century = _niss_century(v)
    year_of_century, month, day = int(v[:2]), int(v[2:4]), int(v[4:6])
    year = century + year_of_century if century is not None else None
    if month <= 12:  # national register: the birth date and the sex are the person's
        return Encoded(_parity_sex(v[8]), year, year_of_century, month or None, day or None)
    if month < 40:  # BIS, sex unknown when issued; the day may be administrative
        return Encoded(None, year, year_of_century, (month - 20) or None, None)
    return Encoded(_parity_sex(v[8]), year, year_of_century, (month - 40) or None, None)


# --- Denmark: CPR (DDMMYY-SSSS; the 7th digit and YY give the century; no check) ----------
def _cpr_year(v: str) -> int:
    year_of_century, seventh = int(v[4:6]), v[6]
    if seventh in "0123":
        return 1900 + year_of_century
    if seventh in "49":
        return (2000 if year_of_century <= 36 else 1900) + year_of_century
    return (2000 if year_of_century <= 57 else 1800) + year_of_century


def _cpr_well_formed(v: str) -> bool:
    if len(v) != 10 or not digits_only(v):
        return False
    day, month = int(v[:2]), int(v[2:4])
    return 1 <= month <= 12 and 1 <= day <= _days_in_month(_cpr_year(v), month)


def _cpr_encoded(v: str) -> Encoded:
    year = _cpr_year(v)
    return Encoded(_parity_sex(v[9]), year, year % 100, int(v[2:4]), int(v[:2]))


# --- Germany: KVNR (a letter, 8 digits, a modulus 10 check digit) -------------------------
# The letter becomes its two-digit alphabet position (A = 01 ... Z = 26); the 10 digits that
# gives are weighted 1,2,1,2,... with the digit sum of each product; the sum mod 10 is the
# check digit.
def _kvnr_well_formed(v: str) -> bool:
    return len(v) == 10 and "A" <= v[0] <= "Z" and digits_only(v[1:])


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
