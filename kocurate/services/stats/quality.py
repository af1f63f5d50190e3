"""Quality: check hit rates, flags, pre-flag precision, approval rates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from ...models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES, CheckFinding, Dataset, Flag, Sample
from ..auth import Actor
from ._base import DECIDED, StatsFilter, _dataset_names, _dated, _in_datasets, _lead, _rate
from .progress import status_counts


def check_hit_rates(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    _totals: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Per dataset and check: samples with at least one finding, findings, and the share of samples
    hit."""
    _lead(actor)
    stmt = select(
        CheckFinding.dataset_id,
        CheckFinding.check,
        func.count(distinct(CheckFinding.sample_id)),
        func.count(),
    ).group_by(CheckFinding.dataset_id, CheckFinding.check)
    if f.datasets:
        stmt = stmt.where(CheckFinding.dataset_id.in_(f.datasets))
    totals = _totals if _totals is not None else _sample_totals(session, f)
    names = _dataset_names(session)
    return [
        {
            "dataset_id": d,
            "dataset": names.get(d, str(d)),
            "check": c,
            "samples_hit": hit,
            "findings": n,
            "samples": totals.get(d, 0),
            "rate": _rate(hit, totals.get(d, 0)),
        }
        for d, c, hit, n in sorted(session.execute(stmt).all())
    ]


def _sample_totals(session: Session, f: StatsFilter) -> dict[int, int]:
    stmt = select(Sample.dataset_id, func.count()).group_by(Sample.dataset_id)
    if f.datasets:
        stmt = stmt.where(Sample.dataset_id.in_(f.datasets))
    return dict(session.execute(stmt).all())


def flag_group(category: str) -> str:
    return (
        "ethics"
        if category in ETHICS_FLAGS
        else "quality"
        if category in QUALITY_FLAGS
        else "other"
    )


def flag_counts(
    session: Session, actor: Actor, f: StatsFilter = StatsFilter()
) -> list[dict[str, Any]]:
    """Flags by category, origin and state; ``group`` says ethics or quality."""
    _lead(actor)
    stmt = (
        select(Flag.category, Flag.origin, Flag.state, func.count())
        .where(*_dated(Flag.created_at, f))
        .group_by(Flag.category, Flag.origin, Flag.state)
    )
    stmt = _in_datasets(session, stmt, Flag.sample_id, f)
    return [
        {"category": c, "group": flag_group(c), "origin": o, "state": s, "n": n}
        for c, o, s, n in sorted(session.execute(stmt).all())
    ]


def preflag_precision(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    _flags: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """How often annotators confirmed what a check or model suggested: precision = confirmed /
    (confirmed + cleared).

    ``flags``: pre-flags (origin check/model) per category and origin; ``checks``: check findings
    per check by the state reviewers left them in.
    """
    _lead(actor)
    rows = _flags if _flags is not None else flag_counts(session, actor, f)
    acc: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"active": 0, "confirmed": 0, "cleared": 0}
    )
    for r in rows:
        if r["origin"] in ("check", "model"):
            acc[(r["category"], r["origin"])][r["state"]] = (
                acc[(r["category"], r["origin"])].get(r["state"], 0) + r["n"]
            )
    flags = [
        {
            "category": c,
            "origin": o,
            **v,
            "precision": _rate(v["confirmed"], v["confirmed"] + v["cleared"]),
        }
        for (c, o), v in sorted(acc.items())
    ]
    stmt = (
        select(CheckFinding.check, CheckFinding.state, func.count())
        .where(*_dated(CheckFinding.created_at, f))
        .group_by(CheckFinding.check, CheckFinding.state)
    )
    if f.datasets:
        stmt = stmt.where(CheckFinding.dataset_id.in_(f.datasets))
    chk: dict[str, dict[str, int]] = defaultdict(lambda: {"open": 0, "confirmed": 0, "cleared": 0})
    for c, s, n in session.execute(stmt):
        chk[c][s] = chk[c].get(s, 0) + n
    checks = [
        {"check": c, **v, "precision": _rate(v["confirmed"], v["confirmed"] + v["cleared"])}
        for c, v in sorted(chk.items())
    ]
    return {"flags": flags, "checks": checks}


def approval_rates(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    _status: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Approval rate = approved / (approved + rejected + needs_fix), per dataset and per source
    category.

    The category is ``Sample.meta["category"]`` (e.g. Dolly's 8), extracted in SQL (json_extract on
    SQLite, ->> on PostgreSQL) over decided samples only, found through the (dataset, status) index.
    """
    _lead(actor)
    status = _status if _status is not None else status_counts(session, actor, f)
    per_ds: dict[int, dict[str, Any]] = {}
    for r in status:
        d = per_ds.setdefault(
            r["dataset_id"],
            {"dataset_id": r["dataset_id"], "dataset": r["dataset"], **{s: 0 for s in STATUSES}},
        )
        d[r["status"]] = d.get(r["status"], 0) + r["n"]
    datasets = []
    for d in per_ds.values():
        decided = sum(d[s] for s in DECIDED)
        datasets.append({**d, "decided": decided, "rate": _rate(d["approved"], decided)})

    # Only datasets whose samples carry a category (probed on one sample each, one index seek) pay
    # for reading meta of their decided samples.
    probe = (
        select(Sample.meta["category"].as_string()).where(Sample.dataset_id == Dataset.id).limit(1)
    )
    with_cat = select(Dataset.id).where(probe.scalar_subquery().is_not(None))
    if f.datasets:
        with_cat = with_cat.where(Dataset.id.in_(f.datasets))
    cat_ds = list(session.scalars(with_cat))
    cat = Sample.meta["category"].as_string().label("category")
    stmt = (
        select(Sample.dataset_id, cat, Sample.status, func.count())
        .where(Sample.status.in_(DECIDED), Sample.dataset_id.in_(cat_ds))
        .group_by(Sample.dataset_id, cat, Sample.status)
    )
    names = _dataset_names(session)
    per_cat: dict[tuple[int, str], dict[str, Any]] = {}
    for d, c, s, n in session.execute(stmt) if cat_ds else []:
        if c is None:
            continue
        row = per_cat.setdefault(
            (d, c),
            {
                "dataset_id": d,
                "dataset": names.get(d, str(d)),
                "category": c,
                **{k: 0 for k in DECIDED},
            },
        )
        row[s] += n
    categories = []
    for (_d, _c), row in sorted(per_cat.items()):
        decided = sum(row[k] for k in DECIDED)
        categories.append({**row, "decided": decided, "rate": _rate(row["approved"], decided)})
    return {"datasets": datasets, "categories": categories}
