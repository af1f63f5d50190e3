"""Core commands: import, datasets, show, db, users, demo, serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from .. import align as aligner
from .. import db, paths
from ..errors import AlreadyImported
from ..services import datasets as ds_service
from ..services import users as user_service
from ..services.auth import SYSTEM
from ..services.catalog import import_kinds
from .app import app, engine, errors, fail, session, url

db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles (annotator, lead, admin).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

REGISTRY = import_kinds()
KINDS_HELP = ", ".join(f"{k} ({c.title})" for k, c in sorted(REGISTRY.items()))


def _pairs(values: list[str] | None, what: str) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        if "=" not in v:
            fail(f"{what} takes ROLE=COLUMN, got {v!r}")
        role, col = v.split("=", 1)
        out.append((role.strip(), col.strip()))
    return out


@app.command("import")
def import_cmd(
    kind: str = typer.Argument(..., help=f"Format of the data: {KINDS_HELP}."),
    ko_path: Path = typer.Argument(..., help="The Korean file (.json, .jsonl, .csv, .parquet, .gz of them, or a "
                                             "saved HF dataset folder)."),
    source: Path = typer.Option(None, "--source", "-s", help="The English source file, for alignment."),
    name: str = typer.Option(None, "--name", "-n", help="Dataset name (default: the file name)."),
    licence: str = typer.Option(None, "--licence", help="Licence of the data (SPDX id, e.g. CC-BY-NC-4.0). Default: "
                                                        "the upstream licence when the file is one of that "
                                                        "dataset's published files, else none (you are asked)."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Import the valid records and write a report of the "
                                                            "skipped ones (NAME.skipped.jsonl)."),
    report: Path = typer.Option(None, "--report", help="Where to write the skipped-records report."),
    field_map: list[str] = typer.Option(None, "--map", help="generic: ROLE=COLUMN for each Korean turn, in order."),
    source_map: list[str] = typer.Option(None, "--source-map", help="generic: ROLE=COLUMN of English in the same "
                                                                    "record."),
    conversations: str = typer.Option(None, "--conversations", help="generic: column with a list of turns."),
    id_field: str = typer.Option(None, "--id-field", help="generic: the id column."),
    meta_field: list[str] = typer.Option(None, "--meta-field", help="generic: columns kept as metadata."),
    no_index: bool = typer.Option(False, "--no-index", help="PostgreSQL: skip building the trigram search "
                                  "indexes (later: `kocurate search --reindex`); SQLite indexes turns as they are "
                                  "written."),
    file_format: str = typer.Option(None, "--format", help="Format of the Korean file when its name does not say "
                                                           "(json, jsonl, csv, tsv, parquet, hf); default: by "
                                                           "extension, else by content."),
    no_checks: bool = typer.Option(False, "--no-checks", help="Skip the cheap automatic checks that run after "
                                                              "an import (later: `kocurate check DATASET`)."),
) -> None:
    """Import a dataset (and its English source): aligned, atomic, idempotent; then index it for search
    and run the cheap automatic checks."""
    options = None
    if kind == "generic":
        options = {"fields": _pairs(field_map, "--map"), "source_fields": dict(_pairs(source_map, "--source-map")),
                   "conversations": conversations, "id_field": id_field, "meta_fields": meta_field or []}
    if file_format:
        options = {**(options or {}), "format": file_format.lower()}
    if kind not in REGISTRY:
        fail(f"unknown kind {kind!r}; one of: {', '.join(sorted(REGISTRY))}")
    eng = engine()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with errors(), Progress(TextColumn("importing {task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(ko_path.name, total=None)
        try:
            rep = ds_service.import_dataset(
                eng, SYSTEM, kind, ko_path, source, name=name, licence=licence, options=options, skip_bad=skip_bad,
                report_path=report, progress=lambda n: bar.update(task, completed=n), index=not no_index,
                checks=not no_checks)
        except AlreadyImported as exc:
            typer.echo(str(exc))
            return
        except ValueError as exc:
            fail(str(exc))
    typer.echo(f"imported {rep.name!r} (dataset {rep.dataset_id}): {rep.summary()}")
    warning = aligner.breakdown_warning(rep.samples, rep.ambiguous + rep.unaligned, rep.first_unsure)
    if warning:
        typer.echo(warning, err=True)
    if "search_index" in rep.after:
        typer.echo(f"search index: {rep.after['search_index']['turns']:,} turns in {rep.after['search_index']['seconds']} s")
    if "checks" in rep.after:
        typer.echo(f"cheap checks: {rep.after['checks']['findings'] or 0:,} findings in {rep.after['checks']['seconds']} s "
                   "(the full run: `kocurate check DATASET`)")
    if rep.skipped_report:
        typer.echo(f"skipped records listed in {rep.skipped_report}")
    cls = REGISTRY[kind]
    if not licence and cls.licence_for(ko_path) is None:
        hint = f" (the upstream {cls.title} is {cls.licence})" if cls.licence else ""
        typer.secho(f"licence unknown: {ko_path.name} is not a known file of this dataset, so no licence was "
                    f"recorded{hint}. Give it with --licence when you import; exports warn about unknown "
                    "licences.", fg=typer.colors.YELLOW, err=True)


@app.command("datasets")
def datasets_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List datasets with sample counts per status and alignment."""
    with session() as s:
        rows = ds_service.list_datasets(s)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no datasets yet; import one with `kocurate import KIND FILE`")
        return
    typer.echo(f"{'id':>3}  {'name':<28} {'kind':<15} {'samples':>8} {'aligned':>8} {'ambig.':>7} {'unal.':>6} "
               f"{'approved':>8} {'rejected':>8}")
    for r in rows:
        typer.echo(f"{r['id']:>3}  {r['name'][:28]:<28} {r['kind']:<15} {r['samples']:>8,} {r['aligned']:>8,} "
                   f"{r['ambiguous']:>7,} {r['unaligned']:>6,} {r['approved']:>8,} {r['rejected']:>8,}")


