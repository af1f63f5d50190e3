"""Bulk actions on a selection (issue 17): preview (count + a sample of what changes), apply,
revert.

A bulk operation is a ``BulkOp`` row plus one ``BulkItem`` per sample it would change, written by
one ``INSERT … SELECT`` at preview time with the sample's version then. Applying it:

1. items whose sample moved on since the preview (version differs) are marked ``changed`` and
skipped
   (the message names them);
2. the other samples get ``version = version + 1`` in one conditional UPDATE (the same optimistic
   concurrency as ``review.save_edit``): if a concurrent writer slipped in between, nothing is
   saved;
3. the action itself runs as set-based SQL (status + Review rows, flags, findings, claims); rows it
   touches besides the sample are remembered in ``bulk_refs`` with their state before;
4. one ``bulk`` entry goes to the audit log.

``revert(op)`` undoes an applied operation as a whole only while none of its samples changed since
(version still the one it left); otherwise it refuses and names the changed samples, unless
``skip_changed=True`` — then it reverts the rest and lists the samples it left alone.

Leads only (permission ``adjudicate``): annotators are refused here, in the service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..errors import Conflict, KocurateError, NotFound, UsageError
from ..i18n import N_
from ..models import (
    CLOSED_FINDING_STATES,
    DECISION_STATUS,
    STATUSES,
    BulkItem,
    BulkOp,
    BulkRef,
    CheckFinding,
    Claim,
    Flag,
    Review,
    Sample,
    SampleSignal,
    Turn,
    User,
    utcnow,
)
from . import audit
from . import review as rv
from .auth import Actor

PERMISSION = "adjudicate"  # leads and admins
STATUS_ACTIONS = {
    "approve": "approved",
    "reject": "rejected",
    "needs_fix": "needs_fix",
    "supersede": "superseded",
}
ACTIONS = (*STATUS_ACTIONS, "add_flag", "remove_flag", "clear_findings", "assign", "replace")
ASSIGN_DAYS = 7  # an assignment is a claim that lasts this long
SAMPLE_ROWS = 20

_items = BulkItem.__table__
_samples = Sample.__table__


@dataclass
class Selection:
    """Which samples a bulk action, a replace, a QA sample or a risk ranking works on.

    The review-queue filter (status, check, flag, query, confidence) plus the other selections the
    app has: a near-duplicate group, a variant group (English source hash) and explicit sample ids.
    """

    dataset_id: int | None = None
    status: str | None = None
    check: str | None = None
    flag: str | None = None
    query: str | None = None  # search text (Korean or English)
    max_confidence: float | None = None
    dup_group: int | None = None
    src_hash: str | None = None
    sample_ids: list[int] | None = None
    exclude_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def describe(self) -> str:
        parts = [
            f"{k}={v}" for k, v in self.to_dict().items() if k not in ("sample_ids", "exclude_ids")
        ]
        if self.sample_ids is not None:
            parts.append(f"{len(self.sample_ids)} chosen samples")
        if self.exclude_ids:
            parts.append(f"except {len(self.exclude_ids)}")
        return ", ".join(parts) or "all samples"


def conditions(session: Session, actor: Actor, sel: Selection) -> list[ColumnElement[bool]]:
    """SQL conditions on ``Sample`` for a selection (the review queue's own filter, plus
    groups/ids)."""
    if sel.status and sel.status not in STATUSES:
        raise UsageError(
            msgid=N_("unknown status {status!r}; one of {statuses}"),
            status=sel.status,
            statuses=", ".join(STATUSES),
        )
    f = rv.QueueFilter(
        status=sel.status,
        flag=sel.flag,
        check=sel.check,
        text=sel.query,
        max_confidence=sel.max_confidence,
    )
    conds = rv._filter_conditions(session, actor, f)
    if sel.dataset_id is not None:
        conds.insert(0, Sample.dataset_id == sel.dataset_id)
    if sel.dup_group is not None:
        conds.append(Sample.dup_group == sel.dup_group)
    if sel.src_hash:
        conds.append(
            Sample.id.in_(
                select(SampleSignal.sample_id).where(SampleSignal.src_hash == sel.src_hash)
            )
        )
    if sel.sample_ids is not None:
        conds.append(Sample.id.in_([int(i) for i in sel.sample_ids]))
    if sel.exclude_ids:
        conds.append(Sample.id.not_in([int(i) for i in sel.exclude_ids]))
    return conds


# ------------------------------------------------------------------------------------------ preview


def _would_change(action: str, params: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Samples the action would actually change (the others are left out of the operation)."""
    if action in STATUS_ACTIONS:
        return [Sample.status != STATUS_ACTIONS[action]]
    flag_open = exists().where(
        Flag.sample_id == Sample.id, Flag.category == params.get("flag"), Flag.state != "cleared"
    )
    if action == "add_flag":
        return [~flag_open]
    if action == "remove_flag":
        return [flag_open]
    if action == "clear_findings":
        fc = [CheckFinding.sample_id == Sample.id, CheckFinding.state.notin_(CLOSED_FINDING_STATES)]
        if params.get("check"):
            fc.append(CheckFinding.check == params["check"])
        return [exists().where(*fc)]
    if action == "assign":
        return [
            ~exists().where(
                Claim.sample_id == Sample.id,
                Claim.user_id == params["user_id"],
                Claim.done.is_(False),
                Claim.expires_at > utcnow(),
            )
        ]
    return []


