"""Inbox: mentions of me and replies in threads I wrote in (unread first); for leads, the open
questions.

Layout and widgets only; every action calls kocurate.services.comments. Comments show as plain text.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui, ui_guidance
from kocurate.errors import KocurateError
from kocurate.i18n import _, ngettext
from kocurate.services import comments as cm
from kocurate.services import datasets as ds_service

actor = ui.require_actor()
S = st.session_state
PAGE = 30
KIND_LABELS = {"mention": _("mentioned you"), "reply": _("replied in your thread")}

st.title(_("Inbox"))


def entries(unread: bool, before: int | None) -> list[cm.InboxEntry]:
    with ui.session() as s:
        return cm.inbox(s, actor, unread=unread, before_id=before, limit=PAGE)


def show(items: list[cm.InboxEntry], *, unread: bool) -> None:
    for e in items:
        with st.container(border=True, key=f"ib-{e.id}"):
            st.caption(KIND_LABELS.get(e.kind, e.kind))
            ui_guidance.comment_row(e.comment, key=f"ib-row-{e.id}")
            if unread and st.button(
                _("Mark read"), key=f"ib-read-{e.id}", icon=":material/drafts:"
            ):
                with ui.shows_errors(), ui.session() as s:
                    cm.mark_read(s, actor, [e.id])
                ui_guidance.forget_inbox_count()
                st.rerun()


try:
    with ui.session() as s:
        n_unread = cm.unread_count(s, actor)
    st.subheader(ngettext("{n} unread", "{n} unread", n_unread).format(n=n_unread))
    if n_unread and st.button(_("Mark all read"), key="ib-all-read", icon=":material/done_all:"):
        with ui.shows_errors(), ui.session() as s:
            cm.mark_read(s, actor)
        ui_guidance.forget_inbox_count()
        st.rerun()
    # keyset pages: "More" remembers the last id seen
    unread_items = entries(True, S.get("ib_unread_before"))
    show(unread_items, unread=True)
    if len(unread_items) == PAGE and st.button(_("More unread"), key="ib-more-unread"):
        S["ib_unread_before"] = unread_items[-1].id
        st.rerun()
    with st.expander(_("Already read"), expanded=not n_unread, key="ib-read"):
        read_items = entries(False, S.get("ib_read_before"))
        if not read_items and not n_unread:
            st.text(
                _(
                    "Nothing here yet: when someone mentions you (@{name}) or replies in your"
                    " thread, it shows here."
                ).format(name=actor.username)
            )
        show(read_items, unread=False)
        if len(read_items) == PAGE and st.button(_("More"), key="ib-more-read"):
            S["ib_read_before"] = read_items[-1].id
            st.rerun()

    if actor.can(cm.LEAD):
        st.divider()
        st.subheader(_("Open questions"))
        with ui.session() as s:
            datasets = {d["id"]: d["name"] for d in ds_service.list_datasets(s)}
        ds = st.selectbox(
            _("Dataset"),
            [0, *datasets],
            key="ib-oq-ds",
            format_func=lambda i: _("all datasets") if i == 0 else datasets[i],
        )
        if S.get("ib_oq_for") != ds:
            S["ib_oq_for"], S["ib_oq_before"] = ds, None
        with ui.session() as s:
            rows = cm.open_threads(
                s, actor, dataset_id=ds or None, before_id=S.get("ib_oq_before"), limit=PAGE
            )
        if not rows:
            st.text(_("No open questions."))
        for r in rows:
            root = r["root"]
            with st.container(border=True, key=f"oq-{root.id}"):
                ui_guidance.comment_row(root, key=f"oq-row-{root.id}")
                if r["replies"]:
                    last = r["last"]
                    st.caption(
                        ngettext(
                            "{n} reply, the last by {user}",
                            "{n} replies, the last by {user}",
                            r["replies"],
                        ).format(n=r["replies"], user=last.author if last else "?")
                    )
                if st.button(_("Resolve"), key=f"oq-resolve-{root.id}", icon=":material/task_alt:"):
                    with ui.shows_errors(), ui.session() as s:
                        cm.set_resolved(s, actor, root.id)
                    st.rerun()
        c1, c2 = st.columns(2)
        if S.get("ib_oq_before") and c1.button(_("First page"), key="oq-first"):
            S["ib_oq_before"] = None
            st.rerun()
        if len(rows) == PAGE and c2.button(_("Older"), key="oq-older"):
            S["ib_oq_before"] = rows[-1]["root"].id
            st.rerun()
except KocurateError as exc:
    st.error(str(exc))
