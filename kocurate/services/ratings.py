"""Quality ratings on AIHub's sentence-generation rubric (issue 21 B): 문법성 grammaticality, 사실성
factuality, 유창성 fluency, 다양성 diversity, 1–5 per criterion per sample per reviewer.

Switched on per dataset by a lead (a ``settings`` row ``ratings.<dataset id>``); optional for the
reviewer; independent of the sample's version and status (a rating never conflicts with an edit).

Agreement per criterion: counts, means and raters from one SQL GROUP BY; then one indexed read of
(sample, rater, score) per criterion, paired in numpy (measured faster on SQLite than a SQL
self-join with GROUP BY, benchmarks/gold.py):
- quadratic-weighted Cohen's kappa per pair of raters on the samples both rated (each pair's 5×5
  table), averaged over the pairs;
- Krippendorff's alpha (ordinal and interval) from the coincidence matrix (pairs within a sample
  weighted 1/(m_u − 1), m_u: raters of the sample).
The maths are pure functions (``weighted_kappa``, ``krippendorff_alpha``,
``alpha_from_coincidence``) tested against published values (Krippendorff 2011's worked example).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound, PermissionDenied, UsageError
from ..i18n import N_
from ..models import Dataset, QualityRating, Sample, SampleSignal, Setting, User, utcnow
from . import audit
from .auth import Actor

CRITERIA = ("grammaticality", "factuality", "fluency", "diversity")
CRITERIA_KO = {
    "grammaticality": "문법성",
    "factuality": "사실성",
    "fluency": "유창성",
    "diversity": "다양성",
}
SCALE = (1, 2, 3, 4, 5)
LEVELS = ("nominal", "ordinal", "interval")


# ------------------------------------------------------------------------------------------- maths


def weighted_kappa(table: Sequence[Sequence[float]]) -> float | None:
    """Quadratic-weighted Cohen's kappa of a k×k table (rows: rater 1's category, columns: rater
    2's).

    ``1 − Σ w·observed / Σ w·expected`` with ``w = (i − j)² / (k − 1)²``; None when undefined (no
    items, or both raters used a single and the same category: no expected disagreement)."""
    k = len(table)
    n = sum(sum(r) for r in table)
    if n == 0 or k < 2:
        return None
    rows = [sum(r) for r in table]
    cols = [sum(table[i][j] for i in range(k)) for j in range(k)]
    obs = exp = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            obs += w * table[i][j] / n
            exp += w * rows[i] * cols[j] / (n * n)
    if exp == 0:
        return None
    return 1.0 - obs / exp


def kappa_of_pairs(pairs: Iterable[tuple[int, int]], scale: Sequence[int] = SCALE) -> float | None:
    """Quadratic-weighted kappa of two raters' scores on the same items."""
    idx = {v: i for i, v in enumerate(scale)}
    table = [[0.0] * len(scale) for _ in scale]
    for a, b in pairs:
        table[idx[a]][idx[b]] += 1
    return weighted_kappa(table)


def _delta2(
    level: str, values: Sequence[float], marg: dict[float, float]
) -> dict[tuple[float, float], float]:
    """Squared difference of each pair of values under the metric of ``level`` (Krippendorff
    2011)."""
    if level not in LEVELS:
        raise UsageError(
            msgid=N_("level is one of {levels}, not {level!r}"),
            levels=", ".join(LEVELS),
            level=level,
        )
    out: dict[tuple[float, float], float] = {}
    vs = sorted(values)
    for a_i, c in enumerate(vs):
        for b_i, k in enumerate(vs):
            if level == "nominal":
                d = 0.0 if c == k else 1.0
            elif level == "interval":
                d = (c - k) ** 2
            else:  # ordinal: the ranks between c and k, counting c and k by half
                lo, hi = min(a_i, b_i), max(a_i, b_i)
                s = sum(marg.get(vs[g], 0.0) for g in range(lo, hi + 1))
                d = (s - (marg.get(c, 0.0) + marg.get(k, 0.0)) / 2) ** 2
            out[(c, k)] = d
    return out


