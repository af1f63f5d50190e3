"""Review: work through a queue, English | Korean side by side, edit, flag, decide.

Layout and widgets only; every action calls kocurate.services (review, drafts, translate).
The sample on screen lives in the URL (?sample=ID), so a reload or a shared link opens it again.

Speed: the sample view and its action bar are one ``st.fragment``: Next, Save and the decisions
rerun only the fragment, not the sidebar and the page around it (KOCURATE_REVIEW_FRAGMENTS=0 turns
that off: the full-page-rerun baseline of ``benchmarks/ui.py``).

Never lose typed work: text a person types is stored as a server-side draft when the browser sends
it (on leaving the field) and before every navigation; it comes back over the saved text, marked
"draft — not saved". Buttons carry the sample in their key, so a late second click of "Approve &
next" can only ever act on the sample whose buttons were on screen; decisions carry the version
seen.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any, NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException

from kocurate import config, ui, ui_curate, ui_gold, ui_guidance, ui_llm, ui_speed
from kocurate.checks.texts import check_label, flag_note_text
from kocurate.errors import KocurateError, StaleVersion
from kocurate.i18n import N_, _, finding_text, message, ngettext
from kocurate.models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES, utcnow
from kocurate.services import catalog
from kocurate.services import datasets as ds_service
from kocurate.services import drafts as drafts_service
from kocurate.services import llm as llm_service
from kocurate.services import review as rv
from kocurate.services import translate as tr
from kocurate.services.filters import LINK_FIELDS
from kocurate.unsaved import UnsavedEdits

CHECKS = catalog.checks()

ALL_FLAGS = list(ETHICS_FLAGS + QUALITY_FLAGS)
SHORTCUTS = {
    "save": "Alt+S",
    "approve": "Alt+A",
    "approve_next": "Alt+Enter",
    "reject": "Alt+X",
    "needs_fix": "Alt+F",
    "skip": "Alt+K",
    "next": "Alt+N",
    "prev": "Alt+P",
}
FRAGMENTS = os.environ.get("KOCURATE_REVIEW_FRAGMENTS", "1") != "0"
BAR = {
    "prev": (N_("Previous"), "arrow_back"),
    "next": (N_("Next"), "arrow_forward"),
    "save": (N_("Save"), "save"),
    "approve": (N_("Approve"), "check"),
    "approve_next": (N_("Approve & next"), "done_all"),
    "reject": (N_("Reject"), "close"),
    "needs_fix": (N_("Needs fix"), "build"),
    "skip": (N_("Skip"), "skip_next"),
}
# what a code is called on screen (the codes stay the options and what the services get)
SHORTCUT_NAMES = {
    "save": N_("save"),
    "approve": N_("approve"),
    "approve_next": N_("approve next"),
    "reject": N_("reject"),
    "needs_fix": N_("needs fix"),
    "skip": N_("skip"),
    "next": N_("next"),
    "prev": N_("prev"),
}
DECISION_LABELS = {
    "approve": N_("approve"),
    "reject": N_("reject"),
    "needs_fix": N_("needs fix"),
    "skip": N_("skip"),
}
REASON_LABELS = {
    "mistranslation": N_("mistranslation"),
    "untranslated": N_("untranslated"),
    "misaligned": N_("misaligned"),
    "unethical": N_("unethical"),
    "low quality": N_("low quality"),
    "duplicate": N_("duplicate"),
    "incomplete": N_("incomplete"),
    "other": N_("other"),
}
RULE_LABELS = {
    "unanimous": N_("unanimous"),
    "majority": N_("majority"),
    "any-reject": N_("any-reject"),
}
SOURCE_LABELS = {"any": N_("any"), "with": N_("with"), "without": N_("without")}
FIELD_LABELS = {"text": N_("Korean"), "source_text": N_("English")}
SEVERITY_LABELS = {"info": N_("info"), "warning": N_("warning"), "error": N_("error")}
STATE_LABELS = {
    "open": N_("open"),
    "active": N_("active"),
    "confirmed": N_("confirmed"),
    "cleared": N_("cleared"),
    "resolved": N_("resolved"),
}  # flags' and findings' states
EDIT_KINDS = {"manual": N_("manual"), "machine": N_("machine"), "restore": N_("restore")}
ORIGIN_LABELS = {
    "annotator": N_("annotator"),
    "check": N_("check"),
    "model": N_("model"),
}  # who set a flag
MIN_DWELL_S = 0.7  # decisions sooner than this after a sample opens are taken as a double press
PROGRESS_REFRESH_S = (
    120  # the queue is counted again after this long (decisions are subtracted meanwhile)
)


actor = ui.require_actor()
llm_on = llm_service.configured()  # LLM actions appear only when the team has set an endpoint
ui.style()
ui.commit_text_on_shortcuts([v.split("+")[-1] for v in SHORTCUTS.values()])
S = st.session_state
edits = UnsavedEdits(S)  # unsaved texts and flags of the sample on screen


@st.cache_data(ttl=20, show_spinner=False)
def dataset_list(url: str) -> list[dict[str, Any]]:
    """Datasets with counts per status (one GROUP BY); shared by every session for a few seconds."""
    with ui.session() as s:
        return ds_service.list_datasets(s)


@st.cache_data(ttl=30, show_spinner=False)
def pending_drafts(url: str, _actor: Any) -> dict[int, dict[str, Any]]:
    with ui.session() as s:
        return {r["dataset_id"]: r for r in drafts_service.pending_counts(s, _actor)}


# ---------------------------------------------------------------------------------- which sample
linked = ui.query_int("sample")
if linked is not None and linked != S.get("rv_sample"):
    S["rv_sample"] = linked
    S["rv_opened"] = time.time()
    S["rv_linked"] = True
sid0: int | None = S.get("rv_sample")
if linked is None and sid0 is not None:
    st.query_params["sample"] = str(
        sid0
    )  # back from another page: keep the URL a working deep link
brief: dict[str, Any] | None = None
if sid0 is not None:
    try:
        with ui.session() as s:
            if S.pop("rv_linked", False):
                rv.claim(
                    s, actor, sid0
                )  # best effort: a deep link reserves the sample when it is free
            brief = rv.sample_brief(s, actor, sid0)
    except KocurateError as exc:
        st.error(message(exc))
        S.pop("rv_sample", None)

datasets = dataset_list(config.db_url())
if not datasets:
    st.info(_("No datasets yet. A lead imports one (Import page or `kocurate import`)."))
    st.stop()
ds_names = {
    d["id"]: (
        _("{name} · {new} new of {samples}").format(
            name=d["name"], new=d["new"], samples=d["samples"]
        )
    )
    for d in datasets
}
# Links from the dashboard, the checks page and job cards open a queue:
# ?dataset=ID&status=…&flag=…&check=…&suggestion=open&job=JOBID
_link = {k: st.query_params.get(k) for k in LINK_FIELDS}
if any(_link.values()) and S.get("rv_link_applied") != _link:
    S["rv_link_applied"] = _link
    if (_link["dataset"] or "").isdigit() and int(_link["dataset"]) in ds_names:
        S["rv_ds"] = int(_link["dataset"])
        S["rv_ds_synced"] = brief["id"] if brief is not None else None
    if _link["status"] in (*STATUSES, "any"):
        S["rv_f_status"] = _link["status"]
    if _link["flag"] in ALL_FLAGS:
        S["rv_f_flag"] = _link["flag"]
    if _link["check"] in CHECKS:
        S["rv_f_check"] = _link["check"]
    if _link["suggestion"] == "open":
        S["rv_f_sugg"] = True
        if not _link["status"]:
            S["rv_f_status"] = "any"
    if (_link["job"] or "").isdigit():
        S["rv_f_job"] = int(_link["job"])
        if not _link["status"]:
            S["rv_f_status"] = "any"
if brief is not None and S.get("rv_ds_synced") != brief["id"]:
    S["rv_ds"] = brief[
        "dataset_id"
    ]  # the queue follows a newly opened sample (links, search results)
    S["rv_ds_synced"] = brief["id"]
if S.get("rv_ds") not in ds_names:
    S.pop("rv_ds", None)

# ---------------------------------------------------------------------------------------- queue
# the sidebar's further filters and their "off" values; their widgets are drawn only while the
# "More filters" panel is open, so their values are kept here (a widget's value is dropped on the
# first full run without it, unless it is set again as plain session state)
MORE_FILTERS: dict[str, Any] = {
    "rv_f_text": "",
    "rv_f_min": 0,
    "rv_f_max": 0,
    "rv_f_src": "any",
    "rv_f_conf": 1.0,
    "rv_f_sugg": False,
    "rv_f_job": 0,
    "rv_f_mine": False,
}
for _k, _v in MORE_FILTERS.items():
    S[_k] = S[_k] if _k in S else _v


def queue_settings(prefs: dict[str, Any]) -> None:
    """The sidebar's Settings panel: this person's preference; for leads the queue's overlap,
    decision rule and order."""
    stay = st.toggle(
        _("Stay on the sample after Reject / Needs fix"),
        value=bool(prefs["stay_after_decision"]),
        key="rv_pref_stay",
    )
    if stay != prefs["stay_after_decision"] and actor.id is not None:
        with ui.shows_errors(), ui.session() as s:
            rv.set_prefs(s, actor, stay_after_decision=bool(stay))
        S["rv_stay"] = bool(stay)
    if not actor.can("configure"):
        return
    current = next(d for d in datasets if d["id"] == ds_id)
    with ui.session() as s:
        rule_now = ds_service.get_dataset(s, ds_id).decision_rule
    k = st.number_input(
        _("Annotators per sample (overlap)"),
        1,
        rv.MAX_OVERLAP,
        value=current["overlap"],
        key="rv_k",
    )
    rule = st.selectbox(
        _("Decision rule"),
        rv.DECISION_RULES,
        index=rv.DECISION_RULES.index(rule_now),
        key="rv_rule",
        format_func=lambda x: ui.label(RULE_LABELS, x),
        help=_(
            "How the decisions of the overlapping reviewers settle a sample; "
            "a disagreement makes it disputed until a lead adjudicates."
        ),
    )
    if (k != current["overlap"] or rule != rule_now) and st.button(
        _("Apply queue settings"), key="rv_set_k"
    ):
        with ui.shows_errors(), ui.session() as s:
            rv.set_overlap(s, actor, ds_id, int(k))
            rv.set_decision_rule(s, actor, ds_id, rule)
        dataset_list.clear()
        st.rerun()
    ui_curate.render_queue_order(actor, ds_id)  # most likely broken first


status_choices = ["new", *[x for x in STATUSES if x not in ("new", "disputed")], "any"]
if actor.can("adjudicate"):
    status_choices.insert(1, "disputed")  # the adjudication queue
if S.get("rv_f_status") not in (None, *status_choices):
    S["rv_f_status"] = "new"
with st.sidebar:
    st.subheader(_("Queue"))
    ds_id = st.selectbox(
        _("Dataset"), list(ds_names), format_func=lambda i: ds_names[i], key="rv_ds"
    )
    status = st.selectbox(
        _("Status"),
        status_choices,
        key="rv_f_status",
        format_func=lambda x: _("disputed (adjudicate)") if x == "disputed" else ui.status_label(x),
    )
    flag = st.selectbox(
        _("Flag"),
        ["", *ALL_FLAGS],
        format_func=lambda c: ui.flag_label(c) if c else _("any"),
        key="rv_f_flag",
    )
    if CHECKS:
        check = st.selectbox(
            _("Automatic check"),
            ["", *sorted(CHECKS)],
            key="rv_f_check",
            format_func=lambda c: check_label(c) if c else _("any"),
        )
    else:
        check = st.text_input(_("Automatic check (name)"), key="rv_f_check")
    # the label stays the same: an expander whose label changes is drawn anew, closed (typing a
    # filter would shut the panel); how many are on is said under it instead
    more = st.expander(
        _("More filters"),
        key="rv-more-filters",
        on_change="rerun",
        icon=":material/filter_list:",
    )
    n_more = sum(S.get(k) != v for k, v in MORE_FILTERS.items())
    if n_more and not more.open:
        st.caption(
            ngettext("{n} further filter on", "{n} further filters on", n_more).format(n=n_more)
        )
    if more.open:  # drawn only while open: every widget on the page is redrawn on each click
        with more:
            st.text_input(_("Text contains"), key="rv_f_text")
            c1, c2 = st.columns(2)
            c1.number_input(_("Min chars"), min_value=0, step=100, key="rv_f_min")
            c2.number_input(_("Max chars (0 = ∞)"), min_value=0, step=100, key="rv_f_max")
            st.selectbox(
                _("English source"),
                ["any", "with", "without"],
                key="rv_f_src",
                format_func=lambda x: ui.label(SOURCE_LABELS, x),
            )
            st.slider(_("Max alignment confidence"), 0.0, 1.0, step=0.05, key="rv_f_conf")
            st.toggle(_("Has an open suggestion"), key="rv_f_sugg")
            st.number_input(
                _("Suggestions of DeepL job (0 = any)"), min_value=0, step=1, key="rv_f_job"
            )
            st.toggle(_("Assigned to me"), key="rv_f_mine")
    text_q, min_len, max_len = S["rv_f_text"], S["rv_f_min"], S["rv_f_max"]
    has_source, max_conf, sugg = S["rv_f_src"], S["rv_f_conf"], S["rv_f_sugg"]
    job, mine = S["rv_f_job"], S["rv_f_mine"]
    with ui.session() as s:
        prefs = rv.get_prefs(s, actor) if actor.id is not None else dict(rv.PREF_DEFAULTS)
    S["rv_stay"] = bool(prefs["stay_after_decision"])
    settings = st.expander(
        _("Settings"), key="rv-settings", on_change="rerun", icon=":material/tune:"
    )
    if settings.open:
        with settings:
            queue_settings(prefs)
    if actor.can("view_stats"):
        pend = pending_drafts(config.db_url(), actor).get(ds_id)
        st.text(
            ngettext(
                "Unsaved drafts here: {drafts} by {people} person",
                "Unsaved drafts here: {drafts} by {people} people",
                pend["people"],
            ).format(drafts=pend["drafts"], people=pend["people"])
            if pend
            else _("Unsaved drafts here: none")
        )
    st.caption(
        _("Shortcuts: {keys}").format(
            keys=" · ".join(f"{_(SHORTCUT_NAMES[k])} {v}" for k, v in SHORTCUTS.items())
        )
    )
    st.caption(ui_gold.shortcut_hint())

filters = rv.QueueFilter(
    status=None if status == "any" else status,
    flag=flag or None,
    check=(check or "").strip() or None,
    text=text_q.strip() or None,
    min_len=int(min_len) or None,
    max_len=int(max_len) or None,
    has_source={"any": None, "with": True, "without": False}[has_source],
    max_confidence=None if max_conf >= 1.0 else float(max_conf),
    mine=mine,
    suggestion="open" if sugg else None,
    job=int(job) or None,
)
queue_key = repr((ds_id, filters))
ui_guidance.guidelines_panel(
    actor, ds_id
)  # issue 21: the guidelines (banner until a new version is read)


# ------------------------------------------------------------------------------------- helpers
def wkey(view: dict[str, Any], kind: str, item: int | str, version: int | None = None) -> str:
    return edits.key(view, kind, item, version)


def pending(view: dict[str, Any] | None) -> dict[str, Any]:
    return edits.pending(view)


has_changes = UnsavedEdits.has_changes


def apply(s: Any, view: dict[str, Any], p: dict[str, Any], version: int) -> int:
    """Save texts and flags in one transaction; every write checks the version it is based on."""
    edited = False
    for field in ("text", "source_text"):
        for turn_id, value in p[field].items():
            version = rv.save_edit(
                s, actor, view["id"], turn_id, value, version, field=field, recheck=False
            )
            edited = True
    if edited:
        from kocurate.services import recheck

        recheck.recheck_sample(s, view["id"])  # once for all turns of this save
    if p["flags"] is not None:
        version = rv.set_flags(s, actor, view["id"], p["flags"], expected_version=version)
    return version


def stash_drafts(view: dict[str, Any] | None) -> None:
    """Before any navigation: what is typed and not saved becomes a draft (never thrown away)."""
    p = pending(view)
    if view is None or not (p["text"] or p["source_text"]):
        return
    try:
        with ui.session() as s:
            for field in ("text", "source_text"):
                for turn_id, value in p[field].items():
                    drafts_service.save_draft(
                        s, actor, view["id"], turn_id, value, p["version"], field=field
                    )
    except KocurateError as exc:
        S["rv_notice"] = message(exc)


def on_type(sample_id: int, turn_id: int, field: str, key: str, version: int) -> None:
    """A text area was left: keep what it holds as a draft at once (server-side)."""
    value = S.get(key)
    if value is None:
        return
    try:
        with ui.session() as s:
            drafts_service.save_draft(s, actor, sample_id, turn_id, value, version, field=field)
    except KocurateError as exc:
        S["rv_notice"] = message(exc)


def open_sample(view: dict[str, Any] | None, new_sid: int, *, remember: bool = True) -> None:
    stash_drafts(view)
    if remember and view is not None and view["id"] != new_sid:
        S.setdefault("rv_trail", []).append(view["id"])
    S["rv_sample"] = new_sid
    S["rv_opened"] = time.time()
    S.pop("rv_conflict", None)
    st.query_params["sample"] = str(new_sid)


def go_next(view: dict[str, Any] | None) -> None:
    after = view["id"] if view is not None and view["dataset_id"] == ds_id else None
    stash_drafts(view)
    try:
        with ui.session() as s:
            nxt = rv.next_sample(s, actor, ds_id, filters, after=after)
    except KocurateError as exc:
        S["rv_notice"] = message(exc)
        return
    if nxt is None or (view is not None and nxt == view["id"]):
        S["rv_notice"] = _("The queue is empty for this filter.")
        return
    open_sample(view, nxt)


def go_prev(view: dict[str, Any] | None) -> None:
    trail = S.get("rv_trail") or []
    if trail:
        prev = trail.pop()
    else:
        with ui.session() as s:
            prev = rv.neighbor(
                s, actor, ds_id, view["id"] if view else 0, "prev", rv.QueueFilter(status=None)
            )
    if prev is None:
        S["rv_notice"] = _("No earlier sample.")
        return
    open_sample(view, prev, remember=False)


def progress_line() -> str | None:
    """'12 of 340 left': counted once per queue, then decisions are subtracted (incremental)."""
    q = S.get("rv_progress")
    if q is None or q["key"] != queue_key or time.time() - q["at"] > PROGRESS_REFRESH_S:
        try:
            with ui.session() as s:
                n = rv.queue_size(s, actor, ds_id, filters)
        except KocurateError:
            return None
        q = {
            "key": queue_key,
            "total": max(n, (q or {}).get("total", 0)) if q and q["key"] == queue_key else n,
            "left": n,
            "at": time.time(),
        }
        S["rv_progress"] = q
    return _("{left:,} of {total:,} left in this queue").format(left=q["left"], total=q["total"])


def decided_one() -> None:
    q = S.get("rv_progress")
    if q is not None and q["key"] == queue_key:
        q["left"] = max(0, q["left"] - 1)


def conflict(view: dict[str, Any], message: str, p: dict[str, Any], **intent: Any) -> None:
    S["rv_conflict"] = {"sample": view["id"], "mine": p, "message": message, **intent}


def save(view: dict[str, Any], decision: str | None = None, *, then_next: bool = False) -> None:
    """Save what is typed (and flags), then record the decision on the version that was on
    screen."""
    p = pending(view)
    base = p["version"] or view["version"]
    reason = S.get(f"rv-reason-{view['id']}") if decision in ("reject", "needs_fix") else None
    note = (
        (S.get(f"rv-reason-note-{view['id']}") or "").strip() or None
        if decision in ("reject", "needs_fix")
        else None
    )
    if p["text"] or p["source_text"]:
        S["rv_recheck"] = {
            "sample": view["id"],
            "before": [
                (f["check"], f["turn_idx"]) for f in view["findings"] if f["state"] == "open"
            ],
        }
    res = None
    try:
        with ui.session() as s:
            version = apply(s, view, p, base)
            if decision:
                seconds = time.time() - S.get("rv_opened", time.time())
                res = rv.submit_decision(
                    s,
                    actor,
                    view["id"],
                    decision,
                    expected_version=version,
                    seconds=seconds,
                    reason=reason,
                    note=note,
                )
    except StaleVersion as exc:
        S.pop("rv_recheck", None)
        conflict(
            view, message(exc), p, decision=decision, reason=reason, note=note, then_next=then_next
        )
        return
    except KocurateError as exc:
        S.pop("rv_recheck", None)
        S["rv_notice"] = message(exc)
        return
    if decision is None and has_changes(p):
        S["rv_carry"] = (view["id"], base, version)  # the widgets hold what was saved
    if res is not None:
        if not res.repeated:
            decided_one()
            st.toast(
                (
                    _("Sample {id}: {status} (adjudicated)")
                    if res.adjudicated
                    else _("Sample {id}: {status}")
                ).format(id=view["id"], status=ui.status_label(res.status))
            )
    elif has_changes(p):
        st.toast(_("Saved"))
    if then_next:
        go_next(view)


def reapply(view: dict[str, Any], cf: dict[str, Any]) -> None:
    """The whole intent on top of the version now on screen: the edits, the flags and the
    decision."""
    try:
        with ui.session() as s:
            version = apply(s, view, cf["mine"], view["version"])
            res = None
            if cf.get("decision"):
                res = rv.submit_decision(
                    s,
                    actor,
                    view["id"],
                    cf["decision"],
                    expected_version=version,
                    reason=cf.get("reason"),
                    note=cf.get("note"),
                )
            drafts_service.discard(s, actor, view["id"])
    except StaleVersion as exc:
        conflict(
            view,
            message(exc),
            cf["mine"],
            **{k: cf.get(k) for k in ("decision", "reason", "note", "then_next")},
        )
        return
    except KocurateError as exc:
        S["rv_notice"] = message(exc)
        return
    S.pop("rv_conflict", None)
    edits.reset_widgets()  # widgets show what is saved now
    st.toast(
        _("Your changes were applied · sample {status}").format(status=ui.status_label(res.status))
        if res is not None
        else _("Your changes were applied")
    )
    if res is not None and not res.repeated:
        decided_one()
    if cf.get("then_next"):
        go_next(view)


def rerun() -> NoReturn:
    """Rerun the fragment only (the sidebar and page around it stay); a full run when called outside
    one."""
    if FRAGMENTS:
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException:  # a full-page run (first load, sidebar change, AppTest)
            pass
    st.rerun()


def hhmm(at: datetime | str) -> str:
    return at.strftime("%H:%M") if isinstance(at, datetime) else str(at)[11:16]


# ------------------------------------------------------------------------------ the workspace
def load(sid: int | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The sample on screen and my drafts of it (one session)."""
    if sid is None:
        return None, []
    try:
        with ui.session() as s:
            return rv.get_sample_view(s, actor, sid), drafts_service.my_drafts(s, actor, sid)
    except KocurateError as exc:
        st.error(message(exc))
        S.pop("rv_sample", None)
        return None, []


