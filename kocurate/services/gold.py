"""Gold samples (issue 21 B): samples with a lead's expected answer, mixed into annotators' queues
unmarked, that measure each annotator; and the bar under which an annotator's work goes to a second
review.

- **Marking** (leads): expected decision (approve / reject / needs_fix), expected flags (AIHub
  categories and quality flags) and optionally the expected Korean text per turn.
- **Mixing**: every Nth ``next`` of a person in a dataset's main queue (status ``new``), with
  N = round(1 / rate), hands out the first gold sample of the dataset that this person has not
  answered yet (a per-person counter in ``settings``; the gold table of a dataset is small, so the
  pick is one indexed read, whatever the size of the queue). Gold samples never come through the
  ordinary keyset queue. Nothing in the sample view or the queue data says a sample is gold: other
  people's reservations of a gold sample are not shown, and every annotator may hold it at once.
- **Scoring**: a plain (non-adjudicating) decision on a gold sample becomes a ``GoldAnswer`` (the
  first answer of a person counts; a repeat is a no-op), never a ``Review``: the gold sample's
  status does not change and agreement figures (built on reviews) never see it. Scored: decision
  match; per flag category match (every AIHub ethics category, plus any quality flag expected or
  given); text similarity (difflib ratio, 0–1, mean over the turns with an expected text). The
  person's own flags and text edits on the gold sample are taken into the answer and then
  removed/put back, so the next annotator sees the sample as the lead marked it.
- **Accuracy**: per annotator, decision accuracy and per-category flag accuracy with a Wilson 95 %
  interval (``report``).
- **Bar**: a lead sets ``min_accuracy`` and ``min_answers`` per dataset. A person is *below the bar*
  when they have at least ``min_answers`` gold answers in the dataset and their decision accuracy
  (the point estimate) is under ``min_accuracy``. A sample decided by someone below the bar settles
  only once it has one more decision than the dataset's overlap AND at least one of its deciders is
  at or above the bar; until then it stays ``new`` (a ``SecondReview`` row keeps it in other
  people's queues even with overlap > 1). A lead's adjudication settles it as always.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound, UsageError
from ..i18n import N_
from ..models import (
    DECISIONS,
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    Claim,
    Dataset,
    Edit,
    Flag,
    GoldAnswer,
    GoldSample,
    SecondReview,
    Setting,
    Turn,
    User,
    utcnow,
)
from ..models import Sample as SampleModel
from . import audit
from .auth import Actor

ALL_FLAGS = ETHICS_FLAGS + QUALITY_FLAGS
DEFAULTS: dict[str, Any] = {"rate": 0.05, "min_accuracy": None, "min_answers": 10}
Z95 = 1.959963984540054


# ------------------------------------------------------------------------------------------- maths


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of k successes in n trials (95 % by default); None when n is 0."""
    if n <= 0:
        return None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def text_similarity(given: str, expected: str) -> float:
    """Character similarity 0..1 (difflib's ratio) of a given text to the expected one."""
    return difflib.SequenceMatcher(None, given or "", expected or "", autojunk=False).ratio()


def score(
    expected_decision: str, expected_flags: list[str], decision: str, flags: list[str]
) -> tuple[bool, dict[str, bool]]:
    """Decision match and per-category flag match (ethics categories always, quality ones when
    expected or given)."""
    exp, got = set(expected_flags), set(flags)
    cats = set(ETHICS_FLAGS) | ((exp | got) & set(QUALITY_FLAGS))
    return decision == expected_decision, {c: (c in exp) == (c in got) for c in sorted(cats)}


# ---------------------------------------------------------------------------------------- settings


def _key(dataset_id: int) -> str:
    return f"gold.{int(dataset_id)}"


def settings(session: Session, dataset_id: int) -> dict[str, Any]:
    """The dataset's gold rate and bar (``min_accuracy`` None: no bar)."""
    row = session.get(Setting, _key(dataset_id))
    return {**DEFAULTS, **(dict(row.value) if row else {})}


