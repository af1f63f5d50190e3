"""Export page (leads and admins): choose a selection, see what it holds and the licence warnings,
then download a small subset or write the full corpus to a folder on the server.

Layout and widgets only; every action calls kocurate.services.export."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import streamlit as st

from kocurate import ui, ui_curate, ui_gold
from kocurate.checks.texts import check_label
from kocurate.errors import KocurateError
from kocurate.i18n import (
    LANGUAGES,
    N_,
    _,
    current_language,
    message,
    ngettext,
    text,
)
from kocurate.models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from kocurate.services import catalog, filters, freshness
from kocurate.services import datasets as ds_service
from kocurate.services import export as ex
from kocurate.services.auth import Actor

# sample status codes (values the services take) → labels shown
# the mix editor's modes: the option values (codes compared below) → labels shown
MIX_MODES = {
    "all eligible samples": N_("all eligible samples"),
    "shares (% of the target size)": N_("shares (% of the target size)"),
    "counts": N_("counts"),
}
# columns of the preview table → headers shown
PREVIEW_COLUMNS = {
    "name": N_("Dataset"),
    "kind": N_("Kind"),
    "licence": N_("Licence"),
    "pool": N_("Pool"),
    "ethics_flagged": N_("Ethics-flagged"),
    "flagged": N_("Flagged"),
    "contaminated": N_("Contaminated"),
    "error_findings": N_("Error findings"),
    "open_errors": N_("Open errors"),
    "after_duplicates": N_("After duplicates"),
    "refused": N_("Refused"),
    "planned": N_("Planned"),
    "validation": N_("Validation"),
    "note": N_("Note"),
}
# columns of the recent exports table → headers shown
RECENT_COLUMNS = {
    "id": N_("Job"),
    "status": N_("Status"),
    "created_at": N_("Started"),
    "out_dir": N_("Folder"),
    "total": N_("Samples"),
    "format": N_("Format"),
    "message": N_("Message"),
}


@st.cache_data(ttl=60, show_spinner=_("Counting what the export will write…"), max_entries=32)
def _preview(
    spec_json: str,
    actor_id: int | None,
    username: str,
    role: str,
    version: tuple,
    exact: bool | None = None,
) -> dict:
    """The preview, cached per selection and data version (widgets elsewhere on the page rerun
    it)."""
    with ui.session() as s:
        return ex.preview_counts(
            s,
            Actor(actor_id, username, role),
            ex.ExportSpec.from_dict(json.loads(spec_json)),
            exact=exact,
        )


def _progress_text(done: int, total: int) -> str:
    return ngettext("{done:,} / {total:,} sample", "{done:,} / {total:,} samples", total).format(
        done=done, total=total
    )


def _version() -> tuple:
    with ui.session() as s:  # the database too: one process may serve (or test) several
        return (str(ui.engine().url), *freshness.data_version(s))


actor = ui.require_actor()
st.header(_("Export"))
if not actor.can("export"):
    st.error(_("Only leads and admins may export."))
    st.stop()

with ui.session() as s:
    all_datasets = ds_service.list_datasets(s)
if not all_datasets:
    st.info(_("No datasets yet: import one first."))
    st.stop()
names = [d["name"] for d in all_datasets]
formats = ex.formats()

# -- selection
# -------------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    fmt = st.selectbox(
        _("Format"),
        list(formats),
        index=list(formats).index("messages"),
        format_func=lambda k: f"{k} — {formats[k]}",
        key="ex_format",
    )
    chosen = st.multiselect(
        _("Datasets (none = all)"), names, key="ex_datasets", placeholder=_("All datasets")
    )
    statuses = st.multiselect(
        _("Statuses"),
        list(STATUSES),
        default=["approved"],
        format_func=ui.status_label,
        key="ex_statuses",
        placeholder=_("Choose options"),
    )
    exclude_flags = st.multiselect(
        _("Also exclude samples flagged"),
        list(QUALITY_FLAGS),
        format_func=ui.flag_label,
        key="ex_flags",
        placeholder=_("Choose options"),
    )
    c1, c2 = st.columns(2)
    min_chars = c1.number_input(
        _("Min Korean characters"), min_value=0, value=0, step=10, key="ex_min"
    )
    max_chars = c2.number_input(
        _("Max Korean characters (0 = no limit)"), min_value=0, value=0, step=100, key="ex_max"
    )
with right:
    exclude_ethics = st.checkbox(
        _("Exclude ethics-flagged samples ({flags}) unless cleared").format(
            flags=", ".join(ui.flag_label(f) for f in ETHICS_FLAGS)
        ),
        value=True,
        key="ex_ethics",
    )
    include_contaminated = st.checkbox(
        _("Include samples with evaluation-set contamination findings"),
        value=False,
        key="ex_contam",
    )
    dedup = st.checkbox(_("One sample per near-duplicate group"), value=True, key="ex_dedup")
    meta = st.checkbox(
        _("Provenance key 'kocurate' (dataset, key, sample id, flags)"), value=True, key="ex_meta"
    )
    alpaca_history = st.checkbox(
        _("alpaca: keep multi-turn samples as 'history'"),
        value=False,
        key="ex_hist",
        disabled=fmt != "alpaca",
    )
    c1, c2, c3 = st.columns(3)
    total = c1.number_input(
        _("Target size (0 = all)"), min_value=0, value=0, step=1000, key="ex_total"
    )
    seed = c2.number_input(_("Seed"), min_value=0, value=0, step=1, key="ex_seed")
    val_frac = c3.number_input(
        _("Validation fraction"), min_value=0.0, max_value=0.5, value=0.0, step=0.01, key="ex_val"
    )

    exclude_errors = st.checkbox(
        _("Exclude samples with open error findings (checks of severity error)"),
        value=False,
        key="ex_errors",
    )
    best = ui_curate.export_best_option(int(total))  # "the best N" by risk
    include_gold, best_rated = ui_gold.export_options()

# -- only a review queue's samples: the Review page's own filter (``export?check=untranslated``)
_link = filters.SampleFilter.from_link(st.query_params)
with st.expander(_("Only the samples of a review queue"), expanded=bool(_link.to_dict())):
    _checks = sorted(catalog.checks())
    c1, c2, c3, c4 = st.columns(4)
    where_check = c1.selectbox(
        _("Open finding of check"),
        ["", *_checks],
        index=_checks.index(_link.check) + 1 if _link.check in _checks else 0,
        format_func=lambda c: check_label(c) if c else _("any"),
        key="ex_where_check",
    )
    where_text = c2.text_input(_("Text contains"), key="ex_where_text")
    where_suggestion = c3.selectbox(
        _("Machine suggestion"),
        ["", *filters.SUGGESTION_STATES],
        index=(
            filters.SUGGESTION_STATES.index(_link.suggestion) + 1
            if _link.suggestion in filters.SUGGESTION_STATES
            else 0
        ),
        format_func=lambda v: _(v) if v else _("any"),
        key="ex_where_suggestion",
    )
    where_job = c4.number_input(
        _("Made by DeepL job"), min_value=0, value=_link.job or 0, step=1, key="ex_where_job"
    )
where = filters.SampleFilter(
    check=where_check or None,
    text=where_text.strip() or None,
    suggestion=where_suggestion or None,
    job=int(where_job) or None,
).to_dict()

# -- mix: one number per dataset, shares (% of the target size) or counts
# --------------------------------
st.subheader(_("Mix"))
mix_names = chosen or names
mode = st.radio(
    _("Per dataset"),
    list(MIX_MODES),
    format_func=lambda m: _(MIX_MODES[m]),
    horizontal=True,
    key="ex_mix_mode",
)
mix: dict[str, float | int] = {}
fill = False
if mode != "all eligible samples":
    cols = st.columns(min(4, len(mix_names)) or 1)
    for i, n in enumerate(mix_names):
        col = cols[i % len(cols)]
        if mode.startswith("shares"):
            v = col.number_input(
                _("{name} (%)").format(name=n),
                min_value=0.0,
                max_value=100.0,
                value=0.0,
                step=5.0,
                key=f"ex_share_{n}",
            )
            if v > 0:
                mix[n] = float(v) / 100.0
        else:
            v = col.number_input(
                _("{name} (samples)").format(name=n),
                min_value=0,
                value=0,
                step=100,
                key=f"ex_count_{n}",
            )
            if v > 0:
                mix[n] = int(v)
    if mode.startswith("shares"):
        st.caption(
            _("Shares add up to {total:.0%}; they are scaled to fill the target size.").format(
                total=sum(mix.values())
            )
        )
    fill = st.checkbox(
        _("Top up from the other datasets when one falls short"), value=False, key="ex_fill"
    )

try:
    spec = ex.ExportSpec(
        format=fmt,
        datasets=chosen or None,
        statuses=statuses,
        exclude_ethics=exclude_ethics,
        exclude_flags=exclude_flags,
        include_contaminated=include_contaminated,
        dedup=dedup,
        min_chars=int(min_chars) or None,
        max_chars=int(max_chars) or None,
        mix=mix,
        total=int(total) or None,
        seed=int(seed),
        val_frac=float(val_frac),
        meta=meta,
        alpaca_history=alpaca_history,
        exclude_error_findings=exclude_errors,
        fill=fill,
        include_gold=include_gold,
        best_rated=best_rated,
        where=where,
        **best,
    )
    spec_key = json.dumps(spec.to_dict(), sort_keys=True)
    preview = _preview(
        spec_key,
        actor.id,
        actor.username,
        actor.role,
        _version(),
        True if st.session_state.get("ex_exact_for") == spec_key else None,
    )
except KocurateError as exc:
    st.error(message(exc))
    st.stop()

# -- preview
# ---------------------------------------------------------------------------------------------
st.subheader(
    (
        ngettext(
            "Planned: {n:,} sample (validation {val:,})",
            "Planned: {n:,} samples (validation {val:,})",
            preview["total"],
        )
        if preview["validation"]
        else ngettext("Planned: {n:,} sample", "Planned: {n:,} samples", preview["total"])
    ).format(n=preview["total"], val=preview["validation"])
)
if preview["empty_reason"]:
    st.info(preview["empty_reason"], icon=":material/block:")
cols = [
    "name",
    "kind",
    "licence",
    "pool",
    "ethics_flagged",
    "flagged",
    "contaminated",
    "error_findings",
    "open_errors",
    "after_duplicates",
    "refused",
    "quota",
    "validation",
    "note",
]
table = pd.DataFrame(preview["datasets"]).rename(columns={"quota": "planned"})
cols = [("planned" if c == "quota" else c) for c in cols]
st.dataframe(
    table[[c for c in cols if c in table.columns]],
    hide_index=True,
    width="stretch",
    column_config={c: _(label) for c, label in PREVIEW_COLUMNS.items() if c in table.columns},
)
if preview["warnings"]:
    st.warning(_("Warnings (also written into the dataset card):"), icon=":material/warning:")
    for w in preview["warnings"]:
        st.text(f"• {text(w)}")  # a service's warning, in the reader's language
st.caption(
    _(
        "Planned = what the export writes: samples the format refuses (speakerless turns,"
        " multi-turn for alpaca, …) are counted before and replaced by the next candidates."
    )
    if preview["exact"]
    else _(
        "A large selection: refusals by the format other than whole datasets are "
        "known when the export runs (manifest.json has the exact figures)."
    )
)
if not preview["exact"] and st.button(
    _("Count exactly (reads every candidate: about as long as the export's reading)"),
    key="ex_exact",
):
    st.session_state["ex_exact_for"] = spec_key
    st.rerun()

# -- run
# -------------------------------------------------------------------------------------------------
# the card's headings in the reader's language unless chosen otherwise (the data is never
# translated)
langs = list(LANGUAGES)
card_lang = st.selectbox(
    _("Language of the dataset card (README.md)"),
    langs,
    format_func=LANGUAGES.__getitem__,
    index=langs.index(current_language()),
    key="ex_card_lang",
)
dl, srv = st.columns(2)
with dl:
    st.markdown(
        _(
            "**Download** (up to {limit:,} samples): a zip with the data, manifest.json and "
            "README.md."
        ).format(limit=ex.DOWNLOAD_LIMIT)
    )
    if st.button(
        _("Prepare download"),
        disabled=preview["total"] > ex.DOWNLOAD_LIMIT or preview["total"] == 0,
        key="ex_dl_go",
    ):
        bar = st.progress(0.0, text=_("exporting…"))
        with ui.shows_errors():
            fname, data, manifest = ex.export_archive(
                ui.engine(),
                actor,
                spec,
                card_lang=card_lang,
                progress=lambda d, n: bar.progress(d / n if n else 1.0, text=_progress_text(d, n)),
            )
            st.session_state["ex_download"] = (fname, data, manifest["counts"]["total"])
    if "ex_download" in st.session_state:
        fname, data, n = st.session_state["ex_download"]
        st.download_button(
            ngettext("Download {file} ({n:,} sample)", "Download {file} ({n:,} samples)", n).format(
                file=fname, n=n
            ),
            data=data,
            file_name=fname,
            mime="application/zip",
            key="ex_dl_btn",
        )
with srv:
    st.markdown(_("**Server folder** (any size) under `{root}`").format(root=ex.export_root()))
    folder = st.text_input(
        _("Folder name"), value=f"{fmt}-{datetime.now():%Y%m%d-%H%M}", key="ex_folder"
    )
    overwrite = st.checkbox(
        _("Replace an earlier export in that folder"), value=False, key="ex_overwrite"
    )
    if st.button(
        _("Export to the server"), type="primary", disabled=preview["total"] == 0, key="ex_srv_go"
    ):
        bar = st.progress(0.0, text=_("exporting…"))
        with ui.shows_errors():
            manifest = ex.export(
                ui.engine(),
                actor,
                spec,
                ex.server_folder(folder),
                overwrite=overwrite,
                card_lang=card_lang,
                progress=lambda d, n: bar.progress(d / n if n else 1.0, text=_progress_text(d, n)),
            )
            c = manifest["counts"]
            st.success(
                ngettext(
                    "Exported {n:,} sample in {seconds} s.",
                    "Exported {n:,} samples in {seconds} s.",
                    c["total"],
                ).format(n=c["total"], seconds=manifest["seconds"])
            )
            st.code(manifest["out_dir"], language=None)
            with st.expander("manifest.json"):
                st.json(
                    {
                        k: manifest[k]
                        for k in ("counts", "excluded", "refused", "repairs", "warnings", "files")
                    }
                )

with ui.session() as s:
    recent = ex.recent_exports(s, actor)
if recent:
    st.subheader(_("Recent exports"))
    recent_table = pd.DataFrame(recent)
    st.dataframe(
        recent_table,
        hide_index=True,
        width="stretch",
        column_config={
            c: _(label) for c, label in RECENT_COLUMNS.items() if c in recent_table.columns
        },
    )
