"""Folds that keep related clips together: every clip of a group (a kit, a package) in one fold."""

from __future__ import annotations

from collections import Counter


def grouped_folds(groups: list[str], n_folds: int) -> list[str]:
    """One fold name ("1".."n") per clip; whole groups are dealt, largest first, to the smallest fold."""
    sizes = Counter(groups)
    n_folds = max(1, min(n_folds, len(sizes)))
    load = [0] * n_folds
    fold_of: dict[str, int] = {}
    for group, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        target = min(range(n_folds), key=lambda f: (load[f], f))
        fold_of[group] = target
        load[target] += size
    return [str(fold_of[g] + 1) for g in groups]


class UnionFind:
    """Merge groups that share something (kits with identical samples)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
