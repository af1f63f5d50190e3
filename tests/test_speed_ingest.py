"""The bulk import leaves the search index whole and its merge setting as it was (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from test_ingest import good_lines, write_jsonl

from kocurate.ingest import import_files
from kocurate.services.search import _fts_trigrams


def automerge(engine: Engine) -> str | None:
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT v FROM turns_fts_config WHERE k = 'automerge'").first()
        return None if row is None else str(row[0])


def fts_hits(engine: Engine, phrase: str) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM turns_fts WHERE turns_fts MATCH ?", (_fts_trigrams([phrase]),)
        ).scalar_one()


def test_search_index_complete_and_merge_setting_restored(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 search index is SQLite's")
    with engine.begin() as conn:  # a lead tuned it: the import must not leave its own value behind
        conn.exec_driver_sql("INSERT INTO turns_fts(turns_fts, rank) VALUES ('automerge', 8)")
    lines = good_lines(300) + [
        json.dumps({"instruction": "특이한낱말검색", "output": "답"}, ensure_ascii=False)
    ]
    rep = import_files(engine, "koalpaca_v11", write_jsonl(tmp_path / "a.jsonl", lines))
    assert rep.samples == 301
    assert automerge(engine) == "8"
    assert fts_hits(engine, "특이한낱말") == 1
    with engine.connect() as conn:  # the index agrees with its content table
        conn.exec_driver_sql("INSERT INTO turns_fts(turns_fts, rank) VALUES ('integrity-check', 1)")


def test_failed_import_rolls_back_the_merge_setting_too(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 search index is SQLite's")
    with (
        engine.begin() as conn
    ):  # the database refuses the last turn, after the index took the others
        conn.exec_driver_sql(
            "CREATE TRIGGER boom BEFORE INSERT ON turns WHEN NEW.text = '폭발' "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    lines = good_lines(50) + [
        json.dumps({"instruction": "마지막", "output": "폭발"}, ensure_ascii=False)
    ]
    with pytest.raises(Exception, match="boom"):
        import_files(engine, "koalpaca_v11", write_jsonl(tmp_path / "b.jsonl", lines))
    assert automerge(engine) in (None, "4")  # never set (SQLite's default 4) or as before
    assert fts_hits(engine, "마지막") == 0
