"""Streamlit widgets of the Korean checks and corpus-scale curation (issues 16/17), one call line
each.

* Review page: :func:`render_turn_findings` (each finding at its place in the turn, a click focuses
  it) and :func:`render_fix_offers` (a lead-kept fix that applies to the turn, one click);
  :func:`render_queue_order` (sidebar, leads: "most likely broken first").
* Checks page: :func:`render_korean_run` (start the deep Korean run as a background job, its
progress
  and result).
* Dashboard: :func:`render_dataset_quality` (dominant speech level and its distribution, the target
  level; check precision and chrF++ of the machine translation).
* Export page: :func:`export_best_option` ("the best N by risk").

Widgets and calls into ``kocurate.services`` only. Dataset text is shown as plain text (``st.text``,
``ui.plain``); labels that Streamlit reads as Markdown (pills, buttons) carry only our own words.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from . import ui
from .checks.korean.analysis import LEVEL_NAMES, LEVELS
from .checks.texts import check_label
from .errors import KocurateError, StaleVersion
from .exporters.selection import RANKINGS
from .i18n import N_, _, finding_text, ngettext
from .services import jobs, korean, queue_order, risk, tm
from .services.auth import Actor

OPEN = "[["  # marks a finding's span in plain text: "…앞 [[Python는]] 뒤…"
CLOSE = "]]"
CONTEXT = 24  # characters shown either side of a span in the list
_SEVERITY = {"info": N_("info"), "warning": N_("warning"), "error": N_("error")}
_ORDERS = {"id": N_("by id (import order)"), "risk": N_("most likely broken first (learned risk)")}
_RANKINGS = {"risk": N_("lowest risk"), "rating": N_("highest mean rating")}


# ------------------------------------------------------------------------------------ span helpers


def valid_span(text: str | None, span: Any) -> tuple[int, int] | None:
    """The finding's (start, end) when it lies inside ``text``, else None (a span of the sample or
    of an older text)."""
    if not text or not span or span[0] is None or span[1] is None:
        return None
    a, b = int(span[0]), int(span[1])
    if not 0 <= a <= b <= len(text):
        return None
    return a, max(b, a)


def in_context(text: str, span: tuple[int, int], width: int = CONTEXT) -> str:
    """``…context[[span]]context…`` on one line (new lines shown as ⏎)."""
    a, b = span
    left = text[max(0, a - width) : a]
    right = text[b : b + width]
    out = (
        ("…" if a > width else "")
        + left
        + OPEN
        + text[a:b]
        + CLOSE
        + right
        + ("…" if b + width < len(text) else "")
    )
    return out.replace("\n", "⏎")


def marked(text: str, *spans: tuple[int, int]) -> str:
    """The whole text with each span marked (spans in text order, not overlapping)."""
    out, at = [], 0
    for a, b in spans:
        out += [text[at:a], OPEN, text[a:b], CLOSE]
        at = b
    return "".join(out) + text[at:]


def finding_spans(text: str, finding: dict[str, Any]) -> list[tuple[int, int]]:
    """Every place a finding points at inside ``text``, in text order: its span and, for a speech
    level finding, each ending of the level that does not fit (``data["endings"]``)."""
    extra = (finding.get("data") or {}).get("endings") or []
    spans: list[tuple[int, int]] = []
    for sp in [finding.get("span"), *(e[:2] for e in extra if isinstance(e, list | tuple))]:
        v = valid_span(text, sp)
        if v is not None and v not in spans:
            spans.append(v)
    spans.sort()
    # overlapping places merge: a mark never opens inside another
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


# ------------------------------------------------------------------------------------ review page


def render_turn_findings(view: dict[str, Any], turn: dict[str, Any]) -> None:
    """Under a turn's finding lines: each open finding with a span shown in its context; a click on
    its number focuses it (the whole turn with the span marked). A spacing finding points at its
    one-click suggestion (engine "spacing") under the Korean text."""
    text = turn["text"] or ""
    found = [
        (f, sps)
        for f in view["findings"]
        if f["turn_idx"] == turn["idx"] and f["state"] == "open" and (sps := finding_spans(text, f))
    ]
    if not found:
        return
    lines = [
        f"[{i}] {check_label(f['check'])}: {in_context(text, sps[0])}"
        + (
            ngettext(" (and {n} more place)", " (and {n} more places)", len(sps) - 1).format(
                n=len(sps) - 1
            )
            if len(sps) > 1
            else ""
        )
        for i, (f, sps) in enumerate(found, 1)
    ]
    st.text("\n".join(lines))
    key = f"rv-focus-{view['id']}-{turn['id']}"
    pick = st.pills(
        _("Show a finding at its place"),
        list(range(1, len(found) + 1)),
        key=key,
        format_func=lambda i: f"{i} · {check_label(found[i - 1][0]['check'])}",
        label_visibility="collapsed",
    )
    if not pick:
        return
    f, sps = found[int(pick) - 1]
    sev = _(_SEVERITY[f["severity"]]) if f["severity"] in _SEVERITY else f["severity"]
    with st.container(border=True, key=f"rv-focused-{view['id']}-{turn['id']}"):
        st.text(
            _("{check} ({severity}) at characters {places}: {message}").format(
                check=check_label(f["check"]),
                severity=sev,
                places=", ".join(f"{a}–{b}" for a, b in sps),
                message=finding_text(f),
            )
        )
        ui.plain(
            marked(text, *sps),
            key=f"{key}-text-v{view['version']}",
            height=ui.text_height(text),
            label=_("The turn, the finding marked [[…]]"),
        )
        if f["check"] == "ko_spacing":
            if any(
                s["turn_id"] == turn["id"] and s["engine"] == korean.SPACING_ENGINE
                for s in view["suggestions"]
            ):
                st.text(
                    _("The corrected spacing is offered under the Korean text: Use suggestion.")
                )
            else:
                st.text(
                    _("No open spacing suggestion for this turn (a lead's Korean run offers one).")
                )


def _use_fix(actor: Actor, fix_id: int, turn_id: int, version: int) -> None:
    try:
        with ui.session() as s:
            tm.use_fix(s, actor, fix_id, turn_id, version)
    except StaleVersion:
        st.session_state["rv_notice"] = _(
            "The sample changed meanwhile; nothing was applied. Look again."
        )
    except KocurateError as exc:
        st.session_state["rv_notice"] = str(exc)


def _sample_offers(actor: Actor, view: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample's offers, read once per sample version (and again after a minute: new kept
    fixes)."""
    key = (view["id"], view["version"], int(time.time() // 60))
    memo = st.session_state.get("rv_tm_offers")
    if not memo or memo[0] != key:
        with ui.session() as s:
            memo = (key, tm.offers_for_sample(s, actor, view["id"]))
        st.session_state["rv_tm_offers"] = memo
    return memo[1]


def render_fix_offers(
    actor: Actor, view: dict[str, Any], turn: dict[str, Any], read_only: bool
) -> None:
    """Lead-kept fixes (translation memory) that apply to this turn: old → new, one click
    applies."""
    if read_only or not actor.can("edit"):
        return
    offers = [o for o in _sample_offers(actor, view) if o["turn_id"] == turn["id"]]
    for o in offers:
        with st.container(border=True, key=f"rv-tm-{view['id']}-{turn['id']}-{o['fix_id']}"):
            st.text(
                ngettext(
                    "Kept fix {id}: {old} → {new} ({n} place)",
                    "Kept fix {id}: {old} → {new} ({n} places)",
                    o["occurrences"],
                ).format(id=o["fix_id"], old=o["old"], new=o["new"], n=o["occurrences"])
                + (
                    " · " + _("English: {phrase}").format(phrase=o["en_phrase"])
                    if o["en_phrase"]
                    else ""
                )
            )
            st.button(
                _("Apply the fix"),
                key=f"rv-tm-go-{view['id']}-{turn['id']}-{o['fix_id']}",
                on_click=_use_fix,
                args=(actor, o["fix_id"], turn["id"], view["version"]),
            )


def render_queue_order(actor: Actor, dataset_id: int) -> None:
    """Sidebar (leads): the dataset's queue order, by id or most likely broken first."""
    if not actor.can("configure"):
        return
    with ui.session() as s:
        now = queue_order.get_order(s, dataset_id)
        share = queue_order.scored_share(s, dataset_id)
    order = st.selectbox(
        _("Queue order"),
        list(queue_order.ORDERS),
        index=queue_order.ORDERS.index(now),
        format_func=lambda o: _(_ORDERS[o]),
        key=f"rv_order_{dataset_id}",
        help=_(
            "For everyone reviewing this dataset. Samples without a risk score come last "
            "(train the risk model on the QA page)."
        ),
    )
    if order == "risk":
        st.caption(_("{scored:,} of {samples:,} samples have a risk score").format(**share))
    if order != now:
        with ui.shows_errors(), ui.session() as s:
            queue_order.set_order(s, actor, dataset_id, order)


# ------------------------------------------------------------------------------------ checks page


def render_korean_run(actor: Actor, dataset_id: int) -> None:
    """The deep Korean run of a dataset: a button (leads) that starts it as a background job, and
    the latest job's progress and result."""
    st.subheader(_("Korean checks (deep run)"))
    st.caption(
        _(
            "Speech level, translationese, particles, spacing, leftover scripts, lost tasks: a"
            " slower run in worker processes. Spacing corrections become suggestions."
        )
    )
    if actor.can("check") and st.button(
        _("Run the Korean checks"), key="ck_korean_go", icon=":material/translate:"
    ):
        with ui.shows_errors():
            with ui.session() as s:
                job_id = korean.start_korean_job(s, actor, dataset_id)
            jobs.start_thread(ui.engine(), job_id)
            st.success(_("Started Korean check job {job}.").format(job=job_id))
    with ui.session() as s:
        j = korean.latest_korean_job(s, dataset_id)
    if j is None:
        st.text(_("No Korean run yet on this dataset."))
        return
    state = ui.job_status_label(j["status"])
    if j["dead"]:
        state = _("{status} (its worker is gone)").format(status=state)
    st.text(
        ngettext(
            "Korean check job {job}: {status} · {done:,} of {total:,} sample",
            "Korean check job {job}: {status} · {done:,} of {total:,} samples",
            j["total"],
        ).format(job=j["id"], status=state, done=j["done"], total=j["total"])
    )
    if j["status"] in ("queued", "running") and not j["dead"]:
        st.progress(min(1.0, j["done"] / max(1, j["total"])))
        st.button(_("Refresh"), key="ck_korean_refresh")
    res = j["result"]
    if j["status"] == "done" and "findings" in res:
        st.text(
            _(
                "{findings:,} findings, {suggestions:,} spacing suggestions in {seconds:.1f}s"
            ).format(
                findings=res["findings"],
                suggestions=res.get("suggestions", 0),
                seconds=res.get("seconds", 0.0),
            )
        )
        by = res.get("by_check") or {}
        if by:
            st.dataframe(
                [{"check": k, "findings": v} for k, v in sorted(by.items(), key=lambda x: -x[1])],
                hide_index=True,
                key="ck_korean_table",
                column_config={"check": _("check"), "findings": _("findings")},
            )
    elif j["status"] == "failed" and j["message"]:
        st.error(j["message"])


# ------------------------------------------------------------------------------------ dashboard


def render_dataset_quality(actor: Actor, dataset_id: int | None) -> None:
    """One dataset's Korean speech level (dominant, distribution, target) and what decisions say
    about the checks (precision) and the machine translation (chrF++)."""
    st.subheader(_("Speech level, check precision and chrF++"))
    if dataset_id is None:
        st.info(_("Choose one dataset above to see its speech level, check precision and chrF++."))
        return
    with ui.shows_errors(), ui.session() as s:
        lv = korean.speech_levels(s, dataset_id)
        prec = risk.check_precision(s, actor, dataset_id)
    names = {k: f"{LEVEL_NAMES[k]} ({k})" for k in LEVELS}
    if lv["dominant"]:
        st.text(
            _(
                "Dominant speech level of the assistant: {level} over {n:,} sampled turns ({at})"
            ).format(
                level=names[lv["dominant"]], n=lv["sampled_turns"], at=lv["computed_at"] or "-"
            )
        )
        st.dataframe(
            [
                {
                    "level": names[k],
                    "sentences": lv["sentences"].get(k, 0),
                    "turns": lv["turns"].get(k, 0),
                }
                for k in LEVELS
            ],
            hide_index=True,
            key="db-levels",
            column_config={
                "level": _("speech level"),
                "sentences": _("sentences"),
                "turns": _("turns (mostly)"),
            },
        )
    else:
        st.text(_("Speech level: unknown (run the Korean checks on the Checks page)."))
    st.text(
        _("Target level: {level}").format(level=names[lv["target"]] if lv["target"] else _("none"))
    )
    if actor.can("check"):
        options = ["", *LEVELS]
        default = lv["target"] or lv["dominant"] or ""
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox(
            _("Target speech level (other levels become findings)"),
            options,
            index=options.index(default),
            key=f"db-target-level-{dataset_id}",
            format_func=lambda k: names[k] if k else _("none"),
        )
        if c2.button(
            _("Set target"),
            key=f"db-target-level-go-{dataset_id}",
            disabled=(pick or None) == lv["target"],
        ):
            with ui.shows_errors(), ui.session() as s:
                korean.set_target_level(s, actor, dataset_id, pick or None)
            st.rerun()
    if prec:
        st.dataframe(
            [
                {**r, "precision": None if r["precision"] is None else round(r["precision"], 3)}
                for r in prec
            ],
            hide_index=True,
            key="db-check-precision",
            column_config={
                "check": _("check"),
                "samples": _("samples hit"),
                "decided": _("decided"),
                "true_positive": _("edited or rejected"),
                "false_positive": _("approved unchanged"),
                "precision": _("precision"),
            },
        )
    else:
        st.text(_("Check precision: no findings on this dataset yet."))
    key = f"db-chrf-{dataset_id}"
    if st.button(_("Compute chrF++ of the machine translation"), key=f"{key}-go"):
        with ui.shows_errors(), ui.session() as s:
            st.session_state[key] = risk.dataset_chrf(s, actor, dataset_id)
    c = st.session_state.get(key)
    if c is not None:
        st.text(
            _(
                "chrF++ {chrf} over {turns} turns of approved samples ({unchanged} unchanged)"
            ).format(
                chrf=f"{c['chrf_pp']:.2f}", turns=f"{c['turns']:,}", unchanged=f"{c['unchanged']:,}"
            )
            if c["chrf_pp"] is not None
            else _("No approved samples yet.")
        )


# ------------------------------------------------------------------------------------ export page


def export_best_option(target: int) -> dict[str, Any]:
    """ "The best N" of the export: the target size N taken by a ranking (lowest risk first).
    Returns the ExportSpec fields (``best``, ``best_by``); empty when not chosen."""
    on = st.checkbox(
        _("Take the best N (N = the target size)"),
        value=False,
        key="ex_best",
        disabled=target <= 0,
        help=_("Needs a target size. Samples without a score come last."),
    )
    keys = sorted(RANKINGS)
    by = st.selectbox(
        _("Best by"),
        keys,
        key="ex_best_by",
        disabled=not on or target <= 0,
        format_func=lambda k: _(_RANKINGS[k]) if k in _RANKINGS else k,
    )
    if not on or target <= 0:
        return {}
    return {"best": int(target), "best_by": by}