def shown_view() -> dict[str, Any] | None:
    """Next / Previous need only what the screen showed (id, version, dataset, typed text): the
    sample is then loaded once, after the move, instead of before and after it."""
    sid, seen = S.get("rv_sample"), S.get("rv_seen")
    if sid is None or not seen or seen["sample"] != sid or "dataset_id" not in seen:
        return None
    if not any(S.get(f"rv-b-{kind}-{sid}") for kind in ("next", "prev")):
        return None
    return {
        "id": sid,
        "version": seen["version"],
        "dataset_id": seen["dataset_id"],
        "read_only": False,
    }


def workspace() -> None:
    view = shown_view()
    view, my_drafts = (view, []) if view is not None else load(S.get("rv_sample"))

    # ------------------------------------------------------------------------------ action bar
    # The bar's place is at the top, but its buttons are drawn last: a sample's buttons exist only
    # once the sample itself is on screen. Every key carries the sample id, so a late second click
    # (the old sample's button, still in the browser) matches nothing on the next sample.
    key_sid = view["id"] if view is not None else "none"
    bar = st.container(horizontal=True, key="rv-bar")
    clicked = next((kind for kind in BAR if S.get(f"rv-b-{kind}-{key_sid}")), None)
    if clicked is not None:
        read_only = bool(view and view["read_only"])
        if clicked == "next":
            go_next(view)
        elif clicked == "prev":
            go_prev(view)
        elif (
            view is not None
            and clicked != "save"
            and time.time() - S.get("rv_opened", 0) < MIN_DWELL_S
        ):
            # a decision this soon after the sample opened is the second half of a double press
            S["rv_notice"] = _(
                "That press came as the sample opened; nothing was decided. Press again to decide."
            )
        elif view is not None and not read_only:
            if clicked == "save":
                save(view)
            elif clicked == "approve_next":
                save(view, "approve", then_next=True)
            elif clicked == "skip":
                save(view, "skip", then_next=True)
            elif clicked in ("reject", "needs_fix"):
                save(view, clicked, then_next=not S.get("rv_stay", False))
            else:
                save(view, clicked)
        # this same run goes on with what the action left (no second rerun per click)
        view, my_drafts = load(S.get("rv_sample"))
        key_sid = view["id"] if view is not None else "none"
    read_only = bool(view and view["read_only"])
    carried = S.pop("rv_carry", None)
    if (
        carried is not None
        and view is not None
        and (view["id"], view["version"]) == (carried[0], carried[2])
        and edits.shows(view, carried[1])
    ):
        # after this person's Save the text areas keep their keys (drawn again in place, not
        # anew: 20 ms of the browser's time); a save by anyone else still gives new keys
        edits.carry(view["id"], carried[1], carried[2])
    if view is not None:
        outdated = [d for d in my_drafts if d["outdated"]]
        cf0 = S.get("rv_conflict")
        if outdated and not (cf0 and cf0["sample"] == view["id"]):
            mine: dict[str, Any] = {"text": {}, "source_text": {}, "flags": None, "version": None}
            for d in outdated:
                mine[d["field"]][d["turn_id"]] = d["text"]
            conflict(
                view,
                _(
                    "Your draft was typed on version {base}; the sample is at version {version} now"
                    " (someone saved in between)."
                ).format(base=outdated[0]["base_version"], version=view["version"]),
                mine,
                from_draft=True,
            )
    render_sample(view, my_drafts, read_only)
    with bar:
        for kind, (label, icon) in BAR.items():
            if view is None and kind not in ("prev", "next"):
                continue
            if kind == "next" and view is None:
                label = N_("Start reviewing")
            st.button(
                _(label),
                icon=f":material/{icon}:",
                shortcut=SHORTCUTS[kind],
                key=f"rv-b-{kind}-{key_sid}",
                disabled=(view is None and kind == "prev")
                or (read_only and kind not in ("prev", "next")),
                type=(
                    "primary"
                    if kind == "approve_next" or (view is None and kind == "next")
                    else "secondary"
                ),
            )


