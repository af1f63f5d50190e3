"""Checks follow the text: after a turn is saved, the cheap checks run again on that one sample.

A finding that no longer holds is closed "resolved by edit": it leaves the open findings (so queues,
dashboards and export selections that read ``check_findings`` see it gone without knowing about
edits) and is kept in the history, in the ``meta`` of the edit that resolved it
(``resolved_findings``; ``opened_findings`` for new ones). A new finding opens; one that comes back
opens again. Findings a person confirmed or cleared are left as they are. Active pre-flags of a
check that no longer finds anything on the sample are withdrawn.

Uses only the checks' public API (registry, ``select_checks``, ``Check.prepare``/``run_batch`` and
``runner.load_batch``); prepared checks are cached per dataset for a few minutes, because some
(``length_ratio``) read dataset statistics in ``prepare``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..models import CheckFinding, Dataset, Edit, Flag, Sample, utcnow

CACHE_SECONDS = 300.0
_cache: dict[int, tuple[float, list[Any]]] = {}
_lock = threading.Lock()


@dataclass
class RecheckResult:
    sample_id: int
    checks: list[str] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    opened: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0


def _prepared(session: Session, dataset_id: int, kind: str) -> list[Any]:
    from ..checks import RunContext, select_checks

    now = time.monotonic()
    with _lock:
        hit = _cache.get(dataset_id)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    checks = select_checks(cheap_only=True)
    ctx = RunContext(session=session, dataset_id=dataset_id, dataset_kind=kind)
    for c in checks:
        c.prepare(ctx)
    with _lock:
        _cache[dataset_id] = (now, checks)
    return checks


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def recheck_sample(session: Session, sample_id: int) -> RecheckResult:
    """Re-run the cheap checks on one sample inside the caller's transaction and update its
    findings."""
    from ..checks.runner import load_batch

    row = session.execute(
        select(Sample.dataset_id, Sample.version, Dataset.kind)
        .join(Dataset, Dataset.id == Sample.dataset_id)
        .where(Sample.id == sample_id)
    ).first()
    result = RecheckResult(sample_id)
    if row is None:
        return result
    checks = _prepared(session, row.dataset_id, row.kind)
    names = [c.name for c in checks]
    result.checks = names
    views = load_batch(session, row.dataset_id, sample_id - 1, 1, True, row.kind, sample_id)
    if not views or views[0].id != sample_id:
        return result
    found = []
    for c in checks:
        for f in c.run_batch(views):
            f.sample_id = sample_id
            found.append(f)
    by_key: dict[tuple[str, int | None], list[Any]] = {}
    for f in found:
        by_key.setdefault((f.check, f.turn_idx), []).append(f)
    existing = session.execute(
        select(
            CheckFinding.id,
            CheckFinding.check,
            CheckFinding.turn_idx,
            CheckFinding.state,
            CheckFinding.message,
            CheckFinding.data,
        )
        .where(CheckFinding.sample_id == sample_id, CheckFinding.check.in_(names))
        .order_by(CheckFinding.id)
    ).all()
    ex_by_key: dict[tuple[str, int | None], list[Any]] = {}
    for e in existing:
        ex_by_key.setdefault((e.check, e.turn_idx), []).append(e)
    new_rows, gone_ids = [], []
    for key in sorted(
        set(by_key) | set(ex_by_key), key=lambda k: (k[0], -1 if k[1] is None else k[1])
    ):
        ex, fs = ex_by_key.get(key, []), list(by_key.get(key, []))
        if any(e.state in ("confirmed", "cleared") for e in ex):
            continue  # a person's decision on this finding stands
        open_ = [e for e in ex if e.state == "open"]
        keep = open_[: len(fs)]
        result.kept += len(keep)
        for e in open_[len(keep) :]:  # no longer holds: closed, kept in the edit's history
            gone_ids.append(e.id)
            result.resolved.append(
                {
                    "check": e.check,
                    "turn_idx": e.turn_idx,
                    "message": e.message,
                    "i18n": (e.data or {}).get("i18n"),
                }
            )  # shown in the reader's language
        for f in fs[len(keep) :]:
            new_rows.append(f.row(sample_id, row.dataset_id, utcnow()))
            result.opened.append({"check": f.check, "turn_idx": f.turn_idx, "message": f.message})
    if gone_ids:  # one statement for the sample, not one per finding
        session.execute(delete(CheckFinding).where(CheckFinding.id.in_(gone_ids)))
    if new_rows:
        session.execute(insert(CheckFinding), new_rows)
    if result.resolved or result.opened:
        last = session.execute(
            select(Edit.id, Edit.meta)
            .where(Edit.sample_id == sample_id)
            .order_by(Edit.id.desc())
            .limit(1)
        ).first()
        if last is not None:
            meta = dict(last.meta or {})
            for k, found_now in (
                ("resolved_findings", result.resolved),
                ("opened_findings", result.opened),
            ):
                if found_now:
                    meta[k] = meta.get(k, []) + found_now
            session.execute(update(Edit).where(Edit.id == last.id).values(meta=meta))
    # pre-flags of checks that no longer find anything here are withdrawn (runner notes start
    # "check: ")
    gone = {e["check"] for e in result.resolved} - {f.check for f in found}
    for name in sorted(gone):
        session.execute(
            delete(Flag).where(
                Flag.sample_id == sample_id,
                Flag.origin == "check",
                Flag.state == "active",
                Flag.note.startswith(f"{name}: ", autoescape=True),
            )
        )
    return result
