"""The cheap checks of an import, run on its rows while the import goes on.

A SQLite import parses, aligns and copies on one core (about 95 s at 700k samples); the cheap checks
used to start after it and took about 50 s more on both cores. Here worker processes check the rows
while the import runs: the importer writes its prepared rows to a private spool file (``ingest``)
and commits it every few thousand samples; each committed batch is handed to a worker as an id range
of that file (no rows travel between processes, nothing waits on a queue), so the checking goes on
through the import's copy phase too. The findings are stored once the import has committed and the
samples have their ids.

What is stored is what ``runner.run_dataset`` stores after an import: the same checks, the same
batches (``runner.BATCH`` samples in import order), the length-ratio statistics of the same first
translated turns. A check whose ``prepare`` needs the database (other than the length ratio, whose
statistics are taken from the rows here) is left to the usual run after the import, and so is
everything when a worker fails: the import itself never depends on this.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .base import Check, Finding, RunContext, SampleView, TurnView, select_checks
from .runner import (
    AUTO_MAX_WORKERS,
    AUTO_MIN_SAMPLES,
    BATCH,
    RunSummary,
    _store,
    categories_of,
    freeze_worker_heap,
    without_main_script,
)
from .translation import LengthRatio

EARLY_ID = -1  # the dataset id the workers' context uses: the dataset does not exist yet
START_AT = AUTO_MIN_SAMPLES  # below this many rows starting workers costs more than it saves
RATIO_WITHIN = 50_000  # samples within which the length-ratio statistics are taken
Group = tuple[int, int, int, int]  # first and last import id, first and last turn rowid

_checks: dict[tuple[Any, ...], list[Check]] = {}  # per worker process: built once per import


def _check_spool(
    path: str, names: tuple[str, ...], kind: str, ratio: tuple[float, float] | None, g: Group
) -> tuple[list[Finding], dict[str, float]]:
    """In a worker: one committed batch of the spool file read and checked."""
    freeze_worker_heap()
    return _check_group(names, kind, ratio, _read_spool(path, g, kind))


def _read_spool(path: str, g: Group, kind: str) -> list[SampleView]:
    """One committed batch of the spool file's rows, as the checks see them (sample ids are the
    import's own 1..n)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        samples = con.execute(
            "SELECT id, key, position, align_status, align_confidence FROM s"
            " WHERE id BETWEEN ? AND ? ORDER BY id",
            (g[0], g[1]),
        ).fetchall()
        # turns went in in sample order: the batch's turns are one range of rowids
        turns = con.execute(
            "SELECT sample_id, idx, role, text, source_text, source_kind FROM t"
            " WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (g[2], g[3]),
        ).fetchall()
    finally:
        con.close()
    views = {
        sid: SampleView(sid, EARLY_ID, [], 1, key, pos, st, conf, kind)
        for sid, key, pos, st, conf in samples
    }
    for sid, idx, role, text, src, sk in turns:
        views[sid].turns.append(TurnView(idx, role, text or "", src, sk))
    return list(views.values())


def _check_group(
    names: tuple[str, ...], kind: str, ratio: tuple[float, float] | None, views: list[SampleView]
) -> tuple[list[Finding], dict[str, float]]:
    """One batch of samples checked."""
    key = (names, kind, ratio)
    checks = _checks.get(key)
    if checks is None:
        checks = select_checks(list(names))
        stats = {f"length_ratio:{EARLY_ID}": ratio} if ratio is not None else {}
        ctx = RunContext(session=None, dataset_id=EARLY_ID, dataset_kind=kind, stats=stats)
        for c in checks:
            c.prepare(ctx)
        _checks.clear()
        _checks[key] = checks
    found: list[Finding] = []
    cpu: dict[str, float] = {}
    for c in checks:
        t = time.process_time()
        found.extend(c.run_batch(views))
        cpu[c.name] = time.process_time() - t
    return found, cpu


def _yield_to_the_import() -> None:
    """A worker runs at a lower priority: the import (and its English reader) is what the person
    waits for, and the checking, a few seconds behind it, catches up while the rows are copied in
    (700k samples on 2 cores: the import slowed from 70 to 83 s when the three shared alike)."""
    try:
        os.nice(10)
    except OSError:  # not allowed here: the same priority as the import
        pass


def _idle() -> None:
    """Nothing: starts a worker (see ``EarlyChecks._hand_out``)."""


