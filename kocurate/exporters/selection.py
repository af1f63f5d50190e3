"""What an export contains: filters (SQL, indexed), near-duplicate resolution, the mix (quotas per
dataset, seeded), and the train/validation split (stratified by dataset).

Reproducibility: every candidate gets a 64-bit priority = splitmix64(position ^ salt), where the
salt hashes the seed and the dataset's fingerprint (the sha256 of its source files). A dataset's
sample is its candidates in priority order; the export is written in global priority order (a seeded
shuffle). The same seed on the same data gives the same files, byte for byte; after a re-import of
the same files the selection and order stay the same too (only the provenance's sample ids change).

Rules (the manifest records their effect):
- ``statuses``: default ``approved`` only.
- Ethics flags: a sample with any ethics flag whose state is not ``cleared`` is excluded (default).
- Contamination: a sample with a check finding whose check name starts with ``contamination`` and
  whose state is not ``cleared`` is excluded unless ``include_contaminated``.
- Near duplicates (``Sample.dup_group``): each group contributes one sample among those selected:
  the one marked ``dup_keep``, else the lowest id.
- Mix: ``name=0.4`` / ``name=40%`` is a share of ``total``; ``name=5000`` (an integer) is a count
  (at most that many). Shares are scaled to fill ``total`` after the counts; quotas are integers by
  largest remainder, so they sum to ``total`` exactly. A dataset with fewer samples than its quota
  gives what it has (a ``shortfall`` in the manifest); with ``fill`` the others top it up, in
  proportion to their quotas, as far as they have samples.
  ``total`` without a mix samples every selected dataset in proportion to its size.
- Refused samples (see ``base``) are replaced by the dataset's next candidates, so quotas hold.
- Validation: ``round(val_frac * total written)``, split over datasets by largest remainder.
- ``exclude_error_findings``: samples with an open check finding of severity "error" are left out.
- ``best`` N ``best_by`` KEY: "the best N" — the target is N (as ``total``) and each dataset's
  candidates are taken in the order of a ranking key (:data:`RANKINGS`; ``risk``: the learned risk,
  lowest first) instead of the seeded priority; samples without a score come after every scored one
  (among themselves in seeded order). The written files keep the seeded shuffle.
- Gold samples (issue 21 B) are left out unless ``include_gold``.
- ``best_rated``: only the N eligible samples with the highest mean quality rating (all criteria and
  raters); equal means go to the lower learned risk (``sample_risk``; unscored after scored), then
  the lower id. Unrated samples are not candidates then. The mix and quotas apply to what is left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, case, func, or_, select, union
from sqlalchemy.orm import Session

from ..errors import NotFound, UsageError
from ..i18n import N_, Text
from ..models import (
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    STATUSES,
    Dataset,
    GoldSample,
    Sample,
    SampleSignal,
)
from ..services.filters import FILTER_KEYS, SampleFilter, open_findings, open_flags

PAGE = 50_000
CONTAMINATION_PREFIX = "contamination"


@dataclass
class ExportSpec:
    """Everything that decides an export's content (stored verbatim in the manifest)."""

    format: str = "messages"
    datasets: list[str] | None = None  # names or ids; None: all (or the mix's datasets)
    statuses: list[str] = field(default_factory=lambda: ["approved"])
    exclude_ethics: bool = True
    exclude_flags: list[str] = field(
        default_factory=list
    )  # more categories to exclude (state != cleared)
    with_flags: list[str] = field(default_factory=list)  # only samples carrying one of these
    include_contaminated: bool = False
    exclude_checks: list[str] = field(
        default_factory=list
    )  # check-name prefixes (open findings exclude)
    min_chars: int | None = None  # Korean characters of the sample (Sample.ko_chars)
    max_chars: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None
    dedup: bool = True
    mix: dict[str, float | int] = field(
        default_factory=dict
    )  # dataset -> share (float) or count (int)
    total: int | None = None
    seed: int = 0
    val_frac: float = 0.0
    meta: bool = True
    alpaca_history: bool = False
    exclude_error_findings: bool = False  # samples with an open finding of severity "error"
    fill: bool = False  # a dataset that falls short of its quota: the others top it up
    max_defect_rate: float | None = (
        None  # refuse unless the latest QA estimate's upper bound is at most this
    )
    best: int | None = None  # "the best N": the target size, taken in ``best_by`` order
    best_by: str = "risk"  # a key of RANKINGS (lower is better)
    include_gold: bool = False  # gold samples (annotator measurement) are left out unless asked
    best_rated: int | None = None  # only the N best samples by mean quality rating (then low risk)
    # a review-queue filter (``SampleFilter`` fields: check, text, suggestion, job, …): only the
    # samples it selects, e.g. the queue a lead just worked through
    where: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sample_filter(self) -> SampleFilter | None:
        """``where`` as a checked ``SampleFilter`` (unknown keys and ``mine`` are refused)."""
        if not self.where:
            return None
        bad = sorted(set(self.where) - set(FILTER_KEYS))
        if bad:
            raise UsageError(
                msgid=N_("unknown filter key(s) {bad}; one of {keys}"),
                bad=", ".join(bad),
                keys=", ".join(FILTER_KEYS),
            )
        f = SampleFilter.from_dict(self.where)
        f.validate()
        return f

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def validate(self) -> None:
        if self.where:
            self.sample_filter()
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad or not self.statuses:
            if bad:
                raise UsageError(
                    msgid=N_("unknown status {status!r}; one of {statuses}"),
                    status=bad[0],
                    statuses=", ".join(STATUSES),
                )
            raise UsageError(msgid=N_("choose at least one status"))
        known = set(ETHICS_FLAGS) | set(QUALITY_FLAGS)
        for f in [*self.exclude_flags, *self.with_flags]:
            if f not in known:
                raise UsageError(
                    msgid=N_("unknown flag {f!r}; one of {items}"),
                    f=f,
                    items=", ".join(sorted(known)),
                )
        if not 0.0 <= self.val_frac < 1.0:
            raise UsageError(msgid=N_("the validation fraction must be in [0, 1)"))
        if self.total is not None and self.total < 1:
            raise UsageError(msgid=N_("--total must be at least 1"))
        shares = {k: v for k, v in self.mix.items() if isinstance(v, float)}
        for name, v in self.mix.items():
            if isinstance(v, float) and not 0.0 < v <= 1.0:
                raise UsageError(
                    msgid=N_("mix share of {name!r} must be in (0, 1], got {v}"), name=name, v=v
                )
            if isinstance(v, int) and v < 0:
                raise UsageError(
                    msgid=N_("mix count of {name!r} must be positive, got {v}"), name=name, v=v
                )
        if self.best is not None:
            if self.best < 1:
                raise UsageError(msgid=N_("--best must be at least 1"))
            if self.best_by not in RANKINGS:
                raise UsageError(
                    msgid=N_("unknown ranking {best_by!r} for --best; one of {items}"),
                    best_by=self.best_by,
                    items=", ".join(sorted(RANKINGS)),
                )
            if self.total is not None and self.total != self.best:
                raise UsageError(
                    msgid=N_("--best N is the target size: give --best or --total, not both")
                )
            self.total = self.best
        if shares and self.total is None:
            raise UsageError(msgid=N_("a mix with shares needs a target size (--total)"))
        if self.best_rated is not None and self.best_rated < 1:
            raise UsageError(msgid=N_("--best-rated must be at least 1"))


