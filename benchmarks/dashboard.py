"""How long the dashboard's queries take at full scale, beside a naive pandas baseline.

Fills a database with ``benchmarks/synth.py`` (700k samples, 200k reviews by default) unless it
already holds samples, then times every figure of ``kocurate.services.stats`` (SQL aggregates) one
by one and a page load (``stats.dashboard``: all figures at once, with the first page of
disagreements, which is what ``pages/dashboard.py`` runs), warm, best of ``--repeat``. The baseline
``naive_pandas`` loads the rows the same figures need into pandas DataFrames and computes them there
(status counts, text histograms, edited-turn share, per-person medians, agreement pairs).

    python benchmarks/dashboard.py                      # temporary SQLite file
    python benchmarks/dashboard.py --url postgresql+psycopg://postgres@127.0.0.1:55445/bench
    python benchmarks/dashboard.py --db /tmp/k.db --samples 700000 --reviews 200000
    python benchmarks/dashboard.py --samples 2000000 --reviews 500000 --replicate 10   # issue 19
    scale

``--replicate K`` (SQLite) is the fast bulk path to large sizes: ``synth.populate`` fills 1/K of the
samples and reviews, then the database copies its samples, turns, reviews, flags and findings K - 1
times into itself (``INSERT … SELECT`` with shifted ids and keys, the search index's triggers off
meanwhile: the dashboard does not read it). The distributions stay those of the generated part.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from kocurate import db  # noqa: E402
from kocurate.models import Sample  # noqa: E402
from kocurate.services import stats  # noqa: E402
from kocurate.services.auth import Actor  # noqa: E402


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time and best CPU time of this process over ``repeat`` runs, and the last result.

    On SQLite the queries run inside this process, so the CPU time is the work itself, whatever
    else the machine is doing (wall time on a shared, loaded machine is not); on PostgreSQL the work
    is in the server, and only the wall time counts.
    """
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu, out


def naive_pandas(engine: Any) -> dict[str, Any]:
    """The baseline: read the rows into pandas, then group there."""
    with engine.connect() as c:
        samples = pd.read_sql(
            text("SELECT id, dataset_id, status, meta, ko_chars, en_chars, n_turns FROM samples"), c
        )
        turns = pd.read_sql(text("SELECT id, sample_id, text, mt_text FROM turns"), c)
        reviews = pd.read_sql(
            text("SELECT id, sample_id, user_id, decision, seconds, created_at FROM reviews"), c
        )
    out: dict[str, Any] = {}
    out["status"] = samples.groupby(["dataset_id", "status"]).size()
    out["ko_hist"] = samples.groupby(
        ["dataset_id", pd.cut(samples.ko_chars, [-1, 0, 49, 99, 199, 499, 999, 10**9])],
        observed=True,
    ).size()
    out["edited"] = int((turns.text != turns.mt_text).sum())
    out["median"] = reviews.groupby("user_id").seconds.median()
    latest = reviews.sort_values("id").drop_duplicates(["sample_id", "user_id"], keep="last")
    multi = latest[latest.groupby("sample_id").user_id.transform("nunique") >= 2]
    pairs = multi.merge(multi, on="sample_id")
    out["pairs"] = (
        pairs[pairs.user_id_x < pairs.user_id_y]
        .groupby(["user_id_x", "user_id_y", "decision_x", "decision_y"])
        .size()
    )
    return out


