"""CLI commands ``import``, ``datasets`` and ``show``: datasets in, and a look at one sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import EXIT_USAGE, AlreadyImported
from ..services import datasets as ds_service
from ..services.auth import SYSTEM
from ..services.catalog import import_kinds
from .app import app, engine, errors, fail, session

REGISTRY = import_kinds()
KINDS_HELP = ", ".join(f"{k} ({c.title})" for k, c in sorted(REGISTRY.items()))


def _pairs(values: list[str] | None, what: str) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        if "=" not in v:
            fail(f"{what} takes ROLE=COLUMN, got {v!r}", EXIT_USAGE)
        role, col = v.split("=", 1)
        out.append((role.strip(), col.strip()))
    return out


@app.command("import")
def import_cmd(
    kind: str = typer.Argument(..., help=f"Format of the data: {KINDS_HELP}."),
    ko_path: Path = typer.Argument(
        ...,
        help=(
            "The Korean file (.json, .jsonl, .csv, .parquet, .gz of them, or a "
            "saved HF dataset folder)."
        ),
    ),
    source: Path = typer.Option(
        None, "--source", "-s", help="The English source file, for alignment."
    ),
    name: str = typer.Option(None, "--name", "-n", help="Dataset name (default: the file name)."),
    licence: str = typer.Option(
        None,
        "--licence",
        help=(
            "Licence of the data (SPDX id, e.g. CC-BY-NC-4.0). Default: "
            "the upstream licence when the file is one of that "
            "dataset's published files, else none (you are asked)."
        ),
    ),
    skip_bad: bool = typer.Option(
        False,
        "--skip-bad",
        help=(
            "Import the valid records and write a report of the skipped ones (NAME.skipped.jsonl)."
        ),
    ),
    report: Path = typer.Option(
        None, "--report", help="Where to write the skipped-records report."
    ),
    field_map: list[str] = typer.Option(
        None, "--map", help="generic: ROLE=COLUMN for each Korean turn, in order."
    ),
    source_map: list[str] = typer.Option(
        None, "--source-map", help="generic: ROLE=COLUMN of English in the same record."
    ),
    conversations: str = typer.Option(
        None, "--conversations", help="generic: column with a list of turns."
    ),
    id_field: str = typer.Option(None, "--id-field", help="generic: the id column."),
    meta_field: list[str] = typer.Option(
        None, "--meta-field", help="generic: columns kept as metadata."
    ),
    no_index: bool = typer.Option(
        False,
        "--no-index",
        help=(
            "PostgreSQL: skip building the trigram search "
            "indexes (later: `kocurate search --reindex`); SQLite indexes turns as they are "
            "written and skips only merging the index afterwards (the first edits then pay for it)."
        ),
    ),
    file_format: str = typer.Option(
        None,
        "--format",
        help=(
            "Format of the Korean file when its name does not say "
            "(json, jsonl, csv, tsv, parquet, hf); default: by "
            "extension, else by content."
        ),
    ),
    no_checks: bool = typer.Option(
        False,
        "--no-checks",
        help=(
            "Skip the cheap automatic checks that run after "
            "an import (later: `kocurate check DATASET`)."
        ),
    ),
) -> None:
    """Import a dataset (and its English source): aligned, atomic, idempotent; then index it for
    search and run the cheap automatic checks."""
    options = None
    if kind == "generic":
        options = {
            "fields": _pairs(field_map, "--map"),
            "source_fields": dict(_pairs(source_map, "--source-map")),
            "conversations": conversations,
            "id_field": id_field,
            "meta_fields": meta_field or [],
        }
    if file_format:
        options = {**(options or {}), "format": file_format.lower()}
    if kind not in REGISTRY:
        fail(f"unknown kind {kind!r}; one of: {', '.join(sorted(REGISTRY))}", EXIT_USAGE)
    eng = engine()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with (
        errors(),
        Progress(
            TextColumn("importing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar,
    ):
        task = bar.add_task(ko_path.name, total=None)
        try:
            rep = ds_service.import_dataset(
                eng,
                SYSTEM,
                kind,
                ko_path,
                source,
                name=name,
                licence=licence,
                options=options,
                skip_bad=skip_bad,
                report_path=report,
                progress=lambda n: bar.update(task, completed=n),
                index=not no_index,
                checks=not no_checks,
            )
        except AlreadyImported as exc:
            typer.echo(str(exc))
            return
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    typer.echo(f"imported {rep.name!r} (dataset {rep.dataset_id}): {rep.summary()}")
    warning = rep.alignment_warning()
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    if "search_index" in rep.after:
        typer.echo(
            f"search index: {rep.after['search_index']['turns']:,} turns in"
            f" {rep.after['search_index']['seconds']} s"
        )
    if "checks" in rep.after:
        typer.echo(
            f"cheap checks: {rep.after['checks']['findings'] or 0:,} findings in"
            f" {rep.after['checks']['seconds']} s (the full run: `kocurate check DATASET`)"
        )
    if rep.skipped_report:
        typer.echo(f"skipped records listed in {rep.skipped_report}")
    cls = REGISTRY[kind]
    if not licence and cls.licence_for(ko_path) is None:
        hint = f" (the upstream {cls.title} is {cls.licence})" if cls.licence else ""
        typer.secho(
            f"licence unknown: {ko_path.name} is not a known file of this dataset, so no licence"
            f" was recorded{hint}. Give it with --licence when you import; exports warn about"
            " unknown licences.",
            fg=typer.colors.YELLOW,
            err=True,
        )


@app.command("datasets")
def datasets_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List datasets with sample counts per status and alignment."""
    with session() as s:
        rows = ds_service.list_datasets(s)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no datasets yet; import one with `kocurate import KIND FILE`")
        return
    typer.echo(
        f"{'id':>3}  {'name':<28} {'kind':<15} {'samples':>8} {'aligned':>8} {'ambig.':>7}"
        f" {'unal.':>6} {'approved':>8} {'rejected':>8}"
    )
    for r in rows:
        typer.echo(
            f"{r['id']:>3}  {r['name'][:28]:<28} {r['kind']:<15} {r['samples']:>8,}"
            f" {r['aligned']:>8,} {r['ambiguous']:>7,} {r['unaligned']:>6,} {r['approved']:>8,}"
            f" {r['rejected']:>8,}"
        )


@app.command("show")
def show_cmd(
    sample_id: int = typer.Argument(..., help="Sample id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one sample: English source and Korean text per turn, status, alignment."""
    with errors(), session() as s:
        view = ds_service.sample_view(s, sample_id)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    conf = view["align_confidence"]
    typer.echo(
        f"sample {view['id']}  dataset {view['dataset']}  key {view['key']}  status"
        f" {view['status']}  v{view['version']}  alignment {view['align_status']}"
        + (f" ({conf:.2f})" if conf is not None else "")
    )
    if view["meta"]:
        typer.echo(f"meta: {json.dumps(view['meta'], ensure_ascii=False)}")
    for t in view["turns"]:
        typer.echo(f"--- [{t['idx']}] {t['role']}" + (" (edited)" if t["edited"] else ""))
        if t["source_text"] is not None:
            typer.echo(f"EN: {t['source_text']}")
        typer.echo(f"KO: {t['text']}")
