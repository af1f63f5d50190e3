"""CLI of the translate area: `kocurate translate …`, `kocurate glossary …`, `kocurate jobs …`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from ..errors import EXIT_CONFIG, EXIT_USAGE
from ..services import jobs as job_service
from ..services import translate as tr
from ..services.auth import SYSTEM
from ..translate.client import require_config
from .app import app, engine, errors, fail, session, url

translate_app = typer.Typer(
    help="Re-translate with DeepL (needs DEEPL_AUTH_KEY).", invoke_without_command=True
)
glossary_app = typer.Typer(
    help="The EN→KO glossary used on every DeepL call.", no_args_is_help=True
)
jobs_app = typer.Typer(help="Background jobs (batch translation, …).", no_args_is_help=True)
app.add_typer(translate_app, name="translate")
app.add_typer(glossary_app, name="glossary")
app.add_typer(jobs_app, name="jobs")


def _print_estimate(est: dict) -> None:
    exact = "" if est["exact"] else " (approximate: summed in SQL)"
    typer.echo(
        f"samples: {est['samples']}  turns: {est['turns']}  texts to send: {est['texts']}{exact}"
    )
    typer.echo(
        f"characters to bill: {est['characters']}"
        + (
            f"  (already cached: {est['cached_characters']})"
            if est.get("cached_characters")
            else ""
        )
    )
    typer.echo(
        f"requests: {est['requests']}  estimated cost: EUR {est['estimated_cost_eur']:.2f} "
        f"(at EUR {est['eur_per_million']:g} per million characters)"
    )
    q = est.get("quota")
    if q is None:
        typer.echo("quota: unknown (DEEPL_AUTH_KEY not set)")
    elif "error" in q:
        typer.echo(f"quota: {q['error']}")
    else:
        typer.echo(
            f"quota: {q['count']} of {q['limit']} characters used, {q['remaining']} remaining"
            + ("" if est.get("fits_quota") in (None, True) else "  — NOT ENOUGH for this batch")
        )


def _follow(job_id: int, eng) -> dict:  # type: ignore[no-untyped-def]
    """Run the job here with a progress line; Ctrl-C cancels it cleanly (resumable)."""
    import threading

    t = threading.Thread(target=job_service.run, args=(eng, job_id), daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(0.5)
            j = job_service.get_dict(eng, job_id)
            typer.echo(
                f"\rjob {job_id}: {j['done']}/{j['total']} samples, "
                f"{j['result'].get('requests', 0)} requests, "
                f"{j['result'].get('billed_characters', 0)} characters billed",
                nl=False,
                err=True,
            )
    except KeyboardInterrupt:
        with session() as s:
            job_service.cancel(s, SYSTEM, job_id)
        t.join(30)
    typer.echo("", err=True)
    return job_service.get_dict(eng, job_id)


def _report(j: dict) -> None:
    typer.echo(f"job {j['id']}: {j['state']} — {j['message'] or ''}")
    r = j["result"]
    for e in r.get("errors", [])[:10]:
        typer.echo(f"  turn {e['turn_id']} (sample {e['sample_id']}): {e['error']}")
    if r.get("failed_turns"):
        typer.echo(f"retry the failed turns with: kocurate translate retry {j['id']}")
    if j["status"] in ("failed", "cancelled", "stopped"):
        if j["status"] != "failed" or not r.get("failed_turns"):
            typer.echo(f"resume with: kocurate translate resume {j['id']}")
        raise typer.Exit(1)


def _confirm(est: dict, yes: bool, max_characters: int | None) -> None:
    """A paid job starts only after its estimate was shown and accepted (``--yes`` accepts it)."""
    _print_estimate(est)
    if max_characters is not None:
        typer.echo(f"budget: the job stops before billing more than {max_characters:,} characters")
    if yes:
        return
    if not typer.confirm(
        f"Start this job (about {est['characters']:,} characters, "
        f"EUR {est['estimated_cost_eur']:.2f})?",
        default=False,
        err=True,
    ):
        typer.echo("not started")
        raise typer.Exit(1)


@translate_app.callback()
def translate_cmd(
    ctx: typer.Context,
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset id or name."),
    check: str = typer.Option(
        None, "--check", help="Only samples with a finding of this check (e.g. untranslated)."
    ),
    include_reference: bool = typer.Option(
        False,
        "--include-reference",
        help=(
            "With --check: also the answers "
            "written in Korean beside an English reference (KoAlpaca outputs) that "
            "have a finding of that check, e.g. an answer left in English."
        ),
    ),
    flag: str = typer.Option(None, "--flag", help="Only samples with this flag (not cleared)."),
    status: str = typer.Option(
        None, "--status", help="Only samples with this status (new, needs_fix, …)."
    ),
    limit: int = typer.Option(None, "--limit", help="At most this many samples."),
    sample: list[int] = typer.Option(None, "--sample", help="These sample ids (repeatable)."),
    estimate_only: bool = typer.Option(
        False, "--estimate", help="Only show characters, cost and remaining quota."
    ),
    apply: bool = typer.Option(
        False,
        "--apply",
        help=(
            "Write the translations as edits (machine) on samples nobody "
            "edited by hand; others get suggestions."
        ),
    ),
    background: bool = typer.Option(
        False, "--background", help="Start the job in its own process and return."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate / job as JSON."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start without asking (the estimate is still printed)."
    ),
    max_characters: int = typer.Option(
        None,
        "--max-characters",
        help="Budget: stop the job before it bills more than this many characters (resumable).",
    ),
) -> None:
    """Re-translate the turns of the selected samples from English (suggestions unless --apply).

    Shows the estimate (characters, cost, quota left) and asks before starting the paid job."""
    if ctx.invoked_subcommand is not None:
        return
    if include_reference and not check:
        fail("--include-reference needs --check (e.g. --check untranslated)", EXIT_USAGE)
    f = tr.BatchFilter(
        dataset=dataset,
        check=check,
        flag=flag,
        status=status,
        limit=limit,
        sample_ids=sample or None,
        include_reference=include_reference or None,
    )
    with errors():
        if estimate_only:
            with session() as s:
                est = tr.estimate(s, SYSTEM, f)
            if as_json:
                typer.echo(json.dumps(est, default=str))
            else:
                _print_estimate(est)
            return
        require_config()  # say how to set the key before showing an estimate for nothing
        with session() as s:
            est = tr.estimate(s, SYSTEM, f)
        _confirm(est, yes, max_characters)
        eng = engine()
        job_id = tr.start_batch(
            eng,
            SYSTEM,
            f,
            apply=apply,
            background="process" if background else None,
            db_url=url(),
            max_characters=max_characters,
            estimate=est,
        )
        if background:
            typer.echo(f"job {job_id} started; follow it with: kocurate jobs show {job_id}")
            return
        typer.echo(f"job {job_id}", err=True)
        j = _follow(job_id, eng)
    if as_json:
        typer.echo(json.dumps(j, default=str))
    _report(j)


@translate_app.command("resume")
def resume_cmd(
    job_id: int = typer.Argument(..., help="The job to continue."),
    max_characters: int = typer.Option(
        None, "--max-characters", help="A new budget for the whole job."
    ),
) -> None:
    """Continue a failed, stopped, cancelled or crashed batch job where it stopped (nothing is paid
    twice)."""
    with errors():
        eng = engine()
        tr.resume_batch(eng, SYSTEM, job_id, background=None, max_characters=max_characters)
        j = _follow(job_id, eng)
    _report(j)


@translate_app.command("retry")
def retry_cmd(
    job_id: int = typer.Argument(..., help="The job whose failed turns to re-run."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking."),
    max_characters: int = typer.Option(None, "--max-characters", help="Budget of the retry job."),
) -> None:
    """Re-run only the failed turns of a job, as a new job (answers already paid for are not billed
    again)."""
    with errors():
        with session() as s:
            n = tr.count_failed_turns(s, job_id)
        if (
            n
            and not yes
            and not typer.confirm(
                f"Retry {n:,} failed turns of job {job_id}?", default=False, err=True
            )
        ):
            typer.echo("not started")
            raise typer.Exit(1)
        eng = engine()
        new_id = tr.retry_failed(
            eng, SYSTEM, job_id, background=None, max_characters=max_characters
        )
        typer.echo(f"job {new_id} (retry of job {job_id})", err=True)
        j = _follow(new_id, eng)
    _report(j)


@translate_app.command("turn")
def turn_cmd(turn_id: int = typer.Argument(...)) -> None:
    """Re-translate one turn and print the suggestion."""
    with errors(), session() as s:
        sug = tr.retranslate_turn(s, SYSTEM, turn_id)
        typer.echo(f"suggestion {sug.id}:\n{sug.text}")


@translate_app.command("usage")
def usage_cmd() -> None:
    """The DeepL account's character usage and limit."""
    with errors():
        q = tr.quota()
    if q is None:
        fail("DEEPL_AUTH_KEY is not set", EXIT_CONFIG)
    typer.echo(json.dumps(q))


