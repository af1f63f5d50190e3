"""Helpers for browser tests (importable from any tests/e2e module: ``from e2e_helpers import
...``)."""

from __future__ import annotations

import time
from pathlib import Path

from kocurate.testing import AppServer, served  # noqa: F401 — the e2e modules import them from here

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def do_login(page: object, base_url: str, username: str, password: str | None = None) -> None:
    p = page  # playwright Page
    p.goto(base_url + "/")  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="User name").fill(username)  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="Password").fill(password or f"{username}-demo-pw")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    sidebar = p.get_by_test_id("stSidebar")  # type: ignore[attr-defined]
    sidebar.get_by_text(f"{username} ·", exact=False).wait_for()
    wait_idle(p)
    wait_for_login_cookie(p)


def wait_for_login_cookie(page: object, timeout_ms: int = TIMEOUT_MS) -> None:
    """The login cookie is set by the server (HttpOnly) when the page redeems its one-time ticket, a
    moment after the login renders: wait for it before opening another address or tab."""
    p = page
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if any(c["name"] == "kocurate_session" and c["value"] for c in p.context.cookies()):  # type: ignore[attr-defined]
            return
        p.wait_for_timeout(100)  # type: ignore[attr-defined]
    raise AssertionError("the login cookie was never set")


def wait_idle(page: object, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until Streamlit finished the current script run (no 'running' indicator)."""
    p = page
    p.wait_for_timeout(150)  # type: ignore[attr-defined]
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || "
        "!document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms,
    )
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('.stApp [data-stale=\"true\"]')", timeout=timeout_ms
    )


def choose(page: object, box: object, option: str, tries: int = 3) -> None:
    """Open the select box ``box`` and pick the option whose name holds ``option``. On a loaded
    machine a click that lands while the page is still settling leaves the list closed: the box is
    clicked again (up to ``tries`` times) until the option shows."""
    item = page.get_by_role("option", name=option, exact=False)  # type: ignore[attr-defined]
    for i in range(tries):
        box.click()  # type: ignore[attr-defined]
        try:
            item.first.wait_for(state="visible", timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - the list did not open: close whatever is open, again
            if i == tries - 1:
                raise
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
            wait_idle(page)
    item.first.click()
