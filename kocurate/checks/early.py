"""The cheap checks of an import, run on its rows while the import goes on.

A SQLite import parses, aligns and copies on one core (about 90 s at 700k samples); the cheap checks
used to start after it and took about 50 s more on both cores. Here worker processes check the rows
as the importer prepares them, on the core the import leaves idle, and the findings are stored once
the import has committed and the samples have their ids.

What is stored is what ``runner.run_dataset`` stores after an import: the same checks, the same
batches (``runner.BATCH`` samples in import order), the length-ratio statistics of the same first
translated turns. A check whose ``prepare`` needs the database (other than the length ratio, whose
statistics are taken from the rows here) is left to the usual run after the import, and so is
everything when a worker fails: the import itself never depends on this.
"""

from __future__ import annotations

import multiprocessing
import os
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
    without_main_script,
)
from .translation import LengthRatio

EARLY_ID = -1  # the dataset id the workers' context uses: the dataset does not exist yet
START_AT = AUTO_MIN_SAMPLES  # below this many rows starting workers costs more than it saves
RATIO_WITHIN = 50_000  # samples within which the length-ratio statistics are taken
# the sample and turn columns the importer prepares (ingest._SAMPLE_COLS, ingest._TURN_COLS)
_KEY, _POSITION, _STATUS, _CONFIDENCE = 2, 3, 7, 8
Row = tuple[int, str, int, str, float | None, list[tuple[int, str, str, str | None, str | None]]]

_checks: dict[tuple[Any, ...], list[Check]] = {}  # per worker process: built once per import


def _check_group(
    names: tuple[str, ...], kind: str, ratio: tuple[float, float] | None, rows: list[Row]
) -> tuple[list[Finding], dict[str, float]]:
    """In a worker: one batch of rows checked (sample ids are the import's own 1..n)."""
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
    views = [
        SampleView(
            sid,
            EARLY_ID,
            [TurnView(i, role, text or "", src, sk) for i, role, text, src, sk in turns],
            1,
            skey,
            pos,
            status,
            conf,
            kind,
        )
        for sid, skey, pos, status, conf, turns in rows
    ]
    found: list[Finding] = []
    cpu: dict[str, float] = {}
    for c in checks:
        t = time.process_time()
        found.extend(c.run_batch(views))
        cpu[c.name] = time.process_time() - t
    return found, cpu


def _idle() -> None:
    """Nothing: starts a worker (see ``EarlyChecks._send_waiting``)."""


def needs_database(check: Check) -> bool:
    """Whether the check prepares from the database (the length ratio's statistics excepted)."""
    return type(check).prepare is not Check.prepare and not isinstance(check, LengthRatio)


