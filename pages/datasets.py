"""Datasets: what is in the store, with counts per status and alignment, and a link to review each.

Dataset names are data: shown as plain text (st.text, table cells), never inside Markdown labels.
"""

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.services import datasets as ds_service

REVIEW_PAGE = "pages/review.py"

actor = ui.require_actor()
st.header("Datasets")
with ui.session() as s:
    rows = ds_service.list_datasets(s)
if not rows:
    hint = "use the Import page or " if actor.can("import") else "a lead imports one with "
    st.info(f"No datasets yet: {hint}`kocurate import KIND FILE --source EN_FILE`.")
    st.stop()

cols = ["id", "name", "kind", "licence", "samples", "turns", "aligned", "ambiguous", "unaligned", "new", "approved",
        "rejected", "needs_fix", "skipped", "imported_at"]
frame = pd.DataFrame(rows)
st.dataframe(frame[[c for c in cols if c in frame.columns]], hide_index=True, use_container_width=True)

st.subheader("Review")
for r in rows:
    done = r["samples"] - r.get("new", 0)
    name_col, link_col = st.columns([4, 1], vertical_alignment="center")
    name_col.text(f"{r['name']} — {done:,} of {r['samples']:,} decided")  # the name as plain text
    try:  # the link's label is our own words only (labels are Markdown)
        link_col.page_link(REVIEW_PAGE, label=f"Review dataset {r['id']}", icon="📝",
                           query_params={"dataset": str(r["id"])})
    except Exception:  # the page runs outside the app's navigation (bare mode)
        pass
    if r["ambiguous"]:
        st.text(f"{r['ambiguous']:,} samples of {r['name']} have an uncertain English pairing (alignment "
                "“ambiguous”, low confidence): the review queue can filter by alignment confidence.")