def render_sample(
    view: dict[str, Any] | None, my_drafts: list[dict[str, Any]], read_only: bool
) -> None:
    notice = S.pop("rv_notice", None)
    if notice:
        st.info(notice)
    if view is None:
        st.header(_("Review"))
        st.write(
            _(
                "Pick a dataset and a filter in the sidebar, then **Start reviewing**: each sample"
                " is reserved for you while you work on it."
            )
        )
        return
    line = progress_line()
    if line:
        st.text(line)

    # ------------------------------------------------------------------------------ the sample
    st.header(_("Sample {id}").format(id=view["id"]))
    n_turns = len(view["turns"])
    status_line = (
        _("{dataset} · key {key} · status {status} · version {version}").format(
            dataset=view["dataset"],
            key=view["key"],
            status=ui.status_label(view["status"]),
            version=view["version"],
        )
        + " · "
        + ngettext("{n} turn", "{n} turns", n_turns).format(n=n_turns)
    )
    if view["claimed_by"]:
        status_line += " · " + _("reserved for {names}").format(names=", ".join(view["claimed_by"]))
    st.text(status_line)  # names and keys are data: plain text
    with st.container(key="rv-decision-reason"):
        r1, r2 = st.columns([3, 2])
        r1.pills(
            _("Reason (Reject / Needs fix)"),
            rv.REASONS,
            key=f"rv-reason-{view['id']}",
            disabled=read_only,
            format_func=lambda x: ui.label(REASON_LABELS, x),
        )
        r2.text_input(
            _("Reason note"),
            key=f"rv-reason-note-{view['id']}",
            disabled=read_only,
            placeholder=_("optional, stored with the decision"),
        )
    ui_gold.render_review_panel(actor, view, read_only)  # quality ratings; gold control for leads

    if read_only:
        with st.container(border=True, key="rv-reserved"):
            who = "; ".join(
                _("{user} since {start} until {end}").format(
                    user=r["user"], start=hhmm(r["since"]), end=hhmm(r["until"])
                )
                for r in view["reservations"]
            )
            st.warning(_("Read-only: this sample is reserved for someone else."))
            st.text(_("Reserved for {who} (UTC).").format(who=who))
            expired = all(r["until"] <= utcnow() for r in view["reservations"])
            if actor.can("adjudicate") or expired:
                if st.button(
                    _("Take over"), key=f"rv-takeover-{view['id']}", icon=":material/lock_open:"
                ):
                    try:
                        with ui.session() as s:
                            rv.take_over(s, actor, view["id"])
                    except KocurateError as exc:
                        S["rv_notice"] = message(exc)
                    rerun()
            else:
                st.text(_("A lead can take it over; anyone can once the reservation expires."))
    if view["status"] == "disputed":
        votes = " · ".join(
            f"{r['user']}: {ui.label(DECISION_LABELS, r['decision'])}"
            + (f" ({ui.label(REASON_LABELS, r['reason'])})" if r["reason"] else "")
            for r in view["reviews"]
        )
        st.warning(
            _("Disputed: the reviewers disagree under the rule '{rule}'.").format(
                rule=ui.label(RULE_LABELS, view["decision_rule"])
            )
            + " "
            + (
                _("Your decision settles it (adjudication, final).")
                if actor.can("adjudicate")
                else _("A lead adjudicates.")
            )
        )
        st.text(votes)

    rc = S.get("rv_recheck")
    if rc and rc["sample"] == view["id"]:
        S.pop("rv_recheck", None)
        after = {(f["check"], f["turn_idx"]) for f in view["findings"] if f["state"] == "open"}
        before = {tuple(x) for x in rc["before"]}
        gone = sorted(before - after, key=str)
        new = sorted(after - before, key=str)

        def where(c: str, t: int | None) -> str:
            if t is None:
                return check_label(c)
            return _("{check} (turn {n})").format(check=check_label(c), n=t + 1)

        resolved = (
            _("resolved by edit: {checks}").format(checks=", ".join(where(c, t) for c, t in gone))
            if gone
            else _("nothing resolved")
        )
        added = (
            _("new: {checks}").format(checks=", ".join(where(c, t) for c, t in new))
            if new
            else _("no new findings")
        )
        with st.container(key="rv-recheck"):
            st.success(
                _("Checks re-run on your edit: {resolved}; {added}").format(
                    resolved=resolved, added=added
                )
            )

    cf = S.get("rv_conflict")
    if cf and cf["sample"] == view["id"]:
        render_conflict(view, cf)

    fresh = {(d["turn_id"], d["field"]): d for d in my_drafts if not d["outdated"]}
    if fresh:
        with st.container(border=True, key="rv-draft"):
            st.warning(
                _(
                    "Draft — not saved: {fields}. Keep it (saves it) or discard it (back to the"
                    " saved text)."
                ).format(
                    fields=", ".join(
                        _("turn {n} {field}").format(
                            n=d["turn_idx"] + 1, field=ui.label(FIELD_LABELS, d["field"])
                        )
                        for d in fresh.values()
                    )
                )
            )
            a, b = st.columns(2)
            if a.button(
                _("Keep draft (save)"),
                key=f"rv-draft-save-{view['id']}",
                icon=":material/save:",
                disabled=read_only,
            ):
                save(view)
                rerun()
            if b.button(_("Discard draft"), key=f"rv-draft-discard-{view['id']}"):
                with ui.session() as s:
                    drafts_service.discard(s, actor, view["id"])
                edits.reset_widgets()
                rerun()

    # what the widgets below show: edits are measured (and versions checked) against the saved text
    edits.show(view)
    render_turns(view, fresh, read_only)
    render_tabs(view, read_only)


