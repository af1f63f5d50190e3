"""Variants: samples with the same English source, side by side; keep one, the others are
superseded.

Layout only: hashing, groups and "keep this one" are ``kocurate.services.variants`` calls (a kept
choice is a bulk operation: it shows in the Bulk page's log and can be reverted there). Korean text
is shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.i18n import _, ngettext
from kocurate.services import bulk, variants
from kocurate.services import datasets as dataset_service

actor = ui.require_actor()
if not actor.can(bulk.PERMISSION):
    st.warning(_("Translation variants are for leads."))
    st.stop()
st.header(_("Translation variants"))

with ui.session() as s:
    datasets = dataset_service.list_datasets(s)
names = {0: _("(all datasets)"), **{d["id"]: d["name"] for d in datasets}}
ds_pick = st.selectbox(_("Dataset"), list(names), format_func=names.__getitem__, key="va_ds")
ds_id = ds_pick or None

if st.button(
    _("Compute English-source hashes"),
    key="va_hash",
    help=_("Run after an import; takes a while at 700k."),
):
    with ui.shows_errors(), st.spinner(_("Hashing…")):
        n = variants.compute_hashes(ui.engine(), actor, ds_id)
        st.success(ngettext("{n} sample hashed.", "{n} samples hashed.", n).format(n=f"{n:,}"))

with ui.session() as s:
    sm = variants.summary(s, actor, ds_id)
st.caption(
    _("{groups} variant groups · {in_groups} samples in them · {hashed} samples hashed").format(
        groups=f"{sm['groups']:,}",
        in_groups=f"{sm['samples_in_groups']:,}",
        hashed=f"{sm['hashed']:,}",
    )
)

pages: list[str | None] = st.session_state.setdefault(
    "va_pages", [None]
)  # keyset cursors, one per page
c1, c2 = st.columns(2)
if c1.button(_("First page"), key="va_first"):
    pages[:] = [None]
with ui.session() as s:
    groups = variants.list_groups(s, actor, dataset_id=ds_id, after=pages[-1], limit=50)
if groups and c2.button(_("Next page"), key="va_next"):
    pages.append(groups[-1]["hash"])
    st.rerun()
if not groups:
    st.info(_("No variant groups (compute the hashes first?)."))
    st.stop()

labels = {
    g["hash"]: ngettext(
        "{hash} · {samples} samples in {datasets} dataset",
        "{hash} · {samples} samples in {datasets} datasets",
        g["datasets"],
    ).format(hash=g["hash"][:12], samples=g["samples"], datasets=g["datasets"])
    for g in groups
}
chosen = st.selectbox(_("Group"), list(labels), format_func=labels.__getitem__, key="va_group")
with ui.session() as s:
    view = variants.group_view(s, actor, chosen)

st.subheader(_("English"))
ui.plain(
    "\n\n".join(f"[{t['role']}] {t['en'] or ''}" for t in view[0]["turns"]),
    key="va_en",
    height=ui.text_height(*(t["en"] for t in view[0]["turns"])),
)
cols = st.columns(min(len(view), 4))
for i, v in enumerate(view):
    with cols[i % len(cols)]:
        st.text(
            _("sample {sample} · {dataset} #{key} · {status}").format(
                sample=v["sample_id"],
                dataset=v["dataset"],
                key=v["key"],
                status=(ui.status_label(v["status"])),
            )
        )
        ko = "\n\n".join(f"[{t['role']}] {t['ko']}" for t in v["turns"])
        ui.plain(ko, key=f"va_ko_{v['sample_id']}", height=ui.text_height(ko))
        if st.button(_("Keep this one"), key=f"va_keep_{v['sample_id']}"):
            with ui.shows_errors(), ui.session() as s:
                st.success(variants.keep(s, actor, v["sample_id"])["message"])
