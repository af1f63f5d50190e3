"""Benchmark: export N approved samples (default 700k) as ``messages`` JSONL, streamed, beside a
naive baseline (load everything into pandas, group the turns, ``DataFrame.to_json``), in the same
run.

Each side runs in its own subprocess pinned to 2 cores (``taskset``/``sched_setaffinity``), and
reports wall time and peak memory (``ru_maxrss``). Targets: < 30 s and < 500 MB for kocurate.

    python benchmarks/export.py                    # 700k samples in a fresh SQLite file
    python benchmarks/export.py --n 100000         # smaller
    python benchmarks/export.py --url postgresql+psycopg://…/db   # an empty PostgreSQL database
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KOCURATE = r"""
import json, os, resource, sys, time
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
from kocurate import db
from kocurate.services import export as ex
from kocurate.services.auth import SYSTEM
url, out = sys.argv[1], sys.argv[2]
engine = db.make_engine(url)
t0 = time.perf_counter()
m = ex.export(engine, SYSTEM, ex.ExportSpec(format="messages", val_frac=0.01, seed=1), out)
secs = time.perf_counter() - t0
size = sum(f["bytes"] for f in m["files"])
ru = resource.getrusage(resource.RUSAGE_SELF)
# the Export page's preview: exact (every candidate converted dry) up to EXACT_PREVIEW_MAX,
# else by kind
t1 = time.perf_counter()
with db.session_scope(engine) as s:
    p = ex.preview_counts(s, SYSTEM, ex.ExportSpec(format="messages", val_frac=0.01, seed=1))
psecs = time.perf_counter() - t1
print(json.dumps({"seconds": secs, "maxrss_mb": ru.ru_maxrss / 1024,
                  "cpu": ru.ru_utime + ru.ru_stime, "rows": m["counts"]["total"], "bytes": size,
                  "refused": sum(m["refused"].values()), "preview_seconds": psecs,
                  "preview_exact": p["exact"], "planned": p["total"]}))
"""

BASELINE = r"""
import json, os, resource, sys, time
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
import pandas as pd
from kocurate import db
url, out = sys.argv[1], sys.argv[2]
engine = db.make_engine(url)
t0 = time.perf_counter()
# the naive way: everything into a DataFrame, group per sample, to_json
df = pd.read_sql("SELECT t.sample_id, t.role, t.text FROM turns t "
                 "JOIN samples s ON s.id = t.sample_id "
                 "WHERE s.status = 'approved' ORDER BY t.sample_id, t.idx", engine)
msgs = df.groupby("sample_id", sort=True).apply(
    lambda g: [{"role": r, "content": c} for r, c in zip(g["role"], g["text"])],
    include_groups=False)
pd.DataFrame({"messages": msgs.values}).to_json(out, orient="records", lines=True,
                                                force_ascii=False)
secs = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": secs, "maxrss_mb": ru.ru_maxrss / 1024,
                  "cpu": ru.ru_utime + ru.ru_stime, "rows": len(msgs),
                  "bytes": os.path.getsize(out)}))
"""


def _run(code: str, *args: str) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if res.returncode != 0:
        raise SystemExit(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=700_000)
    ap.add_argument(
        "--url", default=None, help="an empty database (default: a temporary SQLite file)"
    )
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="--url is already populated: export only")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kocurate-bench-export-"))
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"

    from benchmarks.synth import populate

    if not (args.reuse and args.url):
        t0 = time.perf_counter()
        info = populate(url, args.n, approved_frac=1.0)
        print(
            f"populated {info['samples']:,} samples / {info['turns']:,} turns in"
            f" {time.perf_counter() - t0:.1f} s ({url.split('://')[0]})"
        )
    ours = _run(KOCURATE, url, str(tmp / "out"))
    print(
        f"kocurate export (streamed, messages JSONL + manifest + card): {ours['rows']:,} rows,"
        f" {ours['bytes'] / 1e6:,.0f} MB in {ours['seconds']:.1f} s (process CPU {ours['cpu']:.1f}"
        f" s), peak memory {ours['maxrss_mb']:.0f} MB ({ours['refused']:,} refused by the TRL"
        " rules)"
    )
    print(
        "  preview"
        + (
            " (exact: refusals counted by a dry conversion):"
            if ours["preview_exact"]
            else " (refusals by kind only):"
        )
        + f" planned {ours['planned']:,} in {ours['preview_seconds']:.2f} s"
        + (
            ""
            if ours["planned"] == ours["rows"]
            else f" (written {ours['rows']:,}: exact only up to EXACT_PREVIEW_MAX candidates)"
        )
    )
    ok = ours["seconds"] < 30 and ours["maxrss_mb"] < 500
    print(
        f"  target < 30 s and < 500 MB: {'met' if ok else 'NOT met'}  (load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other work slows the wall time)"
    )
    if not args.no_baseline:
        base = _run(BASELINE, url, str(tmp / "naive.jsonl"))
        print(
            f"naive baseline (pandas read_sql + groupby + to_json): {base['rows']:,} rows,"
            f" {base['bytes'] / 1e6:,.0f} MB in {base['seconds']:.1f} s (process CPU"
            f" {base['cpu']:.1f} s), peak memory {base['maxrss_mb']:.0f} MB"
        )
        print(
            f"  kocurate: {base['seconds'] / ours['seconds']:.1f}x faster, "
            f"{base['maxrss_mb'] / ours['maxrss_mb']:.1f}x less memory"
        )
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)  # the outputs (and the database when it was ours)


if __name__ == "__main__":
    main()