def parse_mix_value(text: str) -> float | int:
    """``0.4`` or ``40%`` -> share 0.4; ``5000`` -> a count."""
    t = text.strip()
    try:
        if t.endswith("%"):
            return float(t[:-1]) / 100.0
        if "." in t or "e" in t.lower():
            return float(t)
        return int(t)
    except ValueError:
        raise UsageError(
            msgid=N_("mix value {text!r}: give a share (0.4 or 40%) or a count (5000)"), text=text
        ) from None


def parse_mix(items: list[str] | None) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for item in items or []:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise UsageError(
                msgid=N_("mix takes DATASET=SHARE or DATASET=COUNT, got {item!r}"), item=item
            )
        out[name.strip()] = parse_mix_value(value)
    return out


@dataclass
class DatasetInfo:
    id: int
    name: str
    kind: str
    licence: str | None
    fingerprint: str
    has_english: bool


def resolve_datasets(session: Session, spec: ExportSpec) -> list[DatasetInfo]:
    """The datasets an export reads, in id order (NotFound for an unknown name)."""
    rows = session.execute(
        select(
            Dataset.id,
            Dataset.name,
            Dataset.kind,
            Dataset.licence,
            Dataset.fingerprint,
            Dataset.source_files,
        ).order_by(Dataset.id)
    ).all()
    by_ref: dict[str, Any] = {}
    for r in rows:
        by_ref[r.name] = r
        by_ref.setdefault(str(r.id), r)
    wanted: list[str] | None = None
    if spec.mix:
        wanted = list(spec.mix)
        if spec.datasets:
            sel = {by_ref[d].id for d in spec.datasets if d in by_ref}
            outside = [m for m in spec.mix if m in by_ref and by_ref[m].id not in sel]
            if outside:
                raise UsageError(
                    msgid=N_("mix dataset {dataset!r} is not among the selected datasets"),
                    dataset=outside[0],
                )
    elif spec.datasets:
        wanted = list(spec.datasets)
    if wanted is not None:
        missing = [w for w in wanted if w not in by_ref]
        if missing:
            raise NotFound(msgid=N_("no dataset {dataset!r}"), dataset=missing[0])
        ids = {by_ref[w].id for w in wanted}
        rows = [r for r in rows if r.id in ids]
    return [
        DatasetInfo(
            r.id,
            r.name,
            r.kind,
            r.licence,
            r.fingerprint,
            any(f.get("role") == "en" for f in r.source_files or []),
        )
        for r in rows
    ]


