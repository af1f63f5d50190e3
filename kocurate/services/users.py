"""Users: create, list, authenticate (throttled), change role, activity or password, log out.

Login throttling (no hard lock-out): failures are counted per client address, per typed user name
(whether or not that user exists, so the answers reveal nothing) and overall. Past a free allowance
each further failure doubles the wait before the next try from there, up to a cap. A client that
logged in as a user before (within KNOWN_CLIENT_DAYS) is not held back by the failures others cause
on that user name, so someone guessing cannot lock the real user out. Every check costs one scrypt,
for known and unknown users alike. Bookkeeping writes (attempts, last login, audit) are best-effort:
on a read-only database a login still works.

Sessions: ``users.session_generation`` is part of every login cookie; ``end_sessions`` raises it, so
logout, disabling, demotion and a password change end every login of that user at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from ..db import DatabaseUnavailable
from ..errors import AuthError, Conflict, NotFound, UsageError
from ..i18n import N_
from ..models import ROLES, LoginAttempt, User, utcnow
from . import audit
from .auth import Actor, hash_password, new_password, verify_password

FAILED = "wrong user name or password"
WINDOW = timedelta(minutes=15)  # failures older than this no longer count
FREE_PER_NAME = 5  # failures on one user name (from clients not known for it) before delays start
FREE_PER_CLIENT = 10  # failures from one client address before delays start
MAX_DELAY_NAME = 120.0  # seconds
MAX_DELAY_CLIENT = 900.0
GLOBAL_PER_MINUTE = (
    300  # failures per minute overall before every unknown client waits GLOBAL_DELAY
)
GLOBAL_DELAY = 5.0
KNOWN_CLIENT_DAYS = 30
_ORDER = {r: i for i, r in enumerate(ROLES)}
# compared against when the user does not exist, so that both cases cost one scrypt
_DUMMY_HASH = hash_password("kocurate-no-such-user")

# attempts that could not be written (read-only database): still counted, in this process
_mem_lock = threading.Lock()
_mem_attempts: list[tuple[datetime, str, str, bool]] = []


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.role)


def _changed(session: Session, user: User) -> None:
    """This process forgets the user's cached state now and again when the change commits (other
    processes see it within check_seconds)."""
    uid = user.id
    forget_cached(uid)
    event.listen(session, "after_commit", lambda _s: forget_cached(uid), once=True)


def _role_rank(role: str) -> int:
    return _ORDER.get(role, -1)


def active_admins(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True))
        )
        or 0
    )


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    role: str = "annotator",
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user; returns it with its password (generated when none is given)."""
    actor.require("users")
    username = username.strip()
    if not username or len(username) > 64:
        raise UsageError(msgid=N_("a user name is 1 to 64 characters"))
    if any(ord(c) < 32 or c in "\x7f\u2028\u2029" for c in username):
        raise UsageError(
            msgid=N_("a user name may not contain control characters (tabs, newlines)")
        )
    if role not in ROLES:
        raise UsageError(
            msgid=N_("unknown role {role!r}; one of {roles}"), role=role, roles=", ".join(ROLES)
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(msgid=N_("user {username!r} exists already"), username=username)
    password = password or new_password()
    if len(password) < 8:
        raise UsageError(msgid=N_("a password has at least 8 characters"))
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, actor, "user_created", target=username, role=role)
    return user, password


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require("users")
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, actor: Actor, username: str) -> User:
    actor.require("users")
    return _get(session, username)


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    if user.role == "admin" and user.active and active_admins(session) <= 1:
        raise Conflict(
            msgid=N_(
                "{username} is the last active admin and cannot be {what}; make another user admin"
                " first"
            ),
            username=user.username,
            what=what,
        )


def set_role(session: Session, actor: Actor, username: str, role: str) -> User:
    """Change a role. A demotion ends the user's logins at once; the last active admin stays
    admin."""
    actor.require("users")
    if role not in ROLES:
        raise UsageError(
            msgid=N_("unknown role {role!r}; one of {roles}"), role=role, roles=", ".join(ROLES)
        )
    user = _get(session, username)
    if user.role == role:
        return user
    if role != "admin":
        _keep_an_admin(session, user, f"made {role}")
    old = user.role
    user.role = role
    if _role_rank(role) < _role_rank(old):
        user.session_generation += 1  # an open tab must not keep the old rights
    _changed(session, user)
    audit.record(session, actor, "role_change", target=username, old=old, new=role)
    return user