def alpha_from_coincidence(
    o: dict[tuple[float, float], float], level: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha from a coincidence matrix ``{(c, k): o_ck}``; None when undefined."""
    marg: dict[float, float] = defaultdict(float)
    for (c, _k), v in o.items():
        marg[c] += v
    n = sum(marg.values())
    if n <= 1:
        return None
    d2 = _delta2(level, list(marg), marg)
    do = sum(v * d2[(c, k)] for (c, k), v in o.items())
    de = sum(marg[c] * marg[k] * d2[(c, k)] for c in marg for k in marg) / (n - 1)
    if de == 0:
        return None
    return 1.0 - do / de


def coincidences(units: Iterable[Sequence[float | None]]) -> dict[tuple[float, float], float]:
    """The coincidence matrix of units (each: the values its raters gave, None for missing)."""
    o: dict[tuple[float, float], float] = defaultdict(float)
    for unit in units:
        vals = [v for v in unit if v is not None]
        m = len(vals)
        if m < 2:
            continue  # a value nobody else rated is not pairable
        for i, c in enumerate(vals):
            for j, k in enumerate(vals):
                if i != j:
                    o[(c, k)] += 1.0 / (m - 1)
    return dict(o)


def krippendorff_alpha(
    units: Iterable[Sequence[float | None]], level: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha of units × raters (None: a missing value)."""
    return alpha_from_coincidence(coincidences(units), level)


# ---------------------------------------------------------------------------------------- settings


def _key(dataset_id: int) -> str:
    return f"ratings.{int(dataset_id)}"


def enabled(session: Session, dataset_id: int) -> bool:
    """Whether the dataset's reviewers rate samples on the rubric."""
    row = session.get(Setting, _key(dataset_id))
    return bool(row and row.value.get("enabled"))


def set_enabled(session: Session, actor: Actor, dataset_id: int, on: bool = True) -> bool:
    """Leads: switch quality ratings on (or off) for a dataset; ratings given so far are kept."""
    actor.require("configure")
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(msgid=N_("no dataset {dataset_id}"), dataset_id=dataset_id)
    row = session.get(Setting, _key(dataset_id))
    before = bool(row and row.value.get("enabled"))
    if row is None:
        session.add(Setting(key=_key(dataset_id), value={"enabled": bool(on)}, updated_at=utcnow()))
    else:
        row.value = {**row.value, "enabled": bool(on)}
        row.updated_at = utcnow()
    if before != bool(on):
        audit.record(
            session,
            actor,
            "settings",
            dataset_id=dataset_id,
            target="ratings",
            before=before,
            after=bool(on),
        )
    session.flush()
    return bool(on)


# ------------------------------------------------------------------------------------------- rating


def parse_keys(text: str) -> dict[str, int | None]:
    """Ratings typed as digits in rubric order (grammaticality, factuality, fluency, diversity):
    ``"4353"``; ``-``, ``0`` or ``.`` leaves a criterion unrated; spaces are ignored; fewer digits
    rate the first criteria. Raises KocurateError naming the bad character."""
    chars = [c for c in text or "" if not c.isspace()]
    if len(chars) > len(CRITERIA):
        raise UsageError(
            msgid=N_("ratings: at most {n} digits ({criteria}), got {got}"),
            n=len(CRITERIA),
            criteria=", ".join(CRITERIA),
            got=len(chars),
        )
    out: dict[str, int | None] = {}
    for crit, ch in zip(CRITERIA, chars, strict=False):
        if ch in "-0.":
            out[crit] = None
        elif ch in "12345":
            out[crit] = int(ch)
        else:
            raise UsageError(
                msgid=N_("ratings: {crit} must be a digit 1-5 (or - to leave it out), got {ch!r}"),
                crit=crit,
                ch=ch,
            )
    return out


def rate(
    session: Session, actor: Actor, sample_id: int, scores: dict[str, int | None]
) -> dict[str, int]:
    """Set my 1–5 scores on a sample (None removes one); returns all my scores on it."""
    actor.require("review")
    if actor.id is None:
        raise PermissionDenied(msgid=N_("ratings are given by a logged-in person"))
    ds_id = session.scalar(select(Sample.dataset_id).where(Sample.id == sample_id))
    if ds_id is None:
        raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
    if not enabled(session, ds_id):
        raise UsageError(
            msgid=N_(
                "quality ratings are not switched on for this dataset (a "
                "lead can: kocurate ratings enable)"
            )
        )
    for crit, score in scores.items():
        if crit not in CRITERIA:
            raise UsageError(
                msgid=N_("unknown criterion {crit!r}; one of {criteria}"),
                crit=crit,
                criteria=", ".join(CRITERIA),
            )
        if score is not None and (not isinstance(score, int) or score not in SCALE):
            raise UsageError(
                msgid=N_("{crit}: a score is 1 to 5, got {score!r}"), crit=crit, score=score
            )
    t = QualityRating.__table__
    now = utcnow()
    for crit, score in scores.items():
        mine = and_(t.c.sample_id == sample_id, t.c.user_id == actor.id, t.c.criterion == crit)
        if score is None:
            session.execute(delete(t).where(mine))
            continue
        res = session.execute(update(t).where(mine).values(score=score, updated_at=now))
        if res.rowcount == 0:
            session.execute(
                insert(t).values(
                    sample_id=sample_id,
                    dataset_id=ds_id,
                    user_id=actor.id,
                    criterion=crit,
                    score=score,
                    updated_at=now,
                )
            )
    return my_ratings(session, actor, sample_id)


def my_ratings(session: Session, actor: Actor, sample_id: int) -> dict[str, int]:
    """My scores on a sample, by criterion."""
    rows = session.execute(
        select(QualityRating.criterion, QualityRating.score).where(
            QualityRating.sample_id == sample_id, QualityRating.user_id == actor.id
        )
    )
    return {c: s for c, s in rows}


# ---------------------------------------------------------------------------------------- agreement


def _pairs(
    session: Session, dataset_ids: list[int]
) -> tuple[
    dict[str, dict[tuple[int, int], list[list[float]]]], dict[str, dict[tuple[float, float], float]]
]:
    """Per criterion: each pair of raters' 5×5 table (kappa) and the coincidence matrix (alpha;
    pairs weighted 1/(m_u − 1)). One indexed read of (sample, rater, score) per criterion, in sample
    order (``ix_quality_ratings_dataset_crit``), paired in numpy: a SQL self-join with GROUP BY
    measured slower on SQLite (benchmarks/gold.py)."""
    import numpy as np

    t = QualityRating.__table__
    tables: dict[str, dict[tuple[int, int], list[list[float]]]] = {}
    coinc: dict[str, dict[tuple[float, float], float]] = {}
    k = len(SCALE)
    for crit in CRITERIA:
        # plain tuples: numpy would probe each Row object as a mapping (10x slower)
        rows = [
            (a, b, c)
            for a, b, c in session.execute(
                select(t.c.sample_id, t.c.user_id, t.c.score).where(
                    t.c.dataset_id.in_(dataset_ids), t.c.criterion == crit
                )
            )
        ]
        if len(rows) < 2:
            continue
        arr = np.array(rows, dtype=np.int64)
        arr = arr[np.lexsort((arr[:, 1], arr[:, 0]))]  # by sample, then rater
        sid, uid, sc = arr[:, 0], arr[:, 1], arr[:, 2] - SCALE[0]
        _u, counts = np.unique(sid, return_counts=True)
        m = np.repeat(counts, counts)  # raters of each row's sample
        o = np.zeros((k, k))
        pa: list[np.ndarray] = []
        for step in range(1, int(counts.max())):
            i = np.arange(len(sid) - step)
            j = i + step
            same = sid[i] == sid[j]
            i, j = i[same], j[same]
            if not len(i):
                continue
            w = 1.0 / (m[i] - 1)
            np.add.at(o, (sc[i], sc[j]), w)
            np.add.at(o, (sc[j], sc[i]), w)
            pa.append(np.stack([uid[i], uid[j], sc[i], sc[j]], axis=1))  # uid[i] < uid[j]
        coinc[crit] = {
            (float(SCALE[a]), float(SCALE[b])): float(o[a, b])
            for a in range(k)
            for b in range(k)
            if o[a, b]
        }
        if pa:
            p = np.concatenate(pa)
            pairs, inv = np.unique(p[:, :2], axis=0, return_inverse=True)
            tab = np.zeros((len(pairs), k, k))
            np.add.at(tab, (inv.reshape(-1), p[:, 2], p[:, 3]), 1.0)
            tables[crit] = {(int(a), int(b)): tab[n].tolist() for n, (a, b) in enumerate(pairs)}
    return tables, coinc


def _dataset_ids(session: Session, dataset_id: int | None) -> list[int]:
    if dataset_id is not None:
        return [dataset_id]
    return list(session.scalars(select(Dataset.id)))


def summary(session: Session, actor: Actor, dataset_id: int | None = None) -> list[dict[str, Any]]:
    """Per criterion: ratings, rated samples, mean, raters, pairwise quadratic-weighted kappa (mean
    over pairs of raters with at least 2 shared samples) and Krippendorff's alpha (ordinal,
    interval).
    """
    actor.require("view_stats")
    ids = _dataset_ids(session, dataset_id)
    base = {
        c: {
            "criterion": c,
            "label_ko": CRITERIA_KO[c],
            "ratings": 0,
            "samples": 0,
            "raters": 0,
            "mean": None,
            "kappa": None,
            "kappa_pairs": 0,
            "alpha_ordinal": None,
            "alpha_interval": None,
        }
        for c in CRITERIA
    }
    if not ids:
        return list(base.values())
    q = (
        select(
            QualityRating.criterion,
            func.count(),
            func.count(func.distinct(QualityRating.sample_id)),
            func.count(func.distinct(QualityRating.user_id)),
            func.avg(QualityRating.score),
        )
        .where(QualityRating.dataset_id.in_(ids))
        .group_by(QualityRating.criterion)
    )
    for crit, n, ns, nr, mean in session.execute(q):
        if crit in base:
            base[crit].update(
                ratings=int(n),
                samples=int(ns),
                raters=int(nr),
                mean=round(float(mean), 3) if mean is not None else None,
            )
    tables, coinc = _pairs(session, ids)
    for crit, row in base.items():
        kappas = [
            k
            for t in tables.get(crit, {}).values()
            if sum(map(sum, t)) >= 2 and (k := weighted_kappa(t)) is not None
        ]
        row["kappa_pairs"] = len(kappas)
        row["kappa"] = round(sum(kappas) / len(kappas), 3) if kappas else None
        o = coinc.get(crit)
        for level in ("ordinal", "interval"):
            a = alpha_from_coincidence(o, level) if o else None
            row[f"alpha_{level}"] = round(a, 3) if a is not None else None
    return list(base.values())


def rater_counts(
    session: Session, actor: Actor, dataset_id: int | None = None
) -> list[dict[str, Any]]:
    """Per rater: how many samples they rated (for the dashboard)."""
    actor.require("view_stats")
    ids = _dataset_ids(session, dataset_id)
    rows = session.execute(
        select(User.username, func.count(func.distinct(QualityRating.sample_id)))
        .join(User, User.id == QualityRating.user_id)
        .where(QualityRating.dataset_id.in_(ids))
        .group_by(User.username)
        .order_by(User.username)
    )
    return [{"user": u, "samples": int(n)} for u, n in rows]


# ------------------------------------------------------------------------------------ export
# helpers


def sample_means(conn: Any, dataset_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per rated sample of these datasets: mean score per criterion and the number of raters (export
    provenance). Two GROUP BYs over the ratings' (dataset, criterion, sample) index; rated samples
    are the few a team rated, not the whole corpus."""
    t = QualityRating.__table__
    ds = [int(d) for d in dataset_ids]
    out: dict[int, dict[str, Any]] = {}
    if not ds:
        return out
    q = (
        select(t.c.sample_id, t.c.criterion, func.avg(t.c.score))
        .where(t.c.dataset_id.in_(ds))
        .group_by(t.c.sample_id, t.c.criterion)
    )
    for sid, crit, mean in conn.execute(q):
        out.setdefault(int(sid), {})[crit] = round(float(mean), 2)
    q2 = (
        select(t.c.sample_id, func.count(func.distinct(t.c.user_id)))
        .where(t.c.dataset_id.in_(ds))
        .group_by(t.c.sample_id)
    )
    for sid, n in conn.execute(q2):
        out.setdefault(int(sid), {})["n_raters"] = int(n)
    return out


def any_ratings(conn: Any, dataset_ids: Sequence[int]) -> bool:
    """Whether any sample of these datasets is rated (one indexed probe)."""
    t = QualityRating.__table__
    return (
        conn.execute(select(t.c.id).where(t.c.dataset_id.in_(list(dataset_ids))).limit(1)).first()
        is not None
    )


def best_rated(conn: Any, dataset_ids: Sequence[int], n: int | None = None) -> list[int]:
    """The ``n`` (None: all) rated samples by mean rating, best first (mean over all criteria and
    raters).

    Ties, and the choice between equally rated samples, go to the lower learned risk
    (``sample_signals.risk``; unscored samples after scored ones), then the lower id. Unrated
    samples never enter this selection."""
    t = QualityRating.__table__
    sig = SampleSignal.__table__
    q = (
        select(t.c.sample_id)
        .select_from(t.outerjoin(sig, sig.c.sample_id == t.c.sample_id))
        .where(t.c.dataset_id.in_(list(dataset_ids)))
        .group_by(t.c.sample_id, sig.c.risk)
        .order_by(func.avg(t.c.score).desc(), func.coalesce(sig.c.risk, 2.0).asc(), t.c.sample_id)
    )
    if n is not None:
        q = q.limit(int(n))
    return [int(r[0]) for r in conn.execute(q)]
