"""Text: length, turn and ko/en ratio histograms."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from ...models import Sample
from ..auth import Actor
from ._base import (
    LENGTH_EDGES,
    RATIO_MAX_TENTHS,
    TURN_EDGES,
    StatsFilter,
    _bucket,
    _dataset_names,
    _lead,
    bucket_label,
)


def text_stats(session: Session, actor: Actor, f: StatsFilter = StatsFilter()) -> dict[str, Any]:
    """Histograms per dataset of Korean and English characters per sample, their ratio, and turns
    per sample.

    One scan of the samples' stored counts (``ko_chars``, ``en_chars``, ``n_turns``, kept at
    import), covered by an index: measuring 1.4M turn texts with length() would cost a full read of
    the turns table.
    """
    _lead(actor)
    # Inner GROUP BY follows ix_samples_text_stats (no sort, index only); the outer one buckets its
    # groups.
    inner = select(
        Sample.dataset_id.label("d"),
        Sample.n_turns.label("t"),
        Sample.ko_chars.label("k"),
        Sample.en_chars.label("e"),
        func.count().label("n"),
    ).group_by(Sample.dataset_id, Sample.n_turns, Sample.ko_chars, Sample.en_chars)
    if f.datasets:
        inner = inner.where(Sample.dataset_id.in_(f.datasets))
    g = inner.subquery()
    kb = _bucket(g.c.k, LENGTH_EDGES).label("kb")
    eb = _bucket(g.c.e, LENGTH_EDGES).label("eb")
    tb = _bucket(g.c.t, TURN_EDGES).label("tb")
    ratio = (g.c.k * 10) // g.c.e
    rb = case(
        (g.c.e == 0, literal(-1)),
        (ratio >= RATIO_MAX_TENTHS, literal(RATIO_MAX_TENTHS)),
        else_=ratio,
    ).label("rb")
    stmt = select(g.c.d, kb, eb, rb, tb, func.sum(g.c.n), func.sum(g.c.n * g.c.t)).group_by(
        g.c.d, kb, eb, rb, tb
    )
    names = _dataset_names(session)
    acc: dict[int, dict[str, Any]] = {}
    for d, k, e, r, t, n, turns in session.execute(stmt):
        a = acc.setdefault(
            d,
            {
                "ko": defaultdict(int),
                "en": defaultdict(int),
                "ratio": defaultdict(int),
                "turns": defaultdict(int),
                "samples": 0,
                "n_turns": 0,
            },
        )
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
        out.append(
            {
                "dataset_id": d,
                "dataset": names.get(d, str(d)),
                "samples": a["samples"],
                "turns": a["n_turns"],
                "ko_chars": [
                    {"bucket": bucket_label(e, LENGTH_EDGES), "lower": e, "n": a["ko"].get(e, 0)}
                    for e in LENGTH_EDGES
                ],
                "en_chars": [
                    {"bucket": bucket_label(e, LENGTH_EDGES), "lower": e, "n": a["en"].get(e, 0)}
                    for e in LENGTH_EDGES
                ],
                "ratio": [
                    {
                        "bucket": f"{r / 10:.1f}" + ("+" if r == RATIO_MAX_TENTHS else ""),
                        "lower": r / 10,
                        "n": a["ratio"].get(r, 0),
                    }
                    for r in range(RATIO_MAX_TENTHS + 1)
                ],
                "turns_per_sample": [
                    {"bucket": bucket_label(e, TURN_EDGES), "lower": e, "n": a["turns"].get(e, 0)}
                    for e in TURN_EDGES
                ],
            }
        )
    return {"unit": "characters per sample (all turns)", "datasets": out}
