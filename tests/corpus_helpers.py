"""Small datasets for the corpus-scale tests (issue 17), inserted directly into a real database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, insert

from kocurate.db import session_scope
from kocurate.models import Dataset, Sample, Turn, utcnow


def make_dataset(
    engine: Engine,
    pairs: Sequence[Sequence[tuple[str, str]]],
    name: str = "ds",
    status: str = "new",
    roles: Sequence[str] = ("user", "assistant"),
) -> tuple[int, list[int]]:
    """One sample per entry of ``pairs``; each entry lists its turns as (English, Korean)."""
    now = utcnow()
    with session_scope(engine) as s:
        ds = Dataset(name=name, kind="sharegpt", fingerprint=name, source_files=[], imported_at=now)
        s.add(ds)
        s.flush()
        conn = s.connection()
        ids = (
            conn.execute(
                insert(Sample).returning(Sample.id, sort_by_parameter_order=True),
                [
                    {
                        "dataset_id": ds.id,
                        "key": f"k{i}",
                        "position": i,
                        "status": status,
                        "version": 1,
                        "meta": {},
                        "align_status": "aligned",
                        "align_confidence": 0.9,
                        "n_turns": len(turns),
                        "ko_chars": sum(len(k) for _, k in turns),
                        "en_chars": sum(len(e) for e, _ in turns),
                        "dup_keep": True,
                        "checked_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, turns in enumerate(pairs)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(Turn),
            [
                {
                    "sample_id": sid,
                    "idx": j,
                    "role": roles[j % len(roles)],
                    "text": ko,
                    "mt_text": ko,
                    "source_text": en,
                    "source_kind": "translation",
                }
                for sid, turns in zip(ids, pairs, strict=True)
                for j, (en, ko) in enumerate(turns)
            ],
        )
        return ds.id, list(ids)


def simple(
    n: int, name: str = "ds", status: str = "new"
) -> tuple[list[list[tuple[str, str]]], str, str]:
    """n two-turn samples with distinct texts (args for make_dataset)."""
    return (
        [[(f"Question {i}", f"질문 {i}"), (f"Answer {i}", f"답변 {i}")] for i in range(n)],
        name,
        status,
    )
