"""Browser end-to-end fixtures: the real app (``streamlit run app.py``) on a fresh demo database, and
Debian chromium driven by Playwright's sync API.

Reusable by every area's e2e tests:
- ``app_server``: a running app; ``.base_url`` (http://127.0.0.1:PORT) and ``.db_url`` (its database).
- ``browser``: one headless chromium for the session.
- ``page``: a fresh browser context + page per test (no shared cookies).
- ``new_page()``: another independent page (a second person), closed after the test.
- ``login(page, username)``: log in as a demo account (password ``<name>-demo-pw``) and wait for the app.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class AppServer:
    base_url: str
    db_url: str
    port: int

    def url(self, path: str = "") -> str:
        return self.base_url + "/" + path.lstrip("/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def e2e_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo-like database (the five demo datasets, demo accounts), search index built."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate import db
    from kocurate.demo import create_demo
    from kocurate.services import search

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'app.db'}"
    create_demo(url)
    engine = db.make_engine(url)
    search.reindex(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app_server(e2e_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    port = _free_port()
    log = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    env = {**os.environ, "KOCURATE_DB_URL": e2e_db, "KOCURATE_SECRET": "e2e-secret",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield AppServer(base, e2e_db, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: object) -> Iterator[Callable[[], object]]:
    contexts = []

    def make() -> object:
        ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, locale="ko-KR")  # type: ignore[attr-defined]
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page: Callable[[], object]) -> object:
    return new_page()


def do_login(page: object, base_url: str, username: str, password: str | None = None) -> None:
    p = page  # playwright Page
    p.goto(base_url + "/")  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="User name").fill(username)  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="Password").fill(password or f"{username}-demo-pw")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    sidebar = p.get_by_test_id("stSidebar")  # type: ignore[attr-defined]
    sidebar.get_by_text(f"{username} ·", exact=False).wait_for()
    wait_idle(p)


def wait_idle(page: object, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until Streamlit finished the current script run (no 'running' indicator)."""
    p = page
    p.wait_for_timeout(150)  # type: ignore[attr-defined]
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('.stApp [data-stale=\"true\"]')", timeout=timeout_ms)


@pytest.fixture
def login(app_server: AppServer) -> Callable[..., None]:
    def _login(page: object, username: str, password: str | None = None) -> None:
        do_login(page, app_server.base_url, username, password)

    return _login
