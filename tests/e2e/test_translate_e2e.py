"""The Translate page in a real browser against the fake DeepL: estimate with quota, a batch job
whose progress survives a reload, and an annotator who does not get the page."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import AppServer, wait_idle
from playwright.sync_api import expect
from sqlalchemy import func, insert, select

from kocurate import db
from kocurate.models import Dataset, Sample, Suggestion, Turn, utcnow

pytestmark = pytest.mark.e2e
NAME = "e2e-translate"


@pytest.fixture(scope="module")
def dataset(app_server: AppServer) -> int:
    """A small dataset of our own, so the batch touches nothing other e2e tests look at."""
    engine = db.make_engine(app_server.db_url)
    try:
        with db.session_scope(engine) as s:
            ds = Dataset(name=NAME, kind="sharegpt", fingerprint=NAME, n_samples=3, n_turns=6)
            s.add(ds)
            s.flush()
            for i in range(3):
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
                            "text": f"질문 {i}",
                            "mt_text": f"질문 {i}",
                            "source_text": f"How do I sort a list? ({i})",
                            "source_kind": "translation",
                        },
                        {
                            "sample_id": sid,
                            "idx": 1,
                            "role": "assistant",
                            "text": f"답 {i}",
                            "mt_text": f"답 {i}",
                            "source_text": f"Use `sorted(xs)` for case {i}.",
                            "source_kind": "translation",
                        },
                    ],
                )
            return ds.id
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
    page.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
    page.get_by_role("option", name=NAME, exact=False).click()
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
