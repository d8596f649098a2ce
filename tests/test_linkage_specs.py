"""Linkage specs (tests/linkage_cases.py): each pair of source patients in, one person,
two people, or a pair waiting for review out, through the real ingest pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from healthhub.hub.config import Hub, init_hub
from healthhub.hub.pipeline import ingest
from healthhub.identity.crypto import blind_indexes, source_texts
from healthhub.identity.keys import KeyStore
from healthhub.identity.links import source_links
from healthhub.identity.vault import Vault
from linkage_cases import PAIRS, Pair, population

BACKGROUND = 2000


@dataclass
class Linked:
    hub: Hub
    person: dict[tuple[str, str], int]  # (provider, patient id) -> person id
    review: set[frozenset[int]]  # pending review pairs, by source keys
    keys: dict[tuple[str, str], int]  # (provider, patient id) -> source key


def providers_of(pair: Pair) -> tuple[str, str]:
    return ("hospital", "hospital" if pair.same_provider else "laboratory")


def write(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "Patient.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    root = tmp_path_factory.mktemp("linkage_specs")
    hub = init_hub(root / "hub")
    sent: dict[str, list[dict]] = {"hospital": population(BACKGROUND), "laboratory": []}
    for index, pair in enumerate(PAIRS):
        first, second = pair.records(index)
        a, b = providers_of(pair)
        sent[a].append(first)
        sent[b].append(second)
    for provider in ("hospital", "laboratory"):
        ingest(hub, provider, [write(root / provider, sent[provider])])
    vault = Vault(hub.vault, KeyStore(hub.keys))
    try:
        person = {(p, s): pid for p, s, pid in source_links(vault)}
        review = {frozenset((int(a), int(b))) for a, b in vault.con.execute(
            "SELECT source_key_a, source_key_b FROM vault.review_pair WHERE status = 'pending'"
        ).fetchall()}  # fmt: skip
        wanted = list(person)
        computed = blind_indexes(vault.keys.index, "source",
                                 source_texts([p for p, _ in wanted], [s for _, s in wanted]))  # fmt: skip
        keys = {k: int(v) for k, v in zip(wanted, computed, strict=True)}
    finally:
        vault.close()
    yield Linked(hub, person, review, keys)


@pytest.mark.parametrize("index, pair", list(enumerate(PAIRS)), ids=[p.name for p in PAIRS])
def test_linkage_spec(linked: Linked, index: int, pair: Pair) -> None:
    a, b = providers_of(pair)
    first, second = (a, f"case{index}-0"), (b, f"case{index}-1")
    same = linked.person[first] == linked.person[second]
    in_review = frozenset((linked.keys[first], linked.keys[second])) in linked.review
    outcome = "same" if same else "review" if in_review else "different"
    assert outcome == pair.expected, pair.why


def test_the_background_stays_apart(linked: Linked) -> None:
    background = [pid for (p, s), pid in linked.person.items() if s.startswith("pop")]
    assert len(background) == BACKGROUND == len(set(background))
