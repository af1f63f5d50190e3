"""CLI of issue 21 B: gold samples (mark, list, report, mixing rate, bar) and quality ratings
(switch per dataset, agreement summary)."""

from __future__ import annotations

import json
from typing import Any

import typer

from ..errors import UsageError
from ..models import FLAG_LABELS_KO
from ..services import datasets as ds_service
from ..services import gold as gold_service
from ..services import ratings as ratings_service
from ..services.auth import SYSTEM
from .app import app, errors, session

gold_app = typer.Typer(
    help="Gold samples: expected answers that measure annotators, mixed into their queues.",
    no_args_is_help=True,
)
app.add_typer(gold_app, name="gold")
ratings_app = typer.Typer(
    help="Quality ratings on AIHub's rubric (grammaticality, factuality, fluency, diversity; 1-5).",
    no_args_is_help=True,
)
app.add_typer(ratings_app, name="ratings")

_KO_FLAGS = {ko: code for code, ko in FLAG_LABELS_KO.items()}


def _flag(name: str) -> str:
    return _KO_FLAGS.get(name.strip(), name.strip())


def _texts(items: list[str] | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for item in items or []:
        n, sep, text = item.partition("=")
        if not sep or not n.strip().isdigit() or int(n) < 1:
            raise UsageError(f"--text takes TURN=TEXT with the turn number from 1, got {item!r}")
        out[int(n) - 1] = text
    return out


def _ds_id(ref: str | None) -> int | None:
    if ref is None:
        return None
    with session() as s:
        return ds_service.get_dataset(s, ref).id


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{100 * ci[0]:.0f}-{100 * ci[1]:.0f}%]"


@gold_app.command("add")
def gold_add(
    sample: int = typer.Argument(..., help="Sample id."),
    decision: str = typer.Option(
        ..., "--decision", help="Expected decision: approve, reject or needs_fix."
    ),
    flag: list[str] = typer.Option(
        None,
        "--flag",
        help="Expected flag (code such as hate, or the Korean category name such as 혐오); repeat.",
    ),
    text: list[str] = typer.Option(
        None,
        "--text",
        help="Expected Korean text of a turn: TURN=TEXT (turn number from 1); repeat.",
    ),
    note: str = typer.Option(None, "--note", help="Why this is the expected answer (for leads)."),
) -> None:
    """Mark a sample gold with its expected answer (or change the expected answer)."""
    with errors(), session() as s:
        g = gold_service.mark(
            s, SYSTEM, sample, decision, [_flag(f) for f in flag or []], _texts(text), note
        )
    typer.echo(
        f"sample {sample} is gold: {g['decision']}"
        + (f", flags {', '.join(g['flags'])}" if g["flags"] else "")
        + (
            f", expected text for turn(s) {', '.join(str(i + 1) for i in g['texts'])}"
            if g["texts"]
            else ""
        )
    )


@gold_app.command("remove")
def gold_remove(sample: int = typer.Argument(..., help="Sample id.")) -> None:
    """Make a gold sample ordinary again (its scored answers go with it)."""
    with errors(), session() as s:
        done = gold_service.unmark(s, SYSTEM, sample)
    typer.echo(f"sample {sample} is no longer gold" if done else f"sample {sample} was not gold")


@gold_app.command("list")
def gold_list(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset name or id."),
    limit: int = typer.Option(100, "--limit", "-n"),
) -> None:
    """A dataset's gold samples and their expected answers."""
    with errors():
        ds = _ds_id(dataset)
        with session() as s:
            rows = gold_service.list_gold(s, SYSTEM, ds or 0, limit=limit)
    for r in rows:
        typer.echo(
            f"sample {r['sample_id']}: {r['decision']}  flags: {', '.join(r['flags']) or '-'}  "
            f"expected texts: {r['texts']}"
        )
    if not rows:
        typer.echo("no gold samples")


