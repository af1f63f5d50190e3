"""The review loop of issue 11 (and 20.2) in a real browser, on its own app and demo database:
drafts survive navigation, a page change and a reload; a split decision is disputed and not exported
until a lead adjudicates; re-applying after a stale Approve approves; fixing 홀수 closes its finding
on save; a reserved sample opens read-only with a banner; a double "Approve & next" never approves
the sample that was not on screen yet."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import CHROMIUM, AppServer, served, wait_idle
from playwright.sync_api import expect
from sqlalchemy import delete, func, select, update

from kocurate import db
from kocurate.checks.texts import check_label
from kocurate.errors import KocurateError
from kocurate.models import CheckFinding, Claim, Dataset, Draft, Edit, Review, Sample, Turn, User

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loop_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """A fresh demo database (demo-dolly-ko with overlap 2) and its own app server."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate.demo import create_demo

    folder = tmp_path_factory.mktemp("review-loop")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    engine = db.make_engine(url)
    with engine.begin() as c:
        c.execute(update(Dataset).where(Dataset.name == "demo-dolly-ko").values(overlap=2))
    engine.dispose()
    with served(url, folder, drop=("DEEPL_AUTH_KEY",)) as app:
        yield app


def q(app: AppServer, stmt: Any) -> list[Any]:
    engine = db.make_engine(app.db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).all())
    finally:
        engine.dispose()


def ids_of(app: AppServer, dataset: str) -> list[int]:
    return [
        r[0]
        for r in q(
            app, select(Sample.id).join(Dataset).where(Dataset.name == dataset).order_by(Sample.id)
        )
    ]


def status(app: AppServer, sid: int) -> str:
    return q(app, select(Sample.status).where(Sample.id == sid))[0][0]


def login(page: Any, app: AppServer, username: str) -> None:
    from e2e_helpers import do_login

    do_login(page, app.base_url, username)
    # the login cookie is written by a script in the page: a new page load before it lands logs out
    deadline = time.monotonic() + 30
    while not any(c["name"] == "kocurate_session" for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError("the login cookie never arrived")
        page.wait_for_timeout(100)


SLOW_MS = 40_000  # a cold page load on a busy 2-core machine


def open_sample(page: Any, app: AppServer, sid: int) -> None:
    page.goto(app.url(f"?sample={sid}"))
    page.get_by_role("heading", name=f"Sample {sid}").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)


def current(page: Any) -> int:
    h = page.get_by_role("heading", name=re.compile(r"^Sample \d+")).first
    h.wait_for(timeout=SLOW_MS)
    return int(h.inner_text().split()[1])


def korean(page: Any) -> Any:
    return page.get_by_role("textbox", name="Korean")


def bar_button(page: Any, name: str) -> Any:
    return page.locator(".st-key-rv-bar").get_by_role(
        "button", name=re.compile("^" + re.escape(name))
    )


def blur(page: Any) -> None:
    page.get_by_role("heading", name=re.compile(r"^Sample")).first.click()
    wait_idle(page)


def test_draft_survives_next_previous_page_change_and_reload(
    page: Any, loop_app: AppServer
) -> None:
    sid = ids_of(loop_app, "demo-koalpaca")[5]
    saved = q(loop_app, select(Turn.text).where(Turn.sample_id == sid).order_by(Turn.idx))[0][0]
    typed = "사람이 고친 초안입니다. 아직 저장하지 않았어요."
    login(page, loop_app, "annotator")
    open_sample(page, loop_app, sid)
    korean(page).first.fill(typed)
    blur(page)  # the browser sends the text when the field is left: a draft at once
    assert q(loop_app, select(Draft.text).where(Draft.sample_id == sid)) == [(typed,)]
    # Next, then Previous: the draft is back over the saved text, marked
    bar_button(page, "Next").click()
    expect(page.get_by_role("heading", name=f"Sample {sid}")).to_have_count(0)
    wait_idle(page)
    bar_button(page, "Previous").click()
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    wait_idle(page)
    expect(korean(page).first).to_have_value(typed)
    page.get_by_text("draft — not saved", exact=True).first.wait_for()
    page.get_by_text("Draft — not saved", exact=False).first.wait_for()
    # a page change and back
    page.get_by_test_id("stSidebarNav").get_by_text("Search").click()
    page.get_by_role("heading", name="Search").wait_for()
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Review").click()
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    wait_idle(page)
    expect(korean(page).first).to_have_value(typed)
    # a reload (a new browser session): the server kept it
    page.reload()
    page.get_by_role("heading", name=f"Sample {sid}").wait_for()
    wait_idle(page)
    expect(korean(page).first).to_have_value(typed)
    page.get_by_text("Draft against the saved text").first.click()
    assert "+" + typed in page.get_by_test_id("stCode").filter(has_text=typed).first.inner_text()
    # nothing was saved behind the person's back; Discard goes back to the saved text
    assert (
        q(loop_app, select(Turn.text).where(Turn.sample_id == sid).order_by(Turn.idx))[0][0]
        == saved
    )
    page.get_by_role("button", name="Discard draft").click()
    wait_idle(page)
    expect(korean(page).first).to_have_value(saved)
    assert (
        q(loop_app, select(func.count()).select_from(Draft).where(Draft.sample_id == sid))[0][0]
        == 0
    )


