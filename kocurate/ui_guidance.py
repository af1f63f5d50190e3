"""Streamlit pieces of team guidance (issue 21 A): the guidelines panel and banner on the Review
page, the flag definitions, a sample's comment threads, the inbox count in the sidebar.

Render functions take plain values and call kocurate.services. Guidelines are written by leads and
render as Markdown (``st.markdown`` without unsafe HTML); comments are data and show as plain text.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from . import ui
from .errors import KocurateError
from .i18n import _, ngettext
from .models import ETHICS_FLAGS
from .services import comments as cm
from .services import guidelines as gl
from .services.auth import Actor

INBOX_TTL_S = 5.0  # the sidebar count is read again after this long (one indexed COUNT)
GUIDELINES_PAGE = "pages/guidelines.py"
REVIEW_PAGE = "pages/review.py"


# ------------------------------------------------------------------------------ guidelines


def render_sections(sections: list[gl.Section], *, key: str) -> None:
    """Headings with their anchors (``#censure`` links here), each section's Markdown below it."""
    for sec in sections:
        with st.container(key=f"{key}-{sec.anchor}"):
            if sec.level == 1:
                st.header(sec.title, anchor=sec.anchor)
            elif sec.level >= 2:
                st.subheader(sec.title, anchor=sec.anchor)
            if sec.body.strip():
                st.markdown(sec.body)  # lead-written Markdown; no unsafe HTML


def guidelines_view(body: str, *, key: str) -> None:
    """A filter box and the sections that match it (heading or text)."""
    q = st.text_input(
        _("Search the guidelines"), key=f"{key}-q", placeholder=_("e.g. 혐오, code, reject")
    )
    found = gl.search(body, q or "")
    if q and not found:
        st.info(_("No section mentions '{query}'.").format(query=q))
    elif q:
        st.caption(
            ngettext("{n} section matches", "{n} sections match", len(found)).format(n=len(found))
        )
    render_sections(found, key=key)


def guidelines_panel(actor: Actor, dataset_id: int | None) -> None:
    """The Review page's guidelines: a banner until this version is confirmed, then a collapsible
    panel."""
    try:
        with ui.session() as s:
            v = gl.effective(s, dataset_id)
            todo = gl.unconfirmed(s, actor, dataset_id) if v is not None else None
    except KocurateError as exc:
        st.error(str(exc))
        return
    if v is None:
        return
    if todo is not None:
        with st.container(border=True, key="gd-banner"):
            st.warning(
                _(
                    "The guidelines have a new version ({version}, by {author} on {date}). Please"
                    " read them (panel below) and confirm."
                ).format(version=v.version, author=v.author, date=f"{v.at:%Y-%m-%d}")
            )
            if v.note:
                st.text(_("What changed: {note}").format(note=v.note))
            if st.button(
                _("I have read it"), key=f"gd-read-{v.scope}-{v.version}", icon=":material/done:"
            ):
                with ui.shows_errors(), ui.session() as s:
                    gl.confirm_read(s, actor, v.scope, v.version)
                st.rerun()
    # the search box is not drawn while the panel is closed, and Streamlit drops the value of a
    # widget missing from a run: kept as plain state, it is still there when the panel reopens
    if "gd-q" in st.session_state:
        st.session_state["gd-q"] = st.session_state["gd-q"]
    where = _("project") if v.project_wide else _("this dataset")
    label = _("Guidelines ({where}, version {version})").format(where=where, version=v.version)
    panel = st.expander(
        label,
        expanded=todo is not None,
        icon=":material/menu_book:",
        key="gd-panel",
        on_change="rerun",
    )
    # drawn only while open: a collapsed panel's ~25 headings and Markdown blocks were still
    # re-rendered by the browser on every Next and Save of the sample view
    if not panel.open:
        return
    with panel:
        guidelines_view(v.body, key="gd")
        page_link(
            GUIDELINES_PAGE,
            _("Open the guidelines page (history, changes)"),
            ":material/open_in_new:",
            {"dataset": str(dataset_id)} if dataset_id is not None else None,
        )


def flag_help(dataset_id: int | None) -> None:
    """A small "guideline" popover beside the flags: each AIHub category's definition, with a link
    to its section on the guidelines page (``guidelines?dataset=ID#censure``)."""
    # drawn (and read) only while open: its ~15 Markdown elements otherwise went to the browser on
    # every Next and Save (the popover sits in the Review page's fragment)
    pop = st.popover(
        _("Guideline: flag definitions"),
        icon=":material/help:",
        key="gd-flag-help",
        on_change="rerun",
    )
    if not pop.open:
        return
    try:
        with ui.session() as s:
            v = gl.effective(s, dataset_id)
    except KocurateError:
        return
    with pop:
        if v is None:
            st.text(_("No guidelines yet; a lead writes them on the Guidelines page."))
            return
        base = "guidelines" + (f"?dataset={dataset_id}" if dataset_id is not None else "")
        for code in ETHICS_FLAGS:
            sec = gl.section(v.body, code)
            if sec is None:
                continue
            st.markdown(f"**{ui.flag_label(code)}** · [{_('guideline')}]({base}#{code})")
            st.markdown(sec.body)


# ------------------------------------------------------------------------------ comments


def _when(c: cm.CommentView) -> str:
    return f"{c.at:%Y-%m-%d %H:%M}"


def _comment_line(c: cm.CommentView) -> str:
    turn = (" · " + _("turn {n}").format(n=c.turn_idx + 1)) if c.turn_idx is not None else ""
    return f"{c.author} · {_when(c)}{turn}"


def sample_comments(actor: Actor, sample_id: int, n_turns: int, read_only: bool = False) -> None:
    """A sample's comment threads (plain text), replies, resolve/reopen, and a box for a new one.
    Opening them marks my inbox items about this sample read."""
    try:
        with ui.session() as s:
            threads = cm.threads(s, actor, sample_id)
            cm.mark_sample_read(s, actor, sample_id)
    except KocurateError as exc:
        st.error(str(exc))
        return
    n_open = sum(t.root.is_open for t in threads)
    nonce = st.session_state.get("_gd_cm_nonce", 0)
    st.text(
        ngettext("{n} comment thread", "{n} comment threads", len(threads)).format(n=len(threads))
        + " · "
        + _("{n} open").format(n=n_open)
    )
    for t in threads:
        with st.container(border=True, key=f"cm-thread-{t.root.id}"):
            state = (
                _("open")
                if t.root.is_open
                else _("resolved by {user}").format(user=t.root.resolved_by)
            )
            st.caption(f"{_comment_line(t.root)} · {state}")
            st.text(t.root.body)  # comments are data: never Markdown
            for r in t.replies:
                st.caption("↳ " + _comment_line(r))
                st.text(r.body)
            may_resolve = actor.can(cm.LEAD) or (
                actor.id is not None and actor.username == t.root.author
            )
            with st.form(f"cm-reply-{t.root.id}", border=False):
                text = st.text_input(
                    _("Reply"),
                    key=f"cm-reply-text-{t.root.id}-{nonce}",
                    placeholder=_("plain text; @name mentions someone"),
                )
                c1, c2 = st.columns(2)
                send = c1.form_submit_button(_("Reply"), icon=":material/reply:")
                flip = (
                    c2.form_submit_button(
                        _("Resolve") if t.root.is_open else _("Reopen"),
                        icon=":material/task_alt:" if t.root.is_open else ":material/undo:",
                    )
                    if may_resolve
                    else False
                )
            if send and (text or "").strip():
                _write(
                    lambda s, body=text, rid=t.root.id: cm.add_comment(
                        s, actor, sample_id, body, reply_to=rid
                    )
                )
            elif flip:
                _write(
                    lambda s, rid=t.root.id, open_=t.root.is_open: cm.set_resolved(
                        s, actor, rid, open_
                    )
                )
    # typed text stays when a comment is refused (an unknown @name); a saved one clears the box (new
    # key)
    with st.form(f"cm-new-{sample_id}"):
        body = st.text_area(
            _("New comment or question"),
            key=f"cm-new-text-{sample_id}-{nonce}",
            height=80,
            placeholder=_("plain text; @name mentions someone (they see it in their inbox)"),
        )
        turn = st.selectbox(
            _("About"),
            [0, *range(1, n_turns + 1)],
            key=f"cm-new-turn-{sample_id}",
            format_func=lambda n: _("the whole sample") if n == 0 else _("turn {n}").format(n=n),
        )
        if st.form_submit_button(_("Comment"), icon=":material/add_comment:", type="primary"):
            _write(lambda s: cm.add_comment(s, actor, sample_id, body or "", turn=turn or None))


def _write(action: Any) -> None:
    try:
        with ui.session() as s:
            action(s)
    except KocurateError as exc:
        st.error(str(exc))
        return
    forget_inbox_count()
    st.session_state["_gd_cm_nonce"] = st.session_state.get("_gd_cm_nonce", 0) + 1
    st.rerun(scope="fragment") if _in_fragment() else st.rerun()


def _in_fragment() -> bool:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        return bool(ctx and ctx.current_fragment_id)
    except Exception:  # noqa: BLE001 - an internal detail: fall back to a full rerun
        return False


# ------------------------------------------------------------------------------ inbox count


def forget_inbox_count() -> None:
    st.session_state.pop("_gd_inbox", None)


def inbox_count(actor: Actor) -> int:
    """My unread inbox items: one indexed COUNT, kept in this browser session for INBOX_TTL_S."""
    cached = st.session_state.get("_gd_inbox")
    now = time.monotonic()
    if cached and cached[0] == actor.id and now - cached[1] < INBOX_TTL_S:
        return int(cached[2])
    try:
        with ui.session() as s:
            n = cm.unread_count(s, actor)
    except Exception:  # noqa: BLE001 - the sidebar count never breaks a page (the page says what is wrong)
        return 0
    st.session_state["_gd_inbox"] = (actor.id, now, n)
    return n


def inbox_badge(actor: Actor) -> None:
    """The sidebar line: how many unread mentions and replies wait in my inbox."""
    n = inbox_count(actor)
    with st.container(key="inbox-count"):
        if n:
            st.text("✉ " + ngettext("Inbox: {n} unread", "Inbox: {n} unread", n).format(n=n))
        else:
            st.caption(_("Inbox: nothing unread"))


def comment_row(c: cm.CommentView, *, key: str) -> None:
    """One comment as plain text with a link to its sample on the Review page."""
    st.caption(f"{_comment_line(c)} · " + _("sample {id}").format(id=c.sample_id))
    st.text(c.body)
    page_link(
        REVIEW_PAGE,
        _("Open sample {id}").format(id=c.sample_id),
        ":material/link:",
        {"sample": str(c.sample_id)},
    )


def page_link(page: str, label: str, icon: str, query: dict[str, str] | None) -> None:
    """A link to another page of the app; a plain relative link where the page is not registered
    (a page run on its own, as in AppTest)."""
    try:
        st.page_link(page, label=label, icon=icon, query_params=query)
    except StreamlitAPIException:
        stem = page.removeprefix("pages/").removesuffix(".py")
        qs = "&".join(f"{k}={v}" for k, v in (query or {}).items())
        st.markdown(f"[{label}]({stem}{'?' + qs if qs else ''})")
