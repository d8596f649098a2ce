"""Body measurements of a synthetic person over their life.

Height and weight follow simple growth curves from birth to the person's adult height
and usual body mass index, which then drifts up with age; blood pressure rises with age
and with hypertension. Each visit adds a little measurement noise.
"""

from __future__ import annotations

import random

from healthhub.synth.people import Person


class Body:
    def __init__(
        self, rng: random.Random, person: Person, conditions: dict[str, tuple[int, int]]
    ) -> None:
        self.gauss = rng.gauss
        self.height = person.height
        self.bmi = person.bmi
        self.hypertension = conditions.get("hypertension", (1 << 30, -1))[0]

    def measure(self, age: float) -> tuple[float, float, float]:
        """Height (cm), weight (kg) and body mass index at `age` years."""
        adult = self.height
        if age < 2:
            height = 50 + 25 * age if age < 1 else 75 + 12 * (age - 1)
            weight = 3.4 + 6.6 * age if age < 1 else 10 + 2.5 * (age - 1)
        elif age < 18:
            growth = (age - 2) / 16
            height = 87 + (adult - 87) * growth**0.85
            weight = (16 + (self.bmi - 16) * growth**1.5) * (height / 100) ** 2
        else:
            height = adult - 0.1 * max(0.0, age - 60)
            drift = 1 + 0.004 * min(max(age - 25, 0.0), 35.0)
            weight = self.bmi * drift * (height / 100) ** 2
        height = round(height + self.gauss(0, 0.3), 1)
        weight = round(weight * (1 + self.gauss(0, 0.015)), 1)
        return height, weight, round(weight / (height / 100) ** 2, 1)

    def pressure(self, age: float, day: int) -> tuple[int, int]:
        """Systolic and diastolic blood pressure (mm[Hg]) on `day`."""
        if age < 18:
            systolic, diastolic = 102.0, 62.0
        else:
            systolic = 115 + 0.35 * max(age - 30, 0.0)
            diastolic = 74 + 0.1 * max(age - 30, 0.0)
        if day >= self.hypertension:
            systolic += 20
            diastolic += 10
        return round(self.gauss(systolic, 8)), round(self.gauss(diastolic, 6))