def _check_params(
    session: Session,
    action: str,
    reason: str | None,
    flag: str | None,
    assignee: str | None,
    check: str | None,
) -> dict[str, Any]:
    if action not in ACTIONS or action == "replace":
        raise UsageError(
            msgid=N_("unknown bulk action {action!r}; one of {choices}"),
            action=action,
            choices=", ".join(a for a in ACTIONS if a != "replace"),
        )
    params: dict[str, Any] = {}
    if action == "reject":
        if not (reason or "").strip():
            raise UsageError(msgid=N_("reject needs a reason"))
        params["reason"] = reason.strip()  # type: ignore[union-attr]
    if action in ("add_flag", "remove_flag"):
        if flag not in rv.ALL_FLAGS:
            raise UsageError(
                msgid=N_("{action} needs a flag, one of {all_flags}"),
                action=action,
                all_flags=", ".join(rv.ALL_FLAGS),
            )
        params["flag"] = flag
    if action == "clear_findings" and check:
        params["check"] = check
    if action == "assign":
        if not assignee:
            raise UsageError(msgid=N_("assign needs a person (user name)"))
        uid = session.scalar(
            select(User.id).where(User.username == assignee, User.active.is_(True))
        )
        if uid is None:
            raise NotFound(msgid=N_("no active user {assignee!r}"), assignee=assignee)
        params["user_id"], params["user"] = uid, assignee
    return params


def new_op(
    session: Session,
    actor: Actor,
    action: str,
    sel: Selection,
    params: dict[str, Any],
    note: str | None,
) -> BulkOp:
    op = BulkOp(
        action=action,
        dataset_id=sel.dataset_id,
        params={**params, "selection": sel.to_dict()},
        note=(note or "").strip() or None,
        state="preview",
        user_id=actor.id,
        username=actor.username,
        n_selected=0,
        n_changed=0,
        n_skipped=0,
        created_at=utcnow(),
    )
    session.add(op)
    session.flush()
    return op


