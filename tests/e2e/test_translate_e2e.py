"""The Translate page in a real browser against the fake DeepL: estimate with quota, a batch job
whose progress survives a reload, and an annotator who does not get the page."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import AppServer, choose, wait_idle
from playwright.sync_api import expect
from seeding import seed_translated
from sqlalchemy import func, select

from kocurate import db
from kocurate.models import Sample, Suggestion

pytestmark = pytest.mark.e2e
NAME = "e2e-translate"


@pytest.fixture(scope="module")
def dataset(app_server: AppServer) -> int:
    """A small dataset of our own, so the batch touches nothing other e2e tests look at."""
    engine = db.make_engine(app_server.db_url)
    try:
        return seed_translated(
            engine,
            3,
            ko=lambda i, j: f"질문 {i}" if j == 0 else f"답 {i}",
            en=lambda i, j: (
                f"How do I sort a list? ({i})" if j == 0 else f"Use `sorted(xs)` for case {i}."
            ),
            name=NAME,
            key=lambda i: f"t{i}",
        )
    finally:
        engine.dispose()


def _suggestions(app: AppServer, dataset_id: int) -> int:
    engine = db.make_engine(app.db_url)
    try:
        with db.session_scope(engine) as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Suggestion)
                    .join(Sample, Sample.id == Suggestion.sample_id)
                    .where(Sample.dataset_id == dataset_id)
                )
                or 0
            )
    finally:
        engine.dispose()


def test_lead_estimates_runs_a_batch_and_progress_survives_reload(
    page: Any, app_server: AppServer, login: Any, dataset: int
) -> None:
    if app_server.deepl_url is None:
        pytest.skip("the app runs without the fake DeepL")
    login(page, "lead")
    page.goto(app_server.url("translate"))
    wait_idle(page, 30_000)
    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Dataset"), NAME)
    wait_idle(page)
    page.get_by_role("button", name="Estimate").click()
    wait_idle(page)
    metric = page.get_by_test_id("stMetric").filter(has_text="Texts to send")
    expect(metric).to_contain_text("6")
    expect(page.get_by_text("remaining", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Start batch job").click()
    wait_idle(page)
    # a paid job: the estimate and a confirmation first
    expect(page.get_by_text("Start it?", exact=False)).to_be_visible()
    assert _suggestions(app_server, dataset) == 0
    page.get_by_role("button", name="Confirm and start").click()
    expect(page.get_by_text("started", exact=False).first).to_be_visible()
    expect(page.get_by_text("· 3/3 samples", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("done", exact=True).first).to_be_visible(
        timeout=30_000
    )  # the state badge
    assert _suggestions(app_server, dataset) == 6
    page.reload()  # the progress comes from the Job row, not from this browser session
    wait_idle(page, 30_000)
    expect(page.get_by_text("done", exact=True).first).to_be_visible()
    expect(page.get_by_text(f"Filters: dataset {dataset}", exact=False).first).to_be_visible()
    # the card links to the review queue of the job's open suggestions, with the count
    link = page.get_by_role("link", name=f"Review 6 open suggestions in {NAME}").first
    expect(link).to_be_visible()
    assert f"dataset={dataset}" in (link.get_attribute("href") or "") and "job=" in (
        link.get_attribute("href") or ""
    )


def test_annotator_has_no_translate_page(page: Any, app_server: AppServer, login: Any) -> None:
    login(page, "annotator")
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Translate")).to_have_count(0)