# -- SQL filters
# ---------------------------------------------------------------------------------------


def _or(conds: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return conds[0] if len(conds) == 1 else or_(*conds)


def base_filters(spec: ExportSpec, session: Session) -> list[ColumnElement[bool]]:
    """Filters that define the pool (status and dataset are applied by the caller, on the index);
    ``spec.where`` adds the review queue's own conditions (one filter for queues and exports)."""
    conds: list[ColumnElement[bool]] = []
    where = spec.sample_filter()
    if where is not None:
        conds += where.conditions(session)
    if spec.min_chars is not None:
        conds.append(Sample.ko_chars >= spec.min_chars)
    if spec.max_chars is not None:
        conds.append(Sample.ko_chars <= spec.max_chars)
    if spec.min_turns is not None:
        conds.append(Sample.n_turns >= spec.min_turns)
    if spec.max_turns is not None:
        conds.append(Sample.n_turns <= spec.max_turns)
    if spec.with_flags:
        conds.append(Sample.id.in_(open_flags(spec.with_flags)))
    return conds


def exclusion_subqueries(spec: ExportSpec) -> dict[str, Any]:
    """Named sets of excluded sample ids, as subqueries over the small flags/findings tables."""
    out: dict[str, Any] = {}

    if spec.exclude_ethics:
        out["ethics_flagged"] = open_flags(ETHICS_FLAGS)
    if spec.exclude_flags:
        out["flagged"] = open_flags(spec.exclude_flags)
    if not spec.include_contaminated:
        out["contaminated"] = open_findings(prefixes=[CONTAMINATION_PREFIX])
    if spec.exclude_checks:
        out["check_findings"] = open_findings(prefixes=spec.exclude_checks)
    if spec.exclude_error_findings:
        out["error_findings"] = open_error_findings()
    if not spec.include_gold:
        out["gold"] = select(GoldSample.sample_id)
    return out


def open_error_findings() -> Any:
    """Samples with an open (or confirmed) finding of severity "error"."""
    return open_findings(severity="error")


def open_error_counts(
    session: Session, spec: ExportSpec, datasets: list[DatasetInfo]
) -> dict[int, int]:
    """Per dataset: samples of the pool with an open error finding (whether or not they are
    excluded)."""
    if not datasets:
        return {}
    q = (
        select(Sample.dataset_id, func.count())
        .where(
            Sample.dataset_id.in_([d.id for d in datasets]),
            Sample.status.in_(spec.statuses),
            *base_filters(spec, session),
            Sample.id.in_(open_error_findings()),
        )
        .group_by(Sample.dataset_id)
    )
    return {int(d): int(n) for d, n in session.execute(q)}


def pool_counts(
    session: Session, spec: ExportSpec, datasets: list[DatasetInfo]
) -> dict[int, dict[str, int]]:
    """Per dataset: samples in the pool, how many each exclusion removes, how many remain, and the
    near-duplicate groups among them — GROUP BY queries that read the (dataset, status) index and
    the small flags/findings tables, never every sample's row (unless a length filter asks)."""
    base = [
        Sample.dataset_id.in_([d.id for d in datasets]),
        Sample.status.in_(spec.statuses),
        *base_filters(spec, session),
    ]
    subs = exclusion_subqueries(spec)

    def per_dataset(
        *conds: ColumnElement[bool], cols: tuple[Any, ...] = (func.count(),)
    ) -> dict[int, tuple]:
        q = select(Sample.dataset_id, *cols).where(*base, *conds).group_by(Sample.dataset_id)
        return {r[0]: tuple(r[1:]) for r in session.execute(q)}

    keys = ["pool", *subs, "eligible", "in_dup_groups", "dup_groups"]
    out = {d.id: {k: 0 for k in keys} for d in datasets}
    for ds, (n,) in per_dataset().items():
        out[ds]["pool"] = n
    for name, sub in subs.items():
        for ds, (n,) in per_dataset(Sample.id.in_(sub)).items():
            out[ds][name] = n
    union = _union(list(subs.values())) if subs else None
    excluded = per_dataset(Sample.id.in_(union)) if union is not None else {}
    not_excluded = [Sample.id.not_in(union)] if union is not None else []
    dups = per_dataset(
        Sample.dup_group.isnot(None),
        *not_excluded,
        cols=(func.count(), func.count(func.distinct(Sample.dup_group))),
    )
    for ds, v in out.items():
        v["eligible"] = v["pool"] - excluded.get(ds, (0,))[0]
        v["in_dup_groups"], v["dup_groups"] = dups.get(ds, (0, 0))
        # each near-duplicate group gives one sample (exact for groups inside one dataset)
        v["after_duplicates"] = v["eligible"] - (
            v["in_dup_groups"] - v["dup_groups"] if spec.dedup else 0
        )
    return out


def _union(subs: list[Any]) -> Any:
    return subs[0] if len(subs) == 1 else union(*subs)


def duplicate_loss(session: Session, spec: ExportSpec, datasets: list[DatasetInfo]) -> int:
    """How many eligible samples near-duplicate grouping removes (members minus groups), in SQL."""
    if not spec.dedup:
        return 0
    subs = list(exclusion_subqueries(spec).values())
    q = select(func.count(), func.count(func.distinct(Sample.dup_group))).where(
        Sample.dataset_id.in_([d.id for d in datasets]),
        Sample.status.in_(spec.statuses),
        Sample.dup_group.isnot(None),
        *base_filters(spec, session),
        *([Sample.id.not_in(_union(subs))] if subs else []),
    )
    members, groups = session.execute(q).one()
    return int(members or 0) - int(groups or 0)


# -- rankings ("the best N")
# ----------------------------------------------------------------------------

# name -> fn(conn, dataset id, candidate ids) -> one float per id, lower is better, NaN for "no
# score". "risk" is the learned risk; another key (e.g. a mean rating) registers itself with
# register_ranking.
RankKey = Callable[[Connection, int, np.ndarray], np.ndarray]
RANKINGS: dict[str, RankKey] = {}


def register_ranking(name: str) -> Callable[[RankKey], RankKey]:
    def deco(fn: RankKey) -> RankKey:
        RANKINGS[name] = fn
        return fn

    return deco


@register_ranking("risk")
def risk_key(conn: Connection, dataset_id: int, ids: np.ndarray) -> np.ndarray:
    """The learned risk of each candidate (``sample_signals.risk``), NaN where none was scored."""
    rows = conn.execute(
        select(SampleSignal.sample_id, SampleSignal.risk).where(
            SampleSignal.dataset_id == dataset_id, SampleSignal.risk.is_not(None)
        )
    ).all()
    out = np.full(len(ids), np.nan)
    if not rows or not len(ids):
        return out
    sid = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    risk = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    order = np.argsort(sid)
    sid, risk = sid[order], risk[order]
    pos = np.clip(np.searchsorted(sid, ids), 0, len(sid) - 1)
    hit = sid[pos] == ids
    out[hit] = risk[pos[hit]]
    return out


def _ranked_order(
    conn: Connection, spec: ExportSpec, dataset_id: int, ids: np.ndarray, prios: np.ndarray
) -> np.ndarray:
    """Candidate order: by the ranking key when ``best`` is asked for, else by seeded priority."""
    if spec.best is None:
        return np.lexsort((ids, prios))
    key = RANKINGS[spec.best_by](conn, dataset_id, ids)
    unscored = np.isnan(key)
    return np.lexsort((ids, prios, np.where(unscored, 0.0, key), unscored))


# -- candidates
# ----------------------------------------------------------------------------------------


@dataclass
class Candidates:
    """Per dataset: eligible sample ids in priority order (after duplicate resolution)."""

    ids: dict[int, np.ndarray]
    priorities: dict[int, np.ndarray]
    duplicates_dropped: dict[int, int]
    pool: dict[int, dict[str, int]] = field(
        default_factory=dict
    )  # pool size and exclusions per dataset

    def available(self) -> dict[int, int]:
        return {d: len(a) for d, a in self.ids.items()}


_U = np.uint64


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, vectorized (a good 64-bit hash of consecutive integers)."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x += _U(0x9E3779B97F4A7C15)
        x = (x ^ (x >> _U(30))) * _U(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U(27))) * _U(0x94D049BB133111EB)
        x ^= x >> _U(31)
    return x


