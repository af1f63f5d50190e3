"""The schema on both backends: migrations from empty, down and up again, equal to the models; error
messages."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from kocurate import db
from kocurate.db import DatabaseUnavailable
from kocurate.models import Base

PG_URL = os.environ.get("KOCURATE_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "pg"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: not even the template's migrations."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not PG_URL:
        pytest.skip("KOCURATE_TEST_PG_URL not set")
    name = f"kc_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
    finally:
        db.get_engine.cache_clear()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _model_diffs(url: str) -> list:
    """What the migrated schema lacks compared with kocurate.models (extra indexes of the DB are
    fine)."""
    eng = db.make_engine(url)
    try:
        with eng.connect() as conn:

            def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
                # objects only the database has (search indexes, FTS tables) are the owners'
                # business
                return not (reflected and compare_to is None)

            ctx = MigrationContext.configure(
                conn, opts={"include_object": include, "compare_type": True}
            )
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        eng.dispose()
    out = []
    for d in diffs:
        item = d[0] if isinstance(d, list) else d
        # a nullable flag the migration spelt differently is not a missing column
        if isinstance(item, tuple) and item[0] in ("modify_nullable", "modify_default"):
            continue
        out.append(d)
    return out


def test_upgrade_from_empty_matches_models(empty_url: str) -> None:
    assert db.current_revision(empty_url) is None
    assert db.upgrade(empty_url) == db.head_revision()
    assert _model_diffs(empty_url) == []
    db.ensure_schema(empty_url)  # at head: a no-op
    assert db.current_revision(empty_url) == db.head_revision()


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    from alembic import command

    db.upgrade(empty_url)
    command.downgrade(db.alembic_config(empty_url), "base")
    assert db.current_revision(empty_url) is None
    eng = db.make_engine(empty_url)
    from sqlalchemy import inspect

    left = set(inspect(eng).get_table_names()) - {"alembic_version"}
    eng.dispose()
    assert left & {t.name for t in Base.metadata.sorted_tables} == set()
    assert db.upgrade(empty_url) == db.head_revision()


def test_pg_template_and_per_test_database(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    """conftest: each test's database is fresh (cloned from the migrated template) and at head."""
    assert db.current_revision(db_url) == db.head_revision()
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM samples")).scalar() == 0
        c.execute(
            text(
                "INSERT INTO settings(key, value, updated_at) VALUES ('isolation', '{}',"
                " '2026-01-01')"
            )
        )
    if db_url.startswith("postgresql"):
        with engine.connect() as c:
            assert c.execute(text("SELECT current_database()")).scalar().startswith("kc_test_")
            assert c.execute(
                text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            ).scalar() in (0, 1)


def test_pg_unreachable_is_one_sentence_without_password() -> None:
    eng = db.make_engine("postgresql+psycopg://kc:very-secret@127.0.0.1:1/kocurate")
    with pytest.raises(DatabaseUnavailable) as exc:
        with eng.connect():
            pass
    eng.dispose()
    assert exc.value.reason == "unreachable"
    assert "very-secret" not in str(exc.value) and "127.0.0.1" in str(exc.value)


def test_pg_read_only_transaction_is_named(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite: tests/test_faults.py)")
    with pytest.raises(DatabaseUnavailable, match="read-only"):
        with db.session_scope(engine) as s:
            s.execute(text("SET TRANSACTION READ ONLY"))
            s.execute(
                text(
                    "INSERT INTO settings(key, value, updated_at) VALUES ('x', '{}', '2026-01-01')"
                )
            )