# ------------------------------------------------------------------------------------------
# glossary


@glossary_app.command("import")
def glossary_import(
    csv_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: english,korean[,note]."
    ),
    replace: bool = typer.Option(False, "--replace", help="The file becomes the whole glossary."),
    sync: bool = typer.Option(False, "--sync", help="Sync to DeepL afterwards."),
) -> None:
    """Import glossary terms from CSV."""
    with errors(), session() as s:
        out = tr.glossary_import(s, SYSTEM, csv_path.read_bytes(), replace=replace)
        typer.echo(f"added {out['added']}, updated {out['updated']}, removed {out['removed']}")
        if sync:
            st = tr.glossary_sync(s, SYSTEM)
            typer.echo(f"synced: {st}")


@glossary_app.command("export")
def glossary_export(
    out: Path = typer.Argument(None, help="File to write (default: stdout)."),
) -> None:
    """Export the glossary as CSV."""
    with errors(), session() as s:
        data = tr.glossary_export(s, SYSTEM)
    if out:
        out.write_text(data, encoding="utf-8")
    else:
        sys.stdout.write(data)


@glossary_app.command("list")
def glossary_list() -> None:
    """List the terms and whether DeepL has the current version."""
    with errors(), session() as s:
        for t in tr.glossary_terms(s):
            typer.echo(f"{t['source']}\t{t['target']}" + (f"\t# {t['note']}" if t["note"] else ""))
        st = tr.glossary_status(s)
    typer.echo(
        f"{st['terms']} terms; "
        + ("synced to DeepL" if st["synced"] else "not synced (kocurate glossary sync)"),
        err=True,
    )


