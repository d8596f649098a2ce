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
# how often two different people agree at each level in a large population: the prior of
# u (random pairs add to it) and of term frequencies, so that a small hub, whose own
# frequencies say little, does not read "both are called Marie" as no evidence at all
DEFAULT_U: dict[str, tuple[float, ...]] = {
    "given": (0.005, 0.002, 0.001, 0.002, 0.01, 0.98),
    "family": (0.002, 0.001, 0.002, 0.01, 0.985),
    "birth_date": (0.00004, 0.00003, 0.003, 0.012, 0.98493),
    "sex": (0.5, 0.5),
    "place": (0.0005, 0.002, 0.01, 0.002, 0.9855),
    "address": (0.00001, 0.0001, 0.99989),
    "phone": (0.00001, 0.99999),
    "email": (0.00001, 0.00005, 0.99994),
}
U_PSEUDO_PAIRS = 2000  # weight of DEFAULT_U against counted random pairs
TF_PSEUDO_RECORDS = 1000  # weight of DEFAULT_U's exact level against counted values
# the smallest population the prior assumes when this delivery's pairs were too few to
# estimate the model: in a hub of ten records, two random ones are not likely the same
MIN_POPULATION = 100_000


@dataclass
class Model:
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # probability that a candidate pair is a match
    pairs: int = 0  # candidate pairs the estimate came from
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    prior_weight_used: float = -20.0  # the prior log-odds the last scoring used
    records: int = 0  # records in the hub when u was estimated

    def weights(self) -> dict[str, list[float]]:
        return {
            name: [float(np.log2(max(m, PROBABILITY_FLOOR) / max(u, PROBABILITY_FLOOR)))
                   for m, u in zip(self.m[name], self.u[name], strict=True)]
            for name in self.m
        }  # fmt: skip

    def prior_weight(self, compared: int, possible: int, new: int = 0) -> float:
        """Log-odds that two records match before looking at them: the matches EM finds
        among the ``compared`` candidate pairs over the ``possible`` pairs (blocking keys
        are made of the compared fields, so their agreement is evidence, not prior).

        With ``new`` records, the possible pairs are counted as if the hub held at least
        ``MIN_POPULATION`` records (for a model not estimated on this delivery)."""
        matches = self.prior * compared
        possible = max(possible, new * MIN_POPULATION)
        p = min(max(matches / max(possible, 1), PROBABILITY_FLOOR**2), 1 - PROBABILITY_FLOOR)
        return float(np.log2(p / (1 - p)))

    def as_dict(self) -> dict[str, Any]:
        return {"m": self.m, "u": self.u, "prior": self.prior, "pairs": self.pairs,
                "iterations": self.iterations, "notes": self.notes,
                "prior_weight_used": self.prior_weight_used, "records": self.records}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(data["m"], data["u"], data["prior"], data.get("pairs", 0),
                   data.get("iterations", 0), data.get("notes", []),
                   data.get("prior_weight_used", -20.0), data.get("records", 0))  # fmt: skip

    def score_sql(self, prior_weight: float) -> str:
        """SQL for the match weight of a row with ``g_<name>`` and ``tf_<name>`` columns."""
        weights = self.weights()
        terms = [f"{prior_weight:.10f}"]
        for comparison in COMPARISONS:
            name = comparison.name
            cases = [f"WHEN {i} THEN {w:.10f}" for i, w in enumerate(weights[name])]
            for level in comparison.tf_levels:
                m = max(self.m[name][level], PROBABILITY_FLOOR)
                tf = f"tf_{name}"
                cases[level] = (
                    f"WHEN {level} THEN CASE WHEN {tf} IS NULL THEN {weights[name][level]:.10f}"
                    f" ELSE {np.log2(m):.10f} - log2(greatest({tf}, {PROBABILITY_FLOOR})) END"
                )
            if comparison.max_weight is not None:
                cases = [c.replace(" THEN ", " THEN least(", 1) + f", {comparison.max_weight})"
                         for c in cases]  # fmt: skip
            terms.append(f"CASE g_{name} {' '.join(cases)} ELSE 0 END")
        return " + ".join(terms)


def default_model(u: dict[str, list[float]]) -> Model:
    return Model({k: list(v) for k, v in DEFAULT_M.items()}, u, DEFAULT_PRIOR,
                 notes=["default m probabilities"])  # fmt: skip


def _normalised(counts: np.ndarray, smoothing: float) -> list[float]:
    smoothed = counts + smoothing
    return [float(x) for x in smoothed / smoothed.sum()]