def set_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    """Enable or disable a user; disabling ends their logins at once. The last active admin
    stays."""
    actor.require("users")
    user = _get(session, username)
    if user.active == active:
        return user
    if not active:
        _keep_an_admin(session, user, "disabled")
        user.session_generation += 1
    user.active = active
    _changed(session, user)
    audit.record(session, actor, "user_enabled" if active else "user_disabled", target=username)
    return user


def reset_password(
    session: Session, actor: Actor, username: str, password: str | None = None
) -> str:
    """Set a new password (generated when none is given); ends the user's logins."""
    actor.require("users")
    user = _get(session, username)
    password = password or new_password()
    if len(password) < 8:
        raise UsageError(msgid=N_("a password has at least 8 characters"))
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.session_generation += 1
    _changed(session, user)
    audit.record(session, actor, "password_reset", target=username)
    return password


def end_sessions(session: Session, actor: Actor, *, by: str | None = None) -> None:
    """Log ``actor`` out everywhere: every login cookie of theirs stops working at once (audited as
    a logout; ``by`` names someone else who ended them, e.g. "cli")."""
    if actor.id is None:
        return
    user = session.get(User, actor.id)
    if user is None:
        return
    user.session_generation += 1
    _changed(session, user)
    audit.record(session, actor, "logout", by=by)


# ------------------------------------------------------------------------------------------- login


def _norm(username: str) -> str:
    return username.strip().casefold()[:64]


def _best_effort(session: Session, work: Callable[[], None]) -> bool:
    """Run bookkeeping writes and commit; on a read-only (or full, busy) database roll back and go
    on."""
    try:
        work()
        session.commit()
        return True
    except DatabaseUnavailable:
        session.rollback()
        return False


def _delay(failures: int, free: int, cap: float) -> float:
    return 0.0 if failures < free else min(cap, float(2 ** (failures - free)))


def _stats(session: Session, since: datetime, **where: str) -> tuple[int, datetime | None]:
    """(failures, time of the last one) since ``since`` for client= or username=, database and
    memory."""
    col = LoginAttempt.client if "client" in where else LoginAttempt.username
    value = where.get("client", where.get("username", ""))
    n, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            col == value, LoginAttempt.at >= since, LoginAttempt.ok.is_(False)
        )
    ).one()
    with _mem_lock:
        mem = [
            a
            for a in _mem_attempts
            if not a[3] and a[0] >= since and (a[1] if "client" in where else a[2]) == value
        ]
    n = int(n or 0) + len(mem)
    times = [t for t in [last, *(a[0] for a in mem)] if t is not None]
    return n, max(times) if times else None


def _known_client(session: Session, client: str, name: str, now: datetime) -> bool:
    if client == "-":
        return False
    since = now - timedelta(days=KNOWN_CLIENT_DAYS)
    hit = session.scalar(
        select(LoginAttempt.id)
        .where(
            LoginAttempt.username == name,
            LoginAttempt.client == client,
            LoginAttempt.ok.is_(True),
            LoginAttempt.at >= since,
        )
        .limit(1)
    )
    if hit is not None:
        return True
    with _mem_lock:
        return any(
            a[3] and a[1] == client and a[2] == name and a[0] >= since for a in _mem_attempts
        )


