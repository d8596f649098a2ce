"""The Fellegi-Sunter model: m and u probabilities per comparison level, and a prior.

- ``u`` (how often two *different* people agree at a level) is estimated from random
  pairs of records, which are almost all non-matches (Splink's
  ``estimate_u_using_random_sampling``).
- ``m`` (how often the *same* person agrees at a level) and the share of matches among
  candidate pairs are estimated by expectation-maximisation on the candidate pairs,
  ``u`` held fixed. Pairs linked by a validated national identifier are known matches:
  they start EM off and stay matches through it (semi-supervised EM).
- A pair's match weight is the prior's log-odds plus, for each comparison, ``log2(m/u)``
  of its level; on a level with term frequencies, ``u`` is the frequency of the agreed
  value instead (a shared rare name weighs more than a shared common one).

EM runs on the distinct comparison patterns with their counts, never on pairs one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from healthhub.identity.linkage.comparisons import COMPARISONS, Comparison

PROBABILITY_FLOOR = 1e-6
EM_ITERATIONS = 60
EM_TOLERANCE = 1e-7
# starting values of m for each comparison's levels (best agreement first), used before a
# hub has enough pairs to estimate its own (documented in docs/decisions/0004)
DEFAULT_M: dict[str, tuple[float, ...]] = {
    "given": (0.85, 0.06, 0.03, 0.03, 0.02, 0.01),
    "family": (0.85, 0.05, 0.04, 0.03, 0.03),
    "birth_date": (0.94, 0.02, 0.02, 0.01, 0.01),
    "sex": (0.99, 0.01),
    "place": (0.72, 0.07, 0.06, 0.03, 0.12),
    "address": (0.65, 0.10, 0.25),
    "phone": (0.80, 0.20),
    "email": (0.80, 0.08, 0.12),
}
DEFAULT_PRIOR = 0.3  # share of matches among candidate pairs before EM says otherwise


@dataclass
class Model:
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # probability that a candidate pair is a match
    pairs: int = 0  # candidate pairs the estimate came from
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    prior_weight_used: float = -20.0  # the prior log-odds the last scoring used

    def weights(self) -> dict[str, list[float]]:
        return {
            name: [float(np.log2(max(m, PROBABILITY_FLOOR) / max(u, PROBABILITY_FLOOR)))
                   for m, u in zip(self.m[name], self.u[name], strict=True)]
            for name in self.m
        }  # fmt: skip

    def prior_weight(self, compared: int, possible: int) -> float:
        """Log-odds that two records match before looking at them: the matches EM finds
        among the ``compared`` candidate pairs over the ``possible`` pairs (blocking keys
        are made of the compared fields, so their agreement is evidence, not prior)."""
        matches = self.prior * compared
        p = min(max(matches / max(possible, 1), PROBABILITY_FLOOR**2), 1 - PROBABILITY_FLOOR)
        return float(np.log2(p / (1 - p)))

    def as_dict(self) -> dict[str, Any]:
        return {"m": self.m, "u": self.u, "prior": self.prior, "pairs": self.pairs,
                "iterations": self.iterations, "notes": self.notes,
                "prior_weight_used": self.prior_weight_used}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(data["m"], data["u"], data["prior"], data.get("pairs", 0),
                   data.get("iterations", 0), data.get("notes", []),
                   data.get("prior_weight_used", -20.0))  # fmt: skip

    def score_sql(self, prior_weight: float) -> str:
        """SQL for the match weight of a row with ``g_<name>`` and ``tf_<name>`` columns."""
        weights = self.weights()
        terms = [f"{prior_weight:.10f}"]
        for comparison in COMPARISONS:
            name = comparison.name
            cases = [f"WHEN {i} THEN {w:.10f}" for i, w in enumerate(weights[name])]
            for level in comparison.tf_levels:
                m = max(self.m[name][level], PROBABILITY_FLOOR)
                cases[level] = (
                    f"WHEN {level} THEN coalesce({np.log2(m):.10f}"
                    f" - log2(greatest(tf_{name}, {PROBABILITY_FLOOR})), {weights[name][level]:.10f})"
                )
            terms.append(f"CASE g_{name} {' '.join(cases)} ELSE 0 END")
        return " + ".join(terms)


def default_model(u: dict[str, list[float]]) -> Model:
    return Model({k: list(v) for k, v in DEFAULT_M.items()}, u, DEFAULT_PRIOR,
                 notes=["default m probabilities"])  # fmt: skip


def _normalised(counts: np.ndarray, smoothing: float) -> list[float]:
    smoothed = counts + smoothing
    return [float(x) for x in smoothed / smoothed.sum()]


def u_from_counts(counts: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """u per level from random pairs' level counts (one pseudo-count per level)."""
    return {name: _normalised(counts[name].astype(float), 1.0) for name in counts}


