"""Translation variants (issue 17): grouping by English source hash, keep one, superseded stay out
of exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from kocurate.db import session_scope
from kocurate.errors import PermissionDenied
from kocurate.models import AuditEvent, Sample
from kocurate.services import bulk, variants
from kocurate.services import export as ex
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset

ALPACA_A = [
    [("Name three fruits.", "과일 세 가지를 말하세요."), ("Apple, pear, plum.", "사과, 배, 자두.")],
    [("What is 2+2?", "2+2는?"), ("4", "4")],
]
ALPACA_B = [
    [
        ("Name  three FRUITS.", "세 가지 과일의 이름을 대세요."),
        ("Apple, pear, plum.", "사과, 배, 자두요."),
    ],
    [("Say hello.", "안녕이라고 말하세요."), ("Hello!", "안녕!")],
    [("Say hello.", "인사하세요."), ("Hello!", "안녕하세요!")],
]


def test_variant_groups_keep_one_and_export_leaves_superseded_out(
    engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    lead = actors["lead"]
    da, a = make_dataset(engine, ALPACA_A, name="alpaca-a", status="approved")
    db_, b = make_dataset(engine, ALPACA_B, name="alpaca-b", status="approved")
    assert variants.compute_hashes(engine, lead) == 5
    with session_scope(engine) as s:
        assert variants.summary(s, lead) == {"groups": 2, "samples_in_groups": 4, "hashed": 5}
        groups = variants.list_groups(s, lead)
        by_size = {g["datasets"]: g for g in groups}
        assert set(by_size) == {
            1,
            2,
        }  # one group across datasets (case/space-normalised), one inside alpaca-b
        view = variants.group_view(s, lead, by_size[2]["hash"])
        assert [v["sample_id"] for v in view] == [a[0], b[0]]
        assert view[1]["turns"][0]["ko"] == "세 가지 과일의 이름을 대세요."
        assert variants.list_groups(s, lead, after=groups[0]["hash"]) == groups[1:]
        assert variants.list_groups(s, lead, dataset_id=da) == [by_size[2]]
    with session_scope(engine) as s:
        out = variants.keep(s, lead, b[0], note="more natural")
        variants.keep(s, lead, b[2])
    assert out["changed"] == 1
    with session_scope(engine) as s:
        st = dict(s.execute(select(Sample.id, Sample.status)).tuples().all())
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "bulk")).first()
        assert ev is not None and ev.dataset_id == db_ and ev.details["operation"] == "supersede"
    assert st[a[0]] == "superseded" and st[b[0]] == "approved" and st[b[1]] == "superseded"
    # the existing exporter takes status "approved" only: superseded variants are not written
    m = ex.export(engine, lead, ex.ExportSpec(), tmp_path / "out")
    lines = [
        json.loads(x)
        for x in (
            (tmp_path / "out" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
        )
    ]
    contents = {msg["content"] for rec in lines for msg in rec["messages"]}
    assert (
        "세 가지 과일의 이름을 대세요." in contents and "과일 세 가지를 말하세요." not in contents
    )
    assert "안녕이라고 말하세요." not in contents and "인사하세요." in contents
    assert len(lines) == m["counts"]["total"] == 3
    with session_scope(engine) as s:  # and the whole choice can be undone
        ops = bulk.list_ops(s, lead)
        bulk.revert(s, lead, ops[0]["id"])
        assert s.get(Sample, b[1]).status == "approved"


def test_variants_are_for_leads(engine: Engine, actors: dict[str, Actor]) -> None:
    make_dataset(engine, ALPACA_A)
    with pytest.raises(PermissionDenied):
        variants.compute_hashes(engine, actors["annotator"])
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        variants.keep(s, actors["annotator"], 1)


def test_hash_of_a_sample_whose_turns_are_not_contiguous(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    from sqlalchemy import insert

    from kocurate.models import SampleSignal, Turn

    ds, ids = make_dataset(engine, [[("A first", "가")], [("B first", "나")]])
    with session_scope(engine) as s:  # second turns written later: each sample's turns are two runs
        s.execute(
            insert(Turn),
            [
                {
                    "sample_id": sid,
                    "idx": 1,
                    "role": "assistant",
                    "text": "다",
                    "mt_text": "다",
                    "source_text": f"{name} second",
                    "source_kind": "translation",
                }
                for sid, name in zip(ids, "AB", strict=True)
            ],
        )
    variants.compute_hashes(engine, actors["lead"], ds)
    with session_scope(engine) as s:
        got = dict(s.execute(select(SampleSignal.sample_id, SampleSignal.src_hash)).tuples().all())
    assert got == {
        ids[0]: variants.source_hash(["A first", "A second"]),
        ids[1]: variants.source_hash(["B first", "B second"]),
    }
