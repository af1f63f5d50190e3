"""Gold samples and quality ratings at full scale (issue 21 B): does the mix keep the queue cheap?

Fills a database with ``benchmarks/synth.py`` (700k samples by default), then measures, each call in
its own transaction as the app does, p50/p95 beside a named baseline measured in the same run:

- next_sample on the main queue, 500 gold samples mixed at 5 %      vs  the same queue before any
gold
  (the queue as it was: no gold exclusion, no per-person counter)
- submit_decision with a gold bar set (second-review gate)          vs  the same without a bar
- ratings.summary (kappa + alpha per criterion: counts in SQL, pairs in numpy) vs  the same figures
from every
  rating row read into Python (the naive way)

    python benchmarks/gold.py                  # SQLite file in a temp dir, 700k samples
    python benchmarks/gold.py --n 20000 --reps 50
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks import synth  # noqa: E402
from kocurate import db  # noqa: E402
from kocurate.db import session_scope  # noqa: E402
from kocurate.models import Dataset, QualityRating, Sample, User, utcnow  # noqa: E402
from kocurate.services import gold, ratings  # noqa: E402
from kocurate.services import review as rv  # noqa: E402
from kocurate.services.auth import SYSTEM  # noqa: E402
from kocurate.services.users import actor_of  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def report(name: str, ours: list[float], base: list[float], base_name: str) -> None:
    print(
        f"{name:<44} p50 {statistics.median(ours):7.2f} ms  p95 {pct(ours, 95):7.2f} ms   | "
        f" baseline ({base_name}): p50 {statistics.median(base):7.2f} ms  p95"
        f" {pct(base, 95):7.2f} ms"
    )


def queue_walk(engine: Engine, actors: list[Any], ds: int, reps: int) -> list[float]:
    """Each person takes the next sample and decides it (the app's loop); next_sample timed."""
    out: list[float] = []
    after: dict[int, int | None] = {}
    for i in range(reps):
        a = actors[i % len(actors)]
        with session_scope(engine) as s:
            ms, sid = timed(lambda s=s, a=a: rv.next_sample(s, a, ds, after=after.get(a.id)))
            out.append(ms)
            if sid is not None:
                rv.submit_decision(s, a, sid, "approve")
                after[a.id] = sid
    return out


def decide_walk(engine: Engine, actors: list[Any], ds: int, reps: int) -> list[float]:
    out: list[float] = []
    for i in range(reps):
        a = actors[i % len(actors)]
        with session_scope(engine) as s:
            sid = rv.next_sample(s, a, ds)
            if sid is None:
                continue
            ms, _r = timed(lambda s=s, a=a, sid=sid: rv.submit_decision(s, a, sid, "approve"))
            out.append(ms)
    return out


def naive_summary(engine: Engine, ds: int) -> dict[str, Any]:
    """Every rating row into Python, then the same kappa/alpha (the baseline)."""
    with Session(engine) as s:
        rows = s.execute(
            select(
                QualityRating.criterion,
                QualityRating.sample_id,
                QualityRating.user_id,
                QualityRating.score,
            ).where(QualityRating.dataset_id == ds)
        ).all()
    out = {}
    for crit in ratings.CRITERIA:
        units: dict[int, dict[int, int]] = defaultdict(dict)
        for c, sid, uid, score in rows:
            if c == crit:
                units[sid][uid] = score
        users = sorted({u for v in units.values() for u in v})
        table = [[v.get(u) for u in users] for v in units.values()]
        out[crit] = ratings.krippendorff_alpha(table, "ordinal")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="database URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--n", type=int, default=700_000, help="samples (default 700000)")
    ap.add_argument("--reps", type=int, default=200, help="measurements per operation")
    ap.add_argument("--gold", type=int, default=500, help="gold samples in the big dataset")
    ap.add_argument(
        "--rated", type=int, default=20_000, help="samples rated by 3 people on 4 criteria"
    )
    args = ap.parse_args(argv)
    tmp = None
    url = args.url
    if not url:
        tmp = tempfile.mkdtemp(prefix="kc-bench-gold-")
        url = f"sqlite:///{tmp}/bench.db"
    print(f"database: {url}; load average before: {os.getloadavg()}")
    t, info = timed(lambda: synth.populate(url, args.n))
    print(f"populate: {info.get('samples', args.n):,} samples in {t / 1000:.1f} s")
    engine = db.make_engine(url)
    if engine.dialect.name != "sqlite":
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    with Session(engine) as s:
        ds = s.scalar(select(Dataset.id).order_by(Dataset.id).limit(1))
        n_ds = s.scalar(select(Dataset.n_samples).where(Dataset.id == ds))
        users = list(
            s.scalars(select(User).where(User.role == "annotator").order_by(User.id).limit(10))
        )
    actors = [actor_of(u) for u in users]
    print(f"big dataset {ds}: {n_ds:,} samples; {len(actors)} annotators; reps {args.reps}")

    base_next = queue_walk(engine, actors[:5], ds, args.reps)
    with session_scope(engine) as s:  # gold: spread over the dataset, expected approve
        ids = list(
            s.scalars(
                select(Sample.id)
                .where(Sample.dataset_id == ds, Sample.status == "new")
                .order_by(Sample.id.desc())
                .limit(args.gold)
            )
        )
        for sid in ids:
            gold.mark(s, SYSTEM, sid, "approve")
        gold.set_rate(s, SYSTEM, ds, 0.05)
    ours_next = queue_walk(engine, actors[5:], ds, args.reps)
    report(f"next_sample, {len(ids)} gold mixed at 5 %", ours_next, base_next, "queue before gold")

    base_dec = decide_walk(engine, actors[:5], ds, args.reps)
    with session_scope(engine) as s:
        gold.set_bar(s, SYSTEM, ds, 0.99, min_answers=1)  # several people below: the gate works
    ours_dec = decide_walk(engine, actors[:5], ds, args.reps)
    report("submit_decision with a gold bar", ours_dec, base_dec, "no bar")

    rng = random.Random(3)
    with session_scope(engine) as s:
        ratings.set_enabled(s, SYSTEM, ds, True)
        rated = list(
            s.scalars(
                select(Sample.id)
                .where(Sample.dataset_id == ds)
                .order_by(Sample.id)
                .limit(args.rated)
            )
        )
        now = utcnow()
        rows = [
            {
                "sample_id": sid,
                "dataset_id": ds,
                "user_id": a.id,
                "criterion": c,
                "score": max(1, min(5, base + rng.choice((-1, 0, 0, 1)))),
                "updated_at": now,
            }
            for sid in rated
            for base in (rng.randint(1, 5),)
            for a in actors[:3]
            for c in ratings.CRITERIA
        ]
        for i in range(0, len(rows), 10_000):
            s.execute(insert(QualityRating), rows[i : i + 10_000])
    print(f"ratings: {len(rows):,} rows ({len(rated):,} samples x 3 raters x 4 criteria)")
    lead = SYSTEM
    ours_sum, base_sum = [], []
    for _ in range(5):
        with Session(engine) as s:
            ms, summ = timed(lambda s=s: ratings.summary(s, lead, ds))
        ours_sum.append(ms)
        ms, naive = timed(lambda: naive_summary(engine, ds))
        base_sum.append(ms)
    for row in summ:
        assert abs((row["alpha_ordinal"] or 0) - round(naive[row["criterion"]] or 0, 3)) < 2e-3
    report(
        "ratings.summary (kappa + alpha, 4 criteria)",
        ours_sum,
        base_sum,
        "all rows into Python, alpha only",
    )
    print(f"load average after: {os.getloadavg()}")
    engine.dispose()
    if tmp:
        print(f"(database left at {tmp}; delete it when done)")


if __name__ == "__main__":
    main()
