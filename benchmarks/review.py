"""Review workspace latency at full scale: next sample, open, save an edit, search.

Fills a database with ``benchmarks/synth.py`` (700k samples, ~1.5M turns by default), builds the
search index, then measures server-side latency (each call in its own transaction, as the app does)
and prints p50/p95 beside a named naive baseline measured in the same run:

- next_sample (claims, keyset by id)      vs  OFFSET pagination to the person's position
- get_sample_view (open a sample)         vs  (no baseline: one sample, indexed)
- save_edit (conditional version UPDATE)  vs  ORM read-modify-write of the whole sample (no race
safety)
- search (FTS5 trigram / pg_trgm)         vs  LIKE '%q%' scan over turns

Targets (issue 3): next_sample and save_edit p95 < 100 ms, search p95 < 300 ms.

    python benchmarks/review.py                       # SQLite file in a temp dir, 700k samples
    python benchmarks/review.py --n 50000 --reps 100  # quicker
    python benchmarks/review.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session, selectinload  # noqa: E402

from benchmarks import synth  # noqa: E402
from kocurate import db  # noqa: E402
from kocurate.db import session_scope  # noqa: E402
from kocurate.models import Dataset, Sample, Turn, User  # noqa: E402
from kocurate.services import review as rv  # noqa: E402
from kocurate.services import search  # noqa: E402
from kocurate.services.users import actor_of  # noqa: E402

RARE = "희귀한벤치단어"
QUERIES = [
    "고양이와 개를",
    "파이썬에서 리스트를",
    "Korean cuisine",
    "프랑스어로",
    RARE,
    "존재하지않는문장입니다",
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def report(
    name: str, ours: list[float], baseline: list[float] | None, base_name: str, target: float | None
) -> None:
    line = f"{name:<16} p50 {statistics.median(ours):7.2f} ms  p95 {pct(ours, 95):7.2f} ms"
    if target is not None:
        line += f"  (target p95 < {target:.0f} ms: {'OK' if pct(ours, 95) < target else 'MISSED'})"
    print(line)
    if baseline:
        print(
            f"{'  baseline':<16} p50 {statistics.median(baseline):7.2f} ms  p95"
            f" {pct(baseline, 95):7.2f} ms  [{base_name}]"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="database URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--n", type=int, default=700_000, help="samples (default 700000)")
    ap.add_argument("--reps", type=int, default=200, help="measurements per operation")
    ap.add_argument("--reuse", action="store_true", help="the database at --url is already filled")
    args = ap.parse_args(argv)
    tmp = None
    url = args.url
    if not url:
        tmp = tempfile.mkdtemp(prefix="kc-bench-review-")
        url = f"sqlite:///{tmp}/bench.db"
    print(f"database: {url}")
    if not args.reuse:
        t, info = timed(lambda: synth.populate(url, args.n, approved_frac=0.3))
        print(f"populate: {info.get('samples', args.n):,} samples in {t / 1000:.1f} s")
    engine = db.make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite:  # planner statistics after the bulk load (autovacuum would do it a little later)
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    with Session(engine) as s:
        n_turns = s.scalar(select(func.count()).select_from(Turn))
        datasets = list(s.scalars(select(Dataset.id).order_by(Dataset.id)))
        users = list(s.scalars(select(User).where(User.role == "annotator").order_by(User.id)))
    print(f"turns: {n_turns:,}; datasets: {datasets}")
    # index after import: the explicit step ingest is meant to call
    t0 = time.perf_counter()
    with Session(engine) as s:
        todo = [d for d in datasets if d not in search.indexed_datasets(s)] if sqlite else datasets
    for d in todo:
        search.index_dataset(engine, d)
    if not todo:
        print("search index: already built (--reuse)")
    else:
        print(
            f"search index: {time.perf_counter() - t0:.1f} s for {n_turns:,} turns "
            f"({'FTS5 trigram' if sqlite else 'pg_trgm GIN indexes built'})"
        )
    with session_scope(engine) as s:  # a rare word, written through the app's own save path
        rng = random.Random(1)
        ids = [rng.randrange(1, args.n) for _ in range(5)]
        for sid in ids:
            v = s.scalar(select(Sample.version).where(Sample.id == sid))
            t = s.scalar(select(Turn).where(Turn.sample_id == sid).order_by(Turn.idx).limit(1))
            if v is not None and t is not None:
                rv.save_edit(s, actor_of(users[0]), sid, t.id, t.text + " " + RARE, v)
    measure(engine, datasets, users, args.reps, sqlite)
    engine.dispose()
    if tmp:
        print(f"(database left at {tmp}; delete it when done)")


def measure(
    engine: Engine, datasets: list[int], users: list[User], reps: int, sqlite: bool
) -> None:
    rng = random.Random(7)
    big = datasets[0]
    actors = [actor_of(u) for u in users]

    # ---- next_sample: 20 annotators work through the queue; each call claims a fresh sample
    ours: list[float] = []
    last: dict[int, int | None] = {a.id: None for a in actors}  # type: ignore[misc]
    for i in range(reps):
        a = actors[i % len(actors)]
        with session_scope(engine) as s:
            ms, sid = timed(lambda s=s, a=a: rv.next_sample(s, a, big, after=last[a.id]))
        last[a.id] = sid
        ours.append(ms)
    # baseline: OFFSET pagination to where the person stands in the queue (position grows with work
    # done)
    base: list[float] = []
    with Session(engine) as s:
        n_new = (
            s.scalar(
                select(func.count())
                .select_from(Sample)
                .where(Sample.dataset_id == big, Sample.status == "new")
            )
            or 1
        )
    for _ in range(max(20, reps // 5)):
        pos = rng.randrange(n_new)
        with Session(engine) as s:
            ms, _ = timed(
                lambda s=s, pos=pos: s.scalar(
                    select(Sample.id)
                    .where(Sample.dataset_id == big, Sample.status == "new")
                    .order_by(Sample.id)
                    .offset(pos)
                    .limit(1)
                )
            )
        base.append(ms)
    report("next_sample", ours, base, "OFFSET pagination", 100)

    # filtered queues (indexes + EXISTS)
    for label, f in (
        ("next flag=hate", rv.QueueFilter(flag="hate")),
        ("next check", rv.QueueFilter(check="untranslated")),
        ("next len<200", rv.QueueFilter(max_len=200)),
    ):
        vals = []
        for i in range(max(10, reps // 10)):
            a = actors[i % len(actors)]
            with session_scope(engine) as s:
                ms, sid = timed(lambda s=s, a=a, f=f: rv.next_sample(s, a, big, f))
                if sid is not None:
                    rv.release_claim(s, a, sid)
            vals.append(ms)
        report(label, vals, None, "", 100)

    # ---- open a sample + save an edit
    with Session(engine) as s:
        max_id = s.scalar(select(func.max(Sample.id))) or 1
    view_ms: list[float] = []
    save_ms: list[float] = []
    for i in range(reps):
        a = actors[i % len(actors)]
        sid = rng.randrange(1, max_id)
        with session_scope(engine) as s:
            ms, view = timed(lambda s=s, a=a, sid=sid: rv.get_sample_view(s, a, sid))
        view_ms.append(ms)
        t = view["turns"][rng.randrange(len(view["turns"]))]
        with session_scope(engine) as s:
            ms, _ = timed(
                lambda s=s, a=a, sid=sid, t=t, v=view["version"]: rv.save_edit(
                    s, a, sid, t["id"], t["text"] + " (수정)", v
                )
            )
        save_ms.append(ms)
    naive: list[float] = []
    for _ in range(max(20, reps // 5)):
        sid = rng.randrange(1, max_id)
        with session_scope(engine) as s:

            def rewrite(s: Session = s, sid: int = sid) -> None:
                sample = s.scalar(
                    select(Sample).options(selectinload(Sample.turns)).where(Sample.id == sid)
                )
                for t in sample.turns:  # rewrites every turn; version compared in Python (racy)
                    t.text = t.text + " "
                sample.version += 1
                s.flush()

            ms, _ = timed(rewrite)
        naive.append(ms)
    report("get_sample_view", view_ms, None, "", None)
    report("save_edit", save_ms, naive, "ORM read-modify-write of the sample", 100)

    # ---- search
    a = actors[0]
    ours, base = [], []
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    rounds = max(3, reps // (2 * len(QUERIES)))
    for r in range(rounds):
        for q in QUERIES:
            # every other round within one dataset and status (the search page's filters)
            kw: dict[str, Any] = (
                {"dataset_id": datasets[1 + r % (len(datasets) - 1)], "status": "new"}
                if r % 2
                else {}
            )
            with Session(engine) as s:
                ms, hits = timed(lambda s=s, q=q, kw=kw: search.search(s, a, q, limit=50, **kw))
            ours.append(ms)
            per_query[q].append(ms)
    like_rounds = 1 if not sqlite else 2
    for _ in range(like_rounds):
        for q in QUERIES:
            with Session(engine) as s:
                pattern = "%" + q + "%"
                ms, _ = timed(
                    lambda s=s, p=pattern: s.execute(
                        select(Turn.id)
                        .where((Turn.text.like(p)) | (Turn.source_text.like(p)))
                        .order_by(Turn.id)
                        .limit(50)
                    ).all()
                )
            base.append(ms)
    report("search", ours, base, "LIKE '%q%' scan over turns", 300)
    for q, vals in per_query.items():
        print(f"    {q!r:<28} p95 {pct(vals, 95):7.2f} ms")
    with Session(engine) as s:
        ms, hits = timed(lambda: search.search(s, a, RARE, limit=50))
    print(f"  rare word found in {len(hits)} turn(s) after edits (index kept in sync), {ms:.1f} ms")
    if sqlite:
        with Session(engine) as s:
            size = s.execute(
                text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            ).scalar()
        print(f"database file: {size / 1e9:.2f} GB (includes the FTS index)")


if __name__ == "__main__":
    main()
