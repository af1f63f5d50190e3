"""Shared parts of the statistics: the filter, the read snapshot, scope (who may see what),
helpers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, case, false, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ... import db
from ...errors import PermissionDenied
from ...models import Dataset, Sample, User
from .. import filters
from ..auth import Actor
from ..filters import SampleFilter

DEFAULT_TARGET = 150_000  # approved samples the corpus should reach
PACE_DAYS = 7  # "current pace" = reviews per day over the last week
DECIDED = ("approved", "rejected", "needs_fix")  # statuses that count for approval rates

# Histogram edges (lower bounds, characters). Buckets are computed by a CASE in SQL.
LENGTH_EDGES = (0, 1, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
DISTANCE_EDGES = (0, 1, 5, 10, 20, 50, 100, 200, 500, 1000)
TURN_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 50)
RATIO_MAX_TENTHS = 30
# samples of the drill-down list that ``dashboard`` includes  # ko/en character ratio in tenths,
# capped at 3.0+
DISAGREEMENTS_PAGE = 20


@dataclass(frozen=True)
class StatsFilter:
    """Which data a figure covers: datasets (empty = all) and an inclusive date range (UTC days)."""

    datasets: tuple[int, ...] = ()
    since: date | None = None
    until: date | None = None

    def params(self) -> dict[str, Any]:
        return {
            "datasets": list(self.datasets),
            "since": _iso(self.since),
            "until": _iso(self.until),
        }


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session for the statistics: :func:`kocurate.db.read_session` without JIT."""
    with db.read_session(engine, jit=False) as session:
        yield session


# ---------------------------------------------------------------------------------------------
# scope
def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lead(actor: Actor) -> None:
    actor.require("view_stats")


def _own(actor: Actor, user_id: int | None) -> int | None:
    """The user whose numbers the actor may see: anyone for leads, only themselves for
    annotators."""
    if actor.can("view_stats"):
        return user_id
    actor.require("view_own_stats")
    if user_id is not None and user_id != actor.id:
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) may only view their own statistics"
        )
    if actor.id is None:
        raise PermissionDenied("statistics of an anonymous actor")
    return actor.id


# ---------------------------------------------------------------------------------------------
# helpers
def _iso(d: date | datetime | str | None) -> str | None:
    if d is None:
        return None
    return d if isinstance(d, str) else d.isoformat()[:10]


def _day(col: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp: ``date(x)`` is valid on SQLite (text) and PostgreSQL (date)."""
    return func.date(col)


def _dated(col: Any, f: StatsFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.since is not None:
        conds.append(col >= datetime.combine(f.since, datetime.min.time()))
    if f.until is not None:
        conds.append(col < datetime.combine(f.until + timedelta(days=1), datetime.min.time()))
    return conds


def _in_datasets(
    session: Session, stmt: Select[Any], sample_id_col: Any, f: StatsFilter
) -> Select[Any]:
    """Restrict a statement over a table with a sample_id to the filter's datasets.

    A dataset imported in one go holds one contiguous range of sample ids: then the filter is
    ``sample_id BETWEEN lo AND hi`` on the activity table itself (no join, no lookup per row).
    Otherwise it joins samples, with "+ 0" so the planner drives from the activity rows rather
    than from the dataset's 100k+ samples (harmless on PostgreSQL).
    """
    if not f.datasets:
        return stmt
    ranges = _id_ranges(session, f.datasets)
    if ranges is not None:
        return stmt.where(
            or_(*[sample_id_col.between(lo, hi) for lo, hi in ranges]) if ranges else false()
        )
    return stmt.join(Sample, Sample.id == sample_id_col).where(
        (Sample.dataset_id + 0).in_(f.datasets)
    )


def _memo(session: Session, name: str) -> dict[Any, Any]:
    """Results shared by the figures of one ``dashboard`` call (a fresh dict outside of one)."""
    shared = session.info.get(_MEMO)
    return shared.setdefault(name, {}) if shared is not None else {}


_MEMO = "kocurate.stats.memo"


def _id_ranges(session: Session, datasets: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """The sample id range of each dataset if each is contiguous (exactly its samples), else None.

    Remembered during one ``dashboard`` call (its figures ask several times)."""
    memo = _memo(session, "ranges")
    if datasets not in memo:
        rows = session.execute(
            select(func.min(Sample.id), func.max(Sample.id), func.count())
            .where(Sample.dataset_id.in_(datasets))
            .group_by(Sample.dataset_id)
        ).all()
        contiguous = all(int(hi) - int(lo) + 1 == int(n) for lo, hi, n in rows)
        memo[datasets] = [(int(lo), int(hi)) for lo, hi, _ in rows] if contiguous else None
    return memo[datasets]


def _bucket(expr: Any, edges: Sequence[int]) -> Any:
    """CASE expression mapping a number to the lower edge of its histogram bucket."""
    whens = [(expr >= e, literal(e)) for e in reversed(edges[1:])]
    return case(*whens, else_=literal(edges[0]))


def bucket_label(lower: int, edges: Sequence[int]) -> str:
    i = list(edges).index(lower)
    if i + 1 == len(edges):
        return f"{lower}+"
    hi = edges[i + 1] - 1
    return str(lower) if hi == lower else f"{lower}-{hi}"


def _dataset_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Dataset.id, Dataset.name)).all())


def _usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def review_link(
    dataset: int | None = None,
    *,
    status: str | None = None,
    flag: str | None = None,
    check: str | None = None,
    sample: int | None = None,
) -> str:
    """URL of the review queue filtered like a chart's bar, e.g.
    ``/review?dataset=3&check=untranslated``."""
    return filters.review_link(
        SampleFilter(dataset=dataset, status=status, flag=flag, check=check), sample
    )
