"""The Guidelines and Inbox pages (Streamlit AppTest) over a real database: leads write versions
with a preview, annotators only read; the inbox lists mentions unread first, marks them read, and
shows comments as plain text; leads see the open questions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.demo import HERE
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services import comments as cm
from kocurate.services import guidelines as gl
from kocurate.services.auth import Actor
from tests.page_helpers import open_page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_guidelines_page_edit_preview_history(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    rep = import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="demo-ko"
    )
    at = open_page("guidelines.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception, at.exception
    at.button(key="gd-default").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with session_scope(engine) as s:
        assert gl.latest(s, None).body == gl.default_text()  # type: ignore[union-attr]
    # a dataset's own guidelines, from a link
    at = open_page(
        "guidelines.py", db_url, actors["lead"], monkeypatch, {"dataset": str(rep.dataset_id)}
    )
    assert any("no guidelines of its own" in i.value for i in at.info)
    at.text_area(key=f"gd-edit-{rep.dataset_id}-0").input(
        "# 데이터셋 규칙\n\n## 코드 {#code}\n식별자는 그대로\n"
    ).run()
    at.text_input(key=f"gd-note-{rep.dataset_id}").input("first").run()
    assert any(h.value == "코드" for h in at.subheader)  # the preview
    at.button(key="gd-save").click().run()
    assert not at.exception and any("Saved as version 1" in x.value for x in at.success)
    with session_scope(engine) as s:
        v = gl.latest(s, rep.dataset_id)
        assert v is not None and v.note == "first" and v.author == "lead"
    at.text_area(key=f"gd-edit-{rep.dataset_id}-1").input(
        "# 데이터셋 규칙\n\n## 코드 {#code}\n식별자는 원문 그대로\n"
    ).run()
    at.button(key="gd-save").click().run()
    assert any("Saved as version 2" in x.value for x in at.success)
    at.selectbox(key="gd-diff-v").select(2).run()
    assert any(
        "+식별자는 원문 그대로" in c.value for c in at.code
    )  # the history's diff of version 2
    at.text_input(key="gdp-q").input("식별자").run()
    assert not at.exception

    # an annotator reads (search filters the sections) and has no Edit tab
    at = open_page("guidelines.py", db_url, actors["annotator"], monkeypatch)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Read", "History"]
    at.text_input(key="gdp-q").input("혐오").run()
    heads = [h.value for h in at.subheader]
    assert "혐오 (hate)" in heads and "번역 수정" not in heads


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_inbox_page_unread_first_mark_read_and_open_questions(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    rep = import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="demo-ko"
    )
    with session_scope(engine) as s:
        sids = list(
            s.scalars(
                select(Sample.id).where(Sample.dataset_id == rep.dataset_id).order_by(Sample.id)
            )
        )
        first = cm.add_comment(s, actors["annotator"], sids[0], "old question @lead")
        cm.add_comment(s, actors["annotator"], sids[1], "<script>alert(1)</script> **bold** @lead")
        cm.mark_read(s, actors["lead"], [cm.inbox(s, actors["lead"], unread=True)[-1].id])
    at = open_page("inbox.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception, at.exception
    assert at.subheader[0].value == "1 unread"
    texts = [t.value for t in at.text]
    assert "<script>alert(1)</script> **bold** @lead" in texts  # plain text, as written
    assert not any("alert" in m.value for m in at.markdown)
    assert any(h.value == "Open questions" for h in at.subheader)
    unread = next(i for i in cm_inbox(engine, actors["lead"]))
    at.button(key=f"ib-read-{unread}").click().run()
    assert not at.exception and at.subheader[0].value == "0 unread"
    at.button(key=f"oq-resolve-{first.id}").click().run()
    with session_scope(engine) as s:
        assert cm.unread_count(s, actors["lead"]) == 0
        assert [r["root"].sample_id for r in cm.open_threads(s, actors["lead"])] == [sids[1]]
    # an annotator has no open-questions queue
    at = open_page("inbox.py", db_url, actors["annotator"], monkeypatch)
    assert not at.exception and not any(h.value == "Open questions" for h in at.subheader)


def cm_inbox(engine: Engine, actor: Actor) -> list[int]:
    with session_scope(engine) as s:
        return [e.id for e in cm.inbox(s, actor, unread=True)]
