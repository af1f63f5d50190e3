"""The order a review queue hands samples out in (issue 17): by id, or "most likely broken first".

A lead sets the order per dataset (:func:`set_order`; the CLI's ``kocurate queue-order``). With
``risk`` the queue's keyset cursor is (risk descending, sample id) over ``sample_signals.risk`` (the
learned risk of :mod:`kocurate.services.risk`): the index ``ix_sample_signals_dataset_risk_desc``
(dataset, risk DESC, sample id) serves each "next" as one short index range walk, O(log n) at 700k.
Samples without a score come after every scored one, by id.

:func:`next_by_risk` is all the queue needs: it takes the queue's conditions (filter, availability)
and the sample on screen, and returns the next sample id (wrapping around), or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from ..errors import UsageError
from ..i18n import N_
from ..models import Sample, SampleSignal, Setting, utcnow
from . import audit
from .auth import Actor
from .datasets import get_dataset

ORDERS = ("id", "risk")
KEY = "queue_order.{}"
_MAX_SKIPS = 50  # PostgreSQL: rows locked or taken meanwhile, skipped before giving up


def get_order(session: Session, dataset_id: int) -> str:
    """The dataset's queue order: ``id`` (default) or ``risk``."""
    value = session.scalar(select(Setting.value).where(Setting.key == KEY.format(dataset_id))) or {}
    order = value.get("order") if isinstance(value, dict) else None
    return order if order in ORDERS else "id"


def resolve(session: Session, dataset_id: int, order: str | None) -> str:
    """The order a queue uses: the one asked for, else the dataset's setting."""
    if order is None:
        return get_order(session, dataset_id)
    if order not in ORDERS:
        raise UsageError(
            msgid=N_("unknown queue order {order!r}; one of {orders}"),
            order=order,
            orders=", ".join(ORDERS),
        )
    return order


def set_order(session: Session, actor: Actor, dataset_ref: int | str, order: str) -> str:
    """Leads: hand the dataset's samples out by id or by risk (highest first)."""
    actor.require("configure")
    if order not in ORDERS:
        raise UsageError(
            msgid=N_("unknown queue order {order!r}; one of {orders}"),
            order=order,
            orders=", ".join(ORDERS),
        )
    ds = get_dataset(session, dataset_ref)
    key = KEY.format(ds.id)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value={"order": order}, updated_at=utcnow()))
    else:
        row.value, row.updated_at = {"order": order}, utcnow()
    audit.record(session, actor, "settings", dataset_id=ds.id, target="queue_order", order=order)
    session.flush()
    return order


def scored_share(session: Session, dataset_id: int) -> dict[str, int]:
    """How many samples of the dataset have a risk score (the order's caption on the page)."""
    from sqlalchemy import func

    total = (
        session.scalar(
            select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id)
        )
        or 0
    )
    scored = (
        session.scalar(
            select(func.count())
            .select_from(SampleSignal)
            .where(SampleSignal.dataset_id == dataset_id, SampleSignal.risk.is_not(None))
        )
        or 0
    )
    return {"samples": int(total), "scored": int(scored)}


def _risk_of(session: Session, sample_id: int) -> float | None:
    return session.scalar(select(SampleSignal.risk).where(SampleSignal.sample_id == sample_id))


def _scored_stmt(
    dataset_id: int, conds: Sequence[ColumnElement[bool]], cursor: tuple[float, int] | None
) -> Any:
    risk = SampleSignal.risk
    where = [SampleSignal.dataset_id == dataset_id, risk.is_not(None), *conds]
    if cursor is not None:
        r, sid = cursor
        # "risk <= r" is the index range; the OR only filters the ties of r
        where += [risk <= r, or_(risk < r, and_(risk == r, SampleSignal.sample_id > sid))]
    return (
        select(Sample.id, risk)
        .join(SampleSignal, SampleSignal.sample_id == Sample.id)
        .where(*where)
        .order_by(risk.desc(), SampleSignal.sample_id)
        .limit(1)
    )


def _unscored_stmt(conds: Sequence[ColumnElement[bool]], cursor: int) -> Any:
    scored = exists().where(SampleSignal.sample_id == Sample.id, SampleSignal.risk.is_not(None))
    return select(Sample.id).where(*conds, ~scored, Sample.id > cursor).order_by(Sample.id).limit(1)


def next_by_risk(
    session: Session,
    dataset_id: int,
    conds: Sequence[ColumnElement[bool]],
    after: int | None,
    *,
    lock: bool = False,
    free: Callable[[int], bool] | None = None,
) -> int | None:
    """The next sample of a queue in risk order after ``after`` (the sample on screen), wrapping
    around.

    ``conds`` are the queue's conditions over ``Sample`` (dataset, filter, availability). With
    ``lock`` (PostgreSQL) the row is taken ``FOR UPDATE SKIP LOCKED`` and ``free(id)`` re-checks it
    under the lock; a sample that is no longer free moves the cursor on.
    """
    r_after = _risk_of(session, after) if after else None
    plan: list[tuple[str, Any]]
    if after is None:
        plan = [("scored", None), ("unscored", 0)]
    elif r_after is not None:
        plan = [("scored", (r_after, after)), ("unscored", 0), ("scored", None)]
    else:
        plan = [("unscored", after), ("scored", None), ("unscored", 0)]
    for phase, cursor in plan:
        for _ in range(_MAX_SKIPS):
            stmt = (
                _scored_stmt(dataset_id, conds, cursor)
                if phase == "scored"
                else _unscored_stmt(conds, cursor)
            )
            if lock:
                stmt = stmt.with_for_update(skip_locked=True, of=Sample)
            row = session.execute(stmt).first()
            if row is None:
                break
            sid = int(row[0])
            if lock and free is not None and not free(sid):
                cursor = (float(row[1]), sid) if phase == "scored" else sid
                continue
            return sid
    return None
