"""Login and roles as the review workspace relies on them: throttled password login, role matrix,
services refusing what a role may not do."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.errors import AuthError, KocurateError, PermissionDenied
from kocurate.models import User
from kocurate.services import review as rv
from kocurate.services import search
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor, allowed


def test_password_login_and_throttle(engine: Engine, actors: dict[str, Actor]) -> None:
    with session_scope(engine) as s:
        who = user_service.authenticate(s, "annotator", "annotator-test-pw", client="10.0.0.1")
    assert who == actors["annotator"]
    for _ in range(user_service.FREE_PER_NAME):
        with pytest.raises(AuthError, match="wrong"), session_scope(engine) as s:
            user_service.authenticate(s, "annotator", "nope-nope-nope", client="10.0.0.9")
    # an unknown client now waits, also with the right password (growing delays, no hard lock) ...
    with pytest.raises(AuthError, match="too many"), session_scope(engine) as s:
        user_service.authenticate(s, "annotator", "annotator-test-pw", client="10.0.0.9")
    # ... while the client the person logged in from before still gets in
    with session_scope(engine) as s:
        assert (
            user_service.authenticate(s, "annotator", "annotator-test-pw", client="10.0.0.1") == who
        )
    with session_scope(engine) as s:
        user_service.reset_password(s, SYSTEM, "annotator", "a-new-password")
    with session_scope(engine) as s:
        assert (
            user_service.authenticate(s, "annotator", "a-new-password", client="10.0.0.1").role
            == "annotator"
        )
        with pytest.raises(AuthError):
            user_service.authenticate(s, "nobody", "whatever-pw")


def test_disabled_user_cannot_log_in(engine: Engine, actors: dict[str, Actor]) -> None:
    with session_scope(engine) as s:
        user_service.set_active(s, actors["admin"], "annotator2", False)
    with pytest.raises(AuthError), session_scope(engine) as s:
        user_service.authenticate(s, "annotator2", "annotator2-test-pw")


def test_role_matrix() -> None:
    for action in ("review", "edit", "flag", "search", "translate_one"):
        assert all(allowed(r, action) for r in ("annotator", "lead", "admin"))
    for action in ("import", "export", "translate_batch", "configure", "adjudicate"):
        assert (
            not allowed("annotator", action)
            and allowed("lead", action)
            and allowed("admin", action)
        )
    assert not allowed("lead", "users") and allowed("admin", "users")
    assert not allowed("viewer", "review")


def test_only_admins_manage_users_and_only_leads_configure(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    with session_scope(engine) as s:
        for name in ("annotator", "lead"):
            with pytest.raises(PermissionDenied):
                user_service.create_user(s, actors[name], "x-user", "admin", "long-enough-pw")
            with pytest.raises(PermissionDenied):
                user_service.set_role(s, actors[name], "annotator", "admin")
        user, pw = user_service.create_user(s, actors["admin"], "newbie")
        assert len(pw) >= 12 and user.role == "annotator"
        assert s.scalar(select(User.password_hash).where(User.username == "newbie")).startswith(
            "scrypt$"
        )
        with pytest.raises(KocurateError):
            user_service.create_user(s, actors["admin"], "newbie")
        with pytest.raises(PermissionDenied):
            rv.set_overlap(s, actors["annotator"], 1, 2)
    viewer = Actor(99, "viewer", "viewer")
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        search.search(s, viewer, "고양이")
