"""Bulk: actions on a selection, find and replace, fix propagation, and the operations log (leads).

Layout only: every count, preview and write is a call into ``kocurate.services`` (bulk, replace,
tm). The selection can arrive in the URL from other pages: ``bulk?dataset=ID&check=NAME`` (a check's
findings), ``&query=…`` (search results), ``&dup_group=N`` (a near-duplicate group),
``&variant=HASH``, ``&status=…``, ``&flag=…``; ``bulk?edit=ID`` prefills fix propagation from an
edit. Dataset text is shown as plain text only.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kocurate import ui
from kocurate.checks.texts import check_label
from kocurate.i18n import N_, _, ngettext
from kocurate.services import bulk, replace, tm
from kocurate.services import datasets as dataset_service
from kocurate.services import review as rv

ACTION_LABELS = {
    "approve": N_("Approve"),
    "reject": N_("Reject (with a reason)"),
    "needs_fix": N_("Needs fix"),
    "add_flag": N_("Add a flag"),
    "remove_flag": N_("Remove a flag"),
    "clear_findings": N_("Clear check findings"),
    "assign": N_("Assign to a person"),
}
# the operations log: every action a bulk operation can have, and its states (codes → labels)
OP_ACTION_LABELS = {
    **ACTION_LABELS,
    "reject": N_("Reject"),
    "supersede": N_("Supersede"),
    "replace": N_("Find and replace"),
}
OP_STATE_LABELS = {
    "preview": N_("preview"),
    "applied": N_("applied"),
    "reverted": N_("reverted"),
    "discarded": N_("discarded"),
}
STATUS_CHOICES = ["(any)", "new", "approved", "rejected", "needs_fix", "skipped", "superseded"]
SIDE_LABELS = {"ko": N_("Korean"), "en": N_("English")}


def _flag_choice(flag: str) -> str:
    return _("(any)") if flag == "(any)" else ui.flag_label(flag)


actor = ui.require_actor()
if not actor.can(bulk.PERMISSION):
    st.warning(_("Bulk actions are for leads."))
    st.stop()
st.header(_("Bulk actions"))

with ui.session() as s:
    datasets = dataset_service.list_datasets(s)
if not datasets:
    st.info(_("No datasets yet: import one first."))
    st.stop()
names = {
    d["id"]: (
        ngettext("{name} ({n} sample)", "{name} ({n} samples)", d["samples"]).format(
            name=d["name"], n=f"{d['samples']:,}"
        )
    )
    for d in datasets
}
ids = list(names)
qp = st.query_params


def _qp(name: str) -> str:
    return str(qp.get(name) or "")


def selection_widgets(prefix: str) -> bulk.Selection:
    """The selection: dataset plus the review-queue filter, prefilled from the URL."""
    default = ui.query_int("dataset")
    c1, c2, c3 = st.columns(3)
    ds_id = c1.selectbox(
        _("Dataset"),
        ids,
        format_func=names.__getitem__,
        index=ids.index(default) if default in ids else 0,
        key=f"{prefix}_ds",
    )
    status_q = _qp("status")
    status = c2.selectbox(
        _("Status"),
        STATUS_CHOICES,
        key=f"{prefix}_status",
        format_func=ui.status_label,
        index=STATUS_CHOICES.index(status_q) if status_q in STATUS_CHOICES else 0,
    )
    flag = c3.selectbox(
        _("Flag"),
        ["(any)", *rv.ALL_FLAGS],
        key=f"{prefix}_flag",
        format_func=_flag_choice,
        index=(1 + rv.ALL_FLAGS.index(_qp("flag"))) if _qp("flag") in rv.ALL_FLAGS else 0,
    )
    c4, c5, c6 = st.columns(3)
    check = c4.text_input(_("Check (open findings of)"), value=_qp("check"), key=f"{prefix}_check")
    if check_label(check.strip()) != check.strip():  # a known check: its name as people read it
        c4.caption(check_label(check.strip()))
    query = c5.text_input(_("Text search"), value=_qp("query"), key=f"{prefix}_query")
    sample_ids = c6.text_input(
        _("Sample ids (comma-separated)"), value=_qp("ids"), key=f"{prefix}_ids"
    )
    dup = ui.query_int("dup_group")
    variant = _qp("variant") or None
    if dup is not None:
        st.text(_("Group from the link: near-duplicate group {group}").format(group=dup))
    if variant:
        st.text(_("Group from the link: variant {variant}").format(variant=variant))
    try:
        id_list = (
            [int(x) for x in sample_ids.split(",") if x.strip()] if sample_ids.strip() else None
        )
    except ValueError:
        st.error(_("Sample ids: give numbers separated by commas."))
        st.stop()
    return bulk.Selection(
        dataset_id=ds_id,
        status=None if status == "(any)" else status,
        flag=None if flag == "(any)" else flag,
        check=check.strip() or None,
        query=query.strip() or None,
        dup_group=dup,
        src_hash=variant,
        sample_ids=id_list,
    )


def show_result(key: str) -> None:
    res: dict[str, Any] | None = st.session_state.get(key)
    if res:
        (st.warning if res.get("skipped") else st.success)(res["message"])


tab_action, tab_replace, tab_tm, tab_ops = st.tabs(
    [_("Action"), _("Find and replace"), _("Fix propagation"), _("Operations")]
)

with tab_action:
    sel = selection_widgets("ba")
    action = st.selectbox(
        _("Action"), list(ACTION_LABELS), format_func=lambda a: _(ACTION_LABELS[a]), key="ba_action"
    )
    kw: dict[str, Any] = {}
    if action == "reject":
        kw["reason"] = st.text_input(_("Reason"), key="ba_reason")
    elif action in ("add_flag", "remove_flag"):
        kw["flag"] = st.selectbox(
            _("Flag"), list(rv.ALL_FLAGS), format_func=ui.flag_label, key="ba_flag_cat"
        )
    elif action == "clear_findings":
        kw["check"] = st.text_input(_("Only this check (empty: all)"), key="ba_only") or None
    elif action == "assign":
        kw["assignee"] = st.text_input(_("User name"), key="ba_user")
    note = st.text_input(_("Note (why; kept in the audit log)"), key="ba_note")
    if st.button(_("Preview"), key="ba_preview", type="primary"):
        st.session_state.pop("ba_result", None)
        with ui.shows_errors(), ui.session() as s:
            st.session_state["ba_pv"] = bulk.preview(s, actor, action, sel, note=note, **kw)
    pv = st.session_state.get("ba_pv")
    if pv:
        st.text(
            _(
                "{action} · {selection}: {count} of {selected} selected samples will change"
                " ({unchanged} already so)."
            ).format(
                action=ui.label(OP_ACTION_LABELS, pv["action"]),
                selection=pv["selection"],
                count=f"{pv['count']:,}",
                selected=f"{pv['selected']:,}",
                unchanged=f"{pv['unchanged']:,}",
            )
        )
        if pv["sample"]:
            st.dataframe(
                pv["sample"],
                hide_index=True,
                column_config={
                    "sample_id": _("Sample"),
                    "key": _("Key"),
                    "status": _("Status"),
                    "change": _("Change"),
                    "text": _("Korean (first turn)"),
                },
            )
        c1, c2 = st.columns(2)
        if c1.button(
            ngettext("Apply to {n} sample", "Apply to {n} samples", pv["count"]).format(
                n=f"{pv['count']:,}"
            ),
            key="ba_apply",
            disabled=not pv["count"],
        ):
            done = None
            with ui.shows_errors(), ui.session() as s:
                done = bulk.apply(s, actor, pv["op_id"])
            if done is not None:  # rerun outside the transaction: it must commit first
                st.session_state["ba_result"] = done
                st.session_state.pop("ba_pv", None)
                st.rerun()
        if c2.button(_("Discard"), key="ba_discard"):
            with ui.shows_errors(), ui.session() as s:
                bulk.discard(s, actor, pv["op_id"])
            st.session_state.pop("ba_pv", None)
            st.rerun()
    show_result("ba_result")


def replace_preview(spec: replace.ReplaceSpec, sel: bulk.Selection, note: str) -> None:
    with ui.shows_errors(), ui.session() as s:
        st.session_state["rp_pv"] = replace.preview(s, actor, sel, spec, note=note)
        st.session_state.pop("rp_result", None)


with tab_replace:
    rsel = selection_widgets("rp")
    c1, c2 = st.columns(2)
    find = c1.text_input(_("Find"), key="rp_find")
    repl = c2.text_input(_("Replace with"), key="rp_repl")
    c3, c4, c5, c6 = st.columns(4)
    regex = c3.checkbox(_("Regular expression"), key="rp_regex")
    icase = c4.checkbox(_("Ignore case"), key="rp_icase")
    side = c5.radio(
        _("Side"),
        ["ko", "en"],
        format_func=lambda code: _(SIDE_LABELS[code]),
        horizontal=True,
        key="rp_side",
    )
    role = c6.text_input(_("Only role"), key="rp_role")
    en_has = st.text_input(_("Only where the English contains"), key="rp_en")
    rnote = st.text_input(_("Note"), key="rp_note")
    if st.button(_("Preview"), key="rp_preview", type="primary"):
        replace_preview(
            replace.ReplaceSpec(
                pattern=find,
                replacement=repl,
                regex=regex,
                side=side,
                role=role.strip() or None,
                ignore_case=icase,
                en_contains=en_has.strip() or None,
            ),
            rsel,
            rnote,
        )
    rpv = st.session_state.get("rp_pv")
    if rpv:
        found = _("{occurrences} occurrences in {turns} turns of {samples} samples").format(
            occurrences=f"{rpv['occurrences']:,}",
            turns=f"{rpv['turns']:,}",
            samples=f"{rpv['samples']:,}",
        )
        if rpv["truncated"]:
            found += " " + _("(first {n} shown)").format(n=len(rpv["changes"]))
        st.text(found)
        for c in rpv["changes"]:
            st.caption(
                _("sample {sample} · turn {turn} ({role})").format(
                    sample=c["sample_id"], turn=c["turn_idx"] + 1, role=c["role"]
                )
            )
            st.code(c["diff"], language="diff")  # dataset text as code: never Markdown
        if st.button(
            ngettext("Apply to {n} sample", "Apply to {n} samples", rpv["samples"]).format(
                n=f"{rpv['samples']:,}"
            ),
            key="rp_apply",
            disabled=not rpv["samples"],
        ):
            done = None
            with ui.shows_errors(), ui.session() as s:
                done = bulk.apply(s, actor, rpv["op_id"])
            if done is not None:
                st.session_state["rp_result"] = done
                st.session_state.pop("rp_pv", None)
                st.rerun()
    show_result("rp_result")

with tab_tm:
    st.subheader(_("After an edit"))
    edit_id = st.number_input(
        _("Edit number (from a sample's history; the review page links here with ?edit=ID)"),
        min_value=0,
        step=1,
        value=ui.query_int("edit") or 0,
        key="tm_edit",
    )
    if st.button(_("Find the same fix elsewhere"), key="tm_suggest") and edit_id:
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tm_offer"] = tm.suggest_from_edit(s, actor, int(edit_id)) or {}
    offer = st.session_state.get("tm_offer")
    if offer == {}:
        st.info(_("No other sample has this phrase translated the same way."))
    elif offer:
        st.text(
            f"{offer['old']} → {offer['new']}"  # dataset text: plain
            + (
                "   " + _("(English: {phrase})").format(phrase=offer["en_phrase"])
                if offer["en_phrase"]
                else ""
            )
        )
        if st.button(
            ngettext(
                "Apply this fix to {n} other sample",
                "Apply this fix to {n} other samples",
                offer["samples"],
            ).format(n=f"{offer['samples']:,}"),
            key="tm_open",
        ):
            replace_preview(
                offer["spec"],
                bulk.Selection(exclude_ids=[offer["exclude_sample"]]),
                f"fix propagated from edit {int(edit_id)}",
            )
            st.info(_("The preview is in the 'Find and replace' tab."))
        if st.button(_("Keep this fix in the list"), key="tm_keep"):
            with ui.shows_errors(), ui.session() as s:
                fid = tm.add_fix(s, actor, offer["old"], offer["new"], en_phrase=offer["en_phrase"])
            st.success(_("Fix {fix} kept.").format(fix=fid))
    st.subheader(_("Kept fixes"))
    with ui.session() as s:
        fixes = tm.list_fixes(s, actor)
    if fixes:
        st.dataframe(
            fixes,
            hide_index=True,
            column_config={
                "id": _("Fix"),
                "en_phrase": _("English phrase"),
                "old": _("Korean now"),
                "new": _("Korean instead"),
                "role": _("Role"),
                "note": _("Note"),
                "active": _("Active"),
            },
        )
    with st.form("tm_add"):
        c1, c2, c3 = st.columns(3)
        old = c1.text_input(_("Korean now"), key="tm_old")
        new = c2.text_input(_("Korean instead"), key="tm_new")
        en = c3.text_input(_("Where the English has"), key="tm_en_phrase")
        if st.form_submit_button(_("Add fix")):
            with ui.shows_errors(), ui.session() as s:
                st.success(
                    _("Fix {fix} added.").format(fix=tm.add_fix(s, actor, old, new, en_phrase=en))
                )
    re_ds = st.selectbox(
        _("Re-apply every active fix to"), ids, format_func=names.__getitem__, key="tm_ds"
    )
    if st.button(_("Re-apply fixes"), key="tm_apply"):
        with ui.shows_errors(), ui.session() as s:
            out = tm.apply_fixes(s, actor, re_ds)
        st.success(
            "; ".join(
                ngettext("fix {fix}: {n} sample", "fix {fix}: {n} samples", r["samples"]).format(
                    fix=r["fix"], n=f"{r['samples']:,}"
                )
                for r in out
            )
            or _("No active fixes.")
        )

with tab_ops:
    with ui.session() as s:
        ops = bulk.list_ops(s, actor, limit=100)
    if not ops:
        st.info(_("No bulk operations yet."))
    else:
        st.dataframe(
            [
                {
                    **{
                        k: o[k]
                        for k in ("id", "at", "user", "changed", "skipped", "selection", "note")
                    },
                    "action": ui.label(OP_ACTION_LABELS, o["action"]),
                    "state": ui.label(OP_STATE_LABELS, o["state"]),
                }
                for o in ops
            ],
            hide_index=True,
            column_order=(
                "id",
                "at",
                "user",
                "action",
                "state",
                "changed",
                "skipped",
                "selection",
                "note",
            ),
            column_config={
                "id": _("Operation"),
                "at": _("At"),
                "user": _("User"),
                "action": _("Action"),
                "state": _("State"),
                "changed": _("Changed"),
                "skipped": _("Skipped"),
                "selection": _("Selection"),
                "note": _("Note"),
            },
        )
        applied = [o["id"] for o in ops if o["state"] == "applied"]
        if applied:
            op_id = st.selectbox(_("Operation to revert"), applied, key="op_revert_id")
            skip = st.checkbox(
                _("Revert the samples that did not change since, leave the others"), key="op_skip"
            )
            if st.button(_("Revert"), key="op_revert"):
                with ui.shows_errors(), ui.session() as s:
                    st.success(bulk.revert(s, actor, op_id, skip_changed=skip)["message"])