@gold_app.command("report")
def gold_report(
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset name or id (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per annotator: accuracy on gold (decision, per flag category) with Wilson 95 % intervals."""
    with errors():
        ds = _ds_id(dataset)
        with session() as s:
            rows = gold_service.report(s, SYSTEM, ds)
            bar = gold_service.settings(s, ds) if ds is not None else None
    if as_json:
        typer.echo(json.dumps({"bar": bar, "annotators": rows}, ensure_ascii=False, indent=2))
        return
    if bar is not None:
        typer.echo(
            f"gold rate {_pct(bar['rate'])}; bar: "
            + (
                f"decision accuracy under {_pct(bar['min_accuracy'])} after {bar['min_answers']}"
                " answers -> second review"
                if bar["min_accuracy"] is not None
                else "none"
            )
        )
    for r in rows:
        wrong = [c for c, v in r["flags"].items() if v["accuracy"] < 1.0]
        typer.echo(
            f"{r['user']:<20} answers {r['answers']:>4}  decision {_pct(r['decision_accuracy'])}"
            f"{_ci(r['decision_ci'])}"
            + (f"  text {r['text_similarity']:.2f}" if r["text_similarity"] is not None else "")
            + ("  BELOW BAR" if r["below_bar"] else "")
        )
        for c in wrong:
            v = r["flags"][c]
            typer.echo(
                f"{'':<22}{c} ({FLAG_LABELS_KO.get(c, c)}): {_pct(v['accuracy'])}{_ci(v['ci'])}"
            )
    if not rows:
        typer.echo("no gold answers yet")


@gold_app.command("rate")
def gold_rate(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    rate: str = typer.Argument(
        ..., help="Share of each annotator's queue that is gold: 0.05 or 5%; 0 switches mixing off."
    ),
) -> None:
    """Set how often gold samples are mixed into annotators' queues."""
    with errors():
        r = rate.strip()
        try:
            value = float(r[:-1]) / 100 if r.endswith("%") else float(r)
        except ValueError:
            raise UsageError(f"rate: a share such as 0.05 or 5%, got {rate!r}") from None
        ds = _ds_id(dataset)
        with session() as s:
            st = gold_service.set_rate(s, SYSTEM, ds or 0, value)
    typer.echo(
        f"gold rate {_pct(st['rate'])}"
        + (f" (one in {max(2, round(1 / st['rate']))} samples)" if st["rate"] else " (off)")
    )


@gold_app.command("bar")
def gold_bar(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    min_accuracy: float = typer.Option(
        None,
        "--min-accuracy",
        help="Decision accuracy on gold under which decisions get a second review (0.8 = 80 %).",
    ),
    min_answers: int = typer.Option(
        10, "--min-answers", help="Gold answers a person needs before the bar applies."
    ),
    off: bool = typer.Option(False, "--off", help="Remove the bar."),
) -> None:
    """Set the bar: below it, a person's decided samples need one more reviewer (at or above the
    bar)."""
    with errors():
        if min_accuracy is None and not off:
            raise UsageError("give --min-accuracy (e.g. 0.8) or --off")
        ds = _ds_id(dataset)
        with session() as s:
            st = gold_service.set_bar(
                s, SYSTEM, ds or 0, None if off else min_accuracy, min_answers
            )
    typer.echo(
        "no bar"
        if st["min_accuracy"] is None
        else (
            f"bar: decision accuracy under {_pct(st['min_accuracy'])} after {st['min_answers']}"
            " gold answers -> second review"
        )
    )


@ratings_app.command("enable")
def ratings_enable(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    off: bool = typer.Option(False, "--off", help="Switch ratings off (kept ratings stay)."),
) -> None:
    """Switch quality ratings on (or off) for a dataset's reviewers."""
    with errors():
        ds = _ds_id(dataset)
        with session() as s:
            on = ratings_service.set_enabled(s, SYSTEM, ds or 0, not off)
    typer.echo(f"quality ratings {'on' if on else 'off'} for {dataset}")


@ratings_app.command("summary")
def ratings_summary(
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset name or id (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per criterion: ratings, mean, quadratic-weighted kappa (pairs of raters, averaged) and
    Krippendorff's alpha (ordinal, interval)."""
    with errors():
        ds = _ds_id(dataset)
        with session() as s:
            rows = ratings_service.summary(s, SYSTEM, ds)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return

    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    typer.echo(
        f"{'criterion':<24}{'ratings':>8}{'samples':>8}{'raters':>7}{'mean':>7}{'kappa_w':>9}"
        f"{'alpha_ord':>10}{'alpha_int':>10}"
    )
    for r in rows:
        typer.echo(
            f"{r['criterion'] + ' ' + r['label_ko']:<24}{r['ratings']:>8}{r['samples']:>8}"
            f"{r['raters']:>7}"
            f"{f(r['mean']):>7}{f(r['kappa']):>9}{f(r['alpha_ordinal']):>10}{f(r['alpha_interval']):>10}"
        )