def _save_settings(
    session: Session, actor: Actor, dataset_id: int, **values: Any
) -> dict[str, Any]:
    actor.require("configure")
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    before = settings(session, dataset_id)
    row = session.get(Setting, _key(dataset_id))
    value = {**(dict(row.value) if row else {}), **values}
    if row is None:
        session.add(Setting(key=_key(dataset_id), value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "settings",
        dataset_id=dataset_id,
        target="gold",
        before={k: before[k] for k in values},
        after=values,
    )
    session.flush()
    return settings(session, dataset_id)


def set_rate(session: Session, actor: Actor, dataset_id: int, rate: float) -> dict[str, Any]:
    """Leads: the share of an annotator's queue that is gold (0 switches mixing off; at most
    0.5)."""
    actor.require("configure")
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise UsageError(
            msgid=N_("gold rate: a share such as 0.05, got {rate!r}"), rate=rate
        ) from None
    if not 0.0 <= rate <= 0.5:
        raise UsageError(
            msgid=N_("gold rate is a share from 0 to 0.5 (e.g. 0.05 = 5 %), got {rate}"), rate=rate
        )
    return _save_settings(session, actor, dataset_id, rate=rate)


def set_bar(
    session: Session,
    actor: Actor,
    dataset_id: int,
    min_accuracy: float | None,
    min_answers: int = 10,
) -> dict[str, Any]:
    """Leads: annotators with at least ``min_answers`` gold answers and decision accuracy under
    ``min_accuracy`` get a second review of their decisions (None removes the bar)."""
    actor.require("configure")
    if min_accuracy is not None and not 0.0 < float(min_accuracy) <= 1.0:
        raise UsageError(
            msgid=N_("bar: minimum accuracy is a share in (0, 1], got {min_accuracy}"),
            min_accuracy=min_accuracy,
        )
    if int(min_answers) < 1:
        raise UsageError(
            msgid=N_("bar: minimum answers is at least 1, got {min_answers}"),
            min_answers=min_answers,
        )
    acc = None if min_accuracy is None else float(min_accuracy)
    return _save_settings(
        session, actor, dataset_id, min_accuracy=acc, min_answers=int(min_answers)
    )


# ----------------------------------------------------------------------------------------- marking


def mark(
    session: Session,
    actor: Actor,
    sample_id: int,
    decision: str,
    flags: list[str] | None = None,
    texts: dict[int, str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Leads: make a sample gold (or change its expected answer). ``texts``: turn number (0-based)
    -> expected Korean text."""
    actor.require("configure")
    decision = {"approved": "approve", "rejected": "reject"}.get(decision, decision)
    if decision not in DECISIONS or decision == "skip":
        raise UsageError(
            msgid=N_("expected decision is approve, reject or needs_fix, not {decision!r}"),
            decision=decision,
        )
    flags = sorted(set(flags or []))
    bad = [f for f in flags if f not in ALL_FLAGS]
    if bad:
        raise UsageError(
            msgid=N_("unknown flag {flag!r}; one of {all_flags}"),
            flag=bad[0],
            all_flags=", ".join(ALL_FLAGS),
        )
    sample = session.get(SampleModel, sample_id)
    if sample is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    turns = {
        t.idx: t.text for t in session.scalars(select(Turn).where(Turn.sample_id == sample_id))
    }
    clean: dict[str, str] = {}
    for idx, text in (texts or {}).items():
        if int(idx) not in turns:
            raise UsageError(
                msgid=N_("expected text for turn {turn}: sample {sample_id} has {n} turn(s)"),
                turn=int(idx) + 1,
                sample_id=sample_id,
                n=len(turns),
            )
        if text is not None and text.strip():
            clean[str(int(idx))] = text.replace("\r\n", "\n")
    gold = session.get(GoldSample, sample_id)
    values = {
        "decision": decision,
        "flags": flags,
        "texts": clean,
        "note": (note or "").strip() or None,
    }
    if gold is None:
        session.add(
            GoldSample(
                sample_id=sample_id,
                dataset_id=sample.dataset_id,
                created_by=actor.id,
                base_texts={str(i): t for i, t in turns.items()},
                created_at=utcnow(),
                **values,
            )
        )
    else:
        for k, v in values.items():
            setattr(gold, k, v)
    audit.record(
        session,
        actor,
        "gold_mark",
        dataset_id=sample.dataset_id,
        target=f"sample {sample_id}",
        decision=decision,
        flags=flags,
        texts=sorted(clean),
    )
    session.flush()
    return get(session, actor, sample_id) or {}


def unmark(session: Session, actor: Actor, sample_id: int) -> bool:
    """Leads: a gold sample becomes an ordinary one again (its scored answers go with it)."""
    actor.require("configure")
    gold = session.get(GoldSample, sample_id)
    if gold is None:
        return False
    session.execute(delete(GoldAnswer.__table__).where(GoldAnswer.sample_id == sample_id))
    audit.record(
        session, actor, "gold_unmark", dataset_id=gold.dataset_id, target=f"sample {sample_id}"
    )
    session.delete(gold)
    session.flush()
    return True


def get(session: Session, actor: Actor, sample_id: int) -> dict[str, Any] | None:
    """Leads: the expected answer of a gold sample (None: not gold). Annotators may not ask."""
    actor.require("configure")
    g = session.get(GoldSample, sample_id)
    if g is None:
        return None
    n = session.scalar(
        select(func.count()).select_from(GoldAnswer).where(GoldAnswer.sample_id == sample_id)
    )
    return {
        "sample_id": g.sample_id,
        "dataset_id": g.dataset_id,
        "decision": g.decision,
        "flags": list(g.flags),
        "texts": {int(k): v for k, v in g.texts.items()},
        "note": g.note,
        "answers": int(n or 0),
    }


def list_gold(
    session: Session, actor: Actor, dataset_id: int, *, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Leads: a dataset's gold samples by id (keyset)."""
    actor.require("configure")
    rows = session.scalars(
        select(GoldSample)
        .where(GoldSample.dataset_id == dataset_id, GoldSample.sample_id > after)
        .order_by(GoldSample.sample_id)
        .limit(limit)
    )
    return [
        {
            "sample_id": g.sample_id,
            "decision": g.decision,
            "flags": list(g.flags),
            "texts": len(g.texts),
        }
        for g in rows
    ]


def is_gold(session: Session, sample_id: int) -> bool:
    """For the review service (one primary-key read); never shown to annotators."""
    return (
        session.scalar(select(GoldSample.sample_id).where(GoldSample.sample_id == sample_id))
        is not None
    )


def gold_ids(dataset_id: int) -> Any:
    """The dataset's gold sample ids, as a subquery (small table, indexed by dataset)."""
    return select(GoldSample.sample_id).where(GoldSample.dataset_id == dataset_id)


# --------------------------------------------------------------------------------------------
# mixing


def _unanswered(user_id: int, dataset_id: int) -> Any:
    answered = select(GoldAnswer.sample_id).where(
        GoldAnswer.user_id == user_id, GoldAnswer.dataset_id == dataset_id
    )
    return (
        select(GoldSample.sample_id)
        .where(GoldSample.dataset_id == dataset_id, GoldSample.sample_id.not_in(answered))
        .order_by(GoldSample.sample_id)
    )


def held_gold(session: Session, user_id: int, dataset_id: int) -> int | None:
    """The person's open claim on a gold sample they have not answered (a fresh start of the queue
    resumes it, as it resumes any open claim)."""
    held = session.scalar(
        _unanswered(user_id, dataset_id)
        .where(
            GoldSample.sample_id.in_(
                select(Claim.sample_id).where(
                    Claim.user_id == user_id, Claim.done.is_(False), Claim.expires_at > utcnow()
                )
            )
        )
        .limit(1)
    )
    return int(held) if held is not None else None


def mix_pick(session: Session, user_id: int, dataset_id: int) -> int | None:
    """Called by ``review.next_sample`` on the main queue: the gold sample to hand out now, or None
    (every Nth call of the person in the dataset, N = round(1 / rate), when one is unanswered)."""
    rate = float(settings(session, dataset_id)["rate"] or 0.0)
    if rate <= 0:
        return None
    every = max(2, round(1.0 / rate))
    key = f"gold.tick.{int(dataset_id)}.{int(user_id)}"[:64]
    row = session.get(Setting, key)
    tick = int(row.value.get("n", 0)) + 1 if row else 1
    if row is None:
        session.add(Setting(key=key, value={"n": tick}, updated_at=utcnow()))
    else:
        row.value = {"n": tick}
        row.updated_at = utcnow()
    session.flush()
    if tick % every:
        return None
    sid = session.scalar(_unanswered(user_id, dataset_id).limit(1))
    return int(sid) if sid is not None else None


# -------------------------------------------------------------------------------------------
# scoring


def record_answer(session: Session, actor: Actor, sample_id: int, decision: str) -> bool:
    """Score a person's decision on a gold sample (called by ``review.submit_decision``).

    Returns False when the person had answered already (the first answer counts). Their flags on the
    sample and their text edits are taken into the answer, then removed / put back."""
    user_id = actor.id
    assert user_id is not None
    g = session.get(GoldSample, sample_id)
    if g is None:
        raise NotFound(msgid=N_("no gold sample {sample_id}"), sample_id=sample_id)
    done = session.scalar(
        select(GoldAnswer.id).where(
            GoldAnswer.sample_id == sample_id, GoldAnswer.user_id == user_id
        )
    )
    ft = Flag.__table__
    own = and_(ft.c.sample_id == sample_id, ft.c.user_id == user_id, ft.c.origin == "annotator")
    flags = sorted(set(session.scalars(select(ft.c.category).where(own, ft.c.state != "cleared"))))
    turns = session.execute(
        select(Turn.id, Turn.idx, Turn.text).where(Turn.sample_id == sample_id)
    ).all()
    if done is None and decision != "skip":
        ok, per_flag = score(g.decision, list(g.flags), decision, flags)
        sims = [
            text_similarity(t.text, g.texts[str(t.idx)]) for t in turns if str(t.idx) in g.texts
        ]
        session.execute(
            insert(GoldAnswer.__table__).values(
                sample_id=sample_id,
                dataset_id=g.dataset_id,
                user_id=user_id,
                decision=decision,
                flags=flags,
                decision_ok=ok,
                flag_scores=per_flag,
                text_similarity=(sum(sims) / len(sims)) if sims else None,
                created_at=utcnow(),
            )
        )
    # the next annotator sees the gold sample as the lead marked it
    session.execute(delete(ft).where(own))
    restored = False
    for t in turns:
        base = g.base_texts.get(str(t.idx))
        if base is not None and base != t.text:
            session.execute(update(Turn.__table__).where(Turn.id == t.id).values(text=base))
            session.execute(
                update(SampleModel.__table__)
                .where(SampleModel.id == sample_id)
                .values(ko_chars=SampleModel.ko_chars + (len(base) - len(t.text)))
            )
            version = session.scalar(select(SampleModel.version).where(SampleModel.id == sample_id))
            session.execute(
                insert(Edit.__table__).values(
                    sample_id=sample_id,
                    turn_id=t.id,
                    field="text",
                    user_id=user_id,
                    kind="restore",
                    before=t.text,
                    after=base,
                    sample_version=version,
                    meta={"gold": True},
                    created_at=utcnow(),
                )
            )
            restored = True
    if restored:  # findings follow the text (as after any edit)
        from . import recheck

        recheck.recheck_sample(session, sample_id)
    return done is None and decision != "skip"


def report(session: Session, actor: Actor, dataset_id: int | None = None) -> list[dict[str, Any]]:
    """Leads: per annotator, answers on gold, decision accuracy and per-category flag accuracy, each
    with a Wilson 95 % interval, mean text similarity, and whether they are below the dataset's bar.
    """
    actor.require("view_stats")
    conds = [GoldAnswer.dataset_id == dataset_id] if dataset_id is not None else []
    agg = session.execute(
        select(
            GoldAnswer.user_id,
            User.username,
            func.count(),
            func.sum(_ok()),
            func.avg(GoldAnswer.text_similarity),
        )
        .join(User, User.id == GoldAnswer.user_id)
        .where(*conds)
        .group_by(GoldAnswer.user_id, User.username)
        .order_by(User.username)
    ).all()
    per_flag: dict[int, dict[str, list[int]]] = {}
    # per-category counts: the JSON scores are read per answer (gold answers are few: rate × work)
    for uid, scores in session.execute(
        select(GoldAnswer.user_id, GoldAnswer.flag_scores).where(*conds)
    ):
        for cat, ok in (scores or {}).items():
            c = per_flag.setdefault(uid, {}).setdefault(cat, [0, 0])
            c[0] += 1 if ok else 0
            c[1] += 1
    bar = settings(session, dataset_id) if dataset_id is not None else None
    out = []
    for uid, name, n, k, sim in agg:
        n, k = int(n), int(k or 0)
        row: dict[str, Any] = {
            "user": name,
            "user_id": uid,
            "answers": n,
            "decision_correct": k,
            "decision_accuracy": k / n if n else None,
            "decision_ci": wilson(k, n),
            "text_similarity": None if sim is None else round(float(sim), 3),
            "flags": {
                c: {"correct": a, "answers": b, "accuracy": a / b, "ci": wilson(a, b)}
                for c, (a, b) in sorted(per_flag.get(uid, {}).items())
            },
        }
        row["below_bar"] = bool(bar and _below(bar, n, k))
        out.append(row)
    return out


def _ok() -> Any:
    return case((GoldAnswer.decision_ok.is_(True), 1), else_=0)


def _below(bar: dict[str, Any], n: int, k: int) -> bool:
    acc = bar.get("min_accuracy")
    return acc is not None and n >= int(bar.get("min_answers") or 1) and (k / n) < float(acc)


def below_bar(session: Session, dataset_id: int, user_ids: set[int]) -> set[int]:
    """Which of these people are below the dataset's bar (empty when no bar is set)."""
    bar = settings(session, dataset_id)
    if bar.get("min_accuracy") is None or not user_ids:
        return set()
    rows = session.execute(
        select(GoldAnswer.user_id, func.count(), func.sum(_ok()))
        .where(GoldAnswer.dataset_id == dataset_id, GoldAnswer.user_id.in_(sorted(user_ids)))
        .group_by(GoldAnswer.user_id)
    )
    return {uid for uid, n, k in rows if _below(bar, int(n), int(k or 0))}


def second_review_gate(session: Session, sample_id: int, voters: set[int], overlap: int) -> bool:
    """Called by ``review._settle`` once enough people decided: True when the sample must wait for
    one more reviewer at or above the bar (see the module docstring). Keeps ``second_reviews`` true.
    """
    ds_id = session.scalar(select(SampleModel.dataset_id).where(SampleModel.id == sample_id))
    below = below_bar(session, ds_id, voters) if ds_id is not None else set()
    wait = bool(below) and (len(voters) < max(1, overlap) + 1 or not (voters - below))
    t = SecondReview.__table__
    held = session.scalar(select(t.c.sample_id).where(t.c.sample_id == sample_id))
    if wait and held is None:
        session.execute(
            insert(t).values(
                sample_id=sample_id, dataset_id=ds_id, user_id=min(below), created_at=utcnow()
            )
        )
    elif not wait and held is not None:
        session.execute(delete(t).where(t.c.sample_id == sample_id))
    return wait


def waiting_second_review(session: Session, actor: Actor, dataset_id: int) -> int:
    """Leads: how many samples of the dataset wait for a second review under the bar."""
    actor.require("view_stats")
    return int(
        session.scalar(
            select(func.count())
            .select_from(SecondReview)
            .where(SecondReview.dataset_id == dataset_id)
        )
        or 0
    )
