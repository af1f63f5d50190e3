"""The streaming export, in three passes over compact data:

1. candidates: keyset pages over the samples index into numpy arrays (id, priority, duplicate group:
   ~30 bytes a sample), exclusions subtracted, near-duplicates resolved, quotas planned;
2. conversion: the chosen samples are read in id order (range scans when dense, one chunk of
   text in memory, the next chunks read ahead by a thread), mapped to a chat, encoded by the
   format, and spilled to shuffle buckets by priority; refused samples are replaced by the
   dataset's next candidates;
3. output: each bucket (a few MB) is sorted by priority and appended to the split files, so the
   files are in a seeded global shuffle while the database was read sequentially.

The database is read in one snapshot (a read transaction, no write lock). The folder is built beside
the target (``.NAME.partial-…``) and renamed into place at the end: a failed or cancelled export
leaves nothing half-written where a trainer would look.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .. import __version__, db
from ..errors import KocurateError
from . import selection as sel
from .base import REFUSALS, REPAIRS, Refused, SplitWriter, dumps_line, to_chat
from .manifest import CARD, MANIFEST, card, file_entries, licence_warnings
from .registry import get_format

CHUNK = 1_000
PREFETCH = 3  # chunks read ahead
Fetched = tuple[dict[int, tuple[str, str]], dict[int, list[tuple[str, str]]], dict[int, set[str]]]
Progress = Callable[[int, int], None]



def fetch_chunk(conn: Any, ids: list[int]) -> Fetched:
    """Samples (key, status), turns in order and standing flags of up to CHUNK ids: three indexed
    lookups on the raw DBAPI cursor (the ids are integers from our own arrays, inlined; no SQL
    compilation per chunk)."""
    ordered = sorted(int(i) for i in ids)
    lo, hi = ordered[0], ordered[-1]
    if hi - lo + 1 <= 2 * len(ordered):
        # dense (a full or large export): one index range scan; the few rows not asked for are dropped
        where, wanted = f"BETWEEN {lo} AND {hi}", set(ordered)
    else:
        where, wanted = f"IN ({','.join(map(str, ordered))})", None
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(f"SELECT id, key, status FROM samples WHERE id {where}")
        info = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        cur.execute(f"SELECT sample_id, role, text FROM turns WHERE sample_id {where} ORDER BY sample_id, idx")
        turns: dict[int, list[tuple[str, str]]] = {}
        for sid, role, text in cur.fetchall():
            t = turns.get(sid)
            if t is None:
                turns[sid] = [(role, text)]
            else:
                t.append((role, text))
        cur.execute(f"SELECT sample_id, category FROM flags WHERE sample_id {where} AND state <> 'cleared'")
        flags: dict[int, set[str]] = {}
        for sid, cat in cur.fetchall():
            flags.setdefault(sid, set()).add(cat)
    finally:
        cur.close()
    if wanted is not None and len(info) > len(wanted):
        info = {k: v for k, v in info.items() if k in wanted}
    return info, turns, flags


def check_target(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over anything but an empty folder or (with ``overwrite``) an earlier export."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise KocurateError(f"{out_dir} exists and is not a folder")
    if not any(out_dir.iterdir()):
        return
    if not (out_dir / MANIFEST).is_file():
        raise KocurateError(f"{out_dir} is not empty and holds no kocurate export; choose an empty folder")
    if not overwrite:
        raise KocurateError(f"{out_dir} holds an earlier export; replace it with --overwrite")


def run_export(engine: Engine, spec: sel.ExportSpec, out_dir: str | Path, *, progress: Progress | None = None,
               overwrite: bool = False, actor: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Export the selection to ``out_dir``; returns the manifest (also written as manifest.json)."""
    spec.validate()
    out_dir = Path(out_dir).resolve()
    check_target(out_dir, overwrite)
    fmt = get_format(spec.format, {"meta": spec.meta, "history": spec.alpaca_history})
    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    (tmp / "data").mkdir(parents=True)
    try:
        with _snapshot(engine) as conn:
            session = Session(bind=conn)
            datasets = sel.resolve_datasets(session, spec)
            cands = sel.collect_candidates(conn, spec, datasets)
            pool = cands.pool
            planned = sel.plan(spec, datasets, cands.available())
            state = _Writing(spec, fmt, tmp, datasets, planned)
            quotas = {d: p["quota"] for d, p in planned.items()}
            order_ids, order_ds, order_p, nxt = sel.first_candidates(cands, quotas)
            total = len(order_ids)
            state.buckets = _Buckets(tmp / ".shuffle", total)
            done = 0
            if progress:
                progress(0, total)
            # closing(): on any error the reader thread is stopped before the snapshot ends
            with closing(_prefetched(conn, _chunks(order_ids, order_ds, order_p))) as chunks:
                for ids, dss, prios, fetched in chunks:
                    state.process(conn, ids, dss, prios, fetched)
                    done += len(ids)
                    if progress:
                        progress(done, total)
            # refused samples are replaced by each dataset's next candidates, until quotas hold
            while True:
                parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
                for d, p in planned.items():
                    need = p["quota"] - state.accepted[d]
                    start = nxt[d]
                    if need > 0 and start < len(cands.ids[d]):
                        take = slice(start, start + need)
                        nxt[d] = start + len(cands.ids[d][take])
                        parts[0].append(cands.ids[d][take])
                        parts[1].append(np.full(len(cands.ids[d][take]), d, dtype=np.int64))
                        parts[2].append(cands.priorities[d][take])
                if not parts[0]:
                    break
                for ids, dss, prios in _chunks(*sel.reading_order(*parts)):
                    state.process(conn, ids, dss, prios)
            session.close()
        state.write_shuffled()
        splits = state.close()
        splits = fmt.finish(tmp, splits)
        manifest = state.manifest(pool, cands, planned, datasets, actor, name, time.perf_counter() - started)
        (tmp / CARD).write_text(card(manifest, fmt.features(spec.meta), fmt.builder), encoding="utf-8")
        manifest["files"] = file_entries(tmp, splits, state.rows)
        (tmp / CARD).write_text(card(manifest, fmt.features(spec.meta), fmt.builder), encoding="utf-8")
        manifest["files"] = file_entries(tmp, splits, state.rows)  # the card's own hash, final
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if out_dir.exists():
            check_target(out_dir, overwrite)
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["out_dir"] = str(out_dir)
    return manifest


