"""The Korean interface at 1280×800 in a real browser: a lead opens every page and no label is
clipped.

One served app (Korean by default) and one browser page for the whole module. On each page the test
looks at buttons, labels, tabs, pills, navigation links and chips: none may hold more text than it
shows (``scrollWidth > clientWidth``), and the page itself may not scroll sideways. The Review
page's reason pills must wrap onto a second row rather than run past their column. Screenshots of
every page are written to ``$KOCURATE_LAYOUT_SHOTS`` (default: the test's temporary folder) to look
at.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import (
    CHROMIUM,
    ROOT,
    AppServer,
    served,
    wait_for_login_cookie,
    wait_idle,
)

pytestmark = pytest.mark.e2e
VIEWPORT = {"width": 1280, "height": 800}
# the script run is over (the status widget shows neither "Running" nor its Stop button), the page
# has drawn its heading and nothing is stale
SETTLED = """() => { const w = document.querySelector('[data-testid="stStatusWidget"]');
  return !(w && /Running|Stop/.test(w.innerText))
    && document.querySelector('[data-testid="stMain"] [data-testid="stHeading"]') !== null
    && !document.querySelector('.stApp [data-stale="true"]'); }"""
UI_MS = 30_000

# controls whose text must fit; text areas, code and data frames scroll by design and are left out
CLIPPED_JS = """
() => {
  const roots = [document.querySelector('[data-testid="stMain"]'),
                 document.querySelector('[data-testid="stSidebar"]')];
  const sel = 'button, label, [role="tab"], [data-testid="stSidebarNav"] a, [data-baseweb="tag"], '
            + '[data-testid="stButtonGroup"] > div, [data-testid="stTabs"] [role="tablist"], '
            + '[data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], '
            + '[data-testid="stHeading"] *';
  const out = [];
  for (const root of roots) {
    if (!root) continue;
    for (const el of root.querySelectorAll(sel)) {
      for (const node of [el, ...el.querySelectorAll('*')]) {
        const r = node.getBoundingClientRect();
        if (!r.width || !r.height || !node.innerText || !node.innerText.trim()) continue;
        const scrolls = '[data-testid="stDataFrame"], [data-testid="stCode"], textarea, '
                      + '.stTextArea, .js-plotly-plot';
        if (node.closest(scrolls)) continue;
        if (node.scrollWidth > node.clientWidth + 1 && node.clientWidth > 0) {
          out.push({text: node.innerText.trim().slice(0, 60), tag: node.tagName,
                    testid: (node.closest('[data-testid]') || {}).dataset?.testid || '',
                    scroll: node.scrollWidth, client: node.clientWidth});
          break;
        }
      }
    }
  }
  const doc = document.scrollingElement || document.documentElement;
  const main = document.querySelector('[data-testid="stMain"]');
  const pageScroll = Math.max(doc.scrollWidth, main ? main.scrollWidth : 0);
  return {clipped: out, pageScroll: pageScroll, width: window.innerWidth};
}
"""


def _pages() -> list[tuple[str, str]]:
    """(url path, permission) of every page in app.py's PAGES, read without running the app."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "PAGES" for t in node.targets
        ):
            return [
                (
                    ast.literal_eval(item.elts[0]).removeprefix("pages/").removesuffix(".py"),
                    ast.literal_eval(item.elts[3]),
                )
                for item in node.value.elts
            ]
    raise AssertionError("app.py has no PAGES list")


@pytest.fixture(scope="module")
def korean_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate import db
    from kocurate.demo import create_demo
    from kocurate.services import search

    folder = tmp_path_factory.mktemp("layout")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    engine = db.make_engine(url)
    search.reindex(engine)
    engine.dispose()
    with served(
        url,
        folder,
        {"KOCURATE_DEFAULT_LANG": "ko", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        drop=("DEEPL_AUTH_KEY", "DEEPL_SERVER_URL"),
    ) as app:
        yield app


@pytest.fixture(scope="module")
def lead_page(korean_app: AppServer, browser: Any) -> Iterator[Any]:
    # the session's browser (conftest): a second sync Playwright would clash with its running loop
    ctx = browser.new_context(viewport=VIEWPORT, locale="ko-KR")
    ctx.set_default_timeout(UI_MS)
    page = ctx.new_page()
    page.goto(korean_app.base_url + "/")
    # the login page speaks Korean too
    page.get_by_role("textbox", name="사용자 이름").fill("lead")
    page.get_by_role("textbox", name="비밀번호").fill("lead-demo-pw")
    page.get_by_role("button", name="로그인").click()
    page.get_by_test_id("stSidebar").get_by_text("lead ·", exact=False).wait_for()
    wait_idle(page, UI_MS)
    wait_for_login_cookie(page)
    yield page
    ctx.close()


def _first_sample(app: AppServer) -> int:
    from sqlalchemy import select

    from kocurate import db
    from kocurate.models import Sample

    engine = db.make_engine(app.db_url)
    try:
        with db.session_scope(engine) as s:
            return int(s.scalar(select(Sample.id).order_by(Sample.id)))
    finally:
        engine.dispose()


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED, timeout=60_000)
    page.wait_for_timeout(500)  # fonts and late widgets (charts, pills) settle
    page.wait_for_function(SETTLED, timeout=60_000)


def _shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(
        os.environ.get("KOCURATE_LAYOUT_SHOTS") or tmp_path_factory.mktemp("layout-shots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_no_clipped_labels_at_1280x800(
    lead_page: Any, korean_app: AppServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from kocurate.services.auth import Actor

    lead = Actor(id=0, username="lead", role="lead")
    shots, problems, seen = _shots(tmp_path_factory), [], []
    # every page the lead may open, and the Review page with a sample (its action bar, pills and
    # tabs)
    paths = [p for p, perm in _pages() if lead.can(perm)] + [
        f"review?sample={_first_sample(korean_app)}"
    ]
    for path in paths:
        _open(lead_page, korean_app.url(path))
        lead_page.screenshot(path=str(shots / f"{path.replace('?', '-').replace('=', '-')}.png"))
        found = lead_page.evaluate(CLIPPED_JS)
        seen.append(path)
        problems += [
            f"{path}: {c['tag']} [{c['testid']}] {c['text']!r} ({c['scroll']}px in {c['client']}px)"
            for c in found["clipped"]
        ]
        if found["pageScroll"] > found["width"] + 1:
            problems.append(
                f"{path}: the page scrolls sideways ({found['pageScroll']}px in {found['width']}px)"
            )
    assert {"review", "dashboard", "checks", "export"} <= set(seen), seen
    assert not problems, "clipped at 1280×800 in Korean:\n" + "\n".join(problems)


def test_review_reason_pills_wrap(lead_page: Any, korean_app: AppServer) -> None:
    _open(lead_page, korean_app.url(f"review?sample={_first_sample(korean_app)}"))
    box = lead_page.locator(".st-key-rv-decision-reason")
    box.wait_for()
    pills = box.locator('[data-testid="stButtonGroup"] button')
    pills.nth(3).wait_for(timeout=60_000)  # the pills render after the container on a busy machine
    assert pills.count() >= 4
    column = box.locator('[data-testid="stColumn"]').first.bounding_box()
    tops = set()
    for i in range(pills.count()):
        b = pills.nth(i).bounding_box()
        assert b["x"] + b["width"] <= column["x"] + column["width"] + 1, (
            f"pill {i} runs past its column"
        )
        tops.add(round(b["y"]))
    # the reasons do not fit one row of a 3/5 column at 1280 px: they wrap (more than one row of
    # pills)
    assert len(tops) > 1 or pills.count() <= 3, tops
