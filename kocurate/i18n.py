"""The web app's languages: gettext catalogs managed with Babel, Korean by default, English one
click away.

Strings a person reads in the web app are written in English in the code and wrapped:
``_("Approve")``, ``ngettext("{n} sample", "{n} samples", n).format(n=n)``, and ``N_("…")`` for
module-level constants that are translated later with ``_(constant)``. The catalogs live in
``kocurate/locale/<lang>/LC_MESSAGES/ kocurate.po``; a wheel ships them compiled (``setup.py``), a
checkout compiles them in memory on first use.

The language is chosen per person (``users.lang``; the login page has a switch) and set for the
running script with :func:`set_language`. It lives in a context variable, so each Streamlit
session's script thread has its own. The CLI stays English. Service errors carry a message id (see
``kocurate.errors``), so pages show them with :func:`message`.

Adding a language: ``pybabel init -i kocurate/locale/kocurate.pot -d kocurate/locale -D kocurate -l
ja``, translate the ``.po`` file, add the code to ``LANGUAGES``; ``pybabel extract -F babel.cfg -k
N_ -o kocurate/locale/kocurate.pot .`` and ``pybabel update -i kocurate/locale/kocurate.pot -d
kocurate/locale -D kocurate`` after adding strings (``tests/test_i18n.py`` fails while a Korean
msgid is untranslated).
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "kocurate"
# language code → its own name (shown in the switch, never translated)
LANGUAGES: dict[str, str] = {"ko": "한국어", "en": "English"}
SOURCE_LANGUAGE = "en"


def default_language() -> str:
    """Korean unless ``KOCURATE_DEFAULT_LANG`` names another known language (tests pin English)."""
    lang = os.environ.get("KOCURATE_DEFAULT_LANG", "ko")
    return lang if lang in LANGUAGES else "ko"


_current: ContextVar[str | None] = ContextVar("kocurate_lang", default=None)
_resolver: list[Callable[[], str | None]] = []


def set_resolver(resolve: Callable[[], str | None]) -> None:
    """Where to look when this thread has no language set (the web app: the person's session), e.g.
    in a Streamlit fragment's rerun, which may run outside the context the full run set."""
    _resolver[:] = [resolve]


def set_language(lang: str | None) -> str:
    """Use ``lang`` for this thread's (this Streamlit session's) strings; unknown → the default."""
    chosen = lang if lang in LANGUAGES else default_language()
    _current.set(chosen)
    return chosen


def current_language() -> str:
    lang = _current.get()
    if lang is None and _resolver:
        try:
            lang = _resolver[0]()
        except Exception:  # noqa: BLE001 — outside a web session: the default
            lang = None
    return lang if lang in LANGUAGES else default_language()


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``: the compiled ``.mo`` when newer than its ``.po``, else compiled in
    memory."""
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if po.is_file():
        return gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    return gettext.NullTranslations()


def compile_po(po: Path) -> bytes:
    """A ``.po`` file as ``.mo`` bytes (Babel; fuzzy entries are left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _(message: str) -> str:
    """``message`` in the current language (the English original when it has no translation)."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """For the same English word meaning two things (e.g. "Reject" the button vs the status)."""
    return translations(current_language()).pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 — the gettext convention
    """Mark a module-level string for extraction; translate it where it is shown with ``_(…)``."""
    return message


def message(exc: BaseException) -> str:
    """An error for a page: its message id translated and filled in, else its English text."""
    msgid: str | None = getattr(exc, "msgid", None)
    params: dict[str, Any] = getattr(exc, "params", None) or {}
    if msgid:
        text = _(msgid)
        try:
            # a parameter may itself be a part (ImportFailed's reason): rendered in this language
            return text.format(**{k: _render_param(v) for k, v in params.items()})
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            return str(exc)
    return str(exc)


def _render_param(v: Any) -> Any:
    return render(v) if isinstance(v, dict) and isinstance(v.get("id"), str) else v


# ---------------------------------------------------------------------------------------------
# messages stored as data (check findings): a message id and its parameters, rendered when read


def part(msgid: str, **params: Any) -> dict[str, Any]:
    """A message kept as id + parameters (JSON-safe), to be rendered in the reader's language later.

    ``msgid`` must be marked where it is written (``part(N_("…"), n=3)``); a parameter may itself be
    a ``part`` or a list of parts (joined with ", ")."""
    return {"id": msgid, "params": params}


def render(spec: Any, lang: str | None = None) -> str:
    """A :func:`part` in ``lang`` (default: the current language); English is the msgid filled
    in."""
    t = translations(lang or current_language())

    def fill(v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("id"), str):
            return render(v, lang)
        if (
            isinstance(v, list)
            and v
            and all(isinstance(x, dict) and isinstance(x.get("id"), str) for x in v)
        ):
            return ", ".join(render(x, lang) for x in v)
        return v

    params = {k: fill(v) for k, v in (spec.get("params") or {}).items()}
    return t.gettext(spec["id"]).format(**params)


def finding_message(message: str, data: Any = None) -> str:
    """A check finding's message in the current language: from the message id its check stored in
    ``data["i18n"]``; rows written before checks stored one keep their English ``message``."""
    spec = data.get("i18n") if isinstance(data, dict) else None
    if isinstance(spec, dict) and isinstance(spec.get("id"), str):
        try:
            return render(spec)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            pass
    return message


def finding_text(finding: Any) -> str:
    """The message of a finding as services return it (a dict with ``message`` and ``data`` or
    ``i18n``)."""
    data = (
        finding.get("data")
        if isinstance(finding.get("data"), dict)
        else {"i18n": finding.get("i18n")}
    )
    return finding_message(finding.get("message") or "", data)


def translator(lang: str) -> Callable[[str], str]:
    """``gettext`` of one given language, whatever the current one (files written in a chosen
    language, e.g. the dataset card); unknown languages read as English."""
    return translations(lang if lang in LANGUAGES else SOURCE_LANGUAGE).gettext


class Text(str):
    """English text that remembers its message id and parameters: what a service builds for people
    (export warnings) reads as plain English in JSON and the CLI, and :func:`text` shows it in
    another language. ``Text(N_("{n:,} samples planned"), n=5)``."""

    spec: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Text:
        spec = part(msgid, **params)
        obj = super().__new__(cls, render(spec, SOURCE_LANGUAGE))
        obj.spec = spec
        return obj

    def __reduce__(
        self,
    ) -> tuple[Any, ...]:  # pickle/copy (Streamlit caches) keep the id, not re-render
        return (_text_from, (str(self), self.spec))


def _text_from(english: str, spec: dict[str, Any]) -> Text:
    obj = str.__new__(Text, english)
    obj.spec = spec
    return obj


def text(value: str, lang: str | None = None) -> str:
    """A :class:`Text` in ``lang`` (default: the current language); any other string as it is."""
    spec = getattr(value, "spec", None)
    if isinstance(spec, dict):
        try:
            return render(spec, lang)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            pass
    return str(value)
