"""Export use cases (leads and admins): preview counts, export to a folder, export a small subset as
a download, list recent exports. The work itself lives in ``kocurate.exporters``."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .. import config
from ..db import session_scope
from ..errors import KocurateError
from ..exporters import FORMATS
from ..exporters import selection as sel
from ..exporters.manifest import licence_warnings
from ..exporters.runner import Progress, run_export
from ..models import Job, utcnow
from .auth import Actor

ExportSpec = sel.ExportSpec
parse_mix = sel.parse_mix

# a browser download holds the whole file in memory: larger selections go to a server folder
DOWNLOAD_LIMIT = 50_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def formats() -> dict[str, str]:
    """Format name -> title, for pickers."""
    return {name: cls.title for name, cls in sorted(FORMATS.items())}


def preview_counts(session: Session, actor: Actor, spec: ExportSpec) -> dict[str, Any]:
    """What an export would contain, from SQL aggregates only (fast at 700k samples).

    Per dataset: the pool (status/dataset/length filters), what each exclusion removes, the eligible
    count ('after_duplicates': each near-duplicate group counted once) and the planned quota. Format
    refusals (and duplicate groups that span datasets) are known exactly only when
    the export runs (the manifest has the exact figures); the duplicate loss here is an estimate."""
    actor.require("export")
    spec.validate()
    datasets = sel.resolve_datasets(session, spec)
    pool = sel.pool_counts(session, spec, datasets)
    planned = sel.plan(spec, datasets, {d.id: pool[d.id]["after_duplicates"] for d in datasets})
    rows = []
    for d in datasets:
        rows.append({"id": d.id, "name": d.name, "kind": d.kind, "licence": d.licence, **pool[d.id],
                     "quota": planned[d.id]["quota"], "validation": planned[d.id]["val"],
                     "requested": planned[d.id]["requested"],
                     "note": "single turns without a speaker: refused by every format" if d.kind == "sharegpt_pairs"
                     else ""})
    warnings = licence_warnings({d.name: d.licence for d in datasets if planned[d.id]["quota"] > 0})
    warnings += sel.mix_warnings(spec, datasets, planned)
    for r in rows:
        if r["quota"] > r["after_duplicates"]:
            warnings.append(f"{r['name']}: quota {r['quota']:,} but only {r['after_duplicates']:,} eligible")
    return {"datasets": rows, "total": sum(r["quota"] for r in rows),
            "validation": sum(r["validation"] for r in rows),
            "duplicates_estimate": sel.duplicate_loss(session, spec, datasets),
            "excluded": {k: sum(r.get(k, 0) for r in rows)
                         for k in ("ethics_flagged", "flagged", "contaminated", "check_findings")},
            "warnings": warnings}


def export(engine: Engine, actor: Actor, spec: ExportSpec, out_dir: str | Path, progress: Progress | None = None,
           *, overwrite: bool = False, name: str | None = None) -> dict[str, Any]:
    """Export the selection into ``out_dir`` (data files, manifest.json, README.md); returns the manifest.

    Streams: memory stays flat at any size. ``progress(done, total)`` is called per chunk. The
    export is recorded as a Job (kind "export") for the page's history."""
    actor.require("export")
    return _recorded(engine, actor, spec, out_dir, progress, overwrite=overwrite, name=name)


def _recorded(engine: Engine, actor: Actor, spec: ExportSpec, out_dir: str | Path, progress: Progress | None, *,
              overwrite: bool = False, name: str | None = None, download: bool = False) -> dict[str, Any]:
    spec.validate()
    with session_scope(engine) as s:
        job = Job(kind="export", status="running",
                  params={"spec": spec.to_dict(), "out_dir": "(download)" if download else str(out_dir)},
                  created_by=actor.id, created_at=utcnow(), updated_at=utcnow(), heartbeat_at=utcnow())
        s.add(job)
        s.flush()
        job_id = job.id
    try:
        manifest = run_export(engine, spec, out_dir, progress=progress, overwrite=overwrite, actor=actor.username,
                              name=name)
    except BaseException as exc:
        with session_scope(engine) as s:
            j = s.get(Job, job_id)
            if j is not None:
                j.status, j.message, j.updated_at = "failed", str(exc)[:2000], utcnow()
        raise
    with session_scope(engine) as s:
        j = s.get(Job, job_id)
        if j is not None:
            total = manifest["counts"]["total"]
            j.status, j.done, j.total, j.updated_at = "done", total, total, utcnow()
            j.result = {"out_dir": "(download)" if download else manifest["out_dir"], "counts": {k: manifest["counts"][k] for k in
                                                                    ("total", "splits", "messages")},
                        "format": manifest["format"], "warnings": manifest["warnings"]}
    return manifest


def export_archive(engine: Engine, actor: Actor, spec: ExportSpec, progress: Progress | None = None,
                   *, limit: int = DOWNLOAD_LIMIT) -> tuple[str, bytes, dict[str, Any]]:
    """A small selection as a zip (data, manifest, card) for a browser download: (file name, bytes, manifest).

    Refuses selections above ``limit`` samples: those go to a server folder (``export``)."""
    actor.require("export")
    with Session(engine) as s:
        planned = preview_counts(s, actor, spec)["total"]
    if planned > limit:
        raise KocurateError(f"{planned:,} samples is too many for a download (limit {limit:,}); "
                            "export to a server folder instead")
    with tempfile.TemporaryDirectory(prefix="kocurate-export-") as tmp:
        folder = Path(tmp) / "export"
        manifest = _recorded(engine, actor, spec, folder, progress, download=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(p for p in folder.rglob("*") if p.is_file()):
                zf.write(f, f.relative_to(folder).as_posix())
    stamp = manifest["created_at"].replace(":", "").replace("-", "")
    return f"kocurate-{spec.format}-{stamp}.zip", buf.getvalue(), manifest


def export_root() -> Path:
    """Where the web page writes full exports on the server (``$KOCURATE_DATA_DIR/exports``)."""
    return config.data_dir() / "exports"


def server_folder(name: str) -> Path:
    """A folder under ``export_root()`` named by the user (no paths, no traversal)."""
    if not _NAME.match(name or "") or ".." in name:
        raise KocurateError("folder name: letters, digits, '.', '_' and '-' only (no slashes)")
    return export_root() / name


def recent_exports(session: Session, actor: Actor, limit: int = 10) -> list[dict[str, Any]]:
    actor.require("export")
    jobs = session.scalars(select(Job).where(Job.kind == "export").order_by(Job.id.desc()).limit(limit))
    return [{"id": j.id, "status": j.status, "created_at": j.created_at.isoformat(timespec="seconds"),
             "out_dir": (j.result or {}).get("out_dir") or (j.params or {}).get("out_dir"),
             "total": (j.result or {}).get("counts", {}).get("total"), "format": (j.params or {}).get("spec", {})
             .get("format"), "message": j.message} for j in jobs]
