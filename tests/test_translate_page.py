"""The Translate page (Streamlit AppTest): estimate, start a job, progress from the Job row,
glossary."""

from __future__ import annotations

import pytest
from fake_deepl import FakeDeepL, wait_for
from sqlalchemy import Engine
from test_translate_cli import server  # noqa: F401  (fixture)
from test_translate_deepl import count, seed

from kocurate.models import GlossaryTerm, Suggestion
from kocurate.services.auth import Actor
from tests.page_helpers import open_page


def test_page_estimate_start_progress_glossary(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    server: FakeDeepL,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: F811
    seed(engine, 12)
    at = open_page("translate.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception
    at.button(key="tr-estimate").click().run()
    assert [m.value for m in at.metric][:2] == ["12", "24"]
    assert any("remaining" in c.value for c in at.caption)
    at.button(key="tr-start").click().run()
    # a paid job: the estimate and a confirmation come first; nothing started yet
    assert not at.exception and not at.success and count(engine, Suggestion) == 0
    assert any("Start it?" in w.value for w in at.warning)
    at.button(key="tr-confirm-go").click().run()
    assert not at.exception and "started" in at.success[0].value
    assert wait_for(lambda: count(engine, Suggestion) == 24)
    # a reload: progress comes from the Job row
    at = open_page("translate.py", db_url, actors["lead"], monkeypatch)
    assert any("**Job 1** · 12/12 samples" in m.value for m in at.markdown)
    assert any(
        "Filters: all samples" in c.value for c in at.caption
    )  # filters in words, not a dict
    assert not any("{" in c.value for c in at.caption)
    # the card links to the review queue of its open suggestions, with the count
    assert any(
        "Review 24 open suggestions in ds: review?dataset=1&job=1" in c.value for c in at.caption
    )
    assert any(m.value == "24" for m in at.metric)  # suggestions on the card
    with pytest.raises(KeyError):
        at.button(key="tr-cancel-1")  # a finished job offers no cancel
    at.button(key="tr-gl-save").click().run()
    assert not at.exception and count(engine, GlossaryTerm) == 0


def test_page_for_annotator_and_without_key(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    at = open_page("translate.py", db_url, actors["lead"], monkeypatch)
    assert any("DEEPL_AUTH_KEY" in w.value for w in at.warning)
    assert at.button(key="tr-start").disabled
    at = open_page("translate.py", db_url, actors["annotator"], monkeypatch)
    assert any("for leads" in i.value for i in at.info)