def m_from_labelled(patterns: np.ndarray, counts: np.ndarray,
                    comparisons: tuple[Comparison, ...] = COMPARISONS) -> dict[str, list[float]]:  # fmt: skip
    """m per level from known matches' patterns (rows of level numbers, -1 missing)."""
    out = {}
    for j, comparison in enumerate(comparisons):
        levels = np.zeros(comparison.size)
        column = patterns[:, j]
        present = column >= 0
        np.add.at(levels, column[present], counts[present])
        prior = np.array(DEFAULT_M[comparison.name]) * 5  # five pseudo-pairs of defaults
        out[comparison.name] = _normalised(levels + prior, 0.0)
    return out


def expectation_maximisation(patterns: np.ndarray, counts: np.ndarray, labelled: np.ndarray,
                             start: Model,
                             comparisons: tuple[Comparison, ...] = COMPARISONS) -> Model:  # fmt: skip
    """EM over distinct patterns: ``patterns`` (levels, -1 missing), their ``counts`` and
    whether they are known matches (``labelled``); ``u`` stays as in ``start``."""
    names = [c.name for c in comparisons]
    log_u = [np.log(np.maximum(np.array(start.u[n]), PROBABILITY_FLOOR)) for n in names]
    m = [np.array(start.m[n], dtype=float) for n in names]
    prior = start.prior
    present = patterns >= 0
    safe = np.where(present, patterns, 0)
    lu = np.zeros(len(counts))
    for j in range(len(names)):
        lu += np.where(present[:, j], log_u[j][safe[:, j]], 0.0)
    total = counts.sum()
    iterations = 0
    for iterations in range(1, EM_ITERATIONS + 1):  # noqa: B007 - reported below
        lm = np.zeros(len(counts))
        for j in range(len(names)):
            lm += np.where(
                present[:, j], np.log(np.maximum(m[j], PROBABILITY_FLOOR))[safe[:, j]], 0.0
            )
        a = np.log(max(prior, PROBABILITY_FLOOR)) + lm
        b = np.log(max(1 - prior, PROBABILITY_FLOOR)) + lu
        p = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        p = np.where(labelled, 1.0, p)
        weight = p * counts
        new_prior = float(weight.sum() / total)
        new_m = []
        for j, comparison in enumerate(comparisons):
            levels = np.zeros(comparison.size)
            np.add.at(levels, safe[present[:, j], j], weight[present[:, j]])
            levels += 1e-3  # keep every level possible
            new_m.append(levels / levels.sum())
        change = max(
            abs(new_prior - prior),
            *(float(np.abs(a_ - b_).max()) for a_, b_ in zip(new_m, m, strict=True)),
        )
        m, prior = new_m, new_prior
        if change < EM_TOLERANCE:
            break
    return Model({n: [float(x) for x in m[j]] for j, n in enumerate(names)}, start.u, prior,
                 pairs=int(total), iterations=iterations, notes=["estimated by EM"])  # fmt: skip
