"""Benchmark: every automatic check over N synthetic samples (default 700k), beside naive baselines.

    python benchmarks/checks.py [--url URL] [--n 700000] [--workers 2] [--reuse] [--naive-n 2000]
                                [--recall-n 100000 --recall-pairs 2000] [--recall-only]
                                [--cheap-only] [--korean-replicas 10]

0. Near-duplicates planted at known Jaccard (``--recall-n`` samples, in memory): recall per band of
J and
   precision, the banded layout with the exact check beside the earlier 5 x 11 estimate-only layout.

1. ``benchmarks/synth.py`` fills a database (4 datasets, ShareGPT/Alpaca/Dolly/guanaco-shaped);
   KoBEST (5 tasks) and KorQuAD are added as evaluation sets when ``shared/data`` is there.
2. The cheap checks (those that run after every import) over every dataset: wall and CPU rates,
beside
   the naive ORM loop over the same checks. Then all per-sample checks (rules, ethics lexicon,
   contamination) run over every dataset with ``run_dataset`` (keyset batches, bulk writes,
   ``--workers`` processes): wall-clock samples/s for the whole pipeline (read + check + store), and
   per check samples per CPU-second.
   Beside them, the deep Korean family (issue 16: the analyser in ``--workers`` processes) over the
   real excerpts replicated ``--korean-replicas`` times (``benchmarks/korean.py``'s speed part; the
   synthetic text is too repetitive for the analyser's caches), with the cheap rules on the same
   rows; goal 1,500 samples/s wall on 2 cores.
3. Near-duplicates over all datasets at once (``dedup_datasets``).
4. Naive baselines on a slice, same checks: an ORM loop (``session.get`` + lazy turns per sample,
one
   check call per sample, ``session.add`` per finding, a commit per sample) and datasketch's own
   ``MinHash.update`` per shingle + ``MinHashLSH`` insert/query per sample; both extrapolated.

Figures are CPU-time based where the machine is shared (per-check rates) and wall-clock for totals.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.checks import select_checks  # noqa: E402
from kocurate.checks.base import SampleView, TurnView  # noqa: E402
from kocurate.checks.dedup import SHINGLE, _text_for, dedup_datasets  # noqa: E402
from kocurate.checks.runner import run_dataset  # noqa: E402
from kocurate.models import CheckFinding, Dataset, EvalSet, Sample  # noqa: E402
from kocurate.services import checks as svc  # noqa: E402
from kocurate.services.auth import SYSTEM  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def per_sample_checks() -> list[str]:
    return [
        c.name
        for c in select_checks()
        if not getattr(c, "corpus", False) and c.name != "ethics_model"
    ]


def add_evalsets(engine: Any) -> int:
    if not SHARED.is_dir():
        return 0
    with db.session_scope(engine) as s:
        if s.scalar(select(EvalSet.id).limit(1)) is not None:
            return -1
        n = 0
        for task in ("BoolQ", "COPA", "HellaSwag", "SentiNeg", "WiC"):
            n += svc.add_evalset(
                s, SYSTEM, "kobest", SHARED / f"kobest/{task}_dev.tsv", f"kobest-{task}"
            )["items"]
        n += svc.add_evalset(
            s,
            SYSTEM,
            "korquad",
            SHARED / "korquad/KorQuAD_v1.0_dev.first10articles.json",
            "korquad",
        )["items"]
    return n


def naive_orm(engine: Any, dataset_id: int, names: list[str], n: int) -> dict[str, Any]:
    """The obvious loop: one sample at a time through the ORM, one commit per sample."""
    checks = select_checks(names)
    from kocurate.checks.base import RunContext

    with Session(engine) as s:
        ctx = RunContext(session=s, dataset_id=dataset_id)
        for c in checks:
            c.prepare(ctx)
        ids = list(
            s.scalars(
                select(Sample.id)
                .where(Sample.dataset_id == dataset_id)
                .order_by(Sample.id)
                .limit(n)
            )
        )
    t0 = time.perf_counter()
    with Session(engine) as s:
        for sid in ids:
            sample = s.get(Sample, sid)
            assert sample is not None
            view = SampleView(
                sample.id,
                sample.dataset_id,
                [
                    TurnView(t.idx, t.role, t.text, t.source_text, t.source_kind)
                    for t in sample.turns
                ],
                sample.version,
                sample.key,
                sample.position,
                sample.align_status,
                sample.align_confidence,
            )
            for c in checks:
                for f in c.run(view):
                    s.add(
                        CheckFinding(
                            sample_id=sid,
                            dataset_id=dataset_id,
                            check=f.check,
                            severity=f.severity,
                            turn_idx=f.turn_idx,
                            message=f.message,
                            data=f.data,
                        )
                    )
            sample.checked_version = sample.version
            s.commit()
    dt = time.perf_counter() - t0
    return {"samples": len(ids), "seconds": round(dt, 2), "samples_per_s": round(len(ids) / dt, 1)}


def naive_datasketch(engine: Any, n: int) -> dict[str, Any]:
    """datasketch used the textbook way: MinHash.update per shingle, LSH insert + query per
    sample."""
    from datasketch import MinHash, MinHashLSH

    with Session(engine) as s:
        rows = s.execute(select(Sample.id).order_by(Sample.id).limit(n)).scalars().all()
        texts: dict[int, list[str]] = {}
        from kocurate.models import Turn

        for sid, text in s.execute(
            select(Turn.sample_id, Turn.text).where(Turn.sample_id.between(rows[0], rows[-1]))
        ):
            texts.setdefault(sid, []).append(text)
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=64)
    for sid in rows:
        t = _text_for("\n".join(texts.get(sid, [])))
        m = MinHash(num_perm=64)
        m.update_batch([t[i : i + SHINGLE].encode() for i in range(max(1, len(t) - SHINGLE + 1))])
        lsh.query(m)
        lsh.insert(sid, m)
    dt = time.perf_counter() - t0
    return {
        "samples": len(rows),
        "seconds": round(dt, 2),
        "samples_per_s": round(len(rows) / dt, 1),
    }


def dedup_recall(n: int, n_pairs: int, seed: int = 0) -> dict[str, Any]:
    """Planted near-duplicates at known Jaccard among ``n`` unrelated samples: recall per band of J
    and precision, today's layout + exact check beside the earlier one (datasketch's 5 x 11 bands at
    0.8, estimate only), same data, same run (in memory: the grouping, not the database, is
    measured)."""
    from benchmarks.synth import planted_pairs
    from kocurate.checks.dedup import THRESHOLD, find_groups, jaccard, lsh_params

    items, pairs = planted_pairs(max(0, n - 2 * n_pairs), n_pairs, seed=seed, lo=0.6)
    text = dict(items)
    batches = [(0, items[i : i + 5_000]) for i in range(0, len(items), 5_000)]
    bands_j = (
        (0.9, 1.01, ">= 0.9"),
        (0.8, 0.9, "0.8-0.9"),
        (0.7, 0.8, "0.7-0.8 (below)"),
        (0.0, 0.7, "< 0.7"),
    )
    out: dict[str, Any] = {"samples": len(items), "planted_pairs": len(pairs)}
    for label, kw in (
        ("kocurate", {}),
        ("earlier (5x11, estimate only)", {"layout": lsh_params(THRESHOLD), "exact": False}),
    ):
        c0 = time.process_time()
        res = find_groups(batches, **kw)
        row: dict[str, Any] = {
            "seconds": round(res.seconds, 2),
            "cpu_s": round(time.process_time() - c0, 2),
            "bands_x_rows": f"{res.layout[0]}x{res.layout[1]}",
            "candidates": res.candidates,
        }
        for lo, hi, name in bands_j:
            band = [(a, b) for a, b, j in pairs if lo <= j < hi]
            got = sum(
                1
                for a, b in band
                if a in res.group_of and res.group_of.get(a) == res.group_of.get(b)
            )
            row[f"grouped {name}"] = f"{got}/{len(band)} = {got / len(band):.1%}" if band else "-"
        marked = [(sid, g) for sid, g in res.group_of.items() if sid != g]
        right = sum(
            1 for sid, g in marked if jaccard(_text_for(text[sid]), _text_for(text[g])) >= THRESHOLD
        )
        row["precision"] = f"{right}/{len(marked)} = {right / len(marked):.1%}" if marked else "-"
        out[label] = row
    return out


def korean_beside_cheap(replicas: int, workers: int) -> dict[str, Any]:
    """The deep Korean family and the cheap rules on the real excerpts (replicated), in a database
    of their own; empty when ``shared/data`` is absent."""
    from benchmarks import korean

    if not korean.SHARED.is_dir():
        print("deep Korean checks: no real excerpts here (shared/data), skipped")
        return {}
    tmp = Path(tempfile.mkdtemp(prefix="kc-bench-korean-"))
    url = f"sqlite:///{tmp}/korean.db"
    db.upgrade(url)
    print(f"deep Korean checks beside the cheap rules (real rows x{replicas}, {workers} workers):")
    res = korean.speed(url, tmp, replicas, workers)
    for r in res.values():
        if isinstance(r, dict) and "korean_deep" in r:
            r["korean_deep"]["goal_samples_per_s_wall"] = 1_500
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="database URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--n", type=int, default=700_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="the database is already populated")
    ap.add_argument("--naive-n", type=int, default=2_000)
    ap.add_argument("--skip-dedup", action="store_true")
    ap.add_argument(
        "--recall-n",
        type=int,
        default=100_000,
        help="samples in the planted near-duplicate run (0 = skip)",
    )
    ap.add_argument("--recall-pairs", type=int, default=2_000)
    ap.add_argument(
        "--recall-only", action="store_true", help="only the planted near-duplicate run"
    )
    ap.add_argument("--cheap-only", action="store_true", help="stop after the cheap checks")
    ap.add_argument(
        "--korean-replicas",
        type=int,
        default=10,
        help="copies of the real rows for the deep Korean checks (0 = skip)",
    )
    args = ap.parse_args(argv)
    if args.recall_n:
        r = dedup_recall(args.recall_n, args.recall_pairs)
        print(
            "near-duplicates, planted pairs at known Jaccard (recall = pair grouped; precision = a"
            " sample marked duplicate has exact J >= 0.8 with its kept one):"
        )
        print(json.dumps(r, indent=1, ensure_ascii=False), flush=True)
        if args.recall_only:
            return
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='kc-bench-checks-')}/bench.db"
    out: dict[str, Any] = {"url": url.split("@")[-1], "workers": args.workers}
    if not args.reuse:
        from benchmarks.synth import populate

        t = time.perf_counter()
        pop = populate(url, args.n)
        out["populate_s"] = round(time.perf_counter() - t, 1)
        out["populated"] = {k: pop[k] for k in ("samples", "turns")}
        print(
            f"populated {pop['samples']:,} samples / {pop['turns']:,} turns in"
            f" {out['populate_s']}s",
            flush=True,
        )
    engine = db.make_engine(url)
    out["eval_items"] = add_evalsets(engine)
    names = per_sample_checks()
    rule_names = [n for n in names if n != "contamination"]
    with Session(engine) as s:
        datasets = list(s.scalars(select(Dataset.id).order_by(Dataset.id)))

    # --- the cheap checks (what runs after every import), all datasets ---------------------------
    cheap = [c.name for c in select_checks(cheap_only=True)]
    ch = {"samples": 0, "seconds": 0.0, "cpu": 0.0}
    for ds in datasets:
        r = run_dataset(
            engine, ds, select_checks(cheap), full=True, set_checked=False, workers=args.workers
        )
        ch["samples"] += r.samples
        ch["seconds"] += r.seconds
        ch["cpu"] += r.cpu_seconds
    out["cheap_checks"] = {
        "checks": len(cheap),
        "samples": ch["samples"],
        "workers": args.workers,
        "wall_s": round(ch["seconds"], 1),
        "samples_per_s_wall": round(ch["samples"] / ch["seconds"], 1),
        "samples_per_cpu_s": round(ch["samples"] / ch["cpu"], 1) if ch["cpu"] else None,
        "cpu_bound_samples_per_s_on_2_cores": (
            round(2 * ch["samples"] / ch["cpu"], 1) if ch["cpu"] else None
        ),
        "goal_samples_per_s_wall": 5_000,
    }
    naive_cheap = naive_orm(engine, datasets[0], cheap, args.naive_n)
    out["cheap_checks"]["naive_orm_loop_samples_per_s"] = naive_cheap["samples_per_s"]
    print(
        f"cheap checks ({len(cheap)}): {ch['samples']:,} samples in {ch['seconds']:.1f}s wall"
        f" ({out['cheap_checks']['samples_per_s_wall']:,.0f}/s wall,"
        f" {out['cheap_checks']['samples_per_cpu_s']:,.0f} per CPU-second, {args.workers} workers;"
        f" naive ORM loop {naive_cheap['samples_per_s']:,.0f}/s); load average"
        f" {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.korean_replicas:
        out["korean_deep"] = korean_beside_cheap(args.korean_replicas, args.workers)
    if args.cheap_only:
        print(json.dumps(out, indent=1))
        return

    # --- the pipeline: every per-sample check, all datasets -------------------------------------
    total = {"samples": 0, "seconds": 0.0, "cpu": 0.0, "store": 0.0, "findings": 0}
    cpu_by_check: dict[str, float] = {}
    for ds in datasets:
        r = run_dataset(engine, ds, select_checks(names), full=True, workers=args.workers)
        total["samples"] += r.samples
        total["seconds"] += r.seconds
        total["cpu"] += r.cpu_seconds
        total["store"] += r.seconds_store
        total["findings"] += r.findings
        for k, v in r.seconds_by_check.items():
            cpu_by_check[k] = cpu_by_check.get(k, 0.0) + v
        print(
            f"dataset {ds}: {r.samples:,} samples in {r.seconds:.1f}s wall"
            f" ({r.samples / r.seconds:,.0f}/s)",
            flush=True,
        )
    n = total["samples"]
    rules_cpu = sum(v for k, v in cpu_by_check.items() if k in rule_names)
    overhead_cpu = max(0.0, total["cpu"] - sum(cpu_by_check.values()))  # read, build views, store
    out["pipeline"] = {
        "samples": n,
        "wall_s": round(total["seconds"], 1),
        "samples_per_s_wall": round(n / total["seconds"], 1),
        "cpu_s": round(total["cpu"], 1),
        "samples_per_cpu_s": round(n / total["cpu"], 1),
        "store_s": round(total["store"], 1),
        "findings": total["findings"],
        "rule_checks_samples_per_cpu_s": round(n / rules_cpu, 1) if rules_cpu else None,
        "rule_checks_plus_io_samples_per_s_on_2_cores": (
            round(2 * n / (rules_cpu + overhead_cpu), 1) if rules_cpu else None
        ),
    }
    out["per_check_samples_per_cpu_s"] = {
        k: round(n / v, 1) if v > 0 else None
        for k, v in sorted(cpu_by_check.items(), key=lambda x: -x[1])
    }

    # --- near-duplicates -------------------------------------------------------------------------
    if not args.skip_dedup:
        c0 = time.process_time()
        d = dedup_datasets(engine, datasets)
        out["dedup"] = {**d.as_dict(), "cpu_s": round(time.process_time() - c0, 1)}
        print(f"dedup: {d.samples:,} samples in {d.seconds:.1f}s, {d.groups:,} groups", flush=True)

    # --- naive baselines -------------------------------------------------------------------------
    out["naive_orm_loop"] = naive_orm(engine, datasets[0], names, args.naive_n)
    out["naive_orm_loop"]["extrapolated_s_for_n"] = round(
        n / out["naive_orm_loop"]["samples_per_s"], 0
    )
    out["naive_datasketch"] = naive_datasketch(engine, min(20_000, n))
    out["naive_datasketch"]["extrapolated_s_for_n"] = round(
        n / out["naive_datasketch"]["samples_per_s"], 0
    )
    out["speedup_vs_naive_orm"] = round(
        out["pipeline"]["samples_per_s_wall"] / out["naive_orm_loop"]["samples_per_s"], 1
    )
    if "dedup" in out:
        out["speedup_dedup_vs_naive_datasketch"] = round(
            out["dedup"]["samples_per_s"] / out["naive_datasketch"]["samples_per_s"], 1
        )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
