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
from ..errors import Conflict, KocurateError, UsageError
from ..i18n import N_, Text
from . import selection as sel
from .base import REFUSALS, REPAIRS, Refused, SplitWriter, dumps_line, to_chat
from .manifest import CARD, MANIFEST, card, file_entries, licence_warnings
from .registry import get_format

CHUNK = 1_000
PREFETCH = 3  # chunks read ahead
Fetched = tuple[dict[int, tuple[str, str]], dict[int, list[Any]], dict[int, set[str]]]
Progress = Callable[[int, int], None]


def fetch_chunk(conn: Any, ids: list[int], sources: bool = False) -> Fetched:
    """Samples (key, status), turns in order ((role, text) or, with ``sources``, (role, text,
    English)) and standing flags of up to CHUNK ids: three indexed lookups on the raw DBAPI cursor
    (the ids are integers from our own arrays, inlined; no SQL compilation per chunk)."""
    ordered = sorted(int(i) for i in ids)
    lo, hi = ordered[0], ordered[-1]
    if hi - lo + 1 <= 2 * len(ordered):
        # dense (a full or large export): one index range scan; the few rows not asked for are
        # dropped
        where, wanted = f"BETWEEN {lo} AND {hi}", set(ordered)
    else:
        where, wanted = f"IN ({','.join(map(str, ordered))})", None
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(f"SELECT id, key, status FROM samples WHERE id {where}")
        info = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        src = ", source_text" if sources else ""
        cur.execute(
            f"SELECT sample_id, role, text{src} FROM turns WHERE sample_id {where} ORDER BY"
            " sample_id, idx"
        )
        turns: dict[int, list[Any]] = {}
        for row in cur.fetchall():
            sid, turn = row[0], tuple(row[1:])
            t = turns.get(sid)
            if t is None:
                turns[sid] = [turn]
            else:
                t.append(turn)
        cur.execute(
            f"SELECT sample_id, category FROM flags WHERE sample_id {where} AND state <> 'cleared'"
        )
        flags: dict[int, set[str]] = {}
        for sid, cat in cur.fetchall():
            flags.setdefault(sid, set()).add(cat)
    finally:
        cur.close()
    if wanted is not None and len(info) > len(wanted):
        info = {k: v for k, v in info.items() if k in wanted}
    return info, turns, flags


