"""Review use cases: queues with claims, the side-by-side view, edits with history, flags,
decisions.

Every write is a short transaction guarded by optimistic concurrency: the caller passes the sample
version its screen was based on; a conditional ``UPDATE samples SET version = version + 1 WHERE
version = :expected`` decides who wins, and the loser gets ``StaleVersion`` carrying the current
text.

Claims: ``next_sample`` hands out a sample and records a Claim until ``expires_at``. On SQLite the
whole claim runs inside ``BEGIN IMMEDIATE`` (one writer at a time), so select-then-insert is atomic.
On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` and re-checked in a fresh
statement before the claim is written, so two annotators never get the same sample.

Decisions (issue 11, 20): each person's latest decision on the current text is a ``Review`` row that
records the version the person saw; the sample's status follows the dataset's ``decision_rule``
(``unanimous``, ``majority``, ``any-reject``) once ``overlap`` people decided, and a disagreement
makes it ``disputed`` until a lead adjudicates (an ``Adjudication`` row, final). A decision repeated
with the same version seen (a double click) is a no-op, never a second row or a false conflict. An
edit to an approved sample sends it back for review. Saving a turn re-checks the sample
(``recheck``: resolved findings close, kept in the edit's history) and clears the person's draft of
that turn (``drafts``).
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..errors import NotFound, PermissionDenied, StaleVersion, UsageError
from ..i18n import N_
from ..models import (
    DECISION_STATUS,
    DECISIONS,
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    Adjudication,
    CheckFinding,
    Claim,
    Dataset,
    Draft,
    Edit,
    Flag,
    Review,
    Sample,
    SecondReview,
    Setting,
    Suggestion,
    Turn,
    User,
    utcnow,
)
from . import audit, gold
from .auth import Actor
from .filters import SampleFilter

ALL_FLAGS = ETHICS_FLAGS + QUALITY_FLAGS
EDIT_FIELDS = ("text", "source_text")
EDIT_KINDS = ("manual", "machine", "restore")
FLAG_STATES = ("active", "confirmed", "cleared")
MAX_OVERLAP = 10
DECISION_RULES = ("unanimous", "majority", "any-reject")
# quick picks offered with Reject / Needs fix (free text goes into the note)
REASONS = (
    "mistranslation",
    "untranslated",
    "misaligned",
    "unethical",
    "low quality",
    "duplicate",
    "incomplete",
    "other",
)

_samples = Sample.__table__
_turns = Turn.__table__
_claims = Claim.__table__


def claim_ttl() -> timedelta:
    """How long a handed-out sample stays reserved (KOCURATE_CLAIM_MINUTES, default 30)."""
    return timedelta(minutes=float(os.environ.get("KOCURATE_CLAIM_MINUTES", "30")))


@dataclass
class QueueFilter(SampleFilter):
    """Which samples a queue hands out (new ones unless ``status`` says otherwise; None: any)."""

    status: str | None = "new"


# ---------------------------------------------------------------------------------------------
# queue


def _filter_conditions(session: Session, actor: Actor, f: QueueFilter) -> list[ColumnElement[bool]]:
    return f.conditions(session, actor)


def _my_open_claims(actor: Actor) -> Any:
    return select(Claim.sample_id).where(
        Claim.user_id == actor.id, Claim.expires_at > utcnow(), Claim.done.is_(False)
    )


def _available(actor: Actor, overlap: int, status: str | None) -> list[ColumnElement[bool]]:
    """Not done by me already, and not held by (overlap) other people."""
    now = utcnow()
    conds: list[ColumnElement[bool]] = [
        ~exists().where(
            Claim.sample_id == Sample.id, Claim.user_id == actor.id, Claim.done.is_(True)
        ),
    ]
    if overlap <= 1 or status != "new":
        conds.append(
            ~exists().where(
                Claim.sample_id == Sample.id,
                Claim.user_id != actor.id,
                Claim.done.is_(False),
                Claim.expires_at > now,
            )
        )
    else:
        # k annotators per sample: people who finished it plus people holding it must stay below k
        held = (
            select(func.count())
            .select_from(Claim)
            .where(
                Claim.sample_id == Sample.id,
                Claim.user_id != actor.id,
                or_(Claim.done.is_(True), Claim.expires_at > now),
            )
            .scalar_subquery()
        )
        # a sample waiting for a second review under the gold bar takes one more person
        conds.append(or_(held < overlap, Sample.id.in_(select(SecondReview.sample_id))))
    return conds


def _need_person(actor: Actor) -> int:
    if actor.id is None:
        raise PermissionDenied(
            msgid=N_("this action needs a logged-in person (the CLI cannot claim or decide)")
        )
    return actor.id


def _upsert_claim(session: Session, user_id: int, sample_id: int, *, done: bool = False) -> None:
    now = utcnow()
    values = {"claimed_at": now, "expires_at": now + claim_ttl(), "done": done}
    res = session.execute(
        update(_claims)
        .where(_claims.c.sample_id == sample_id, _claims.c.user_id == user_id)
        .values(**values)
    )
    if res.rowcount == 0:
        session.execute(insert(_claims).values(sample_id=sample_id, user_id=user_id, **values))


def _dataset_overlap(session: Session, dataset_id: int) -> int:
    overlap = session.scalar(select(Dataset.overlap).where(Dataset.id == dataset_id))
    if overlap is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    return overlap


def next_sample(
    session: Session,
    actor: Actor,
    dataset_id: int,
    filters: QueueFilter | None = None,
    *,
    after: int | None = None,
    order: str | None = None,
) -> int | None:
    """Claim and return the next sample of the queue, or None when the queue is empty.

    Without ``after`` the person's own open claim in this queue comes first (work resumes where it
    stopped); with ``after`` (the sample on screen) the queue moves on by id (keyset) and wraps
    around. ``order`` "risk" hands out the highest learned risk first (default: the dataset's
    setting, :mod:`kocurate.services.queue_order`).
    """
    actor.require("review")
    user_id = _need_person(actor)
    f = filters or QueueFilter()
    if f.status == "disputed" and not actor.can("adjudicate"):
        raise PermissionDenied(
            msgid=N_("the queue of disputed samples is for leads (adjudication)")
        )
    overlap = _dataset_overlap(session, dataset_id)
    base = [Sample.dataset_id == dataset_id, *_filter_conditions(session, actor, f)]
    mix = f.status == "new" and not f.mine  # gold samples are mixed into the main queue only
    if after is None:
        gid = gold.held_gold(session, user_id, dataset_id) if mix else None
        if gid is not None:
            _upsert_claim(session, user_id, gid)
            return gid
        # driven by my few open claims (ix_claims_user_expires), not by a scan of the queue
        mine = session.scalar(
            select(Sample.id)
            .where(*base, Sample.id.in_(_my_open_claims(actor)))
            .order_by(Sample.id)
            .limit(1)
        )
        if mine is not None:
            _upsert_claim(session, user_id, mine)
            return mine
    gid = gold.mix_pick(session, user_id, dataset_id) if mix else None
    if gid is not None:
        _upsert_claim(session, user_id, gid)
        return gid
    avail = [*_available(actor, overlap, f.status), Sample.id.not_in(gold.gold_ids(dataset_id))]
    pg = session.get_bind().dialect.name == "postgresql"
    from . import queue_order

    if queue_order.resolve(session, dataset_id, order) == "risk":
        sid = queue_order.next_by_risk(
            session,
            dataset_id,
            [*base, *avail],
            after,
            lock=pg,
            free=lambda i: _still_free(session, user_id, i, overlap, f.status),
        )
        if sid is not None:
            _upsert_claim(session, user_id, sid)
        return sid
    starts = [after or 0] + ([0] if after else [])
    for start in starts:
        cursor = start
        for _ in range(50):  # PostgreSQL: re-check after locking; give up on a pathological queue
            stmt = (
                select(Sample.id)
                .where(*base, *avail, Sample.id > cursor)
                .order_by(Sample.id)
                .limit(1)
            )
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


def _still_free(
    session: Session, user_id: int, sample_id: int, overlap: int, status: str | None
) -> bool:
    """Fresh-snapshot re-check under the row lock (a claim committed after our scan began)."""
    now = utcnow()
    if overlap <= 1 or status != "new":
        cond = and_(Claim.done.is_(False), Claim.expires_at > now)
        limit = 1
    else:
        cond = or_(Claim.done.is_(True), Claim.expires_at > now)
        limit = overlap + (1 if session.get(SecondReview, sample_id) is not None else 0)
    held = (
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.sample_id == sample_id, Claim.user_id != user_id, cond)
        )
        or 0
    )
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
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    overlap = _dataset_overlap(session, row.dataset_id)
    if not _still_free(session, user_id, sample_id, overlap, row.status):
        return False
    _upsert_claim(session, user_id, sample_id)
    return True


def release_claim(session: Session, actor: Actor, sample_id: int) -> None:
    """Give a claimed, undecided sample back to the queue."""
    session.execute(
        delete(_claims).where(
            _claims.c.sample_id == sample_id,
            _claims.c.user_id == actor.id,
            _claims.c.done.is_(False),
        )
    )


def reservations(session: Session, actor: Actor, sample_id: int) -> list[dict[str, Any]]:
    """Other people's open, unexpired claims on a sample: who, since when, until when."""
    rows = session.execute(
        select(User.username, Claim.user_id, Claim.claimed_at, Claim.expires_at)
        .join(User, User.id == Claim.user_id)
        .where(
            Claim.sample_id == sample_id,
            Claim.done.is_(False),
            Claim.expires_at > utcnow(),
            Claim.user_id != (actor.id if actor.id is not None else -1),
        )
        .order_by(Claim.claimed_at)
    ).all()
    return [
        {"user": r.username, "user_id": r.user_id, "since": r.claimed_at, "until": r.expires_at}
        for r in rows
    ]


