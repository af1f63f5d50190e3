"""Import: upload a Korean file (and its English source), choose the format, import it (leads,
admins).

Layout only: the work is ``kocurate.services.datasets.import_dataset`` (aligned, atomic,
idempotent). Uploads are written to a private temporary folder under their own names so that an
error names the file the person chose. Very large files are better imported with the CLI
(``kocurate import KIND FILE --source EN``): the browser upload limit applies here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.errors import AlreadyImported, ImportFailed, KocurateError
from kocurate.i18n import N_, _, current_language, message, ngettext, text
from kocurate.ingest import default_name
from kocurate.services import catalog
from kocurate.services import datasets as ds_service

REVIEW_PAGE = "pages/review.py"
TYPES = ["json", "jsonl", "ndjson", "csv", "tsv", "parquet", "gz"]
# how a format finds the English source (importer.align_by) → in words
HOW = {
    "id": N_("joined to the English by id"),
    "position": N_("aligned to the English by position, with drift repair"),
    "inline": N_("English read from the same file"),
    "none": N_("no English source"),
}

actor = ui.require_actor()
st.header(_("Import"))
if not actor.can("import"):
    st.warning(_("Only leads and admins import datasets."))
    st.stop()

REGISTRY = catalog.import_kinds()
kinds = sorted(REGISTRY)
kind = st.selectbox(
    _("Format"),
    kinds,
    format_func=lambda k: f"{k} — {REGISTRY[k].title}",
    key="imp_kind",
    index=kinds.index("koalpaca") if "koalpaca" in kinds else 0,
)
importer = REGISTRY[kind]
takes_source = importer.align_by in ("id", "position")
how = _(HOW[importer.align_by]) if importer.align_by in HOW else importer.align_by
st.caption(
    (
        _("{title}: {how}; upstream licence {licence} (recorded for its published files)")
        if importer.licence
        else _("{title}: {how}")
    ).format(title=importer.title, how=how, licence=importer.licence)
)

ko_file = st.file_uploader(_("Korean file"), type=TYPES, key="imp_ko")
en_file = (
    st.file_uploader(_("English source (optional)"), type=TYPES, key="imp_en")
    if takes_source
    else None
)

options = None
if kind == "generic":
    st.caption(
        _("Generic mapping: one ROLE=COLUMN per line, in turn order (e.g. `user=question`).")
    )
    c1, c2 = st.columns(2)
    fields = c1.text_area(_("Korean turns (ROLE=COLUMN)"), key="imp_map", height=100)
    source_fields = c2.text_area(
        _("English in the same record (ROLE=COLUMN, optional)"), key="imp_srcmap", height=100
    )
    c3, c4, c5 = st.columns(3)
    conversations = c3.text_input(_("…or a column with a list of turns"), key="imp_conv")
    id_field = c4.text_input(_("Id column (optional)"), key="imp_id")
    meta_fields = c5.text_input(_("Columns kept as metadata (comma-separated)"), key="imp_meta")

    def pairs(text: str) -> list[tuple[str, str]]:
        out = []
        for line in text.splitlines():
            if "=" in line:
                role, col = line.split("=", 1)
                out.append((role.strip(), col.strip()))
        return out

    options = {
        "fields": pairs(fields),
        "source_fields": dict(pairs(source_fields)),
        "conversations": conversations.strip() or None,
        "id_field": id_field.strip() or None,
        "meta_fields": [m.strip() for m in meta_fields.split(",") if m.strip()],
    }

c1, c2 = st.columns(2)
chosen = ko_file.name if ko_file else ""
if st.session_state.get("imp_for") != chosen:  # another file chosen: propose its name
    st.session_state["imp_for"] = chosen
    st.session_state["imp_name"] = default_name(chosen) if chosen else ""
name = c1.text_input(_("Dataset name"), key="imp_name")
known_licence = importer.licence_for(chosen) if chosen else None
licence = c2.text_input(
    _("Licence (SPDX id, e.g. CC-BY-NC-4.0)"),
    key="imp_licence",
    placeholder=known_licence or _("unknown: please give it"),
    help=_(
        "Left empty, the upstream licence is recorded only when the file is one of that "
        "dataset's published files."
    ),
)
if chosen and not licence.strip() and known_licence is None:
    st.warning(
        _(
            "The licence of this file is unknown (it is not a known file of this dataset): please"
            " give it. Without one, exports warn that the licence is unknown."
        ),
        icon=":material/gavel:",
    )
skip_bad = st.checkbox(
    _("Skip bad records (import the rest and list what was skipped)"), key="imp_skip"
)

if st.button(_("Import"), type="primary", disabled=ko_file is None, key="imp_go"):
    status = st.empty()
    bar = st.progress(0.0, text=_("reading…"))
    with tempfile.TemporaryDirectory(prefix="kocurate-import-") as tmp:
        ko_path = Path(tmp) / "ko" / Path(ko_file.name).name
        ko_path.parent.mkdir()
        ko_path.write_bytes(ko_file.getbuffer())
        en_path = None
        if en_file is not None:
            en_path = Path(tmp) / "en" / Path(en_file.name).name
            en_path.parent.mkdir()
            en_path.write_bytes(en_file.getbuffer())

        def progress(n: int) -> None:
            bar.progress(
                min(0.99, n / (n + 20_000)),
                text=ngettext("{n:,} sample written", "{n:,} samples written", n).format(n=n),
            )

        try:
            rep = ds_service.import_dataset(
                ui.engine(),
                actor,
                kind,
                ko_path,
                en_path,
                name=name.strip() or None,
                licence=licence.strip() or None,
                options=options,
                skip_bad=skip_bad,
                report_path=Path(tmp) / "skipped.jsonl",
                progress=progress,
            )
        except AlreadyImported as exc:
            bar.empty()
            status.info(message(exc))
        except ImportFailed as exc:
            bar.empty()
            status.error(_("Refused, nothing was imported. {error}").format(error=message(exc)))
            st.caption(
                (
                    _(
                        "file: {file} · place: {place} · field: {field} — fix the record, or tick"
                        " “Skip bad records”."
                    )
                    if exc.field
                    else _(
                        "file: {file} · place: {place} — fix the record, or tick “Skip bad"
                        " records”."
                    )
                ).format(file=exc.file, place=exc.place(), field=exc.field)
            )
            if exc.hint:
                st.info(text(exc.hint), icon=":material/lightbulb:")
        except (KocurateError, ValueError) as exc:
            bar.empty()
            status.error(message(exc))
        else:
            bar.progress(1.0, text=_("done"))
            status.success(
                _("Imported {name} (dataset {id}): {summary}").format(
                    name=repr(rep.name), id=rep.dataset_id, summary=rep.summary(current_language())
                )
            )
            if rep.skipped:
                st.subheader(_("Skipped records ({n:,})").format(n=len(rep.skipped)))
                st.dataframe(pd.DataFrame(rep.skipped), hide_index=True, width="stretch")
                st.download_button(
                    _("Download the skipped-records report (JSONL)"),
                    Path(rep.skipped_report).read_bytes() if rep.skipped_report else b"",
                    file_name=f"{rep.name}.skipped.jsonl",
                    mime="application/json",
                    key="imp_dl",
                )
            warning = rep.alignment_warning()
            if warning:
                st.warning(text(warning), icon=":material/warning:")
            elif rep.ambiguous or rep.unaligned:
                st.caption(
                    _(
                        "{ambiguous:,} pairs were not sure enough to join silently and are marked "
                        "“ambiguous” for review; {unaligned:,} found no English row."
                    ).format(ambiguous=rep.ambiguous, unaligned=rep.unaligned)
                )
            try:
                st.page_link(
                    REVIEW_PAGE,
                    label=_("Review this dataset"),
                    icon=":material/rate_review:",
                    query_params={"dataset": str(rep.dataset_id)},
                )
            except Exception:  # the page runs outside the app's navigation (bare mode)
                pass