def check_target(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over anything but an empty folder or (with ``overwrite``) an earlier
    export."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise UsageError(msgid=N_("{out_dir} exists and is not a folder"), out_dir=out_dir)
    if not any(out_dir.iterdir()):
        return
    if not (out_dir / MANIFEST).is_file():
        raise Conflict(
            msgid=N_("{out_dir} is not empty and holds no kocurate export; choose an empty folder"),
            out_dir=out_dir,
        )
    if not overwrite:
        raise Conflict(
            msgid=N_("{out_dir} holds an earlier export; replace it with --overwrite"),
            out_dir=out_dir,
        )


def run_export(
    engine: Engine,
    spec: sel.ExportSpec,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    overwrite: bool = False,
    actor: str | None = None,
    name: str | None = None,
    qa: dict[str, Any] | None = None,
    card_lang: str = "en",
) -> dict[str, Any]:
    """Export the selection to ``out_dir``; returns the manifest (also written as manifest.json).

    ``qa``: the latest QA estimate of the selection (services.qa), stated in the manifest and the
    card. ``card_lang``: the language of the card's headings and fixed texts (``en``, ``ko``)."""
    spec.validate()
    out_dir = Path(out_dir).resolve()
    check_target(out_dir, overwrite)
    fmt = get_format(spec.format, {"meta": spec.meta, "history": spec.alpaca_history})
    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    (tmp / "data").mkdir(parents=True)
    try:
        with db.read_only(engine) as conn:
            session = Session(bind=conn)
            datasets = sel.resolve_datasets(session, spec)
            cands, kind_refused = candidates_for(conn, spec, datasets, fmt)
            pool = cands.pool
            planned = sel.plan(spec, datasets, cands.available())
            state = _Writing(spec, fmt, tmp, datasets, planned)
            if (
                spec.meta
            ):  # quality ratings for the provenance (read before the reader thread starts)
                state.ratings = _ratings(conn, datasets)
            for d, (reason, n) in kind_refused.items():
                state.refused[reason] += n
                state.refused_by_dataset[d][reason] += n
            quotas = {d: p["quota"] for d, p in planned.items()}
            order_ids, order_ds, order_p, nxt = sel.first_candidates(cands, quotas)
            total = len(order_ids)
            state.buckets = _Buckets(tmp / ".shuffle", total)
            done = 0
            if progress:
                progress(0, total)
            # closing(): on any error the reader thread is stopped before the snapshot ends
            with closing(
                _prefetched(conn, _chunks(order_ids, order_ds, order_p), fmt.raw_turns)
            ) as chunks:
                for ids, dss, prios, fetched in chunks:
                    state.process(conn, ids, dss, prios, fetched)
                    done += len(ids)
                    if progress:
                        progress(done, total)
            exhausted: set[int] = set()
            while True:
                # refused samples are replaced by each dataset's next candidates, until quotas hold
                _refill(conn, state, planned, cands, nxt)
                if not spec.fill:
                    break
                # --fill: what a dataset could not give goes to the others (in proportion to their
                # quotas)
                short = {
                    d: p["quota"] - state.accepted[d]
                    for d, p in planned.items()
                    if state.accepted[d] < p["quota"]
                }
                if not short:
                    break
                for d in short:
                    planned[d]["quota"] = state.accepted[d]
                exhausted |= set(short)
                open_ = {
                    d: float(p["quota"])
                    for d, p in planned.items()
                    if d not in exhausted and nxt[d] < len(cands.ids[d])
                }
                if not open_:
                    break
                for d, extra in sel.largest_remainder(sum(short.values()), open_).items():
                    planned[d]["quota"] += extra
                    planned[d]["filled"] = planned[d].get("filled", 0) + extra
            session.close()
        if sum(state.accepted.values()) == 0:
            raise KocurateError(
                empty_reason(spec, datasets, pool, kind_refused, dict(state.refused), fmt.name)
            )
        sel.set_validation(spec, planned, state.accepted)
        state.write_shuffled()
        splits = state.close()
        splits = fmt.finish(tmp, splits)
        manifest = state.manifest(
            pool, cands, planned, datasets, actor, name, time.perf_counter() - started
        )
        manifest["qa"] = qa
        manifest["card_lang"] = card_lang
        (tmp / CARD).write_text(
            card(manifest, fmt.features(spec.meta), fmt.builder, card_lang), encoding="utf-8"
        )
        manifest["files"] = file_entries(tmp, splits, state.rows)
        (tmp / CARD).write_text(
            card(manifest, fmt.features(spec.meta), fmt.builder, card_lang), encoding="utf-8"
        )
        manifest["files"] = file_entries(tmp, splits, state.rows)  # the card's own hash, final
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if out_dir.exists():
            check_target(out_dir, overwrite)
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["out_dir"] = str(out_dir)
    return manifest


def _ratings(conn: Any, datasets: list[sel.DatasetInfo]) -> dict[int, dict[str, Any]]:
    from ..services import ratings

    ids = [d.id for d in datasets]
    return ratings.sample_means(conn, ids) if ids and ratings.any_ratings(conn, ids) else {}


def candidates_for(
    conn: Any, spec: sel.ExportSpec, datasets: list[sel.DatasetInfo], fmt: Any
) -> tuple[sel.Candidates, dict[int, tuple[str, int]]]:
    """The candidates, minus datasets whose kind the format refuses as a whole: those are known
    before the export ({dataset: (reason, samples)}) and planned at 0."""
    cands = sel.collect_candidates(conn, spec, datasets)
    refused: dict[int, tuple[str, int]] = {}
    for d in datasets:
        reason = fmt.refuses_kind(d.kind)
        if reason and len(cands.ids[d.id]):
            refused[d.id] = (reason, len(cands.ids[d.id]))
            cands.ids[d.id] = cands.ids[d.id][:0]
            cands.priorities[d.id] = cands.priorities[d.id][:0]
    return cands, refused


def _refill(
    conn: Any,
    state: _Writing,
    planned: dict[int, dict[str, Any]],
    cands: sel.Candidates,
    nxt: dict[int, int],
) -> None:
    """Read each dataset's next candidates (priority order) until its quota holds or none are
    left."""
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
            return
        for ids, dss, prios in _chunks(*sel.reading_order(*parts)):
            state.process(conn, ids, dss, prios)


def convertible(
    conn: Any, fmt: Any, cands: sel.Candidates
) -> tuple[dict[int, np.ndarray], dict[int, Counter[str]]]:
    """Per dataset, in priority order: whether the format takes each candidate (a dry run of the
    conversion, nothing written), and the refusals by reason."""
    flags: dict[int, np.ndarray] = {}
    by_dataset: dict[int, Counter[str]] = {}
    for d, arr in cands.ids.items():
        reasons = by_dataset[d] = Counter()
        ok = np.zeros(len(arr), dtype=bool)
        pos = {int(sid): i for i, sid in enumerate(arr.tolist())}
        order = np.sort(arr)
        for i in range(0, len(order), CHUNK):
            ids = order[i : i + CHUNK].tolist()
            info, turns, _ = fetch_chunk(conn, ids, fmt.raw_turns)
            for sid in ids:
                if sid not in info:
                    continue
                try:
                    _convert(fmt, turns.get(sid, []), None)
                    ok[pos[sid]] = True
                except Refused as exc:
                    reasons[exc.reason] += 1
        flags[d] = ok
    return flags, by_dataset


def _convert(fmt: Any, turns: list[Any], meta: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    """(record, chat or None) for one sample's turns; raises ``Refused``."""
    if fmt.raw_turns:
        return fmt.convert_turns(turns, meta), None
    chat = to_chat(turns)
    return fmt.convert(chat, meta), chat


def simulate(
    spec: sel.ExportSpec, planned: dict[int, dict[str, Any]], ok: dict[int, np.ndarray]
) -> dict[int, int]:
    """What ``run_export`` will write per dataset, given which candidates the format takes: the same
    refills and --fill top-ups, computed on the flags (the preview's exact planned numbers)."""
    cum = {d: np.cumsum(a) for d, a in ok.items()}
    cap = {d: int(c[-1]) if len(c) else 0 for d, c in cum.items()}
    quota = {d: p["quota"] for d, p in planned.items()}

    def consumed(d: int, q: int) -> int:  # candidates read to reach q accepted (all when short)
        if q <= 0:
            return 0
        if q > cap[d]:
            return len(ok[d])
        return int(np.searchsorted(cum[d], q)) + 1

    got = {d: min(q, cap[d]) for d, q in quota.items()}
    exhausted: set[int] = set()
    while spec.fill:
        short = {d: quota[d] - got[d] for d in quota if got[d] < quota[d]}
        if not short:
            break
        for d in short:
            quota[d] = got[d]
        exhausted |= set(short)
        open_ = {
            d: float(quota[d])
            for d in quota
            if d not in exhausted and consumed(d, quota[d]) < len(ok[d])
        }
        if not open_:
            break
        for d, extra in sel.largest_remainder(sum(short.values()), open_).items():
            quota[d] += extra
        got = {d: min(q, cap[d]) for d, q in quota.items()}
    return got


def empty_reason(
    spec: sel.ExportSpec,
    datasets: list[sel.DatasetInfo],
    pool: dict[int, dict[str, int]],
    kind_refused: dict[int, tuple[str, int]],
    refused: dict[str, int],
    fmt_name: str,
) -> str:
    """Why an export would hold no sample, in words (one reason per cause found)."""
    if not datasets:
        return "nothing to export: no dataset is selected (or none exists yet)"
    n_pool = sum(p.get("pool", 0) for p in pool.values())
    statuses = ", ".join(spec.statuses)
    if n_pool == 0:
        return (
            f"nothing to export: no sample of the chosen datasets has the status {statuses} (and"
            " passes the length/flag filters); review and approve samples first, or choose other"
            " statuses"
        )
    parts = []
    excl = {
        k: sum(p.get(k, 0) for p in pool.values())
        for k in ("ethics_flagged", "flagged", "contaminated", "check_findings", "error_findings")
    }
    words = {
        "ethics_flagged": "ethics-flagged",
        "flagged": "flagged",
        "contaminated": "contaminated",
        "check_findings": "with excluded check findings",
        "error_findings": "with open error findings",
    }
    for k, n in excl.items():
        if n:
            parts.append(f"{n:,} {words[k]}")
    for d in datasets:
        if d.id in kind_refused:
            reason, n = kind_refused[d.id]
            parts.append(
                f"{n:,} of {d.name} refused by {fmt_name}: {REFUSALS[reason]}"
                + (" (export it with --format pairs)" if reason == "no_role" else "")
            )
    for reason, n in refused.items():
        if n and not any(r == reason for r, _ in kind_refused.values()):
            parts.append(f"{n:,} refused by {fmt_name}: {REFUSALS.get(reason, reason)}")
    return f"nothing to export: of {n_pool:,} samples with status {statuses}, " + (
        "; ".join(parts) or "none is left after the filters"
    )


def _prefetched(
    conn: Any, chunks: Iterator[tuple[list[int], list[int], list[int]]], sources: bool = False
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
                q.put((ids, dss, prios, fetch_chunk(conn, ids, sources)))
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


def _chunks(
    ids: np.ndarray, dss: np.ndarray, prios: np.ndarray
) -> Iterator[tuple[list[int], list[int], list[int]]]:
    for i in range(0, len(ids), CHUNK):
        yield (
            ids[i : i + CHUNK].tolist(),
            dss[i : i + CHUNK].tolist(),
            prios[i : i + CHUNK].tolist(),
        )


class _Buckets:
    """An external shuffle: records go to one of K spill files by the top bits of their priority
    (uniform hashes, so buckets are even); each bucket is then read back, sorted by (priority, id)
    and written out. The output is in global priority order, while the database was read in id order
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
                entries.append((prio, sid, d, data[pos : pos + n]))
                pos += n
            del data
            entries.sort(key=lambda e: (e[0], e[1]))
            yield from entries
        self.files.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Writing:
    """Per-export writing state: writers, quotas, counters."""

    def __init__(
        self,
        spec: sel.ExportSpec,
        fmt: Any,
        tmp: Path,
        datasets: list[sel.DatasetInfo],
        planned: dict[int, dict[str, Any]],
    ) -> None:
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
        self.ratings: dict[int, dict[str, Any]] = {}
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

    def process(
        self,
        conn: Any,
        ids: list[int],
        dss: list[int],
        prios: list[int],
        fetched: Fetched | None = None,
    ) -> None:
        """Convert a chunk (read in id order); accepted records go to the shuffle buckets."""
        info, turns, flags = (
            fetched if fetched is not None else fetch_chunk(conn, ids, self.fmt.raw_turns)
        )
        buckets = self.buckets
        assert buckets is not None
        for sid, d, prio in zip(ids, dss, prios, strict=True):
            if self.accepted[d] >= self.planned[d]["quota"] or sid not in info:
                continue
            key, status = info[sid]
            try:
                fl = sorted(flags.get(sid, ()))
                meta = (
                    {
                        "dataset": self.names[d],
                        "key": key,
                        "sample_id": sid,
                        "status": status,
                        "flags": fl,
                    }
                    if self.spec.meta
                    else None
                )
                if meta is not None and sid in self.ratings:
                    meta["ratings"] = self.ratings[sid]  # mean per criterion, n_raters
                rec, chat = _convert(self.fmt, turns.get(sid, []), meta)
                payload = dumps_line(rec)
            except Refused as exc:
                self.refused[exc.reason] += 1
                self.refused_by_dataset[d][exc.reason] += 1
                continue
            buckets.add(prio, sid, d, payload)
            self.accepted[d] += 1
            self.by_status[status] += 1
            if fl:  # Counter.update is slow even on an empty list (700k calls)
                self.by_flag.update(fl)
            if chat is None:
                self.messages += 2
                continue
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

    def manifest(
        self,
        pool: dict[int, dict[str, int]],
        cands: sel.Candidates,
        planned: dict[int, dict[str, Any]],
        datasets: list[sel.DatasetInfo],
        actor: str | None,
        name: str | None,
        seconds: float,
    ) -> dict[str, Any]:
        spec = self.spec
        splits = {s: n for s, n in self.rows.items() if n or s == "train"}
        by_dataset: dict[str, Any] = {}
        warnings: list[str] = []
        for d in datasets:
            p, got = planned[d.id], self.accepted[d.id]
            entry = {
                "total": got,
                **{s: self.per_split[d.id][s] for s in splits},
                "quota": p["quota"],
                "requested": p["requested"],
                "available": p["available"],
                "pool": pool[d.id]["pool"],
                "duplicates_dropped": cands.duplicates_dropped.get(d.id, 0),
                "refused": dict(self.refused_by_dataset[d.id]),
            }
            if got < p["quota"]:
                entry["shortfall"] = p["quota"] - got
                refused = sum(self.refused_by_dataset[d.id].values())
                warnings.append(
                    Text(
                        N_(
                            "{name}: {got:,} samples exported of the {planned:,} planned "
                            "({eligible:,} eligible, {refused:,} refused by the format)"
                        ),
                        name=d.name,
                        got=got,
                        planned=p["quota"],
                        eligible=p["available"],
                        refused=refused,
                    )
                )
            by_dataset[d.name] = entry
        excluded = {"duplicates": sum(cands.duplicates_dropped.values())}
        for k in ("ethics_flagged", "flagged", "contaminated", "check_findings", "error_findings"):
            excluded[k] = sum(v.get(k, 0) for v in pool.values())
        contributing = {d.name: d.licence for d in datasets if self.accepted[d.id] > 0}
        warnings = (
            licence_warnings(contributing) + sel.mix_warnings(spec, datasets, planned) + warnings
        )
        if spec.total is not None and sum(self.accepted.values()) != spec.total:
            warnings.append(
                Text(
                    N_("exported {n:,} samples for a target of {total:,}"),
                    n=sum(self.accepted.values()),
                    total=spec.total,
                )
            )
        return {
            "kocurate_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "created_by": actor,
            "name": name,
            "format": spec.format,
            "seconds": round(seconds, 2),
            "selection": {
                "spec": spec.to_dict(),
                "datasets": [
                    {
                        "id": d.id,
                        "name": d.name,
                        "kind": d.kind,
                        "licence": d.licence,
                        "fingerprint": d.fingerprint,
                        "has_english": d.has_english,
                    }
                    for d in datasets
                ],
                "contamination_check_prefix": sel.CONTAMINATION_PREFIX,
                # sha256 of the exported sample ids, one per line, in file order: the same value
                # means the very same samples in the same order
                "samples_sha256": self.samples_sha256,
                "order": (
                    "seeded shuffle (priority = splitmix64(position ^ hash(seed, dataset"
                    " fingerprint)))"
                ),
            },
            "seed": spec.seed,
            "counts": {
                "total": sum(self.accepted.values()),
                "messages": self.messages,
                "splits": splits,
                "by_dataset": by_dataset,
                "by_status": dict(sorted(self.by_status.items())),
                "by_flag": dict(sorted(self.by_flag.items())),
            },
            "excluded": excluded,
            "refused": dict(self.refused),
            "repairs": dict(self.repairs),
            "rules": {"refusals": REFUSALS, "repairs": REPAIRS},
            "licences": contributing,
            "warnings": warnings,
            "files": [],
        }
