"""Use cases of the Korean checks (issue 16): the deep run, spacing suggestions, speech levels.

- ``run_korean_checks``: the deep check family over a dataset in worker processes (the analyser is
  CPU-bound C++ behind the GIL-free parts of ``kiwipiepy``, but the Python around it is not), then
  the spacing findings become suggestions (engine "spacing", accepted like a DeepL suggestion) and
  the dataset's speech levels are counted for the dashboard.
- ``set_target_level`` / ``speech_levels``: a lead sets the level the assistant should speak
  ("assistant speaks 해요체"); the dashboard reads the dominant level from the last deep run.

Writes need the "check" permission (leads). Nothing here imports Streamlit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select
from sqlalchemy.orm import Session

from ..checks import korean as korean_checks
from ..checks import select_checks
from ..checks.korean import analysis as an
from ..checks.korean.common import ASSISTANT_ROLES, LEVELS_KEY, TARGET_KEY
from ..checks.runner import run_dataset
from ..db import read_session
from ..errors import UsageError
from ..i18n import N_
from ..models import CheckFinding, Sample, Setting, Suggestion, Turn, utcnow
from . import audit
from .auth import Actor
from .datasets import get_dataset

SPACING_ENGINE = "spacing"
LEVEL_SAMPLE = 3_000  # assistant turns read to count a dataset's speech levels


def run_korean_checks(
    engine: Engine,
    actor: Actor,
    dataset_ref: int | str,
    only: Sequence[str] | None = None,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the deep Korean checks over every sample of a dataset; store findings, suggestions,
    levels.

    Findings of these checks are replaced (those a person confirmed or cleared stay); the samples'
    ``checked_version`` is left to the regular check run.
    """
    actor.require("check")
    names = list(only or korean_checks.NAMES)
    unknown = [n for n in names if n not in korean_checks.NAMES]
    if unknown:
        raise UsageError(
            msgid=N_("unknown Korean check(s): {unknown}; known: {names}"),
            unknown=", ".join(unknown),
            names=", ".join(korean_checks.NAMES),
        )
    with read_session(engine) as s:
        ds = get_dataset(s, dataset_ref)
        ds_id, ds_name = ds.id, ds.name
    summary = run_dataset(
        engine,
        ds_id,
        select_checks(names),
        full=True,
        set_checked=False,
        workers=max(1, workers),
        progress=progress,
    ).as_dict()
    summary["dataset"] = ds_name
    if "ko_spacing" in names:
        summary["suggestions"] = add_spacing_suggestions(engine, ds_id)
    summary["speech_levels"] = count_speech_levels(engine, ds_id)
    with Session(engine) as s, s.begin():
        audit.record(
            s,
            actor,
            "korean_check",
            dataset_id=ds_id,
            target=ds_name,
            checks=names,
            samples=summary["samples"],
            findings=summary["findings"],
        )
    return summary


def add_spacing_suggestions(engine: Engine, dataset_id: int, batch: int = 1_000) -> int:
    """Offer the corrected spacing of each open ``ko_spacing`` finding as a suggestion (engine
    "spacing").

    Keyset batches over the findings; a turn that already has the same open suggestion gets none.
    """
    n, last = 0, 0
    while True:
        with Session(engine) as s, s.begin():
            rows = s.execute(
                select(
                    CheckFinding.id,
                    CheckFinding.sample_id,
                    CheckFinding.data,
                    Turn.id,
                    Turn.text,
                    Sample.version,
                )
                .join(
                    Turn,
                    and_(
                        Turn.sample_id == CheckFinding.sample_id, Turn.idx == CheckFinding.turn_idx
                    ),
                )
                .join(Sample, Sample.id == CheckFinding.sample_id)
                .where(
                    CheckFinding.dataset_id == dataset_id,
                    CheckFinding.check == "ko_spacing",
                    CheckFinding.state == "open",
                    CheckFinding.id > last,
                )
                .order_by(CheckFinding.id)
                .limit(batch)
            ).all()
            if not rows:
                return n
            last = rows[-1][0]
            turn_ids = [r[3] for r in rows]
            have = set(
                s.execute(
                    select(Suggestion.turn_id, Suggestion.text).where(
                        Suggestion.turn_id.in_(turn_ids),
                        Suggestion.state == "open",
                        Suggestion.engine == SPACING_ENGINE,
                    )
                ).tuples()
            )
            new = []
            for fid, sid, data, tid, text, version in rows:
                sug = (data or {}).get("suggestion")
                if not sug or sug == text or (tid, sug) in have:
                    continue
                have.add((tid, sug))
                new.append(
                    {
                        "sample_id": sid,
                        "turn_id": tid,
                        "text": sug,
                        "engine": SPACING_ENGINE,
                        "options": {"finding_id": fid},
                        "based_on_version": version,
                        "state": "open",
                        "created_at": utcnow(),
                    }
                )
            if new:
                s.execute(insert(Suggestion), new)
                n += len(new)


