"""The login cookie of the web app: signed, bound to the password, ends after
KOCURATE_SESSION_HOURS."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kocurate import ui
from kocurate.db import session_scope
from kocurate.models import User
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


def test_token_round_trip_tamper_expiry_and_reset(
    app_env: None, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    who = actors["annotator"]
    now = int(time.time())
    token = ui._token(who, now)
    assert token is not None
    got = ui._actor_from_token(token)
    assert got == (who, now)
    uid, at, gen, sig = token.split(".")
    assert (
        ui._actor_from_token(f"{actors['admin'].id}.{at}.{gen}.{sig}") is None
    )  # another user's id
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


def _ui_state(monkeypatch: pytest.MonkeyPatch) -> dict:
    """ui's Streamlit session state as a plain dict (the functions under test only read and write
    keys)."""
    state: dict = {}
    monkeypatch.setattr(ui.st, "session_state", state)
    return state


@pytest.mark.parametrize("change", ["logout", "disable", "demote", "password"])
def test_every_session_of_the_user_ends_at_once(
    app_env: None, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Issue 20.1 / 20.5: an open tab and a cookie copied before the change both stop working."""
    who = actors["lead"]
    copied = ui._token(who, int(time.time()))  # e.g. a cookie copied from the browser
    state = _ui_state(monkeypatch)
    ui.login_as(who)  # the open tab
    assert ui.actor() == who and ui._actor_from_token(copied or "") is not None
    if change == "logout":
        other_tab = ui._token(who, int(time.time()))
        ui.logout()
        assert ui._actor_from_token(other_tab or "") is None
    else:
        with session_scope(engine) as s:
            if change == "disable":
                user_service.set_active(s, SYSTEM, "lead", False)
            elif change == "demote":
                user_service.set_role(s, SYSTEM, "lead", "annotator")
            else:
                user_service.reset_password(s, SYSTEM, "lead", "a-new-password-1")
        assert ui.actor() is None and state.get("_ended")  # the open tab's next run
    assert ui._actor_from_token(copied or "") is None


def test_changes_in_another_process_are_seen_within_the_check_interval(
    app_env: None, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-request check is cached for KOCURATE_SESSION_CHECK_SECONDS, not for hours."""
    monkeypatch.setenv("KOCURATE_SESSION_CHECK_SECONDS", "0.5")
    who = actors["annotator"]
    _ui_state(monkeypatch)
    ui.login_as(who)
    assert ui.actor() == who
    with engine.begin() as c:  # another app process disables the account (no cache of ours is told)
        c.execute(
            User.__table__.update()
            .where(User.id == who.id)
            .values(active=False, session_generation=User.session_generation + 1)
        )
    time.sleep(0.6)
    assert ui.actor() is None


def test_promotion_keeps_the_session_and_shows_the_new_role(
    app_env: None, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    _ui_state(monkeypatch)
    ui.login_as(actors["annotator2"])
    with session_scope(engine) as s:
        user_service.set_role(s, SYSTEM, "annotator2", "lead")
    now = ui.actor()
    assert now is not None and now.role == "lead"
