"""Search: Korean substrings via the trigram index (SQLite FTS5 / PostgreSQL pg_trgm), short-query
fallback, index maintenance on edits, keyset pages, role check."""

from __future__ import annotations

from pathlib import Path

import pytest
from seeding import insert_raw
from sqlalchemy import Engine, delete, insert, select, text, update

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


def make(
    engine: Engine, name: str = "s", texts: list[tuple[str, str | None]] = TEXTS
) -> tuple[int, list[int]]:
    now = utcnow()
    with session_scope(engine) as s:
        ds = Dataset(name=name, kind="alpaca", fingerprint=name, source_files=[], imported_at=now)
        s.add(ds)
        s.flush()
        conn = s.connection()
        ids = (
            conn.execute(
                insert(Sample).returning(Sample.id, sort_by_parameter_order=True),
                [
                    {
                        "dataset_id": ds.id,
                        "key": str(i),
                        "position": i,
                        "status": "new",
                        "version": 1,
                        "meta": {},
                        "align_status": "aligned",
                        "n_turns": 1,
                        "ko_chars": len(ko),
                        "en_chars": len(en or ""),
                        "dup_keep": True,
                        "checked_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, (ko, en) in enumerate(texts)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(Turn),
            [
                {
                    "sample_id": sid,
                    "idx": 0,
                    "role": "output",
                    "text": ko,
                    "mt_text": ko,
                    "source_text": en,
                    "source_kind": "translation" if en else None,
                }
                for sid, (ko, en) in zip(ids, texts, strict=True)
            ],
        )
        return ds.id, list(ids)


def sids(hits: list[dict]) -> list[int]:
    return [h["sample_id"] for h in hits]


@pytest.mark.parametrize("indexed", [True, False])
def test_search_korean_english_and_short(
    engine: Engine, actors: dict[str, Actor], indexed: bool
) -> None:
    ds, ids = make(engine)
    sqlite = engine.dialect.name == "sqlite"
    if indexed:
        n = search.index_dataset(engine, ds)
        assert n == (4 if sqlite else 0)
    a = actors["annotator"]
    with session_scope(engine) as s:
        # SQLite: the insert trigger indexed the turns as they were written
        assert search.indexed_datasets(s) == ({ds} if indexed or sqlite else set())
        assert search.count_unindexed(s) == (0 if indexed or sqlite else 1)
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
    # a second dataset is found at once (SQLite: indexed by the insert trigger; PostgreSQL: the GIN
    # indexes are current), and after a rebuild of the index
    ds2, ids2 = make(engine, "t", [("고양이 두 마리", None)])
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "고양이")) == [ids[0], ids[2], ids2[0]]
        # and the turns written after that import are indexed as before (the import fills the
        # index in one statement, without the per-row trigger, then makes the trigger again)
        tid2 = s.scalar(select(Turn.id).where(Turn.sample_id == ids2[0]))
    with session_scope(engine) as s:
        rv.save_edit(s, a, ids2[0], tid2, "고양이 세 마리와 여우", 1)
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "여우")) == [ids2[0]]
        if s.get_bind().dialect.name == "sqlite":
            triggers = s.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            assert {"turns_fts_ai", "turns_fts_au", "turns_fts_ad"} <= set(triggers.scalars())
    assert search.reindex(engine).keys() == {ds, ds2}
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "고양이", dataset_id=ds2)) == [ids2[0]]
        # the queue's text filter uses the same index
        assert rv.next_sample(s, a, ds, rv.QueueFilter(text="호랑이")) == ids[1]


def test_search_needs_permission(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        search.search(s, Actor(5, "x", "viewer"), "고양이")


def _fts_ok(engine: Engine) -> None:
    """FTS5's own check of an external-content index against the turns it was built from."""
    if engine.dialect.name == "sqlite":
        with session_scope(engine) as s:
            for t in search.FTS_TABLES:
                s.execute(text(f"INSERT INTO {t}({t}, rank) VALUES ('integrity-check', 1)"))


def test_triggers_keep_the_index_in_step(engine: Engine, actors: dict[str, Actor]) -> None:
    """Edits, source edits, deletes and inserts by any writer: search finds the new text and not the
    old."""
    ds, ids = make(engine)
    a = actors["annotator"]
    with session_scope(engine) as s:
        tids = {sid: s.scalar(select(Turn.id).where(Turn.sample_id == sid)) for sid in ids}
        rv.save_edit(s, a, ids[0], tids[ids[0]], "호랑이가 창밖을 본다", 1)
        # a writer outside the services (a script, a migration): the triggers still follow
        s.execute(
            update(Turn)
            .where(Turn.id == tids[ids[1]])
            .values(source_text="The wolf sleeps in the forest")
        )
        s.execute(
            update(Turn)
            .where(Turn.id == tids[ids[3]])
            .values(source_text=None, text="자바스크립트 언어")
        )
    _fts_ok(engine)
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "호랑이가")) == [ids[0]]
        assert sids(search.search(s, a, "고양이가")) == []  # the old text is gone from the index
        assert sids(search.search(s, a, "고양이")) == [ids[2]]
        assert sids(search.search(s, a, "wolf", field="en")) == [ids[1]]
        assert sids(search.search(s, a, "park")) == []
        assert sids(search.search(s, a, "자바스크립트")) == [ids[3]]
        assert sids(search.search(s, a, "파이썬")) == []
        s.execute(delete(Turn).where(Turn.id == tids[ids[2]]))
        s.execute(
            insert(Turn).values(
                sample_id=ids[2],
                idx=1,
                role="output",
                text="새 고양이 문장",
                mt_text="",
                source_text=None,
                source_kind=None,
            )
        )
    _fts_ok(engine)
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "<script>")) == []
        assert sids(search.search(s, a, "새 고양이")) == [ids[2]]
    assert search.reindex(engine) == {ds: 4 if engine.dialect.name == "sqlite" else 0}
    _fts_ok(engine)
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "고양이")) == [ids[2]]


