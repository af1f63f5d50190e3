"""Datasets and samples: import (role-checked), listing with counts, one sample in full."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..ingest import ImportReport, import_files
from ..models import STATUSES, Dataset, Sample, Turn
from .auth import Actor


def import_dataset(engine: Engine, actor: Actor, kind: str, ko_path: str | Path, source_path: str | Path | None = None,
                   *, progress: Callable[[int], None] | None = None, **kwargs: Any) -> ImportReport:
    """Import a dataset on behalf of ``actor`` (leads and admins)."""
    actor.require("import")
    return import_files(engine, kind, ko_path, source_path, user_id=actor.id, progress=progress, **kwargs)


def list_datasets(session: Session) -> list[dict[str, Any]]:
    """Every dataset with its sample counts per status (one GROUP BY, no sample loaded)."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(select(Sample.dataset_id, Sample.status, func.count()).group_by(Sample.dataset_id, Sample.status))
    for ds_id, status, n in rows:
        counts.setdefault(ds_id, {})[status] = n
    out = []
    for ds in session.scalars(select(Dataset).order_by(Dataset.id)):
        by_status = {s: counts.get(ds.id, {}).get(s, 0) for s in STATUSES}
        out.append({
            "id": ds.id, "name": ds.name, "kind": ds.kind, "licence": ds.licence, "samples": ds.n_samples,
            "turns": ds.n_turns, "aligned": ds.n_aligned, "ambiguous": ds.n_ambiguous, "unaligned": ds.n_unaligned,
            "imported_at": ds.imported_at.isoformat(timespec="seconds"), "files": [f["name"] for f in ds.source_files],
            "overlap": ds.overlap, **by_status,
        })
    return out


def get_dataset(session: Session, ref: int | str) -> Dataset:
    ds = session.get(Dataset, int(ref)) if str(ref).isdigit() else None
    if ds is None:
        ds = session.scalar(select(Dataset).where(Dataset.name == str(ref)))
    if ds is None:
        raise NotFound(f"no dataset {ref!r}")
    return ds


def sample_view(session: Session, sample_id: int) -> dict[str, Any]:
    """A sample with its turns side by side (English source | Korean), as plain data."""
    s = session.get(Sample, sample_id)
    if s is None:
        raise NotFound(f"no sample {sample_id}")
    ds = session.get(Dataset, s.dataset_id)
    turns = session.scalars(select(Turn).where(Turn.sample_id == s.id).order_by(Turn.idx)).all()
    return {
        "id": s.id, "dataset": ds.name if ds else None, "dataset_id": s.dataset_id, "kind": ds.kind if ds else None,
        "key": s.key, "position": s.position, "status": s.status, "version": s.version, "meta": s.meta,
        "align_status": s.align_status, "align_confidence": s.align_confidence, "source_key": s.source_key,
        "turns": [{"id": t.id, "idx": t.idx, "role": t.role, "text": t.text, "mt_text": t.mt_text,
                   "source_text": t.source_text, "source_kind": t.source_kind, "edited": t.text != t.mt_text}
                  for t in turns],
    }
