"""How two records are compared: for each field, ordered levels of agreement (as data).

Each comparison turns a pair of feature rows ``l`` and ``r`` into one level: ``-1`` when
either side lacks the field (it then counts for nothing), else the index of the first
level whose condition holds; the last level is "anything else". A level may name a term
frequency: when two records agree on a rare value (``Kowalski``) the agreement weighs
more than on a common one (``Martin``), as in Fellegi and Sunter's frequency-based
weights and Splink's term-frequency adjustments.

The conditions are DuckDB SQL over the feature columns built by ``features.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    label: str
    when: str
    term_frequency: str | None = None  # SQL for the frequency of the agreed value


@dataclass(frozen=True)
class Comparison:
    """Levels in order: ``levels``, then one per threshold of ``similarity``, then "else".

    ``similarity`` (SQL, 0 to 1) is computed once per pair, and only for pairs that reach
    it (no earlier level held).
    """

    name: str
    missing: str  # SQL: true when either side lacks the field
    levels: tuple[Level, ...]
    similarity: str | None = None
    bands: tuple[float, ...] = ()
    else_label: str = "different"
    # the most a level may weigh (bits): for a field that people share more than its
    # random-pair frequency says (an e-mail address made of one's name, a family's)
    max_weight: float | None = None

    @property
    def labels(self) -> list[str]:
        bands = [f"similar (Jaro-Winkler >= {t:.2f})" for t in self.bands]
        return [lv.label for lv in self.levels] + bands + [self.else_label]

    @property
    def size(self) -> int:
        return len(self.levels) + len(self.bands) + 1

    def level_sql(self) -> str:
        whens = " ".join(f"WHEN {lv.when} THEN {i}" for i, lv in enumerate(self.levels))
        last = self.size - 1
        if self.similarity and self.bands:
            steps = " - ".join(f"CAST(j >= {t} AS INTEGER)" for t in self.bands)
            # a one-element list binds the similarity to ``j`` once
            other = f"list_transform([{self.similarity}], lambda j: {last} - {steps})[1]"
        else:
            other = str(last)
        return f"CASE WHEN {self.missing} THEN -1 {whens} ELSE {other} END AS g_{self.name}"

    def tf_sql(self) -> str | None:
        """The term frequency of the agreed value, on pairs at a frequency level."""
        if not self.tf_levels:
            return None
        whens = " ".join(f"WHEN {i} THEN {self.levels[i].term_frequency}" for i in self.tf_levels)
        return f"CASE g_{self.name} {whens} END AS tf_{self.name}"

    @property
    def tf_levels(self) -> tuple[int, ...]:
        return tuple(i for i, lv in enumerate(self.levels) if lv.term_frequency)


def _jw(a: str, b: str) -> str:
    return f"jaro_winkler_similarity({a}, {b})"


def _best_jw(a: str, b: str) -> str:
    """The best similarity between any name of list ``a`` and any of list ``b``."""
    inner = f"list_max(list_transform({b}, lambda y: jaro_winkler_similarity(x, y)))"
    return f"list_max(list_transform({a}, lambda x: {inner}))"


def _overlap(a: str, b: str) -> str:
    return f"list_has_any({a}, {b})"


# given and family name written the other way round (a frequent registration slip)
SWAPPED = (
    "(list_has_any(l.given_tokens, r.fam_tokens) AND list_has_any(r.given_tokens, l.fam_tokens))"
)
MIN_FAMILY_TF = (
    "list_min(list_transform(list_intersect(l.fam, r.fam),"
    " lambda x: l.fam_tf[list_position(l.fam, x)]))"
)
MIN_PHONE_TF = (
    "list_min(list_transform(list_intersect(l.phones, r.phones),"
    " lambda x: l.phone_tf[list_position(l.phones, x)]))"
)

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("given", "l.given_sq IS NULL OR r.given_sq IS NULL", (
        Level("exact", f"l.given_sq = r.given_sq OR {SWAPPED}", "l.given_tf"),
        Level("same first name or variant",
              "l.given1 = r.given1 OR l.given_group = r.given_group"),
        Level("a shared given name", _overlap("l.given_tokens", "r.given_tokens")),
    ), _jw("l.given_sq", "r.given_sq"), (0.92, 0.80)),
    Comparison("family", "len(l.fam) = 0 OR len(r.fam) = 0", (
        Level("exact (any of the names)", f"{_overlap('l.fam', 'r.fam')} OR {SWAPPED}",
              MIN_FAMILY_TF),
        Level("a shared part (compound or hyphenated)", _overlap("l.fam_tokens", "r.fam_tokens")),
    ), _best_jw("l.fam", "r.fam"), (0.92, 0.80)),
    Comparison("birth_date", "l.birth_year IS NULL OR r.birth_year IS NULL", (
        Level("exact", "l.dob = r.dob", "l.dob_tf"),
        Level("day and month swapped", "l.birth_year = r.birth_year AND"
              " l.birth_month = r.birth_day AND l.birth_day = r.birth_month"),
        Level("one of year, month, day differs",
              "CAST(l.birth_year = r.birth_year AS INTEGER)"
              " + CAST(l.birth_month = r.birth_month AS INTEGER)"
              " + CAST(l.birth_day = r.birth_day AS INTEGER) = 2"),
        Level("same year", "l.birth_year = r.birth_year"),
    )),
    Comparison("sex", "l.sex IS NULL OR r.sex IS NULL", (Level("same", "l.sex = r.sex"),)),
    Comparison("place", "coalesce(l.postcode, l.city_sq) IS NULL"
               " OR coalesce(r.postcode, r.city_sq) IS NULL", (
        Level("same postal code", "l.postcode = r.postcode", "l.postcode_tf"),
        Level("same city", "l.city_sq = r.city_sq", "l.city_tf"),
        Level("same district", "left(l.postcode, 2) = left(r.postcode, 2)"),
    ), _jw("l.city_sq", "r.city_sq"), (0.90,)),
    Comparison("address", "l.address IS NULL OR r.address IS NULL", (
        Level("exact", "l.address = r.address"),
    ), _jw("l.address", "r.address"), (0.88,)),
    Comparison("phone", "len(l.phones) = 0 OR len(r.phones) = 0", (
        Level("a shared number", _overlap("l.phones", "r.phones"), MIN_PHONE_TF),
    )),
    Comparison("email", "l.email IS NULL OR r.email IS NULL", (
        Level("exact", "l.email = r.email"),
    ), _jw("split_part(l.email, '@', 1)", "split_part(r.email, '@', 1)"), (0.88,),
        max_weight=8.0),
)  # fmt: skip
BY_NAME = {c.name: c for c in COMPARISONS}


def comparison_columns() -> str:
    """The SELECT list of every comparison's level and term frequency."""
    return ", ".join(c.level_sql() for c in COMPARISONS)


def tf_columns() -> str:
    return ", ".join(sql for c in COMPARISONS if (sql := c.tf_sql()))


def describe(levels: dict[str, int]) -> dict[str, str]:
    """Level numbers as words, for the review queue (no values, only how they compare)."""
    out = {}
    for name, level in levels.items():
        comparison = BY_NAME[name]
        out[name] = "missing" if level < 0 else comparison.labels[level]
    return out