def count_speech_levels(
    engine: Engine, dataset_id: int, max_turns: int = LEVEL_SAMPLE
) -> dict[str, Any]:
    """Count the speech levels of (a spread sample of) the dataset's assistant turns and store them.

    Samples are taken every k-th id (one indexed range read) so that 700k samples cost as much as
    ``max_turns``. Stored in the settings table for the dashboard (``speech_levels``).
    """
    with read_session(engine) as s:
        lo, hi, n = s.execute(
            select(func.min(Sample.id), func.max(Sample.id), func.count()).where(
                Sample.dataset_id == dataset_id
            )
        ).one()
        texts: list[str] = []
        if n:
            step = max(1, n // max_turns)
            q = (
                select(Turn.text)
                .join(Sample, Sample.id == Turn.sample_id)
                .where(
                    Sample.dataset_id == dataset_id,
                    Turn.role.in_(sorted(ASSISTANT_ROLES)),
                    Sample.id.between(lo, hi),
                )
            )
            if step > 1:
                q = q.where((Sample.id - lo) % step == 0)
            texts = [t for t in s.scalars(q.order_by(Sample.id).limit(max_turns)) if t]
    cache = an.LevelCache()
    sentences = dict.fromkeys(an.LEVELS, 0)
    turns = dict.fromkeys(an.LEVELS, 0)
    for es in an.turn_endings(texts, cache):
        c = an.counts([e for e in es if not e.speaker])
        for k, v in c.items():
            sentences[k] += v
        if any(c.values()):
            turns[max(c, key=lambda k: c[k])] += 1
    dominant = max(sentences, key=lambda k: sentences[k]) if any(sentences.values()) else None
    value = {
        "sentences": sentences,
        "turns": turns,
        "dominant": dominant,
        "sampled_turns": len(texts),
        "computed_at": utcnow().isoformat(timespec="seconds"),
    }
    with Session(engine) as s, s.begin():
        _put(s, LEVELS_KEY.format(dataset_id), value)
    return value


def set_target_level(
    session: Session, actor: Actor, dataset_ref: int | str, level: str | None
) -> dict[str, Any]:
    """Set (or with None clear) the speech level the dataset's assistant should speak."""
    actor.require("check")
    if level is not None and level not in an.LEVELS:
        names = ", ".join(f"{k} ({v})" for k, v in an.LEVEL_NAMES.items())
        raise UsageError(
            msgid=N_("unknown speech level {level!r}; one of: {names}"), level=level, names=names
        )
    ds = get_dataset(session, dataset_ref)
    _put(session, TARGET_KEY.format(ds.id), {"level": level} if level else {})
    audit.record(
        session, actor, "settings", dataset_id=ds.id, target="korean_target_level", level=level
    )
    return speech_levels(session, ds.id)


def speech_levels(session: Session, dataset_ref: int | str) -> dict[str, Any]:
    """The dashboard's view: dominant level and counts from the last deep run, and the target
    level."""
    ds = get_dataset(session, dataset_ref)
    stats = (
        session.scalar(select(Setting.value).where(Setting.key == LEVELS_KEY.format(ds.id))) or {}
    )
    target = (
        session.scalar(select(Setting.value).where(Setting.key == TARGET_KEY.format(ds.id))) or {}
    ).get("level")
    dominant = stats.get("dominant")
    return {
        "dataset_id": ds.id,
        "dataset": ds.name,
        "dominant": dominant,
        "dominant_name": an.LEVEL_NAMES.get(dominant or ""),
        "target": target,
        "target_name": an.LEVEL_NAMES.get(target or ""),
        "sentences": stats.get("sentences", {}),
        "turns": stats.get("turns", {}),
        "sampled_turns": stats.get("sampled_turns", 0),
        "computed_at": stats.get("computed_at"),
    }


def _put(session: Session, key: str, value: dict[str, Any]) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


# ---------------------------------------------------------------------------------------------
# as a background job (the Checks page's "Run the Korean checks"; progress survives page reloads)

JOB_KIND = "korean_checks"
JOB_MIN_PARALLEL = 2_000  # samples from which the job analyses in worker processes


def start_korean_job(
    session: Session,
    actor: Actor,
    dataset_ref: int | str,
    only: Sequence[str] | None = None,
    *,
    workers: int | None = None,
) -> int:
    """Queue a deep Korean run over a dataset; start it with ``jobs.start_thread`` /
    ``start_process``.

    ``workers`` None: one process below ``JOB_MIN_PARALLEL`` samples (a worker's analyser takes
    about a CPU-second to start), else one per core (at most 4)."""
    actor.require("check")
    from . import jobs

    names = list(only or [])
    unknown = [n for n in names if n not in korean_checks.NAMES]
    if unknown:
        raise UsageError(
            msgid=N_("unknown Korean check(s): {unknown}; known: {names}"),
            unknown=", ".join(unknown),
            names=", ".join(korean_checks.NAMES),
        )
    ds = get_dataset(session, dataset_ref)
    total = (
        session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds.id))
        or 0
    )
    if workers is None:
        workers = 1 if total < JOB_MIN_PARALLEL else max(1, min(os.cpu_count() or 1, 4))
    return jobs.create(
        session,
        actor,
        JOB_KIND,
        {
            "dataset_id": ds.id,
            "only": names,
            "workers": max(1, int(workers)),
            "actor": {"id": actor.id, "username": actor.username, "role": actor.role},
        },
        total=total,
    )


