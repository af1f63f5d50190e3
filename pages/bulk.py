"""Bulk: actions on a selection, find and replace, fix propagation, and the operations log (leads).

Layout only: every count, preview and write is a call into ``kocurate.services`` (bulk, replace, tm).
The selection can arrive in the URL from other pages: ``bulk?dataset=ID&check=NAME`` (a check's
findings), ``&query=…`` (search results), ``&dup_group=N`` (a near-duplicate group), ``&variant=HASH``,
``&status=…``, ``&flag=…``; ``bulk?edit=ID`` prefills fix propagation from an edit. Dataset text is shown
as plain text only.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kocurate import ui
from kocurate.services import bulk, replace, tm
from kocurate.services import datasets as dataset_service
from kocurate.services import review as rv

ACTION_LABELS = {"approve": "Approve", "reject": "Reject (with a reason)", "needs_fix": "Needs fix",
                 "add_flag": "Add a flag", "remove_flag": "Remove a flag", "clear_findings": "Clear check findings",
                 "assign": "Assign to a person"}
STATUS_CHOICES = ["(any)", "new", "approved", "rejected", "needs_fix", "skipped", "superseded"]

actor = ui.require_actor()
if not actor.can(bulk.PERMISSION):
    st.warning("Bulk actions are for leads.")
    st.stop()
st.header("Bulk actions")

with ui.session() as s:
    datasets = dataset_service.list_datasets(s)
if not datasets:
    st.info("No datasets yet: import one first.")
    st.stop()
names = {d["id"]: f"{d['name']} ({d['samples']:,} samples)" for d in datasets}
ids = list(names)
qp = st.query_params


def _qp(name: str) -> str:
    return str(qp.get(name) or "")


def selection_widgets(prefix: str) -> bulk.Selection:
    """The selection: dataset plus the review-queue filter, prefilled from the URL."""
    default = ui.query_int("dataset")
    c1, c2, c3 = st.columns(3)
    ds_id = c1.selectbox("Dataset", ids, format_func=names.__getitem__,
                         index=ids.index(default) if default in ids else 0, key=f"{prefix}_ds")
    status_q = _qp("status")
    status = c2.selectbox("Status", STATUS_CHOICES, key=f"{prefix}_status",
                          index=STATUS_CHOICES.index(status_q) if status_q in STATUS_CHOICES else 0)
    flag = c3.selectbox("Flag", ["(any)", *rv.ALL_FLAGS], key=f"{prefix}_flag",
                        index=(1 + rv.ALL_FLAGS.index(_qp("flag"))) if _qp("flag") in rv.ALL_FLAGS else 0)
    c4, c5, c6 = st.columns(3)
    check = c4.text_input("Check (open findings of)", value=_qp("check"), key=f"{prefix}_check")
    query = c5.text_input("Text search", value=_qp("query"), key=f"{prefix}_query")
    sample_ids = c6.text_input("Sample ids (comma-separated)", value=_qp("ids"), key=f"{prefix}_ids")
    dup = ui.query_int("dup_group")
    variant = _qp("variant") or None
    if dup is not None or variant:
        st.text(f"Group from the link: {'near-duplicate group ' + str(dup) if dup is not None else ''}"
                   f"{'variant ' + variant if variant else ''}")
    try:
        id_list = [int(x) for x in sample_ids.split(",") if x.strip()] if sample_ids.strip() else None
    except ValueError:
        st.error("Sample ids: give numbers separated by commas.")
        st.stop()
    return bulk.Selection(dataset_id=ds_id, status=None if status == "(any)" else status,
                          flag=None if flag == "(any)" else flag, check=check.strip() or None,
                          query=query.strip() or None, dup_group=dup, src_hash=variant, sample_ids=id_list)


def show_result(key: str) -> None:
    res: dict[str, Any] | None = st.session_state.get(key)
    if res:
        (st.warning if res.get("skipped") else st.success)(res["message"])


tab_action, tab_replace, tab_tm, tab_ops = st.tabs(["Action", "Find and replace", "Fix propagation", "Operations"])

with tab_action:
    sel = selection_widgets("ba")
    action = st.selectbox("Action", list(ACTION_LABELS), format_func=ACTION_LABELS.__getitem__, key="ba_action")
    kw: dict[str, Any] = {}
    if action == "reject":
        kw["reason"] = st.text_input("Reason", key="ba_reason")
    elif action in ("add_flag", "remove_flag"):
        kw["flag"] = st.selectbox("Flag", list(rv.ALL_FLAGS), format_func=ui.flag_label, key="ba_flag_cat")
    elif action == "clear_findings":
        kw["check"] = st.text_input("Only this check (empty: all)", key="ba_only") or None
    elif action == "assign":
        kw["assignee"] = st.text_input("User name", key="ba_user")
    note = st.text_input("Note (why; kept in the audit log)", key="ba_note")
    if st.button("Preview", key="ba_preview", type="primary"):
        st.session_state.pop("ba_result", None)
        with ui.shows_errors(), ui.session() as s:
            st.session_state["ba_pv"] = bulk.preview(s, actor, action, sel, note=note, **kw)
    pv = st.session_state.get("ba_pv")
    if pv:
        st.text(f"{ACTION_LABELS[pv['action']]} · {pv['selection']}: {pv['count']:,} of {pv['selected']:,} selected "
                f"samples will change ({pv['unchanged']:,} already so).")
        if pv["sample"]:
            st.dataframe(pv["sample"], hide_index=True)
        c1, c2 = st.columns(2)
        if c1.button(f"Apply to {pv['count']:,} samples", key="ba_apply", disabled=not pv["count"]):
            done = None
            with ui.shows_errors(), ui.session() as s:
                done = bulk.apply(s, actor, pv["op_id"])
            if done is not None:  # rerun outside the transaction: it must commit first
                st.session_state["ba_result"] = done
                st.session_state.pop("ba_pv", None)
                st.rerun()
        if c2.button("Discard", key="ba_discard"):
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
    find = c1.text_input("Find", key="rp_find")
    repl = c2.text_input("Replace with", key="rp_repl")
    c3, c4, c5, c6 = st.columns(4)
    regex = c3.checkbox("Regular expression", key="rp_regex")
    icase = c4.checkbox("Ignore case", key="rp_icase")
    side = c5.radio("Side", ["ko", "en"], format_func={"ko": "Korean", "en": "English"}.__getitem__,
                    horizontal=True, key="rp_side")
    role = c6.text_input("Only role", key="rp_role")
    en_has = st.text_input("Only where the English contains", key="rp_en")
    rnote = st.text_input("Note", key="rp_note")
    if st.button("Preview", key="rp_preview", type="primary"):
        replace_preview(replace.ReplaceSpec(pattern=find, replacement=repl, regex=regex, side=side,
                                            role=role.strip() or None, ignore_case=icase,
                                            en_contains=en_has.strip() or None), rsel, rnote)
    rpv = st.session_state.get("rp_pv")
    if rpv:
        st.text(f"{rpv['occurrences']:,} occurrences in {rpv['turns']:,} turns of {rpv['samples']:,} samples"
                + (f" (first {len(rpv['changes'])} shown)" if rpv["truncated"] else ""))
        for c in rpv["changes"]:
            st.caption(f"sample {c['sample_id']} · turn {c['turn_idx'] + 1} ({c['role']})")
            st.code(c["diff"], language="diff")  # dataset text as code: never Markdown
        if st.button(f"Apply to {rpv['samples']:,} samples", key="rp_apply", disabled=not rpv["samples"]):
            done = None
            with ui.shows_errors(), ui.session() as s:
                done = bulk.apply(s, actor, rpv["op_id"])
            if done is not None:
                st.session_state["rp_result"] = done
                st.session_state.pop("rp_pv", None)
                st.rerun()
    show_result("rp_result")

with tab_tm:
    st.subheader("After an edit")
    edit_id = st.number_input("Edit number (from a sample's history; the review page links here with ?edit=ID)",
                              min_value=0, step=1, value=ui.query_int("edit") or 0, key="tm_edit")
    if st.button("Find the same fix elsewhere", key="tm_suggest") and edit_id:
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tm_offer"] = tm.suggest_from_edit(s, actor, int(edit_id)) or {}
    offer = st.session_state.get("tm_offer")
    if offer == {}:
        st.info("No other sample has this phrase translated the same way.")
    elif offer:
        st.text(f"{offer['old']} → {offer['new']}"
                + (f"   (English: {offer['en_phrase']})" if offer["en_phrase"] else ""))
        if st.button(f"Apply this fix to {offer['samples']:,} other samples", key="tm_open"):
            replace_preview(offer["spec"], bulk.Selection(exclude_ids=[offer["exclude_sample"]]),
                            f"fix propagated from edit {int(edit_id)}")
            st.info("The preview is in the 'Find and replace' tab.")
        if st.button("Keep this fix in the list", key="tm_keep"):
            with ui.shows_errors(), ui.session() as s:
                fid = tm.add_fix(s, actor, offer["old"], offer["new"], en_phrase=offer["en_phrase"])
            st.success(f"Fix {fid} kept.")
    st.subheader("Kept fixes")
    with ui.session() as s:
        fixes = tm.list_fixes(s, actor)
    if fixes:
        st.dataframe(fixes, hide_index=True)
    with st.form("tm_add"):
        c1, c2, c3 = st.columns(3)
        old = c1.text_input("Korean now", key="tm_old")
        new = c2.text_input("Korean instead", key="tm_new")
        en = c3.text_input("Where the English has", key="tm_en_phrase")
        if st.form_submit_button("Add fix"):
            with ui.shows_errors(), ui.session() as s:
                st.success(f"Fix {tm.add_fix(s, actor, old, new, en_phrase=en)} added.")
    re_ds = st.selectbox("Re-apply every active fix to", ids, format_func=names.__getitem__, key="tm_ds")
    if st.button("Re-apply fixes", key="tm_apply"):
        with ui.shows_errors(), ui.session() as s:
            out = tm.apply_fixes(s, actor, re_ds)
        st.success("; ".join(f"fix {r['fix']}: {r['samples']:,} samples" for r in out) or "No active fixes.")

with tab_ops:
    with ui.session() as s:
        ops = bulk.list_ops(s, actor, limit=100)
    if not ops:
        st.info("No bulk operations yet.")
    else:
        st.dataframe([{k: o[k] for k in ("id", "at", "user", "action", "state", "changed", "skipped", "selection",
                                          "note")} for o in ops], hide_index=True)
        applied = [o["id"] for o in ops if o["state"] == "applied"]
        if applied:
            op_id = st.selectbox("Operation to revert", applied, key="op_revert_id")
            skip = st.checkbox("Revert the samples that did not change since, leave the others", key="op_skip")
            if st.button("Revert", key="op_revert"):
                with ui.shows_errors(), ui.session() as s:
                    st.success(bulk.revert(s, actor, op_id, skip_changed=skip)["message"])
