"""Review page speed in a real browser: click → next sample fully rendered, p50/p95.

Starts ``kocurate serve`` twice per database — the Review page as shipped (sample view and action
bar in one ``st.fragment``) and the full-page-rerun baseline (``KOCURATE_REVIEW_FRAGMENTS=0``, the
same page without the fragment, as the page worked before) — and drives Debian chromium with
Playwright:

- login: click "Log in" → the Review page rendered (sidebar shows the user, script idle);
- Next, Approve & next: click → the heading shows another sample, its buttons are drawn, no stale
  element, Streamlit idle;
- Save: a changed Korean turn (typed and left before the clock starts) → the status line shows the
  next version, idle;
- search: the Search page, a query submitted → its first hit shown, idle;
- ``--dashboard``: the Dashboard as the lead, on the big database: click Dashboard in the sidebar →
  every chart and table drawn, idle. "first" is the first visit after the server started (nothing
  cached: every figure counted by the database), "again" a later visit (the page's one-minute cache
  of the figures). One server start per first visit.

Every server is measured once its warm-up (imports, the word lists, the Korean analyser: 2-3 s
idle, longer on a busy machine) has finished, as a running server has long before anyone logs in;
the warm-up's own time is printed. A login during the warm-up waits for what it imports.

Beside each browser figure, the server's own time for the same click: the script runs it caused
(the page run, or the Review page's fragment run), wall and CPU milliseconds of the thread that ran
them (``kocurate.ui_speed``, ``KOCURATE_TIMING_LOG``): the CPU figure holds however busy the machine
is, and browser minus server wall is transport and the browser's rendering. The framework's floor is
measured in the same run: a bare fragment with six text areas and a Next button
(``benchmarks/ui_floor_app.py``, no database), clicked the same way.

Databases: the bundled demo, and ``--n`` synthetic samples (``benchmarks/synth.py``, 200k by
default). Targets (issue 11, idle 2-core machine, 200k): Next / Approve & next p95 < 300 ms, Save
p95 < 250 ms, login < 1 s; with ``--busy N`` (N processes spinning beside it) no action above 1 s
p95. The load average is printed before and after: on a busy machine the
figures are not comparable with the targets, only with the baseline of the same run.

    python benchmarks/ui.py                      # demo + 200k, 20 clicks per action
    python benchmarks/ui.py --n 20000 --reps 10  # quicker
    python benchmarks/ui.py --skip-demo --n 200000
    python benchmarks/ui.py --busy 4             # four CPU-bound processes beside it
    python benchmarks/ui.py --skip-demo --big-url sqlite:////tmp/k.db --dashboard-only  # 700k: see
                                                           # benchmarks/dashboard.py --db /tmp/k.db
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select, update  # noqa: E402

from kocurate import db, ui_speed  # noqa: E402
from kocurate.models import Claim, Dataset, Review, Sample  # noqa: E402
from kocurate.testing import served  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000

# idle: no script running, nothing stale on screen
IDLE_JS = """() => {
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  return !document.querySelector('.stApp [data-stale="true"]');
}"""
SAMPLE_SHOWN_JS = """(prev) => {
  const h = [...document.querySelectorAll('h2')]
    .map(e => e.innerText.match(/^Sample (\\d+)/)).find(Boolean);
  if (!h || Number(h[1]) === prev) return false;
  const bar = document.querySelector('.st-key-rv-bar');
  if (!bar || !bar.innerText.includes('Approve & next')) return false;
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  return !document.querySelector('.stApp [data-stale="true"]');
}"""
VERSION_SHOWN_JS = """(v) => {
  const t = [...document.querySelectorAll('[data-testid="stText"]')]
    .some(e => e.innerText.includes(' · version ' + v + ' · '));
  if (!t) return false;
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  return !document.querySelector('.stApp [data-stale="true"]');
}"""
HIT_SHOWN_JS = """(label) => {
  const ok = [...document.querySelectorAll('a')].some(e => e.innerText.includes(label));
  if (!ok) return false;
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  return !document.querySelector('.stApp [data-stale="true"]');
}"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """Browser time of one action beside the server's time for it (the script runs logged
    meanwhile)."""

    def __init__(self, timing_log: str) -> None:
        self.log = timing_log
        self.offset = ui_speed.read_log(timing_log)[1]
        self.server: dict[str, list[tuple[float, float]]] = {}

    def __call__(self, action: str, page: Any, fn: Callable[[], Any]) -> float:
        self.offset = ui_speed.read_log(self.log, self.offset)[
            1
        ]  # runs before the click are not its own
        ms = timed(fn)
        page.wait_for_timeout(50)  # the run's own line is written as it ends
        rows, self.offset = ui_speed.read_log(self.log, self.offset)
        rows = [r for r in rows if r[1] != ui_speed.WARM_LABEL]
        self.server.setdefault(action, []).append(
            (sum(r[2] for r in rows), sum(r[3] for r in rows))
        )
        return ms


@contextmanager
def serve(url: str, fragments: bool, *, floor: bool = False) -> Iterator[tuple[str, str]]:
    """``kocurate --db URL serve`` (or the floor app under ``streamlit run``) in its own process
    group (stopped with everything it started); yields its address and its timing log."""
    port = free_port()
    timing = str(Path(tempfile.gettempdir()) / f"kocurate-ui-bench-{port}.timing")
    Path(timing).write_text("")
    env = {
        **os.environ,
        "KOCURATE_REVIEW_FRAGMENTS": "1" if fragments else "0",
        "KOCURATE_SECRET": "bench-secret",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PYTHONUNBUFFERED": "1",
        ui_speed.LOG_ENV: timing,
        "KOCURATE_DEFAULT_LANG": "en",
    }  # the waits below read English labels
    if (
        not floor
    ):  # the app as `kocurate serve` starts it (kocurate.testing.served, the e2e tests' helper)
        with served(
            url, Path(tempfile.mkdtemp(prefix="kocurate-ui-bench-")), env, timeout=120
        ) as app:
            yield app.base_url, timing
        return
    log = open(Path(tempfile.gettempdir()) / f"kocurate-ui-bench-{port}.log", "wb")  # noqa: SIM115
    cmd = (
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(HERE / "ui_floor_app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        if floor
        else [
            sys.executable,
            "-c",
            "from kocurate.cli import app; app()",
            "--db",
            url,
            "serve",
            "--port",
            str(port),
        ]
    )
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"kocurate serve did not start (log: {log.name})") from None
                time.sleep(0.3)
        yield base, timing
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def wait_warm(timing: str, timeout_s: float = 300) -> float:
    """Wait until the server's warm-up (imports, word lists, analyser) has finished, as it has
    long before anyone logs in to a running server; returns its wall milliseconds."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        rows, _ = ui_speed.read_log(timing)
        done = [r[2] for r in rows if r[1] == ui_speed.WARM_LABEL]
        if done:
            return done[0]
        time.sleep(0.2)
    raise TimeoutError(f"the server's warm-up did not finish within {timeout_s:.0f} s")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def wait_idle(page: Any) -> None:
    page.wait_for_timeout(100)
    page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS)


