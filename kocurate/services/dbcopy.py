"""Copy a whole kocurate database to another one (typically SQLite → PostgreSQL when a team grows).

One read snapshot of the source, one transaction on the destination: the copy is complete, with
every table's row count (and highest id) checked against the source before it commits, or the
destination is left as it was (migrated and empty). Rows move in primary-key batches (keyset, no
OFFSET) so 700k samples / 1.4M turns never sit in memory; PostgreSQL destinations are written with
COPY. PostgreSQL sequences are set past the copied ids so that new rows do not collide.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

from .. import config, db
from ..errors import Conflict, KocurateError, NotFound, UsageError
from ..i18n import N_
from ..models import Base
from .auth import Actor

BATCH = 5_000
Progress = Callable[[str, int, int], None]  # (table, rows copied, rows in table)


@dataclass
class TableCount:
    table: str
    source: int
    copied: int
    max_id: Any = None


@dataclass
class CopyReport:
    source: str
    destination: str
    tables: list[TableCount] = field(default_factory=list)
    sequences_reset: list[str] = field(default_factory=list)
    not_copied: list[str] = field(
        default_factory=list
    )  # tables outside the schema (search indexes…)
    search_index: int | None = None  # turns put into the destination's search index
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def verified(self) -> bool:
        return all(t.source == t.copied for t in self.tables)

    def lines(self) -> list[str]:
        out = [
            f"{t.table:<20} {t.source:>12,} → {t.copied:>12,} "
            f" {'ok' if t.source == t.copied else 'MISMATCH'}"
            for t in self.tables
        ]
        if self.sequences_reset:
            out.append(f"sequences reset: {len(self.sequences_reset)}")
        if self.not_copied:
            out.append(
                f"not copied (derived, not part of the schema): {', '.join(self.not_copied)}"
            )
        if self.search_index is not None:
            out.append(f"search index rebuilt on the destination ({self.search_index:,} turns)")
        return out


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _tables() -> list[Table]:
    return list(
        Base.metadata.sorted_tables
    )  # parents before children: foreign keys hold throughout


def _pk(table: Table) -> Any:
    cols = list(table.primary_key.columns)
    if len(cols) != 1:
        raise KocurateError(
            msgid=N_("table {name} has no single-column primary key; cannot page through it"),
            name=table.name,
        )
    return cols[0]


def copy_database(
    src_url: str,
    dst_url: str,
    actor: Actor,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of the source database into the empty destination (created at the head
    revision)."""
    actor.require("db")
    src_url, dst_url = config.db_url(src_url), config.db_url(dst_url)
    if make_url(src_url) == make_url(dst_url):
        raise UsageError(msgid=N_("source and destination are the same database"))
    src = make_url(src_url)
    if (
        src.get_backend_name() == "sqlite"
        and src.database
        and not src.database.startswith("file:")
        and src.database != ":memory:"
    ):
        if not Path(src.database).is_file():
            raise NotFound(msgid=N_("no database at {database}"), database=src.database)
    head = db.head_revision()
    rev = db.current_revision(src_url)
    if rev is None:
        raise UsageError(
            msgid=N_("{source} is not a kocurate database (no schema revision)"),
            source=_safe(src_url),
        )
    if rev != head:
        raise UsageError(
            msgid=N_(
                "{source} is at revision {rev}, this kocurate at {head}: run "
                "`kocurate --db SRC db upgrade` on the source first"
            ),
            source=_safe(src_url),
            rev=rev,
            head=head,
        )
    db.upgrade(dst_url)  # creates the schema on a new, empty destination; a no-op when at head
    report = CopyReport(_safe(src_url), _safe(dst_url))
    start = time.perf_counter()
    src_engine, dst_engine = db.make_engine(src_url), db.make_engine(dst_url)
    try:
        known = {t.name for t in _tables()} | {"alembic_version"}
        report.not_copied = sorted(
            n
            for n in inspect(src_engine).get_table_names()
            if n not in known and not n.startswith("sqlite_")
        )
        with db.read_only(src_engine) as sc, dst_engine.connect() as dc, dc.begin():
            for table in _tables():
                n = dc.execute(select(func.count()).select_from(table)).scalar() or 0
                if n:
                    raise Conflict(
                        msgid=N_(
                            "the destination is not empty (table {name} has {n:,} rows); "
                            "copy into a new, empty database"
                        ),
                        name=table.name,
                        n=n,
                    )
            rebuild = _drop_secondary_indexes(dc) if dc.dialect.name == "postgresql" else []
            for table in _tables():
                report.tables.append(_copy_table(sc, dc, table, batch, progress))
            for (
                ddl
            ) in rebuild:  # one sorted build per index beats updating it row by row (GIN trigram)
                dc.execute(text(ddl))
            for (
                tc
            ) in report.tables:  # verify inside the destination's transaction, before it commits
                tc.copied = (
                    dc.execute(
                        select(func.count()).select_from(Base.metadata.tables[tc.table])
                    ).scalar()
                    or 0
                )
                got_max = dc.execute(select(func.max(_pk(Base.metadata.tables[tc.table])))).scalar()
                if tc.copied != tc.source or got_max != tc.max_id:
                    raise KocurateError(
                        msgid=N_(
                            "table {table}: {source:,} rows in the source but {copied:,} "
                            "copied; nothing was committed"
                        ),
                        table=tc.table,
                        source=tc.source,
                        copied=tc.copied,
                    )
            if dc.dialect.name == "postgresql":
                report.sequences_reset = _reset_sequences(dc)
        report.search_index = _rebuild_search_index(dst_engine)
    finally:
        src_engine.dispose()
        dst_engine.dispose()
    report.seconds = time.perf_counter() - start
    return report


