"""QA: a blind review queue over seeded random samples, the defect-rate estimate, and the learned
risk.

Reviewers see only the English and the Korean of each QA item (no checks, flags, status or history)
and say "ok" or "defect". Leads draw QA samples, read the estimate (Wilson 95 % interval), and see
per-dataset check precision, chrF++ of the machine translation and the risk model. Layout only:
everything comes from ``kocurate.services.qa`` and ``kocurate.services.risk``.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.checks.texts import check_label
from kocurate.i18n import N_, _, ngettext
from kocurate.services import bulk, qa, risk
from kocurate.services import datasets as dataset_service

# the statuses a QA sample may be drawn from (codes → labels)
STATUS_LABELS = {"approved": N_("approved"), "new": N_("new"), "needs_fix": N_("needs fix")}

actor = ui.require_actor()
lead = actor.can("export")
st.header(_("QA"))

with ui.session() as s:
    runs = qa.list_runs(s, actor)
    datasets = dataset_service.list_datasets(s)
names = {d["id"]: d["name"] for d in datasets}

tabs = st.tabs(
    [_("Blind review"), _("Samples and estimates"), _("Risk")] if lead else [_("Blind review")]
)

with tabs[0]:
    if not runs:
        st.info(_("No QA sample yet."))
    else:
        run_labels = {
            r["run_id"]: (
                _("QA run {run} · {datasets} · {reviewed} of {size} reviewed").format(
                    run=r["run_id"],
                    datasets=", ".join(r["dataset_names"]),
                    reviewed=f"{r['reviewed']:,}",
                    size=f"{r['size']:,}",
                )
            )
            for r in runs
        }
        run_id = st.selectbox(
            _("QA run"), list(run_labels), format_func=run_labels.__getitem__, key="qa_run"
        )
        with ui.session() as s:
            item = qa.next_item(s, actor, run_id)
        if item is None:
            st.success(_("Every item of this QA run has a verdict."))
        else:
            st.caption(
                _("Item {position} · {left} left").format(
                    position=item["position"] + 1, left=f"{item['left']:,}"
                )
            )
            for t in item["turns"]:
                c1, c2 = st.columns(2)
                h = ui.text_height(t["en"], t["ko"])
                with c1:
                    ui.plain(
                        t["en"] or "",
                        key=f"qa_en_{item['item_id']}_{t['idx']}",
                        height=h,
                        label=_("{role} · English").format(role=t["role"]),
                    )
                with c2:
                    ui.plain(
                        t["ko"],
                        key=f"qa_ko_{item['item_id']}_{t['idx']}",
                        height=h,
                        label=_("{role} · Korean").format(role=t["role"]),
                    )
            note = st.text_input(_("Note (what is wrong)"), key=f"qa_note_{item['item_id']}")
            c1, c2 = st.columns(2)
            verdict = None
            if c1.button(_("OK"), key="qa_ok", type="primary"):
                verdict = "ok"
            if c2.button(_("Defect"), key="qa_defect"):
                verdict = "defect"
            if verdict:
                saved = False
                with ui.shows_errors(), ui.session() as s:
                    qa.record(s, actor, item["item_id"], verdict, note=note)
                    saved = True
                if saved:
                    st.rerun()

if lead:
    with tabs[1]:
        with st.form("qa_new"):
            c1, c2, c3, c4 = st.columns(4)
            ds = c1.selectbox(_("Dataset"), list(names), format_func=names.__getitem__, key="qa_ds")
            margin = c2.number_input(
                _("Margin of error (±)"),
                0.005,
                0.25,
                0.03,
                step=0.005,
                format="%.3f",
                key="qa_margin",
            )
            conf = c3.selectbox(_("Confidence"), [0.95, 0.9, 0.99], key="qa_conf")
            seed = c4.number_input(_("Seed"), 0, 2**31 - 1, 0, key="qa_seed")
            status = st.selectbox(
                _("Selection status (exports take 'approved')"),
                list(STATUS_LABELS),
                format_func=lambda code: _(STATUS_LABELS[code]),
                key="qa_status",
            )
            if st.form_submit_button(_("Draw QA sample"), type="primary"):
                with ui.shows_errors(), ui.session() as s:
                    out = qa.create_run(
                        s,
                        actor,
                        bulk.Selection(dataset_id=ds, status=status),
                        margin=margin,
                        confidence=conf,
                        seed=int(seed),
                    )
                    st.success(
                        _("QA run {run}: {size} of {population} samples queued.").format(
                            run=out["run_id"],
                            size=f"{out['size']:,}",
                            population=f"{out['population']:,}",
                        )
                    )
        if runs:
            st.dataframe(
                [
                    {
                        "run": r["run_id"],
                        "datasets": ", ".join(r["dataset_names"]),
                        "estimate": r["text"],
                        "drawn": r["size"],
                        "population": r["population"],
                        "seed": r["seed"],
                        "at": r["at"],
                    }
                    for r in runs
                ],
                hide_index=True,
                column_config={
                    "run": _("QA run"),
                    "datasets": _("Datasets"),
                    "estimate": _("Estimate"),
                    "drawn": _("Drawn"),
                    "population": _("Population"),
                    "seed": _("Seed"),
                    "at": _("At"),
                },
            )

    with tabs[2]:
        with ui.session() as s:
            info = risk.model_info(s)
        if info:
            auc = f"{info['holdout_auc']:.3f}" if info.get("holdout_auc") is not None else _("n/a")
            st.caption(
                _(
                    "Risk model trained {at} on {labelled} decided samples ({broken} broken);"
                    " held-out AUC {auc}; {scored} samples scored."
                ).format(
                    at=info["trained_at"],
                    labelled=f"{info['labelled']:,}",
                    broken=f"{info['broken']:,}",
                    auc=auc,
                    scored=f"{info['scored']:,}",
                )
            )
        if st.button(
            _("Retrain the risk model"), key="qa_train", disabled=not actor.can("configure")
        ):
            with ui.shows_errors(), st.spinner(_("Training…")):
                info = risk.train(ui.engine(), actor)
                st.success(
                    ngettext("Scored {n} sample.", "Scored {n} samples.", info["scored"]).format(
                        n=f"{info['scored']:,}"
                    )
                )
        if names:
            rd = st.selectbox(
                _("Dataset"), list(names), format_func=names.__getitem__, key="qa_risk_ds"
            )
            with ui.session() as s:
                prec = risk.check_precision(s, actor, rd)
                top = risk.ranked(s, actor, bulk.Selection(dataset_id=rd, status="new"), limit=20)
            st.subheader(_("Check precision (edited or rejected vs approved unchanged)"))
            st.dataframe(
                [
                    {
                        **r,
                        "check": check_label(r["check"]),
                        "precision": None if r["precision"] is None else round(r["precision"], 3),
                    }
                    for r in prec
                ],
                hide_index=True,
                column_config={
                    "check": _("Check"),
                    "samples": _("Samples"),
                    "decided": _("Decided"),
                    "true_positive": _("True positives"),
                    "false_positive": _("False positives"),
                    "precision": _("Precision"),
                },
            )
            if st.button(_("Compute chrF++ of the machine translation"), key="qa_chrf"):
                with ui.session() as s:
                    c = risk.dataset_chrf(s, actor, rd)
                st.text(
                    _(
                        "chrF++ {chrf} over {turns} turns of approved samples ({unchanged}"
                        " unchanged)"
                    ).format(
                        chrf=f"{c['chrf_pp']:.2f}",
                        turns=f"{c['turns']:,}",
                        unchanged=f"{c['unchanged']:,}",
                    )
                    if c["chrf_pp"] is not None
                    else _("No approved samples yet.")
                )
            if top:
                st.subheader(_("Most likely broken first (new samples)"))
                st.dataframe(
                    [{"sample": a, "risk": round(b, 3)} for a, b in top],
                    hide_index=True,
                    column_config={"sample": _("Sample"), "risk": _("Risk")},
                )
