"""Comments on samples: threads with @mentions, resolve/reopen, the open-questions queue, the inbox.

A thread is a root comment on a sample (optionally on one turn) and its replies. Comments are plain
text (shown with ``st.text``, never as Markdown/HTML), kept with the sample, written to the audit
log, and never exported (exports read samples and turns only).

Mentions: ``@name`` (at the start or after a space or punctuation) names a user. An unknown or
disabled name is an error that names it and saves nothing: a typo would otherwise reach nobody.
Write the name without ``@`` to mention someone in passing.

Inbox: a comment that mentions a user, or replies in a thread they wrote in, is an ``InboxItem`` of
theirs (never their own comment). The unread count is one indexed COUNT (ix_inbox_user_unread).
Only the root's author and leads (``adjudicate``) resolve or reopen a thread. Role checks name their
permission literally, so tests/test_security.py tries each service with a wrong role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, true, update
from sqlalchemy.orm import Session

from ..errors import NotFound, PermissionDenied, UsageError
from ..i18n import N_
from ..models import Comment, InboxItem, Sample, Turn, User, utcnow
from . import audit
from .auth import Actor

PERMISSION = "review"  # who may read and write comments
LEAD = "adjudicate"  # who may resolve anyone's thread and see the open-questions queue
MAX_CHARS = 10_000
_MENTION = re.compile(r"(?<![\w@.])@([^\s@,;:!?()\[\]{}<>\"'`]+)")


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    sample_id: int
    dataset_id: int
    turn_idx: int | None
    parent_id: int | None
    author: str
    body: str
    mentions: list[str]
    at: datetime
    is_open: bool
    resolved_by: str | None
    resolved_at: datetime | None

    @property
    def thread_id(self) -> int:
        return self.parent_id or self.id

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sample_id": self.sample_id,
            "dataset_id": self.dataset_id,
            "turn": None if self.turn_idx is None else self.turn_idx + 1,
            "thread": self.thread_id,
            "author": self.author,
            "body": self.body,
            "mentions": self.mentions,
            "at": self.at.isoformat(timespec="seconds"),
            "open": self.is_open,
            "resolved_by": self.resolved_by,
        }


@dataclass(frozen=True, slots=True)
class Thread:
    root: CommentView
    replies: list[CommentView]


def _cv(c: Comment) -> CommentView:
    return CommentView(
        c.id,
        c.sample_id,
        c.dataset_id,
        c.turn_idx,
        c.parent_id,
        c.author_name,
        c.body,
        list(c.mentions or []),
        c.created_at,
        bool(c.is_open),
        c.resolved_by_name,
        c.resolved_at,
    )


def mentioned_names(body: str) -> list[str]:
    """The ``@names`` in a text, in order, without repeats (a trailing full stop is not part of a
    name)."""
    out: list[str] = []
    for m in _MENTION.finditer(body):
        name = m.group(1).rstrip(".")
        if name and name not in out:
            out.append(name)
    return out


def resolve_mentions(session: Session, body: str) -> dict[str, int]:
    """{user name: user id} for every mention; an unknown or disabled name raises, naming it."""
    names = mentioned_names(body)
    if not names:
        return {}
    rows = session.execute(
        select(User.id, User.username, User.active).where(
            func.lower(User.username).in_([n.lower() for n in names])
        )
    ).all()
    found: dict[str, int] = {}
    unknown: list[str] = []
    for n in names:
        exact = [r for r in rows if r.username == n] or [
            r for r in rows if r.username.lower() == n.lower()
        ]
        if len(exact) == 1 and exact[0].active:
            found[exact[0].username] = exact[0].id
        else:
            unknown.append(n)
    if unknown:
        raise UsageError(
            msgid=N_(
                "no active user named {names}; check the spelling, or write the name without @"
            ),
            names=", ".join(f"@{n}" for n in unknown),
        )
    return found


def _clean(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise UsageError(msgid=N_("a comment needs some text"))
    if "\x00" in body:
        raise UsageError(msgid=N_("a comment may not contain a NUL character"))
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_CHARS:
        raise UsageError(
            msgid=N_("a comment has at most {max_chars:,} characters (this one {n:,})"),
            max_chars=MAX_CHARS,
            n=len(body),
        )
    return body


def add_comment(
    session: Session,
    actor: Actor,
    sample_id: int,
    body: str,
    *,
    turn: int | None = None,
    reply_to: int | None = None,
) -> CommentView:
    """Start a thread on a sample (``turn``: 1-based turn number), or reply in one (``reply_to``:
    any comment of the thread). Mentioned users and the thread's other participants get an inbox
    item.
    """
    actor.require("review")
    body = _clean(body)
    root: Comment | None = None
    if reply_to is not None:
        parent = session.get(Comment, reply_to)
        if parent is None:
            raise NotFound(msgid=N_("no comment {reply_to}"), reply_to=reply_to)
        root = session.get(Comment, parent.parent_id) if parent.parent_id else parent
        assert root is not None
        sample_id, turn_idx = root.sample_id, root.turn_idx
        smp = session.get(Sample, sample_id)
    else:
        smp = session.get(Sample, sample_id)
        if smp is None:
            raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
        turn_idx = None
        if turn is not None:
            n = int(
                session.scalar(
                    select(func.count()).select_from(Turn).where(Turn.sample_id == sample_id)
                )
                or 0
            )
            if not 1 <= turn <= n:
                raise UsageError(
                    msgid=N_("sample {sample_id} has turns 1 to {n}; there is no turn {turn}"),
                    sample_id=sample_id,
                    n=n,
                    turn=turn,
                )
            turn_idx = turn - 1
    assert smp is not None
    mentions = resolve_mentions(session, body)
    c = Comment(
        sample_id=sample_id,
        dataset_id=smp.dataset_id,
        turn_idx=turn_idx,
        parent_id=root.id if root else None,
        author_id=actor.id,
        author_name=actor.username,
        body=body,
        mentions=list(mentions),
        is_open=root is None,
    )
    session.add(c)
    if root is not None and not root.is_open:  # a reply reopens a resolved question
        root.is_open, root.resolved_at, root.resolved_by_name = True, None, None
    session.flush()
    notify: dict[int, str] = {uid: "mention" for uid in mentions.values()}
    if root is not None:
        participants = session.scalars(
            select(Comment.author_id)
            .where(
                (Comment.id == root.id) | (Comment.parent_id == root.id),
                Comment.author_id.is_not(None),
            )
            .distinct()
        )
        for uid in participants:
            notify.setdefault(uid, "reply")
    notify.pop(actor.id, None)  # type: ignore[arg-type]
    for uid, kind in notify.items():
        session.add(
            InboxItem(user_id=uid, comment_id=c.id, sample_id=sample_id, kind=kind, unread=True)
        )
    audit.record(
        session,
        actor,
        "comment",
        dataset_id=smp.dataset_id,
        target=f"sample {sample_id}",
        comment=c.id,
        thread=root.id if root else c.id,
        turn=turn_idx + 1 if turn_idx is not None else None,
        mentions=sorted(mentions) or None,
    )
    session.flush()
    return _cv(c)


def _thread_root(session: Session, comment_id: int) -> Comment:
    c = session.get(Comment, comment_id)
    if c is None:
        raise NotFound(msgid=N_("no comment {comment_id}"), comment_id=comment_id)
    if c.parent_id is not None:
        c = session.get(Comment, c.parent_id)
        assert c is not None
    return c


def set_resolved(
    session: Session, actor: Actor, comment_id: int, resolved: bool = True
) -> CommentView:
    """Resolve (or reopen) the thread a comment belongs to: its author or a lead."""
    actor.require("review")
    root = _thread_root(session, comment_id)
    if not (actor.can(LEAD) or (actor.id is not None and actor.id == root.author_id)):
        raise PermissionDenied(
            msgid=N_("{username} ({role}) may not {action} this thread: its author or a lead does"),
            username=actor.username,
            role=actor.role,
            action="resolve" if resolved else "reopen",
        )
    if root.is_open == (not resolved):
        return _cv(root)  # already so: a repeated click is a no-op
    root.is_open = not resolved
    root.resolved_at = utcnow() if resolved else None
    root.resolved_by_name = actor.username if resolved else None
    audit.record(
        session,
        actor,
        "comment_resolve" if resolved else "comment_reopen",
        dataset_id=root.dataset_id,
        target=f"sample {root.sample_id}",
        thread=root.id,
    )
    session.flush()
    return _cv(root)


def threads(session: Session, actor: Actor, sample_id: int) -> list[Thread]:
    """A sample's threads, oldest first, each with its replies."""
    actor.require("review")
    rows = [
        _cv(c)
        for c in session.scalars(
            select(Comment).where(Comment.sample_id == sample_id).order_by(Comment.id)
        )
    ]
    roots = [c for c in rows if c.parent_id is None]
    return [Thread(r, [c for c in rows if c.parent_id == r.id]) for r in roots]


