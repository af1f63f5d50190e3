"""The login cookie of the web app: signed, bound to the password, ends after KOCURATE_SESSION_HOURS."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kocurate import ui
from kocurate.db import session_scope
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor


@pytest.fixture
def app_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KOCURATE_DB_URL", db_url)
    monkeypatch.setenv("KOCURATE_SECRET", "unit-test-secret")
    ui.engine.clear()
    yield
    ui.engine().dispose()
    ui.engine.clear()


def test_token_round_trip_tamper_expiry_and_reset(app_env: None, engine, actors: dict[str, Actor],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    who = actors["annotator"]
    now = int(time.time())
    token = ui._token(who, now)
    assert token is not None
    got = ui._actor_from_token(token)
    assert got == (who, now)
    uid, at, gen, sig = token.split(".")
    assert ui._actor_from_token(f"{actors['admin'].id}.{at}.{gen}.{sig}") is None  # another user's id
    assert ui._actor_from_token(f"{uid}.{int(at) + 1}.{gen}.{sig}") is None  # a later login time
    assert ui._actor_from_token(f"{uid}.{at}.{int(gen) + 1}.{sig}") is None  # another generation
    assert ui._actor_from_token("garbage") is None
    # older than the session length: refused
    monkeypatch.setenv("KOCURATE_SESSION_HOURS", "1")
    assert ui._actor_from_token(ui._token(who, now - 2 * 3600) or "") is None
    assert ui._actor_from_token(ui._token(who, now - 1800) or "") is not None
    # another secret, a password reset or a disabled account end it
    monkeypatch.setenv("KOCURATE_SECRET", "another-secret")
    assert ui._actor_from_token(token) is None
    monkeypatch.setenv("KOCURATE_SECRET", "unit-test-secret")
    with session_scope(engine) as s:
        user_service.reset_password(s, SYSTEM, "annotator", "brand-new-password")
    assert ui._actor_from_token(token) is None
    fresh = ui._token(who, now)
    assert fresh and ui._actor_from_token(fresh) is not None
    with session_scope(engine) as s:
        user_service.set_active(s, SYSTEM, "annotator", False)
    assert ui._actor_from_token(fresh) is None


def test_role_comes_from_the_database(app_env: None, engine, actors: dict[str, Actor]) -> None:
    token = ui._token(actors["annotator2"], int(time.time()))
    with session_scope(engine) as s:
        user_service.set_role(s, SYSTEM, "annotator2", "lead")
    got = ui._actor_from_token(token or "")
    assert got is not None and got[0].role == "lead"
