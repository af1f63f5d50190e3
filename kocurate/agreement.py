"""Agreement between annotators: Cohen's and Fleiss' kappa as pure functions over counts.

SQL aggregates the contingency counts (``services/stats/annotators.py``); these functions only do
the arithmetic, so they are tested on their own (tests/test_agreement.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def cohen_kappa(table: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from a contingency table {(rating of A, rating of B): count}.

    None when undefined (no items, or both raters used one and the same category throughout).
    """
    n = sum(table.values())
    if n == 0:
        return None
    po = sum(c for (a, b), c in table.items() if a == b) / n
    row: dict[str, int] = defaultdict(int)
    col: dict[str, int] = defaultdict(int)
    for (a, b), c in table.items():
        row[a] += c
        col[b] += c
    pe = sum(row[k] * col.get(k, 0) for k in row) / (n * n)
    if pe == 1:
        return None
    return (po - pe) / (1 - pe)


@dataclass
class FleissSums:
    """What Fleiss' kappa needs, aggregated (so SQL can compute it without returning per-item rows).

    ``agree[n]``: sum over items rated by n raters of sum_j n_ij (n_ij - 1); ``items[n]``: how many
    items had n raters; ``totals[j]``: sum over items of n_ij (ratings given to category j).
    """

    agree: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    items: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def fleiss_kappa_sums(s: FleissSums) -> dict[str, Any]:
    """Fleiss' kappa (generalised to a varying number of raters per item: P_i = sum
    n_ij(n_ij-1)/(n(n-1)))."""
    n_items = sum(c for n, c in s.items.items() if n >= 2)
    ratings = sum(s.totals.values())
    if n_items == 0 or ratings == 0:
        return {"kappa": None, "items": n_items, "p_bar": None, "p_e": None}
    p_bar = sum(a / (n * (n - 1)) for n, a in s.agree.items() if n >= 2) / n_items
    p_e = sum((t / ratings) ** 2 for t in s.totals.values())
    kappa = None if p_e == 1 else (p_bar - p_e) / (1 - p_e)
    return {"kappa": kappa, "items": n_items, "p_bar": p_bar, "p_e": p_e}


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from an items x categories matrix of how many raters chose each category."""
    s = FleissSums()
    for row in counts:
        n = sum(row)
        s.items[n] += 1
        s.agree[n] += sum(c * (c - 1) for c in row)
        for j, c in enumerate(row):
            s.totals[str(j)] += c
    return fleiss_kappa_sums(s)["kappa"]
