"""Benchmark and accuracy of the Korean checks (issue 16), beside the cheap rule checks.

    python benchmarks/korean.py [--replicas 10] [--workers 2] [--skip-speed] [--skip-accuracy]
    [--show-errors]

1. Accuracy: the real excerpts in ``../shared/data`` (KoAlpaca v1.0 with its Alpaca source, the
ShareGPT
   DeepL turn pairs, the two KoVicuna-style conversations) and the self-written Dolly-ko and
   guanaco-ko demo files are imported into a temporary SQLite database; each Korean check runs over
   every turn; precision and recall per check against ``benchmarks/labels/korean_turns.tsv``
   (461 turns read and labelled by hand; ids and verdicts only, no text). Recall is measured on
   those turns; precision also counts the findings on other turns that were judged one by one
   (``korean_findings.tsv``); findings nobody judged are counted and printed as such. The thresholds
   were tuned on this same set (no held-out split: too few positives), so the figures are
   optimistic.

   Label criteria (1 = the defect is there):
   - speech_level: one speaker (the assistant/narrator, or one character of a script) switches
   between
     존댓말 and 반말 without a reason (quoted material and different characters are not switches);
   - translationese: a Korean reviewer would rewrite the turn because it keeps English structure
     (당신/그것/그들/그녀 where Korean drops them, double passives, calques);
   - particle: a particle after a Latin word or a number does not agree with its reading;
   - spacing: clear spacing errors (a detached particle, copula or 된/할, words run together);
   - script: Hanja, kana, full-width Latin or jamo fragments that the English source does not have;
   - lost_task: an instruction whose task depends on English form (rhyme, letters, alphabetical
   order,
     spelling/grammar of English text, 'odd one out' read as 홀수, haiku) and no longer works.

2. Speed: the same real samples, replicated ``--replicas`` times into a KoAlpaca-shaped and a
   turn-pair-shaped dataset, checked with ``run_dataset`` in ``--workers`` processes: the deep
   Korean family, and the cheap rule checks (what runs after an import) on the same data as the
   baseline, and a naive baseline (the analyser's full tokenisation of every turn, one process, no
   cache). Wall-clock samples/s and CPU seconds per check; the load average is printed (the machine
   is shared). Replicated text makes the ending cache warmer than fresh data would: the first,
   unique pass is printed separately.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.checks import run_samples, select_checks  # noqa: E402
from kocurate.checks.base import SampleView  # noqa: E402
from kocurate.checks.korean import NAMES  # noqa: E402
from kocurate.checks.runner import load_batch, run_dataset  # noqa: E402
from kocurate.ingest import import_files  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEMO = ROOT / "kocurate" / "demo"
LABELS = ROOT / "benchmarks" / "labels" / "korean_turns.tsv"
FINDING_LABELS = ROOT / "benchmarks" / "labels" / "korean_findings.tsv"
# label column -> check name
COLUMNS = {
    "speech_level": "ko_speech_level",
    "translationese": "ko_translationese",
    "particle": "ko_particle",
    "spacing": "ko_spacing",
    "script": "ko_script",
    "lost_task": "ko_lost_task",
}


def corpus_specs() -> list[tuple[str, str, Path, Path | None]]:
    """(label dataset name, import kind, Korean file, English source) of the labelled corpus."""
    return [
        (
            "koalpaca_v1.0",
            "koalpaca",
            SHARED / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
            SHARED / "alpaca_en/alpaca_data.first335.json",
        ),
        (
            "sharegpt_pairs",
            "sharegpt_pairs",
            SHARED / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json",
            None,
        ),
        (
            "sharegpt_deepl_ko",
            "sharegpt",
            SHARED / "sharegpt_deepl_ko/kovicuna_style_QWJhYvA_0_i6IyJda_0.json",
            SHARED / "sharegpt_en/sharegpt_V3_first5.json",
        ),
        ("demo_dolly", "dolly", DEMO / "dolly_ko.jsonl", DEMO / "dolly_en.jsonl"),
        ("demo_guanaco", "guanaco", DEMO / "guanaco_ko.jsonl", DEMO / "guanaco_en.jsonl"),
    ]


def load_corpus(url: str) -> dict[str, list[SampleView]]:
    """Import the labelled corpus into the database at ``url`` and read it back as check views."""
    engine = db.make_engine(url)
    out: dict[str, list[SampleView]] = {}
    try:
        for name, kind, ko, en in corpus_specs():
            rep = import_files(engine, kind, ko, en, name=name)
            with Session(engine) as s:
                out[name] = load_batch(s, rep.dataset_id, 0, 1_000_000, True, kind)
    finally:
        engine.dispose()
    return out


def read_labels(path: Path = LABELS) -> dict[tuple[str, str, int], dict[str, int]]:
    rows = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    out = {}
    for r in csv.DictReader(rows, delimiter="\t"):
        out[(r["dataset"], r["key"], int(r["turn"]))] = {c: int(r[c]) for c in COLUMNS}
    return out


def read_finding_labels(path: Path = FINDING_LABELS) -> dict[tuple[str, str, int, str], int]:
    """Verdicts on findings outside the labelled turns: (dataset, key, turn, label column) ->
    1/0."""
    rows = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    return {
        (r["dataset"], r["key"], int(r["turn"]), r["check"]): int(r["verdict"])
        for r in csv.DictReader(rows, delimiter="\t")
    }


def predictions(
    corpus: dict[str, list[SampleView]],
) -> dict[str, dict[tuple[str, str, int], list[Any]]]:
    """Per check: the findings of each (dataset, key, turn)."""
    out: dict[str, dict[tuple[str, str, int], list[Any]]] = {n: defaultdict(list) for n in NAMES}
    for name in NAMES:
        for ds, views in corpus.items():
            keys = {v.id: v.key for v in views}
            for f in run_samples(views, select_checks([name])):
                out[name][(ds, keys[f.sample_id], f.turn_idx)].append(f)
    return out


def accuracy(
    corpus: dict[str, list[SampleView]],
    labels: dict[tuple[str, str, int], dict[str, int]],
    show_errors: bool = False,
) -> dict[str, Any]:
    """Recall on the labelled turns; precision on them plus the judged findings outside them."""
    pred = predictions(corpus)
    judged = read_finding_labels()
    report: dict[str, Any] = {"labelled_turns": len(labels)}
    for col, name in COLUMNS.items():
        tp = fp = fn = 0
        errors = []
        for key, lab in labels.items():
            hit = key in pred[name]
            if hit and lab[col]:
                tp += 1
            elif hit:
                fp += 1
                errors.append(("FP", key, pred[name][key][0].message[:90]))
            elif lab[col]:
                fn += 1
                errors.append(("FN", key, ""))
        outside = [k for k in pred[name] if k not in labels]
        verdicts = [judged.get((*k, col)) for k in outside]
        o_tp = sum(1 for v in verdicts if v == 1)
        o_fp = sum(1 for v in verdicts if v == 0)
        unjudged = sum(1 for v in verdicts if v is None)
        for k, v in zip(outside, verdicts, strict=True):
            if v == 0:
                errors.append(("FP*", k, pred[name][k][0].message[:90]))
        p = (tp + o_tp) / (tp + fp + o_tp + o_fp) if tp + fp + o_tp + o_fp else None
        r = tp / (tp + fn) if tp + fn else None
        report[name] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "outside_tp": o_tp,
            "outside_fp": o_fp,
            "unjudged": unjudged,
            "precision": p and round(p, 3),
            "recall": r and round(r, 3),
            "positives": tp + fn,
        }
        if show_errors:
            report[name]["errors"] = errors
    return report


def translationese_sweep(
    corpus: dict[str, list[SampleView]],
    labels: dict[tuple[str, str, int], dict[str, int]],
) -> list[dict[str, Any]]:
    """Precision/recall of the translationese score at several thresholds (how the threshold was
    chosen)."""
    from kocurate.checks.korean.translationese import flagged, score

    scored = []
    for ds, views in corpus.items():
        for v in views:
            for t in v.turns:
                key = (ds, v.key, t.idx)
                if key in labels and len(t.text) >= 20:
                    scored.append((score(t.text), labels[key]["translationese"]))
    out = []
    for min_features in (1, 2):
        for threshold in (2.5, 4.0, 5.0, 6.0, 8.0, 10.0):
            tp = sum(1 for (sc, f), y in scored if y and flagged(sc, f, threshold, min_features))
            fp = sum(
                1 for (sc, f), y in scored if not y and flagged(sc, f, threshold, min_features)
            )
            pos = sum(1 for _, y in scored if y)
            out.append(
                {
                    "threshold": threshold,
                    "min_features": min_features,
                    "tp": tp,
                    "fp": fp,
                    "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                    "recall": round(tp / pos, 3) if pos else None,
                }
            )
    return out


def replicate_files(corpus_dir: Path, replicas: int) -> list[tuple[str, str, Path]]:
    """KoAlpaca-shaped and turn-pair-shaped files with the real rows ``replicas`` times over."""
    out = []
    for name, kind, src in (
        ("bench_koalpaca", "koalpaca", SHARED / "koalpaca_v1.0/ko_alpaca_data.first1040.json"),
        (
            "bench_pairs",
            "sharegpt_pairs",
            SHARED / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json",
        ),
    ):
        rows = json.loads(src.read_text(encoding="utf-8"))
        path = corpus_dir / f"{name}.json"
        path.write_text(json.dumps(rows * replicas, ensure_ascii=False), encoding="utf-8")
        out.append((name, kind, path))
    return out


def naive_baseline(views: list[SampleView]) -> dict[str, Any]:
    """The obvious way: the analyser's full tokenisation of every non-empty turn, one call per
    turn."""
    from kocurate.checks.korean.analysis import kiwi

    k = kiwi()
    k.tokenize("준비")
    t0 = time.process_time()
    for v in views:
        for t in v.turns:
            if t.text:
                k.tokenize(t.text)
    cpu = time.process_time() - t0
    return {
        "samples": len(views),
        "cpu_seconds": round(cpu, 2),
        "samples_per_cpu_s": round(len(views) / cpu, 1),
    }


def speed(url: str, tmp: Path, replicas: int, workers: int) -> dict[str, Any]:
    from kocurate.checks.korean import analysis

    analysis._kiwi = None  # measure a fresh start-up even if the accuracy part built one
    t0 = time.process_time()
    analysis.kiwi().tokenize("준비")  # the analyser's start-up, paid once by every worker process
    startup = time.process_time() - t0
    print(
        f"  analyser start-up: {startup:.1f} CPU-seconds per process (included in the deep figures"
        " below)"
    )
    engine = db.make_engine(url)
    out: dict[str, Any] = {
        "replicas": replicas,
        "workers": workers,
        "analyser_startup_cpu_s": round(startup, 2),
    }
    deep = [c for c in NAMES]
    cheap = [c.name for c in select_checks(cheap_only=True) if not getattr(c, "corpus", False)]
    try:
        for name, kind, path in replicate_files(tmp, replicas):
            rep = import_files(engine, kind, path, name=name)
            ds = rep.dataset_id
            res: dict[str, Any] = {"samples": rep.n_samples if hasattr(rep, "n_samples") else None}
            for label, names in (("korean_deep", deep), ("cheap_rules", cheap)):
                load0 = os.getloadavg()[0]
                r = run_dataset(
                    engine, ds, select_checks(names), full=True, set_checked=False, workers=workers
                )
                res[label] = {
                    "samples": r.samples,
                    "seconds": round(r.seconds, 2),
                    "samples_per_s": round(r.samples / r.seconds, 1) if r.seconds else None,
                    "cpu_seconds": round(r.cpu_seconds, 2),
                    "samples_per_cpu_s": (
                        round(r.samples / r.cpu_seconds, 1) if r.cpu_seconds else None
                    ),
                    "cpu_by_check": {
                        k: round(v, 2)
                        for k, v in sorted(r.seconds_by_check.items(), key=lambda x: -x[1])[:8]
                    },
                    "load_before": round(load0, 2),
                    "load_after": round(os.getloadavg()[0], 2),
                }
                print(
                    f"  {name:<15} {label:<12} {r.samples:>7,} samples {r.seconds:7.1f}s"
                    f" {res[label]['samples_per_s'] or 0:>8,.0f} samples/s wall;"
                    f" {res[label]['samples_per_cpu_s'] or 0:>7,.0f} samples per CPU-second (cpu"
                    f" {r.cpu_seconds:.1f}s, load {load0:.1f})",
                    flush=True,
                )
            with Session(engine) as s:
                views = load_batch(s, ds, 0, 2_000, True, kind)
            deep_r = res["korean_deep"]
            steady = deep_r["cpu_seconds"] - workers * startup
            deep_r["samples_per_cpu_s_after_startup"] = (
                round(deep_r["samples"] / steady, 1) if steady > 0 else None
            )
            print(
                f"  {name:<15} {'korean_deep':<12}"
                f" {deep_r['samples_per_cpu_s_after_startup'] or 0:>8,.0f} samples per CPU-second"
                " after the analyser's start-up",
                flush=True,
            )
            res["naive_full_tokenize"] = naive_baseline(views)
            print(
                f"  {name:<15} {'naive':<12}"
                f" {res['naive_full_tokenize']['samples_per_cpu_s']:>8,.0f} samples per CPU-second"
                " (full tokenisation of every turn, one process)",
                flush=True,
            )
            out[name] = res
    finally:
        engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--replicas", type=int, default=10, help="copies of the real rows in the speed datasets"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument(
        "--show-errors", action="store_true", help="list false positives and misses by id"
    )
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"real data excerpts not found at {SHARED}: nothing to measure")
        return
    tmp = Path(tempfile.mkdtemp(prefix="kc-bench-korean-"))
    print(f"load average {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)
    out: dict[str, Any] = {}
    if not args.skip_accuracy:
        url = f"sqlite:///{tmp}/corpus.db"
        db.upgrade(url)
        corpus, labels = load_corpus(url), read_labels()
        rep = accuracy(corpus, labels, args.show_errors)
        out["accuracy"] = rep
        print(f"accuracy on {rep['labelled_turns']} labelled turns ({LABELS.relative_to(ROOT)}):")
        for name in NAMES:
            r = rep[name]
            p = "-" if r["precision"] is None else f"{r['precision']:.2f}"
            rc = "-" if r["recall"] is None else f"{r['recall']:.2f}"
            print(
                f"  {name:<18} precision {p:>5}  recall {rc:>5}  (labelled turns: tp {r['tp']}, fp"
                f" {r['fp']}, fn {r['fn']}; findings elsewhere: {r['outside_tp']} right,"
                f" {r['outside_fp']} wrong, {r['unjudged']} not judged)"
            )
            for kind, key, msg in r.get("errors", []):
                print(f"      {kind} {key} {msg}")
        sweep = translationese_sweep(corpus, labels)
        out["translationese_sweep"] = sweep
        print("  translationese threshold sweep (points per 100 words; min. features):")
        for r in sweep:
            p = "-" if r["precision"] is None else f"{r['precision']:.2f}"
            print(
                f"    >= {r['threshold']:>4} with {r['min_features']} feature(s): precision {p:>5}"
                f" recall {r['recall']:.2f} (tp {r['tp']}, fp {r['fp']})"
            )
    if not args.skip_speed:
        url = f"sqlite:///{tmp}/speed.db"
        db.upgrade(url)
        print(
            f"speed ({args.replicas} copies of the real rows, {args.workers} worker processes):",
            flush=True,
        )
        out["speed"] = speed(url, tmp, args.replicas, args.workers)
    print(f"load average {os.getloadavg()}")
    (tmp / "korean.json").write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    print(f"figures: {tmp / 'korean.json'}")


if __name__ == "__main__":
    main()
