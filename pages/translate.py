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
from kocurate.i18n import N_, _, ngettext
from kocurate.models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from kocurate.services import translate as tr

# sample status codes (values the services take) → labels shown


actor = ui.require_actor()
st.header(_("Re-translate with DeepL"))

configured = tr.deepl_configured()
if not configured:
    st.warning(tr.how_to_configure(), icon=":material/key:")

if not actor.can("translate_batch"):
    st.info(
        _(
            "Batch re-translation and the glossary are for leads. Re-translate one turn from the"
            " Review page."
        )
    )
    st.stop()

tab_batch, tab_glossary = st.tabs([_("Batch"), _("Glossary")])


def _filters() -> dict[str, Any]:
    names = ui.dataset_choices()
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox(
        _("Dataset"),
        [None, *names],
        format_func=lambda i: _("all datasets") if i is None else names[i],
        key="tr-ds",
    )
    check = c2.selectbox(
        _("With a finding of check"),
        [None, *tr.check_names()],
        format_func=lambda c: _("any") if c is None else c,
        key="tr-check",
    )
    flag = c3.selectbox(
        _("With flag"),
        [None, *QUALITY_FLAGS, *ETHICS_FLAGS],
        format_func=lambda f: _("any") if f is None else ui.flag_label(f),
        key="tr-flag",
    )
    status = c4.selectbox(
        _("Status"),
        [None, *STATUSES],
        format_func=lambda x: _("any") if x is None else ui.status_label(x),
        key="tr-status",
    )
    limit = st.number_input(
        _("At most this many samples (0 = all)"), min_value=0, value=0, step=100, key="tr-limit"
    )
    return tr.BatchFilter(
        dataset=dataset, check=check, flag=flag, status=status, limit=int(limit) or None
    ).to_dict()


def _show_estimate(est: dict[str, Any]) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Samples"), f"{est['samples']:,}")
    c2.metric(
        _("Texts to send"),
        f"{est['texts']:,}",
        help=ngettext(
            "{n:,} turn with an English source", "{n:,} turns with an English source", est["turns"]
        ).format(n=est["turns"]),
    )
    billed_help = _("Code, URLs and placeholders are not sent; cached texts are not paid again.")
    if not est["exact"]:
        billed_help += " " + _("Approximate (summed in the database).")
    c3.metric(_("Characters to bill"), f"{est['characters']:,}", help=billed_help)
    c4.metric(
        _("Estimated cost"),
        f"€{est['estimated_cost_eur']:,.2f}",
        help=_("at €{rate:g} per million characters (KOCURATE_DEEPL_EUR_PER_MILLION)").format(
            rate=est["eur_per_million"]
        ),
    )
    if est.get("cached_characters"):
        st.caption(
            ngettext(
                "{n:,} character is already in the cache (free).",
                "{n:,} characters are already in the cache (free).",
                est["cached_characters"],
            ).format(n=est["cached_characters"])
        )
    q = est.get("quota")
    if q is None:
        st.caption(_("Remaining quota: unknown (DeepL not configured)."))
    elif "error" in q:
        st.error(q["error"])
    else:
        st.caption(
            _(
                "DeepL quota: {count:,} of {limit:,} characters used; {remaining:,} remaining."
            ).format(count=q["count"], limit=q["limit"], remaining=q["remaining"])
        )
        if est.get("fits_quota") is False:
            st.error(
                _(
                    "This batch needs more characters than the quota has left: it would stop"
                    " half-way (resumable once quota is available)."
                )
            )


def _link(label: str, icon: str, query: dict[str, Any]) -> None:
    """A link to the Review page with a filter (``review?…``); our own words and numbers only."""
    try:
        st.page_link("pages/review.py", label=label, icon=icon, query_params=query)
    except (
        StreamlitPageNotFoundError
    ):  # the page run on its own (tests): the link's address as text
        st.caption(f"{label}: review?{urlencode(query)}")  # the address itself: not translated


def _safe(name: str) -> str:
    return name if re.fullmatch(r"[\w.-]{1,64}", name) else _("this dataset")


# job state codes → badge colour and label shown
STATE_LABELS = {
    "done": N_("done"),
    "done with errors": N_("done with errors"),
    "failed": N_("failed"),
    "stopped": N_("stopped"),
    "cancelled": N_("cancelled"),
    "running": N_("running"),
    "queued": N_("queued"),
    "dead (worker gone)": N_("dead (worker gone)"),
}
STATE_COLOURS = {
    "done": "green",
    "done with errors": "orange",
    "failed": "red",
    "stopped": "orange",
    "cancelled": "gray",
    "running": "blue",
    "queued": "blue",
    "dead (worker gone)": "red",
}


