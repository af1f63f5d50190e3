"""Cohen's and Fleiss' kappa (kocurate.agreement) against textbook cases: Cohen, the 50-item
yes/no example, kappa = 0.4; Fleiss, 10 subjects x 14 raters x 5 categories, kappa = 0.210."""

from __future__ import annotations

import pytest

from kocurate import agreement


def test_cohen_kappa_textbook() -> None:
    # 50 items, both yes 20, A yes/B no 5, A no/B yes 10, both no 15: po = 0.7, pe = 0.5, kappa =
    # 0.4
    t = {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    assert agreement.cohen_kappa(t) == pytest.approx(0.4)
    assert agreement.cohen_kappa({("a", "a"): 3, ("b", "b"): 2}) == pytest.approx(1.0)
    assert agreement.cohen_kappa({("a", "a"): 5}) is None  # one category only: undefined
    assert agreement.cohen_kappa({}) is None


def test_fleiss_kappa_textbook() -> None:
    # Fleiss' kappa worked example: 10 subjects, 14 raters each, 5 categories; P = 0.378, Pe =
    # 0.213, kappa = 0.210
    m = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert round(agreement.fleiss_kappa(m), 3) == 0.210
    s = agreement.FleissSums()
    for row in m:
        s.items[14] += 1
        s.agree[14] += sum(c * (c - 1) for c in row)
        for j, c in enumerate(row):
            s.totals[str(j)] += c
    res = agreement.fleiss_kappa_sums(s)
    assert round(res["p_bar"], 3) == 0.378 and round(res["p_e"], 3) == 0.213
    assert agreement.fleiss_kappa([[2, 0], [0, 2]]) == pytest.approx(1.0)
