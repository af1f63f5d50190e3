"""CLI commands ``backup``, ``restore`` and ``audit``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .. import config
from ..errors import EXIT_CONFIG, EXIT_USAGE
from ..services import backup as backup_service
from ..services.auth import SYSTEM
from .app import app, engine, errors, fail, session, url


@app.command("backup")
def backup_cmd(
    path: Path = typer.Argument(
        ...,
        help=(
            "Backup file to write (SQLite: a database file; PostgreSQL: a pg_dump "
            "custom-format archive)."
        ),
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Back up the whole database while people keep working (SQLite online backup API; pg_dump)."""
    u = config.db_url(url())
    with errors():
        if u.startswith("postgresql") and not _has("pg_dump"):
            typer.echo(backup_service.pg_guidance(u, path))
            fail(
                "pg_dump is not installed here (apt-get install postgresql-client); commands above",
                EXIT_CONFIG,
            )
        rep = backup_service.backup(u, SYSTEM, path, overwrite=overwrite)
    typer.echo(f"backup written: {rep.summary()}")


@app.command("restore")
def restore_cmd(
    path: Path = typer.Argument(..., help="A backup written by `kocurate backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    keep_current: bool = typer.Option(
        True,
        "--keep-current/--no-keep-current",
        help="SQLite: keep the current database as NAME.before-restore-TIME.db.",
    ),
) -> None:
    """Replace the database's content by a backup (then upgrade it to the current schema)."""
    u = url()
    if not yes and not typer.confirm(
        f"replace everything in {backup_service._url(u).render_as_string()} by {path}?",
        default=False,
    ):
        fail("restore cancelled")
    with errors():
        rep = backup_service.restore(engine(upgrade=False), SYSTEM, path, keep_current=keep_current)
    if rep.kept_copy:
        typer.echo(f"the database as it was is kept in {rep.kept_copy}")
    typer.echo(f"restored from {rep.summary()}")


def _has(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None


@app.command("audit")
def audit_cmd(
    since: str = typer.Option(
        None,
        "--since",
        help="Only events at or after this time (ISO date or date-time, UTC), e.g. 2026-11-01.",
    ),
    action: str = typer.Option(
        None,
        "--action",
        help="Only this action (login, role_change, import, export, job_start, bulk, restore, …).",
    ),
    user: str = typer.Option(None, "--user", help="Only this user's events."),
    limit: int = typer.Option(200, "--limit", help="At most this many events, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The audit log: logins, role changes, imports, exports, paid jobs, bulk operations,
    restores."""
    from datetime import datetime

    from ..services import audit as audit_service

    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            fail(
                f"--since {since!r} is not an ISO date or date-time (e.g. 2026-11-01 or"
                " 2026-11-01T09:30)",
                EXIT_USAGE,
            )
    with errors(), session() as s:
        rows = audit_service.events(
            s, SYSTEM, since=when, action=action, username=user, limit=limit
        )
    for e in rows:
        if as_json:
            typer.echo(json.dumps(e.as_dict(), ensure_ascii=False))
        else:
            where = f" dataset {e.dataset_id}" if e.dataset_id is not None else ""
            what = f" {e.target}" if e.target else ""
            extra = " ".join(f"{k}={v}" for k, v in e.details.items())
            typer.echo(
                f"{e.at:%Y-%m-%d %H:%M:%S}  {e.username:<12} {e.action:<12}"
                f"{where}{what}  {extra}".rstrip()
            )
    if not rows and not as_json:
        typer.echo("no audit events match")
