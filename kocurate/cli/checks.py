"""CLI commands of the automatic checks: check, checks list, dedup, ethics train/evaluate, evalsets
add/list."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..checks.ethics import classifier
from ..errors import EXIT_USAGE
from ..models import ETHICS_FLAGS
from ..services import checks as svc
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail, session

checks_app = typer.Typer(help="Automatic checks: what there is.", no_args_is_help=True)
ethics_app = typer.Typer(help="Ethics classifier: train, evaluate, use.", no_args_is_help=True)
evalsets_app = typer.Typer(
    help="Reference evaluation sets (KoBEST, KorQuAD) for contamination checks.",
    no_args_is_help=True,
)
app.add_typer(checks_app, name="checks")
app.add_typer(ethics_app, name="ethics")
app.add_typer(evalsets_app, name="evalsets")


def _progress_bar(label: str):  # type: ignore[no-untyped-def]
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label + " {task.completed:,} samples"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


@app.command("check")
def check_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    only: list[str] = typer.Option(
        None,
        "--only",
        help="Run only this check (repeatable) over every sample; see `kocurate checks list`.",
    ),
    full: bool = typer.Option(
        False, "--full", help="Re-check every sample, not only those changed since the last run."
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        "-j",
        help=(
            "Processes to check with (id ranges in parallel); "
            "0 (the default): one per core, at most 4, when 20,000 or more samples are due, "
            "else one."
        ),
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run the automatic checks over a dataset and store findings and pre-flags (incremental)."""
    eng = engine()
    with errors(), _progress_bar("checked") as bar:
        task = bar.add_task("check", total=None)
        summary = svc.run_checks(
            eng,
            SYSTEM,
            dataset,
            only=only or None,
            full=full,
            workers=workers if workers > 0 else None,
            progress=lambda n: bar.update(task, completed=n),
        )
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    rate = f" ({summary['samples_per_s']:,.0f} samples/s)" if summary.get("samples_per_s") else ""
    typer.echo(
        f"{summary['dataset']}: checked {summary['samples']:,} samples in"
        f" {summary['seconds']:.1f}s{rate}; {summary['findings']:,} findings, {summary['flags']:,}"
        " pre-flags"
    )
    for name, n in sorted(summary["by_check"].items(), key=lambda x: -x[1]):
        typer.echo(f"  {name:<18} {n:>8,}")


@checks_app.command("list")
def checks_list() -> None:
    """Every check with its family, severity and what it may pre-flag."""
    for c in svc.list_checks():
        flags = ",".join(c["flags"][:3]) + ("…" if len(c["flags"]) > 3 else "")
        typer.echo(
            f"{c['name']:<18} {c['family']:<14} {c['severity']:<8} {flags:<22} {c['description']}"
        )


@checks_app.command("summary")
def checks_summary(dataset: str = typer.Argument(..., help="Dataset name or id.")) -> None:
    """Hits per check for a dataset (findings, samples, errors) and how much of it is checked."""
    from ..services.datasets import get_dataset

    with errors(), session() as s:
        ds = get_dataset(s, dataset)
        prog = svc.check_progress(s, ds.id)
        rows = svc.findings_summary(s, ds.id)
    cheap = prog.get("after_import")
    if cheap and prog["checked"] < prog["samples"]:
        typer.echo(
            f"{ds.name}: the cheap checks ran on {cheap.get('samples', 0):,} of {prog['samples']:,}"
            f" samples after the import ({cheap.get('findings') or 0:,} findings); the full run has"
            f" checked {prog['checked']:,} of {prog['samples']:,} at their current version"
            f" (`kocurate check {ds.name}`)"
        )
    else:
        typer.echo(
            f"{ds.name}: {prog['checked']:,} of {prog['samples']:,} samples checked at their"
            " current version"
        )
    for r in rows:
        if r["findings"]:
            typer.echo(
                f"  {r['check']:<18} {r['samples']:>8,} samples {r['findings']:>8,} findings"
                f" {r['errors']:>8,} errors"
            )


@app.command("dedup")
def dedup_cmd(
    datasets: list[str] = typer.Argument(
        None, help="Datasets to compare with each other (default: all)."
    ),
    threshold: float = typer.Option(
        0.8, "--threshold", help="Estimated Jaccard similarity that makes a duplicate."
    ),
) -> None:
    """Group near-duplicate samples within and across datasets (one kept per group)."""
    eng = engine()
    with errors(), _progress_bar("hashed") as bar:
        task = bar.add_task("dedup", total=None)
        res = svc.dedup(
            eng,
            SYSTEM,
            datasets or None,
            threshold=threshold,
            progress=lambda n: bar.update(task, completed=n),
        )
    typer.echo(
        f"{res['samples']:,} samples: {res['groups']:,} groups of near-duplicates,"
        f" {res['duplicates']:,} samples marked not to keep ({res['seconds']:.1f}s)"
    )