def replicate(engine: Any, k: int) -> None:
    """Copy samples (and their turns, reviews, flags, findings) k - 1 times, ids and keys
    shifted."""
    if not str(engine.url).startswith("sqlite"):
        raise SystemExit("--replicate is for SQLite")
    from kocurate.models import Base

    def cols(table: str) -> list[str]:
        return [c.name for c in Base.metadata.tables[table].columns]

    shift = {
        "samples": {"id": "id + :s", "key": "key || :suffix"},
        "turns": {"id": "id + :t", "sample_id": "sample_id + :s"},
        "reviews": {"id": "id + :r", "sample_id": "sample_id + :s"},
        "flags": {"id": "id + :f", "sample_id": "sample_id + :s"},
        "check_findings": {"id": "id + :c", "sample_id": "sample_id + :s"},
    }
    with engine.begin() as c:
        top = {t: c.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) for t in shift}
        triggers = c.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'turns_fts_%'"
            )
        ).all()
        for name, _sql in triggers:
            c.execute(text(f"DROP TRIGGER {name}"))
        c.exec_driver_sql("PRAGMA cache_size = -524288")
        for i in range(1, k):
            params = {
                "s": top["samples"] * i,
                "t": top["turns"] * i,
                "r": top["reviews"] * i,
                "f": top["flags"] * i,
                "c": top["check_findings"] * i,
                "suffix": f"~{i}",
            }
            for table, exprs in shift.items():
                names = cols(table)
                sel = ", ".join(exprs.get(n, f'"{n}"') for n in names)
                c.execute(
                    text(
                        f"INSERT INTO {table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                        f"SELECT {sel} FROM {table} WHERE id <= :top ORDER BY id"
                    ),
                    {**params, "top": top[table]},
                )
        for (
            _name,
            sql,
        ) in triggers:  # the index no longer covers the copies: the dashboard never reads it
            c.execute(text(sql))
        c.execute(
            text(
                "UPDATE datasets SET n_samples = (SELECT count(*) FROM samples "
                "WHERE samples.dataset_id = datasets.id)"
            )
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="database URL (default: a SQLite file, see --db)")
    ap.add_argument("--db", help="SQLite file (default: a temporary one)")
    ap.add_argument("--samples", type=int, default=700_000)
    ap.add_argument("--reviews", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="generate 1/K of the data, then copy it K-1 times inside SQLite (fast bulk path)",
    )
    args = ap.parse_args(argv)
    tmp = None
    if args.url:
        url = args.url
    else:
        path = args.db or str(Path(tmp := tempfile.mkdtemp(prefix="kc-dash-")) / "bench.db")
        url = f"sqlite:///{Path(path).resolve()}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as c:
        have = c.scalar(select(func.count()).select_from(Sample)) or 0
    if have == 0:
        from synth import populate

        t = time.perf_counter()
        k = max(1, args.replicate)
        info = populate(url, args.samples // k, reviews=args.reviews // k)
        print(
            f"populate: {info['samples']} samples, {info['turns']} turns, {info['reviews']}"
            f" reviews, {info['flags']} flags, {info['findings']} findings in"
            f" {time.perf_counter() - t:.1f} s"
        )
        if k > 1:
            t = time.perf_counter()
            replicate(engine, k)
            print(
                f"replicated x{k} inside the database in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
        if not url.startswith("sqlite"):
            # what autovacuum does after a bulk load: planner statistics and the visibility map
            # (index-only scans); without them PostgreSQL plans the aggregates blind
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
    else:
        db.upgrade(url)
    with engine.connect() as c:
        counts = {
            t: c.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("samples", "turns", "reviews", "flags", "check_findings", "edits")
        }
    print(f"database: {url.split('://')[0]}  " + "  ".join(f"{k}={v}" for k, v in counts.items()))

    lead = Actor(None, "bench", "lead")
    f = stats.StatsFilter()
    with stats.snapshot(engine) as s:
        figures: list[tuple[str, Callable[[], Any]]] = [
            ("status_counts", lambda: stats.status_counts(s, lead, f)),
            ("progress", lambda: stats.progress(s, lead, f)),
            ("reviews_per_day", lambda: stats.reviews_per_day(s, lead, f)),
            ("check_hit_rates", lambda: stats.check_hit_rates(s, lead, f)),
            ("flag_counts", lambda: stats.flag_counts(s, lead, f)),
            ("preflag_precision", lambda: stats.preflag_precision(s, lead, f)),
            ("approval_rates", lambda: stats.approval_rates(s, lead, f)),
            ("translation_repair", lambda: stats.translation_repair(s, lead, f)),
            ("text_stats", lambda: stats.text_stats(s, lead, f)),
            ("annotator_stats", lambda: stats.annotator_stats(s, lead, f)),
            ("agreement", lambda: stats.agreement(s, lead, f)),
            ("disagreements", lambda: stats.disagreements(s, lead, f)),
        ]
        stats.dashboard(s, lead, f)  # warm the caches once
        print(f"\n{'figure':<22}{'wall':>10}{'cpu':>10}   (best of {args.repeat}; ms)")
        for name, fn in figures:
            wall, cpu, _ = best_of(fn, args.repeat)
            print(f"{name:<22}{wall * 1000:>10.1f}{cpu * 1000:>10.1f}")

        def page(flt: stats.StatsFilter, who: Actor = lead) -> dict[str, Any]:
            # every tab's figures and the first disagreements page, the parts on 4 read-only
            # connections at once (the page itself asks only for its open tab's parts)
            return stats.dashboard_concurrent(engine, who, flt)

        first_tab, first_tab_cpu, _ = best_of(
            lambda: stats.dashboard_concurrent(engine, lead, f, parts=stats.TAB_PARTS[0]),
            args.repeat,
        )
        # each tab as the page computes it when it is opened
        each_tab = {
            "+".join(ps): best_of(
                lambda ps=ps: stats.dashboard_concurrent(engine, lead, f, parts=ps), args.repeat
            )[:2]
            for ps in dict.fromkeys(stats.TAB_PARTS)
        }

        seq, seq_cpu, dash = best_of(lambda: stats.dashboard(s, lead, f), args.repeat)
        total, total_cpu, _ = best_of(lambda: page(f), args.repeat)
        one_ds = stats.StatsFilter(datasets=(dash["status"][0]["dataset_id"],))
        total_ds, total_ds_cpu, _ = best_of(lambda: page(one_ds), args.repeat)
        own = Actor(dash["annotators"]["users"][0]["user_id"], "ann", "annotator")
        total_own, total_own_cpu, _ = best_of(lambda: page(f, own), args.repeat)
    print(f"\npage load                                      wall {'cpu':>10}")
    print(
        f"lead, all datasets, one connection:     {seq * 1000:9.1f} {seq_cpu * 1000:9.1f} ms  "
        " (stats.dashboard)"
    )
    print(
        f"lead, all datasets, 4 connections:      {total * 1000:9.1f} {total_cpu * 1000:9.1f} ms   "
        "(stats.dashboard_concurrent, every tab at once; the page computes the open tab only)"
    )
    for name, (w, c) in each_tab.items():
        print(
            f"lead, one tab ({name}):{'':<{max(0, 24 - len(name))}}{w * 1000:9.1f}"
            f" {c * 1000:9.1f} ms   (when that tab is opened; target < 1000 ms)"
        )
    print(
        f"lead, the page's first tab (Progress):  {first_tab * 1000:9.1f}"
        f" {first_tab_cpu * 1000:9.1f} ms   (what the page computes on its first visit)"
    )
    print(
        f"lead, one dataset, 4 connections:       {total_ds * 1000:9.1f}"
        f" {total_ds_cpu * 1000:9.1f} ms"
    )
    print(
        f"one annotator (own statistics):         {total_own * 1000:9.1f}"
        f" {total_own_cpu * 1000:9.1f} ms"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ag = dash["agreement"]
    print(
        f"  agreement over {ag['samples']} overlapping samples, {len(ag['decisions']['pairs'])}"
        f" pairs, Fleiss kappa (decisions) = {ag['decisions']['fleiss']}"
    )
    if not args.no_baseline:
        t = time.perf_counter()
        naive_pandas(engine)
        naive = time.perf_counter() - t
        print(
            "naive_pandas (load rows, group in pandas, a subset of the figures):"
            f" {naive * 1000:8.1f} ms wall -> SQL aggregates {naive / total:.1f}x faster"
        )
    engine.dispose()
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
