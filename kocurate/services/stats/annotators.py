"""People: annotator throughput and time, inter-annotator agreement, disagreements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from ...agreement import FleissSums, cohen_kappa, fleiss_kappa_sums
from ...models import DECISIONS, Flag, Review, Sample
from ..auth import Actor
from ._base import (
    StatsFilter,
    _dated,
    _in_datasets,
    _is_pg,
    _lead,
    _own,
    _rate,
    _usernames,
    review_link,
)
from .progress import _activity
from .quality import flag_group


def annotator_stats(
    session: Session, actor: Actor, f: StatsFilter = StatsFilter(), user_id: int | None = None
) -> dict[str, Any]:
    """Per person: reviews per day, decisions, median seconds per sample. Annotators get only their
    own.

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
        r = users.setdefault(
            u,
            {
                "user_id": u,
                "username": names.get(u, str(u)),
                "reviews": 0,
                "seconds": 0.0,
                **{k: 0 for k in DECISIONS},
            },
        )
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
        "per_day": [
            {"user_id": u, "username": names.get(u, str(u)), "day": d, "n": n}
            for (u, d), n in sorted(per_day_acc.items())
        ],
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
        for u, c in people[i : i + 200]:
            pick = scoped(
                select(Review.user_id.label("u"), Review.seconds.label("s"))
                .where(Review.user_id == u, Review.seconds.is_not(None))
                .order_by(Review.seconds)
                .limit(1 if c % 2 else 2)
                .offset((c - 1) // 2)
            ).subquery()
            parts.append(select(pick.c.u, pick.c.s))
        both = union_all(*parts).subquery()
        for u, m in session.execute(select(both.c.u, func.avg(both.c.s)).group_by(both.c.u)):
            out[int(u)] = float(m)
    return out


def _ratings(session: Session, f: StatsFilter) -> Any:
    """CTE (sample_id, user_id, decision): each person's latest decision on samples that 2+ people
    decided.

    Two spellings of the same rows, the faster for each database: PostgreSQL computes window
    aggregates over one ordered scan of ix_reviews_sample_user; SQLite, slower at windows, keeps the
    reviews of samples with two or more people that no newer review of the same person supersedes.
    """
    if _is_pg(session):
        w = select(
            Review.sample_id,
            Review.user_id,
            Review.decision,
            Review.id,
            func.max(Review.id).over(partition_by=(Review.sample_id, Review.user_id)).label("last"),
            func.min(Review.user_id).over(partition_by=Review.sample_id).label("lo"),
            func.max(Review.user_id).over(partition_by=Review.sample_id).label("hi"),
        ).where(*_dated(Review.created_at, f))
        w = _in_datasets(session, w, Review.sample_id, f).subquery()
        return (
            select(w.c.sample_id, w.c.user_id, w.c.decision)
            .where(w.c.id == w.c.last, w.c.lo != w.c.hi)
            .cte("ratings")
        )
    base = select(Review.sample_id).where(*_dated(Review.created_at, f))
    base = _in_datasets(session, base, Review.sample_id, f)
    # "2+ different people" as min != max: a plain aggregate (count(DISTINCT) sorts every group on
    # PostgreSQL)
    overlapping = base.group_by(Review.sample_id).having(
        func.min(Review.user_id) != func.max(Review.user_id)
    )
    # latest = no newer review by the same person on the same sample: one seek in
    # ix_reviews_sample_user each
    newer = aliased(Review)
    superseded = select(newer.id).where(
        newer.sample_id == Review.sample_id,
        newer.user_id == Review.user_id,
        newer.id > Review.id,
        *_dated(newer.created_at, f),
    )
    return (
        select(Review.sample_id, Review.user_id, Review.decision)
        .where(
            Review.sample_id.in_(overlapping), ~exists(superseded), *_dated(Review.created_at, f)
        )
        .cte("ratings")
    )


def _annotator_flags(ratings: Any) -> Any:
    """CTE (sample_id, user_id, category): flags people set themselves on the rated samples."""
    return (
        select(Flag.sample_id, Flag.user_id, Flag.category)
        .where(
            Flag.origin == "annotator",
            Flag.state != "cleared",
            Flag.user_id.is_not(None),
            Flag.sample_id.in_(select(ratings.c.sample_id)),
        )
        .distinct()
        .cte("aflags")
    )


_NI = cast(null(), Integer)
_NS = cast(null(), String)


def _agreement_counts(
    session: Session, f: StatsFilter, first_page: int = 0
) -> tuple[Any, FleissSums, dict[int, int], list[Any], list[Any], list[int]]:
    """All agreement counts in one statement: the ratings CTE is computed (materialised) once.

    A UNION ALL of five small aggregates, told apart by column ``k``:
    1 pair x decision x decision counts, 2 Fleiss sums per (raters, decision), 3 samples per number
    of raters, 4 flag counts per pair and category (A set, B set, both), 5 samples per (category,
    raters, raters who set the flag); and with ``first_page`` 6: the first ids of samples whose
    decisions differ.
    """
    r = _ratings(session, f)
    per_s = select(r.c.sample_id, func.count().label("n")).group_by(r.c.sample_id).cte("per_sample")
    a, b = aliased(r), aliased(r)
    on_pair = and_(a.c.sample_id == b.c.sample_id, a.c.user_id < b.c.user_id)
    q1 = (
        select(
            literal_column("1").label("k"),
            a.c.user_id.label("i1"),
            b.c.user_id.label("i2"),
            a.c.decision.label("s1"),
            b.c.decision.label("s2"),
            func.count().label("v1"),
            _NI.label("v2"),
            _NI.label("v3"),
        )
        .select_from(a)
        .join(b, on_pair)
        .group_by(a.c.user_id, b.c.user_id, a.c.decision, b.c.decision)
    )
    per_sd = (
        select(r.c.sample_id, r.c.decision, func.count().label("c"))
        .group_by(r.c.sample_id, r.c.decision)
        .subquery()
    )
    q2 = (
        select(
            literal_column("2"),
            per_s.c.n,
            _NI,
            per_sd.c.decision,
            _NS,
            func.sum(per_sd.c.c),
            func.sum(per_sd.c.c * (per_sd.c.c - 1)),
            _NI,
        )
        .select_from(per_sd)
        .join(per_s, per_s.c.sample_id == per_sd.c.sample_id)
        .group_by(per_s.c.n, per_sd.c.decision)
    )
    q3 = select(literal_column("3"), per_s.c.n, _NI, _NS, _NS, func.count(), _NI, _NI).group_by(
        per_s.c.n
    )

    af = _annotator_flags(r)
    pairs = (
        select(a.c.sample_id, a.c.user_id.label("ua"), b.c.user_id.label("ub"))
        .select_from(a)
        .join(b, on_pair)
        .subquery()
    )
    per_item = (
        select(
            pairs.c.ua,
            pairs.c.ub,
            af.c.category,
            func.max(case((af.c.user_id == pairs.c.ua, 1), else_=0)).label("xa"),
            func.max(case((af.c.user_id == pairs.c.ub, 1), else_=0)).label("xb"),
        )
        .join(
            af,
            and_(
                af.c.sample_id == pairs.c.sample_id,
                or_(af.c.user_id == pairs.c.ua, af.c.user_id == pairs.c.ub),
            ),
        )
        .group_by(pairs.c.sample_id, pairs.c.ua, pairs.c.ub, af.c.category)
        .subquery()
    )
    q4 = select(
        literal_column("4"),
        per_item.c.ua,
        per_item.c.ub,
        per_item.c.category,
        _NS,
        func.sum(per_item.c.xa),
        func.sum(per_item.c.xb),
        func.sum(per_item.c.xa * per_item.c.xb),
    ).group_by(per_item.c.ua, per_item.c.ub, per_item.c.category)
    fb = aliased(af)
    per_sf = (
        select(fb.c.sample_id, fb.c.category, func.count().label("f"))
        .join(r, and_(r.c.sample_id == fb.c.sample_id, r.c.user_id == fb.c.user_id))
        .group_by(fb.c.sample_id, fb.c.category)
        .subquery()
    )
    q5 = (
        select(
            literal_column("5"),
            per_s.c.n,
            per_sf.c.f,
            per_sf.c.category,
            _NS,
            func.count(),
            _NI,
            _NI,
        )
        .select_from(per_sf)
        .join(per_s, per_s.c.sample_id == per_sf.c.sample_id)
        .group_by(per_sf.c.category, per_s.c.n, per_sf.c.f)
    )

    branches = [q1, q2, q3, q4, q5]
    if first_page:
        split = _split_decisions(r, 0).limit(first_page).subquery()
        branches.append(
            select(literal_column("6"), split.c.sample_id, _NI, _NS, _NS, _NI, _NI, _NI)
        )
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


def agreement(
    session: Session, actor: Actor, f: StatsFilter = StatsFilter(), *, disagreements: int = 0
) -> dict[str, Any]:
    """Inter-annotator agreement on samples two or more people decided.

    Decisions: Cohen's kappa per pair of people (contingency counts from a self-join grouped in SQL)
    and Fleiss' kappa over all raters (sums grouped by raters-per-sample and category in SQL).
    Flags: the same per flag category, a flag being "set" or "not set" by each rater (annotator
    flags that are not cleared). With ``disagreements`` = n, also the first n samples whose
    decisions differ (as ``disagreements()`` gives them), found in the same statement.
    """
    _lead(actor)
    tables, dsums, items, flag_pairs, flag_fleiss, split_ids = _agreement_counts(
        session, f, disagreements
    )
    uids = {u for k in tables for u in k} | {u for row in flag_pairs for u in row[:2]}
    names = _usernames(session, uids)
    pair_n = {k: sum(t.values()) for k, t in tables.items()}
    decision_pairs = [
        {
            "a": names.get(ua, str(ua)),
            "b": names.get(ub, str(ub)),
            "a_id": ua,
            "b_id": ub,
            "samples": pair_n[(ua, ub)],
            "agreement": _rate(sum(c for (x, y), c in t.items() if x == y), pair_n[(ua, ub)]),
            "kappa": _round(cohen_kappa(t)),
            "table": [{"a": x, "b": y, "n": c} for (x, y), c in sorted(t.items())],
        }
        for (ua, ub), t in sorted(tables.items())
    ]

    flags: dict[str, dict[str, Any]] = {}
    fpairs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ua, ub, cat, sa, sb, both in flag_pairs:
        n = pair_n.get((ua, ub), 0)
        sa, sb, both = int(sa), int(sb), int(both)
        t = {
            ("yes", "yes"): both,
            ("yes", "no"): sa - both,
            ("no", "yes"): sb - both,
            ("no", "no"): n - sa - sb + both,
        }
        fpairs[cat].append(
            {
                "a": names.get(ua, str(ua)),
                "b": names.get(ub, str(ub)),
                "samples": n,
                "both": both,
                "only_a": sa - both,
                "only_b": sb - both,
                "kappa": _round(cohen_kappa(t)),
            }
        )
    fsums: dict[str, FleissSums] = defaultdict(FleissSums)
    flagged: dict[str, dict[int, int]] = defaultdict(
        lambda: defaultdict(int)
    )  # samples with f >= 1, per n
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
        flags[cat] = {
            "group": flag_group(cat),
            "fleiss": _round(f_res["kappa"]),
            "pairs": fpairs.get(cat, []),
        }
    d_res = fleiss_kappa_sums(dsums)
    return {
        "samples": sum(int(c) for c in items.values()),
        "decisions": {
            "fleiss": _round(d_res["kappa"]),
            "p_bar": _round(d_res["p_bar"]),
            "p_e": _round(d_res["p_e"]),
            "pairs": decision_pairs,
        },
        "flags": dict(sorted(flags.items())),
        **({"disagreements": _disagreement_details(session, split_ids)} if disagreements else {}),
    }


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


def disagreements(
    session: Session,
    actor: Actor,
    f: StatsFilter = StatsFilter(),
    *,
    flag: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Samples where raters disagree (on the decision, or on ``flag`` if given), for a lead to
    adjudicate.

    Keyset-paginated by sample id (pass the last ``sample_id`` as ``after``).
    """
    _lead(actor)
    r = _ratings(session, f)
    if flag is None:
        ids_stmt = _split_decisions(r, after)
    else:
        af = _annotator_flags(r)
        setters = (
            select(af.c.sample_id, func.count(distinct(af.c.user_id)).label("f"))
            .join(r, and_(r.c.sample_id == af.c.sample_id, r.c.user_id == af.c.user_id))
            .where(af.c.category == flag)
            .group_by(af.c.sample_id)
            .subquery()
        )
        n = select(r.c.sample_id, func.count().label("n")).group_by(r.c.sample_id).subquery()
        ids_stmt = (
            select(setters.c.sample_id)
            .join(n, n.c.sample_id == setters.c.sample_id)
            .where(setters.c.f < n.c.n, setters.c.sample_id > after)
            .order_by(setters.c.sample_id)
        )
    return _disagreement_details(session, list(session.scalars(ids_stmt.limit(limit))))


def _split_decisions(r: Any, after: int) -> Select[Any]:
    """Ids of rated samples (after ``after``) whose raters made different decisions, in id order."""
    return (
        select(r.c.sample_id)
        .where(r.c.sample_id > after)
        .group_by(r.c.sample_id)
        .having(func.min(r.c.decision) != func.max(r.c.decision))
        .order_by(r.c.sample_id)
    )


def _disagreement_details(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Who decided and flagged what on each of ``ids`` (bounded: one page of samples)."""
    if not ids:
        return []
    ratings = session.execute(
        select(Review.sample_id, Review.user_id, Review.decision, Review.id)
        .where(Review.sample_id.in_(ids))
        .order_by(Review.id)
    ).all()
    flags = session.execute(
        select(Flag.sample_id, Flag.user_id, Flag.category).where(
            Flag.sample_id.in_(ids), Flag.origin == "annotator", Flag.state != "cleared"
        )
    ).all()
    meta = dict(
        session.execute(select(Sample.id, Sample.dataset_id).where(Sample.id.in_(ids))).all()
    )
    names = _usernames(session, [u for _, u, _, _ in ratings] + [u for _, u, _ in flags])
    out: dict[int, dict[str, Any]] = {
        i: {
            "sample_id": i,
            "dataset_id": meta.get(i),
            "decisions": {},
            "flags": {},
            "link": review_link(meta.get(i), sample=i),
        }
        for i in ids
    }
    for s, u, dec, _ in ratings:  # ordered by id: the latest decision wins
        out[s]["decisions"][names.get(u, str(u))] = dec
    for s, u, cat in flags:
        if u is not None:
            out[s]["flags"].setdefault(names.get(u, str(u)), []).append(cat)
    return [out[i] for i in sorted(ids)]