@ethics_app.command("train")
def ethics_train(
    files: list[Path] = typer.Argument(
        ...,
        help=(
            "Labelled files: AIHub ethics JSON/JSONL, kocohub TSV, text|label, "
            "or feedback JSONL from `kocurate ethics feedback`."
        ),
    ),
    model: Path = typer.Option(..., "--model", help="Where to save the model."),
    holdout: float = typer.Option(0.0, "--holdout", help="Keep this share back and report on it."),
    use: bool = typer.Option(
        False, "--use", help="Make `kocurate check` use this model from now on."
    ),
) -> None:
    """Train the ethics classifier (char n-gram TF-IDF + logistic regression per category)."""
    with errors():
        res = svc.train_ethics(SYSTEM, files, model, holdout=holdout)
        if use:
            with session() as s:
                svc.use_ethics_model(s, SYSTEM, model)
    typer.echo(
        f"trained on {res['trained_on']:,} of {res['examples']:,} examples; categories: "
        f"{', '.join(res['categories'])}; saved to {res['model']}"
    )
    if "report" in res:
        typer.echo(classifier.format_report(res["report"]))


@ethics_app.command("evaluate")
def ethics_evaluate(
    files: list[Path] = typer.Argument(..., help="Labelled files (as for train)."),
    model: Path = typer.Option(
        None,
        "--model",
        help=(
            "Evaluate this saved model on all rows (default: train on 80%, "
            "report on the held-out 20%)."
        ),
    ),
    holdout: float = typer.Option(0.2, "--holdout", help="Held-out share when no model is given."),
    text_col: str = typer.Option(
        None, "--text-col", help="CSV/TSV with a header: the column with the text."
    ),
    label_col: str = typer.Option(
        None,
        "--label-col",
        help=(
            "CSV/TSV with a header: the column with the label "
            "(several values may be comma-separated)."
        ),
    ),
    label_map: list[str] = typer.Option(
        None,
        "--map",
        help=(
            "VALUE=CATEGORY: a label value and the ethics category it means (or none); repeatable."
        ),
    ),
    positive: list[str] = typer.Option(
        None,
        "--positive",
        help=(
            "A label value that means unethical, without a "
            "category (counts for the binary figures); repeatable."
        ),
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Binary precision/recall/F1 at the model's default threshold (always), per file and per
    category.

    Accepted files: AIHub ethics JSON/JSONL, feedback JSONL, kocohub TSV, K-MHaS TSV, text|label
    lines, or any CSV/TSV with a header read with --text-col and --label-col (and --map /
    --positive)."""
    spec = None
    if text_col or label_col or label_map or positive:
        if not (text_col and label_col):
            fail(
                "--text-col and --label-col go together (the header names of the text and the label"
                " columns)",
                EXIT_USAGE,
            )
        mapping = {}
        for m in label_map or []:
            value, sep, cat = m.partition("=")
            cat = cat.strip().lower()
            if not sep or not value.strip() or cat not in (*ETHICS_FLAGS, "none"):
                fail(
                    f"--map takes VALUE=CATEGORY with a category among {', '.join(ETHICS_FLAGS)} or"
                    f" none; got {m!r}",
                    EXIT_USAGE,
                )
            mapping[value.strip()] = cat
        spec = classifier.ColumnSpec(
            text_col, label_col, mapping, frozenset(v.strip() for v in positive or [])
        )
    with errors():
        report = svc.evaluate_ethics(files, model, holdout=holdout, spec=spec)
    typer.echo(json.dumps(report, indent=1) if as_json else classifier.format_report(report))


@ethics_app.command("use")
def ethics_use(
    model: Path = typer.Argument(None, help="Model file (omit to stop using one)."),
) -> None:
    """Make check runs pre-flag with this model (the `ethics_model` check)."""
    with errors(), session() as s:
        svc.use_ethics_model(s, SYSTEM, model)
    typer.echo(f"ethics model: {model or 'none'}")


@ethics_app.command("feedback")
def ethics_feedback(out: Path = typer.Argument(..., help="JSONL file to write.")) -> None:
    """Export annotators' confirmed/cleared ethics pre-flags as training data for the next run."""
    with errors(), session() as s:
        n = svc.export_ethics_feedback(s, SYSTEM, out)
    typer.echo(f"wrote {n:,} examples to {out}")


@evalsets_app.command("add")
def evalsets_add(
    kind: str = typer.Argument(
        ...,
        help=(
            "kobest (task from file name/header), kobest_boolq|copa|hellaswag|sentineg|"
            "wic, or korquad."
        ),
    ),
    path: Path = typer.Argument(..., help="The TSV (KoBEST) or SQuAD-v1 JSON (KorQuAD) file."),
    name: str = typer.Option(None, "--name", help="Name of the set (default: the file name)."),
) -> None:
    """Import a reference evaluation set that training data must not contain."""
    if not path.exists():
        fail(f"{path}: file not found", EXIT_USAGE)
    with errors(), session() as s:
        res = svc.add_evalset(s, SYSTEM, kind, path, name)
    parts = ", ".join(f"{n:,} {f}" for f, n in sorted(res["by_field"].items()))
    typer.echo(
        f"added evaluation set {res['name']!r} (id {res['id']}): {res['items']:,} items ({parts})"
    )


@evalsets_app.command("list")
def evalsets_list() -> None:
    """The reference sets imported so far."""
    with errors(), session() as s:
        rows = svc.list_evalsets(s)
    if not rows:
        typer.echo("no evaluation sets; add one with `kocurate evalsets add KIND PATH`")
    for r in rows:
        typer.echo(
            f"{r['id']:>4}  {r['name']:<28} {r['kind']:<18} {r['items']:>7,} items  {r['file']}"
        )