def preview(
    session: Session,
    actor: Actor,
    action: str,
    sel: Selection,
    *,
    reason: str | None = None,
    flag: str | None = None,
    assignee: str | None = None,
    check: str | None = None,
    note: str | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Count what ``action`` would change on the selection and show a sample; nothing changes yet.

    Returns ``{"op_id", "action", "selected", "count", "sample": [...], "selection"}``; pass
    ``op_id`` to :func:`apply` (samples edited in between are then skipped with a message)."""
    actor.require(PERMISSION)
    params = _check_params(session, action, reason, flag, assignee, check)
    conds = conditions(session, actor, sel)
    op = new_op(session, actor, action, sel, params, note)
    session.execute(
        insert(_items).from_select(
            ["op_id", "sample_id", "before_version", "before_status", "skipped"],
            select(literal(op.id), Sample.id, Sample.version, Sample.status, literal("")).where(
                *conds, *_would_change(action, params)
            ),
        )
    )
    op.n_changed = (
        session.scalar(select(func.count()).select_from(_items).where(_items.c.op_id == op.id)) or 0
    )
    op.n_selected = session.scalar(select(func.count()).select_from(Sample).where(*conds)) or 0
    return {
        "op_id": op.id,
        "action": action,
        "selected": op.n_selected,
        "count": op.n_changed,
        "unchanged": op.n_selected - op.n_changed,
        "selection": sel.describe(),
        "sample": sample_of(session, op.id, action, params, sample_rows),
    }


def sample_of(
    session: Session, op_id: int, action: str, params: dict[str, Any], n: int
) -> list[dict[str, Any]]:
    """The first ``n`` samples of an operation: id, key, status now → after, first Korean turn."""
    first = (
        select(Turn.text)
        .where(Turn.sample_id == BulkItem.sample_id)
        .order_by(Turn.idx)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(BulkItem.sample_id, Sample.key, BulkItem.before_status, first)
        .join(Sample, Sample.id == BulkItem.sample_id)
        .where(BulkItem.op_id == op_id)
        .order_by(BulkItem.id)
        .limit(n)
    ).all()
    change = {
        "add_flag": f"+ flag {params.get('flag')}",
        "remove_flag": f"- flag {params.get('flag')}",
        "clear_findings": (
            "findings cleared" + (f" ({params['check']})" if params.get("check") else "")
        ),
        "assign": f"assigned to {params.get('user')}",
        "replace": "text replaced",
    }
    out = []
    for sid, key, status, text in rows:
        after = STATUS_ACTIONS.get(action)
        out.append(
            {
                "sample_id": sid,
                "key": key,
                "status": status,
                "change": f"{status} → {after}" if after else change.get(action, action),
                "text": (text or "")[:160],
            }
        )
    return out


def discard(session: Session, actor: Actor, op_id: int) -> None:
    """Drop a preview that will not be applied."""
    actor.require(PERMISSION)
    op = _get(session, op_id)
    if op.state != "preview":
        raise Conflict(
            msgid=N_("bulk operation {op_id} is {state}, not a preview"),
            op_id=op_id,
            state=op.state,
        )
    session.execute(delete(_items).where(_items.c.op_id == op_id))
    op.state = "discarded"


def _get(session: Session, op_id: int) -> BulkOp:
    op = session.get(BulkOp, op_id)
    if op is None:
        raise NotFound(msgid=N_("no bulk operation {op_id}"), op_id=op_id)
    return op


# -------------------------------------------------------------------------------------------- apply


def _live(op_id: int) -> Any:
    return select(_items.c.sample_id).where(_items.c.op_id == op_id, _items.c.skipped == "")


def _after() -> Any:
    """An item's sample version after the operation (stored only once an undo of a later one moved
    it)."""
    return func.coalesce(_items.c.after_version, _items.c.before_version + 1)


def claim_items(
    session: Session, op: BulkOp, values: dict[str, Any] | None = None
) -> tuple[int, list[int]]:
    """Skip items edited since the preview; bump the others' versions (setting ``values`` on the
    samples in the same statement). Returns (live, skipped ids). Joins (UPDATE … FROM), not
    correlated subqueries: one pass over the operation's items at 500k samples."""
    session.execute(
        update(_items)
        .where(
            _items.c.op_id == op.id,
            _items.c.skipped == "",
            _samples.c.id == _items.c.sample_id,
            _samples.c.version != _items.c.before_version,
        )
        .values(skipped="changed")
    )
    live = (
        session.scalar(
            select(func.count())
            .select_from(_items)
            .where(_items.c.op_id == op.id, _items.c.skipped == "")
        )
        or 0
    )
    bumped = session.execute(
        update(_samples)
        .where(
            _items.c.op_id == op.id,
            _items.c.skipped == "",
            _items.c.sample_id == _samples.c.id,
            _items.c.before_version == _samples.c.version,
        )
        .values(version=_samples.c.version + 1, updated_at=utcnow(), **(values or {}))
    )
    if (
        bumped.rowcount != live
    ):  # PostgreSQL: a concurrent writer committed between the two statements
        raise Conflict(
            msgid=N_(
                "samples changed while bulk operation {id} was being applied; nothing was saved,"
                " apply it again"
            ),
            id=op.id,
        )
    skipped = list(
        session.scalars(
            select(_items.c.sample_id)
            .where(_items.c.op_id == op.id, _items.c.skipped == "changed")
            .order_by(_items.c.sample_id)
        )
    )
    return live, skipped


