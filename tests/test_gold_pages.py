"""Pages of issue 21 B (Streamlit AppTest, no browser): the ratings field on the Review page, the
lead-only gold control, the Dashboard's gold accuracy and ratings agreement, the export options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kocurate import db
from kocurate.demo import create_demo
from kocurate.models import Dataset, GoldSample, QualityRating, Sample
from kocurate.services import gold, ratings, users
from kocurate.services import review as rv
from tests.page_helpers import open_page


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'page.db'}"
    create_demo(url)
    eng = db.get_engine(url)
    with db.session_scope(eng) as s:
        who = {
            n: users.authenticate(s, n, f"{n}-demo-pw") for n in ("lead", "annotator", "annotator2")
        }
        ds = s.scalar(select(Dataset.id).where(Dataset.name == "demo-dolly-ko"))
        ids = list(s.scalars(select(Sample.id).where(Sample.dataset_id == ds).order_by(Sample.id)))
        ratings.set_enabled(s, who["lead"], ds, True)
    return {"url": url, "engine": eng, "who": who, "ids": ids, "ds": ds}


def test_review_ratings_typed_as_digits(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, sid = demo["engine"], demo["who"], demo["ids"][0]
    at = open_page("review.py", demo["url"], who["annotator"], monkeypatch, {"sample": sid})
    assert not at.exception
    assert not [
        e for e in at.expander if "Gold" in e.label
    ]  # annotators never see the gold control
    assert any("Alt+R" in c.value for c in at.caption)
    at.text_input(key=f"rt-{sid}-none").set_value("4-5").run()
    assert not at.exception
    with db.session_scope(eng) as s:
        got = {
            c: v
            for c, v in s.execute(
                select(QualityRating.criterion, QualityRating.score).where(
                    QualityRating.sample_id == sid
                )
            )
        }
    assert got == {"grammaticality": 4, "fluency": 5}
    at.text_input(key=f"rt-{sid}-4-5").set_value("47").run()
    assert any("factuality must be a digit 1-5" in e.value for e in at.error)
    with db.session_scope(eng) as s:  # a bad entry changes nothing
        assert ratings.my_ratings(s, who["annotator"], sid) == {"grammaticality": 4, "fluency": 5}


def test_review_lead_marks_gold(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, who, sid = demo["engine"], demo["who"], demo["ids"][1]
    at = open_page("review.py", demo["url"], who["lead"], monkeypatch, {"sample": sid})
    assert not at.exception
    at.selectbox(key=f"gd-dec-{sid}").set_value("reject")
    at.multiselect(key=f"gd-flags-{sid}").set_value(["hate"])
    at.button(key=f"gd-save-{sid}").click().run()
    assert not at.exception
    with db.session_scope(eng) as s:
        g = s.get(GoldSample, sid)
        assert g is not None and g.decision == "reject" and g.flags == ["hate"]


def test_dashboard_gold_accuracy_and_ratings_agreement(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, ids = demo["engine"], demo["who"], demo["ids"]
    with db.session_scope(eng) as s:
        gold.mark(s, who["lead"], ids[0], "reject")
        rv.submit_decision(s, who["annotator"], ids[0], "reject")
        rv.submit_decision(s, who["annotator2"], ids[0], "approve")
        for sid, (x, y) in zip(ids[:4], [(5, 5), (4, 4), (2, 3), (1, 1)], strict=True):
            ratings.rate(s, who["annotator"], sid, {c: x for c in ratings.CRITERIA})
            ratings.rate(s, who["annotator2"], sid, {c: y for c in ratings.CRITERIA})
    at = open_page("dashboard.py", demo["url"], who["lead"], monkeypatch)
    assert not at.exception
    assert not any("decision accuracy" in d.value.columns for d in at.table)  # only the open tab
    at.session_state["db-tabs"] = "Annotators"
    at.run()
    frames = [d.value for d in at.table]
    acc = next(f for f in frames if "decision accuracy" in f.columns)
    rows = acc.to_dict("index")
    assert (
        rows["annotator"]["decision accuracy"] == "100%"
        and rows["annotator2"]["decision accuracy"] == "0%"
    )
    assert rows["annotator"]["95% interval"] == "21–100%"
    at.session_state["db-tabs"] = "Agreement"
    at.run()
    agr = next(d.value for d in at.table if "weighted kappa" in d.value.columns)
    flu = agr.loc["fluency"]
    assert flu["ratings"] == 8 and flu["alpha (interval)"] != "-" and flu["weighted kappa"] != "-"
    # annotators see their own statistics only
    own = open_page("dashboard.py", demo["url"], who["annotator"], monkeypatch)
    assert not own.exception
    assert not [d for d in own.table if "decision accuracy" in d.value.columns]


def test_export_page_offers_gold_and_best_rated(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("export.py", demo["url"], demo["who"]["lead"], monkeypatch)
    assert not at.exception
    assert at.checkbox(key="ex_gold").value is False
    at.number_input(key="ex_best_rated").set_value(5).run()
    assert not at.exception
