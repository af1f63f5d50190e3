"""CLI group ``kocurate db``: schema upgrades, the current revision, and ``db copy``."""

from __future__ import annotations

import typer

from .. import db
from ..services import dbcopy
from ..services.auth import SYSTEM
from .app import app, errors, url

db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations (a new database is created at the head revision)."""
    with errors():
        rev = db.upgrade(url(), revision)
    typer.echo(f"database at revision {rev}: {db.display_url(url())}")  # never the password


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the head revision."""
    with errors():
        typer.echo(f"current {db.current_revision(url())}  head {db.head_revision()}")


@db_app.command("copy")
def db_copy(
    src: str = typer.Argument(..., help="Source database URL or SQLite file."),
    dst: str = typer.Argument(
        ...,
        help=(
            "Destination database URL (an empty database; created at the head "
            "revision), e.g. postgresql+psycopg://user:pw@host/kocurate."
        ),
    ),
    batch: int = typer.Option(dbcopy.BATCH, "--batch", help="Rows per batch."),
) -> None:
    """Copy a whole database (e.g. SQLite → PostgreSQL); row counts are verified for every table."""
    last: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        if done == total or done - last.get(table, 0) >= 200_000:
            last[table] = done
            typer.echo(f"  {table}: {done:,}/{total:,}", err=True)

    with errors():
        rep = dbcopy.copy_database(src, dst, SYSTEM, batch=batch, progress=progress)
    for line in rep.lines():
        typer.echo(line)
    typer.echo(
        f"copied {rep.rows:,} rows in {rep.seconds:.1f} s from {rep.source} to {rep.destination}; "
        "counts verified"
    )
