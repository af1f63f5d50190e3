"""Streamlit widgets of the LLM review assistant, called by pages in one line each.

* ``render_turn_actions(actor, sample_id, turn_id)`` — on the Review page, under a turn: "Grade" and
  "Suggest a fix", and the turn's latest LLM grade. The findings and suggestions it creates appear
  in the page's own findings and suggestions lists (after the rerun it triggers).
* ``render_batch_panel(actor)`` — batch grading or fixing of a selection: estimate, confirmation,
  budget, start, progress, cancel / resume.
* ``render_evaluation(actor)`` — grades against human decisions (precision / recall).

Without ``KOCURATE_LLM_*`` settings each says how to set them up and offers no LLM action. Widgets
and calls into ``kocurate.services.llm`` only; dataset text is shown with ``st.text`` (never
Markdown).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from . import ui
from .i18n import N_, _, ngettext
from .models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from .services import datasets as ds_service
from .services import llm as svc
from .services import translate as tr
from .services.auth import Actor

_SEV_ICON = {"none": "✓", "minor": "·", "major": "!", "critical": "‼"}
# codes → what a person reads (the codes stay the values passed to the services)
_SEV_LABELS = {
    "none": N_("none"),
    "minor": N_("minor"),
    "major": N_("major"),
    "critical": N_("critical"),
}
_TASK_LABELS = {
    "grade": N_("Grade (findings llm_quality)"),
    "suggest": N_("Suggest fixes (suggestions)"),
}
_TASK_NAMES = {"grade": N_("grade"), "suggest": N_("suggest")}  # in a job's line
_LEVELS = {"samples": N_("samples"), "turns": N_("turns")}  # the evaluation's rows


def render_turn_actions(actor: Actor, sample_id: int, turn_id: int) -> None:
    """LLM actions for one turn of the sample being reviewed (annotators and up); nothing for a turn
    without an English source it was translated from (``sample_id``: the sample on screen, a guard).
    """
    if not actor.can("translate_one"):
        return
    if not svc.configured():
        st.caption(
            _(
                "LLM assistant: not configured (KOCURATE_LLM_BASE_URL, KOCURATE_LLM_MODEL, "
                "KOCURATE_LLM_API_KEY)."
            ),
            help=svc.how_to_configure(),
        )
        return
    with ui.session() as s:
        state = svc.turn_state(s, turn_id)
    if not state["gradeable"] or state["sample_id"] != sample_id:
        return  # no English source this turn was translated from: nothing to grade or fix against
    grade = state["grade"]
    c1, c2, c3 = st.columns([1, 1, 3])
    if c1.button(
        _("LLM grade"),
        key=f"llm-grade-{turn_id}",
        icon=":material/grading:",
        help=_("Grade this turn against its English source (MQM: category × severity)"),
    ):
        done = False
        with ui.shows_errors(), ui.session() as s:
            errs = svc.grade_turn(s, actor, turn_id)
            st.session_state[f"llm-msg-{turn_id}"] = (
                ngettext("LLM: {n} error found", "LLM: {n} errors found", len(errs)).format(
                    n=len(errs)
                )
                if errs
                else _("LLM: no errors found")
            )
            done = True
        if done:  # outside the session: a rerun inside it would roll the work back
            st.rerun()
    if c2.button(
        _("Suggest a fix"),
        key=f"llm-suggest-{turn_id}",
        icon=":material/auto_fix_high:",
        help=_(
            "A Korean rewrite from the LLM, offered with the other suggestions (accept or dismiss)"
        ),
    ):
        done = False
        with ui.shows_errors(), ui.session() as s:
            sug = svc.suggest_fix(s, actor, turn_id)
            st.session_state[f"llm-msg-{turn_id}"] = (
                _("LLM: suggestion added (see Suggestions)")
                if sug is not None
                else _("LLM: its text is the current one; no suggestion")
            )
            done = True
        if done:
            st.rerun()
    msg = st.session_state.pop(f"llm-msg-{turn_id}", None)
    if grade is not None:
        c3.caption(
            ngettext(
                "LLM grade {icon} {worst} · {n} error · {model} · {at}",
                "LLM grade {icon} {worst} · {n} errors · {model} · {at}",
                grade["n_errors"],
            ).format(
                icon=_SEV_ICON.get(grade["worst"], ""),
                worst=ui.label(_SEV_LABELS, grade["worst"]),
                n=grade["n_errors"],
                model=grade["model"],
                at=grade["at"],
            )
        )
    if msg:
        st.caption(msg)


def _filters(prefix: str) -> dict[str, Any]:
    names = ui.dataset_choices()
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox(
        _("Dataset"),
        [None, *names],
        format_func=lambda i: _("all datasets") if i is None else names[i],
        key=f"{prefix}-ds",
    )
    checks = sorted({*tr.check_names(), svc.CHECK})
    check = c2.selectbox(
        _("With a finding of check"),
        [None, *checks],
        format_func=lambda c: _("any") if c is None else c,
        key=f"{prefix}-check",
    )
    flag = c3.selectbox(
        _("With flag"),
        [None, *QUALITY_FLAGS, *ETHICS_FLAGS],
        format_func=lambda f: _("any") if f is None else ui.flag_label(f),
        key=f"{prefix}-flag",
    )
    status = c4.selectbox(
        _("Status"),
        [None, *STATUSES],
        format_func=lambda x: _("any") if x is None else ui.status_label(x),
        key=f"{prefix}-status",
    )
    limit = st.number_input(
        _("At most this many samples (0 = all)"),
        min_value=0,
        value=0,
        step=100,
        key=f"{prefix}-limit",
    )
    return svc.BatchFilter(
        dataset=dataset, check=check, flag=flag, status=status, limit=int(limit) or None
    ).to_dict()


def _show_estimate(est: dict[str, Any]) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        _("Turns"),
        f"{est['turns']:,}",
        help=ngettext(
            "{n} sample; turns with an English source",
            "{n} samples; turns with an English source",
            est["samples"],
        ).format(n=f"{est['samples']:,}"),
    )
    c2.metric(
        _("To send"),
        f"{est['to_send']:,}",
        help=(
            _("Turns not in the cache")
            if est["exact"]
            else _("Turns not in the cache (approximate: the cache is not deducted)")
        ),
    )
    c3.metric(
        _("Requests"),
        f"{est['requests']:,}",
        help=_("~{input} input + ~{output} output tokens").format(
            input=f"{est['input_tokens']:,}", output=f"{est['output_tokens']:,}"
        ),
    )
    cost = est["estimated_cost_usd"]
    c4.metric(
        _("Estimated cost"),
        _("unknown") if cost is None else f"${cost:,.4f}",
        help=_("From the price table (KOCURATE_LLM_PRICES); a local model costs nothing"),
    )
    if est.get("cached"):
        st.caption(
            ngettext(
                "{n} turn is answered from the cache (free).",
                "{n} turns are answered from the cache (free).",
                est["cached"],
            ).format(n=f"{est['cached']:,}")
        )


@st.fragment(run_every=2)
def _jobs(actor: Actor) -> None:
    with ui.session() as s:
        batches = svc.list_batches(s, limit=10)
    if not batches:
        st.caption(_("No LLM jobs yet."))
        return
    for j in batches:
        r, p = j["result"], j["params"]
        with st.container(border=True):
            status = _("dead (worker gone)") if j["dead"] else ui.job_status_label(j["status"])
            progress = ngettext(
                "{done}/{total} sample", "{done}/{total} samples", j["total"]
            ).format(done=f"{j['done']:,}", total=f"{j['total']:,}")
            # our own words and numbers only (the task is a code shown in words): Markdown is safe
            # here
            st.markdown(
                _("**Job {id}** · {task} · {status} · {progress}").format(
                    id=j["id"],
                    task=ui.label(_TASK_NAMES, p.get("task", "?")),
                    status=status,
                    progress=progress,
                )
            )
            st.progress(min(j["done"] / j["total"], 1.0) if j["total"] else 0.0)
            budget = p.get("budget_usd")
            cost = f"${r.get('cost_usd', 0.0):,.4f}"
            st.caption(
                " · ".join(
                    [
                        _("model {model}").format(model=p.get("model")),
                        _("filters: {filters}").format(filters=p.get("filters") or _("all")),
                        _("requests {n}").format(n=f"{r.get('requests', 0):,}"),
                        _("tokens {input}+{output}").format(
                            input=f"{r.get('input_tokens', 0):,}",
                            output=f"{r.get('output_tokens', 0):,}",
                        ),
                        (
                            cost
                            if budget is None
                            else _("{cost} of {budget}").format(cost=cost, budget=f"${budget:,.2f}")
                        ),
                        _("cache hits {n}").format(n=f"{r.get('cache_hits', 0):,}"),
                        _("findings {n}").format(n=f"{r.get('findings', 0):,}"),
                        _("suggestions {n}").format(n=f"{r.get('suggestions', 0):,}"),
                        _("failed turns {n}").format(n=f"{r.get('failed_turns', 0):,}"),
                    ]
                )
            )
            if j["message"]:
                (st.error if j["status"] == "failed" else st.caption)(j["message"])
            for e in r.get("errors", [])[:5]:
                st.text(
                    _("turn {turn} (sample {sample}): {error}").format(
                        turn=e["turn_id"], sample=e["sample_id"], error=e["error"]
                    )
                )
            c1, c2, c3 = st.columns([1, 2, 3])
            if j["status"] in ("queued", "running") and not j["dead"]:
                if c1.button(_("Cancel"), key=f"llm-cancel-{j['id']}"):
                    with ui.shows_errors(), ui.session() as s:
                        svc.cancel_batch(s, actor, j["id"])
                    st.rerun()
            elif j["status"] != "done" and svc.configured():
                new_budget = c2.number_input(
                    _("Budget (USD, 0 = none)"),
                    min_value=0.0,
                    value=float(budget or 0.0),
                    key=f"llm-rbudget-{j['id']}",
                )
                if c1.button(_("Resume"), key=f"llm-resume-{j['id']}", type="primary"):
                    with ui.shows_errors():
                        svc.resume_batch(
                            ui.engine(),
                            actor,
                            j["id"],
                            budget_usd=new_budget or None,
                            background="thread",
                        )
                    st.rerun()


def render_batch_panel(actor: Actor) -> None:
    """Grade or fix a selection of samples as a background job (leads)."""
    if not actor.can("translate_batch"):
        st.info(
            _("Batch grading and fixing are for leads. Grade or fix one turn from the Review page.")
        )
        return
    cfg = svc.settings_summary()
    if cfg is None:
        st.warning(svc.how_to_configure(), icon=":material/key:")
    else:
        st.caption(
            ngettext(
                "Model {model} at {url} · {n} request at a time",
                "Model {model} at {url} · {n} requests at a time",
                cfg["concurrency"],
            ).format(model=cfg["model"], url=cfg["base_url"], n=cfg["concurrency"])
        )
    task = st.radio(
        _("Task"),
        list(_TASK_LABELS),
        horizontal=True,
        key="llm-task",
        format_func=lambda t: _(_TASK_LABELS[t]),
    )
    filters = _filters("llm")
    budget = st.number_input(
        _("Budget cap (USD, 0 = none): the job stops there, resumable"),
        min_value=0.0,
        value=0.0,
        step=1.0,
        key="llm-budget",
    )
    c1, c2 = st.columns([1, 3])
    if c1.button(_("Estimate"), key="llm-estimate"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state["llm-est"] = ((task, filters), svc.estimate(s, actor, task, filters))
    est = st.session_state.get("llm-est")
    fresh = est is not None and est[0] == (task, filters)
    if fresh:
        _show_estimate(est[1])  # type: ignore[index]
    confirmed = c2.checkbox(
        _("I have seen the estimate; start the job"), key="llm-confirm", disabled=not fresh
    )
    if st.button(
        _("Start LLM job"),
        type="primary",
        disabled=cfg is None or not (fresh and confirmed),
        key="llm-start",
    ):
        with ui.shows_errors():
            job_id = svc.start_batch(
                ui.engine(), actor, task, filters, budget_usd=budget or None, background="thread"
            )
            st.success(
                _(
                    "Job {id} started. Its progress is below (it keeps running if you leave this"
                    " page)."
                ).format(id=job_id)
            )
    st.subheader(_("Jobs"))
    _jobs(actor)


def render_evaluation(actor: Actor) -> None:
    """How the LLM's "major or critical" grades match what reviewers decided."""
    if not actor.can("view_stats"):
        return
    with ui.session() as s:
        datasets = ds_service.list_datasets(s)
    names = {d["id"]: d["name"] for d in datasets}
    ds = st.selectbox(
        _("Dataset"),
        [None, *names],
        format_func=lambda i: _("all datasets") if i is None else names[i],
        key="llm-ev-ds",
    )
    with ui.shows_errors(), ui.session() as s:
        ev = svc.evaluate(s, actor, ds)
        st.caption(
            _(
                "Models: {models} · graded samples {n}. Positive = rejected, needs fix, or edited"
                " by hand; only samples a person decided or edited."
            ).format(models=", ".join(ev["models"]) or _("none yet"), n=f"{ev['graded_samples']:,}")
        )
        rows = [
            {
                "level": _(_LEVELS[level]),
                **{
                    k: ev[level][k]
                    for k in ("n", "tp", "fp", "fn", "tn", "precision", "recall", "f1")
                },
            }
            for level in _LEVELS
        ]
        st.dataframe(
            rows,
            hide_index=True,
            key="llm-ev-table",
            column_config={
                "level": st.column_config.TextColumn(_("level")),
                "n": st.column_config.NumberColumn(
                    "n", help=_("graded items a person decided or edited")
                ),
                "tp": st.column_config.NumberColumn(
                    "tp", help=_("true positives: graded major or critical, and positive")
                ),
                "fp": st.column_config.NumberColumn(
                    "fp", help=_("false positives: graded major or critical, not positive")
                ),
                "fn": st.column_config.NumberColumn(
                    "fn", help=_("false negatives: positive, graded minor or none")
                ),
                "tn": st.column_config.NumberColumn(
                    "tn", help=_("true negatives: not positive, graded minor or none")
                ),
                "precision": st.column_config.NumberColumn(_("precision")),
                "recall": st.column_config.NumberColumn(_("recall")),
                "f1": st.column_config.NumberColumn("F1"),
            },
        )