def render_conflict(view: dict[str, Any], cf: dict[str, Any]) -> None:
    mine = cf["mine"]
    changes = has_changes(mine)
    with st.container(border=True, key="rv-conflict"):
        if changes:
            st.error(
                _(
                    "Conflict: someone else saved this sample first. Nothing was overwritten; your"
                    " changes are kept here until you re-apply or discard them."
                )
            )
        else:
            st.error(
                _(
                    "Conflict: someone else saved this sample first. Nothing was overwritten; look"
                    " at their version before you decide again."
                )
            )
        st.text(cf["message"])
        if cf.get("decision"):
            st.text(
                _("Your decision, not recorded yet: {decision}").format(
                    decision=ui.label(DECISION_LABELS, cf["decision"])
                )
                + (f" ({ui.label(REASON_LABELS, cf['reason'])})" if cf.get("reason") else "")
                + (f" — {cf['note']}" if cf.get("note") else "")
            )
        theirs = {t["id"]: t for t in view["turns"]}
        for field in ("text", "source_text"):
            for turn_id, mine_text in mine[field].items():
                cur = theirs.get(turn_id, {}).get(field) or ""
                st.text(
                    _("Turn {n} · {field}").format(
                        n=theirs.get(turn_id, {}).get("idx", 0) + 1,
                        field=ui.label(FIELD_LABELS, field),
                    )
                )
                a, b = st.columns(2)
                with a:
                    st.text(_("Their saved text"))
                    ui.plain(
                        cur,
                        key=f"cf-theirs-{turn_id}-{field}",
                        height=ui.text_height(cur, mine_text),
                    )
                with b:
                    st.text(_("Your unsaved text"))
                    ui.plain(
                        mine_text,
                        key=f"cf-mine-{turn_id}-{field}",
                        height=ui.text_height(cur, mine_text),
                    )
                st.code(
                    rv.diff_text(cur, mine_text, old_name=_("theirs"), new_name=_("yours"))
                    or _("(identical)"),
                    language="diff",
                )
        if mine["flags"] is not None:
            st.text(
                _("Your unsaved flags: {flags}").format(
                    flags=", ".join(ui.flag_label(c) for c in mine["flags"]) or _("none")
                )
            )
        if changes and cf.get("decision"):
            apply_label = _("Re-apply my changes and the {decision} on top of theirs").format(
                decision=ui.label(DECISION_LABELS, cf["decision"])
            )
        else:
            apply_label = (
                _("Re-apply my changes on top of theirs")
                if changes
                else _("Re-apply my decision on top of theirs")
            )
        x, y = st.columns(2)
        if x.button(apply_label, type="primary", key="rv-cf-apply", disabled=view["read_only"]):
            reapply(view, cf)
            rerun()
        if y.button(
            _("Discard my changes") if changes else _("Discard my decision"), key="rv-cf-discard"
        ):
            if cf.get("from_draft") or changes:
                with ui.session() as s:
                    drafts_service.discard(s, actor, view["id"])
            S.pop("rv_conflict", None)
            edits.reset_widgets()
            rerun()


