"""Ingest benchmark: a synthetic ShareGPT-shaped Korean/English pair imported by kocurate vs a naive
baseline.

    python benchmarks/ingest.py                 # 50k, 200k, 700k samples; baseline on 20k, DP on
    50k rows python benchmarks/ingest.py --sizes 50000,100000 --baseline-n 5000 --align-n 0 --user

Each import runs in its own process so that its peak memory (``ru_maxrss``) is its own. Figures:

- kocurate at each of ``--sizes``: ``kocurate.ingest.import_files`` (streamed JSON parse, id join
  through a private SQLite file, bulk writes in one transaction: a spool copied with INSERT … SELECT
  on SQLite, the search index filled by its triggers in the same pass; COPY on PostgreSQL) into a
  fresh SQLite file, or the ``--db`` URL (an empty database). CPU µs per sample at each size shows
  whether the import stays linear; peak memory whether it stays flat;
- the search index at the first size: its size per sample and the time of a rebuild, beside the
  index of before (an FTS5 table with its own copy of the text and positions, filled by
  ``INSERT … SELECT`` as ``index_dataset`` did), built in the same database in the same run;
- ``--user``: the import as a person runs it (``services.datasets.import_dataset``: import, search
  index, cheap checks) at the largest size, with its steps;
- naive baseline: ``pandas.read_json`` of both whole files, then one ORM object per sample and per
  turn with ``session.add`` + ``flush`` per sample (to get its id), one commit, always into a SQLite
  file. Run on ``--baseline-n`` samples and extrapolated linearly to ``--n`` (labelled as such);
- alignment DP: ``align_by_position`` on ``--align-n`` Alpaca-shaped rows with ~5% of the Korean
  rows deleted in runs (cue extraction and DP timed apart; accuracy and silent mis-joins printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children, e.g. check workers (user + system): a
    figure that a busy machine does not inflate much."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def child_kocurate(ko: str, en: str, url: str) -> dict[str, Any]:
    from kocurate import db
    from kocurate.ingest import import_files

    db.upgrade(url)
    engine = db.make_engine(url)
    t0, c0 = time.perf_counter(), _cpu_s()
    rep = import_files(engine, "sharegpt", ko, en, name="bench")
    secs, cpu = time.perf_counter() - t0, _cpu_s() - c0
    engine.dispose()
    return {
        "seconds": secs,
        "cpu": cpu,
        "samples": rep.samples,
        "turns": rep.turns,
        "aligned": rep.aligned,
        "ambiguous": rep.ambiguous,
        "peak_mb": _peak_mb(),
        "write_s": rep.write_seconds,
        "write_cpu": rep.write_cpu_seconds,
        "phases": rep.phases,
        "load": os.getloadavg()[0],
    }


def child_user(ko: str, en: str, url: str) -> dict[str, Any]:
    """The import as a person runs it: import, search index, cheap checks (one service call)."""
    from kocurate import db
    from kocurate.services.auth import SYSTEM
    from kocurate.services.datasets import import_dataset

    db.upgrade(url)
    engine = db.make_engine(url)
    t0, c0 = time.perf_counter(), _cpu_s()
    rep = import_dataset(engine, SYSTEM, "sharegpt", ko, en, name="bench-user")
    secs, cpu = time.perf_counter() - t0, _cpu_s() - c0
    engine.dispose()
    return {
        "seconds": secs,
        "cpu": cpu,
        "samples": rep.samples,
        "write_s": rep.write_seconds,
        "after": rep.after,
        "peak_mb": _peak_mb(),
        "load": os.getloadavg()[0],
    }


def index_figures(db_path: str) -> dict[str, Any]:
    """The search index of an imported SQLite file beside the index of before, same turns, same
    file."""
    import sqlite3

    con = sqlite3.connect(db_path, isolation_level=None)

    def size(prefix: str) -> int:
        return int(
            con.execute(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ?", (prefix + "%",)
            ).fetchone()[0]
        )

    n = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    out: dict[str, Any] = {
        "samples": n,
        "db_bytes_per_sample": os.path.getsize(db_path) / n,
        "now_bytes_per_sample": size("turns_fts") / n,
    }
    t0, c0 = time.perf_counter(), _cpu_s()
    con.execute("INSERT INTO turns_fts(turns_fts) VALUES ('rebuild')")
    con.execute("INSERT INTO turns_fts_en(turns_fts_en) VALUES ('rebuild')")
    out["now_build_s"], out["now_build_cpu"] = time.perf_counter() - t0, _cpu_s() - c0
    con.execute(
        "CREATE VIRTUAL TABLE bench_old_fts USING fts5(text, source_text, tokenize='trigram')"
    )
    t0, c0 = time.perf_counter(), _cpu_s()
    con.execute(
        "INSERT INTO bench_old_fts(rowid, text, source_text) SELECT id, text, coalesce(source_text,"
        " '') FROM turns ORDER BY id"
    )
    out["before_build_s"], out["before_build_cpu"] = time.perf_counter() - t0, _cpu_s() - c0
    out["before_bytes_per_sample"] = size("bench_old_fts") / n
    # the file as it was before: turns + the old index, without today's
    out["before_db_bytes_per_sample"] = (
        out["db_bytes_per_sample"] - out["now_bytes_per_sample"] + out["before_bytes_per_sample"]
    )
    con.execute("DROP TABLE bench_old_fts")
    con.close()
    return out


def child_naive(ko: str, en: str, url: str) -> dict[str, Any]:
    import pandas as pd
    from sqlalchemy.orm import Session

    from kocurate import db
    from kocurate.models import Dataset, Sample, Turn

    db.upgrade(url)
    engine = db.make_engine(url)
    t0, c0 = time.perf_counter(), _cpu_s()
    ko_df = pd.read_json(ko)
    en_df = pd.read_json(en)
    en_by_id = dict(zip(en_df["id"], en_df["conversations"], strict=True))
    role = {"human": "user", "gpt": "assistant"}
    n_turns = 0
    with Session(engine) as session:
        ds = Dataset(name="naive", kind="sharegpt", source_files=[], fingerprint="naive")
        session.add(ds)
        session.flush()
        for rec in ko_df.itertuples(index=False):
            en_turns = en_by_id.get(rec.id) or []
            smp = Sample(
                dataset_id=ds.id,
                key=rec.id,
                position=0,
                n_turns=len(rec.conversations),
                align_status="id" if en_turns else "unaligned",
            )
            session.add(smp)
            session.flush()  # the sample's id, for its turns
            for i, t in enumerate(rec.conversations):
                src = en_turns[i]["value"] if i < len(en_turns) else None
                session.add(
                    Turn(
                        sample_id=smp.id,
                        idx=i,
                        role=role[t["from"]],
                        text=t["value"],
                        mt_text=t["value"],
                        source_text=src,
                        source_kind="translation" if src is not None else None,
                    )
                )
                n_turns += 1
        session.commit()
    secs, cpu = time.perf_counter() - t0, _cpu_s() - c0
    engine.dispose()
    return {
        "seconds": secs,
        "cpu": cpu,
        "samples": len(ko_df),
        "turns": n_turns,
        "peak_mb": _peak_mb(),
    }


def align_check(n: int, seed: int = 0) -> dict[str, Any]:
    """Alpaca-shaped rows (instruction, input) from the synthetic text pool, ~5% deleted in runs."""
    from synth import _Text

    from kocurate.align import align_by_position, cues

    rng = random.Random(seed)
    tx = _Text(rng)
    en_rows, ko_rows = [], []
    m = int(n / 0.89) + 1  # the Korean side keeps ~89% after the deletions below
    for _ in range(m):
        ie, ik = tx.pair(rng, 1, 2)
        ne, nk = tx.pair(rng, 1, 2) if rng.random() < 0.4 else ("", "")
        # like Alpaca, many rows carry a distinctive token (a number, a name) that survives
        # translation
        if rng.random() < 0.5:
            tag = (
                str(rng.randrange(10_000)) if rng.random() < 0.5 else f"Item{rng.randrange(10_000)}"
            )
            ie, ik = f"{ie} {tag}", f"{ik} {tag}"
        en_rows.append([ie, ne])
        ko_rows.append([ik, nk])
    keep, i = [], 0
    while i < m and len(keep) < n:
        if rng.random() < 0.05:
            i += rng.choice([1, 1, 1, 2, 3, 5])
            continue
        keep.append(i)
        i += 1
    t0 = time.perf_counter()
    ko_cues = [cues(ko_rows[k]) for k in keep]
    en_cues = [cues(r) for r in en_rows]
    t1 = time.perf_counter()
    pairs = align_by_position(ko_cues, en_cues)
    t2 = time.perf_counter()
    correct = sum(1 for k, p in zip(keep, pairs, strict=True) if p.en_index == k)
    misjoined = sum(
        1 for k, p in zip(keep, pairs, strict=True) if p.status == "aligned" and p.en_index != k
    )
    flagged = sum(1 for p in pairs if p.status != "aligned")
    return {
        "ko_rows": len(keep),
        "en_rows": m,
        "cues_s": t1 - t0,
        "dp_s": t2 - t1,
        "correct": correct / len(keep),
        "misjoined": misjoined,
        "flagged": flagged,
    }


def _run_child(kind: str, ko: Path, en: Path, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(ko), str(en), url],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        default="50000,200000,700000",
        help="samples in the kocurate runs, comma-separated (default 50000,200000,700000)",
    )
    ap.add_argument(
        "--user",
        action="store_true",
        help="also the import as a person runs it (import + search index + cheap checks)",
    )
    ap.add_argument(
        "--user-n",
        type=int,
        default=0,
        help="samples in the --user run (default: the largest size)",
    )
    ap.add_argument(
        "--index-figures-max",
        type=int,
        default=200_000,
        help="measure the search index beside the earlier one at the first size up to this",
    )
    ap.add_argument(
        "--baseline-n", type=int, default=20_000, help="samples in the naive run (extrapolated)"
    )
    ap.add_argument(
        "--align-n", type=int, default=50_000, help="Korean rows in the DP check (0 = skip)"
    )
    ap.add_argument(
        "--db",
        default=None,
        help=(
            "database URL for the kocurate run, one size only (default: a new SQLite file per size)"
        ),
    )
    ap.add_argument(
        "--workdir", default=None, help="where the files go (default: a temporary folder)"
    )
    ap.add_argument("--child", nargs=4, metavar=("KIND", "KO", "EN", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, ko, en, url = args.child
        fn = {"kocurate": child_kocurate, "naive": child_naive, "user": child_user}[kind]
        print(json.dumps(fn(ko, en, url)))
        return

    from synth import write_sharegpt_pair

    work = (
        Path(args.workdir)
        if args.workdir
        else Path(tempfile.mkdtemp(prefix="kocurate-ingest-bench-"))
    )
    work.mkdir(parents=True, exist_ok=True)
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; files in {work}")

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    k: dict[str, Any] = {}
    for i, n in enumerate(sizes):
        t0 = time.perf_counter()
        ko, en = write_sharegpt_pair(work / f"n{n}", n, seed=1)
        size_mb = (ko.stat().st_size + en.stat().st_size) / 1e6
        print(
            f"\ngenerated {n:,} ShareGPT-shaped records (KO + EN, {size_mb:,.0f} MB) in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        url = args.db or f"sqlite:///{work / f'kocurate{n}.db'}"
        k = _run_child("kocurate", ko, en, url)
        print(
            f"kocurate import_files   {k['samples']:>9,} samples {k['turns']:>10,} turns "
            f" {k['seconds']:7.1f} s  CPU {k['cpu']:6.1f} s = {k['cpu'] / k['samples'] * 1e6:5.0f}"
            f" µs/sample  peak {k['peak_mb']:,.0f} MB ({k['peak_mb'] * 1024 / k['samples']:.2f}"
            f" KB/sample)  write transaction {k['write_s']:.1f} s (CPU {k['write_cpu']:.1f} s,"
            f" search index included)  load {k['load']:.1f}",
            flush=True,
        )
        for phase, cpu in k.get(
            "phases", {}
        ).items():  # where the CPU goes, per sample: linear or not
            print(
                f"    {phase:<42} CPU {cpu:6.1f} s = {cpu / k['samples'] * 1e6:5.1f} µs/sample",
                flush=True,
            )
        if i == 0 and not args.db and n <= args.index_figures_max:
            f = index_figures(str(work / f"kocurate{n}.db"))
            print(
                f"search index at {f['samples']:,} samples: {f['now_bytes_per_sample']:,.0f}"
                f" B/sample, rebuild {f['now_build_s']:.1f} s (CPU {f['now_build_cpu']:.1f} s);"
                f" before (own copy of the text, positions): {f['before_bytes_per_sample']:,.0f}"
                f" B/sample, build {f['before_build_s']:.1f} s (CPU {f['before_build_cpu']:.1f} s);"
                f" database file {f['db_bytes_per_sample']:,.0f} B/sample (before:"
                f" {f['before_db_bytes_per_sample']:,.0f})",
                flush=True,
            )
        if not args.db:
            for p in work.glob(f"kocurate{n}.db*"):
                p.unlink()
        if args.user and n == max(sizes):
            un = args.user_n or n
            if un != n:
                ko, en = write_sharegpt_pair(work / f"n{un}", un, seed=1)
            u = _run_child("user", ko, en, args.db or f"sqlite:///{work / 'user.db'}")
            after = u["after"]
            print(
                f"the user's import (import + search index + cheap checks) {u['samples']:,}"
                f" samples: {u['seconds']:.1f} s wall, CPU {u['cpu']:.1f} s; import"
                f" {u['seconds'] - sum(a.get('seconds') or 0 for a in after.values()):.1f} s"
                " (search index in its write transaction), "
                + ", ".join(f"{step} {a.get('seconds')} s" for step, a in after.items())
                + (
                    " (the cheap checks ran in worker processes during the import; this is what"
                    " was left after it: the rest of the checking and storing the findings)"
                    if after.get("checks", {}).get("during_import")
                    else ""
                )
                + f"  load {u['load']:.1f}",
                flush=True,
            )
            if u["samples"] >= 700_000:
                print(
                    f"  target (the user's import of 700k in < 60 s wall):"
                    f" {'met' if u['seconds'] < 60 else 'NOT met'}",
                    flush=True,
                )
            for p in work.glob("user.db*"):
                p.unlink()
    args.n = sizes[-1]

    if args.baseline_n:  # 0: no naive run
        bko, ben = write_sharegpt_pair(work / "baseline", args.baseline_n, seed=1)
        b = _run_child("naive", bko, ben, f"sqlite:///{work / 'naive.db'}")
        rate = b["samples"] / b["seconds"]
        est = args.n / rate
        print(
            f"naive pandas + ORM      {b['samples']:>9,} samples {b['turns']:>10,} turns "
            f" {b['seconds']:7.1f} s  {rate:>9,.0f} samples/s  CPU {b['cpu']:6.1f} s  peak"
            f" {b['peak_mb']:,.0f} MB (measured at {args.baseline_n:,})"
        )
        print(
            f"naive, extrapolated to {args.n:,}: ~{est:,.0f} s, CPU"
            f" ~{b['cpu'] * args.n / b['samples']:,.0f} s (linear in samples); kocurate is"
            f" {est / k['seconds']:.1f}x faster"
        )
        if args.n >= 700_000 and k:
            verdict = "met" if k["seconds"] < 60 and k["peak_mb"] < 2048 else "NOT met"
            print(
                f"target (700k samples in < 60 s, peak < 2 GB): {verdict} (wall clock; on a busy"
                " machine the CPU seconds are the steadier figure)"
            )

    if args.align_n:
        a = align_check(args.align_n)
        print(
            f"\nalignment DP: {a['ko_rows']:,} Korean rows vs {a['en_rows']:,} English (~5% deleted"
            f" in runs): cues {a['cues_s']:.1f} s, DP {a['dp_s']:.1f} s; correct"
            f" {a['correct']:.2%}, silent mis-joins {a['misjoined']}, flagged for review"
            f" {a['flagged']:,}"
        )
    if not args.db:
        for f in work.rglob("*.db*"):
            f.unlink()


if __name__ == "__main__":
    main()
