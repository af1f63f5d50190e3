"""Load: 20 annotators at once on each backend; every acknowledged write is there exactly once.

Bounded by counts, not by time: every annotator works through KOCURATE_LOAD_ROUNDS rounds (default
12), however slow the machine, so what is asserted cannot depend on speed; the longer timed run with
figures is ``python benchmarks/load.py``. Latency figures are printed (run with -s), never asserted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import load  # noqa: E402

ROUNDS = int(os.environ.get("KOCURATE_LOAD_ROUNDS", "12"))
THREADS = 20

pytestmark = pytest.mark.slow


def test_twenty_annotators_lose_nothing(db_url: str, engine: Engine) -> None:
    info = load.prepare(db_url, 12_000)  # enough that no queue runs dry within the run
    res = load.run_load(engine, info, threads=THREADS, rounds=ROUNDS)
    figures = res.figures()
    print(
        f"\nload {figures['backend']}: {figures['actions_per_s']} actions/s, p50"
        f" {figures.get('p50_ms')} ms, p95 {figures.get('p95_ms')} ms, p99 {figures.get('p99_ms')}"
        f" ms; acknowledged {figures['acknowledged']}, refused (stale) {figures['refused_stale']},"
        f" failed {figures['failed']}"
    )
    problems = load.verify(engine, res)
    assert problems == []
    kinds = {e.kind for e in res.entries if e.ok}
    assert {"next", "edit", "flags", "decide"} <= kinds  # every kind of action was exercised
    # the opening collision: one save of the same version wins, every other annotator is told
    assert figures["refused_stale"] >= THREADS - 1
    opening = [
        e for e in res.entries if e.kind == "edit" and e.value and e.value.endswith("#0 충돌")
    ]
    assert len(opening) == THREADS and sum(e.ok for e in opening) == 1
    assert figures["locked"] == 0 and figures["failed"] == 0
    for kind in ("next", "edit"):  # nobody starved waiting for the database
        assert len({e.user for e in res.entries if e.ok and e.kind == kind}) == THREADS, kind
    # each annotator finished its rounds: one claim attempt or hot pick per round, each one viewed
    views = [e for e in res.entries if e.kind == "view"]
    assert len(views) == THREADS * (ROUNDS + 1)


def test_verify_catches_a_lost_write(db_url: str, engine: Engine) -> None:
    """The checker itself: a write removed behind the ledger's back is reported."""
    from sqlalchemy import delete, func, select

    from kocurate import db
    from kocurate.models import Edit

    info = load.prepare(db_url, 300)
    res = load.run_load(engine, info, threads=4, rounds=5)
    assert load.verify(engine, res) == []
    with db.session_scope(engine) as s:
        last = s.scalar(select(func.max(Edit.id)))
        s.execute(delete(Edit).where(Edit.id == last))
    problems = load.verify(engine, res)
    assert any("lost writes" in p for p in problems), problems
