"""The Korean text is written once at import; ``mt_text`` keeps the machine translation from the
first edit on, whoever makes it (migration 0022)."""

from __future__ import annotations

import json
from pathlib import Path

from seeding import insert_raw
from sqlalchemy import Engine, select, update
from test_ingest import write_jsonl

from kocurate.db import session_scope
from kocurate.ingest import import_files
from kocurate.models import Sample, Turn
from kocurate.services import datasets as ds_service
from kocurate.services import review as rv
from kocurate.services.auth import Actor


def _import(engine: Engine, tmp_path: Path) -> int:
    rows = [
        {"instruction": f"질문 {i}: 고양이를 설명하세요.", "output": f"고양이는 동물입니다 {i}."}
        for i in range(3)
    ]
    path = write_jsonl(tmp_path / "k.jsonl", [json.dumps(r, ensure_ascii=False) for r in rows])
    return import_files(engine, "koalpaca_v11", path).dataset_id


def _turns(engine: Engine, dataset_id: int) -> list[Turn]:
    with session_scope(engine) as s:
        rows = s.scalars(
            select(Turn)
            .join(Sample, Sample.id == Turn.sample_id)
            .where(Sample.dataset_id == dataset_id)
            .order_by(Turn.id)
        ).all()
        s.expunge_all()
        return list(rows)


def test_first_edit_keeps_the_machine_translation(
    engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    ds = _import(engine, tmp_path)
    turns = _turns(engine, ds)
    assert all(t.mt_text is None for t in turns)  # written once
    first, second = turns[0], turns[2]
    a = actors["annotator"]
    with session_scope(engine) as s:
        view = ds_service.sample_view(s, first.sample_id)
        t0 = view["turns"][0]
        assert t0["mt_text"] == t0["text"] == first.text and t0["edited"] is False
        v = rv.save_edit(s, a, first.sample_id, first.id, "질문 0: 고양이를 소개하세요.", 1)
        # the same session reads the original back (the trigger wrote it; the ORM reloads it)
        again = s.get(Turn, first.id)
        assert again is not None and again.mt_text == first.text
        rv.save_edit(s, a, first.sample_id, first.id, "질문 0: 고양이를 짧게 소개하세요.", v)
    with session_scope(engine) as s:
        view = rv.get_sample_view(s, a, first.sample_id)
        t0 = view["turns"][0]
        assert t0["mt_text"] == first.text  # the second edit did not move it
        assert t0["text"] == "질문 0: 고양이를 짧게 소개하세요." and t0["edited"] is True
        assert "-질문 0: 고양이를 설명하세요." in t0["diff"]
        # a writer outside the services (a script): the trigger still keeps the original
        s.execute(update(Turn).where(Turn.id == second.id).values(text="바뀐 문장"))
        # an update that leaves the text as it is keeps mt_text NULL (nothing was changed)
        s.execute(update(Turn).where(Turn.id == turns[1].id).values(text=turns[1].text))
    after = {t.id: t for t in _turns(engine, ds)}
    assert after[second.id].mt_text == second.text and after[second.id].text == "바뀐 문장"
    assert after[turns[1].id].mt_text is None
    assert after[turns[3].id].mt_text is None  # untouched
    # back to the original: not edited any more
    with session_scope(engine) as s:
        s.execute(update(Turn).where(Turn.id == second.id).values(text=second.text))
        view = ds_service.sample_view(s, second.sample_id)
        t = next(t for t in view["turns"] if t["id"] == second.id)
        assert t["edited"] is False and t["mt_text"] == second.text


def test_migration_0022_on_an_existing_database(tmp_path: Path) -> None:
    """SQLite: a database at 0021 keeps its rows; NOT NULL goes without a table rebuild, the trigger
    works, and a downgrade fills the NULLs back in."""
    from alembic import command

    from kocurate import db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0021")
    engine = db.make_engine(url)
    try:
        with engine.begin() as c:  # a dataset imported before: every turn's text twice
            insert_raw(
                c,
                [(1, 1)],
                [
                    (1, 1, 0, "instruction", "옛 질문", "옛 질문", None),
                    (2, 1, 1, "output", "옛 답", "옛 답", None),
                ],
            )
        old_id = 1
    finally:
        engine.dispose()
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            ddl = c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'turns'").scalar()
            assert "mt_text TEXT," in ddl and "text TEXT NOT NULL" in ddl
        kept = _turns(engine, old_id)
        assert all(t.mt_text == t.text for t in kept)  # rows already there keep their copy
        rows = [json.dumps({"instruction": "새 질문", "output": "새 답"}, ensure_ascii=False)]
        new_id = import_files(
            engine, "koalpaca_v11", write_jsonl(tmp_path / "n.jsonl", rows)
        ).dataset_id
        new = _turns(engine, new_id)
        assert [t.mt_text for t in new] == [None, None]
        with session_scope(engine) as s:
            s.execute(update(Turn).where(Turn.id == new[0].id).values(text="고친 질문"))
        assert _turns(engine, new_id)[0].mt_text == "새 질문"
    finally:
        engine.dispose()
    command.downgrade(db.alembic_config(url), "0021")
    engine = db.make_engine(url)
    try:
        with engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert (
                c.exec_driver_sql("SELECT count(*) FROM turns WHERE mt_text IS NULL").scalar() == 0
            )
            ddl = c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'turns'").scalar()
            assert "mt_text TEXT NOT NULL" in ddl
        assert [t.mt_text for t in _turns(engine, new_id)] == ["새 질문", "새 답"]
    finally:
        engine.dispose()
