"""Guidelines, comments with mentions, the inbox (issue 21 A): services on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from kocurate import db
from kocurate.demo import HERE
from kocurate.errors import KocurateError, NotFound, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import AuditEvent, Comment, InboxItem, Sample
from kocurate.services import comments as cm
from kocurate.services import export as ex
from kocurate.services import guidelines as gl
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor


@pytest.fixture
def data(engine: Engine, actors: dict[str, Actor]) -> dict[str, Any]:
    rep = import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="demo-ko"
    )
    with db.session_scope(engine) as s:
        ids = list(
            s.scalars(
                select(Sample.id).where(Sample.dataset_id == rep.dataset_id).order_by(Sample.id)
            )
        )
    return {"ds": rep.dataset_id, "samples": ids}


def _actions(engine: Engine) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db.session_scope(engine) as s:
        return [
            (e.action, e.target, dict(e.details or {}))
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


# ------------------------------------------------------------------------------ guidelines


def test_only_leads_write_guidelines_and_versions_diff(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any]
) -> None:
    ann, lead = actors["annotator"], actors["lead"]
    with db.session_scope(engine) as s:
        with pytest.raises(PermissionDenied, match="annotator"):
            gl.set_guidelines(s, ann, None, "# Rules\n")
    with db.session_scope(engine) as s:
        assert gl.effective(s, data["ds"]) is None
        v1, added = gl.set_guidelines(s, lead, None, "# Rules\n\nBe kind.\n", note="first")
        assert added and v1.version == 1 and v1.project_wide and v1.author == "lead"
        same, added = gl.set_guidelines(s, lead, None, "# Rules\n\nBe kind.\n")
        assert not added and same.version == 1  # the same text adds no version
        v2, _ = gl.set_guidelines(
            s, actors["admin"], None, "# Rules\n\nBe kind.\nCheck numbers.\n", note="numbers"
        )
        assert v2.version == 2
        # a dataset without its own guidelines follows the project default; its own ones win
        assert gl.effective(s, data["ds"]).version == 2  # type: ignore[union-attr]
        d1, _ = gl.set_guidelines(s, lead, data["ds"], "# Dataset rules\n")
        assert gl.effective(s, data["ds"]) == d1 and gl.effective(s, None) == v2
    with db.session_scope(engine) as s:
        hist = gl.history(s, None)
        assert [(h.version, h.author, h.note) for h in hist] == [
            (2, "admin", "numbers"),
            (1, "lead", "first"),
        ]
        d = gl.diff_versions(s, None, 2)
        assert "+Check numbers." in d and "v1 (lead)" in d and "v2 (admin)" in d
        assert "+# Rules" in gl.diff_versions(s, None, 1)  # the first version against nothing
        with pytest.raises(NotFound, match="version 7"):
            gl.get_version(s, None, 7)
        with pytest.raises(KocurateError, match="empty"):
            gl.set_guidelines(s, lead, None, "  \n")
        with pytest.raises(KocurateError, match="NUL.*line 2"):
            gl.set_guidelines(s, lead, None, "a\nb\x00")
        with pytest.raises(NotFound):
            gl.set_guidelines(s, lead, 999_999, "# x")
    events = [(a, t, d) for a, t, d in _actions(engine) if a == "guidelines"]
    assert [(t, d.get("scope")) for _a, t, d in events] == [
        ("v1", "project"),
        ("v2", "project"),
        ("v1", "dataset"),
    ]


def test_read_confirmation_per_user_and_version(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any]
) -> None:
    ann, lead = actors["annotator"], actors["lead"]
    with db.session_scope(engine) as s:
        gl.set_guidelines(s, lead, None, "# A\n")
        assert gl.unconfirmed(s, lead, data["ds"]) is None  # the author has read it
        v = gl.unconfirmed(s, ann, data["ds"])
        assert v is not None and v.version == 1
        gl.confirm_read(s, ann, v.scope, v.version)
        gl.confirm_read(s, ann, v.scope, v.version)  # once: again is a no-op
    with db.session_scope(engine) as s:
        assert gl.unconfirmed(s, ann, data["ds"]) is None
        assert gl.readers(s, lead, gl.PROJECT, 1) == ["annotator", "lead"]
        with pytest.raises(PermissionDenied):
            gl.readers(s, ann, gl.PROJECT, 1)
        gl.set_guidelines(s, lead, None, "# A\n\nmore\n")
    with db.session_scope(engine) as s:
        again = gl.unconfirmed(s, ann, data["ds"])
        assert again is not None and again.version == 2  # a new version asks again
        assert gl.unconfirmed(s, actors["annotator2"], data["ds"]).version == 2  # type: ignore[union-attr]
    assert sum(a == "guidelines_read" for a, _t, _d in _actions(engine)) == 1


def test_sections_anchors_search_and_the_shipped_default(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    body = (
        "intro\n# Title {#top}\ntext\n```\n# not a heading\n```\n## 비난 {#censure}\n욕설 없는"
        " 깎아내림\n## Same\n## Same\n"
    )
    secs = gl.sections(body)
    assert [(x.anchor, x.level) for x in secs] == [
        ("intro", 0),
        ("top", 1),
        ("censure", 2),
        ("same", 2),
        ("same-2", 2),
    ]
    assert "# not a heading" in secs[1].body
    assert [x.anchor for x in gl.search(body, "깎아")] == ["censure"]
    assert gl.slug("질문과 댓글!") == "질문과-댓글"
    text = gl.default_text()
    anchors = {x.anchor for x in gl.sections(text)}
    assert set(gl.ANCHORS) <= anchors and {"fixes", "decisions"} <= anchors
    for a in gl.ANCHORS:  # each AIHub category: a definition with examples
        assert gl.section(text, a).body.count("- 예:") >= 1  # type: ignore[union-attr]
    with db.session_scope(engine) as s:
        v = gl.install_default(s, SYSTEM)
        assert v is not None and v.body == text and gl.install_default(s, SYSTEM) is None


# ------------------------------------------------------------------------------ comments and inbox


def test_mentions_replies_inbox_and_resolution(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any]
) -> None:
    ann, ann2, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    sid = data["samples"][0]
    with db.session_scope(engine) as s:
        with pytest.raises(KocurateError, match="@nobody"):
            cm.add_comment(s, ann, sid, "is this 비난 or 혐오? @lead @nobody")
        assert s.scalar(select(Comment.id)) is None  # nothing half-done
        with pytest.raises(KocurateError, match="no turn 9"):
            cm.add_comment(s, ann, sid, "x", turn=9)
        with pytest.raises(KocurateError, match="needs some text"):
            cm.add_comment(s, ann, sid, "   ")
        root = cm.add_comment(s, ann, sid, "is this 비난 or 혐오? @lead, mail a@b.com", turn=2)
        assert root.mentions == ["lead"] and root.turn_idx == 1 and root.is_open
    with db.session_scope(engine) as s:
        assert cm.unread_count(s, lead) == 1 and cm.unread_count(s, ann) == 0
        item = cm.inbox(s, lead, unread=True)[0]
        assert (
            item.kind == "mention"
            and item.comment.id == root.id
            and item.comment.body.startswith("is this")
        )
        # a reply: the thread's author hears of it; a mention of annotator2 too
        reply = cm.add_comment(
            s, lead, 0, "혐오: it targets a group. cc @annotator2.", reply_to=root.id
        )
        assert (
            reply.parent_id == root.id
            and reply.sample_id == sid
            and reply.mentions == ["annotator2"]
        )
    with db.session_scope(engine) as s:
        assert cm.unread_count(s, ann) == 1 and cm.inbox(s, ann, unread=True)[0].kind == "reply"
        assert cm.unread_count(s, ann2) == 1 and cm.inbox(s, ann2, unread=True)[0].kind == "mention"
        assert cm.unread_count(s, lead) == 1  # the lead's own reply is not in their inbox
        # annotator2 took part now: the next reply reaches both others
        cm.add_comment(s, ann2, 0, "thanks", reply_to=reply.id)
    with db.session_scope(engine) as s:
        assert cm.unread_count(s, ann) == 2 and cm.unread_count(s, lead) == 2
        assert cm.mark_read(s, lead, [cm.inbox(s, lead, unread=True)[0].id]) == 1
        assert cm.unread_count(s, lead) == 1
        assert cm.mark_read(s, lead) == 1 and cm.unread_count(s, lead) == 0
        assert len(cm.inbox(s, lead, unread=False)) == 2
        assert cm.mark_sample_read(s, ann, sid) == 2 and cm.unread_count(s, ann) == 0
        [thread] = cm.threads(s, ann, sid)
        assert thread.root.id == root.id and [r.author for r in thread.replies] == [
            "lead",
            "annotator2",
        ]
        assert cm.count_on_sample(s, sid) == (1, 1)
        # only the author or a lead resolves
        with pytest.raises(PermissionDenied, match="author or a lead"):
            cm.set_resolved(s, ann2, reply.id)
    with db.session_scope(engine) as s:
        done = cm.set_resolved(s, ann, root.id)
        assert not done.is_open and done.resolved_by == "annotator"
        assert cm.set_resolved(s, ann, root.id).resolved_by == "annotator"  # again: no-op
        assert cm.set_resolved(
            s, lead, reply.id, resolved=False
        ).is_open  # a lead reopens (via a reply's id)
        assert cm.set_resolved(s, lead, root.id).resolved_by == "lead"
        assert cm.count_on_sample(s, sid) == (1, 0)
        cm.add_comment(s, ann2, 0, "one more question", reply_to=root.id)  # a reply reopens it
        assert cm.count_on_sample(s, sid) == (1, 1)
    acts = [(a, t, d) for a, t, d in _actions(engine) if a.startswith("comment")]
    assert [a for a, _t, _d in acts] == [
        "comment",
        "comment",
        "comment",
        "comment_resolve",
        "comment_reopen",
        "comment_resolve",
        "comment",
    ]
    assert (
        acts[0][1] == f"sample {sid}"
        and acts[0][2]["mentions"] == ["lead"]
        and acts[0][2]["turn"] == 2
    )


def test_open_questions_queue_is_for_leads_and_keyset_paged(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any]
) -> None:
    ann, lead = actors["annotator"], actors["lead"]
    with db.session_scope(engine) as s:
        made = [
            cm.add_comment(s, ann, sid, f"question {i}")
            for i, sid in enumerate(data["samples"][:5])
        ]
        cm.add_comment(s, lead, 0, "answer", reply_to=made[4].id)
        cm.set_resolved(s, lead, made[0].id)
    with db.session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            cm.open_threads(s, ann)
        page1 = cm.open_threads(s, lead, limit=2)
        assert [r["root"].body for r in page1] == ["question 4", "question 3"]
        assert (
            page1[0]["replies"] == 1
            and page1[0]["last"].body == "answer"
            and page1[1]["last"] is None
        )
        page2 = cm.open_threads(s, lead, limit=2, before_id=page1[-1]["root"].id)
        assert [r["root"].body for r in page2] == ["question 2", "question 1"]
        assert (
            cm.open_threads(s, lead, before_id=page2[-1]["root"].id) == []
        )  # question 0 is resolved
        assert len(cm.open_threads(s, lead, dataset_id=data["ds"])) == 4
        assert cm.open_threads(s, lead, dataset_id=data["ds"] + 1000) == []
        assert [c.body for c in cm.list_comments(s, ann, limit=10)][-1] == "question 0"


def test_disabled_user_cannot_be_mentioned_and_case_is_forgiven(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any]
) -> None:
    with db.session_scope(engine) as s:
        user_service.set_active(s, SYSTEM, "annotator2", False)
    with db.session_scope(engine) as s:
        with pytest.raises(KocurateError, match="@annotator2"):
            cm.add_comment(s, actors["lead"], data["samples"][0], "@annotator2 look")
        c = cm.add_comment(s, actors["annotator"], data["samples"][0], "@LEAD look")
        assert c.mentions == ["lead"]
        assert s.scalar(select(InboxItem.user_id)) == actors["lead"].id


def test_comments_are_never_exported(
    engine: Engine, actors: dict[str, Actor], data: dict[str, Any], tmp_path: Path
) -> None:
    lead = actors["lead"]
    secret = "COMMENT-MARKER 이 댓글은 내보내면 안 됩니다"
    with db.session_scope(engine) as s:
        s.execute(update(Sample).where(Sample.dataset_id == data["ds"]).values(status="approved"))
        for sid in data["samples"]:
            cm.add_comment(s, actors["annotator"], sid, f"{secret} @lead")
        gl.set_guidelines(s, lead, data["ds"], f"# {secret}\n")
    out = tmp_path / "out"
    m = ex.export(engine, lead, ex.ExportSpec(), out)
    assert m["counts"]["total"] > 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for p in files:
        raw = p.read_bytes()
        assert b"COMMENT-MARKER" not in raw and "댓글은".encode() not in raw, p
