"""Load: N simulated annotators claim, edit, flag and decide at once; nothing may be lost or
doubled.

Each annotator is a thread with its own short transactions (one per action, as a Streamlit rerun
does) through the real review services (kocurate.services.review) on a real database file / server.
Every action is written to a ledger: acknowledged (with the version it produced) or refused (with
the error's class and message). ``verify`` then reads the database and checks that

- every acknowledged edit is in ``edits`` exactly once, and no unacknowledged one is;
- each sample's version moved by exactly the number of acknowledged writes, and no version was
  handed to two writers (no lost update);
- each turn holds the text of its last acknowledged edit; each person's flags are their last set;
- each acknowledged decision is one Review row; no sample was handed to two annotators at once;
- every refusal was a StaleVersion (told why, with the current version), nothing else; no
  "database is locked" reached anyone.

Figures: actions/s, p50/p95/p99 latency per action. The naive baseline is SQLite as
``create_engine`` opens it by default (rollback journal, deferred BEGIN, 5 s timeout), driven by the
same annotators: it shows what WAL + BEGIN IMMEDIATE + a 30 s busy timeout buy.

    python benchmarks/load.py [--seconds 60] [--threads 20] [--samples 20000] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from kocurate import db  # noqa: E402
from kocurate.errors import StaleVersion  # noqa: E402
from kocurate.models import DECISION_STATUS, Claim, Edit, Flag, Review, Sample, Turn  # noqa: E402
from kocurate.services import review  # noqa: E402
from kocurate.services.auth import Actor  # noqa: E402

FLAG_CHOICES = ("mistranslation", "truncated", "low_quality", "hate", "pii", "other")
DECISIONS = ("approve", "approve", "approve", "reject", "needs_fix", "skip")


@dataclass
class Entry:
    kind: str  # next | edit | flags | decide | view
    user: int
    sample: int | None
    ok: bool
    seconds: float
    turn: int | None = None
    value: Any = None  # edit text, flag set, decision
    expected: int | None = None
    result: Any = None  # new version / status / claimed sample
    error: str | None = None  # "Class: message" when refused or failed


@dataclass
class LoadResult:
    backend: str
    threads: int
    seconds: float
    entries: list[Entry] = field(default_factory=list)
    base_edit_id: int = 0
    base_review_id: int = 0
    initial_versions: dict[int, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        lat = [e.seconds for e in self.entries if e.kind != "view"]
        by_kind: dict[str, list[float]] = defaultdict(list)
        for e in self.entries:
            by_kind[e.kind].append(e.seconds)
        out: dict[str, Any] = {
            "backend": self.backend,
            "threads": self.threads,
            "seconds": round(self.seconds, 1),
            "actions": len(lat),
            "actions_per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0,
            "acknowledged": sum(1 for e in self.entries if e.ok and e.kind != "view"),
            "refused_stale": sum(
                1 for e in self.entries if not e.ok and (e.error or "").startswith("StaleVersion")
            ),
            "failed": sum(
                1
                for e in self.entries
                if not e.ok and not (e.error or "").startswith("StaleVersion")
            ),
            "locked": sum(1 for e in self.entries if "locked" in (e.error or "").lower()),
        }
        out.update(_pcts(lat, "ms"))
        out["per_action"] = {k: {"n": len(v), **_pcts(v, "ms")} for k, v in sorted(by_kind.items())}
        return out


def _pcts(values: list[float], unit: str) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[min(len(v) - 1, int(p * len(v)))] * 1000, 1)

    return {
        f"p50_{unit}": q(0.50),
        f"p95_{unit}": q(0.95),
        f"p99_{unit}": q(0.99),
        f"max_{unit}": round(v[-1] * 1000, 1),
        f"mean_{unit}": round(statistics.fmean(v) * 1000, 1),
    }


def prepare(url: str, n_samples: int = 2_000, seed: int = 0) -> dict[str, Any]:
    """A migrated database with synthetic datasets and the 20 annotators ann01…ann20."""
    import synth

    return synth.populate(url, n_samples, flagged_frac=0.0, seed=seed)


def run_load(
    engine: Engine,
    info: dict[str, Any],
    *,
    threads: int = 20,
    seconds: float = 15.0,
    hot: int = 5,
    max_actions: int = 200_000,
    seed: int = 0,
    backend: str = "",
    rounds: int | None = None,
) -> LoadResult:
    """Drive ``threads`` annotators for ``seconds`` (and at most ``max_actions`` in all).

    With ``rounds`` each annotator instead works through exactly that many rounds (next, view, edit,
    flags, decide), however long it takes: what was done then depends on counts, not on the speed
    of the machine (tests). Either way every annotator starts with one collision: all read the first
    hot sample, wait for each other, then edit it, so exactly one is acknowledged and the others
    are refused as stale.
    """
    users = info["users"]
    annotators = [
        Actor(users[f"ann{i:02d}"], f"ann{i:02d}", "annotator") for i in range(1, threads + 1)
    ]
    ds_ids = list(info["datasets"].values())
    queue_ds, hot_ds = ds_ids[:3], ds_ids[3]  # the hot samples sit in a dataset nobody queues
    with Session(engine) as s:
        hot_ids = list(
            s.scalars(
                select(Sample.id).where(Sample.dataset_id == hot_ds).order_by(Sample.id).limit(hot)
            )
        )
        base_edit = s.scalar(select(func.max(Edit.id))) or 0
        base_review = s.scalar(select(func.max(Review.id))) or 0
        initial = dict(s.execute(select(Sample.id, Sample.version)).all())
    result = LoadResult(
        backend or engine.dialect.name,
        threads,
        0.0,
        base_edit_id=base_edit,
        base_review_id=base_review,
        initial_versions=initial,
    )
    lock = threading.Lock()
    counter = [0]
    start_gate = threading.Barrier(threads + 1)
    collide_gate = threading.Barrier(threads)
    deadline = [0.0]

    def record(e: Entry) -> None:
        with lock:
            result.entries.append(e)
            counter[0] += 1

    def act(kind: str, actor: Actor, sample: int | None, fn: Any, **kw: Any) -> Entry:
        t0 = time.perf_counter()
        try:
            with db.session_scope(engine) as s:
                res = fn(s)
            e = Entry(kind, actor.id, sample, True, time.perf_counter() - t0, result=res, **kw)  # type: ignore[arg-type]
        except StaleVersion as exc:
            e = Entry(
                kind,
                actor.id,
                sample,
                False,
                time.perf_counter() - t0,  # type: ignore[arg-type]
                error=f"StaleVersion: {exc} (now v{exc.current_version})",
                **kw,
            )
        except Exception as exc:  # anything else is a failure the verification reports
            e = Entry(
                kind,
                actor.id,
                sample,
                False,
                time.perf_counter() - t0,  # type: ignore[arg-type]
                error=f"{type(exc).__name__}: {exc}",
                **kw,
            )
        record(e)
        return e

    def view(actor: Actor, sid: int) -> tuple[int, list[int]] | None:
        e = act(
            "view",
            actor,
            sid,
            lambda s: (
                s.scalar(select(Sample.version).where(Sample.id == sid)),
                list(s.scalars(select(Turn.id).where(Turn.sample_id == sid).order_by(Turn.idx))),
            ),
        )
        return e.result if e.ok else None

    def annotator(actor: Actor, idx: int) -> None:
        rng = random.Random(seed * 1000 + idx)
        ds = queue_ds[idx % len(queue_ds)]
        seq = 0
        flags_now: dict[int, frozenset[str]] = {}
        start_gate.wait()
        # the collision: everyone holds the same version of one hot sample, then all save
        seen0 = view(actor, hot_ids[0])
        collide_gate.wait()
        if seen0 is not None:
            txt0 = f"수정 {actor.username} #0 충돌"
            act(
                "edit",
                actor,
                hot_ids[0],
                lambda s: review.save_edit(s, actor, hot_ids[0], seen0[1][0], txt0, seen0[0]),
                turn=seen0[1][0],
                value=txt0,
                expected=seen0[0],
            )
        while (
            (seq < rounds)
            if rounds is not None
            else (time.perf_counter() < deadline[0] and counter[0] < max_actions)
        ):
            seq += 1
            if rng.random() < 0.25:  # contention: everyone edits the same few samples
                sid = rng.choice(hot_ids)
            else:
                e = act("next", actor, None, lambda s: review.next_sample(s, actor, ds))
                if not e.ok or e.result is None:
                    sid = rng.choice(hot_ids)
                else:
                    sid = e.result
                    e.sample = sid
            seen = view(actor, sid)
            if seen is None:
                continue
            version, turn_ids = seen
            if sid in hot_ids:
                time.sleep(rng.uniform(0, 0.004))  # reading the text: others may save meanwhile
            for _ in range(rng.choice((1, 1, 2))):
                tid = rng.choice(turn_ids)
                txt = f"수정 {actor.username} #{seq}.{rng.randrange(10**9)} \u200b'; --"
                e = act(
                    "edit",
                    actor,
                    sid,
                    lambda s, sid=sid, tid=tid, txt=txt, v=version: review.save_edit(
                        s, actor, sid, tid, txt, v
                    ),
                    turn=tid,
                    value=txt,
                    expected=version,
                )
                if not e.ok:
                    break
                version = e.result
            else:
                if rng.random() < 0.4:
                    old = flags_now.get(sid, frozenset())
                    new = frozenset(rng.sample(FLAG_CHOICES, rng.choice((1, 2))))
                    if new == old:
                        new = frozenset() if old else frozenset({"other"})
                    e = act(
                        "flags",
                        actor,
                        sid,
                        lambda s, sid=sid, new=new, v=version: review.set_flags(
                            s, actor, sid, {c: f"note {c}" for c in new}, v
                        ),
                        value=new,
                        expected=version,
                    )
                    if e.ok:
                        flags_now[sid] = new
                        version = e.result
                if sid not in hot_ids:
                    d = rng.choice(DECISIONS)
                    act(
                        "decide",
                        actor,
                        sid,
                        lambda s, sid=sid, d=d, v=version: review.decide(
                            s, actor, sid, d, expected_version=v, seconds=1.0
                        ),
                        value=d,
                        expected=version,
                    )

    workers = [
        threading.Thread(target=annotator, args=(a, i), daemon=True)
        for i, a in enumerate(annotators)
    ]
    for w in workers:
        w.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    start_gate.wait()
    for w in workers:
        w.join(timeout=(seconds if rounds is None else 0) + 600)
    result.seconds = time.perf_counter() - t0
    if any(w.is_alive() for w in workers):
        raise RuntimeError("annotator threads did not stop in time (a hang)")
    return result


def verify(engine: Engine, res: LoadResult) -> list[str]:
    """Check the database against the ledger; returns the problems found (empty: all good)."""
    problems: list[str] = []
    fails = [e for e in res.entries if not e.ok and not (e.error or "").startswith("StaleVersion")]
    for e in fails[:10]:
        problems.append(
            f"{e.kind} by user {e.user} on sample {e.sample} failed without a reason a person can"
            f" act on: {e.error}"
        )
    if len(fails) > 10:
        problems.append(f"… {len(fails) - 10} more failures")
    locked = [e for e in res.entries if "locked" in (e.error or "").lower()]
    if locked:
        problems.append(f"{len(locked)} actions saw 'database is locked'")
    stale = [e for e in res.entries if (e.error or "").startswith("StaleVersion")]
    if any("(now v" not in (e.error or "") for e in stale):
        problems.append("a StaleVersion refusal did not carry the current version")

    acked = [e for e in res.entries if e.ok]
    edits_ok = [e for e in acked if e.kind == "edit"]
    with Session(engine) as s:
        rows = s.execute(
            select(
                Edit.id, Edit.sample_id, Edit.turn_id, Edit.user_id, Edit.after, Edit.sample_version
            ).where(Edit.id > res.base_edit_id)
        ).all()
        got = Counter((r.sample_id, r.turn_id, r.user_id, r.after) for r in rows)
        want = Counter((e.sample, e.turn, e.user, e.value) for e in edits_ok)
        lost = want - got
        extra = got - want
        if lost:
            problems.append(
                f"{sum(lost.values())} acknowledged edits are not in the database (lost writes)"
            )
        if extra:
            problems.append(
                f"{sum(extra.values())} edits are in the database that nobody was told of"
            )
        dup = [k for k, n in got.items() if n > 1]
        if dup:
            problems.append(f"{len(dup)} edits were written twice")
        vers = Counter((r.sample_id, r.sample_version) for r in rows)
        if any(n > 1 for n in vers.values()):
            problems.append("two edits of one sample carry the same version (lost update)")

        # versions: each acknowledged bump moved the version by one, no version given twice
        bumps: Counter[int] = Counter()
        given: dict[int, list[int]] = defaultdict(list)
        for e in acked:
            if e.kind in ("edit", "flags") and e.result != e.expected:
                bumps[e.sample] += 1  # type: ignore[index]
                given[e.sample].append(e.result)  # type: ignore[index]
            elif e.kind == "decide":
                bumps[e.sample] += 1  # type: ignore[index]
        touched = list(bumps)
        final = (
            dict(s.execute(select(Sample.id, Sample.version).where(Sample.id.in_(touched))).all())
            if touched
            else {}
        )
        for sid, n in bumps.items():
            if final.get(sid, 0) - res.initial_versions.get(sid, 1) != n:
                problems.append(
                    f"sample {sid}: version moved"
                    f" {final.get(sid, 0) - res.initial_versions.get(sid, 1)} times but {n} writes"
                    " were acknowledged"
                )
        for sid, vs in given.items():
            if len(vs) != len(set(vs)):
                problems.append(f"sample {sid}: one version was acknowledged to two writers")

        # each turn holds its last acknowledged edit
        last: dict[int, Entry] = {}
        for e in edits_ok:
            if e.turn not in last or e.result > last[e.turn].result:  # type: ignore[index,operator]
                last[e.turn] = e  # type: ignore[index]
        if last:
            texts = dict(s.execute(select(Turn.id, Turn.text).where(Turn.id.in_(list(last)))).all())
            wrong = [t for t, e in last.items() if texts.get(t) != e.value]
            if wrong:
                problems.append(f"{len(wrong)} turns do not hold their last acknowledged edit")

        # each person's flags are their last acknowledged set
        last_flags: dict[tuple[int, int], Entry] = {}
        for e in acked:
            if e.kind == "flags":
                k = (e.sample, e.user)
                if k not in last_flags or e.result > last_flags[k].result:  # type: ignore[operator]
                    last_flags[k] = e  # type: ignore[index]
        if last_flags:
            have: dict[tuple[int, int], set[str]] = defaultdict(set)
            sids = sorted({k[0] for k in last_flags})
            for sid, uid, cat in s.execute(
                select(Flag.sample_id, Flag.user_id, Flag.category).where(
                    Flag.sample_id.in_(sids), Flag.origin == "annotator"
                )
            ):
                have[(sid, uid)].add(cat)
            bad = [k for k, e in last_flags.items() if have.get(k, set()) != set(e.value)]
            if bad:
                problems.append(f"{len(bad)} people's flags are not their last acknowledged set")

        # decisions: one Review row each; the status follows the last one
        reviews = Counter(
            s.execute(
                select(Review.sample_id, Review.user_id, Review.decision).where(
                    Review.id > res.base_review_id
                )
            ).all()
        )
        want_rev = Counter((e.sample, e.user, e.value) for e in acked if e.kind == "decide")
        if reviews != want_rev:
            problems.append(
                f"reviews: {sum((want_rev - reviews).values())} acknowledged decisions missing, "
                f"{sum((reviews - want_rev).values())} unacknowledged present"
            )
        last_dec: dict[int, Entry] = {}
        for e in acked:
            if e.kind == "decide":
                last_dec[e.sample] = e  # type: ignore[index]  # (one decider per sample: overlap 1)
        if last_dec:
            status = dict(
                s.execute(
                    select(Sample.id, Sample.status).where(Sample.id.in_(list(last_dec)))
                ).all()
            )
            wrong = [
                sid for sid, e in last_dec.items() if status.get(sid) != DECISION_STATUS[e.value]
            ]
            if wrong:
                problems.append(
                    f"{len(wrong)} samples' status is not their last acknowledged decision"
                )

        # no sample handed to two annotators (overlap 1)
        holders: dict[int, set[int]] = defaultdict(set)
        for e in acked:
            if e.kind == "next" and e.result is not None:
                holders[e.result].add(e.user)
        shared = [sid for sid, us in holders.items() if len(us) > 1]
        if shared:
            problems.append(
                f"{len(shared)} samples were handed to two annotators at once, e.g. {shared[:3]}"
            )
        done_claims = (
            s.scalar(select(func.count()).select_from(Claim).where(Claim.done.is_(True))) or 0
        )
        if done_claims < len(want_rev):
            problems.append("a decided sample's claim is not marked done")
    return problems


def naive_sqlite_engine(path: Path) -> Engine:
    """SQLite as create_engine opens it by default: the baseline (no WAL, deferred BEGIN, 5 s
    timeout)."""
    return create_engine(f"sqlite:///{path}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=20)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument(
        "--pg", help="PostgreSQL server URL (a database kc_load_<pid> is created there and dropped)"
    )
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # baseline first: naive SQLite
        base_path = Path(tmp) / "naive.db"
        info = prepare(f"sqlite:///{base_path}", args.samples)
        eng = naive_sqlite_engine(base_path)
        res = run_load(
            eng, info, threads=args.threads, seconds=args.seconds, backend="sqlite-naive (baseline)"
        )
        out.append({**res.figures(), "problems": verify(eng, res)})
        eng.dispose()
        # kocurate's SQLite engine
        path = Path(tmp) / "load.db"
        url = f"sqlite:///{path}"
        info = prepare(url, args.samples)
        eng = db.make_engine(url)
        res = run_load(
            eng, info, threads=args.threads, seconds=args.seconds, backend="sqlite (kocurate)"
        )
        out.append({**res.figures(), "problems": verify(eng, res)})
        eng.dispose()
    if args.pg:
        import os

        from sqlalchemy import text

        name = f"kc_load_{os.getpid()}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = f"{args.pg.rpartition('/')[0]}/{name}"
            info = prepare(url, args.samples)
            eng = db.make_engine(url)
            res = run_load(
                eng,
                info,
                threads=args.threads,
                seconds=args.seconds,
                backend="postgresql (kocurate)",
            )
            out.append({**res.figures(), "problems": verify(eng, res)})
            eng.dispose()
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    print(f"{args.threads} annotators, {args.seconds:.0f} s each run, {args.samples:,} samples")
    print(
        f"{'backend':<26} {'actions/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'acked':>7}"
        f" {'stale':>6} {'failed':>6} {'locked':>6}  lost/duplicated writes"
    )
    for f in out:
        print(
            f"{f['backend']:<26} {f['actions_per_s']:>9} {f.get('p50_ms', 0):>7}"
            f" {f.get('p95_ms', 0):>7} "
            f"{f.get('p99_ms', 0):>7} {f['acknowledged']:>7} {f['refused_stale']:>6}"
            f" {f['failed']:>6} "
            f"{f['locked']:>6} "
            + " "
            + (
                "none"
                if not f["problems"]
                else "; ".join(p.splitlines()[0][:150] for p in f["problems"][:3])
            )
        )
    for f in out:
        print(
            f"  {f['backend']}: "
            + ", ".join(
                f"{k} n={v['n']} p95={v.get('p95_ms')} ms" for k, v in f["per_action"].items()
            )
        )


if __name__ == "__main__":
    main()