def render_turns(
    view: dict[str, Any], fresh: dict[tuple[int, str], dict[str, Any]], read_only: bool
) -> None:
    edit_en = st.toggle(_("Edit the English source too"), key="rv-edit-en", disabled=read_only)
    suggestions: dict[int, list[dict[str, Any]]] = {}
    for sg in view["suggestions"]:
        suggestions.setdefault(sg["turn_id"], []).append(sg)
    can_retranslate = actor.can("translate_one") and not read_only and tr.deepl_configured()
    if (
        can_retranslate
        and any(t["source_text"] for t in view["turns"])
        and st.button(_("Re-translate all turns"), key="rv-rt-all", icon=":material/translate:")
    ):
        try:
            with ui.session() as s:
                tr.retranslate_sample(s, actor, view["id"])
        except KocurateError as exc:
            S["rv_notice"] = message(exc)
        rerun()
    for t in view["turns"]:
        code = ui.has_code(t["text"]) or ui.has_code(t["source_text"])
        with st.container(border=True, key=f"{'code' if code else 'turn'}-{t['id']}"):
            head = f"#{t['idx'] + 1} · {t['role']}"
            if t["source_kind"] == "reference":
                head += " · " + _(
                    "English shown for reference (the Korean was not translated from it)"
                )
            if t["edited"]:
                head += " · " + _("edited")
            st.text(head)
            for f in view["findings"]:
                if f["turn_idx"] == t["idx"] and f["state"] == "open":
                    st.text(
                        f"⚠ {check_label(f['check'])} ({ui.label(SEVERITY_LABELS, f['severity'])}):"
                        f" {finding_text(f)}"
                    )
            ui_curate.render_turn_findings(view, t)  # each finding at its place; a click focuses it
            ko_draft, en_draft = fresh.get((t["id"], "text")), fresh.get((t["id"], "source_text"))
            ko_value = ko_draft["text"] if ko_draft else t["text"]
            en_value = en_draft["text"] if en_draft else (t["source_text"] or "")
            height = ui.text_height(ko_value, t["source_text"])
            en_col, ko_col = st.columns(2)
            with en_col:
                if edit_en or en_draft:
                    k = wkey(view, "en", t["id"])
                    st.text_area(
                        _("English — draft, not saved") if en_draft else _("English"),
                        value=en_value,
                        key=k,
                        height=height,
                        disabled=read_only,
                        on_change=on_type,
                        args=(view["id"], t["id"], "source_text", k, view["version"]),
                    )
                else:
                    ui.plain(
                        (
                            t["source_text"]
                            if t["source_text"] is not None
                            else _("(no English source)")
                        ),
                        key=wkey(view, "src", t["id"]),
                        height=height,
                        label=_("English"),
                    )
            with ko_col:
                k = wkey(view, "ko", t["id"])
                st.text_area(
                    _("Korean"),
                    value=ko_value,
                    key=k,
                    height=height,
                    disabled=read_only,
                    on_change=on_type,
                    args=(view["id"], t["id"], "text", k, view["version"]),
                )
                if ko_draft:
                    st.text(_("draft — not saved"))
                    with st.expander(_("Draft against the saved text")):
                        st.code(
                            rv.diff_text(
                                t["text"],
                                ko_draft["text"],
                                old_name=_("saved"),
                                new_name=_("draft"),
                            ),
                            language="diff",
                        )
                for sg in suggestions.get(t["id"], []):
                    render_suggestion(view, t, sg, read_only)
                ui_curate.render_fix_offers(actor, view, t, read_only)  # lead-kept fixes, one click
                if (
                    can_retranslate
                    and t["source_text"]
                    and st.button(
                        _("Re-translate"), key=f"rv-rt-{t['id']}", icon=":material/translate:"
                    )
                ):
                    try:
                        with ui.session() as s:
                            tr.retranslate_turn(s, actor, t["id"])
                    except KocurateError as exc:
                        S["rv_notice"] = message(exc)
                    rerun()
                if llm_on and not read_only:  # grade / suggest a fix with the team's LLM (issue 18)
                    ui_llm.render_turn_actions(actor, view["id"], t["id"])
            if t["diff"]:
                with st.expander(_("Changes against the machine translation")):
                    st.code(t["diff"], language="diff")


