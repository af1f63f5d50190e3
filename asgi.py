"""kocurate web app as an ASGI application: Streamlit (``app.py``) plus the two login-cookie routes.

``kocurate serve`` runs it (``streamlit run asgi.py``); any ASGI server can too (``uvicorn
asgi:app``). The routes set and clear the HttpOnly login cookie (see kocurate.webauth).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st
from starlette.routing import Route

from kocurate import ui_speed, webauth

os.umask(0o077)  # files this process creates (exports, reports) are its owner's only

webauth.ROUTES_ACTIVE = True
# the pages' imports load while the server starts answering, so the first login does not wait for
# them
threading.Thread(target=ui_speed.warm_up_server, name="kocurate-warm-up", daemon=True).start()
app = st.App(
    str(Path(__file__).resolve().parent / "app.py"),
    routes=[
        Route(webauth.SESSION_PATH, webauth.session_route, methods=["POST"]),
        Route(webauth.LOGOUT_PATH, webauth.logout_route, methods=["POST"]),
    ],
)
