"""Translation variants (issue 17): samples whose English source is the same form a variant group.

The key is a hash of the sample's normalised English (every turn's source, in order; Unicode NFKC,
case-folded, whitespace collapsed; roles left out so that ``human/gpt`` and ``user/assistant``
match), stored in ``sample_signals.src_hash`` by :func:`compute_hashes` (a streamed pass over the
turns; rerun after an import). A group is a hash shared by two or more samples, across datasets or
inside one.

"Keep this one" marks the other samples of the group ``superseded`` through a bulk operation (one
audit entry, revertable); exports take status ``approved`` only, so superseded samples stay out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import NotFound
from ..i18n import N_
from ..models import BulkOp, Dataset, Sample, SampleSignal, Turn, utcnow
from . import bulk
from .auth import Actor

_SPACE = re.compile(r"\s+")
BATCH = 20_000


def normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def source_hash(sources: list[str | None]) -> str | None:
    """The variant key of a sample's English turns; None when it has no English."""
    parts = [normalise(s) for s in sources if s and s.strip()]
    if not parts:
        return None
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def upsert_signals(session: Session, rows: list[dict[str, Any]], column: str) -> None:
    """Insert or update ``sample_signals`` rows ({sample_id, dataset_id, column}) in one
    statement."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SampleSignal.__table__)
    now = utcnow()
    stmt = ins.on_conflict_do_update(
        index_elements=["sample_id"],
        set_={column: getattr(ins.excluded, column), "updated_at": now},
    )
    session.execute(stmt, [{**r, "updated_at": now} for r in rows])


def compute_hashes(
    engine: Engine,
    actor: Actor,
    dataset_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """(Re)compute the English-source hash of every sample (of one dataset, or all); returns samples
    done."""
    actor.require(bulk.PERMISSION)
    done = 0
    with session_scope(engine) as s:
        ds_ids = (
            [dataset_id]
            if dataset_id is not None
            else list(s.scalars(select(Dataset.id).order_by(Dataset.id)))
        )
        if dataset_id is not None and s.get(Dataset, dataset_id) is None:
            raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    for ds in ds_ids:
        with session_scope(
            engine
        ) as s:  # one dataset per transaction: short enough, and all-or-nothing
            done += _hash_dataset(s, ds, progress, done)
    return done


def _hash_dataset(s: Session, ds: int, progress: Callable[[int], None] | None, done0: int) -> int:
    # Turn id order is the table's own order (a plain scan; ORDER BY sample_id, idx walked an index
    # and fetched every row by rowid). Importers write a sample's turns together, so a sample is a
    # run of consecutive rows; a sample met again later (not contiguous) is hashed again at the end,
    # in order.
    stmt = (
        select(Turn.sample_id, Turn.idx, Turn.source_text)
        .join(Sample, Sample.id == Turn.sample_id)
        .where(Sample.dataset_id == ds)
        .order_by(Turn.id)
    )
    batch: list[dict[str, Any]] = []
    seen: set[int] = set()
    late: set[int] = set()
    cur: int | None = None
    run: list[tuple[int, str | None]] = []
    done = 0

    def close() -> None:
        if cur is None:
            return
        if cur in seen:
            late.add(cur)
            return
        seen.add(cur)
        batch.append(
            {
                "sample_id": cur,
                "dataset_id": ds,
                "src_hash": source_hash([t for _, t in sorted(run)]),
            }
        )

    for sid, idx, src in s.execute(stmt.execution_options(yield_per=BATCH)):
        if sid != cur:
            close()
            cur, run = sid, []
            if len(batch) >= BATCH:
                done += _flush(s, batch, progress, done0 + done)
                batch = []
        run.append((idx, src))
    close()
    done += _flush(s, batch, progress, done0 + done)
    for sid in sorted(late):
        sources = list(
            s.scalars(select(Turn.source_text).where(Turn.sample_id == sid).order_by(Turn.idx))
        )
        upsert_signals(
            s, [{"sample_id": sid, "dataset_id": ds, "src_hash": source_hash(sources)}], "src_hash"
        )
    return done


def _flush(
    session: Session, batch: list[dict[str, Any]], progress: Callable[[int], None] | None, done: int
) -> int:
    # streaming cursor and writes share the connection: buffer the writes, then run them
    upsert_signals(session, batch, "src_hash")
    if progress:
        progress(done + len(batch))
    return len(batch)


def summary(session: Session, actor: Actor, dataset_id: int | None = None) -> dict[str, int]:
    """How many variant groups, and samples in them (optionally: groups touching one dataset)."""
    actor.require(bulk.PERMISSION)
    g = _groups_query(dataset_id).subquery()
    row = session.execute(select(func.count(), func.coalesce(func.sum(g.c.n), 0))).first()
    hashed = (
        session.scalar(
            select(func.count())
            .select_from(SampleSignal)
            .where(
                SampleSignal.src_hash.is_not(None),
                *([SampleSignal.dataset_id == dataset_id] if dataset_id is not None else []),
            )
        )
        or 0
    )
    return {"groups": int(row[0]), "samples_in_groups": int(row[1]), "hashed": hashed}


def _groups_query(dataset_id: int | None) -> Any:
    q = (
        select(
            SampleSignal.src_hash,
            func.count().label("n"),
            func.count(func.distinct(SampleSignal.dataset_id)).label("datasets"),
        )
        .where(SampleSignal.src_hash.is_not(None))
        .group_by(SampleSignal.src_hash)
        .having(func.count() > 1)
    )
    if dataset_id is not None:
        q = q.where(
            SampleSignal.src_hash.in_(
                select(SampleSignal.src_hash).where(SampleSignal.dataset_id == dataset_id)
            )
        )
    return q


def list_groups(
    session: Session,
    actor: Actor,
    *,
    dataset_id: int | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Variant groups in hash order (keyset: pass the last hash as ``after``)."""
    actor.require(bulk.PERMISSION)
    q = _groups_query(dataset_id)
    if after:
        q = q.where(SampleSignal.src_hash > after)
    rows = session.execute(q.order_by(SampleSignal.src_hash).limit(max(1, min(limit, 1000)))).all()
    return [{"hash": h, "samples": n, "datasets": d} for h, n, d in rows]


