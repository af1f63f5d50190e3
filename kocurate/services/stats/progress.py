"""Progress: samples by status, reviews per day, pace towards the target."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ...models import STATUSES, Dataset, Review, Sample
from ..auth import Actor
from ..datasets import UNDECIDED
from ._base import (
    DEFAULT_TARGET,
    PACE_DAYS,
    StatsFilter,
    _dataset_names,
    _dated,
    _day,
    _in_datasets,
    _iso,
    _lead,
    _memo,
    _own,
    _rate,
)


def status_counts(
    session: Session, actor: Actor, f: StatsFilter = StatsFilter()
) -> list[dict[str, Any]]:
    """Samples by status per dataset (one GROUP BY over the (dataset, status, id) index)."""
    _lead(actor)
    stmt = select(Sample.dataset_id, Sample.status, func.count()).group_by(
        Sample.dataset_id, Sample.status
    )
    if f.datasets:
        stmt = stmt.where(Sample.dataset_id.in_(f.datasets))
    names = _dataset_names(session)
    rows = [
        {"dataset_id": d, "dataset": names.get(d, str(d)), "status": s, "n": n}
        for d, s, n in session.execute(stmt)
    ]
    return sorted(
        rows,
        key=lambda r: (
            r["dataset_id"],
            STATUSES.index(r["status"]) if r["status"] in STATUSES else 99,
        ),
    )


def reviews_per_day(
    session: Session, actor: Actor, f: StatsFilter = StatsFilter(), user_id: int | None = None
) -> list[dict[str, Any]]:
    """Reviews (decisions) per UTC day, per decision; annotators get only their own."""
    uid = _own(actor, user_id)
    acc: dict[tuple[str, str], int] = defaultdict(int)
    for day, _u, dec, n, _s, _c in _activity(session, f, uid):
        acc[(day, dec)] += n
    return [{"day": d, "decision": dec, "n": n} for (d, dec), n in sorted(acc.items())]


def _activity(
    session: Session, f: StatsFilter, uid: int | None
) -> list[tuple[str, int, str, int, float, int]]:
    """Reviews grouped by (UTC day, person, decision): count, seconds summed, reviews timed.

    One scan of the reviews (covering index) serves reviews per day, throughput per person and
    decisions per person; remembered during one ``dashboard`` call, which asks for it twice.
    """
    memo = _memo(session, "activity")
    key = (f, uid)
    if key not in memo:
        day = _day(Review.created_at).label("day")
        stmt = (
            select(
                day,
                Review.user_id,
                Review.decision,
                func.count(),
                func.sum(Review.seconds),
                func.count(Review.seconds),
            )
            .where(*_dated(Review.created_at, f))
            .group_by(day, Review.user_id, Review.decision)
        )
        if uid is not None:
            stmt = stmt.where(Review.user_id == uid)
        stmt = _in_datasets(session, stmt, Review.sample_id, f)
        memo[key] = [
            (_iso(d) or "", int(u), dec, int(n), float(secs or 0), int(c))
            for d, u, dec, n, secs, c in session.execute(stmt)
        ]
    return memo[key]


def progress(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    *,
    target: int = DEFAULT_TARGET,
    pace_days: int = PACE_DAYS,
    today: date | None = None,
    _status: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Where the corpus stands: samples by status, distance to the target, time to finish at the
    current pace.

    Pace = reviews per day and approvals per day over the ``pace_days`` days ending ``today``
    (default: the filter's ``until``, else the current UTC day). Remaining work = undecided
    samples ("new") times each dataset's overlap (reviews each sample still needs), plus one
    adjudication per "disputed" sample; a disputed sample is not done.
    """
    _lead(actor)
    status = _status if _status is not None else status_counts(session, actor, f)
    by_status: dict[str, int] = defaultdict(int)
    new_by_ds: dict[int, int] = defaultdict(int)
    for r in status:
        by_status[r["status"]] += r["n"]
        if r["status"] == "new":
            new_by_ds[r["dataset_id"]] += r["n"]
    overlap = dict(session.execute(select(Dataset.id, Dataset.overlap)).all())
    remaining_reviews = sum(n * max(1, overlap.get(d, 1) or 1) for d, n in new_by_ds.items())
    remaining_reviews += by_status.get("disputed", 0)  # one adjudication each

    end = today or f.until or datetime.now(UTC).date()
    start = end - timedelta(days=pace_days - 1)
    window = StatsFilter(f.datasets, start, end)
    stmt = select(
        func.count(), func.coalesce(func.sum(case((Review.decision == "approve", 1), else_=0)), 0)
    ).where(*_dated(Review.created_at, window))
    n_reviews, n_approvals = session.execute(_in_datasets(session, stmt, Review.sample_id, f)).one()
    pace = n_reviews / pace_days
    approve_pace = n_approvals / pace_days
    approved = by_status.get("approved", 0)
    to_target = max(0, target - approved)
    total = sum(by_status.values())
    return {
        "samples": total,
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "done_share": _rate(total - sum(by_status.get(s, 0) for s in UNDECIDED), total),
        "target": target,
        "approved": approved,
        "to_target": to_target,
        "target_share": _rate(min(approved, target), target),
        "pace_window": [start.isoformat(), end.isoformat()],
        "reviews_per_day": round(pace, 3),
        "approvals_per_day": round(approve_pace, 3),
        "remaining_reviews": remaining_reviews,
        "days_to_finish": round(remaining_reviews / pace, 1) if pace else None,
        "days_to_target": (
            0.0
            if to_target == 0
            else (round(to_target / approve_pace, 1) if approve_pace else None)
        ),
    }
