"""Settings from the environment (and Streamlit secrets when running inside the app)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB_FILE = "kocurate.db"


def _secret(name: str) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    try:  # Streamlit secrets, only when the app runs; never required
        import streamlit as st

        if name in st.secrets:
            return str(st.secrets[name])
    except Exception:
        pass
    return None


def db_url(explicit: str | None = None) -> str:
    """Database URL: explicit value, then KOCURATE_DB_URL, then a SQLite file in the working
    directory."""
    if explicit:
        return explicit if "://" in explicit else f"sqlite:///{Path(explicit).resolve()}"
    url = _secret("KOCURATE_DB_URL")
    if url:
        return url
    return f"sqlite:///{Path.cwd() / DEFAULT_DB_FILE}"


def deepl_auth_key() -> str | None:
    return _secret("DEEPL_AUTH_KEY")


def deepl_server_url() -> str | None:
    return _secret("DEEPL_SERVER_URL")


def data_dir() -> Path:
    """Where exports and reports go by default."""
    return Path(os.environ.get("KOCURATE_DATA_DIR", Path.cwd()))