def take_over(session: Session, actor: Actor, sample_id: int) -> None:
    """Claim a sample someone else holds: leads at any time, anyone once the reservation expired."""
    actor.require("review")
    user_id = _need_person(actor)
    if claim(session, actor, sample_id):
        return
    if not actor.can("adjudicate"):
        held = reservations(session, actor, sample_id)
        who = ", ".join(f"{r['user']} until {r['until']:%H:%M}" for r in held)
        raise PermissionDenied(
            msgid=N_("sample {sample_id} is reserved ({who}); a lead can take it over"),
            sample_id=sample_id,
            who=who,
        )
    now = utcnow()
    taken = [r["user"] for r in reservations(session, actor, sample_id)]
    session.execute(
        update(_claims)
        .where(
            _claims.c.sample_id == sample_id,
            _claims.c.user_id != user_id,
            _claims.c.done.is_(False),
            _claims.c.expires_at > now,
        )
        .values(expires_at=now)
    )
    _upsert_claim(session, user_id, sample_id)
    ds_id = session.scalar(select(_samples.c.dataset_id).where(_samples.c.id == sample_id))
    audit.record(
        session, actor, "take_over", dataset_id=ds_id, target=f"sample {sample_id}", previous=taken
    )


def neighbor(
    session: Session,
    actor: Actor,
    dataset_id: int,
    sample_id: int,
    direction: str = "next",
    filters: QueueFilter | None = None,
) -> int | None:
    """The previous/next sample of a filtered list by id (keyset browse; claims nothing)."""
    actor.require("review")
    f = filters or QueueFilter(status=None)
    conds = [Sample.dataset_id == dataset_id, *_filter_conditions(session, actor, f)]
    if direction == "prev":
        stmt = select(Sample.id).where(*conds, Sample.id < sample_id).order_by(Sample.id.desc())
    else:
        stmt = select(Sample.id).where(*conds, Sample.id > sample_id).order_by(Sample.id)
    return session.scalar(stmt.limit(1))


