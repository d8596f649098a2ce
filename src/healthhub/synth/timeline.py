"""Plan a person's medical history: which visits happen, when, where and why.

The plan comes before any resource is written. Chronic conditions get an onset (and
sometimes an end); then the visits are laid out over the years the providers kept
electronic records (from 1985, or birth, until death or the extract date): wellness
visits with their vaccines and tests, follow-ups of each condition, acute episodes,
hospital stays, screening, and the laboratory and imaging visits tests lead to. Each
visit is routed to one of the providers that see the person: a clinic for primary
care, the hospital for emergencies, stays and specialist follow-up, the laboratory for
samples and the radiology centre for imaging, falling back where one is missing.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import NamedTuple

from healthhub.synth import codes
from healthhub.synth.people import Person
from healthhub.synth.primitives import (
    MINUTES_PER_DAY,
    MONTH,
    RECORDS_START_DAY,
    YEAR,
    day_of,
)

WELLNESS, DIAGNOSIS, FOLLOW_UP, ACUTE, ADMISSION, LAB, IMAGING, SCREENING = range(8)

_MONTH_DAYS = 30.44
_YEAR_DAYS = 365.25
_CHILD_VISITS = (0, 2, 4, 6, 11, 12, 16, 24, 36, 48, 72, 96, 120, 132, 156, 180, 204)
_SPECIALIST = {"coronary", "heart_failure", "atrial_fibrillation", "breast_cancer", "prostate",
               "epilepsy", "kidney", "alzheimer"}  # fmt: skip
_FLU_CONDITIONS = ("diabetes", "copd", "asthma", "heart_failure", "coronary")
_COVID_DAYS = (day_of(dt.date(2021, 1, 1)), day_of(dt.date(2024, 1, 1)))


class Episode(NamedTuple):
    start: int  # minute
    kind: int
    chart: int  # index into the person's charts (0 is the home provider)
    detail: object  # Chronic, Acute, Admission, vaccines (wellness) or a screening code
    panels: tuple[str, ...]  # laboratory panels taken
    imaging: str  # IMAGING key taken, or ""
    last: bool  # the last follow-up of its condition


def _day_minute(rng: random.Random, day: int) -> int:
    return day * MINUTES_PER_DAY + 480 + int(rng.random() * 600)


def plan_conditions(rng: random.Random, person: Person) -> dict[str, tuple[int, int]]:
    """Chronic conditions: key -> (onset day, abatement day or -1)."""
    r = rng.random
    smoker = person.smoking in ("daily", "former")
    found: dict[str, tuple[int, int]] = {}
    last = person.last_day
    for chronic in codes.CHRONIC:
        if chronic.sex and chronic.sex != person.sex:
            continue
        chance = chronic.prevalence
        if chronic.key in ("diabetes", "hypertension") and person.bmi >= 30:
            chance *= 2.0
        elif chronic.key == "copd":
            chance *= 2.5 if smoker else 0.2
        elif chronic.key == "coronary" and (smoker or person.sex == "male"):
            chance *= 1.5
        if r() >= chance:
            continue
        age = chronic.onset_min + r() * (chronic.onset_max - chronic.onset_min)
        onset = person.birth + int(age * _YEAR_DAYS)
        if onset >= last:
            continue
        end = -1
        if r() < chronic.resolves:
            end = onset + 60 + int(r() * 3650)
            if end >= last:
                end = -1
        found[chronic.key] = (onset, end)
    if person.bmi >= 30 and last - person.birth > 18 * 365:
        found["obesity"] = (person.birth + int((18 + r() * 20) * _YEAR_DAYS), -1)
    return found


def plan_episodes(
    rng: random.Random, person: Person, kinds: list[str], conditions: dict[str, tuple[int, int]]
) -> list[Episode]:
    """Every visit of the person, in time order, routed to a chart."""
    r = rng.random
    first = max(person.birth, RECORDS_START_DAY)
    last = person.last_day - 1
    if last <= first:
        last = first + 1
    care = _first(kinds, ("clinic", "hospital"), 0)
    hospital = _first(kinds, ("hospital",), -1)
    lab = _first(kinds, ("lab",), hospital)
    radiology = _first(kinds, ("radiology",), hospital)
    episodes: list[Episode] = []
    add = episodes.append

    def with_tests(start: int, kind: int, chart: int, detail: object, panels: tuple[str, ...],
                   imaging: str, last_one: bool = False) -> None:  # fmt: skip
        if panels and kind != ADMISSION and lab >= 0 and lab != chart:
            add(Episode(start + MINUTES_PER_DAY * (1 + int(r() * 5)), LAB, lab, None, panels, "",
                        False))  # fmt: skip
            panels = ()
        if imaging and kinds[chart] not in ("hospital", "radiology"):
            if radiology >= 0:
                add(Episode(start + MINUTES_PER_DAY * int(r() * 4), IMAGING, radiology, None, (),
                            imaging, False))  # fmt: skip
            imaging = ""
        add(Episode(start, kind, chart, detail, panels, imaging, last_one))

    # wellness visits, their vaccines and tests
    visit_months = list(_CHILD_VISITS)
    age_years = 18
    while True:
        step = 3 if age_years < 50 else 2 if age_years < 65 else 1
        visit_months.append(age_years * 12)
        age_years += step
        if age_years > 100:
            break
    previous_month = -1
    last_lipid = last_metabolic = -99
    for months in visit_months:
        day = person.birth + int(months * _MONTH_DAYS) + (7 if months == 0 else 0)
        if months >= 65 * 12:  # autumn visits, with the flu vaccine
            day += (9 - MONTH[day]) % 12 * 30 + int(r() * 60)
        if day > last:
            break
        if day < first:
            previous_month = months
            continue
        age = months // 12
        vaccines = [
            v.code
            for v in codes.VACCINES
            if (not v.sex or v.sex == person.sex)
            and any(previous_month < m <= months for m in v.months)
        ]
        previous_month = months
        if age >= 18 and (age >= 65 or any(k in conditions for k in _FLU_CONDITIONS)):
            vaccines.append(codes.INFLUENZA_VACCINE)
        if age >= 12 and _COVID_DAYS[0] <= day < _COVID_DAYS[1]:
            vaccines.append(codes.COVID_VACCINE)
        tests: list[str] = []
        if age >= 20 and age - last_lipid >= 5:
            tests.append("lipid")
            last_lipid = age
        if age >= 40 and age - last_metabolic >= 3:
            tests.append("metabolic")
            last_metabolic = age
        if any(k in conditions and conditions[k][0] <= day for k in ("diabetes", "prediabetes")):
            tests.append("hba1c")
        if person.sex == "male" and 50 <= age <= 75 and r() < 0.3:
            tests.append("psa")
        if age >= 50 and r() < 0.3:
            tests.append("blood_count")
        with_tests(_day_minute(rng, day), WELLNESS, care, tuple(vaccines), tuple(tests), "")
        if person.sex == "female" and 50 <= age <= 74 and radiology >= 0:
            add(Episode(_day_minute(rng, day + 20 + int(r() * 40)), IMAGING, radiology, None, (),
                        "mammography", False))  # fmt: skip
        if 50 <= age <= 75 and age % 10 == 0 and hospital >= 0 and r() < 0.5:
            add(Episode(_day_minute(rng, day + 30 + int(r() * 60)), SCREENING, hospital,
                        codes.COLONOSCOPY, (), "", False))  # fmt: skip

    # chronic conditions: diagnosis, then follow-ups
    for chronic in codes.CHRONIC:
        if chronic.key not in conditions:
            continue
        onset, end = conditions[chronic.key]
        chart = hospital if chronic.key in _SPECIALIST and hospital >= 0 else care
        stop = min(last, end if end >= 0 else last)
        day = max(onset, first)
        if day > stop:
            continue
        interval = chronic.follow_up_months * _MONTH_DAYS * 1.5
        visits = [day]
        while True:
            day += int(interval * (0.8 + 0.4 * r()))
            if day > stop:
                break
            visits.append(day)
        imaging_key = codes.CHRONIC_IMAGING.get(chronic.key, "")
        for n, visit_day in enumerate(visits):
            panels = chronic.panels if (n == 0 or r() < 0.5) else ()
            imaging = imaging_key if (n == 0 or r() < 0.15) and imaging_key else ""
            with_tests(_day_minute(rng, visit_day), DIAGNOSIS if n == 0 else FOLLOW_UP, chart,
                       chronic, panels, imaging, n == len(visits) - 1)  # fmt: skip

    # acute episodes and hospital stays, year by year
    year_start = first
    while year_start <= last:
        years = (year_start - person.birth) / _YEAR_DAYS
        rate = 0.8 if years < 5 else 0.35 if years < 18 else 0.2 if years < 65 else 0.3
        count = int(rate) + (1 if r() < rate - int(rate) else 0)
        for _ in range(count):
            day = year_start + int(r() * 365)
            if day > last:
                continue
            acute = _pick_acute(rng, int(years), YEAR[day])
            if acute is None:
                continue
            chart = care
            if acute.setting == "EMER":
                if hospital < 0:
                    continue
                chart = hospital
            start = (
                _day_minute(rng, day)
                if chart != hospital
                else day * MINUTES_PER_DAY + int(r() * MINUTES_PER_DAY)
            )
            with_tests(start, ACUTE, chart, acute, (), acute.imaging)
        if hospital >= 0:
            for admission in codes.ADMISSIONS:
                if not (admission.age_min <= years <= admission.age_max):
                    continue
                if admission.sex and admission.sex != person.sex:
                    continue
                if admission.requires and not _active(conditions, admission.requires, year_start):
                    continue
                if r() < admission.yearly_rate:
                    day = year_start + int(r() * 365)
                    if day + admission.days * 2 < last:
                        start = day * MINUTES_PER_DAY + int(r() * MINUTES_PER_DAY)
                        with_tests(start, ADMISSION, hospital, admission, admission.panels,
                                   admission.imaging)  # fmt: skip
        year_start += 365

    # nothing after the end of the records; every provider that sees the person has a visit
    end = (last + 1) * MINUTES_PER_DAY
    episodes = [e for e in episodes if e.start < end]
    add = episodes.append
    seen = {e.chart for e in episodes}
    for chart, kind in enumerate(kinds):
        if chart in seen:
            continue
        day = first + int(r() * (last - first))
        if kind == "lab":
            add(Episode(_day_minute(rng, day), LAB, chart, None, ("metabolic",), "", False))
        elif kind == "radiology":
            add(Episode(_day_minute(rng, day), IMAGING, chart, None, (), "chest_xray", False))
        else:
            acute = _pick_acute(rng, int((day - person.birth) / _YEAR_DAYS), YEAR[day])
            add(Episode(_day_minute(rng, day), ACUTE, chart, acute or codes.ACUTE[0], (), "",
                        False))  # fmt: skip
    episodes.sort(key=lambda e: e.start)
    return episodes


def share_with_duplicates(
    rng: random.Random, episodes: list[Episode], duplicates: list[tuple[int, int]]
) -> list[Episode]:
    """Move some visits of a chart to the same provider's second record of the person.

    `duplicates` pairs a chart with its duplicate. A duplicate is created at a visit and
    used until someone notices: it takes one to three consecutive visits of its chart
    (never all of them), or none in 30% of cases (a record opened and never used).
    """
    for original, second in duplicates:
        if rng.random() < 0.3:
            continue
        mine = [n for n, episode in enumerate(episodes) if episode.chart == original]
        start = int(rng.random() * len(mine))
        stop = min(start + 1 + int(rng.random() * 3), len(mine))
        if stop - start == len(mine):
            stop -= 1
        for n in mine[start:stop]:
            episodes[n] = episodes[n]._replace(chart=second)
    return episodes


def _first(kinds: list[str], wanted: tuple[str, ...], default: int) -> int:
    for kind in wanted:
        if kind in kinds:
            return kinds.index(kind)
    return default


def _active(conditions: dict[str, tuple[int, int]], key: str, day: int) -> bool:
    found = conditions.get(key)
    return found is not None and found[0] <= day and (found[1] < 0 or day < found[1])


_ACUTE_TOTAL = sum(a.weight for a in codes.ACUTE)


def _pick_acute(rng: random.Random, age: int, year: int) -> codes.Acute | None:
    for _ in range(4):
        point = rng.random() * _ACUTE_TOTAL
        for acute in codes.ACUTE:
            point -= acute.weight
            if point < 0:
                break
        if acute.age_min <= age <= acute.age_max and year >= codes.ACUTE_FROM_YEAR.get(
            acute.code.code, 0
        ):
            return acute
    return None