def render_suggestion(
    view: dict[str, Any], t: dict[str, Any], sg: dict[str, Any], read_only: bool
) -> None:
    ui.plain(
        sg["text"],
        key=f"rv-sg-{sg['id']}",
        height=ui.text_height(sg["text"]),
        label=_("Suggestion ({engine})").format(engine=sg["engine"]),
    )
    sg_diff = rv.diff_text(t["text"], sg["text"], old_name=_("current"), new_name=_("suggestion"))
    if sg_diff:
        with st.expander(_("Suggestion against the current text")):
            st.code(sg_diff, language="diff")
    if read_only:
        return
    a, b = st.columns(2)
    if a.button(_("Use suggestion"), key=f"rv-sg-ok-{sg['id']}"):
        p = pending(view)
        try:
            with ui.session() as s:
                tr.accept_suggestion(s, actor, sg["id"], p["version"] or view["version"])
        except StaleVersion as exc:
            conflict(view, message(exc), p)
        except KocurateError as exc:
            S["rv_notice"] = message(exc)
        rerun()
    if b.button(_("Dismiss"), key=f"rv-sg-no-{sg['id']}"):
        with ui.shows_errors(), ui.session() as s:
            tr.reject_suggestion(s, actor, sg["id"])
        rerun()


def render_tabs(view: dict[str, Any], read_only: bool) -> None:
    # only the open tab is drawn (Flags always: its widgets hold unsaved flags); fewer elements per
    # rerun
    tabs = st.tabs(
        [_("Flags"), _("Checks"), _("Decisions"), _("History"), _("Details")],
        key="rv-tabs",
        on_change="rerun",
    )
    with tabs[0]:
        st.multiselect(
            _("Ethics and quality flags"),
            ALL_FLAGS,
            default=list(view["my_flags"]),
            disabled=read_only,
            format_func=ui.flag_label,
            key=wkey(view, "flags", "all"),
            placeholder=_("none"),
        )
        ui_guidance.flag_help(
            view["dataset_id"]
        )  # each AIHub category's definition in the guidelines
        for c in S.get(wkey(view, "flags", "all"), []):
            st.text_input(
                _("Note · {flag}").format(flag=ui.flag_label(c)),
                value=view["my_flags"].get(c) or "",
                key=wkey(view, "note", c),
                on_change="ignore",
                disabled=read_only,
            )
        others = [f for f in view["flags"] if not f["mine"]]
        if others:
            st.text(_("Other flags"))
        for f in others:
            who = f["user"] or ui.label(ORIGIN_LABELS, f["origin"])
            st.text(
                f"{ui.flag_label(f['category'])} · {who} · {ui.label(STATE_LABELS, f['state'])}"
                + (f" · {flag_note_text(f['note'], view['findings'])}" if f["note"] else "")
            )
            if f["state"] == "cleared" or read_only:
                continue
            may_clear = f["category"] not in ETHICS_FLAGS or actor.can("adjudicate")
            buttons = (
                [(N_("Confirm"), "confirmed")]
                if f["origin"] != "annotator" and f["state"] == "active"
                else []
            )
            if may_clear and (f["origin"] != "annotator" or actor.can("adjudicate")):
                buttons.append((N_("Clear"), "cleared"))
            if not buttons:
                continue
            cols = st.columns(len(buttons))
            for col, (label, state) in zip(cols, buttons, strict=True):
                if col.button(_(label), key=f"rv-fs-{f['id']}-{state}"):
                    try:
                        with ui.session() as s:
                            rv.set_flag_state(s, actor, f["id"], state)
                    except KocurateError as exc:
                        S["rv_notice"] = message(exc)
                    rerun()
    if tabs[1].open:
        render_checks(view, tabs[1])
    if tabs[2].open:
        render_decisions(view, tabs[2])
    if tabs[3].open:
        render_history(view, tabs[3], read_only)
    if tabs[4].open:
        with tabs[4]:
            st.json(
                {
                    _("dataset"): view["dataset"],
                    _("kind"): view["kind"],
                    _("key"): view["key"],
                    _("status"): view["status"],
                    _("alignment"): view["align_status"],
                    _("confidence"): view["align_confidence"],
                    _("english key"): view["source_key"],
                    **(view["meta"] or {}),
                },
                expanded=True,
            )


