"""Find and replace with preview/apply/revert, and fix propagation (translation memory) — issue
17."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.models import Edit, Sample, Turn
from kocurate.services import bulk, replace, tm
from kocurate.services import review as rv
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset

PAIRS = [
    [
        ("What is machine learning?", "기계 학습이란 무엇인가요?"),
        ("Machine learning is a field of AI.", "기계 학습은 AI의 한 분야입니다."),
    ],
    [
        ("Explain machine learning to a child.", "아이에게 기계 학습을 설명하세요."),
        ("Sure.", "물론입니다."),
    ],
    [("Learn how machines work.", "기계가 작동하는 방식을 배우세요."), ("OK", "좋아요")],
    [
        ("Deep learning uses machine learning ideas.", "딥러닝은 기계 학습 아이디어를 씁니다."),
        ("Yes", "네"),
    ],
    [("The weather is nice.", "날씨가 좋습니다."), ("Indeed", "정말요")],
]


def texts(engine: Engine, sid: int) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Turn.text).where(Turn.sample_id == sid).order_by(Turn.idx)))


def test_replace_preview_apply_history_and_revert(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, PAIRS)
    lead = actors["lead"]
    spec = replace.ReplaceSpec(pattern="기계 학습", replacement="머신러닝")
    with session_scope(engine) as s:
        p = replace.preview(s, lead, bulk.Selection(dataset_id=ds), spec)
    assert (p["samples"], p["turns"], p["occurrences"]) == (3, 4, 4)
    first = p["changes"][0]
    assert (
        first["before"] == "기계 학습이란 무엇인가요?"
        and first["after"] == "머신러닝이란 무엇인가요?"
    )
    assert "-기계 학습이란" in first["diff"] and "+머신러닝이란" in first["diff"]
    assert texts(engine, ids[0])[0] == "기계 학습이란 무엇인가요?"  # preview writes no text
    with session_scope(engine) as s:
        out = bulk.apply(s, lead, p["op_id"])  # the same entry point as every bulk operation
    assert out["changed"] == 3
    assert texts(engine, ids[0]) == ["머신러닝이란 무엇인가요?", "머신러닝은 AI의 한 분야입니다."]
    assert texts(engine, ids[2])[0] == "기계가 작동하는 방식을 배우세요."
    with session_scope(engine) as s:
        h = rv.history(s, lead, ids[0])
        assert [(e["before"], e["after"], e["user"], e["version"]) for e in h] == [
            ("기계 학습이란 무엇인가요?", "머신러닝이란 무엇인가요?", "lead", 2),
            ("기계 학습은 AI의 한 분야입니다.", "머신러닝은 AI의 한 분야입니다.", "lead", 2),
        ]
        smp = s.get(Sample, ids[0])
        assert smp.version == 2 and smp.ko_chars == len(
            "머신러닝이란 무엇인가요?머신러닝은 AI의 한 분야입니다."
        )
    with session_scope(engine) as s:
        bulk.revert(s, lead, p["op_id"])
    assert texts(engine, ids[0]) == [PAIRS[0][0][1], PAIRS[0][1][1]]
    with session_scope(engine) as s:
        kinds = [
            e.kind
            for e in s.scalars(select(Edit).where(Edit.sample_id == ids[0]).order_by(Edit.id))
        ]
        assert kinds == ["manual", "manual", "restore", "restore"]


def test_replace_skips_sample_edited_since_preview(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, PAIRS)
    with session_scope(engine) as s:
        p = replace.preview(
            s,
            actors["lead"],
            bulk.Selection(dataset_id=ds),
            replace.ReplaceSpec(pattern="기계 학습", replacement="머신러닝"),
        )
    with session_scope(engine) as s:
        tid = s.scalar(select(Turn.id).where(Turn.sample_id == ids[1], Turn.idx == 1))
        rv.save_edit(s, actors["annotator"], ids[1], tid, "네, 물론입니다.", 1)
    with session_scope(engine) as s:
        out = replace.apply(s, actors["lead"], p["op_id"])
    assert out["changed"] == 2 and out["skipped"] == [ids[1]] and str(ids[1]) in out["message"]
    assert texts(engine, ids[1]) == ["아이에게 기계 학습을 설명하세요.", "네, 물론입니다."]


def test_regex_english_side_and_role(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, PAIRS)
    lead = actors["lead"]
    with session_scope(engine) as s:
        p = replace.preview(
            s,
            lead,
            bulk.Selection(dataset_id=ds),
            replace.ReplaceSpec(
                pattern=r"[Mm]achine (\w+)",
                replacement=r"ML-\1",
                regex=True,
                side="en",
                role="user",
            ),
        )
        assert p["turns"] == 3 and {c["role"] for c in p["changes"]} == {"user"}
        replace.apply(s, lead, p["op_id"])
        src = s.scalar(select(Turn.source_text).where(Turn.sample_id == ids[0], Turn.idx == 0))
        assert src == "What is ML-learning?"
        assert s.scalar(select(Edit.field).where(Edit.sample_id == ids[0])) == "source_text"
        with pytest.raises(KocurateError, match="not a valid regular expression"):
            replace.preview(
                s, lead, bulk.Selection(dataset_id=ds), replace.ReplaceSpec("(", "x", regex=True)
            )
        with pytest.raises(KocurateError, match="replace with"):
            replace.preview(
                s, lead, bulk.Selection(dataset_id=ds), replace.ReplaceSpec("a", r"\2", regex=True)
            )
        with pytest.raises(KocurateError, match="same text"):
            replace.preview(s, lead, bulk.Selection(dataset_id=ds), replace.ReplaceSpec("네", "네"))
        with pytest.raises(PermissionDenied):
            replace.preview(
                s, actors["annotator"], bulk.Selection(dataset_id=ds), replace.ReplaceSpec("a", "b")
            )


def test_fix_propagation_offers_the_same_phrase_elsewhere(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, PAIRS)
    ann, lead = actors["annotator"], actors["lead"]
    with session_scope(engine) as s:
        tid = s.scalar(select(Turn.id).where(Turn.sample_id == ids[0], Turn.idx == 0))
        rv.save_edit(s, ann, ids[0], tid, "머신러닝이란 무엇인가요?", 1)
        edit_id = s.scalar(select(Edit.id).where(Edit.turn_id == tid))
    with session_scope(engine) as s:
        offer = tm.suggest_from_edit(s, ann, edit_id)
    assert offer is not None
    assert (offer["old"], offer["new"], offer["en_phrase"], offer["samples"]) == (
        "기계 학습",
        "머신러닝",
        "machine learning",
        2,
    )
    with session_scope(
        engine
    ) as s:  # "apply to 2 other samples" opens the ordinary replace preview
        p = replace.preview(
            s, lead, bulk.Selection(dataset_id=ds, exclude_ids=[ids[0]]), offer["spec"]
        )
        assert p["samples"] == 2 and {c["sample_id"] for c in p["changes"]} == {ids[1], ids[3]}
        bulk.discard(s, lead, p["op_id"])
        assert tm.suggest(s, ann, tid, "기계 학습이란", "기계 학습이란") is None
    with session_scope(engine) as s:
        fix = tm.add_fix(s, lead, "기계 학습", "머신러닝", en_phrase="machine learning")
        dry = tm.apply_fixes(s, lead, ds, dry_run=True)
        assert dry == [{"fix": fix, "samples": 3, "turns": 3, "occurrences": 3}]
        done = tm.apply_fixes(s, lead, ds)
        assert done[0]["samples"] == 3
    assert texts(engine, ids[1])[0] == "아이에게 머신러닝을 설명하세요."
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        tm.add_fix(s, ann, "a", "b")
