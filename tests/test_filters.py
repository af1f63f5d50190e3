"""One SampleFilter: the review queue, a DeepL batch, a bulk selection and a Review page link
select the same samples (closed findings — cleared, resolved — count nowhere)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from test_review import make_dataset

from kocurate.db import session_scope
from kocurate.errors import KocurateError, NotFound
from kocurate.models import CheckFinding, Flag, Sample
from kocurate.services import bulk, filters
from kocurate.services import review as rv
from kocurate.services import translate as tr
from kocurate.services.auth import Actor


@pytest.fixture
def world(engine: Engine) -> tuple[int, list[int]]:
    ds, ids = make_dataset(engine, 10, name="filter-ds")
    make_dataset(engine, 4, name="other-ds")  # must never leak into a dataset's selection
    with session_scope(engine) as s:
        for sid, state in zip(
            ids[:5], ("open", "confirmed", "cleared", "resolved", "open"), strict=True
        ):
            s.add(
                CheckFinding(
                    sample_id=sid, dataset_id=ds, check="untranslated", state=state, message="m"
                )
            )
        for sid, state in ((ids[0], "open"), (ids[6], "cleared"), (ids[7], "open")):
            s.add(Flag(sample_id=sid, user_id=None, category="hate", state=state))
    return ds, ids


def _ids(engine: Engine, conds: list) -> set[int]:  # type: ignore[type-arg]
    with session_scope(engine) as s:
        return set(s.scalars(select(Sample.id).where(*conds)))


CASES = [
    ({"check": "untranslated"}, [0, 1, 4]),  # cleared and resolved findings are closed
    ({"flag": "hate"}, [0, 7]),
    ({"check": "untranslated", "flag": "hate"}, [0]),
    ({}, list(range(10))),
]


@pytest.mark.parametrize(("kw", "expected"), CASES)
def test_same_filter_same_samples_everywhere(
    engine: Engine, actors: dict[str, Actor], world, kw, expected
) -> None:
    ds, ids = world
    want = {ids[i] for i in expected}
    lead = actors["lead"]
    with session_scope(engine) as s:
        # the review queue (any status) — what a lead can still be handed
        assert rv.queue_size(s, lead, ds, rv.QueueFilter(status=None, **kw)) == len(want)
        queue = set(
            s.scalars(
                select(Sample.id).where(
                    Sample.dataset_id == ds,
                    *rv._filter_conditions(s, lead, rv.QueueFilter(status=None, **kw)),
                )
            )
        )
        # a DeepL batch, the dataset given by name and resolved once
        batch_filter = tr.BatchFilter(dataset="filter-ds", **kw)
        batch = set(s.scalars(select(Sample.id).where(*tr._conditions(s, batch_filter))))
        assert tr._count_samples(s, batch_filter) == len(want)
        # a bulk action's selection
        sel = bulk.Selection(dataset_id=ds, **kw)
        chosen = set(s.scalars(select(Sample.id).where(*bulk.conditions(s, lead, sel))))
        # a link to the Review page carries the filter and comes back as the same filter
        f = filters.SampleFilter(dataset=ds, **kw)
        back = filters.SampleFilter.from_link(
            dict(p.split("=") for p in filters.review_link(f).partition("?")[2].split("&") if p)
        )
        linked = set(s.scalars(select(Sample.id).where(*back.conditions(s))))
    assert queue == batch == chosen == linked == want


def test_job_parameters_round_trip_and_bad_values_are_named(engine: Engine, world) -> None:
    f = tr.BatchFilter(dataset="filter-ds", check="untranslated", limit=2, include_reference=True)
    assert tr.BatchFilter.from_dict(f.to_dict()) == f
    assert tr.BatchFilter.from_dict({**f.to_dict(), "unknown_key": 1}) == f
    with session_scope(engine) as s:
        with pytest.raises(NotFound, match="no dataset 'nope'"):
            tr._conditions(s, tr.BatchFilter(dataset="nope"))
        with pytest.raises(KocurateError, match="unknown status 'wrong'"):
            filters.SampleFilter(status="wrong").conditions(s)
        with pytest.raises(KocurateError, match="unknown flag"):
            filters.SampleFilter(flag="wrong").conditions(s)
        n = s.scalar(select(func.count()).select_from(Sample).where(*tr._conditions(s, f)))
        assert n == 3 and tr._count_samples(s, f) == 2  # the limit caps the count


def test_review_link_keeps_the_old_shape() -> None:
    f = filters.SampleFilter(dataset=3, status="new", flag="hate", check="untranslated", job=7)
    assert (
        filters.review_link(f, sample=5)
        == "/review?dataset=3&status=new&flag=hate&check=untranslated&job=7&sample=5"
    )
    assert filters.SampleFilter.from_link({"job": "x", "status": ""}) == filters.SampleFilter()
