"""Near-duplicates within and across datasets: MinHash over Korean character shingles, banded LSH,
exact check.

Each sample's Korean text (all turns, normalized: no whitespace/punctuation, lower case) is cut into
``SHINGLE``-character shingles. Signatures are computed for a whole batch at once with numpy
(rolling polynomial shingle hashes, multiply-shift permutations, ``minimum.reduceat`` per sample).
Candidates come from banding the signatures with numpy, the band layout chosen for the threshold
(``bands_for``: a pair at exactly the threshold becomes a candidate with p >= 99.5 %; datasketch's
layout, 5 bands x 11 rows at 0.8, missed 15 % of pairs at J = 0.9). A candidate is kept when its
estimated similarity is near the threshold or above, and then its exact Jaccard similarity
(shingle sets of the two texts) reaches the threshold (identical signatures need no exact check).
Groups are the connected components; the sample with the lowest id keeps (``dup_keep``), and
``dup_group`` is that sample's id for every member.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ..db import read_session
from ..i18n import N_, SOURCE_LANGUAGE, part, render
from ..models import CheckFinding, Sample, Turn, utcnow
from .base import Check, Finding, SampleView, register
from .contamination import normalize

NUM_PERM = 64
SHINGLE = 5
THRESHOLD = 0.8
MAX_CHARS = 4_000  # long conversations: the first and last 2,000 characters decide
BATCH = 5_000
# candidates whose estimate is this far below the threshold still get the exact check (64
# permutations: the estimate's standard deviation at J = 0.8 is 0.05, so 3 of them)
SLACK = 0.15
CANDIDATE_P = 0.995  # the band layout makes a pair at exactly the threshold a candidate this often
_MAX_PERM = 256
_rng = np.random.RandomState(42)
# odd multipliers: x -> a*x + b (mod 2^32) is a permutation of the 32-bit shingle hashes
_A = (
    _rng.randint(0, 2**31, size=_MAX_PERM, dtype=np.int64).astype(np.uint32) << np.uint32(1)
) | np.uint32(1)
_B = _rng.randint(0, 2**31, size=_MAX_PERM, dtype=np.int64).astype(np.uint32)
_P = np.uint64(1_000_003)


def _text_for(text: str) -> str:
    t = normalize(text)
    if len(t) > MAX_CHARS:
        t = t[: MAX_CHARS // 2] + t[-MAX_CHARS // 2 :]
    return t


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads the rolling hash over all 64 bits before we keep the top 32."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def signatures(texts: list[str], num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures (len(texts) x num_perm, uint32) of normalized texts."""
    if not 0 < num_perm <= _MAX_PERM:
        raise ValueError(f"num_perm must be 1..{_MAX_PERM}")
    n = len(texts)
    if n == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    # one code-point array for the batch; shingles that cross a boundary are dropped below
    padded = [t if len(t) >= SHINGLE else t.ljust(SHINGLE, "\0") for t in texts]
    lens = np.fromiter((len(t) for t in padded), dtype=np.int64, count=n)
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = len(codes) - SHINGLE + 1
    h = np.zeros(m, dtype=np.uint64)
    for k in range(SHINGLE):  # polynomial rolling hash, wrapping mod 2^64
        h = h * _P + codes[k : k + m]
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    n_sh = lens - SHINGLE + 1  # shingles per text (>= 1 thanks to the padding)
    owner = np.repeat(np.arange(n), lens)[:m]
    keep = (np.arange(m) - starts[owner]) < n_sh[owner]  # windows inside their own text
    h32 = (_mix(h[keep]) >> np.uint64(32)).astype(np.uint32)
    seg = np.concatenate(([0], np.cumsum(n_sh)[:-1]))
    sig = np.empty((n, num_perm), dtype=np.uint32)
    for lo in range(0, num_perm, 16):
        hi = min(num_perm, lo + 16)
        perm = h32[:, None] * _A[None, lo:hi] + _B[None, lo:hi]
        sig[:, lo:hi] = np.minimum.reduceat(perm, seg, axis=0)
    return sig


