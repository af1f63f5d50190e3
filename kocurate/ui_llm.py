"""Streamlit widgets of the LLM review assistant, called by pages in one line each.

* ``render_turn_actions(actor, sample_id, turn_id)`` — on the Review page, under a turn: "Grade" and
  "Suggest a fix", and the turn's latest LLM grade. The findings and suggestions it creates appear in
  the page's own findings and suggestions lists (after the rerun it triggers).
* ``render_batch_panel(actor)`` — batch grading or fixing of a selection: estimate, confirmation,
  budget, start, progress, cancel / resume.
* ``render_evaluation(actor)`` — grades against human decisions (precision / recall).

Without ``KOCURATE_LLM_*`` settings each says how to set them up and offers no LLM action. Widgets
and calls into ``kocurate.services.llm`` only; dataset text is shown with ``st.text`` (never Markdown).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from . import ui
from .models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from .services import datasets as ds_service
from .services import llm as svc
from .services import translate as tr
from .services.auth import Actor

_SEV_ICON = {"none": "✓", "minor": "·", "major": "!", "critical": "‼"}


def render_turn_actions(actor: Actor, sample_id: int, turn_id: int) -> None:
    """LLM actions for one turn of the sample being reviewed (annotators and up); nothing for a turn
    without an English source it was translated from (``sample_id``: the sample on screen, a guard)."""
    if not actor.can("translate_one"):
        return
    if not svc.configured():
        st.caption("LLM assistant: not configured (KOCURATE_LLM_BASE_URL, KOCURATE_LLM_MODEL, "
                   "KOCURATE_LLM_API_KEY).", help=svc.how_to_configure())
        return
    with ui.session() as s:
        state = svc.turn_state(s, turn_id)
    if not state["gradeable"] or state["sample_id"] != sample_id:
        return  # no English source this turn was translated from: nothing to grade or fix against
    grade = state["grade"]
    c1, c2, c3 = st.columns([1, 1, 3])
    if c1.button("LLM grade", key=f"llm-grade-{turn_id}", icon=":material/grading:",
                 help="Grade this turn against its English source (MQM: category × severity)"):
        done = False
        with ui.shows_errors(), ui.session() as s:
            errs = svc.grade_turn(s, actor, turn_id)
            st.session_state[f"llm-msg-{turn_id}"] = (f"LLM: {len(errs)} error(s) found" if errs
                                                      else "LLM: no errors found")
            done = True
        if done:  # outside the session: a rerun inside it would roll the work back
            st.rerun()
    if c2.button("Suggest a fix", key=f"llm-suggest-{turn_id}", icon=":material/auto_fix_high:",
                 help="A Korean rewrite from the LLM, offered with the other suggestions (accept or dismiss)"):
        done = False
        with ui.shows_errors(), ui.session() as s:
            sug = svc.suggest_fix(s, actor, turn_id)
            st.session_state[f"llm-msg-{turn_id}"] = ("LLM: suggestion added (see Suggestions)" if sug is not None
                                                      else "LLM: its text is the current one; no suggestion")
            done = True
        if done:
            st.rerun()
    msg = st.session_state.pop(f"llm-msg-{turn_id}", None)
    if grade is not None:
        c3.caption(f"LLM grade {_SEV_ICON.get(grade['worst'], '')} {grade['worst']} · {grade['n_errors']} error(s) · "
                   f"{grade['model']} · {grade['at']}")
    if msg:
        st.caption(msg)


def _filters(prefix: str) -> dict[str, Any]:
    with ui.session() as s:
        datasets = ds_service.list_datasets(s)
    names = {d["id"]: f"{d['name']} ({d['samples']} samples)" for d in datasets}
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox("Dataset", [None, *names], format_func=lambda i: "all datasets" if i is None else names[i],
                           key=f"{prefix}-ds")
    checks = sorted({*tr.check_names(), svc.CHECK})
    check = c2.selectbox("With a finding of check", [None, *checks], format_func=lambda c: "any" if c is None else c,
                         key=f"{prefix}-check")
    flag = c3.selectbox("With flag", [None, *QUALITY_FLAGS, *ETHICS_FLAGS],
                        format_func=lambda f: "any" if f is None else ui.flag_label(f), key=f"{prefix}-flag")
    status = c4.selectbox("Status", [None, *STATUSES], format_func=lambda x: "any" if x is None else x,
                          key=f"{prefix}-status")
    limit = st.number_input("At most this many samples (0 = all)", min_value=0, value=0, step=100,
                            key=f"{prefix}-limit")
    return svc.BatchFilter(dataset=dataset, check=check, flag=flag, status=status, limit=int(limit) or None).to_dict()


def _show_estimate(est: dict[str, Any]) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Turns", f"{est['turns']:,}", help=f"{est['samples']:,} samples; turns with an English source")
    c2.metric("To send", f"{est['to_send']:,}", help="Turns not in the cache"
              + ("" if est["exact"] else " (approximate: the cache is not deducted)"))
    c3.metric("Requests", f"{est['requests']:,}",
              help=f"~{est['input_tokens']:,} input + ~{est['output_tokens']:,} output tokens")
    cost = est["estimated_cost_usd"]
    c4.metric("Estimated cost", "unknown" if cost is None else f"${cost:,.4f}",
              help="From the price table (KOCURATE_LLM_PRICES); a local model costs nothing")
    if est.get("cached"):
        st.caption(f"{est['cached']:,} turns are answered from the cache (free).")


@st.fragment(run_every=2)
def _jobs(actor: Actor) -> None:
    with ui.session() as s:
        batches = svc.list_batches(s, limit=10)
    if not batches:
        st.caption("No LLM jobs yet.")
        return
    for j in batches:
        r, p = j["result"], j["params"]
        with st.container(border=True):
            status = "dead (worker gone)" if j["dead"] else j["status"]
            st.markdown(f"**Job {j['id']}** · {p.get('task', '?')} · {status} · {j['done']:,}/{j['total']:,} samples")
            st.progress(min(j["done"] / j["total"], 1.0) if j["total"] else 0.0)
            budget = p.get("budget_usd")
            st.caption(f"model {p.get('model')} · filters: {p.get('filters') or 'all'} · requests "
                       f"{r.get('requests', 0):,} · tokens {r.get('input_tokens', 0):,}+{r.get('output_tokens', 0):,}"
                       f" · ${r.get('cost_usd', 0.0):,.4f}" + (f" of ${budget:,.2f}" if budget is not None else "")
                       + f" · cache hits {r.get('cache_hits', 0):,} · findings {r.get('findings', 0):,}"
                       f" · suggestions {r.get('suggestions', 0):,} · failed turns {r.get('failed_turns', 0):,}")
            if j["message"]:
                (st.error if j["status"] == "failed" else st.caption)(j["message"])
            for e in r.get("errors", [])[:5]:
                st.text(f"turn {e['turn_id']} (sample {e['sample_id']}): {e['error']}")
            c1, c2, c3 = st.columns([1, 2, 3])
            if j["status"] in ("queued", "running") and not j["dead"]:
                if c1.button("Cancel", key=f"llm-cancel-{j['id']}"):
                    with ui.shows_errors(), ui.session() as s:
                        svc.cancel_batch(s, actor, j["id"])
                    st.rerun()
            elif j["status"] != "done" and svc.configured():
                new_budget = c2.number_input("Budget (USD, 0 = none)", min_value=0.0, value=float(budget or 0.0),
                                             key=f"llm-rbudget-{j['id']}")
                if c1.button("Resume", key=f"llm-resume-{j['id']}", type="primary"):
                    with ui.shows_errors():
                        svc.resume_batch(ui.engine(), actor, j["id"], budget_usd=new_budget or None,
                                         background="thread")
                    st.rerun()


def render_batch_panel(actor: Actor) -> None:
    """Grade or fix a selection of samples as a background job (leads)."""
    if not actor.can("translate_batch"):
        st.info("Batch grading and fixing are for leads. Grade or fix one turn from the Review page.")
        return
    cfg = svc.settings_summary()
    if cfg is None:
        st.warning(svc.how_to_configure(), icon=":material/key:")
    else:
        st.caption(f"Model {cfg['model']} at {cfg['base_url']} · {cfg['concurrency']} requests at a time")
    task = st.radio("Task", ["grade", "suggest"], horizontal=True, key="llm-task",
                    format_func=lambda t: {"grade": "Grade (findings llm_quality)",
                                           "suggest": "Suggest fixes (suggestions)"}[t])
    filters = _filters("llm")
    budget = st.number_input("Budget cap (USD, 0 = none): the job stops there, resumable", min_value=0.0,
                             value=0.0, step=1.0, key="llm-budget")
    c1, c2 = st.columns([1, 3])
    if c1.button("Estimate", key="llm-estimate"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["llm-est"] = ((task, filters), svc.estimate(s, actor, task, filters))
    est = st.session_state.get("llm-est")
    fresh = est is not None and est[0] == (task, filters)
    if fresh:
        _show_estimate(est[1])  # type: ignore[index]
    confirmed = c2.checkbox("I have seen the estimate; start the job", key="llm-confirm", disabled=not fresh)
    if st.button("Start LLM job", type="primary", disabled=cfg is None or not (fresh and confirmed), key="llm-start"):
        with ui.shows_errors():
            job_id = svc.start_batch(ui.engine(), actor, task, filters, budget_usd=budget or None, background="thread")
            st.success(f"Job {job_id} started. Its progress is below (it keeps running if you leave this page).")
    st.subheader("Jobs")
    _jobs(actor)


def render_evaluation(actor: Actor) -> None:
    """How the LLM's "major or critical" grades match what reviewers decided."""
    if not actor.can("view_stats"):
        return
    with ui.session() as s:
        datasets = ds_service.list_datasets(s)
    names = {d["id"]: d["name"] for d in datasets}
    ds = st.selectbox("Dataset", [None, *names], format_func=lambda i: "all datasets" if i is None else names[i],
                      key="llm-ev-ds")
    with ui.shows_errors(), ui.session() as s:
        ev = svc.evaluate(s, actor, ds)
        st.caption(f"Models: {', '.join(ev['models']) or 'none yet'} · graded samples {ev['graded_samples']:,}. "
                   "Positive = rejected, needs fix, or edited by hand; only samples a person decided or edited.")
        rows = [{"level": level, **{k: ev[level][k] for k in ("n", "tp", "fp", "fn", "tn", "precision", "recall",
                                                              "f1")}} for level in ("samples", "turns")]
        st.dataframe(rows, hide_index=True, key="llm-ev-table")
