"""Pages of the curate remainder (Streamlit AppTest, no browser): a finding shown at its place and
focused by a click, a kept fix applied in one click, the lead's queue order, the deep Korean run
started from the Checks page, the Dashboard's speech level with its target, "best N" on Export."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.checks.texts import check_label
from kocurate.models import Edit, Turn
from kocurate.services import korean, queue_order, tm
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM
from tests.corpus_helpers import make_dataset
from tests.page_helpers import open_page

KO = [
    [
        ("Tell me about Python.", "Python는 프로그래밍 언어 입니다."),
        ("It is popular.", "도커는 애플리케이션을 관리하는 프로세스 입니다. 설치가 간단합니다."),
    ],
    [("Hi", "안녕하세요."), ("Hello!", "안녕하세요! 무엇을 도와드릴까요?")],
]


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    path = tmp_path / "pages.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = db.get_engine(url)
    who = {}
    with db.session_scope(eng) as s:
        for name, role in (("lead", "lead"), ("annotator", "annotator")):
            user, _ = user_service.create_user(s, SYSTEM, name, role, f"{name}-test-pw")
            s.flush()
            who[name] = user_service.actor_of(user)
    ds, ids = make_dataset(eng, KO, name="ko")
    return {"url": url, "engine": eng, "who": who, "ds": ds, "ids": ids}


def texts(at: AppTest) -> str:
    return "\n".join(
        [t.value for t in at.text] + [e.value for e in at.error] + [s.value for s in at.success]
    )


def test_review_shows_each_finding_at_its_place_and_a_click_focuses_it(
    site: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eng, sid = site["engine"], site["ids"][0]
    korean.run_korean_checks(eng, site["who"]["lead"], site["ds"], workers=1)
    at = open_page("review.py", site["url"], site["who"]["annotator"], monkeypatch, {"sample": sid})
    assert not at.exception
    out = texts(at)
    assert f"{check_label('ko_particle')}: Python[[는]] 프로그래밍 언어 입니다." in out
    assert f"{check_label('ko_spacing')}: " in out and "[[" in out
    assert not [t for t in at.text_area if "[[" in (t.value or "")]  # nothing focused yet
    with db.session_scope(eng) as s:
        t0 = s.scalar(select(Turn.id).where(Turn.sample_id == sid, Turn.idx == 0))
    turn0 = at.pills(key=f"rv-focus-{sid}-{t0}")
    spacing_at = next(i for i, o in enumerate(turn0.options, 1) if check_label("ko_spacing") in o)
    turn0.set_value(spacing_at).run()
    assert not at.exception
    focused = [t.value for t in at.text_area if "[[" in (t.value or "")]
    assert focused == ["Python는 프로그래밍 언어[[ ]]입니다."]
    assert "The corrected spacing is offered under the Korean text: Use suggestion." in texts(at)
    assert any(b.label == "Use suggestion" for b in at.button)


def test_review_offers_a_kept_fix_in_one_click(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, sid = site["engine"], site["ids"][0]
    with db.session_scope(eng) as s:
        fix = tm.add_fix(s, site["who"]["lead"], "프로그래밍 언어", "프로그래밍언어", en_phrase="")
    at = open_page("review.py", site["url"], site["who"]["annotator"], monkeypatch, {"sample": sid})
    assert not at.exception
    assert f"Kept fix {fix}: 프로그래밍 언어 → 프로그래밍언어 (1 place)" in texts(at)
    at.session_state["rv_opened"] = time.time() - 5
    next(b for b in at.button if b.label == "Apply the fix").click().run()
    assert not at.exception
    with db.session_scope(eng) as s:
        assert (
            s.scalar(select(Turn.text).where(Turn.sample_id == sid, Turn.idx == 0))
            == "Python는 프로그래밍언어 입니다."
        )
        assert s.scalar(select(Edit.meta).where(Edit.sample_id == sid)) == {"tm_fix": fix}


def test_lead_sets_the_queue_order_in_the_sidebar(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, ds = site["engine"], site["ds"]
    at = open_page("review.py", site["url"], site["who"]["lead"], monkeypatch)
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == f"rv_order_{ds}"]  # in the closed Settings
    at.session_state["rv-settings"] = True  # the sidebar's Settings panel opened
    at.run()
    at.selectbox(key=f"rv_order_{ds}").set_value("risk").run()
    assert not at.exception
    with db.session_scope(eng) as s:
        assert queue_order.get_order(s, ds) == "risk"
    ann = open_page("review.py", site["url"], site["who"]["annotator"], monkeypatch)
    ann.session_state["rv-settings"] = True
    ann.run()
    assert not ann.exception and not [s for s in ann.selectbox if s.key == f"rv_order_{ds}"]
    assert [t for t in ann.toggle if t.key == "rv_pref_stay"]  # an annotator's own setting


def test_checks_page_starts_the_korean_run_and_shows_its_result(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(
        "checks.py", site["url"], site["who"]["lead"], monkeypatch, {"dataset": site["ds"]}
    )
    assert not at.exception
    assert "No Korean run yet on this dataset." in texts(at)
    at.button(key="ck_korean_go").click().run()
    assert not at.exception
    deadline = time.time() + 60
    while time.time() < deadline:
        with db.session_scope(site["engine"]) as s:
            j = korean.latest_korean_job(s, site["ds"])
        if j and j["status"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert j["status"] == "done", j
    at.run()
    out = texts(at)
    assert f"Korean check job {j['id']}: done · 2 of 2 samples" in out
    assert "spacing suggestions in" in out
    ann = open_page(
        "checks.py", site["url"], site["who"]["annotator"], monkeypatch, {"dataset": site["ds"]}
    )
    assert not ann.exception and not [b for b in ann.button if b.key == "ck_korean_go"]


def test_dashboard_shows_speech_level_and_the_lead_sets_the_target(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, ds = site["engine"], site["ds"]
    korean.run_korean_checks(eng, site["who"]["lead"], ds, workers=1)
    at = open_page("dashboard.py", site["url"], site["who"]["lead"], monkeypatch, run=False)
    at.session_state["db-datasets"] = [ds]
    at.session_state["db-tabs"] = "Quality"  # the dataset's Korean quality is on that tab
    at.run()
    assert not at.exception
    out = texts(at)
    assert "Dominant speech level of the assistant: 합쇼체 (hapsyo)" in out
    assert "Target level: none" in out
    at.selectbox(key=f"db-target-level-{ds}").set_value("haeyo").run()
    at.button(key=f"db-target-level-go-{ds}").click().run()
    assert not at.exception
    with db.session_scope(eng) as s:
        assert korean.speech_levels(s, ds)["target"] == "haeyo"
    assert "Target level: 해요체 (haeyo)" in texts(at)
    assert "Check precision: no findings on this dataset yet." not in texts(at)
    prec = [d.value for d in at.dataframe if "true_positive" in d.value.columns]
    assert prec and set(prec[0]["check"]) >= {"ko_particle", "ko_spacing"}
    at.button(key=f"db-chrf-{ds}-go").click().run()
    assert "No approved samples yet." in texts(at)


def test_export_page_best_n_option(site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("export.py", site["url"], site["who"]["lead"], monkeypatch)
    assert not at.exception
    assert at.checkbox(key="ex_best").disabled  # needs a target size
    at.number_input(key="ex_total").set_value(1).run()
    at.checkbox(key="ex_best").check().run()
    assert not at.exception
    assert at.selectbox(key="ex_best_by").value == "risk"
