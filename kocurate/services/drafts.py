"""Drafts: what a person typed into a turn and has not saved yet, kept server-side.

One draft per (user, turn, field), remembering the sample version it was typed on. The review page
writes it as soon as the browser sends the text (on blur) and before every navigation; opening the
sample again shows it over the saved text. A draft whose base version is older than the sample is
*outdated*: the page opens it in the conflict view. Saving the turn (``review.save_edit``) removes
the saver's draft; nothing here is ever read by the exporters. Drafts outlive logouts and restarts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound, PermissionDenied, UsageError
from ..i18n import N_
from ..models import Dataset, Draft, Sample, Turn, utcnow
from .auth import Actor

FIELDS = ("text", "source_text")
MAX_CHARS = 1_000_000  # the import limit for one field


def _person(actor: Actor) -> int:
    if actor.id is None:
        raise PermissionDenied(msgid=N_("drafts belong to a logged-in person"))
    return actor.id


def save_draft(
    session: Session,
    actor: Actor,
    sample_id: int,
    turn_id: int,
    text: str,
    base_version: int,
    *,
    field: str = "text",
) -> bool:
    """Keep ``text`` as my draft of the turn, typed on ``base_version``. Text equal to what is saved
    now removes the draft instead (also when it was typed on an older version). Returns True when
    kept.
    """
    actor.require("edit")
    user_id = _person(actor)
    if field not in FIELDS:
        raise UsageError(msgid=N_("field is one of {fields}"), fields=", ".join(FIELDS))
    if text is None:
        raise UsageError(msgid=N_("text is required"))
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_CHARS:
        raise UsageError(
            msgid=N_("turn {turn_id}: a draft holds at most {max_chars:,} characters"),
            turn_id=turn_id,
            max_chars=MAX_CHARS,
        )
    row = session.execute(
        select(Turn.__table__.c[field], Sample.dataset_id, Sample.version)
        .join(Sample, Sample.id == Turn.sample_id)
        .where(Turn.id == turn_id, Turn.sample_id == sample_id)
    ).first()
    if row is None:
        raise NotFound(
            msgid=N_("no turn {turn_id} in sample {sample_id}"),
            turn_id=turn_id,
            sample_id=sample_id,
        )
    where = (Draft.user_id == user_id, Draft.turn_id == turn_id, Draft.field == field)
    if (row[0] or "") == text:  # the saved text already says this: nothing to keep
        session.execute(delete(Draft.__table__).where(*where))
        return False
    values = {"text": text, "base_version": int(base_version), "updated_at": utcnow()}
    if session.execute(update(Draft.__table__).where(*where).values(**values)).rowcount == 0:
        session.execute(
            insert(Draft.__table__).values(
                user_id=user_id,
                dataset_id=row.dataset_id,
                sample_id=sample_id,
                turn_id=turn_id,
                field=field,
                **values,
            )
        )
    return True


def my_drafts(session: Session, actor: Actor, sample_id: int) -> list[dict[str, Any]]:
    """My drafts on one sample, with ``saved`` (the text now in the database) and ``outdated``."""
    actor.require("review")
    if actor.id is None:
        return []
    rows = session.execute(
        select(Draft, Turn.idx, Turn.text, Turn.source_text, Sample.version)
        .join(Turn, Turn.id == Draft.turn_id)
        .join(Sample, Sample.id == Draft.sample_id)
        .where(Draft.user_id == actor.id, Draft.sample_id == sample_id)
        .order_by(Turn.idx, Draft.field)
    ).all()
    return [
        {
            "turn_id": d.turn_id,
            "turn_idx": idx,
            "field": d.field,
            "text": d.text,
            "base_version": d.base_version,
            "saved": (ko if d.field == "text" else src) or "",
            "outdated": d.base_version != version,
            "updated_at": d.updated_at.isoformat(timespec="seconds"),
        }
        for d, idx, ko, src, version in rows
    ]


def discard(
    session: Session,
    actor: Actor,
    sample_id: int,
    turn_id: int | None = None,
    field: str | None = None,
) -> int:
    """Throw away my drafts of a sample (or of one turn / field); returns how many went."""
    actor.require("review")
    if actor.id is None:
        return 0
    stmt = delete(Draft.__table__).where(Draft.user_id == actor.id, Draft.sample_id == sample_id)
    if turn_id is not None:
        stmt = stmt.where(Draft.turn_id == turn_id)
    if field is not None:
        stmt = stmt.where(Draft.field == field)
    return int(session.execute(stmt).rowcount or 0)


def pending_counts(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Leads: how many unsaved drafts (and by how many people) are pending per dataset."""
    actor.require("view_stats")
    rows = session.execute(
        select(
            Draft.dataset_id,
            Dataset.name,
            func.count(),
            func.count(func.distinct(Draft.user_id)),
            func.count(func.distinct(Draft.sample_id)),
        )
        .join(Dataset, Dataset.id == Draft.dataset_id)
        .group_by(Draft.dataset_id, Dataset.name)
        .order_by(Draft.dataset_id)
    )
    return [
        {"dataset_id": d, "dataset": n, "drafts": c, "people": p, "samples": sm}
        for d, n, c, p, sm in rows
    ]
