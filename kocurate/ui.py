"""Streamlit glue shared by app.py and pages/: the engine, the logged-in actor, plain-text output.

The only kocurate module besides pages/ that imports Streamlit. Dataset text is never rendered as
HTML or Markdown: use ``plain`` / ``st.code`` / ``st.text``, never ``st.markdown`` on data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import config, db
from .errors import KocurateError
from .services.auth import Actor


@st.cache_resource
def engine() -> Engine:
    url = config.db_url()
    db.ensure_schema(url)
    return db.make_engine(url)


@contextmanager
def session() -> Iterator[Session]:
    with db.session_scope(engine()) as s:
        yield s


def actor() -> Actor | None:
    return st.session_state.get("actor")


def require_actor() -> Actor:
    a = actor()
    if a is None:
        st.warning("Please log in.")
        st.stop()
    return a


def plain(text: str | None, *, key: str | None = None, height: int | None = None) -> None:
    """Show dataset text as plain text (no HTML, no Markdown, no LaTeX)."""
    st.text_area(" ", value=text or "", disabled=True, key=key, height=height, label_visibility="collapsed")


@contextmanager
def shows_errors() -> Iterator[None]:
    try:
        yield
    except KocurateError as exc:
        st.error(str(exc))