def _job_card(j: dict[str, Any], suggestions: list[dict[str, Any]]) -> None:
    r = j["result"]
    with st.container(border=True):
        c1, c2 = st.columns([3, 1])
        head = [
            ngettext(
                "**Job {id}** · {done:,}/{total:,} sample",
                "**Job {id}** · {done:,}/{total:,} samples",
                j["total"],
            ).format(id=j["id"], done=j["done"], total=j["total"]),
            _("apply as edits") if j["params"].get("apply") else _("suggestions"),
        ]
        if j["params"].get("retry_of"):
            head.append(_("retry of job {job}").format(job=j["params"]["retry_of"]))
        c1.markdown(" · ".join(head))
        c2.badge(
            _(STATE_LABELS[j["state"]]) if j["state"] in STATE_LABELS else j["state"],
            color=STATE_COLOURS.get(j["state"], "gray"),
        )  # type: ignore[arg-type]
        st.progress(min(j["done"] / j["total"], 1.0) if j["total"] else 0.0)
        line = [
            _("Filters: {filters}").format(filters=tr.describe_filters(j["params"].get("filters")))
        ]
        if j["params"].get("max_characters"):
            line.append(
                ngettext(
                    "budget {n:,} character",
                    "budget {n:,} characters",
                    j["params"]["max_characters"],
                ).format(n=j["params"]["max_characters"])
            )
        st.caption(" · ".join(line))
        m = st.columns(5)
        m[0].metric(_("Suggestions"), f"{r.get('suggestions', 0):,}")
        m[1].metric(_("Applied"), f"{r.get('applied', 0):,}")
        m[2].metric(_("Failed turns"), f"{r.get('failed_turns', 0):,}")
        m[3].metric(_("Characters billed"), f"{r.get('billed_characters', 0):,}")
        m[4].metric(
            _("Cache hits"),
            f"{r.get('cache_hits', 0):,}",
            help=ngettext("{n:,} request", "{n:,} requests", r.get("requests", 0)).format(
                n=r.get("requests", 0)
            ),
        )
        if j["message"] and j["status"] != "running":
            box = {"failed": st.error, "done with errors": st.warning, "stopped": st.warning}.get(
                j["state"], st.info
            )
            box(j["message"])
        for g in suggestions:  # the review queue of this job's open suggestions
            _link(
                ngettext(
                    "Review {n:,} open suggestion in {dataset}",
                    "Review {n:,} open suggestions in {dataset}",
                    g["n"],
                ).format(n=g["n"], dataset=_safe(g["dataset"])),
                ":material/rate_review:",
                {"dataset": g["dataset_id"], "job": j["id"]},
            )
        if r.get("failed_turns"):
            with st.expander(_("Failed turns ({n:,})").format(n=r["failed_turns"])):
                with ui.session() as s:
                    failed = tr.failed_turns(s, j["id"], limit=20)
                for f in failed:
                    where = (
                        _("sample {sample}, turn {turn}")
                        if f["state"] == "open"
                        else _("sample {sample}, turn {turn} (retried)")
                    )
                    _link(
                        where.format(sample=f["sample_id"], turn=f["turn_idx"] + 1),
                        ":material/error:",
                        {"sample": f["sample_id"]},
                    )
                    st.text(f["error"])
                if r["failed_turns"] > len(failed):
                    st.caption(
                        _("… and {n:,} more (`kocurate jobs show {job}`).").format(
                            n=r["failed_turns"] - len(failed), job=j["id"]
                        )
                    )
        b1, b2, b3, _spare = st.columns([1, 1, 1.4, 2.6])
        if j["status"] in ("queued", "running") and not j["dead"]:
            if b1.button(_("Cancel"), key=f"tr-cancel-{j['id']}"):
                with ui.shows_errors(), ui.session() as s:
                    tr.cancel_batch(s, actor, j["id"])
                st.rerun()
            return
        if (
            j["status"] != "done"
            and configured
            and not (j["status"] == "failed" and r.get("failed_turns"))
        ):
            if b2.button(_("Resume"), key=f"tr-resume-{j['id']}", type="primary"):
                with ui.shows_errors():
                    tr.resume_batch(ui.engine(), actor, j["id"], background="thread")
                    st.rerun()
        if r.get("failed_turns") and configured:
            with ui.session() as s:
                open_failed = tr.count_failed_turns(s, j["id"])
            if open_failed and b3.button(
                _("Retry failed turns ({n:,})").format(n=open_failed), key=f"tr-retry-{j['id']}"
            ):
                with ui.shows_errors():
                    new_id = tr.retry_failed(ui.engine(), actor, j["id"], background="thread")
                    st.toast(
                        ngettext(
                            "Job {new} retries {n:,} failed turn of job {job}.",
                            "Job {new} retries {n:,} failed turns of job {job}.",
                            open_failed,
                        ).format(new=new_id, n=open_failed, job=j["id"])
                    )
                    st.rerun()


