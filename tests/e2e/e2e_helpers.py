"""Helpers for browser tests (importable from any tests/e2e module: ``from e2e_helpers import ...``)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class AppServer:
    base_url: str
    db_url: str
    port: int
    deepl_url: str | None = None  # the fake DeepL server the app uses (None: DeepL not configured)

    def url(self, path: str = "") -> str:
        return self.base_url + "/" + path.lstrip("/")


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
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('.stApp [data-stale=\"true\"]')", timeout=timeout_ms)


@contextmanager
def served(db_url: str, folder: Path, env: dict[str, str] | None = None, *,
           drop: tuple[str, ...] = ()) -> Iterator[AppServer]:
    """The app as ``kocurate serve`` starts it (asgi.py through its launcher) on ``db_url``, for the block.

    ``env`` adds variables to this process's environment, ``drop`` removes some; the log is
    ``folder/streamlit.log`` and its tail is raised when the server does not come up."""
    from kocurate.cli.serve import streamlit_command

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    full = {**os.environ, "KOCURATE_DB_URL": db_url, "KOCURATE_SECRET": "e2e-secret", "PYTHONUNBUFFERED": "1",
            **(env or {})}
    for name in drop:
        full.pop(name, None)
    log = folder / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(streamlit_command(port) + ["--server.fileWatcherType", "none"], cwd=ROOT, env=full,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.3)
        yield AppServer(base, db_url, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