def u_from_counts(counts: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """u per level from random pairs' level counts, with DEFAULT_U as prior."""
    return {
        name: _normalised(counts[name].astype(float)
                          + U_PSEUDO_PAIRS * np.array(DEFAULT_U[name]), 0.0)
        for name in counts
    }  # fmt: skip


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


M_PSEUDO_PAIRS = 20.0  # weight of DEFAULT_M in each M-step (keeps small sessions sane)
MIN_SESSION_PAIRS = 200  # a blocking rule's pairs needed to estimate m from them


def _log_likelihoods(patterns: np.ndarray, present: np.ndarray, safe: np.ndarray,
                     probabilities: list[np.ndarray], active: np.ndarray) -> np.ndarray:  # fmt: skip
    total = np.zeros(len(patterns))
    for j, values in enumerate(probabilities):
        if active[j]:
            logs = np.log(np.maximum(values, PROBABILITY_FLOOR))
            total += np.where(present[:, j], logs[safe[:, j]], 0.0)
    return total


def expectation_maximisation(patterns: np.ndarray, counts: np.ndarray, labelled: np.ndarray,
                             start: Model, active: np.ndarray | None = None,
                             comparisons: tuple[Comparison, ...] = COMPARISONS) -> Model:  # fmt: skip
    """EM over distinct patterns: ``patterns`` (levels, -1 missing), their ``counts`` and
    whether they are known matches (``labelled``); ``u`` stays as in ``start``. Only the
    ``active`` comparisons take part (the others keep ``start``'s m)."""
    names = [c.name for c in comparisons]
    active = np.ones(len(names), dtype=bool) if active is None else active
    u = [np.array(start.u[n], dtype=float) for n in names]
    m = [np.array(start.m[n], dtype=float) for n in names]
    prior_m = [np.array(DEFAULT_M[n]) * M_PSEUDO_PAIRS for n in names]
    present = patterns >= 0
    safe = np.where(present, patterns, 0)
    lu = _log_likelihoods(patterns, present, safe, u, active)
    total = counts.sum()
    prior = start.prior
    iterations = 0
    for iterations in range(1, EM_ITERATIONS + 1):  # noqa: B007 - reported below
        lm = _log_likelihoods(patterns, present, safe, m, active)
        a = np.log(max(prior, PROBABILITY_FLOOR)) + lm
        b = np.log(max(1 - prior, PROBABILITY_FLOOR)) + lu
        p = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        p = np.where(labelled, 1.0, p)
        weight = p * counts
        new_prior = float(weight.sum() / total)
        new_m = list(m)
        for j, comparison in enumerate(comparisons):
            if not active[j]:
                continue
            levels = np.zeros(comparison.size)
            np.add.at(levels, safe[present[:, j], j], weight[present[:, j]])
            levels += prior_m[j]
            new_m[j] = levels / levels.sum()
        change = max(abs(new_prior - prior),
                     *(float(np.abs(x - y).max()) for x, y in zip(new_m, m, strict=True)))  # fmt: skip
        m, prior = new_m, new_prior
        if change < EM_TOLERANCE:
            break
    return Model({n: [float(x) for x in m[j]] for j, n in enumerate(names)}, start.u, prior,
                 pairs=int(total), iterations=iterations, notes=["estimated by EM"])  # fmt: skip


def match_share(patterns: np.ndarray, counts: np.ndarray, labelled: np.ndarray,
                model: Model) -> float:  # fmt: skip
    """The expected share of matches among the patterns under ``model`` (one E-step, the
    prior itself re-estimated until it settles)."""
    names = list(model.m)
    present = patterns >= 0
    safe = np.where(present, patterns, 0)
    everything = np.ones(len(names), dtype=bool)
    lm = _log_likelihoods(
        patterns, present, safe, [np.array(model.m[n]) for n in names], everything
    )
    lu = _log_likelihoods(
        patterns, present, safe, [np.array(model.u[n]) for n in names], everything
    )
    prior = model.prior
    for _ in range(EM_ITERATIONS):
        a = np.log(max(prior, PROBABILITY_FLOOR)) + lm
        b = np.log(max(1 - prior, PROBABILITY_FLOOR)) + lu
        p = np.where(labelled, 1.0, 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700))))
        new = float((p * counts).sum() / counts.sum())
        if abs(new - prior) < EM_TOLERANCE:
            return new
        prior = new
    return prior


# comparisons whose best level the same person must usually reach: an estimate saying
# otherwise found something else than matches (too few in the delivery to learn from)
ESSENTIAL = ("given", "family", "birth_date")
MIN_ESSENTIAL_M = 0.4


def implausible(model: Model) -> str | None:
    """Why an estimated model cannot be one of matches, or None when it can."""
    for name in ESSENTIAL:
        if model.m[name][0] < MIN_ESSENTIAL_M:
            return f"{name} agrees exactly for only {model.m[name][0]:.0%} of matches"
    weights = model.weights()
    for name, levels in weights.items():
        if levels[0] <= 0 or levels[-1] >= 0:
            return f"{name}: agreement does not favour a match"
    return None


def estimate_by_sessions(patterns: np.ndarray, rules: np.ndarray, counts: np.ndarray,
                         labelled: np.ndarray, start: Model,
                         sessions: list[tuple[int, tuple[str, ...]]]) -> Model:  # fmt: skip
    """m from one EM per blocking rule, each on the pairs that rule formed and without the
    comparisons the rule fixes (they agree there by construction); the estimates of each
    comparison are averaged, weighted by the matches each session finds. Then the share of
    matches among all compared pairs under the combined m."""
    names = [c.name for c in COMPARISONS]
    sums = {n: np.zeros(len(start.m[n])) for n in names}
    weights = dict.fromkeys(names, 0.0)
    used = 0
    for bit, fixed in sessions:
        chosen = (rules & (1 << bit)) != 0
        if counts[chosen].sum() < MIN_SESSION_PAIRS:
            continue
        active = np.array([n not in fixed for n in names])
        session = expectation_maximisation(patterns[chosen], counts[chosen], labelled[chosen],
                                           start, active)  # fmt: skip
        matches = session.prior * float(counts[chosen].sum())
        used += 1
        for j, name in enumerate(names):
            if active[j] and matches > 0:
                sums[name] += matches * np.array(session.m[name])
                weights[name] += matches
    m = {n: [float(x) for x in sums[n] / weights[n]] if weights[n] else list(start.m[n])
         for n in names}  # fmt: skip
    model = Model(m, start.u, start.prior, pairs=int(counts.sum()), iterations=used,
                  notes=["estimated by EM"])  # fmt: skip
    model.prior = match_share(patterns, counts, labelled, model)
    return model
