"""Corpus-scale triage at full size (issue 17): bulk approve, find-and-replace preview, variant
grouping, risk ordering against random order, and the QA interval's coverage.

Builds its own synthetic database with planted defects (rates known), because the measures need
ground truth: two Alpaca-shaped datasets (instruction/output), ``--n`` samples in all (5/7 in "big",
2/7 in "small"; 30 % of "small" re-translate a row of "big" — translation variants across datasets,
and inside "small" when the same row is drawn twice). Planted defects (``--defect-rate``, default 6
%): an untranslated turn (English left in place) or a truncated Korean turn; checks fire on defects
more often than on clean samples, with known rates (untranslated 80 %/1 %, length_ratio 60 %/5 %,
number_mismatch 3 %/3 % noise) and a lower alignment confidence on defects. The first ``--decided``
samples of "small" were reviewed (defect → rejected, else approved), which is what the risk model
learns from.

Figures, each beside a named baseline or target measured in the same run:
- bulk approve of "big" (--approve samples, default 500k)  vs  one-by-one ``review.decide``
(extrapolated)
- find-and-replace preview over all samples (a rare phrase, ~1 %; a common one, ~35 %; a regex)
                                                             vs  streaming every turn through Python
                                                             ``re``
- variant grouping (hash every sample + count groups)        vs  the 2-minute target
- defects among the first 1,000 by risk                      vs  1,000 in seeded random order
- QA interval coverage of the planted rate (100 seeded runs)  vs  the 93/100 target
- the review queue's "next" in risk order (ms per claim)      vs  the id-ordered queue

    python benchmarks/triage.py                  # 700k samples, SQLite file in a temp dir
    python benchmarks/triage.py --n 50000        # quicker
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import Engine, delete, func, insert, select, update  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.db import session_scope  # noqa: E402
from kocurate.models import (  # noqa: E402
    CheckFinding,
    Claim,
    Dataset,
    QaItem,
    Sample,
    Turn,
    User,
    utcnow,
)
from kocurate.services import bulk, qa, replace, risk, variants  # noqa: E402
from kocurate.services import review as rv  # noqa: E402
from kocurate.services.auth import hash_password  # noqa: E402
from kocurate.services.users import actor_of  # noqa: E402

PAIRS = [
    ("Explain", "설명하세요"),
    ("the history of", "의 역사를"),
    ("Korean cuisine", "한국 요리"),
    ("Write a short poem about", "에 대한 짧은 시를 쓰세요"),
    ("the ocean", "바다"),
    ("autumn leaves", "가을 낙엽"),
    ("Summarize the following text", "다음 글을 요약하세요"),
    ("in three sentences", "세 문장으로"),
    ("List five ways to", "다섯 가지 방법을 나열하세요"),
    ("save energy at home", "집에서 에너지를 절약하는"),
    ("What is the capital of", "의 수도는 어디인가요"),
    ("Canada", "캐나다"),
    ("machine learning", "기계 학습"),
    ("a data set of", "데이터 세트"),
    ("customers", "고객"),
    ("Seoul", "서울"),
    ("the report", "보고서"),
    ("Please check", "확인해 주세요"),
    ("the weather tomorrow", "내일 날씨를"),
    ("a story about a dragon", "용에 관한 이야기를"),
    ("The answer is", "정답은"),
    ("because", "왜냐하면"),
    ("the temperature rises", "기온이 올라가기 때문입니다"),
    ("Compare", "비교하세요"),
    ("cats and dogs", "고양이와 개를"),
    ("Here is the code", "다음은 코드입니다"),
]
CHUNK = 20_000
FIND = "기계 학습"  # a common phrase: in ~35 % of samples (the worst case for a preview)
RARE, RARE_RATE = "틀린 번역 문구", 0.01
TARGETS = {"bulk": 60.0, "replace": 10.0, "variants": 120.0, "lift": 3.0, "coverage": 93}


def sentence(rng: random.Random, lo: int, hi: int) -> tuple[str, str]:
    picks = [PAIRS[rng.randrange(len(PAIRS))] for _ in range(rng.randint(lo, hi))]
    return (
        " ".join(e for e, _ in picks) + f" {rng.randint(1, 999)}.",
        " ".join(k for _, k in picks) + ".",
    )


def populate(
    engine: Engine, n: int, defect_rate: float, decided: int, seed: int
) -> tuple[dict[str, int], set[int]]:
    """Write the synthetic corpus; returns dataset ids by name and the set of planted-defect sample
    ids."""
    rng = random.Random(seed)
    n_big = n * 5 // 7
    n_small = n - n_big
    defects: set[int] = set()
    now = utcnow()
    with session_scope(engine) as s:
        if s.scalar(select(User.id).where(User.username == "lead")) is None:
            s.add(
                User(
                    username="lead",
                    password_hash=hash_password("bench"),
                    role="lead",
                    created_at=now,
                )
            )
        ids = {}
        for name in ("big", "small"):
            d = Dataset(
                name=name, kind="koalpaca", fingerprint=name, source_files=[], imported_at=now
            )
            s.add(d)
            s.flush()
            ids[name] = d.id
    big_sources: list[tuple[str, str]] = []
    next_id = 1
    for name, count in (("big", n_big), ("small", n_small)):
        for start in range(0, count, CHUNK):
            samples, turns, findings = [], [], []
            for pos in range(start, min(count, start + CHUNK)):
                sid = next_id
                next_id += 1
                if name == "small" and big_sources and rng.random() < 0.30:
                    en_i, en_o = big_sources[
                        rng.randrange(len(big_sources))
                    ]  # the same row, translated again
                    ko_i, ko_o = sentence(rng, 2, 5)[1], sentence(rng, 4, 12)[1]
                else:
                    (en_i, ko_i), (en_o, ko_o) = sentence(rng, 2, 5), sentence(rng, 4, 12)
                    if name == "big" and len(big_sources) < 200_000:
                        big_sources.append((en_i, en_o))
                if rng.random() < RARE_RATE:
                    ko_o += f" {RARE}"  # a phrase a lead would really fix: in ~1 % of samples
                defect = rng.random() < defect_rate
                kind = None
                if defect:
                    defects.add(sid)
                    kind = "untranslated" if rng.random() < 0.5 else "truncated"
                    if kind == "untranslated":
                        ko_o = en_o
                    else:
                        ko_o = ko_o[: max(3, len(ko_o) // 4)]
                conf = min(1.0, max(0.0, rng.gauss(0.6 if defect else 0.85, 0.12)))
                status = "new"
                if name == "small" and pos < decided:
                    status = "rejected" if defect else "approved"
                samples.append(
                    {
                        "id": sid,
                        "dataset_id": ids[name],
                        "key": str(pos),
                        "position": pos,
                        "status": status,
                        "version": 1,
                        "meta": {},
                        "align_status": "aligned",
                        "align_confidence": conf,
                        "n_turns": 2,
                        "ko_chars": len(ko_i) + len(ko_o),
                        "en_chars": len(en_i) + len(en_o),
                        "dup_keep": True,
                        "checked_version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                turns += [
                    {
                        "sample_id": sid,
                        "idx": 0,
                        "role": "instruction",
                        "text": ko_i,
                        "mt_text": ko_i,
                        "source_text": en_i,
                        "source_kind": "translation",
                    },
                    {
                        "sample_id": sid,
                        "idx": 1,
                        "role": "output",
                        "text": ko_o,
                        "mt_text": ko_o,
                        "source_text": en_o,
                        "source_kind": "translation",
                    },
                ]
                for check, p_def, p_ok in (
                    ("untranslated", 0.8, 0.01),
                    ("length_ratio", 0.6, 0.05),
                    ("number_mismatch", 0.03, 0.03),
                ):
                    hit = rng.random() < (
                        p_def
                        if (
                            defect
                            and (check != "untranslated" or kind == "untranslated")
                            and (check != "length_ratio" or kind == "truncated")
                        )
                        or (defect and check == "number_mismatch")
                        else p_ok
                    )
                    if hit:
                        findings.append(
                            {
                                "sample_id": sid,
                                "dataset_id": ids[name],
                                "check": check,
                                "severity": "warning",
                                "turn_idx": 1,
                                "message": "",
                                "data": {},
                                "state": "open",
                                "created_at": now,
                            }
                        )
            with session_scope(engine) as s:
                conn = s.connection()
                conn.execute(insert(Sample), samples)
                conn.execute(insert(Turn), turns)
                if findings:
                    conn.execute(insert(CheckFinding), findings)
    with session_scope(engine) as s:
        s.execute(update(Dataset).where(Dataset.id == ids["big"]).values(n_samples=n_big))
        s.execute(update(Dataset).where(Dataset.id == ids["small"]).values(n_samples=n_small))
    return ids, defects


def timed(label: str, fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"  {label}: {dt:.2f} s", flush=True)
    return dt, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=700_000, help="samples in all")
    ap.add_argument("--url", help="database URL (default: a SQLite file in a temp dir)")
    ap.add_argument("--defect-rate", type=float, default=0.06)
    ap.add_argument(
        "--decided", type=int, default=30_000, help="reviewed samples the risk model learns from"
    )
    ap.add_argument("--qa-runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kc-triage-")
    url = args.url or f"sqlite:///{tmp}/triage.db"
    print(f"load average at start: {os.getloadavg()}  ({os.cpu_count()} CPUs)")
    db.upgrade(url)
    engine = db.make_engine(url)
    t_gen, (ds, defects) = timed(
        f"generate {args.n:,} samples ({args.defect_rate:.0%} planted defects)",
        lambda: populate(engine, args.n, args.defect_rate, args.decided, args.seed),
    )
    with session_scope(engine) as s:
        lead = actor_of(s.scalar(select(User).where(User.username == "lead")))
        n_big = (
            s.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds["big"]))
            or 0
        )
    results: dict[str, Any] = {}

    # -- risk ordering vs random order (on the undecided samples of both datasets)
    print("risk model")
    t_train, info = timed(
        "train + score every sample", lambda: risk.train(engine, lead, [ds["big"], ds["small"]])
    )
    print(
        f"    {info['labelled']:,} decided ({info['broken']:,} broken), held-out AUC"
        f" {info['holdout_auc']:.3f}"
    )
    with session_scope(engine) as s:
        sel = bulk.Selection(status="new")
        t_rank, top = timed("first 1,000 by risk", lambda: risk.ranked(s, lead, sel, limit=1000))
        new_ids = np.fromiter(
            s.scalars(select(Sample.id).where(Sample.status == "new")), dtype=np.int64
        )
    risk_hits = sum(1 for sid, _ in top if sid in defects)
    rand = np.random.default_rng(args.seed).choice(new_ids, 1000, replace=False)
    rand_hits = sum(1 for sid in rand.tolist() if sid in defects)
    lift = risk_hits / max(1, rand_hits)
    results["lift"] = lift

    # -- the review queue in risk order: ms per "next" (claim), beside the id-ordered queue (same
    # run)
    def walk(order: str, calls: int = 200) -> float:
        with session_scope(engine) as s:
            s.execute(delete(Claim).where(Claim.user_id == lead.id))
        after = None
        t0 = time.perf_counter()
        for _ in range(calls):
            with session_scope(engine) as s:
                after = rv.next_sample(
                    s, lead, ds["big"], rv.QueueFilter(status="new"), after=after, order=order
                )
        return (time.perf_counter() - t0) / calls * 1000

    t_next_id = walk("id")
    t_next_risk = walk("risk")
    with session_scope(engine) as s:
        s.execute(delete(Claim).where(Claim.user_id == lead.id))
    print(
        f"  queue 'next': risk order {t_next_risk:.1f} ms per call, id order {t_next_id:.1f} ms"
        " (200 calls each)"
    )

    # -- QA coverage of the planted rate
    print(f"QA sampling: {args.qa_runs} seeded runs at ±3 % / 95 % over 'big'")
    with session_scope(engine) as s:
        pop = np.fromiter(
            s.scalars(select(Sample.id).where(Sample.dataset_id == ds["big"])), dtype=np.int64
        )
    planted = sum(1 for x in pop.tolist() if x in defects) / len(pop)
    covered, widths = 0, []
    t0 = time.perf_counter()
    for seed in range(args.qa_runs):
        with session_scope(engine) as s:
            run = qa.create_run(
                s, lead, bulk.Selection(dataset_id=ds["big"], status="new"), margin=0.03, seed=seed
            )
            items = s.execute(
                select(QaItem.id, QaItem.sample_id).where(QaItem.run_id == run["run_id"])
            ).all()
            # a perfect reviewer: the verdict is the planted truth
            s.execute(
                update(QaItem),
                [{"id": i, "verdict": "defect" if sid in defects else "ok"} for i, sid in items],
            )
            est = qa.estimate(s, run["run_id"])
        covered += est["low"] <= planted <= est["high"]
        widths.append(est["high"] - est["low"])
    t_qa = time.perf_counter() - t0
    results["coverage"] = covered
    print(f"  {args.qa_runs} runs of {run['size']:,} samples: {t_qa:.1f} s")

    # -- find-and-replace preview over every sample
    print("find and replace preview (all samples)")
    spec = replace.ReplaceSpec(pattern=FIND, replacement="머신러닝")
    with session_scope(engine) as s:
        t_rep, pv = timed(
            f"preview literal {FIND!r}", lambda: replace.preview(s, lead, bulk.Selection(), spec)
        )
        s.rollback()
    with session_scope(engine) as s:
        t_rare, pv_rare = timed(
            f"preview literal {RARE!r}",
            lambda: replace.preview(
                s,
                lead,
                bulk.Selection(),
                replace.ReplaceSpec(pattern=RARE, replacement="고친 문구"),
            ),
        )
        s.rollback()
    with session_scope(engine) as s:
        rspec = replace.ReplaceSpec(
            pattern=r"기계 학습(을|은|이)?", replacement=r"머신러닝\1", regex=True
        )
        t_rep_rx, pv_rx = timed(
            "preview regex", lambda: replace.preview(s, lead, bulk.Selection(), rspec)
        )
        s.rollback()
    rx = re.compile(re.escape(FIND))

    def naive() -> int:
        n = 0
        with session_scope(engine) as s:
            for (t,) in s.execute(select(Turn.text).execution_options(yield_per=20_000)):
                n += bool(rx.search(t))
        return n

    t_naive, n_naive = timed("baseline: stream every turn through Python re", naive)
    assert n_naive == pv["turns"], (n_naive, pv["turns"])
    results["replace"] = max(t_rep, t_rare)

    # -- variant grouping
    print("translation variants")
    t_var, hashed = timed("hash every sample", lambda: variants.compute_hashes(engine, lead))
    with session_scope(engine) as s:
        t_grp, sm = timed("count groups", lambda: variants.summary(s, lead))
    results["variants"] = t_var + t_grp

    # -- bulk approve of "big"
    print(f"bulk approve of 'big' ({n_big:,} samples)")
    with session_scope(engine) as s:
        t_pv, p = timed(
            "preview (count + sample)",
            lambda: bulk.preview(
                s, lead, "approve", bulk.Selection(dataset_id=ds["big"]), note="benchmark"
            ),
        )
    with session_scope(engine) as s:
        t_ap, out = timed("apply", lambda: bulk.apply(s, lead, p["op_id"]))
    with session_scope(engine) as s:
        t_rv, _ = timed("revert", lambda: bulk.revert(s, lead, p["op_id"]))
    one = list(new_ids[:500].tolist())
    t0 = time.perf_counter()
    for sid in one:
        with session_scope(engine) as s:
            rv.decide(s, lead, int(sid), "approve")
    t_one = (time.perf_counter() - t0) / len(one) * p["count"]
    results["bulk"] = t_pv + t_ap

    print("\n== results ==")
    print(
        f"samples {args.n:,} (generated in {t_gen:.0f} s); planted defect rate {planted:.2%} in"
        " 'big'"
    )
    print(
        f"bulk approve {p['count']:,}: preview {t_pv:.1f} s + apply {t_ap:.1f} s ="
        f" {t_pv + t_ap:.1f} s (target < {TARGETS['bulk']:.0f} s) | baseline one-by-one"
        f" review.decide ≈ {t_one:.0f} s (extrapolated from {len(one)}); revert {t_rv:.1f} s"
    )
    print(
        f"replace preview (target < {TARGETS['replace']:.0f} s): rare literal {t_rare:.2f} s"
        f" ({pv_rare['samples']:,} samples); common literal {t_rep:.2f} s ({pv['samples']:,}"
        f" samples, {pv['turns']:,} turns); regex {t_rep_rx:.2f} s ({pv_rx['turns']:,} turns) |"
        f" baseline: Python scan of every turn (count only) {t_naive:.2f} s"
    )
    print(
        f"variant grouping: {results['variants']:.1f} s for {hashed:,} samples → {sm['groups']:,}"
        f" groups ({sm['samples_in_groups']:,} samples) (target < {TARGETS['variants']:.0f} s)"
    )
    print(
        f"risk ordering: {risk_hits} defects in the first 1,000 by risk vs {rand_hits} in 1,000"
        f" random (baseline) = {lift:.1f}× (target ≥ {TARGETS['lift']:.0f}×); train+score"
        f" {t_train:.1f} s"
    )
    print(
        f"review queue next (claim) in risk order: {t_next_risk:.1f} ms per call | baseline id"
        f" order {t_next_id:.1f} ms"
    )
    print(
        f"QA: Wilson 95 % interval covered the planted rate in {covered}/{args.qa_runs} seeded runs"
        f" (target ≥ {TARGETS['coverage']}); mean width {100 * float(np.mean(widths)):.2f} points"
    )
    print(f"load average at end: {os.getloadavg()}")
    met = (
        results["bulk"] < TARGETS["bulk"]
        and results["replace"] < TARGETS["replace"]
        and results["variants"] < TARGETS["variants"]
        and lift >= TARGETS["lift"]
        and covered >= TARGETS["coverage"] * args.qa_runs / 100
    )
    print("all targets met" if met else "some targets missed (see above)")
    engine.dispose()


if __name__ == "__main__":
    main()
