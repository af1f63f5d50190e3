"""CLI commands around review: search (and its index), overlap, decision rule, disputed samples,
pending drafts, edit history, queue counts."""

from __future__ import annotations

import json

import typer

from ..errors import EXIT_USAGE
from ..services import datasets as ds_service
from ..services import drafts as drafts_service
from ..services import review as rv
from ..services import search as search_service
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail, session

review_app = typer.Typer(
    help="Review queues: overlap, decision rule, disputed samples, drafts, history, counts.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")


@app.command("search")
def search_cmd(
    query: str = typer.Argument(
        None,
        help=(
            "Words that must all occur, in the Korean text or in the English source. Korean: any"
            ' part of a word; English: words and word beginnings ("student" finds'
            ' "students").'
        ),
    ),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Only this dataset (name or id)."),
    field: str = typer.Option("both", "--in", help="ko, en or both."),
    status: str = typer.Option(None, "--status", help="Only samples with this status."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many hits."),
    reindex: bool = typer.Option(
        False,
        "--reindex",
        help="(Re)build the search index (all datasets, or --dataset) instead of searching.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Search turn text, or build the search index after an import (--reindex)."""
    with errors():
        eng = engine()
        ds_id = None
        if dataset:
            with session() as s:
                ds_id = ds_service.get_dataset(s, dataset).id
        if reindex:
            done = (
                {ds_id: search_service.index_dataset(eng, ds_id)}
                if ds_id is not None
                else search_service.reindex(eng)
            )
            for d, n in done.items():
                typer.echo(
                    f"dataset {d}: {n:,} turns indexed"
                    if eng.dialect.name == "sqlite"
                    else (
                        f"dataset {d}: trigram indexes in place (PostgreSQL keeps them current now)"
                    )
                )
            return
        if not query:
            fail("give a query, or --reindex", EXIT_USAGE)
        with session() as s:
            hits = search_service.search(
                s, SYSTEM, query, dataset_id=ds_id, field=field, status=status, limit=limit
            )
    for h in hits:
        if as_json:
            typer.echo(json.dumps(h, ensure_ascii=False))
        else:
            typer.echo(
                f"sample {h['sample_id']} ({h['dataset']} #{h['key']}, turn {h['turn_idx'] + 1}"
                f" {h['role']}, {h['status']})\n  ko: {h['ko']}\n  en: {h['en']}"
            )
    if not hits and not as_json:
        typer.echo("no matches")


@review_app.command("overlap")
def overlap_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    k: int = typer.Argument(..., help="Annotators per sample (1-10)."),
) -> None:
    """Have k annotators review each sample of a dataset (for agreement)."""
    with errors(), session() as s:
        ds = ds_service.get_dataset(s, dataset)
        rv.set_overlap(s, SYSTEM, ds.id, k)
        typer.echo(f"{ds.name}: {k} annotator(s) per sample")


@review_app.command("history")
def history_cmd(
    sample_id: int = typer.Argument(..., help="Sample id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every edit of a sample: who, when, before and after."""
    with errors(), session() as s:
        entries = rv.history(s, SYSTEM, sample_id)
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False, indent=1))
        return
    for e in entries:
        typer.echo(
            f"v{e['version']} {e['at']} {e['user']} turn {e['turn_idx'] + 1} {e['field']}"
            f" ({e['kind']})"
        )
        typer.echo(rv.diff_text(e["before"], e["after"], old_name="before", new_name="after"))


@review_app.command("counts")
def counts_cmd(dataset: str = typer.Argument(..., help="Dataset name or id.")) -> None:
    """Samples per review status in a dataset."""
    with errors(), session() as s:
        ds = ds_service.get_dataset(s, dataset)
        counts = rv.queue_counts(s, SYSTEM, ds.id)
    for status, n in sorted(counts.items()):
        typer.echo(f"{status:<10} {n:,}")


@review_app.command("rule")
def rule_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    rule: str = typer.Argument(..., help="unanimous (default), majority or any-reject."),
) -> None:
    """How the decisions of overlapping reviewers settle a sample; a disagreement under the rule
    makes it 'disputed' until a lead adjudicates it on the Review page."""
    with errors(), session() as s:
        ds = ds_service.get_dataset(s, dataset)
        rv.set_decision_rule(s, SYSTEM, ds.id, rule)
        typer.echo(f"{ds.name}: decision rule {rule}")


@review_app.command("disputed")
def disputed_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many samples."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """The adjudication queue: disputed samples with each reviewer's latest decision."""
    with errors(), session() as s:
        ds = ds_service.get_dataset(s, dataset)
        rows = rv.disputed(s, SYSTEM, ds.id, limit=limit)
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        else:
            typer.echo(
                f"sample {r['sample_id']}: "
                + ", ".join(f"{u} {d}" for u, d in r["decisions"].items())
            )
    if not rows and not as_json:
        typer.echo("no disputed samples")


@review_app.command("drafts")
def drafts_cmd() -> None:
    """Unsaved drafts pending per dataset (typed in the Review page, not saved yet; never
    exported)."""
    with errors(), session() as s:
        rows = drafts_service.pending_counts(s, SYSTEM)
    for r in rows:
        typer.echo(
            f"{r['dataset']}: {r['drafts']:,} draft(s) on {r['samples']:,} sample(s) by"
            f" {r['people']} people"
        )
    if not rows:
        typer.echo("no pending drafts")
