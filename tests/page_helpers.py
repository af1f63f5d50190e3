"""One AppTest opener for page tests: a page of ``pages/`` for a logged-in actor, run once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kocurate.services.auth import Actor

PAGES = Path(__file__).resolve().parents[1] / "pages"


def log_in(
    at: AppTest,
    db_url: str | None,
    actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
    lang: str | None = None,
) -> AppTest:
    """``at`` (not run) as ``actor`` on ``db_url`` (None: the test set KOCURATE_DB_URL itself), in
    the default language ``lang`` (None: the suite's), with Streamlit's caches cleared: the page's
    engine is cached per process and its data per argument, so another test's would be seen."""
    if db_url is not None:
        monkeypatch.setenv("KOCURATE_DB_URL", db_url)
    if lang is not None:
        monkeypatch.setenv("KOCURATE_DEFAULT_LANG", lang)
    st.cache_resource.clear()
    st.cache_data.clear()
    at.session_state["actor"] = actor
    at.session_state["login_at"] = int(time.time())
    return at


def open_page(
    name: str,
    db_url: str | None,
    actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str | int] | None = None,
    *,
    lang: str | None = None,
    timeout: float = 90,
    run: bool = True,
) -> AppTest:
    """``pages/<name>`` logged in as by :func:`log_in`, with query ``params`` set and each script
    run limited to ``timeout`` seconds; run once, or not at all with ``run=False`` (for a test that
    sets more session state first)."""
    at = log_in(
        AppTest.from_file(str(PAGES / name), default_timeout=timeout),
        db_url,
        actor,
        monkeypatch,
        lang,
    )
    for k, v in (params or {}).items():
        at.query_params[k] = str(v)
    return at.run() if run else at
