"""Translate (leads): batch re-translation with DeepL, its jobs, and the EN→KO glossary.

Layout and widgets only; every action calls kocurate.services.translate. Job progress is read from
the Job rows, so it survives a page reload and shows jobs started from the CLI too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from kocurate import ui
from kocurate.models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from kocurate.services import datasets as ds_service
from kocurate.services import translate as tr

actor = ui.require_actor()
st.header("Re-translate with DeepL")

configured = tr.deepl_configured()
if not configured:
    st.warning(tr.how_to_configure(), icon=":material/key:")

if not actor.can("translate_batch"):
    st.info("Batch re-translation and the glossary are for leads. Re-translate one turn from the Review page.")
    st.stop()

tab_batch, tab_glossary = st.tabs(["Batch", "Glossary"])


def _filters() -> dict[str, Any]:
    with ui.session() as s:
        datasets = ds_service.list_datasets(s)
    names = {d["id"]: f"{d['name']} ({d['samples']} samples)" for d in datasets}
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox("Dataset", [None, *names], format_func=lambda i: "all datasets" if i is None else names[i],
                           key="tr-ds")
    check = c2.selectbox("With a finding of check", [None, *tr.check_names()],
                         format_func=lambda c: "any" if c is None else c, key="tr-check")
    flag = c3.selectbox("With flag", [None, *QUALITY_FLAGS, *ETHICS_FLAGS],
                        format_func=lambda f: "any" if f is None else ui.flag_label(f), key="tr-flag")
    status = c4.selectbox("Status", [None, *STATUSES], format_func=lambda x: "any" if x is None else x,
                          key="tr-status")
    limit = st.number_input("At most this many samples (0 = all)", min_value=0, value=0, step=100, key="tr-limit")
    return tr.BatchFilter(dataset=dataset, check=check, flag=flag, status=status,
                          limit=int(limit) or None).to_dict()


def _show_estimate(est: dict[str, Any]) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Samples", f"{est['samples']:,}")
    c2.metric("Texts to send", f"{est['texts']:,}", help=f"{est['turns']:,} turns with an English source")
    c3.metric("Characters to bill", f"{est['characters']:,}",
              help="Code, URLs and placeholders are not sent; cached texts are not paid again."
              + ("" if est["exact"] else " Approximate (summed in the database)."))
    c4.metric("Estimated cost", f"€{est['estimated_cost_eur']:,.2f}", help=f"at €{est['eur_per_million']:g} per "
              "million characters (KOCURATE_DEEPL_EUR_PER_MILLION)")
    if est.get("cached_characters"):
        st.caption(f"{est['cached_characters']:,} characters are already in the cache (free).")
    q = est.get("quota")
    if q is None:
        st.caption("Remaining quota: unknown (DeepL not configured).")
    elif "error" in q:
        st.error(q["error"])
    else:
        st.caption(f"DeepL quota: {q['count']:,} of {q['limit']:,} characters used; {q['remaining']:,} remaining.")
        if est.get("fits_quota") is False:
            st.error("This batch needs more characters than the quota has left: it would stop half-way "
                     "(resumable once quota is available).")


def _link(label: str, icon: str, query: dict[str, Any]) -> None:
    """A link to the Review page with a filter (``review?…``); our own words and numbers only."""
    try:
        st.page_link("pages/review.py", label=label, icon=icon, query_params=query)
    except StreamlitPageNotFoundError:  # the page run on its own (tests): the link's address as text
        st.caption(f"{label}: review?{urlencode(query)}")


def _safe(name: str) -> str:
    return name if re.fullmatch(r"[\w.-]{1,64}", name) else "this dataset"


STATE_COLOURS = {"done": "green", "done with errors": "orange", "failed": "red", "stopped": "orange",
                 "cancelled": "gray", "running": "blue", "queued": "blue", "dead (worker gone)": "red"}


def _job_card(j: dict[str, Any], suggestions: list[dict[str, Any]]) -> None:
    r = j["result"]
    with st.container(border=True):
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"**Job {j['id']}** · {j['done']:,}/{j['total']:,} samples"
                    + (" · apply as edits" if j["params"].get("apply") else " · suggestions")
                    + (f" · retry of job {j['params']['retry_of']}" if j["params"].get("retry_of") else ""))
        c2.badge(j["state"], color=STATE_COLOURS.get(j["state"], "gray"))  # type: ignore[arg-type]
        st.progress(min(j["done"] / j["total"], 1.0) if j["total"] else 0.0)
        st.caption(f"Filters: {tr.describe_filters(j['params'].get('filters'))}"
                   + (f" · budget {j['params']['max_characters']:,} characters"
                      if j["params"].get("max_characters") else ""))
        m = st.columns(5)
        m[0].metric("Suggestions", f"{r.get('suggestions', 0):,}")
        m[1].metric("Applied", f"{r.get('applied', 0):,}")
        m[2].metric("Failed turns", f"{r.get('failed_turns', 0):,}")
        m[3].metric("Characters billed", f"{r.get('billed_characters', 0):,}")
        m[4].metric("Cache hits", f"{r.get('cache_hits', 0):,}", help=f"{r.get('requests', 0):,} requests")
        if j["message"] and j["status"] != "running":
            box = {"failed": st.error, "done with errors": st.warning, "stopped": st.warning}.get(j["state"], st.info)
            box(j["message"])
        for g in suggestions:  # the review queue of this job's open suggestions
            _link(f"Review {g['n']:,} open suggestions in {_safe(g['dataset'])}", ":material/rate_review:",
                  {"dataset": g["dataset_id"], "job": j["id"]})
        if r.get("failed_turns"):
            with st.expander(f"Failed turns ({r['failed_turns']:,})"):
                with ui.session() as s:
                    failed = tr.failed_turns(s, j["id"], limit=20)
                for f in failed:
                    _link(f"sample {f['sample_id']}, turn {f['turn_idx'] + 1}"
                          + (" (retried)" if f["state"] != "open" else ""), ":material/error:",
                          {"sample": f["sample_id"]})
                    st.text(f["error"])
                if r["failed_turns"] > len(failed):
                    st.caption(f"… and {r['failed_turns'] - len(failed):,} more (kocurate jobs show {j['id']}).")
        b1, b2, b3, _ = st.columns([1, 1, 1.4, 2.6])
        if j["status"] in ("queued", "running") and not j["dead"]:
            if b1.button("Cancel", key=f"tr-cancel-{j['id']}"):
                with ui.shows_errors(), ui.session() as s:
                    tr.cancel_batch(s, actor, j["id"])
                st.rerun()
            return
        if j["status"] != "done" and configured and not (j["status"] == "failed" and r.get("failed_turns")):
            if b2.button("Resume", key=f"tr-resume-{j['id']}", type="primary"):
                with ui.shows_errors():
                    tr.resume_batch(ui.engine(), actor, j["id"], background="thread")
                    st.rerun()
        if r.get("failed_turns") and configured:
            with ui.session() as s:
                open_failed = tr.count_failed_turns(s, j["id"])
            if open_failed and b3.button(f"Retry failed turns ({open_failed:,})", key=f"tr-retry-{j['id']}"):
                with ui.shows_errors():
                    new_id = tr.retry_failed(ui.engine(), actor, j["id"], background="thread")
                    st.toast(f"Job {new_id} retries {open_failed:,} failed turns of job {j['id']}.")
                    st.rerun()


@st.fragment(run_every=2)
def _jobs() -> None:
    with ui.session() as s:
        batches = tr.list_batches(s, limit=10)
        counts = tr.open_suggestion_counts(s, [j["id"] for j in batches])
    if not batches:
        st.caption("No batch jobs yet.")
        return
    for j in batches:
        _job_card(j, counts.get(j["id"], []))


with tab_batch:
    filters = _filters()
    apply = st.checkbox("Apply as edits (machine) on samples nobody edited by hand; the others get suggestions",
                        key="tr-apply")
    budget = st.number_input("Budget: stop the job before it bills more than this many characters (0 = no limit)",
                             min_value=0, value=0, step=100_000, key="tr-budget")
    c1, c2 = st.columns([1, 1])
    if c1.button("Estimate", key="tr-estimate"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tr-est"] = (filters, tr.estimate(s, actor, filters))
    if c2.button("Start batch job", type="primary", disabled=not configured, key="tr-start"):
        # a paid job: show the estimate first and start only after a confirmation
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tr-est"] = (filters, tr.estimate(s, actor, filters))
            st.session_state["tr-confirm"] = filters
    est = st.session_state.get("tr-est")
    if est and est[0] == filters:
        _show_estimate(est[1])
    if st.session_state.get("tr-confirm") == filters and est and est[0] == filters:
        e = est[1]
        with st.container(border=True):
            st.warning(f"This job sends about {e['characters']:,} characters to DeepL (estimated cost "
                       f"€{e['estimated_cost_eur']:,.2f})"
                       + (f" and stops at {int(budget):,} characters" if budget else "") + ". Start it?",
                       icon=":material/payments:")
            k1, k2, _ = st.columns([1, 1, 3])
            if k1.button("Confirm and start", type="primary", key="tr-confirm-go"):
                st.session_state.pop("tr-confirm", None)
                with ui.shows_errors():
                    job_id = tr.start_batch(ui.engine(), actor, filters, apply=apply, background="thread",
                                            max_characters=int(budget) or None, estimate=e)
                    st.success(f"Job {job_id} started. Its progress is below (it keeps running if you leave "
                               "this page).")
            if k2.button("Cancel", key="tr-confirm-cancel"):
                st.session_state.pop("tr-confirm", None)
                st.rerun()
    st.subheader("Jobs")
    _jobs()

with tab_glossary:
    with ui.session() as s:
        terms = tr.glossary_terms(s)
        gstatus = tr.glossary_status(s)
    st.caption(f"{gstatus['terms']} terms · "
               + (f"synced to DeepL at {gstatus['synced_at']}" if gstatus["synced"]
                  else "not synced yet (a sync also happens before every translation)"))
    edited = st.data_editor([{"source": t["source"], "target": t["target"], "note": t["note"] or ""} for t in terms]
                            or [{"source": "", "target": "", "note": ""}],
                            num_rows="dynamic", width="stretch", key="tr-gl-editor",
                            column_config={"source": st.column_config.TextColumn("English", required=True),
                                           "target": st.column_config.TextColumn("Korean", required=True),
                                           "note": st.column_config.TextColumn("Note")})
    c1, c2, c3 = st.columns(3)
    if c1.button("Save terms", type="primary", key="tr-gl-save"):
        with ui.shows_errors(), ui.session() as s:
            out = tr.glossary_replace(s, actor, list(edited))
            st.success(f"Saved: {out['added']} added, {out['updated']} updated, {out['removed']} removed.")
    if c2.button("Sync to DeepL", disabled=not configured, key="tr-gl-sync"):
        with ui.shows_errors(), ui.session() as s:
            state = tr.glossary_sync(s, actor, force=True)
            st.success(f"DeepL glossary {state['id']} with {state['n']} terms." if state else "No terms.")
    with ui.session() as s:
        csv_data = tr.glossary_export(s, actor)
    c3.download_button("Export CSV", csv_data, file_name="glossary.csv", mime="text/csv", key="tr-gl-export")
    with st.form("tr-gl-import", clear_on_submit=True):
        up = st.file_uploader("Import CSV (english,korean[,note]; header optional)", type=["csv"])
        replace = st.checkbox("Replace the whole glossary with the file")
        if st.form_submit_button("Import") and up is not None:
            with ui.shows_errors(), ui.session() as s:
                out = tr.glossary_import(s, actor, up.getvalue(), replace=replace)
                st.success(f"Imported: {out['added']} added, {out['updated']} updated, {out['removed']} removed.")
