"""The LLM assistant page and the review-turn widget (Streamlit AppTest) against the fake server."""

from __future__ import annotations

import pytest
from fake_deepl import wait_for
from fake_openai import FakeOpenAI
from sqlalchemy import Engine, select, update
from streamlit.testing.v1 import AppTest
from test_llm import count, seed, server, turn_id  # noqa: F401  (fixture)

from kocurate.db import session_scope
from kocurate.llm import CHECK
from kocurate.models import CheckFinding, LLMGrade, Suggestion, Turn
from kocurate.services.auth import Actor
from tests.page_helpers import log_in, open_page


def test_page_estimate_confirm_start_progress(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    server: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: F811
    seed(engine, 12, turns=2)
    at = open_page("assistant.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception
    assert at.button(key="llm-start").disabled  # no estimate seen yet
    at.button(key="llm-estimate").click().run()
    assert [m.value for m in at.metric][:3] == ["24", "24", "2"]
    assert at.button(key="llm-start").disabled  # not confirmed yet
    at.checkbox(key="llm-confirm").check().run()
    at.button(key="llm-start").click().run()
    assert not at.exception and "started" in at.success[0].value
    assert wait_for(lambda: count(engine, LLMGrade) == 24)
    # a reload: progress comes from the Job row
    at = open_page("assistant.py", db_url, actors["lead"], monkeypatch)
    assert wait_for(
        lambda: any(
            "grade · done · 12/12 samples" in m.value
            for m in open_page("assistant.py", db_url, actors["lead"], monkeypatch).markdown
        ),
        30,
    )
    assert "test-llm-key" not in str([c.value for c in at.caption])
    at.tabs[1].run()
    assert not at.exception


def test_page_without_configuration_and_for_annotators(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOCURATE_LLM_BASE_URL", raising=False)
    at = open_page("assistant.py", db_url, actors["lead"], monkeypatch)
    assert any("KOCURATE_LLM_BASE_URL" in w.value for w in at.warning)
    assert at.button(key="llm-start").disabled
    at = open_page("assistant.py", db_url, actors["annotator"], monkeypatch)
    assert any("for leads" in i.value for i in at.info)


def _turn_widget(sample_id: int, turn_id: int) -> None:
    from kocurate import ui, ui_llm

    ui_llm.render_turn_actions(ui.require_actor(), sample_id, turn_id)


def test_turn_actions_grade_and_suggest(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    server: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: F811
    seed(
        engine,
        1,
        turns=1,
        ko=lambda i, j: "다음 중 홀수를 고르시오",
        en=lambda i, j: "Pick the odd one out",
    )
    tid = turn_id(engine, 0, 0)
    with session_scope(engine) as s:
        sid = s.scalar(select(Turn.sample_id).where(Turn.id == tid))
    at = log_in(
        AppTest.from_function(_turn_widget, args=(sid, tid), default_timeout=60),
        db_url,
        actors["annotator"],
        monkeypatch,
    ).run()
    assert not at.exception
    at.button(key=f"llm-grade-{tid}").click().run()
    assert not at.exception
    assert (
        count(engine, CheckFinding, CheckFinding.check == CHECK, CheckFinding.severity == "error")
        == 1
    )
    assert any("critical" in c.value for c in at.caption)
    at.button(key=f"llm-suggest-{tid}").click().run()
    assert not at.exception and count(engine, Suggestion, Suggestion.engine == "llm") == 1
    assert any("suggestion added" in c.value for c in at.caption)
    # a turn whose English is only a reference (not its source): nothing to grade, no buttons
    with session_scope(engine) as s:
        s.execute(update(Turn).where(Turn.id == tid).values(source_kind="reference"))
    at = log_in(
        AppTest.from_function(_turn_widget, args=(sid, tid), default_timeout=60),
        db_url,
        actors["annotator"],
        monkeypatch,
    ).run()
    with pytest.raises(KeyError):
        at.button(key=f"llm-grade-{tid}")
    # without a server: no buttons, a line that says how to set it up
    monkeypatch.delenv("KOCURATE_LLM_API_KEY")
    at = log_in(
        AppTest.from_function(_turn_widget, args=(sid, tid), default_timeout=60),
        db_url,
        actors["annotator"],
        monkeypatch,
    ).run()
    assert any("not configured" in c.value for c in at.caption)
    with pytest.raises(KeyError):
        at.button(key=f"llm-grade-{tid}")


def test_review_page_grades_a_turn_with_the_llm(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    server: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: F811
    """The Review page carries the LLM actions per turn when an endpoint is set (issue 18
    wiring)."""
    seed(engine, 2, turns=2)
    first = turn_id(engine, 0, 0)
    with session_scope(engine) as s:
        sid = s.scalar(select(Turn.sample_id).where(Turn.id == first))
    at = open_page("review.py", db_url, actors["annotator"], monkeypatch, {"sample": sid})
    assert not at.exception, at.exception
    grade = [b for b in at.button if b.key == f"llm-grade-{first}"]
    assert grade, [b.key for b in at.button]
    grade[0].click().run()
    assert not at.exception
    assert count(engine, LLMGrade) >= 1


def test_review_page_has_no_llm_actions_without_an_endpoint(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOCURATE_LLM_BASE_URL", raising=False)
    seed(engine, 1, turns=2)
    at = open_page("review.py", db_url, actors["annotator"], monkeypatch)
    assert not at.exception
    assert not [b for b in at.button if (b.key or "").startswith("llm-")]