def dataset_salt(seed: int, fingerprint: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}|{fingerprint}".encode(), digest_size=8).digest()
    return _U(int.from_bytes(digest, "little"))


def excluded_sets(conn: Connection, spec: ExportSpec) -> dict[str, np.ndarray]:
    """Sorted ids of the samples each exclusion removes (flags and findings are small tables,
    indexed by category/check): subtracting them in numpy keeps the candidate scan a plain index
    range scan.
    """
    return {
        name: np.unique(np.fromiter((r[0] for r in conn.execute(sub.distinct())), dtype=np.int64))
        for name, sub in exclusion_subqueries(spec).items()
    }


def _fetch_ints(conn: Connection, stmt: Any) -> np.ndarray:
    """Rows of integers as an (n, k) array, read on the raw DBAPI cursor (no Row objects): the
    statement is compiled once with its values inlined (our own ints and status/flag names)."""
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(sql)
        rows = cur.fetchall()
    finally:
        cur.close()
    width = len(stmt.selected_columns)
    return (
        np.array(rows, dtype=np.int64).reshape(-1, width)
        if rows
        else np.zeros((0, width), np.int64)
    )


def collect_candidates(
    conn: Connection, spec: ExportSpec, datasets: list[DatasetInfo]
) -> Candidates:
    """Keyset pages over (dataset, status, id) — the index ``ix_samples_dataset_status_id`` —
    keeping only compact arrays (id, position, duplicate group): ~30 bytes per sample of the pool.
    Exclusions are subtracted in numpy; the pool counts per exclusion come out of the same pass."""
    filters = base_filters(spec, Session(bind=conn))
    excluded = excluded_sets(conn, spec)
    ids: dict[int, np.ndarray] = {}
    prios: dict[int, np.ndarray] = {}
    pool: dict[int, dict[str, int]] = {}
    groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # dataset -> (dup group or -1, keep)
    for d in datasets:
        parts: list[np.ndarray] = []
        for status in spec.statuses:
            last = 0
            while True:
                stmt = (
                    select(
                        Sample.id,
                        Sample.position,
                        func.coalesce(Sample.dup_group, -1),
                        case((Sample.dup_keep, 1), else_=0),
                    )
                    .where(
                        Sample.dataset_id == d.id,
                        Sample.status == status,
                        Sample.id > last,
                        *filters,
                    )
                    .order_by(Sample.id)
                    .limit(PAGE)
                )
                page = _fetch_ints(conn, stmt)
                if not len(page):
                    break
                parts.append(page)
                last = int(page[-1, 0])
                if len(page) < PAGE:
                    break
        arr = np.concatenate(parts) if parts else np.zeros((0, 4), np.int64)
        keep = np.ones(len(arr), dtype=bool)
        counts = {"pool": len(arr)}
        for name, bad in excluded.items():
            hit = np.isin(arr[:, 0], bad, assume_unique=False)
            counts[name] = int(hit.sum())
            keep &= ~hit
        arr = arr[keep]
        counts["eligible"] = len(arr)
        pool[d.id] = counts
        ids[d.id] = arr[:, 0].copy()
        prios[d.id] = mix64(arr[:, 1].astype(np.uint64) ^ dataset_salt(spec.seed, d.fingerprint))
        groups[d.id] = (arr[:, 2].copy(), arr[:, 3].astype(bool))
    dropped = {d.id: 0 for d in datasets}
    if spec.dedup and datasets:
        # the winner of each group among the eligible: dup_keep first, then the lowest id
        g = np.concatenate([groups[d.id][0] for d in datasets])
        k = np.concatenate([groups[d.id][1] for d in datasets])
        sid = np.concatenate([ids[d.id] for d in datasets])
        member = g >= 0
        if member.any():
            g, k, sid = g[member], k[member], sid[member]
            order = np.lexsort((sid, ~k, g))
            g, sid = g[order], sid[order]
            first = np.ones(len(g), dtype=bool)
            first[1:] = g[1:] != g[:-1]
            losers = np.sort(sid[~first])
            for d in datasets:
                lost = np.isin(ids[d.id], losers)
                dropped[d.id] = int(lost.sum())
                ids[d.id], prios[d.id] = ids[d.id][~lost], prios[d.id][~lost]
    if spec.best_rated and datasets:
        _keep_best_rated(conn, spec.best_rated, datasets, ids, prios, pool)
    for d in datasets:  # priority order (or the ranking of "the best N"), ties by id
        order = _ranked_order(conn, spec, d.id, ids[d.id], prios[d.id])
        ids[d.id], prios[d.id] = ids[d.id][order], prios[d.id][order]
    return Candidates(ids, prios, dropped, pool)