def render_checks(view: dict[str, Any], tab: Any) -> None:
    with tab:
        n_open = sum(f["state"] == "open" for f in view["findings"])
        st.text(ngettext("{n} open finding", "{n} open findings", n_open).format(n=n_open))
        if not view["findings"] and not view["resolved_findings"]:
            st.text(_("No automatic check found anything on this sample."))
        for f in view["findings"]:
            where = (
                _("turn {n}").format(n=f["turn_idx"] + 1)
                if f["turn_idx"] is not None
                else _("sample")
            )
            st.text(
                f"{check_label(f['check'])} · {ui.label(SEVERITY_LABELS, f['severity'])}"
                f" · {where} · {ui.label(STATE_LABELS, f['state'])}\n{finding_text(f)}"
            )
        for f in view["resolved_findings"]:
            where = (
                _("turn {n}").format(n=f["turn_idx"] + 1)
                if f["turn_idx"] is not None
                else _("sample")
            )
            st.text(
                _("{check} · {where} · resolved by edit (version {version})").format(
                    check=check_label(f["check"]), where=where, version=f["version"]
                )
                + f"\n{finding_text(f)}"
            )


def render_decisions(view: dict[str, Any], tab: Any) -> None:
    with tab:
        st.text(
            ngettext(
                "Rule: {rule} · {n} reviewer per sample",
                "Rule: {rule} · {n} reviewers per sample",
                view["overlap"],
            ).format(rule=ui.label(RULE_LABELS, view["decision_rule"]), n=view["overlap"])
        )
        for r in view["reviews"]:
            extra = (f" ({ui.label(REASON_LABELS, r['reason'])})" if r["reason"] else "") + (
                f" — {r['note']}" if r["note"] else ""
            )
            st.text(
                _("{at} {user}: {decision}{extra} · on version {version}").format(
                    at=r["at"],
                    user=r["user"],
                    decision=ui.label(DECISION_LABELS, r["decision"]),
                    extra=extra,
                    version=r["seen_version"],
                )
            )
        for a in view["adjudications"]:
            st.text(
                _("{at} {user}: {decision} — adjudication (final), was {status}").format(
                    at=a["at"],
                    user=a["user"],
                    decision=ui.label(DECISION_LABELS, a["decision"]),
                    status=ui.status_label(a["from_status"]),
                )
                + (f" · {a['note']}" if a["note"] else "")
            )