def shown_sample(page: Any) -> int:
    h = page.get_by_role("heading", name=re.compile(r"^Sample \d+")).first
    h.wait_for(timeout=TIMEOUT_MS)
    return int(h.inner_text().split()[1])


def shown_version(page: Any) -> int:
    line = page.get_by_test_id("stText").filter(has_text=" · version ").first.inner_text()
    return int(line.split(" · version ")[1].split()[0])


def reset_queue(url: str) -> None:
    """Give the first dataset's decided samples back to the queue (a tiny demo queue runs dry after
    a few Approve & next; both servers start from the same queue)."""
    engine = db.make_engine(url)
    try:
        with engine.begin() as c:
            first = c.execute(select(Dataset.id).order_by(Dataset.id).limit(1)).scalar()
            ids = select(Sample.id).where(Sample.dataset_id == first)
            c.execute(delete(Review).where(Review.sample_id.in_(ids)))
            c.execute(delete(Claim).where(Claim.sample_id.in_(ids)))
            c.execute(
                update(Sample)
                .where(Sample.dataset_id == first, Sample.status != "new")
                .values(status="new")
            )
    finally:
        engine.dispose()


def bar(page: Any, name: str) -> Any:
    return page.locator(".st-key-rv-bar").get_by_role(
        "button", name=re.compile("^" + re.escape(name))
    )


def measure_floor(browser: Any, base: str, clock: Clock, reps: int) -> dict[str, list[float]]:
    """The bare fragment: click Next → the next heading shown, idle (as for the Review page)."""
    out: dict[str, list[float]] = {"next": []}
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        page = ctx.new_page()
        page.goto(base + "/")
        shown_sample(page)
        wait_idle(page)
        for _ in range(reps):
            prev = shown_sample(page)
            out["next"].append(
                clock(
                    "next",
                    page,
                    lambda p=prev: (  # type: ignore[func-returns-value]
                        bar(page, "Next").click(),
                        page.wait_for_function(SAMPLE_SHOWN_JS, arg=p),
                    ),
                )
            )
    finally:
        ctx.close()
    return out


