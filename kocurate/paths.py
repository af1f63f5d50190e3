"""Where the web app (``app.py``, ``pages/``) and the migrations (``db/``) live.

The repository keeps them (and ``asgi.py``) at the top level (the source of truth). A built wheel
carries copies inside the package as ``kocurate/_web/`` (see ``setup.py``), so an installed kocurate
can ``serve``, ``demo`` and ``db upgrade`` without the source tree; an editable install or a
checkout uses the top level.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_BUNDLED = PACKAGE / "_web"
_SOURCE = PACKAGE.parent


def web_root() -> Path:
    """The folder holding ``app.py``, ``pages/`` and ``db/``."""
    return _BUNDLED if (_BUNDLED / "app.py").is_file() else _SOURCE


def app_script() -> Path:
    return web_root() / "app.py"


def asgi_script() -> Path:
    """The ASGI entry (``app.py`` plus the login-cookie routes) that ``kocurate serve`` runs."""
    return web_root() / "asgi.py"


def migrations_dir() -> Path:
    return web_root() / "db"
