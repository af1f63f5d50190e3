"""kocurate web app as an ASGI application: Streamlit (``app.py``) plus the two login-cookie routes.

``kocurate serve`` runs it (``streamlit run asgi.py``); any ASGI server can too (``uvicorn asgi:app``).
The routes set and clear the HttpOnly login cookie (see kocurate.webauth).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kocurate import webauth

os.umask(0o077)  # files this process creates (exports, reports) are its owner's only


def _secure(request: Request) -> bool:
    return webauth.cookie_secure(request.url.scheme, request.headers.get("x-forwarded-proto"))


async def session_route(request: Request) -> Response:
    """Redeem a one-time login ticket: set the HttpOnly cookie."""
    ticket = (await request.body())[:200].decode("ascii", errors="replace")
    token = webauth.redeem(ticket)
    if token is None:
        return Response("unknown or expired login ticket", status_code=400, media_type="text/plain")
    resp = Response(status_code=204)
    resp.set_cookie(webauth.COOKIE, token, max_age=int(webauth.session_hours() * 3600), path="/", httponly=True,
                    secure=_secure(request), samesite="strict")
    return resp


async def logout_route(request: Request) -> Response:
    resp = Response(status_code=204)
    resp.delete_cookie(webauth.COOKIE, path="/", httponly=True, secure=_secure(request), samesite="strict")
    return resp


webauth.ROUTES_ACTIVE = True
app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=[
    Route(webauth.SESSION_PATH, session_route, methods=["POST"]),
    Route(webauth.LOGOUT_PATH, logout_route, methods=["POST"]),
])
