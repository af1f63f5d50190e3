"""Learned risk (issue 17): check precision, chrF++, the risk model ordering planted defects
first."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine, insert, select, update

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.models import CheckFinding, Sample, Turn, utcnow
from kocurate.services import bulk, risk
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset


def test_chrf_pp_basics() -> None:
    assert risk.chrf_pp(
        "고양이가 매트 위에 앉았다.", "고양이가 매트 위에 앉았다."
    ) == pytest.approx(100.0)
    assert risk.chrf_pp("abc", "xyz") == 0.0
    near = risk.chrf_pp("고양이가 매트 위에 앉았다.", "고양이가 매트 위에 앉아 있다.")
    far = risk.chrf_pp("개가 뛰었다.", "고양이가 매트 위에 앉아 있다.")
    assert 40 < near < 100 and far < near
    assert risk._words("Hello, world!") == ["Hello", ",", "world", "!"]


def planted(engine: Engine, n: int = 600, seed: int = 3) -> tuple[int, list[int], set[int]]:
    rng = random.Random(seed)
    pairs = [[(f"English text number {i}", f"한국어 문장 {i}")] for i in range(n)]
    ds, ids = make_dataset(engine, pairs)
    broken = {sid for sid in ids if rng.random() < 0.15}
    with session_scope(engine) as s:
        rows = []
        for sid in ids:
            if rng.random() < (0.7 if sid in broken else 0.05):
                rows.append(
                    {
                        "sample_id": sid,
                        "dataset_id": ds,
                        "check": "untranslated",
                        "message": "",
                        "data": {},
                        "severity": "warning",
                        "state": "open",
                        "created_at": utcnow(),
                    }
                )
            if rng.random() < 0.3:
                rows.append(
                    {
                        "sample_id": sid,
                        "dataset_id": ds,
                        "check": "length_ratio",
                        "message": "",
                        "data": {},
                        "severity": "warning",
                        "state": "open",
                        "created_at": utcnow(),
                    }
                )
        s.execute(insert(CheckFinding), rows)
        decided = ids[
            : n // 2
        ]  # the first half was reviewed: broken ones rejected, others approved
        s.execute(
            update(Sample)
            .where(Sample.id.in_([i for i in decided if i in broken]))
            .values(status="rejected")
        )
        s.execute(
            update(Sample)
            .where(Sample.id.in_([i for i in decided if i not in broken]))
            .values(status="approved")
        )
        # one approved sample was edited first: it counts as broken
        s.execute(update(Turn).where(Turn.sample_id == decided[0]).values(text="고친 문장"))
    return ds, ids, broken


def test_precision_model_and_ordering(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids, broken = planted(engine)
    lead = actors["lead"]
    with session_scope(engine) as s:
        prec = {r["check"]: r for r in risk.check_precision(s, lead, ds)}
        assert prec["untranslated"]["precision"] > 0.6 > 0.3 > prec["length_ratio"]["precision"]
        assert prec["untranslated"]["decided"] < prec["untranslated"]["samples"]
        with pytest.raises(PermissionDenied):
            risk.check_precision(s, actors["annotator"], ds)
    info = risk.train(engine, lead, [ds])
    assert info["scored"] == 600 and info["holdout_auc"] > 0.6
    undecided = bulk.Selection(dataset_id=ds, status="new")
    with session_scope(engine) as s:
        top = [sid for sid, _ in risk.ranked(s, lead, undecided, limit=30)]
        n_new = len(ids) - 300
        base_rate = len([i for i in ids[300:] if i in broken]) / n_new
        hits = len([i for i in top if i in broken])
        assert hits >= 2 * base_rate * 30  # at least twice what a random order finds
        best = risk.best_n(s, lead, undecided, 30)
        assert len([i for i in best if i in broken]) < hits
        # the ORDER BY terms the review queue can use on any Sample query
        queue = list(
            s.scalars(
                select(Sample.id)
                .where(Sample.dataset_id == ds, Sample.status == "new")
                .order_by(*risk.most_likely_broken_first())
                .limit(30)
            )
        )
        assert queue == top
    with session_scope(engine) as s:
        assert risk.model_info(s)["broken"] == info["broken"]


def test_model_needs_decisions_and_chrf_per_dataset(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, [[("Hi", "안녕")], [("Bye", "잘 가")]], status="approved")
    with pytest.raises(KocurateError, match="needs at least"):
        risk.train(engine, actors["lead"], [ds])
    with session_scope(engine) as s:
        s.execute(update(Turn).where(Turn.sample_id == ids[1]).values(text="잘 가요"))
    with session_scope(engine) as s:
        out = risk.dataset_chrf(s, actors["lead"], ds)
    assert out["turns"] == 2 and out["unchanged"] == 1 and 0 < out["chrf_pp"] < 100