def my_claims(
    session: Session, actor: Actor, dataset_id: int | None = None, limit: int = 100
) -> list[int]:
    """Samples assigned to me (open, unexpired claims), oldest first."""
    conds = [Claim.user_id == actor.id, Claim.done.is_(False), Claim.expires_at > utcnow()]
    stmt = select(Claim.sample_id).where(*conds)
    if dataset_id is not None:
        stmt = stmt.join(Sample, Sample.id == Claim.sample_id).where(
            Sample.dataset_id == dataset_id
        )
    return list(session.scalars(stmt.order_by(Claim.claimed_at).limit(limit)))


def set_overlap(session: Session, actor: Actor, dataset_id: int, k: int) -> int:
    """Leads: k annotators review each sample of the dataset (agreement)."""
    actor.require("configure")
    if not 1 <= int(k) <= MAX_OVERLAP:
        raise UsageError(
            msgid=N_("overlap is 1 to {max_overlap} annotators per sample"), max_overlap=MAX_OVERLAP
        )
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    ds.overlap = int(k)
    session.flush()
    return ds.overlap


def set_decision_rule(session: Session, actor: Actor, dataset_id: int, rule: str) -> str:
    """Leads: how overlapping decisions settle a sample (unanimous, majority, any-reject)."""
    actor.require("configure")
    if rule not in DECISION_RULES:
        raise UsageError(
            msgid=N_("decision rule is one of {decision_rules}, not {rule!r}"),
            decision_rules=", ".join(DECISION_RULES),
            rule=rule,
        )
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    if ds.decision_rule != rule:
        audit.record(
            session,
            actor,
            "settings",
            dataset_id=dataset_id,
            target="decision_rule",
            before=ds.decision_rule,
            after=rule,
        )
        ds.decision_rule = rule
        session.flush()
    return rule


def queue_size(
    session: Session, actor: Actor, dataset_id: int, filters: QueueFilter | None = None
) -> int:
    """How many samples this queue can still hand to me (one COUNT over the indexed filters).

    The page counts once per queue and then subtracts what the person decides (incremental).
    """
    actor.require("review")
    f = filters or QueueFilter()
    overlap = _dataset_overlap(session, dataset_id)
    conds = [
        Sample.dataset_id == dataset_id,
        *_filter_conditions(session, actor, f),
        Sample.id.not_in(gold.gold_ids(dataset_id)),
    ]
    if actor.id is not None:
        conds += _available(actor, overlap, f.status)
    return int(session.scalar(select(func.count()).select_from(Sample).where(*conds)) or 0)


# ------------------------------------------------------------------------------ per-user settings

PREF_DEFAULTS: dict[str, Any] = {"stay_after_decision": False}


def _pref_key(actor: Actor) -> str:
    return f"review.prefs.{_need_person(actor)}"


def get_prefs(session: Session, actor: Actor) -> dict[str, Any]:
    """The person's review settings (e.g. ``stay_after_decision``: Reject / Needs fix stay on the
    sample)."""
    row = session.get(Setting, _pref_key(actor))
    return {**PREF_DEFAULTS, **(dict(row.value) if row else {})}


