"""mt_once: an import writes each turn's Korean text once; ``mt_text`` is NULL until the first edit.

``turns.mt_text`` (the machine translation as imported, for diffs and edit statistics) held a second
copy of every Korean text: about a third of the turns table (200k samples: 118 of 314 MB) and of
what an import writes. It is now NULL while ``text`` is still the machine translation, and a trigger
keeps the old text there at the first change of ``text``, whoever makes it (a Save, find and
replace, a bulk revert, a script). Readers take ``coalesce(mt_text, text)``; "edited" stays
``text != mt_text`` (NULL: unedited). Rows already in the database keep their copy.

SQLite: the NOT NULL constraint goes by rewriting the table's CREATE statement (SQLite's documented
way to drop a NOT NULL constraint without rebuilding the table: the stored rows do not change).
PostgreSQL: ``ALTER COLUMN … DROP NOT NULL`` and a BEFORE UPDATE trigger.

Revision ID: 0022
Revises: 0021
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = (
    "CREATE TRIGGER turns_keep_mt AFTER UPDATE OF text ON turns"
    " WHEN old.mt_text IS NULL AND new.mt_text IS NULL AND new.text IS NOT old.text"
    " BEGIN UPDATE turns SET mt_text = old.text WHERE id = new.id; END"
)
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION kocurate_keep_mt() RETURNS trigger AS $$ BEGIN"
    " IF OLD.mt_text IS NULL AND NEW.mt_text IS NULL AND NEW.text IS DISTINCT FROM OLD.text THEN"
    " NEW.mt_text := OLD.text; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
)
PG_TRIGGER = (
    "CREATE TRIGGER turns_keep_mt BEFORE UPDATE OF text ON turns FOR EACH ROW"
    " EXECUTE FUNCTION kocurate_keep_mt()"
)
_NOT_NULL = re.compile(r'("?mt_text"?\s+TEXT)\s+NOT\s+NULL', re.I)


def _sqlite_table_sql(new_sql: str | None = None) -> str:
    """The CREATE statement of ``turns``; with ``new_sql``, that statement replaced (the rows are
    stored the same way either way)."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'turns'"
    ).scalar_one()
    if new_sql is not None and new_sql != sql:
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'turns'", (new_sql,)
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    return str(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        sql = _sqlite_table_sql()
        _sqlite_table_sql(_NOT_NULL.sub(r"\1", sql))
        op.execute("DROP TRIGGER IF EXISTS turns_keep_mt")
        op.execute(SQLITE_TRIGGER)
    else:
        op.alter_column("turns", "mt_text", nullable=True)
        op.execute(PG_FUNCTION)
        op.execute("DROP TRIGGER IF EXISTS turns_keep_mt ON turns")
        op.execute(PG_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS turns_keep_mt")
        op.execute("UPDATE turns SET mt_text = text WHERE mt_text IS NULL")
        sql = _sqlite_table_sql()
        if not _NOT_NULL.search(sql):
            _sqlite_table_sql(re.sub(r'("?mt_text"?\s+TEXT)', r"\1 NOT NULL", sql, count=1))
    else:
        op.execute("DROP TRIGGER IF EXISTS turns_keep_mt ON turns")
        op.execute("DROP FUNCTION IF EXISTS kocurate_keep_mt()")
        op.execute("UPDATE turns SET mt_text = text WHERE mt_text IS NULL")
        op.alter_column("turns", "mt_text", nullable=False)
