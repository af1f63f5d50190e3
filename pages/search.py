"""Search Korean and English text (search indexes); results open in the review view.

Layout and widgets only; every query is kocurate.services.search. Hits are shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.i18n import N_, _, ngettext
from kocurate.models import STATUSES
from kocurate.services import datasets as ds_service
from kocurate.services import search

actor = ui.require_actor()
ui.style()
S = st.session_state
PAGE = 50
FIELDS = {"both": N_("Korean + English"), "ko": N_("Korean"), "en": N_("English")}


st.header(_("Search"))
with ui.session() as s:
    datasets = ds_service.list_datasets(s)
    unindexed = search.count_unindexed(s)
names = {d["id"]: d["name"] for d in datasets}  # 0: all datasets (translated where shown)

with st.form("search-form"):
    q = st.text_input(
        _("Search Korean and English text"),
        key="sq-q",
        placeholder=_("e.g. 고양이, def main, untranslated phrase"),
    )
    c1, c2, c3 = st.columns(3)
    field = c1.radio(
        _("In"), list(FIELDS), horizontal=True, key="sq-field", format_func=lambda k: _(FIELDS[k])
    )
    ds = c2.selectbox(
        _("Dataset"),
        [0, *names],
        format_func=lambda i: names[i] if i else _("all datasets"),
        key="sq-ds",
    )
    status = c3.selectbox(
        _("Status"), ["any", *STATUSES], key="sq-status", format_func=ui.status_label
    )
    submitted = st.form_submit_button(_("Search"), type="primary")

st.caption(
    _(
        "A sample is found when its Korean text, or its English source, holds every word. Korean:"
        ' any part of a word; English: words and word beginnings ("student" finds "students").'
        " A query of only 1–2 letter words is matched by a slower scan."
    )
)
if unindexed:
    st.info(
        ngettext(
            "{n} dataset is not in the search index yet; searching it scans the text (slower)."
            " Build the index with `kocurate search --reindex`.",
            "{n} datasets are not in the search index yet; searching them scans the text (slower)."
            " Build the index with `kocurate search --reindex`.",
            unindexed,
        ).format(n=unindexed)
    )
    if actor.can("configure") and st.button(_("Build the search index now")):
        with st.spinner(_("Indexing…")):
            done = search.reindex(ui.engine())
        st.toast(
            ngettext("Indexed {n} dataset", "Indexed {n} datasets", len(done)).format(n=len(done))
        )
        st.rerun()


def run(after: int | None) -> list[dict]:
    with ui.session() as s, ui.shows_errors():
        return search.search(
            s,
            actor,
            q,
            dataset_id=ds or None,
            field=field,
            status=None if status == "any" else status,
            limit=PAGE,
            after=after,
        )
    return []


if submitted:
    S["sq-hits"] = run(None)
    S["sq-query"] = q
hits = S.get("sq-hits")
if hits is not None:
    if not hits:
        st.write(_("No matches."))
    for h in hits:
        with st.container(border=True):
            # dataset name, key and role are data: plain text
            st.text(
                _("{dataset} · sample {sample} · key {key} · turn {turn} {role} · {status}").format(
                    dataset=h["dataset"],
                    sample=h["sample_id"],
                    key=h["key"],
                    turn=h["turn_idx"] + 1,
                    role=h["role"],
                    status=ui.status_label(h["status"]),
                )
            )
            a, b = st.columns(2)
            a.text(h["ko"] or "—")
            b.text(h["en"] or "—")
            st.page_link(
                "pages/review.py",
                label=_("Open sample {sample} in review").format(sample=h["sample_id"]),
                icon=":material/rate_review:",
                query_params={"sample": str(h["sample_id"])},
            )
    if len(hits) >= PAGE and st.button(_("More results"), key="sq-more"):
        S["sq-hits"] = hits + run(hits[-1]["turn_id"])
        st.rerun()