def finish(
    session: Session, actor: Actor, op: BulkOp, live: int, skipped: list[int], now: Any = None
) -> dict[str, Any]:
    op.state, op.applied_at = "applied", now or utcnow()
    op.n_changed, op.n_skipped = live, len(skipped)
    audit.record(
        session,
        actor,
        "bulk",
        dataset_id=op.dataset_id,
        target=f"bulk op {op.id}",
        op=op.id,
        operation=op.action,
        changed=live,
        skipped=len(skipped),
        note=op.note,
        params={k: v for k, v in op.params.items() if k != "selection"},
        selection=op.params.get("selection"),
    )
    msg = f"bulk operation {op.id} ({op.action}): {live:,} samples changed"
    if skipped:
        shown = ", ".join(str(i) for i in skipped[:20]) + (" …" if len(skipped) > 20 else "")
        msg += f"; {len(skipped):,} skipped because they were edited since the preview: {shown}"
    return {
        "op_id": op.id,
        "action": op.action,
        "changed": live,
        "skipped": skipped,
        "message": msg,
    }


def apply(session: Session, actor: Actor, op_id: int, *, note: str | None = None) -> dict[str, Any]:
    """Apply a previewed bulk operation; samples edited since the preview are skipped and named."""
    actor.require(PERMISSION)
    op = _get(session, op_id)
    if op.state != "preview":
        raise Conflict(
            msgid=N_("bulk operation {op_id} is {state}; only a preview can be applied"),
            op_id=op_id,
            state=op.state,
        )
    if op.action == "replace":
        from . import replace

        return replace.apply(session, actor, op_id, note=note)
    if note and note.strip():
        op.note = note.strip()
    now = utcnow()
    status = STATUS_ACTIONS.get(op.action)
    live, skipped = claim_items(session, op, {"status": status} if status else None)
    _do(session, actor, op, now)
    return finish(session, actor, op, live, skipped, now)


def run(session: Session, actor: Actor, action: str, sel: Selection, **kw: Any) -> dict[str, Any]:
    """Preview and apply in one go (the CLI without --dry-run)."""
    note = kw.pop("note", None)
    p = preview(session, actor, action, sel, note=note, **kw)
    out = apply(session, actor, p["op_id"])
    out["selected"] = p["selected"]
    return out


def _refs(session: Session, op_id: int, kind: str, rows: Any) -> None:
    """Remember rows touched by an operation: ``rows`` selects (row_id, sample_id, before)."""
    session.execute(
        insert(BulkRef.__table__).from_select(
            ["op_id", "kind", "row_id", "sample_id", "before"],
            rows.with_only_columns(literal(op_id), literal(kind), *rows.selected_columns),
        )
    )


def _ref_ids(op_id: int, kind: str) -> Any:
    return select(BulkRef.row_id).where(BulkRef.op_id == op_id, BulkRef.kind == kind)