def test_trigrams_in_any_order_are_not_a_hit(engine: Engine, actors: dict[str, Actor]) -> None:
    """The SQLite index has no positions: a turn with every trigram of a word, but not the word, is
    no hit."""
    ds, ids = make(engine, "g", [("abcXbcd", "bcdXabc"), ("abcd", None), ("ABCD efg", None)])
    a = actors["annotator"]
    with session_scope(engine) as s:
        assert sids(search.search(s, a, "abcd")) == [ids[1], ids[2]]
        assert sids(search.search(s, a, "abcd", field="en")) == []
        assert sids(search.search(s, a, "bcdXa", field="ko")) == []
        assert sids(search.search(s, a, "bcdXa", field="en")) == [ids[0]]
        assert sids(search.search(s, a, "cd efg")) == [
            ids[2]
        ]  # two words, either order in the turn
        assert rv.next_sample(s, a, ds, rv.QueueFilter(text="abcd")) in (ids[1], ids[2])


def test_index_keeps_no_copy_of_the_text(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's FTS5 index")
    with session_scope(engine) as s:
        names = set(s.scalars(text("SELECT name FROM sqlite_master WHERE name LIKE 'turns_fts%'")))
    for t in search.FTS_TABLES:
        assert t in names and f"{t}_content" not in names and f"{t}_docsize" not in names


def _upgraded_from(
    tmp_path: Path,
    revision: str,
    samples: list[tuple[int, int]],
    turns: list[tuple],
    *old_sql: str,
) -> Engine:
    """A database at ``revision`` holding these rows (and what ``old_sql`` did there), upgraded to
    the head revision."""
    from kocurate import db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, revision)
    engine = db.make_engine(url)
    try:
        with engine.begin() as c:
            insert_raw(c, samples, turns)
            for sql in old_sql:
                c.exec_driver_sql(sql)
    finally:
        engine.dispose()
    db.upgrade(url)
    return db.make_engine(url)


def test_migration_0012_indexes_an_existing_database(tmp_path: Path) -> None:
    """A database from before 0012 (the index with its own copy, one dataset indexed, one not) comes
    out with every turn in the new index."""
    engine = _upgraded_from(
        tmp_path,
        "0011",
        [(1, 1), (2, 1), (3, 2)],
        [
            (1, 1, 0, "output", "고양이가 잔다", "", "The cat sleeps"),
            (2, 2, 0, "output", "강아지가 뛴다", "", None),
            (3, 3, 0, "output", "고양이 세 마리", "", None),
        ],
        # the old way: dataset 1 indexed after its import, dataset 2 not yet
        "INSERT INTO turns_fts(rowid, text, source_text) SELECT id, text, "
        "coalesce(source_text, '') FROM turns WHERE sample_id IN (1, 2)",
        "INSERT INTO settings (key, value, updated_at) VALUES ('search.fts', "
        "'{\"datasets\": [1]}', '2026-01-01 00:00:00')",
    )
    try:
        _fts_ok(engine)
        a = Actor(1, "ann", "annotator")
        with session_scope(engine) as s:
            assert search.count_unindexed(s) == 0
            assert sids(search.search(s, a, "고양이")) == [1, 3]
            assert sids(search.search(s, a, "cat sleeps", field="en")) == [1]
            s.execute(update(Turn).where(Turn.id == 3).values(text="호랑이 세 마리"))
        with session_scope(engine) as s:
            assert sids(search.search(s, a, "고양이")) == [1]
            assert sids(search.search(s, a, "호랑이")) == [3]
        _fts_ok(engine)
    finally:
        engine.dispose()


