"""Admin: users and roles. Layout and widgets only; every action is a kocurate.services.users call
(which checks the 'users' permission itself)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.models import ROLES
from kocurate.services import users as user_service

actor = ui.require_actor()
st.header("Admin")
if not actor.can("users"):
    st.error("Only admins manage users.")
    st.stop()

with ui.session() as s:
    users = user_service.list_users(s, actor)
    rows = [{"user": u.username, "role": u.role, "active": u.active,
             "last login": u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "",
             "locked until": u.locked_until.isoformat(timespec="minutes") if u.locked_until else ""} for u in users]
st.subheader("Users")
st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)

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
            done = True
        if done:
            st.rerun()

with right:
    st.subheader("Change a user")
    names = [u.username for u in users]
    who = st.selectbox("User", names, key="adm-who")
    new_role = st.selectbox("New role", ROLES, key="adm-new-role")
    a, b, c = st.columns(3)
    changed = False
    if a.button("Set role", disabled=not who):
        with ui.shows_errors(), ui.session() as s:
            user_service.set_role(s, actor, who, new_role)
            changed = True
    if b.button("Reset password", disabled=not who):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["adm-password"] = f"{who}: {user_service.reset_password(s, actor, who)}"
            changed = True
    current = next((u for u in users if u.username == who), None)
    if current is not None and c.button("Disable" if current.active else "Enable",
                                        disabled=current.username == actor.username):
        with ui.shows_errors(), ui.session() as s:
            user_service.set_active(s, actor, who, not current.active)
            changed = True
    if changed:  # st.rerun only after the transaction committed
        st.rerun()