def measure(
    browser: Any,
    base: str,
    url: str,
    user: str,
    password: str,
    reps: int,
    queue: int,
    searches: list[tuple[str, str]],
    clock: Clock,
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        "login": [],
        "next": [],
        "approve_next": [],
        "save": [],
        "search": [],
    }
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        for _ in range(3):
            page = ctx.new_page()
            ctx.clear_cookies()
            page.goto(base + "/")
            page.get_by_role("textbox", name="User name").fill(user)
            page.get_by_role("textbox", name="Password").fill(password)
            wait_idle(page)
            out["login"].append(
                clock(
                    "login",
                    page,
                    lambda p=page: (  # type: ignore[func-returns-value]
                        p.get_by_role("button", name="Log in").click(),
                        p.get_by_test_id("stSidebar")
                        .get_by_text(f"{user} ·", exact=False)
                        .wait_for(),
                        p.get_by_role("button", name=re.compile("Start reviewing")).wait_for(),
                        p.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS),
                    ),
                )
            )
            if len(out["login"]) < 3:
                page.close()
        page.get_by_role("button", name=re.compile("Start reviewing")).click()
        shown_sample(page)
        wait_idle(page)
        for _ in range(reps):
            prev = shown_sample(page)
            out["next"].append(
                clock(
                    "next",
                    page,
                    lambda p=prev: (
                        bar(page, "Next").click(),  # type: ignore[func-returns-value]
                        page.wait_for_function(SAMPLE_SHOWN_JS, arg=p),
                    ),
                )
            )
        for i in range(reps):
            v = shown_version(page)
            page.get_by_role("textbox", name="Korean").first.fill(
                f"벤치마크 수정 {i} {time.time()}"
            )
            page.get_by_role(
                "heading", name=re.compile(r"^Sample")
            ).first.click()  # leave the field: a draft
            wait_idle(page)
            out["save"].append(
                clock(
                    "save",
                    page,
                    lambda v=v: (
                        bar(page, "Save").click(),  # type: ignore[func-returns-value]
                        page.wait_for_function(VERSION_SHOWN_JS, arg=v + 1),
                    ),
                )
            )
        for i in range(reps):
            if queue and i and i % max(1, queue - 2) == 0:
                reset_queue(url)
            prev = shown_sample(page)
            page.wait_for_timeout(
                750
            )  # the page ignores a decision sooner than 0.7 s after a sample opens
            out["approve_next"].append(
                clock(
                    "approve_next",
                    page,
                    lambda p=prev: (
                        bar(page, "Approve & next").click(),  # type: ignore[func-returns-value]
                        page.wait_for_function(SAMPLE_SHOWN_JS, arg=p),
                    ),
                )
            )
        if searches:
            page.get_by_test_id("stSidebarNav").get_by_text("Search").click()
            page.get_by_role("heading", name="Search").wait_for()
            wait_idle(page)
            box = page.get_by_role("textbox", name="Search Korean and English text")
            for i in range(reps):
                query, label = searches[i % len(searches)]
                box.fill(query)
                wait_idle(page)
                out["search"].append(
                    clock(
                        "search",
                        page,
                        lambda lb=label: (  # type: ignore[func-returns-value]
                            page.get_by_role("button", name="Search", exact=True).click(),
                            page.wait_for_function(HIT_SHOWN_JS, arg=lb),
                        ),
                    )
                )
    except Exception:
        shot = Path(tempfile.gettempdir()) / f"kocurate-ui-bench-{user}.png"
        for p in ctx.pages[-1:]:
            p.screenshot(path=str(shot), full_page=True)
        print(f"  failed; the page is in {shot}", file=sys.stderr)
        raise
    finally:
        ctx.close()
    return out


DASHBOARD_DRAWN_JS = """() => {
  const h = [...document.querySelectorAll('h2')].some(e => e.innerText.startsWith('Dashboard'));
  if (!h || document.querySelectorAll('[data-testid="stPlotlyChart"]').length === 0) return false;
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  if (document.querySelector('[data-testid="stSpinner"]')) return false;
  return !document.querySelector('.stApp [data-stale="true"]');
}"""