def set_prefs(session: Session, actor: Actor, **prefs: Any) -> dict[str, Any]:
    actor.require("review")
    bad = sorted(set(prefs) - set(PREF_DEFAULTS))
    if bad:
        raise UsageError(
            msgid=N_("unknown review setting(s) {bad}; one of {pref_defaults}"),
            bad=", ".join(bad),
            pref_defaults=", ".join(PREF_DEFAULTS),
        )
    row = session.get(Setting, _pref_key(actor))
    value = {**(dict(row.value) if row else {}), **prefs}
    if row is None:
        session.add(Setting(key=_pref_key(actor), value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    session.flush()
    return {**PREF_DEFAULTS, **value}


# -------------------------------------------------------------------------------------- versioning


def _current(session: Session, sample_id: int) -> dict[str, Any]:
    """What the sample looks like now (for the conflict view)."""
    row = session.execute(
        select(_samples.c.version, _samples.c.status).where(_samples.c.id == sample_id)
    ).first()
    if row is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    turns = session.execute(
        select(_turns.c.id, _turns.c.idx, _turns.c.role, _turns.c.text, _turns.c.source_text)
        .where(_turns.c.sample_id == sample_id)
        .order_by(_turns.c.idx)
    ).all()
    last = session.execute(
        select(Edit.user_id, Edit.created_at, User.username)
        .outerjoin(User, User.id == Edit.user_id)
        .where(Edit.sample_id == sample_id)
        .order_by(Edit.id.desc())
        .limit(1)
    ).first()
    return {
        "sample_id": sample_id,
        "version": row.version,
        "status": row.status,
        "turns": [dict(t._mapping) for t in turns],
        "last_editor": (last.username or "cli") if last else None,
        "last_edit_at": last.created_at.isoformat(timespec="seconds") if last else None,
    }


def _bump(session: Session, sample_id: int, expected_version: int | None, what: str) -> int:
    """Increment the sample version, only if it is still ``expected_version`` (when given)."""
    stmt = update(_samples).where(_samples.c.id == sample_id)
    if expected_version is not None:
        stmt = stmt.where(_samples.c.version == expected_version)
    stmt = stmt.values(version=_samples.c.version + 1, updated_at=utcnow()).returning(
        _samples.c.version
    )
    new = session.execute(stmt).scalar()
    if new is None:
        cur = _current(session, sample_id)  # raises NotFound
        raise StaleVersion(
            f"sample {sample_id} changed since you opened it (your version {expected_version}, now"
            f" {cur['version']}{', by ' + cur['last_editor'] if cur['last_editor'] else ''});"
            f" {what} not saved",
            cur["version"],
            cur,
        )
    return int(new)


# -------------------------------------------------------------------------------------------- edits


def save_edit(
    session: Session,
    actor: Actor,
    sample_id: int,
    turn_id: int,
    text: str,
    expected_version: int,
    *,
    field: str = "text",
    kind: str = "manual",
    meta: dict[str, Any] | None = None,
    recheck: bool = True,
) -> int:
    """Change one turn's Korean text (or English source); returns the new sample version.

    Raises StaleVersion (with the other person's text in ``.current``) when the sample moved on.
    Saving an unchanged text is a no-op that returns the current version. The saver's draft of the
    turn goes; an approved (or disputed) sample goes back to review; the cheap checks re-run on the
    sample (``recheck=False`` leaves that to the caller, e.g. after several turns).
    """
    actor.require("edit")
    if field not in EDIT_FIELDS:
        raise UsageError(
            msgid=N_("field is one of {edit_fields}"), edit_fields=", ".join(EDIT_FIELDS)
        )
    if kind not in EDIT_KINDS:
        raise UsageError(msgid=N_("kind is one of {edit_kinds}"), edit_kinds=", ".join(EDIT_KINDS))
    if text is None:
        raise UsageError(msgid=N_("text is required"))
    text = text.replace("\r\n", "\n")
    col = _turns.c[field]
    row = session.execute(select(col, _turns.c.sample_id).where(_turns.c.id == turn_id)).first()
    if row is None or row.sample_id != sample_id:
        raise NotFound(
            msgid=N_("no turn {turn_id} in sample {sample_id}"),
            turn_id=turn_id,
            sample_id=sample_id,
        )
    if row[0] == text:
        version = session.scalar(select(_samples.c.version).where(_samples.c.id == sample_id))
        if version != expected_version:
            _bump(session, sample_id, expected_version, "edit")  # raises StaleVersion
        _drop_draft(session, actor, turn_id, field)
        return int(version)
    new_version = _bump(session, sample_id, expected_version, "edit")
    # read "before" after winning the version race: the row is ours now
    before = session.execute(select(col).where(_turns.c.id == turn_id)).scalar() or ""
    session.execute(update(_turns).where(_turns.c.id == turn_id).values({field: text}))
    if field == "text":
        session.execute(
            update(_samples)
            .where(_samples.c.id == sample_id)
            .values(ko_chars=_samples.c.ko_chars + (len(text) - len(before)))
        )
    session.execute(
        insert(Edit.__table__).values(
            sample_id=sample_id,
            turn_id=turn_id,
            field=field,
            user_id=actor.id,
            kind=kind,
            before=before,
            after=text,
            sample_version=new_version,
            meta=meta or {},
            created_at=utcnow(),
        )
    )
    _drop_draft(session, actor, turn_id, field)
    _back_to_review(session, sample_id)
    if recheck:
        from . import recheck as recheck_service

        recheck_service.recheck_sample(session, sample_id)
    return new_version


def _drop_draft(session: Session, actor: Actor, turn_id: int, field: str) -> None:
    if actor.id is not None:
        session.execute(
            delete(Draft.__table__).where(
                Draft.user_id == actor.id, Draft.turn_id == turn_id, Draft.field == field
            )
        )


def _back_to_review(session: Session, sample_id: int) -> None:
    """Approved means reviewed: changed text goes back to the queue and needs new decisions (the
    earlier ones were on other text; ``_settle`` ignores them)."""
    status = session.scalar(select(_samples.c.status).where(_samples.c.id == sample_id))
    if status in ("approved", "disputed") and not gold.is_gold(session, sample_id):
        session.execute(update(_samples).where(_samples.c.id == sample_id).values(status="new"))
        session.execute(
            delete(_claims).where(_claims.c.sample_id == sample_id, _claims.c.done.is_(True))
        )


def history(
    session: Session, actor: Actor, sample_id: int, *, last: int | None = None
) -> list[dict[str, Any]]:
    """Every edit of the sample (only the ``last`` ones when given), oldest first: who, when, which
    turn and field, before, after."""
    actor.require("review")
    q = (
        select(Edit, User.username, Turn.idx, Turn.role)
        .outerjoin(User, User.id == Edit.user_id)
        .join(Turn, Turn.id == Edit.turn_id)
        .where(Edit.sample_id == sample_id)
        .order_by(Edit.id.desc())
    )
    rows = session.execute(q.limit(last) if last else q).all()[::-1]
    return [
        {
            "id": e.id,
            "turn_id": e.turn_id,
            "turn_idx": idx,
            "role": role,
            "field": e.field,
            "user": username or "cli",
            "kind": e.kind,
            "before": e.before,
            "after": e.after,
            "version": e.sample_version,
            "meta": e.meta,
            "at": e.created_at.isoformat(timespec="seconds"),
        }
        for e, username, idx, role in rows
    ]


def restore(
    session: Session, actor: Actor, edit_id: int, expected_version: int, *, which: str = "after"
) -> int:
    """Put back the text of a history entry (``after``: as that edit left it; ``before``: as it
    was)."""
    actor.require("edit")
    edit = session.get(Edit, edit_id)
    if edit is None:
        raise NotFound(msgid=N_("no edit {edit_id}"), edit_id=edit_id)
    if which not in ("before", "after"):
        raise UsageError(msgid=N_("which is 'before' or 'after'"))
    text = edit.after if which == "after" else edit.before
    return save_edit(
        session,
        actor,
        edit.sample_id,
        edit.turn_id,
        text,
        expected_version,
        field=edit.field,
        kind="restore",
        meta={"edit_id": edit_id, "which": which},
    )


# -------------------------------------------------------------------------------------------- flags


def set_flags(
    session: Session,
    actor: Actor,
    sample_id: int,
    flags: dict[str, str | None],
    expected_version: int | None = None,
) -> int:
    """Replace my own flags on the sample with ``flags`` (category -> note); returns the new
    version."""
    actor.require("flag")
    bad = sorted(set(flags) - set(ALL_FLAGS))
    if bad:
        raise UsageError(
            msgid=N_("unknown flag(s) {bad}; one of {all_flags}"),
            bad=", ".join(bad),
            all_flags=", ".join(ALL_FLAGS),
        )
    clean = {c: (n.strip() or None) if isinstance(n, str) else None for c, n in flags.items()}
    mine = Flag.__table__
    own = and_(
        mine.c.sample_id == sample_id,
        mine.c.origin == "annotator",
        mine.c.user_id.is_(None) if actor.id is None else mine.c.user_id == actor.id,
    )
    current = {
        r.category: r.note for r in session.execute(select(mine.c.category, mine.c.note).where(own))
    }
    if current == clean:
        version = session.scalar(select(_samples.c.version).where(_samples.c.id == sample_id))
        if version is None:
            raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
        if expected_version is not None and version != expected_version:
            _bump(session, sample_id, expected_version, "flags")
        return int(version)
    new_version = _bump(session, sample_id, expected_version, "flags")
    session.execute(delete(mine).where(own))
    now = utcnow()
    if clean:
        session.execute(
            insert(mine),
            [
                {
                    "sample_id": sample_id,
                    "category": c,
                    "note": n,
                    "user_id": actor.id,
                    "origin": "annotator",
                    "state": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for c, n in sorted(clean.items())
            ],
        )
    return new_version


def set_flag_state(session: Session, actor: Actor, flag_id: int, state: str) -> int:
    """Confirm or clear a flag (typically a check's or model's pre-flag); returns the new
    version."""
    actor.require("flag")
    if state not in FLAG_STATES:
        raise UsageError(
            msgid=N_("state is one of {flag_states}"), flag_states=", ".join(FLAG_STATES)
        )
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(msgid=N_("no flag {flag_id}"), flag_id=flag_id)
    if (
        state == "cleared"
        and flag.category in ETHICS_FLAGS
        and flag.state != "cleared"
        and not actor.can("adjudicate")
        and not (flag.user_id is not None and flag.user_id == actor.id)
    ):
        raise PermissionDenied(
            msgid=N_(
                "only a lead or the person who set it may clear the ethics flag {category} on"
                " sample {sample_id}"
            ),
            category=flag.category,
            sample_id=flag.sample_id,
        )
    flag.state = state
    flag.decided_by = actor.id
    flag.updated_at = utcnow()
    session.flush()
    return _bump(session, flag.sample_id, None, "flag state")


# ---------------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class DecisionResult:
    sample_id: int
    status: str  # the sample's status afterwards
    repeated: bool = (
        False  # the same decision on the same version seen was already recorded: nothing done
    )
    adjudicated: bool = False  # a lead's final decision


def _normalize_decision(decision: str) -> str:
    decision = {"approved": "approve", "rejected": "reject", "skipped": "skip"}.get(
        decision, decision
    )
    if decision not in DECISIONS:
        raise UsageError(msgid=N_("decision is one of {decisions}"), decisions=", ".join(DECISIONS))
    return decision


def _status_of(session: Session, sample_id: int) -> str:
    return session.scalar(select(_samples.c.status).where(_samples.c.id == sample_id)) or "new"


def _already_decided(
    session: Session, user_id: int, sample_id: int, seen_version: int
) -> str | None:
    """The decision this person recorded on this very version already (a double click, a late
    retry)."""
    return session.scalar(
        select(Review.decision)
        .where(
            Review.sample_id == sample_id,
            Review.user_id == user_id,
            Review.seen_version == seen_version,
        )
        .limit(1)
    ) or session.scalar(
        select(Adjudication.decision)
        .where(
            Adjudication.sample_id == sample_id,
            Adjudication.user_id == user_id,
            Adjudication.seen_version == seen_version,
        )
        .limit(1)
    )


def _last_text_version(session: Session, sample_id: int) -> int:
    """The sample version of its last text edit: decisions on earlier versions judged other text."""
    return int(
        session.scalar(select(func.max(Edit.sample_version)).where(Edit.sample_id == sample_id))
        or 0
    )


def _settle(session: Session, sample_id: int, overlap: int, rule: str, last_decision: str) -> str:
    """The status that the decisions on the current text give under the dataset's rule."""
    since = _last_text_version(session, sample_id)
    fresh = or_(Review.seen_version.is_(None), Review.seen_version >= since)
    adj = session.scalar(
        select(Adjudication.decision)
        .where(Adjudication.sample_id == sample_id, Adjudication.seen_version >= since)
        .order_by(Adjudication.id.desc())
        .limit(1)
    )
    if adj is not None:
        return DECISION_STATUS[adj]  # a lead's adjudication is final (until the text changes)
    votes: dict[int, str] = {}
    for uid, dec in session.execute(
        select(Review.user_id, Review.decision)
        .where(Review.sample_id == sample_id, fresh)
        .order_by(Review.id)
    ):
        if dec == "skip":
            votes.pop(uid, None)
        else:
            votes[uid] = dec
    if len(votes) < max(1, overlap):
        return "skipped" if overlap <= 1 and last_decision == "skip" and not votes else "new"
    if gold.second_review_gate(session, sample_id, set(votes), overlap):
        return "new"  # someone below the gold bar decided: one more reviewer at or above it first
    counts = Counter(votes.values())
    if rule == "any-reject" and counts.get("reject"):
        return "rejected"
    if len(counts) == 1:
        return DECISION_STATUS[next(iter(counts))]
    if rule == "majority":
        top, n = counts.most_common(1)[0]
        if 2 * n > len(votes):
            return DECISION_STATUS[top]
    return "disputed"


def _check_reservation(
    session: Session, actor: Actor, user_id: int, sample_id: int, overlap: int, status: str
) -> None:
    """Deciding a sample someone else holds needs a lead (issue 20.7)."""
    if actor.can("adjudicate"):
        return
    mine = session.scalar(
        select(Claim.id)
        .where(
            Claim.sample_id == sample_id,
            Claim.user_id == user_id,
            or_(Claim.done.is_(True), Claim.expires_at > utcnow()),
        )
        .limit(1)
    )
    if mine is None and not _still_free(session, user_id, sample_id, overlap, status):
        held = reservations(session, actor, sample_id)
        who = ", ".join(r["user"] for r in held) or f"{overlap} other reviewer(s)"
        raise PermissionDenied(
            msgid=N_("sample {sample_id} is reserved for {who}; deciding it needs a lead"),
            sample_id=sample_id,
            who=who,
        )


def submit_decision(
    session: Session,
    actor: Actor,
    sample_id: int,
    decision: str,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    reason: str | None = None,
    seconds: float | None = None,
    adjudicate: bool | None = None,
) -> DecisionResult:
    """Record a decision on the version the person saw (``expected_version``) and settle the status.

    Idempotent: the same person making the same decision on the same version again (a double click
    arriving late) changes nothing and reports ``repeated``; a different decision on an old version
    is a StaleVersion like any other. A lead's decision on a sample that is already settled or
    disputed (or with ``adjudicate=True``) is an adjudication: final, recorded apart from the
    reviews.
    """
    actor.require("review")
    user_id = _need_person(actor)
    decision = _normalize_decision(decision)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 64:
        raise UsageError(msgid=N_("reason: at most 64 characters (put longer text in the note)"))
    row = session.execute(
        select(_samples.c.dataset_id, _samples.c.status, _samples.c.version).where(
            _samples.c.id == sample_id
        )
    ).first()
    if row is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    prior = (
        _already_decided(session, user_id, sample_id, expected_version)
        if expected_version is not None
        else None
    )
    if prior == decision:
        return DecisionResult(sample_id, row.status, repeated=True)
    ds = session.execute(
        select(Dataset.overlap, Dataset.decision_rule).where(Dataset.id == row.dataset_id)
    ).one()
    if adjudicate is None:
        adjudicate = actor.can("adjudicate") and row.status != "new" and decision != "skip"
    elif adjudicate:
        actor.require("adjudicate")
        if decision == "skip":
            raise UsageError(msgid=N_("an adjudication approves, rejects or asks for a fix"))
    if not adjudicate and gold.is_gold(session, sample_id):
        # scored against the expected answer; the gold sample's status and the reviews stay as they
        # are
        gold.record_answer(session, actor, sample_id, decision)
        _upsert_claim(session, user_id, sample_id, done=True)
        return DecisionResult(sample_id, row.status)
    if not adjudicate:
        _check_reservation(session, actor, user_id, sample_id, ds.overlap, row.status)
    # Stale only when the text changed after what the person saw (or they decided otherwise on it):
    # other reviewers' decisions and flags move the version too, but do not change what was judged.
    if (
        expected_version is not None
        and row.version != expected_version
        and (prior is not None or _last_text_version(session, sample_id) > expected_version)
    ):
        _bump(
            session, sample_id, expected_version, "decision"
        )  # raises StaleVersion with the current text
    current = row.version
    for attempt in range(3):
        try:
            _bump(session, sample_id, current, "decision")
            break
        except StaleVersion as exc:
            # a twin of this click committed while we waited for the row: that one counts, this one
            # is a repeat
            if (
                expected_version is not None
                and _already_decided(session, user_id, sample_id, expected_version) == decision
            ):
                return DecisionResult(sample_id, _status_of(session, sample_id), repeated=True)
            if attempt == 2 or (
                expected_version is not None
                and _last_text_version(session, sample_id) > expected_version
            ):
                raise
            current = exc.current_version
    seen = expected_version if expected_version is not None else current
    now = utcnow()
    if adjudicate:
        session.execute(
            insert(Adjudication.__table__).values(
                sample_id=sample_id,
                user_id=user_id,
                decision=decision,
                from_status=row.status,
                seen_version=seen,
                reason=reason,
                note=(note or None),
                created_at=now,
            )
        )
        status = DECISION_STATUS[decision]
        audit.record(
            session,
            actor,
            "adjudicate",
            dataset_id=row.dataset_id,
            target=f"sample {sample_id}",
            decision=decision,
            from_status=row.status,
            reason=reason,
        )
    else:
        cats = sorted(
            set(
                session.scalars(
                    select(Flag.category).where(
                        Flag.sample_id == sample_id, Flag.state != "cleared"
                    )
                )
            )
        )
        session.execute(
            insert(Review.__table__).values(
                sample_id=sample_id,
                user_id=user_id,
                decision=decision,
                note=(note or None),
                reason=reason,
                seconds=seconds,
                flags=cats,
                seen_version=seen,
                created_at=now,
            )
        )
        status = _settle(session, sample_id, ds.overlap, ds.decision_rule, decision)
    _upsert_claim(session, user_id, sample_id, done=True)
    if status != row.status:
        session.execute(update(_samples).where(_samples.c.id == sample_id).values(status=status))
    return DecisionResult(sample_id, status, adjudicated=bool(adjudicate))


def decide(
    session: Session,
    actor: Actor,
    sample_id: int,
    decision: str,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    seconds: float | None = None,
    reason: str | None = None,
    adjudicate: bool | None = None,
) -> str:
    """Approve / reject / needs_fix / skip; returns the sample's status afterwards (see
    ``submit_decision``)."""
    actor.require("review")
    return submit_decision(
        session,
        actor,
        sample_id,
        decision,
        expected_version=expected_version,
        note=note,
        reason=reason,
        seconds=seconds,
        adjudicate=adjudicate,
    ).status


def adjudicate(
    session: Session,
    actor: Actor,
    sample_id: int,
    decision: str,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    reason: str | None = None,
) -> DecisionResult:
    """Leads: settle a (disputed) sample; the decision is final and recorded as an adjudication."""
    actor.require("adjudicate")
    return submit_decision(
        session,
        actor,
        sample_id,
        decision,
        expected_version=expected_version,
        note=note,
        reason=reason,
        adjudicate=True,
    )


def disputed(
    session: Session, actor: Actor, dataset_id: int, *, after: int = 0, limit: int = 50
) -> list[dict[str, Any]]:
    """Leads: the adjudication queue (disputed samples by id, keyset) with each reviewer's latest
    decision."""
    actor.require("adjudicate")
    ids = list(
        session.scalars(
            select(Sample.id)
            .where(Sample.dataset_id == dataset_id, Sample.status == "disputed", Sample.id > after)
            .order_by(Sample.id)
            .limit(limit)
        )
    )
    out: dict[int, dict[str, Any]] = {i: {"sample_id": i, "decisions": {}} for i in ids}
    if ids:
        for sid, user, dec, rsn in session.execute(
            select(Review.sample_id, User.username, Review.decision, Review.reason)
            .join(User, User.id == Review.user_id)
            .where(Review.sample_id.in_(ids))
            .order_by(Review.id)
        ):
            out[sid]["decisions"][user] = dec + (f" ({rsn})" if rsn else "")
    return list(out.values())


# --------------------------------------------------------------------------------------------- view


def diff_text(
    old: str, new: str, *, old_name: str = "machine translation", new_name: str = "current"
) -> str:
    """A plain-text unified diff (empty when equal)."""
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=2
    )
    return "\n".join(lines)


def get_sample_view(session: Session, actor: Actor, sample_id: int) -> dict[str, Any]:
    """Everything the review screen shows about one sample, as plain data."""
    actor.require("review")
    from .datasets import sample_view

    view = sample_view(session, sample_id)
    for t in view["turns"]:
        t["diff"] = diff_text(t["mt_text"], t["text"])
    flags = session.execute(
        select(Flag, User.username)
        .outerjoin(User, User.id == Flag.user_id)
        .where(Flag.sample_id == sample_id)
        .order_by(Flag.id)
    ).all()
    view["flags"] = [
        {
            "id": f.id,
            "category": f.category,
            "note": f.note,
            "origin": f.origin,
            "state": f.state,
            "turn_idx": f.turn_idx,
            "user": u,
            "mine": f.user_id == actor.id and f.origin == "annotator",
        }
        for f, u in flags
    ]
    view["my_flags"] = {f["category"]: f["note"] for f in view["flags"] if f["mine"]}
    findings = session.scalars(
        select(CheckFinding)
        .where(CheckFinding.sample_id == sample_id)
        .order_by(CheckFinding.turn_idx, CheckFinding.id)
    ).all()
    view["findings"] = [
        {
            "id": c.id,
            "check": c.check,
            "severity": c.severity,
            "turn_idx": c.turn_idx,
            "span": (c.span_start, c.span_end),
            "message": c.message,
            "state": c.state,
            "data": c.data,
        }
        for c in findings
    ]
    # findings that edits resolved live in those edits' history (recheck)
    view["resolved_findings"] = [
        {**f, "version": v}
        for v, meta in session.execute(
            select(Edit.sample_version, Edit.meta)
            .where(Edit.sample_id == sample_id)
            .order_by(Edit.id)
        )
        for f in (meta or {}).get("resolved_findings", [])
    ]
    sugg = session.scalars(
        select(Suggestion)
        .where(Suggestion.sample_id == sample_id, Suggestion.state == "open")
        .order_by(Suggestion.id)
    ).all()
    view["suggestions"] = [
        {
            "id": s.id,
            "turn_id": s.turn_id,
            "text": s.text,
            "engine": s.engine,
            "based_on_version": s.based_on_version,
        }
        for s in sugg
    ]
    reviews = session.execute(
        select(Review, User.username)
        .join(User, User.id == Review.user_id)
        .where(Review.sample_id == sample_id)
        .order_by(Review.id)
    ).all()
    view["reviews"] = [
        {
            "user": u,
            "decision": r.decision,
            "note": r.note,
            "reason": r.reason,
            "seen_version": r.seen_version,
            "at": r.created_at.isoformat(timespec="seconds"),
        }
        for r, u in reviews
    ]
    adjs = session.execute(
        select(Adjudication, User.username)
        .outerjoin(User, User.id == Adjudication.user_id)
        .where(Adjudication.sample_id == sample_id)
        .order_by(Adjudication.id)
    ).all()
    view["adjudications"] = [
        {
            "user": u or "cli",
            "decision": a.decision,
            "from_status": a.from_status,
            "reason": a.reason,
            "note": a.note,
            "at": a.created_at.isoformat(timespec="seconds"),
        }
        for a, u in adjs
    ]
    # one read of the sample's live claims serves the banner, the read-only rule and "reserved for"
    now = utcnow()
    claims = session.execute(
        select(Claim.user_id, User.username, Claim.claimed_at, Claim.expires_at, Claim.done)
        .join(User, User.id == Claim.user_id)
        .where(Claim.sample_id == sample_id, or_(Claim.done.is_(True), Claim.expires_at > now))
        .order_by(Claim.claimed_at)
    ).all()
    if gold.is_gold(
        session, sample_id
    ):  # everyone may hold a gold sample: nobody else's hold is shown
        claims = [c for c in claims if c.user_id == actor.id]
    held = [c for c in claims if not c.done and c.expires_at > now]
    view["claimed_by"] = [c.username for c in held]
    ds = session.execute(
        select(Dataset.overlap, Dataset.decision_rule).where(Dataset.id == view["dataset_id"])
    ).one()
    view["overlap"], view["decision_rule"] = ds.overlap, ds.decision_rule
    view["reservations"] = [
        {"user": c.username, "user_id": c.user_id, "since": c.claimed_at, "until": c.expires_at}
        for c in held
        if c.user_id != actor.id
    ]
    mine = any(c.user_id == actor.id for c in held)
    view["reserved_for_me"] = mine
    # someone else holds it and it is not free for me (same rule as _still_free): read-only, leads
    # take over
    if ds.overlap <= 1 or view["status"] != "new":
        others = len(view["reservations"])
        limit = 1
    else:
        others = sum(1 for c in claims if c.user_id != actor.id)
        limit = ds.overlap
    view["read_only"] = (
        bool(view["reservations"]) and not mine and actor.id is not None and others >= limit
    )
    view["n_edits"] = (
        session.scalar(select(func.count()).select_from(Edit).where(Edit.sample_id == sample_id))
        or 0
    )
    return view


def sample_brief(session: Session, actor: Actor, sample_id: int) -> dict[str, Any]:
    """Id, dataset, status and version of a sample (one indexed read; for links and queues)."""
    actor.require("review")
    row = session.execute(
        select(_samples.c.id, _samples.c.dataset_id, _samples.c.status, _samples.c.version).where(
            _samples.c.id == sample_id
        )
    ).first()
    if row is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    return dict(row._mapping)


def queue_counts(session: Session, actor: Actor, dataset_id: int) -> dict[str, int]:
    """Samples per status in a dataset (one GROUP BY over the status index)."""
    actor.require("review")
    rows = session.execute(
        select(Sample.status, func.count())
        .where(Sample.dataset_id == dataset_id)
        .group_by(Sample.status)
    )
    return {s: n for s, n in rows}
