"""One seeder for the tests of translated datasets (DeepL batches, the LLM assistant, their pages
and browser tests): ``n`` samples of ``turns`` turns, user and assistant in turn, the Korean text
and its English source (kind "translation") given per (sample, turn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, insert, select

from kocurate.db import session_scope
from kocurate.models import Dataset, Sample, Turn, utcnow


def seed_translated(
    engine: Engine,
    n: int,
    *,
    ko: Callable[[int, int], str],
    en: Callable[[int, int], str],
    turns: int = 2,
    name: str = "ds",
    key: Callable[[int], str] = str,
) -> int:
    """The new dataset's id; ``ko(i, j)`` / ``en(i, j)`` give turn ``j`` of sample ``i``."""
    with session_scope(engine) as s:
        ds = Dataset(name=name, kind="sharegpt", fingerprint=name, n_samples=n, n_turns=n * turns)
        s.add(ds)
        s.flush()
        now = utcnow()
        s.execute(
            insert(Sample),
            [
                {
                    "dataset_id": ds.id,
                    "key": key(i),
                    "position": i,
                    "n_turns": turns,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        ids = list(
            s.scalars(select(Sample.id).where(Sample.dataset_id == ds.id).order_by(Sample.id))
        )
        s.execute(
            insert(Turn),
            [
                {
                    "sample_id": sid,
                    "idx": j,
                    "role": "user" if j % 2 == 0 else "assistant",
                    "text": ko(i, j),
                    "mt_text": ko(i, j),
                    "source_text": en(i, j),
                    "source_kind": "translation",
                }
                for i, sid in enumerate(ids)
                for j in range(turns)
            ],
        )
        return ds.id


def count(engine: Engine, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``."""
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def insert_raw(
    conn: Any,
    samples: list[tuple[int, int]],
    turns: list[tuple[int, int, int, str, str, str, str | None]],
) -> None:
    """Rows as a database behind the models holds them (raw SQL, for migration tests): a dataset
    for each dataset id of ``samples`` (sample id, dataset id), one turn per entry of ``turns`` (id,
    sample id, idx, role, text, mt_text, source_text)."""
    for ds in dict.fromkeys(d for _, d in samples):
        conn.exec_driver_sql(
            "INSERT INTO datasets (id, name, kind, fingerprint, source_files, imported_at, meta,"
            " n_samples, n_turns, n_aligned, n_ambiguous, n_unaligned, overlap) VALUES"
            " (?, ?, 'alpaca', ?, '[]', '2026-01-01 00:00:00', '{}', 0, 0, 0, 0, 0, 1)",
            (ds, f"d{ds}", f"f{ds}"),
        )
    for sid, ds in samples:
        conn.exec_driver_sql(
            "INSERT INTO samples (id, dataset_id, key, position, status, version, meta,"
            " align_status, n_turns, ko_chars, en_chars, dup_keep, checked_version, created_at,"
            " updated_at) VALUES (?, ?, ?, 0, 'new', 1, '{}', 'none', 1, 1, 1, 1, 0,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (sid, ds, str(sid)),
        )
    for row in turns:
        conn.exec_driver_sql(
            "INSERT INTO turns (id, sample_id, idx, role, text, mt_text, source_text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )
