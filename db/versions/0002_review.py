"""review: the search index over turns.

SQLite: FTS5 table ``turns_fts`` (trigram tokenizer, rowid = turns.id) filled per dataset by
``kocurate.services.search.index_dataset`` after an import (no INSERT trigger: bulk imports stay
fast), and kept in sync on UPDATE/DELETE of turns by triggers.
PostgreSQL: the pg_trgm extension; the GIN trigram indexes on turns.text / turns.source_text are
built by ``index_dataset`` too (explicit step after an import, see PG_UP).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    (
        "CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5(text, source_text,"
        " tokenize='trigram')"
    ),
    (
        "CREATE TRIGGER IF NOT EXISTS turns_fts_au AFTER UPDATE OF text, source_text ON turns BEGIN"
        " UPDATE turns_fts SET text = new.text, source_text = coalesce(new.source_text, '') WHERE"
        " rowid = new.id; END"
    ),
    (
        "CREATE TRIGGER IF NOT EXISTS turns_fts_ad AFTER DELETE ON turns BEGIN "
        "DELETE FROM turns_fts WHERE rowid = old.id; END"
    ),
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS turns_fts_ad",
    "DROP TRIGGER IF EXISTS turns_fts_au",
    "DROP TABLE IF EXISTS turns_fts",
    "DELETE FROM settings WHERE key = 'search.fts'",
]
# The GIN trigram indexes themselves are built by search.index_dataset after an import: kept up to
# date row by row they made a bulk import 2.6x slower (100k synthetic samples: 88 s with them,
# 34 s without + 37 s to build them afterwards).
PG_UP = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_turns_source_trgm", "DROP INDEX IF EXISTS ix_turns_text_trgm"]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN)
