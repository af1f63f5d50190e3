"""The Dashboard page (Streamlit AppTest): empty states, whole-day time axes with integer ticks, and
figures that follow writes at once (no stale cache)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.demo import DEMO_SETS, HERE
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services import review
from kocurate.services.auth import Actor
from tests.page_helpers import open_page


def _figures(at: AppTest) -> dict[str, dict]:
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        out[title] = spec
    return out


def test_dashboard_empty_then_live(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = actors["lead"]
    at = open_page("dashboard.py", db_url, lead, monkeypatch)
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    # an empty database: "no data yet", not empty axes
    assert any("Samples by status: no data yet" in i for i in infos)
    assert any("Reviews per day: no data yet" in i for i in infos)
    assert not any(t.startswith("Reviews per day") for t in _figures(at))
    kind, ko, en, name = DEMO_SETS[3]
    import_files(engine, kind, HERE / ko, HERE / en, name=name)
    with db.session_scope(engine) as s:
        sid = s.scalar(select(Sample.id).order_by(Sample.id))
        review.decide(s, lead, sid, "approve")
    at.run()  # the same session, right after the write
    assert not at.exception
    assert [m.value for m in at.metric][1] == "1"  # approved, not the cached 0
    figs = _figures(at)
    day = figs["Reviews per day"]["layout"]
    assert day["xaxis"]["tickformat"] == "%Y-%m-%d" and day["xaxis"]["dtick"] == 86_400_000
    assert day["yaxis"]["tickformat"] == ",d" and day["yaxis"]["dtick"] == 1
    assert figs["Samples by status"]["layout"]["yaxis"]["tickformat"] == ",d"


def test_text_tab_draws_its_histograms(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, ko, en, name = DEMO_SETS[3]
    import_files(engine, kind, HERE / ko, HERE / en, name=name)
    at = open_page("dashboard.py", db_url, actors["lead"], monkeypatch, run=False)
    at.session_state["db-tabs"] = "Text"
    at.run()
    assert not at.exception, at.exception
    figs = _figures(at)
    assert {
        "Korean and English characters per sample",
        "Length ratio Korean / English",
        "Turns per conversation",
    } <= set(figs)
    ratio = figs["Length ratio Korean / English"]["layout"]
    assert ratio["xaxis"]["title"]["text"] == "Korean / English characters"