def measure_dashboard(
    browser: Any, url: str, user: str, password: str, starts: int, visits: int
) -> dict[str, list[float]]:
    """The lead opens the Dashboard: the first visit after a server start, then ``visits`` more."""
    out: dict[str, list[float]] = {"dashboard first": [], "dashboard again": []}
    for _ in range(starts):
        with serve(url, True) as (base, timing):
            wait_warm(timing)
            ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
            ctx.set_default_timeout(120_000)
            try:
                page = ctx.new_page()
                page.goto(base + "/")
                page.get_by_role("textbox", name="User name").fill(user)
                page.get_by_role("textbox", name="Password").fill(password)
                page.get_by_role("button", name="Log in").click()
                page.get_by_test_id("stSidebar").get_by_text(f"{user} ·", exact=False).wait_for()
                wait_idle(page)
                nav = page.get_by_test_id("stSidebarNav")
                for i in range(1 + visits):
                    if i:  # away and back: the page runs again from the top
                        nav.get_by_text("Review", exact=True).click()
                        page.get_by_role("heading", name="Review").first.wait_for()
                        wait_idle(page)
                    out["dashboard again" if i else "dashboard first"].append(
                        timed(
                            lambda p=page, n=nav: (  # type: ignore[func-returns-value]
                                n.get_by_text("Dashboard", exact=True).click(),
                                p.wait_for_function(DASHBOARD_DRAWN_JS, timeout=120_000),
                            )
                        )
                    )
            finally:
                ctx.close()
    return out


def search_plan(url: str) -> list[tuple[str, str]]:
    """Queries whose first hits differ, with the link label of that first hit (what 'shown'
    means)."""
    from kocurate.services import search
    from kocurate.services.auth import SYSTEM

    engine = db.make_engine(url)
    plan: list[tuple[str, str]] = []
    try:
        with db.session_scope(engine) as s:
            for q in ("고양이", "파이썬", "프랑스", "서울", "물고기", "Korean", "사람", "음식"):
                hits = search.search(s, SYSTEM, q, limit=1)
                label = f"Open sample {hits[0]['sample_id']} in review" if hits else None
                if label and all(label != lb for _, lb in plan):
                    plan.append((q, label))
    finally:
        engine.dispose()
    return plan[:4]


