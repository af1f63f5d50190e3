"""Statistics for the dashboard and ``kocurate stats``: every figure is a SQL aggregate.

Nothing here loads samples or turns to count them: each figure is one GROUP BY in the database
(written for 700k samples / 1.4M turns / 200k reviews), and Python only reshapes the small result.
The agreement coefficients (Cohen's and Fleiss' kappa) are pure functions over contingency counts
that SQL has already aggregated.

Who sees what: leads and admins (``view_stats``) see everything; annotators (``view_own_stats``)
see only their own activity (reviews per day, throughput, seconds per sample, their decisions).
Corpus-wide figures raise ``PermissionDenied`` for annotators, and an annotator asking for another
person's numbers gets ``PermissionDenied`` too.

Date ranges apply to activity (reviews, flags, suggestions, DeepL use); snapshots of the current
state (samples by status, check hit rates, text lengths, approval rates) are not dated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    Select,
    String,
    and_,
    any_,
    case,
    cast,
    distinct,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from .. import db
from ..errors import PermissionDenied
from ..models import (
    DECISIONS,
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    STATUSES,
    CheckFinding,
    Dataset,
    Edit,
    Flag,
    Review,
    Sample,
    Suggestion,
    TranslationCache,
    Turn,
    User,
)
from . import filters
from .auth import Actor
from .filters import SampleFilter

DEFAULT_TARGET = 150_000  # approved samples the corpus should reach
PACE_DAYS = 7  # "current pace" = reviews per day over the last week
DECIDED = ("approved", "rejected", "needs_fix")  # statuses that count for approval rates

# Histogram edges (lower bounds, characters). Buckets are computed by a CASE in SQL.
LENGTH_EDGES = (0, 1, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
DISTANCE_EDGES = (0, 1, 5, 10, 20, 50, 100, 200, 500, 1000)
TURN_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 50)
RATIO_MAX_TENTHS = 30
DISAGREEMENTS_PAGE = 20  # samples of the drill-down list that ``dashboard`` includes  # ko/en character ratio in tenths, capped at 3.0+


@dataclass(frozen=True)
class StatsFilter:
    """Which data a figure covers: datasets (empty = all) and an inclusive date range (UTC days)."""

    datasets: tuple[int, ...] = ()
    since: date | None = None
    until: date | None = None

    def params(self) -> dict[str, Any]:
        return {"datasets": list(self.datasets), "since": _iso(self.since), "until": _iso(self.until)}


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session for the statistics: :func:`kocurate.db.read_session` without JIT."""
    with db.read_session(engine, jit=False) as session:
        yield session


# --------------------------------------------------------------------------------------------- scope
def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lead(actor: Actor) -> None:
    actor.require("view_stats")


def _own(actor: Actor, user_id: int | None) -> int | None:
    """The user whose numbers the actor may see: anyone for leads, only themselves for annotators."""
    if actor.can("view_stats"):
        return user_id
    actor.require("view_own_stats")
    if user_id is not None and user_id != actor.id:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may only view their own statistics")
    if actor.id is None:
        raise PermissionDenied("statistics of an anonymous actor")
    return actor.id


# --------------------------------------------------------------------------------------------- helpers
def _iso(d: date | datetime | str | None) -> str | None:
    if d is None:
        return None
    return d if isinstance(d, str) else d.isoformat()[:10]


