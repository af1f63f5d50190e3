"""CLI of the LLM review assistant: `kocurate llm grade|suggest|estimate|resume|evaluate|config`."""

from __future__ import annotations

import json
import threading
from typing import Any

import typer

from ..errors import EXIT_CONFIG
from ..services import jobs as job_service
from ..services import llm as svc
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail, session, url

llm_app = typer.Typer(
    help=(
        "LLM review assistant over an OpenAI-compatible server (needs KOCURATE_LLM_BASE_URL, "
        "KOCURATE_LLM_MODEL, KOCURATE_LLM_API_KEY)."
    ),
    no_args_is_help=True,
)
app.add_typer(llm_app, name="llm")

_DATASET = typer.Option(None, "--dataset", "-d", help="Dataset id or name.")
_CHECK = typer.Option(
    None, "--check", help="Only samples with a finding of this check (e.g. untranslated)."
)
_FLAG = typer.Option(None, "--flag", help="Only samples with this flag (not cleared).")
_STATUS = typer.Option(None, "--status", help="Only samples with this status (new, needs_fix, …).")
_LIMIT = typer.Option(None, "--limit", help="At most this many samples.")
_SAMPLE = typer.Option(None, "--sample", help="These sample ids (repeatable).")


def _filters(
    dataset: str | None,
    check: str | None,
    flag: str | None,
    status: str | None,
    limit: int | None,
    sample: list[int] | None,
) -> svc.BatchFilter:
    return svc.BatchFilter(
        dataset=dataset,
        check=check,
        flag=flag,
        status=status,
        limit=limit,
        sample_ids=sample or None,
    )


def _print_estimate(est: dict[str, Any]) -> None:
    exact = "" if est["exact"] else " (approximate: summed in SQL, cache not deducted)"
    typer.echo(
        f"{est['task']}: samples {est['samples']}, turns {est['turns']}, to send {est['to_send']}"
        + (f", from the cache {est['cached']}" if est.get("cached") else "")
        + exact
    )
    typer.echo(
        f"requests: {est['requests']}  tokens: ~{est['input_tokens']} in +"
        f" ~{est['output_tokens']} out"
    )
    if est["estimated_cost_usd"] is None:
        typer.echo(
            f"cost: unknown — no price for model {est['model'] or '(KOCURATE_LLM_MODEL not set)'!r}"
            " (a local server costs nothing; else set KOCURATE_LLM_PRICES)"
        )
    else:
        p = est["price_usd_per_million"]
        typer.echo(
            f"estimated cost: USD {est['estimated_cost_usd']:.4f} (model {est['model']}: USD"
            f" {p[0]:g} in / {p[1]:g} out per million tokens)"
        )


