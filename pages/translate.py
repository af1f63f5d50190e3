"""Translate (leads): batch re-translation with DeepL, its jobs, and the EN→KO glossary.

Layout and widgets only; every action calls kocurate.services.translate. Job progress is read from
the Job rows, so it survives a page reload and shows jobs started from the CLI too.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

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


@st.fragment(run_every=2)
def _jobs() -> None:
    with ui.session() as s:
        batches = tr.list_batches(s, limit=10)
    if not batches:
        st.caption("No batch jobs yet.")
        return
    for j in batches:
        r = j["result"]
        with st.container(border=True):
            status = "dead (worker gone)" if j["dead"] else j["status"]
            st.markdown(f"**Job {j['id']}** · {status} · {j['done']:,}/{j['total']:,} samples"
                        + (" · apply as edits" if j["params"].get("apply") else " · suggestions"))
            st.progress(min(j["done"] / j["total"], 1.0) if j["total"] else 0.0)
            st.caption(f"filters: {j['params'].get('filters') or 'all'} · requests {r.get('requests', 0):,} · "
                       f"billed {r.get('billed_characters', 0):,} characters · cache hits {r.get('cache_hits', 0):,}"
                       f" · suggestions {r.get('suggestions', 0):,} · applied {r.get('applied', 0):,}"
                       f" · failed turns {r.get('failed_turns', 0):,}")
            if j["message"]:
                (st.error if j["status"] == "failed" else st.caption)(j["message"])
            for e in r.get("errors", [])[:5]:
                st.text(f"turn {e['turn_id']} (sample {e['sample_id']}): {e['error']}")
            c1, c2, _ = st.columns([1, 1, 4])
            if j["status"] in ("queued", "running") and not j["dead"]:
                if c1.button("Cancel", key=f"tr-cancel-{j['id']}"):
                    with ui.shows_errors(), ui.session() as s:
                        tr.cancel_batch(s, actor, j["id"])
                    st.rerun()
            elif j["status"] != "done" and configured:
                if c2.button("Resume", key=f"tr-resume-{j['id']}", type="primary"):
                    with ui.shows_errors():
                        tr.resume_batch(ui.engine(), actor, j["id"], background="thread")
                    st.rerun()


with tab_batch:
    filters = _filters()
    apply = st.checkbox("Apply as edits (machine) on samples nobody edited by hand; the others get suggestions",
                        key="tr-apply")
    c1, c2 = st.columns([1, 1])
    if c1.button("Estimate", key="tr-estimate"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tr-est"] = (filters, tr.estimate(s, actor, filters))
    est = st.session_state.get("tr-est")
    if est and est[0] == filters:
        _show_estimate(est[1])
    if c2.button("Start batch job", type="primary", disabled=not configured, key="tr-start"):
        with ui.shows_errors():
            job_id = tr.start_batch(ui.engine(), actor, filters, apply=apply, background="thread")
            st.success(f"Job {job_id} started. Its progress is below (it keeps running if you leave this page).")
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
