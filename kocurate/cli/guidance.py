"""CLI for team guidance (issue 21 A): versioned guidelines and comment threads on samples.

Commands act as the local CLI (an admin, shown as "cli") unless ``--as USER`` names a user: then
that user's role applies (an annotator cannot set guidelines) and comments carry their name.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import EXIT_NOT_FOUND, EXIT_PERMISSION, EXIT_USAGE
from ..services import comments as cm
from ..services import datasets as ds_service
from ..services import guidelines as gl
from ..services import users as user_service
from ..services.auth import SYSTEM, Actor
from .app import app, errors, fail, session

guidelines_app = typer.Typer(
    help="Annotation guidelines (Markdown, versioned): set, show, history, diff.",
    no_args_is_help=True,
)
comments_app = typer.Typer(
    help="Comment threads on samples: list (open questions), add, resolve.", no_args_is_help=True
)
app.add_typer(guidelines_app, name="guidelines")
app.add_typer(comments_app, name="comments")

DATASET = typer.Option(
    None, "--dataset", "-d", help="Dataset name or id (default: the project-wide guidelines)."
)
AS = typer.Option(
    None, "--as", help="Act as this user (their role applies; comments carry their name)."
)


def _actor(name: str | None) -> Actor:
    if not name:
        return SYSTEM
    with errors(), session() as s:
        user = user_service._get(s, name)
        if not user.active:
            fail(f"user {name} is disabled", EXIT_PERMISSION)
        return user_service.actor_of(user)


def _dataset_id(dataset: str | None) -> int | None:
    if not dataset:
        return None
    with errors(), session() as s:
        return ds_service.get_dataset(s, dataset).id


def _where(ds_id: int | None, dataset: str | None) -> str:
    return "the project" if ds_id is None else f"dataset {dataset}"


@guidelines_app.command("set")
def guidelines_set(
    file: Path = typer.Argument(
        ..., help="A Markdown file (UTF-8). `## 비난 {#censure}` sets a heading's anchor."
    ),
    dataset: str = DATASET,
    note: str = typer.Option(None, "--note", "-m", help="What changed (kept in the history)."),
    as_user: str = AS,
) -> None:
    """Save a new version of the guidelines of a dataset, or the project default (leads and
    admins)."""
    try:
        body = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror or exc})", EXIT_USAGE)
    except UnicodeDecodeError as exc:
        fail(f"{file}: not UTF-8 (byte {exc.start})", EXIT_USAGE)
    who = _actor(as_user)
    ds_id = _dataset_id(dataset)
    with errors(), session() as s:
        v, added = gl.set_guidelines(s, who, ds_id, body, note=note)
    where = _where(ds_id, dataset)
    if added:
        typer.echo(f"guidelines of {where}: version {v.version} saved by {v.author}")
    else:
        typer.echo(f"guidelines of {where}: unchanged (version {v.version} has this text)")


@guidelines_app.command("show")
def guidelines_show(
    dataset: str = DATASET,
    version: int = typer.Option(
        None, "--version", "-v", help="This version (default: the latest)."
    ),
    section: str = typer.Option(
        None, "--section", help="Only the section with this anchor (e.g. censure)."
    ),
) -> None:
    """Print the guidelines (Markdown). A dataset without its own shows the project default."""
    ds_id = _dataset_id(dataset)
    with errors(), session() as s:
        v = gl.get_version(s, ds_id, version) if version else gl.effective(s, ds_id)
    if v is None:
        fail(
            f"no guidelines for {_where(ds_id, dataset)} yet (kocurate guidelines set FILE.md)",
            EXIT_NOT_FOUND,
        )
    head = (
        f"# guidelines of {'the project' if v.project_wide else f'dataset {dataset}'}, version"
        f" {v.version}"
    )
    typer.echo(f"{head} ({v.author}, {v.at:%Y-%m-%d %H:%M} UTC)", err=True)
    if section:
        sec = gl.section(v.body, section)
        if sec is None:
            anchors = ", ".join(x.anchor for x in gl.sections(v.body))
            fail(f"no section {section!r}; the anchors are: {anchors}", EXIT_NOT_FOUND)
        typer.echo(("#" * sec.level + " " + sec.title + "\n" if sec.level else "") + sec.body)
        return
    typer.echo(v.body)


@guidelines_app.command("history")
def guidelines_history(
    dataset: str = DATASET,
    diff: bool = typer.Option(
        False, "--diff", help="Print each version's diff against the one before."
    ),
) -> None:
    """The versions (newest first): who, when, what changed."""
    ds_id = _dataset_id(dataset)
    with errors(), session() as s:
        versions = gl.history(s, ds_id)
        diffs = {v.version: gl.diff_versions(s, ds_id, v.version) for v in versions} if diff else {}
    if not versions:
        typer.echo(f"no guidelines for {_where(ds_id, dataset)} yet")
        return
    for v in versions:
        typer.echo(f"v{v.version}  {v.at:%Y-%m-%d %H:%M}  {v.author:<12} {v.note or ''}".rstrip())
        if diff:
            typer.echo(diffs[v.version])


@guidelines_app.command("diff")
def guidelines_diff(
    version: int = typer.Argument(..., help="The newer version."),
    against: int = typer.Option(
        None, "--against", help="The older version (default: the one before)."
    ),
    dataset: str = DATASET,
) -> None:
    """A unified diff between two versions."""
    ds_id = _dataset_id(dataset)
    with errors(), session() as s:
        typer.echo(gl.diff_versions(s, ds_id, version, against), nl=False)


@comments_app.command("list")
def comments_list(
    open_only: bool = typer.Option(
        False, "--open", help="Only unresolved threads (the open-questions queue)."
    ),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Only this dataset (name or id)."),
    sample: int = typer.Option(
        None, "--sample", help="The threads of this sample, with their replies."
    ),
    before: int = typer.Option(
        None, "--before", help="Threads older than this comment id (the next page)."
    ),
    limit: int = typer.Option(50, "--limit", "-n", help="How many threads."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    as_user: str = AS,
) -> None:
    """List comment threads, newest first: all, the open ones (--open), or one sample's
    (--sample)."""
    who = _actor(as_user)
    ds_id = _dataset_id(dataset)
    with errors(), session() as s:
        if sample is not None:
            rows = [c for t in cm.threads(s, who, sample) for c in (t.root, *t.replies)]
        else:
            rows = cm.list_comments(
                s, who, dataset_id=ds_id, open_only=open_only, before_id=before, limit=limit
            )
    for c in rows:
        if as_json:
            typer.echo(json.dumps(c.as_dict(), ensure_ascii=False))
            continue
        state = "" if c.parent_id else (" open" if c.is_open else f" resolved by {c.resolved_by}")
        turn = f" turn {c.turn_idx + 1}" if c.turn_idx is not None else ""
        lead = "  ↳ " if c.parent_id else ""
        typer.echo(
            f"{lead}#{c.id} sample {c.sample_id}{turn} · {c.author} · {c.at:%Y-%m-%d %H:%M}{state}"
        )
        typer.echo(f"{lead}    {c.body}")
    if not rows and not as_json:
        typer.echo("no open threads" if open_only else "no comments")
    elif len(rows) == limit and sample is None and not as_json:
        typer.echo(f"more: --before {rows[-1].id}", err=True)


@comments_app.command("add")
def comments_add(
    sample: int = typer.Argument(..., help="Sample id."),
    text: str = typer.Argument(
        ..., help="Plain text; @name mentions a user (an unknown name is an error)."
    ),
    turn: int = typer.Option(None, "--turn", help="About this turn (1-based)."),
    reply_to: int = typer.Option(
        None, "--reply-to", help="Reply in the thread of this comment id."
    ),
    as_user: str = AS,
) -> None:
    """Comment on a sample (or reply in a thread); mentioned users see it in their inbox."""
    who = _actor(as_user)
    with errors(), session() as s:
        c = cm.add_comment(s, who, sample, text, turn=turn, reply_to=reply_to)
    extra = f"; mentions {', '.join('@' + m for m in c.mentions)}" if c.mentions else ""
    typer.echo(f"comment {c.id} on sample {c.sample_id} (thread {c.thread_id}){extra}")


@comments_app.command("resolve")
def comments_resolve(
    comment: int = typer.Argument(..., help="A comment id (its thread is resolved)."),
    reopen: bool = typer.Option(False, "--reopen", help="Reopen the thread instead."),
    as_user: str = AS,
) -> None:
    """Resolve (or reopen) a thread: its author or a lead."""
    who = _actor(as_user)
    with errors(), session() as s:
        root = cm.set_resolved(s, who, comment, resolved=not reopen)
    typer.echo(
        f"thread {root.id} on sample {root.sample_id} {'reopened' if reopen else 'resolved'}"
    )
