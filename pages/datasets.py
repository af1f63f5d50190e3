"""Datasets: what is in the store, with counts per status and alignment, and a link to review each.

Dataset names are data: shown as plain text (st.text, table cells), never inside Markdown labels.
"""

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.i18n import N_, _, ngettext
from kocurate.services import datasets as ds_service

REVIEW_PAGE = "pages/review.py"
# the table's columns (the data keeps its keys; the headers are shown in the reader's language)
COLUMN_LABELS = {
    "id": N_("id"),
    "name": N_("name"),
    "kind": N_("kind"),
    "licence": N_("licence"),
    "samples": N_("samples"),
    "turns": N_("turns"),
    "aligned": N_("aligned"),
    "ambiguous": N_("ambiguous"),
    "unaligned": N_("unaligned"),
    "new": N_("new"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "needs_fix": N_("needs fix"),
    "skipped": N_("skipped"),
    "imported_at": N_("imported at"),
}

actor = ui.require_actor()
st.header(_("Datasets"))
with ui.session() as s:
    rows = ds_service.list_datasets(s)
if not rows:
    st.info(
        _("No datasets yet: use the Import page or `kocurate import KIND FILE --source EN_FILE`.")
        if actor.can("import")
        else _(
            "No datasets yet: a lead imports one with `kocurate import KIND FILE --source EN_FILE`."
        )
    )
    st.stop()

cols = list(COLUMN_LABELS)
frame = pd.DataFrame(rows)
shown = [c for c in cols if c in frame.columns]
st.dataframe(
    frame[shown],
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.Column(_(COLUMN_LABELS[c])) for c in shown},
)

st.subheader(_("Review"))
for r in rows:
    done = r["decided"]  # "disputed" is not decided yet (waits for a lead)
    name_col, link_col = st.columns([4, 1], vertical_alignment="center")
    name_col.text(
        _("{name} — {done} of {total} decided").format(  # the name as plain text
            name=r["name"], done=f"{done:,}", total=f"{r['samples']:,}"
        )
    )
    try:  # the link's label is our own words only (labels are Markdown)
        link_col.page_link(
            REVIEW_PAGE,
            label=_("Review dataset {id}").format(id=r["id"]),
            icon="📝",
            query_params={"dataset": str(r["id"])},
        )
    except Exception:  # the page runs outside the app's navigation (bare mode)
        pass
    if r["ambiguous"]:
        st.text(
            ngettext(
                "{n} sample of {name} has an uncertain English pairing (alignment “ambiguous”, low "
                "confidence): the review queue can filter by alignment confidence.",
                "{n} samples of {name} have an uncertain English pairing (alignment “ambiguous”,"
                " low confidence): the review queue can filter by alignment confidence.",
                r["ambiguous"],
            ).format(n=f"{r['ambiguous']:,}", name=r["name"])
        )