def wait_seconds(
    session: Session, username: str, client: str | None = None, now: datetime | None = None
) -> float:
    """How long this client must wait before trying ``username`` again (0: it may try now)."""
    now = now or utcnow()
    client, name = (client or "-")[:64], _norm(username)
    since = now - WINDOW
    waits = []
    if client != "-":
        n, last = _stats(session, since, client=client)
        if last is not None:
            waits.append(
                _delay(n, FREE_PER_CLIENT, MAX_DELAY_CLIENT) - (now - last).total_seconds()
            )
    known = _known_client(session, client, name, now)
    if not known:
        n, last = _stats(session, since, username=name)
        if last is not None:
            waits.append(_delay(n, FREE_PER_NAME, MAX_DELAY_NAME) - (now - last).total_seconds())
        recent = int(
            session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.at >= now - timedelta(minutes=1), LoginAttempt.ok.is_(False))
            )
            or 0
        )
        if recent >= GLOBAL_PER_MINUTE:
            waits.append(GLOBAL_DELAY)
    return max([0.0, *waits])


def authenticate(
    session: Session, username: str, password: str, *, client: str | None = None
) -> Actor:
    """Check a password on behalf of ``client`` (its address). Every failure says the same, whether
    the user exists or not; too many recent failures ask the client to wait (growing delays, see
    above).
    """
    now = utcnow()
    client, name = (client or "-")[:64], _norm(username)
    wait = wait_seconds(session, username, client, now)
    if wait > 0:
        raise AuthError(
            msgid=N_(
                "too many failed logins from here or for this user name; wait {wait:.0f} s and try"
                " again"
            ),
            wait=wait,
        )
    user = session.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(
        password, user.password_hash if user is not None else _DUMMY_HASH
    )  # one scrypt always
    ok = ok and user is not None and user.active

    def bookkeeping() -> None:
        session.add(LoginAttempt(at=now, client=client, username=name, ok=ok))
        if ok and user is not None:
            user.last_login_at = now
            user.failed_logins = 0
            audit.record(session, actor_of(user), "login", client=client)
            # forget old attempts (failures after a day, successes after KNOWN_CLIENT_DAYS)
            session.execute(
                delete(LoginAttempt).where(
                    LoginAttempt.ok.is_(False), LoginAttempt.at < now - timedelta(days=1)
                )
            )
            session.execute(
                delete(LoginAttempt).where(
                    LoginAttempt.at < now - timedelta(days=KNOWN_CLIENT_DAYS)
                )
            )
        else:
            audit.record(session, None, "login_failed", target=username.strip()[:64], client=client)

    who = actor_of(user) if ok and user is not None else None
    if not _best_effort(session, bookkeeping):
        with _mem_lock:  # read-only database: the throttle still counts in this process
            _mem_attempts.append((now, client, name, ok))
            del _mem_attempts[: max(0, len(_mem_attempts) - 10_000)]
    if who is None:
        raise AuthError(FAILED)
    return who


# -------------------------------------------------------------------------------------- sessions

_cache_lock = threading.Lock()
_cache: dict[int, tuple[float, tuple[str, str, bool, int, str] | None]] = {}


def check_seconds() -> float:
    """How long a user's active flag, role and session generation may be cached
    (KOCURATE_SESSION_CHECK_SECONDS)."""
    import os

    try:
        return max(0.0, float(os.environ.get("KOCURATE_SESSION_CHECK_SECONDS", "3")))
    except ValueError:
        return 3.0


def session_state(
    session_factory: Callable[[], object], user_id: int
) -> tuple[str, str, bool, int, str] | None:
    """(username, role, active, session generation, password hash) of a user, cached for a few
    seconds so that every request can check them cheaply; None when the user is gone.
    ``session_factory`` opens a session (a context manager) only on a cache miss."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
    with session_factory() as s:  # type: ignore[attr-defined]
        row = s.execute(
            select(
                User.username, User.role, User.active, User.session_generation, User.password_hash
            ).where(User.id == user_id)
        ).first()
    value = tuple(row) if row is not None else None
    with _cache_lock:
        _cache[user_id] = (now + check_seconds(), value)  # type: ignore[assignment]
    return value  # type: ignore[return-value]


def forget_cached(user_id: int | None = None) -> None:
    """Drop cached user states (this process changed them; others see the change within
    check_seconds)."""
    with _cache_lock:
        if user_id is None:
            _cache.clear()
        else:
            _cache.pop(user_id, None)


def _get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(msgid=N_("no user {username!r}"), username=username)
    return user