def _do(session: Session, actor: Actor, op: BulkOp, now: Any) -> None:
    p, live = op.params, _live(op.id)
    if op.action in STATUS_ACTIONS:  # the status itself was set with the version bump
        if actor.id is not None and op.action != "supersede":  # a Review row needs a person
            decision = {v: k for k, v in DECISION_STATUS.items()}[STATUS_ACTIONS[op.action]]
            text = " — ".join(x for x in (p.get("reason"), op.note, f"bulk operation {op.id}") if x)
            session.execute(
                insert(Review.__table__).from_select(
                    ["sample_id", "user_id", "decision", "note", "flags", "created_at"],
                    select(
                        _items.c.sample_id,
                        literal(actor.id),
                        literal(decision),
                        literal(text),
                        literal([], JSON),
                        literal(now),
                    ).where(_items.c.op_id == op.id, _items.c.skipped == ""),
                )
            )
            # a revert finds these rows by (user, time = op.applied_at, sample): no per-row
            # bookkeeping
    elif op.action == "add_flag":
        session.execute(
            insert(Flag.__table__).from_select(
                [
                    "sample_id",
                    "category",
                    "note",
                    "user_id",
                    "origin",
                    "state",
                    "created_at",
                    "updated_at",
                ],
                select(
                    _items.c.sample_id,
                    literal(p["flag"]),
                    literal(op.note),
                    literal(actor.id),
                    literal("annotator"),
                    literal("active"),
                    literal(now),
                    literal(now),
                ).where(_items.c.op_id == op.id, _items.c.skipped == ""),
            )
        )
        _refs(
            session,
            op.id,
            "flag_new",
            select(Flag.id, Flag.sample_id, null()).where(
                Flag.category == p["flag"], Flag.created_at == now, Flag.sample_id.in_(live)
            ),
        )
    elif op.action == "remove_flag":
        _refs(
            session,
            op.id,
            "flag",
            select(Flag.id, Flag.sample_id, Flag.state).where(
                Flag.category == p["flag"], Flag.state != "cleared", Flag.sample_id.in_(live)
            ),
        )
        session.execute(
            update(Flag.__table__)
            .where(Flag.__table__.c.id.in_(_ref_ids(op.id, "flag")))
            .values(state="cleared", decided_by=actor.id, updated_at=now)
        )
    elif op.action == "clear_findings":
        fc = [CheckFinding.state.notin_(CLOSED_FINDING_STATES), CheckFinding.sample_id.in_(live)]
        if p.get("check"):
            fc.append(CheckFinding.check == p["check"])
        _refs(
            session,
            op.id,
            "finding",
            select(CheckFinding.id, CheckFinding.sample_id, CheckFinding.state).where(*fc),
        )
        session.execute(
            update(CheckFinding.__table__)
            .where(CheckFinding.__table__.c.id.in_(_ref_ids(op.id, "finding")))
            .values(state="cleared")
        )
    elif op.action == "assign":
        uid, claims = p["user_id"], Claim.__table__
        expires = now + timedelta(days=ASSIGN_DAYS)
        # the person's old (expired or done) claims on these samples are renewed; the rest are new
        _refs(
            session,
            op.id,
            "claim",
            select(Claim.id, Claim.sample_id, cast(Claim.done, String)).where(
                Claim.user_id == uid, Claim.sample_id.in_(live)
            ),
        )
        session.execute(
            update(claims)
            .where(claims.c.id.in_(_ref_ids(op.id, "claim")))
            .values(claimed_at=now, expires_at=expires, done=False)
        )
        session.execute(
            insert(claims).from_select(
                ["sample_id", "user_id", "claimed_at", "expires_at", "done"],
                select(
                    _items.c.sample_id, literal(uid), literal(now), literal(expires), literal(False)
                ).where(
                    _items.c.op_id == op.id,
                    _items.c.skipped == "",
                    ~exists().where(
                        claims.c.sample_id == _items.c.sample_id, claims.c.user_id == uid
                    ),
                ),
            )
        )
        _refs(
            session,
            op.id,
            "claim_new",
            select(Claim.id, Claim.sample_id, null()).where(
                Claim.user_id == uid,
                Claim.claimed_at == now,
                Claim.sample_id.in_(live),
                Claim.id.not_in(_ref_ids(op.id, "claim")),
            ),
        )
    else:
        raise KocurateError(
            msgid=N_("bulk action {action!r} cannot be applied here"), action=op.action
        )


