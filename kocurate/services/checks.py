"""Use cases of the automatic checks: run checks, list them, summarize findings, reference sets,
ethics model.

Long jobs take an ``Engine`` (they commit batch by batch); the rest take a ``Session`` and never
commit. Writes require the "check" permission (leads), reference sets "evalsets".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, insert, select
from sqlalchemy.orm import Session

from ..checks import REGISTRY, select_checks
from ..checks.contamination import read_evalset
from ..checks.dedup import dedup_datasets
from ..checks.ethics import classifier
from ..checks.runner import run_dataset
from ..db import read_session
from ..errors import Conflict, NotFound, UsageError
from ..i18n import N_
from ..models import CheckFinding, Dataset, EvalItem, EvalSet, Flag, Sample, Setting, Turn, utcnow
from .auth import Actor
from .datasets import get_dataset


def list_checks() -> list[dict[str, Any]]:
    """Every registered check: name, family, severity, description, what it may pre-flag."""
    out = []
    for name, cls in REGISTRY.items():
        cats = list(getattr(cls, "categories", ()) or ([cls.flag] if cls.flag else []))
        out.append(
            {
                "name": name,
                "family": cls.family,
                "severity": cls.severity,
                "description": cls.description,
                "flags": cats,
                "after_import": cls.cheap,
            }
        )
    return sorted(out, key=lambda c: (c["family"], c["name"]))


def run_checks(
    engine: Engine,
    actor: Actor,
    dataset_ref: int | str,
    only: Sequence[str] | None = None,
    full: bool = False,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run checks over one dataset and store findings/pre-flags; returns a summary.

    Incremental by default: only samples whose version changed since their last full run.
    ``workers`` > 1 checks id ranges in that many processes (None: one per core, at most 4, for
    20,000 samples or more). With ``only`` just those checks run, over every sample (and the samples
    stay due for the next full run). Near-duplicates are grouped over the whole dataset when that
    check is named, on ``full`` runs, and when at least a tenth of the dataset was (re)checked.
    """
    actor.require("check")
    with read_session(engine) as s:
        ds = get_dataset(s, dataset_ref)
        ds_id, ds_name = ds.id, ds.name
    checks = select_checks(only)
    per_sample = [c for c in checks if not getattr(c, "corpus", False)]
    corpus = [c for c in checks if getattr(c, "corpus", False)]
    if per_sample:
        # checked_version records full runs only, so a run of some checks visits every sample
        summary = run_dataset(
            engine,
            ds_id,
            per_sample,
            full=full or bool(only),
            set_checked=not only,
            progress=progress,
            workers=workers,
        ).as_dict()
    else:
        summary = {
            "dataset_id": ds_id,
            "checks": [],
            "samples": 0,
            "findings": 0,
            "flags": 0,
            "seconds": 0.0,
            "by_check": {},
            "samples_per_s": None,
        }
    summary["dataset"] = ds_name
    # grouping looks at the whole dataset: worth it when asked for, on a full or first run, or when
    # a tenth of the samples changed; a handful of edits leaves the groups as they were
    with read_session(engine) as s:
        n_total = (
            s.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds_id))
            or 0
        )
    if corpus and (only or full or summary["samples"] * 10 >= n_total > 0):
        res = dedup_datasets(engine, [ds_id])
        summary["dedup"] = res.as_dict()
        summary["by_check"]["near_duplicate"] = res.duplicates
    return summary


