"""kocurate web app: login, then navigation over pages/ by role. Nothing else lives here."""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.errors import AuthError
from kocurate.services import users as user_service

st.set_page_config(page_title="kocurate", page_icon="📝", layout="wide")

# page file, title, icon, the permission that makes it visible
PAGES = [
    ("pages/review.py", "Review", "📝", "review"),
    ("pages/search.py", "Search", "🔎", "search"),
    ("pages/datasets.py", "Datasets", "🗂️", "review"),
    ("pages/dashboard.py", "Dashboard", "📊", "view_own_stats"),
    ("pages/checks.py", "Checks", "🧪", "check"),
    ("pages/translate.py", "Translate", "🌐", "translate_batch"),
    ("pages/import.py", "Import", "📥", "import"),
    ("pages/export.py", "Export", "📦", "export"),
    ("pages/admin.py", "Admin", "🔐", "users"),
]


def login() -> None:
    st.title("kocurate")
    st.caption("Curate Korean LLM fine-tuning data")
    with st.form("login"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in", type="primary"):
            try:
                with ui.session() as s:
                    st.session_state["actor"] = user_service.authenticate(s, username, password)
                st.rerun()
            except AuthError as exc:
                st.error(str(exc))


actor = ui.actor()
if actor is None:
    st.navigation([st.Page(login, title="Log in", icon="🔑")]).run()
else:
    with st.sidebar:
        st.write(f"**{actor.username}** · {actor.role}")
        if st.button("Log out"):
            st.session_state.pop("actor", None)
            st.rerun()
    pages = [st.Page(path, title=title, icon=icon) for path, title, icon, perm in PAGES if actor.can(perm)]
    st.navigation(pages).run()
