"""Streamlit glue shared by app.py and pages/: the engine, the logged-in actor, plain-text output.

The only kocurate module besides pages/ that imports Streamlit. Dataset text is never rendered as
HTML or Markdown: use ``plain`` / ``st.code`` / ``st.text``, never ``st.markdown`` on data.

Logins: after a password login the browser gets a signed token (user id, login time, the user's
session generation, HMAC over these and the password hash). Served through ``asgi.py`` the token
travels in an HttpOnly, SameSite=Strict cookie that the server sets (kocurate.webauth); under a bare
``streamlit run app.py`` a script writes it. Every script run re-checks the user's active flag, role
and session generation (cached KOCURATE_SESSION_CHECK_SECONDS, default 3), so logout, disabling,
demotion and a new password end every open tab and every copied cookie within seconds. A login lasts
KOCURATE_SESSION_HOURS (default 12).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st
import streamlit.components.v1 as components
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import config, db, i18n, webauth
from .errors import KocurateError
from .i18n import N_, ngettext
from .models import Setting, utcnow
from .services import users as user_service
from .services.auth import Actor

COOKIE = webauth.COOKIE
SECRET_KEY = "ui.secret"
# quality flags' names on screen (the ethics flags show their AIHub Korean names,
# models.FLAG_LABELS_KO)
QUALITY_FLAG_LABELS = {
    "mistranslation": N_("mistranslation"),
    "untranslated": N_("untranslated"),
    "truncated": N_("truncated"),
    "code_broken": N_("code broken"),
    "misaligned": N_("misaligned"),
    "low_quality": N_("low quality"),
    "duplicate": N_("duplicate"),
    "pii": N_("pii"),
    "other": N_("other"),
}


@st.cache_resource
def engine() -> Engine:
    url = config.db_url()
    db.ensure_schema(url)
    return db.make_engine(url)


@contextmanager
def session() -> Iterator[Session]:
    with db.session_scope(engine()) as s:
        yield s


def session_hours() -> float:
    return webauth.session_hours()


# ------------------------------------------------------------------------------------------ login


def _secret() -> bytes:
    env = os.environ.get("KOCURATE_SECRET")
    if env:
        return env.encode()
    return _db_secret()


@st.cache_resource
def _db_secret() -> bytes:
    # cached: callers sign inside their own SQLite session, and a second session opened from the
    # same thread would wait on the first one's write lock (a self-deadlock until the busy timeout)
    with session() as s:
        row = s.get(Setting, SECRET_KEY)
        if row is None:
            row = Setting(key=SECRET_KEY, value={"key": secrets.token_hex(32)}, updated_at=utcnow())
            s.add(row)
        return str(row.value["key"]).encode()


def _sign(user_id: int, login_at: int, generation: int, password_hash: str) -> str:
    pw = hashlib.sha256(password_hash.encode()).hexdigest()[:16]
    msg = f"{user_id}.{login_at}.{generation}.{pw}".encode()
    return hmac.new(_secret(), msg, hashlib.sha256).hexdigest()


def _token(actor: Actor, login_at: int) -> str | None:
    _secret()  # before opening a session: see _secret
    if actor.id is None:
        return None
    user_service.forget_cached(actor.id)
    state = user_service.session_state(session, actor.id)
    if state is None:
        return None
    _, _, _, generation, pw = state
    return f"{actor.id}.{login_at}.{generation}.{_sign(actor.id, login_at, generation, pw)}"


def _actor_from_token(token: str) -> tuple[Actor, int] | None:
    """The person a token stands for now (current role), with its login time; None when it has
    ended."""
    try:
        uid_s, at_s, gen_s, sig = token.split(".")
        uid, at, gen = int(uid_s), int(at_s), int(gen_s)
    except ValueError:
        return None
    if time.time() - at > session_hours() * 3600:
        return None
    _secret()  # before opening a session: see _secret
    state = user_service.session_state(session, uid)
    if state is None:
        return None
    username, role, active, generation, pw = state
    if not active or generation != gen or not hmac.compare_digest(sig, _sign(uid, at, gen, pw)):
        return None
    return Actor(uid, username, role), at


def client_address() -> str:
    """The browser's address, for the login throttle. Behind a reverse proxy set
    KOCURATE_TRUSTED_PROXY=1 (then the last X-Forwarded-For entry, the one the proxy added,
    counts)."""
    addr = ""
    if os.environ.get("KOCURATE_TRUSTED_PROXY", "").lower() in ("1", "true", "yes"):
        fwd = (st.context.headers or {}).get("X-Forwarded-For") or ""
        addr = fwd.split(",")[-1].strip() if isinstance(fwd, str) else ""
    ip = st.context.ip_address
    return (addr or (ip if isinstance(ip, str) else "") or "-")[
        :64
    ]  # not a str: no browser (AppTest)


def _script_cookie(value: str, max_age: int) -> None:
    # fallback without the auth routes (bare `streamlit run app.py`): a script writes the cookie
    js = (
        f"document.cookie = {json.dumps(COOKIE)} + '=' + {json.dumps(value)} + '; path=/;"
        f" max-age={max_age}; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' :"
        " '');"
    )
    components.html(f"<script>try {{ window.parent.{js} }} catch (e) {{ {js} }}</script>", height=0)


def _post(path: str, body: str = "") -> None:
    # a same-origin POST from the page itself: the browser stores the Set-Cookie of its answer
    st.html(
        f"<script>fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', "
        f"body: {json.dumps(body)}}});</script>",
        unsafe_allow_javascript=True,
    )


def login_as(actor: Actor) -> None:
    """Remember a successful password login in this session and in the browser."""
    now = int(time.time())
    token = _token(actor, now)
    st.session_state["actor"] = actor
    st.session_state["login_at"] = now
    st.session_state["_token"] = token
    st.session_state["_cookie_checked"] = True
    if token:
        st.session_state["_set_cookie"] = token


def logout() -> None:
    """End this login everywhere: every session of this user (other tabs, copied cookies) ends
    too."""
    a: Actor | None = st.session_state.get("actor")
    if a is not None and a.id is not None:
        try:
            with session() as s:
                user_service.end_sessions(s, a)
        except db.DatabaseUnavailable:
            pass  # read-only database: this browser forgets the login; the cookie is cleared below
        user_service.forget_cached(a.id)
    _forget()
    st.session_state["_clear_cookie"] = True


def _forget() -> None:
    for key in ("actor", "login_at", "_set_cookie", "_token"):
        st.session_state.pop(key, None)
    st.session_state["_cookie_checked"] = True


def actor() -> Actor | None:
    """The logged-in person, re-checked on every run (active, role, session generation); else from
    the browser's login cookie (once per browser session)."""
    a: Actor | None = st.session_state.get("actor")
    if a is not None:
        if time.time() - st.session_state.get("login_at", 0) > session_hours() * 3600:
            _forget()
            st.session_state["_clear_cookie"] = True
            st.session_state["_expired"] = True
            return None
        token = st.session_state.get("_token")
        if token:
            got = _actor_from_token(token)
            fresh = got[0] if got else None
        else:  # a session started without a token (page tests): still the current role and flag
            state = user_service.session_state(session, a.id) if a.id is not None else None
            fresh = Actor(a.id, state[0], state[1]) if state and state[2] else None
        if fresh is None:
            _forget()
            st.session_state["_clear_cookie"] = True
            st.session_state["_ended"] = True
            return None
        if fresh != a:
            st.session_state["actor"] = fresh
        return fresh
    if not st.session_state.get("_cookie_checked"):
        st.session_state["_cookie_checked"] = True
        token = (st.context.cookies or {}).get(COOKIE)
        got = _actor_from_token(token) if token else None
        if got is not None:
            st.session_state["actor"], st.session_state["login_at"] = got
            st.session_state["_token"] = token
            return got[0]
    return None


