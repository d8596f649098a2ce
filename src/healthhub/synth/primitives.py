"""Fast building blocks for the generator: ids, dates, instants and codeable concepts.

Time is kept as whole minutes since 1900-01-01 (local wall-clock time) and days as whole
days since that date, so arithmetic is integer arithmetic and formatting is a lookup in
tables built once. Ids are drawn from the person's random generator and formatted as
version-4 UUIDs, so the same seed gives the same ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from healthhub.synth.codes import Code

EPOCH = dt.date(1900, 1, 1)
MINUTES_PER_DAY = 1440
#: The day the synthetic extract is taken: "today" for every generated history.
REFERENCE_DATE = dt.date(2025, 1, 1)
#: Electronic records start here; earlier history is carried as past onsets only.
RECORDS_START_DATE = dt.date(1985, 1, 1)
_LAST_DATE = dt.date(2040, 12, 31)


def day_of(date: dt.date) -> int:
    """Days since 1900-01-01."""
    return (date - EPOCH).days


REFERENCE_DAY = day_of(REFERENCE_DATE)
RECORDS_START_DAY = day_of(RECORDS_START_DATE)

_DAYS = (_LAST_DATE - EPOCH).days + 1
#: "YYYY-MM-DD" of every day number.
DATE_TEXT: list[str] = []
#: Year, month and day-of-month of every day number.
YEAR: list[int] = []
MONTH: list[int] = []
DAY_OF_MONTH: list[int] = []
#: Offset suffix of every day: French summer time (April to October) or winter time.
_OFFSET: list[str] = []
for _n in range(_DAYS):
    _d = EPOCH + dt.timedelta(days=_n)
    DATE_TEXT.append(_d.isoformat())
    YEAR.append(_d.year)
    MONTH.append(_d.month)
    DAY_OF_MONTH.append(_d.day)
    _OFFSET.append("+02:00" if 4 <= _d.month <= 10 else "+01:00")
_CLOCK = [f"T{m // 60:02d}:{m % 60:02d}:00" for m in range(MINUTES_PER_DAY)]


def instant(minute: int) -> str:
    """FHIR dateTime with offset for a minute number, e.g. 2012-04-05T09:30:00+02:00."""
    day = minute // MINUTES_PER_DAY
    return DATE_TEXT[day] + _CLOCK[minute % MINUTES_PER_DAY] + _OFFSET[day]


def date_text(day: int) -> str:
    return DATE_TEXT[day]


def age_on(birth_day: int, day: int) -> int:
    """Completed years of age on `day`."""
    years = YEAR[day] - YEAR[birth_day]
    if (MONTH[day], DAY_OF_MONTH[day]) < (MONTH[birth_day], DAY_OF_MONTH[birth_day]):
        years -= 1
    return years


_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62))  # version and variant bits
_UUID_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def id_maker(getrandbits: Callable[[int], int]) -> Callable[[], str]:
    """A function drawing version-4 UUID strings from a random generator's bits."""

    def new_id() -> str:
        h = (getrandbits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16, "big").hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    return new_id


def codeable(code: Code) -> dict[str, Any]:
    """A CodeableConcept for one coding, with its display as text."""
    coding: dict[str, Any] = {"system": code.system, "code": code.code}
    if code.display:
        coding["display"] = code.display
        return {"coding": [coding], "text": code.display}
    return {"coding": [coding]}


def coding(code: Code) -> dict[str, Any]:
    return {"system": code.system, "code": code.code, "display": code.display}


UCUM = "http://unitsofmeasure.org"


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}
