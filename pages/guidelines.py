"""Guidelines: read the project's or a dataset's guidelines, their history and changes; leads edit
them.

Layout and widgets only; every action calls kocurate.services.guidelines (which enforces who may
write). Guidelines are lead-written Markdown (rendered without unsafe HTML); ``?dataset=ID#anchor``
links a section, e.g. ``guidelines?dataset=3#censure``.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui, ui_guidance
from kocurate.errors import KocurateError
from kocurate.i18n import _
from kocurate.services import datasets as ds_service
from kocurate.services import guidelines as gl

actor = ui.require_actor()
S = st.session_state
may_edit = actor.can(gl.PERMISSION)

st.title(_("Guidelines"))
try:
    with ui.session() as s:
        datasets = {d["id"]: d["name"] for d in ds_service.list_datasets(s)}
    linked = ui.query_int("dataset")
    if linked in datasets and S.get("gd_linked") != linked:
        S["gd_scope"], S["gd_linked"] = linked, linked
    if S.get("gd_scope") not in (0, *datasets):
        S["gd_scope"] = 0
    scope = st.selectbox(
        _("Guidelines of"),
        [0, *datasets],
        key="gd_scope",
        format_func=lambda i: (
            _("the project (default for every dataset)")
            if i == 0
            else _("dataset {name}").format(name=datasets[i])
        ),
    )
    ds_id = scope or None
    with ui.session() as s:
        own = gl.latest(s, ds_id)
        shown = gl.effective(s, ds_id)
        versions = gl.history(s, ds_id)
        readers = gl.readers(s, actor, own.scope, own.version) if (own and may_edit) else []
    if ds_id is not None and own is None and shown is not None:
        st.info(
            _(
                "This dataset has no guidelines of its own; its reviewers follow the project's"
                " (below)."
            )
        )

    tabs = st.tabs([_("Read"), _("History"), *([_("Edit")] if may_edit else [])], key="gd-tabs")
    with tabs[0]:
        if shown is None:
            st.info(
                _("No guidelines yet.")
                + (" " + _("Write them in the Edit tab.") if may_edit else "")
            )
        else:
            st.caption(
                _("Version {version} · {author} · {date}").format(
                    version=shown.version, author=shown.author, date=f"{shown.at:%Y-%m-%d %H:%M}"
                )
            )
            if may_edit and own is not None:
                st.caption(
                    _("Confirmed by: {names}").format(names=", ".join(readers) or _("nobody yet"))
                )
            ui_guidance.guidelines_view(shown.body, key="gdp")
    with tabs[1]:
        if not versions:
            st.text(_("No versions yet."))
        for v in versions:
            st.text(
                _("v{version} · {date} · {author}").format(
                    version=v.version, author=v.author, date=f"{v.at:%Y-%m-%d %H:%M}"
                )
                + (f" · {v.note}" if v.note else "")
            )
        if versions:
            pick = st.selectbox(
                _("Changes in version"), [v.version for v in versions], key="gd-diff-v"
            )
            against = st.selectbox(
                _("against version"),
                [p for p in range(pick - 1, 0, -1)] or [0],
                key="gd-diff-against",
                format_func=lambda p: str(p) if p else _("(none)"),
            )
            with ui.session() as s:
                st.code(
                    gl.diff_versions(s, ds_id, pick, against or 0) or _("(no differences)"),
                    language="diff",
                )
    if may_edit:
        with tabs[2]:
            start = own.body if own else (shown.body if shown else "")
            body = st.text_area(
                _("Markdown (a heading `## 비난 {#censure}` sets its anchor)"),
                value=start,
                height=420,
                key=f"gd-edit-{scope}-{own.version if own else 0}",
            )
            note = st.text_input(_("What changed"), key=f"gd-note-{scope}")
            with st.expander(_("Preview"), expanded=False, key="gd-preview"):
                ui_guidance.render_sections(gl.sections(body or ""), key="gd-prev")
            c1, c2 = st.columns(2)
            if c1.button(
                _("Save as a new version"), type="primary", key="gd-save", icon=":material/save:"
            ):
                try:
                    with ui.session() as s:
                        v, added = gl.set_guidelines(s, actor, ds_id, body, note=note)
                    S["gd_notice"] = (
                        _("Saved as version {version}.").format(version=v.version)
                        if added
                        else _("Unchanged: version {version} has this text.").format(
                            version=v.version
                        )
                    )
                    st.rerun()
                except KocurateError as exc:
                    st.error(str(exc))
            if (
                ds_id is None
                and own is None
                and c2.button(_("Start from the kocurate default"), key="gd-default")
            ):
                with ui.shows_errors(), ui.session() as s:
                    gl.install_default(s, actor)
                st.rerun()
    notice = S.pop("gd_notice", None)
    if notice:
        st.success(notice)
except KocurateError as exc:
    st.error(str(exc))