def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH chooses for this threshold (the earlier
    layout)."""
    # imported here: datasketch pulls in scipy (about 1 s), which every page that lists the checks
    # (the Review page's first run, so the first login) paid for a layout only benchmarks ask about
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def candidate_probability(j: float, bands: int, rows: int) -> float:
    """The chance that a pair of Jaccard similarity ``j`` shares at least one band."""
    return 1.0 - (1.0 - j**rows) ** bands


def bands_for(
    threshold: float, num_perm: int = NUM_PERM, target: float = CANDIDATE_P
) -> tuple[int, int]:
    """(bands, rows) for ``threshold``: the most rows per band (fewest chance candidates) such that
    a pair at exactly the threshold is a candidate with probability >= ``target``."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 1 or candidate_probability(threshold, bands, rows) < target:
            break
        best = (bands, rows)
    return best


def shingles(text: str) -> set[str]:
    """The shingle set of a normalized text (as the signatures see it: short texts padded)."""
    t = text if len(text) >= SHINGLE else text.ljust(SHINGLE, "\0")
    return {t[i : i + SHINGLE] for i in range(len(t) - SHINGLE + 1)}


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two normalized texts' shingle sets."""
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


@dataclass
class DedupResult:
    samples: int = 0
    groups: int = 0
    duplicates: int = 0  # samples that are not the kept one of their group
    seconds: float = 0.0
    seconds_signatures: float = 0.0
    seconds_lsh: float = 0.0
    seconds_exact: float = 0.0  # reading candidates' texts back and comparing their shingle sets
    layout: tuple[int, int] = (0, 0)  # (bands, rows)
    candidates: int = 0  # pairs sharing a band with an estimate near the threshold or above
    verified: int = 0  # of those, pairs given the exact check
    edges: int = 0  # pairs kept
    group_of: dict[int, int] = field(default_factory=dict)  # sample id -> group id (kept sample id)
    similarity: dict[int, float] = field(
        default_factory=dict
    )  # sample id -> similarity to its group's keeper

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "groups": self.groups,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 2),
            "seconds_signatures": round(self.seconds_signatures, 2),
            "seconds_lsh": round(self.seconds_lsh, 2),
            "seconds_exact": round(self.seconds_exact, 2),
            "bands": self.layout[0],
            "rows": self.layout[1],
            "candidates": self.candidates,
            "verified": self.verified,
            "samples_per_s": round(self.samples / self.seconds, 1) if self.seconds else None,
        }


TextsOf = Callable[[list[int]], dict[int, str]]