def test_split_decision_is_disputed_and_not_exported_until_a_lead_adjudicates(
    new_page: Any, loop_app: AppServer, tmp_path: Path
) -> None:
    pytest.importorskip("datasets")
    from kocurate.services import export as ex
    from kocurate.services.auth import Actor

    sid = ids_of(loop_app, "demo-dolly-ko")[0]
    a, b, lead = new_page(), new_page(), new_page()
    login(a, loop_app, "annotator")
    login(b, loop_app, "annotator2")
    open_sample(a, loop_app, sid)
    open_sample(b, loop_app, sid)
    a.get_by_role("radio", name="mistranslation").click()  # a reason quick pick
    wait_idle(a)
    bar_button(a, "Reject").click()
    wait_idle(a)
    bar_button(b, "Approve").first.click()
    b.get_by_text("status disputed", exact=False).wait_for()
    assert status(loop_app, sid) == "disputed"
    assert q(
        loop_app,
        select(Review.decision, Review.reason).where(Review.sample_id == sid).order_by(Review.id),
    ) == [("reject", "mistranslation"), ("approve", None)]

    lead_id = q(loop_app, select(User.id).where(User.username == "lead"))[0][0]
    engine = db.make_engine(loop_app.db_url)

    def exported(name: str) -> set[int]:
        try:
            ex.export(
                engine,
                Actor(lead_id, "lead", "lead"),
                ex.ExportSpec(datasets=["demo-dolly-ko"]),
                tmp_path / name,
            )
        except (
            KocurateError
        ) as exc:  # nothing approved in the dataset yet: an export says so and writes nothing
            assert "nothing to export" in str(exc)
            return set()
        lines = (tmp_path / name / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
        return {json.loads(line)["kocurate"]["sample_id"] for line in lines}

    try:
        assert sid not in exported("before")
        login(lead, loop_app, "lead")
        open_sample(lead, loop_app, sid)
        lead.get_by_text("Your decision settles it (adjudication, final)", exact=False).wait_for()
        lead.wait_for_timeout(
            900
        )  # a decision within 0.7 s of opening is taken as a double press (MIN_DWELL_S)
        bar_button(lead, "Approve").first.click()
        lead.get_by_text("status approved", exact=False).wait_for()
        assert status(loop_app, sid) == "approved"
        assert sid in exported("after")
    finally:
        engine.dispose()


def test_reapply_after_a_stale_approve_leaves_the_sample_approved(
    new_page: Any, loop_app: AppServer
) -> None:
    sid = ids_of(loop_app, "demo-dolly-ko")[2]  # overlap 2: both hold it
    a, b = new_page(), new_page()
    login(a, loop_app, "annotator")
    login(b, loop_app, "annotator2")
    open_sample(a, loop_app, sid)
    open_sample(b, loop_app, sid)
    korean(a).first.fill("A가 고친 뒤 승인한 문장")
    blur(a)
    bar_button(a, "Approve").first.click()  # saves the edit, then approves: 1 of 2
    a.get_by_text("version 3", exact=False).wait_for()
    bar_button(b, "Approve").first.click()  # on version 1: stale
    box = b.locator(".st-key-rv-conflict")
    box.get_by_text("Conflict: someone else saved this sample first", exact=False).wait_for()
    assert "your changes are kept" not in box.inner_text()  # B changed nothing
    box.get_by_text("Your decision, not recorded yet: approve").wait_for()
    assert status(loop_app, sid) == "new"
    b.get_by_role("button", name="Re-apply my decision on top of theirs").click()
    b.get_by_text("status approved", exact=False).wait_for()
    assert status(loop_app, sid) == "approved"
    rows = q(
        loop_app,
        select(Review.decision, Review.seen_version)
        .where(Review.sample_id == sid)
        .order_by(Review.id),
    )
    assert rows == [("approve", 2), ("approve", 3)]


def test_fixing_the_odd_one_out_closes_its_finding_on_save(page: Any, loop_app: AppServer) -> None:
    row = q(loop_app, select(Turn.sample_id, Turn.idx).where(Turn.text.contains("홀수")))[0]
    sid = row.sample_id
    assert q(
        loop_app,
        select(CheckFinding.state).where(
            CheckFinding.sample_id == sid, CheckFinding.check == "false_friends"
        ),
    ) == [("open",)]
    login(page, loop_app, "annotator2")
    open_sample(page, loop_app, sid)
    label = check_label("false_friends")  # the page names checks by their label (English here)
    page.get_by_text(f"⚠ {label}", exact=False).first.wait_for()
    korean(page).nth(row.idx).fill("다음 중 어울리지 않는 것을 찾으세요.")
    bar_button(page, "Save").click()
    page.locator(".st-key-rv-recheck").get_by_text(
        f"resolved by edit: {label}", exact=False
    ).wait_for()
    assert page.get_by_text(f"⚠ {label}", exact=False).count() == 0
    assert (
        q(
            loop_app,
            select(CheckFinding.state).where(
                CheckFinding.sample_id == sid, CheckFinding.check == "false_friends"
            ),
        )
        == []
    )
    meta = q(loop_app, select(Edit.meta).where(Edit.sample_id == sid).order_by(Edit.id.desc()))[0][
        0
    ]
    assert [f["check"] for f in meta["resolved_findings"]] == [
        "false_friends"
    ]  # kept in the history
    page.get_by_role("tab", name="Checks").click()
    page.get_by_text(f"{label} · turn 1 · resolved by edit", exact=False).wait_for()


def test_reserved_sample_opens_read_only_with_a_banner(new_page: Any, loop_app: AppServer) -> None:
    sid = ids_of(loop_app, "demo-koalpaca")[7]
    holder, other, lead = new_page(), new_page(), new_page()
    login(holder, loop_app, "annotator")
    open_sample(holder, loop_app, sid)  # the deep link reserves it
    expect(korean(holder).first).to_be_editable()
    login(other, loop_app, "annotator2")
    open_sample(other, loop_app, sid)
    banner = other.locator(".st-key-rv-reserved")
    banner.get_by_text("Read-only: this sample is reserved for someone else.").wait_for()
    assert re.search(r"Reserved for annotator since \d\d:\d\d until \d\d:\d\d", banner.inner_text())
    expect(korean(other).first).to_be_disabled()
    expect(bar_button(other, "Approve & next")).to_be_disabled()
    assert (
        banner.get_by_role("button", name="Take over").count() == 0
    )  # not before expiry, not an annotator
    # a lead takes over: editable for the lead, read-only for the former holder
    login(lead, loop_app, "lead")
    open_sample(lead, loop_app, sid)
    lead.locator(".st-key-rv-reserved").get_by_role("button", name="Take over").click()
    wait_idle(lead)
    expect(korean(lead).first).to_be_editable()
    holder.reload()
    holder.locator(".st-key-rv-reserved").get_by_text("Reserved for lead", exact=False).wait_for()


@pytest.mark.parametrize("how", ["double_click", "shortcut_twice"])
def test_double_approve_and_next_never_approves_an_unseen_sample(
    page: Any, loop_app: AppServer, how: str
) -> None:
    ids = ids_of(
        loop_app, "demo-koalpaca-v11"
    )  # a fresh queue for each variant (this module's own database)
    engine = db.make_engine(loop_app.db_url)
    try:
        with engine.begin() as c:
            c.execute(delete(Review).where(Review.sample_id.in_(ids)))
            c.execute(delete(Claim).where(Claim.sample_id.in_(ids)))
            c.execute(update(Sample).where(Sample.id.in_(ids)).values(status="new"))
    finally:
        engine.dispose()
    login(page, loop_app, "annotator")
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Dataset")
    box.click()
    page.get_by_role("option", name=re.compile("demo-koalpaca-v11")).first.click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start reviewing")).click()
    first = current(page)
    wait_idle(page)
    page.wait_for_timeout(800)  # a person looks at the sample before deciding
    if how == "double_click":
        bar_button(page, "Approve & next").dblclick()
    else:
        page.keyboard.press("Alt+Enter")
        page.wait_for_timeout(250)
        page.keyboard.press("Alt+Enter")
    expect(page.get_by_role("heading", name=f"Sample {first}")).to_have_count(0)
    wait_idle(page)
    page.wait_for_timeout(1000)
    wait_idle(page)
    second = current(page)
    assert second != first
    assert status(loop_app, first) == "approved"
    assert status(loop_app, second) == "new"  # on screen now, never approved unseen
    mine = q(
        loop_app,
        select(Review.sample_id)
        .join(User, User.id == Review.user_id)
        .where(User.username == "annotator", Review.sample_id.in_([first, second])),
    )
    assert mine == [(first,)]
    # a deliberate press on the sample now on screen does decide it
    page.wait_for_timeout(800)
    bar_button(page, "Approve & next").click()
    expect(page.get_by_role("heading", name=f"Sample {second}")).to_have_count(0)
    wait_idle(page)
    assert status(loop_app, second) == "approved"
