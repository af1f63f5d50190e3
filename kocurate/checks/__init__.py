"""Automatic checks: translation, quality, ethics, contamination (per sample) and near-duplicates.

A check is one small class (``base.Check``) registered by name; ``runner.run_dataset`` runs a set of
them over a dataset in keyset batches and stores ``CheckFinding`` rows and pre-flag ``Flag`` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from . import contamination, dedup, quality, translation  # noqa: F401  (registers the checks)
from . import korean as _korean  # noqa: F401  (the deep Korean checks)
from .base import (
    REGISTRY,
    Check,
    Finding,
    RunContext,
    SampleView,
    TurnView,
    register,
    select_checks,
)
from .ethics import classifier as _ethics_classifier  # noqa: F401
from .ethics import lexicon as _ethics_lexicon  # noqa: F401
from .runner import RunSummary, run_dataset, run_samples

if TYPE_CHECKING:
    from .early import EarlyChecks

__all__ = [
    "REGISTRY",
    "Check",
    "Finding",
    "RunContext",
    "RunSummary",
    "SampleView",
    "TurnView",
    "register",
    "run_after_import",
    "run_dataset",
    "run_samples",
    "select_checks",
]


def run_after_import(
    engine: Engine,
    dataset_id: int | None = None,
    *,
    early: EarlyChecks | None = None,
    id_offset: int = 0,
) -> dict[int, dict]:
    """Cheap rule checks over one dataset (or all), right after an import. Returns summaries by
    dataset id. ``early``: the dataset's rows were checked while they were imported (import row
    ``n`` is sample ``id_offset + n``); its findings are stored and only what it left is run."""
    from ..models import Dataset

    with Session(engine) as s:
        ids = (
            [dataset_id]
            if dataset_id is not None
            else list(s.scalars(select(Dataset.id).order_by(Dataset.id)))
        )
    out = {}
    for ds_id in ids:
        # checked_version is left alone: the full run (with the heavier checks) is still due
        done = early.store(engine, ds_id, id_offset) if early is not None else None
        if done is None:
            out[ds_id] = run_dataset(
                engine, ds_id, select_checks(cheap_only=True), set_checked=False
            ).as_dict()
        else:
            if early is not None and early.later:
                rest = run_dataset(engine, ds_id, select_checks(early.later), set_checked=False)
                done.merge(rest)
            out[ds_id] = done.as_dict()
            out[ds_id]["during_import"] = True
        with (
            Session(engine) as s,
            s.begin(),
        ):  # so `checks summary` can say the cheap checks did run
            ds = s.get(Dataset, ds_id)
            if ds is not None:
                ds.meta = {
                    **(ds.meta or {}),
                    "cheap_checks": {
                        "samples": out[ds_id].get("samples", 0),
                        "findings": out[ds_id].get("findings", 0),
                    },
                }
    return out
