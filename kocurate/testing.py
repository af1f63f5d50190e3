"""The app served for a block, as ``kocurate serve`` starts it: shared by the browser tests
(tests/e2e) and the UI benchmark (benchmarks/ui.py). Not used by the app itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout (in an installed wheel: site-packages)


@dataclass(frozen=True)
class AppServer:
    base_url: str
    db_url: str
    port: int
    deepl_url: str | None = None  # the fake DeepL server the app uses (None: DeepL not configured)

    def url(self, path: str = "") -> str:
        return self.base_url + "/" + path.lstrip("/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    db_url: str,
    folder: Path,
    env: dict[str, str] | None = None,
    *,
    drop: tuple[str, ...] = (),
    timeout: float = 60,
) -> Iterator[AppServer]:
    """The app as ``kocurate serve`` starts it (asgi.py through its launcher) on ``db_url``, for the
    block.

    ``env`` adds variables to this process's environment, ``drop`` removes some; the log is
    ``folder/streamlit.log`` and its tail is raised when the server does not come up within
    ``timeout`` seconds. The server runs in its own process group, stopped with all it started."""
    from .cli.serve import streamlit_command

    port = free_port()
    full = {
        **os.environ,
        "KOCURATE_DB_URL": db_url,
        "KOCURATE_SECRET": "e2e-secret",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    for name in drop:
        full.pop(name, None)
    log = folder / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            streamlit_command(port) + ["--server.fileWatcherType", "none"],
            cwd=ROOT,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
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
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
