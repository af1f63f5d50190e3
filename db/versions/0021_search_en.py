"""search_en: the English source gets its own word index; the trigram index keeps the Korean text.

SQLite: ``turns_fts`` (trigram, ``detail='none'``, external content) indexed both ``text`` and
``source_text``. English is about twice as many characters as its Korean translation, and a trigram
index costs per character: the English half was 60 % of the index's build and merge time at import
(700k samples: about 15 CPU-s of the import's write transaction). Now:

- ``turns_fts``: the Korean text only, trigrams (any 3+ character substring: Korean words carry
  their particles, "마케팅을", so substrings matter);
- ``turns_fts_en``: the English source, words (``unicode61``, diacritics folded), searched by word
  beginnings: "student" finds "students", "Student's"; a piece from the middle of a word does not.

Both are external content (no copy of the text) with ``detail='none'``; triggers keep both in step
with every insert, edit and delete, each only for its own column. Existing databases are indexed
whole here (700k samples, 1.4M turns: 18.5 s). PostgreSQL: unchanged (pg_trgm GIN indexes).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same statements as kocurate.services.search.FTS_DDL at this revision (a migration must not
# import the package's current code)
FTS_DDL = [
    (
        "CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='turns', content_rowid='id',"
        " tokenize='trigram', detail='none', columnsize=0)"
    ),
    (
        "CREATE VIRTUAL TABLE turns_fts_en USING fts5(source_text, content='turns',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 2', detail='none',"
        " columnsize=0)"
    ),
    (
        "CREATE TRIGGER turns_fts_ai AFTER INSERT ON turns BEGIN"
        " INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);"
        " INSERT INTO turns_fts_en(rowid, source_text) VALUES (new.id, new.source_text); END"
    ),
    (
        "CREATE TRIGGER turns_fts_ad AFTER DELETE ON turns BEGIN"
        " INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);"
        " INSERT INTO turns_fts_en(turns_fts_en, rowid, source_text)"
        " VALUES ('delete', old.id, old.source_text); END"
    ),
    (
        "CREATE TRIGGER turns_fts_au AFTER UPDATE OF text ON turns BEGIN"
        " INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);"
        " INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text); END"
    ),
    (
        "CREATE TRIGGER turns_fts_en_au AFTER UPDATE OF source_text ON turns BEGIN"
        " INSERT INTO turns_fts_en(turns_fts_en, rowid, source_text)"
        " VALUES ('delete', old.id, old.source_text);"
        " INSERT INTO turns_fts_en(rowid, source_text) VALUES (new.id, new.source_text); END"
    ),
    # pending changes held before a flush to a segment: fewer segments to merge during an import
    "INSERT INTO turns_fts(turns_fts, rank) VALUES ('hashsize', 16777216)",
    "INSERT INTO turns_fts_en(turns_fts_en, rank) VALUES ('hashsize', 16777216)",
]
DROP = [
    "DROP TRIGGER IF EXISTS turns_fts_ai",
    "DROP TRIGGER IF EXISTS turns_fts_au",
    "DROP TRIGGER IF EXISTS turns_fts_en_au",
    "DROP TRIGGER IF EXISTS turns_fts_ad",
    "DROP TABLE IF EXISTS turns_fts",
    "DROP TABLE IF EXISTS turns_fts_en",
]
# 0012's layout: one trigram index over both columns
OLD_DDL = [
    (
        "CREATE VIRTUAL TABLE turns_fts USING fts5(text, source_text, content='turns',"
        " content_rowid='id', tokenize='trigram', detail='none', columnsize=0)"
    ),
    (
        "CREATE TRIGGER turns_fts_ai AFTER INSERT ON turns BEGIN INSERT INTO"
        " turns_fts(rowid, text, source_text) VALUES (new.id, new.text, new.source_text); END"
    ),
    (
        "CREATE TRIGGER turns_fts_ad AFTER DELETE ON turns BEGIN INSERT INTO"
        " turns_fts(turns_fts, rowid, text, source_text) VALUES ('delete', old.id, old.text,"
        " old.source_text); END"
    ),
    (
        "CREATE TRIGGER turns_fts_au AFTER UPDATE OF text, source_text ON turns BEGIN"
        " INSERT INTO turns_fts(turns_fts, rowid, text, source_text) VALUES ('delete', old.id,"
        " old.text, old.source_text); INSERT INTO turns_fts(rowid, text, source_text) VALUES"
        " (new.id, new.text, new.source_text); END"
    ),
    "INSERT INTO turns_fts(turns_fts, rank) VALUES ('hashsize', 16777216)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in DROP + FTS_DDL:
        op.execute(sql)
    for table in ("turns_fts", "turns_fts_en"):
        op.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
        # one segment each: otherwise the first Saves after the upgrade would merge them
        op.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in DROP + OLD_DDL:
        op.execute(sql)
    op.execute("INSERT INTO turns_fts(turns_fts) VALUES ('rebuild')")