def dedup(
    engine: Engine,
    actor: Actor,
    dataset_refs: Sequence[int | str] | None = None,
    *,
    threshold: float = 0.8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Group near-duplicates across the given datasets (all datasets when none are given)."""
    actor.require("check")
    with read_session(engine) as s:
        if dataset_refs:
            ids = [get_dataset(s, r).id for r in dataset_refs]
        else:
            ids = list(s.scalars(select(Dataset.id).order_by(Dataset.id)))
    if not ids:
        raise NotFound(msgid=N_("no datasets to compare"))
    return {
        "datasets": ids,
        **dedup_datasets(engine, ids, threshold=threshold, progress=progress).as_dict(),
    }


def findings_summary(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Per check: open findings, samples hit, errors/warnings (one GROUP BY over the indexed
    columns)."""
    rows = session.execute(
        select(
            CheckFinding.check,
            func.count(),
            func.count(func.distinct(CheckFinding.sample_id)),
            func.sum(case((CheckFinding.severity == "error", 1), else_=0)),
            func.sum(case((CheckFinding.state == "open", 1), else_=0)),
        )
        .where(CheckFinding.dataset_id == dataset_id)
        .group_by(CheckFinding.check)
    ).all()
    found = {r[0]: r for r in rows}
    known = list_checks()
    names = {c["name"] for c in known}
    # findings of checks no longer registered (renamed, or written by another tool) still count
    known += [
        {
            "name": n,
            "family": "other",
            "severity": "warning",
            "description": "(not a registered check)",
        }
        for n in sorted(found)
        if n not in names
    ]
    out = []
    for c in known:
        r = found.get(c["name"])
        out.append(
            {
                "check": c["name"],
                "family": c["family"],
                "severity": c["severity"],
                "description": c["description"],
                "findings": r[1] if r else 0,
                "samples": r[2] if r else 0,
                "errors": int(r[3] or 0) if r else 0,
                "open": int(r[4] or 0) if r else 0,
            }
        )
    return out


def check_progress(session: Session, dataset_id: int) -> dict[str, Any]:
    """How many samples of the dataset are checked at their current version (by a full run), and
    what the cheap checks right after the import saw (``after_import``: samples, findings; or None).
    """
    total, done = session.execute(
        select(
            func.count(), func.sum(case((Sample.checked_version == Sample.version, 1), else_=0))
        ).where(Sample.dataset_id == dataset_id)
    ).one()
    meta = session.scalar(select(Dataset.meta).where(Dataset.id == dataset_id)) or {}
    cheap = meta.get("cheap_checks") if isinstance(meta, dict) else None
    return {
        "samples": int(total or 0),
        "checked": int(done or 0),
        "after_import": dict(cheap) if isinstance(cheap, dict) else None,
    }


# ---------------------------------------------------------------------------------------------
# evaluation sets


def add_evalset(
    session: Session, actor: Actor, kind: str, path: str | Path, name: str | None = None
) -> dict[str, Any]:
    """Read a reference set (KoBEST task TSV, KorQuAD JSON) into EvalSet/EvalItem rows."""
    actor.require("evalsets")
    p = Path(path)
    name = name or p.stem
    if session.scalar(select(EvalSet.id).where(EvalSet.name == name)) is not None:
        raise Conflict(msgid=N_("an evaluation set named {name!r} exists already"), name=name)
    items = list(read_evalset(kind, p))
    if not items:
        raise UsageError(msgid=N_("{name}: no items found"), name=p.name)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    es = EvalSet(name=name, kind=kind, source_file=p.name, sha256=digest, n_items=len(items))
    session.add(es)
    session.flush()
    seen: set[tuple[str, str]] = set()
    rows = []
    for field, text in items:
        if (
            text and (field, text) not in seen
        ):  # KorQuAD repeats a passage for each of its questions
            seen.add((field, text))
            rows.append({"eval_set_id": es.id, "field": field, "text": text})
    for i in range(0, len(rows), 5_000):
        session.execute(insert(EvalItem), rows[i : i + 5_000])
    es.n_items = len(rows)
    by_field: dict[str, int] = {}
    for f, _ in seen:
        by_field[f] = by_field.get(f, 0) + 1
    return {"id": es.id, "name": name, "kind": kind, "items": len(rows), "by_field": by_field}


def list_evalsets(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "name": e.name,
            "kind": e.kind,
            "file": e.source_file,
            "items": e.n_items,
            "created_at": e.created_at.isoformat(timespec="seconds"),
        }
        for e in session.scalars(select(EvalSet).order_by(EvalSet.id))
    ]


# ---------------------------------------------------------------------------------------------
# ethics classifier


def train_ethics(
    actor: Actor, files: Sequence[str | Path], model_path: str | Path, *, holdout: float = 0.0
) -> dict[str, Any]:
    """Train the classifier on labelled files and save it (``holdout`` > 0 keeps a part back and
    reports on it)."""
    actor.require("check")
    examples = classifier.read_many(files)
    train_part, test_part = classifier.split(examples, holdout) if holdout else (examples, [])
    model = classifier.train(train_part)
    model.save(model_path)
    out: dict[str, Any] = {
        "model": str(model_path),
        "examples": len(examples),
        "trained_on": len(train_part),
        "categories": model.categories,
        "thresholds": model.thresholds,
    }
    if test_part:
        out["report"] = classifier.evaluate(model, test_part)
    return out