def _batches(sc: Connection, table: Table, batch: int) -> Iterator[list[Any]]:
    pk = _pk(table)
    last = None
    while True:
        q = select(table).order_by(pk).limit(batch)
        if last is not None:
            q = q.where(pk > last)
        rows = sc.execute(q).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], pk.name)


def _copy_table(
    sc: Connection, dc: Connection, table: Table, batch: int, progress: Progress | None
) -> TableCount:
    total = sc.execute(select(func.count()).select_from(table)).scalar() or 0
    max_id = sc.execute(select(func.max(_pk(table)))).scalar()
    done = 0
    use_copy = dc.dialect.name == "postgresql" and dc.dialect.driver == "psycopg"
    for rows in _batches(sc, table, batch):
        first_id = getattr(rows[0], _pk(table).name)
        try:
            if use_copy:
                _pg_copy(dc, table, rows)
            else:
                dc.execute(insert(table), [r._asdict() for r in rows])
        except KocurateError:
            raise
        except Exception as exc:  # name the place: table and id range, and the driver's first line
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise KocurateError(
                msgid=N_("table {name}, rows from id {first_id}: {first}; nothing was committed"),
                name=table.name,
                first_id=first_id,
                first=first,
            ) from exc
        done += len(rows)
        if progress:
            progress(table.name, done, total)
    if progress and not done:
        progress(table.name, 0, 0)
    return TableCount(table.name, total, done, max_id)


def _pg_copy(dc: Connection, table: Table, rows: list[Any]) -> None:
    cols = list(table.columns)
    is_json = [isinstance(c.type, JSON) for c in cols]
    is_text = [isinstance(c.type, String | Text) for c in cols]
    names = ", ".join(dc.dialect.identifier_preparer.quote(c.name) for c in cols)
    raw = dc.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(
            f"COPY {dc.dialect.identifier_preparer.quote(table.name)} ({names}) FROM STDIN"
        ) as cp,
    ):
        for r in rows:
            out = []
            for i, v in enumerate(r):
                if is_json[i]:
                    try:
                        v = json.dumps(v, ensure_ascii=False, allow_nan=False)
                    except ValueError as exc:
                        raise KocurateError(
                            msgid=N_(
                                "table {table}, id {row_id}, column {column}: {exc} (PostgreSQL "
                                "JSON has no NaN/Infinity)"
                            ),
                            table=table.name,
                            row_id=r[0],
                            column=cols[i].name,
                            exc=exc,
                        ) from exc
                    if "\\u0000" in v:
                        raise KocurateError(
                            msgid=N_(
                                "table {table}, id {row_id}, column {column}: a NUL character, "
                                "which PostgreSQL cannot store"
                            ),
                            table=table.name,
                            row_id=r[0],
                            column=cols[i].name,
                        )
                elif is_text[i] and v is not None and "\x00" in v:
                    raise KocurateError(
                        msgid=N_(
                            "table {table}, id {row_id}, column {column}: a NUL character, "
                            "which PostgreSQL cannot store"
                        ),
                        table=table.name,
                        row_id=r[0],
                        column=cols[i].name,
                    )
                out.append(v)
            cp.write_row(out)


def _rebuild_search_index(engine: Engine) -> int | None:
    """The copied ``settings`` say which datasets the source had indexed; make that true here."""
    from . import search

    return sum(search.reindex(engine).values())


def _drop_secondary_indexes(dc: Connection) -> list[str]:
    """Drop the destination's plain indexes (not those behind keys); returns the DDL to rebuild
    them.

    Transactional like the rest: a failed copy rolls the drop back too.
    """
    rows = dc.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)"
        ),
        {"tables": [t.name for t in _tables()]},
    ).all()
    dc.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    q = dc.dialect.identifier_preparer.quote
    for name, _ddl in rows:
        dc.execute(text(f"DROP INDEX {q(name)}"))
    return [ddl for _name, ddl in rows]


def _reset_sequences(dc: Connection) -> list[str]:
    """Set each serial column's sequence to the highest copied id (next insert gets max + 1)."""
    done = []
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        seq = dc.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if seq is None:
            continue
        q = dc.dialect.identifier_preparer.quote
        dc.execute(
            text(
                f"SELECT setval(:s, COALESCE((SELECT MAX({q(pk[0].name)}) FROM {q(table.name)}),"
                f" 1), (SELECT MAX({q(pk[0].name)}) FROM {q(table.name)}) IS NOT NULL)"
            ),
            {"s": seq},
        )
        done.append(seq)
    return done
