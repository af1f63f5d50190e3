"""Checks: run the automatic checks over a dataset, see hits per check, open the review queue filtered by one.

Layout only: every number and action comes from ``kocurate.services.checks``. Leads run checks and
add evaluation sets; annotators see the counts and the links. The review page reads
``?dataset=ID&check=NAME`` to open its queue filtered by that check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from kocurate import ui
from kocurate.services import checks as svc
from kocurate.services import datasets as dataset_service
from kocurate.services import jobs

REVIEW_PAGE = "pages/review.py"



def review_link(label: str, dataset_id: int, check: str) -> None:
    """The review queue filtered by one check (``review?dataset=ID&check=NAME``)."""
    params = {"dataset": str(dataset_id), "check": check}
    try:
        st.page_link(REVIEW_PAGE, label=label, icon=":material/rate_review:", query_params=params)
    except StreamlitAPIException:  # the page runs outside the app's navigation (tests, bare mode)
        st.link_button(label, f"review?dataset={dataset_id}&check={check}", icon=":material/rate_review:")


actor = ui.require_actor()
lead = actor.can("check")
st.header("Checks")

with ui.session() as s:
    datasets = dataset_service.list_datasets(s)
if not datasets:
    st.info("No datasets yet: import one first.")
    st.stop()

names = {d["id"]: f"{d['name']} ({d['samples']:,} samples)" for d in datasets}
default = ui.query_int("dataset")
ids = list(names)
ds_id = st.selectbox("Dataset", ids, format_func=names.__getitem__,
                     index=ids.index(default) if default in ids else 0, key="ck_dataset")

with ui.session() as s:
    progress = svc.check_progress(s, ds_id)
    summary = svc.findings_summary(s, ds_id)
st.caption(f"{progress['checked']:,} of {progress['samples']:,} samples checked at their current version")

if lead:
    all_checks = [c["name"] for c in svc.list_checks()]
    with st.form("ck_run"):
        only = st.multiselect("Only these checks (empty: all)", all_checks, key="ck_only")
        full = st.checkbox("Re-check every sample (not only those changed since the last run)", key="ck_full")
        background = st.checkbox("Run in the background (progress survives a page reload)", key="ck_bg")
        run = st.form_submit_button("Run checks", type="primary", key="ck_run_go")
    if run and background:
        with ui.shows_errors():
            with ui.session() as s:
                job_id = svc.start_check_job(s, actor, ds_id, only=only or None, full=full)
            jobs.start_thread(ui.engine(), job_id)
            st.success(f"Started check job {job_id}.")
    elif run:
        bar = st.progress(0.0, text="checking…")
        total = max(1, progress["samples"])
        with ui.shows_errors(), st.spinner("Running checks…"):
            out = svc.run_checks(ui.engine(), actor, ds_id, only=only or None, full=full,
                                 progress=lambda n: bar.progress(min(1.0, n / total), text=f"{n:,} samples"))
            bar.empty()
            st.success(f"Checked {out['samples']:,} samples in {out['seconds']:.1f}s: {out['findings']:,} findings, "
                       f"{out['flags']:,} pre-flags.")
            with ui.session() as s:
                summary = svc.findings_summary(s, ds_id)

with ui.session() as s:
    running = [j for j in jobs.list_jobs(s, kind=svc.JOB_KIND, limit=10) if j["params"].get("dataset_id") == ds_id]
if running:
    j = running[0]
    st.text(f"Latest check job {j['id']}: {j['status']}{' (its worker is gone)' if j['dead'] else ''} · "
            f"{j['done']:,} of {j['total']:,} samples · {j['message'] or ''}")
    if j["status"] in ("queued", "running") and not j["dead"]:
        st.progress(min(1.0, j["done"] / max(1, j["total"])))
        st.button("Refresh", key="ck_job_refresh")

st.subheader("Hits per check")
families = sorted({r["family"] for r in summary})
for fam in families:
    rows = [r for r in summary if r["family"] == fam]
    st.markdown(f"**{fam.capitalize()}**")  # our own label, not dataset text
    for r in rows:
        c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
        c1.text(f"{r['check']} · {r['severity']}")
        c1.caption(r["description"])
        c2.metric("samples", f"{r['samples']:,}", label_visibility="visible")
        c3.metric("errors", f"{r['errors']:,}")
        if r["samples"]:
            with c4:
                review_link(f"Review these {r['samples']:,}", ds_id, r["check"])

if lead:
    st.subheader("Evaluation sets (contamination)")
    with ui.session() as s:
        sets = svc.list_evalsets(s)
    if sets:
        st.dataframe([{k: e[k] for k in ("name", "kind", "items", "file")} for e in sets], hide_index=True)
    with st.form("ck_evalset"):
        kind = st.selectbox("Kind", ["kobest", "korquad"], key="ck_es_kind")
        up = st.file_uploader("KoBEST task TSV or KorQuAD JSON", type=["tsv", "json"], key="ck_es_file")
        es_name = st.text_input("Name (default: the file name)", key="ck_es_name")
        add = st.form_submit_button("Add evaluation set", key="ck_es_go")
    if add and up is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getvalue())
            with ui.shows_errors(), ui.session() as s:
                res = svc.add_evalset(s, actor, kind, path, es_name.strip() or None)
                st.success(f"Added {res['name']!r}: {res['items']:,} items. Run the 'contamination' check to use it.")