def evaluate_ethics(
    files: Sequence[str | Path],
    model_path: str | Path | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    spec: classifier.ColumnSpec | None = None,
) -> dict[str, Any]:
    """Binary and per-category precision/recall/F1 on a held-out split (trained here), or of a saved
    model on all rows. ``spec`` reads CSV/TSV files with a header (named text and label columns)."""
    examples = classifier.read_many(files, spec)
    if not examples:
        raise UsageError(msgid=N_("no labelled examples in the given files"))
    if model_path:
        model = classifier.load_model(model_path)
        return classifier.evaluate(model, examples)
    train_part, test_part = classifier.split(examples, holdout, seed)
    return classifier.evaluate(classifier.train(train_part, seed=seed), test_part)


def use_ethics_model(session: Session, actor: Actor, model_path: str | Path | None) -> None:
    """Make ``ethics_model`` check runs use this model (None: stop using one)."""
    actor.require("check")
    if model_path is not None:
        classifier.load_model(model_path)  # fail now, not in the middle of a run
    row = session.get(Setting, classifier.MODEL_SETTING)
    value = {"path": str(Path(model_path).resolve())} if model_path else {}
    if row is None:
        session.add(Setting(key=classifier.MODEL_SETTING, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


def export_ethics_feedback(session: Session, actor: Actor, path: str | Path) -> int:
    """Write annotators' verdicts on ethics pre-flags as training data (JSONL ``{text, labels}``).

    A confirmed pre-flag is a positive for its category; a sample whose pre-flags were all cleared
    is a negative (labels []). Streams in keyset batches; returns the number of lines written.
    """
    actor.require("check")
    from ..models import ETHICS_FLAGS

    n, last = 0, 0
    with open(path, "w", encoding="utf-8") as fh:
        while True:
            base = (
                Flag.origin.in_(("check", "model")),
                Flag.state != "active",
                Flag.category.in_(ETHICS_FLAGS),
            )
            ids = list(
                session.scalars(
                    select(Flag.sample_id)
                    .where(Flag.sample_id > last, *base)
                    .group_by(Flag.sample_id)
                    .order_by(Flag.sample_id)
                    .limit(2_000)
                )
            )
            if not ids:
                break
            last = ids[-1]
            verdicts: dict[int, set[str]] = {sid: set() for sid in ids}
            for sid, cat, state in session.execute(
                select(Flag.sample_id, Flag.category, Flag.state).where(
                    Flag.sample_id.in_(ids), *base
                )
            ):
                if state == "confirmed":
                    verdicts[sid].add(cat)
            texts: dict[int, list[str]] = {}
            for sid, text in session.execute(
                select(Turn.sample_id, Turn.text)
                .where(Turn.sample_id.in_(list(verdicts)))
                .order_by(Turn.sample_id, Turn.idx)
            ):
                texts.setdefault(sid, []).append(text)
            for sid, cats in verdicts.items():
                fh.write(
                    json.dumps(
                        {
                            "text": "\n".join(texts.get(sid, [])),
                            "labels": sorted(cats),
                            "sample_id": sid,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                n += 1
    return n


# ---------------------------------------------------------------------------------------------
# as a background job (progress that survives page reloads; kocurate.services.jobs)

JOB_KIND = "checks"


def start_check_job(
    session: Session,
    actor: Actor,
    dataset_ref: int | str,
    only: Sequence[str] | None = None,
    full: bool = False,
) -> int:
    """Queue a check run over a dataset; start it with ``jobs.start_thread`` /
    ``jobs.start_process``."""
    actor.require("check")
    from . import jobs

    ds = get_dataset(session, dataset_ref)
    total = (
        session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds.id))
        or 0
    )
    return jobs.create(
        session,
        actor,
        JOB_KIND,
        {
            "dataset_id": ds.id,
            "only": list(only or []),
            "full": full,
            "actor": {"id": actor.id, "username": actor.username, "role": actor.role},
        },
        total=total,
    )


def _register_job() -> None:
    from . import jobs

    @jobs.register(JOB_KIND, permission="check")
    def _check_job(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
        a = ctx.params.get("actor") or {}
        actor = Actor(a.get("id"), a.get("username", "cli"), a.get("role", "lead"))
        # a resumed job runs again incrementally: batches finished before are not redone (a --full
        # run that was interrupted continues as an incremental one)
        full = bool(ctx.params.get("full")) and not ctx.state.get("started")
        ctx.state["started"] = True
        out = run_checks(
            engine,
            actor,
            ctx.params["dataset_id"],
            only=ctx.params.get("only") or None,
            full=full,
            progress=lambda n: ctx.progress(n),
        )
        return {
            "samples": out["samples"],
            "findings": out["findings"],
            "flags": out["flags"],
            "by_check": out["by_check"],
            "_message": (
                f"checked {out['samples']:,} samples: "
                f"{out['findings']:,} findings, {out['flags']:,} pre-flags"
            ),
        }


_register_job()
