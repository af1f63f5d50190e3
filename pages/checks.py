"""Checks: run the automatic checks over a dataset, see hits per check, open the review queue
filtered by one.

Layout only: every number and action comes from ``kocurate.services.checks``. Leads run checks and
add evaluation sets; annotators see the counts and the links. The review page reads
``?dataset=ID&check=NAME`` to open its queue filtered by that check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from kocurate import ui, ui_curate
from kocurate.checks.texts import check_description, check_label
from kocurate.i18n import N_, _, ngettext
from kocurate.services import checks as svc
from kocurate.services import datasets as dataset_service
from kocurate.services import filters, jobs

# job states as shown (the job keeps the code)
EVALSET_KINDS = {"kobest": "KoBEST", "korquad": "KorQuAD"}  # names of benchmarks, not translated
SEVERITIES = {"info": N_("info"), "warning": N_("warning"), "error": N_("error")}
FAMILIES = {
    "translation": N_("translation"),
    "quality": N_("quality"),
    "ethics": N_("ethics"),
    "contamination": N_("contamination"),
    "dedup": N_("near-duplicates"),
}


def shown(codes: dict[str, str], code: str) -> str:
    """A code (severity, family) as people read it; unknown codes as they are."""
    return _(codes[code]) if code in codes else code


def review_url(dataset_id: int, check: str) -> str:
    """The review queue filtered by one check (``review?dataset=ID&check=NAME``), relative to the
    app."""
    return filters.review_link(
        filters.SampleFilter(dataset=dataset_id, check=check), prefix="review"
    )


actor = ui.require_actor()
lead = actor.can("check")
st.header(_("Checks"))

with ui.session() as s:
    datasets = dataset_service.list_datasets(s)
if not datasets:
    st.info(_("No datasets yet: import one first."))
    st.stop()

names = {
    d["id"]: (
        f"{d['name']} ("
        + ngettext("{n:,} sample", "{n:,} samples", d["samples"]).format(n=d["samples"])
        + ")"
    )
    for d in datasets
}
default = ui.query_int("dataset")
ids = list(names)
ds_id = st.selectbox(
    _("Dataset"),
    ids,
    format_func=names.__getitem__,
    index=ids.index(default) if default in ids else 0,
    key="ck_dataset",
)

with ui.session() as s:
    progress = svc.check_progress(s, ds_id)
    summary = svc.findings_summary(s, ds_id)
progress_line = st.empty()  # filled at the end: a run on this page changes it

if lead:
    all_checks = [c["name"] for c in svc.list_checks()]
    with st.form("ck_run"):
        only = st.multiselect(
            _("Only these checks (empty: all)"),
            all_checks,
            key="ck_only",
            format_func=check_label,
            placeholder=_("All checks"),
        )
        full = st.checkbox(
            _("Re-check every sample (not only those changed since the last run)"), key="ck_full"
        )
        background = st.checkbox(
            _("Run in the background (progress survives a page reload)"), key="ck_bg"
        )
        run = st.form_submit_button(_("Run checks"), type="primary", key="ck_run_go")
    if run and background:
        with ui.shows_errors():
            with ui.session() as s:
                job_id = svc.start_check_job(s, actor, ds_id, only=only or None, full=full)
            jobs.start_thread(ui.engine(), job_id)
            st.success(_("Started check job {job}.").format(job=job_id))
    elif run:
        bar = st.progress(0.0, text=_("checking…"))
        total = max(1, progress["samples"])
        with ui.shows_errors(), st.spinner(_("Running checks…")):
            out = svc.run_checks(
                ui.engine(),
                actor,
                ds_id,
                only=only or None,
                full=full,
                progress=lambda n: bar.progress(
                    min(1.0, n / total),
                    text=ngettext("{n:,} sample", "{n:,} samples", n).format(n=n),
                ),
            )
            bar.empty()
            st.success(
                ngettext(
                    "Checked {samples:,} sample in {seconds:.1f}s: {findings:,} findings, {flags:,}"
                    " pre-flags.",
                    "Checked {samples:,} samples in {seconds:.1f}s: {findings:,} findings,"
                    " {flags:,} pre-flags.",
                    out["samples"],
                ).format(
                    samples=out["samples"],
                    seconds=out["seconds"],
                    findings=out["findings"],
                    flags=out["flags"],
                )
            )
            with ui.session() as s:
                summary = svc.findings_summary(s, ds_id)
                progress = svc.check_progress(s, ds_id)
    c1, c2 = st.columns([1, 3])
    if c1.button(
        _("Find near-duplicates"),
        key="ck_dedup",
        help=_(
            "Groups near-identical samples across all datasets (MinHash); exports keep one per"
            " group."
        ),
    ):
        with ui.shows_errors(), st.spinner(_("Comparing samples…")):
            res = svc.dedup(ui.engine(), actor)
            st.success(
                _(
                    "Near-duplicates: {groups:,} groups, {duplicates:,} samples beyond the first of"
                    " their group, among {samples:,} samples ({seconds:.1f}s)."
                ).format(
                    groups=res["groups"],
                    duplicates=res["duplicates"],
                    samples=res["samples"],
                    seconds=res["seconds"],
                )
            )

with ui.session() as s:
    running = [
        j
        for j in jobs.list_jobs(s, kind=svc.JOB_KIND, limit=10)
        if j["params"].get("dataset_id") == ds_id
    ]
if running:
    j = running[0]
    state = ui.job_status_label(j["status"])
    if j["dead"]:
        state = _("{status} (its worker is gone)").format(status=state)
    # the job's message comes from the service as it is
    st.text(
        ngettext(
            "Latest check job {job}: {status} · {done:,} of {total:,} sample · {message}",
            "Latest check job {job}: {status} · {done:,} of {total:,} samples · {message}",
            j["total"],
        ).format(
            job=j["id"], status=state, done=j["done"], total=j["total"], message=j["message"] or ""
        )
    )
    if j["status"] in ("queued", "running") and not j["dead"]:
        st.progress(min(1.0, j["done"] / max(1, j["total"])))
        st.button(_("Refresh"), key="ck_job_refresh")

progress_line.caption(
    ngettext(
        "{checked:,} of {samples:,} sample checked at its current version",
        "{checked:,} of {samples:,} samples checked at their current version",
        progress["samples"],
    ).format(checked=progress["checked"], samples=progress["samples"])
)

ui_curate.render_korean_run(actor, ds_id)  # the deep Korean run as a background job

st.subheader(_("Hits per check"))
hits = sorted((r for r in summary if r["samples"]), key=lambda r: (-r["samples"], r["check"]))
quiet = sorted(r["check"] for r in summary if not r["samples"])
if hits:
    st.dataframe(
        [
            {
                "label": check_label(r["check"]),
                "check": r["check"],
                "samples": r["samples"],
                "errors": r["errors"],
                "open": r["open"],
                "severity": shown(SEVERITIES, r["severity"]),
                "family": shown(FAMILIES, r["family"]),
                "review": review_url(ds_id, r["check"]),
                "description": check_description(r["check"]) or r["description"],
            }
            for r in hits
        ],
        hide_index=True,
        width="stretch",
        key="ck_table",
        column_config={
            "label": _("check"),
            "check": _("identifier"),
            "errors": _("errors"),
            "open": _("open"),
            "severity": _("severity"),
            "family": _("family"),
            "description": _("what it looks for"),
            "samples": st.column_config.NumberColumn(_("samples hit"), format="%d"),
            "review": st.column_config.LinkColumn(_("review"), display_text=_("review these")),
        },
    )
else:
    st.info(
        _("No check has hits on this dataset yet. Run the checks above.")
        if lead
        else _("No check has hits on this dataset yet.")
    )
if quiet:
    st.caption(
        _("No hits ({n}): {checks}").format(
            n=len(quiet), checks=", ".join(check_label(c) for c in quiet)
        )
    )

if lead:
    st.subheader(_("Evaluation sets (contamination)"))
    with ui.session() as s:
        sets = svc.list_evalsets(s)
    if sets:
        st.dataframe(
            [{k: e[k] for k in ("name", "kind", "items", "file")} for e in sets],
            hide_index=True,
            column_config={
                "name": _("name"),
                "kind": _("kind"),
                "items": _("items"),
                "file": _("file"),
            },
        )
    with st.form("ck_evalset"):
        kind = st.selectbox(
            _("Kind"), ["kobest", "korquad"], key="ck_es_kind", format_func=EVALSET_KINDS.get
        )
        up = st.file_uploader(
            _("KoBEST task TSV or KorQuAD JSON"), type=["tsv", "json"], key="ck_es_file"
        )
        es_name = st.text_input(_("Name (default: the file name)"), key="ck_es_name")
        add = st.form_submit_button(_("Add evaluation set"), key="ck_es_go")
    if add and up is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getvalue())
            with ui.shows_errors(), ui.session() as s:
                res = svc.add_evalset(s, actor, kind, path, es_name.strip() or None)
                st.success(
                    ngettext(
                        "Added {name}: {items:,} item. Run the 'contamination' check to use it.",
                        "Added {name}: {items:,} items. Run the 'contamination' check to use it.",
                        res["items"],
                    ).format(name=repr(res["name"]), items=res["items"])
                )
