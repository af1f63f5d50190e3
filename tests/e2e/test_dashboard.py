"""The dashboard in a real browser: a lead sees the plotly charts render, with links to the review
queue; an annotator sees only their own statistics."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from e2e_helpers import AppServer, wait_idle
from playwright.sync_api import expect
from sqlalchemy import insert, select

from kocurate import db
from kocurate.models import Review, Sample
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM

pytestmark = pytest.mark.e2e
PLOT_MS = 30_000
UI_MS = 20_000  # a busy 2-core CI machine renders slowly; expect's own default is 5 s

# Two people of our own (not the demo accounts other tests use), with reviews on the last samples.
PEOPLE = {"statsann1": [11.0, 20.0, 30.0], "statsann2": [5.0, 6.0, 7.0, 8.0, 9.0]}


@pytest.fixture(scope="module")
def reviewers(app_server: AppServer) -> dict[str, int]:
    engine = db.make_engine(app_server.db_url)
    try:
        with db.session_scope(engine) as s:
            last = list(s.scalars(select(Sample.id).order_by(Sample.id.desc()).limit(5)))
            ids: dict[str, int] = {}
            when = datetime(2026, 1, 5, 12)
            for name, secs in PEOPLE.items():
                user, _ = user_service.create_user(s, SYSTEM, name, "annotator", f"{name}-pw-123")
                s.flush()
                ids[name] = user.id
                s.execute(
                    insert(Review),
                    [
                        {
                            "sample_id": sid,
                            "user_id": user.id,
                            "decision": "approve" if i % 2 == 0 else "reject",
                            "seconds": sec,
                            "flags": [],
                            "created_at": when + timedelta(days=i),
                        }
                        for i, (sid, sec) in enumerate(zip(last, secs, strict=False))
                    ],
                )
        return ids
    finally:
        engine.dispose()


def open_dashboard(page: Any, app: AppServer) -> None:
    page.goto(app.url("dashboard"))
    wait_idle(page, 30_000)


def test_lead_sees_charts(
    page: Any, login: Any, app_server: AppServer, reviewers: dict[str, int]
) -> None:
    login(page, "lead")
    open_dashboard(page, app_server)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=UI_MS)
    for tab in ("Progress", "Quality", "Translation repair", "Text", "Annotators", "Agreement"):
        expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=UI_MS)
    # plotly drew its SVG: the stacked status bars have one bar group per status present
    # plotly draws after the script run ends (lazily loaded): give it time on a busy machine
    expect(page.locator(".js-plotly-plot svg.main-svg").first).to_be_visible(timeout=PLOT_MS)
    status_chart = page.locator(".js-plotly-plot").filter(has_text="Samples by status").first
    expect(status_chart.locator("g.barlayer path").first).to_be_attached(timeout=UI_MS)
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=PLOT_MS
    )
    assert page.get_by_test_id("stDownloadButton").filter(has_text="HTML").count() >= 2
    # only the open tab is drawn: the other tabs' charts come when they are opened
    assert not page.locator(".js-plotly-plot").filter(has_text="Throughput").count()
    # charts link to the review queue with the matching filter
    links = page.get_by_test_id("stPageLink-NavLink")
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("status=" in h and "dataset=" in h for h in hrefs), hrefs
    page.get_by_role("tab", name="Quality").click()
    expect(page.get_by_role("tab", name="Quality")).to_have_attribute(
        "aria-selected", "true", timeout=UI_MS
    )
    wait_idle(page)
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert (
        any("check=" in h for h in hrefs) or not page.get_by_text("Open a check's findings").count()
    ), hrefs
    # every person's throughput is drawn for a lead
    page.get_by_role("tab", name="Annotators").click()
    throughput = page.locator(".js-plotly-plot").filter(has_text="Throughput").first
    expect(throughput).to_contain_text("statsann1", timeout=UI_MS)
    expect(throughput).to_contain_text("statsann2", timeout=UI_MS)
    assert not page.get_by_test_id("stException").count()
    # a chart exports as a self-contained HTML file
    page.get_by_role("tab", name="Progress").click()
    expect(page.locator(".js-plotly-plot").filter(has_text="Samples by status")).to_have_count(
        1, timeout=PLOT_MS
    )
    wait_idle(page)
    with page.expect_download(timeout=UI_MS) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="HTML").first.click()
    html = open(dl.value.path(), encoding="utf-8").read()
    assert (
        dl.value.suggested_filename == "status.html"
        and "Samples by status" in html
        and "plotly" in html
    )
    png_button = page.get_by_test_id("stDownloadButton").filter(has_text="PNG").first
    if png_button.count():  # kaleido and a Chromium on the server: a PNG rendered there
        with page.expect_download(timeout=90_000) as dl:
            png_button.click()
        with open(dl.value.path(), "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    # following a chart's link opens the review page with the filter in the URL
    page.get_by_test_id("stPageLink-NavLink").filter(
        has_text="Review queue (new samples)"
    ).first.click()
    page.wait_for_url(re.compile(r"status=new"), timeout=UI_MS)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_have_count(0, timeout=UI_MS)


def test_annotator_sees_only_own(
    page: Any, login: Any, app_server: AppServer, reviewers: dict[str, int]
) -> None:
    login(page, "statsann1", "statsann1-pw-123")
    open_dashboard(page, app_server)
    expect(page.get_by_role("heading", name="My statistics")).to_be_visible(timeout=UI_MS)
    reviews = page.get_by_test_id("stMetric").filter(has_text="Reviews").first
    expect(reviews).to_contain_text("3", timeout=UI_MS)
    expect(page.get_by_test_id("stMetric").filter(has_text="Median seconds")).to_contain_text(
        "20", timeout=UI_MS
    )
    expect(page.locator(".js-plotly-plot svg.main-svg").first).to_be_visible(timeout=PLOT_MS)
    assert page.get_by_role("tab", name="Agreement").count() == 0
    main = page.get_by_test_id("stMain").inner_text()
    assert "Statistics of statsann1" in main and "statsann2" not in main
    assert not page.get_by_test_id("stException").count()
    wait_idle(page)
