"""Export use cases (leads and admins): preview counts, export to a folder, export a small subset as
a download, list recent exports. The work itself lives in ``kocurate.exporters``."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .. import config
from ..db import read_session, session_scope
from ..errors import UsageError
from ..exporters import FORMATS, REFUSALS, get_format
from ..exporters import selection as sel
from ..exporters.manifest import licence_warnings
from ..exporters.runner import Progress, run_export
from ..i18n import LANGUAGES, N_, Text
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


# up to this many candidates the preview converts them all (exact refusals): ~3 s for 50k on a busy
# 2-core machine (benchmarks/export.py prints it); above, refusals by kind only (~0.2 s)
EXACT_PREVIEW_MAX = 50_000


def preview_counts(
    session: Session, actor: Actor, spec: ExportSpec, exact: bool | None = None
) -> dict[str, Any]:
    """What an export will write, per dataset: the pool, what each exclusion removes, what the
    format refuses, and the planned count (``quota``) — the number of samples the export writes.

    Up to ``EXACT_PREVIEW_MAX`` candidates the conversion is run dry over all of them, so refusals
    are counted before and ``quota`` equals what the export writes (``exact``: True). Beyond that
    only the refusals known from a dataset's kind are subtracted (``exact``: False; the manifest has
    the figures), unless ``exact=True`` asks for the dry conversion at any size (about as long as
    the export's reading).
    """
    actor.require("export")
    spec.validate()
    bind = session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine):
        return _preview(session, spec, exact)
    # a read-only snapshot: counting (a dry conversion of up to EXACT_PREVIEW_MAX samples) never
    # holds SQLite's write lock, so annotators keep saving meanwhile
    with read_session(bind) as rs:
        return _preview(rs, spec, exact)


def _preview(session: Session, spec: ExportSpec, force_exact: bool | None = None) -> dict[str, Any]:
    import numpy as np

    from ..exporters.runner import candidates_for, convertible, empty_reason, simulate

    fmt = get_format(spec.format, {"meta": spec.meta, "history": spec.alpaca_history})
    datasets = sel.resolve_datasets(session, spec)
    pool = sel.pool_counts(session, spec, datasets)
    conn = session.connection()
    n_pool = sum(p["after_duplicates"] for p in pool.values())
    exact = n_pool <= EXACT_PREVIEW_MAX if force_exact is None else force_exact
    exact = exact or bool(spec.best_rated)  # the best-rated cut is known from the candidates only
    if exact:
        cands, kind_refused = candidates_for(conn, spec, datasets, fmt)
        available = cands.available()
        ok, refused = convertible(conn, fmt, cands)
    else:
        kind_refused = {
            d.id: (r, pool[d.id]["after_duplicates"])
            for d in datasets
            if (r := fmt.refuses_kind(d.kind)) and pool[d.id]["after_duplicates"]
        }
        available = {
            d.id: 0 if d.id in kind_refused else pool[d.id]["after_duplicates"] for d in datasets
        }
        ok = {d: np.ones(n, dtype=bool) for d, n in available.items()}
        refused = {d.id: Counter() for d in datasets}
    for d, (reason, n) in kind_refused.items():
        refused.setdefault(d, Counter())[reason] += n
    planned = sel.plan(spec, datasets, available)
    asked = {d: p["quota"] for d, p in planned.items()}
    got = simulate(spec, planned, ok)
    sel.set_validation(spec, planned, got)
    errors = sel.open_error_counts(session, spec, datasets)
    rows = []
    warnings: list[str] = []
    for d in datasets:
        why = [
            f"{n:,} refused: {REFUSALS.get(r, r)}"
            for r, n in sorted(refused.get(d.id, {}).items())
            if n
        ]
        rows.append(
            {
                "id": d.id,
                "name": d.name,
                "kind": d.kind,
                "licence": d.licence,
                **pool[d.id],
                "refused": sum(refused.get(d.id, {}).values()),
                "quota": got[d.id],
                "validation": planned[d.id]["val"],
                "requested": planned[d.id]["requested"],
                "open_errors": errors.get(d.id, 0),
                "note": (
                    "; ".join(why)
                    + (
                        " — export it with the pairs format"
                        if d.id in kind_refused and kind_refused[d.id][0] == "no_role"
                        else ""
                    )
                ),
            }
        )
        if got[d.id] < asked[d.id] and not spec.fill:
            warnings.append(
                Text(
                    N_(
                        "{name}: {got:,} planned of the {asked:,} asked (no more eligible samples);"
                        " --fill / “Top up from the other datasets” gives the rest to the others"
                    ),
                    name=d.name,
                    got=got[d.id],
                    asked=asked[d.id],
                )
            )
    warnings = (
        licence_warnings({d.name: d.licence for d in datasets if got[d.id] > 0})
        + sel.mix_warnings(spec, datasets, planned)
        + warnings
    )
    n_errors = sum(errors.values())
    if n_errors and not spec.exclude_error_findings:
        warnings.append(
            Text(
                N_(
                    "{n:,} selected samples are approved but have open error findings (checks of "
                    "severity error); exclude them with “Exclude samples with open error findings” "
                    "(--exclude-error-findings)"
                ),
                n=n_errors,
            )
        )
    total = sum(got.values())
    if spec.total is not None and total != spec.total and total:
        warnings.append(
            Text(N_("{n:,} samples planned for a target of {total:,}"), n=total, total=spec.total)
        )
    out = {
        "datasets": rows,
        "total": total,
        "exact": exact,
        "validation": sum(r["validation"] for r in rows),
        "duplicates_estimate": sel.duplicate_loss(session, spec, datasets),
        "open_errors": n_errors,
        "excluded": {
            k: sum(r.get(k, 0) for r in rows)
            for k in (
                "ethics_flagged",
                "flagged",
                "contaminated",
                "check_findings",
                "error_findings",
            )
        },
        "refused": sum(r["refused"] for r in rows),
        "warnings": warnings,
        "empty_reason": None,
    }
    if total == 0:
        merged: Counter[str] = Counter()
        for c in refused.values():
            merged.update(c)
        out["empty_reason"] = empty_reason(
            spec, datasets, pool, kind_refused, dict(merged), fmt.name
        )
    return out


def export(
    engine: Engine,
    actor: Actor,
    spec: ExportSpec,
    out_dir: str | Path,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    name: str | None = None,
    card_lang: str = "en",
) -> dict[str, Any]:
    """Export the selection into ``out_dir`` (data files, manifest.json, README.md); returns the
    manifest. ``card_lang``: the language of the dataset card README.md (``en``, ``ko``).

    Streams: memory stays flat at any size. ``progress(done, total)`` is called per chunk. The
    export is recorded as a Job (kind "export") for the page's history."""
    actor.require("export")
    return _recorded(
        engine, actor, spec, out_dir, progress, overwrite=overwrite, name=name, card_lang=card_lang
    )


def _qa_estimate(engine: Engine, spec: ExportSpec) -> dict[str, Any] | None:
    """The latest QA estimate of the selected datasets; with ``max_defect_rate``, refuse when it is
    too high."""
    from ..exporters.selection import resolve_datasets
    from . import qa

    with session_scope(engine) as s:
        ids = [d.id for d in resolve_datasets(s, spec)]
        if spec.max_defect_rate is not None:
            return qa.require_max_defect_rate(s, ids, spec.max_defect_rate)
        return qa.latest_estimate(s, ids)


def _recorded(
    engine: Engine,
    actor: Actor,
    spec: ExportSpec,
    out_dir: str | Path,
    progress: Progress | None,
    *,
    overwrite: bool = False,
    name: str | None = None,
    download: bool = False,
    card_lang: str = "en",
) -> dict[str, Any]:
    spec.validate()
    if card_lang not in LANGUAGES:
        raise UsageError(
            msgid=N_("unknown card language {card_lang!r}; one of {languages}"),
            card_lang=card_lang,
            languages=", ".join(LANGUAGES),
        )
    with session_scope(engine) as s:
        job = Job(
            kind="export",
            status="running",
            params={"spec": spec.to_dict(), "out_dir": "(download)" if download else str(out_dir)},
            created_by=actor.id,
            created_at=utcnow(),
            updated_at=utcnow(),
            heartbeat_at=utcnow(),
        )
        s.add(job)
        s.flush()
        job_id = job.id
    try:
        qa_estimate = _qa_estimate(engine, spec)
        manifest = run_export(
            engine,
            spec,
            out_dir,
            progress=progress,
            overwrite=overwrite,
            actor=actor.username,
            name=name,
            qa=qa_estimate,
            card_lang=card_lang,
        )
    except BaseException as exc:
        with session_scope(engine) as s:
            j = s.get(Job, job_id)
            if j is not None:
                j.status, j.message, j.updated_at = "failed", str(exc)[:2000], utcnow()
        raise
    with session_scope(engine) as s:
        from . import audit

        c = manifest["counts"]
        audit.record(
            s,
            actor,
            "export",
            target="(download)" if download else manifest["out_dir"],
            format=spec.format,
            total=c["total"],
            splits=c["splits"],
            datasets={k: v["total"] for k, v in c["by_dataset"].items() if v["total"]},
            samples_sha256=manifest["selection"]["samples_sha256"],
            job_id=job_id,
        )
        j = s.get(Job, job_id)
        if j is not None:
            total = manifest["counts"]["total"]
            j.status, j.done, j.total, j.updated_at = "done", total, total, utcnow()
            j.result = {
                "out_dir": "(download)" if download else manifest["out_dir"],
                "counts": {k: manifest["counts"][k] for k in ("total", "splits", "messages")},
                "format": manifest["format"],
                "warnings": manifest["warnings"],
            }
    return manifest


def export_archive(
    engine: Engine,
    actor: Actor,
    spec: ExportSpec,
    progress: Progress | None = None,
    *,
    limit: int = DOWNLOAD_LIMIT,
    card_lang: str = "en",
) -> tuple[str, bytes, dict[str, Any]]:
    """A small selection as a zip (data, manifest, card) for a browser download: (file name, bytes,
    manifest).

    Refuses selections above ``limit`` samples: those go to a server folder (``export``)."""
    actor.require("export")
    with Session(engine) as s:
        planned = preview_counts(s, actor, spec)["total"]
    if planned > limit:
        raise UsageError(
            msgid=N_(
                "{planned:,} samples is too many for a download (limit {limit:,}); export to a"
                " server folder instead"
            ),
            planned=planned,
            limit=limit,
        )
    with tempfile.TemporaryDirectory(prefix="kocurate-export-") as tmp:
        folder = Path(tmp) / "export"
        manifest = _recorded(
            engine, actor, spec, folder, progress, download=True, card_lang=card_lang
        )
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
        raise UsageError(
            msgid=N_("folder name: letters, digits, '.', '_' and '-' only (no slashes)")
        )
    return export_root() / name


def recent_exports(session: Session, actor: Actor, limit: int = 10) -> list[dict[str, Any]]:
    actor.require("export")
    jobs = session.scalars(
        select(Job).where(Job.kind == "export").order_by(Job.id.desc()).limit(limit)
    )
    return [
        {
            "id": j.id,
            "status": j.status,
            "created_at": j.created_at.isoformat(timespec="seconds"),
            "out_dir": (j.result or {}).get("out_dir") or (j.params or {}).get("out_dir"),
            "total": (j.result or {}).get("counts", {}).get("total"),
            "format": (j.params or {}).get("spec", {}).get("format"),
            "message": j.message,
        }
        for j in jobs
    ]
