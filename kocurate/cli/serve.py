"""CLI commands ``serve`` and ``demo``: the web app (and the Streamlit command line it runs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import typer

from .. import paths
from ..errors import EXIT_CONFLICT
from .app import app, engine, errors, fail, url


@app.command("demo")
def demo_cmd(
    port: int = typer.Option(8501, "--port", help="Port of the web app."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Only create the demo database."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete an existing demo database first."),
) -> None:
    """Create a demo database from the bundled demo set (all five dataset kinds) and start the
    app."""
    from ..demo import create_demo

    with errors():
        info = create_demo(url(), fresh=fresh)
    typer.echo(info["message"])
    if not no_serve:
        _serve(port, url())


@app.command("serve")
def serve_cmd(
    port: int = typer.Option(8501, "--port"), host: str = typer.Option("127.0.0.1", "--host")
) -> None:
    """Start the web app (Streamlit, with the HttpOnly login-cookie routes) on the chosen
    database."""
    with errors():
        engine()  # bring the schema to head before the app opens it
    _serve(port, url(), host)


# the shipped Streamlit settings (as .streamlit/config.toml), passed as flags so that they hold
# whatever folder `kocurate serve` is started from: no Deploy button or developer menu for the
# people using it
STREAMLIT_FLAGS = [
    "--server.headless",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--client.toolbarMode",
    "viewer",
    # an unexpected error shows its type only, never a traceback (paths, hosts) to the browser;
    # the server log keeps the full traceback
    "--client.showErrorDetails",
    "type",
    # Streamlit forces a full garbage collection after every script run, fragment runs included:
    # ~90 ms with the GIL held in this process (its imports are ~190k objects), during which the
    # run's messages wait unsent — a third of every Review click. Python's own collector still
    # collects cycles, and the warm-up freezes the imported heap out of its full collections.
    "--runner.postScriptGC",
    "false",
]


# Streamlit treats an app with a pages/ folder as a v1 multipage app until app.py first calls
# st.navigation: the very first request of a fresh server at /review would run pages/review.py
# without app.py (no login, the wrong menu). The launcher says "navigation app" before it starts.
_LAUNCH = (
    "import sys\n"
    "from streamlit.runtime.pages_manager import PagesManager\n"
    "PagesManager.uses_pages_directory = False  # app.py navigates with st.navigation\n"
    "from streamlit.web.cli import main\n"
    "sys.argv = ['streamlit', *sys.argv[1:]]\n"
    "main()\n"
)


def streamlit_command(port: int, host: str = "127.0.0.1") -> list[str]:
    # asgi.py: the Streamlit app (app.py) plus the routes that set the HttpOnly login cookie
    app_py = paths.asgi_script()
    return [
        sys.executable,
        "-c",
        _LAUNCH,
        "run",
        str(app_py),
        "--server.port",
        str(port),
        "--server.address",
        host,
        *STREAMLIT_FLAGS,
    ]


def _port_in_use(host: str, port: int) -> bool:
    """Whether another process listens on ``host:port`` (bound the way the server binds it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _serve(port: int, db_url: str, host: str = "127.0.0.1") -> None:
    # Streamlit says only "Port … is not available" and stops, while an older server (another
    # checkout, older code) goes on answering at that address
    if _port_in_use(host, port):
        fail(
            f"port {port} on {host} is in use (another kocurate serve, or another program);"
            f" stop it, or start this one with --port {port + 1}",
            EXIT_CONFLICT,
        )
    env = {**os.environ, "KOCURATE_DB_URL": db_url}
    typer.echo(f"kocurate on http://{host}:{port}  (Ctrl+C to stop)")
    cmd = streamlit_command(port, host)
    raise typer.Exit(subprocess.call(cmd, env=env))
