"""Bulk actions (issue 17): preview, apply, revert, collisions with concurrent edits, roles."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.models import AuditEvent, CheckFinding, Claim, Flag, Review, Sample, Turn, utcnow
from kocurate.services import bulk
from kocurate.services import review as rv
from kocurate.services.auth import SYSTEM, Actor
from tests.corpus_helpers import make_dataset, simple


def statuses(engine: Engine, ids: list[int]) -> dict[int, str]:
    with session_scope(engine) as s:
        return dict(
            s.execute(select(Sample.id, Sample.status).where(Sample.id.in_(ids))).tuples().all()
        )


def test_bulk_approve_preview_apply_and_revert(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, *simple(12))
    lead = actors["lead"]
    with session_scope(engine) as s:
        s.execute(Sample.__table__.update().where(Sample.id == ids[0]).values(status="approved"))
    with session_scope(engine) as s:
        p = bulk.preview(
            s, lead, "approve", bulk.Selection(dataset_id=ds, status=None), note="looks fine"
        )
    assert p["selected"] == 12 and p["count"] == 11 and p["unchanged"] == 1
    assert p["sample"][0]["change"] == "new → approved" and p["sample"][0]["text"] == "질문 1"
    assert statuses(engine, ids)[ids[1]] == "new"  # a preview changes nothing
    with session_scope(engine) as s:
        out = bulk.apply(s, lead, p["op_id"])
    assert out["changed"] == 11 and out["skipped"] == []
    assert set(statuses(engine, ids).values()) == {"approved"}
    with session_scope(engine) as s:
        assert (
            s.scalar(select(func.count()).select_from(Review).where(Review.decision == "approve"))
            == 11
        )
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "bulk")).all()
        assert (
            len(ev) == 1
            and ev[0].details["changed"] == 11
            and ev[0].details["note"] == "looks fine"
        )
        versions = dict(
            s.execute(select(Sample.id, Sample.version).where(Sample.id.in_(ids))).tuples().all()
        )
    assert versions[ids[0]] == 1 and versions[ids[1]] == 2
    with session_scope(engine) as s:
        r = bulk.revert(s, lead, p["op_id"])
    assert r["reverted"] == 11
    st = statuses(engine, ids)
    assert st[ids[0]] == "approved" and all(st[i] == "new" for i in ids[1:])
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 0
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "bulk")
            )
            == 2
        )
        with pytest.raises(KocurateError, match="only an applied operation"):
            bulk.revert(s, lead, p["op_id"])


def test_bulk_apply_skips_sample_edited_since_preview(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, *simple(5))
    with session_scope(engine) as s:
        p = bulk.preview(
            s, actors["lead"], "reject", bulk.Selection(dataset_id=ds), reason="garbled"
        )
    with session_scope(engine) as s:  # an annotator edits one sample between preview and apply
        turn = s.scalar(select(Turn.id).where(Turn.sample_id == ids[2], Turn.idx == 0))
        rv.save_edit(s, actors["annotator"], ids[2], turn, "고친 질문", 1)
    with session_scope(engine) as s:
        out = bulk.apply(s, actors["lead"], p["op_id"])
    assert out["changed"] == 4 and out["skipped"] == [ids[2]]
    assert f"edited since the preview: {ids[2]}" in out["message"]
    st = statuses(engine, ids)
    assert st[ids[2]] == "new" and sum(v == "rejected" for v in st.values()) == 4
    with session_scope(engine) as s:
        notes = set(s.scalars(select(Review.note)))
        assert notes == {f"garbled — bulk operation {p['op_id']}"}


def test_revert_refuses_when_a_sample_changed_since(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, *simple(4))
    lead = actors["lead"]
    with session_scope(engine) as s:
        op = bulk.run(s, lead, "needs_fix", bulk.Selection(dataset_id=ds))["op_id"]
    with session_scope(engine) as s:
        rv.decide(s, actors["annotator"], ids[1], "approve")
    after_decision = statuses(engine, ids)[
        ids[1]
    ]  # disputed under the unanimous rule (lead said needs fix)
    with (
        session_scope(engine) as s,
        pytest.raises(KocurateError, match=f"changed since \\({ids[1]}\\)"),
    ):
        bulk.revert(s, lead, op)
    assert statuses(engine, ids)[ids[0]] == "needs_fix"  # nothing reverted
    with session_scope(engine) as s:
        out = bulk.revert(s, lead, op, skip_changed=True)
    assert out["reverted"] == 3 and out["left_alone"] == [ids[1]]
    st = statuses(engine, ids)
    assert st[ids[1]] == after_decision and [st[i] for i in (ids[0], ids[2], ids[3])] == ["new"] * 3


def test_flags_findings_and_assign_round_trip(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, *simple(6))
    lead = actors["lead"]
    now = utcnow()
    with session_scope(engine) as s:
        s.add(
            Flag(
                sample_id=ids[0],
                category="hate",
                origin="check",
                state="active",
                created_at=now,
                updated_at=now,
            )
        )
        s.add(
            Flag(
                sample_id=ids[1],
                category="hate",
                origin="model",
                state="confirmed",
                created_at=now,
                updated_at=now,
            )
        )
        for sid in ids[:3]:
            s.add(
                CheckFinding(
                    sample_id=sid, dataset_id=ds, check="untranslated", message="x", data={}
                )
            )
        s.add(
            CheckFinding(
                sample_id=ids[3], dataset_id=ds, check="length_ratio", message="x", data={}
            )
        )
    with session_scope(engine) as s:  # selection by check: three samples
        p = bulk.preview(
            s,
            lead,
            "add_flag",
            bulk.Selection(dataset_id=ds, check="untranslated"),
            flag="untranslated",
            note="bulk",
        )
        assert p["count"] == 3
        add_op = bulk.apply(s, lead, p["op_id"])["op_id"]
        rm_op = bulk.run(s, lead, "remove_flag", bulk.Selection(dataset_id=ds), flag="hate")[
            "op_id"
        ]
        clr = bulk.run(
            s, lead, "clear_findings", bulk.Selection(dataset_id=ds), check="untranslated"
        )
        assign = bulk.run(
            s,
            lead,
            "assign",
            bulk.Selection(dataset_id=ds, sample_ids=ids[4:]),
            assignee="annotator2",
        )
    assert clr["changed"] == 3 and assign["changed"] == 2
    with session_scope(engine) as s:
        assert (
            s.scalar(select(func.count()).select_from(Flag).where(Flag.category == "untranslated"))
            == 3
        )
        assert set(s.scalars(select(Flag.state).where(Flag.category == "hate"))) == {"cleared"}
        assert set(
            s.scalars(select(CheckFinding.state).where(CheckFinding.check == "untranslated"))
        ) == {"cleared"}
        assert (
            s.scalar(select(CheckFinding.state).where(CheckFinding.check == "length_ratio"))
            == "open"
        )
        assert rv.my_claims(s, actors["annotator2"], ds) == ids[4:]
    with session_scope(engine) as s:
        for op in (assign["op_id"], clr["op_id"], rm_op, add_op):
            bulk.revert(s, lead, op)
    with session_scope(engine) as s:
        assert (
            s.scalar(select(func.count()).select_from(Flag).where(Flag.category == "untranslated"))
            == 0
        )
        assert dict(
            s.execute(select(Flag.sample_id, Flag.state).where(Flag.category == "hate"))
            .tuples()
            .all()
        ) == {ids[0]: "active", ids[1]: "confirmed"}
        assert set(s.scalars(select(CheckFinding.state))) == {"open"}
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
        assert [o["state"] for o in bulk.list_ops(s, lead)] == ["reverted"] * 4


def test_annotators_are_refused_and_bad_input_is_named(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, _ = make_dataset(engine, *simple(3))
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            bulk.preview(s, actors["annotator"], "approve", bulk.Selection(dataset_id=ds))
        with pytest.raises(KocurateError, match="reject needs a reason"):
            bulk.preview(s, actors["lead"], "reject", bulk.Selection(dataset_id=ds))
        with pytest.raises(KocurateError, match="unknown bulk action"):
            bulk.preview(s, actors["lead"], "explode", bulk.Selection(dataset_id=ds))
        with pytest.raises(KocurateError, match="no active user"):
            bulk.preview(s, SYSTEM, "assign", bulk.Selection(dataset_id=ds), assignee="nobody")
        op = bulk.run(s, actors["lead"], "approve", bulk.Selection(dataset_id=ds))["op_id"]
        with pytest.raises(PermissionDenied):
            bulk.revert(s, actors["annotator"], op)
