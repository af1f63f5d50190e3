"""Run checks over a dataset in keyset batches; store findings and pre-flags; incremental.

Per batch (a few thousand samples): one read of samples, one range read of their turns, the checks
in memory, then bulk writes: open findings of the re-checked samples are replaced, findings a
person already confirmed or cleared are kept (and not repeated), active check/model pre-flags are
replaced, and categories a person has already decided are never suggested again. When every check
ran, ``checked_version`` is set to the version that was read, so a re-run only visits samples
changed since (an edit made during the run leaves the sample due for the next one).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import read_session
from ..models import CheckFinding, Dataset, Flag, Sample, Turn, utcnow
from .base import REGISTRY, Check, Finding, RunContext, SampleView, TurnView

BATCH = 2_000


@dataclass
class RunSummary:
    dataset_id: int
    checks: list[str]
    samples: int = 0
    findings: int = 0
    flags: int = 0
    seconds: float = 0.0
    by_check: dict[str, int] = field(default_factory=dict)
    seconds_by_check: dict[str, float] = field(default_factory=dict)  # CPU seconds per check
    seconds_store: float = 0.0
    cpu_seconds: float = 0.0  # CPU seconds of the run (all worker processes together)
    workers: int = 1  # processes that checked

    def merge(self, other: RunSummary) -> None:
        """Add another run's figures over the same samples (other checks)."""
        self.checks = [*self.checks, *other.checks]
        self.seconds += other.seconds
        self._add(other)

    def _add(self, other: RunSummary) -> None:
        """What the two runs found and spent, together (CPU seconds over all processes)."""
        self.findings += other.findings
        self.flags += other.flags
        self.seconds_store += other.seconds_store
        self.cpu_seconds += other.cpu_seconds
        for k, v in other.by_check.items():
            self.by_check[k] = self.by_check.get(k, 0) + v
        for k, v in other.seconds_by_check.items():
            self.seconds_by_check[k] = self.seconds_by_check.get(k, 0.0) + v

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "checks": self.checks,
            "samples": self.samples,
            "findings": self.findings,
            "flags": self.flags,
            "seconds": round(self.seconds, 3),
            "by_check": self.by_check,
            "seconds_by_check": {k: round(v, 3) for k, v in self.seconds_by_check.items()},
            "seconds_store": round(self.seconds_store, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "workers": self.workers,
            "samples_per_s": round(self.samples / self.seconds, 1) if self.seconds else None,
        }


def categories_of(check: Check) -> set[str]:
    cats = getattr(check, "categories", None)
    if cats:
        return set(cats)
    return {check.flag} if check.flag else set()


def load_batch(
    session: Session,
    dataset_id: int,
    last_id: int,
    limit: int,
    full: bool,
    kind: str = "",
    max_id: int | None = None,
) -> list[SampleView]:
    """The next ``limit`` samples of a dataset after ``last_id`` (only unchecked ones unless
    ``full``)."""
    q = select(
        Sample.id,
        Sample.version,
        Sample.key,
        Sample.position,
        Sample.align_status,
        Sample.align_confidence,
    ).where(Sample.dataset_id == dataset_id, Sample.id > last_id)
    if max_id is not None:
        q = q.where(Sample.id <= max_id)
    if not full:
        q = q.where(Sample.checked_version != Sample.version)
    # Core, not the ORM's row loading: plain tuples cost a third less per row
    conn = session.connection()
    rows = conn.execute(q.order_by(Sample.id).limit(limit)).all()
    if not rows:
        return []
    views = {
        r[0]: SampleView(r[0], dataset_id, [], r[1], r[2], r[3], r[4], r[5], kind) for r in rows
    }
    ids = [r[0] for r in rows]
    # contiguous ids (a full run): one index range; scattered ones (an incremental run after a few
    # edits): the ids themselves, so a batch never reads the turns of samples it skips
    where = (
        Turn.sample_id.between(ids[0], ids[-1])
        if ids[-1] - ids[0] < 4 * len(ids)
        else Turn.sample_id.in_(ids)
    )
    turns = conn.execute(
        select(Turn.sample_id, Turn.idx, Turn.role, Turn.text, Turn.source_text, Turn.source_kind)
        .where(where)
        .order_by(Turn.sample_id, Turn.idx)
    )
    get = views.get
    for sid, idx, role, text, src, kind_ in turns:
        v = get(sid)
        if v is not None:
            v.turns.append(TurnView(idx, role, text or "", src, kind_))
    return list(views.values())


AUTO_MIN_SAMPLES = 20_000  # below this, starting worker processes costs more than it saves
AUTO_MAX_WORKERS = 4


