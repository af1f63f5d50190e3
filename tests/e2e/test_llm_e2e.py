"""The LLM assistant page in a real browser against the fake OpenAI-compatible server: estimate,
confirm, a grading job whose progress shows and survives a reload; annotators do not get the page.

Runs its own app (the shared one has no LLM configured), on a small database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import AppServer, do_login, served, wait_idle
from fake_openai import FakeOpenAI
from playwright.sync_api import expect
from sqlalchemy import func, insert, select

from kocurate import db
from kocurate.llm import CHECK
from kocurate.models import CheckFinding, Dataset, LLMGrade, Sample, Turn, utcnow
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
            ds = Dataset(name=NAME, kind="sharegpt", fingerprint=NAME, n_samples=2, n_turns=4)
            s.add(ds)
            s.flush()
            for i in range(2):
                sid = s.execute(
                    insert(Sample).values(
                        dataset_id=ds.id,
                        key=f"t{i}",
                        position=i,
                        n_turns=2,
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                ).inserted_primary_key[0]
                s.execute(
                    insert(Turn),
                    [
                        {
                            "sample_id": sid,
                            "idx": 0,
                            "role": "user",
                            "text": "다음 중 홀수를 고르시오",
                            "mt_text": "다음 중 홀수를 고르시오",
                            "source_text": f"Pick the odd one out ({i})",
                            "source_kind": "translation",
                        },
                        {
                            "sample_id": sid,
                            "idx": 1,
                            "role": "assistant",
                            "text": f"답 {i}",
                            "mt_text": f"답 {i}",
                            "source_text": f"The answer is {i}.",
                            "source_kind": "translation",
                        },
                    ],
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
    page.get_by_test_id("stSelectbox").filter(has_text="Dataset").first.click()
    page.get_by_role("option", name=NAME, exact=False).click()
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
