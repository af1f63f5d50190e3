"""The typer application and what every command module shares (database, errors, progress)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .. import config, db
from ..errors import KocurateError

app = typer.Typer(
    name="kocurate",
    help="Curate Korean LLM fine-tuning data: import, review, re-translate, check, export.",
    epilog=(
        "Exit codes: 0 done · 1 the work failed (a job, a budget, a gate) · 2 bad command or input"
        " · 3 not found · 4 not allowed for this role · 5 someone else was first / exists already"
        " · 6 settings missing (DeepL key, LLM endpoint) · 7 database unavailable (busy,"
        " read-only, full, down)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"db": None}


@app.callback()
def _root(
    db_url: str = typer.Option(
        None,
        "--db",
        help="Database URL or SQLite file (default: $KOCURATE_DB_URL, else ./kocurate.db).",
    ),
) -> None:
    _state["db"] = db_url


def url() -> str:
    return config.db_url(_state["db"])


def engine(upgrade: bool = True) -> Engine:
    """The engine for the chosen database, brought to the head revision first."""
    u = url()
    if upgrade:
        db.ensure_schema(u)
    return db.get_engine(u)


@contextmanager
def session() -> Iterator[Session]:
    with db.session_scope(engine()) as s:
        yield s


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn domain errors into a one-line message and the error's exit code (no traceback)."""
    try:
        yield
    except KocurateError as exc:
        hint = getattr(exc, "hint", None)
        fail(f"{exc}\nhint: {hint}" if hint else str(exc), exc.exit_code)