def count_on_sample(session: Session, sample_id: int) -> tuple[int, int]:
    """(threads, open threads) on a sample."""
    row = session.execute(
        select(func.count(), func.count(case((Comment.is_open == true(), 1)))).where(
            Comment.sample_id == sample_id, Comment.parent_id.is_(None)
        )
    ).one()
    return int(row[0]), int(row[1])


def open_threads(
    session: Session,
    actor: Actor,
    *,
    dataset_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The open-questions queue (leads): unresolved threads, newest first, keyset-paged by id (pass
    the last id seen as ``before_id``). Each row has the root comment, its reply count and the last
    reply.
    """
    actor.require("adjudicate")
    q = (
        select(Comment)
        .where(Comment.is_open == true())
        .order_by(Comment.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if dataset_id is not None:
        q = q.where(Comment.dataset_id == dataset_id)
    if before_id is not None:
        q = q.where(Comment.id < before_id)
    roots = [_cv(c) for c in session.scalars(q)]
    if not roots:
        return []
    stats = {
        r.parent_id: (int(r.n), r.last)
        for r in session.execute(
            select(Comment.parent_id, func.count().label("n"), func.max(Comment.id).label("last"))
            .where(Comment.parent_id.in_([c.id for c in roots]))
            .group_by(Comment.parent_id)
        )
    }
    last_ids = [v[1] for v in stats.values()]
    last = (
        {c.id: _cv(c) for c in session.scalars(select(Comment).where(Comment.id.in_(last_ids)))}
        if last_ids
        else {}
    )
    return [
        {
            "root": c,
            "replies": stats.get(c.id, (0, None))[0],
            "last": last.get(stats.get(c.id, (0, None))[1]),
        }
        for c in roots
    ]


def list_comments(
    session: Session,
    actor: Actor,
    *,
    dataset_id: int | None = None,
    open_only: bool = False,
    before_id: int | None = None,
    limit: int = 50,
) -> list[CommentView]:
    """Thread roots, newest first (all, or the open ones), keyset-paged by id."""
    actor.require("review")
    if open_only:  # the open-questions queue is the leads'
        actor.require("adjudicate")
    q = (
        select(Comment)
        .where(Comment.parent_id.is_(None))
        .order_by(Comment.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if open_only:
        q = q.where(Comment.is_open == true())
    if dataset_id is not None:
        q = q.where(Comment.dataset_id == dataset_id)
    if before_id is not None:
        q = q.where(Comment.id < before_id)
    return [_cv(c) for c in session.scalars(q)]


# ------------------------------------------------------------------------------ inbox


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: int
    kind: str  # mention | reply
    read: bool
    comment: CommentView


def unread_count(session: Session, actor: Actor) -> int:
    """One indexed COUNT (ix_inbox_user_unread)."""
    if actor.id is None:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(InboxItem.user_id == actor.id, InboxItem.unread == true())
        )
        or 0
    )


def inbox(
    session: Session, actor: Actor, *, unread: bool, before_id: int | None = None, limit: int = 50
) -> list[InboxEntry]:
    """My unread (or read) inbox items, newest first, keyset-paged by id. The page shows unread
    first."""
    if actor.id is None:
        return []
    q = (
        select(InboxItem, Comment)
        .join(Comment, Comment.id == InboxItem.comment_id)
        .where(InboxItem.user_id == actor.id, InboxItem.unread == bool(unread))
        .order_by(InboxItem.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    if before_id is not None:
        q = q.where(InboxItem.id < before_id)
    return [InboxEntry(i.id, i.kind, not i.unread, _cv(c)) for i, c in session.execute(q).all()]


def mark_read(
    session: Session, actor: Actor, item_ids: list[int] | None = None, *, read: bool = True
) -> int:
    """Mark my inbox items read (all unread ones when ``item_ids`` is None), or unread again."""
    if actor.id is None:
        return 0
    q = update(InboxItem).where(InboxItem.user_id == actor.id)
    if item_ids is not None:
        if not item_ids:
            return 0
        q = q.where(InboxItem.id.in_(item_ids))
    q = q.where(InboxItem.unread == read)
    return int(
        session.execute(q.values(unread=not read, read_at=utcnow() if read else None)).rowcount or 0
    )


def mark_sample_read(session: Session, actor: Actor, sample_id: int) -> int:
    """Opening a sample's comments reads my inbox items about it."""
    if actor.id is None:
        return 0
    mine = (
        InboxItem.user_id == actor.id,
        InboxItem.unread == true(),
        InboxItem.sample_id == sample_id,
    )
    if session.scalar(select(InboxItem.id).where(*mine).limit(1)) is None:
        return 0  # a read first: no write (and no write lock) on every rerun of the History tab
    return int(
        session.execute(
            update(InboxItem).where(*mine).values(unread=False, read_at=utcnow())
        ).rowcount
        or 0
    )
