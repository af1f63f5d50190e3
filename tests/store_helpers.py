"""Small read-back helpers shared by the importer and ingest tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kocurate.models import Dataset, Sample, Turn

DATA = Path(__file__).resolve().parent / "data"


def counts(engine: Engine) -> tuple[int, int, int]:
    """(datasets, samples, turns) in the database."""
    with Session(engine) as s:
        return (
            s.scalar(select(func.count(Dataset.id))) or 0,
            s.scalar(select(func.count(Sample.id))) or 0,
            s.scalar(select(func.count(Turn.id))) or 0,
        )


def sample(engine: Engine, dataset_id: int, key: str) -> tuple[Sample, list[Turn]]:
    """One sample by its source key, with its turns in order (detached)."""
    with Session(engine) as s:
        smp = s.scalar(select(Sample).where(Sample.dataset_id == dataset_id, Sample.key == key))
        assert smp is not None, f"no sample {key!r}"
        turns = list(s.scalars(select(Turn).where(Turn.sample_id == smp.id).order_by(Turn.idx)))
        s.expunge_all()
        return smp, turns
