"""Users: create, list, authenticate (with throttling), change role or password."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import AuthError, KocurateError, NotFound
from ..models import ROLES, User, utcnow
from .auth import Actor, hash_password, new_password, verify_password

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.role)


def create_user(session: Session, actor: Actor, username: str, role: str = "annotator",
                password: str | None = None) -> tuple[User, str]:
    """Create a user; returns it with its password (generated when none is given)."""
    actor.require("users")
    username = username.strip()
    if not username or len(username) > 64:
        raise KocurateError("a user name is 1 to 64 characters")
    if role not in ROLES:
        raise KocurateError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise KocurateError(f"user {username!r} exists already")
    password = password or new_password()
    if len(password) < 8:
        raise KocurateError("a password has at least 8 characters")
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user, password


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require("users")
    return list(session.scalars(select(User).order_by(User.username)))


def set_role(session: Session, actor: Actor, username: str, role: str) -> User:
    actor.require("users")
    if role not in ROLES:
        raise KocurateError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    user = _get(session, username)
    user.role = role
    return user


def set_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    actor.require("users")
    user = _get(session, username)
    user.active = active
    return user


def reset_password(session: Session, actor: Actor, username: str, password: str | None = None) -> str:
    actor.require("users")
    user = _get(session, username)
    password = password or new_password()
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    return password


def authenticate(session: Session, username: str, password: str) -> Actor:
    """Check a password. After MAX_FAILED_LOGINS failures the account is locked for LOCKOUT."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    now = utcnow()
    if user is None or not user.active:
        verify_password(password, hash_password("x"))  # same cost either way: no user enumeration by timing
        raise AuthError("wrong user name or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError("too many failed logins; try again in a few minutes")
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.commit()
        raise AuthError("wrong user name or password")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.commit()
    return actor_of(user)


def _get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user
