"""Benchmark: what the sidebar's inbox count and the comment queues cost per request.

    python benchmarks/guidance.py [--users 50] [--comments 6000] [--db URL]

Builds a database (SQLite file by default) with the demo KoAlpaca set, ``--comments`` comment
threads on its samples and one inbox item per (user, comment) — users × comments rows (300k by
default), half of them read. Then times, per call (median of 200, fresh session each time as a page
does):

- ``unread_count`` (the sidebar's COUNT on ix_inbox_user_unread) — the figure that matters: the page
  keeps it for INBOX_TTL_S seconds per browser session, so at most one call per 5 s;
- the first inbox page (30 unread), the open-questions page (30 threads, keyset), a sample's
threads;

beside the named baseline ``session + user row`` (the one-row primary-key read every rerun already
does to re-check the login, ``users.session_state`` on a cache miss), same run, same database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kocurate import db  # noqa: E402
from kocurate.demo import HERE  # noqa: E402
from kocurate.ingest import import_files  # noqa: E402
from kocurate.models import Comment, InboxItem, Sample, User, utcnow  # noqa: E402
from kocurate.services import comments as cm  # noqa: E402
from kocurate.services import users as user_service  # noqa: E402
from kocurate.services.auth import SYSTEM, hash_password  # noqa: E402


def build(url: str, n_users: int, n_comments: int) -> None:
    db.upgrade(url)
    engine = db.get_engine(url)
    rep = import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="bench"
    )
    pw = hash_password("bench-password")
    with db.session_scope(engine) as s:
        s.execute(
            insert(User),
            [
                {
                    "username": f"u{i}",
                    "password_hash": pw,
                    "role": "lead" if i == 0 else "annotator",
                    "active": True,
                    "failed_logins": 0,
                    "created_at": utcnow(),
                }
                for i in range(n_users)
            ],
        )
        sids = list(s.scalars(select(Sample.id).where(Sample.dataset_id == rep.dataset_id)))
        now = utcnow()
        s.execute(
            insert(Comment),
            [
                {
                    "sample_id": sids[i % len(sids)],
                    "dataset_id": rep.dataset_id,
                    "turn_idx": None,
                    "parent_id": None,
                    "author_id": None,
                    "author_name": "cli",
                    "body": f"question {i} @u0",
                    "mentions": ["u0"],
                    "is_open": i % 3 != 0,
                    "created_at": now,
                }
                for i in range(n_comments)
            ],
        )
        uids = list(s.scalars(select(User.id).where(User.username.like("u%"))))
        cids = list(s.scalars(select(Comment.id)))
    rows = [
        {
            "user_id": u,
            "comment_id": c,
            "sample_id": sids[k % len(sids)],
            "kind": "mention",
            "unread": not k % 2,
            "read_at": now if k % 2 else None,
            "created_at": now,
        }
        for u in uids
        for k, c in enumerate(cids)
    ]
    with db.session_scope(engine) as s:
        for i in range(0, len(rows), 50_000):
            s.execute(insert(InboxItem), rows[i : i + 50_000])
    if url.startswith("postgresql"):
        with engine.begin() as c:
            c.execute(text("ANALYZE"))


def timed(fn: Callable[[], object], n: int = 200) -> float:
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--comments", type=int, default=6000)
    ap.add_argument(
        "--db", default=None, help="an empty database URL (default: a temporary SQLite file)"
    )
    a = ap.parse_args()
    url = a.db or f"sqlite:///{tempfile.mkdtemp(prefix='kc-guide-')}/bench.db"
    t0 = time.perf_counter()
    build(url, a.users, a.comments)
    engine = db.get_engine(url)
    print(
        f"database: {url.split('://')[0]}, {a.users} users × {a.comments:,} comments = "
        f"{a.users * a.comments:,} inbox items, built in {time.perf_counter() - t0:.1f} s"
    )
    with db.session_scope(engine) as s:
        lead = user_service.actor_of(s.scalar(select(User).where(User.username == "u0")))
        sid = s.scalar(select(Comment.sample_id))
        if url.startswith("sqlite"):
            plan = s.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT count(*) FROM inbox_items "
                    "WHERE user_id = :u AND unread = 1"
                ),
                {"u": lead.id},
            ).all()
            print("plan of the count:", " | ".join(str(r[-1]) for r in plan))
        else:
            for label, sql in (
                ("count", "SELECT count(*) FROM inbox_items WHERE user_id = :u AND unread"),
                (
                    "inbox page",
                    (
                        "SELECT id FROM inbox_items WHERE user_id = :u AND unread "
                        "ORDER BY id DESC LIMIT 30"
                    ),
                ),
            ):
                plan = s.execute(text("EXPLAIN " + sql), {"u": lead.id}).scalars().all()
                print(
                    f"plan of the {label}:",
                    plan[0].strip(),
                    "|",
                    (plan[1].strip() if len(plan) > 1 else ""),
                )
        n_unread = cm.unread_count(s, lead)

    def session_call(fn: Callable[..., object]) -> Callable[[], object]:
        def run() -> object:
            with db.session_scope(engine) as s:
                return fn(s)

        return run

    base = timed(
        session_call(
            lambda s: s.execute(
                select(
                    User.username,
                    User.role,
                    User.active,
                    User.session_generation,
                    User.password_hash,
                ).where(User.id == lead.id)
            ).first()
        )
    )
    rows = [
        ("baseline: session + user row (every rerun's login re-check)", base),
        (
            f"unread_count ({n_unread:,} unread of {a.comments:,})",
            timed(session_call(lambda s: cm.unread_count(s, lead))),
        ),
        (
            "inbox page: 30 unread",
            timed(session_call(lambda s: cm.inbox(s, lead, unread=True, limit=30)), 50),
        ),
        (
            "open questions: first 30",
            timed(session_call(lambda s: cm.open_threads(s, SYSTEM, limit=30)), 50),
        ),
        ("a sample's threads", timed(session_call(lambda s: cm.threads(s, lead, sid)), 50)),
    ]
    for name, ms in rows:
        print(f"  {name:<62} {ms:8.2f} ms")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