def auto_workers(n_samples: int) -> int:
    """Worker processes for a run over ``n_samples``: one per core (at most 4) for large runs."""
    if n_samples < AUTO_MIN_SAMPLES:
        return 1
    return max(1, min(os.cpu_count() or 1, AUTO_MAX_WORKERS, n_samples // (AUTO_MIN_SAMPLES // 2)))


def run_dataset(
    engine: Engine,
    dataset_id: int,
    checks: list[Check],
    *,
    full: bool = False,
    set_checked: bool = True,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RunSummary:
    """Run ``checks`` over one dataset and store what they find (see the module docstring).

    ``workers`` > 1 splits the dataset's id range between that many processes (the checks are
    CPU-bound Python; each process reads, checks and writes its own keyset batches). None: one per
    core (at most 4) when the run has at least 20,000 samples to check, else one (``auto_workers``).
    Checks given as instances run in this process only (a worker builds its own from the names).
    """
    if workers is None:
        workers = 1
        if all(type(c) is REGISTRY.get(c.name) for c in checks):  # workers rebuild checks by name
            with read_session(engine) as s:
                q = select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id)
                if not full:
                    q = q.where(Sample.checked_version != Sample.version)
                workers = auto_workers(s.scalar(q) or 0)
    if workers > 1:
        summary = _run_parallel(
            engine,
            dataset_id,
            [c.name for c in checks],
            full=full,
            set_checked=set_checked,
            batch=batch,
            workers=workers,
        )
        summary.workers = workers
        return summary
    return _run_range(
        engine,
        dataset_id,
        checks,
        full=full,
        set_checked=set_checked,
        batch=batch,
        progress=progress,
    )


def _run_range(
    engine: Engine,
    dataset_id: int,
    checks: list[Check],
    *,
    full: bool,
    set_checked: bool,
    batch: int,
    progress: Callable[[int], None] | None = None,
    lo: int = 0,
    hi: int | None = None,
) -> RunSummary:
    names = [c.name for c in checks]
    summary = RunSummary(dataset_id, names)
    t0, c0 = time.perf_counter(), time.process_time()
    with read_session(engine) as s:
        ds = s.get(Dataset, dataset_id)
        kind = ds.kind if ds else ""
        ctx = RunContext(session=s, dataset_id=dataset_id, dataset_kind=kind)
        for c in checks:
            t = time.process_time()
            c.prepare(ctx)
            summary.seconds_by_check[c.name] = time.process_time() - t
    cats = set().union(*(categories_of(c) for c in checks)) if checks else set()
    last = lo
    while True:
        with read_session(engine) as s:
            views = load_batch(s, dataset_id, last, batch, full, kind, hi)
        if not views:
            break
        last = views[-1].id
        found: list[Finding] = []
        for c in checks:
            # CPU time of this process: per-check figures stay meaningful on a busy machine
            t = time.process_time()
            found.extend(c.run_batch(views))
            summary.seconds_by_check[c.name] = (
                summary.seconds_by_check.get(c.name, 0.0) + time.process_time() - t
            )
        t = time.perf_counter()
        with Session(engine) as s, s.begin():
            nf, nfl = _store(s, dataset_id, [v.id for v in views], found, names, cats)
            if set_checked:
                s.connection().execute(
                    update(Sample)
                    .where(Sample.id == bindparam("sid"))
                    .values(checked_version=bindparam("v")),
                    [{"sid": v.id, "v": v.version} for v in views],
                )
        summary.seconds_store += time.perf_counter() - t
        summary.samples += len(views)
        summary.findings += nf
        summary.flags += nfl
        for f in found:
            summary.by_check[f.check] = summary.by_check.get(f.check, 0) + 1
        if progress:
            progress(summary.samples)
    summary.seconds = time.perf_counter() - t0
    summary.cpu_seconds = time.process_time() - c0
    return summary


def _worker(
    url: str,
    dataset_id: int,
    names: list[str],
    lo: int,
    hi: int,
    full: bool,
    set_checked: bool,
    batch: int,
) -> RunSummary:
    from ..db import make_engine
    from .base import select_checks

    freeze_worker_heap()
    engine = make_engine(url)
    try:
        return _run_range(
            engine,
            dataset_id,
            select_checks(names),
            full=full,
            set_checked=set_checked,
            batch=batch,
            lo=lo,
            hi=hi,
        )
    finally:
        engine.dispose()


def freeze_worker_heap() -> None:
    """In a worker process: what is alive now (the imported modules and checks, a fork's copy of
    its parent) leaves the garbage collector's full collections, which walked it all every few
    batches (4 % of the cheap checks' CPU); a worker lives for one run only."""
    gc.freeze()


@contextmanager
def without_main_script() -> Iterator[None]:
    """Start worker processes here. A forkserver or spawn child first re-runs the parent's
    ``__main__`` file; under Streamlit (and its AppTest) that is the page script being run, which
    must not run again in a worker. While workers start, ``__main__`` is a bare module; a module run
    with ``-m`` is kept.
    """
    main = sys.modules.get("__main__")
    if (
        main is None
        or getattr(main, "__spec__", None) is not None
        or not getattr(main, "__file__", None)
    ):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _run_parallel(
    engine: Engine,
    dataset_id: int,
    names: list[str],
    *,
    full: bool,
    set_checked: bool,
    batch: int,
    workers: int,
) -> RunSummary:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    with read_session(engine) as s:
        lo, hi = s.execute(
            select(func.min(Sample.id), func.max(Sample.id)).where(Sample.dataset_id == dataset_id)
        ).one()
    summary = RunSummary(dataset_id, names)
    if lo is None:
        return summary
    step = (hi - lo + workers) // workers
    bounds = [(lo - 1 + k * step, min(hi, lo - 1 + (k + 1) * step)) for k in range(workers)]
    url = engine.url.render_as_string(hide_password=False)
    # fork is quickest, but a forked child inherits locks other threads held at that moment: in a
    # threaded server (Streamlit) the workers come from a fresh forkserver instead
    import threading

    method = "fork" if threading.active_count() == 1 else "forkserver"
    with without_main_script():  # the workers start inside (map submits every task at once)
        ex = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
        results = ex.map(
            _worker,
            *zip(
                *[(url, dataset_id, names, a, b, full, set_checked, batch) for a, b in bounds],
                strict=True,
            ),
        )
    with ex:
        parts = list(results)
    for p in parts:  # the same checks over other samples
        summary.samples += p.samples
        summary._add(p)
    summary.seconds = time.perf_counter() - t0
    return summary


def _store(
    s: Session,
    dataset_id: int,
    ids: Sequence[int],
    found: list[Finding],
    names: list[str],
    cats: set[str],
    *,
    fresh: bool = False,
) -> tuple[int, int]:
    """Replace the open findings and active pre-flags of ``names`` on the samples ``ids`` (in
    order) by ``found``. ``fresh``: samples imported moments ago, which no check has seen yet
    (nothing to replace: the look-ups and deletes are skipped, a third of storing an import's
    findings)."""
    conn = s.connection()
    kept: set[tuple[int, str, int | None]] = set()
    if not fresh:
        ids = list(ids)
        lo, hi = ids[0], ids[-1]
        idset = set(ids)
        # findings a person already confirmed or cleared stay, and are not raised again
        kept = {
            (sid, chk, ti)
            for sid, chk, ti in conn.execute(
                select(CheckFinding.sample_id, CheckFinding.check, CheckFinding.turn_idx).where(
                    CheckFinding.sample_id.between(lo, hi),
                    CheckFinding.check.in_(names),
                    CheckFinding.state != "open",
                )
            )
            if sid in idset
        }
        conn.execute(
            delete(CheckFinding).where(
                CheckFinding.sample_id.in_(ids),
                CheckFinding.check.in_(names),
                CheckFinding.state == "open",
            )
        )
    now = utcnow()
    rows = []
    suggest: dict[int, dict[str, Finding]] = defaultdict(dict)
    for f in found:
        if (f.sample_id, f.check, f.turn_idx) in kept:
            continue
        rows.append(f.row(f.sample_id, dataset_id, now))  # type: ignore[arg-type]
        if f.flag and f.flag not in suggest[f.sample_id]:  # type: ignore[index]
            suggest[f.sample_id][f.flag] = f  # type: ignore[index]
    if rows:
        conn.execute(insert(CheckFinding), rows)
    if not cats:
        return len(rows), 0
    # pre-flags: replace this run's active suggestions; never re-suggest what a person decided
    # (only those this run's checks made: a pre-flag's note starts with the name of its check)
    if not fresh:
        conn.execute(
            delete(Flag).where(
                Flag.sample_id.in_(ids),
                Flag.origin.in_(("check", "model")),
                Flag.state == "active",
                Flag.category.in_(sorted(cats)),
                or_(*(Flag.note.startswith(f"{n}: ", autoescape=True) for n in names)),
            )
        )
    if not suggest:
        return len(rows), 0
    taken = {
        (sid, cat)
        for sid, cat in conn.execute(
            select(Flag.sample_id, Flag.category).where(
                Flag.sample_id.in_(list(suggest)), Flag.category.in_(sorted(cats))
            )
        )
    }
    flags = []
    for sid, by_cat in suggest.items():
        for cat, f in by_cat.items():
            if (sid, cat) in taken:
                continue
            flags.append(
                {
                    "sample_id": sid,
                    "category": cat,
                    "note": f"{f.check}: {f.message}"[:1000],
                    "turn_idx": f.turn_idx,
                    "user_id": None,
                    "origin": "model" if f.check.endswith("_model") else "check",
                    "state": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if flags:
        conn.execute(insert(Flag), flags)
    return len(rows), len(flags)


def run_samples(
    samples: list[SampleView], checks: list[Check], ctx: RunContext | None = None
) -> list[Finding]:
    """Run checks over in-memory samples (tests, previews): no database writes."""
    ctx = ctx or RunContext()
    for c in checks:
        c.prepare(ctx)
    out: list[Finding] = []
    for c in checks:
        out.extend(c.run_batch(samples))
    return out
