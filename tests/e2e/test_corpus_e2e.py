"""Bulk actions in a real browser (issue 17): a lead previews and applies a bulk approval from a
link, then reverts it from the operations log; annotators have no Bulk page."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import AppServer, wait_idle
from playwright.sync_api import expect
from sqlalchemy import select

from kocurate import db
from kocurate.models import Sample

pytestmark = pytest.mark.e2e
UI_MS = 30_000


def _last_two(app: AppServer) -> tuple[int, list[int], list[str]]:
    engine = db.make_engine(app.db_url)
    try:
        with db.session_scope(engine) as s:
            rows = s.execute(
                select(Sample.id, Sample.dataset_id, Sample.status)
                .order_by(Sample.id.desc())
                .limit(2)
            ).all()
        return rows[0].dataset_id, [r.id for r in rows], [r.status for r in rows]
    finally:
        engine.dispose()


def test_lead_bulk_approves_from_a_link_and_reverts(
    page: Any, login: Any, app_server: AppServer
) -> None:
    ds, ids, before = _last_two(app_server)
    login(page, "lead")
    page.goto(app_server.url(f"bulk?dataset={ds}&ids={ids[1]},{ids[0]}"))
    wait_idle(page, UI_MS)
    expect(page.get_by_role("heading", name="Bulk actions")).to_be_visible(timeout=UI_MS)
    page.get_by_role("button", name="Preview").first.click()
    wait_idle(page, UI_MS)
    expect(page.get_by_text("samples will change", exact=False)).to_be_visible(timeout=UI_MS)
    page.get_by_role("button", name="Apply to", exact=False).first.click()
    wait_idle(page, UI_MS)
    expect(page.get_by_text("(approve):", exact=False)).to_be_visible(timeout=UI_MS)
    assert _last_two(app_server)[2] == ["approved", "approved"]
    page.get_by_role("tab", name="Operations").click()
    page.get_by_role("button", name="Revert").click()
    wait_idle(page, UI_MS)
    expect(page.get_by_text("reverted on", exact=False)).to_be_visible(timeout=UI_MS)
    assert _last_two(app_server)[2] == before  # the shared demo database is left as it was
    assert not page.get_by_test_id("stException").count()


def test_annotator_has_no_bulk_page(page: Any, login: Any, app_server: AppServer) -> None:
    login(page, "annotator")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_be_visible(timeout=UI_MS)
    expect(nav.get_by_text("QA")).to_be_visible(timeout=UI_MS)
    assert nav.get_by_text("Bulk").count() == 0 and nav.get_by_text("Variants").count() == 0
