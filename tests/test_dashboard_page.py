"""The Dashboard page (Streamlit AppTest): empty states, whole-day time axes with integer ticks, and
figures that follow writes at once (no stale cache)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.demo import DEMO_SETS, HERE
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services import review
from kocurate.services.auth import Actor

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "dashboard.py")


def _page(
    db_url: str, actor: Actor, monkeypatch: pytest.MonkeyPatch, at: AppTest | None = None
) -> AppTest:
    monkeypatch.setenv("KOCURATE_DB_URL", db_url)
    if at is None:
        st.cache_resource.clear()  # ui.engine() is cached per process
        st.cache_data.clear()
        at = AppTest.from_file(PAGE, default_timeout=90)
        at.session_state["actor"] = actor
        at.session_state["login_at"] = int(time.time())
    return at.run()


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
    at = _page(db_url, lead, monkeypatch)
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
    at = _page(db_url, lead, monkeypatch, at)  # the same session, right after the write
    assert not at.exception
    assert [m.value for m in at.metric][1] == "1"  # approved, not the cached 0
    figs = _figures(at)
    day = figs["Reviews per day"]["layout"]
    assert day["xaxis"]["tickformat"] == "%Y-%m-%d" and day["xaxis"]["dtick"] == 86_400_000
    assert day["yaxis"]["tickformat"] == ",d" and day["yaxis"]["dtick"] == 1
    assert figs["Samples by status"]["layout"]["yaxis"]["tickformat"] == ",d"
