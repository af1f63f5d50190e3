"""Admin: users and roles, and the audit log. Layout and widgets only; every action is a
kocurate.services.users / audit call (which checks the 'users' permission itself)."""

from __future__ import annotations

import json
from datetime import datetime, time

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.models import ROLES
from kocurate.services import audit
from kocurate.services import users as user_service

PAGE_SIZE = 100

actor = ui.require_actor()
st.header("Admin")
if not actor.can("users"):
    st.error("Only admins manage users.")
    st.stop()

toast = st.session_state.pop("adm-toast", None)
if toast:
    st.toast(toast)

users_tab, audit_tab = st.tabs(["Users", "Audit log"])

with users_tab:
    with ui.session() as s:
        users = user_service.list_users(s, actor)
        rows = [{"user": u.username, "role": u.role, "active": u.active,
                 "last login": u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else ""}
                for u in users]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

    shown = st.session_state.pop("adm-password", None)
    if shown:
        st.success("Password for the account (shown once; pass it on privately):")
        st.code(shown, language=None)

    left, right = st.columns(2)
    with left, st.form("adm-add", clear_on_submit=True):
        st.subheader("Add a user")
        name = st.text_input("User name", key="adm-name")
        role = st.selectbox("Role", ROLES, key="adm-role")
        pw = st.text_input("Password (empty: generate one)", type="password", key="adm-pw")
        if st.form_submit_button("Add user", type="primary"):
            done = False
            with ui.shows_errors(), ui.session() as s:  # st.rerun only after the transaction committed
                _, password = user_service.create_user(s, actor, name, role, pw or None)
                st.session_state["adm-password"] = f"{name.strip()}: {password}"
                st.session_state["adm-toast"] = "User added"  # toasts are Markdown: no user names in them
                done = True
            if done:
                st.rerun()

    with right:
        st.subheader("Change a user")
        names = [u.username for u in users]
        who = st.selectbox("User", names, key="adm-who")
        current = next((u for u in users if u.username == who), None)
        new_role = st.selectbox("New role", ROLES, key="adm-new-role")
        a, b, c = st.columns(3)
        # role changes and disabling ask first; the answer is a second click on "Confirm"
        if a.button("Set role", disabled=current is None or current.role == new_role):
            st.session_state["adm-confirm"] = ("role", who, new_role)
        if b.button("Reset password", disabled=current is None):
            st.session_state["adm-confirm"] = ("password", who, None)
        if current is not None and c.button("Disable" if current.active else "Enable",
                                            disabled=current.username == actor.username):
            st.session_state["adm-confirm"] = ("active", who, not current.active)

        pending = st.session_state.get("adm-confirm")
        if pending:
            kind, target, value = pending
            target_user = next((u for u in users if u.username == target), None)
            if target_user is None:
                st.session_state.pop("adm-confirm", None)
            else:
                if kind == "role":
                    question = f"Change the role of {target} from {target_user.role} to {value}?"
                    if ROLES.index(value) < ROLES.index(target_user.role):
                        question += " Their open sessions end at once."
                elif kind == "password":
                    question = f"Set a new password for {target}? Their open sessions end at once."
                else:
                    question = (f"Enable {target}?" if value else
                                f"Disable {target}? They cannot log in, and their open sessions end at once.")
                st.warning("Please confirm:")  # alerts are Markdown: the question with the name is plain text
                st.text(question)
                yes, no = st.columns(2)
                changed = False
                if yes.button("Confirm", type="primary", key="adm-yes"):
                    with ui.shows_errors(), ui.session() as s:
                        if kind == "role":
                            user_service.set_role(s, actor, target, value)
                            msg = f"Role changed to {value}"
                        elif kind == "password":
                            st.session_state["adm-password"] = \
                                f"{target}: {user_service.reset_password(s, actor, target)}"
                            msg = "New password set"
                        else:
                            user_service.set_active(s, actor, target, bool(value))
                            msg = "User enabled" if value else "User disabled"
                        st.session_state["adm-toast"] = msg
                        changed = True
                    st.session_state.pop("adm-confirm", None)
                if no.button("Cancel", key="adm-no"):
                    st.session_state.pop("adm-confirm", None)
                    st.rerun()
                if changed:  # st.rerun only after the transaction committed
                    st.rerun()

with audit_tab:
    f1, f2, f3 = st.columns(3)
    action = f1.selectbox("Action", ["(all)", *audit.ACTIONS], key="adm-au-action")
    user = f2.text_input("User", key="adm-au-user")
    since = f3.date_input("Since", value=None, key="adm-au-since")
    filters = (action, user.strip(), since)
    if st.session_state.get("adm-au-filters") != filters:  # new filters: back to the newest page
        st.session_state["adm-au-filters"] = filters
        st.session_state["adm-au-pages"] = []
    pages: list[int] = st.session_state.setdefault("adm-au-pages", [])
    before = pages[-1] if pages else None
    with ui.session() as s:
        events = audit.events(s, actor, since=datetime.combine(since, time.min) if since else None,
                              action=None if action == "(all)" else action, username=user.strip() or None,
                              before_id=before, limit=PAGE_SIZE)
    if not events:
        st.info("No audit events match." if not pages else "No older events.")
    else:
        # a table: every cell is plain text (user names, targets and details are data)
        st.dataframe(pd.DataFrame([{
            "when (UTC)": e.at.isoformat(sep=" ", timespec="seconds"), "user": e.username, "action": e.action,
            "dataset": "" if e.dataset_id is None else str(e.dataset_id), "target": e.target or "",
            "details": json.dumps(e.details, ensure_ascii=False) if e.details else "",
        } for e in events]), hide_index=True, width="stretch")
    newer, older = st.columns(2)
    if newer.button("Newer", disabled=not pages, key="adm-au-newer"):
        pages.pop()
        st.rerun()
    if older.button("Older", disabled=len(events) < PAGE_SIZE, key="adm-au-older"):
        pages.append(events[-1].id)
        st.rerun()