class EarlyChecks:
    """Feed it the importer's batches (``tee``); after the import, ``store`` the findings."""

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
        self.workers = workers or max(1, min(os.cpu_count() or 1, AUTO_MAX_WORKERS))
        self.kind = ""
        self.ratio: tuple[float, float] | None = None
        self.ratio_rows: list[tuple[str, str]] = []
        self.want_ratio = any(isinstance(c, LengthRatio) for c in early)
        self.waiting: list[list[Row]] = []  # batches held until the ratio statistics are known
        self.group: list[Row] = []
        self.running: deque[Future[tuple[list[Finding], dict[str, float]]]] = deque()
        self.done: list[list[Finding]] = []
        self.cpu: dict[str, float] = {}
        self.n = 0
        self.failed: BaseException | None = None
        self.small = False
        self.ex: ProcessPoolExecutor | None = None
        self.start_at = start_at
        self.t0 = time.perf_counter()

    @property
    def usable(self) -> bool:
        """Every row was checked (nothing failed)."""
        return self.failed is None and not self.small and self.n > 0 and bool(self.names)

    def tee(self, batches: Iterator[Any], kind: str) -> Iterator[Any]:
        """The importer's batches, unchanged; each is also handed to the workers."""
        self.kind = kind
        for batch in batches:
            if self.failed is None and self.names:
                try:
                    self._feed(batch)
                except Exception as exc:  # noqa: BLE001 - the usual run after the import takes over
                    self._fail(exc)
            yield batch
        if self.failed is None and self.names:
            try:
                self._flush()
            except Exception as exc:  # noqa: BLE001
                self._fail(exc)

    def _feed(self, batch: Any) -> None:
        sample_rows, turn_rows = batch
        for srow, turns in zip(sample_rows, turn_rows, strict=True):
            self.n += 1
            kept = [(i, role, text, src, sk) for i, role, text, _mt, src, sk in turns]
            if self.want_ratio and self.ratio is None:
                self.ratio_rows.extend((t[2], t[3]) for t in kept if t[4] == "translation")
            self.group.append(
                (self.n, srow[_KEY], srow[_POSITION], srow[_STATUS], srow[_CONFIDENCE], kept)
            )
            if len(self.group) >= BATCH:
                self._submit(self.group)
                self.group = []

    def _flush(self) -> None:
        if self.group:
            self.waiting.append(self.group)
            self.group = []
        if self.n < self.start_at:  # a small import: the usual run (in this process) is quicker
            self.small = True
            self.waiting = []
            return
        self._send_waiting(final=True)

    def _submit(self, rows: list[Row]) -> None:
        self.waiting.append(rows)
        if self.ex is None and self.n < self.start_at:
            return
        self._send_waiting(final=False)

    def _send_waiting(self, *, final: bool) -> None:
        if self.want_ratio and self.ratio is None:
            if len(self.ratio_rows) < LengthRatio.SAMPLE and self.n < RATIO_WITHIN and not final:
                return
            # the statistics the run after an import reads: its first LengthRatio.SAMPLE
            # translated turns (here: of the first RATIO_WITHIN samples, so that rows are not
            # held back all import long where few turns are translated)
            self.ratio = LengthRatio.stats_of(self.ratio_rows[: LengthRatio.SAMPLE])
            self.ratio_rows = []
        waiting, self.waiting = self.waiting, []
        if self.ex is None:
            # fork is quickest, but a forked child inherits locks other threads held: in a threaded
            # server the workers come from a fresh forkserver instead (as runner._run_parallel).
            # A worker starts at a submit that finds no idle one: the first submits (one per
            # worker) are made here, or a forkserver child would re-run the page script that is
            # __main__ under Streamlit
            method = "fork" if threading.active_count() == 1 else "forkserver"
            with without_main_script():
                self.ex = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context(method)
                )
                first, waiting = waiting[: self.workers], waiting[self.workers :]
                self._send(first)
                for _ in range(self.workers - len(first)):
                    self.ex.submit(_idle)
        self._send(waiting)

    def _send(self, groups: list[list[Row]]) -> None:
        assert self.ex is not None
        for rows in groups:
            # at most two batches per worker in flight: the import waits rather than queue rows
            while len(self.running) >= 2 * self.workers:
                self._collect(self.running.popleft())
            self.running.append(
                self.ex.submit(_check_group, self.names, self.kind, self.ratio, rows)
            )

    def _collect(self, fut: Future[tuple[list[Finding], dict[str, float]]]) -> None:
        found, cpu = fut.result()
        self.done.append(found)
        for k, v in cpu.items():
            self.cpu[k] = self.cpu.get(k, 0.0) + v

    def _fail(self, exc: BaseException) -> None:
        self.failed = exc
        self.close()

    def wait(self) -> None:
        """Every batch checked (or the failure recorded)."""
        try:
            while self.running:
                self._collect(self.running.popleft())
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
            views = [SampleView(offset + i, dataset_id, []) for i in range(first, first + n)]
            for f in found:
                f.sample_id = offset + f.sample_id  # type: ignore[operator]
            with Session(engine) as s, s.begin():
                nf, nfl = _store(s, dataset_id, views, found, list(self.names), self.cats)
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
