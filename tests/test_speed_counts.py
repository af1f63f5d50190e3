"""A ``disputed`` sample is neither decided nor done: Datasets listing and Dashboard progress (issue
11)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from kocurate.db import session_scope
from kocurate.services import datasets as ds_service
from kocurate.services import review as rv
from kocurate.services import stats
from kocurate.services.auth import Actor
from tests.test_review import make_dataset


def test_disputed_counts_as_in_progress(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 4, "dispute", overlap=2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        rv.decide(s, a, ids[0], "approve")
        assert rv.decide(s, b, ids[0], "reject") == "disputed"
        rv.decide(s, a, ids[1], "approve")
        assert rv.decide(s, b, ids[1], "approve") == "approved"
    with session_scope(engine) as s:
        row = next(r for r in ds_service.list_datasets(s) if r["id"] == ds)
        assert (row["disputed"], row["approved"], row["new"]) == (1, 1, 2)
        assert (row["decided"], row["in_progress"]) == (1, 3)
        p = stats.progress(s, lead)
        assert p["done_share"] == pytest.approx(1 / 4, abs=1e-6)
        # 2 new samples x overlap 2, plus one adjudication for the disputed one
        assert p["remaining_reviews"] == 2 * 2 + 1
    with session_scope(engine) as s:
        rv.adjudicate(s, lead, ids[0], "reject")
    with session_scope(engine) as s:
        row = next(r for r in ds_service.list_datasets(s) if r["id"] == ds)
        assert (row["decided"], row["in_progress"], row["disputed"]) == (2, 2, 0)
        p = stats.progress(s, lead)
        assert p["done_share"] == pytest.approx(2 / 4, abs=1e-6) and p["remaining_reviews"] == 4
