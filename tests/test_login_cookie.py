"""The login cookie is signed and read back without a database self-deadlock (no KOCURATE_SECRET set)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kocurate import db


def test_token_round_trip_without_env_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cookie.db'}"
    monkeypatch.setenv("KOCURATE_DB_URL", url)
    monkeypatch.delenv("KOCURATE_SECRET", raising=False)
    from kocurate import ui
    from kocurate.services import users
    from kocurate.services.auth import SYSTEM

    ui._db_secret.clear()
    ui.engine.clear()
    db.upgrade(url)
    with db.session_scope(db.make_engine(url)) as s:
        user, _ = users.create_user(s, SYSTEM, "ann", "annotator", "ann-password-1")
        actor = users.actor_of(user)
    now = int(time.time())
    token = ui._token(actor, now)
    assert token is not None
    ui._db_secret.clear()  # a new process: the secret is read from the database again, inside no other session
    t0 = time.monotonic()
    got = ui._actor_from_token(token)
    assert time.monotonic() - t0 < 10, "reading the cookie waited on our own write lock"
    assert got is not None and got[0].username == "ann"
    assert ui._actor_from_token(token[:-1] + ("0" if token[-1] != "0" else "1")) is None  # tampered
