"""kocurate web app: login, then navigation over pages/ by role. Nothing else lives here.

A login survives a reload (signed cookie, see kocurate.ui), is re-checked on every run (disabled,
demoted, logged out elsewhere: it ends within seconds) and ends after KOCURATE_SESSION_HOURS.
Served by ``kocurate serve`` through ``asgi.py``, which sets the cookie HttpOnly.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from kocurate import ui, ui_guidance, ui_speed
from kocurate.errors import AuthError, KocurateError
from kocurate.i18n import N_, _
from kocurate.services import users as user_service

os.umask(0o077)  # exports and reports this process writes are its owner's only

st.set_page_config(page_title="kocurate", page_icon="📝", layout="wide")

# page file, title, icon (Material Symbols: no emoji font needed; names that do not repeat the
# title, whose ligature text sits beside it), the permission that makes it visible. The URL path is
# the file name.
ROLE_NAMES = (N_("annotator"), N_("lead"), N_("admin"))  # as shown in the sidebar
PAGES = [
    ("pages/review.py", N_("Review"), ":material/edit_note:", "review"),
    ("pages/search.py", N_("Search"), ":material/find_in_page:", "search"),
    ("pages/datasets.py", N_("Datasets"), ":material/folder_open:", "review"),
    ("pages/dashboard.py", N_("Dashboard"), ":material/bar_chart:", "view_own_stats"),
    ("pages/checks.py", N_("Checks"), ":material/fact_check:", "check"),
    ("pages/translate.py", N_("Translate"), ":material/language:", "translate_batch"),
    ("pages/assistant.py", N_("LLM assistant"), ":material/smart_toy:", "translate_batch"),
    ("pages/import.py", N_("Import"), ":material/upload_file:", "import"),
    ("pages/export.py", N_("Export"), ":material/download:", "export"),
    ("pages/bulk.py", N_("Bulk"), ":material/select_all:", "adjudicate"),
    ("pages/variants.py", N_("Variants"), ":material/compare:", "adjudicate"),
    ("pages/qa.py", N_("QA"), ":material/checklist:", "review"),
    ("pages/inbox.py", N_("Inbox"), ":material/mail:", "review"),
    ("pages/guidelines.py", N_("Guidelines"), ":material/menu_book:", "review"),
    ("pages/admin.py", N_("Admin"), ":material/manage_accounts:", "users"),
]


def _url_path(path: str) -> str:
    return path.removeprefix("pages/").removesuffix(".py")


def _not_allowed(title: str, role: str) -> st.Page:
    """A page this role may not open: say so and offer the way back (instead of "Page not
    found")."""

    def page() -> None:
        st.error(f"Your role ({role}) may not open this page.", icon=":material/block:")
        st.page_link(home, label="Back to the start page", icon=":material/arrow_back:")

    return st.Page(page, title=title, url_path=_url_path(path_of[title]), visibility="hidden")


path_of = {title: path for path, title, _icon, _perm in PAGES}


def login() -> None:
    ui.language_switch(None, key="lang_login")
    st.title("kocurate")
    st.caption(_("Curate Korean LLM fine-tuning data"))
    if st.session_state.pop("_expired", False):
        st.info(
            _("Your session ended after {hours:g} hours; please log in again.").format(
                hours=ui.session_hours()
            )
        )
    if st.session_state.pop("_ended", False):
        st.info(
            _(
                "Your login has ended (logged out, or the account was changed by an admin); please"
                " log in again."
            )
        )
    with st.form("login"):
        username = st.text_input(_("User name"))
        password = st.text_input(_("Password"), type="password")
        if st.form_submit_button(_("Log in"), type="primary"):
            try:
                with ui.session() as s:
                    who = user_service.authenticate(
                        s, username, password, client=ui.client_address()
                    )
                ui.login_as(who)
                st.rerun()
            except AuthError as exc:
                st.error(str(exc))


def _database_problem(exc: Exception) -> None:
    # one plain sentence, never a traceback (it would show paths, host and user names)
    if isinstance(exc, KocurateError):
        st.error(str(exc))
    else:
        st.error(
            _(
                "The database could not be reached or refused the request; nothing was saved. Try"
                " again in a moment; if it persists, ask an admin to check the database server"
                " (`kocurate db current`)."
            )
        )


try:
    actor = ui.actor()
    ui.use_language(actor)
    ui.style()  # layout rules every page needs (long Korean labels wrap)
    ui.sync_cookie()
    if actor is None:
        # every page's address leads to the login form (/review?dataset=… opens once logged in)
        nav = st.navigation(
            [st.Page(login, title=_("Log in"), icon=":material/login:", default=True)]
            + [
                st.Page(login, title=_("Log in"), url_path=_url_path(path), visibility="hidden")
                for path, *_rest in PAGES
            ]
        )
        ui_speed.timed_fn(
            "page", nav.run
        )()  # timed only under KOCURATE_TIMING_LOG (benchmarks/ui.py)
    else:
        with st.sidebar:
            st.text(f"{actor.username} · {_(actor.role)}")  # a user name is data: plain text
            ui.language_switch(actor)
            ui_guidance.inbox_badge(actor)  # unread mentions and replies (one cached COUNT)
            if st.button(_("Log out")):
                ui.logout()
                st.rerun()
        pages = [
            st.Page(path, title=_(title), icon=icon)
            for path, title, icon, perm in PAGES
            if actor.can(perm)
        ]
        home = pages[0]

        first = next(path for path, title, icon, perm in PAGES if actor.can(perm))

        def start() -> None:
            # "/" shows the first page; that page keeps its own address too (/review is the review
            # page for everyone). Run in place, not switched to: a switch would drop the login
            # cookie being written.
            runpy.run_path(str(Path(__file__).resolve().parent / first), run_name="__main__")

        hidden = [
            _not_allowed(title, actor.role)
            for path, title, icon, perm in PAGES
            if not actor.can(perm)
        ]
        nav = st.navigation(
            [
                st.Page(
                    start, title=_("Start"), url_path="start", default=True, visibility="hidden"
                ),
                *pages,
                *hidden,
            ],
            expanded=True,
        )  # every page a role has stays in sight
        ui_speed.timed_fn("page", nav.run)()
except (KocurateError, SQLAlchemyError) as exc:  # a page's own errors are shown by the page itself
    _database_problem(exc)