def needs_database(check: Check) -> bool:
    """Whether the check prepares from the database (the length ratio's statistics excepted)."""
    return type(check).prepare is not Check.prepare and not isinstance(check, LengthRatio)


class EarlyChecks:
    """Give it the importer's batches (``tee``) and the spool's commits (``committed``); after the
    import, ``store`` the findings."""

    def __init__(
        self,
        checks: list[Check] | None = None,
        *,
        workers: int | None = None,
        start_at: int = START_AT,
    ) -> None:
        checks = checks if checks is not None else select_checks(cheap_only=True)
        early = [c for c in checks if not needs_database(c)]
        self.names = tuple(c.name for c in early)
        self.later = [c.name for c in checks if needs_database(c)]  # for the usual run
        self.cats = set().union(*(categories_of(c) for c in early)) if early else set()
        # the import itself keeps one core busy: more workers than the cores left only take
        # turns with it (700k on 2 cores: 141 s with two workers)
        self.workers = workers or max(1, min((os.cpu_count() or 1) - 1, AUTO_MAX_WORKERS))
        self.kind = ""
        self.ratio: tuple[float, float] | None = None
        self.ratio_rows: list[tuple[str, str]] = []
        self.want_ratio = any(isinstance(c, LengthRatio) for c in early)
        self.groups: deque[Group] = deque()  # formed, not handed to a worker yet
        self.group_start: tuple[int, int] | None = None
        self.turns = 0  # turn rows (spool rowids) so far
        self.running: deque[tuple[Group, Future[tuple[list[Finding], dict[str, float]]]]] = deque()
        self.path = ""  # the spool file's path
        self.stolen = 0  # batches this process checked itself once the import was done
        self.done: list[list[Finding]] = []
        self.cpu: dict[str, float] = {}
        self.n = 0  # rows seen
        self.fed_all = False
        self.failed: BaseException | None = None
        self.small = False
        self.ex: ProcessPoolExecutor | None = None
        self.spool: Any = None  # the import's spool, kept until the workers are done with it
        self.start_at = start_at
        self.t0 = time.perf_counter()

    @property
    def usable(self) -> bool:
        """Every row was checked (nothing failed)."""
        return self.failed is None and not self.small and self.n > 0 and bool(self.names)

    @property
    def active(self) -> bool:
        return self.failed is None and bool(self.names)

    def tee(self, batches: Iterator[Any], kind: str) -> Iterator[Any]:
        """The importer's batches, unchanged; their rows are counted into batches for the workers
        (and the first translated turns kept for the length-ratio statistics)."""
        self.kind = kind
        for batch in batches:
            if self.active:
                self._feed(batch)
            yield batch
        if self.group_start is not None:
            self.groups.append((self.group_start[0], self.n, self.group_start[1], self.turns))
            self.group_start = None
        self.fed_all = True

    def _feed(self, batch: Any) -> None:
        for turns in batch[1]:
            self.n += 1
            if self.want_ratio and self.ratio is None and self.n <= RATIO_WITHIN:
                # (text, source) of the translated turns: ingest._TURN_COLS without the sample id
                self.ratio_rows.extend((t[2], t[4]) for t in turns if t[5] == "translation")
            if self.group_start is None:
                self.group_start = (self.n, self.turns + 1)
            self.turns += len(turns)
            if self.n - self.group_start[0] + 1 >= BATCH:
                self.groups.append((self.group_start[0], self.n, self.group_start[1], self.turns))
                self.group_start = None

    def committed(self, path: str, n: int) -> None:
        """The spool file at ``path`` holds the first ``n`` rows, committed: hand out what is
        ready."""
        if not self.active:
            return
        try:
            self._hand_out(path, n)
        except Exception as exc:  # noqa: BLE001 - the usual run after the import takes over
            self._fail(exc)

    def _hand_out(self, path: str, n: int) -> None:
        final = self.fed_all and n >= self.n
        if self.ex is None and n < self.start_at:
            if final:  # a small import: the usual run (in this process) is quicker
                self.small = True
            return
        if self.want_ratio and self.ratio is None:
            if len(self.ratio_rows) < LengthRatio.SAMPLE and n < RATIO_WITHIN and not final:
                return
            # the statistics the run after an import reads: its first LengthRatio.SAMPLE
            # translated turns (here: of the first RATIO_WITHIN samples, so that the checking does
            # not wait all import long where few turns are translated)
            self.ratio = LengthRatio.stats_of(self.ratio_rows[: LengthRatio.SAMPLE])
            self.ratio_rows = []
        ready: list[Group] = []
        while self.groups and self.groups[0][1] <= n:
            ready.append(self.groups.popleft())
        if not ready:
            return
        if self.ex is None:
            # fork is quickest, but a forked child inherits locks other threads held: in a threaded
            # server the workers come from a fresh forkserver instead (as runner._run_parallel).
            # A worker starts at a submit that finds no idle one: the first submits (one per
            # worker) are made here, or a forkserver child would re-run the page script that is
            # __main__ under Streamlit
            method = "fork" if threading.active_count() == 1 else "forkserver"
            with without_main_script():
                self.ex = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context(method),
                    initializer=_yield_to_the_import,
                )
                first, ready = ready[: self.workers], ready[self.workers :]
                self._send(path, first)
                for _ in range(self.workers - len(first)):
                    self.ex.submit(_idle)
        self._send(path, ready)

    def _send(self, path: str, groups: list[Group]) -> None:
        assert self.ex is not None
        self.path = path
        for g in groups:
            self.running.append(
                (g, self.ex.submit(_check_spool, path, self.names, self.kind, self.ratio, g))
            )

    def keep(self, spool: Any) -> bool:
        """Hold on to the import's spool while workers may read it (``close`` removes it); False
        when nobody needs it."""
        if self.ex is None:
            return False
        self.spool = spool
        return True

    def _collect(self, result: tuple[list[Finding], dict[str, float]]) -> None:
        found, cpu = result
        self.done.append(found)
        for k, v in cpu.items():
            self.cpu[k] = self.cpu.get(k, 0.0) + v

    def abandon(self) -> None:
        """Stop checking: the rows handed out are not the ones the import writes (it started
        again); the usual run after the import checks them."""
        self._fail(RuntimeError("the import started again"))

    def _fail(self, exc: BaseException) -> None:
        self.failed = exc
        self.close()

    def wait(self) -> None:
        """Every batch checked (or the failure recorded).

        The import is done, so this process has a core to spare too: while the workers go on from
        the first batch left, it checks the last ones that no worker has started yet itself
        (700k samples on 2 cores: 7.6 s of checking was left after the import, for one worker)."""
        try:
            items = list(self.running)
            self.running.clear()
            results: list[tuple[list[Finding], dict[str, float]] | None] = [None] * len(items)
            i, j = 0, len(items) - 1
            while i <= j:
                fut = items[i][1]
                if fut.done() or i == j:
                    results[i] = fut.result()
                    i += 1
                elif items[j][1].cancel():  # not started by a worker: checked here
                    views = _read_spool(self.path, items[j][0], self.kind)
                    results[j] = _check_group(self.names, self.kind, self.ratio, views)
                    self.stolen += 1
                    j -= 1
                elif items[j][1].done():
                    results[j] = items[j][1].result()
                    j -= 1
                else:  # the last one is running too: wait for the first
                    results[i] = fut.result()
                    i += 1
            for r in results:
                assert r is not None
                self._collect(r)
        except Exception as exc:  # noqa: BLE001 - a broken worker: the usual run takes over
            self._fail(exc)
        self.close()

    def store(self, engine: Engine, dataset_id: int, offset: int) -> RunSummary | None:
        """The findings stored on the imported samples (import id ``n`` is sample ``offset + n``);
        None when the usual run must do it instead."""
        self.wait()
        if not self.usable:
            return None
        summary = RunSummary(dataset_id, list(self.names), workers=self.workers)
        t = time.perf_counter()
        first = 1
        for found in self.done:
            n = min(BATCH, self.n - first + 1)
            ids = range(offset + first, offset + first + n)
            for f in found:
                f.sample_id = offset + f.sample_id  # type: ignore[operator]
            with Session(engine) as s, s.begin():
                nf, nfl = _store(s, dataset_id, ids, found, list(self.names), self.cats, fresh=True)
            summary.findings += nf
            summary.flags += nfl
            for f in found:
                summary.by_check[f.check] = summary.by_check.get(f.check, 0) + 1
            summary.samples += n
            first += n
        summary.seconds_store = time.perf_counter() - t
        summary.seconds_by_check = dict(self.cpu)
        summary.cpu_seconds = sum(self.cpu.values())
        summary.seconds = time.perf_counter() - self.t0
        self.done = []
        return summary

    def close(self) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=True)
            self.ex = None
        self.running.clear()
        if self.spool is not None:
            self.spool.close()
            self.spool = None