# ------------------------------------------------------------------------------------------- revert


def revert(
    session: Session,
    actor: Actor,
    op_id: int,
    *,
    skip_changed: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """Undo an applied operation as a whole while none of its samples changed since.

    Refuses (naming the changed samples) when some did; with ``skip_changed`` reverts the others
    and lists those left as they are."""
    actor.require(PERMISSION)
    op = _get(session, op_id)
    if op.state != "applied":
        raise Conflict(
            msgid=N_(
                "bulk operation {op_id} is {state}; only an applied operation can be reverted"
            ),
            op_id=op_id,
            state=op.state,
        )
    changed = list(
        session.scalars(
            select(_items.c.sample_id)
            .where(
                _items.c.op_id == op_id,
                _items.c.skipped == "",
                _samples.c.id == _items.c.sample_id,
                _samples.c.version != _after(),
            )
            .order_by(_items.c.sample_id)
        )
    )
    shown = ", ".join(str(i) for i in changed[:20]) + (" …" if len(changed) > 20 else "")
    if changed and not skip_changed:
        raise Conflict(
            msgid=N_(
                "bulk operation {op_id} cannot be reverted as a whole: {changed:,} of its samples"
                " changed since ({shown}); nothing was reverted (revert the rest with"
                " --skip-changed)"
            ),
            op_id=op_id,
            changed=len(changed),
            shown=shown,
        )
    if changed:
        session.execute(
            update(_items)
            .where(_items.c.op_id == op_id, _items.c.skipped == "", _items.c.sample_id.in_(changed))
            .values(skipped="changed_after")
        )
    it = _items.alias("it")
    live = _live(op_id)
    n = (
        session.scalar(
            select(func.count())
            .select_from(_items)
            .where(_items.c.op_id == op_id, _items.c.skipped == "")
        )
        or 0
    )
    values: dict[str, Any] = {"version": _samples.c.version + 1, "updated_at": utcnow()}
    if op.action in STATUS_ACTIONS:
        values["status"] = _items.c.before_status
    bumped = session.execute(
        update(_samples)
        .where(
            _items.c.op_id == op_id,
            _items.c.skipped == "",
            _items.c.sample_id == _samples.c.id,
            _after() == _samples.c.version,
        )
        .values(**values)
    )
    if bumped.rowcount != n:
        raise Conflict(
            msgid=N_(
                "samples changed while bulk operation {op_id} was being reverted; nothing was"
                " reverted"
            ),
            op_id=op_id,
        )
    now = utcnow()
    refs = BulkRef.__table__

    def ref_rows(kind: str) -> Any:  # only refs of samples being reverted
        return select(refs.c.row_id).where(
            refs.c.op_id == op_id, refs.c.kind == kind, refs.c.sample_id.in_(live)
        )

    def before_of(kind: str, table: Any) -> Any:
        return (
            select(refs.c.before)
            .where(refs.c.op_id == op_id, refs.c.kind == kind, refs.c.row_id == table.c.id)
            .limit(1)
            .scalar_subquery()
        )

    if op.action in STATUS_ACTIONS:  # statuses went back with the version bump; now the Review rows
        rt = Review.__table__
        if op.user_id is not None and op.applied_at is not None:
            session.execute(
                delete(rt).where(
                    rt.c.user_id == op.user_id,
                    rt.c.created_at == op.applied_at,
                    rt.c.sample_id.in_(live),
                )
            )
    elif op.action == "add_flag":
        session.execute(delete(Flag.__table__).where(Flag.__table__.c.id.in_(ref_rows("flag_new"))))
    elif op.action == "remove_flag":
        ft = Flag.__table__
        session.execute(
            update(ft)
            .where(ft.c.id.in_(ref_rows("flag")))
            .values(state=before_of("flag", ft), updated_at=now)
        )
    elif op.action == "clear_findings":
        ct = CheckFinding.__table__
        session.execute(
            update(ct)
            .where(ct.c.id.in_(ref_rows("finding")))
            .values(state=before_of("finding", ct))
        )
    elif op.action == "assign":
        cl = Claim.__table__
        session.execute(delete(cl).where(cl.c.id.in_(ref_rows("claim_new"))))
        # renewed claims go back to how they were: done, or expired
        session.execute(
            update(cl)
            .where(cl.c.id.in_(ref_rows("claim")))
            .values(done=before_of("claim", cl).in_(["1", "true", "True", "t"]), expires_at=now)
        )
    elif op.action == "replace":
        from . import replace

        replace.revert_edits(session, actor, op, live)
    # the state an earlier operation left is current again on these samples: it stays revertable
    # (operations undo last-first, like an editor's undo stack)
    ops = BulkOp.__table__
    session.execute(
        update(_items)
        .where(
            _items.c.op_id.in_(select(ops.c.id).where(ops.c.state == "applied", ops.c.id != op_id)),
            _items.c.skipped == "",
            it.c.op_id == op_id,
            it.c.skipped == "",
            it.c.sample_id == _items.c.sample_id,
            it.c.before_version == _after(),
            _samples.c.id == _items.c.sample_id,
        )
        .values(after_version=_samples.c.version)
    )
    op.state, op.reverted_at = "reverted", now
    audit.record(
        session,
        actor,
        "bulk",
        dataset_id=op.dataset_id,
        target=f"bulk op {op_id}",
        revert=op_id,
        operation=op.action,
        reverted=n,
        left_alone=len(changed),
        note=(note or "").strip() or None,
    )
    msg = f"bulk operation {op_id} ({op.action}) reverted on {n:,} samples"
    if changed:
        msg += f"; {len(changed):,} changed since and left as they are: {shown}"
    return {"op_id": op_id, "reverted": n, "left_alone": changed, "message": msg}


# -------------------------------------------------------------------------------------------
# listing


def list_ops(
    session: Session,
    actor: Actor,
    *,
    limit: int = 50,
    before_id: int | None = None,
    dataset_id: int | None = None,
) -> list[dict[str, Any]]:
    """Bulk operations, newest first (keyset by id); previews that were discarded are left out."""
    actor.require(PERMISSION)
    q = (
        select(BulkOp)
        .where(BulkOp.state != "discarded")
        .order_by(BulkOp.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if before_id is not None:
        q = q.where(BulkOp.id < before_id)
    if dataset_id is not None:
        q = q.where(BulkOp.dataset_id == dataset_id)
    return [
        {
            "id": o.id,
            "action": o.action,
            "state": o.state,
            "user": o.username,
            "dataset_id": o.dataset_id,
            "changed": o.n_changed,
            "skipped": o.n_skipped,
            "note": o.note or "",
            "params": {k: v for k, v in o.params.items() if k != "selection"},
            "selection": Selection.from_dict(o.params.get("selection") or {}).describe(),
            "at": (o.applied_at or o.created_at).isoformat(timespec="seconds"),
            "reverted_at": o.reverted_at.isoformat(timespec="seconds") if o.reverted_at else None,
        }
        for o in session.scalars(q)
    ]


def op_samples(session: Session, op_id: int) -> list[int]:
    """Ids of the samples an operation changed (not skipped)."""
    return list(
        session.scalars(
            select(_items.c.sample_id)
            .where(and_(_items.c.op_id == op_id, _items.c.skipped == ""))
            .order_by(_items.c.sample_id)
        )
    )