def find_groups(
    items: Iterable[tuple[int, list[tuple[int, str]]]],
    *,
    threshold: float = THRESHOLD,
    texts_of: TextsOf | None = None,
    num_perm: int = NUM_PERM,
    layout: tuple[int, int] | None = None,
    exact: bool = True,
) -> DedupResult:
    """Group near-duplicates among ``items``: batches of (sample id, text), in any order.

    ``texts_of(ids)`` gives the raw texts of samples again for the exact check (read back from the
    database, so that 700k texts are not held); without it the texts of ``items`` are kept in
    memory. ``layout`` (bands, rows) overrides ``bands_for``; ``exact=False`` keeps candidates on
    their estimate alone (the earlier behaviour; benchmarks compare both). Banding is done with
    numpy over all signatures at once (datasketch's ``MinHashLSH`` goes key by key in Python: about
    10 s per 50k).
    """
    res = DedupResult()
    t0 = time.perf_counter()
    ids_parts: list[np.ndarray] = []
    sig_parts: list[np.ndarray] = []
    kept: dict[int, str] = {}
    for _, batch in items:
        ts = time.perf_counter()
        sig_parts.append(signatures([_text_for(t) for _, t in batch], num_perm))
        ids_parts.append(np.fromiter((i for i, _ in batch), dtype=np.int64, count=len(batch)))
        if texts_of is None and exact:
            kept.update(batch)
        res.seconds_signatures += time.perf_counter() - ts
        res.samples += len(batch)
    if not ids_parts:
        return res
    tl = time.perf_counter()
    ids = np.concatenate(ids_parts)
    sig = np.concatenate(sig_parts)
    del sig_parts
    bands, rows = layout or bands_for(threshold, num_perm)
    res.layout = (bands, rows)
    floor = threshold - SLACK if exact else threshold
    coef = np.random.RandomState(7).randint(1, 2**62, size=rows, dtype=np.int64).astype(
        np.uint64
    ) | np.uint64(1)
    pair_parts: list[np.ndarray] = []
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = (block * coef[None, :]).sum(axis=1)  # wraps mod 2^64: a hash of the band
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = np.flatnonzero(ks[1:] == ks[:-1]) + 1  # positions whose key equals the previous one
        if len(same) == 0:
            continue
        # each member of a bucket is compared with the bucket's first member (rows are id-ordered)
        heads = np.maximum.accumulate(
            np.where(np.concatenate(([True], ks[1:] != ks[:-1])), np.arange(len(ks)), 0)
        )
        a, b = order[heads[same]], order[same]
        est = (sig[a] == sig[b]).sum(axis=1)
        ok = est >= floor * num_perm
        pair_parts.append(np.stack([a[ok], b[ok], est[ok]], axis=1))
    pairs = (
        np.unique(np.concatenate(pair_parts), axis=0)
        if pair_parts
        else np.zeros((0, 3), dtype=np.int64)
    )
    res.candidates = len(pairs)
    sims = pairs[:, 2] / num_perm if len(pairs) else np.zeros(0)
    if exact and len(pairs):
        # identical signatures: J < 0.8 would leave all 64 minima equal with p < 0.8^64
        doubt = np.flatnonzero(pairs[:, 2] < num_perm)
        need = np.unique(pairs[doubt, :2]).tolist()
        res.verified = len(doubt)
        te = time.perf_counter()
        texts = _texts_for([int(ids[i]) for i in need], texts_of, kept)
        sets: dict[int, set[str]] = {}
        exact_sims = sims.copy()
        for k in doubt.tolist():
            x, y = int(pairs[k, 0]), int(pairs[k, 1])
            sx = sets.get(x)
            if sx is None:
                sx = sets[x] = shingles(texts.get(int(ids[x]), ""))
            sy = sets.get(y)
            if sy is None:
                sy = sets[y] = shingles(texts.get(int(ids[y]), ""))
            exact_sims[k] = len(sx & sy) / len(sx | sy) if sx or sy else 1.0
        sims = exact_sims
        res.seconds_exact = time.perf_counter() - te
    good = sims >= threshold
    pairs, sims = pairs[good], sims[good]
    res.edges = len(pairs)
    parent = np.arange(len(ids))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y, sim in zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), sims.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
        res.similarity[int(ids[y])] = max(res.similarity.get(int(ids[y]), 0.0), sim)
        res.similarity[int(ids[x])] = max(res.similarity.get(int(ids[x]), 0.0), sim)
    roots = np.fromiter((find(i) for i in range(len(ids))), dtype=np.int64, count=len(ids))
    counts = np.bincount(roots, minlength=len(ids))
    keeper = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(keeper, roots, ids)  # the lowest sample id of each group keeps
    for i in np.flatnonzero(counts[roots] >= 2).tolist():
        g = int(keeper[roots[i]])
        res.group_of[int(ids[i])] = g
        if int(ids[i]) != g:
            res.duplicates += 1
    res.groups = int(np.count_nonzero(counts >= 2))
    res.seconds_lsh = time.perf_counter() - tl - res.seconds_exact
    res.seconds = time.perf_counter() - t0
    return res


def _texts_for(wanted: list[int], texts_of: TextsOf | None, kept: dict[int, str]) -> dict[int, str]:
    """Normalized texts of the samples a check needs, read back in chunks."""
    out: dict[int, str] = {}
    for i in range(0, len(wanted), 5_000):
        chunk = wanted[i : i + 5_000]
        raw = texts_of(chunk) if texts_of is not None else {k: kept[k] for k in chunk if k in kept}
        out.update((k, _text_for(v)) for k, v in raw.items())
    return out


