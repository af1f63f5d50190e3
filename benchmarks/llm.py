"""Grading 10k turns with an LLM: kocurate's packed, cached batch job vs one request per turn.

Both run in the same process against the local OpenAI-compatible fake (tests/fake_openai.py, a real
HTTP server driven by the official ``openai`` client), each with its own server so the counters are
apart; tokens are counted by the fake server's tokenizer, the same way for both:

* baseline ``one request per turn``: the same prompt, one chat-completions request per turn, no
cache —
  what a quick script would do (the instructions are sent again with every turn);
* ``kocurate``: ``start_batch`` + ``run_batch`` for task "grade" (≤ 20 turns per request, cache by
  (prompt version, model, text), resumable job writing findings and grades).

Then both run a second time over the same turns (a re-run, or a resume after a crash): kocurate's
second run sends nothing. Data: ``benchmarks/synth.py`` samples (its phrase pool repeats short
turns, as real chat data does, so the cache also removes duplicates within the first run).

    python benchmarks/llm.py [--turns 10000] [--db sqlite:///tmp/bench_llm.db] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from fake_openai import FakeOpenAI  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from synth import populate  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.llm import LLM, LLMConfig  # noqa: E402
from kocurate.llm.prompts import GRADE_SYSTEM, data_message, grade_item  # noqa: E402
from kocurate.models import CheckFinding, LLMGrade, Sample, Turn  # noqa: E402
from kocurate.services import llm as svc  # noqa: E402
from kocurate.services.auth import SYSTEM  # noqa: E402

MODEL = "bench-grader"
KEY = "bench-key"


def _prepare(url: str, n_turns: int) -> tuple[int, list[tuple[str, str, str]]]:
    """Fill a database; return how many samples (in id order) hold ``n_turns`` translated turns, and
    those turns (role, English, Korean)."""
    populate(url, n_samples=max(2000, n_turns // 2 + 2000), seed=1)
    eng = db.make_engine(url)
    with db.session_scope(eng) as s:
        rows = s.execute(
            select(Turn.sample_id, Turn.role, Turn.source_text, Turn.text)
            .where(Turn.source_text.is_not(None), Turn.source_kind == "translation")
            .order_by(Turn.sample_id, Turn.idx)
        ).all()
    eng.dispose()
    turns: list[tuple[str, str, str]] = []
    samples = 0
    last = None
    for sid, role, en, ko in rows:
        if len(turns) >= n_turns and sid != last:
            break
        if sid != last:
            samples, last = samples + 1, sid
        turns.append((role, en, ko))
    if len(turns) < n_turns:
        raise SystemExit(f"not enough turns: {len(turns)}")
    return samples, turns


def _naive(turns: list[tuple[str, str, str]]) -> dict[str, float]:
    srv = FakeOpenAI(KEY).start()
    llm = LLM(LLMConfig(srv.url, MODEL, KEY, max_retries=0))
    t0 = time.perf_counter()
    for role, en, ko in turns:
        llm.chat(GRADE_SYSTEM, data_message([grade_item("t1", role, en, ko)]))
    secs = time.perf_counter() - t0
    llm.close()
    srv.stop()
    return {
        "requests": len(srv.requests),
        "prompt": srv.prompt_tokens,
        "completion": srv.completion_tokens,
        "seconds": secs,
    }


def _ours(url: str, n_samples: int, concurrency: int) -> tuple[dict, dict]:
    srv = FakeOpenAI(KEY).start()
    os.environ.update(
        {
            "KOCURATE_LLM_BASE_URL": srv.url,
            "KOCURATE_LLM_MODEL": MODEL,
            "KOCURATE_LLM_API_KEY": KEY,
            "KOCURATE_LLM_CONCURRENCY": str(concurrency),
        }
    )
    eng = db.make_engine(url)
    t0 = time.perf_counter()
    with db.session_scope(eng) as s:
        est = svc.estimate(s, SYSTEM, "grade", {"limit": n_samples})
    est["seconds"] = time.perf_counter() - t0
    out = []
    for _ in range(2):
        n0, p0, c0 = len(srv.requests), srv.prompt_tokens, srv.completion_tokens
        t0 = time.perf_counter()
        job = svc.start_batch(eng, SYSTEM, "grade", {"limit": n_samples}, background=None)
        j = svc.run_batch(eng, job)
        secs = time.perf_counter() - t0
        assert j["status"] == "done", j["message"]
        r = j["result"]
        out.append(
            {
                "requests": len(srv.requests) - n0,
                "prompt": srv.prompt_tokens - p0,
                "completion": srv.completion_tokens - c0,
                "seconds": secs,
                "turns": r["turns"],
                "sent": r["sent"],
                "cache_hits": r["cache_hits"],
                "failed": r["failed_turns"],
                "findings": r["findings"],
            }
        )
    with db.session_scope(eng) as s:
        out[0]["grades"] = s.scalar(select(func.count()).select_from(LLMGrade)) or 0
        out[0]["finding_rows"] = (
            s.scalar(
                select(func.count())
                .select_from(CheckFinding)
                .where(CheckFinding.check == svc.CHECK)
            )
            or 0
        )
        out[0]["samples"] = s.scalar(select(func.count()).select_from(Sample)) or 0
    out[0]["estimate"] = est
    eng.dispose()
    srv.stop()
    return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=10_000)
    ap.add_argument(
        "--db", default=None, help="database URL (default: a new SQLite file in a temp dir)"
    )
    ap.add_argument(
        "--concurrency", type=int, default=4, help="requests in flight in kocurate's job"
    )
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench_llm_")
    url = args.db or f"sqlite:///{tmp}/bench.db"
    t0 = time.perf_counter()
    n_samples, turns = _prepare(url, args.turns)
    distinct = len({(en, ko) for _, en, ko in turns})
    print(
        f"data: {len(turns):,} translated turns ({distinct:,} distinct EN/KO pairs) in"
        f" {n_samples:,} samples; prepared in {time.perf_counter() - t0:.1f} s; load average"
        f" {os.getloadavg()[0]:.2f}"
    )
    naive1 = _naive(turns)
    naive2 = _naive(turns)
    ours1, ours2 = _ours(url, n_samples, args.concurrency)
    print(f"\n{'run':<38}{'requests':>10}{'input tok':>12}{'output tok':>12}{'seconds':>10}")
    for name, r in (
        ("one request per turn, 1st run", naive1),
        ("kocurate packed+cached, 1st run", ours1),
        ("one request per turn, 2nd run", naive2),
        ("kocurate, 2nd run (re-run/resume)", ours2),
    ):
        print(
            f"{name:<38}{r['requests']:>10,}{r['prompt']:>12,}{r['completion']:>12,}{r['seconds']:>10.2f}"
        )
    e = ours1["estimate"]
    print(
        f"\nestimate before the 1st run ({e['seconds']:.2f} s): {e['to_send']:,} turns to send in"
        f" {e['requests']} requests, ~{e['input_tokens']:,} input + ~{e['output_tokens']:,} output"
        f" tokens (own estimator); sent: {ours1['sent']:,} turns in {ours1['requests']} requests"
    )
    print(
        f"kocurate 1st run: {ours1['turns']:,} turns, {ours1['cache_hits']:,} from the cache"
        f" (duplicates), {ours1['grades']:,} grades, {ours1['finding_rows']:,} llm_quality"
        f" findings, {ours1['failed']} failed; 2nd run: {ours2['requests']} requests,"
        f" {ours2['cache_hits']:,} cache hits"
    )
    naive_tok = naive1["prompt"] + naive1["completion"]
    ours_tok = ours1["prompt"] + ours1["completion"]
    print(
        f"requests: {naive1['requests'] / max(ours1['requests'], 1):.0f}x fewer; tokens:"
        f" {100 * (1 - ours_tok / naive_tok):.1f}% fewer on the 1st run ({naive_tok:,} vs"
        f" {ours_tok:,}); 2nd run {naive2['prompt'] + naive2['completion']:,} vs"
        f" {ours2['prompt'] + ours2['completion']:,}"
    )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