def group_view(session: Session, actor: Actor, src_hash: str) -> list[dict[str, Any]]:
    """The samples of a group side by side: dataset, key, status, turns (Korean and English)."""
    actor.require(bulk.PERMISSION)
    rows = session.execute(
        select(Sample.id, Sample.key, Sample.status, Sample.version, Dataset.name)
        .join(SampleSignal, SampleSignal.sample_id == Sample.id)
        .join(Dataset, Dataset.id == Sample.dataset_id)
        .where(SampleSignal.src_hash == src_hash)
        .order_by(Sample.id)
    ).all()
    if not rows:
        raise NotFound(msgid=N_("no variant group {src_hash}"), src_hash=src_hash)
    turns: dict[int, list[dict[str, Any]]] = {}
    for t in session.execute(
        select(Turn.sample_id, Turn.idx, Turn.role, Turn.text, Turn.source_text)
        .where(Turn.sample_id.in_([r.id for r in rows]))
        .order_by(Turn.sample_id, Turn.idx)
    ):
        turns.setdefault(t.sample_id, []).append(
            {"idx": t.idx, "role": t.role, "ko": t.text, "en": t.source_text}
        )
    return [
        {
            "sample_id": r.id,
            "dataset": r.name,
            "key": r.key,
            "status": r.status,
            "version": r.version,
            "turns": turns.get(r.id, []),
        }
        for r in rows
    ]


def keep(
    session: Session, actor: Actor, sample_id: int, *, note: str | None = None
) -> dict[str, Any]:
    """Keep ``sample_id``; the other samples of its variant group become ``superseded`` (one bulk
    op)."""
    actor.require(bulk.PERMISSION)
    h = session.scalar(select(SampleSignal.src_hash).where(SampleSignal.sample_id == sample_id))
    if h is None:
        raise NotFound(
            msgid=N_(
                "sample {sample_id} is in no variant group (run `kocurate variants hash` first?)"
            ),
            sample_id=sample_id,
        )
    ds = session.scalar(select(Sample.dataset_id).where(Sample.id == sample_id))
    sel = bulk.Selection(src_hash=h, exclude_ids=[sample_id])
    p = bulk.preview(
        session, actor, "supersede", sel, note=note or f"variant kept: sample {sample_id}"
    )
    op = session.get(BulkOp, p["op_id"])
    if op is not None:
        op.dataset_id = ds  # the audit entry names the kept sample's dataset
    res = bulk.apply(session, actor, p["op_id"])
    res["kept"] = sample_id
    return res
