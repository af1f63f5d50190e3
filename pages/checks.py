"""Checks: run the automatic checks over a dataset, see hits per check, open the review queue filtered by one.

Layout only: every number and action comes from ``kocurate.services.checks``. Leads run checks and
add evaluation sets; annotators see the counts and the links. The review page reads
``?dataset=ID&check=NAME`` to open its queue filtered by that check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from kocurate import ui
from kocurate.services import checks as svc
from kocurate.services import datasets as dataset_service
from kocurate.services import jobs


def review_url(dataset_id: int, check: str) -> str:
    """The review queue filtered by one check (``review?dataset=ID&check=NAME``), relative to the app."""
    return "review?" + urlencode({"dataset": dataset_id, "check": check})


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
progress_line = st.empty()  # filled at the end: a run on this page changes it

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
                progress = svc.check_progress(s, ds_id)
    c1, c2 = st.columns([1, 3])
    if c1.button("Find near-duplicates", key="ck_dedup",
                 help="Groups near-identical samples across all datasets (MinHash); exports keep one per group."):
        with ui.shows_errors(), st.spinner("Comparing samples…"):
            res = svc.dedup(ui.engine(), actor)
            st.success(f"Near-duplicates: {res['groups']:,} groups, {res['duplicates']:,} samples beyond the first "
                       f"of their group, among {res['samples']:,} samples ({res['seconds']:.1f}s).")

with ui.session() as s:
    running = [j for j in jobs.list_jobs(s, kind=svc.JOB_KIND, limit=10) if j["params"].get("dataset_id") == ds_id]
if running:
    j = running[0]
    st.text(f"Latest check job {j['id']}: {j['status']}{' (its worker is gone)' if j['dead'] else ''} · "
            f"{j['done']:,} of {j['total']:,} samples · {j['message'] or ''}")
    if j["status"] in ("queued", "running") and not j["dead"]:
        st.progress(min(1.0, j["done"] / max(1, j["total"])))
        st.button("Refresh", key="ck_job_refresh")

progress_line.caption(f"{progress['checked']:,} of {progress['samples']:,} samples checked at their current "
                      "version")

st.subheader("Hits per check")
hits = sorted((r for r in summary if r["samples"]), key=lambda r: (-r["samples"], r["check"]))
quiet = sorted(r["check"] for r in summary if not r["samples"])
if hits:
    st.dataframe(
        [{"check": r["check"], "samples": r["samples"], "errors": r["errors"], "open": r["open"],
          "severity": r["severity"], "family": r["family"], "review": review_url(ds_id, r["check"]),
          "what it looks for": r["description"]} for r in hits],
        hide_index=True, width="stretch", key="ck_table",
        column_config={"samples": st.column_config.NumberColumn("samples hit", format="%d"),
                       "review": st.column_config.LinkColumn("review", display_text="review these")})
else:
    st.info("No check has hits on this dataset yet." + (" Run the checks above." if lead else ""))
if quiet:
    st.caption(f"No hits ({len(quiet)}): " + ", ".join(quiet))

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
