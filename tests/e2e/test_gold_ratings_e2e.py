"""Issue 21 B in a real browser, on its own app and demo database (done-when): a gold sample handed
out in an annotator's queue scores their decision and the lead's Dashboard shows the accuracy;
ratings typed with the keyboard appear in the Dashboard's agreement and in an export's provenance.
"""

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
from sqlalchemy import select

from kocurate import db
from kocurate.models import Dataset, GoldAnswer, QualityRating, Sample, Setting, User, utcnow
from kocurate.services import gold, ratings, users
from kocurate.services.auth import Actor

pytestmark = pytest.mark.e2e
SLOW_MS = 40_000


@pytest.fixture(scope="module")
def gold_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, dict[str, Any]]]:
    """The demo; in the first dataset (the Review page's default): its last sample gold (expected
    reject), a gold rate of 50 % with the annotator's next ``next`` due for gold; ratings on, and
    annotator2's ratings on the first two samples."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate.demo import create_demo

    folder = tmp_path_factory.mktemp("gold")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        who = {
            n: users.authenticate(s, n, f"{n}-demo-pw") for n in ("lead", "annotator", "annotator2")
        }
        ds, name = s.execute(select(Dataset.id, Dataset.name).order_by(Dataset.id).limit(1)).one()
        ids = list(s.scalars(select(Sample.id).where(Sample.dataset_id == ds).order_by(Sample.id)))
        gold.mark(s, who["lead"], ids[-1], "reject", [])
        gold.set_rate(s, who["lead"], ds, 0.5)
        s.add(
            Setting(
                key=f"gold.tick.{ds}.{who['annotator'].id}", value={"n": 1}, updated_at=utcnow()
            )
        )
        ratings.set_enabled(s, who["lead"], ds, True)
        ratings.rate(s, who["annotator2"], ids[0], {c: 4 for c in ratings.CRITERIA})
        ratings.rate(s, who["annotator2"], ids[1], {c: 2 for c in ratings.CRITERIA})
    engine.dispose()
    with served(url, folder, drop=("DEEPL_AUTH_KEY",)) as app:
        yield app, {"ds": ds, "name": name, "ids": ids, "gold": ids[-1], "who": who}


def q(app: AppServer, stmt: Any) -> list[Any]:
    engine = db.make_engine(app.db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).all())
    finally:
        engine.dispose()


def login(page: Any, app: AppServer, username: str) -> None:
    from e2e_helpers import do_login

    do_login(page, app.base_url, username)
    deadline = time.monotonic() + 30
    while not any(c["name"] == "kocurate_session" for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError("the login cookie never arrived")
        page.wait_for_timeout(100)


def bar_button(page: Any, name: str) -> Any:
    return page.locator(".st-key-rv-bar").get_by_role(
        "button", name=re.compile("^" + re.escape(name))
    )


def open_sample(page: Any, app: AppServer, sid: int) -> None:
    page.goto(app.url(f"?sample={sid}"))
    page.get_by_role("heading", name=f"Sample {sid}").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)


def dashboard_tab(page: Any, app: AppServer, tab: str) -> None:
    page.goto(app.url("dashboard"))
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    page.get_by_role("tab", name=tab).click()
    wait_idle(page, SLOW_MS)


def test_gold_in_queue_scores_the_decision_and_dashboard_shows_accuracy(
    new_page: Any, gold_app: tuple[AppServer, dict[str, Any]]
) -> None:
    app, d = gold_app
    gid = d["gold"]
    page = new_page()
    login(page, app, "annotator")
    page.goto(app.url())
    wait_idle(page, SLOW_MS)
    bar_button(page, "Start reviewing").click()
    page.get_by_role("heading", name=f"Sample {gid}").wait_for(
        timeout=SLOW_MS
    )  # the gold one, due now
    wait_idle(page)
    assert "gold" not in page.locator(".stMain").inner_text().lower()  # nothing says it is gold
    status_before = q(app, select(Sample.status).where(Sample.id == gid))[0][0]
    page.wait_for_timeout(900)  # a decision within 0.7 s of opening is taken as a double press
    bar_button(page, "Reject").click()
    expect(page.get_by_role("heading", name=f"Sample {gid}")).to_have_count(0, timeout=SLOW_MS)
    wait_idle(page)
    uid = q(app, select(User.id).where(User.username == "annotator"))[0][0]
    assert q(
        app, select(GoldAnswer.decision, GoldAnswer.decision_ok).where(GoldAnswer.user_id == uid)
    ) == [("reject", True)]
    assert q(app, select(Sample.status).where(Sample.id == gid))[0][0] == status_before

    lead = new_page()
    login(lead, app, "lead")
    dashboard_tab(lead, app, "Annotators")
    box = lead.locator(".st-key-db-gold")
    box.get_by_text("Accuracy on gold samples").wait_for(timeout=SLOW_MS)
    row = box.locator("tbody tr", has_text="annotator").first
    expect(row).to_contain_text("100%")
    expect(row).to_contain_text("21–100%")  # Wilson 95 % of 1 of 1


def test_keyboard_ratings_reach_dashboard_agreement_and_export(
    new_page: Any, gold_app: tuple[AppServer, dict[str, Any]], tmp_path: Path
) -> None:
    from kocurate.services import export as ex

    app, d = gold_app
    page = new_page()
    login(page, app, "annotator")
    for sid, digits in ((d["ids"][0], "5445"), (d["ids"][1], "2132")):
        open_sample(page, app, sid)
        field = page.get_by_role("textbox", name=re.compile("Quality rating"))
        for _ in range(3):  # on a busy machine the key handler may come after the first press
            page.locator(".stMain h1, .stMain h2").first.click()  # focus is nowhere in particular
            page.keyboard.press("Alt+r")  # jumps into the ratings field
            try:
                expect(field).to_be_focused(timeout=5_000)
                break
            except AssertionError:
                wait_idle(page)
        expect(field).to_be_focused()
        page.keyboard.type(digits)
        page.keyboard.press("Enter")
        wait_idle(page)
        page.get_by_text(re.compile("My rating: .*" + digits[0])).first.wait_for(timeout=SLOW_MS)
    uid = q(app, select(User.id).where(User.username == "annotator"))[0][0]
    mine = q(
        app,
        select(QualityRating.sample_id, QualityRating.criterion, QualityRating.score)
        .where(QualityRating.user_id == uid)
        .order_by(QualityRating.sample_id, QualityRating.id),
    )
    assert [(c, v) for s, c, v in mine if s == d["ids"][0]] == [
        ("grammaticality", 5),
        ("factuality", 4),
        ("fluency", 4),
        ("diversity", 5),
    ]
    assert len(mine) == 8

    lead = new_page()
    login(lead, app, "lead")
    dashboard_tab(lead, app, "Agreement")
    box = lead.locator(".st-key-db-ratings")
    box.get_by_text("Quality ratings: agreement").wait_for(timeout=SLOW_MS)
    engine = db.make_engine(app.db_url)
    try:
        with db.session_scope(engine) as s:
            lead_actor = Actor(d["who"]["lead"].id, "lead", "lead")
            want = {r["criterion"]: r for r in ratings.summary(s, lead_actor, None)}
        row = box.locator("tbody tr", has_text="grammaticality")
        expect(row).to_contain_text(f"{want['grammaticality']['alpha_interval']:.3f}")
        expect(row).to_contain_text(f"{want['grammaticality']['kappa']:.3f}")
        ex.export(
            engine,
            lead_actor,
            ex.ExportSpec(datasets=[d["name"]], statuses=["new"]),
            tmp_path / "out",
        )
    finally:
        engine.dispose()
    rows = [
        json.loads(x)
        for x in (tmp_path / "out" / "data" / "train.jsonl").read_text("utf-8").splitlines()
    ]
    prov = {r["kocurate"]["sample_id"]: r["kocurate"] for r in rows}
    assert prov[d["ids"][0]]["ratings"] == {
        "grammaticality": 4.5,
        "factuality": 4.0,
        "fluency": 4.0,
        "diversity": 4.5,
        "n_raters": 2,
    }
    assert d["gold"] not in prov  # gold samples stay out of exports
