"""QA sampling and an estimated defect rate (issue 17).

For a selection (by default what an export takes: status ``approved``), :func:`create_run` draws a
seeded simple random sample without replacement, sized from the margin of error the lead asks for
(Cochran's n = z²·p(1−p)/e² with p = 0.5, the worst case, and the finite-population correction).
The items go to a blind QA queue: :func:`next_item` shows reviewers the text and the English only —
no check findings, flags, status or history. Each item gets a verdict ``ok`` or ``defect``.

:func:`estimate` reports the defect rate with a Wilson score interval ("estimated defect rate 3.1 %
(2.1–4.5 %), 400 samples reviewed"); :func:`latest_estimate` gives the newest estimate for a set of
datasets (for the export manifest and dataset card) and :func:`require_max_defect_rate` refuses when
its upper bound is above a limit (``kocurate export --max-defect-rate``).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import KocurateError, NotFound, PermissionDenied, UsageError
from ..i18n import N_
from ..models import Dataset, QaItem, QaRun, Sample, Turn, utcnow
from . import bulk
from .auth import Actor

VERDICTS = ("ok", "defect")


def z_for(confidence: float) -> float:
    if not 0.5 < confidence < 1:
        raise UsageError(msgid=N_("confidence must be between 0.5 and 1 (e.g. 0.95)"))
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def sample_size(
    margin: float, confidence: float = 0.95, population: int | None = None, p: float = 0.5
) -> int:
    """Samples needed for ±``margin`` at ``confidence`` (±3 % at 95 % → 1,068; fewer for a small
    population)."""
    if not 0 < margin < 0.5:
        raise UsageError(msgid=N_("margin of error must be between 0 and 0.5 (e.g. 0.03 for ±3 %)"))
    z = z_for(confidence)
    n0 = z * z * p * (1 - p) / (margin * margin)
    if population:
        n0 = n0 / (1 + (n0 - 1) / population)
        return min(population, math.ceil(n0))
    return math.ceil(n0)


def wilson(defects: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (good at small rates, never outside [0, 1])."""
    if n <= 0:
        return 0.0, 1.0
    z = z_for(confidence)
    p = defects / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def draw(ids: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded simple random sample without replacement, in drawing order."""
    rng = np.random.default_rng(seed)
    return ids[rng.choice(len(ids), size=min(size, len(ids)), replace=False)]


def create_run(
    session: Session,
    actor: Actor,
    sel: bulk.Selection | None = None,
    *,
    margin: float = 0.05,
    confidence: float = 0.95,
    seed: int = 0,
    size: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Draw a QA sample of the selection (default: approved samples) and queue it for blind
    review."""
    actor.require("export")
    sel = sel or bulk.Selection(status="approved")
    if sel.status is None and sel.sample_ids is None:
        sel.status = "approved"
    ids = np.fromiter(
        session.scalars(
            select(Sample.id).where(*bulk.conditions(session, actor, sel)).order_by(Sample.id)
        ),
        dtype=np.int64,
    )
    if len(ids) == 0:
        raise KocurateError(
            msgid=N_("no samples in the selection ({selection})"), selection=sel.describe()
        )
    n = size if size is not None else sample_size(margin, confidence, len(ids))
    if n < 1:
        raise UsageError(msgid=N_("the QA sample needs at least one sample"))
    picked = draw(ids, n, seed)
    ds_ids = (
        sorted(
            set(session.scalars(select(Sample.dataset_id).where(Sample.id.in_(picked.tolist()))))
        )
        if sel.dataset_id is None
        else [sel.dataset_id]
    )
    run = QaRun(
        dataset_ids=ds_ids,
        params={"selection": sel.to_dict(), "margin": margin, "confidence": confidence},
        seed=seed,
        population=len(ids),
        size=len(picked),
        note=(note or "").strip() or None,
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    session.execute(
        insert(QaItem.__table__),
        [{"run_id": run.id, "sample_id": int(sid), "position": i} for i, sid in enumerate(picked)],
    )
    return {
        "run_id": run.id,
        "population": len(ids),
        "size": len(picked),
        "seed": seed,
        "datasets": ds_ids,
    }


def next_item(session: Session, actor: Actor, run_id: int) -> dict[str, Any] | None:
    """The reviewer's next QA item (their own undecided one first), blind: text and English only."""
    actor.require("review")
    if session.get(QaRun, run_id) is None:
        raise NotFound(msgid=N_("no QA run {run_id}"), run_id=run_id)
    items = QaItem.__table__
    mine = session.scalar(
        select(items.c.id)
        .where(items.c.run_id == run_id, items.c.verdict.is_(None), items.c.reviewer_id == actor.id)
        .order_by(items.c.position)
        .limit(1)
    )
    while mine is None:
        free = session.scalar(
            select(items.c.id)
            .where(
                items.c.run_id == run_id, items.c.verdict.is_(None), items.c.reviewer_id.is_(None)
            )
            .order_by(items.c.position)
            .limit(1)
        )
        if free is None:
            return None
        # conditional: two reviewers asking at once never get the same item
        got = session.execute(
            update(items)
            .where(items.c.id == free, items.c.reviewer_id.is_(None))
            .values(reviewer_id=actor.id)
        )
        mine = free if got.rowcount == 1 else None
    item = session.get(QaItem, mine)
    assert item is not None
    turns = session.execute(
        select(Turn.idx, Turn.role, Turn.text, Turn.source_text)
        .where(Turn.sample_id == item.sample_id)
        .order_by(Turn.idx)
    ).all()
    left = (
        session.scalar(
            select(func.count())
            .select_from(items)
            .where(items.c.run_id == run_id, items.c.verdict.is_(None))
        )
        or 0
    )
    return {
        "item_id": item.id,
        "position": item.position,
        "left": left,
        "turns": [{"idx": t.idx, "role": t.role, "ko": t.text, "en": t.source_text} for t in turns],
    }


def record(
    session: Session, actor: Actor, item_id: int, verdict: str, *, note: str | None = None
) -> None:
    """A reviewer's verdict on a QA item (``ok`` or ``defect``)."""
    actor.require("review")
    if verdict not in VERDICTS:
        raise UsageError(msgid=N_("verdict is one of {verdicts}"), verdicts=", ".join(VERDICTS))
    item = session.get(QaItem, item_id)
    if item is None:
        raise NotFound(msgid=N_("no QA item {item_id}"), item_id=item_id)
    if item.reviewer_id not in (None, actor.id) and not actor.can("adjudicate"):
        raise PermissionDenied(msgid=N_("QA item {item_id} is another reviewer's"), item_id=item_id)
    item.verdict, item.note, item.reviewer_id, item.decided_at = (
        verdict,
        (note or "").strip() or None,
        item.reviewer_id or actor.id,
        utcnow(),
    )


def estimate(session: Session, run_id: int) -> dict[str, Any]:
    """The run's defect rate so far with its Wilson interval, and a sentence for manifests and
    cards."""
    run = session.get(QaRun, run_id)
    if run is None:
        raise NotFound(msgid=N_("no QA run {run_id}"), run_id=run_id)
    rows = dict(
        session.execute(
            select(QaItem.verdict, func.count())
            .where(QaItem.run_id == run_id, QaItem.verdict.is_not(None))
            .group_by(QaItem.verdict)
        )
        .tuples()
        .all()
    )
    n, k = sum(rows.values()), rows.get("defect", 0)
    conf = float(run.params.get("confidence", 0.95))
    low, high = wilson(k, n, conf)
    rate = k / n if n else None
    text = (
        f"estimated defect rate {100 * rate:.1f} % ({100 * low:.1f}–{100 * high:.1f} %), {n:,}"
        " samples reviewed"
        if n
        else "no QA verdicts yet"
    )
    return {
        "run_id": run_id,
        "datasets": run.dataset_ids,
        "population": run.population,
        "size": run.size,
        "reviewed": n,
        "defects": k,
        "rate": rate,
        "low": low,
        "high": high,
        "confidence": conf,
        "complete": n == run.size,
        "text": text,
    }


def list_runs(session: Session, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    actor.require("review")
    runs = session.scalars(select(QaRun).order_by(QaRun.id.desc()).limit(limit)).all()
    names = dict(session.execute(select(Dataset.id, Dataset.name)).tuples().all())
    return [
        {
            **estimate(session, r.id),
            "note": r.note or "",
            "seed": r.seed,
            "dataset_names": [names.get(d, str(d)) for d in r.dataset_ids],
            "at": r.created_at.isoformat(timespec="seconds"),
        }
        for r in runs
    ]


def latest_estimate(session: Session, dataset_ids: list[int]) -> dict[str, Any] | None:
    """The newest QA estimate with verdicts whose datasets cover ``dataset_ids`` (None when there is
    none)."""
    want = set(dataset_ids)
    for run in session.scalars(select(QaRun).order_by(QaRun.id.desc()).limit(200)):
        if want <= set(run.dataset_ids):
            est = estimate(session, run.id)
            if est["reviewed"]:
                return est
    return None


def require_max_defect_rate(
    session: Session, dataset_ids: list[int], max_rate: float
) -> dict[str, Any]:
    """Refuse (KocurateError) unless a QA estimate exists and its upper bound is at most
    ``max_rate``."""
    if not 0 < max_rate <= 1:
        raise UsageError(msgid=N_("--max-defect-rate is a fraction between 0 and 1 (e.g. 0.05)"))
    est = latest_estimate(session, dataset_ids)
    if est is None:
        raise NotFound(
            msgid=N_(
                "no QA estimate for these datasets yet: run `kocurate qa "
                "sample` and review it first"
            )
        )
    if est["high"] > max_rate:
        raise KocurateError(
            msgid=N_(
                "QA run {run_id}: {text}; the upper bound {estimate:.1f} % is "
                "above --max-defect-rate {limit:.1f} %, nothing was written"
            ),
            run_id=est["run_id"],
            text=est["text"],
            estimate=100 * est["high"],
            limit=100 * max_rate,
        )
    return est
