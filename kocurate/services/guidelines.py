"""Annotation guidelines: Markdown written by leads, per dataset or project-wide, versioned.

A dataset without guidelines of its own shows the project default (``scope`` 0). Each save adds a
version (who, when, a note on what changed); versions are compared as a unified diff. Only leads and
admins write guidelines (``PERMISSION``, checked here by its literal name, which
tests/test_security.py finds). Readers confirm a new version once; the
Review page shows a banner until they do.

Sections: a Markdown heading starts a section; ``## 비난 {#censure}`` gives it the anchor
``censure`` (otherwise the anchor is made from the heading). Flags and checks link to ``ANCHORS`` by
name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotFound, UsageError
from ..i18n import N_
from ..models import Dataset, Guideline, GuidelineRead, User
from . import audit
from .auth import Actor

PERMISSION = "configure"  # leads and admins
PROJECT = 0  # the scope of the project-wide default
MAX_CHARS = 200_000
DEFAULT_FILE = "default_guidelines.ko.md"
# a flag's section in the guidelines: the anchor is the flag's code (the shipped default has them
# all)
ANCHORS = ("censure", "hate", "discrimination", "sexual", "abuse", "violence", "crime")

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_EXPLICIT = re.compile(r"\s*\{#([A-Za-z0-9_-]+)\}\s*$")


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    scope: int
    dataset_id: int | None
    version: int
    body: str
    note: str | None
    author: str
    at: datetime

    @property
    def project_wide(self) -> bool:
        return self.scope == PROJECT


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    level: int  # 0 for text before the first heading
    title: str
    body: str

    def matches(self, query: str) -> bool:
        q = query.casefold().strip()
        return not q or q in self.title.casefold() or q in self.body.casefold() or q == self.anchor


def _v(g: Guideline) -> Version:
    return Version(
        g.id, g.scope, g.dataset_id, g.version, g.body, g.note, g.created_by_name, g.created_at
    )


def _scope(session: Session, dataset_id: int | None) -> int:
    if dataset_id is None:
        return PROJECT
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    return int(dataset_id)


def _check_body(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise UsageError(msgid=N_("the guidelines are empty; write some Markdown first"))
    if "\x00" in body:
        line = body[: body.index("\x00")].count("\n") + 1
        raise UsageError(
            msgid=N_("the guidelines contain a NUL character (line {line})"), line=line
        )
    if len(body) > MAX_CHARS:
        raise UsageError(
            msgid=N_("the guidelines are {n:,} characters; at most {max_chars:,}"),
            n=len(body),
            max_chars=MAX_CHARS,
        )
    return body.replace("\r\n", "\n")


def set_guidelines(
    session: Session, actor: Actor, dataset_id: int | None, body: str, note: str | None = None
) -> tuple[Version, bool]:
    """Save a new version (leads/admins). Returns (the current version, whether one was added): the
    same text as the latest version adds nothing."""
    actor.require("configure")
    scope = _scope(session, dataset_id)
    body = _check_body(body)
    latest = session.scalar(
        select(Guideline)
        .where(Guideline.scope == scope)
        .order_by(Guideline.version.desc())
        .limit(1)
    )
    if latest is not None and latest.body == body:
        return _v(latest), False
    g = Guideline(
        scope=scope,
        dataset_id=dataset_id,
        version=(latest.version + 1) if latest else 1,
        body=body,
        note=(note or "").strip() or None,
        created_by=actor.id,
        created_by_name=actor.username,
    )
    session.add(g)
    session.flush()
    if actor.id is not None:  # the author has read what they wrote
        session.add(GuidelineRead(user_id=actor.id, scope=scope, version=g.version))
    audit.record(
        session,
        actor,
        "guidelines",
        dataset_id=dataset_id,
        target=f"v{g.version}",
        scope="project" if scope == PROJECT else "dataset",
        note=g.note,
        added=_changed_lines(latest.body if latest else "", body),
    )
    return _v(g), True


def _changed_lines(old: str, new: str) -> int:
    return sum(1 for d in difflib.ndiff(old.splitlines(), new.splitlines()) if d[:1] in "+-")


def latest(session: Session, dataset_id: int | None) -> Version | None:
    """The newest version of exactly this scope (no fallback)."""
    scope = PROJECT if dataset_id is None else int(dataset_id)
    g = session.scalar(
        select(Guideline)
        .where(Guideline.scope == scope)
        .order_by(Guideline.version.desc())
        .limit(1)
    )
    return _v(g) if g else None


def effective(session: Session, dataset_id: int | None) -> Version | None:
    """What a reviewer of this dataset follows: its own guidelines, else the project default."""
    return (latest(session, dataset_id) if dataset_id is not None else None) or latest(
        session, None
    )


def get_version(session: Session, dataset_id: int | None, version: int) -> Version:
    scope = PROJECT if dataset_id is None else int(dataset_id)
    g = session.scalar(
        select(Guideline).where(Guideline.scope == scope, Guideline.version == version)
    )
    if g is None:
        where = "the project" if scope == PROJECT else f"dataset {dataset_id}"
        raise NotFound(
            msgid=N_("no guidelines version {version} for {where}"), version=version, where=where
        )
    return _v(g)


def history(session: Session, dataset_id: int | None, limit: int = 200) -> list[Version]:
    """This scope's versions, newest first."""
    scope = PROJECT if dataset_id is None else int(dataset_id)
    return [
        _v(g)
        for g in session.scalars(
            select(Guideline)
            .where(Guideline.scope == scope)
            .order_by(Guideline.version.desc())
            .limit(limit)
        )
    ]


