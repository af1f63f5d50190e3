"""Near-duplicates within and across datasets: MinHash over Korean character shingles + datasketch LSH.

Each sample's Korean text (all turns, normalized: no whitespace/punctuation, lower case) is cut into
``SHINGLE``-character shingles. Signatures are computed for a whole batch at once with numpy
(rolling polynomial shingle hashes, multiply-shift permutations, ``minimum.reduceat`` per sample);
``datasketch.MinHashLSH`` finds candidate pairs, which are kept when their estimated Jaccard
similarity reaches the threshold. Groups are the connected components; the sample with the lowest
id keeps (``dup_keep``), and ``dup_group`` is that sample's id for every member.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHashLSH
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ..models import CheckFinding, Sample, Turn, utcnow
from .base import Check, Finding, SampleView, register
from .contamination import normalize
from .runner import read_session

NUM_PERM = 64
SHINGLE = 5
THRESHOLD = 0.8
MAX_CHARS = 4_000  # long conversations: the first and last 2,000 characters decide
BATCH = 5_000
_rng = np.random.RandomState(42)
# odd multipliers: x -> a*x + b (mod 2^32) is a permutation of the 32-bit shingle hashes
_A = (_rng.randint(0, 2**31, size=NUM_PERM, dtype=np.int64).astype(np.uint32) << np.uint32(1)) | np.uint32(1)
_B = _rng.randint(0, 2**31, size=NUM_PERM, dtype=np.int64).astype(np.uint32)
_P = np.uint64(1_000_003)


def _text_for(text: str) -> str:
    t = normalize(text)
    if len(t) > MAX_CHARS:
        t = t[: MAX_CHARS // 2] + t[-MAX_CHARS // 2:]
    return t


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads the rolling hash over all 64 bits before we keep the top 32."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def signatures(texts: list[str]) -> np.ndarray:
    """MinHash signatures (len(texts) x NUM_PERM, uint32) of normalized texts."""
    n = len(texts)
    if n == 0:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    # one code-point array for the batch; shingles that cross a boundary are dropped below
    padded = [t if len(t) >= SHINGLE else t.ljust(SHINGLE, "\0") for t in texts]
    lens = np.fromiter((len(t) for t in padded), dtype=np.int64, count=n)
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = len(codes) - SHINGLE + 1
    h = np.zeros(m, dtype=np.uint64)
    for k in range(SHINGLE):  # polynomial rolling hash, wrapping mod 2^64
        h = h * _P + codes[k:k + m]
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    n_sh = lens - SHINGLE + 1  # shingles per text (>= 1 thanks to the padding)
    owner = np.repeat(np.arange(n), lens)[:m]
    keep = (np.arange(m) - starts[owner]) < n_sh[owner]  # windows inside their own text
    h32 = (_mix(h[keep]) >> np.uint64(32)).astype(np.uint32)
    seg = np.concatenate(([0], np.cumsum(n_sh)[:-1]))
    sig = np.empty((n, NUM_PERM), dtype=np.uint32)
    for lo in range(0, NUM_PERM, 16):
        perm = h32[:, None] * _A[None, lo:lo + 16] + _B[None, lo:lo + 16]
        sig[:, lo:lo + 16] = np.minimum.reduceat(perm, seg, axis=0)
    return sig


def lsh_params(threshold: float) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH chooses for this threshold and NUM_PERM."""
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return lsh.b, lsh.r


@dataclass
class DedupResult:
    samples: int = 0
    groups: int = 0
    duplicates: int = 0  # samples that are not the kept one of their group
    seconds: float = 0.0
    seconds_signatures: float = 0.0
    seconds_lsh: float = 0.0
    group_of: dict[int, int] = field(default_factory=dict)  # sample id -> group id (kept sample id)
    similarity: dict[int, float] = field(default_factory=dict)  # sample id -> similarity to its group's keeper

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "groups": self.groups, "duplicates": self.duplicates,
                "seconds": round(self.seconds, 2), "seconds_signatures": round(self.seconds_signatures, 2),
                "seconds_lsh": round(self.seconds_lsh, 2),
                "samples_per_s": round(self.samples / self.seconds, 1) if self.seconds else None}


