"""Issue 21 A in a real browser, on its own app and demo database (with the shipped guidelines): an
annotator confirms and searches the guidelines panel on the Review page, comments on a sample with
@lead; the lead (a second browser context) sees the unread count in the sidebar, opens the comment
from the inbox and resolves the thread."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import CHROMIUM, AppServer, do_login, served, wait_idle
from playwright.sync_api import expect
from sqlalchemy import select

from kocurate import db
from kocurate.models import Comment, Dataset, GuidelineRead, InboxItem, Sample, User

pytestmark = pytest.mark.e2e
SLOW_MS = 40_000  # a cold page load on a busy 2-core machine


@pytest.fixture(scope="module")
def guide_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate.demo import create_demo

    folder = tmp_path_factory.mktemp("guidance")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    with served(url, folder, drop=("DEEPL_AUTH_KEY",)) as app:
        yield app


def q(app: AppServer, stmt: Any) -> list[Any]:
    engine = db.make_engine(app.db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).all())
    finally:
        engine.dispose()


def open_sample(page: Any, app: AppServer, sid: int) -> None:
    page.goto(app.url(f"?sample={sid}"))
    page.get_by_role("heading", name=f"Sample {sid}").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)


def test_guidelines_comment_mention_inbox_resolve(
    new_page: Callable[[], Any], guide_app: AppServer
) -> None:
    sid = q(
        guide_app,
        select(Sample.id).join(Dataset).where(Dataset.name == "demo-koalpaca").order_by(Sample.id),
    )[3][0]
    ann = new_page()
    do_login(ann, guide_app.base_url, "annotator")
    open_sample(ann, guide_app, sid)

    # the new guidelines version asks to be read once
    banner = ann.locator(".st-key-gd-banner")
    expect(banner).to_contain_text("The guidelines have a new version (1")
    banner.get_by_role("button", name="I have read it").click()
    expect(ann.locator(".st-key-gd-banner")).to_have_count(0, timeout=SLOW_MS)
    uid = q(guide_app, select(User.id).where(User.username == "annotator"))[0][0]
    assert q(guide_app, select(GuidelineRead.version).where(GuidelineRead.user_id == uid)) == [(1,)]

    # the collapsible panel: search keeps the matching sections; each has its anchor
    search = ann.get_by_role("textbox", name="Search the guidelines")
    if not search.is_visible():
        ann.get_by_text("Guidelines (project, version 1)").click()
    search.fill("집단 전체")
    search.press("Enter")
    wait_idle(ann)
    panel = ann.locator(".st-key-gd-panel")
    expect(panel.get_by_role("heading", name="혐오 (hate)")).to_be_visible()
    expect(panel.locator("#hate")).to_have_count(1)
    expect(panel.get_by_role("heading", name="번역 수정")).to_have_count(0)
    # closed and opened again: the search is still there (the panel is drawn only while open)
    ann.get_by_text("Guidelines (project, version 1)").click()
    wait_idle(ann)
    expect(search).to_have_count(0)
    ann.get_by_text("Guidelines (project, version 1)").click()
    wait_idle(ann)
    expect(search).to_have_value("집단 전체")
    expect(panel.get_by_role("heading", name="번역 수정")).to_have_count(0)

    # the flags' guideline help shows each category's definition
    ann.get_by_role("button", name=re.compile("Guideline: flag definitions")).click()
    expect(ann.get_by_text("근거 없이 깎아내리거나", exact=False).first).to_be_visible()
    link = ann.get_by_role(
        "link", name="guideline", exact=True
    ).first  # 비난's section on the guidelines page
    expect(link).to_have_attribute("href", re.compile(r"guidelines\?dataset=\d+#censure$"))
    ann.keyboard.press("Escape")

    # a question with a mention, from the sample's History tab
    ann.get_by_role("tab", name="History").click()
    wait_idle(ann)
    text = "이건 비난인가요, 혐오인가요? @lead 확인 부탁드려요 <b>x</b>"
    box = ann.get_by_role("textbox", name="New comment or question")
    box.fill(text.replace("@lead", "@laed"))  # a typo: refused with the name, the text kept
    ann.get_by_role("button", name="Comment").click()
    expect(ann.get_by_text("no active user named @laed", exact=False)).to_be_visible(
        timeout=SLOW_MS
    )
    expect(box).to_have_value(text.replace("@lead", "@laed"))
    box.fill(text)
    ann.get_by_role("button", name="Comment").click()
    thread = ann.locator("[class*='st-key-cm-thread-']")
    expect(thread).to_have_count(1, timeout=SLOW_MS)
    expect(
        thread.get_by_text(text, exact=True)
    ).to_be_visible()  # plain text: the tag shows as typed
    [(cid, is_open)] = q(
        guide_app, select(Comment.id, Comment.is_open).where(Comment.sample_id == sid)
    )
    assert is_open

    # the lead, in a second browser context: the sidebar count, the inbox, the sample, resolve
    lead = new_page()
    do_login(lead, guide_app.base_url, "lead")
    sidebar = lead.get_by_test_id("stSidebar")
    expect(sidebar.locator(".st-key-inbox-count")).to_contain_text("Inbox: 1 unread")
    lead.get_by_test_id("stSidebarNav").get_by_text("Inbox").click()
    lead.get_by_role("heading", name="Inbox").wait_for(timeout=SLOW_MS)
    wait_idle(lead)
    item = lead.locator("[class*='st-key-ib-']").filter(has_text="mentioned you").first
    expect(item).to_contain_text("확인 부탁드려요")
    item.get_by_role("link", name=f"Open sample {sid}").click()
    lead.get_by_role("heading", name=f"Sample {sid}").wait_for(timeout=SLOW_MS)
    wait_idle(lead, SLOW_MS)
    lead.get_by_role("tab", name="History").click()
    wait_idle(lead)
    box = lead.locator(f".st-key-cm-thread-{cid}")
    expect(box).to_contain_text("annotator")
    box.get_by_role("button", name="Resolve").click()
    expect(box).to_contain_text("resolved by lead", timeout=SLOW_MS)
    assert q(
        guide_app, select(Comment.is_open, Comment.resolved_by_name).where(Comment.id == cid)
    ) == [(False, "lead")]
    lead_id = q(guide_app, select(User.id).where(User.username == "lead"))[0][0]
    # opening the sample's comments read the lead's inbox item
    assert q(guide_app, select(InboxItem.unread).where(InboxItem.user_id == lead_id)) == [(False,)]
