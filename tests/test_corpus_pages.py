"""The Bulk, Variants and QA pages (Streamlit AppTest) over a real database: they call the services,
show dataset text as plain text, and refuse annotators."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.models import QaItem, Sample
from kocurate.services import bulk, qa, variants
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset
from tests.page_helpers import open_page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bulk_page_preview_apply_and_revert(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = [[("Hi <b>there</b>", f"<b>안녕</b> {i}")] for i in range(5)]
    ds, ids = make_dataset(engine, pairs)
    at = open_page(
        "bulk.py", db_url, actors["lead"], monkeypatch, {"dataset": str(ds), "status": "new"}
    )
    assert not at.exception, at.exception
    at.button(key="ba_preview").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("5 of 5 selected samples will change" in t.value for t in at.text)
    at.button(key="ba_apply").click().run()
    assert not at.exception
    assert "bulk operation 1 (approve): 5 samples changed" in at.success[0].value
    with session_scope(engine) as s:
        assert set(s.scalars(select(Sample.status))) == {"approved"}
    # find and replace: preview shows the diff as code (plain), apply writes edits
    at.selectbox(key="rp_status").select("(any)")
    at.text_input(key="rp_find").input("안녕")
    at.text_input(key="rp_repl").input("반가워")
    at.button(key="rp_preview").click().run()
    assert not at.exception and any(
        "5 occurrences in 5 turns of 5 samples" in t.value for t in at.text
    )
    assert "+<b>반가워</b> 0" in at.code[0].value
    at.button(key="rp_apply").click().run()
    assert (
        not at.exception and "bulk operation 2 (replace): 5 samples changed" in at.success[1].value
    )
    at.selectbox(key="op_revert_id").select(2)
    at.button(key="op_revert").click().run()
    assert not at.exception and "reverted on 5 samples" in at.success[-1].value
    at2 = open_page("bulk.py", db_url, actors["annotator"], monkeypatch)
    assert not at2.exception and "for leads" in at2.warning[0].value


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_variants_and_qa_pages(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = [[("Same source", "번역 하나")], [("Same  SOURCE", "번역 둘")], [("Other", "기타")]]
    ds, ids = make_dataset(engine, pairs, status="approved")
    variants.compute_hashes(engine, actors["lead"])
    at = open_page("variants.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception, at.exception
    assert "1 variant groups" in at.caption[0].value
    assert [t.value for t in at.text_area if t.key.startswith("va_ko_")] == [
        "[user] 번역 하나",
        "[user] 번역 둘",
    ]
    at.button(key=f"va_keep_{ids[1]}").click().run()
    assert not at.exception and "1 samples changed" in at.success[0].value
    with session_scope(engine) as s:
        assert s.get(Sample, ids[0]).status == "superseded"
        qa.create_run(s, actors["lead"], bulk.Selection(dataset_id=ds), size=2, seed=1)
    page = open_page("qa.py", db_url, actors["annotator"], monkeypatch)
    assert not page.exception, page.exception
    assert len(page.tabs) == 1  # annotators: the blind queue only
    labels = [t.label for t in page.text_area]
    assert labels == ["user · English", "user · Korean"]  # blind: no checks, flags or status
    page.button(key="qa_defect").click().run()
    page.button(key="qa_ok").click().run()
    assert not page.exception and "Every item" in page.success[0].value
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(QaItem.verdict))) == ["defect", "ok"]
    lead = open_page("qa.py", db_url, actors["lead"], monkeypatch)
    assert not lead.exception, lead.exception
    assert (
        lead.dataframe[0].value["estimate"].tolist()[0].startswith("estimated defect rate 50.0 %")
    )
