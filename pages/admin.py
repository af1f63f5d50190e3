"""Admin: users and roles, and the audit log. Layout and widgets only; every action is a
kocurate.services.users / audit call (which checks the 'users' permission itself)."""

from __future__ import annotations

import json
from datetime import datetime, time

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.i18n import N_, _
from kocurate.models import ROLES
from kocurate.services import audit
from kocurate.services import users as user_service

PAGE_SIZE = 100
ALL = "(all)"  # the action filter's "no filter" option (a code; shown translated)
# audit action code → what a person reads (the table and the filter show these; the codes stay the
# values)
ACTION_LABELS = {
    "login": N_("login"),
    "login_failed": N_("login_failed"),
    "logout": N_("logout"),
    "role_change": N_("role_change"),
    "user_disabled": N_("user_disabled"),
    "user_enabled": N_("user_enabled"),
    "user_created": N_("user_created"),
    "password_reset": N_("password_reset"),
    "import": N_("import"),
    "export": N_("export"),
    "job_start": N_("job_start"),
    "bulk": N_("bulk"),
    "restore": N_("restore"),
    "settings": N_("settings"),
}


def _action_label(code: str) -> str:
    return _("(all)") if code == ALL else _(ACTION_LABELS[code]) if code in ACTION_LABELS else code


actor = ui.require_actor()
st.header(_("Admin"))
if not actor.can("users"):
    st.error(_("Only admins manage users."))
    st.stop()

toast = st.session_state.pop("adm-toast", None)
if toast:
    st.toast(toast)

users_tab, audit_tab = st.tabs([_("Users"), _("Audit log")])

with users_tab:
    with ui.session() as s:
        users = user_service.list_users(s, actor)
        rows = [
            {
                "user": u.username,
                "role": u.role,
                "active": u.active,
                "last login": (
                    u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else ""
                ),
            }
            for u in users
        ]
    # user names are data; the role is shown in words (the cell is display only)
    for row in rows:
        row["role"] = _(row["role"])
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "user": st.column_config.TextColumn(_("user")),
            "role": st.column_config.TextColumn(_("role")),
            "active": st.column_config.CheckboxColumn(_("active")),
            "last login": st.column_config.TextColumn(_("last login")),
        },
    )

    shown = st.session_state.pop("adm-password", None)
    if shown:
        st.success(_("Password for the account (shown once; pass it on privately):"))
        st.code(shown, language=None)

    left, right = st.columns(2)
    with left, st.form("adm-add", clear_on_submit=True):
        st.subheader(_("Add a user"))
        name = st.text_input(_("User name"), key="adm-name")
        role = st.selectbox(_("Role"), ROLES, format_func=_, key="adm-role")
        pw = st.text_input(_("Password (empty: generate one)"), type="password", key="adm-pw")
        if st.form_submit_button(_("Add user"), type="primary"):
            done = False
            with (
                ui.shows_errors(),
                ui.session() as s,
            ):  # st.rerun only after the transaction committed
                _new_user, password = user_service.create_user(s, actor, name, role, pw or None)
                st.session_state["adm-password"] = f"{name.strip()}: {password}"
                st.session_state["adm-toast"] = _(
                    "User added"
                )  # toasts are Markdown: no user names in them
                done = True
            if done:
                st.rerun()

    with right:
        st.subheader(_("Change a user"))
        names = [u.username for u in users]
        who = st.selectbox(_("User"), names, key="adm-who")
        current = next((u for u in users if u.username == who), None)
        new_role = st.selectbox(_("New role"), ROLES, format_func=_, key="adm-new-role")
        a, b, c = st.columns(3)
        # role changes and disabling ask first; the answer is a second click on "Confirm"
        if a.button(_("Set role"), disabled=current is None or current.role == new_role):
            st.session_state["adm-confirm"] = ("role", who, new_role)
        if b.button(_("Reset password"), disabled=current is None):
            st.session_state["adm-confirm"] = ("password", who, None)
        if current is not None and c.button(
            _("Disable") if current.active else _("Enable"),
            disabled=current.username == actor.username,
        ):
            st.session_state["adm-confirm"] = ("active", who, not current.active)

        pending = st.session_state.get("adm-confirm")
        if pending:
            kind, target, value = pending
            target_user = next((u for u in users if u.username == target), None)
            if target_user is None:
                st.session_state.pop("adm-confirm", None)
            else:
                if kind == "role":
                    question = _("Change the role of {user} from {old} to {new}?").format(
                        user=target, old=_(target_user.role), new=_(value)
                    )
                    if ROLES.index(value) < ROLES.index(target_user.role):
                        question += " " + _("Their open sessions end at once.")
                elif kind == "password":
                    question = _(
                        "Set a new password for {user}? Their open sessions end at once."
                    ).format(user=target)
                else:
                    question = (
                        _("Enable {user}?").format(user=target)
                        if value
                        else _(
                            "Disable {user}? They cannot log in, and their open sessions end at"
                            " once."
                        ).format(user=target)
                    )
                st.warning(
                    _("Please confirm:")
                )  # alerts are Markdown: the question with the name is plain text
                st.text(question)
                yes, no = st.columns(2)
                changed = False
                if yes.button(_("Confirm"), type="primary", key="adm-yes"):
                    with ui.shows_errors(), ui.session() as s:
                        if kind == "role":
                            user_service.set_role(s, actor, target, value)
                            msg = _("Role changed to {role}").format(role=_(value))
                        elif kind == "password":
                            st.session_state["adm-password"] = (
                                f"{target}: {user_service.reset_password(s, actor, target)}"
                            )
                            msg = _("New password set")
                        else:
                            user_service.set_active(s, actor, target, bool(value))
                            msg = _("User enabled") if value else _("User disabled")
                        st.session_state["adm-toast"] = msg
                        changed = True
                    st.session_state.pop("adm-confirm", None)
                if no.button(_("Cancel"), key="adm-no"):
                    st.session_state.pop("adm-confirm", None)
                    st.rerun()
                if changed:  # st.rerun only after the transaction committed
                    st.rerun()

