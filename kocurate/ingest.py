"""Ingest: read a Korean file (and its English source), align, and write samples in one transaction.

Atomic (a failure leaves no rows), idempotent (the same files twice → "already imported"),
streamed (the Korean side is never held whole; for an id join the English side goes to a private
SQLite file indexed by id, with each text's numbers for the aligner, and is read a batch of keys at
a time, in file order where the two files share it, so memory stays flat however large the files;
a large English file is read there by a child process while this one reads the Korean file;
position alignment holds the cues of both sides), and written with bulk inserts (plain-tuple
executemany; on SQLite a private spool file copied in with INSERT … SELECT, so the single write lock
is held for seconds, not for the whole parse, with a page cache large enough for the indexes that
take rows in key order rather than id order, the new turns put in the search index by one statement
in the same transaction, and the WAL copied into the database file by a thread after the commit).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import json
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from . import align as aligner
from . import config, db
from .errors import AlreadyImported, Conflict, ImportFailed, UsageError, where_part
from .i18n import N_, SOURCE_LANGUAGE, Text, part, translator
from .importers import Importer, NormSample, get_importer, kinds_for_file
from .models import Dataset, Sample, Turn, utcnow
from .services.search import FTS_COLUMNS

if TYPE_CHECKING:
    from .checks.early import EarlyChecks

BATCH = 5_000  # samples per executemany
JOIN_BATCH = 2_000  # Korean samples whose English records are looked up in one query
# page cache for the copy into the database (KiB): the (dataset_id, key) unique index takes keys in
# file order, i.e. at random; with SQLite's default 2 MB its pages were re-read from disk at every
# insert once it outgrew the cache (the write transaction: 0.7 s at 50k, 23 s at 700k samples)
COPY_CACHE_KIB = 256 * 1024


@dataclass
class ImportReport:
    dataset_id: int = 0
    name: str = ""
    kind: str = ""
    samples: int = 0
    turns: int = 0
    aligned: int = 0
    ambiguous: int = 0
    unaligned: int = 0
    no_source: int = 0
    first_unsure: str | None = (
        None  # place of the first ambiguous or unaligned record (the import's warning)
    )
    first_unsure_at: tuple[str, str] | None = None  # the same as (place, key), for other languages
    # how the English was paired (position, id, inline, none) and how many English records the
    # source file held: the import's warning says what an unsure alignment may mean
    align_by: str = "none"
    source_records: int | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    skipped_report: str | None = None
    write_seconds: float = (
        0.0  # time inside the write transaction (SQLite: how long the write lock was held)
    )
    write_cpu_seconds: float = (
        0.0  # CPU time of this process in it (SQLite's copy and search index included)
    )
    # what ran after the import (search index, cheap checks): step -> figures
    after: dict[str, Any] = field(default_factory=dict)
    # CPU seconds of this process per phase of the import (benchmarks/ingest.py prints them)
    phases: dict[str, float] = field(default_factory=dict)
    # SQLite: the rows' import order n became sample id id_offset + n (one contiguous range)
    id_offset: int | None = None

    def alignment_warning(self) -> Text | None:
        """What the import says when too many rows are unsure (``align.breakdown_warning``)."""
        where: Any = self.first_unsure
        if self.first_unsure_at is not None:
            place, key = self.first_unsure_at
            where = part(N_("{place} (key {key})"), place=where_part(place), key=key)
        return aligner.breakdown_warning(
            self.samples,
            self.ambiguous + self.unaligned,
            where,
            align_by=self.align_by,
            source_records=self.source_records,
        )

    def summary(self, lang: str | None = None) -> str:
        """Samples, turns, alignment and skipped records in a line: English (the CLI) unless
        ``lang`` (the web app's language)."""
        t = translator(lang or SOURCE_LANGUAGE)
        parts = [
            t(N_("{samples:,} samples, {turns:,} turns")).format(
                samples=self.samples, turns=self.turns
            )
        ]
        if self.aligned or self.ambiguous or self.unaligned:
            parts.append(
                t(
                    N_("aligned {aligned:,}, ambiguous {ambiguous:,}, unaligned {unaligned:,}")
                ).format(aligned=self.aligned, ambiguous=self.ambiguous, unaligned=self.unaligned)
            )
        if self.skipped:
            parts.append(t(N_("skipped {n:,} bad records")).format(n=len(self.skipped)))
        return "; ".join(parts)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    p = Path(path)
    if p.is_dir():  # a saved HF dataset: hash every file in a stable order
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(f.relative_to(p).as_posix().encode())
            h.update(sha256_file(f).encode())
        return h.hexdigest()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_FORMAT_SUFFIXES = (".gz", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet")


def default_name(path: str | Path) -> str:
    """The file name without its format suffixes: ``KoAlpaca_v1.1.first2.jsonl.gz`` →
    ``KoAlpaca_v1.1.first2``."""
    name = Path(path).name
    for _ in range(2):
        for suf in _FORMAT_SUFFIXES:
            if name.lower().endswith(suf) and len(name) > len(suf):
                name = name[: -len(suf)]
                break
    return name


def _file_entry(role: str, path: Path) -> dict[str, Any]:
    size = (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    return {"role": role, "name": path.name, "sha256": sha256_file(path), "bytes": size}


@dataclass(slots=True)
class _Source:
    key: str
    roles: tuple[str, ...]
    texts: tuple[str, ...]
    category: str | None = None
    # per text, its numbers as the aligner finds them, space-separated (``align.number_tokens``):
    # an id join's English store finds them as it stores the record, beside the import
    numbers: tuple[str, ...] | None = None


def _collect(
    stream: Iterator[NormSample | ImportFailed],
    skip_bad: bool,
    skipped: list[dict[str, Any]],
    side: str,
) -> Iterator[NormSample]:
    for item in stream:
        if isinstance(item, ImportFailed):
            if not skip_bad:
                raise item
            skipped.append(
                {
                    "side": side,
                    "file": item.file,
                    "where": item.where,
                    "field": item.field,
                    "reason": item.reason,
                }
            )
            continue
        yield item


F = TypeVar("F", bound=Callable[..., Any])


def _gc_paused(fn: F) -> F:
    """``fn`` runs with no cycle collection: an import makes no reference cycles, yet every full
    collection walked the whole heap of imported modules (12 % of an import's CPU at 100k
    samples). Restored (and the young generations collected once) afterwards."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()
                gc.collect(1)

    return run  # type: ignore[return-value]


@_gc_paused
def import_files(
    engine: Engine,
    kind: str,
    ko_path: str | Path,
    source_path: str | Path | None = None,
    *,
    name: str | None = None,
    licence: str | None = None,
    options: dict[str, Any] | None = None,
    skip_bad: bool = False,
    report_path: str | Path | None = None,
    user_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    actor: Any = None,
    early: EarlyChecks | None = None,
) -> ImportReport:
    """Import one dataset. Raises ImportFailed (place named) or AlreadyImported; writes nothing
    then. ``early`` (SQLite) checks the rows in worker processes while they are imported; its
    ``store`` then takes ``report.dataset_id`` and ``report.id_offset``."""
    importer = get_importer(kind, options)
    ko_path = Path(ko_path)
    src = Path(source_path) if source_path else None
    if not ko_path.exists():
        raise ImportFailed(str(ko_path), "file", None, reason_id=N_("file not found"))
    if src is not None and not src.exists():
        raise ImportFailed(str(src), "file", None, reason_id=N_("file not found"))
    if src is not None and importer.align_by in ("none", "inline"):
        raise UsageError(msgid=N_("kind {kind!r} takes no separate English source file"), kind=kind)
    files = [_file_entry("ko", ko_path)] + ([_file_entry("en", src)] if src else [])
    fingerprint = hashlib.sha256(
        json.dumps([kind, [f["sha256"] for f in files], options or {}], sort_keys=True).encode()
    ).hexdigest()
    name = name or default_name(ko_path)
    with Session(engine) as probe:
        existing = probe.scalar(select(Dataset).where(Dataset.fingerprint == fingerprint))
        if existing is not None:
            raise AlreadyImported(
                None,
                existing.id,
                msgid=N_("already imported as dataset {name!r} (id {dataset}); nothing changed"),
                name=existing.name,
                dataset=existing.id,
            )
        if probe.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
            raise Conflict(
                msgid=N_("a dataset named {name!r} exists already; choose another with --name"),
                name=name,
            )

    parallel = (
        src is not None
        and importer.align_by == "id"
        and src.stat().st_size >= PARALLEL_ENGLISH_BYTES
    )
    once = functools.partial(
        _import_once, engine, importer, kind, ko_path, src, name, licence, options, skip_bad,
        report_path, user_id, progress, actor, early, files, fingerprint,
    )  # fmt: skip
    try:
        return once(parallel)
    except _Restart:
        if early is not None:
            early.abandon()  # it saw the rows of the first try: the usual run checks them
        return once(False)


def _import_once(
    engine: Engine,
    importer: Importer,
    kind: str,
    ko_path: Path,
    src: Path | None,
    name: str,
    licence: str | None,
    options: dict[str, Any] | None,
    skip_bad: bool,
    report_path: str | Path | None,
    user_id: int | None,
    progress: Callable[[int], None] | None,
    actor: Any,
    early: EarlyChecks | None,
    files: list[dict[str, Any]],
    fingerprint: str,
    parallel: bool,
) -> ImportReport:
    """One try of ``import_files`` (``parallel``: the English side of an id join in a child)."""
    report = ImportReport(name=name, kind=kind)
    sources: list[_Source] = []
    english: _EnglishById | None = None
    try:
        if src is not None and parallel:
            english = _EnglishInChild.start(kind, options, src, skip_bad)
        elif src is not None:
            en_stream = _collect(importer.read(src, source=True), skip_bad, report.skipped, "en")
            if importer.align_by == "id":
                c0 = time.process_time()
                english = _EnglishById.fill(en_stream)
                report.phases["english side (parse, id store)"] = time.process_time() - c0
                report.source_records = english.records
            else:  # position alignment needs the cues of every record at once
                sources = [
                    _Source(
                        s.key,
                        tuple(t.role for t in s.turns),
                        tuple(t.text for t in s.turns),
                        s.meta.get("category"),
                    )
                    for s in en_stream
                ]
                report.source_records = len(sources)
        report.align_by = (
            importer.align_by if src is not None or importer.align_by == "inline" else "none"
        )
        ko_stream = _collect(importer.read(ko_path), skip_bad, report.skipped, "ko")
        if src is None:
            pairs = (
                (s, None, None, "inline" if s.sources is not None else "none") for s in ko_stream
            )
        elif isinstance(english, _EnglishInChild):
            child = english

            def english_read() -> None:
                child.finish()
                report.source_records = child.records
                report.phases["english side (parse, id store; a child process, beside)"] = child.cpu
                report.skipped[:0] = child.skipped  # the English side's first, as when read first

            pairs = _pairs_by_id(ko_stream, english, english_read)
        elif english is not None:
            pairs = _pairs_by_id(ko_stream, english)
        else:
            pairs = _pairs_by_position(ko_stream, sources, importer)
        return _import(
            engine,
            pairs,
            importer,
            report,
            files,
            fingerprint,
            name,
            kind,
            licence,
            options,
            user_id,
            progress,
            skip_bad,
            ko_path,
            report_path,
            actor,
            early,
        )
    except ImportFailed as exc:
        try:
            _hint_kinds(exc, kind, ko_path, src, options)
        except Exception:  # noqa: BLE001, S110 — a hint must never hide the refusal itself
            pass
        raise
    finally:
        if english is not None:
            english.close()


def _hint_kinds(
    exc: ImportFailed, kind: str, ko_path: Path, src: Path | None, options: dict[str, Any] | None
) -> None:
    """A file refused for its shape: say which other kinds its first record fits
    (``exc.hint``, shown under the error by the CLI and the import page)."""
    if exc.where == "file" or getattr(exc, "hint", None) is not None:
        return
    side = {ko_path.name: (ko_path, False)}
    if src is not None and src.name != ko_path.name:
        side[src.name] = (src, True)
    if exc.file not in side:
        return
    path, is_source = side[exc.file]
    kinds = kinds_for_file(path, kind, source=is_source, options=options)
    if kinds and is_source:
        exc.hint = Text(
            N_(
                "the English file's first record does not have the shape of {kind!r} (it fits"
                " {kinds}): is it the English source of this dataset?"
            ),
            kind=kind,
            kinds=", ".join(repr(k) for k in kinds),
        )
    elif kinds:
        exc.hint = Text(
            N_(
                "its first record does not have the shape of {kind!r} but fits {kinds}: is it"
                " another format? (`kocurate import --help` describes each; on the Import page,"
                " choose it under Format)"
            ),
            kind=kind,
            kinds=", ".join(repr(k) for k in kinds),
        )


def _import(
    engine: Engine,
    pairs: Iterator[Pairing],
    importer: Importer,
    report: ImportReport,
    files: list[dict[str, Any]],
    fingerprint: str,
    name: str,
    kind: str,
    licence: str | None,
    options: dict[str, Any] | None,
    user_id: int | None,
    progress: Callable[[int], None] | None,
    skip_bad: bool,
    ko_path: Path,
    report_path: str | Path | None,
    actor: Any = None,
    early: EarlyChecks | None = None,
) -> ImportReport:
    sqlite = db.is_sqlite(engine)
    now_dt = utcnow()
    # SQLite stores DateTime as text in SQLAlchemy's format; PostgreSQL takes the datetime
    now: Any = now_dt.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now_dt
    batches = _prepare(pairs, importer, report, now, progress, skip_bad)
    spool: _Spool | None = None
    if sqlite:
        # everything is read, checked and aligned into a private SQLite file first; the write
        # lock is then held only for a copy done inside SQLite (seconds), not for the parsing
        c0 = time.process_time()
        spool = (
            _Spool.fill(early.tee(batches, kind), early.committed)
            if early is not None
            else _Spool.fill(batches)
        )
        report.phases["korean side (parse, join, align, spool)"] = time.process_time() - c0
        if report.samples == 0:
            spool.close()
            raise ImportFailed(
                ko_path.name, "file", None, reason_id=N_("no valid records to import")
            )
    try:
        with engine.connect() as conn:
            if spool is not None:
                spool.attach(conn)
            try:
                t_write, c_write = time.perf_counter(), time.process_time()
                # the pages written go to the database file in a thread after the commit, not
                # inside it (700k samples: 1.2 GB, 2.3 s)
                with db.no_autocheckpoint(conn), Session(bind=conn) as session, session.begin():
                    ds = Dataset(
                        name=name,
                        kind=kind,
                        licence=licence or importer.licence_for(ko_path),
                        source_files=files,
                        fingerprint=fingerprint,
                        imported_at=now_dt,
                        imported_by=user_id,
                        meta={"options": options or {}, "title": importer.title},
                    )
                    # the same files may have come in meanwhile (the checks above ran before the
                    # parse)
                    twin = session.scalar(select(Dataset).where(Dataset.fingerprint == fingerprint))
                    if twin is not None:
                        raise AlreadyImported(
                            None,
                            twin.id,
                            msgid=N_(
                                "already imported as dataset {name!r} (id {dataset}); "
                                "nothing changed"
                            ),
                            name=twin.name,
                            dataset=twin.id,
                        )
                    session.add(ds)
                    session.flush()
                    report.dataset_id = ds.id
                    if spool is not None:
                        report.id_offset = spool.copy(session.connection(), ds.id, report.phases)
                    else:
                        _write(session, ds.id, batches)
                    if report.samples == 0:
                        raise ImportFailed(
                            ko_path.name, "file", None, reason_id=N_("no valid records to import")
                        )
                    ds.n_samples, ds.n_turns = report.samples, report.turns
                    ds.n_aligned, ds.n_ambiguous, ds.n_unaligned = (
                        report.aligned,
                        report.ambiguous,
                        report.unaligned,
                    )
                    if report.skipped:
                        ds.meta = {**ds.meta, "skipped": len(report.skipped)}
                    if actor is not None:  # the audit event commits with the import, or not at all
                        from .services import audit

                        audit.record(
                            session,
                            actor,
                            "import",
                            dataset_id=ds.id,
                            target=name,
                            kind=kind,
                            files=[f["name"] for f in files],
                            samples=report.samples,
                            licence=ds.licence,
                            skipped=len(report.skipped) or None,
                        )
                report.write_seconds = time.perf_counter() - t_write
                report.write_cpu_seconds = time.process_time() - c_write
            finally:
                if spool is not None:
                    spool.detach(conn)
        db.checkpoint_behind(engine)
    finally:
        # the cheap checks' workers may still read it: then it goes when they are done
        if spool is not None and not (early is not None and early.keep(spool)):
            spool.close()
    if report.skipped:
        report.skipped_report = str(_write_report(report.skipped, report_path, ko_path, name))
    return report


def _write_report(
    rows: list[dict[str, Any]], report_path: str | Path | None, ko_path: Path, name: str
) -> Path:
    """The skipped-records report: where asked, else beside the Korean file, else in the data
    folder."""
    targets = (
        [Path(report_path)]
        if report_path
        else [
            ko_path.with_name(f"{name}.skipped.jsonl"),
            config.data_dir() / f"{name}.skipped.jsonl",
        ]
    )
    for i, out in enumerate(targets):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            return out
        except OSError:
            if i == len(targets) - 1:
                raise
    raise AssertionError("unreachable")


Pairing = tuple[NormSample, _Source | None, float | None, str]


_SEP = "\x00"  # the importers refuse NUL in any text, so it can join a record's roles and texts


class _EnglishById:
    """The English side of an id join in a private SQLite file: key -> roles, texts, category.

    Rows are appended in file order and the key index is built once at the end (one sort instead of
    a random insert per record); a later record with the same key wins, as a dict would have it.
    """

    PREFIX = "kocurate-en-"

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.con = sqlite3.connect(Path(folder) / "en.db", isolation_level=None)
        self.records = 0  # English records read (the import's warning compares the two files)

    @classmethod
    def fill(cls, records: Iterator[NormSample]) -> _EnglishById:
        store = cls(_owned_tempdir(cls.PREFIX))
        try:
            con = store.con
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.execute(
                "CREATE TABLE e (key TEXT NOT NULL, n INTEGER NOT NULL, v TEXT NOT NULL, category"
                " TEXT, m TEXT NOT NULL)"
            )
            con.execute("BEGIN")
            for rows in _english_rows(records):
                store.records += len(rows)
                con.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?)", rows)
            con.execute("CREATE INDEX e_key ON e (key)")
            con.execute("COMMIT")
        except BaseException:
            store.close()
            raise
        return store

    def lookup(self, keys: list[str]) -> dict[str, _Source]:
        out: dict[str, _Source] = {}
        rows = self.con.execute(
            "SELECT key, n, v, category, m FROM e WHERE rowid IN (SELECT max(rowid) FROM e "
            "WHERE key IN (SELECT value FROM json_each(?)) GROUP BY key)",
            (json.dumps(keys),),
        )
        for key, n, v, category, m in rows:
            out[key] = _unpack(key, n, v, category, m)
        return out

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


# An English file at least this large is read in a process of its own while this one reads the
# Korean file (700k ShareGPT samples: 8 s of CPU off the import's own path); a smaller one here.
PARALLEL_ENGLISH_BYTES = 32 << 20
# the child commits every this many records (the lookups see them then) with a page cache of this
# many KiB: each commit writes the pages it changed to the WAL again, and with SQLite's 2 MB cache
# pages are read back. 200k ShareGPT records: 6.5 → 4.2 µs a record (a commit per 2,000, 2 MB)
ENGLISH_COMMIT_ROWS = 10_000
ENGLISH_CACHE_KIB = 64 * 1024
_ENGLISH_DDL = (
    "CREATE TABLE e (key TEXT NOT NULL PRIMARY KEY, n INTEGER NOT NULL, v TEXT NOT NULL,"
    " category TEXT, m TEXT NOT NULL, dup INTEGER NOT NULL DEFAULT 0)"
)


class _Restart(Exception):
    """The English file repeats an id whose first record a Korean sample was joined to while the
    file was still being read (the last record with an id is the one that counts): the import
    starts again with the English side read first."""


def _english_child(
    folder: str, kind: str, options: dict[str, Any] | None, src: str, skip_bad: bool, conn: Any
) -> None:
    """In a child process: the English file into ``folder``/en.db (created by the parent), a
    commit per batch so that the parent's lookups see it grow; a repeated id keeps its last record
    and is marked. Sends ("ok", records, skipped, CPU seconds) or ("failed", error) down
    ``conn``."""
    try:
        importer = get_importer(kind, options)
        skipped: list[dict[str, Any]] = []
        records = _collect(importer.read(Path(src), source=True), skip_bad, skipped, "en")
        con = sqlite3.connect(Path(folder) / "en.db", isolation_level=None)
        try:
            con.execute("PRAGMA synchronous=OFF")
            con.execute(f"PRAGMA cache_size = -{ENGLISH_CACHE_KIB}")
            n = since = 0
            con.execute("BEGIN")
            for rows in _english_rows(records):
                n += len(rows)
                since += len(rows)
                con.executemany(
                    "INSERT INTO e (key, n, v, category, m) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET n = excluded.n, v = excluded.v,"
                    " category = excluded.category, m = excluded.m, dup = 1",
                    rows,
                )
                if since >= ENGLISH_COMMIT_ROWS:
                    con.execute("COMMIT")
                    con.execute("BEGIN")
                    since = 0
            con.execute("COMMIT")
        finally:
            con.close()
        conn.send(("ok", n, skipped, time.process_time()))
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, which reports it
        try:
            conn.send(("failed", exc))
        except Exception:  # noqa: BLE001 - an error that does not pickle: its text at least
            conn.send(("failed", ImportFailed(src, "file", None, str(exc))))
    finally:
        conn.close()


class _EnglishInChild(_EnglishById):
    """The English side of an id join read by a child process while the Korean side is read here.

    A lookup sees what the child has committed; a key not there yet is looked for again as the child
    goes on (or until it is done: a key the file lacks). Once the child is done, ``finish`` raises
    its error, or ``_Restart`` when an id the lookups already used turned out to be repeated later
    in the file.
    """

    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self.proc: Any = None
        self.pipe: Any = None
        self.done = False
        self.early = False  # a key was looked up before the child had read the whole file
        self.skipped: list[dict[str, Any]] = []
        self.cpu = 0.0  # the child's CPU seconds
        self.src = Path()  # the English file
        # the two files are mostly in the same order: a lookup reads the rows after the last one
        # it used, in file order, before it looks keys up one by one (700k samples: 4.4 → 2.3 CPU-s)
        self.after = 0  # the rowid of the last key of the last lookup
        self.in_order = True  # until a window of rows in file order holds few of the keys

    @classmethod
    def start(
        cls, kind: str, options: dict[str, Any] | None, src: Path, skip_bad: bool
    ) -> _EnglishInChild:
        import multiprocessing
        import threading

        from .checks.runner import without_main_script

        store = cls(_owned_tempdir(cls.PREFIX))
        store.src = src
        try:
            store.con.execute("PRAGMA journal_mode=WAL")
            store.con.execute(_ENGLISH_DDL)
            # fork is quickest; a threaded server forks no child (as the check workers)
            ctx = multiprocessing.get_context(
                "fork" if threading.active_count() == 1 else "forkserver"
            )
            store.pipe, child_end = ctx.Pipe(duplex=False)
            with without_main_script():
                store.proc = ctx.Process(
                    target=_english_child,
                    args=(store.folder, kind, options, str(src), skip_bad, child_end),
                    daemon=True,
                )
                store.proc.start()
            child_end.close()
        except BaseException:
            store.close()
            raise
        return store

    def finish(self) -> None:
        """Wait for the child; raise what it failed with, or ``_Restart`` (see the class)."""
        if self.done:
            return
        try:
            msg = self.pipe.recv()
        except EOFError:  # killed (out of memory?) before it could say anything
            msg = (
                "failed",
                ImportFailed(
                    self.src.name,
                    "file",
                    None,
                    reason_id=N_(
                        "the process reading this file stopped without a word (out of memory?);"
                        " nothing was imported"
                    ),
                ),
            )
        self.proc.join()
        self.done = True
        if msg[0] == "failed":
            raise msg[1]
        _, self.records, self.skipped, self.cpu = msg
        if self.early and self.con.execute("SELECT 1 FROM e WHERE dup = 1 LIMIT 1").fetchone():
            raise _Restart

    def lookup(self, keys: list[str]) -> dict[str, _Source]:
        if not self.done and self.pipe.poll():
            self.finish()
        rowids: dict[str, int] = {}
        out = self._in_order(keys, rowids) if self.in_order else {}
        missing = [k for k in keys if k not in out]
        if missing:
            out.update(self._by_key(missing, rowids))
            missing = [k for k in missing if k not in out]
        while not self.done:
            self.early = self.early or bool(out)
            if not missing:
                break
            # not read yet (or not in the file at all): look again as the child goes on, until it
            # has read the whole file
            if self.pipe.poll(0.005):
                self.finish()
            found = self._by_key(missing, rowids)
            out.update(found)
            missing = [k for k in missing if k not in found]
        # the next lookup reads on from the row of the last of these keys
        self.after = next((rowids[k] for k in reversed(keys) if k in rowids), self.after)
        return out

    def _by_key(self, keys: list[str], rowids: dict[str, int]) -> dict[str, _Source]:
        """The records of ``keys`` looked up one by one (one row per key in the child's store)."""
        out: dict[str, _Source] = {}
        rows = self.con.execute(
            "SELECT rowid, key, n, v, category, m FROM e WHERE key IN"
            " (SELECT value FROM json_each(?))",
            (json.dumps(keys),),
        )
        for rowid, key, n, v, category, m in rows:
            out[key] = _unpack(key, n, v, category, m)
            rowids[key] = rowid
        return out

    def _in_order(self, keys: list[str], rowids: dict[str, int]) -> dict[str, _Source]:
        """The records of ``keys`` among the next rows of the store, in file order (the child
        keeps one row per key, the last record's: what a lookup by key finds). A window of rows
        mostly wanted is followed by another for the keys still missing (the Korean side may lack
        some records); a first one that is mostly not means another order: by key from now on."""
        wanted = set(keys)
        out: dict[str, _Source] = {}
        after, limit, first = self.after, len(keys), True
        while limit:
            rows = self.con.execute(
                "SELECT rowid, key, n, v, category, m FROM e WHERE rowid > ? ORDER BY rowid"
                " LIMIT ?",
                (after, limit),
            ).fetchall()
            hits = 0
            for rowid, key, n, v, category, m in rows:
                if key in wanted:
                    out[key] = _unpack(key, n, v, category, m)
                    rowids[key] = after = rowid
                    hits += 1
            if len(rows) < limit:
                break  # the end of what the child has written so far
            if hits * 2 < len(rows):
                self.in_order = not first
                break
            limit, first = len(keys) - len(out), False
        return out

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.terminate()  # the import stopped (an error in the Korean file)
            self.proc.join()
        if self.pipe is not None:
            self.pipe.close()
        super().close()


def _english_rows(records: Iterator[NormSample]) -> Iterator[list[tuple[Any, ...]]]:
    """The English store's rows (key, n, packed roles and texts, category, numbers), ``BATCH`` at
    a time."""
    while rows := [(s.key, *_pack(s)) for s in itertools.islice(records, BATCH)]:
        yield rows


def _pack(s: NormSample) -> tuple[int, str, str | None, str]:
    roles = [t.role for t in s.turns]
    texts = [t.text for t in s.turns]
    category = s.meta.get("category")
    # the numbers of each text, for the aligner's check of every turn pair: found here, where the
    # English file is read (in a process of its own for a large file), not on the import's path
    # (700k samples: about 3 s)
    numbers = _SEP.join(" ".join(aligner.number_tokens(x)) for x in texts)
    if any(_SEP in x for x in itertools.chain(roles, texts)):
        return -1, json.dumps([roles, texts], ensure_ascii=False), category, numbers
    return len(roles), _SEP.join(roles + texts), category, numbers


def _unpack(key: str, n: int, v: str, category: str | None, m: str) -> _Source:
    """An English store's row back as the record's roles, texts and numbers (``_pack``)."""
    if n < 0:  # stored as JSON (a text held the separator)
        roles, texts = json.loads(v)
        numbers = tuple(m.split(_SEP)) if texts else ()
        return _Source(key, tuple(roles), tuple(texts), category, numbers)
    if n == 0:
        return _Source(key, (), (), category, ())
    parts = v.split(_SEP)
    return _Source(key, tuple(parts[:n]), tuple(parts[n:]), category, tuple(m.split(_SEP)))


def _pairs_by_id(
    ko_stream: Iterator[NormSample],
    english: _EnglishById,
    at_end: Callable[[], None] | None = None,
) -> Iterator[Pairing]:
    while True:
        chunk = list(itertools.islice(ko_stream, JOIN_BATCH))
        if not chunk:
            if at_end is not None:
                at_end()  # before the rows are written: an English error stops the import here
            return
        by_key = english.lookup([s.key for s in chunk])
        for s in chunk:
            en = by_key.get(s.key)
            if en is None:
                yield s, None, None, "unaligned"
                continue
            conf = _turn_confidence(s, en)
            yield s, en, conf, "id" if conf >= 0.5 else "ambiguous"


def _id_allocator(conn: Connection) -> Callable[[int], list[int]]:
    """Sample ids for a batch: from the sequence on PostgreSQL; on SQLite after the largest id
    (the import holds SQLite's write lock from its first statement, so no one else writes)."""
    if conn.dialect.name == "postgresql":

        def pg(n: int) -> list[int]:
            return list(
                conn.execute(
                    text(
                        "SELECT nextval(pg_get_serial_sequence('samples', 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": n},
                ).scalars()
            )

        return pg
    state = {"next": (conn.scalar(select(func.max(Sample.id))) or 0) + 1}

    def sqlite(n: int) -> list[int]:
        start = state["next"]
        state["next"] = start + n
        return list(range(start, start + n))

    return sqlite


def _turn_confidence(s: NormSample, en: _Source) -> float:
    """How well the turns of an id-joined conversation match: roles in order, cues per turn."""
    if len(en.texts) != len(s.turns):
        return 0.3
    if any(t.role != r for t, r in zip(s.turns, en.roles, strict=True)):
        return 0.3
    # the id already pairs them: per-turn cues only need to catch a turn that belongs elsewhere
    quick = aligner.quick_evidence
    numbers = en.numbers if en.numbers is not None else (None,) * len(en.texts)
    evs = [
        quick(t.text, e, n)
        for t, e, n in zip(s.turns, en.texts, numbers, strict=True)
        if t.text or e
    ]
    return aligner.confidence_of(min(evs)) if evs else 1.0  # the weakest turn decides


def _pairs_by_position(
    ko_stream: Iterator[NormSample], sources: list[_Source], importer: Importer
) -> Iterator[Pairing]:
    # The aligner needs cues of both sides; the Korean side is kept as parsed samples only for
    # the length of this call (position-aligned datasets are small: KoAlpaca 50k, Dolly 15k).
    ko = list(ko_stream)

    def fields(roles: tuple[str, ...] | list[str], texts: tuple[str, ...] | list[str]) -> list[str]:
        return [t for r, t in zip(roles, texts, strict=False) if importer.is_translated(r)]

    ko_cues = [
        aligner.cues(fields([t.role for t in s.turns], [t.text for t in s.turns])) for s in ko
    ]
    en_cues = [aligner.cues(fields(s.roles, s.texts)) for s in sources]
    result = aligner.align_by_position(ko_cues, en_cues)
    for s, pair in zip(ko, result, strict=True):
        if pair.en_index is None:
            yield s, None, None, "unaligned"
            continue
        en = sources[pair.en_index]
        status = pair.status
        cat_ko = s.meta.get("category")
        if cat_ko is not None and en.category is not None and cat_ko != en.category:
            status = "ambiguous"  # Dolly: a pair across categories is not the same record
        yield s, en, pair.confidence, status


_SAMPLE_COLS = (
    "id",
    "dataset_id",
    "key",
    "position",
    "status",
    "version",
    "meta",
    "align_status",
    "align_confidence",
    "source_key",
    "n_turns",
    "ko_chars",
    "en_chars",
    "dup_keep",
    "checked_version",
    "created_at",
    "updated_at",
)
_TURN_COLS = ("sample_id", "idx", "role", "text", "mt_text", "source_text", "source_kind")


class _BulkInsert:
    """``executemany`` of plain tuples straight to the driver: the per-row cost of building and
    processing parameter dicts dominated the import. Columns we do not give that have a plain
    Python-side default (added by a later migration) get it; the others their server default."""

    def __init__(self, conn: Connection, table: Any, columns: tuple[str, ...]) -> None:
        self.conn = conn
        extra = _defaults(table, columns)
        self.extra = tuple(extra.values())
        names = list(columns) + list(extra)
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cols = ", ".join('"' + n + '"' for n in names)
        self.sql = f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join([mark] * len(names))})"
        # PostgreSQL: COPY is an order of magnitude faster than executemany of INSERTs
        self.copy_sql = (
            f"COPY {table.name} ({cols}) FROM STDIN" if conn.dialect.name == "postgresql" else None
        )

    def __call__(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        extra = self.extra
        # straight to the driver's cursor, inside the same transaction: the engine's per-parameter
        # hooks (e.g. the NUL scan on SQLite) would cost more than the insert, and every text
        # here has passed the importers' own check (no NUL, no lone surrogate) already
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if self.copy_sql is not None:
                with cursor.copy(self.copy_sql) as copy:
                    for r in rows:
                        copy.write_row(r + extra if extra else r)
            else:
                cursor.executemany(self.sql, [r + extra for r in rows] if extra else rows)
        finally:
            cursor.close()


Batch = tuple[list[list[Any]], list[list[tuple[Any, ...]]]]  # sample rows, turn rows per sample


def _prepare(
    pairs: Iterator[Pairing],
    importer: Importer,
    report: ImportReport,
    now: Any,
    progress: Callable[[int], None] | None,
    skip_bad: bool,
) -> Iterator[Batch]:
    """Rows ready for the database, in batches; sample id and dataset id are filled in when
    written."""
    sample_rows: list[list[Any]] = []
    turn_rows: list[list[tuple[Any, ...]]] = []
    seen: set[str] = set()
    dumps = json.dumps
    translated: dict[str, str] = {}  # role -> source_kind, cached
    for s, en, conf, status in pairs:
        if s.key in seen:
            bad = ImportFailed(
                report.name, s.place, "id", reason_id=N_("duplicate key {key!r}"), key=s.key
            )
            if not skip_bad:
                raise bad
            report.skipped.append(
                {
                    "side": "ko",
                    "file": bad.file,
                    "where": bad.where,
                    "field": "id",
                    "reason": bad.reason,
                }
            )
            continue
        seen.add(s.key)
        en_texts = _source_texts(s, en, importer)
        turns = []
        ko_chars = en_chars = 0
        for idx, t in enumerate(s.turns):
            src_text = en_texts[idx]
            kind = None
            if src_text is not None:
                kind = translated.get(t.role)
                if kind is None:
                    kind = translated[t.role] = (
                        "translation" if importer.is_translated(t.role) else "reference"
                    )
                en_chars += len(src_text)
            ko_chars += len(t.text)
            turns.append((idx, t.role, t.text, None, src_text, kind))  # mt_text: text itself
        if status == "inline":
            conf = aligner.pair_confidence([t.text for t in s.turns], [e or "" for e in en_texts])
            status = "aligned" if conf >= 0.5 else "ambiguous"
        if status in ("aligned", "id"):
            report.aligned += 1
        elif status == "ambiguous":
            report.ambiguous += 1
        elif status == "unaligned":
            report.unaligned += 1
        if status in ("ambiguous", "unaligned") and report.first_unsure is None:
            report.first_unsure = f"{s.place} (key {s.key})"
            report.first_unsure_at = (s.place, s.key)
        else:
            report.no_source += 1
        sample_rows.append(
            [
                0,
                0,
                s.key,
                s.position,
                "new",
                1,
                dumps(s.meta, ensure_ascii=False) if s.meta else "{}",
                status,
                conf,
                en.key if en is not None else None,
                len(turns),
                ko_chars,
                en_chars,
                True,
                0,
                now,
                now,
            ]
        )
        turn_rows.append(turns)
        report.samples += 1
        report.turns += len(turns)
        if len(sample_rows) >= BATCH:
            yield sample_rows, turn_rows
            sample_rows, turn_rows = [], []
            if progress:
                progress(report.samples)
    if sample_rows:
        yield sample_rows, turn_rows
    if progress:
        progress(report.samples)


class _Spool:
    """The prepared rows of a SQLite import in a private SQLite file, copied in with INSERT …
    SELECT.

    Sample ids in the spool are 1..n; the copy shifts them past the largest id in the database
    (under the write lock, so nobody else takes them) and fills in the dataset id.
    """

    PREFIX = "kocurate-import-"

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = Path(folder) / "spool.db"

    @classmethod
    def create(cls) -> _Spool:
        """A new spool folder, marked with this process's id; the folders of imports whose process
        died (killed half-way: up to a gigabyte at 700k samples) are removed first."""
        cls.sweep()
        return cls(_owned_tempdir(cls.PREFIX))

    @classmethod
    def sweep(cls, root: str | None = None) -> int:
        """Remove spool folders whose owning process is gone; returns how many."""
        gone = 0
        folders = itertools.chain.from_iterable(
            Path(root or tempfile.gettempdir()).glob(prefix + "*")
            for prefix in (cls.PREFIX, _EnglishById.PREFIX)  # an id join's English store too
        )
        for folder in folders:
            try:
                pid_text, _, host = (folder / "owner").read_text().partition(" ")
                pid = int(pid_text)
            except (OSError, ValueError):
                continue  # not ours to judge (no owner mark yet, or a folder of another version)
            if host != socket.gethostname():
                continue  # another machine's (or container's) process: its pid means nothing here
            try:
                os.kill(pid, 0)
                continue  # alive (or a pid reused by another process: left alone)
            except ProcessLookupError:
                pass
            except OSError:
                continue  # alive, owned by another user
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
        return gone

    @classmethod
    def fill(
        cls, batches: Iterator[Batch], on_commit: Callable[[str, int], None] | None = None
    ) -> _Spool:
        """The spool file filled; with ``on_commit`` it is committed after every batch (WAL: the
        cheap checks' workers read committed rows while it grows) and told how many rows are in."""
        spool = cls.create()
        try:
            con = sqlite3.connect(spool.path, isolation_level=None)
            try:
                if on_commit is not None:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.execute("PRAGMA wal_autocheckpoint=0")  # a private file, read then removed
                else:
                    con.execute("PRAGMA journal_mode=OFF")
                con.execute("PRAGMA synchronous=OFF")
                cols = ", ".join(_SAMPLE_COLS[2:])
                con.execute(f"CREATE TABLE s (id INTEGER PRIMARY KEY, {cols})")
                con.execute(f"CREATE TABLE t ({', '.join(_TURN_COLS)})")
                s_sql = f"INSERT INTO s VALUES ({', '.join(['?'] * (len(_SAMPLE_COLS) - 1))})"
                t_sql = f"INSERT INTO t VALUES ({', '.join(['?'] * len(_TURN_COLS))})"
                con.execute("BEGIN")
                n = 0
                for sample_rows, turn_rows in batches:
                    ids = range(n + 1, n + 1 + len(sample_rows))
                    con.executemany(
                        s_sql, [(i, *r[2:]) for i, r in zip(ids, sample_rows, strict=True)]
                    )
                    con.executemany(
                        t_sql,
                        [(i, *t) for i, turns in zip(ids, turn_rows, strict=True) for t in turns],
                    )
                    n += len(sample_rows)
                    if on_commit is not None:
                        con.execute("COMMIT")
                        on_commit(str(spool.path), n)
                        con.execute("BEGIN")
                con.execute("COMMIT")
                if on_commit is not None:
                    on_commit(str(spool.path), n)  # every row is in (the last batch's rows too)
            finally:
                con.close()
        except BaseException:
            spool.close()
            raise
        return spool

    def attach(self, conn: Connection) -> None:
        # outside any transaction (SQLite refuses ATTACH inside one): straight to the driver
        conn.connection.driver_connection.execute(
            "ATTACH DATABASE ? AS kc_spool", (str(self.path),)
        )  # type: ignore[union-attr]

    def detach(self, conn: Connection) -> None:
        try:
            conn.connection.driver_connection.execute("DETACH DATABASE kc_spool")  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the connection may be gone; closing it drops the attachment too
            conn.invalidate()

    def copy(
        self, conn: Connection, dataset_id: int, phases: dict[str, float] | None = None
    ) -> int:
        """Copy the rows in; returns the offset (spool id ``n`` became sample ``offset + n``)."""
        raw = conn.connection.driver_connection  # type: ignore[union-attr]
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute(f"PRAGMA cache_size = -{COPY_CACHE_KIB}")
        try:
            return self._copy(conn, dataset_id, {} if phases is None else phases)
        finally:
            raw.execute(f"PRAGMA cache_size = {int(cache)}")  # the connection goes back to the pool

    def _copy(self, conn: Connection, dataset_id: int, phases: dict[str, float]) -> int:
        c0 = time.process_time()
        offset = conn.scalar(select(func.max(Sample.id))) or 0
        extra_s = _defaults(Sample.__table__, _SAMPLE_COLS)
        extra_t = _defaults(Turn.__table__, _TURN_COLS)
        s_cols = ", ".join(f'"{c}"' for c in (*_SAMPLE_COLS, *extra_s))
        s_sel = ", ".join(["id + ?", "?", *_SAMPLE_COLS[2:], *["?"] * len(extra_s)])
        conn.exec_driver_sql(
            f"INSERT INTO samples ({s_cols}) SELECT {s_sel} FROM kc_spool.s ORDER BY id",
            (offset, dataset_id, *extra_s.values()),
        )
        phases["copy samples (+ indexes)"] = time.process_time() - c0
        c0 = time.process_time()
        t_cols = ", ".join(f'"{c}"' for c in (*_TURN_COLS, *extra_t))
        t_sel = ", ".join(["sample_id + ?", *_TURN_COLS[1:], *["?"] * len(extra_t)])
        automerge = _fts_automerge(conn)
        trigger = _fts_insert_trigger(conn) if automerge else None
        for table in automerge:
            # the search index's segments are not merged while it takes the bulk of rows: FTS5's
            # incremental merging made the index cost per turn grow with the dataset (40 µs per
            # sample at 200k vs 28 at 50k); its crisis merges still bound the segment count
            conn.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', 0)")
        if trigger is not None:
            # the new turns are indexed in one statement per index after the copy, not by the
            # insert trigger once per row: a fifth less CPU for the index (200k samples: 6.2 → 5.4
            # s). Dropped and made again inside this transaction, so a rollback or a crash leaves
            # it as it was
            conn.exec_driver_sql("DROP TRIGGER turns_fts_ai")
        first = conn.scalar(select(func.max(Turn.id))) or 0
        conn.exec_driver_sql(
            f"INSERT INTO turns ({t_cols}) SELECT {t_sel} FROM kc_spool.t ORDER BY rowid",
            (offset, *extra_t.values()),
        )
        if trigger is not None:
            for table, column in FTS_COLUMNS.items():
                if table in automerge:
                    conn.exec_driver_sql(
                        f"INSERT INTO {table}(rowid, {column})"
                        f" SELECT id, {column} FROM turns WHERE id > ? ORDER BY id",
                        (first,),
                    )
            conn.exec_driver_sql(trigger)
        for table, merge in automerge.items():
            conn.exec_driver_sql(
                f"INSERT INTO {table}({table}, rank) VALUES ('automerge', ?)", (merge,)
            )
        phases["copy turns (+ index, search index)"] = time.process_time() - c0
        return int(offset)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


FTS_AUTOMERGE_DEFAULT = 4  # SQLite's default for an FTS5 table that never set it


def _owned_tempdir(prefix: str) -> str:
    """A new temporary folder marked with this process's id and host, so that ``_Spool.sweep``
    removes it once the process is gone (an import killed half-way)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    (Path(folder) / "owner").write_text(f"{os.getpid()} {socket.gethostname()}")
    return folder


def _fts_automerge(conn: Connection) -> dict[str, int]:
    """Each search index's automerge setting (none where there is no index yet)."""
    out = {}
    for table in FTS_COLUMNS:
        config = f"{table}_config"
        if (
            conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (config,)).first()
            is None
        ):
            continue
        row = conn.exec_driver_sql(f"SELECT v FROM {config} WHERE k = 'automerge'").first()
        out[table] = int(row[0]) if row is not None else FTS_AUTOMERGE_DEFAULT
    return out


def _fts_insert_trigger(conn: Connection) -> str | None:
    """The statement that made the trigger indexing each new turn, or None where it is missing."""
    row = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'turns_fts_ai'"
    ).first()
    return str(row[0]) if row is not None and row[0] else None


def _defaults(table: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    """Plain Python-side defaults of columns we do not fill (added by later migrations)."""
    return {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in columns
        and not c.primary_key
        and c.default is not None
        and c.default.is_scalar
    }


def _write(session: Session, dataset_id: int, batches: Iterator[Batch]) -> None:
    conn = session.connection()
    insert_samples = _BulkInsert(conn, Sample.__table__, _SAMPLE_COLS)
    insert_turns = _BulkInsert(conn, Turn.__table__, _TURN_COLS)
    ids_for = _id_allocator(conn)
    for sample_rows, turn_rows in batches:
        # ids are allocated up front so that one executemany writes the batch (RETURNING with
        # ordered rows would fall back to one statement per row on SQLite)
        ids = ids_for(len(sample_rows))
        for row, sid in zip(sample_rows, ids, strict=True):
            row[0] = sid
            row[1] = dataset_id
        insert_samples([tuple(r) for r in sample_rows])
        insert_turns([(sid, *t) for sid, turns in zip(ids, turn_rows, strict=True) for t in turns])


def _source_texts(s: NormSample, en: _Source | None, importer: Importer) -> list[str | None]:
    n = len(s.turns)
    if s.sources is not None:
        return [(x if x else None) for x in (list(s.sources) + [None] * n)[:n]]
    if en is None:
        return [None] * n
    if importer.pair_turns_by == "index":
        return [en.texts[i] if i < len(en.texts) else None for i in range(n)]
    by_role = dict(zip(en.roles, en.texts, strict=False))
    return [by_role.get(t.role) for t in s.turns]
