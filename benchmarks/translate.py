"""Re-translating 10k turns with DeepL: kocurate's batching + protection + cache vs a naive loop.

Both run in the same process against the local fake DeepL server (tests/fake_deepl.py, a real HTTP
server driven by the official ``deepl`` client), each with its own server so the counters are apart:

* baseline ``naive``: one ``translate_text`` call per turn, the raw English sent (code included), no
  cache — what a quick script would do;
* ``kocurate``: ``start_batch`` + ``run_batch`` (placeholder protection, ≤ 50 texts / ≤ 128 KiB per
  request, sha256 cache, resumable job writing suggestions).

Then both run a second time over the same turns (a re-run, or a resume after a crash): the cache
makes kocurate's second run free. Data: ``benchmarks/synth.py`` samples (its phrase pool repeats
short turns, as real chat data does); one turn in 6 gets a fenced code block and inline code
appended, as in ShareGPT programming answers.

    python benchmarks/translate.py [--turns 10000] [--db sqlite:///tmp/bench_translate.db]
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

import deepl  # noqa: E402
from fake_deepl import FakeDeepL  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from synth import populate  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.models import Sample, Suggestion, Turn  # noqa: E402
from kocurate.services import translate as tr  # noqa: E402
from kocurate.services.auth import SYSTEM  # noqa: E402

CODE = (
    "\n\n```python\ndef reverse(items):\n    # return a new list, newest first\n    return"
    " items[::-1]\n```\nCall `reverse(data)` and see"
    " https://docs.python.org/3/tutorial/datastructures.html for {details}."
)


def _prepare(url: str, n_turns: int) -> int:
    """Fill a database; return how many samples (in id order) hold ``n_turns`` translatable
    turns."""
    populate(url, n_samples=max(2000, n_turns // 2 + 2000), seed=1)
    eng = db.make_engine(url)
    with db.session_scope(eng) as s:
        # code in one turn of six (the long answers of programming conversations)
        s.execute(
            update(Turn)
            .where(Turn.id % 6 == 0, Turn.source_text != "", Turn.source_kind == "translation")
            .values(source_text=Turn.source_text + CODE)
        )
        per_sample = s.execute(
            select(Turn.sample_id, func.count())
            .where(Turn.source_text != "", Turn.source_kind == "translation")
            .group_by(Turn.sample_id)
            .order_by(Turn.sample_id)
        ).all()
    eng.dispose()
    total = 0
    for k, (_, n) in enumerate(per_sample, start=1):
        total += n
        if total >= n_turns:
            return k
    raise SystemExit(f"not enough turns: {total}")


def _turn_texts(url: str, n_samples: int) -> list[str]:
    eng = db.make_engine(url)
    with db.session_scope(eng) as s:
        last = s.scalars(select(Sample.id).order_by(Sample.id).limit(n_samples)).all()[-1]
        texts = list(
            s.scalars(
                select(Turn.source_text)
                .where(
                    Turn.sample_id <= last,
                    Turn.source_text != "",
                    Turn.source_kind == "translation",
                )
                .order_by(Turn.id)
            )
        )
    eng.dispose()
    return texts


def _naive(texts: list[str]) -> dict[str, float]:
    srv = FakeDeepL().start()
    client = deepl.DeepLClient("test-key", server_url=srv.url)
    t0 = time.perf_counter()
    for text in texts:
        client.translate_text(text, source_lang="EN", target_lang="KO")
    secs = time.perf_counter() - t0
    client.close()
    srv.stop()
    return {"requests": len(srv.translate_requests), "billed": srv.total_billed, "seconds": secs}


def _ours(url: str, n_samples: int) -> tuple[dict[str, float], dict[str, float]]:
    srv = FakeDeepL().start()
    os.environ["DEEPL_AUTH_KEY"] = "test-key"
    os.environ["DEEPL_SERVER_URL"] = srv.url
    eng = db.make_engine(url)
    t0 = time.perf_counter()
    with db.session_scope(eng) as s:
        est = tr.estimate(s, SYSTEM, {"limit": n_samples})
    est_secs = time.perf_counter() - t0
    out = []
    for _ in range(2):
        n0, b0 = len(srv.translate_requests), srv.total_billed
        t0 = time.perf_counter()
        job = tr.start_batch(eng, SYSTEM, {"limit": n_samples}, background=None)
        j = tr.run_batch(eng, job)
        secs = time.perf_counter() - t0
        assert j["status"] == "done", j["message"]
        out.append(
            {
                "requests": len(srv.translate_requests) - n0,
                "billed": srv.total_billed - b0,
                "seconds": secs,
                "texts_per_request": (
                    (j["result"]["texts"] / j["result"]["requests"])
                    if j["result"]["requests"]
                    else 0
                ),
                "cache_hits": j["result"]["cache_hits"],
                "failed": j["result"]["failed_turns"],
            }
        )
    with db.session_scope(eng) as s:
        out[0]["suggestions"] = s.scalar(select(func.count()).select_from(Suggestion)) or 0
    assert max(srv.billed.values()) == 1, "a text was billed twice"
    out[0]["estimate"] = {**est, "seconds": est_secs}
    eng.dispose()
    srv.stop()
    return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=10_000)
    ap.add_argument(
        "--db", default=None, help="database URL (default: a new SQLite file in a temp dir)"
    )
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench_translate_")
    url = args.db or f"sqlite:///{tmp}/bench.db"
    t0 = time.perf_counter()
    n_samples = _prepare(url, args.turns)
    texts = _turn_texts(url, n_samples)
    print(
        f"data: {len(texts):,} turns with English ({len(set(texts)):,} distinct, "
        f"{sum(CODE in t for t in texts):,} with code) in {n_samples:,} samples; "
        f"{sum(map(len, texts)):,} characters; prepared in {time.perf_counter() - t0:.1f} s"
    )
    naive1 = _naive(texts)
    naive2 = _naive(texts)
    ours1, ours2 = _ours(url, n_samples)
    print(f"\n{'run':<34}{'requests':>10}{'billed chars':>15}{'seconds':>10}")
    for name, r in (
        ("naive loop, 1st run", naive1),
        ("kocurate batch+cache, 1st run", ours1),
        ("naive loop, 2nd run", naive2),
        ("kocurate, 2nd run (re-run/resume)", ours2),
    ):
        print(f"{name:<34}{r['requests']:>10,}{int(r['billed']):>15,}{r['seconds']:>10.2f}")
    e = ours1["estimate"]
    print(
        f"\nestimate before the 1st run ({e['seconds']:.2f} s): {e['characters']:,} characters,"
        f" {e['requests']} requests, EUR {e['estimated_cost_eur']:.2f}; billed:"
        f" {int(ours1['billed']):,} characters, {ours1['requests']} requests"
    )
    print(
        f"kocurate 1st run: {ours1['texts_per_request']:.1f} texts per request,"
        f" {ours1['suggestions']:,} suggestions, {ours1['failed']} turns failed restoration"
    )
    print(
        f"requests: {naive1['requests'] / max(ours1['requests'], 1):.0f}x fewer; billed characters:"
        f" {100 * (1 - ours1['billed'] / naive1['billed']):.1f}% less on the 1st run (duplicates"
        f" sent once, code/URLs/placeholders not sent), {int(naive2['billed']):,} vs"
        f" {int(ours2['billed']):,} on the 2nd"
    )


if __name__ == "__main__":
    main()
