"""QA: a blind review queue over seeded random samples, the defect-rate estimate, and the learned risk.

Reviewers see only the English and the Korean of each QA item (no checks, flags, status or history)
and say "ok" or "defect". Leads draw QA samples, read the estimate (Wilson 95 % interval), and see
per-dataset check precision, chrF++ of the machine translation and the risk model. Layout only:
everything comes from ``kocurate.services.qa`` and ``kocurate.services.risk``.
"""

from __future__ import annotations

import streamlit as st

from kocurate import ui
from kocurate.services import bulk, qa, risk
from kocurate.services import datasets as dataset_service

actor = ui.require_actor()
lead = actor.can("export")
st.header("QA")

with ui.session() as s:
    runs = qa.list_runs(s, actor)
    datasets = dataset_service.list_datasets(s)
names = {d["id"]: d["name"] for d in datasets}

tabs = st.tabs(["Blind review", "Samples and estimates", "Risk"] if lead else ["Blind review"])

with tabs[0]:
    if not runs:
        st.info("No QA sample yet.")
    else:
        run_labels = {r["run_id"]: f"QA run {r['run_id']} · {', '.join(r['dataset_names'])} · "
                                   f"{r['reviewed']:,} of {r['size']:,} reviewed" for r in runs}
        run_id = st.selectbox("QA run", list(run_labels), format_func=run_labels.__getitem__, key="qa_run")
        with ui.session() as s:
            item = qa.next_item(s, actor, run_id)
        if item is None:
            st.success("Every item of this QA run has a verdict.")
        else:
            st.caption(f"Item {item['position'] + 1} · {item['left']:,} left")
            for t in item["turns"]:
                c1, c2 = st.columns(2)
                h = ui.text_height(t["en"], t["ko"])
                with c1:
                    ui.plain(t["en"] or "", key=f"qa_en_{item['item_id']}_{t['idx']}", height=h,
                             label=f"{t['role']} · English")
                with c2:
                    ui.plain(t["ko"], key=f"qa_ko_{item['item_id']}_{t['idx']}", height=h, label=f"{t['role']} · Korean")
            note = st.text_input("Note (what is wrong)", key=f"qa_note_{item['item_id']}")
            c1, c2 = st.columns(2)
            verdict = None
            if c1.button("OK", key="qa_ok", type="primary"):
                verdict = "ok"
            if c2.button("Defect", key="qa_defect"):
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
            ds = c1.selectbox("Dataset", list(names), format_func=names.__getitem__, key="qa_ds")
            margin = c2.number_input("Margin of error (±)", 0.005, 0.25, 0.03, step=0.005, format="%.3f",
                                     key="qa_margin")
            conf = c3.selectbox("Confidence", [0.95, 0.9, 0.99], key="qa_conf")
            seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="qa_seed")
            status = st.selectbox("Selection status (exports take 'approved')", ["approved", "new", "needs_fix"],
                                  key="qa_status")
            if st.form_submit_button("Draw QA sample", type="primary"):
                with ui.shows_errors(), ui.session() as s:
                    out = qa.create_run(s, actor, bulk.Selection(dataset_id=ds, status=status), margin=margin,
                                        confidence=conf, seed=int(seed))
                    st.success(f"QA run {out['run_id']}: {out['size']:,} of {out['population']:,} samples queued.")
        if runs:
            st.dataframe([{"run": r["run_id"], "datasets": ", ".join(r["dataset_names"]), "estimate": r["text"],
                           "drawn": r["size"], "population": r["population"], "seed": r["seed"], "at": r["at"]}
                          for r in runs], hide_index=True)

    with tabs[2]:
        with ui.session() as s:
            info = risk.model_info(s)
        if info:
            auc = f"{info['holdout_auc']:.3f}" if info.get("holdout_auc") is not None else "n/a"
            st.caption(f"Risk model trained {info['trained_at']} on {info['labelled']:,} decided samples "
                       f"({info['broken']:,} broken); held-out AUC {auc}; {info['scored']:,} samples scored.")
        if st.button("Retrain the risk model", key="qa_train", disabled=not actor.can("configure")):
            with ui.shows_errors(), st.spinner("Training…"):
                info = risk.train(ui.engine(), actor)
                st.success(f"Scored {info['scored']:,} samples.")
        if names:
            rd = st.selectbox("Dataset", list(names), format_func=names.__getitem__, key="qa_risk_ds")
            with ui.session() as s:
                prec = risk.check_precision(s, actor, rd)
                top = risk.ranked(s, actor, bulk.Selection(dataset_id=rd, status="new"), limit=20)
            st.subheader("Check precision (edited or rejected vs approved unchanged)")
            st.dataframe([{**r, "precision": None if r["precision"] is None else round(r["precision"], 3)}
                          for r in prec], hide_index=True)
            if st.button("Compute chrF++ of the machine translation", key="qa_chrf"):
                with ui.session() as s:
                    c = risk.dataset_chrf(s, actor, rd)
                st.text(f"chrF++ {c['chrf_pp']:.2f} over {c['turns']:,} turns of approved samples "
                        f"({c['unchanged']:,} unchanged)" if c["chrf_pp"] is not None else "No approved samples yet.")
            if top:
                st.subheader("Most likely broken first (new samples)")
                st.dataframe([{"sample": a, "risk": round(b, 3)} for a, b in top], hide_index=True)
