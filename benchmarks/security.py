"""Security costs: login answer times (known vs unknown users), the per-request session check, and
the memory a gzip bomb takes to refuse.

Figures, each beside a named baseline measured in the same run:

- login: median seconds of a failed login for a known and for an unknown user name. Baseline "old
  login": the previous code path (unknown users hashed a new password and then verified: two scrypt
  runs, known users one), reproduced here with the same scrypt settings. The gap is what an
  attacker could use to find out which user names exist.
- session check: microseconds per request for ``users.session_state`` (cached a few seconds), beside
  "uncached": the same read straight from the database on every request.
- gzip bomb: peak Python memory (tracemalloc) while ``iter_records`` refuses a small gzip file that
  expands to ``--bomb-mb`` MB, beside "naive": ``gzip.open(...).readline()`` of the same file.

    python benchmarks/security.py [--tries 15] [--bomb-mb 300]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from kocurate import db  # noqa: E402
from kocurate.errors import AuthError, ImportFailed  # noqa: E402
from kocurate.importers.readers import iter_records  # noqa: E402
from kocurate.models import User  # noqa: E402
from kocurate.services import users as user_service  # noqa: E402
from kocurate.services.auth import SYSTEM, hash_password, verify_password  # noqa: E402


def _median(fn, tries: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(tries):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def login_figures(engine, tries: int) -> None:  # type: ignore[no-untyped-def]
    def attempt(name: str, i: list[int]) -> None:
        i[0] += 1
        with Session(engine) as s:
            try:  # a new client address each time: the throttle is not what is measured here
                user_service.authenticate(
                    s, name, "wrong-password", client=f"198.51.{i[0] // 250}.{i[0] % 250}"
                )
            except AuthError:
                pass

    # the throttle would answer most of these tries without a password check: measure the check
    # itself
    user_service.FREE_PER_NAME = user_service.FREE_PER_CLIENT = user_service.GLOBAL_PER_MINUTE = (
        10**9
    )
    counter = [0]
    times: dict[str, list[float]] = {"bench-user": [], "nobody-here": []}
    for i in range(
        tries
    ):  # interleaved, the order alternating: drift in machine load hits both alike
        for name in ("bench-user", "nobody-here") if i % 2 else ("nobody-here", "bench-user"):
            t0 = time.perf_counter()
            attempt(name, counter)
            times[name].append(time.perf_counter() - t0)
    known, unknown = statistics.median(times["bench-user"]), statistics.median(times["nobody-here"])

    with Session(engine) as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "bench-user")) or ""

    def old(name_known: bool) -> None:  # the previous authenticate(): the cost part only
        if name_known:
            verify_password("wrong-password", stored)
        else:
            verify_password("wrong-password", hash_password("x"))

    old_known = _median(lambda: old(True), tries)
    old_unknown = _median(lambda: old(False), tries)
    print(f"login (failed), median of {tries}:")
    print(
        f"  kocurate     known {known * 1000:7.1f} ms   unknown {unknown * 1000:7.1f} ms   "
        f"gap {abs(unknown - known) * 1000:6.1f} ms"
    )
    print(
        f"  old login    known {old_known * 1000:7.1f} ms   unknown {old_unknown * 1000:7.1f} ms   "
        f"gap {abs(old_unknown - old_known) * 1000:6.1f} ms"
    )


def session_figures(engine, n: int = 2000) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        uid = s.scalar(select(User.id).where(User.username == "bench-user"))

    def factory() -> Session:
        return db.session_scope(engine)  # type: ignore[return-value]

    user_service.forget_cached()
    t0 = time.perf_counter()
    for _ in range(n):
        user_service.session_state(factory, uid)
    cached = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        with db.session_scope(engine) as s:
            s.execute(
                select(
                    User.username,
                    User.role,
                    User.active,
                    User.session_generation,
                    User.password_hash,
                ).where(User.id == uid)
            ).first()
    uncached = (time.perf_counter() - t0) / n
    print(f"session check per request ({n} requests):")
    print(f"  kocurate (cached {user_service.check_seconds():g} s)  {cached * 1e6:8.1f} µs")
    print(f"  uncached (database every request)  {uncached * 1e6:8.1f} µs")


def bomb_figures(folder: Path, mb: int) -> None:
    bomb = folder / "bomb.jsonl.gz"
    block = b"a" * (1 << 20)
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b'{"instruction": "')
        for _ in range(mb):
            fh.write(block)
        fh.write(b'", "output": "x"}\n')
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        list(iter_records(bomb))
        said = "accepted (!)"
    except ImportFailed as exc:
        said = str(exc).split(": ", 1)[-1][:60]
    ours = tracemalloc.get_traced_memory()[1], time.perf_counter() - t0
    tracemalloc.stop()
    tracemalloc.start()
    t0 = time.perf_counter()
    with gzip.open(bomb, "rb") as fh:
        fh.readline()
    naive = tracemalloc.get_traced_memory()[1], time.perf_counter() - t0
    tracemalloc.stop()
    print(f"gzip bomb: {bomb.stat().st_size / 1024:.0f} KB expanding to {mb} MB:")
    print(f"  kocurate  peak {ours[0] / 2**20:8.1f} MB in {ours[1]:5.2f} s  ({said}…)")
    print(
        f"  naive     peak {naive[0] / 2**20:8.1f} MB in {naive[1]:5.2f} s  (gzip readline of the"
        " whole line)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=15)
    ap.add_argument("--bomb-mb", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        with db.session_scope(engine) as s:
            user_service.create_user(s, SYSTEM, "bench-user", "annotator", "bench-user-pw")
        login_figures(engine, args.tries)
        session_figures(engine)
        engine.dispose()
        bomb_figures(Path(tmp), args.bomb_mb)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
