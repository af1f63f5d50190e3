"""The web app's languages: gettext catalogs managed with Babel, Korean by default, English one click away.

Strings a person reads in the web app are written in English in the code and wrapped: ``_("Approve")``,
``ngettext("{n} sample", "{n} samples", n).format(n=n)``, and ``N_("…")`` for module-level constants
that are translated later with ``_(constant)``. The catalogs live in ``kocurate/locale/<lang>/LC_MESSAGES/
kocurate.po``; a wheel ships them compiled (``setup.py``), a checkout compiles them in memory on first use.

The language is chosen per person (``users.lang``; the login page has a switch) and set for the running
script with :func:`set_language`. It lives in a context variable, so each Streamlit session's script
thread has its own. The CLI stays English. Service errors carry a message id (see ``kocurate.errors``),
so pages show them with :func:`message`.

Adding a language: ``pybabel init -i kocurate/locale/kocurate.pot -d kocurate/locale -D kocurate -l ja``,
translate the ``.po`` file, add the code to ``LANGUAGES``; ``pybabel extract -F babel.cfg -k N_ -o
kocurate/locale/kocurate.pot .`` and ``pybabel update -i kocurate/locale/kocurate.pot -d kocurate/locale
-D kocurate`` after adding strings (``tests/test_i18n.py`` fails while a Korean msgid is untranslated).
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
    """Where to look when this thread has no language set (the web app: the person's session), e.g. in a
    Streamlit fragment's rerun, which may run outside the context the full run set."""
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
    """The catalog of ``lang``: the compiled ``.mo`` when newer than its ``.po``, else compiled in memory."""
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
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return str(exc)
    return str(exc)