def sync_cookie() -> None:
    """Write or clear the login cookie when a login or logout asked for it (call once per run)."""
    token = st.session_state.pop("_set_cookie", None)
    if token:
        if webauth.ROUTES_ACTIVE:
            _post(webauth.SESSION_PATH, webauth.issue_ticket(token))
        else:
            _script_cookie(token, int(session_hours() * 3600))
    if st.session_state.pop("_clear_cookie", False):
        if webauth.ROUTES_ACTIVE:
            _post(webauth.LOGOUT_PATH)
        else:
            _script_cookie("", 0)


def require_actor() -> Actor:
    a = actor()
    if a is None:
        st.warning(i18n._("Please log in."))
        st.stop()
    return a


# ----------------------------------------------------------------------------------------- output


def plain(
    text: str | None, *, key: str | None = None, height: int | None = None, label: str | None = None
) -> None:
    """Show dataset text as plain text (no HTML, no Markdown, no LaTeX); ``label`` is our own
    words."""
    st.text_area(
        label or " ",
        value=text or "",
        disabled=True,
        key=key,
        height=height,
        label_visibility="visible" if label else "collapsed",
    )


def text_height(*texts: str | None, min_px: int = 90, max_px: int = 560) -> int:
    """A text area height that fits short turns and caps long ones (they scroll)."""
    longest = 0
    for t in texts:
        if t:
            # wrapped lines in a half-width column: ~55 Latin characters per line, Hangul about
            # twice as wide
            longest = max(
                longest,
                sum(
                    1 + int(sum(1.0 if ord(ch) < 0x1100 else 1.9 for ch in line) // 55)
                    for line in t.split("\n")
                ),
            )
    return max(min_px, min(max_px, 25 * longest + 40))


def has_code(text: str | None) -> bool:
    return bool(text) and ("```" in text or "\n    " in text or "def " in text or "{\n" in text)


STYLE = """
<style>
/* turns that contain code are shown in monospace */
[class*="st-key-code-"] textarea {
  font-family: "Source Code Pro", ui-monospace, monospace; font-size: 0.85rem; }
/* read-only dataset text stays readable (not greyed out) */
.stTextArea textarea:disabled {
  color: inherit; -webkit-text-fill-color: inherit; opacity: 1; cursor: text; }
/* the review action bar stays on screen while the turns scroll */
.st-key-rv-bar {
  position: sticky; top: 3.75rem; z-index: 990; background: var(--st-background-color, #fff);
  padding: 0.35rem 0; border-bottom: 1px solid rgba(128, 128, 128, 0.25); }
/* long labels (Korean runs longer than English, lists of flags) wrap instead of ending in "…" */
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"] *,
[data-testid="stRadio"] [data-testid="stWidgetLabel"] * {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; }
/* pills and segmented controls wrap onto more rows instead of scrolling sideways out of their
   column */
[data-testid="stButtonGroup"] > div:last-child {
  flex-wrap: wrap; overflow-x: visible; row-gap: 0.4rem; }
</style>
"""


def style() -> None:
    """Static page CSS (our own markup only; never dataset text); app.py adds it to every page."""
    st.html(STYLE)


_SHORTCUT_JS = """
<script>
(function () {
  const w = window.parent || window;
  if (!w || w.__kocurateShortcutCommit) return;
  w.__kocurateShortcutCommit = true;
  const script = w.document.createElement("script");
  // lives in the app's own page, so it survives reruns of this component
  script.textContent = `
    window.addEventListener("keydown", function (e) {
      if (!e.altKey) return;
      const codes = %s;
      const t = document.activeElement;
      if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT") && codes.includes(e.code)) {
        t.blur();  // commit the text being typed before the shortcut's button runs
      }
    }, true);`;
  w.document.head.appendChild(script);
})();
</script>
"""


def commit_text_on_shortcuts(keys: list[str]) -> None:
    """Alt+<key> shortcuts pressed while typing first commit the text field (Streamlit sends a text
    area's value on blur only), so "save" saves what is on screen. ``keys``: e.g. ["S", "Enter"]."""
    codes = [k if k in ("Enter", "Space") else f"Key{k.upper()}" for k in keys]
    # st.html runs the script in the app's own document (components.v1.html is going away); our own
    # fixed code, never dataset text
    with st.sidebar:
        st.html(_SHORTCUT_JS % json.dumps(codes), unsafe_allow_javascript=True)


@contextmanager
def shows_errors() -> Iterator[None]:
    try:
        yield
    except KocurateError as exc:
        st.error(i18n.message(exc))


# sample and job status codes → what people read (one table for every page)
STATUS_LABELS = {
    "new": N_("new"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "needs_fix": N_("needs fix"),
    "skipped": N_("skipped"),
    "disputed": N_("disputed"),
    "superseded": N_("superseded"),
    "any": N_("any"),
    "(any)": N_("(any)"),
}
JOB_STATUS_LABELS = {
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "stopped": N_("stopped"),
}


def label(labels: dict[str, str], code: str | None) -> str:
    """A code's label in the reader's language; a code without one is shown as it is."""
    return i18n._(labels[code]) if code in labels else str(code)


def status_label(code: str | None) -> str:
    """A sample status in the reader's language (``needs_fix`` → "needs fix")."""
    return label(STATUS_LABELS, code)


def job_status_label(code: str | None) -> str:
    """A job status in the reader's language."""
    return label(JOB_STATUS_LABELS, code)


def dataset_choices() -> dict[int, str]:
    """Dataset id → "name (N samples)", for a dataset picker."""
    from .services import datasets as ds_service

    with session() as s:
        datasets = ds_service.list_datasets(s)
    return {
        d["id"]: ngettext("{name} ({n} sample)", "{name} ({n} samples)", d["samples"]).format(
            name=d["name"], n=d["samples"]
        )
        for d in datasets
    }


def flag_label(category: str) -> str:
    from .models import FLAG_LABELS_KO

    ko = FLAG_LABELS_KO.get(category)
    if ko:
        return f"{ko} ({category})"
    label = QUALITY_FLAG_LABELS.get(category)
    return i18n._(label) if label else category.replace("_", " ")


def query_int(name: str) -> int | None:
    value: Any = st.query_params.get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------- language


def _session_language() -> str | None:
    return st.session_state.get("lang")


def use_language(person: Actor | None) -> str:
    """Set this run's language: the person's stored choice, else the switch on the login page, else
    the default (Korean). Call once per run, before anything is drawn."""
    from . import i18n
    from .services import prefs

    i18n.set_resolver(_session_language)
    if person is not None and st.session_state.get("_lang_of") != person.id:
        with session() as s:
            stored = prefs.language(s, person)
        if stored:
            st.session_state["lang"] = stored
        st.session_state["_lang_of"] = person.id
    return i18n.set_language(st.session_state.get("lang"))


def language_switch(person: Actor | None, *, key: str = "lang_switch") -> None:
    """한국어 | English, applied at once; stored with the person when logged in."""
    from . import i18n
    from .services import prefs

    current = i18n.current_language()
    choice = st.segmented_control(
        i18n._("Language"),
        options=list(i18n.LANGUAGES),
        default=current,
        format_func=lambda code: i18n.LANGUAGES[code],
        key=key,
        label_visibility="collapsed",
    )
    if choice and choice != current:
        st.session_state["lang"] = choice
        if person is not None:
            with shows_errors(), session() as s:
                prefs.set_language(s, person, choice)
        st.rerun()
