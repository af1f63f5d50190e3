"""Benchmark: the ethics classifier on held-out real data, per source, per category, and the
pre-flag gate.

    python benchmarks/ethics.py [--save MODEL.pkl]

Reads the three labelled files of ``../shared/data/ethics/`` in place (kocohub train TSV, the curse
detection text|label file, K-MHaS), splits them once with ``classifier.split`` (20 % held out,
stratified by file and by label, seed 0), trains ``classifier.train`` on the 80 % only and reports
on the 20 % (the model never sees a reported row; its thresholds are chosen on a slice of the 80 %).
The run is deterministic (fixed seeds), so ``--save`` rebuilds the same model for ``kocurate ethics
use``; its size is printed. Also a per-source threshold study: the binary F1 each source would get
at other thresholds of the gate (a study only: at run time the source of a text is unknown, the
model uses one threshold).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ethics"
FILES = ("kocohub_labeled_train.tsv", "curse_detection_dataset.txt", "kmhas_test.txt")
# the figures of earlier rounds on the same split, oldest first, and the goals of issue 12; "before"
# is the last of them
ROUNDS = {
    "char_wb": {  # char_wb 1-4 TF-IDF, one logistic regression per head
        "binary": 0.754,
        "curse_detection_dataset.txt": 0.743,
        "kmhas_test.txt": 0.771,
        "kocohub_labeled_train.tsv": 0.703,
        "hate": 0.714,
        "abuse": 0.679,
        "discrimination": 0.626,
        "censure": 0.225,
        "gate_p": 0.916,
        "gate_r": 0.506,
    },
    "+jamo": {  # + jamo 2-5 TF-IDF (25 s of training, 28.1 MB)
        "binary": 0.762,
        "curse_detection_dataset.txt": 0.772,
        "kmhas_test.txt": 0.799,
        "kocohub_labeled_train.tsv": 0.633,
        "hate": 0.727,
        "abuse": 0.703,
        "discrimination": 0.629,
        "censure": 0.187,
        "gate_p": 0.911,
        "gate_r": 0.543,
    },
    "+morph": {  # + kiwi morpheme view, LR + NB-LR heads (116 s of training, 70.7 MB)
        "binary": 0.773,
        "curse_detection_dataset.txt": 0.780,
        "kmhas_test.txt": 0.801,
        "kocohub_labeled_train.tsv": 0.680,
        "hate": 0.733,
        "abuse": 0.721,
        "discrimination": 0.651,
        "censure": 0.199,
        "gate_p": 0.915,
        "gate_r": 0.582,
    },
}
BEFORE = ROUNDS["+morph"]
GOAL = {
    "binary": ">= 0.80",
    "curse_detection_dataset.txt": ">= 0.80",
    "kmhas_test.txt": ">= 0.80",
    "kocohub_labeled_train.tsv": ">= 0.80",
    "hate": ">= 0.65",
    "abuse": ">= 0.65",
    "discrimination": ">= 0.65",
    "censure": "-",
    "gate_p": ">= 0.90",
    "gate_r": ">= 0.50",
}


def run(save: Path | None = None) -> dict[str, Any]:
    """Train on the 80 %, report on the held-out 20 %: {measure: (value, support)} and the study."""
    sys.path.insert(0, str(ROOT))
    from kocurate.checks.ethics import classifier

    examples = classifier.read_many([SHARED / f for f in FILES])
    train, test = classifier.split(examples, 0.2, seed=0)
    t0 = time.perf_counter()
    model = classifier.train(train, seed=0)
    seconds = time.perf_counter() - t0
    rep = classifier.evaluate(model, test)
    out: dict[str, Any] = {
        "train": len(train),
        "test": len(test),
        "seconds": seconds,
        "binary": rep["binary"]["f1"],
        "report": rep,
    }
    for src, r in rep["binary_by_source"].items():
        out[src] = r["f1"]
    for cat, r in rep["categories"].items():
        out[cat] = r["f1"]
    if "preflag_gate" in rep:
        out["gate_p"], out["gate_r"] = (
            rep["preflag_gate"]["precision"],
            rep["preflag_gate"]["recall"],
        )
    # per-source threshold study on the held-out rows
    texts = [e.text for e in test]
    x = model.vectorizer.transform(texts)
    p = model.any_model.predict_proba(x)[:, 1]
    study: dict[str, dict[float, float]] = {}
    for src in FILES:
        idx = [i for i, e in enumerate(test) if e.source == src]
        row = {}
        for th in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            tp = sum(1 for i in idx if test[i].labels and p[i] >= th)
            fp = sum(1 for i in idx if not test[i].labels and p[i] >= th)
            fn = sum(1 for i in idx if test[i].labels and p[i] < th)
            row[th] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        study[src] = row
    out["study"] = study
    out["threshold"] = model.any_threshold
    path = save or Path(tempfile.mkdtemp(prefix="kocurate-ethics-")) / "ethics.pkl"
    model.save(path)
    out["model_bytes"] = path.stat().st_size
    out["model_path"] = str(path)
    if save is None:
        path.unlink()
    return out


def print_report(r: dict[str, Any]) -> None:
    print(
        f"ethics classifier: trained on {r['train']:,} rows ({r['seconds']:.0f}s), reported on the"
        f" held-out {r['test']:,} (20 %, never trained on); model {r['model_bytes'] / 1e6:.1f} MB"
        " (pickle)"
    )
    earlier = list(ROUNDS)[:-1]
    print(
        f"  {'measure (F1 unless said)':<44}"
        + "".join(f"{n:>9}" for n in earlier)
        + f"{'before':>8}{'now':>8}   goal"
    )
    names = {
        "binary": "binary, all held-out rows",
        "curse_detection_dataset.txt": "binary, curse detection",
        "kmhas_test.txt": "binary, K-MHaS",
        "kocohub_labeled_train.tsv": "binary, kocohub",
        "hate": "category hate",
        "abuse": "category abuse",
        "discrimination": "category discrimination",
        "censure": "category censure",
        "gate_p": "pre-flag gate precision",
        "gate_r": "pre-flag gate recall",
    }
    for key, label in names.items():
        now = r.get(key)
        print(
            f"  {label:<44}"
            + "".join(f"{ROUNDS[n][key]:>9.3f}" for n in earlier)
            + f"{BEFORE[key]:>8.3f}{'-' if now is None else format(now, '.3f'):>8}   {GOAL[key]}"
        )
    ths = list(next(iter(r["study"].values())))
    print(
        "  threshold study (binary F1 per source at gate thresholds; the model uses"
        f" {r['threshold']}):"
    )
    print("    " + f"{'source':<30}" + "".join(f"{t:>6}" for t in ths))
    for src, row in r["study"].items():
        print("    " + f"{src:<30}" + "".join(f"{row[t]:>6.3f}" for t in ths))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--save", type=Path, help="Also write the trained model here (for `kocurate ethics use`)."
    )
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"real data excerpts not found at {SHARED}: nothing to measure")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print_report(run(args.save))


if __name__ == "__main__":
    main()
