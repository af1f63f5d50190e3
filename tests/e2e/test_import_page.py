"""The Import page in a real browser: a lead uploads a Korean file and its English source and gets
the report; a bad file is refused with its place named and nothing imported; annotators have no
Import page.

Runs its own app on its own demo database (an import adds a dataset, which other e2e tests must not
see).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import CHROMIUM, AppServer, do_login, served, wait_idle
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kocurate import db
from kocurate.models import Dataset, Sample

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate.demo import create_demo

    folder = tmp_path_factory.mktemp("import-e2e")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    with served(url, folder) as app:
        yield app


def _counts(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as s:
            return (
                s.scalar(select(func.count(Dataset.id))) or 0,
                s.scalar(select(func.count(Sample.id))) or 0,
            )
    finally:
        engine.dispose()


def test_lead_imports_a_pair_and_a_bad_file_is_refused(
    page: Any, own_app: AppServer, tmp_path: Path
) -> None:
    do_login(page, own_app.base_url, "lead")
    page.goto(own_app.url("import"))
    wait_idle(page)
    expect(page.get_by_role("heading", name="Import")).to_be_visible()
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="dolly —", exact=False).click()
    wait_idle(page)
    uploads = page.locator("input[type=file]")
    uploads.nth(0).set_input_files(str(DATA / "dolly_ko.jsonl"))
    wait_idle(page)
    uploads.nth(1).set_input_files(str(DATA / "dolly_en.jsonl"))
    wait_idle(page)
    expect(page.get_by_label("Dataset name")).to_have_value("dolly_ko")
    # a known file of Dolly-ko: its licence is taken, nobody is asked
    expect(page.get_by_text("licence of this file is unknown", exact=False)).to_have_count(0)
    page.get_by_label("Dataset name").fill("dolly-ko-upload")
    before = _counts(own_app.db_url)
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("Imported 'dolly-ko-upload'", exact=False)).to_be_visible()
    expect(
        page.get_by_text("5 samples, 15 turns; aligned 5, ambiguous 0, unaligned 0", exact=False)
    ).to_be_visible()
    assert _counts(own_app.db_url) == (before[0] + 1, before[1] + 5)

    # the same files again: already imported, nothing changes
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(
        page.get_by_text("already imported as dataset 'dolly-ko-upload'", exact=False)
    ).to_be_visible()
    assert _counts(own_app.db_url) == (before[0] + 1, before[1] + 5)

    # a bad Korean file: refused with file, line and field named; nothing imported
    bad = tmp_path / "broken_ko.jsonl"
    lines = (DATA / "dolly_ko.jsonl").read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join(
            [lines[0], '{"instruction": "응답이 없는 행", "context": "", "category": "open_qa"}']
        ),
        encoding="utf-8",
    )
    uploads.nth(0).set_input_files(str(bad))
    wait_idle(page)
    expect(page.get_by_label("Dataset name")).to_have_value("broken_ko")
    # not a known file of the dataset: the page asks for the licence
    expect(page.get_by_text("licence of this file is unknown", exact=False)).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(
        page.get_by_text("broken_ko.jsonl, line 2, field 'response': missing field", exact=False)
    ).to_be_visible()
    assert _counts(own_app.db_url) == (before[0] + 1, before[1] + 5)

    # with "skip bad records" the good row goes in and the skipped one is listed
    page.get_by_test_id("stCheckbox").filter(has_text="Skip bad records").click()
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("skipped 1 bad records", exact=False)).to_be_visible()
    expect(
        page.get_by_role("button", name="Download the skipped-records report (JSONL)")
    ).to_be_visible()
    assert _counts(own_app.db_url) == (before[0] + 2, before[1] + 6)
    engine = db.make_engine(own_app.db_url)
    try:
        with Session(engine) as s:
            lic = dict(s.execute(select(Dataset.name, Dataset.licence)).tuples().all())
            new_id = s.scalar(select(Dataset.id).where(Dataset.name == "dolly-ko-upload"))
    finally:
        engine.dispose()
    assert lic["dolly-ko-upload"] == "CC-BY-SA-3.0" and lic["broken_ko"] is None

    # the datasets page lists it (names in a plain-text table) with a link into the review queue
    page.goto(own_app.url("datasets"))
    wait_idle(page)
    link = page.get_by_role("link", name=f"Review dataset {new_id}")
    expect(link).to_be_visible()
    assert f"dataset={new_id}" in (link.get_attribute("href") or "")


def test_import_page_warns_when_the_alignment_breaks_down(
    page: Any, own_app: AppServer, tmp_path: Path
) -> None:
    lines = (DATA / "dolly_ko.jsonl").read_text(encoding="utf-8").splitlines()
    swapped = tmp_path / "dolly_swapped.jsonl"
    swapped.write_text("\n".join([lines[3], lines[0], lines[1]]) + "\n", encoding="utf-8")
    do_login(page, own_app.base_url, "lead")
    page.goto(own_app.url("import"))
    wait_idle(page)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="dolly —", exact=False).click()
    wait_idle(page)
    uploads = page.locator("input[type=file]")
    # a ShareGPT file where Dolly was chosen: refused, with the kinds its first record fits
    chats = tmp_path / "chats.jsonl"
    chats.write_text(
        '{"id": "a1", "conversations": [{"from": "human", "value": "안녕"}]}\n', encoding="utf-8"
    )
    uploads.nth(0).set_input_files(str(chats))
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("field 'instruction': missing field", exact=False)).to_be_visible()
    expect(
        page.get_by_test_id("stAlert").filter(has_text="does not have the shape of 'dolly'")
    ).to_contain_text("'sharegpt'")
    uploads.nth(0).set_input_files(str(swapped))
    wait_idle(page)
    uploads.nth(1).set_input_files(str(DATA / "dolly_en.jsonl"))
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page, 30_000)
    expect(page.get_by_text("Imported 'dolly_swapped'", exact=False)).to_be_visible()
    # the CLI's warning, with both files' record counts and the first unsure row
    warning = page.get_by_test_id("stAlert").filter(has_text="alignment is unsure for 3 of 3 rows")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("The English file has 6 records, the Korean 3")


def test_annotator_has_no_import_page(page: Any, own_app: AppServer) -> None:
    do_login(page, own_app.base_url, "annotator")
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Import", exact=True)).to_have_count(0)
    page.goto(own_app.url("import"))
    wait_idle(page)
    expect(page.locator("input[type=file]")).to_have_count(0)