class _snapshot:  # noqa: N801 — a context manager used like a function
    """A read-only transaction: one consistent snapshot, no write lock (SQLite: plain BEGIN)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self):  # type: ignore[no-untyped-def]
        conn = self.engine.connect()
        if db.is_sqlite(self.engine):
            conn.info["write"] = False  # the engine's begin hook then issues a deferred BEGIN
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        self.conn = conn
        conn.begin()
        return conn

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.info.pop("write", None)
            self.conn.close()


def _prefetched(conn: Any, chunks: Iterator[tuple[list[int], list[int], list[int]]]
                ) -> Iterator[tuple[list[int], list[int], list[int], Fetched]]:
    """Read the next chunks in a thread while this one is converted and written: the database (a
    PostgreSQL server process, or SQLite with the GIL released while it steps) works on one core
    while Python encodes on the other. Only the reader thread touches the connection meanwhile."""
    q: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()
    end = object()

    def read() -> None:
        try:
            for ids, dss, prios in chunks:
                if stop.is_set():
                    return
                q.put((ids, dss, prios, fetch_chunk(conn, ids)))
            q.put(end)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    reader = threading.Thread(target=read, name="kocurate-export-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = q.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()


def _chunks(ids: np.ndarray, dss: np.ndarray, prios: np.ndarray) -> Iterator[tuple[list[int], list[int], list[int]]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK].tolist(), dss[i:i + CHUNK].tolist(), prios[i:i + CHUNK].tolist()


class _Buckets:
    """An external shuffle: records go to one of K spill files by the top bits of their priority
    (uniform hashes, so buckets are even); each bucket is then read back, sorted by (priority, id) and
    written out. The output is in global priority order, while the database was read in id order
    and memory holds one bucket (~a few MB) at a time."""

    HEAD = struct.Struct("<QqqI")  # priority, sample id, dataset id, payload length

    def __init__(self, folder: Path, rows: int) -> None:
        k = 1
        while k < rows / 4_000 and k < 256:
            k *= 2
        self.folder, self.k, self.shift = folder, k, 64 - (k.bit_length() - 1)
        folder.mkdir(parents=True, exist_ok=True)
        self.files: dict[int, Any] = {}

    def add(self, prio: int, sid: int, d: int, payload: bytes) -> None:
        b = prio >> self.shift
        fh = self.files.get(b)
        if fh is None:
            fh = self.files[b] = open(self.folder / f"{b:04d}.bin", "wb", buffering=1 << 16)  # noqa: SIM115
        fh.write(self.HEAD.pack(prio, sid, d, len(payload)))
        fh.write(payload)

    def drain(self) -> Iterator[tuple[int, int, int, bytes]]:
        for fh in self.files.values():
            fh.close()
        head = self.HEAD
        for b in sorted(self.files):
            path = self.folder / f"{b:04d}.bin"
            data = path.read_bytes()
            path.unlink()
            entries = []
            pos = 0
            while pos < len(data):
                prio, sid, d, n = head.unpack_from(data, pos)
                pos += head.size
                entries.append((prio, sid, d, data[pos:pos + n]))
                pos += n
            del data
            entries.sort(key=lambda e: (e[0], e[1]))
            yield from entries
        self.files.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Writing:
    """Per-export writing state: writers, quotas, counters."""

    def __init__(self, spec: sel.ExportSpec, fmt: Any, tmp: Path, datasets: list[sel.DatasetInfo],
                 planned: dict[int, dict[str, Any]]) -> None:
        self.spec, self.fmt, self.tmp, self.planned = spec, fmt, tmp, planned
        self.names = {d.id: d.name for d in datasets}
        self.accepted = {d.id: 0 for d in datasets}
        self.val_taken = {d.id: 0 for d in datasets}
        self.per_split = {d.id: Counter() for d in datasets}
        self.writers: dict[str, SplitWriter] = {}
        self.paths: dict[str, Path] = {}
        self.by_status: Counter[str] = Counter()
        self.by_flag: Counter[str] = Counter()
        self.refused: Counter[str] = Counter({r: 0 for r in REFUSALS})
        self.refused_by_dataset: dict[int, Counter[str]] = {d.id: Counter() for d in datasets}
        self.repairs: Counter[str] = Counter({r: 0 for r in REPAIRS})
        self.messages = 0
        self.rows: dict[str, int] = {}
        self.buckets: _Buckets | None = None
        self.samples_sha256 = ""
        self._writer("train")
        if spec.val_frac > 0:
            self._writer("validation")

    def _writer(self, split: str) -> SplitWriter:
        w = self.writers.get(split)
        if w is None:
            path = self.tmp / "data" / f"{split}.{self.fmt.ext}"
            w = self.writers[split] = self.fmt.writer(path)
            self.paths[split] = path
        return w

    def process(self, conn: Any, ids: list[int], dss: list[int], prios: list[int],
                fetched: Fetched | None = None) -> None:
        """Convert a chunk (read in id order); accepted records go to the shuffle buckets."""
        info, turns, flags = fetched if fetched is not None else fetch_chunk(conn, ids)
        buckets = self.buckets
        assert buckets is not None
        for sid, d, prio in zip(ids, dss, prios, strict=True):
            if self.accepted[d] >= self.planned[d]["quota"] or sid not in info:
                continue
            key, status = info[sid]
            try:
                chat = to_chat(turns.get(sid, []))
                fl = sorted(flags.get(sid, ()))
                meta = ({"dataset": self.names[d], "key": key, "sample_id": sid, "status": status, "flags": fl}
                        if self.spec.meta else None)
                payload = dumps_line(self.fmt.convert(chat, meta))
            except Refused as exc:
                self.refused[exc.reason] += 1
                self.refused_by_dataset[d][exc.reason] += 1
                continue
            buckets.add(prio, sid, d, payload)
            self.accepted[d] += 1
            self.by_status[status] += 1
            if fl:  # Counter.update is slow even on an empty list (700k calls)
                self.by_flag.update(fl)
            if chat.repairs:
                self.repairs.update(chat.repairs)
            self.messages += len(chat.exchanges) * 2 + (1 if chat.system else 0)

    def write_shuffled(self) -> None:
        """Write the accepted records in global priority order; each dataset's first ``val`` go to
        validation (a seeded, stratified split)."""
        assert self.buckets is not None
        ids_hash = hashlib.sha256()
        for _prio, sid, d, payload in self.buckets.drain():
            ids_hash.update(b"%d\n" % sid)
            split = "validation" if self.val_taken[d] < self.planned[d]["val"] else "train"
            if split == "validation":
                self.val_taken[d] += 1
            self._writer(split).write_payload(payload)
            self.per_split[d][split] += 1
        self.samples_sha256 = ids_hash.hexdigest()

    def close(self) -> dict[str, Path]:
        out = {}
        for split, w in self.writers.items():
            w.close()
            self.rows[split] = w.rows
            if w.rows == 0 and split != "train":
                w.path.unlink()
                continue
            out[split] = w.path
        return out

    def manifest(self, pool: dict[int, dict[str, int]], cands: sel.Candidates, planned: dict[int, dict[str, Any]],
                 datasets: list[sel.DatasetInfo], actor: str | None, name: str | None,
                 seconds: float) -> dict[str, Any]:
        spec = self.spec
        splits = {s: n for s, n in self.rows.items() if n or s == "train"}
        by_dataset: dict[str, Any] = {}
        warnings: list[str] = []
        for d in datasets:
            p, got = planned[d.id], self.accepted[d.id]
            entry = {"total": got, **{s: self.per_split[d.id][s] for s in splits}, "quota": p["quota"],
                     "requested": p["requested"], "available": p["available"], "pool": pool[d.id]["pool"],
                     "duplicates_dropped": cands.duplicates_dropped.get(d.id, 0),
                     "refused": dict(self.refused_by_dataset[d.id])}
            if got < p["quota"]:
                entry["shortfall"] = p["quota"] - got
                refused = sum(self.refused_by_dataset[d.id].values())
                warnings.append(f"{d.name}: {got:,} samples exported of the {p['quota']:,} planned "
                                f"({p['available']:,} eligible, {refused:,} refused by the format)")
            by_dataset[d.name] = entry
        excluded = {"duplicates": sum(cands.duplicates_dropped.values())}
        for k in ("ethics_flagged", "flagged", "contaminated", "check_findings"):
            excluded[k] = sum(v.get(k, 0) for v in pool.values())
        contributing = {d.name: d.licence for d in datasets if self.accepted[d.id] > 0}
        warnings = licence_warnings(contributing) + sel.mix_warnings(spec, datasets, planned) + warnings
        if spec.total is not None and sum(self.accepted.values()) != spec.total:
            warnings.append(f"exported {sum(self.accepted.values()):,} samples for a target of {spec.total:,}")
        return {
            "kocurate_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "created_by": actor,
            "name": name,
            "format": spec.format,
            "seconds": round(seconds, 2),
            "selection": {
                "spec": spec.to_dict(),
                "datasets": [{"id": d.id, "name": d.name, "kind": d.kind, "licence": d.licence,
                              "fingerprint": d.fingerprint, "has_english": d.has_english} for d in datasets],
                "contamination_check_prefix": sel.CONTAMINATION_PREFIX,
                # sha256 of the exported sample ids, one per line, in file order: the same value means
                # the very same samples in the same order
                "samples_sha256": self.samples_sha256,
                "order": "seeded shuffle (priority = splitmix64(position ^ hash(seed, dataset fingerprint)))",
            },
            "seed": spec.seed,
            "counts": {"total": sum(self.accepted.values()), "messages": self.messages, "splits": splits,
                       "by_dataset": by_dataset, "by_status": dict(sorted(self.by_status.items())),
                       "by_flag": dict(sorted(self.by_flag.items()))},
            "excluded": excluded,
            "refused": dict(self.refused),
            "repairs": dict(self.repairs),
            "rules": {"refusals": REFUSALS, "repairs": REPAIRS},
            "licences": contributing,
            "warnings": warnings,
            "files": [],
        }
