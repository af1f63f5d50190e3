"""The Review page script (Streamlit AppTest, no browser): disputed samples tell a lead the decision
is final, reserved samples open read-only, drafts come back marked, Reject takes a reason and moves
on.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.demo import create_demo
from kocurate.models import Dataset, Review, Sample, Turn
from kocurate.services import drafts, users
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
    return {"url": url, "engine": eng, "who": who, "ids": ids, "ds": ds}


def texts(at: AppTest) -> str:
    return "\n".join(
        [t.value for t in at.text] + [w.value for w in at.warning] + [e.value for e in at.error]
    )


def test_disputed_sample_offers_the_lead_a_final_decision(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, sid = demo["engine"], demo["who"], demo["ids"][0]
    with db.session_scope(eng) as s:
        s.execute(update(Dataset).where(Dataset.id == demo["ds"]).values(overlap=2))
    with db.session_scope(eng) as s:
        rv.claim(s, who["annotator"], sid)
        rv.claim(s, who["annotator2"], sid)
        rv.decide(s, who["annotator"], sid, "reject", expected_version=1, reason="misaligned")
        rv.decide(s, who["annotator2"], sid, "approve", expected_version=2)
    at = open_page("review.py", demo["url"], who["lead"], monkeypatch, {"sample": sid})
    assert not at.exception
    out = texts(at)
    assert "status disputed" in out and "Your decision settles it (adjudication, final)" in out
    assert "annotator: reject (misaligned) · annotator2: approve" in out
    at.session_state["rv_opened"] = time.time() - 5  # looked at it for a while (not a double press)
    at.button(key=f"rv-b-approve-{sid}").click().run()
    assert not at.exception
    with db.session_scope(eng) as s:
        assert s.scalar(select(Sample.status).where(Sample.id == sid)) == "approved"
    assert "status approved" in texts(at)


def test_reserved_sample_is_read_only_and_draft_comes_back(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, sid = demo["engine"], demo["who"], demo["ids"][1]
    with db.session_scope(eng) as s:
        rv.claim(s, who["annotator"], sid)
        turn = s.scalar(select(Turn.id).where(Turn.sample_id == sid, Turn.idx == 0))
        drafts.save_draft(s, who["annotator"], sid, turn, "저장 안 한 초안", 1)
    other = open_page("review.py", demo["url"], who["annotator2"], monkeypatch, {"sample": sid})
    assert not other.exception
    assert "Read-only: this sample is reserved for someone else." in texts(other)
    assert all(t.disabled for t in other.text_area if t.label == "Korean")
    assert other.button(key=f"rv-b-approve-{sid}").disabled
    mine = open_page("review.py", demo["url"], who["annotator"], monkeypatch, {"sample": sid})
    assert not mine.exception
    korean = [t for t in mine.text_area if t.label == "Korean"]
    assert korean[0].value == "저장 안 한 초안" and not korean[0].disabled
    assert "draft — not saved" in texts(mine)


def test_reject_takes_a_reason_and_moves_on(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, ids = demo["engine"], demo["who"], demo["ids"]
    at = open_page("review.py", demo["url"], who["annotator"], monkeypatch, {"sample": ids[2]})
    at.button_group(key=f"rv-reason-{ids[2]}").set_value("duplicate")
    at.text_input(key=f"rv-reason-note-{ids[2]}").set_value("same as key 1")
    at.run()
    at.session_state["rv_opened"] = time.time() - 5
    at.button(key=f"rv-b-reject-{ids[2]}").click().run()
    assert not at.exception
    with db.session_scope(eng) as s:
        r = s.scalars(select(Review).where(Review.sample_id == ids[2])).one()
    assert (r.decision, r.reason, r.note) == ("reject", "duplicate", "same as key 1")
    assert at.session_state["rv_sample"] != ids[2]  # moved on to the next sample


def test_a_decision_as_the_sample_opens_is_a_double_press(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, ids = demo["engine"], demo["who"], demo["ids"]
    at = open_page("review.py", demo["url"], who["annotator"], monkeypatch, {"sample": ids[3]})
    # it just opened: a time that cannot age past MIN_DWELL_S however slow the machine runs the page
    at.session_state["rv_opened"] = time.time() + 3600
    at.button(key=f"rv-b-approve_next-{ids[3]}").click().run()
    assert not at.exception
    assert "nothing was decided" in "\n".join(i.value for i in at.info)
    with db.session_scope(eng) as s:
        assert s.scalar(select(Sample.status).where(Sample.id == ids[3])) == "new"


def test_more_filters_keep_their_values_while_the_panel_is_closed(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidebar's further filters are drawn only while their panel is open (fewer elements
    per click); what they are set to still filters the queue after the panel is closed."""
    eng, who, ids = demo["engine"], demo["who"], demo["ids"]
    with db.session_scope(eng) as s:
        key_text = s.scalar(select(Turn.text).where(Turn.sample_id == ids[3], Turn.idx == 0))
    at = open_page("review.py", demo["url"], who["annotator"], monkeypatch)
    at.selectbox(key="rv_ds").set_value(demo["ds"]).run()
    assert not [w for w in at.text_input if w.key == "rv_f_text"]  # closed: not drawn
    at.session_state["rv-more-filters"] = True
    at.run()
    at.text_input(key="rv_f_text").set_value(key_text[:12]).run()
    at.session_state["rv-more-filters"] = False
    at.run()
    at.run()  # a second full run without the widget: its value is still there
    assert not at.exception and not [w for w in at.text_input if w.key == "rv_f_text"]
    assert at.session_state["rv_f_text"] == key_text[:12]
    assert "1 further filter on" in [c.value for c in at.sidebar.caption]
    at.button(key="rv-b-next-none").click().run()
    assert not at.exception
    assert at.session_state["rv_sample"] == ids[3]  # the one sample whose text matches


def test_stay_after_reject_setting_is_kept_per_person(
    demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, who, ids = demo["engine"], demo["who"], demo["ids"]
    at = open_page("review.py", demo["url"], who["annotator"], monkeypatch, {"sample": ids[2]})
    at.session_state["rv-settings"] = True
    at.run()
    at.toggle(key="rv_pref_stay").set_value(True).run()
    with db.session_scope(eng) as s:
        assert rv.get_prefs(s, who["annotator"])["stay_after_decision"] is True
    at.session_state["rv-settings"] = False  # the panel closed: the setting still holds
    at.run()
    at.session_state["rv_opened"] = time.time() - 5
    at.button(key=f"rv-b-reject-{ids[2]}").click().run()
    assert not at.exception
    assert at.session_state["rv_sample"] == ids[2]  # stayed on the rejected sample