def latest_korean_job(session: Session, dataset_id: int) -> dict[str, Any] | None:
    """The newest deep Korean job of a dataset (for the Checks page), or None."""
    from . import jobs

    return next(
        (
            j
            for j in jobs.list_jobs(session, kind=JOB_KIND, limit=20)
            if j["params"].get("dataset_id") == dataset_id
        ),
        None,
    )


def _register_job() -> None:
    from . import jobs

    @jobs.register(JOB_KIND, permission="check")
    def _korean_job(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
        a = ctx.params.get("actor") or {}
        actor = Actor(a.get("id"), a.get("username", "cli"), a.get("role", "lead"))
        # the deep run replaces its open findings as a whole: a resumed job simply runs again
        out = run_korean_checks(
            engine,
            actor,
            ctx.params["dataset_id"],
            ctx.params.get("only") or None,
            workers=int(ctx.params.get("workers") or 2),
            progress=lambda n: ctx.progress(n),
        )
        ctx.done = out["samples"]
        return {
            "samples": out["samples"],
            "findings": out["findings"],
            "by_check": out["by_check"],
            "suggestions": out.get("suggestions", 0),
            "seconds": out["seconds"],
            "dominant": (out.get("speech_levels") or {}).get("dominant"),
            "_message": (
                f"analysed {out['samples']:,} samples: {out['findings']:,} findings, "
                f"{out.get('suggestions', 0):,} spacing suggestions"
            ),
        }


_register_job()
