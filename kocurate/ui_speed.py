"""Server-side timing of the web app's script runs, for ``benchmarks/ui.py`` (issue 11).

Off unless ``KOCURATE_TIMING_LOG`` names a file: then every timed run (a whole page run of
``app.py``, the Review page's fragment) appends one tab-separated line: end time (Unix seconds),
label, wall milliseconds, CPU milliseconds of the thread that ran it (and, under
``KOCURATE_TIMING_PROFILE``, a cProfile file per run in that folder). Streamlit runs each browser
session's script in a thread of its own, so the CPU figure holds however busy the machine is; the
benchmark sums the lines written during one click beside the time the browser saw.
"""

from __future__ import annotations

import functools
import gc
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

LOG_ENV = "KOCURATE_TIMING_LOG"
PROFILE_ENV = (  # a folder: also a cProfile file per timed run (where the time goes)
    "KOCURATE_TIMING_PROFILE"
)
_lock = threading.Lock()
F = TypeVar("F", bound=Callable[..., Any])


def enabled() -> bool:
    return bool(os.environ.get(LOG_ENV))


def _write(label: str, wall_s: float, cpu_s: float) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = f"{time.time():.6f}\t{label}\t{wall_s * 1000:.2f}\t{cpu_s * 1000:.2f}\n"
    with _lock, open(path, "a", encoding="utf-8") as fh:
        fh.write(line)


@contextmanager
def timed(label: str) -> Iterator[None]:
    """Time the block (also when it ends by st.rerun / st.stop, which raise)."""
    if not enabled():
        yield
        return
    folder = os.environ.get(PROFILE_ENV)
    prof = None
    if folder:
        import cProfile

        prof = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        if prof is not None:
            prof.enable()
        yield
    finally:
        if prof is not None:
            prof.disable()
        _write(label, time.perf_counter() - t0, time.thread_time() - c0)
        if prof is not None:
            prof.dump_stats(os.path.join(folder, f"{label}-{time.time():.6f}.prof"))


def timed_fn(label: str, fn: F) -> F:
    """``fn`` timed on every call (the same function when timing is off, so that nothing
    changes)."""
    if not enabled():
        return fn

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with timed(label):
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


# what the first page runs import: paid at server start in the background, not by the first login
# (the Review page's first run took 0.8 s CPU of imports, most of the 1.3 s login the issue
# measured)
WARM_MODULES = (
    "kocurate.ui",
    "kocurate.ui_llm",
    "kocurate.ui_curate",
    "kocurate.ui_gold",
    "kocurate.ui_guidance",
    "alembic.runtime.migration",
    "kocurate.services.review",
    "kocurate.services.drafts",
    "kocurate.services.datasets",
    "kocurate.services.search",
    "kocurate.services.stats",
    "kocurate.services.translate",
    "kocurate.checks",
    "pandas",
    "plotly.express",
)


# built once per process and kept: a save re-checks its sample, and the first check that needs the
# ethics word list or the Korean analyser (a lexicon word judged on its word boundaries) would
# otherwise pay for building it inside someone's click (measured: one Save of 974 ms at 200k)
WARM_CALLS = (
    ("kocurate.db", "head_revision"),  # the first page run checks the schema against it
    ("kocurate.checks.ethics.lexicon", "load_lexicon"),
    ("kocurate.checks.korean.analysis", "kiwi"),
    ("kocurate.ui_speed", "warm_charts"),
)


def warm_charts() -> None:
    """One small plotly express bar and line chart, serialized: plotly loads its validators on the
    first figure (0.2 s of the Dashboard's first visit at 700k samples)."""
    import pandas as pd
    import plotly.express as px

    df = pd.DataFrame({"x": ["a", "b"], "y": [1, 2], "c": ["k", "l"]})
    px.bar(df, x="x", y="y", color="c").to_json()
    px.line(df, x="x", y="y", color="c", markers=True).update_layout(title="t").to_json()


def warm_up() -> list[str]:
    """Import what the pages need and build the checks' word list and analyser; returns what could
    not be imported or built (never raises)."""
    missing = []
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional area not installed: its page says so itself
            missing.append(name)
    for module, fn in WARM_CALLS:
        try:
            getattr(importlib.import_module(module), fn)()
        except Exception:  # noqa: BLE001 - the check itself reports a broken install when it runs
            missing.append(f"{module}.{fn}")
    return missing


def freeze_heap() -> None:
    """Move every object alive now (the imported modules, the word lists, the analyser) out of
    the garbage collector's reach: they live as long as the server, and a full collection walked
    all of them (~90 ms with the GIL held on this 2-core machine). Called once, after the
    warm-up."""
    gc.collect()
    gc.freeze()


WARM_LABEL = "warm-up"  # its line in the timing log says the server is warm (benchmarks wait)


def warm_up_server() -> None:
    """The server's start: :func:`warm_up`, then :func:`freeze_heap` (timed as ``warm-up``)."""
    with timed(WARM_LABEL):
        warm_up()
        freeze_heap()


def read_log(path: str, offset: int = 0) -> tuple[list[tuple[float, str, float, float]], int]:
    """Lines written since ``offset`` (bytes) as (end time, label, wall ms, CPU ms), and the new
    offset."""
    try:
        with open(path, encoding="utf-8") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    complete = data[: data.rfind("\n") + 1]  # a line being written is read next time
    rows = []
    for line in complete.splitlines():
        at, label, wall, cpu = line.split("\t")
        rows.append((float(at), label, float(wall), float(cpu)))
    return rows, offset + len(complete.encode("utf-8"))
