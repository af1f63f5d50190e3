"""The review workspace in a real browser: queue, side by side, edit, flags, keyboard, deep link,
roles, conflicts between two people, claims, and dataset text that must stay text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_helpers import AppServer, wait_idle
from playwright.sync_api import expect
from sqlalchemy import select, update

from kocurate import db
from kocurate.models import Dataset, Edit, Flag, Sample, Turn

pytestmark = pytest.mark.e2e


def sample_ids(app: AppServer, dataset: str) -> list[int]:
    engine = db.make_engine(app.db_url)
    try:
        with engine.connect() as c:
            return list(
                c.execute(
                    select(Sample.id)
                    .join(Dataset)
                    .where(Dataset.name == dataset)
                    .order_by(Sample.id)
                ).scalars()
            )
    finally:
        engine.dispose()


def query(app: AppServer, stmt: Any) -> list[Any]:
    engine = db.make_engine(app.db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).all())
    finally:
        engine.dispose()


def choose(page: Any, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox in the sidebar by its visible label."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text=label)
    box.click()
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    wait_idle(page)


def current_sample(page: Any) -> int:
    heading = page.get_by_role("heading", name=re.compile(r"^Sample \d+")).first
    heading.wait_for()
    return int(heading.inner_text().split()[1])


def open_sample(page: Any, app: AppServer, sid: int) -> None:
    page.goto(app.url(f"?sample={sid}"))
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    wait_idle(page)


def korean_boxes(page: Any) -> Any:
    return page.get_by_role("textbox", name="Korean")


def blur(page: Any) -> None:
    page.get_by_role("heading", name=re.compile(r"^Sample")).first.click()
    wait_idle(page)


def test_review_flow_edit_flag_keyboard_deeplink(
    page: Any, login: Any, app_server: AppServer
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, "annotator")
    choose(page, "Dataset", "demo-kovicuna")
    page.get_by_role("button", name=re.compile("Start reviewing")).click()
    sid = current_sample(page)
    assert sid == sample_ids(app_server, "demo-kovicuna")[0]
    assert f"sample={sid}" in page.url
    # English | Korean side by side, with role labels
    turns = query(
        app_server,
        select(Turn.role, Turn.text, Turn.source_text)
        .where(Turn.sample_id == sid)
        .order_by(Turn.idx),
    )
    english = page.get_by_role("textbox", name="English")
    expect(english.first).to_have_value(turns[0].source_text)
    expect(korean_boxes(page).first).to_have_value(turns[0].text)
    page.get_by_text(f"#1 · {turns[0].role}", exact=True).wait_for()
    wait_idle(page)
    box_en, box_ko = english.first.bounding_box(), korean_boxes(page).first.bounding_box()
    assert box_en["x"] < box_ko["x"] and abs(box_en["y"] - box_ko["y"]) < 40

    # edit the first Korean turn and save with the keyboard
    new_text = "수정된 번역입니다. 사람이 고쳤어요."
    korean_boxes(page).first.fill(new_text)
    page.keyboard.press("Alt+s")  # while still typing in the text area
    page.get_by_text("version 2", exact=False).wait_for()
    wait_idle(page)

    # flag HATE + mistranslation, with a note
    flags = page.get_by_test_id("stMultiSelect").filter(has_text="Ethics and quality flags")
    for word in ("hate", "mistranslation"):
        flags.click()
        page.keyboard.type(word)
        page.keyboard.press("Enter")
        wait_idle(page)
    page.keyboard.press("Escape")
    page.get_by_role("textbox", name=re.compile("Note · 혐오")).fill("비하 표현")

    # approve with the keyboard (saves the pending flags first)
    page.keyboard.press("Alt+a")
    page.get_by_text("status approved", exact=False).wait_for()
    wait_idle(page)

    # reload the deep link: same sample, saved state (the login survives the reload)
    page.reload()
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    wait_idle(page)
    assert f"sample={sid}" in page.url
    page.get_by_text("status approved", exact=False).wait_for()
    expect(korean_boxes(page).first).to_have_value(new_text)
    chips = (
        page.get_by_test_id("stMultiSelect")
        .filter(has_text="Ethics and quality flags")
        .inner_text()
    )
    assert "혐오 (hate)" in chips and "mistranslation" in chips
    page.get_by_text("Changes against the machine translation").first.wait_for()

    # the database agrees
    status = query(app_server, select(Sample.status, Sample.version).where(Sample.id == sid))[0]
    assert (
        status.status == "approved" and status.version == 4
    )  # edit, flags, decision: one version each
    got = {
        (r.category, r.note)
        for r in query(
            app_server,
            select(Flag.category, Flag.note).where(
                Flag.sample_id == sid, Flag.origin == "annotator"
            ),
        )
    }
    assert got == {("hate", "비하 표현"), ("mistranslation", None)}
    assert [
        r.after for r in query(app_server, select(Edit.after).where(Edit.sample_id == sid))
    ] == [new_text]
    assert dialogs == []


def test_annotator_cannot_reach_export(
    page: Any, login: Any, app_server: AppServer, new_page: Any
) -> None:
    login(page, "annotator")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text("Review").wait_for()
    assert nav.get_by_text("Export").count() == 0
    assert nav.get_by_text("Import").count() == 0
    page.goto(app_server.url("export"))
    page.get_by_test_id("stSidebar").get_by_text("annotator ·", exact=False).wait_for()
    wait_idle(page)
    assert page.get_by_role("heading", name="Export").count() == 0
    assert "Export" not in page.get_by_test_id("stMain").inner_text()
    # a lead does see it (the check above can fail)
    lead = new_page()
    login(lead, "lead")
    lead.get_by_test_id("stSidebarNav").get_by_text("Export").wait_for()


def set_overlap(app: AppServer, dataset: str, k: int) -> None:
    engine = db.make_engine(app.db_url)
    try:
        with engine.begin() as c:
            c.execute(update(Dataset).where(Dataset.name == dataset).values(overlap=k))
    finally:
        engine.dispose()


@pytest.fixture
def dolly_overlap_2(app_server: AppServer) -> Any:
    """Two people may hold a demo-dolly-ko sample at once (overlap 2), so both can edit it."""
    set_overlap(app_server, "demo-dolly-ko", 2)
    yield
    set_overlap(app_server, "demo-dolly-ko", 1)


def test_two_annotators_conflict_nothing_lost(
    new_page: Any, login: Any, app_server: AppServer, dolly_overlap_2: Any
) -> None:
    sid = sample_ids(app_server, "demo-dolly-ko")[1]
    a, b = new_page(), new_page()
    login(a, "annotator")
    login(b, "annotator2")
    open_sample(a, app_server, sid)
    open_sample(b, app_server, sid)
    korean_boxes(a).first.fill("A가 고친 문장")
    blur(a)
    korean_boxes(b).first.fill("B가 고친 문장")
    blur(b)
    a.get_by_role("button", name=re.compile("^Save")).click()
    a.get_by_text("version 2", exact=False).wait_for()
    b.get_by_role("button", name=re.compile("^Save")).click()
    # the second save is refused: their text, my text and a diff
    b.get_by_text("Conflict: someone else saved this sample first", exact=False).wait_for()
    conflict = b.locator(".st-key-rv-conflict")
    expect(conflict.get_by_role("textbox").nth(0)).to_have_value("A가 고친 문장")  # theirs
    expect(conflict.get_by_role("textbox").nth(1)).to_have_value("B가 고친 문장")  # mine, kept
    code = b.get_by_test_id("stCode").filter(has_text="+B가 고친 문장").first
    assert "-A가 고친 문장" in code.inner_text()
    assert (
        query(app_server, select(Turn.text).where(Turn.sample_id == sid).order_by(Turn.idx))[0].text
        == "A가 고친 문장"
    )
    # B re-applies on top: both edits are in the history
    b.get_by_role("button", name="Re-apply my changes on top of theirs").click()
    b.get_by_text("version 3", exact=False).wait_for()
    expect(korean_boxes(b).first).to_have_value("B가 고친 문장")
    history = [
        r.after
        for r in query(
            app_server, select(Edit.after).where(Edit.sample_id == sid).order_by(Edit.id)
        )
    ]
    assert history == ["A가 고친 문장", "B가 고친 문장"]


def test_two_annotators_never_get_the_same_sample(
    new_page: Any, login: Any, app_server: AppServer
) -> None:
    a, b = new_page(), new_page()
    login(a, "annotator")
    login(b, "annotator2")
    for p in (a, b):
        choose(p, "Dataset", "demo-guanaco-ko")
    # both press start at the same moment
    a.get_by_role("button", name=re.compile("Start reviewing")).click(no_wait_after=True)
    b.get_by_role("button", name=re.compile("Start reviewing")).click(no_wait_after=True)
    first = {current_sample(a), current_sample(b)}
    assert len(first) == 2
    mine = current_sample(a)
    a.get_by_role("button", name=re.compile("^Next")).click()
    expect(a.get_by_role("heading", name=f"Sample {mine}")).to_have_count(0)
    third = current_sample(a)
    assert third not in first and third in sample_ids(app_server, "demo-guanaco-ko")


def test_script_and_links_render_as_text(page: Any, login: Any, app_server: AppServer) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    row = query(
        app_server,
        select(Turn.sample_id, Turn.idx, Turn.text).where(Turn.text.contains("<script>")),
    )[0]
    sid = row.sample_id
    login(page, "annotator2")
    open_sample(page, app_server, sid)
    expect(korean_boxes(page).nth(row.idx)).to_have_value(row.text)
    hostile = korean_boxes(page).nth(row.idx).input_value()
    assert (
        "<script>alert(1)</script>" in hostile
        and "[link](javascript:alert(2))" in hostile
        and "$x^2$" in hostile
    )
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("script:text('alert(1)')").count() == 0
    assert page.locator(".katex").count() == 0  # $…$ not rendered as maths
    # the search results show it as text too
    page.get_by_test_id("stSidebarNav").get_by_text("Search").click()
    page.get_by_role("heading", name="Search").wait_for()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Search Korean and English text")
    box.fill("<script>")
    expect(box).to_have_value("<script>")
    page.get_by_role("button", name="Search", exact=True).click()
    wait_idle(page)
    expect(
        page.get_by_test_id("stText").filter(has_text="<script>alert(1)</script>").first
    ).to_be_visible(timeout=15_000)
    assert page.locator("a[href^='javascript:']").count() == 0
    # a result opens the sample in the review view
    page.get_by_text(f"Open sample {sid} in review").click()
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    page.wait_for_timeout(300)
    assert dialogs == []


def test_login_errors_logout_and_admin_adds_user(
    page: Any, login: Any, app_server: AppServer, new_page: Any
) -> None:
    from e2e_helpers import do_login

    page.goto(app_server.url())
    page.get_by_role("textbox", name="User name").fill("annotator")
    page.get_by_role("textbox", name="Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("wrong user name or password").wait_for()
    login(page, "admin")
    page.get_by_test_id("stSidebarNav").get_by_text("Admin").click()
    page.get_by_role("heading", name="Add a user").wait_for()
    wait_idle(page)
    page.get_by_role("textbox", name="User name").fill("carol")
    page.get_by_role("textbox", name=re.compile("Password")).fill("carol-pw-123")
    page.get_by_role("button", name="Add user").click()
    page.get_by_text("carol: carol-pw-123").wait_for()
    # the new account works; logging out ends the session, and a reload does not bring it back
    other = new_page()
    do_login(other, app_server.base_url, "carol", "carol-pw-123")
    other.get_by_role("button", name="Log out").click()
    other.get_by_role("button", name="Log in").wait_for()
    wait_idle(other)
    other.reload()
    other.get_by_role("button", name="Log in").wait_for()
    assert other.get_by_test_id("stSidebar").get_by_text("carol ·").count() == 0


def test_retranslate_turn_and_use_the_suggestion(
    page: Any, login: Any, app_server: AppServer
) -> None:
    if not app_server.deepl_url:
        pytest.skip("the translate area (fake DeepL) is not present")
    sid = sample_ids(app_server, "demo-koalpaca")[3]
    login(page, "annotator2")
    open_sample(page, app_server, sid)
    page.get_by_role("button", name=re.compile("^Re-translate$")).first.click()
    suggestion = page.get_by_role("textbox", name=re.compile(r"Suggestion \(deepl\)")).first
    suggestion.wait_for()
    expect(suggestion).not_to_have_value("")
    proposed = suggestion.input_value()
    assert proposed and proposed != korean_boxes(page).first.input_value()
    page.get_by_role("button", name="Use suggestion").first.click()
    page.get_by_text("version 2", exact=False).wait_for()
    expect(korean_boxes(page).first).to_have_value(proposed)
    kinds = [r.kind for r in query(app_server, select(Edit.kind).where(Edit.sample_id == sid))]
    assert kinds == ["machine"]
