"""After a bulk import the WAL is copied into the database file by a thread, not inside the
import's commit (issue 19: 1.2 GB and 2.3 s at 700k samples)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from pathlib import Path

from sqlalchemy import Engine, create_engine

from kocurate import db
from kocurate.ingest import import_files


def _rows(n: int) -> list[dict]:
    return [
        {
            "instruction": f"질문 {i}번: 서울의 날씨를 설명하세요",
            "output": f"답 {i}: " + "맑습니다. " * 80,
        }
        for i in range(n)
    ]


def _fresh(tmp_path: Path, template: Path) -> tuple[Path, Engine]:
    path = tmp_path / "k.db"
    shutil.copy(template, path)
    return path, db.make_engine(f"sqlite:///{path}")


def _koalpaca_file(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _rows(n)), encoding="utf-8")
    return src


def _frames(path: Path) -> tuple[int, int]:
    """(frames in the WAL, frames of it copied into the database file), read from the wal-index
    (the ``-shm`` file: ``mxFrame`` of its header, ``nBackfill`` after the header's two copies)
    without copying anything as a checkpoint would."""
    shm = Path(f"{path}-shm").read_bytes()
    return struct.unpack_from("<I", shm, 16)[0], struct.unpack_from("<I", shm, 96)[0]


def test_the_import_commit_leaves_the_copy_to_a_thread(
    tmp_path: Path, sqlite_template: Path, monkeypatch
) -> None:
    path, engine = _fresh(tmp_path, sqlite_template)
    started: list[object] = []
    real = db.checkpoint_behind

    def spy(e):  # noqa: ANN001, ANN202
        started.append(e)
        return real(e)

    monkeypatch.setattr(db, "checkpoint_behind", spy)
    src = _koalpaca_file(tmp_path, 3000)
    try:
        rep = import_files(engine, "koalpaca_v11", src)
        assert rep.samples == 3000
        assert started == [engine]
        db.wait_for_checkpoints()
        log, done = _frames(path)
        assert log > 1000 and done == log  # the thread copied every frame of the import
        with engine.connect() as conn:  # the pooled connection checkpoints as usual again
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        engine.dispose()


def test_without_the_thread_the_frames_stay_in_the_wal(
    tmp_path: Path, sqlite_template: Path, monkeypatch
) -> None:
    """The other side of the test above: the import's commit itself copies nothing."""
    path, engine = _fresh(tmp_path, sqlite_template)
    monkeypatch.setattr(db, "checkpoint_behind", lambda e: None)
    src = _koalpaca_file(tmp_path, 3000)
    try:
        import_files(engine, "koalpaca_v11", src)
        log, done = _frames(path)
        assert log > 1000 and done < log
    finally:
        engine.dispose()


def test_a_second_request_while_one_runs_goes_once_more(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE t (x TEXT)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t VALUES (?)", [("가" * 500,)] * 20_000)
    con.execute("COMMIT")
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        first = db.checkpoint_behind(engine)
        assert first is not None
        con.execute("INSERT INTO t VALUES ('more')")  # written while the copy may still run
        second = db.checkpoint_behind(engine)
        assert second is first or not first.is_alive()
        db.wait_for_checkpoints()
        log, done = _frames(path)
        assert log > 1000 and done == log
    finally:
        con.close()
        engine.dispose()


def test_nothing_to_copy_in_memory() -> None:
    memory = create_engine("sqlite://")
    try:
        assert db.checkpoint_behind(memory) is None
    finally:
        memory.dispose()
