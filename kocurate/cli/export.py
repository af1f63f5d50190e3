"""CLI command ``kocurate export OUT_DIR …`` (registered on the shared app)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import EXIT_USAGE
from ..services import export as export_service
from ..services.auth import SYSTEM
from ..services.catalog import export_formats
from ..services.filters import SampleFilter
from .app import app, engine, errors, fail, session

FORMATS = export_formats()


@app.command("export")
def export_cmd(
    out_dir: Path = typer.Argument(
        ...,
        help=(
            "Folder to write (data/, manifest.json, README.md); must be empty or "
            "an earlier export (with --overwrite)."
        ),
    ),
    fmt: str = typer.Option(
        "messages",
        "--format",
        "-f",
        help=(
            f"One of: {', '.join(sorted(FORMATS))} "
            "(pairs: en/ko turn pairs of speakerless datasets)."
        ),
    ),
    dataset: list[str] = typer.Option(
        None, "--dataset", "-d", help="Dataset name or id (repeat; default: all)."
    ),
    status: list[str] = typer.Option(
        None, "--status", help="Sample status to export (repeat; default: approved)."
    ),
    mix: list[str] = typer.Option(
        None,
        "--mix",
        help=(
            "NAME=SHARE (0.4 or 40%, of --total) or NAME=COUNT (5000); "
            "repeat. Only the named datasets are exported."
        ),
    ),
    total: int = typer.Option(None, "--total", help="Target number of samples."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the sampling and the order (same seed: same files)."
    ),
    val_frac: float = typer.Option(
        0.0, "--val-frac", help="Validation fraction, stratified by dataset."
    ),
    no_meta: bool = typer.Option(False, "--no-meta", help="Omit the provenance key 'kocurate'."),
    include_contaminated: bool = typer.Option(
        False,
        "--include-contaminated",
        help="Keep samples with evaluation-set contamination findings.",
    ),
    include_ethics: bool = typer.Option(
        False,
        "--include-ethics-flagged",
        help="Keep samples with an ethics flag that was not cleared.",
    ),
    exclude_flag: list[str] = typer.Option(
        None, "--exclude-flag", help="Also exclude samples with this flag."
    ),
    with_flag: list[str] = typer.Option(
        None, "--with-flag", help="Only samples carrying this flag."
    ),
    exclude_check: list[str] = typer.Option(
        None,
        "--exclude-check",
        help="Exclude samples with an open finding of checks named so (prefix).",
    ),
    min_chars: int = typer.Option(
        None, "--min-chars", help="Minimum Korean characters per sample."
    ),
    max_chars: int = typer.Option(
        None, "--max-chars", help="Maximum Korean characters per sample."
    ),
    min_turns: int = typer.Option(None, "--min-turns"),
    max_turns: int = typer.Option(None, "--max-turns"),
    keep_duplicates: bool = typer.Option(
        False, "--keep-duplicates", help="Export every member of a near-duplicate group."
    ),
    alpaca_history: bool = typer.Option(
        False,
        "--alpaca-history",
        help="alpaca: write multi-turn samples with 'history' instead of refusing.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an earlier export in OUT_DIR."
    ),
    name: str = typer.Option(None, "--name", help="Title of the dataset card."),
    card_lang: str = typer.Option(
        "en",
        "--card-lang",
        help=(
            "Language of the dataset card's headings and fixed "
            "texts: en or ko (the data is never translated)."
        ),
    ),
    fill: bool = typer.Option(
        False,
        "--fill",
        help=(
            "A dataset short of its quota: top it up from the others "
            "(in proportion to their quotas)."
        ),
    ),
    exclude_error_findings: bool = typer.Option(
        False,
        "--exclude-error-findings",
        help="Leave out samples with an open check finding of severity error (approved or not).",
    ),
    max_defect_rate: float = typer.Option(
        None,
        "--max-defect-rate",
        help=(
            "Refuse to write when the latest QA estimate's upper bound (Wilson "
            "95 %) is above this fraction, e.g. 0.05 (`kocurate qa sample`)."
        ),
    ),
    best: int = typer.Option(
        None, "--best", help="Export the best N samples (the target size; see --by)."
    ),
    best_by: str = typer.Option(
        "risk",
        "--by",
        help=(
            "Ranking of --best: risk (lowest learned risk first; "
            "`kocurate risk train`), unscored samples last."
        ),
    ),
    include_gold: bool = typer.Option(
        False, "--include-gold", help="Keep gold samples (left out by default)."
    ),
    best_rated: int = typer.Option(
        None,
        "--best-rated",
        help=(
            "Only the N samples with the best mean quality rating (ties: lower learned risk first)."
        ),
    ),
    where: list[str] = typer.Option(
        None,
        "--where",
        help=(
            "KEY=VALUE, repeat: only the samples a Review queue with this filter holds, e.g."
            " check=untranslated, text=머신러닝, suggestion=accepted, job=12, min_len=20."
        ),
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would be exported."),
    exact: bool = typer.Option(
        False,
        "--exact",
        help=(
            "With --dry-run: count the format's refusals by a dry "
            "conversion at any size (exact up to 50,000 samples "
            "anyway)."
        ),
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the manifest (or the preview) as JSON."
    ),
) -> None:
    """Export the curated corpus (approved samples, current text) as trainer-ready files."""
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))}", EXIT_USAGE)
    with errors():
        spec = export_service.ExportSpec(
            format=fmt,
            datasets=list(dataset) if dataset else None,
            statuses=list(status) if status else ["approved"],
            exclude_ethics=not include_ethics,
            exclude_flags=list(exclude_flag or []),
            with_flags=list(with_flag or []),
            include_contaminated=include_contaminated,
            exclude_checks=list(exclude_check or []),
            min_chars=min_chars,
            max_chars=max_chars,
            min_turns=min_turns,
            max_turns=max_turns,
            dedup=not keep_duplicates,
            mix=export_service.parse_mix(mix),
            total=total,
            seed=seed,
            val_frac=val_frac,
            meta=not no_meta,
            alpaca_history=alpaca_history,
            fill=fill,
            exclude_error_findings=exclude_error_findings,
            max_defect_rate=max_defect_rate,
            best=best,
            best_by=best_by,
            include_gold=include_gold,
            best_rated=best_rated,
            where=SampleFilter.parse(list(where or [])).to_dict(),
        )
        if dry_run:
            with session() as s:
                preview = export_service.preview_counts(
                    s, SYSTEM, spec, exact=True if exact else None
                )
            if as_json:
                typer.echo(json.dumps(preview, ensure_ascii=False, indent=2))
                return
            for r in preview["datasets"]:
                typer.echo(
                    f"{r['name'][:30]:<30} eligible {r['after_duplicates']:>9,}  planned"
                    f" {r['quota']:>9,}  (validation {r['validation']:,})"
                    + (f"  — {r['note']}" if r["note"] else "")
                )
            if preview["empty_reason"]:
                typer.secho(preview["empty_reason"], fg=typer.colors.YELLOW, err=True)
            typer.echo(
                f"planned {preview['total']:,} samples; near-duplicates to drop "
                f"~{preview['duplicates_estimate']:,}"
                + (
                    ""
                    if preview["exact"]
                    else (
                        " (refusals by the format other than whole datasets are not "
                        "counted: --exact counts them)"
                    )
                )
            )
            for w in preview["warnings"]:
                typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
            return
        eng = engine()
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("export", total=None)
            manifest = export_service.export(
                eng,
                SYSTEM,
                spec,
                out_dir,
                overwrite=overwrite,
                name=name,
                card_lang=card_lang,
                progress=lambda done, n: bar.update(task, completed=done, total=n),
            )
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    c = manifest["counts"]
    typer.echo(
        f"exported {c['total']:,} samples"
        f" ({', '.join(f'{k} {v:,}' for k, v in c['splits'].items())}) as {manifest['format']} to"
        f" {manifest['out_dir']} in {manifest['seconds']} s"
    )
    refused = {k: v for k, v in manifest["refused"].items() if v}
    if refused:
        typer.echo("refused by the format: " + ", ".join(f"{k} {v:,}" for k, v in refused.items()))
    for w in manifest["warnings"]:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
