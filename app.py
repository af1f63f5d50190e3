"""kocurate web app: login, then navigation over pages/ by role. Nothing else lives here.

A login survives a reload (signed cookie, see kocurate.ui) and ends after KOCURATE_SESSION_HOURS.
"""

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
    ("pages/bulk.py", "Bulk", ":material/select_all:", "adjudicate"),
    ("pages/variants.py", "Variants", ":material/compare:", "adjudicate"),
    ("pages/qa.py", "QA", ":material/fact_check:", "review"),
    ("pages/admin.py", "Admin", "🔐", "users"),
]


def login() -> None:
    st.title("kocurate")
    st.caption("Curate Korean LLM fine-tuning data")
    if st.session_state.pop("_expired", False):
        st.info(f"Your session ended after {ui.session_hours():g} hours; please log in again.")
    with st.form("login"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in", type="primary"):
            try:
                with ui.session() as s:
                    who = user_service.authenticate(s, username, password)
                ui.login_as(who)
                st.rerun()
            except AuthError as exc:
                st.error(str(exc))


actor = ui.actor()
ui.sync_cookie()
if actor is None:
    st.navigation([st.Page(login, title="Log in", icon="🔑")]).run()
else:
    with st.sidebar:
        st.text(f"{actor.username} · {actor.role}")  # a user name is data: plain text
        if st.button("Log out"):
            ui.logout()
            st.rerun()
    pages = [st.Page(path, title=title, icon=icon) for path, title, icon, perm in PAGES if actor.can(perm)]
    st.navigation(pages).run()
