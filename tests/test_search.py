"""Search: Korean substrings via the trigram index (SQLite FTS5 / PostgreSQL pg_trgm), short-query fallback,
index maintenance on edits, keyset pages, role check."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select

from kocurate.db import session_scope
from kocurate.errors import PermissionDenied
from kocurate.models import Dataset, Sample, Turn, utcnow
from kocurate.services import review as rv
from kocurate.services import search
from kocurate.services.auth import Actor

TEXTS = [
    ("고양이가 창밖을 본다", "The cat looks out of the window"),
    ("강아지는 공원에서 뛴다", "The dog runs in the park"),
    ("<script>alert(1)</script> 고양이 100%", "100% cats_and_dogs"),
    ("프로그래밍 언어 파이썬", None),
]


def make(engine: Engine, name: str = "s", texts: list[tuple[str, str | None]] = TEXTS) -> tuple[int, list[int]]:
    now = utcnow()
    with session_scope(engine) as s:
        ds = Dataset(name=name, kind="alpaca", fingerprint=name, source_files=[], imported_at=now)
        s.add(ds)
        s.flush()
        conn = s.connection()
        ids = conn.execute(insert(Sample).returning(Sample.id, sort_by_parameter_order=True), [
            {"dataset_id": ds.id, "key": str(i), "position": i, "status": "new", "version": 1, "meta": {},
             "align_status": "aligned", "n_turns": 1, "ko_chars": len(ko), "en_chars": len(en or ""),
             "dup_keep": True, "checked_version": 0, "created_at": now, "updated_at": now}
            for i, (ko, en) in enumerate(texts)]).scalars().all()
        conn.execute(insert(Turn), [{"sample_id": sid, "idx": 0, "role": "output", "text": ko, "mt_text": ko,
                                     "source_text": en, "source_kind": "translation" if en else None}
                                    for sid, (ko, en) in zip(ids, texts, strict=True)])
        return ds.id, list(ids)


def sids(hits: list[dict]) -> list[int]:
    return [h["sample_id"] for h in hits]


@pytest.mark.parametrize("indexed", [True, False])
def test_search_korean_english_and_short(engine: Engine, actors: dict[str, Actor], indexed: bool) -> None:
    ds, ids = make(engine)
    if indexed:
        n = search.index_dataset(engine, ds)
        assert n == (4 if engine.dialect.name == "sqlite" else 0)
    a = actors["annotator"]
    with session_scope(engine) as s:
        assert search.indexed_datasets(s) == ({ds} if indexed else set())
        assert search.count_unindexed(s) == (0 if indexed else 1)
        assert sids(search.search(s, a, "고양이")) == [ids[0], ids[2]]
        assert sids(search.search(s, a, "고양이 창밖")) == [ids[0]]
        assert sids(search.search(s, a, "WINDOW")) == [ids[0]]  # case-insensitive
        assert sids(search.search(s, a, "고양이", field="en")) == []
        assert sids(search.search(s, a, "park", field="ko")) == []
        assert sids(search.search(s, a, "공원")) == [ids[1]]  # 2 characters: substring fallback
        assert sids(search.search(s, a, "100%")) == [ids[2]]  # LIKE wildcards are literal
        assert sids(search.search(s, a, "s_a")) == [ids[2]]
        assert sids(search.search(s, a, "<script>")) == [ids[2]]
        hit = search.search(s, a, "파이썬", dataset_id=ds)[0]
        assert hit["dataset"] == "s" and hit["en"] == "" and "파이썬" in hit["ko"]
        first = search.search(s, a, "고양이", limit=1)
        assert sids(first) == [ids[0]]
        assert sids(search.search(s, a, "고양이", after=first[0]["turn_id"])) == [ids[2]]
        assert search.search(s, a, "   ") == []


def test_index_follows_edits_and_new_datasets(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make(engine)
    search.index_dataset(engine, ds)
    a = actors["annotator"]
    with session_scope(engine) as s:
        tid = s.scalar(select(Turn.id).where(Turn.sample_id == ids[1]))
        rv.save_edit(s, a, ids[1], tid, "호랑이가 공원에서 잔다", 1)
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "호랑이")) == [ids[1]]
        assert sids(search.search(s, a, "강아지는")) == []
    # a second dataset not yet indexed is still found (substring scan) and then by the index
    ds2, ids2 = make(engine, "t", [("고양이 두 마리", None)])
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "고양이")) == [ids[0], ids[2], ids2[0]]
    assert search.reindex(engine).keys() == {ds, ds2}
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "고양이", dataset_id=ds2)) == [ids2[0]]
        # the queue's text filter uses the same index
        assert rv.next_sample(s, a, ds, rv.QueueFilter(text="호랑이")) == ids[1]


def test_search_needs_permission(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        search.search(s, Actor(5, "x", "viewer"), "고양이")
