"""From links between records to people: connected components under constraints.

Nodes are the records being linked and the existing people they link to (an existing
person is one node: its records are already one person). Edges are the links kept:
decisions of a reviewer ("same"), shared validated national identifiers, and
probabilistic links above the threshold. People are the connected components, except
where a component would hold two different validated national identifiers of one scheme
(one person has one) or two records a reviewer said are different people: such a
component is rebuilt greedily, strongest link first, skipping every link that would join
what must stay apart.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def components(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A component label (its smallest node) for each of ``count`` nodes.

    Hooking and pointer jumping on whole arrays: each round hooks every edge's larger
    root under the smaller, then compresses paths; rounds grow with the log of a
    component's diameter, not with the number of edges.
    """
    labels = np.arange(count, dtype=np.int64)
    if len(left) == 0:
        return labels
    while True:
        la, lb = labels[left], labels[right]
        low = np.minimum(la, lb)
        hooked = labels.copy()
        np.minimum.at(hooked, la, low)
        np.minimum.at(hooked, lb, low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, labels):
            return labels
        labels = hooked


class _Constrained:
    """Union-find whose sets keep their national ids and their cannot-link partners."""

    def __init__(self, ids: dict[int, dict[str, str]], apart: dict[int, set[int]]) -> None:
        self.parent: dict[int, int] = {}
        self.ids = ids
        self.apart = apart

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            nxt = self.parent.get(x, x)
            self.parent[x] = root
            x = nxt
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ids_a, ids_b = self.ids.get(ra, {}), self.ids.get(rb, {})
        if any(ids_b.get(scheme, value) != value for scheme, value in ids_a.items()):
            return False
        if any(self.find(x) == rb for x in self.apart.get(ra, ())) or any(
            self.find(x) == ra for x in self.apart.get(rb, ())
        ):
            return False
        if len(ids_a) < len(ids_b):
            ra, rb, ids_a, ids_b = rb, ra, ids_b, ids_a
        self.parent[rb] = ra
        if ids_b:
            self.ids[ra] = {**ids_b, **ids_a}
        if rb in self.apart:
            self.apart.setdefault(ra, set()).update(self.apart.pop(rb))
        return True


def _troubled(labels: np.ndarray, nodes: np.ndarray, schemes: np.ndarray,
              values: np.ndarray) -> np.ndarray:  # fmt: skip
    """Labels of components holding two different national ids of one scheme."""
    if len(nodes) == 0:
        return np.empty(0, dtype=np.int64)
    owner = labels[nodes]
    order = np.lexsort((values, schemes, owner))
    o, s, v = owner[order], schemes[order], values[order]
    clash = (o[1:] == o[:-1]) & (s[1:] == s[:-1]) & (v[1:] != v[:-1])
    return np.unique(o[1:][clash])


def cluster(count: int, left: np.ndarray, right: np.ndarray, strength: np.ndarray,
            national: tuple[np.ndarray, np.ndarray, np.ndarray],
            cannot_link: Iterable[tuple[int, int]]) -> tuple[np.ndarray, int]:  # fmt: skip
    """Cluster labels of ``count`` nodes, and how many links were refused by a constraint.

    ``national``: three arrays (node, scheme code, value code) of the nodes' validated
    national ids; ``cannot_link``: pairs of nodes that must not end in one cluster.
    """
    labels = components(count, left, right)
    nodes, schemes, values = national
    apart: dict[int, set[int]] = {}
    for a, b in cannot_link:
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)
    troubled = set(_troubled(labels, nodes, schemes, values).tolist())
    for a, partners in apart.items():
        troubled.update(int(labels[a]) for b in partners if labels[a] == labels[b])
    if not troubled:
        return labels, 0
    marked = np.fromiter(troubled, dtype=np.int64)
    ids: dict[int, dict[str, str]] = {}
    inside = np.isin(labels[nodes], marked)
    for node, scheme, value in zip(nodes[inside].tolist(), schemes[inside].tolist(),
                                   values[inside].tolist(), strict=True):  # fmt: skip
        ids.setdefault(node, {})[str(scheme)] = str(value)
    refused = 0
    in_trouble = np.isin(labels[left], marked)
    order = np.argsort(-strength[in_trouble], kind="stable")
    edges_l, edges_r = left[in_trouble][order], right[in_trouble][order]
    finder = _Constrained(ids, apart)
    for a, b in zip(edges_l.tolist(), edges_r.tolist(), strict=True):
        if not finder.union(a, b):
            refused += 1
    members = np.flatnonzero(np.isin(labels, marked))
    labels = labels.copy()
    for node in members.tolist():
        labels[node] = finder.find(node)
    return labels, refused
