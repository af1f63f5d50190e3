"""The production look in a real browser: no Deploy button or developer menu, Material icons in the
navigation, a page a role may not open says so with the way back, and /review?dataset=… works as a
link (through the login)."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import AppServer, wait_for_login_cookie, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
UI_MS = 20_000


def test_review_link_through_login_and_no_developer_toolbar(
    page: Any, app_server: AppServer
) -> None:
    # the shared test server is started by `streamlit run app.py` (not kocurate serve's launcher,
    # see the last test): let app.py run once so Streamlit knows it navigates itself
    page.goto(app_server.url(""))
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=UI_MS)
    page.goto(app_server.url("review?dataset=1"))
    # logged out, the page's address leads to the login form, not to "Page not found"
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=UI_MS)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.get_by_role("textbox", name="User name").fill("annotator2")
    page.get_by_role("textbox", name="Password").fill("annotator2-demo-pw")
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("stSidebar").get_by_text("annotator2 ·", exact=False).wait_for()
    wait_idle(page, 30_000)
    wait_for_login_cookie(page)
    # the review page (the start page of an annotator, so its address shows as "/"), its filter kept
    assert "dataset=1" in page.url
    expect(page.get_by_role("heading", name="Queue")).to_be_visible(timeout=UI_MS)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.goto(app_server.url("review?dataset=1"))  # logged in: /review is the review page too
    wait_idle(page, 30_000)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible(timeout=UI_MS)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    # toolbarMode = viewer: no Deploy button, no developer menu entries
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(page.get_by_text("Clear cache")).to_have_count(0)
    # navigation icons are Material Symbols (a font ligature), not emoji
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("edit_note")).to_have_count(1)


def _cookie_set(page: Any) -> None:
    """The login cookie is written by a script after the login run: wait for it before a new
    address."""
    for _ in range(100):
        if any(c["name"] == "kocurate_session" and c["value"] for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("no login cookie")


def test_page_not_allowed_says_so(page: Any, login: Any, app_server: AppServer) -> None:
    login(page, "annotator")
    _cookie_set(page)
    page.goto(app_server.url("export"))
    wait_idle(page, 30_000)
    expect(page.get_by_text("Your role (annotator) may not open this page.")).to_be_visible(
        timeout=UI_MS
    )
    page.get_by_text("Back to the start page").click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("may not open")).to_have_count(0, timeout=UI_MS)


def test_kocurate_serve_from_another_folder(
    page: Any, app_server: AppServer, tmp_path: Any
) -> None:
    """`kocurate serve`'s own command, started elsewhere: its first request at /review?dataset=1 is
    the login (not pages/review.py alone), and the production toolbar holds without the repo's
    config.
    """
    import os
    import socket
    import subprocess
    import time
    import urllib.request

    from kocurate.cli.serve import streamlit_command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KOCURATE_DB_URL": app_server.db_url, "KOCURATE_SECRET": "e2e-secret"}
    proc = subprocess.Popen(
        streamlit_command(port),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        page.goto(base + "/review?dataset=1")
        expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=UI_MS)
        expect(page.get_by_text("Please log in.")).to_have_count(0)
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    finally:
        proc.terminate()
        proc.wait(10)