with audit_tab:
    f1, f2, f3 = st.columns(3)
    action = f1.selectbox(
        _("Action"), [ALL, *audit.ACTIONS], format_func=_action_label, key="adm-au-action"
    )
    user = f2.text_input(_("User"), key="adm-au-user")
    since = f3.date_input(_("Since"), value=None, key="adm-au-since")
    filters = (action, user.strip(), since)
    if st.session_state.get("adm-au-filters") != filters:  # new filters: back to the newest page
        st.session_state["adm-au-filters"] = filters
        st.session_state["adm-au-pages"] = []
    pages: list[int] = st.session_state.setdefault("adm-au-pages", [])
    before = pages[-1] if pages else None
    with ui.session() as s:
        events = audit.events(
            s,
            actor,
            since=datetime.combine(since, time.min) if since else None,
            action=None if action == ALL else action,
            username=user.strip() or None,
            before_id=before,
            limit=PAGE_SIZE,
        )
    if not events:
        st.info(_("No audit events match.") if not pages else _("No older events."))
    else:
        # a table: every cell is plain text (user names, targets and details are data; the action in
        # words)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "when (UTC)": e.at.isoformat(sep=" ", timespec="seconds"),
                        "user": e.username,
                        "action": _action_label(e.action),
                        "dataset": "" if e.dataset_id is None else str(e.dataset_id),
                        "target": e.target or "",
                        "details": json.dumps(e.details, ensure_ascii=False) if e.details else "",
                    }
                    for e in events
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "when (UTC)": st.column_config.TextColumn(_("when (UTC)")),
                "user": st.column_config.TextColumn(_("user")),
                "action": st.column_config.TextColumn(_("action")),
                "dataset": st.column_config.TextColumn(_("dataset")),
                "target": st.column_config.TextColumn(_("target")),
                "details": st.column_config.TextColumn(_("details")),
            },
        )
    newer, older = st.columns(2)
    if newer.button(_("Newer"), disabled=not pages, key="adm-au-newer"):
        pages.pop()
        st.rerun()
    if older.button(_("Older"), disabled=len(events) < PAGE_SIZE, key="adm-au-older"):
        pages.append(events[-1].id)
        st.rerun()
