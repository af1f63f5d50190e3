"""The whole dashboard in one call (sequential, or its parts on concurrent snapshots)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..auth import Actor
from ._base import _MEMO, DEFAULT_TARGET, DISAGREEMENTS_PAGE, StatsFilter, _own, snapshot
from .annotators import agreement, annotator_stats
from .progress import progress, reviews_per_day, status_counts
from .quality import approval_rates, check_hit_rates, flag_counts, preflag_precision
from .text import text_stats
from .translation import translation_repair


def dashboard(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    *,
    target: int = DEFAULT_TARGET,
    today: date | None = None,
) -> dict[str, Any]:
    """Every figure the actor may see, computed once (what the page and ``kocurate stats --json``
    show)."""
    session.info[_MEMO] = {}
    try:
        return _dashboard(session, actor, f, target=target, today=today)
    finally:
        session.info.pop(_MEMO, None)


def _dashboard(
    session: Session, actor: Actor, f: StatsFilter, *, target: int, today: date | None
) -> dict[str, Any]:
    if not actor.can("view_stats"):
        return _own_part(session, actor, f)
    out: dict[str, Any] = {"scope": "all", "filter": f.params()}
    for part in LEAD_PARTS.values():
        out.update(part(session, actor, f, target, today))
    return out


def dashboard_concurrent(
    engine: Engine,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    *,
    target: int = DEFAULT_TARGET,
    today: date | None = None,
    workers: int = 4,
    parts: Collection[str] | None = None,
) -> dict[str, Any]:
    """``dashboard`` with its independent parts on separate read-only connections, in threads.

    The drivers leave Python while a query runs, so the parts use several cores (SQLite runs in
    this process) or server backends (PostgreSQL) at once. Each part reads its own snapshot; the
    figures of one part are consistent with each other. ``parts`` (names of ``LEAD_PARTS``) limits
    the figures to those parts, e.g. what one tab of the page shows; None: all.
    """
    if not actor.can("view_stats"):
        with snapshot(engine) as s:
            return dashboard(s, actor, f, target=target, today=today)
    actor.require("view_stats")

    def run(part: Any) -> dict[str, Any]:
        with snapshot(engine) as s:
            s.info[_MEMO] = {}
            return part(s, actor, f, target, today)

    out: dict[str, Any] = {"scope": "all", "filter": f.params()}
    with ThreadPoolExecutor(
        max_workers=max(1, workers), thread_name_prefix="kocurate-stats"
    ) as pool:
        chosen = [fn for name, fn in LEAD_PARTS.items() if parts is None or name in parts]
        for result in pool.map(run, chosen):
            out.update(result)
    return out


def _own_part(session: Session, actor: Actor, f: StatsFilter) -> dict[str, Any]:
    _own(actor, None)
    return {
        "scope": "own",
        "filter": f.params(),
        "user": actor.username,
        "reviews_per_day": reviews_per_day(session, actor, f),
        "annotators": annotator_stats(session, actor, f),
    }


# The lead's dashboard in independent parts (each its own queries), small enough that one tab of
# the page asks for only what it shows.
def _part_progress(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    status = status_counts(session, actor, f)
    return {
        "progress": progress(session, actor, f, target=target, today=today, _status=status),
        "status": status,
    }


def _part_quality(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    status = status_counts(session, actor, f)
    totals: dict[int, int] = defaultdict(int)
    for r in status:
        totals[r["dataset_id"]] += r["n"]
    flags = flag_counts(session, actor, f)
    return {
        "checks": check_hit_rates(session, actor, f, _totals=totals),
        "flags": flags,
        "preflags": preflag_precision(session, actor, f, _flags=flags),
        "approval": approval_rates(session, actor, f, _status=status),
    }


def _part_text(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    text = text_stats(session, actor, f)
    return {
        "text": text,
        "translation": translation_repair(
            session, actor, f, _turns=sum(d["turns"] for d in text["datasets"])
        ),
    }


def _part_activity(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    return {"reviews_per_day": reviews_per_day(session, actor, f)}


def _part_annotators(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    return {"annotators": annotator_stats(session, actor, f)}


def _part_agreement(
    session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
) -> dict[str, Any]:
    return {"agreement": agreement(session, actor, f, disagreements=DISAGREEMENTS_PAGE)}


# the Dashboard page's tabs in order (Progress, Quality, Text, Translation, Annotators,
# Agreement) and the parts each computes: the page computes only its open tab's
TAB_PARTS: tuple[tuple[str, ...], ...] = (
    ("progress", "activity"),
    ("quality",),
    ("text",),
    ("text",),
    ("annotators",),
    ("agreement",),
)


# name -> part, the longest first (700k samples: text ~480 ms, agreement, annotators, activity
# ~200 ms each, quality, progress ~100 ms)
LEAD_PARTS = {
    "text": _part_text,
    "agreement": _part_agreement,
    "annotators": _part_annotators,
    "activity": _part_activity,
    "quality": _part_quality,
    "progress": _part_progress,
}
