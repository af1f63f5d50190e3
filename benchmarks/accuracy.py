"""Benchmark: precision and recall of each rule check on a hand-labelled set of real turns.

    python benchmarks/accuracy.py [--baseline-rev 1c18f72] [--no-baseline] [--candidates N]
                                  [--previous-rev 62d8afe] [--no-ethics]

The set is drawn from ``../shared/data`` (read in place, never copied): the 1,040 KoAlpaca v1.0
records (0-334 with their Alpaca English source: translated instruction/input, reference output;
335-1039 with no English in the excerpt), the 987 ShareGPT DeepL turn pairs, and every 40th K-MHaS
comment. ``untranslated`` was tuned on KoAlpaca 0-519 and pairs 0-493: its figures are also
printed on the other halves alone (``held out``). ``benchmarks/labels/findings.tsv`` holds one
verdict per (item, check) that some version of the checks raised; ``benchmarks/labels/clean.tsv``
holds turns no check raised anything on, each read and judged clean or given the check that should
have fired. Only ids and verdicts are committed (``koalpaca:IDX:ROLE`` / ``pairs:IDX``), never the
text.

Per check: precision = true findings / labelled findings; recall = true findings / (true findings
+ labelled defects of that kind the check missed, from both files). Printed beside the same
figures for the checks as they were before this round (``--baseline-rev``: the commit is unpacked
with ``git archive`` into a temporary folder and run in a subprocess).

Then issue 12's table, beside the checks of the previous round (``--previous-rev``) and the goal:
``untranslated`` recall on the 335 English Alpaca outputs put where the Korean answer was, under
each import kind's relation to the English (labels in ``benchmarks/labels/english_answers.tsv``:
defect or spare, read by hand; rows 0-199 were read to tune the rule, 200-334 are held out and
printed apart); its fires on the 1,040 Korean answers ChatGPT wrote; ShareGPT turns left in English;
``numbers`` on Korean number words; and the ethics classifier on the held-out 20 %
(``benchmarks/ethics.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = Path(__file__).resolve().parent / "labels"
# checks that need a database or a model: not judged here
SKIP = {"ethics_model", "contamination", "near_duplicate", "length_ratio"}
KOALPACA = range(0, 1040)
PAIRS = range(0, 987)
KMHAS_EVERY = 40  # every 40th K-MHaS comment (news comments: the ethics lexicon's ground)


def _samples(code: Path) -> list[Any]:
    sys.path.insert(0, str(code))
    from kocurate.checks.base import SampleView, TurnView

    ko = json.loads(
        (SHARED / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )
    en = json.loads((SHARED / "alpaca_en/alpaca_data.first335.json").read_text(encoding="utf-8"))
    pairs = json.loads(
        (SHARED / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json").read_text(
            encoding="utf-8"
        )
    )
    out = []
    for i in KOALPACA:
        r, e = ko[i], (en[i] if i < len(en) else None)
        turns = [
            TurnView(
                0,
                "instruction",
                r["instruction"],
                e and e["instruction"],
                "translation" if e else None,
            ),
            TurnView(1, "input", r["input"], e and e["input"], "translation" if e else None),
            TurnView(2, "output", r["output"], e and e["output"], "reference" if e else None),
        ]
        out.append(
            SampleView(len(out) + 1, 1, turns, key=f"koalpaca:{i}", position=i, kind="koalpaca")
        )
    for i in PAIRS:
        p = pairs[i]
        out.append(
            SampleView(
                len(out) + 1,
                2,
                [TurnView(0, "assistant", p["output"], p["input"], "translation")],
                key=f"pairs:{i}",
                position=i,
                kind="generic",
            )
        )
    lines = (SHARED / "ethics/kmhas_test.txt").read_text(encoding="utf-8").splitlines()
    for n in range(2, len(lines) + 1, KMHAS_EVERY):  # n = line number (the header is line 1)
        body = lines[n - 1].rpartition("\t")[0].strip()
        if len(body) >= 2 and body[0] == body[-1] == '"':
            body = body[1:-1].replace('""', '"')
        out.append(
            SampleView(
                len(out) + 1,
                3,
                [TurnView(0, "output", body, None, None)],
                key=f"kmhas:{n}",
                position=n,
                kind="generic",
            )
        )
    return out


def item_id(key: str, role: str) -> str:
    return key if key.startswith(("pairs:", "kmhas:")) else f"{key}:{role}"


def emit_findings(code: Path) -> dict[str, list[str]]:
    """item id -> checks that fired on it, with the checks found at ``code``."""
    sys.path.insert(0, str(code))
    from kocurate.checks import REGISTRY, select_checks
    from kocurate.checks.runner import run_samples

    samples = _samples(code)
    names = [n for n in sorted(REGISTRY) if n not in SKIP]
    by_id = {s.id: s for s in samples}
    out: dict[str, set[str]] = defaultdict(set)
    for f in run_samples(samples, select_checks(names)):
        s = by_id[f.sample_id]  # type: ignore[index]
        role = next((t.role for t in s.turns if t.idx == f.turn_idx), "output")
        out[item_id(s.key, role)].add(f.check)
    return {k: sorted(v) for k, v in out.items()}


# import kind -> the relation its answer turn gets to the English: koalpaca keeps the English output
# for reference; a generic file without English has none; alpaca/dolly/sharegpt pairs translate it
RELATIONS = {
    "koalpaca (reference)": "reference",
    "generic (no English)": None,
    "alpaca (translation)": "translation",
}
TUNED_BELOW = 200  # English answers 0-199 were read to tune `untranslated`; 200-334 are held out


def emit_table(code: Path) -> dict[str, Any]:
    """The figures of the issue's table that rules give, with the checks found at ``code``."""
    sys.path.insert(0, str(code))
    from kocurate.checks import SampleView, TurnView, select_checks

    unt, num = select_checks(["untranslated"])[0], select_checks(["numbers"])[0]
    ko = json.loads(
        (SHARED / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )
    en = json.loads((SHARED / "alpaca_en/alpaca_data.first335.json").read_text(encoding="utf-8"))
    pairs = json.loads(
        (SHARED / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json").read_text(
            encoding="utf-8"
        )
    )

    def answer_fires(
        r: dict[str, str],
        e: dict[str, str] | None,
        answer: str,
        kind: str | None,
        source: str | None,
    ) -> bool:
        turns = [
            TurnView(
                0,
                "instruction",
                r["instruction"],
                e and e["instruction"],
                "translation" if e else None,
            ),
            TurnView(1, "input", r["input"], e and e["input"], "translation" if e else None),
            TurnView(2, "output", answer, source if kind else None, kind),
        ]
        return any(f.turn_idx == 2 for f in unt.run(SampleView(1, 1, turns)))

    out: dict[str, Any] = {"english_answers": {}}
    for (
        name,
        kind,
    ) in RELATIONS.items():  # the English Alpaca output put where the Korean answer was
        out["english_answers"][name] = [
            i for i, e in enumerate(en) if answer_fires(ko[i], e, e["output"], kind, e["output"])
        ]
    # Korean answers ChatGPT wrote (KoAlpaca outputs), as imported with and without the English
    out["korean_answers"] = {
        name: sum(
            answer_fires(
                r,
                en[i] if i < len(en) and kind else None,
                r["output"],
                kind,
                en[i]["output"] if i < len(en) else None,
            )
            for i, r in enumerate(ko)
        )
        for name, kind in RELATIONS.items()
    }
    out["korean_answers_n"] = len(ko)
    # ShareGPT turns left in English (the English turn imported as its own Korean)
    out["sharegpt_english"] = sum(
        bool(
            unt.run(
                SampleView(1, 1, [TurnView(0, "assistant", p["input"], p["input"], "translation")])
            )
        )
        for p in pairs
    )
    out["sharegpt_n"] = len(pairs)
    # numbers: pairs with Korean number words ("27억 5천만", "7조차도") -> false alarms there
    words = [
        i for i, p in enumerate(pairs) if "27억 5천만" in p["output"] or "7조차도" in p["output"]
    ]
    out["number_words"] = [
        i
        for i in words
        if num.run(
            SampleView(
                1,
                1,
                [TurnView(0, "assistant", pairs[i]["output"], pairs[i]["input"], "translation")],
            )
        )
    ]
    out["number_words_n"] = len(words)
    return out


def english_answer_labels() -> dict[int, bool]:
    """Alpaca index -> the English answer is a defect the check must catch (hand labels)."""
    out = {}
    for line in (LABELS / "english_answers.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            item, verdict = line.split("\t")[:2]
            out[int(item.split(":")[1])] = verdict == "defect"
    return out


def print_table(
    now: dict[str, Any], prev: dict[str, Any] | None, prev_rev: str, ethics: bool
) -> None:
    """Every figure of issue 12's table: this version, the previous one (same run) and the goal."""
    labels = english_answer_labels()
    parts = {
        "all": lambda i: True,
        "tuned 0-199": lambda i: i < TUNED_BELOW,
        "held out 200-334": lambda i: i >= TUNED_BELOW,
    }

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f} %"

    def row(label: str, cur: float | None, old: float | None, goal: str) -> None:
        print(f"  {label:<70}{pct(old):>9}{pct(cur):>9}   {goal}")

    print(f"\nissue 12's table (previous = checks at {prev_rev}, same run):")
    print(f"  {'measure':<70}{'previous':>9}{'now':>9}   goal")
    for name in RELATIONS:
        for part, keep in parts.items():
            defects = [i for i, d in labels.items() if d and keep(i)]

            def recall(
                t: dict[str, Any] | None, defects: list[int] = defects, name: str = name
            ) -> float | None:
                if t is None or not defects:
                    return None
                return len(set(t["english_answers"][name]) & set(defects)) / len(defects)

            row(
                f"untranslated recall, {name}, {part} (n={len(defects)})",
                recall(now),
                recall(prev),
                ">= 97 %",
            )
    for name in RELATIONS:  # the misses, to read (ids of the English Alpaca outputs)
        missed = sorted(
            i for i, d in labels.items() if d and i not in set(now["english_answers"][name])
        )
        print(
            f"  untranslated misses, {name}: {', '.join(f'alpaca:{i}' for i in missed) or 'none'}"
        )
    for name in RELATIONS:
        n = now["korean_answers_n"]
        # every finding on these answers counts as a false alarm (an upper bound: a few quote
        # English)
        row(
            f"untranslated fires on Korean answers, {name} (n={n})",
            now["korean_answers"][name] / n,
            prev and prev["korean_answers"][name] / n,
            "<= 2 %",
        )
    n = now["sharegpt_n"]
    row(
        f"untranslated, ShareGPT turns left in English (n={n})",
        now["sharegpt_english"] / n,
        prev and prev["sharegpt_english"] / n,
        "keep",
    )
    n = now["number_words_n"]
    row(
        f"numbers false alarms, Korean number words (n={n})",
        len(now["number_words"]) / n,
        prev and len(prev["number_words"]) / n,
        "0 %",
    )
    if ethics:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import ethics as eb

        eb.print_report(eb.run())


def _run_elsewhere(code: Path, what: str = "--emit") -> Any:
    env = {**os.environ, "PYTHONPATH": str(code)}
    res = subprocess.run(
        [sys.executable, __file__, what, str(code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout)


def _unpack(rev: str) -> Path:
    """The package as it was at ``rev``, in a temporary folder."""
    tmp = tempfile.mkdtemp(prefix="kocurate-baseline-")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "kocurate"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    return Path(tmp)


def read_labels() -> tuple[dict[tuple[str, str], bool], dict[str, list[str]]]:
    """(item, check) -> the finding is right; item -> checks that should have fired on a turn none
    raised."""
    found: dict[tuple[str, str], bool] = {}
    for line in (LABELS / "findings.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        item, check, verdict = line.split("\t")[:3]
        found[(item, check)] = verdict == "true"
    missed: dict[str, list[str]] = {}
    for line in (LABELS / "clean.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        item, verdict = line.split("\t")[:2]
        missed[item] = [] if verdict == "clean" else verdict.split(",")
    return found, missed


def score(
    fired: dict[str, list[str]], found: dict[tuple[str, str], bool], missed: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Precision and recall per check of one version's findings on the labelled items."""
    defects: dict[str, set[str]] = defaultdict(set)  # check -> items with that defect
    for (item, check), ok in found.items():
        if ok:
            defects[check].add(item)
    for item, checks in missed.items():
        for c in checks:
            defects[c].add(item)
    out: dict[str, dict[str, Any]] = {}
    checks = {c for (_, c) in found} | set(defects)
    for c in sorted(checks):
        raised = {item for item, cs in fired.items() if c in cs}
        labelled = {i for i in raised if (i, c) in found}
        tp = sum(1 for i in labelled if found[(i, c)])
        fp = len(labelled) - tp
        fn = len(defects[c] - raised)
        out[c] = {
            "raised": len(raised),
            "unlabelled": len(raised - labelled),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
        }
    return out


def _held_out(item: str) -> bool:
    kind, idx = item.split(":")[:2]
    return (
        kind == "kmhas"
        or (kind == "koalpaca" and int(idx) >= 520)
        or (kind == "pairs" and int(idx) >= 494)
    )


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--baseline-rev", default="1c18f72", help="Commit whose checks are the baseline."
    )
    ap.add_argument("--no-baseline", action="store_true", help="Only this version.")
    ap.add_argument(
        "--candidates", type=int, default=0, help="Print N unlabelled findings to label, then stop."
    )
    ap.add_argument(
        "--previous-rev",
        default="62d8afe",
        help="Commit of the previous round, for the issue's table.",
    )
    ap.add_argument(
        "--no-ethics", action="store_true", help="Skip training the ethics classifier (minutes)."
    )
    ap.add_argument("--emit", help=argparse.SUPPRESS)
    ap.add_argument("--emit-table", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.emit:
        print(json.dumps(emit_findings(Path(args.emit))))
        return
    if args.emit_table:
        print(json.dumps(emit_table(Path(args.emit_table))))
        return
    if not SHARED.is_dir():
        sys.exit(f"real data excerpts not found at {SHARED}: nothing to measure")
    now = _run_elsewhere(ROOT)
    base = None
    if not args.no_baseline:
        base = _run_elsewhere(_unpack(args.baseline_rev))
    found, missed = read_labels()
    if args.candidates:
        todo = sorted(
            {(i, c) for fired in (now, base or {}) for i, cs in fired.items() for c in cs}
            - set(found)
        )
        for i, c in todo[: args.candidates]:
            print(f"{i}\t{c}")
        return
    n_true = sum(found.values())
    print(
        f"labelled: {len(found)} findings ({n_true} right, {len(found) - n_true} false alarms) and"
        f" {len(missed)} turns no check raised ({sum(1 for v in missed.values() if v)} with a"
        " missed defect)"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")
    cur = score(now, found, missed)
    old = score(base, found, missed) if base is not None else {}
    head = f"{'check':<18}{'raised':>7}{'prec.':>8}{'recall':>8}"
    print(
        f"{head}   | baseline {args.baseline_rev}:{'raised':>7}{'prec.':>8}{'recall':>8}"
        if base
        else head
    )
    for c in sorted(set(cur) | set(old)):
        r = cur.get(c, {"raised": 0, "precision": None, "recall": None})
        line = f"{c:<18}{r['raised']:>7}{_fmt(r['precision']):>8}{_fmt(r['recall']):>8}"
        if base is not None:
            o = old.get(c, {"raised": 0, "precision": None, "recall": None})
            line += (
                "   |"
                f" {'':<{len('baseline ' + args.baseline_rev) + 1}}{o['raised']:>7}"
                f"{_fmt(o['precision']):>8}"
                f"{_fmt(o['recall']):>8}"
            )
        print(line)
    # untranslated was tuned on KoAlpaca 0-519 and pairs 0-493: its figures on the other items alone
    held = {k: v for k, v in found.items() if _held_out(k[0])}
    held_missed = {k: v for k, v in missed.items() if _held_out(k)}
    for name, fired in (("this version", now), (f"baseline {args.baseline_rev}", base)):
        if fired is None:
            continue
        r = score({i: cs for i, cs in fired.items() if _held_out(i)}, held, held_missed).get(
            "untranslated"
        )
        if r:
            print(
                f"untranslated on held-out items only ({name}): raised {r['raised']}, precision "
                f"{_fmt(r['precision']).strip()}, recall {_fmt(r['recall']).strip()}"
            )
    unl = Counter({c: r["unlabelled"] for c, r in cur.items() if r.get("unlabelled")})
    if unl:
        print(f"findings without a label (not counted): {dict(unl)}")
    print_table(
        _run_elsewhere(ROOT, "--emit-table"),
        _run_elsewhere(_unpack(args.previous_rev), "--emit-table"),
        args.previous_rev,
        not args.no_ethics,
    )


if __name__ == "__main__":
    main()
