"""QA sampling (issue 17): sample size, seeded draw, blind queue, Wilson interval, the export
guard."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.models import CheckFinding, QaItem
from kocurate.services import bulk, qa
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset, simple


def test_sample_size_and_wilson_known_values() -> None:
    assert qa.sample_size(0.03) == 1068 and qa.sample_size(0.05) == 385
    assert qa.sample_size(0.05, population=1000) == 278
    assert qa.sample_size(0.05, population=100) == 80
    low, high = qa.wilson(12, 400)  # 3 % of 400
    assert round(low, 4) == 0.0172 and round(high, 4) == 0.0517
    assert qa.wilson(0, 50)[0] == 0.0 and 0.06 < qa.wilson(0, 50)[1] < 0.08
    with pytest.raises(KocurateError, match="margin"):
        qa.sample_size(0.0)


def test_wilson_interval_covers_the_planted_rate_in_seeded_runs() -> None:
    population = np.zeros(20_000, dtype=bool)
    population[np.random.default_rng(1).choice(20_000, 800, replace=False)] = True  # 4 % defects
    ids = np.arange(20_000)
    covered = 0
    for seed in range(100):
        picked = qa.draw(ids, qa.sample_size(0.02), seed)
        low, high = qa.wilson(int(population[picked].sum()), len(picked))
        covered += low <= 0.04 <= high
    assert covered >= 93


def test_blind_queue_verdicts_estimate_and_guard(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, *simple(60, status="approved"))
    lead, ann, ann2 = actors["lead"], actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        s.add(
            CheckFinding(
                sample_id=ids[0], dataset_id=ds, check="untranslated", message="x", data={}
            )
        )
        with pytest.raises(PermissionDenied):
            qa.create_run(s, ann, bulk.Selection(dataset_id=ds))
        with pytest.raises(KocurateError, match="no QA estimate"):
            qa.require_max_defect_rate(s, [ds], 0.05)
        run = qa.create_run(s, lead, bulk.Selection(dataset_id=ds), margin=0.1, seed=7)
        again = qa.create_run(s, lead, bulk.Selection(dataset_id=ds), margin=0.1, seed=7)
    assert run["population"] == 60 and run["size"] == qa.sample_size(0.1, population=60) == 38
    with session_scope(engine) as s:

        def order(r: int) -> list[int]:
            q = select(QaItem.sample_id).where(QaItem.run_id == r).order_by(QaItem.position)
            return list(s.scalars(q))

        assert order(run["run_id"]) == order(again["run_id"])  # seeded: the same sample
    seen = []
    with session_scope(engine) as s:
        first = qa.next_item(s, ann, run["run_id"])
        other = qa.next_item(s, ann2, run["run_id"])
        assert first is not None and other is not None and first["item_id"] != other["item_id"]
        assert set(first) == {
            "item_id",
            "position",
            "left",
            "turns",
        }  # blind: no findings, flags, status
        assert qa.next_item(s, ann, run["run_id"])["item_id"] == first["item_id"]  # resumes its own
        with pytest.raises(KocurateError, match="another reviewer"):
            qa.record(s, ann2, first["item_id"], "ok")
        qa.record(s, ann2, other["item_id"], "ok")
        for i in range(run["size"] - 1):
            item = qa.next_item(s, ann, run["run_id"])
            assert item is not None
            seen.append(item["item_id"])
            qa.record(s, ann, item["item_id"], "defect" if i < 3 else "ok")
        assert qa.next_item(s, ann, run["run_id"]) is None
        est = qa.estimate(s, run["run_id"])
    assert (est["reviewed"], est["defects"], est["complete"]) == (38, 3, True)
    assert est["text"] == "estimated defect rate 7.9 % (2.7–20.8 %), 38 samples reviewed"
    with session_scope(engine) as s:
        with pytest.raises(KocurateError, match="above --max-defect-rate 5.0 %"):
            qa.require_max_defect_rate(s, [ds], 0.05)
        assert qa.require_max_defect_rate(s, [ds], 0.25)["run_id"] == run["run_id"]
        with pytest.raises(KocurateError, match="verdict is one of"):
            qa.record(s, ann, seen[0], "meh")
