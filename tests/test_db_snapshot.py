"""kocurate.db.read_only / read_session: one snapshot, no write lock, and a pooled connection that
is writable again afterwards (the write flag is cleared after the rollback, even when the body
fails).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from kocurate import db


@pytest.fixture
def table(engine: Engine) -> Engine:
    with engine.begin() as c:
        c.execute(text("CREATE TABLE snap_probe (x INTEGER)"))
        c.execute(text("INSERT INTO snap_probe VALUES (1)"))
    return engine


def _count(conn) -> int:  # type: ignore[no-untyped-def]
    return conn.execute(text("SELECT count(*) FROM snap_probe")).scalar_one()


def _assert_writable(engine: Engine, raw_id: int) -> None:
    """The next checkout is the same pooled connection, and it begins writes as a writer."""
    with engine.connect() as conn:
        assert id(conn.connection.dbapi_connection) == raw_id  # the pool gave back the same one
        assert "write" not in conn.info
        if conn.dialect.name == "postgresql":
            level = conn.execute(text("SHOW transaction_isolation")).scalar_one()
            assert level == "read committed"
        conn.rollback()
        with conn.begin():
            conn.execute(text("INSERT INTO snap_probe VALUES (3)"))
            if conn.dialect.name == "postgresql":
                assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "off"


def test_snapshot_sees_one_state_and_blocks_no_writer(table: Engine) -> None:
    other = db.make_engine(str(table.url.render_as_string(hide_password=False)))
    try:
        with db.read_only(table) as conn:
            raw_id = id(conn.connection.dbapi_connection)
            assert _count(conn) == 1
            with db.session_scope(other) as s:  # a writer commits while the snapshot is open
                s.execute(text("INSERT INTO snap_probe VALUES (2)"))
            assert _count(conn) == 1  # still the snapshot's state
        _assert_writable(table, raw_id)
        with db.read_session(table, jit=False) as s:
            assert s.execute(text("SELECT count(*) FROM snap_probe")).scalar_one() == 3
    finally:
        other.dispose()


def test_pooled_connection_is_writable_after_a_failed_read(table: Engine) -> None:
    raw_id = 0
    with pytest.raises(ZeroDivisionError), db.read_session(table) as s:
        raw_id = id(s.connection().connection.dbapi_connection)
        s.execute(text("SELECT 1 FROM snap_probe")).all()
        1 / 0  # noqa: B018 — the body fails inside the snapshot
    _assert_writable(table, raw_id)
    with db.read_only(table) as conn:
        assert _count(conn) == 2


def test_sqlite_snapshot_takes_no_write_lock(table: Engine) -> None:
    if not db.is_sqlite(table):
        pytest.skip("SQLite's write lock only")
    other = db.make_engine(str(table.url))
    try:
        with db.read_only(table) as conn:
            _count(conn)
            with (
                other.connect() as w
            ):  # BEGIN IMMEDIATE would wait 30 s if the reader held the lock
                w.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")
                with w.begin():
                    w.execute(text("INSERT INTO snap_probe VALUES (5)"))
            assert _count(conn) == 1
    finally:
        other.dispose()
