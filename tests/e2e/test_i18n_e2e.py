"""The Korean interface in a real browser: a person switches to 한국어, the app answers in Korean at
once, the choice is kept with the person (a new tab opens in Korean), and English is one click
away."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import AppServer, do_login, wait_idle
from playwright.sync_api import expect
from sqlalchemy import update

from kocurate import db
from kocurate.models import User

pytestmark = pytest.mark.e2e
UI_MS = 20_000


def test_switch_to_korean_and_back(new_page: Any, app_server: AppServer) -> None:
    try:
        _switch(new_page, app_server)
    finally:  # the shared demo database: leave the annotator in English for the other browser tests
        engine = db.make_engine(app_server.db_url)
        with db.session_scope(engine) as s:
            s.execute(update(User).where(User.username == "annotator").values(lang=None))
        engine.dispose()


def _switch(new_page: Any, app_server: AppServer) -> None:
    page = new_page()
    do_login(
        page, app_server.base_url, "annotator"
    )  # the test server's default language is English
    sidebar = page.get_by_test_id("stSidebar")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Review", exact=True)).to_be_visible(timeout=UI_MS)
    sidebar.get_by_text("한국어", exact=True).click()
    wait_idle(page, 30_000)
    expect(nav.get_by_text("검수", exact=True)).to_be_visible(timeout=UI_MS)
    expect(nav.get_by_text("검색", exact=True)).to_be_visible()
    expect(sidebar.get_by_role("button", name="로그아웃")).to_be_visible()
    expect(sidebar.get_by_text("annotator · 검수자")).to_be_visible()
    # the Review page itself speaks Korean: its queue panel and the sample's action bar
    expect(page.get_by_role("heading", name="작업 대기열")).to_be_visible(timeout=UI_MS)
    # the choice is the person's: another tab (a new session) opens in Korean too
    other = page.context.new_page()
    other.goto(app_server.url("review"))
    wait_idle(other, 30_000)
    expect(other.get_by_test_id("stSidebarNav").get_by_text("검수", exact=True)).to_be_visible(
        timeout=UI_MS
    )
    # and English is one click away
    other.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    wait_idle(other, 30_000)
    expect(other.get_by_test_id("stSidebarNav").get_by_text("Review", exact=True)).to_be_visible(
        timeout=UI_MS
    )
    expect(other.get_by_test_id("stSidebar").get_by_role("button", name="Log out")).to_be_visible()
