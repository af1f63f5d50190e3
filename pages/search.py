"""Search Korean and English text (trigram index); results open in the review view.

Layout and widgets only; every query is kocurate.services.search. Hits are shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.models import STATUSES
from kocurate.services import datasets as ds_service
from kocurate.services import search

actor = ui.require_actor()
ui.style()
S = st.session_state
PAGE = 50

st.header("Search")
with ui.session() as s:
    datasets = ds_service.list_datasets(s)
    unindexed = search.count_unindexed(s)
names = {0: "all datasets", **{d["id"]: d["name"] for d in datasets}}

with st.form("search-form"):
    q = st.text_input("Search Korean and English text", key="sq-q",
                      placeholder="e.g. 고양이, def main, untranslated phrase")
    c1, c2, c3 = st.columns(3)
    field = c1.radio("In", ["both", "ko", "en"], horizontal=True, key="sq-field",
                     format_func={"both": "Korean + English", "ko": "Korean", "en": "English"}.get)
    ds = c2.selectbox("Dataset", list(names), format_func=lambda i: names[i], key="sq-ds")
    status = c3.selectbox("Status", ["any", *STATUSES], key="sq-status")
    submitted = st.form_submit_button("Search", type="primary")

st.caption("Words of 3+ characters use the trigram index; shorter words are matched by a substring scan.")
if unindexed:
    st.info(f"{unindexed} dataset(s) are not in the search index yet; searching them scans the text (slower). "
            "Build the index with `kocurate search --reindex`.")
    if actor.can("configure") and st.button("Build the search index now"):
        with st.spinner("Indexing…"):
            done = search.reindex(ui.engine())
        st.toast(f"Indexed {len(done)} dataset(s)")
        st.rerun()


def run(after: int | None) -> list[dict]:
    with ui.session() as s, ui.shows_errors():
        return search.search(s, actor, q, dataset_id=ds or None, field=field,
                             status=None if status == "any" else status, limit=PAGE, after=after)
    return []


if submitted:
    S["sq-hits"] = run(None)
    S["sq-query"] = q
hits = S.get("sq-hits")
if hits is not None:
    if not hits:
        st.write("No matches.")
    for h in hits:
        with st.container(border=True):
            st.text(f"{h['dataset']} · sample {h['sample_id']} · key {h['key']} · turn {h['turn_idx'] + 1} "
                    f"{h['role']} · {h['status']}")
            a, b = st.columns(2)
            a.text(h["ko"] or "—")
            b.text(h["en"] or "—")
            st.page_link("pages/review.py", label=f"Open sample {h['sample_id']} in review", icon=":material/rate_review:",
                         query_params={"sample": str(h["sample_id"])})
    if len(hits) >= PAGE and st.button("More results"):
        S["sq-hits"] = hits + run(hits[-1]["turn_id"])
        st.rerun()
