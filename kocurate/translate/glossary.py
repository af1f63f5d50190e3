"""The EN→KO glossary: terms in GlossaryTerm, CSV import/export, sync to one DeepL glossary.

DeepL glossaries cannot be edited in place (v2), so a sync creates a new glossary from the current
terms and deletes the previous one. The synced state ({id, hash, n}) lives in the Setting table
under ``deepl_glossary``; ``hash`` is over the terms, so a sync is a no-op while the terms are
unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import KocurateError
from ..models import GlossaryTerm, Setting, utcnow
from .client import DeepL

SETTING_KEY = "deepl_glossary"
GLOSSARY_NAME = "kocurate EN-KO"
MAX_TERM = 255


class GlossaryError(KocurateError):
    pass


def terms(session: Session) -> dict[str, str]:
    """All terms, source → target (a glossary is small: hundreds to a few thousand rows)."""
    return dict(
        session.execute(
            select(GlossaryTerm.source_term, GlossaryTerm.target_term).order_by(
                GlossaryTerm.source_term
            )
        )
        .tuples()
        .all()
    )


def terms_hash(entries: dict[str, str]) -> str:
    return hashlib.sha256(
        json.dumps(sorted(entries.items()), ensure_ascii=False).encode()
    ).hexdigest()[:16]


def _check(source: str, target: str, where: str) -> tuple[str, str]:
    source, target = (source or "").strip(), (target or "").strip()
    if not source or not target:
        raise GlossaryError(f"{where}: both the English term and the Korean term are needed")
    for t in (source, target):
        if len(t) > MAX_TERM:
            raise GlossaryError(f"{where}: term longer than {MAX_TERM} characters")
        if any(ord(c) < 32 or 127 < ord(c) < 160 or c in "\u2028\u2029" for c in t):
            raise GlossaryError(
                f"{where}: control characters (tabs, newlines) are not allowed in a term"
            )
    return source, target


def parse_csv(data: str | bytes) -> list[tuple[str, str, str | None]]:
    """Rows of (english, korean, note) from CSV; a header row ``source,target[,note]`` is
    optional."""
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig")
    data = data.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(data)))
    out: list[tuple[str, str, str | None]] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if n == 1 and [c.strip().lower() for c in row[:2]] in (
            ["source", "target"],
            ["en", "ko"],
            ["english", "korean"],
        ):
            continue
        if len(row) < 2:
            raise GlossaryError(f"line {n}: expected 'english,korean[,note]'")
        row = [_uncell(c.strip()) for c in row]  # our own export escapes formula-like cells
        source, target = _check(row[0], row[1], f"line {n}")
        key = source.lower()
        if key in seen:
            raise GlossaryError(f"line {n}: the term {source!r} is already on line {seen[key]}")
        seen[key] = n
        out.append((source, target, (row[2].strip() or None) if len(row) > 2 else None))
    return out


def import_rows(
    session: Session, rows: list[tuple[str, str, str | None]], replace: bool = False
) -> dict[str, int]:
    """Upsert terms (``replace``: the CSV becomes the whole glossary)."""
    existing = {t.source_term: t for t in session.scalars(select(GlossaryTerm))}
    added = updated = removed = 0
    if replace:
        keep = {s for s, _, _ in rows}
        gone = [s for s in existing if s not in keep]
        if gone:
            session.execute(delete(GlossaryTerm).where(GlossaryTerm.source_term.in_(gone)))
            removed = len(gone)
    for source, target, note in rows:
        t = existing.get(source)
        if t is None:
            session.add(GlossaryTerm(source_term=source, target_term=target, note=note))
            added += 1
        elif (t.target_term, t.note) != (target, note):
            t.target_term, t.note = target, note
            updated += 1
    session.flush()
    return {"added": added, "updated": updated, "removed": removed}


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, e.g.
# =HYPERLINK(…) or +cmd|…); such a cell is written with a leading apostrophe, which spreadsheets
# show as text, and parse_csv drops again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def export_csv(session: Session) -> str:
    """The glossary as CSV (source,target,note); cells a spreadsheet would run as formulas are
    escaped."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "target", "note"])
    for t in session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.source_term)):
        w.writerow([_cell(t.source_term), _cell(t.target_term), _cell(t.note or "")])
    return buf.getvalue()


def synced_state(session: Session) -> dict[str, Any] | None:
    s = session.get(Setting, SETTING_KEY)
    return dict(s.value) if s and s.value else None


def _store(session: Session, value: dict[str, Any] | None) -> None:
    s = session.get(Setting, SETTING_KEY)
    if s is None:
        session.add(Setting(key=SETTING_KEY, value=value or {}, updated_at=utcnow()))
    else:
        s.value, s.updated_at = value or {}, utcnow()
    session.flush()


def ensure_remote(
    deepl: DeepL, entries: dict[str, str], state: dict[str, Any] | None, force: bool = False
) -> tuple[dict[str, Any] | None, bool]:
    """Make DeepL hold a glossary for ``entries`` (HTTP only, no database): (state to use,
    changed?)."""
    h = terms_hash(entries)
    if not entries:
        if state and state.get("id"):
            deepl.delete_glossary(state["id"])
        return None, bool(state)
    if state and state.get("id") and state.get("hash") == h and not force:
        return state, False
    new_id = deepl.create_glossary(GLOSSARY_NAME, entries)
    if state and state.get("id"):
        deepl.delete_glossary(state["id"])
    return {
        "id": new_id,
        "hash": h,
        "n": len(entries),
        "synced_at": utcnow().isoformat(timespec="seconds"),
    }, True


def store_state(session: Session, state: dict[str, Any] | None) -> None:
    _store(session, state)


def sync(session: Session, deepl: DeepL, force: bool = False) -> dict[str, Any] | None:
    """Make the DeepL glossary match our terms; returns the state used for translating (None: no
    terms)."""
    state, changed = ensure_remote(deepl, terms(session), synced_state(session), force=force)
    if changed:
        _store(session, state)
    return state