def _keep_best_rated(
    conn: Connection,
    n: int,
    datasets: list[DatasetInfo],
    ids: dict[int, np.ndarray],
    prios: dict[int, np.ndarray],
    pool: dict[int, dict[str, int]],
) -> None:
    """Keep only the ``n`` best-rated eligible candidates (see the module docstring)."""
    from ..services import ratings

    ranked = np.array(ratings.best_rated(conn, [d.id for d in datasets]), dtype=np.int64)
    eligible = np.concatenate([ids[d.id] for d in datasets])
    best = np.sort(ranked[np.isin(ranked, eligible)][:n])
    for d in datasets:
        keep = np.isin(ids[d.id], best)
        pool[d.id]["not_best_rated"] = int((~keep).sum())
        ids[d.id], prios[d.id] = ids[d.id][keep], prios[d.id][keep]


# -- quotas
# --------------------------------------------------------------------------------------------


def largest_remainder(total: int, weights: dict[int, float]) -> dict[int, int]:
    """Integers proportional to ``weights`` summing to ``total`` exactly (ties: lower key first)."""
    wsum = sum(weights.values())
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    raw = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    left = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[:left]:
        out[k] += 1
    return out


def plan(
    spec: ExportSpec, datasets: list[DatasetInfo], available: dict[int, int]
) -> dict[int, dict[str, Any]]:
    """Quota and validation quota per dataset: {id: {quota, val, requested, share}}."""
    by_name = {d.name: d for d in datasets} | {str(d.id): d for d in datasets}
    quotas: dict[int, int] = {}
    requested: dict[int, float | int | None] = {d.id: None for d in datasets}
    if spec.mix:
        counts = {by_name[n].id: v for n, v in spec.mix.items() if isinstance(v, int)}
        shares = {by_name[n].id: float(v) for n, v in spec.mix.items() if isinstance(v, float)}
        for n, v in spec.mix.items():
            requested[by_name[n].id] = v
        quotas.update(counts)
        if shares:
            rest = max(0, int(spec.total or 0) - sum(counts.values()))
            quotas.update(largest_remainder(rest, shares))
    elif spec.total is not None:
        quotas = largest_remainder(
            min(spec.total, sum(available.values())),
            {d.id: float(available.get(d.id, 0)) for d in datasets},
        )
    else:
        quotas = {d.id: available.get(d.id, 0) for d in datasets}
    planned = {d.id: quotas.get(d.id, 0) for d in datasets}
    val = (
        largest_remainder(
            round(spec.val_frac * sum(planned.values())), {k: float(v) for k, v in planned.items()}
        )
        if spec.val_frac > 0
        else {k: 0 for k in planned}
    )
    return {
        d.id: {
            "quota": planned[d.id],
            "val": val.get(d.id, 0),
            "requested": requested[d.id],
            "available": available.get(d.id, 0),
        }
        for d in datasets
    }