@st.fragment(run_every=2)
def _jobs() -> None:
    with ui.session() as s:
        batches = tr.list_batches(s, limit=10)
        counts = tr.open_suggestion_counts(s, [j["id"] for j in batches])
    if not batches:
        st.caption(_("No batch jobs yet."))
        return
    for j in batches:
        _job_card(j, counts.get(j["id"], []))


with tab_batch:
    filters = _filters()
    apply = st.checkbox(
        _("Apply as edits (machine) on samples nobody edited by hand; the others get suggestions"),
        key="tr-apply",
    )
    budget = st.number_input(
        _("Budget: stop the job before it bills more than this many characters (0 = no limit)"),
        min_value=0,
        value=0,
        step=100_000,
        key="tr-budget",
    )
    c1, c2 = st.columns([1, 1])
    if c1.button(_("Estimate"), key="tr-estimate"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["tr-est"] = (filters, tr.estimate(s, actor, filters))
    if c2.button(_("Start batch job"), type="primary", disabled=not configured, key="tr-start"):
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
            ask = (
                _(
                    "This job sends about {chars:,} characters to DeepL (estimated cost"
                    " €{cost:,.2f}) and stops at {budget:,} characters. Start it?"
                )
                if budget
                else _(
                    "This job sends about {chars:,} characters to DeepL (estimated cost"
                    " €{cost:,.2f}). Start it?"
                )
            )
            st.warning(
                ask.format(chars=e["characters"], cost=e["estimated_cost_eur"], budget=int(budget)),
                icon=":material/payments:",
            )
            k1, k2, _spare = st.columns([1, 1, 3])
            if k1.button(_("Confirm and start"), type="primary", key="tr-confirm-go"):
                st.session_state.pop("tr-confirm", None)
                with ui.shows_errors():
                    job_id = tr.start_batch(
                        ui.engine(),
                        actor,
                        filters,
                        apply=apply,
                        background="thread",
                        max_characters=int(budget) or None,
                        estimate=e,
                    )
                    st.success(
                        _(
                            "Job {job} started. Its progress is below (it keeps running if you"
                            " leave this page)."
                        ).format(job=job_id)
                    )
            if k2.button(_("Cancel"), key="tr-confirm-cancel"):
                st.session_state.pop("tr-confirm", None)
                st.rerun()
    st.subheader(_("Jobs"))
    _jobs()

with tab_glossary:
    with ui.session() as s:
        terms = tr.glossary_terms(s)
        gstatus = tr.glossary_status(s)
    synced = (
        _("synced to DeepL at {time}").format(time=gstatus["synced_at"])
        if gstatus["synced"]
        else _("not synced yet (a sync also happens before every translation)")
    )
    st.caption(
        ngettext("{n} term", "{n} terms", gstatus["terms"]).format(n=gstatus["terms"])
        + " · "
        + synced
    )
    edited = st.data_editor(
        [{"source": t["source"], "target": t["target"], "note": t["note"] or ""} for t in terms]
        or [{"source": "", "target": "", "note": ""}],
        num_rows="dynamic",
        width="stretch",
        key="tr-gl-editor",
        column_config={
            "source": st.column_config.TextColumn(_("English"), required=True),
            "target": st.column_config.TextColumn(_("Korean"), required=True),
            "note": st.column_config.TextColumn(_("Note")),
        },
    )
    c1, c2, c3 = st.columns(3)
    if c1.button(_("Save terms"), type="primary", key="tr-gl-save"):
        with ui.shows_errors(), ui.session() as s:
            out = tr.glossary_replace(s, actor, list(edited))
            st.success(
                _("Saved: {added} added, {updated} updated, {removed} removed.").format(
                    added=out["added"], updated=out["updated"], removed=out["removed"]
                )
            )
    if c2.button(_("Sync to DeepL"), disabled=not configured, key="tr-gl-sync"):
        with ui.shows_errors(), ui.session() as s:
            state = tr.glossary_sync(s, actor, force=True)
            st.success(
                ngettext(
                    "DeepL glossary {id} with {n} term.",
                    "DeepL glossary {id} with {n} terms.",
                    state["n"],
                ).format(id=state["id"], n=state["n"])
                if state
                else _("No terms.")
            )
    with ui.session() as s:
        csv_data = tr.glossary_export(s, actor)
    c3.download_button(
        _("Export CSV"), csv_data, file_name="glossary.csv", mime="text/csv", key="tr-gl-export"
    )
    with st.form("tr-gl-import", clear_on_submit=True):
        up = st.file_uploader(
            _("Import CSV (english,korean[,note]; header optional)"), type=["csv"]
        )
        replace = st.checkbox(_("Replace the whole glossary with the file"))
        if st.form_submit_button(_("Import")) and up is not None:
            with ui.shows_errors(), ui.session() as s:
                out = tr.glossary_import(s, actor, up.getvalue(), replace=replace)
                st.success(
                    _("Imported: {added} added, {updated} updated, {removed} removed.").format(
                        added=out["added"], updated=out["updated"], removed=out["removed"]
                    )
                )
