"""Full-text search over Korean and English turn text that works for Korean.

SQLite: two FTS5 indexes, both external content (``content='turns'``: no second copy of the text),
``detail='none'`` (rowids only: about 6x smaller and 7x faster to build than a positional index),
rowid = turns.id:

- ``turns_fts``: the Korean text, trigram tokenizer: any 3+ character substring (Korean words carry
  their particles: "마케팅" must find "마케팅을");
- ``turns_fts_en``: the English source, words (``unicode61``): each word of the query is looked up
  as a word beginning ("student" finds "students"). A trigram index of the English, about twice as
  many characters as the Korean, had cost 60 % of the search index's time at import (migration
  0021).

Triggers on INSERT/UPDATE/DELETE of turns keep every turn indexed, so an import builds the index in
the same pass as it writes, and an edit is found by its new text at once. An index only proposes
candidates; each candidate's text is then checked for the words themselves, so hits are exact. A
turn matches when its Korean text holds every word, or (field ``both``) its English source does.
``reindex`` rebuilds both indexes from the turns.

PostgreSQL: ``pg_trgm`` GIN indexes on turns.text and turns.source_text serve ``ILIKE '%q%'``.
``index_dataset`` builds them the first time (not the migration: maintained row by row they slowed
bulk imports 2.6x); afterwards PostgreSQL keeps them current. Without them search still works, by
scans.

Words shorter than 3 characters cannot use an index: a query of only such words falls back to a
substring scan (bounded by ``limit``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, Select, and_, column, func, or_, select, table, text, union
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..db import session_scope
from ..models import Dataset, Sample, Turn
from .auth import Actor

_FTS = table("turns_fts", column("rowid"))
_FTS_EN = table("turns_fts_en", column("rowid"))
MIN_TRIGRAM = 3
PG_FAST_MS = (
    150  # PostgreSQL: how long the early-stopping plan may try before the trigram index takes over
)


def _is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "sqlite"


def _fts_exists(session: Session) -> bool:
    # the insert trigger is what makes the index whole (a table without it would miss new turns)
    return (
        session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'turns_fts_ai'")
        ).first()
        is not None
    )


def _pg_indexed(session: Session) -> bool:
    return (
        session.execute(
            text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_turns_text_trgm'")
        ).first()
        is not None
    )


def indexed_datasets(session: Session) -> set[int]:
    """Datasets whose turns are in the search index (all, once the index exists)."""
    indexed = _fts_exists(session) if _is_sqlite(session) else _pg_indexed(session)
    return set(session.scalars(select(Dataset.id))) if indexed else set()


def _dataset_turns(session: Session, dataset_id: int) -> int:
    return (
        session.scalar(
            select(func.count(Turn.id))
            .join(Sample, Sample.id == Turn.sample_id)
            .where(Sample.dataset_id == dataset_id)
        )
        or 0
    )


def index_dataset(engine: Engine, dataset_id: int) -> int:
    """Make sure one dataset's turns are in the search index; returns its number of turns (SQLite)
    or 0.

    SQLite: the triggers indexed the turns as they were written, so this only builds the index where
    it is missing (a database from before migration 0012 without it) and merges the segments the
    import left (``_optimize``). PostgreSQL: builds the trigram indexes the first time; afterwards a
    no-op.
    """
    with session_scope(engine) as s:
        if not _is_sqlite(s):
            _ensure_pg_indexes(s)
            return 0
        if not _fts_exists(s):
            _create_fts(s)
        _optimize(s)
        # the count the import recorded (counting 1.4M turns would cost more than the call is worth)
        recorded = s.scalar(select(Dataset.n_turns).where(Dataset.id == dataset_id))
        return int(recorded or _dataset_turns(s, dataset_id))


def _optimize(session: Session) -> None:
    """Merge the index's segments into one, after a bulk write (an import, a rebuild). Otherwise
    the segments a bulk write leaves are merged by SQLite's automerge during the next small writes:
    the 11th and 15th Save after a rebuild at 200k samples took 799 and 234 ms instead of 5 ms.
    Costs about 2 s at 200k samples, once."""
    for t in FTS_TABLES:
        session.execute(text(f"INSERT INTO {t}({t}) VALUES ('optimize')"))


def reindex(engine: Engine) -> dict[int, int]:
    """(Re)build the search index from the turns; returns turns indexed per dataset."""
    with session_scope(engine) as s:
        if not _is_sqlite(s):
            _ensure_pg_indexes(s)
            return {d: 0 for d in s.scalars(select(Dataset.id).order_by(Dataset.id))}
        if _fts_exists(s):
            for t in FTS_TABLES:
                s.execute(text(f"INSERT INTO {t}({t}) VALUES ('rebuild')"))
        else:
            _create_fts(s)
        _optimize(s)
        counts = dict(
            s.execute(
                select(Sample.dataset_id, func.count(Turn.id))
                .join(Turn, Turn.sample_id == Sample.id)
                .group_by(Sample.dataset_id)
            )
            .tuples()
            .all()
        )
        return {
            d: int(counts.get(d, 0)) for d in s.scalars(select(Dataset.id).order_by(Dataset.id))
        }


# the statements of migration 0021 (there for every database at head; here for one made without it)
# each search index and the column of turns it holds
FTS_COLUMNS = {"turns_fts": "text", "turns_fts_en": "source_text"}
FTS_TABLES = tuple(FTS_COLUMNS)
FTS_DDL = [
    "DROP TRIGGER IF EXISTS turns_fts_au",
    "DROP TRIGGER IF EXISTS turns_fts_en_au",
    "DROP TRIGGER IF EXISTS turns_fts_ad",
    "DROP TABLE IF EXISTS turns_fts",
    "DROP TABLE IF EXISTS turns_fts_en",
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
    # pending changes held before a flush to a segment: 16 MB instead of 1 MB means fewer segments
    # to merge during a large import (a fifth less CPU for the index); small writes flush at commit
    # anyway
    "INSERT INTO turns_fts(turns_fts, rank) VALUES ('hashsize', 16777216)",
    "INSERT INTO turns_fts_en(turns_fts_en, rank) VALUES ('hashsize', 16777216)",
    "INSERT INTO turns_fts(turns_fts) VALUES ('rebuild')",
    "INSERT INTO turns_fts_en(turns_fts_en) VALUES ('rebuild')",
]
# built once, then kept current by PostgreSQL; a larger pending list makes later bulk imports
# cheaper (100k samples: 68 s instead of 88 s with the default 4 MB)
PG_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    (
        "CREATE INDEX IF NOT EXISTS ix_turns_text_trgm ON turns USING gin (text gin_trgm_ops) "
        "WITH (gin_pending_list_limit = 65536)"
    ),
    (
        "CREATE INDEX IF NOT EXISTS ix_turns_source_trgm ON turns USING gin (source_text"
        " gin_trgm_ops) WITH (gin_pending_list_limit = 65536)"
    ),
]


def _create_fts(session: Session) -> None:
    for ddl in FTS_DDL:
        session.execute(text(ddl))


def _ensure_pg_indexes(session: Session) -> None:
    for ddl in PG_DDL:
        session.execute(text(ddl))


# ------------------------------------------------------------------------------------------- query


def _terms(query: str) -> tuple[list[str], list[str]]:
    words = [w for w in query.split() if w]
    return [w for w in words if len(w) >= MIN_TRIGRAM], [w for w in words if len(w) < MIN_TRIGRAM]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(col: Any, word: str) -> Any:
    return col.ilike(_like(word), escape="\\")


def _fts_trigrams(words: list[str]) -> str:
    """Every trigram of every word, ANDed (a detail='none' index has no positions, so no phrases):
    the candidates hold them all somewhere; the caller checks the words themselves."""
    grams = dict.fromkeys(
        w[i : i + MIN_TRIGRAM] for w in words for i in range(len(w) - MIN_TRIGRAM + 1)
    )
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


_WORD = re.compile(r"[^\W_]+")  # what the unicode61 tokenizer keeps of a word: letters and digits


def _fts_en_words(words: list[str]) -> str | None:
    """The English index's query: every word piece of 3+ characters as a word beginning, ANDed
    ("student" finds "students"); None where no piece is that long (a scan then)."""
    pieces = dict.fromkeys(p for w in words for p in _WORD.findall(w) if len(p) >= MIN_TRIGRAM)
    if not pieces:
        return None
    return " AND ".join('"' + p.replace('"', '""') + '"*' for p in pieces)


def _turn_id_range(session: Session, dataset_id: int) -> tuple[int, int]:
    """The smallest and largest turn id of a dataset (four index lookups)."""
    first, last = session.execute(
        select(func.min(Sample.id), func.max(Sample.id)).where(Sample.dataset_id == dataset_id)
    ).one()
    if first is None:
        return 0, -1
    lo = session.scalar(select(func.min(Turn.id)).where(Turn.sample_id == first))
    hi = session.scalar(select(func.max(Turn.id)).where(Turn.sample_id == last))
    return int(lo or 0), int(hi if hi is not None else -1)


def _turn_hits(
    session: Session,
    query: str,
    field: str,
    dataset_id: int | None,
    ordered: bool = False,
    status: str | None = None,
) -> list[tuple[Select[Any], Any]]:
    """SELECTs of matching turn ids (and sample ids), each with the column to order it by; a turn
    matches when the Korean text holds every word, or (``both``) the English source does.

    SQLite: one SELECT per search index (the Korean trigram index, the English word index) where
    the words can use it, else one scan; ``both`` with both indexes gives two, whose hits the caller
    merges. ``ordered``: the caller pages through hits in id order; the FTS index then drives the
    join (its doclists are in rowid order, so LIMIT stops early even for very common words).
    """
    long, short = _terms(query)
    words = long + short
    sqlite = _is_sqlite(session)
    indexed = sqlite and _fts_exists(session)
    ko_match = _fts_trigrams(long) if indexed and long else None
    en_match = _fts_en_words(words) if indexed else None
    sides = {"ko": [Turn.text], "en": [Turn.source_text], "both": [Turn.text, Turn.source_text]}[
        field
    ]
    plans: list[tuple[Any, Any, str | None]] = []  # (index, its MATCH, columns checked)
    if field == "ko" and ko_match:
        plans = [(_FTS, ko_match, "ko")]
    elif field == "en" and en_match:
        plans = [(_FTS_EN, en_match, "en")]
    elif field == "both" and ko_match and en_match:
        plans = [(_FTS, ko_match, "ko"), (_FTS_EN, en_match, "en")]
    if not plans:
        plans = [(None, None, None)]
    lo_hi = _turn_id_range(session, dataset_id) if dataset_id is not None else None
    out = []
    for fts, match, side in plans:
        cols = sides if side is None else [Turn.text if side == "ko" else Turn.source_text]
        order: Any = Turn.id
        stmt = select(Turn.id, Turn.sample_id)
        if fts is not None:
            # a bind name per index: a union of both holds both
            cond = text(f"{fts.name} MATCH :{fts.name}").bindparams(**{fts.name: match})
            if ordered:
                stmt = (
                    select(Turn.id, Turn.sample_id)
                    .select_from(fts)
                    .join(Turn, Turn.id == fts.c.rowid)
                    .where(cond)
                )
                order = fts.c.rowid
            else:
                stmt = stmt.where(Turn.id.in_(select(fts.c.rowid).where(cond)))
        if dataset_id is not None or status:  # join samples only when filtering on them
            stmt = stmt.join(Sample, Sample.id == Turn.sample_id)
        # SQLite: "+ 0" / "|| ''" keep the planner off the samples indexes, so the walk goes over
        # turns in id order (range below) and stops at LIMIT, instead of visiting every sample of
        # the dataset first
        ds_col: Any = Sample.dataset_id + 0 if sqlite else Sample.dataset_id
        status_col: Any = Sample.status.concat("") if sqlite else Sample.status
        if lo_hi is not None:
            stmt = stmt.where(ds_col == dataset_id)
            # a dataset is imported in one go, so its turns are one id range: walks in id order
            # start there (on the FTS rowid when FTS drives: it seeks there)
            stmt = stmt.where(order.between(*lo_hi))
        if status:
            stmt = stmt.where(status_col == status)
        # every word is checked on the turn itself: on SQLite the index only proposes candidates;
        # on PostgreSQL ILIKE uses the trigram GIN index for 3+ characters
        stmt = stmt.where(or_(*[and_(*[_contains(c, w) for w in words]) for c in cols]))
        out.append((stmt, order))
    return out


def matching_samples(
    session: Session, query: str, *, field: str = "both", dataset_id: int | None = None
) -> Select[Any]:
    """A sub-SELECT of sample ids whose turns match ``query`` (for queue filters)."""
    plans = _turn_hits(session, query, field, dataset_id)
    if len(plans) == 1:
        return select(plans[0][0].subquery().c.sample_id)
    return select(union(*[stmt for stmt, _ in plans]).subquery().c.sample_id)


def _snippet(value: str | None, query: str, width: int = 160) -> str:
    if not value:
        return ""
    low = value.lower()
    pos = -1
    for w in query.split():
        pos = low.find(w.lower())
        if pos >= 0:
            break
    start = max(0, pos - width // 3) if pos >= 0 else 0
    out = value[start : start + width].replace("\n", " ")
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(value) else "")


def _pg_page(session: Session, page: Select[Any]) -> list[Any]:
    """One page of hits on PostgreSQL, by whichever plan is fast for this query.

    A common word is found at once by walking turns in id order and stopping after ``limit`` hits,
    but the planner prefers the trigram index, builds a bitmap of every match and sorts it (seconds
    at 1.5M turns). A rare word is the reverse. So: first the id-order walk (bitmap scans off) under
    a short statement timeout; if it runs out, the trigram index plan. Both give the exact page.
    """
    conn = session.connection()
    prev = conn.execute(
        text("SELECT current_setting('statement_timeout'), current_setting('enable_bitmapscan')")
    ).one()
    try:
        with (
            conn.begin_nested()
        ):  # a savepoint: the timeout must not abort the caller's transaction
            conn.execute(
                text(
                    "SELECT set_config('enable_bitmapscan', 'off', true), "
                    "set_config('statement_timeout', :t, true)"
                ),
                {"t": f"{PG_FAST_MS}ms"},
            )
            rows = conn.execute(page).all()
            conn.execute(
                text(
                    "SELECT set_config('enable_bitmapscan', :b, true), "
                    "set_config('statement_timeout', :t, true)"
                ),
                {"b": prev[1], "t": prev[0]},
            )
        return list(rows)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "57014":  # not our timeout
            raise
    return list(conn.execute(page).all())  # the savepoint's rollback restored both settings


def search(
    session: Session,
    actor: Actor,
    query: str,
    *,
    dataset_id: int | None = None,
    field: str = "both",
    status: str | None = None,
    limit: int = 50,
    after: int | None = None,
) -> list[dict[str, Any]]:
    """Turns whose Korean and/or English text contains every word of ``query``.

    Results are ordered by turn id; pass the last ``turn_id`` as ``after`` for the next page
    (keyset). Each hit carries plain-text snippets and the sample id to open in the review view.
    """
    actor.require("search")
    query = (query or "").strip()
    if not query:
        return []
    if field not in ("ko", "en", "both"):
        field = "both"
    limit = max(1, min(int(limit), 500))
    found: set[int] = set()
    for hits, order in _turn_hits(session, query, field, dataset_id, ordered=True, status=status):
        if after is not None:
            hits = hits.where(order > after)
        page = hits.order_by(order).limit(limit)
        rows = _pg_page(session, page) if not _is_sqlite(session) else session.execute(page).all()
        found.update(r[0] for r in rows)
    ids = sorted(found)[:limit]  # the first ``limit`` of each index's hits hold the first overall
    if not ids:
        return []
    rows = session.execute(
        select(
            Turn.id,
            Turn.idx,
            Turn.role,
            Turn.text,
            Turn.source_text,
            Sample.id,
            Sample.key,
            Sample.status,
            Dataset.name,
        )
        .join(Sample, Sample.id == Turn.sample_id)
        .join(Dataset, Dataset.id == Sample.dataset_id)
        .where(Turn.id.in_(ids))
        .order_by(Turn.id)
    ).all()
    return [
        {
            "turn_id": r[0],
            "turn_idx": r[1],
            "role": r[2],
            "sample_id": r[5],
            "key": r[6],
            "status": r[7],
            "dataset": r[8],
            "ko": _snippet(r[3], query),
            "en": _snippet(r[4], query),
        }
        for r in rows
    ]


def count_unindexed(session: Session) -> int:
    """Datasets not yet in the search index."""
    return len(set(session.scalars(select(Dataset.id))) - indexed_datasets(session))