@app.command("show")
def show_cmd(sample_id: int = typer.Argument(..., help="Sample id."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show one sample: English source and Korean text per turn, status, alignment."""
    with errors(), session() as s:
        view = ds_service.sample_view(s, sample_id)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    conf = view["align_confidence"]
    typer.echo(f"sample {view['id']}  dataset {view['dataset']}  key {view['key']}  status {view['status']}  "
               f"v{view['version']}  alignment {view['align_status']}"
               + (f" ({conf:.2f})" if conf is not None else ""))
    if view["meta"]:
        typer.echo(f"meta: {json.dumps(view['meta'], ensure_ascii=False)}")
    for t in view["turns"]:
        typer.echo(f"--- [{t['idx']}] {t['role']}" + (" (edited)" if t["edited"] else ""))
        if t["source_text"] is not None:
            typer.echo(f"EN: {t['source_text']}")
        typer.echo(f"KO: {t['text']}")


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


@users_app.command("add")
def users_add(username: str = typer.Argument(...),
              role: str = typer.Option("annotator", "--role", "-r", help="annotator, lead or admin."),
              password: str = typer.Option(None, "--password", help="Default: generated and printed once.")) -> None:
    """Create a user; prints the password."""
    with errors(), session() as s:
        user, pw = user_service.create_user(s, SYSTEM, username, role, password)
        typer.echo(f"created {user.username} ({user.role}); password: {pw}")


@users_app.command("list")
def users_list() -> None:
    """List users and roles."""
    with errors(), session() as s:
        for u in user_service.list_users(s, SYSTEM):
            typer.echo(f"{u.username:<24} {u.role:<10} {'active' if u.active else 'disabled'}")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role."""
    with errors(), session() as s:
        user_service.set_role(s, SYSTEM, username, role)
    typer.echo(f"{username} is now {role}")


@users_app.command("reset-password")
def users_reset_password(username: str, password: str = typer.Option(None, "--password")) -> None:
    """Set a new password (generated when not given) and unlock the account."""
    with errors(), session() as s:
        pw = user_service.reset_password(s, SYSTEM, username, password)
    typer.echo(f"new password for {username}: {pw}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user (they can no longer log in)."""
    with errors(), session() as s:
        user_service.set_active(s, SYSTEM, username, False)
    typer.echo(f"{username} disabled")


@app.command("demo")
def demo_cmd(
    port: int = typer.Option(8501, "--port", help="Port of the web app."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Only create the demo database."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete an existing demo database first."),
) -> None:
    """Create a demo database from the bundled demo set (all five dataset kinds) and start the app."""
    from ..demo import create_demo

    with errors():
        info = create_demo(url(), fresh=fresh)
    typer.echo(info["message"])
    if not no_serve:
        _serve(port, url())


@app.command("serve")
def serve_cmd(port: int = typer.Option(8501, "--port"), host: str = typer.Option("127.0.0.1", "--host")) -> None:
    """Start the web app (Streamlit, with the HttpOnly login-cookie routes) on the chosen database."""
    with errors():
        engine()  # bring the schema to head before the app opens it
    _serve(port, url(), host)


# the shipped Streamlit settings (as .streamlit/config.toml), passed as flags so that they hold whatever
# folder `kocurate serve` is started from: no Deploy button or developer menu for the people using it
STREAMLIT_FLAGS = ["--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--client.toolbarMode", "viewer",
                   # an unexpected error shows its type only, never a traceback (paths, hosts) to the browser;
                   # the server log keeps the full traceback
                   "--client.showErrorDetails", "type"]


# Streamlit treats an app with a pages/ folder as a v1 multipage app until app.py first calls
# st.navigation: the very first request of a fresh server at /review would run pages/review.py
# without app.py (no login, the wrong menu). The launcher says "navigation app" before it starts.
_LAUNCH = ("import sys\n"
           "from streamlit.runtime.pages_manager import PagesManager\n"
           "PagesManager.uses_pages_directory = False  # app.py navigates with st.navigation\n"
           "from streamlit.web.cli import main\n"
           "sys.argv = ['streamlit', *sys.argv[1:]]\n"
           "main()\n")


def streamlit_command(port: int, host: str = "127.0.0.1") -> list[str]:
    # asgi.py: the Streamlit app (app.py) plus the routes that set the HttpOnly login cookie
    app_py = paths.asgi_script()
    return [sys.executable, "-c", _LAUNCH, "run", str(app_py), "--server.port", str(port), "--server.address",
            host, *STREAMLIT_FLAGS]


def _serve(port: int, db_url: str, host: str = "127.0.0.1") -> None:
    env = {**os.environ, "KOCURATE_DB_URL": db_url}
    typer.echo(f"kocurate on http://{host}:{port}  (Ctrl+C to stop)")
    cmd = streamlit_command(port, host)
    raise typer.Exit(subprocess.call(cmd, env=env))