def set_validation(
    spec: ExportSpec, planned: dict[int, dict[str, Any]], counts: dict[int, int]
) -> None:
    """Validation quotas from the final counts: ``round(val_frac * total)`` split by largest
    remainder."""
    val = (
        largest_remainder(
            round(spec.val_frac * sum(counts.values())), {k: float(v) for k, v in counts.items()}
        )
        if spec.val_frac > 0
        else {}
    )
    for d, p in planned.items():
        p["val"] = val.get(d, 0)


def mix_warnings(
    spec: ExportSpec, datasets: list[DatasetInfo], planned: dict[int, dict[str, Any]]
) -> list[str]:
    """Say so when shares had to be scaled to fill the target (they did not add up)."""
    if not spec.total:
        return []
    out = []
    for d in datasets:
        asked = planned[d.id]["requested"]
        if isinstance(asked, float):
            got = planned[d.id]["quota"] / spec.total
            if abs(got - asked) * spec.total > 1:
                out.append(
                    Text(
                        N_(
                            "mix: {name} gets {got:.1%} of the target (asked {asked:.1%}): shares"
                            " are scaled to fill the target after the fixed counts"
                        ),
                        name=d.name,
                        got=got,
                        asked=asked,
                    )
                )
    return out


def reading_order(
    ids: list[np.ndarray], dss: list[np.ndarray], prios: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate (id, dataset, priority) parts and sort them by id: the database is read in id
    order (each page once, in index order); the output order is restored by the shuffle buckets."""
    if not ids:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0, np.uint64)
    all_ids, all_ds, all_p = np.concatenate(ids), np.concatenate(dss), np.concatenate(prios)
    order = np.argsort(all_ids, kind="stable")
    return all_ids[order], all_ds[order], all_p[order]


def first_candidates(
    cands: Candidates, quotas: dict[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]:
    """The first ``quota`` candidates of each dataset by priority, in reading (id) order.

    Returns (ids, dataset ids, priorities, next index per dataset for refills)."""
    ids, dss, prios = [], [], []
    nxt: dict[int, int] = {}
    for d, arr in cands.ids.items():
        q = min(quotas.get(d, 0), len(arr))
        ids.append(arr[:q])
        dss.append(np.full(q, d, dtype=np.int64))
        prios.append(cands.priorities[d][:q])
        nxt[d] = q
    return (*reading_order(ids, dss, prios), nxt)
