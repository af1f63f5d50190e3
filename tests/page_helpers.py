"""One AppTest opener for page tests: a page of ``pages/`` run once for a logged-in actor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kocurate.services.auth import Actor

PAGES = Path(__file__).resolve().parents[1] / "pages"


def open_page(
    name: str,
    db_url: str,
    actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str] | None = None,
) -> AppTest:
    """``pages/<name>`` on ``db_url`` as ``actor`` (query ``params`` set), after one run."""
    monkeypatch.setenv("KOCURATE_DB_URL", db_url)
    st.cache_resource.clear()
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["actor"] = actor
    at.session_state["login_at"] = int(time.time())
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()
