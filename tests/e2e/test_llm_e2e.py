"""The LLM assistant page in a real browser against the fake OpenAI-compatible server: estimate,
confirm, a grading job whose progress shows and survives a reload; annotators do not get the page.

Runs its own app (the shared one has no LLM configured), on a small database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import AppServer, choose, do_login, served, wait_idle
from fake_openai import FakeOpenAI
from playwright.sync_api import expect
from seeding import seed_translated
from sqlalchemy import func, select

from kocurate import db
from kocurate.llm import CHECK
from kocurate.models import CheckFinding, LLMGrade
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NAME = "e2e-llm"


def _seed(url: str) -> None:
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as s:
            for name, role in (("lead", "lead"), ("annotator", "annotator")):
                user_service.create_user(s, SYSTEM, name, role, f"{name}-demo-pw")
        seed_translated(
            engine,
            2,
            ko=lambda i, j: "다음 중 홀수를 고르시오" if j == 0 else f"답 {i}",
            en=lambda i, j: f"Pick the odd one out ({i})" if j == 0 else f"The answer is {i}.",
            name=NAME,
            key=lambda i: f"t{i}",
        )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("e2e-llm")
    url = f"sqlite:///{tmp / 'app.db'}"
    _seed(url)
    fake = FakeOpenAI("e2e-llm-key").start()
    env = {
        "KOCURATE_LLM_BASE_URL": fake.url,
        "KOCURATE_LLM_MODEL": "gpt-4o-mini",
        "KOCURATE_LLM_API_KEY": "e2e-llm-key",
        "KOCURATE_LLM_RETRIES": "0",
    }
    try:
        with served(url, tmp, env) as app:
            yield app
    finally:
        fake.stop()


def _count(url: str, model: Any, *where: Any) -> int:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0
    finally:
        engine.dispose()


def test_lead_estimates_confirms_and_grades(page: Any, llm_app: AppServer) -> None:
    do_login(page, llm_app.base_url, "lead")
    page.get_by_test_id("stSidebarNav").get_by_text("LLM assistant").click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("Model gpt-4o-mini", exact=False).first).to_be_visible()
    expect(page.get_by_text("e2e-llm-key")).to_have_count(0)
    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Dataset").first, NAME)
    wait_idle(page)
    start = page.get_by_role("button", name="Start LLM job")
    expect(start).to_be_disabled()
    page.get_by_role("button", name="Estimate").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Turns")).to_contain_text("4")
    expect(page.get_by_test_id("stMetric").filter(has_text="Estimated cost")).to_contain_text("$")
    page.get_by_text("I have seen the estimate", exact=False).click()
    wait_idle(page)
    expect(start).to_be_enabled()
    start.click()
    expect(page.get_by_text("started", exact=False).first).to_be_visible()
    expect(page.get_by_text("grade · done · 2/2 samples", exact=False).first).to_be_visible(
        timeout=30_000
    )
    assert _count(llm_app.db_url, LLMGrade) == 4
    assert (
        _count(
            llm_app.db_url,
            CheckFinding,
            CheckFinding.check == CHECK,
            CheckFinding.severity == "error",
        )
        == 2
    )
    page.reload()  # the progress comes from the Job row, not from this browser session
    wait_idle(page, 30_000)
    expect(page.get_by_text("grade · done · 2/2 samples", exact=False).first).to_be_visible()


def test_annotator_has_no_assistant_page(page: Any, llm_app: AppServer) -> None:
    do_login(page, llm_app.base_url, "annotator")
    expect(page.get_by_test_id("stSidebarNav").get_by_text("LLM assistant")).to_have_count(0)
