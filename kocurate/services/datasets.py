"""Datasets and samples: import (role-checked), listing with counts, one sample in full."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .. import db
from ..errors import NotFound, UsageError
from ..i18n import N_
from ..ingest import ImportReport, default_name, import_files
from ..models import STATUSES, Dataset, Sample, Turn
from .auth import Actor

if TYPE_CHECKING:
    from ..checks.early import EarlyChecks

# Statuses with no final outcome yet: "new" waits for reviews, "disputed" for a lead's adjudication.
# Every "decided"/"in progress" figure (Datasets page, Dashboard) counts from this one tuple.
UNDECIDED = ("new", "disputed")

MAX_NAME = 128
# path separators (names become report file names) and the characters that make Markdown or HTML of
# a name (links, images, tags, code, tables, formulas)
NAME_FORBIDDEN = "/\\[]<>`|$"


class InvalidName(UsageError):
    """A dataset name that could escape a folder or be rendered as markup; nothing was imported."""


def _bad_char(ch: str) -> bool:
    # Cc: control characters (newline, tab, NUL …); Cf: invisible format characters (bidi overrides
    # …)
    return ch in NAME_FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def validate_name(name: str) -> str:
    """The name, stripped, or InvalidName saying what is wrong with it."""
    clean = name.strip()
    if not clean or clean in (".", ".."):
        raise InvalidName(
            msgid=N_("dataset name {name!r} is empty; give one with --name"), name=name
        )
    if len(clean) > MAX_NAME:
        raise InvalidName(
            msgid=N_("dataset name is {clean} characters long; at most {max_name}"),
            clean=len(clean),
            max_name=MAX_NAME,
        )
    bad = sorted({ch for ch in clean if _bad_char(ch)})
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        raise InvalidName(
            msgid=N_(
                "dataset name {name!r} contains {shown}: a name may not hold path separators,"
                " control characters or the markup characters {name_forbidden}"
            ),
            name=name,
            shown=shown,
            name_forbidden=" ".join(NAME_FORBIDDEN),
        )
    return clean


def safe_default_name(path: str | Path) -> str:
    """The file name without its format suffixes, with characters a name may not hold replaced by
    '_'."""
    name = "".join("_" if _bad_char(ch) else ch for ch in default_name(path)).strip()[:MAX_NAME]
    return name if name not in ("", ".", "..") else "dataset"


def import_dataset(
    engine: Engine,
    actor: Actor,
    kind: str,
    ko_path: str | Path,
    source_path: str | Path | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    index: bool = True,
    checks: bool = True,
    **kwargs: Any,
) -> ImportReport:
    """Import a dataset on behalf of ``actor`` (leads and admins), then index it for search and run
    the cheap automatic checks (``index``/``checks`` turn those steps off; ``kocurate search
    --reindex`` and ``kocurate check`` do them later)."""
    actor.require("import")
    # validated before anything is written: a name becomes a report file name and is shown on pages
    kwargs["name"] = (
        validate_name(kwargs["name"]) if kwargs.get("name") else safe_default_name(ko_path)
    )
    early = None
    if checks and db.is_sqlite(engine):
        from ..checks.early import EarlyChecks

        early = EarlyChecks()  # the cheap checks, in worker processes while the import runs
    try:
        report = import_files(
            engine,
            kind,
            ko_path,
            source_path,
            user_id=actor.id,
            progress=progress,
            actor=actor,
            early=early,
            **kwargs,
        )
        after_import(engine, report, index=index, checks=checks, early=early)
    finally:
        if early is not None:
            early.close()
    return report


def after_import(
    engine: Engine,
    report: ImportReport,
    *,
    index: bool = True,
    checks: bool = True,
    early: EarlyChecks | None = None,
) -> None:
    """The steps that follow every import: the search index, then the cheap rule checks (their
    findings stored from ``early``, when it checked the rows during the import)."""
    if index:
        from . import search

        t0 = time.perf_counter()
        turns = search.index_dataset(engine, report.dataset_id)
        report.after["search_index"] = {
            "turns": turns,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    if checks:
        from ..checks import run_after_import

        t0 = time.perf_counter()
        summary = run_after_import(
            engine,
            report.dataset_id,
            early=early if early is not None and report.id_offset is not None else None,
            id_offset=report.id_offset or 0,
        ).get(report.dataset_id, {})
        report.after["checks"] = {
            "findings": summary.get("findings"),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if summary.get("during_import"):  # checked in worker processes while it was imported
            report.after["checks"]["during_import"] = True


def list_datasets(session: Session) -> list[dict[str, Any]]:
    """Every dataset with its sample counts per status (one GROUP BY, no sample loaded)."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Sample.dataset_id, Sample.status, func.count()).group_by(
            Sample.dataset_id, Sample.status
        )
    )
    for ds_id, status, n in rows:
        counts.setdefault(ds_id, {})[status] = n
    out = []
    for ds in session.scalars(select(Dataset).order_by(Dataset.id)):
        by_status = {s: counts.get(ds.id, {}).get(s, 0) for s in STATUSES}
        undecided = sum(by_status[s] for s in UNDECIDED)
        out.append(
            {
                "id": ds.id,
                "name": ds.name,
                "kind": ds.kind,
                "licence": ds.licence,
                "samples": ds.n_samples,
                "turns": ds.n_turns,
                "aligned": ds.n_aligned,
                "ambiguous": ds.n_ambiguous,
                "unaligned": ds.n_unaligned,
                "imported_at": ds.imported_at.isoformat(timespec="seconds"),
                "files": [f["name"] for f in ds.source_files],
                "overlap": ds.overlap,
                **by_status,
                "decided": sum(by_status.values()) - undecided,
                "in_progress": undecided,
            }
        )
    return out


def get_dataset(session: Session, ref: int | str) -> Dataset:
    ds = session.get(Dataset, int(ref)) if str(ref).isdigit() else None
    if ds is None:
        ds = session.scalar(select(Dataset).where(Dataset.name == str(ref)))
    if ds is None:
        raise NotFound(msgid=N_("no dataset {ref!r}"), ref=ref)
    return ds


def sample_view(session: Session, sample_id: int) -> dict[str, Any]:
    """A sample with its turns side by side (English source | Korean), as plain data."""
    s = session.get(Sample, sample_id)
    if s is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    ds = session.get(Dataset, s.dataset_id)
    turns = session.scalars(select(Turn).where(Turn.sample_id == s.id).order_by(Turn.idx)).all()
    return {
        "id": s.id,
        "dataset": ds.name if ds else None,
        "dataset_id": s.dataset_id,
        "kind": ds.kind if ds else None,
        "key": s.key,
        "position": s.position,
        "status": s.status,
        "version": s.version,
        "meta": s.meta,
        "align_status": s.align_status,
        "align_confidence": s.align_confidence,
        "source_key": s.source_key,
        "turns": [
            {
                "id": t.id,
                "idx": t.idx,
                "role": t.role,
                "text": t.text,
                "mt_text": t.text if t.mt_text is None else t.mt_text,  # None: never edited
                "source_text": t.source_text,
                "source_kind": t.source_kind,
                "edited": t.mt_text is not None and t.text != t.mt_text,
            }
            for t in turns
        ],
    }
