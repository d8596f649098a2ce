"""Linkage accuracy against a ground truth: pairwise precision, recall and F1.

Two records are a *true pair* when the truth says they are one person, a *predicted
pair* when linkage put them in one person. Precision is the share of predicted pairs
that are true, recall the share of true pairs predicted (the measure Splink and the
record-linkage literature report). Counted from cluster sizes, never pair by pair.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from healthhub.identity.keys import KeyStore


@dataclass(frozen=True)
class Accuracy:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"records": self.records, "true_pairs": self.true_pairs,
                "predicted_pairs": self.predicted_pairs, "correct_pairs": self.correct_pairs,
                "precision": round(self.precision, 6), "recall": round(self.recall, 6),
                "f1": round(self.f1, 6)}  # fmt: skip


def _pairs(counts: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def pairwise(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> Accuracy:
    """Accuracy of ``predicted`` cluster labels against ``truth`` labels (same order)."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must label the same records")
    both = Counter(zip(predicted, truth, strict=True))
    return Accuracy(len(truth), _pairs(Counter(truth)), _pairs(Counter(predicted)), _pairs(both))


def read_truth(path: Path) -> dict[tuple[str, str], str]:
    """A generator's ``ground_truth.csv``: (provider, patient id) -> the true person."""
    with path.open(encoding="utf-8") as fh:
        return {(r["provider"], r["patient_id"]): r["person_key"] for r in csv.DictReader(fh)}


def hub_accuracy(vault_folder: Path, keys: KeyStore, truth: dict[tuple[str, str], str]) -> Accuracy:
    """Pairwise accuracy of a hub's people against a truth, on the records both know."""
    from healthhub.identity.links import source_links
    from healthhub.identity.vault import Vault

    vault = Vault(vault_folder, keys)
    try:
        links = {(p, s): person for p, s, person in source_links(vault)}
    finally:
        vault.close()
    common = sorted(set(truth) & set(links))
    return pairwise([links[k] for k in common], [truth[k] for k in common])
