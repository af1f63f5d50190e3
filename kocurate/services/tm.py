"""Fix propagation (a small translation memory, issue 17).

When someone changes a phrase in a turn (``old_ko`` → ``new_ko``), :func:`suggest` finds the English
phrase that ``old_ko`` translates (the n-gram of the turn's English that co-occurs with ``old_ko``
across the corpus far more than by chance) and counts the other samples where that English phrase
was translated the same way. The offer "apply this fix to N other samples" is a
:class:`replace.ReplaceSpec` (literal ``old_ko`` → ``new_ko``, only in turns whose English contains
the phrase) that opens the ordinary find-and-replace preview.

Leads keep a list of such fixes (``TmFix``) and re-apply them after a new import
(:func:`apply_fixes`: one bulk operation per fix, each revertable).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, UsageError
from ..i18n import N_
from ..models import Dataset, Edit, TmFix, Turn, utcnow
from . import bulk, replace
from .auth import Actor

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
CONTEXT_ROWS = 2000  # turns read to learn which English phrase goes with the Korean one
STOP = {
    "the",
    "a",
    "an",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "it",
    "this",
    "that",
    "with",
    "as",
    "be",
}


def changed_phrase(before: str, after: str, max_chars: int = 40) -> tuple[str, str] | None:
    """What the edit replaced, between the common prefix and suffix: (old, new), trimmed of spaces.

    Character-level, so Korean particles stay outside the phrase ("기계 학습이란" → "머신러닝이란"
    gives "기계 학습" → "머신러닝"). None for no change, a pure insertion/deletion or a rewrite
    longer than ``max_chars``."""
    if before == after:
        return None
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    q = 0
    while q < min(len(before), len(after)) - p and before[-1 - q] == after[-1 - q]:
        q += 1
    old, new = before[p : len(before) - q], after[p : len(after) - q]
    # grow to whole characters of the word on the left when the cut falls inside a word
    while p > 0 and not before[p - 1].isspace() and old and not old[0].isspace():
        p -= 1
        old, new = before[p] + old, before[p] + new
    old, new = old.strip(), new.strip()
    if not old or not new or len(old) > max_chars:
        return None
    return old, new


def _ngrams(text: str, n_max: int = 3) -> set[str]:
    words = [w.lower() for w in _WORD.findall(text or "")]
    out = set()
    for n in range(1, n_max + 1):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in STOP or gram[-1] in STOP:
                continue
            out.add(" ".join(gram))
    return out


def english_phrase(
    session: Session, source: str, old_ko: str, *, exclude_turn: int | None = None
) -> str | None:
    """The phrase of ``source`` most associated with Korean turns containing ``old_ko``."""
    grams = _ngrams(source)
    if not grams:
        return None
    with_ko = [
        t or ""
        for t in session.scalars(
            select(Turn.source_text)
            .where(
                Turn.text.contains(old_ko, autoescape=True),
                Turn.id != (exclude_turn or -1),
                Turn.source_text.is_not(None),
            )
            .limit(CONTEXT_ROWS)
        )
    ]
    if not with_ko:
        return None
    background = [
        t or ""
        for t in session.scalars(
            select(Turn.source_text)
            .where(Turn.source_text.is_not(None))
            .order_by(Turn.id)
            .limit(CONTEXT_ROWS)
        )
    ]
    hit, base = Counter(), Counter()
    for t in with_ko:
        hit.update(grams & _ngrams(t))
    for t in background:
        base.update(grams & _ngrams(t))
    best, best_score = None, 0.0
    for g in grams:
        share = hit[g] / len(with_ko)
        if share < 0.5:
            continue
        lift = share / ((base[g] + 0.5) / (len(background) + 1))
        score = lift * (1 + 0.1 * g.count(" "))
        if score > best_score:
            best, best_score = g, score
    return best


def suggest(
    session: Session, actor: Actor, turn_id: int, before: str, after: str
) -> dict[str, Any] | None:
    """After an edit of a turn: the fix to offer for other samples, or None when there is none.

    ``{"en_phrase", "old", "new", "samples", "spec"}``; ``spec`` (a ReplaceSpec) opens the preview.
    """
    actor.require("review")
    pair = changed_phrase(before, after)
    if pair is None:
        return None
    old, new = pair
    row = session.execute(
        select(Turn.sample_id, Turn.role, Turn.source_text).where(Turn.id == turn_id)
    ).first()
    if row is None:
        raise NotFound(msgid=N_("no turn {turn_id}"), turn_id=turn_id)
    phrase = (
        english_phrase(session, row.source_text or "", old, exclude_turn=turn_id)
        if row.source_text
        else None
    )
    spec = replace.ReplaceSpec(pattern=old, replacement=new, en_contains=phrase)
    q = select(func.count(func.distinct(Turn.sample_id))).where(
        Turn.text.contains(old, autoescape=True), Turn.sample_id != row.sample_id
    )
    if phrase:
        q = q.where(Turn.source_text.icontains(phrase, autoescape=True))
    n = session.scalar(q) or 0
    if n == 0:
        return None
    return {
        "en_phrase": phrase or "",
        "old": old,
        "new": new,
        "samples": n,
        "spec": spec,
        "exclude_sample": row.sample_id,
    }


def suggest_from_edit(session: Session, actor: Actor, edit_id: int) -> dict[str, Any] | None:
    """:func:`suggest` for an edit in the history (the CLI's ``kocurate tm suggest EDIT``)."""
    e = session.get(Edit, edit_id)
    if e is None:
        raise NotFound(msgid=N_("no edit {edit_id}"), edit_id=edit_id)
    if e.field != "text":
        raise UsageError(
            msgid=N_("edit {edit_id} changed the English source; fixes propagate Korean text"),
            edit_id=edit_id,
        )
    return suggest(session, actor, e.turn_id, e.before, e.after)


# ----------------------------------------------------------------------------------- the lead's
# list


def add_fix(
    session: Session,
    actor: Actor,
    old_ko: str,
    new_ko: str,
    *,
    en_phrase: str = "",
    role: str | None = None,
    note: str | None = None,
) -> int:
    actor.require(bulk.PERMISSION)
    if not old_ko.strip() or old_ko == new_ko:
        raise UsageError(msgid=N_("a fix needs the old Korean text and a different new text"))
    fix = TmFix(
        en_phrase=en_phrase.strip(),
        old_ko=old_ko,
        new_ko=new_ko,
        role=role or None,
        note=(note or "").strip() or None,
        active=True,
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(fix)
    session.flush()
    return fix.id


def list_fixes(
    session: Session, actor: Actor, *, active_only: bool = False
) -> list[dict[str, Any]]:
    actor.require("review")
    q = select(TmFix).order_by(TmFix.id)
    if active_only:
        q = q.where(TmFix.active.is_(True))
    return [
        {
            "id": f.id,
            "en_phrase": f.en_phrase,
            "old": f.old_ko,
            "new": f.new_ko,
            "role": f.role,
            "note": f.note or "",
            "active": f.active,
        }
        for f in session.scalars(q)
    ]


def set_active(session: Session, actor: Actor, fix_id: int, active: bool) -> None:
    actor.require(bulk.PERMISSION)
    fix = session.get(TmFix, fix_id)
    if fix is None:
        raise NotFound(msgid=N_("no fix {fix_id}"), fix_id=fix_id)
    fix.active = active


def fix_spec(fix: dict[str, Any]) -> replace.ReplaceSpec:
    return replace.ReplaceSpec(
        pattern=fix["old"],
        replacement=fix["new"],
        role=fix["role"],
        en_contains=fix["en_phrase"] or None,
    )


def apply_fixes(
    session: Session, actor: Actor, dataset_id: int, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Re-apply every active fix to a dataset (e.g. after a new import): one bulk operation per
    fix."""
    actor.require(bulk.PERMISSION)
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    out = []
    for fix in list_fixes(session, actor, active_only=True):
        sel = bulk.Selection(dataset_id=dataset_id)
        spec = fix_spec(fix)
        if dry_run:
            out.append({"fix": fix["id"], **replace.preview_count(session, actor, sel, spec)})
            continue
        p = replace.preview(
            session, actor, sel, spec, note=f"translation-memory fix {fix['id']}", limit=0
        )
        if p["samples"] == 0:
            bulk.discard(session, actor, p["op_id"])
            out.append({"fix": fix["id"], "samples": 0, "op_id": None})
            continue
        res = replace.apply(session, actor, p["op_id"])
        out.append({"fix": fix["id"], "samples": res["changed"], "op_id": res["op_id"]})
    return out


# ----------------------------------------------------------------------- offers on the review page


def offers_for_sample(session: Session, actor: Actor, sample_id: int) -> list[dict[str, Any]]:
    """The active lead-kept fixes that apply to this sample, one per (fix, turn): what the review
    page offers as a one-click suggestion. ``after`` is the turn's text with the fix applied."""
    actor.require("review")
    fixes = list_fixes(session, actor, active_only=True)
    if not fixes:
        return []
    turns = session.execute(
        select(Turn.id, Turn.idx, Turn.role, Turn.text, Turn.source_text)
        .where(Turn.sample_id == sample_id)
        .order_by(Turn.idx)
    ).all()
    out = []
    for fix in fixes:
        phrase = (fix["en_phrase"] or "").lower()
        for t in turns:
            text = t.text or ""
            if fix["old"] not in text or (fix["role"] and t.role != fix["role"]):
                continue
            if phrase and phrase not in (t.source_text or "").lower():
                continue
            out.append(
                {
                    "fix_id": fix["id"],
                    "turn_id": t.id,
                    "turn_idx": t.idx,
                    "old": fix["old"],
                    "new": fix["new"],
                    "en_phrase": fix["en_phrase"],
                    "note": fix["note"],
                    "occurrences": text.count(fix["old"]),
                    "after": text.replace(fix["old"], fix["new"]),
                }
            )
    return out


def use_fix(
    session: Session, actor: Actor, fix_id: int, turn_id: int, expected_version: int
) -> int:
    """Apply one kept fix to one turn as an ordinary edit (history, stale-version check); returns
    the new sample version."""
    from .review import save_edit

    actor.require("edit")
    fix = session.get(TmFix, fix_id)
    if fix is None or not fix.active:
        raise NotFound(msgid=N_("no active fix {fix_id}"), fix_id=fix_id)
    row = session.execute(select(Turn.sample_id, Turn.text).where(Turn.id == turn_id)).first()
    if row is None:
        raise NotFound(msgid=N_("no turn {turn_id}"), turn_id=turn_id)
    if fix.old_ko not in (row.text or ""):
        raise Conflict(
            msgid=N_("fix {fix_id} no longer applies: the turn does not contain {old_ko!r}"),
            fix_id=fix_id,
            old_ko=fix.old_ko,
        )
    return save_edit(
        session,
        actor,
        row.sample_id,
        turn_id,
        row.text.replace(fix.old_ko, fix.new_ko),
        expected_version,
        meta={"tm_fix": fix_id},
    )