def _follow(job_id: int, eng: Any) -> dict[str, Any]:
    """Run the job here with a progress line; Ctrl-C cancels it cleanly (resumable)."""
    t = threading.Thread(target=job_service.run, args=(eng, job_id), daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(0.5)
            j = job_service.get_dict(eng, job_id)
            r = j["result"]
            typer.echo(
                f"\rjob {job_id}: {j['done']}/{j['total']} samples, {r.get('requests', 0)}"
                f" requests, USD {r.get('cost_usd', 0.0):.4f}",
                nl=False,
                err=True,
            )
    except KeyboardInterrupt:
        with session() as s:
            job_service.cancel(s, SYSTEM, job_id)
        t.join(30)
    typer.echo("", err=True)
    return job_service.get_dict(eng, job_id)


def _report(j: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(j, default=str))
    else:
        typer.echo(f"job {j['id']}: {j['status']} — {j['message'] or ''}")
        for e in j["result"].get("errors", [])[:10]:
            typer.echo(f"  turn {e['turn_id']} (sample {e['sample_id']}): {e['error']}")
    if j["status"] in ("failed", "cancelled"):
        typer.echo(f"resume with: kocurate llm resume {j['id']}", err=True)
        raise typer.Exit(1)


def _batch(
    task: str,
    f: svc.BatchFilter,
    estimate_only: bool,
    yes: bool,
    budget: float | None,
    background: bool,
    as_json: bool,
) -> None:
    with errors():
        with session() as s:
            est = svc.estimate(s, SYSTEM, task, f)
        if estimate_only:
            typer.echo(json.dumps(est, default=str)) if as_json else _print_estimate(est)
            return
        if not svc.configured():
            fail(svc.how_to_configure(), EXIT_CONFIG)
        if not as_json:
            _print_estimate(est)
        if est["turns"] == 0:
            typer.echo("nothing to do: no translated turns in this selection")
            return
        if not yes and not typer.confirm("start?", default=False):
            raise typer.Exit(1)
        eng = engine()
        job_id = svc.start_batch(
            eng,
            SYSTEM,
            task,
            f,
            budget_usd=budget,
            background="process" if background else None,
            db_url=url(),
        )
        if background:
            typer.echo(f"job {job_id} started; follow it with: kocurate jobs show {job_id}")
            return
        typer.echo(f"job {job_id}", err=True)
        j = _follow(job_id, eng)
    _report(j, as_json)


@llm_app.command("grade")
def grade_cmd(
    dataset: str = _DATASET,
    check: str = _CHECK,
    flag: str = _FLAG,
    status: str = _STATUS,
    limit: int = _LIMIT,
    sample: list[int] = _SAMPLE,
    turn: int = typer.Option(None, "--turn", help="Grade just this turn now and print its errors."),
    estimate_only: bool = typer.Option(
        False, "--estimate", help="Only show turns, requests, tokens and cost."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking."),
    budget: float = typer.Option(
        None, "--budget", help="Stop once this many USD are spent (resumable)."
    ),
    background: bool = typer.Option(
        False, "--background", help="Run the job in its own process and return."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the estimate / job / errors as JSON."
    ),
) -> None:
    """Grade translations MQM-style (findings of check llm_quality) for the selected samples."""
    if turn is not None:
        with errors(), session() as s:
            errs = svc.grade_turn(s, SYSTEM, turn)
        if as_json:
            typer.echo(json.dumps(errs, ensure_ascii=False))
            return
        typer.echo(f"turn {turn}: " + (f"{len(errs)} error(s)" if errs else "no errors"))
        for e in errs:
            typer.echo(
                f"  {e['category']}/{e['severity']}: {e['reason']}"
                + (f"  [{e['span']}]" if e["span"] else "")
            )
        return
    _batch(
        "grade",
        _filters(dataset, check, flag, status, limit, sample),
        estimate_only,
        yes,
        budget,
        background,
        as_json,
    )


@llm_app.command("suggest")
def suggest_cmd(
    dataset: str = _DATASET,
    check: str = _CHECK,
    flag: str = _FLAG,
    status: str = _STATUS,
    limit: int = _LIMIT,
    sample: list[int] = _SAMPLE,
    turn: int = typer.Option(
        None, "--turn", help="Suggest a fix for just this turn now and print it."
    ),
    estimate_only: bool = typer.Option(
        False, "--estimate", help="Only show turns, requests, tokens and cost."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking."),
    budget: float = typer.Option(
        None, "--budget", help="Stop once this many USD are spent (resumable)."
    ),
    background: bool = typer.Option(
        False, "--background", help="Run the job in its own process and return."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate / job as JSON."),
) -> None:
    """Suggest Korean rewrites (suggestions of engine "llm", accepted or dismissed in review)."""
    if turn is not None:
        with errors(), session() as s:
            sug = svc.suggest_fix(s, SYSTEM, turn)
            out = None if sug is None else {"id": sug.id, "text": sug.text}
        if out is None:
            typer.echo(f"turn {turn}: the LLM's text is the current one; no suggestion")
        else:
            typer.echo(f"suggestion {out['id']}:\n{out['text']}")
        return
    _batch(
        "suggest",
        _filters(dataset, check, flag, status, limit, sample),
        estimate_only,
        yes,
        budget,
        background,
        as_json,
    )


@llm_app.command("estimate")
def estimate_cmd(
    task: str = typer.Argument(..., help="grade or suggest."),
    dataset: str = _DATASET,
    check: str = _CHECK,
    flag: str = _FLAG,
    status: str = _STATUS,
    limit: int = _LIMIT,
    sample: list[int] = _SAMPLE,
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
) -> None:
    """Turns, requests, tokens and cost of a grade or suggest batch (cache hits deducted); sends
    nothing."""
    _batch(
        task,
        _filters(dataset, check, flag, status, limit, sample),
        True,
        False,
        None,
        False,
        as_json,
    )


@llm_app.command("resume")
def resume_cmd(
    job_id: int = typer.Argument(..., help="The job to continue."),
    budget: float = typer.Option(
        None, "--budget", help="A new budget cap in USD (total for the job)."
    ),
) -> None:
    """Continue a failed, cancelled or crashed LLM job where it stopped (nothing is paid twice)."""
    with errors():
        eng = engine()
        svc.resume_batch(eng, SYSTEM, job_id, budget_usd=budget, background=None)
        j = _follow(job_id, eng)
    _report(j, False)


@llm_app.command("evaluate")
def evaluate_cmd(
    dataset: str = _DATASET,
    model: str = typer.Option(None, "--model", help="Only grades by this model."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Compare the grades with human decisions: precision/recall of "major or critical" against
    samples rejected, marked needs-fix or edited by hand (per sample and per turn)."""
    with errors(), session() as s:
        ev = svc.evaluate(s, SYSTEM, dataset, model)
    if as_json:
        typer.echo(json.dumps(ev))
        return
    typer.echo(
        f"models: {', '.join(ev['models']) or '(no grades yet)'}; graded samples:"
        f" {ev['graded_samples']}"
    )
    for level in ("samples", "turns"):
        m = ev[level]

        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.1%}"

        typer.echo(
            f"{level:>7}: n={m['n']}  tp={m['tp']} fp={m['fp']} fn={m['fn']} tn={m['tn']}  "
            f"precision {pct(m['precision'])}  recall {pct(m['recall'])}  F1 {pct(m['f1'])}"
        )
    if ev["samples"]["n"] == 0:
        typer.echo("no graded sample has a human decision or edit yet: nothing to compare")


@llm_app.command("config")
def config_cmd() -> None:
    """The server and model in use (never the key) and the model's price."""
    with errors():
        cfg = svc.settings_summary()
    if cfg is None:
        fail(svc.how_to_configure(), EXIT_CONFIG)
    p = cfg["price_usd_per_million"]
    typer.echo(
        f"server: {cfg['base_url']}\nmodel: {cfg['model']}\nconcurrency: {cfg['concurrency']}\n"
        + (
            f"price: USD {p[0]:g} in / {p[1]:g} out per million tokens"
            if p
            else "price: unknown (free if local; set KOCURATE_LLM_PRICES)"
        )
    )
