"""Linkage parts on their own: names, pseudonyms, clustering, EM, accuracy, features."""

from __future__ import annotations

import hashlib
import hmac
import os

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthhub.identity import names
from healthhub.identity.evaluation import pairwise
from healthhub.identity.features import build_features
from healthhub.identity.linkage.cluster import cluster, components
from healthhub.identity.linkage.comparisons import COMPARISONS
from healthhub.identity.linkage.model import (
    DEFAULT_M,
    DEFAULT_U,
    Model,
    estimate_by_sessions,
    expectation_maximisation,
    implausible,
)
from healthhub.identity.pseudonyms import PARALLEL_FROM, hmac_ids, new_person_keys, person_ids
from healthhub.identity.vault import IDENTITY_COLUMNS

EMPTY = np.empty(0, dtype=np.int64)


def reference(key: bytes, message: bytes) -> int:
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big") & (2**63 - 1)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=100), st.lists(st.binary(max_size=40), max_size=20))
def test_pseudonyms_are_hmac_sha256(key: bytes, messages: list[bytes]) -> None:
    assert hmac_ids(key, messages).tolist() == [reference(key, m) for m in messages]


def test_pseudonyms_in_large_batches_share_two_cores_and_agree() -> None:
    key = os.urandom(32)
    keys = new_person_keys(PARALLEL_FROM + 1000)
    ids = person_ids(key, keys)
    assert len(set(keys)) == len(keys) and len(keys[0]) == 16
    for i in (0, 1, PARALLEL_FROM // 2, len(keys) - 1):
        assert ids[i] == reference(key, keys[i])
    assert (ids >= 0).all() and len(np.unique(ids)) == len(ids)
    assert (person_ids(os.urandom(32), keys[:1000]) != ids[:1000]).all()


@pytest.mark.parametrize("raw, normal", [
    ("N'Diaye-Martin ", "n diaye martin"), ("Александр", "aleksandr"), ("LEFÈVRE", "lefevre"),
    ("Jean-Pierre", "jean pierre"), ("  ", ""), (None, ""),
])  # fmt: skip
def test_names_are_transliterated_and_normalised(raw: str | None, normal: str) -> None:
    assert names.normal_form(raw) == normal


@pytest.mark.parametrize("group", [
    ("mohamed", "mohammed", "muhammad"), ("youssef", "yusuf", "youcef"), ("schmitt", "schmidt"),
    ("muller", "mueller"), ("aleksandr", "alexandre", "oleksandr"),
])  # fmt: skip
def test_spelling_variants_share_a_sound_key(group: tuple[str, ...]) -> None:
    assert len({names.sound_key(n) for n in group}) == 1


def test_variant_groups_and_particles() -> None:
    groups = names.variant_groups()
    assert groups["giuseppe"] == groups["joseph"] and groups["cathy"] == groups["catherine"]
    assert names.tokens("le gall de la tour") == ["gall", "tour"]


def test_components_by_hooking_and_jumping() -> None:
    left, right = np.array([0, 1, 3, 5, 6]), np.array([1, 2, 4, 6, 7])
    labels = components(9, left, right)
    assert labels.tolist() == [0, 0, 0, 3, 3, 5, 5, 5, 8]


def test_a_cluster_never_holds_two_national_ids_nor_a_pair_set_apart() -> None:
    # a chain 0-1-2-3: 0 and 3 carry different national ids; the weakest link (1-2) breaks
    left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    strength = np.array([0.99, 0.96, 0.99])
    national = (np.array([0, 3]), np.array([7, 7]), np.array([100, 200]))
    labels, refused = cluster(4, left, right, strength, national, [])
    assert labels[0] == labels[1] != labels[2] == labels[3] and refused == 1
    # the same chain without ids but with a reviewer's "different" between 0 and 2
    labels, refused = cluster(4, left, right, strength, (EMPTY, EMPTY, EMPTY), [(0, 2)])
    assert labels[0] != labels[2] and refused == 1
    # different schemes do not conflict
    national = (np.array([0, 3]), np.array([7, 8]), np.array([100, 200]))
    labels, refused = cluster(4, left, right, strength, national, [])
    assert len(set(labels.tolist())) == 1 and refused == 0


def _draw(rng: np.random.Generator, table: dict[str, tuple[float, ...]], n: int) -> np.ndarray:
    return np.stack([rng.choice(len(table[c.name]), size=n, p=np.array(table[c.name]) / sum(table[c.name]))
                     for c in COMPARISONS], axis=1)  # fmt: skip


def test_em_recovers_m_and_the_share_of_matches() -> None:
    rng = np.random.default_rng(7)
    true_m = {name: tuple(np.roll(np.array(levels), 0)) for name, levels in DEFAULT_M.items()}
    true_m["given"] = (0.7, 0.1, 0.05, 0.08, 0.04, 0.03)
    matches, others = _draw(rng, true_m, 30_000), _draw(rng, DEFAULT_U, 70_000)
    patterns = np.vstack([matches, others])
    rows, counts = np.unique(patterns, axis=0, return_counts=True)
    start = Model(
        {k: list(v) for k, v in DEFAULT_M.items()}, {k: list(v) for k, v in DEFAULT_U.items()}, 0.5
    )
    fitted = expectation_maximisation(rows, counts, np.zeros(len(rows), dtype=bool), start)
    assert abs(fitted.prior - 0.3) < 0.01
    assert abs(fitted.m["given"][0] - 0.7) < 0.02 and abs(fitted.m["birth_date"][0] - 0.94) < 0.02
    assert implausible(fitted) is None
    # per-rule sessions: the rule's own fields are not estimated from its pairs
    rules = np.ones(len(rows), dtype=np.int64)
    sessions = estimate_by_sessions(rows, rules, counts, np.zeros(len(rows), dtype=bool), start,
                                    [(0, ("given",))])  # fmt: skip
    assert sessions.m["given"] == start.m["given"]
    assert abs(sessions.m["family"][0] - fitted.m["family"][0]) < 0.02


def test_an_estimate_where_matches_disagree_on_names_is_implausible() -> None:
    model = Model(
        {k: list(v) for k, v in DEFAULT_M.items()}, {k: list(v) for k, v in DEFAULT_U.items()}, 0.5
    )
    model.m["family"] = [0.08, 0.005, 0.004, 0.003, 0.908]
    assert "family" in (implausible(model) or "")


def test_pairwise_accuracy() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    assert pairwise(truth, truth).f1 == 1.0
    split = pairwise([1, 1, 2, 3, 3, 4], truth)  # one a split off, b right, c alone
    assert (split.true_pairs, split.predicted_pairs, split.correct_pairs) == (4, 2, 2)
    assert split.precision == 1.0 and split.recall == 0.5
    with pytest.raises(ValueError):
        pairwise([1], truth)


def test_features_of_a_record() -> None:
    row = {c: None for c in IDENTITY_COLUMNS}
    row.update(provider="p", patient_id="x", given="Jean-Pierre", all_given=["Jean-Pierre"],
               family="Dupont", all_family=["Dupont", "Martin-Lefèvre"], birth_date="1961-03-12",
               gender="male", postal_code="69 003", city="Lyon",
               all_telecom=["+33 6 12 34 56 78", "jp@example.org", "12"], address_line="12, Rue X",
               national_id="161036938312345", national_id_scheme="fr-nir", national_id_status="valid")  # fmt: skip
    table = pa.table({**{c: pa.array([row[c]], t) for c, t in IDENTITY_COLUMNS.items()},
                      "record_id": [1], "person_seq": pa.array([None], pa.int64()),
                      "source_key": [9], "is_new": [True]})  # fmt: skip
    con = duckdb.connect()
    con.register("src", table)
    build_features(con, "src")
    f = con.sql("SELECT * FROM features").fetchall()
    names_ = [d[0] for d in con.sql("SELECT * FROM features").description]
    got = dict(zip(names_, f[0], strict=True))
    assert got["given_sq"] == "jeanpierre" and got["given1"] == "jean"
    assert sorted(got["fam"]) == ["dupont", "martinlefevre"]
    assert set(got["fam_tokens"]) == {"dupont", "martin", "lefevre"}
    assert got["dob"] == "1961-03-12" and got["dob_sorted"] == "1961-03-12"
    assert got["phones"] == ["612345678"] and got["email"] == "jp@example.org"
    assert got["postcode"] == "69003" and got["address"] == "12 rue x" and got["sex"] == "m"
    assert got["nid"] == "161036938312345"
    assert 0 < got["given_tf"] < 0.01  # one record: the usual frequency, not 100 %
