"""Review: work through a queue, English | Korean side by side, edit, flag, decide.

Layout and widgets only; every action calls kocurate.services.review (and translate when present).
The sample on screen lives in the URL (?sample=ID), so a reload or a shared link opens it again.
Widget keys carry the sample version: after a save the widgets show what the database holds.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from kocurate import ui
from kocurate.errors import KocurateError, StaleVersion
from kocurate.models import ETHICS_FLAGS, QUALITY_FLAGS, STATUSES
from kocurate.services import datasets as ds_service
from kocurate.services import review as rv

try:  # re-translation arrives with the DeepL area; the page works without it
    from kocurate.services import translate as tr
except ImportError:  # pragma: no cover - depends on what is installed
    tr = None  # type: ignore[assignment]

ALL_FLAGS = list(ETHICS_FLAGS + QUALITY_FLAGS)
SHORTCUTS = {"save": "Alt+S", "approve": "Alt+A", "approve_next": "Alt+Enter", "reject": "Alt+X",
             "needs_fix": "Alt+F", "skip": "Alt+K", "next": "Alt+N", "prev": "Alt+P"}

actor = ui.require_actor()
ui.style()
ui.commit_text_on_shortcuts([v.split("+")[-1] for v in SHORTCUTS.values()])
S = st.session_state

# ---------------------------------------------------------------------------------- which sample
linked = ui.query_int("sample")
if linked is not None and linked != S.get("rv_sample"):
    S["rv_sample"] = linked
    S["rv_opened"] = time.time()
    S["rv_linked"] = True
sid: int | None = S.get("rv_sample")
if linked is None and sid is not None:
    st.query_params["sample"] = str(sid)  # back from another page: keep the URL a working deep link

view: dict[str, Any] | None = None
if sid is not None:
    try:
        with ui.session() as s:
            if S.pop("rv_linked", False):
                rv.claim(s, actor, sid)  # best effort: a deep link reserves the sample when it is free
            view = rv.get_sample_view(s, actor, sid)
    except KocurateError as exc:
        st.error(str(exc))
        S.pop("rv_sample", None)
        sid = None

with ui.session() as s:
    datasets = ds_service.list_datasets(s)
if not datasets:
    st.info("No datasets yet. A lead imports one (Import page or `kocurate import`).")
    st.stop()
ds_names = {d["id"]: f"{d['name']} · {d['new']} new of {d['samples']}" for d in datasets}
# Links from the dashboard and the checks page open a queue: ?dataset=ID&status=…&flag=…&check=…
_link = {k: st.query_params.get(k) for k in ("dataset", "status", "flag", "check")}
if any(_link.values()) and S.get("rv_link_applied") != _link:
    S["rv_link_applied"] = _link
    if (_link["dataset"] or "").isdigit() and int(_link["dataset"]) in ds_names:
        S["rv_ds"] = int(_link["dataset"])
        S["rv_ds_synced"] = view["id"] if view is not None else None
    if _link["status"] in (*STATUSES, "any"):
        S["rv_f_status"] = _link["status"]
    if _link["flag"] in ALL_FLAGS:
        S["rv_f_flag"] = _link["flag"]
    try:
        from kocurate.checks import REGISTRY as _LINK_CHECKS
    except ImportError:
        _LINK_CHECKS = {}
    if _link["check"] in _LINK_CHECKS:
        S["rv_f_check"] = _link["check"]
if view is not None and S.get("rv_ds_synced") != view["id"]:
    S["rv_ds"] = view["dataset_id"]  # the queue follows a newly opened sample (links, search results)
    S["rv_ds_synced"] = view["id"]

# ---------------------------------------------------------------------------------------- queue
with st.sidebar:
    st.subheader("Queue")
    ds_id = st.selectbox("Dataset", list(ds_names), format_func=lambda i: ds_names[i], key="rv_ds")
    status = st.selectbox("Status", ["new", *[x for x in STATUSES if x != "new"], "any"], key="rv_f_status")
    flag = st.selectbox("Flag", ["", *ALL_FLAGS], format_func=lambda c: ui.flag_label(c) if c else "any",
                        key="rv_f_flag")
    try:  # the checks area names its checks; without it, type a name
        from kocurate.checks import REGISTRY as _CHECKS

        check = st.selectbox("Automatic check", ["", *sorted(_CHECKS)], key="rv_f_check",
                             format_func=lambda c: c.replace("_", " ") if c else "any")
    except ImportError:
        check = st.text_input("Automatic check (name)", key="rv_f_check")
    text_q = st.text_input("Text contains", key="rv_f_text")
    c1, c2 = st.columns(2)
    min_len = c1.number_input("Min chars", min_value=0, value=0, step=100, key="rv_f_min")
    max_len = c2.number_input("Max chars (0 = ∞)", min_value=0, value=0, step=100, key="rv_f_max")
    has_source = st.selectbox("English source", ["any", "with", "without"], key="rv_f_src")
    max_conf = st.slider("Max alignment confidence", 0.0, 1.0, 1.0, 0.05, key="rv_f_conf")
    mine = st.toggle("Assigned to me", key="rv_f_mine")
    if actor.can("configure"):
        current_k = next(d["overlap"] for d in datasets if d["id"] == ds_id)
        k = st.number_input("Annotators per sample (overlap)", 1, rv.MAX_OVERLAP, value=current_k, key="rv_k")
        if k != current_k and st.button("Set overlap", key="rv_set_k"):
            with ui.shows_errors(), ui.session() as s:
                rv.set_overlap(s, actor, ds_id, int(k))
            st.rerun()
    st.caption("Shortcuts: " + " · ".join(f"{k.replace('_', ' ')} {v}" for k, v in SHORTCUTS.items()))

filters = rv.QueueFilter(
    status=None if status == "any" else status, flag=flag or None, check=check.strip() or None,
    text=text_q.strip() or None, min_len=int(min_len) or None, max_len=int(max_len) or None,
    has_source={"any": None, "with": True, "without": False}[has_source],
    max_confidence=None if max_conf >= 1.0 else float(max_conf), mine=mine)


# -------------------------------------------------------------------------------------- actions
def open_sample(new_sid: int, *, remember: bool = True) -> None:
    if remember and sid is not None and sid != new_sid:
        S.setdefault("rv_trail", []).append(sid)
    S["rv_sample"] = new_sid
    S["rv_opened"] = time.time()
    S.pop("rv_conflict", None)
    st.query_params["sample"] = str(new_sid)


def go_next() -> None:
    after = sid if view is not None and view["dataset_id"] == ds_id else None
    with ui.session() as s:
        nxt = rv.next_sample(s, actor, ds_id, filters, after=after)
    if nxt is None or nxt == sid:
        S["rv_notice"] = "The queue is empty for this filter."
        return
    open_sample(nxt)


def go_prev() -> None:
    trail = S.get("rv_trail") or []
    if trail:
        prev = trail.pop()
    else:
        with ui.session() as s:
            prev = rv.neighbor(s, actor, ds_id, sid or 0, "prev", rv.QueueFilter(status=None))
    if prev is None:
        S["rv_notice"] = "No earlier sample."
        return
    open_sample(prev, remember=False)


def wkey(kind: str, item: int | str, version: int | None = None) -> str:
    """Widget key: tied to the sample version the widget showed, so a new version gets fresh widgets."""
    assert view is not None
    return f"rv-{kind}-{view['id']}-{item}-v{view['version'] if version is None else version}"


def pending() -> dict[str, Any]:
    """What the person changed on screen (against what the screen showed) and has not saved yet."""
    out: dict[str, Any] = {"text": {}, "source_text": {}, "flags": None, "version": None}
    seen = S.get("rv_seen")
    if view is None or not seen or seen["sample"] != view["id"]:
        return out
    v = seen["version"]
    out["version"] = v
    for turn_id, shown in seen["text"].items():
        ko = S.get(wkey("ko", turn_id, v))
        if ko is not None and ko.replace("\r\n", "\n") != shown:
            out["text"][turn_id] = ko
    for turn_id, shown in seen["source_text"].items():
        en = S.get(wkey("en", turn_id, v))
        if en is not None and en.replace("\r\n", "\n") != (shown or ""):
            out["source_text"][turn_id] = en
    chosen = S.get(wkey("flags", "all", v))
    if chosen is not None:
        flags = {c: (S.get(wkey("note", c, v)) or None) for c in chosen}
        if flags != seen["flags"]:
            out["flags"] = flags
    return out


def has_changes(p: dict[str, Any]) -> bool:
    return bool(p["text"] or p["source_text"] or p["flags"] is not None)


def apply(s: Any, p: dict[str, Any], version: int) -> int:
    """Save texts and flags in one transaction; every write checks the version it is based on."""
    assert view is not None
    for field in ("text", "source_text"):
        for turn_id, value in p[field].items():
            version = rv.save_edit(s, actor, view["id"], turn_id, value, version, field=field)
    if p["flags"] is not None:
        version = rv.set_flags(s, actor, view["id"], p["flags"], expected_version=version)
    return version


def conflict(exc: StaleVersion, p: dict[str, Any]) -> None:
    assert view is not None
    S["rv_conflict"] = {"sample": view["id"], "mine": p, "current": exc.current, "version": exc.current_version,
                        "message": str(exc)}


def save(decision: str | None = None, *, then_next: bool = False) -> None:
    assert view is not None
    p = pending()
    try:
        with ui.session() as s:
            version = apply(s, p, p["version"] or view["version"])
            if decision:
                seconds = time.time() - S.get("rv_opened", time.time())
                new_status = rv.decide(s, actor, view["id"], decision, expected_version=version, seconds=seconds)
    except StaleVersion as exc:
        conflict(exc, p)
        return
    except KocurateError as exc:
        S["rv_notice"] = str(exc)
        return
    if decision:
        st.toast(f"Sample {view['id']}: {new_status}")
    elif has_changes(p):
        st.toast("Saved")
    if then_next:
        go_next()


def act(kind: str) -> None:
    if kind == "next":
        go_next()
    elif kind == "prev":
        go_prev()
    elif kind == "save":
        save()
    elif kind == "approve_next":
        save("approve", then_next=True)
    elif kind == "skip":
        save("skip", then_next=True)
    else:
        save(kind)
    st.rerun()


# ---------------------------------------------------------------------------------- action bar
bar = st.container(horizontal=True, key="rv-bar")
with bar:
    if bar.button("Previous", icon=":material/arrow_back:", shortcut=SHORTCUTS["prev"], disabled=view is None):
        act("prev")
    if bar.button("Next" if view is not None else "Start reviewing", icon=":material/arrow_forward:",
                  shortcut=SHORTCUTS["next"], type="primary" if view is None else "secondary"):
        act("next")
    if view is not None:
        if bar.button("Save", icon=":material/save:", shortcut=SHORTCUTS["save"]):
            act("save")
        if bar.button("Approve", icon=":material/check:", shortcut=SHORTCUTS["approve"]):
            act("approve")
        if bar.button("Approve & next", icon=":material/done_all:", shortcut=SHORTCUTS["approve_next"],
                      type="primary"):
            act("approve_next")
        if bar.button("Reject", icon=":material/close:", shortcut=SHORTCUTS["reject"]):
            act("reject")
        if bar.button("Needs fix", icon=":material/build:", shortcut=SHORTCUTS["needs_fix"]):
            act("needs_fix")
        if bar.button("Skip", icon=":material/skip_next:", shortcut=SHORTCUTS["skip"]):
            act("skip")

notice = S.pop("rv_notice", None)
if notice:
    st.info(notice)

if view is None:
    st.header("Review")
    st.write("Pick a dataset and a filter in the sidebar, then **Start reviewing**: each sample is reserved "
             "for you while you work on it.")
    st.stop()

# ------------------------------------------------------------------------------------ the sample
st.header(f"Sample {view['id']}")
status_line = (f"{view['dataset']} · key {view['key']} · status {view['status']} · version {view['version']}"
               f" · {len(view['turns'])} turns")
if view["claimed_by"]:
    status_line += " · reserved for " + ", ".join(view["claimed_by"])
st.text(status_line)  # names and keys are data: plain text

cf = S.get("rv_conflict")
if cf and cf["sample"] == view["id"]:
    with st.container(border=True, key="rv-conflict"):
        st.error("Conflict: someone else saved this sample first. Nothing was overwritten; your changes are kept "
                 "here until you re-apply or discard them.")
        st.text(cf["message"])
        theirs = {t["id"]: t for t in cf["current"].get("turns", [])}
        for field in ("text", "source_text"):
            for turn_id, mine_text in cf["mine"][field].items():
                cur = theirs.get(turn_id, {}).get(field) or ""
                st.text(f"Turn {theirs.get(turn_id, {}).get('idx', 0) + 1} · {'Korean' if field == 'text' else 'English'}")
                a, b = st.columns(2)
                with a:
                    st.text("Their saved text")
                    ui.plain(cur, key=f"cf-theirs-{turn_id}-{field}", height=ui.text_height(cur, mine_text))
                with b:
                    st.text("Your unsaved text")
                    ui.plain(mine_text, key=f"cf-mine-{turn_id}-{field}", height=ui.text_height(cur, mine_text))
                st.code(rv.diff_text(cur, mine_text, old_name="theirs", new_name="yours") or "(identical)",
                        language="diff")
        if cf["mine"]["flags"] is not None:
            st.text("Your unsaved flags: " + ", ".join(ui.flag_label(c) for c in cf["mine"]["flags"]))
        x, y = st.columns(2)
        if x.button("Re-apply my changes on top of theirs", type="primary", key="rv-cf-apply"):
            try:
                with ui.session() as s:
                    apply(s, cf["mine"], view["version"])  # on top of the version now on screen
                S.pop("rv_conflict", None)
                st.toast("Your changes were applied")
            except StaleVersion as exc:
                conflict(exc, cf["mine"])
            st.rerun()
        if y.button("Discard my changes", key="rv-cf-discard"):
            S.pop("rv_conflict", None)
            st.rerun()

_prev = S.get("rv_seen")
base_version = _prev["version"] if _prev and _prev["sample"] == view["id"] else view["version"]
# what the widgets below show: edits are measured (and versions checked) against this
S["rv_seen"] = {"sample": view["id"], "version": view["version"],
                "text": {t["id"]: t["text"] for t in view["turns"]},
                "source_text": {t["id"]: t["source_text"] for t in view["turns"]},
                "flags": dict(view["my_flags"])}
main, side = st.columns([4, 1.3], gap="medium")

# ---------------------------------------------------------------------------------------- turns
with main:
    edit_en = st.toggle("Edit the English source too", key="rv-edit-en")
    suggestions: dict[int, list[dict[str, Any]]] = {}
    for sg in view["suggestions"]:
        suggestions.setdefault(sg["turn_id"], []).append(sg)
    can_retranslate = tr is not None and actor.can("translate_one") and getattr(tr, "deepl_configured", lambda: False)()
    if can_retranslate and any(t["source_text"] for t in view["turns"]) and st.button(
            "Re-translate all turns", key="rv-rt-all", icon=":material/translate:"):
        try:
            with ui.session() as s:
                tr.retranslate_sample(s, actor, view["id"])
        except KocurateError as exc:
            S["rv_notice"] = str(exc)
        st.rerun()
    for t in view["turns"]:
        code = ui.has_code(t["text"]) or ui.has_code(t["source_text"])
        box = st.container(border=True, key=f"{'code' if code else 'turn'}-{t['id']}")
        with box:
            head = f"#{t['idx'] + 1} · {t['role']}"
            if t["source_kind"] == "reference":
                head += " · English shown for reference (the Korean was not translated from it)"
            if t["edited"]:
                head += " · edited"
            st.text(head)
            for f in view["findings"]:
                if f["turn_idx"] == t["idx"]:
                    st.text(f"⚠ {f['check']} ({f['severity']}): {f['message']}")
            height = ui.text_height(t["text"], t["source_text"])
            en_col, ko_col = st.columns(2)
            with en_col:
                if edit_en:
                    st.text_area("English", value=t["source_text"] or "", key=wkey("en", t["id"]), height=height,
                                 on_change="ignore")
                else:
                    ui.plain(t["source_text"] if t["source_text"] is not None else "(no English source)",
                             key=f"rv-src-{t['id']}-v{view['version']}", height=height, label="English")
            with ko_col:
                # no rerun per keystroke or blur: the text travels with the next Save / decision
                st.text_area("Korean", value=t["text"], key=wkey("ko", t["id"]), height=height, on_change="ignore")
                for sg in suggestions.get(t["id"], []):
                    ui.plain(sg["text"], key=f"rv-sg-{sg['id']}", height=ui.text_height(sg["text"]),
                             label=f"Suggestion ({sg['engine']})")
                    sg_diff = rv.diff_text(t["text"], sg["text"], old_name="current", new_name="suggestion")
                    if sg_diff:
                        with st.expander("Suggestion against the current text"):
                            st.code(sg_diff, language="diff")
                    a, b = st.columns(2)
                    if tr is not None and a.button("Use suggestion", key=f"rv-sg-ok-{sg['id']}"):
                        try:
                            with ui.session() as s:
                                tr.accept_suggestion(s, actor, sg["id"], base_version)
                        except StaleVersion as exc:
                            conflict(exc, pending())
                        except KocurateError as exc:
                            S["rv_notice"] = str(exc)
                        st.rerun()
                    if tr is not None and b.button("Dismiss", key=f"rv-sg-no-{sg['id']}"):
                        with ui.session() as s:
                            tr.reject_suggestion(s, actor, sg["id"])
                        st.rerun()
                if can_retranslate and t["source_text"] and st.button(
                        "Re-translate", key=f"rv-rt-{t['id']}", icon=":material/translate:"):
                    try:
                        with ui.session() as s:
                            tr.retranslate_turn(s, actor, t["id"])
                    except KocurateError as exc:
                        S["rv_notice"] = str(exc)
                    st.rerun()
            if t["diff"]:
                with st.expander("Changes against the machine translation"):
                    st.code(t["diff"], language="diff")

# --------------------------------------------------------------------------------- flags, meta
with side:
    st.subheader("Flags")
    st.multiselect("Ethics and quality flags", ALL_FLAGS, default=list(view["my_flags"]),
                   format_func=ui.flag_label, key=wkey("flags", "all"), placeholder="none")
    for c in S.get(wkey("flags", "all"), []):
        st.text_input(f"Note · {ui.flag_label(c)}", value=view["my_flags"].get(c) or "", key=wkey("note", c),
                      on_change="ignore")
    others = [f for f in view["flags"] if not f["mine"]]
    if others:
        st.text("Other flags")
        for f in others:
            who = f["user"] or f["origin"]
            line = f"{ui.flag_label(f['category'])} · {who} · {f['state']}"
            if f["note"]:
                line += f" · {f['note']}"
            st.text(line)
            if f["origin"] != "annotator" and f["state"] == "active":
                a, b = st.columns(2)
                for col, label, state in ((a, "Confirm", "confirmed"), (b, "Clear", "cleared")):
                    if col.button(label, key=f"rv-fs-{f['id']}-{state}"):
                        with ui.shows_errors(), ui.session() as s:
                            rv.set_flag_state(s, actor, f["id"], state)
                        st.rerun()
    if view["findings"]:
        st.subheader("Checks")
        for f in view["findings"]:
            where = f"turn {f['turn_idx'] + 1}" if f["turn_idx"] is not None else "sample"
            st.text(f"{f['check']} · {f['severity']} · {where}\n{f['message']}")
    st.subheader("Details")
    st.json({"dataset": view["dataset"], "kind": view["kind"], "key": view["key"], "status": view["status"],
             "alignment": view["align_status"], "confidence": view["align_confidence"],
             "english key": view["source_key"], **(view["meta"] or {})}, expanded=True)
    if view["reviews"]:
        st.text("Decisions\n" + "\n".join(f"{r['at']} {r['user']}: {r['decision']}" for r in view["reviews"]))
    if view["n_edits"]:
        with st.expander(f"History ({view['n_edits']} edits)"):
            with ui.session() as s:
                entries = rv.history(s, actor, view["id"])
            for e in reversed(entries):
                what = "Korean" if e["field"] == "text" else "English"
                st.text(f"v{e['version']} · {e['at']} · {e['user']} · turn {e['turn_idx'] + 1} {what} · {e['kind']}")
                st.code(rv.diff_text(e["before"], e["after"], old_name="before", new_name="after"), language="diff")
                a, b = st.columns(2)
                for col, label, which in ((a, "Restore after", "after"), (b, "Restore before", "before")):
                    if col.button(label, key=f"rv-rs-{e['id']}-{which}"):
                        try:
                            with ui.session() as s:
                                rv.restore(s, actor, e["id"], base_version, which=which)
                        except StaleVersion as exc:
                            conflict(exc, pending())
                        except KocurateError as exc:
                            S["rv_notice"] = str(exc)
                        st.rerun()