@glossary_app.command("sync")
def glossary_sync(
    force: bool = typer.Option(False, "--force", help="Re-create it even if unchanged."),
) -> None:
    """Create/replace the DeepL glossary from the terms."""
    with errors(), session() as s:
        st = tr.glossary_sync(s, SYSTEM, force=force)
    typer.echo(
        f"glossary {st['id']} with {st['n']} terms" if st else "no terms: DeepL glossary removed"
    )


# ------------------------------------------------------------------------------------------ jobs


@jobs_app.command("run")
def jobs_run(job_id: int = typer.Argument(...)) -> None:
    """Run a queued (or crashed) job in this process."""
    from ..services import job_kinds  # noqa: F401 — registers every job kind

    with errors():
        j = job_service.run(engine(), job_id)
    typer.echo(f"job {j['id']}: {j['status']} — {j['message'] or ''}")
    if j["status"] != "done":
        raise typer.Exit(1)


@jobs_app.command("show")
def jobs_show(
    job_id: int = typer.Argument(...), watch: bool = typer.Option(False, "--watch")
) -> None:
    """A job's status and progress."""
    with errors():
        while True:
            with session() as s:
                j = job_service.get(s, job_id)
            typer.echo(
                f"job {j['id']} ({j['kind']}): {j['state']} "
                f"{j['done']}/{j['total']} — {j['message'] or ''}"
            )
            if not watch or j["status"] in job_service.FINAL:
                break
            time.sleep(2)
    typer.echo(json.dumps(j["result"], default=str))


@jobs_app.command("list")
def jobs_list(
    kind: str = typer.Option(None, "--kind"), limit: int = typer.Option(20, "--limit")
) -> None:
    """Recent jobs."""
    with errors(), session() as s:
        for j in job_service.list_jobs(s, kind, limit):
            typer.echo(
                f"{j['id']:>6}  {j['kind']:<10} {j['state']:<16} {j['done']}/{j['total']} "
                f" {j['message'] or ''}"
            )


@jobs_app.command("cancel")
def jobs_cancel(job_id: int = typer.Argument(...)) -> None:
    """Stop a job at its next step (what it finished stays; resume later)."""
    with errors(), session() as s:
        job_service.cancel(s, SYSTEM, job_id)
    typer.echo(f"job {job_id} cancelled")