HISTORY_SHOWN = 5  # edits shown in the History tab before "Show all"


def render_history(view: dict[str, Any], tab: Any, read_only: bool) -> None:
    with tab:
        ui_guidance.sample_comments(
            actor, view["id"], len(view["turns"]), read_only
        )  # threads (issue 21)
        if view["n_edits"]:
            # the newest few by default: each edit is a diff and two buttons, and every action
            # redraws them (a sample saved 20 times made Save visibly slower)
            everything = view["n_edits"] <= HISTORY_SHOWN or st.toggle(
                _("Show all {n} edits").format(n=view["n_edits"]), key=f"rv-hist-{view['id']}"
            )
            with ui.session() as s:
                entries = rv.history(
                    s, actor, view["id"], last=None if everything else HISTORY_SHOWN
                )
            for e in reversed(entries):
                st.text(
                    _("v{version} · {at} · {user} · turn {n} {field} · {kind}").format(
                        version=e["version"],
                        at=e["at"],
                        user=e["user"],
                        n=e["turn_idx"] + 1,
                        field=ui.label(FIELD_LABELS, e["field"]),
                        kind=ui.label(EDIT_KINDS, e["kind"]),
                    )
                )
                st.code(
                    rv.diff_text(
                        e["before"], e["after"], old_name=_("before"), new_name=_("after")
                    ),
                    language="diff",
                )
                if read_only:
                    continue
                a, b = st.columns(2)
                for col, label, which in (
                    (a, N_("Restore after"), "after"),
                    (b, N_("Restore before"), "before"),
                ):
                    if col.button(_(label), key=f"rv-rs-{e['id']}-{which}"):
                        p = pending(view)
                        try:
                            with ui.session() as s:
                                rv.restore(
                                    s, actor, e["id"], p["version"] or view["version"], which=which
                                )
                        except StaleVersion as exc:
                            conflict(view, message(exc), p)
                        except KocurateError as exc:
                            S["rv_notice"] = message(exc)
                        rerun()
        else:
            st.text(_("No edits yet."))


(st.fragment(ui_speed.timed_fn("fragment", workspace)) if FRAGMENTS else workspace)()
