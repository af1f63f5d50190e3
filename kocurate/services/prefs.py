"""Each person's own settings (the web app's language); a person changes only their own."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import NotFound, UsageError
from ..i18n import LANGUAGES, N_
from ..models import User
from .auth import Actor


def language(session: Session, actor: Actor) -> str | None:
    """The person's chosen language, or None for the app's default."""
    if actor.id is None:
        return None
    user = session.get(User, actor.id)
    return user.lang if user is not None else None


def set_language(session: Session, actor: Actor, lang: str) -> str:
    """Store the person's language (applies from the next rerun, in every tab)."""
    if lang not in LANGUAGES:
        raise UsageError(
            msgid=N_("unknown language {lang!r}; choose one of: {languages}"),
            lang=lang,
            languages=", ".join(LANGUAGES),
        )
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise NotFound(msgid=N_("only a logged-in person has a language setting"))
    user.lang = lang
    return lang
