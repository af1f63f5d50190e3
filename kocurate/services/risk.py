"""Learned risk (issue 17): what past decisions say about the checks, the machine translation and
each sample.

- :func:`check_precision`: per check of a dataset, of the decided samples it fired on, the share
that
  a person edited, rejected or sent back (true positives) versus approved unchanged (false
  positives).
- :func:`dataset_chrf`: chrF++ between the machine translation (``mt_text``) and the final text of
  approved samples, per dataset (as Pontoon reports for MT); :func:`chrf_pp` is our own
  implementation (character 1–6-grams and word 1–2-grams, β = 2, sacrebleu's definition).
- :func:`train`: a small scikit-learn model (logistic regression below 5,000 decisions, then
  gradient-boosted trees) over per-sample features —
  findings per check, flags (ethics, pre-flags), lengths and their ratio, turns, alignment status
  and confidence — labelled by decisions (broken = edited/rejected/needs fix; fine = approved
  unchanged). It scores every sample; scores live in ``sample_signals.risk`` so queues order "most
  likely broken first" (:func:`most_likely_broken_first`) and exports can take "the best N"
  (:func:`best_n`).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from typing import Any

import numpy as np
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import KocurateError
from ..i18n import N_
from ..models import (
    ETHICS_FLAGS,
    CheckFinding,
    Dataset,
    Edit,
    Flag,
    Sample,
    SampleSignal,
    Setting,
    Turn,
    utcnow,
)
from . import bulk
from .auth import Actor

BROKEN = ("rejected", "needs_fix")
ALIGN = ("id", "aligned", "ambiguous", "unaligned", "none")
MODEL_KEY = "risk.model"
MIN_LABELS = 20
SMALL = 5_000  # below this many decided samples the model is a logistic regression


# ------------------------------------------------------------------------------------------
# precision


def _edited() -> Any:
    return select(Edit.sample_id).where(Edit.kind == "manual", Edit.field == "text").distinct()


def check_precision(session: Session, actor: Actor, dataset_id: int) -> list[dict[str, Any]]:
    """Per check: samples it fired on, how many were decided, and its precision on those."""
    actor.require("view_stats")
    pairs = (
        select(CheckFinding.check, CheckFinding.sample_id)
        .where(CheckFinding.dataset_id == dataset_id)
        .distinct()
        .subquery()
    )
    edited = Sample.id.in_(_edited())
    broken = case((Sample.status.in_(BROKEN), 1), (edited, 1), else_=0)
    decided = case((Sample.status.in_(("approved", *BROKEN)), 1), else_=0)
    rows = session.execute(
        select(
            pairs.c.check,
            func.count(),
            func.sum(decided),
            func.sum(case((decided == 1, broken), else_=0)),
        )
        .join(Sample, Sample.id == pairs.c.sample_id)
        .group_by(pairs.c.check)
        .order_by(pairs.c.check)
    ).all()
    out = []
    for check, n, dec, tp in rows:
        dec, tp = int(dec or 0), int(tp or 0)
        out.append(
            {
                "check": check,
                "samples": int(n),
                "decided": dec,
                "true_positive": tp,
                "false_positive": dec - tp,
                "precision": tp / dec if dec else None,
            }
        )
    return out


# ----------------------------------------------------------------------------------------------
# chrF++

_PUNCT = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def _words(text: str) -> list[str]:
    """Words with leading/trailing punctuation split off (as sacrebleu's chrF++ does)."""
    out: list[str] = []
    for w in text.split():
        m = _PUNCT.match(w)
        assert m is not None
        lead, core, trail = m.groups()
        out.extend(x for x in (lead, core, trail) if x)
    return out


def _grams(seq: list[str] | str, n: int) -> Counter[Any]:
    return Counter(
        tuple(seq[i : i + n]) if isinstance(seq, list) else seq[i : i + n]
        for i in range(len(seq) - n + 1)
    )


def chrf_stats(hyp: str, ref: str, char_order: int = 6, word_order: int = 2) -> list[int]:
    """Per n-gram order: (matches, hypothesis n-grams, reference n-grams), flattened (sufficient
    statistics)."""
    stats: list[int] = []
    h, r = "".join(hyp.split()), "".join(ref.split())
    for n in range(1, char_order + 1):
        hg, rg = _grams(h, n), _grams(r, n)
        stats += [sum((hg & rg).values()), sum(hg.values()), sum(rg.values())]
    hw, rw = _words(hyp), _words(ref)
    for n in range(1, word_order + 1):
        hg, rg = _grams(hw, n), _grams(rw, n)
        stats += [sum((hg & rg).values()), sum(hg.values()), sum(rg.values())]
    return stats


def chrf_from_stats(stats: list[int] | np.ndarray, beta: float = 2.0) -> float:
    """Corpus chrF++ (0–100) from summed statistics: average precision and recall over orders, then
    F-β."""
    precs, recs = [], []
    for i in range(0, len(stats), 3):
        m, hn, rn = stats[i], stats[i + 1], stats[i + 2]
        if hn > 0 and rn > 0:
            precs.append(m / hn)
            recs.append(m / rn)
    if not precs:
        return 0.0
    p, r = sum(precs) / len(precs), sum(recs) / len(recs)
    if p + r == 0:
        return 0.0
    return 100 * (1 + beta**2) * p * r / (beta**2 * p + r)


def chrf_pp(hyp: str, ref: str) -> float:
    """chrF++ of one hypothesis against one reference (0–100)."""
    return chrf_from_stats(chrf_stats(hyp, ref))


def dataset_chrf(
    session: Session, actor: Actor, dataset_id: int, *, max_turns: int = 20_000
) -> dict[str, Any]:
    """chrF++ of the machine translation against the final text of approved samples (up to
    ``max_turns`` turns, spread over the dataset by a stride over turn ids), and the share of turns
    left unchanged.
    """
    actor.require("view_stats")
    base = (
        select(func.coalesce(Turn.mt_text, Turn.text), Turn.text)  # NULL: never edited
        .join(Sample, Sample.id == Turn.sample_id)
        .where(Sample.dataset_id == dataset_id, Sample.status == "approved")
    )
    n_all = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stride = max(1, math.ceil(n_all / max_turns)) if n_all else 1
    q = base.where(Turn.id % stride == 0) if stride > 1 else base
    total = np.zeros(24, dtype=np.int64)
    n = same = 0
    for mt, final in session.execute(q.limit(max_turns)):
        n += 1
        if mt == final:
            same += 1
        total += np.array(chrf_stats(mt or "", final or ""), dtype=np.int64)
    return {
        "dataset_id": dataset_id,
        "turns": n,
        "of": n_all,
        "unchanged": same,
        "chrf_pp": round(chrf_from_stats(total), 2) if n else None,
    }


# ---------------------------------------------------------------------------------------------
# model


def features(
    session: Session, dataset_ids: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(sample ids, dataset ids, feature matrix, labels (1 broken, 0 fine, -1 unknown), feature
    names)."""
    rows = session.execute(
        select(
            Sample.id,
            Sample.dataset_id,
            Sample.status,
            Sample.ko_chars,
            Sample.en_chars,
            Sample.n_turns,
            Sample.align_confidence,
            Sample.align_status,
        )
        .where(Sample.dataset_id.in_(dataset_ids))
        .order_by(Sample.id)
    ).all()
    if not rows:
        raise KocurateError(msgid=N_("no samples to score"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = {int(s): i for i, s in enumerate(ids)}
    checks = sorted(
        set(
            session.scalars(
                select(CheckFinding.check)
                .where(CheckFinding.dataset_id.in_(dataset_ids))
                .distinct()
            )
        )
    )
    names = [
        "log_ko_chars",
        "log_en_chars",
        "len_ratio",
        "turns",
        "align_confidence",
        *[f"align_{a}" for a in ALIGN],
        "findings",
        "flags",
        "ethics_flags",
        "preflags",
        *[f"check:{c}" for c in checks],
    ]
    x = np.zeros((len(rows), len(names)), dtype=np.float64)
    ds = np.array([r[1] for r in rows], dtype=np.int64)
    y = np.full(len(rows), -1, dtype=np.int8)
    for i, (_sid, _d, status, ko, en, nt, conf, al) in enumerate(rows):
        x[i, 0], x[i, 1] = math.log1p(ko or 0), math.log1p(en or 0)
        x[i, 2] = (ko + 1) / (en + 1) if en else np.nan
        x[i, 3] = nt or 0
        x[i, 4] = conf if conf is not None else np.nan
        if al in ALIGN:
            x[i, 5 + ALIGN.index(al)] = 1
        if status in BROKEN:
            y[i] = 1
        elif status == "approved":
            y[i] = 0
    col = {n: j for j, n in enumerate(names)}
    for sid, check, n in session.execute(
        select(CheckFinding.sample_id, CheckFinding.check, func.count())
        .where(CheckFinding.dataset_id.in_(dataset_ids))
        .group_by(CheckFinding.sample_id, CheckFinding.check)
    ):
        i = index.get(int(sid))
        if i is not None:
            x[i, col[f"check:{check}"]] += n
            x[i, col["findings"]] += n
    in_scope = select(Sample.id).where(Sample.dataset_id.in_(dataset_ids))
    ethics = case((Flag.category.in_(ETHICS_FLAGS), 1), else_=0)
    pre = case((Flag.origin.in_(("check", "model")), 1), else_=0)
    for sid, n, ne, npre in session.execute(
        select(Flag.sample_id, func.count(), func.sum(ethics), func.sum(pre))
        .where(Flag.sample_id.in_(in_scope))
        .group_by(Flag.sample_id)
    ):
        i = index.get(int(sid))
        if i is not None:
            x[i, col["flags"]], x[i, col["ethics_flags"]], x[i, col["preflags"]] = (
                n,
                ne or 0,
                npre or 0,
            )
    for (sid,) in session.execute(_edited().where(Edit.sample_id.in_(in_scope))):
        i = index.get(int(sid))
        if i is not None and y[i] == 0:
            y[i] = 1  # approved after an edit: the machine translation was broken
    return ids, ds, x, y, names


def train(
    engine: Engine, actor: Actor, dataset_ids: list[int] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Fit the risk model on decided samples and score every sample of the datasets; returns
    metrics."""
    actor.require("configure")
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    with session_scope(engine) as s:
        if not dataset_ids:
            dataset_ids = list(s.scalars(select(Dataset.id).order_by(Dataset.id)))
        ids, ds, x, y, names = features(s, dataset_ids)
    known = y >= 0
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos + n_neg < MIN_LABELS or n_pos == 0 or n_neg == 0:
        raise KocurateError(
            msgid=N_(
                "the risk model needs at least {min_labels} decided samples "
                "with both outcomes (now {n_pos} broken, {n_neg} approved "
                "unchanged)"
            ),
            min_labels=MIN_LABELS,
            n_pos=n_pos,
            n_neg=n_neg,
        )
    xk, yk = x[known], y[known]

    def model() -> Any:
        if len(yk) < SMALL:  # few decisions: a linear model overfits less than trees
            return make_pipeline(
                SimpleImputer(strategy="median"),
                StandardScaler(),
                LogisticRegression(C=0.5, max_iter=1000),
            )
        return HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.1,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=seed,
        )

    # one thread: OpenMP spinning on a shared, busy server is slower than a single core (and polite)
    limit = threadpool_limits(limits=int(os.environ.get("KOCURATE_RISK_THREADS", "1")))
    auc = None
    if min(n_pos, n_neg) >= 10:
        xa, xb, ya, yb = train_test_split(xk, yk, test_size=0.25, random_state=seed, stratify=yk)
        auc = float(roc_auc_score(yb, model().fit(xa, ya).predict_proba(xb)[:, 1]))
    clf = model().fit(xk, yk)
    scores = clf.predict_proba(x)[:, 1]
    limit.restore_original_limits()
    from .variants import upsert_signals

    with session_scope(engine) as s:
        step = 20_000
        for i in range(0, len(ids), step):
            upsert_signals(
                s,
                [
                    {"sample_id": int(a), "dataset_id": int(b), "risk": float(c)}
                    for a, b, c in zip(
                        ids[i : i + step], ds[i : i + step], scores[i : i + step], strict=True
                    )
                ],
                "risk",
            )
        info = {
            "trained_at": utcnow().isoformat(timespec="seconds"),
            "datasets": dataset_ids,
            "labelled": int(known.sum()),
            "broken": n_pos,
            "fine": n_neg,
            "scored": len(ids),
            "holdout_auc": auc,
            "features": names,
        }
        row = s.get(Setting, MODEL_KEY)
        if row is None:
            s.add(Setting(key=MODEL_KEY, value=info, updated_at=utcnow()))
        else:
            row.value, row.updated_at = info, utcnow()
    return info


def model_info(session: Session) -> dict[str, Any] | None:
    row = session.get(Setting, MODEL_KEY)
    return dict(row.value) if row else None


# ---------------------------------------------------------------------------------------- ordering


def risk_score() -> Any:
    """A sample's risk as a correlated scalar (NULL when unscored), for ``ORDER BY`` in any sample
    query."""
    return select(SampleSignal.risk).where(SampleSignal.sample_id == Sample.id).scalar_subquery()


def most_likely_broken_first() -> list[Any]:
    """``ORDER BY`` terms for a queue over ``Sample``: highest risk first, unscored last, then by
    id."""
    return [func.coalesce(risk_score(), -1.0).desc(), Sample.id]


def ranked(
    session: Session, actor: Actor, sel: bulk.Selection, *, limit: int = 100, lowest: bool = False
) -> list[tuple[int, float]]:
    """(sample id, risk) of the selection, riskiest first (or safest first with ``lowest``); scored
    only."""
    actor.require("review")
    order = [SampleSignal.risk.asc() if lowest else SampleSignal.risk.desc(), Sample.id]
    rows = session.execute(
        select(Sample.id, SampleSignal.risk)
        .join(SampleSignal, SampleSignal.sample_id == Sample.id)
        .where(*bulk.conditions(session, actor, sel), SampleSignal.risk.is_not(None))
        .order_by(*order)
        .limit(max(1, limit))
    ).all()
    return [(int(a), float(b)) for a, b in rows]


def best_n(session: Session, actor: Actor, sel: bulk.Selection, n: int) -> list[int]:
    """The ``n`` samples of the selection least likely to be broken (an export's "best N")."""
    actor.require("export")
    return [sid for sid, _ in ranked(session, actor, sel, limit=n, lowest=True)]