def _stream_texts(
    engine: Engine, dataset_ids: list[int], batch: int
) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Keyset batches of (sample id, Korean text of all turns), dataset by dataset (index order)."""
    for ds in dataset_ids:
        last = 0
        while True:
            with read_session(engine) as s:
                ids = list(
                    s.scalars(
                        select(Sample.id)
                        .where(Sample.dataset_id == ds, Sample.id > last)
                        .order_by(Sample.id)
                        .limit(batch)
                    )
                )
                if not ids:
                    break
                wanted = set(ids)
                texts: dict[int, list[str]] = {}
                for sid, text in s.execute(
                    select(Turn.sample_id, Turn.text)
                    .where(Turn.sample_id.between(ids[0], ids[-1]))
                    .order_by(Turn.sample_id, Turn.idx)
                ):
                    if sid in wanted:
                        texts.setdefault(sid, []).append(text or "")
            last = ids[-1]
            yield last, [(i, "\n".join(texts.get(i, []))) for i in ids]


def dedup_datasets(
    engine: Engine,
    dataset_ids: list[int],
    *,
    threshold: float = THRESHOLD,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> DedupResult:
    """Group near-duplicates across ``dataset_ids``; store dup_group/dup_keep and findings. Replaces
    earlier runs."""

    def stream() -> Iterator[tuple[int, list[tuple[int, str]]]]:
        n = 0
        for item in _stream_texts(engine, dataset_ids, batch):
            n += len(item[1])
            yield item
            if progress:
                progress(n)

    def texts_of(ids: list[int]) -> dict[int, str]:
        texts: dict[int, list[str]] = {}
        with read_session(engine) as s:
            for sid, text in s.execute(
                select(Turn.sample_id, Turn.text)
                .where(Turn.sample_id.in_(ids))
                .order_by(Turn.sample_id, Turn.idx)
            ):
                texts.setdefault(sid, []).append(text or "")
        return {i: "\n".join(t) for i, t in texts.items()}

    res = find_groups(stream(), threshold=threshold, texts_of=texts_of)
    t = time.perf_counter()
    with Session(engine) as s, s.begin():
        conn = s.connection()
        conn.execute(
            update(Sample)
            .where(Sample.dataset_id.in_(dataset_ids), Sample.dup_group.is_not(None))
            .values(dup_group=None, dup_keep=True)
            .execution_options(synchronize_session=False)
        )
        conn.execute(
            delete(CheckFinding).where(
                CheckFinding.dataset_id.in_(dataset_ids),
                CheckFinding.check == NearDuplicate.name,
                CheckFinding.state == "open",
            )
        )
        rows = [{"sid": sid, "g": g, "k": sid == g} for sid, g in res.group_of.items()]
        for i in range(0, len(rows), 10_000):
            conn.execute(
                update(Sample)
                .where(Sample.id == bindparam("sid"))
                .values(dup_group=bindparam("g"), dup_keep=bindparam("k"))
                .execution_options(synchronize_session=False),
                rows[i : i + 10_000],
            )
        dup_ids = sorted(sid for sid, g in res.group_of.items() if sid != g)
        ds_of: dict[int, int] = {}
        for i in range(0, len(dup_ids), 5_000):
            chunk = dup_ids[i : i + 5_000]
            ds_of.update(
                conn.execute(select(Sample.id, Sample.dataset_id).where(Sample.id.in_(chunk))).all()
            )
        now = utcnow()
        msgid = N_(
            "near-duplicate of sample {kept} (similarity {similarity:.2f}); that one is kept"
        )
        findings = []
        for sid in dup_ids:
            spec = part(
                msgid, kept=res.group_of[sid], similarity=res.similarity.get(sid, threshold)
            )
            findings.append(
                {
                    "sample_id": sid,
                    "dataset_id": ds_of[sid],
                    "check": NearDuplicate.name,
                    "severity": "warning",
                    "turn_idx": None,
                    "span_start": None,
                    "span_end": None,
                    "message": render(spec, SOURCE_LANGUAGE),
                    "data": {
                        "group": res.group_of[sid],
                        "similarity": round(res.similarity.get(sid, 0.0), 3),
                        "i18n": spec,
                    },
                    "state": "open",
                    "created_at": now,
                }
            )
        for i in range(0, len(findings), 10_000):
            conn.execute(insert(CheckFinding), findings[i : i + 10_000])
    res.seconds += time.perf_counter() - t
    return res


@register
class NearDuplicate(Check):
    """Registered so it is listed and selectable; it runs over whole datasets
    (``dedup_datasets``)."""

    name = "near_duplicate"
    label = N_("Near-duplicate")
    description = N_(
        "Near-duplicate samples within and across datasets (MinHash/LSH over Korean character"
        " shingles)"
    )
    severity = "warning"
    family = "dedup"
    flag = None
    cheap = False
    corpus = True  # runs over datasets, not sample by sample

    def run(self, sample: SampleView) -> list[Finding]:
        return []
