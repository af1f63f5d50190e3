"""CLI of the Korean checks: the deep run and the dataset's speech level."""

from __future__ import annotations

import json
import sys

import typer

from ..checks.korean import NAMES
from ..checks.korean.analysis import LEVEL_NAMES, LEVELS
from ..errors import EXIT_USAGE
from ..services import korean as svc
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail, session


@app.command("korean-check")
def korean_check(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    only: list[str] = typer.Option(
        None, "--only", help=f"Run only this Korean check (repeatable): {', '.join(NAMES)}."
    ),
    workers: int = typer.Option(
        2, "--workers", "-j", help="Processes to analyse with (id ranges in parallel)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Deep Korean checks (speech level, translationese, particles, spacing, leftover scripts, lost
    tasks) over every sample of a dataset; spacing corrections become suggestions, speech levels are
    counted.
    """
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    eng = engine()
    with (
        errors(),
        Progress(
            TextColumn("analysed {task.completed:,} samples"),
            TimeElapsedColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar,
    ):
        task = bar.add_task("korean", total=None)
        summary = svc.run_korean_checks(
            eng,
            SYSTEM,
            dataset,
            only or None,
            workers=workers,
            progress=lambda n: bar.update(task, completed=n),
        )
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    rate = f" ({summary['samples_per_s']:,.0f} samples/s)" if summary.get("samples_per_s") else ""
    typer.echo(
        f"{summary['dataset']}: analysed {summary['samples']:,} samples in"
        f" {summary['seconds']:.1f}s{rate}; {summary['findings']:,} findings,"
        f" {summary.get('suggestions', 0):,} spacing suggestions"
    )
    for name, n in sorted(summary["by_check"].items(), key=lambda x: -x[1]):
        typer.echo(f"  {name:<18} {n:>8,}")
    lv = summary["speech_levels"]
    if lv.get("dominant"):
        typer.echo(
            f"  dominant speech level: {LEVEL_NAMES[lv['dominant']]} ({lv['dominant']}) over "
            f"{lv['sampled_turns']:,} assistant turns"
        )


@app.command("korean-level")
def korean_level(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    set_level: str = typer.Option(
        None,
        "--set",
        help=(
            f"Target level of the assistant: {', '.join(LEVELS)} "
            f"({', '.join(LEVEL_NAMES.values())})."
        ),
    ),
    clear: bool = typer.Option(False, "--clear", help="Remove the target level."),
) -> None:
    """Show the dataset's dominant speech level (from the last korean-check) and its target; set or
    clear it."""
    if set_level and clear:
        fail("--set and --clear exclude each other", EXIT_USAGE)
    with errors(), session() as s:
        if set_level or clear:
            view = svc.set_target_level(s, SYSTEM, dataset, None if clear else set_level)
        else:
            view = svc.speech_levels(s, dataset)
    dom = (
        f"{view['dominant_name']} ({view['dominant']})"
        if view["dominant"]
        else "unknown (run korean-check)"
    )
    tgt = f"{view['target_name']} ({view['target']})" if view["target"] else "none"
    typer.echo(f"{view['dataset']}: dominant speech level {dom}; target {tgt}")
    if view["sentences"]:
        typer.echo(
            "  sentences: "
            + ", ".join(f"{LEVEL_NAMES[k]} {v:,}" for k, v in view["sentences"].items())
        )