def find_groups(items: Iterable[tuple[int, list[tuple[int, str]]]], *, threshold: float = THRESHOLD,
                ) -> DedupResult:
    """Group near-duplicates among ``items``: batches of (sample id, text), in any order.

    Banding is done with numpy over all signatures at once (datasketch's ``MinHashLSH`` inserts and
    queries key by key in Python: about 10 s per 50k samples); the band layout is datasketch's.
    """
    res = DedupResult()
    t0 = time.perf_counter()
    ids_parts: list[np.ndarray] = []
    sig_parts: list[np.ndarray] = []
    for _, batch in items:
        ts = time.perf_counter()
        sig_parts.append(signatures([_text_for(t) for _, t in batch]))
        ids_parts.append(np.fromiter((i for i, _ in batch), dtype=np.int64, count=len(batch)))
        res.seconds_signatures += time.perf_counter() - ts
        res.samples += len(batch)
    if not ids_parts:
        return res
    tl = time.perf_counter()
    ids = np.concatenate(ids_parts)
    sig = np.concatenate(sig_parts)
    del sig_parts
    bands, rows = lsh_params(threshold)
    parent = np.arange(len(ids))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    coef = np.random.RandomState(7).randint(1, 2**62, size=rows, dtype=np.int64).astype(np.uint64) | np.uint64(1)
    for band in range(bands):
        block = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        key = (block * coef[None, :]).sum(axis=1)  # wraps mod 2^64: a hash of the band
        order = np.argsort(key, kind="stable")
        ks = key[order]
        same = np.flatnonzero(ks[1:] == ks[:-1]) + 1  # positions whose key equals the previous one
        if len(same) == 0:
            continue
        # each member of a bucket is compared with the bucket's first member (rows are id-ordered)
        heads = np.maximum.accumulate(np.where(np.concatenate(([True], ks[1:] != ks[:-1])), np.arange(len(ks)), 0))
        a, b = order[heads[same]], order[same]
        sims = (sig[a] == sig[b]).sum(axis=1) / NUM_PERM
        for x, y, sim in zip(a.tolist(), b.tolist(), sims.tolist(), strict=True):
            if sim < threshold:
                continue
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
    res.seconds_lsh = time.perf_counter() - tl
    res.seconds = time.perf_counter() - t0
    return res


def _stream_texts(engine: Engine, dataset_ids: list[int], batch: int) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Keyset batches of (sample id, Korean text of all turns), dataset by dataset (index order)."""
    for ds in dataset_ids:
        last = 0
        while True:
            with read_session(engine) as s:
                ids = list(s.scalars(select(Sample.id).where(Sample.dataset_id == ds, Sample.id > last)
                                     .order_by(Sample.id).limit(batch)))
                if not ids:
                    break
                wanted = set(ids)
                texts: dict[int, list[str]] = {}
                for sid, text in s.execute(select(Turn.sample_id, Turn.text)
                                           .where(Turn.sample_id.between(ids[0], ids[-1]))
                                           .order_by(Turn.sample_id, Turn.idx)):
                    if sid in wanted:
                        texts.setdefault(sid, []).append(text or "")
            last = ids[-1]
            yield last, [(i, "\n".join(texts.get(i, []))) for i in ids]


def dedup_datasets(engine: Engine, dataset_ids: list[int], *, threshold: float = THRESHOLD, batch: int = BATCH,
                   progress: Callable[[int], None] | None = None) -> DedupResult:
    """Group near-duplicates across ``dataset_ids``; store dup_group/dup_keep and findings. Replaces earlier runs."""

    def stream() -> Iterator[tuple[int, list[tuple[int, str]]]]:
        n = 0
        for item in _stream_texts(engine, dataset_ids, batch):
            n += len(item[1])
            yield item
            if progress:
                progress(n)

    res = find_groups(stream(), threshold=threshold)
    t = time.perf_counter()
    with Session(engine) as s, s.begin():
        conn = s.connection()
        conn.execute(update(Sample).where(Sample.dataset_id.in_(dataset_ids), Sample.dup_group.is_not(None))
                     .values(dup_group=None, dup_keep=True).execution_options(synchronize_session=False))
        conn.execute(delete(CheckFinding).where(CheckFinding.dataset_id.in_(dataset_ids),
                                                CheckFinding.check == NearDuplicate.name, CheckFinding.state == "open"))
        rows = [{"sid": sid, "g": g, "k": sid == g} for sid, g in res.group_of.items()]
        for i in range(0, len(rows), 10_000):
            conn.execute(update(Sample).where(Sample.id == bindparam("sid"))
                         .values(dup_group=bindparam("g"), dup_keep=bindparam("k"))
                         .execution_options(synchronize_session=False), rows[i:i + 10_000])
        dup_ids = sorted(sid for sid, g in res.group_of.items() if sid != g)
        ds_of: dict[int, int] = {}
        for i in range(0, len(dup_ids), 5_000):
            chunk = dup_ids[i:i + 5_000]
            ds_of.update(conn.execute(select(Sample.id, Sample.dataset_id).where(Sample.id.in_(chunk))).all())
        now = utcnow()
        findings = [{"sample_id": sid, "dataset_id": ds_of[sid], "check": NearDuplicate.name, "severity": "warning",
                     "turn_idx": None, "span_start": None, "span_end": None,
                     "message": f"near-duplicate of sample {res.group_of[sid]} (similarity "
                                f"{res.similarity.get(sid, threshold):.2f}); that one is kept",
                     "data": {"group": res.group_of[sid], "similarity": round(res.similarity.get(sid, 0.0), 3)},
                     "state": "open", "created_at": now} for sid in dup_ids]
        for i in range(0, len(findings), 10_000):
            conn.execute(insert(CheckFinding), findings[i:i + 10_000])
    res.seconds += time.perf_counter() - t
    return res


@register
class NearDuplicate(Check):
    """Registered so it is listed and selectable; it runs over whole datasets (``dedup_datasets``)."""

    name = "near_duplicate"
    description = "Near-duplicate samples within and across datasets (MinHash/LSH over Korean character shingles)"
    severity = "warning"
    family = "dedup"
    flag = None
    cheap = False
    corpus = True  # runs over datasets, not sample by sample

    def run(self, sample: SampleView) -> list[Finding]:
        return []
