"""The server side of the login cookie (no Streamlit import: the ASGI routes of ``asgi.py`` use it).

A Streamlit page cannot send HTTP headers, so after a password login the page hands the login token
to this process as a one-time ticket (random, 60 s) and the browser redeems it with a same-origin
POST to ``/auth/session``; that response sets the cookie: HttpOnly (no script can read it),
SameSite=Strict, Secure when the request came over HTTPS. ``/auth/logout`` clears it. The routes
only exist when the app is served through ``asgi.py`` (``kocurate serve``); under a bare
``streamlit run app.py`` (development, AppTest) the page falls back to a script-set cookie, still
ended server-side by the session generation.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "kocurate_session"
SESSION_PATH = "/auth/session"
LOGOUT_PATH = "/auth/logout"
TICKET_SECONDS = 60.0

ROUTES_ACTIVE = False  # set by asgi.py when this process serves the auth routes

_lock = threading.Lock()
_tickets: dict[str, tuple[float, str]] = {}


def session_hours() -> float:
    """How long a login lasts (KOCURATE_SESSION_HOURS, default 12)."""
    try:
        return float(os.environ.get("KOCURATE_SESSION_HOURS", "12"))
    except ValueError:
        return 12.0


def issue_ticket(token: str) -> str:
    """A one-time ticket for ``token`` (kept in this process's memory only)."""
    ticket = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for k in [k for k, (exp, _) in _tickets.items() if exp < now]:
            del _tickets[k]
        _tickets[ticket] = (now + TICKET_SECONDS, token)
    return ticket


def redeem(ticket: str) -> str | None:
    """The token of an unexpired ticket, once; None otherwise."""
    with _lock:
        hit = _tickets.pop(ticket, None)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def cookie_secure(scheme: str, forwarded_proto: str | None) -> bool:
    """Secure cookies over HTTPS (directly, or behind a TLS proxy that says so);
    KOCURATE_COOKIE_SECURE=1 forces."""
    if os.environ.get("KOCURATE_COOKIE_SECURE", "").lower() in ("1", "true", "yes"):
        return True
    return scheme == "https" or (forwarded_proto or "").split(",")[0].strip().lower() == "https"


def _secure(request: Request) -> bool:
    return cookie_secure(request.url.scheme, request.headers.get("x-forwarded-proto"))


async def session_route(request: Request) -> Response:
    """POST /auth/session: redeem a one-time login ticket (the body) and set the HttpOnly cookie."""
    ticket = (await request.body())[:200].decode("ascii", errors="replace")
    token = redeem(ticket)
    if token is None:
        return Response("unknown or expired login ticket", status_code=400, media_type="text/plain")
    resp = Response(status_code=204)
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(session_hours() * 3600),
        path="/",
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )
    return resp


async def logout_route(request: Request) -> Response:
    """POST /auth/logout: clear the cookie (the login itself was ended server-side already)."""
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/", httponly=True, secure=_secure(request), samesite="strict")
    return resp
