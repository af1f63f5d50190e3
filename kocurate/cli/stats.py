"""``kocurate stats``: the dashboard's figures on the command line (text, or ``--json``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer

from ..errors import EXIT_USAGE
from ..services import datasets as dataset_service
from ..services import stats as stats_service
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"{name}: expected a date as YYYY-MM-DD, got {value!r}", EXIT_USAGE)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@app.command("stats")
def stats_cmd(
    dataset: list[str] = typer.Option(
        None, "--dataset", "-d", help="Dataset id or name (repeatable; default: all)."
    ),
    since: str = typer.Option(
        None, "--since", help="First day of activity counted (YYYY-MM-DD, UTC)."
    ),
    until: str = typer.Option(
        None, "--until", help="Last day of activity counted (YYYY-MM-DD, UTC)."
    ),
    target: int = typer.Option(
        stats_service.DEFAULT_TARGET, "--target", help="Approved samples the corpus should reach."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print every figure as JSON (what the dashboard shows)."
    ),
) -> None:
    """Progress, quality, translation repair, text statistics and annotator agreement (SQL
    aggregates)."""
    with errors(), stats_service.snapshot(engine()) as s:
        ids = tuple(dataset_service.get_dataset(s, d).id for d in dataset or [])
        f = stats_service.StatsFilter(ids, _date(since, "--since"), _date(until, "--until"))
        if f.since and f.until and f.since > f.until:
            fail("--since is after --until", EXIT_USAGE)
        dash = stats_service.dashboard(s, SYSTEM, f, target=target)
    if as_json:
        typer.echo(json.dumps(dash, ensure_ascii=False, indent=2, default=str))
        return
    _print(dash)


def _print(d: dict[str, Any]) -> None:
    p = d["progress"]
    echo = typer.echo
    echo("Progress")
    echo(f"  samples {p['samples']}: " + ", ".join(f"{k} {v}" for k, v in p["by_status"].items()))
    echo(
        f"  approved {p['approved']} of target {p['target']} ({_pct(p['target_share'])}),"
        f" {p['to_target']} to go"
    )
    echo(
        f"  pace {p['reviews_per_day']} reviews/day, {p['approvals_per_day']} approvals/day "
        f"({p['pace_window'][0]}..{p['pace_window'][1]})"
    )
    echo(
        f"  to finish: {p['remaining_reviews']} reviews, "
        f"{'-' if p['days_to_finish'] is None else p['days_to_finish']} days; "
        f"to target: {'-' if p['days_to_target'] is None else p['days_to_target']} days"
    )
    echo("Quality")
    for r in d["approval"]["datasets"]:
        echo(f"  {r['dataset']}: approval {_pct(r['rate'])} of {r['decided']} decided")
    for r in d["approval"]["categories"]:
        echo(f"  {r['dataset']} · {r['category']}: approval {_pct(r['rate'])} of {r['decided']}")
    for r in d["checks"]:
        echo(
            f"  check {r['check']} on {r['dataset']}: {r['samples_hit']} samples"
            f" ({_pct(r['rate'])}), {r['findings']} findings"
        )
    for r in d["preflags"]["checks"]:
        echo(
            f"  check {r['check']}: confirmed {r['confirmed']}, cleared {r['cleared']}, open"
            f" {r['open']}, precision {_pct(r['precision'])}"
        )
    for r in d["preflags"]["flags"]:
        echo(
            f"  pre-flag {r['category']} ({r['origin']}): confirmed {r['confirmed']}, cleared"
            f" {r['cleared']}, precision {_pct(r['precision'])}"
        )
    t = d["translation"]
    echo("Translation repair")
    echo(
        f"  edited turns {t['edited_turns']} of {t['turns']} ({_pct(t['edited_share'])});"
        f" re-translations accepted {t['suggestions']['accepted']}, rejected"
        f" {t['suggestions']['rejected']}, open {t['suggestions']['open']}; DeepL characters"
        f" {t['deepl_characters']}"
    )
    echo(
        "  "
        + "  ".join(f"{h['bucket']}:{h['n']}" for h in t["distance_hist"])
        + f"  ({t['distance']})"
    )
    echo("Annotators")
    for u in d["annotators"]["users"]:
        echo(
            f"  {u['username']}: {u['reviews']} reviews on {u['active_days']} days, "
            f"median {_num(u['median_seconds'])} s/sample"
        )
    ag = d["agreement"]
    echo(
        f"Agreement on {ag['samples']} overlapping samples: Fleiss kappa (decisions)"
        f" {_num(ag['decisions']['fleiss'])}"
    )
    for pr in ag["decisions"]["pairs"]:
        echo(f"  {pr['a']} / {pr['b']}: {pr['samples']} samples, Cohen kappa {_num(pr['kappa'])}")
    for cat, v in ag["flags"].items():
        echo(f"  flag {cat}: Fleiss kappa {_num(v['fleiss'])}")
