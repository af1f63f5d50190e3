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
