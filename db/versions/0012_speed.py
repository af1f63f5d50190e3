"""speed: the SQLite search index without its own copy of the text, kept in step by triggers.

SQLite: ``turns_fts`` becomes an external-content FTS5 table (``content='turns'``: the index only,
no second copy of every turn) with ``detail='none'`` (rowids only, no positions: about 6x smaller
and 7x faster to build than the positional index; ``services.search`` checks each candidate turn's
text itself, so hits stay exact). Triggers on INSERT, UPDATE and DELETE of turns keep every turn
indexed, so an import builds the index in the same pass as it writes the turns, and edits are
searchable at once. Existing databases are indexed whole here (about 20 s per million turns).
PostgreSQL: unchanged (pg_trgm GIN indexes, see 0002 and ``services.search``).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same statements as kocurate.services.search.FTS_DDL (a migration must not import the package's
# current code: it describes the schema of this revision)
FTS_DDL = [
    (
        "CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5(text, source_text,"
        " content='turns', content_rowid='id', tokenize='trigram', detail='none', columnsize=0)"
    ),
    (
        "CREATE TRIGGER IF NOT EXISTS turns_fts_ai AFTER INSERT ON turns BEGIN INSERT INTO"
        " turns_fts(rowid, text, source_text) VALUES (new.id, new.text, new.source_text); END"
    ),
    (
        "CREATE TRIGGER IF NOT EXISTS turns_fts_ad AFTER DELETE ON turns BEGIN INSERT INTO"
        " turns_fts(turns_fts, rowid, text, source_text) VALUES ('delete', old.id, old.text,"
        " old.source_text); END"
    ),
    (
        "CREATE TRIGGER IF NOT EXISTS turns_fts_au AFTER UPDATE OF text, source_text ON turns BEGIN"
        " INSERT INTO turns_fts(turns_fts, rowid, text, source_text) VALUES ('delete', old.id,"
        " old.text, old.source_text); INSERT INTO turns_fts(rowid, text, source_text) VALUES"
        " (new.id, new.text, new.source_text); END"
    ),
    # pending changes held before a flush to a segment: 16 MB instead of 1 MB, fewer segments to
    # merge during a large import (a fifth less CPU); small writes flush at commit anyway
    "INSERT INTO turns_fts(turns_fts, rank) VALUES ('hashsize', 16777216)",
]
DROP = [
    "DROP TRIGGER IF EXISTS turns_fts_ai",
    "DROP TRIGGER IF EXISTS turns_fts_au",
    "DROP TRIGGER IF EXISTS turns_fts_ad",
    "DROP TABLE IF EXISTS turns_fts",
]
# 0002's table (its own copy of the text, filled per dataset by search.index_dataset)
OLD_DDL = [
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


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in DROP + FTS_DDL:
        op.execute(sql)
    op.execute("INSERT INTO turns_fts(turns_fts) VALUES ('rebuild')")
    op.execute(
        "DELETE FROM settings WHERE key = 'search.fts'"
    )  # per-dataset bookkeeping: every turn is indexed


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in DROP + OLD_DDL:
        op.execute(sql)  # the old index starts empty: `kocurate search --reindex` fills it