def first_dataset_size(url: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as c:
            first = c.execute(select(Dataset.id).order_by(Dataset.id).limit(1)).scalar()
            return len(c.execute(select(Sample.id).where(Sample.dataset_id == first)).all())
    finally:
        engine.dispose()


def _p(values: list[float]) -> str:
    return f"{statistics.median(values):5.0f} /{pct(values, 95):5.0f}" if values else "    - /    -"


BUSY = 0  # CPU-bound processes beside the run (--busy): the targets become "every action < 1 s"


@contextmanager
def busy_machine(n: int) -> Iterator[None]:
    """``n`` processes that spin on the CPU for as long as the block runs (a busy machine)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(0, n))]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def report(db_name: str, runs: dict[str, tuple[dict[str, list[float]], Clock]]) -> None:
    """p50 / p95 per action: browser (click → shown, idle), server wall and server CPU of that
    click."""
    targets = (
        {"next": 1000, "approve_next": 1000, "save": 1000, "search": 1000, "login": 1000}
        if BUSY
        else {"next": 300, "approve_next": 300, "save": 250, "login": 1000}
    )
    print(f"\n== {db_name}")
    print(
        "ms, p50 / p95     "
        + "".join(
            f"{name + ' browser':>18} {'server wall':>13} {'server CPU':>13}   " for name in runs
        )
        + "target p95"
    )
    for k in ("next", "approve_next", "save", "search", "login"):
        cells, n = "", 0
        for out, clock in runs.values():
            srv = clock.server.get(k, [])
            cells += (
                f"{_p(out.get(k, [])):>18} {_p([w for w, _c in srv]):>13}"
                f" {_p([c for _w, c in srv]):>13}   "
            )
            n = max(n, len(out.get(k, [])))
        if not n:
            continue
        ours = runs["fragment"][0].get(k) or []
        t = targets.get(k)
        verdict = (
            "" if t is None or not ours else f"< {t}: {'OK' if pct(ours, 95) < t else 'MISSED'}"
        )
        print(f"{k:<17}{cells}{verdict}  (n={n})")


def run_db(browser: Any, name: str, url: str, users: list[tuple[str, str]], reps: int) -> None:
    searches = search_plan(url)
    queue = first_dataset_size(url)
    runs: dict[str, tuple[dict[str, list[float]], Clock]] = {}
    # alternate the servers so that a change of machine load hits them alike
    for label, fragments, (user, pw) in (
        ("fragment", True, users[0]),
        ("baseline", False, users[1]),
    ):
        print(f"  {name}: {label} as {user}, load {loadavg()}", flush=True)
        reset_queue(url)
        with serve(url, fragments) as (base, timing):
            print(f"    server warm-up {wait_warm(timing):.0f} ms", flush=True)
            clock = Clock(timing)
            out = measure(
                browser, base, url, user, pw, reps, queue if queue < 5000 else 0, searches, clock
            )
        runs[label] = (out, clock)
        print(
            "    "
            + "  ".join(
                f"{k} p50 {statistics.median(v):.0f} p95 {pct(v, 95):.0f} ms"
                + (f" ({', '.join(f'{x:.0f}' for x in v)})" if len(v) <= 5 else "")
                for k, v in out.items()
                if v
            ),
            flush=True,
        )
    print(f"  floor (bare fragment, six text areas), load {loadavg()}", flush=True)
    with serve(url, True, floor=True) as (base, timing):
        clock = Clock(timing)
        runs["floor"] = (measure_floor(browser, base, clock, reps), clock)
    report(f"{name} (load average now {loadavg()})", runs)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--n",
        type=int,
        default=200_000,
        help="synthetic samples for the big database (default 200000)",
    )
    ap.add_argument(
        "--reps", type=int, default=20, help="clicks per action and server (default 20)"
    )
    ap.add_argument(
        "--dashboard",
        action="store_true",
        help="also the lead's Dashboard on the big database (first visit and later visits)",
    )
    ap.add_argument(
        "--dashboard-only",
        action="store_true",
        help="only the Dashboard on the big database (no review actions)",
    )
    ap.add_argument(
        "--dashboard-starts",
        type=int,
        default=3,
        help="server starts for the Dashboard's first visits (default 3)",
    )
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument(
        "--big-url",
        help=(
            "use this synth-made database (its first dataset's reviews are reset) "
            "instead of generating --n samples"
        ),
    )
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        help=(
            "run N CPU-bound processes beside the benchmark (a busy machine; the target is then"
            " every action < 1 s p95)"
        ),
    )
    args = ap.parse_args(argv)
    global BUSY
    BUSY = args.busy
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print(f"load average at start: {loadavg()}" + (f"; {BUSY} busy processes" if BUSY else ""))
    with (
        tempfile.TemporaryDirectory() as tmp,
        sync_playwright() as pw,
        busy_machine(BUSY),
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            if not args.skip_demo:
                from kocurate.demo import create_demo
                from kocurate.services import search

                url = f"sqlite:///{Path(tmp) / 'demo.db'}"
                create_demo(url)
                eng = db.make_engine(url)
                search.reindex(eng)
                eng.dispose()
                run_db(
                    browser,
                    "demo database",
                    url,
                    [("annotator", "annotator-demo-pw"), ("annotator2", "annotator2-demo-pw")],
                    args.reps,
                )
            if not args.skip_big:
                from benchmarks import synth
                from kocurate.services import search

                url = args.big_url or f"sqlite:///{Path(tmp) / 'big.db'}"
                if (
                    args.big_url
                ):  # made earlier by synth (e.g. benchmarks/dashboard.py --db): reused
                    eng = db.make_engine(url)
                    with eng.connect() as c:
                        n = c.scalar(select(func.count()).select_from(Sample)) or 0
                    eng.dispose()
                else:
                    t0 = time.perf_counter()
                    info = synth.populate(url, args.n)
                    eng = db.make_engine(url)
                    search.reindex(eng)
                    eng.dispose()
                    n = info["samples"]
                    print(
                        f"  synthetic database: {info['samples']:,} samples, {info['turns']:,}"
                        f" turns ({time.perf_counter() - t0:.0f} s)"
                    )
                if not args.dashboard_only:
                    run_db(
                        browser,
                        f"{n:,}-sample database",
                        url,
                        [("ann01", synth.PASSWORD), ("ann02", synth.PASSWORD)],
                        args.reps,
                    )
                if args.dashboard or args.dashboard_only:
                    print(f"  {n:,} samples: Dashboard as lead, load {loadavg()}", flush=True)
                    dash = measure_dashboard(
                        browser, url, "lead", synth.PASSWORD, args.dashboard_starts, 3
                    )
                    for k, v in dash.items():
                        target = " (target < 2000 at 700k)" if k == "dashboard first" else ""
                        print(
                            f"    {k}: p50 {statistics.median(v):.0f} max {max(v):.0f} ms"
                            f" (n={len(v)}){target}, load {loadavg()}",
                            flush=True,
                        )
        finally:
            browser.close()
    print(f"\nload average at the end: {loadavg()}")


if __name__ == "__main__":
    main()