def _day(col: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp: ``date(x)`` is valid on SQLite (text) and PostgreSQL (date)."""
    return func.date(col)


def _dated(col: Any, f: StatsFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.since is not None:
        conds.append(col >= datetime.combine(f.since, datetime.min.time()))
    if f.until is not None:
        conds.append(col < datetime.combine(f.until + timedelta(days=1), datetime.min.time()))
    return conds


def _in_datasets(session: Session, stmt: Select[Any], sample_id_col: Any, f: StatsFilter) -> Select[Any]:
    """Restrict a statement over a table with a sample_id to the filter's datasets.

    A dataset imported in one go holds one contiguous range of sample ids: then the filter is
    ``sample_id BETWEEN lo AND hi`` on the activity table itself (no join, no lookup per row).
    Otherwise it joins samples, with "+ 0" so the planner drives from the activity rows rather
    than from the dataset's 100k+ samples (harmless on PostgreSQL).
    """
    if not f.datasets:
        return stmt
    ranges = _id_ranges(session, f.datasets)
    if ranges is not None:
        return stmt.where(or_(*[sample_id_col.between(lo, hi) for lo, hi in ranges]) if ranges else false())
    return stmt.join(Sample, Sample.id == sample_id_col).where((Sample.dataset_id + 0).in_(f.datasets))


def _memo(session: Session, name: str) -> dict[Any, Any]:
    """Results shared by the figures of one ``dashboard`` call (a fresh dict outside of one)."""
    shared = session.info.get(_MEMO)
    return shared.setdefault(name, {}) if shared is not None else {}


_MEMO = "kocurate.stats.memo"


def _id_ranges(session: Session, datasets: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """The sample id range of each dataset if each is contiguous (exactly its samples), else None.

    Remembered during one ``dashboard`` call (its figures ask several times)."""
    memo = _memo(session, "ranges")
    if datasets not in memo:
        rows = session.execute(select(func.min(Sample.id), func.max(Sample.id), func.count()).where(
            Sample.dataset_id.in_(datasets)).group_by(Sample.dataset_id)).all()
        contiguous = all(int(hi) - int(lo) + 1 == int(n) for lo, hi, n in rows)
        memo[datasets] = [(int(lo), int(hi)) for lo, hi, _ in rows] if contiguous else None
    return memo[datasets]


def _bucket(expr: Any, edges: Sequence[int]) -> Any:
    """CASE expression mapping a number to the lower edge of its histogram bucket."""
    whens = [(expr >= e, literal(e)) for e in reversed(edges[1:])]
    return case(*whens, else_=literal(edges[0]))


def bucket_label(lower: int, edges: Sequence[int]) -> str:
    i = list(edges).index(lower)
    if i + 1 == len(edges):
        return f"{lower}+"
    hi = edges[i + 1] - 1
    return str(lower) if hi == lower else f"{lower}-{hi}"


def _dataset_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Dataset.id, Dataset.name)).all())


def _usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def review_link(dataset: int | None = None, *, status: str | None = None, flag: str | None = None,
                check: str | None = None, sample: int | None = None) -> str:
    """URL of the review queue filtered like a chart's bar, e.g. ``/review?dataset=3&check=untranslated``."""
    return filters.review_link(SampleFilter(dataset=dataset, status=status, flag=flag, check=check), sample)


# --------------------------------------------------------------------------------------------- kappa
def cohen_kappa(table: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from a contingency table {(rating of A, rating of B): count}.

    None when undefined (no items, or both raters used one and the same category throughout).
    """
    n = sum(table.values())
    if n == 0:
        return None
    po = sum(c for (a, b), c in table.items() if a == b) / n
    row: dict[str, int] = defaultdict(int)
    col: dict[str, int] = defaultdict(int)
    for (a, b), c in table.items():
        row[a] += c
        col[b] += c
    pe = sum(row[k] * col.get(k, 0) for k in row) / (n * n)
    if pe == 1:
        return None
    return (po - pe) / (1 - pe)


@dataclass
class FleissSums:
    """What Fleiss' kappa needs, aggregated (so SQL can compute it without returning per-item rows).

    ``agree[n]``: sum over items rated by n raters of sum_j n_ij (n_ij - 1); ``items[n]``: how many
    items had n raters; ``totals[j]``: sum over items of n_ij (ratings given to category j).
    """

    agree: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    items: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def fleiss_kappa_sums(s: FleissSums) -> dict[str, Any]:
    """Fleiss' kappa (generalised to a varying number of raters per item: P_i = sum n_ij(n_ij-1)/(n(n-1)))."""
    n_items = sum(c for n, c in s.items.items() if n >= 2)
    ratings = sum(s.totals.values())
    if n_items == 0 or ratings == 0:
        return {"kappa": None, "items": n_items, "p_bar": None, "p_e": None}
    p_bar = sum(a / (n * (n - 1)) for n, a in s.agree.items() if n >= 2) / n_items
    p_e = sum((t / ratings) ** 2 for t in s.totals.values())
    kappa = None if p_e == 1 else (p_bar - p_e) / (1 - p_e)
    return {"kappa": kappa, "items": n_items, "p_bar": p_bar, "p_e": p_e}


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from an items x categories matrix of how many raters chose each category."""
    s = FleissSums()
    for row in counts:
        n = sum(row)
        s.items[n] += 1
        s.agree[n] += sum(c * (c - 1) for c in row)
        for j, c in enumerate(row):
            s.totals[str(j)] += c
    return fleiss_kappa_sums(s)["kappa"]


# --------------------------------------------------------------------------------------------- progress
def status_counts(session: Session, actor: Actor, f: StatsFilter = StatsFilter()) -> list[dict[str, Any]]:
    """Samples by status per dataset (one GROUP BY over the (dataset, status, id) index)."""
    _lead(actor)
    stmt = select(Sample.dataset_id, Sample.status, func.count()).group_by(Sample.dataset_id, Sample.status)
    if f.datasets:
        stmt = stmt.where(Sample.dataset_id.in_(f.datasets))
    names = _dataset_names(session)
    rows = [{"dataset_id": d, "dataset": names.get(d, str(d)), "status": s, "n": n}
            for d, s, n in session.execute(stmt)]
    return sorted(rows, key=lambda r: (r["dataset_id"], STATUSES.index(r["status"]) if r["status"] in STATUSES else 99))


def reviews_per_day(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                    user_id: int | None = None) -> list[dict[str, Any]]:
    """Reviews (decisions) per UTC day, per decision; annotators get only their own."""
    uid = _own(actor, user_id)
    acc: dict[tuple[str, str], int] = defaultdict(int)
    for day, _u, dec, n, _s, _c in _activity(session, f, uid):
        acc[(day, dec)] += n
    return [{"day": d, "decision": dec, "n": n} for (d, dec), n in sorted(acc.items())]


def _activity(session: Session, f: StatsFilter, uid: int | None) -> list[tuple[str, int, str, int, float, int]]:
    """Reviews grouped by (UTC day, person, decision): count, seconds summed, reviews timed.

    One scan of the reviews (covering index) serves reviews per day, throughput per person and
    decisions per person; remembered during one ``dashboard`` call, which asks for it twice.
    """
    memo = _memo(session, "activity")
    key = (f, uid)
    if key not in memo:
        day = _day(Review.created_at).label("day")
        stmt = select(day, Review.user_id, Review.decision, func.count(), func.sum(Review.seconds),
                      func.count(Review.seconds)).where(*_dated(Review.created_at, f)).group_by(
            day, Review.user_id, Review.decision)
        if uid is not None:
            stmt = stmt.where(Review.user_id == uid)
        stmt = _in_datasets(session, stmt, Review.sample_id, f)
        memo[key] = [(_iso(d) or "", int(u), dec, int(n), float(secs or 0), int(c))
                     for d, u, dec, n, secs, c in session.execute(stmt)]
    return memo[key]


def progress(session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *, target: int = DEFAULT_TARGET,
             pace_days: int = PACE_DAYS, today: date | None = None,
             _status: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Where the corpus stands: samples by status, distance to the target, time to finish at the current pace.

    Pace = reviews per day and approvals per day over the ``pace_days`` days ending ``today``
    (default: the filter's ``until``, else the current UTC day). Remaining work = undecided
    samples ("new") times each dataset's overlap (reviews each sample still needs).
    """
    _lead(actor)
    status = _status if _status is not None else status_counts(session, actor, f)
    by_status: dict[str, int] = defaultdict(int)
    new_by_ds: dict[int, int] = defaultdict(int)
    for r in status:
        by_status[r["status"]] += r["n"]
        if r["status"] == "new":
            new_by_ds[r["dataset_id"]] += r["n"]
    overlap = dict(session.execute(select(Dataset.id, Dataset.overlap)).all())
    remaining_reviews = sum(n * max(1, overlap.get(d, 1) or 1) for d, n in new_by_ds.items())

    end = today or f.until or datetime.now(UTC).date()
    start = end - timedelta(days=pace_days - 1)
    window = StatsFilter(f.datasets, start, end)
    stmt = select(func.count(), func.coalesce(func.sum(case((Review.decision == "approve", 1), else_=0)), 0)).where(
        *_dated(Review.created_at, window))
    n_reviews, n_approvals = session.execute(_in_datasets(session, stmt, Review.sample_id, f)).one()
    pace = n_reviews / pace_days
    approve_pace = n_approvals / pace_days
    approved = by_status.get("approved", 0)
    to_target = max(0, target - approved)
    total = sum(by_status.values())
    return {
        "samples": total,
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "done_share": _rate(total - by_status.get("new", 0), total),
        "target": target,
        "approved": approved,
        "to_target": to_target,
        "target_share": _rate(min(approved, target), target),
        "pace_window": [start.isoformat(), end.isoformat()],
        "reviews_per_day": round(pace, 3),
        "approvals_per_day": round(approve_pace, 3),
        "remaining_reviews": remaining_reviews,
        "days_to_finish": round(remaining_reviews / pace, 1) if pace else None,
        "days_to_target": 0.0 if to_target == 0 else (round(to_target / approve_pace, 1) if approve_pace else None),
    }


# --------------------------------------------------------------------------------------------- quality
def check_hit_rates(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                    _totals: Mapping[int, int] | None = None) -> list[dict[str, Any]]:
    """Per dataset and check: samples with at least one finding, findings, and the share of samples hit."""
    _lead(actor)
    stmt = select(CheckFinding.dataset_id, CheckFinding.check, func.count(distinct(CheckFinding.sample_id)),
                  func.count()).group_by(CheckFinding.dataset_id, CheckFinding.check)
    if f.datasets:
        stmt = stmt.where(CheckFinding.dataset_id.in_(f.datasets))
    totals = _totals if _totals is not None else _sample_totals(session, f)
    names = _dataset_names(session)
    return [{"dataset_id": d, "dataset": names.get(d, str(d)), "check": c, "samples_hit": hit, "findings": n,
             "samples": totals.get(d, 0), "rate": _rate(hit, totals.get(d, 0))}
            for d, c, hit, n in sorted(session.execute(stmt).all())]


def _sample_totals(session: Session, f: StatsFilter) -> dict[int, int]:
    stmt = select(Sample.dataset_id, func.count()).group_by(Sample.dataset_id)
    if f.datasets:
        stmt = stmt.where(Sample.dataset_id.in_(f.datasets))
    return dict(session.execute(stmt).all())


def flag_group(category: str) -> str:
    return "ethics" if category in ETHICS_FLAGS else "quality" if category in QUALITY_FLAGS else "other"


def flag_counts(session: Session, actor: Actor, f: StatsFilter = StatsFilter()) -> list[dict[str, Any]]:
    """Flags by category, origin and state; ``group`` says ethics or quality."""
    _lead(actor)
    stmt = select(Flag.category, Flag.origin, Flag.state, func.count()).where(*_dated(Flag.created_at, f)).group_by(
        Flag.category, Flag.origin, Flag.state)
    stmt = _in_datasets(session, stmt, Flag.sample_id, f)
    return [{"category": c, "group": flag_group(c), "origin": o, "state": s, "n": n}
            for c, o, s, n in sorted(session.execute(stmt).all())]


def preflag_precision(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                      _flags: list[dict[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """How often annotators confirmed what a check or model suggested: precision = confirmed / (confirmed + cleared).

    ``flags``: pre-flags (origin check/model) per category and origin; ``checks``: check findings per
    check by the state reviewers left them in.
    """
    _lead(actor)
    rows = _flags if _flags is not None else flag_counts(session, actor, f)
    acc: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"active": 0, "confirmed": 0, "cleared": 0})
    for r in rows:
        if r["origin"] in ("check", "model"):
            acc[(r["category"], r["origin"])][r["state"]] = acc[(r["category"], r["origin"])].get(r["state"], 0) + r["n"]
    flags = [{"category": c, "origin": o, **v, "precision": _rate(v["confirmed"], v["confirmed"] + v["cleared"])}
             for (c, o), v in sorted(acc.items())]
    stmt = select(CheckFinding.check, CheckFinding.state, func.count()).where(
        *_dated(CheckFinding.created_at, f)).group_by(CheckFinding.check, CheckFinding.state)
    if f.datasets:
        stmt = stmt.where(CheckFinding.dataset_id.in_(f.datasets))
    chk: dict[str, dict[str, int]] = defaultdict(lambda: {"open": 0, "confirmed": 0, "cleared": 0})
    for c, s, n in session.execute(stmt):
        chk[c][s] = chk[c].get(s, 0) + n
    checks = [{"check": c, **v, "precision": _rate(v["confirmed"], v["confirmed"] + v["cleared"])}
              for c, v in sorted(chk.items())]
    return {"flags": flags, "checks": checks}


def approval_rates(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                   _status: list[dict[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Approval rate = approved / (approved + rejected + needs_fix), per dataset and per source category.

    The category is ``Sample.meta["category"]`` (e.g. Dolly's 8), extracted in SQL (json_extract on
    SQLite, ->> on PostgreSQL) over decided samples only, found through the (dataset, status) index.
    """
    _lead(actor)
    status = _status if _status is not None else status_counts(session, actor, f)
    per_ds: dict[int, dict[str, Any]] = {}
    for r in status:
        d = per_ds.setdefault(r["dataset_id"], {"dataset_id": r["dataset_id"], "dataset": r["dataset"],
                                                **{s: 0 for s in STATUSES}})
        d[r["status"]] = d.get(r["status"], 0) + r["n"]
    datasets = []
    for d in per_ds.values():
        decided = sum(d[s] for s in DECIDED)
        datasets.append({**d, "decided": decided, "rate": _rate(d["approved"], decided)})

    # Only datasets whose samples carry a category (probed on one sample each, one index seek) pay for
    # reading meta of their decided samples.
    probe = select(Sample.meta["category"].as_string()).where(Sample.dataset_id == Dataset.id).limit(1)
    with_cat = select(Dataset.id).where(probe.scalar_subquery().is_not(None))
    if f.datasets:
        with_cat = with_cat.where(Dataset.id.in_(f.datasets))
    cat_ds = list(session.scalars(with_cat))
    cat = Sample.meta["category"].as_string().label("category")
    stmt = select(Sample.dataset_id, cat, Sample.status, func.count()).where(
        Sample.status.in_(DECIDED), Sample.dataset_id.in_(cat_ds)).group_by(Sample.dataset_id, cat, Sample.status)
    names = _dataset_names(session)
    per_cat: dict[tuple[int, str], dict[str, Any]] = {}
    for d, c, s, n in (session.execute(stmt) if cat_ds else []):
        if c is None:
            continue
        row = per_cat.setdefault((d, c), {"dataset_id": d, "dataset": names.get(d, str(d)), "category": c,
                                          **{k: 0 for k in DECIDED}})
        row[s] += n
    categories = []
    for (_d, _c), row in sorted(per_cat.items()):
        decided = sum(row[k] for k in DECIDED)
        categories.append({**row, "decided": decided, "rate": _rate(row["approved"], decided)})
    return {"datasets": datasets, "categories": categories}


# --------------------------------------------------------------------------------------------- translation
def translation_repair(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                       _turns: int | None = None) -> dict[str, Any]:
    """How much of the machine translation people repaired.

    Edited turn = ``text != mt_text``. Only turns with an Edit can differ, so the comparison runs on
    those (found through the edits table), not on all 1.4M turns. The distance histogram uses a cheap
    SQL distance, |len(text) - len(mt_text)| (a lower bound of the Levenshtein distance; 0 = same
    length, e.g. substitutions); ``edit_distance_sample`` gives true Levenshtein on a bounded sample.
    """
    _lead(actor)
    if _turns is None:
        stmt = select(func.coalesce(func.sum(Sample.n_turns), 0))
        if f.datasets:
            stmt = stmt.where(Sample.dataset_id.in_(f.datasets))
        _turns = int(session.scalar(stmt) or 0)
    # the dataset filter goes on the edits (which carry sample_id), so turns are reached only by id
    edited_ids = _in_datasets(session, select(Edit.turn_id).where(Edit.field == "text"), Edit.sample_id, f)
    if _is_pg(session):
        # = ANY(ARRAY(...)): primary-key lookups; IN (...) makes PostgreSQL hash-join a scan of all turns
        edited = Turn.id == any_(func.array(edited_ids.scalar_subquery()))
    else:
        edited = Turn.id.in_(edited_ids)
    dist = func.abs(func.length(Turn.text) - func.length(Turn.mt_text))
    b = _bucket(dist, DISTANCE_EDGES).label("b")
    stmt = select(b, func.count()).where(edited, Turn.text != Turn.mt_text).group_by(b)
    hist = dict(session.execute(stmt).all())
    edited = sum(hist.values())

    sstmt = select(Suggestion.state, func.count()).where(*_dated(Suggestion.created_at, f)).group_by(Suggestion.state)
    sstmt = _in_datasets(session, sstmt, Suggestion.sample_id, f)
    sugg = {"open": 0, "accepted": 0, "rejected": 0, **dict(session.execute(sstmt).all())}
    # The cache is shared by all datasets: DeepL characters ignore the dataset filter.
    billed = session.scalar(select(func.coalesce(func.sum(TranslationCache.billed_characters), 0)).where(
        TranslationCache.engine == "deepl", *_dated(TranslationCache.created_at, f))) or 0
    return {
        "turns": _turns,
        "edited_turns": edited,
        "edited_share": _rate(edited, _turns),
        "distance": "abs(length(text) - length(mt_text))",
        "distance_hist": [{"bucket": bucket_label(e, DISTANCE_EDGES), "lower": e, "n": hist.get(e, 0)}
                          for e in DISTANCE_EDGES],
        "suggestions": sugg,
        "suggestion_acceptance": _rate(sugg["accepted"], sugg["accepted"] + sugg["rejected"]),
        "deepl_characters": int(billed),
    }


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute), O(len(a) * len(b)) time, O(len(b)) memory."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def edit_distance_sample(session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *, limit: int = 200,
                         max_chars: int = 2000) -> list[dict[str, Any]]:
    """True Levenshtein distances for at most ``limit`` edited turns (lowest ids; texts cut at ``max_chars``)."""
    _lead(actor)
    edited_ids = _in_datasets(session, select(Edit.turn_id).where(Edit.field == "text"), Edit.sample_id, f)
    stmt = select(Turn.id, Turn.sample_id, Turn.mt_text, Turn.text).where(
        Turn.id.in_(edited_ids), Turn.text != Turn.mt_text).order_by(Turn.id).limit(limit)
    return [{"turn_id": t, "sample_id": s, "distance": levenshtein(mt[:max_chars], tx[:max_chars])}
            for t, s, mt, tx in session.execute(stmt)]


# --------------------------------------------------------------------------------------------- text
def text_stats(session: Session, actor: Actor, f: StatsFilter = StatsFilter()) -> dict[str, Any]:
    """Histograms per dataset of Korean and English characters per sample, their ratio, and turns per sample.

    One scan of the samples' stored counts (``ko_chars``, ``en_chars``, ``n_turns``, kept at import), covered
    by an index: measuring 1.4M turn texts with length() would cost a full read of the turns table.
    """
    _lead(actor)
    # Inner GROUP BY follows ix_samples_text_stats (no sort, index only); the outer one buckets its groups.
    inner = select(Sample.dataset_id.label("d"), Sample.n_turns.label("t"), Sample.ko_chars.label("k"),
                   Sample.en_chars.label("e"), func.count().label("n")).group_by(
        Sample.dataset_id, Sample.n_turns, Sample.ko_chars, Sample.en_chars)
    if f.datasets:
        inner = inner.where(Sample.dataset_id.in_(f.datasets))
    g = inner.subquery()
    kb = _bucket(g.c.k, LENGTH_EDGES).label("kb")
    eb = _bucket(g.c.e, LENGTH_EDGES).label("eb")
    tb = _bucket(g.c.t, TURN_EDGES).label("tb")
    ratio = (g.c.k * 10) // g.c.e
    rb = case((g.c.e == 0, literal(-1)), (ratio >= RATIO_MAX_TENTHS, literal(RATIO_MAX_TENTHS)), else_=ratio).label("rb")
    stmt = select(g.c.d, kb, eb, rb, tb, func.sum(g.c.n), func.sum(g.c.n * g.c.t)).group_by(g.c.d, kb, eb, rb, tb)
    names = _dataset_names(session)
    acc: dict[int, dict[str, Any]] = {}
    for d, k, e, r, t, n, turns in session.execute(stmt):
        a = acc.setdefault(d, {"ko": defaultdict(int), "en": defaultdict(int), "ratio": defaultdict(int),
                               "turns": defaultdict(int), "samples": 0, "n_turns": 0})
        n = int(n)
        a["ko"][int(k)] += n
        a["en"][int(e)] += n
        if int(r) >= 0:
            a["ratio"][int(r)] += n
        a["turns"][int(t)] += n
        a["samples"] += n
        a["n_turns"] += int(turns or 0)
    out = []
    for d, a in sorted(acc.items()):
        out.append({
            "dataset_id": d, "dataset": names.get(d, str(d)), "samples": a["samples"], "turns": a["n_turns"],
            "ko_chars": [{"bucket": bucket_label(e, LENGTH_EDGES), "lower": e, "n": a["ko"].get(e, 0)} for e in LENGTH_EDGES],
            "en_chars": [{"bucket": bucket_label(e, LENGTH_EDGES), "lower": e, "n": a["en"].get(e, 0)} for e in LENGTH_EDGES],
            "ratio": [{"bucket": f"{r / 10:.1f}" + ("+" if r == RATIO_MAX_TENTHS else ""), "lower": r / 10,
                       "n": a["ratio"].get(r, 0)} for r in range(RATIO_MAX_TENTHS + 1)],
            "turns_per_sample": [{"bucket": bucket_label(e, TURN_EDGES), "lower": e, "n": a["turns"].get(e, 0)}
                                 for e in TURN_EDGES],
        })
    return {"unit": "characters per sample (all turns)", "datasets": out}


# --------------------------------------------------------------------------------------------- annotators
def annotator_stats(session: Session, actor: Actor, f: StatsFilter = StatsFilter(),
                    user_id: int | None = None) -> dict[str, Any]:
    """Per person: reviews per day, decisions, median seconds per sample. Annotators get only their own.

    Counts come from one GROUP BY (day, person, decision); the median from ordered picks in SQL
    (see ``_medians``), on SQLite and PostgreSQL alike.
    """
    uid = _own(actor, user_id)

    def scoped(stmt: Select[Any]) -> Select[Any]:
        stmt = stmt.where(*_dated(Review.created_at, f))
        if uid is not None:
            stmt = stmt.where(Review.user_id == uid)
        return _in_datasets(session, stmt, Review.sample_id, f)

    rows = _activity(session, f, uid)
    timed: dict[int, int] = defaultdict(int)
    per_day_acc: dict[tuple[int, str], int] = defaultdict(int)
    names = _usernames(session, {u for _d, u, *_ in rows})
    users: dict[int, dict[str, Any]] = {}
    for d, u, dec, n, secs, c in rows:
        timed[u] += c
        per_day_acc[(u, d)] += n
        r = users.setdefault(u, {"user_id": u, "username": names.get(u, str(u)), "reviews": 0, "seconds": 0.0,
                                 **{k: 0 for k in DECISIONS}})
        r[dec] = r.get(dec, 0) + n
        r["reviews"] += n
        r["seconds"] += secs
    medians = _medians(session, scoped, timed)
    days: dict[int, set[str]] = defaultdict(set)
    for u, d in per_day_acc:
        days[u].add(d)
    for u, r in users.items():
        r["median_seconds"] = float(medians[u]) if medians.get(u) is not None else None
        r["active_days"] = len(days[u])
        r["per_active_day"] = round(r["reviews"] / len(days[u]), 3) if days[u] else None
    return {
        "scope": "all" if uid is None else "own",
        "users": sorted(users.values(), key=lambda r: r["username"]),
        "per_day": [{"user_id": u, "username": names.get(u, str(u)), "day": d, "n": n}
                    for (u, d), n in sorted(per_day_acc.items())],
    }


def _medians(session: Session, scoped: Any, timed: Mapping[int, int]) -> dict[int, float]:
    """Median seconds per person: the middle one or two of their reviews ordered by seconds.

    One statement (a UNION ALL of one ordered pick per person, at most 200 people a statement);
    each pick walks ix_reviews_user_seconds to the middle (LIMIT 1 or 2 at OFFSET (c-1)//2: a
    percentile pick, not pagination). A window function (row_number over the person's reviews)
    does the same but sorts all 200k rows, which costs ten times more on SQLite.
    """
    out: dict[int, float] = {}
    people = [(u, c) for u, c in sorted(timed.items()) if c > 0]
    for i in range(0, len(people), 200):
        parts = []
        for u, c in people[i:i + 200]:
            pick = scoped(select(Review.user_id.label("u"), Review.seconds.label("s")).where(
                Review.user_id == u, Review.seconds.is_not(None)).order_by(Review.seconds).limit(
                1 if c % 2 else 2).offset((c - 1) // 2)).subquery()
            parts.append(select(pick.c.u, pick.c.s))
        both = union_all(*parts).subquery()
        for u, m in session.execute(select(both.c.u, func.avg(both.c.s)).group_by(both.c.u)):
            out[int(u)] = float(m)
    return out


def _ratings(session: Session, f: StatsFilter) -> Any:
    """CTE (sample_id, user_id, decision): each person's latest decision on samples that 2+ people decided.

    Two spellings of the same rows, the faster for each database: PostgreSQL computes window
    aggregates over one ordered scan of ix_reviews_sample_user; SQLite, slower at windows, keeps the
    reviews of samples with two or more people that no newer review of the same person supersedes.
    """
    if _is_pg(session):
        w = select(Review.sample_id, Review.user_id, Review.decision, Review.id,
                   func.max(Review.id).over(partition_by=(Review.sample_id, Review.user_id)).label("last"),
                   func.min(Review.user_id).over(partition_by=Review.sample_id).label("lo"),
                   func.max(Review.user_id).over(partition_by=Review.sample_id).label("hi")).where(
            *_dated(Review.created_at, f))
        w = _in_datasets(session, w, Review.sample_id, f).subquery()
        return select(w.c.sample_id, w.c.user_id, w.c.decision).where(
            w.c.id == w.c.last, w.c.lo != w.c.hi).cte("ratings")
    base = select(Review.sample_id).where(*_dated(Review.created_at, f))
    base = _in_datasets(session, base, Review.sample_id, f)
    # "2+ different people" as min != max: a plain aggregate (count(DISTINCT) sorts every group on PostgreSQL)
    overlapping = base.group_by(Review.sample_id).having(func.min(Review.user_id) != func.max(Review.user_id))
    # latest = no newer review by the same person on the same sample: one seek in ix_reviews_sample_user each
    newer = aliased(Review)
    superseded = select(newer.id).where(newer.sample_id == Review.sample_id, newer.user_id == Review.user_id,
                                        newer.id > Review.id, *_dated(newer.created_at, f))
    return select(Review.sample_id, Review.user_id, Review.decision).where(
        Review.sample_id.in_(overlapping), ~exists(superseded), *_dated(Review.created_at, f)).cte("ratings")


def _annotator_flags(ratings: Any) -> Any:
    """CTE (sample_id, user_id, category): flags people set themselves on the rated samples."""
    return select(Flag.sample_id, Flag.user_id, Flag.category).where(
        Flag.origin == "annotator", Flag.state != "cleared", Flag.user_id.is_not(None),
        Flag.sample_id.in_(select(ratings.c.sample_id))).distinct().cte("aflags")


_NI = cast(null(), Integer)
_NS = cast(null(), String)


def _agreement_counts(session: Session, f: StatsFilter, first_page: int = 0
                      ) -> tuple[Any, FleissSums, dict[int, int], list[Any], list[Any], list[int]]:
    """All agreement counts in one statement: the ratings CTE is computed (materialised) once.

    A UNION ALL of five small aggregates, told apart by column ``k``:
    1 pair x decision x decision counts, 2 Fleiss sums per (raters, decision), 3 samples per number of
    raters, 4 flag counts per pair and category (A set, B set, both), 5 samples per (category, raters,
    raters who set the flag); and with ``first_page`` 6: the first ids of samples whose decisions differ.
    """
    r = _ratings(session, f)
    per_s = select(r.c.sample_id, func.count().label("n")).group_by(r.c.sample_id).cte("per_sample")
    a, b = aliased(r), aliased(r)
    on_pair = and_(a.c.sample_id == b.c.sample_id, a.c.user_id < b.c.user_id)
    q1 = select(literal_column("1").label("k"), a.c.user_id.label("i1"), b.c.user_id.label("i2"),
                a.c.decision.label("s1"), b.c.decision.label("s2"), func.count().label("v1"), _NI.label("v2"),
                _NI.label("v3")).select_from(a).join(b, on_pair).group_by(
        a.c.user_id, b.c.user_id, a.c.decision, b.c.decision)
    per_sd = select(r.c.sample_id, r.c.decision, func.count().label("c")).group_by(r.c.sample_id, r.c.decision).subquery()
    q2 = select(literal_column("2"), per_s.c.n, _NI, per_sd.c.decision, _NS, func.sum(per_sd.c.c),
                func.sum(per_sd.c.c * (per_sd.c.c - 1)), _NI).select_from(per_sd).join(
        per_s, per_s.c.sample_id == per_sd.c.sample_id).group_by(per_s.c.n, per_sd.c.decision)
    q3 = select(literal_column("3"), per_s.c.n, _NI, _NS, _NS, func.count(), _NI, _NI).group_by(per_s.c.n)

    af = _annotator_flags(r)
    pairs = select(a.c.sample_id, a.c.user_id.label("ua"), b.c.user_id.label("ub")).select_from(a).join(
        b, on_pair).subquery()
    per_item = select(pairs.c.ua, pairs.c.ub, af.c.category,
                      func.max(case((af.c.user_id == pairs.c.ua, 1), else_=0)).label("xa"),
                      func.max(case((af.c.user_id == pairs.c.ub, 1), else_=0)).label("xb")).join(
        af, and_(af.c.sample_id == pairs.c.sample_id, or_(af.c.user_id == pairs.c.ua, af.c.user_id == pairs.c.ub))
    ).group_by(pairs.c.sample_id, pairs.c.ua, pairs.c.ub, af.c.category).subquery()
    q4 = select(literal_column("4"), per_item.c.ua, per_item.c.ub, per_item.c.category, _NS, func.sum(per_item.c.xa),
                func.sum(per_item.c.xb), func.sum(per_item.c.xa * per_item.c.xb)).group_by(
        per_item.c.ua, per_item.c.ub, per_item.c.category)
    fb = aliased(af)
    per_sf = select(fb.c.sample_id, fb.c.category, func.count().label("f")).join(
        r, and_(r.c.sample_id == fb.c.sample_id, r.c.user_id == fb.c.user_id)).group_by(
        fb.c.sample_id, fb.c.category).subquery()
    q5 = select(literal_column("5"), per_s.c.n, per_sf.c.f, per_sf.c.category, _NS, func.count(), _NI, _NI).select_from(
        per_sf).join(per_s, per_s.c.sample_id == per_sf.c.sample_id).group_by(per_sf.c.category, per_s.c.n, per_sf.c.f)

    branches = [q1, q2, q3, q4, q5]
    if first_page:
        split = _split_decisions(r, 0).limit(first_page).subquery()
        branches.append(select(literal_column("6"), split.c.sample_id, _NI, _NS, _NS, _NI, _NI, _NI))
    tables: dict[tuple[int, int], dict[tuple[str, str], int]] = defaultdict(dict)
    dsums = FleissSums()
    items: dict[int, int] = {}
    flag_pairs: list[tuple[int, int, str, int, int, int]] = []
    flag_fleiss: list[tuple[str, int, int, int]] = []
    split_ids: list[int] = []
    for k, i1, i2, s1, s2, v1, v2, v3 in session.execute(union_all(*branches)):
        k = int(k)
        if k == 1:
            tables[(int(i1), int(i2))][(s1, s2)] = int(v1)
        elif k == 2:
            dsums.agree[int(i1)] += int(v2)
            dsums.totals[s1] += int(v1)
        elif k == 3:
            items[int(i1)] = int(v1)
            dsums.items[int(i1)] += int(v1)
        elif k == 4:
            flag_pairs.append((int(i1), int(i2), s1, int(v1), int(v2), int(v3)))
        elif k == 5:
            flag_fleiss.append((s1, int(i1), int(i2), int(v1)))
        else:
            split_ids.append(int(i1))
    return tables, dsums, items, flag_pairs, flag_fleiss, sorted(split_ids)


def agreement(session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *,
              disagreements: int = 0) -> dict[str, Any]:
    """Inter-annotator agreement on samples two or more people decided.

    Decisions: Cohen's kappa per pair of people (contingency counts from a self-join grouped in SQL)
    and Fleiss' kappa over all raters (sums grouped by raters-per-sample and category in SQL).
    Flags: the same per flag category, a flag being "set" or "not set" by each rater (annotator flags
    that are not cleared). With ``disagreements`` = n, also the first n samples whose decisions differ
    (as ``disagreements()`` gives them), found in the same statement.
    """
    _lead(actor)
    tables, dsums, items, flag_pairs, flag_fleiss, split_ids = _agreement_counts(session, f, disagreements)
    uids = {u for k in tables for u in k} | {u for row in flag_pairs for u in row[:2]}
    names = _usernames(session, uids)
    pair_n = {k: sum(t.values()) for k, t in tables.items()}
    decision_pairs = [{"a": names.get(ua, str(ua)), "b": names.get(ub, str(ub)), "a_id": ua, "b_id": ub,
                       "samples": pair_n[(ua, ub)], "agreement": _rate(sum(c for (x, y), c in t.items() if x == y),
                                                                      pair_n[(ua, ub)]),
                       "kappa": _round(cohen_kappa(t)),
                       "table": [{"a": x, "b": y, "n": c} for (x, y), c in sorted(t.items())]}
                      for (ua, ub), t in sorted(tables.items())]

    flags: dict[str, dict[str, Any]] = {}
    fpairs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ua, ub, cat, sa, sb, both in flag_pairs:
        n = pair_n.get((ua, ub), 0)
        sa, sb, both = int(sa), int(sb), int(both)
        t = {("yes", "yes"): both, ("yes", "no"): sa - both, ("no", "yes"): sb - both, ("no", "no"): n - sa - sb + both}
        fpairs[cat].append({"a": names.get(ua, str(ua)), "b": names.get(ub, str(ub)), "samples": n,
                            "both": both, "only_a": sa - both, "only_b": sb - both, "kappa": _round(cohen_kappa(t))})
    fsums: dict[str, FleissSums] = defaultdict(FleissSums)
    flagged: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # samples with f >= 1, per n
    for cat, n, fcount, c in flag_fleiss:
        n, fcount, c = int(n), int(fcount), int(c)
        s = fsums[cat]
        s.agree[n] += c * (fcount * (fcount - 1) + (n - fcount) * (n - fcount - 1))
        s.totals["yes"] += c * fcount
        s.totals["no"] += c * (n - fcount)
        flagged[cat][n] += c
    for cat, s in fsums.items():
        for n, total in items.items():  # samples without this flag: all n raters agree on "no"
            rest = int(total) - flagged[cat].get(int(n), 0)
            s.items[int(n)] += int(total)
            s.agree[int(n)] += rest * int(n) * (int(n) - 1)
            s.totals["no"] += rest * int(n)
        f_res = fleiss_kappa_sums(s)
        flags[cat] = {"group": flag_group(cat), "fleiss": _round(f_res["kappa"]), "pairs": fpairs.get(cat, [])}
    d_res = fleiss_kappa_sums(dsums)
    return {
        "samples": sum(int(c) for c in items.values()),
        "decisions": {"fleiss": _round(d_res["kappa"]), "p_bar": _round(d_res["p_bar"]), "p_e": _round(d_res["p_e"]),
                      "pairs": decision_pairs},
        "flags": dict(sorted(flags.items())),
        **({"disagreements": _disagreement_details(session, split_ids)} if disagreements else {}),
    }


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


def disagreements(session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *, flag: str | None = None,
                  after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Samples where raters disagree (on the decision, or on ``flag`` if given), for a lead to adjudicate.

    Keyset-paginated by sample id (pass the last ``sample_id`` as ``after``).
    """
    _lead(actor)
    r = _ratings(session, f)
    if flag is None:
        ids_stmt = _split_decisions(r, after)
    else:
        af = _annotator_flags(r)
        setters = select(af.c.sample_id, func.count(distinct(af.c.user_id)).label("f")).join(
            r, and_(r.c.sample_id == af.c.sample_id, r.c.user_id == af.c.user_id)).where(
            af.c.category == flag).group_by(af.c.sample_id).subquery()
        n = select(r.c.sample_id, func.count().label("n")).group_by(r.c.sample_id).subquery()
        ids_stmt = select(setters.c.sample_id).join(n, n.c.sample_id == setters.c.sample_id).where(
            setters.c.f < n.c.n, setters.c.sample_id > after).order_by(setters.c.sample_id)
    return _disagreement_details(session, list(session.scalars(ids_stmt.limit(limit))))


def _split_decisions(r: Any, after: int) -> Select[Any]:
    """Ids of rated samples (after ``after``) whose raters made different decisions, in id order."""
    return select(r.c.sample_id).where(r.c.sample_id > after).group_by(r.c.sample_id).having(
        func.min(r.c.decision) != func.max(r.c.decision)).order_by(r.c.sample_id)


def _disagreement_details(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Who decided and flagged what on each of ``ids`` (bounded: one page of samples)."""
    if not ids:
        return []
    ratings = session.execute(select(Review.sample_id, Review.user_id, Review.decision, Review.id).where(
        Review.sample_id.in_(ids)).order_by(Review.id)).all()
    flags = session.execute(select(Flag.sample_id, Flag.user_id, Flag.category).where(
        Flag.sample_id.in_(ids), Flag.origin == "annotator", Flag.state != "cleared")).all()
    meta = dict(session.execute(select(Sample.id, Sample.dataset_id).where(Sample.id.in_(ids))).all())
    names = _usernames(session, [u for _, u, _, _ in ratings] + [u for _, u, _ in flags])
    out: dict[int, dict[str, Any]] = {i: {"sample_id": i, "dataset_id": meta.get(i), "decisions": {}, "flags": {},
                                          "link": review_link(meta.get(i), sample=i)} for i in ids}
    for s, u, dec, _ in ratings:  # ordered by id: the latest decision wins
        out[s]["decisions"][names.get(u, str(u))] = dec
    for s, u, cat in flags:
        if u is not None:
            out[s]["flags"].setdefault(names.get(u, str(u)), []).append(cat)
    return [out[i] for i in sorted(ids)]


# --------------------------------------------------------------------------------------------- all
def dashboard(session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *, target: int = DEFAULT_TARGET,
              today: date | None = None) -> dict[str, Any]:
    """Every figure the actor may see, computed once (what the page and ``kocurate stats --json`` show)."""
    session.info[_MEMO] = {}
    try:
        return _dashboard(session, actor, f, target=target, today=today)
    finally:
        session.info.pop(_MEMO, None)


def _dashboard(session: Session, actor: Actor, f: StatsFilter, *, target: int, today: date | None) -> dict[str, Any]:
    if not actor.can("view_stats"):
        return _own_part(session, actor, f)
    out: dict[str, Any] = {"scope": "all", "filter": f.params()}
    for part in _LEAD_PARTS:
        out.update(part(session, actor, f, target, today))
    return out


def dashboard_concurrent(engine: Engine, actor: Actor, f: StatsFilter = StatsFilter(), *,
                         target: int = DEFAULT_TARGET, today: date | None = None, workers: int = 4) -> dict[str, Any]:
    """``dashboard`` with its independent parts on separate read-only connections, in threads.

    The drivers leave Python while a query runs, so the parts use several cores (SQLite runs in
    this process) or server backends (PostgreSQL) at once. Each part reads its own snapshot; the
    figures of one part are consistent with each other.
    """
    if not actor.can("view_stats"):
        with snapshot(engine) as s:
            return dashboard(s, actor, f, target=target, today=today)
    actor.require("view_stats")

    def run(part: Any) -> dict[str, Any]:
        with snapshot(engine) as s:
            s.info[_MEMO] = {}
            return part(s, actor, f, target, today)

    out: dict[str, Any] = {"scope": "all", "filter": f.params()}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="kocurate-stats") as pool:
        for result in pool.map(run, _LEAD_PARTS):
            out.update(result)
    return out


def _own_part(session: Session, actor: Actor, f: StatsFilter) -> dict[str, Any]:
    _own(actor, None)
    return {"scope": "own", "filter": f.params(), "user": actor.username,
            "reviews_per_day": reviews_per_day(session, actor, f),
            "annotators": annotator_stats(session, actor, f)}


# The lead's dashboard in independent parts (each its own queries; about equal work at 700k samples).
def _part_state(session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None) -> dict[str, Any]:
    status = status_counts(session, actor, f)
    totals: dict[int, int] = defaultdict(int)
    for r in status:
        totals[r["dataset_id"]] += r["n"]
    flags = flag_counts(session, actor, f)
    return {
        "progress": progress(session, actor, f, target=target, today=today, _status=status),
        "status": status,
        "checks": check_hit_rates(session, actor, f, _totals=totals),
        "flags": flags,
        "preflags": preflag_precision(session, actor, f, _flags=flags),
        "approval": approval_rates(session, actor, f, _status=status),
    }


def _part_text(session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None) -> dict[str, Any]:
    text = text_stats(session, actor, f)
    return {"text": text,
            "translation": translation_repair(session, actor, f, _turns=sum(d["turns"] for d in text["datasets"]))}


def _part_people(session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None) -> dict[str, Any]:
    return {"reviews_per_day": reviews_per_day(session, actor, f), "annotators": annotator_stats(session, actor, f)}


def _part_agreement(session: Session, actor: Actor, f: StatsFilter, target: int, today: date | None
                    ) -> dict[str, Any]:
    return {"agreement": agreement(session, actor, f, disagreements=DISAGREEMENTS_PAGE)}


_LEAD_PARTS = (_part_text, _part_agreement, _part_state, _part_people)  # longest first
