"""The audit log: who did what, when, on which dataset.

Services call :func:`record` inside the same transaction as the work itself, so an event is written
exactly when the work commits (a failed import leaves no "import" event). Reading the log is for
admins; every entry is plain data and is shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, utcnow
from .auth import Actor

# the actions written today; a new action is just a new string, listed here for filters and docs
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "role_change",
    "user_disabled",
    "user_enabled",
    "user_created",
    "password_reset",
    "import",
    "export",
    "job_start",
    "bulk",
    "restore",
    "settings",
)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: datetime
    username: str
    action: str
    dataset_id: int | None
    target: str | None
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "user": self.username,
            "action": self.action,
            "dataset_id": self.dataset_id,
            "target": self.target,
            "details": self.details,
        }


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    dataset_id: int | None = None,
    target: str | None = None,
    **details: Any,
) -> None:
    """Add one event to the current transaction (it commits, or rolls back, with the work)."""
    session.add(
        AuditEvent(
            at=utcnow(),
            user_id=actor.id if actor else None,
            username=actor.username if actor else "-",
            action=action,
            dataset_id=dataset_id,
            target=(target or None) and str(target)[:512],
            details={k: v for k, v in details.items() if v is not None},
        )
    )


def events(
    session: Session,
    actor: Actor,
    *,
    since: datetime | None = None,
    action: str | None = None,
    username: str | None = None,
    dataset_id: int | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[Event]:
    """Newest first, keyset-paged by id (pass the last id seen as ``before_id``). Admins only."""
    actor.require("users")
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 10_000)))
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if action:
        q = q.where(AuditEvent.action == action)
    if username:
        q = q.where(AuditEvent.username == username)
    if dataset_id is not None:
        q = q.where(AuditEvent.dataset_id == dataset_id)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    return [
        Event(e.id, e.at, e.username, e.action, e.dataset_id, e.target, dict(e.details or {}))
        for e in session.scalars(q)
    ]
