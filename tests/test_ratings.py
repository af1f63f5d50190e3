"""Quality ratings (issue 21 B): the agreement maths against published values, and the service on
real databases (switch per dataset, roles, keyboard digits, summary from SQL aggregates)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from test_review import make_dataset

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.services import ratings
from kocurate.services.auth import Actor

N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers x 12
# units, values 1-5, missing data. Published: nominal .743, ordinal .815, interval .849.
K2011 = [  # units (columns of the paper's table), observers A, B, C, D
    [1, 1, N, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [N, 5, 5, 5],
    [N, N, 1, 1],
    [N, 3, N, N],
]


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_2011_worked_example(level: str, published: float) -> None:
    assert ratings.krippendorff_alpha(K2011, level) == pytest.approx(published, abs=5e-4)


def test_krippendorff_edge_cases() -> None:
    assert ratings.krippendorff_alpha([[3, 3], [4, 4], [1, 1]], "interval") == pytest.approx(1.0)
    assert ratings.krippendorff_alpha([[3, N], [N, 4]], "ordinal") is None  # nothing pairable
    assert (
        ratings.krippendorff_alpha([[3, 3], [3, 3]], "ordinal") is None
    )  # no expected disagreement
    with pytest.raises(KocurateError, match="level"):
        ratings.krippendorff_alpha(K2011, "ratio-ish")


def test_quadratic_weighted_kappa_matches_reference() -> None:
    sklearn = pytest.importorskip("sklearn.metrics")
    a = [1, 2, 3, 4, 5, 3, 2, 4, 5, 1, 3, 3]
    b = [1, 3, 3, 5, 4, 3, 2, 3, 5, 2, 4, 3]
    ref = sklearn.cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert ratings.kappa_of_pairs(zip(a, b, strict=True)) == pytest.approx(ref, abs=1e-12)
    assert ratings.kappa_of_pairs([(1, 1), (3, 3), (5, 5)]) == pytest.approx(1.0)
    assert ratings.kappa_of_pairs([(2, 2), (2, 2)]) is None
    # Cohen (1968)-style check by hand: total disagreement at the ends of a 2-point use of the scale
    assert ratings.kappa_of_pairs([(1, 5), (5, 1)]) == pytest.approx(-1.0)


def test_parse_keys() -> None:
    assert ratings.parse_keys("4353") == {
        "grammaticality": 4,
        "factuality": 3,
        "fluency": 5,
        "diversity": 3,
    }
    assert ratings.parse_keys(" 4 - 5") == {"grammaticality": 4, "factuality": None, "fluency": 5}
    with pytest.raises(KocurateError, match="factuality must be a digit"):
        ratings.parse_keys("47")
    with pytest.raises(KocurateError, match="at most 4"):
        ratings.parse_keys("12345")


def test_ratings_service_roles_switch_and_summary(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 12)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        with pytest.raises(KocurateError, match="not switched on"):
            ratings.rate(s, a, ids[0], {"fluency": 4})
        with pytest.raises(PermissionDenied):
            ratings.set_enabled(s, a, ds, True)
        assert ratings.set_enabled(s, lead, ds, True) is True
        with pytest.raises(KocurateError, match="1 to 5"):
            ratings.rate(s, a, ids[0], {"fluency": 6})
        with pytest.raises(KocurateError, match="unknown criterion"):
            ratings.rate(s, a, ids[0], {"beauty": 3})
        # the worked example's units as samples, observers A and B as our two annotators (lead: C)
        for sid, unit in zip(ids, K2011, strict=True):
            for person, v in zip((a, b, lead), unit[:3], strict=True):
                if v is not None:
                    ratings.rate(s, person, sid, {"fluency": v})
        assert ratings.rate(s, a, ids[0], {"grammaticality": 5}) == {
            "fluency": 1,
            "grammaticality": 5,
        }
        assert ratings.rate(s, a, ids[0], {"grammaticality": None}) == {"fluency": 1}
        with pytest.raises(PermissionDenied):
            ratings.summary(s, a, ds)
    with session_scope(engine) as s:
        rows = {r["criterion"]: r for r in ratings.summary(s, lead, ds)}
    flu = rows["fluency"]
    three = [u[:3] for u in K2011]
    assert flu["raters"] == 3 and flu["ratings"] == sum(v is not None for u in three for v in u)
    assert flu["alpha_ordinal"] == pytest.approx(
        ratings.krippendorff_alpha(three, "ordinal"), abs=1e-3
    )
    assert flu["alpha_interval"] == pytest.approx(
        ratings.krippendorff_alpha(three, "interval"), abs=1e-3
    )
    pairs = []
    for i in range(3):
        for j in range(i + 1, 3):
            pairs.append(
                ratings.kappa_of_pairs(
                    [(u[i], u[j]) for u in three if u[i] is not None and u[j] is not None]
                )
            )
    assert flu["kappa"] == pytest.approx(sum(pairs) / 3, abs=1e-3) and flu["kappa_pairs"] == 3
    assert rows["diversity"]["ratings"] == 0 and rows["diversity"]["alpha_ordinal"] is None
