"""CLI group ``kocurate users``: add, list, roles, passwords, disable/enable, end sessions."""

from __future__ import annotations

import typer

from ..services import users as user_service
from ..services.auth import SYSTEM
from .app import app, errors, session

users_app = typer.Typer(help="Users and roles (annotator, lead, admin).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(...),
    role: str = typer.Option("annotator", "--role", "-r", help="annotator, lead or admin."),
    password: str = typer.Option(None, "--password", help="Default: generated and printed once."),
) -> None:
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


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user (they can log in again)."""
    from ..services import users as user_service

    with errors(), session() as s:
        user_service.set_active(s, SYSTEM, username, True)
    typer.echo(f"{username} enabled")


@users_app.command("end-sessions")
def users_end_sessions(username: str) -> None:
    """Log a user out everywhere at once (every open tab and cookie), e.g. after a lost laptop."""
    from ..services import users as user_service

    with errors(), session() as s:
        user = user_service.get_user(s, SYSTEM, username)
        user_service.end_sessions(s, user_service.actor_of(user), by="cli")
    typer.echo(f"every session of {username} has ended")