def diff(old: Version | None, new: Version) -> str:
    """A unified diff between two versions (the first one against nothing)."""
    a = old.body.splitlines(keepends=True) if old else []
    b = new.body.splitlines(keepends=True)
    name_a = f"v{old.version} ({old.author})" if old else "(none)"
    return "".join(
        difflib.unified_diff(a, b, fromfile=name_a, tofile=f"v{new.version} ({new.author})")
    )


def diff_versions(
    session: Session, dataset_id: int | None, version: int, against: int | None = None
) -> str:
    """The diff of ``version`` against ``against`` (default: the version before it)."""
    new = get_version(session, dataset_id, version)
    base = against if against is not None else version - 1
    old = get_version(session, dataset_id, base) if base >= 1 else None
    return diff(old, new)


# ------------------------------------------------------------------------------ read confirmations


def unconfirmed(session: Session, actor: Actor, dataset_id: int | None) -> Version | None:
    """The effective version when this user has not confirmed reading it (None: nothing to
    confirm)."""
    v = effective(session, dataset_id)
    if v is None or actor.id is None:
        return None
    seen = session.scalar(
        select(GuidelineRead.version).where(
            GuidelineRead.user_id == actor.id,
            GuidelineRead.scope == v.scope,
            GuidelineRead.version == v.version,
        )
    )
    return None if seen is not None else v


def confirm_read(session: Session, actor: Actor, scope: int, version: int) -> None:
    """Record that this user read a version (once; again is a no-op)."""
    if actor.id is None:
        return
    if (
        session.scalar(
            select(Guideline.id).where(Guideline.scope == scope, Guideline.version == version)
        )
        is None
    ):
        raise NotFound(msgid=N_("no guidelines version {version}"), version=version)
    if (
        session.scalar(
            select(GuidelineRead.id).where(
                GuidelineRead.user_id == actor.id,
                GuidelineRead.scope == scope,
                GuidelineRead.version == version,
            )
        )
        is None
    ):
        session.add(GuidelineRead(user_id=actor.id, scope=scope, version=version))
        audit.record(
            session, actor, "guidelines_read", dataset_id=scope or None, target=f"v{version}"
        )


def readers(session: Session, actor: Actor, scope: int, version: int) -> list[str]:
    """Who confirmed a version (leads)."""
    actor.require("configure")
    return list(
        session.scalars(
            select(User.username)
            .join(GuidelineRead, GuidelineRead.user_id == User.id)
            .where(GuidelineRead.scope == scope, GuidelineRead.version == version)
            .order_by(User.username)
        )
    )


def n_versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Guideline)) or 0)


# ------------------------------------------------------------------------------ sections and
# anchors


def slug(title: str) -> str:
    """An anchor from a heading: lower case, letters (any script), digits, '-'."""
    t = unicodedata.normalize("NFC", title).casefold()
    t = re.sub(r"[^\w\s-]", "", t)
    return re.sub(r"[\s_]+", "-", t).strip("-") or "section"


def sections(body: str) -> list[Section]:
    """Split Markdown at its headings (not inside ``` fences); each section gets a unique anchor."""
    out: list[Section] = []
    title, level, anchor, lines = "", 0, "intro", []  # text before the first heading
    used: set[str] = {"intro"}
    fence = False

    def flush() -> None:
        text = "\n".join(lines).strip("\n")
        if level or text.strip():
            out.append(Section(anchor, level, title, text))

    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        m = None if fence else _HEADING.match(line)
        if m is None:
            lines.append(line)
            continue
        flush()
        level, raw = len(m.group(1)), m.group(2)
        ex = _EXPLICIT.search(raw)
        title = _EXPLICIT.sub("", raw).strip() if ex else raw.strip()
        base = ex.group(1).lower() if ex else slug(title)
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        lines = []
    flush()
    return out


def search(body: str, query: str) -> list[Section]:
    """The sections whose heading or text contains the query (case-insensitive), in order."""
    return [s for s in sections(body) if s.matches(query)]


def section(body: str, anchor: str) -> Section | None:
    return next((s for s in sections(body) if s.anchor == anchor), None)


# ------------------------------------------------------------------------------ the shipped default


def default_text() -> str:
    """The Korean project guidelines shipped with kocurate (AIHub categories, fixes, decisions)."""
    return resources.files("kocurate.guidance").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")


def install_default(session: Session, actor: Actor) -> Version | None:
    """Make the shipped text the project default when the project has none yet (the demo does
    this)."""
    if latest(session, None) is not None:
        return None
    v, _ = set_guidelines(session, actor, None, default_text(), note="kocurate default guidelines")
    return v
