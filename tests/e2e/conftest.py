"""Browser end-to-end fixtures: the real app (as ``kocurate serve`` starts it) on a fresh demo
database, and Debian chromium driven by Playwright's sync API.

Reusable by every area's e2e tests:
- ``app_server``: a running app; ``.base_url`` (http://127.0.0.1:PORT), ``.db_url`` (its database),
  ``.deepl_url`` (the fake DeepL server the app talks to, or None), ``.url(path)``.
- ``browser``: one headless chromium for the session.
- ``page``: a fresh browser context + page per test (no shared cookies).
- ``new_page()``: another independent page (a second person), closed after the test.
- ``login(page, username)``: log in as a demo account (password ``<name>-demo-pw``) and wait for the
app.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, AppServer, do_login

from kocurate.cli.serve import streamlit_command

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited early:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(
        f"streamlit did not become healthy:\n{log.read_text(errors='replace')[-3000:]}"
    )


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
    env = {
        **os.environ,
        "KOCURATE_DB_URL": e2e_db,
        "KOCURATE_SECRET": "e2e-secret",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DEEPL_AUTH_KEY", None)
    env.pop("DEEPL_SERVER_URL", None)
    fake = None
    try:  # the local fake DeepL server (tests/fake_deepl.py), when the translate area is present
        from fake_deepl import FakeDeepL

        fake = FakeDeepL().start()
        env.update(
            {
                "DEEPL_AUTH_KEY": "test-key",
                "DEEPL_SERVER_URL": fake.url,
                "KOCURATE_DEEPL_RETRIES": "0",
            }
        )
    except ImportError:
        pass
    with open(log, "wb") as out:
        # the command `kocurate serve` runs (asgi.py: the app plus the HttpOnly login-cookie routes)
        proc = subprocess.Popen(
            streamlit_command(port) + ["--server.fileWatcherType", "none"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield AppServer(base, e2e_db, port, fake.url if fake else None)
    finally:
        if fake is not None:
            fake.stop()
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


@pytest.fixture
def login(app_server: AppServer) -> Callable[..., None]:
    def _login(page: object, username: str, password: str | None = None) -> None:
        do_login(page, app_server.base_url, username, password)

    return _login
