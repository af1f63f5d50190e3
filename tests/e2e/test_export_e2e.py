"""The Export page in a real browser: a lead sees the plan and the licence warnings, downloads a
small subset as a zip, writes the full corpus to a server folder; annotators have no Export page.

Runs its own app on its own demo database with approved samples (other e2e tests must not see them)
and its own export folder (KOCURATE_DATA_DIR).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import CHROMIUM, AppServer, do_login, served, wait_idle
from playwright.sync_api import expect
from sqlalchemy import select, update

from kocurate import db
from kocurate.models import Dataset, Sample

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def export_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Path]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found")
    from kocurate.demo import create_demo

    folder = tmp_path_factory.mktemp("export-e2e")
    url = f"sqlite:///{folder / 'app.db'}"
    create_demo(url)
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:  # a bulk approval: the demo's samples are the corpus
        s.execute(update(Sample).values(status="approved"))
        dolly = s.scalar(select(Dataset.id).where(Dataset.name == "demo-dolly-ko"))
        s.execute(
            update(Sample)
            .where(Sample.dataset_id == dolly, Sample.key == "0")
            .values(status="rejected")
        )
    engine.dispose()
    data_dir = folder / "data"
    with served(url, folder, {"KOCURATE_DATA_DIR": str(data_dir)}) as app:
        yield app, data_dir


def _open_export(page: Any, app: AppServer, user: str) -> None:
    do_login(page, app.base_url, user)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Export").click()
    wait_idle(page, 30_000)


def test_lead_downloads_a_subset_and_exports_to_the_server(
    page: Any, export_app: tuple[AppServer, Path]
) -> None:
    app, data_dir = export_app
    _open_export(page, app, "lead")
    expect(
        page.get_by_role("heading", name="Planned: 21 samples")
    ).to_be_visible()  # 22 demo samples, 1 rejected
    expect(page.get_by_text("non-commercial source(s) mixed in", exact=False)).to_be_visible()

    # a subset: only Dolly, as a browser download
    chooser = page.get_by_test_id("stMultiSelect").filter(has_text="Datasets (none = all)")
    chooser.click()
    page.keyboard.type("demo-dolly")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page, 30_000)
    expect(page.get_by_role("heading", name="Planned: 3 samples")).to_be_visible()
    page.get_by_role("button", name="Prepare download").click()
    wait_idle(page, 30_000)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download kocurate-messages-", exact=False).click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert sorted(archive.namelist()) == ["README.md", "data/train.jsonl", "manifest.json"]
    rows = [
        json.loads(line) for line in archive.read("data/train.jsonl").decode("utf-8").splitlines()
    ]
    assert len(rows) == 3 and {r["kocurate"]["dataset"] for r in rows} == {"demo-dolly-ko"}
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)

    # the full corpus into a named folder on the server
    chooser.get_by_role("button", name="Clear all").click()
    wait_idle(page, 30_000)
    expect(page.get_by_role("heading", name="Planned: 21 samples")).to_be_visible()
    page.get_by_label("Folder name").fill("corpus-v1")
    page.get_by_role("button", name="Export to the server").click()
    wait_idle(page, 60_000)
    expect(page.get_by_text("Exported 21 samples", exact=False)).to_be_visible()
    manifest = json.loads(
        (data_dir / "exports" / "corpus-v1" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["counts"]["total"] == 21 and manifest["created_by"] == "lead"


def test_annotator_has_no_export_page(page: Any, export_app: tuple[AppServer, Path]) -> None:
    app, _ = export_app
    do_login(page, app.base_url, "annotator")
    expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Review")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Export")).to_have_count(0)
