"""Streamlit widgets of issue 21 B (gold samples, quality ratings), called by pages in one line
each.

* ``render_review_panel(actor, view, read_only)`` — on the Review page beside the decision: the
  quality ratings of the sample (when the dataset has them on) typed as digits, and for leads the
  gold control (mark / change / remove the expected answer; the dataset's gold rate, bar and
  ratings switch). Annotators never see whether a sample is gold.
* ``render_gold_accuracy(actor, dataset_id)`` — Dashboard: accuracy on gold per annotator
  (decision, per flag category) with Wilson 95 % intervals, and who is below the bar.
* ``render_ratings_agreement(actor, dataset_id)`` — Dashboard: per criterion mean, weighted kappa
  and Krippendorff's alpha.
* ``export_options()`` — Export page: "include gold samples" and "best N by mean rating".

Keyboard: the ratings field takes one digit per criterion in rubric order (문법성 사실성 유창성
다양성), ``-`` skips one, Enter saves; Alt+R jumps into the field. Digits typed in a text field
never reach the action bar's Alt shortcuts, so nothing collides.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from . import ui
from .errors import KocurateError
from .i18n import N_, _
from .models import DECISIONS, ETHICS_FLAGS, QUALITY_FLAGS
from .services import gold, ratings
from .services.auth import Actor

CRITERION_LABELS = {
    "grammaticality": N_("grammaticality"),
    "factuality": N_("factuality"),
    "fluency": N_("fluency"),
    "diversity": N_("diversity"),
}
_DECISION_LABELS = {"approve": N_("approve"), "reject": N_("reject"), "needs_fix": N_("needs fix")}
RATING_SHORTCUT = "Alt+R"

_FOCUS_JS = """
<script>
(function () {
  const w = window.parent || window;
  if (!w || w.__kocurateRatingFocus) return;
  w.__kocurateRatingFocus = true;
  const script = w.document.createElement("script");
  script.textContent = `
    window.addEventListener("keydown", function (e) {
      if (!e.altKey || e.code !== "KeyR") return;
      const box = document.querySelector(".st-key-rv-ratings input");
      if (box) { e.preventDefault(); box.focus(); box.select(); }
    }, true);`;
  w.document.head.appendChild(script);
})();
</script>
"""


def _crit(code: str) -> str:
    return _(CRITERION_LABELS[code]) if code in CRITERION_LABELS else code


def shortcut_hint() -> str:
    """The ratings' keyboard use, for the Review page's shortcut line."""
    return _("rate {key}, then digits 1-5 in order ({order}), - skips, Enter saves").format(
        key=RATING_SHORTCUT, order=" ".join(_crit(c) for c in ratings.CRITERIA)
    )


# ---------------------------------------------------------------------------------------------
# review


def render_review_panel(actor: Actor, view: dict[str, Any], read_only: bool) -> None:
    """Ratings (when on for the dataset) and, for leads, the gold control of the sample on
    screen."""
    sid, ds_id = int(view["id"]), int(view["dataset_id"])
    with ui.session() as s:
        on = ratings.enabled(s, ds_id)
        mine = ratings.my_ratings(s, actor, sid) if on and actor.id is not None else {}
    if on:
        _ratings_row(actor, sid, mine, read_only)
    if actor.can("configure"):
        _gold_control(actor, view)


def _digits(mine: dict[str, int]) -> str:
    return "".join(str(mine[c]) if c in mine else "-" for c in ratings.CRITERIA).rstrip("-")


def _save_ratings(actor: Actor, sid: int, key: str) -> None:
    try:
        scores = ratings.parse_keys(str(st.session_state.get(key) or ""))
        # criteria typed as "-" (or left off the end) are cleared: the field is the whole rating
        scores = {c: scores.get(c) for c in ratings.CRITERIA}
        with ui.session() as s:
            ratings.rate(s, actor, sid, scores)
        st.session_state["rt_notice"] = None
    except KocurateError as exc:
        st.session_state["rt_notice"] = str(exc)


def _ratings_row(actor: Actor, sid: int, mine: dict[str, int], read_only: bool) -> None:
    st.html(_FOCUS_JS, unsafe_allow_javascript=True)
    with st.container(border=True, key="rv-ratings"):
        c1, c2 = st.columns([2, 3])
        digits = _digits(mine)
        key = f"rt-{sid}-{digits or 'none'}"
        c1.text_input(
            _("Quality rating (1-5 per criterion)"),
            value=digits,
            key=key,
            max_chars=7,
            disabled=read_only or actor.id is None,
            placeholder="4353",
            on_change=_save_ratings,
            args=(actor, sid, key),
            help=shortcut_hint(),
        )
        shown = " · ".join(f"{_crit(c)} {mine.get(c, '–')}" for c in ratings.CRITERIA)
        c2.text(_("My rating: {scores}").format(scores=shown))
        notice = st.session_state.get("rt_notice")
        if notice:
            c2.error(notice)


def _gold_control(actor: Actor, view: dict[str, Any]) -> None:
    sid, ds_id = int(view["id"]), int(view["dataset_id"])
    with ui.session() as s:
        g = gold.get(s, actor, sid)
        conf = gold.settings(s, ds_id)
        rt_on = ratings.enabled(s, ds_id)
    title = (
        _("Gold sample (leads): expected {decision}").format(
            decision=_(_DECISION_LABELS[g["decision"]])
        )
        if g
        else _("Gold sample (leads)")
    )
    with st.expander(title, expanded=False, key="rv-gold"):
        if g:
            st.text(
                _("Gold: expected {decision}; flags {flags}; {n} answer(s) scored.").format(
                    decision=_(_DECISION_LABELS[g["decision"]]),
                    flags=", ".join(ui.flag_label(f) for f in g["flags"]) or _("none"),
                    n=g["answers"],
                )
            )
        dec = st.selectbox(
            _("Expected decision"),
            [d for d in DECISIONS if d != "skip"],
            index=[d for d in DECISIONS if d != "skip"].index(g["decision"]) if g else 0,
            format_func=lambda d: _(_DECISION_LABELS[d]),
            key=f"gd-dec-{sid}",
        )
        flags = st.multiselect(
            _("Expected flags"),
            list(ETHICS_FLAGS + QUALITY_FLAGS),
            default=g["flags"] if g else [],
            format_func=ui.flag_label,
            key=f"gd-flags-{sid}",
        )
        texts: dict[int, str] = {}
        for t in view["turns"]:
            texts[t["idx"]] = st.text_area(
                _("Expected text of turn {n} (optional)").format(n=t["idx"] + 1),
                value=(g["texts"].get(t["idx"], "") if g else ""),
                key=f"gd-text-{sid}-{t['idx']}",
                height=68,
            )
        note = st.text_input(_("Note"), value=(g or {}).get("note") or "", key=f"gd-note-{sid}")
        b1, b2 = st.columns(2)
        if b1.button(
            _("Save as gold") if not g else _("Update gold"),
            key=f"gd-save-{sid}",
            icon=":material/star:",
        ):
            with ui.shows_errors(), ui.session() as s:
                gold.mark(s, actor, sid, dec, flags, texts, note)
                st.toast(_("Saved as gold."))
        if g and b2.button(_("Remove gold"), key=f"gd-remove-{sid}"):
            with ui.shows_errors(), ui.session() as s:
                gold.unmark(s, actor, sid)
                st.toast(_("No longer gold."))
        st.divider()
        st.text(_("This dataset"))
        c1, c2, c3 = st.columns(3)
        rate = c1.number_input(
            _("Gold in queues (%)"),
            0.0,
            50.0,
            float(conf["rate"]) * 100,
            1.0,
            key=f"gd-rate-{ds_id}",
        )
        bar = c2.number_input(
            _("Bar: min accuracy (%) (0 = none)"),
            0.0,
            100.0,
            float(conf["min_accuracy"] or 0) * 100,
            5.0,
            key=f"gd-bar-{ds_id}",
            help=_(
                "Below it (after the minimum answers), a person's decided samples need "
                "one more reviewer at or above the bar before they settle."
            ),
        )
        min_n = c3.number_input(
            _("Bar: min gold answers"), 1, 1000, int(conf["min_answers"]), 1, key=f"gd-min-{ds_id}"
        )
        rt = st.toggle(_("Quality ratings on for this dataset"), value=rt_on, key=f"gd-rt-{ds_id}")
        if st.button(_("Apply dataset settings"), key=f"gd-apply-{ds_id}"):
            with ui.shows_errors(), ui.session() as s:
                gold.set_rate(s, actor, ds_id, rate / 100)
                gold.set_bar(s, actor, ds_id, bar / 100 if bar > 0 else None, int(min_n))
                ratings.set_enabled(s, actor, ds_id, bool(rt))
                st.toast(_("Settings saved."))


# ------------------------------------------------------------------------------------------
# dashboard


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _ci(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{100 * ci[0]:.0f}–{100 * ci[1]:.0f}%"


def render_gold_accuracy(actor: Actor, dataset_id: int | None) -> None:
    """Leads: accuracy on gold per annotator, with Wilson 95 % intervals."""
    if not actor.can("view_stats"):
        return
    with st.container(key="db-gold"):
        st.subheader(_("Accuracy on gold samples"))
        with ui.shows_errors(), ui.session() as s:
            rows = gold.report(s, actor, dataset_id)
            waiting = (
                gold.waiting_second_review(s, actor, dataset_id) if dataset_id is not None else None
            )
        if not rows:
            st.info(
                _(
                    "No answers on gold samples yet (a lead marks gold on the Review page or with "
                    "`kocurate gold add`)."
                )
            )
            return
        table = []
        for r in rows:
            wrong = [
                f"{ui.flag_label(c)} {_pct(v['accuracy'])}"
                for c, v in r["flags"].items()
                if v["accuracy"] < 1
            ]
            table.append(
                {
                    _("annotator"): r["user"],
                    _("gold answers"): r["answers"],
                    _("decision accuracy"): _pct(r["decision_accuracy"]),
                    _("95% interval"): _ci(r["decision_ci"]),
                    _("flags below 100%"): ", ".join(wrong) or "-",
                    _("text similarity"): (
                        "-" if r["text_similarity"] is None else f"{r['text_similarity']:.2f}"
                    ),
                    _("below the bar"): _("yes") if r["below_bar"] else "",
                }
            )
        st.table(
            pd.DataFrame(table).set_index(_("annotator"))
        )  # a small HTML table (plain text cells)
        per_flag = [
            {
                _("annotator"): r["user"],
                _("flag"): ui.flag_label(c),
                _("answers"): v["answers"],
                _("accuracy"): _pct(v["accuracy"]),
                _("95% interval"): _ci(v["ci"]),
            }
            for r in rows
            for c, v in r["flags"].items()
        ]
        with st.expander(_("Accuracy per flag category"), key="db-gold-flags"):
            st.table(pd.DataFrame(per_flag))
        if waiting is not None:
            st.text(_("Samples waiting for a second review (bar): {n}").format(n=waiting))
        else:
            st.caption(
                _("Pick one dataset to see its bar and the samples waiting for a second review.")
            )


def render_ratings_agreement(actor: Actor, dataset_id: int | None) -> None:
    """Leads: per criterion mean, quadratic-weighted kappa and Krippendorff's alpha."""
    if not actor.can("view_stats"):
        return
    with st.container(key="db-ratings"):
        st.subheader(_("Quality ratings: agreement"))
        with ui.shows_errors(), ui.session() as s:
            rows = ratings.summary(s, actor, dataset_id)
        if not any(r["ratings"] for r in rows):
            st.info(_("No quality ratings yet (a lead switches them on per dataset)."))
            return

        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        st.table(
            pd.DataFrame(
                [
                    {
                        _("criterion"): _crit(r["criterion"]),
                        _("ratings"): r["ratings"],
                        _("samples"): r["samples"],
                        _("raters"): r["raters"],
                        _("mean"): f(r["mean"]),
                        _("weighted kappa"): f(r["kappa"]),
                        _("alpha (ordinal)"): f(r["alpha_ordinal"]),
                        _("alpha (interval)"): f(r["alpha_interval"]),
                    }
                    for r in rows
                ]
            ).set_index(_("criterion"))
        )
        st.caption(
            _(
                "Weighted kappa: quadratic weights, per pair of raters on the samples both rated,"
                " averaged over pairs. Krippendorff's alpha: all raters, missing ratings allowed."
            )
        )


# ---------------------------------------------------------------------------------------------
# export


def export_options() -> tuple[bool, int | None]:
    """Export page: (include gold samples, best N by mean rating or None)."""
    include_gold = st.checkbox(
        _("Include gold samples"),
        value=False,
        key="ex_gold",
        help=_("Gold samples measure annotators; they are left out unless asked."),
    )
    best = st.number_input(
        _("Only the best N by mean quality rating (0 = off)"),
        min_value=0,
        value=0,
        step=100,
        key="ex_best_rated",
        help=_(
            "Rated samples only, best mean over all criteria first; equal means: lower "
            "learned risk first."
        ),
    )
    return bool(include_gold), int(best) or None
