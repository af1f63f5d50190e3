"""Review use cases: queues with claims, the side-by-side view, edits with history, flags, decisions.

Every write is a short transaction guarded by optimistic concurrency: the caller passes the sample
version its screen was based on; a conditional ``UPDATE samples SET version = version + 1 WHERE
version = :expected`` decides who wins, and the loser gets ``StaleVersion`` carrying the current text.

Claims: ``next_sample`` hands out a sample and records a Claim until ``expires_at``. On SQLite the
whole claim runs inside ``BEGIN IMMEDIATE`` (one writer at a time), so select-then-insert is atomic.
On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` and re-checked in a fresh
statement before the claim is written, so two annotators never get the same sample.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..errors import KocurateError, NotFound, StaleVersion
from ..models import (
    DECISION_STATUS,
    DECISIONS,
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    STATUSES,
    CheckFinding,
    Claim,
    Dataset,
    Edit,
    Flag,
    Review,
    Sample,
    Suggestion,
    Turn,
    User,
    utcnow,
)
from .auth import Actor

ALL_FLAGS = ETHICS_FLAGS + QUALITY_FLAGS
EDIT_FIELDS = ("text", "source_text")
EDIT_KINDS = ("manual", "machine", "restore")
FLAG_STATES = ("active", "confirmed", "cleared")
MAX_OVERLAP = 10

_samples = Sample.__table__
_turns = Turn.__table__
_claims = Claim.__table__


def claim_ttl() -> timedelta:
    """How long a handed-out sample stays reserved (KOCURATE_CLAIM_MINUTES, default 30)."""
    return timedelta(minutes=float(os.environ.get("KOCURATE_CLAIM_MINUTES", "30")))


@dataclass
class QueueFilter:
    """Which samples a queue hands out. ``status=None`` means any status."""

    status: str | None = "new"
    flag: str | None = None  # a flag category that is not cleared
    check: str | None = None  # an open finding of this automatic check
    text: str | None = None  # Korean or English text contains this (search index)
    min_len: int | None = None  # Korean characters
    max_len: int | None = None
    has_source: bool | None = None  # has an English source
    max_confidence: float | None = None  # alignment confidence at most this
    mine: bool = False  # only samples claimed by me (assigned to me)


# --------------------------------------------------------------------------------------------- queue

def _filter_conditions(session: Session, actor: Actor, f: QueueFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status:
        if f.status not in STATUSES:
            raise KocurateError(f"unknown status {f.status!r}; one of {', '.join(STATUSES)}")
        conds.append(Sample.status == f.status)
    if f.flag:
        if f.flag not in ALL_FLAGS:
            raise KocurateError(f"unknown flag {f.flag!r}")
        # IN (not a correlated EXISTS): the few flagged samples drive the scan (ix_flags_category_state)
        conds.append(Sample.id.in_(select(Flag.sample_id).where(Flag.category == f.flag, Flag.state != "cleared")))
    if f.check:
        conds.append(Sample.id.in_(select(CheckFinding.sample_id).where(CheckFinding.check == f.check,
                                                                        CheckFinding.state != "cleared")))
    if f.text and f.text.strip():
        from . import search

        conds.append(Sample.id.in_(search.matching_samples(session, f.text)))
    if f.min_len is not None:
        conds.append(Sample.ko_chars >= f.min_len)
    if f.max_len is not None:
        conds.append(Sample.ko_chars <= f.max_len)
    if f.has_source is True:
        conds.append(Sample.en_chars > 0)
    elif f.has_source is False:
        conds.append(Sample.en_chars == 0)
    if f.max_confidence is not None:
        conds.append(Sample.align_confidence <= f.max_confidence)
    if f.mine:
        conds.append(Sample.id.in_(_my_open_claims(actor)))
    return conds


def _my_open_claims(actor: Actor) -> Any:
    return select(Claim.sample_id).where(Claim.user_id == actor.id, Claim.expires_at > utcnow(),
                                         Claim.done.is_(False))


def _available(actor: Actor, overlap: int, status: str | None) -> list[ColumnElement[bool]]:
    """Not done by me already, and not held by (overlap) other people."""
    now = utcnow()
    conds: list[ColumnElement[bool]] = [
        ~exists().where(Claim.sample_id == Sample.id, Claim.user_id == actor.id, Claim.done.is_(True)),
    ]
    if overlap <= 1 or status != "new":
        conds.append(~exists().where(Claim.sample_id == Sample.id, Claim.user_id != actor.id,
                                     Claim.done.is_(False), Claim.expires_at > now))
    else:
        # k annotators per sample: people who finished it plus people holding it must stay below k
        held = (select(func.count()).select_from(Claim)
                .where(Claim.sample_id == Sample.id, Claim.user_id != actor.id,
                       or_(Claim.done.is_(True), Claim.expires_at > now))
                .scalar_subquery())
        conds.append(held < overlap)
    return conds


def _need_person(actor: Actor) -> int:
    if actor.id is None:
        raise KocurateError("this action needs a logged-in person (the CLI cannot claim or decide)")
    return actor.id


def _upsert_claim(session: Session, user_id: int, sample_id: int, *, done: bool = False) -> None:
    now = utcnow()
    values = {"claimed_at": now, "expires_at": now + claim_ttl(), "done": done}
    res = session.execute(update(_claims).where(_claims.c.sample_id == sample_id, _claims.c.user_id == user_id)
                          .values(**values))
    if res.rowcount == 0:
        session.execute(insert(_claims).values(sample_id=sample_id, user_id=user_id, **values))


def _dataset_overlap(session: Session, dataset_id: int) -> int:
    overlap = session.scalar(select(Dataset.overlap).where(Dataset.id == dataset_id))
    if overlap is None:
        raise NotFound(f"no dataset {dataset_id}")
    return overlap


def next_sample(session: Session, actor: Actor, dataset_id: int, filters: QueueFilter | None = None, *,
                after: int | None = None) -> int | None:
    """Claim and return the next sample of the queue, or None when the queue is empty.

    Without ``after`` the person's own open claim in this queue comes first (work resumes where it
    stopped); with ``after`` (the sample on screen) the queue moves on by id (keyset) and wraps around.
    """
    actor.require("review")
    user_id = _need_person(actor)
    f = filters or QueueFilter()
    overlap = _dataset_overlap(session, dataset_id)
    base = [Sample.dataset_id == dataset_id, *_filter_conditions(session, actor, f)]
    if after is None:
        # driven by my few open claims (ix_claims_user_expires), not by a scan of the queue
        mine = session.scalar(select(Sample.id).where(*base, Sample.id.in_(_my_open_claims(actor)))
                              .order_by(Sample.id).limit(1))
        if mine is not None:
            _upsert_claim(session, user_id, mine)
            return mine
    avail = _available(actor, overlap, f.status)
    pg = session.get_bind().dialect.name == "postgresql"
    starts = [after or 0] + ([0] if after else [])
    for start in starts:
        cursor = start
        for _ in range(50):  # PostgreSQL: re-check after locking; give up on a pathological queue
            stmt = select(Sample.id).where(*base, *avail, Sample.id > cursor).order_by(Sample.id).limit(1)
            if pg:
                stmt = stmt.with_for_update(skip_locked=True, of=Sample)
            sid = session.scalar(stmt)
            if sid is None:
                break
            if pg and not _still_free(session, user_id, sid, overlap, f.status):
                cursor = sid
                continue
            _upsert_claim(session, user_id, sid)
            return sid
    return None


def _still_free(session: Session, user_id: int, sample_id: int, overlap: int, status: str | None) -> bool:
    """Fresh-snapshot re-check under the row lock (a claim committed after our scan began)."""
    now = utcnow()
    if overlap <= 1 or status != "new":
        cond = and_(Claim.done.is_(False), Claim.expires_at > now)
        limit = 1
    else:
        cond = or_(Claim.done.is_(True), Claim.expires_at > now)
        limit = overlap
    held = session.scalar(select(func.count()).select_from(Claim).where(
        Claim.sample_id == sample_id, Claim.user_id != user_id, cond)) or 0
    return held < limit


def claim(session: Session, actor: Actor, sample_id: int) -> bool:
    """Claim one sample (e.g. opened by a deep link). False when other people hold it already."""
    actor.require("review")
    user_id = _need_person(actor)
    q = select(Sample.id, Sample.dataset_id, Sample.status).where(Sample.id == sample_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Sample)
    row = session.execute(q).first()
    if row is None:
        raise NotFound(f"no sample {sample_id}")
    overlap = _dataset_overlap(session, row.dataset_id)
    if not _still_free(session, user_id, sample_id, overlap, row.status):
        return False
    _upsert_claim(session, user_id, sample_id)
    return True


def release_claim(session: Session, actor: Actor, sample_id: int) -> None:
    """Give a claimed, undecided sample back to the queue."""
    session.execute(delete(_claims).where(_claims.c.sample_id == sample_id, _claims.c.user_id == actor.id,
                                          _claims.c.done.is_(False)))


def neighbor(session: Session, actor: Actor, dataset_id: int, sample_id: int, direction: str = "next",
             filters: QueueFilter | None = None) -> int | None:
    """The previous/next sample of a filtered list by id (keyset browse; claims nothing)."""
    actor.require("review")
    f = filters or QueueFilter(status=None)
    conds = [Sample.dataset_id == dataset_id, *_filter_conditions(session, actor, f)]
    if direction == "prev":
        stmt = select(Sample.id).where(*conds, Sample.id < sample_id).order_by(Sample.id.desc())
    else:
        stmt = select(Sample.id).where(*conds, Sample.id > sample_id).order_by(Sample.id)
    return session.scalar(stmt.limit(1))


def my_claims(session: Session, actor: Actor, dataset_id: int | None = None, limit: int = 100) -> list[int]:
    """Samples assigned to me (open, unexpired claims), oldest first."""
    conds = [Claim.user_id == actor.id, Claim.done.is_(False), Claim.expires_at > utcnow()]
    stmt = select(Claim.sample_id).where(*conds)
    if dataset_id is not None:
        stmt = stmt.join(Sample, Sample.id == Claim.sample_id).where(Sample.dataset_id == dataset_id)
    return list(session.scalars(stmt.order_by(Claim.claimed_at).limit(limit)))


def set_overlap(session: Session, actor: Actor, dataset_id: int, k: int) -> int:
    """Leads: k annotators review each sample of the dataset (agreement)."""
    actor.require("configure")
    if not 1 <= int(k) <= MAX_OVERLAP:
        raise KocurateError(f"overlap is 1 to {MAX_OVERLAP} annotators per sample")
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound(f"no dataset {dataset_id}")
    ds.overlap = int(k)
    session.flush()
    return ds.overlap


# -------------------------------------------------------------------------------------- versioning

def _current(session: Session, sample_id: int) -> dict[str, Any]:
    """What the sample looks like now (for the conflict view)."""
    row = session.execute(select(_samples.c.version, _samples.c.status).where(_samples.c.id == sample_id)).first()
    if row is None:
        raise NotFound(f"no sample {sample_id}")
    turns = session.execute(select(_turns.c.id, _turns.c.idx, _turns.c.role, _turns.c.text, _turns.c.source_text)
                            .where(_turns.c.sample_id == sample_id).order_by(_turns.c.idx)).all()
    last = session.execute(select(Edit.user_id, Edit.created_at, User.username)
                           .outerjoin(User, User.id == Edit.user_id)
                           .where(Edit.sample_id == sample_id).order_by(Edit.id.desc()).limit(1)).first()
    return {"sample_id": sample_id, "version": row.version, "status": row.status,
            "turns": [dict(t._mapping) for t in turns],
            "last_editor": (last.username or "cli") if last else None,
            "last_edit_at": last.created_at.isoformat(timespec="seconds") if last else None}


def _bump(session: Session, sample_id: int, expected_version: int | None, what: str) -> int:
    """Increment the sample version, only if it is still ``expected_version`` (when given)."""
    stmt = update(_samples).where(_samples.c.id == sample_id)
    if expected_version is not None:
        stmt = stmt.where(_samples.c.version == expected_version)
    stmt = stmt.values(version=_samples.c.version + 1, updated_at=utcnow()).returning(_samples.c.version)
    new = session.execute(stmt).scalar()
    if new is None:
        cur = _current(session, sample_id)  # raises NotFound
        raise StaleVersion(
            f"sample {sample_id} changed since you opened it (your version {expected_version}, now "
            f"{cur['version']}{', by ' + cur['last_editor'] if cur['last_editor'] else ''}); {what} not saved",
            cur["version"], cur)
    return int(new)


# -------------------------------------------------------------------------------------------- edits

def save_edit(session: Session, actor: Actor, sample_id: int, turn_id: int, text: str, expected_version: int, *,
              field: str = "text", kind: str = "manual", meta: dict[str, Any] | None = None) -> int:
    """Change one turn's Korean text (or English source); returns the new sample version.

    Raises StaleVersion (with the other person's text in ``.current``) when the sample moved on.
    Saving an unchanged text is a no-op that returns the current version.
    """
    actor.require("edit")
    if field not in EDIT_FIELDS:
        raise KocurateError(f"field is one of {', '.join(EDIT_FIELDS)}")
    if kind not in EDIT_KINDS:
        raise KocurateError(f"kind is one of {', '.join(EDIT_KINDS)}")
    if text is None:
        raise KocurateError("text is required")
    text = text.replace("\r\n", "\n")
    col = _turns.c[field]
    row = session.execute(select(col, _turns.c.sample_id).where(_turns.c.id == turn_id)).first()
    if row is None or row.sample_id != sample_id:
        raise NotFound(f"no turn {turn_id} in sample {sample_id}")
    if row[0] == text:
        version = session.scalar(select(_samples.c.version).where(_samples.c.id == sample_id))
        if version != expected_version:
            _bump(session, sample_id, expected_version, "edit")  # raises StaleVersion
        return int(version)
    new_version = _bump(session, sample_id, expected_version, "edit")
    # read "before" after winning the version race: the row is ours now
    before = session.execute(select(col).where(_turns.c.id == turn_id)).scalar() or ""
    session.execute(update(_turns).where(_turns.c.id == turn_id).values({field: text}))
    if field == "text":
        session.execute(update(_samples).where(_samples.c.id == sample_id).values(
            ko_chars=_samples.c.ko_chars + (len(text) - len(before))))
    session.execute(insert(Edit.__table__).values(
        sample_id=sample_id, turn_id=turn_id, field=field, user_id=actor.id, kind=kind, before=before, after=text,
        sample_version=new_version, meta=meta or {}, created_at=utcnow()))
    return new_version


def history(session: Session, actor: Actor, sample_id: int) -> list[dict[str, Any]]:
    """Every edit of the sample, oldest first: who, when, which turn and field, before, after."""
    actor.require("review")
    rows = session.execute(
        select(Edit, User.username, Turn.idx, Turn.role)
        .outerjoin(User, User.id == Edit.user_id).join(Turn, Turn.id == Edit.turn_id)
        .where(Edit.sample_id == sample_id).order_by(Edit.id)).all()
    return [{"id": e.id, "turn_id": e.turn_id, "turn_idx": idx, "role": role, "field": e.field,
             "user": username or "cli", "kind": e.kind, "before": e.before, "after": e.after,
             "version": e.sample_version, "meta": e.meta, "at": e.created_at.isoformat(timespec="seconds")}
            for e, username, idx, role in rows]


def restore(session: Session, actor: Actor, edit_id: int, expected_version: int, *, which: str = "after") -> int:
    """Put back the text of a history entry (``after``: as that edit left it; ``before``: as it was)."""
    actor.require("edit")
    edit = session.get(Edit, edit_id)
    if edit is None:
        raise NotFound(f"no edit {edit_id}")
    if which not in ("before", "after"):
        raise KocurateError("which is 'before' or 'after'")
    text = edit.after if which == "after" else edit.before
    return save_edit(session, actor, edit.sample_id, edit.turn_id, text, expected_version, field=edit.field,
                     kind="restore", meta={"edit_id": edit_id, "which": which})


# -------------------------------------------------------------------------------------------- flags

def set_flags(session: Session, actor: Actor, sample_id: int, flags: dict[str, str | None],
              expected_version: int | None = None) -> int:
    """Replace my own flags on the sample with ``flags`` (category -> note); returns the new version."""
    actor.require("flag")
    bad = sorted(set(flags) - set(ALL_FLAGS))
    if bad:
        raise KocurateError(f"unknown flag(s) {', '.join(bad)}; one of {', '.join(ALL_FLAGS)}")
    clean = {c: (n.strip() or None) if isinstance(n, str) else None for c, n in flags.items()}
    mine = Flag.__table__
    own = and_(mine.c.sample_id == sample_id, mine.c.origin == "annotator",
               mine.c.user_id.is_(None) if actor.id is None else mine.c.user_id == actor.id)
    current = {r.category: r.note for r in session.execute(select(mine.c.category, mine.c.note).where(own))}
    if current == clean:
        version = session.scalar(select(_samples.c.version).where(_samples.c.id == sample_id))
        if version is None:
            raise NotFound(f"no sample {sample_id}")
        if expected_version is not None and version != expected_version:
            _bump(session, sample_id, expected_version, "flags")
        return int(version)
    new_version = _bump(session, sample_id, expected_version, "flags")
    session.execute(delete(mine).where(own))
    now = utcnow()
    if clean:
        session.execute(insert(mine), [
            {"sample_id": sample_id, "category": c, "note": n, "user_id": actor.id, "origin": "annotator",
             "state": "active", "created_at": now, "updated_at": now} for c, n in sorted(clean.items())])
    return new_version


def set_flag_state(session: Session, actor: Actor, flag_id: int, state: str) -> int:
    """Confirm or clear a flag (typically a check's or model's pre-flag); returns the new version."""
    actor.require("flag")
    if state not in FLAG_STATES:
        raise KocurateError(f"state is one of {', '.join(FLAG_STATES)}")
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    flag.state = state
    flag.decided_by = actor.id
    flag.updated_at = utcnow()
    session.flush()
    return _bump(session, flag.sample_id, None, "flag state")


# ---------------------------------------------------------------------------------------- decisions

def decide(session: Session, actor: Actor, sample_id: int, decision: str, *, expected_version: int | None = None,
           note: str | None = None, seconds: float | None = None) -> str:
    """Approve / reject / needs_fix / skip; returns the sample's status afterwards.

    With overlap k the status changes once k people decided (or a lead adjudicates); each decision
    is a Review row, and the person's claim is marked done so the queue moves on.
    """
    actor.require("review")
    user_id = _need_person(actor)
    decision = {"approved": "approve", "rejected": "reject", "skipped": "skip"}.get(decision, decision)
    if decision not in DECISIONS:
        raise KocurateError(f"decision is one of {', '.join(DECISIONS)}")
    _bump(session, sample_id, expected_version, "decision")
    ds_id = session.scalar(select(_samples.c.dataset_id).where(_samples.c.id == sample_id))
    overlap = _dataset_overlap(session, ds_id)
    cats = sorted(set(session.scalars(select(Flag.category).where(Flag.sample_id == sample_id,
                                                                  Flag.state != "cleared"))))
    session.execute(insert(Review.__table__).values(
        sample_id=sample_id, user_id=user_id, decision=decision, note=(note or None), seconds=seconds, flags=cats,
        created_at=utcnow()))
    _upsert_claim(session, user_id, sample_id, done=True)
    people = session.scalar(select(func.count(func.distinct(Review.user_id))).where(Review.sample_id == sample_id)) or 0
    if overlap <= 1 or people >= overlap or actor.can("adjudicate"):
        session.execute(update(_samples).where(_samples.c.id == sample_id).values(status=DECISION_STATUS[decision]))
    return session.scalar(select(_samples.c.status).where(_samples.c.id == sample_id)) or "new"


# --------------------------------------------------------------------------------------------- view

def diff_text(old: str, new: str, *, old_name: str = "machine translation", new_name: str = "current") -> str:
    """A plain-text unified diff (empty when equal)."""
    if old == new:
        return ""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=2)
    return "\n".join(lines)


def get_sample_view(session: Session, actor: Actor, sample_id: int) -> dict[str, Any]:
    """Everything the review screen shows about one sample, as plain data."""
    actor.require("review")
    from .datasets import sample_view

    view = sample_view(session, sample_id)
    for t in view["turns"]:
        t["diff"] = diff_text(t["mt_text"], t["text"])
    flags = session.execute(select(Flag, User.username).outerjoin(User, User.id == Flag.user_id)
                            .where(Flag.sample_id == sample_id).order_by(Flag.id)).all()
    view["flags"] = [{"id": f.id, "category": f.category, "note": f.note, "origin": f.origin, "state": f.state,
                      "turn_idx": f.turn_idx, "user": u, "mine": f.user_id == actor.id and f.origin == "annotator"}
                     for f, u in flags]
    view["my_flags"] = {f["category"]: f["note"] for f in view["flags"] if f["mine"]}
    findings = session.scalars(select(CheckFinding).where(CheckFinding.sample_id == sample_id)
                               .order_by(CheckFinding.turn_idx, CheckFinding.id)).all()
    view["findings"] = [{"id": c.id, "check": c.check, "severity": c.severity, "turn_idx": c.turn_idx,
                         "span": (c.span_start, c.span_end), "message": c.message, "state": c.state}
                        for c in findings]
    sugg = session.scalars(select(Suggestion).where(Suggestion.sample_id == sample_id, Suggestion.state == "open")
                           .order_by(Suggestion.id)).all()
    view["suggestions"] = [{"id": s.id, "turn_id": s.turn_id, "text": s.text, "engine": s.engine,
                            "based_on_version": s.based_on_version} for s in sugg]
    reviews = session.execute(select(Review, User.username).join(User, User.id == Review.user_id)
                              .where(Review.sample_id == sample_id).order_by(Review.id)).all()
    view["reviews"] = [{"user": u, "decision": r.decision, "note": r.note,
                        "at": r.created_at.isoformat(timespec="seconds")} for r, u in reviews]
    view["claimed_by"] = list(session.scalars(
        select(User.username).join(Claim, Claim.user_id == User.id)
        .where(Claim.sample_id == sample_id, Claim.done.is_(False), Claim.expires_at > utcnow())))
    view["n_edits"] = session.scalar(select(func.count()).select_from(Edit).where(Edit.sample_id == sample_id)) or 0
    return view


def queue_counts(session: Session, actor: Actor, dataset_id: int) -> dict[str, int]:
    """Samples per status in a dataset (one GROUP BY over the status index)."""
    actor.require("review")
    rows = session.execute(select(Sample.status, func.count()).where(Sample.dataset_id == dataset_id)
                           .group_by(Sample.status))
    return {s: n for s, n in rows}
