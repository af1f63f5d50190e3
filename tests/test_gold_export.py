"""Exports and issue 21 B: no gold samples unless asked, quality ratings in the provenance, the
"best N by mean rating" selection (ties to the lower learned risk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update
from test_review import make_dataset

from kocurate.db import session_scope
from kocurate.errors import KocurateError
from kocurate.models import Sample, SampleSignal, utcnow
from kocurate.services import export as ex
from kocurate.services import gold, ratings
from kocurate.services.auth import Actor


def _rows(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(x)
        for x in (out / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def _ids(out: Path) -> list[int]:
    return sorted(r["kocurate"]["sample_id"] for r in _rows(out))


@pytest.fixture
def rated(engine: Engine, actors: dict[str, Actor]) -> tuple[int, list[int]]:
    """8 approved samples; sample 0 gold; samples 1..5 rated by two people; risk on 2 and 3."""
    ds, ids = make_dataset(engine, 8, name="rated")
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        s.execute(update(Sample).where(Sample.dataset_id == ds).values(status="approved"))
        gold.mark(s, lead, ids[0], "approve")
        ratings.set_enabled(s, lead, ds, True)
        scores = {1: (5, 5), 2: (4, 4), 3: (4, 4), 4: (2, 3), 5: (1, 1)}
        for i, (x, y) in scores.items():
            ratings.rate(s, a, ids[i], {c: x for c in ratings.CRITERIA})
            ratings.rate(s, b, ids[i], {"grammaticality": y, "fluency": y})
        now = utcnow()
        s.execute(
            insert(SampleSignal),
            [
                {"sample_id": ids[2], "dataset_id": ds, "risk": 0.9, "updated_at": now},
                {"sample_id": ids[3], "dataset_id": ds, "risk": 0.1, "updated_at": now},
            ],
        )
    return ds, ids


def test_gold_left_out_unless_asked(
    engine: Engine, actors: dict[str, Actor], rated: tuple[int, list[int]], tmp_path: Path
) -> None:
    _ds, ids = rated
    lead = actors["lead"]
    m = ex.export(engine, lead, ex.ExportSpec(datasets=["rated"]), tmp_path / "plain")
    assert _ids(tmp_path / "plain") == ids[1:]
    assert m["counts"]["total"] == 7
    with session_scope(engine) as s:
        p = ex.preview_counts(s, lead, ex.ExportSpec(datasets=["rated"]))
        assert p["datasets"][0]["gold"] == 1
    ex.export(engine, lead, ex.ExportSpec(datasets=["rated"], include_gold=True), tmp_path / "with")
    assert _ids(tmp_path / "with") == ids


def test_ratings_in_provenance(
    engine: Engine, actors: dict[str, Actor], rated: tuple[int, list[int]], tmp_path: Path
) -> None:
    _ds, ids = rated
    ex.export(engine, actors["lead"], ex.ExportSpec(datasets=["rated"]), tmp_path / "o")
    prov = {r["kocurate"]["sample_id"]: r["kocurate"] for r in _rows(tmp_path / "o")}
    assert prov[ids[4]]["ratings"] == {
        "grammaticality": 2.5,
        "factuality": 2.0,
        "fluency": 2.5,
        "diversity": 2.0,
        "n_raters": 2,
    }
    assert "ratings" not in prov[ids[6]]  # unrated
    ex.export(
        engine, actors["lead"], ex.ExportSpec(datasets=["rated"], meta=False), tmp_path / "nometa"
    )
    assert all("kocurate" not in r for r in _rows(tmp_path / "nometa"))


def test_best_n_by_rating_then_low_risk(
    engine: Engine, actors: dict[str, Actor], rated: tuple[int, list[int]], tmp_path: Path
) -> None:
    _ds, ids = rated
    lead = actors["lead"]
    # means: 1 -> 5, 2 -> 4 (risk .9), 3 -> 4 (risk .1), 4 -> 2.33, 5 -> 1; best 2: sample 1, then
    # the safer of the two 4s
    spec = ex.ExportSpec(datasets=["rated"], best_rated=2)
    with session_scope(engine) as s:
        p = ex.preview_counts(s, lead, spec)
    assert p["total"] == 2
    m = ex.export(engine, lead, spec, tmp_path / "best")
    assert _ids(tmp_path / "best") == [ids[1], ids[3]]
    assert (
        m["selection"]["spec"]["best_rated"] == 2
        and m["selection"]["spec"]["include_gold"] is False
    )
    ex.export(engine, lead, ex.ExportSpec(datasets=["rated"], best_rated=50), tmp_path / "all")
    assert _ids(tmp_path / "all") == ids[1:6]  # only rated samples; gold never (not asked)
    with pytest.raises(KocurateError, match="best-rated"):
        ex.ExportSpec(best_rated=0).validate()