def test_index_is_one_segment_after_an_import_and_a_rebuild(tmp_path: Path) -> None:
    # segments left by bulk writes would be merged by SQLite's automerge inside a later Save (a
    # 0.8 s Save at 200k samples): index_dataset and reindex merge them at once
    from kocurate import db
    from kocurate.ingest import import_files

    url = f"sqlite:///{tmp_path / 'seg.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)

    def rows(n: int) -> str:
        return "".join(
            f'{{"instruction": "질문 {n}-{i} 머신러닝", "input": "", "output": "답변 {i}"}}\n'
            for i in range(300)
        )

    def segments() -> int:
        with engine.connect() as c:
            return int(c.execute(text("SELECT count(DISTINCT segid) FROM turns_fts_idx")).scalar())

    for n in range(3):  # three imports: three transactions of index writes, three segments
        (tmp_path / f"d{n}.jsonl").write_text(rows(n), encoding="utf-8")
        import_files(engine, "koalpaca", tmp_path / f"d{n}.jsonl", name=f"d{n}")
    assert segments() > 1
    search.index_dataset(engine, 1)
    assert segments() == 1
    with session_scope(engine) as s:
        s.execute(update(Turn).where(Turn.id == 1).values(text="바뀐 문장 머신러닝"))
    assert segments() == 2  # a small write adds its own small segment
    search.reindex(engine)
    assert segments() == 1
    engine.dispose()


def test_english_is_searched_by_word_beginnings(engine: Engine, actors: dict[str, Actor]) -> None:
    """The English source: whole words and word beginnings, any case and accent, several pages;
    a query matches when the Korean text holds all its words or the English source does."""
    texts = [
        ("학생들이 공부한다", "The students study in the café."),
        ("선생님", "A teacher's e-mail to STUDENT-council"),
        ("고양이 학생", "The cat sleeps"),
        ("국어", "Understudies wait backstage"),
    ] + [(f"문장 {i}", f"Student number {i}") for i in range(60)]
    ds, ids = make(engine, "w", texts)
    a = actors["annotator"]
    with session_scope(engine) as s:
        hits = sids(search.search(s, a, "student", field="en", limit=500))
        assert hits[:2] == [ids[0], ids[1]] and ids[3] not in hits  # "understudies": mid-word
        assert len(hits) == 62
        # pages of hits in id order, by keyset
        first = search.search(s, a, "student", field="en", limit=20)
        rest = search.search(s, a, "student", field="en", limit=500, after=first[-1]["turn_id"])
        assert sids(first) + sids(rest) == hits
        assert sids(search.search(s, a, "CAFE", field="en")) == []  # the exact test: "café"
        assert sids(search.search(s, a, "café", field="en")) == [ids[0]]
        assert sids(search.search(s, a, "e-mail", field="en")) == [ids[1]]
        assert sids(search.search(s, a, "teacher's", field="en")) == [ids[1]]
        assert sids(search.search(s, a, "in", field="en")) == [ids[0]]  # short: a scan
        # both: Korean or English, each holding every word
        assert sids(search.search(s, a, "학생 cat")) == []
        assert sids(search.search(s, a, "cat sleeps")) == [ids[2]]
        assert sids(search.search(s, a, "학생")) == [ids[0], ids[2]]
        assert sids(search.search(s, a, "students study")) == [ids[0]]
        found = s.scalars(
            select(Sample.id).where(Sample.id.in_(search.matching_samples(s, "sleeps 고양이")))
        ).all()
        assert found == []
        found = s.scalars(
            select(Sample.id).where(Sample.id.in_(search.matching_samples(s, "학생")))
        ).all()
        assert sorted(found) == [ids[0], ids[2]]


def test_migration_0021_splits_the_index(tmp_path: Path) -> None:
    """A database at 0020 (one trigram index over both columns) comes out with the Korean text in
    the trigram index and the English source in the word index, every turn in both."""
    engine = _upgraded_from(
        tmp_path,
        "0020",
        [(1, 1), (2, 1)],
        [
            (1, 1, 0, "output", "고양이가 잔다", "", "The cat sleeps"),
            (2, 2, 0, "output", "강아지가 뛴다", "", None),
        ],
    )
    try:
        _fts_ok(engine)
        with engine.connect() as c:  # merged: the first Saves after the upgrade have none to do
            for t in search.FTS_TABLES:
                assert c.exec_driver_sql(f"SELECT count(DISTINCT segid) FROM {t}_idx").scalar() == 1
        a = Actor(1, "ann", "annotator")
        with session_scope(engine) as s:
            assert sids(search.search(s, a, "고양이")) == [1]
            assert sids(search.search(s, a, "sleep", field="en")) == [1]
            s.execute(update(Turn).where(Turn.id == 2).values(source_text="The dog runs"))
        with session_scope(engine) as s:
            assert sids(search.search(s, a, "dog")) == [2]
        _fts_ok(engine)
    finally:
        engine.dispose()
