"""Re-translation with DeepL: one turn, one sample, or a filtered batch as a resumable background job.

Every text goes through placeholder protection (``kocurate.translate.protect``) and the translation
cache (sha256 over what is sent + the options): a text is paid for once, whatever happens later.
Results are ``Suggestion`` rows shown beside the current Korean; accepting one is an edit of kind
``machine`` in the history. A batch with ``apply`` writes edits directly, but only on samples that
nobody edited by hand (others get a suggestion instead).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import KocurateError, NotFound, StaleVersion
from ..models import CheckFinding, Dataset, Edit, Flag, Sample, Suggestion, Turn, utcnow
from ..translate import glossary as gl
from ..translate.client import DeepL, TranslateError, load_config, require_config
from ..translate.core import (
    MAX_TEXTS,
    Item,
    cache_get,
    cache_key,
    cache_put,
    make_options,
    pack,
    send_batches,
)
from ..translate.protect import Protected, ProtectionError, protect, restore
from . import jobs
from .auth import Actor

ENGINE = "deepl"
JOB_KIND = "translate"
CHUNK_SAMPLES = 500  # samples per resume step (all their requests, then one commit)
CONTEXT_CHARS = 2000  # other turns of the sample sent as (unbilled) context for a single re-translation
EXACT_ESTIMATE_MAX = 50_000  # above this many samples the estimate sums lengths in SQL instead
MAX_ERRORS_KEPT = 50


def eur_per_million() -> float:
    """Price per million characters (DeepL API Pro: EUR 20; the free API: EUR 0, 500k a month)."""
    return float(os.environ.get("KOCURATE_DEEPL_EUR_PER_MILLION", "20"))


def deepl_configured() -> bool:
    return load_config() is not None


def how_to_configure() -> str:
    """What to tell a user when DeepL is not configured."""
    from ..translate.client import HOW_TO_CONFIGURE

    return HOW_TO_CONFIGURE


def check_names() -> list[str]:
    """Names of the automatic checks (for the batch filter)."""
    try:
        from ..checks import REGISTRY
    except ImportError:  # the checks area is optional
        return []
    return sorted(REGISTRY)


def list_batches(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """Recent batch translation jobs with their progress (what the page shows after a reload)."""
    return jobs.list_jobs(session, JOB_KIND, limit)


def cancel_batch(session: Session, actor: Actor, job_id: int) -> None:
    actor.require("translate_batch")
    jobs.cancel(session, actor, job_id)


def _deepl() -> DeepL:
    return DeepL(require_config())


# --------------------------------------------------------------------------------------------- filters

@dataclass
class BatchFilter:
    """Which samples a batch re-translates (only turns with an English source of kind "translation")."""

    dataset: int | str | None = None  # id or name
    check: str | None = None  # samples with a finding of this check
    flag: str | None = None  # samples with a flag of this category not cleared
    status: str | None = None
    limit: int | None = None  # at most this many samples
    sample_ids: list[int] | None = None
    # also the "reference" turns (an answer written in Korean beside an English one, e.g. KoAlpaca
    # outputs) that have a finding of ``check`` — an answer left in English, re-translated from the English
    include_reference: bool | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> BatchFilter:
        d = d or {}
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}


def _dataset_id(session: Session, ref: int | str | None) -> int | None:
    if ref in (None, ""):
        return None
    if str(ref).isdigit():
        ds = session.get(Dataset, int(ref))
    else:
        ds = session.scalar(select(Dataset).where(Dataset.name == str(ref)))
    if ds is None:
        raise NotFound(f"no dataset {ref!r}")
    return ds.id


def _conditions(session: Session, f: BatchFilter) -> list[Any]:
    conds: list[Any] = []
    ds = _dataset_id(session, f.dataset)
    if ds is not None:
        conds.append(Sample.dataset_id == ds)
    if f.status:
        conds.append(Sample.status == f.status)
    if f.check:
        conds.append(Sample.id.in_(select(CheckFinding.sample_id).where(CheckFinding.check == f.check)))
    if f.flag:
        conds.append(Sample.id.in_(select(Flag.sample_id).where(Flag.category == f.flag, Flag.state != "cleared")))
    if f.sample_ids:
        conds.append(Sample.id.in_([int(i) for i in f.sample_ids]))
    return conds


def _count_samples(session: Session, f: BatchFilter) -> int:
    n = session.scalar(select(func.count()).select_from(Sample).where(*_conditions(session, f))) or 0
    return min(n, f.limit) if f.limit else n


def _sample_ids_after(session: Session, f: BatchFilter, conds: list[Any], last: int, n: int) -> list[int]:
    return list(session.scalars(select(Sample.id).where(Sample.id > last, *conds).order_by(Sample.id).limit(n)))


def _turn_rows(session: Session, sample_ids: list[int], f: BatchFilter | None = None) -> list[Any]:
    kind = Turn.source_kind == "translation"
    if f is not None and f.include_reference and f.check:
        flagged = select(CheckFinding.id).where(CheckFinding.sample_id == Turn.sample_id,
                                                CheckFinding.turn_idx == Turn.idx, CheckFinding.check == f.check)
        kind = or_(kind, and_(Turn.source_kind == "reference", flagged.exists()))
    return session.execute(
        select(Turn.id, Turn.sample_id, Turn.idx, Turn.text, Turn.source_text)
        .where(Turn.sample_id.in_(sample_ids), Turn.source_text.is_not(None), kind)
        .order_by(Turn.sample_id, Turn.idx)).all()


# --------------------------------------------------------------------------------------------- glossary

def glossary_terms(session: Session) -> list[dict[str, Any]]:
    from ..models import GlossaryTerm

    return [{"id": t.id, "source": t.source_term, "target": t.target_term, "note": t.note}
            for t in session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.source_term))]


def glossary_import(session: Session, actor: Actor, data: str | bytes, replace: bool = False) -> dict[str, int]:
    """Import terms from CSV (``english,korean[,note]``, optional header)."""
    actor.require("glossary")
    return gl.import_rows(session, gl.parse_csv(data), replace=replace)


def glossary_replace(session: Session, actor: Actor, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Make the glossary exactly ``rows`` ([{source, target, note}]) — the page's table editor."""
    actor.require("glossary")
    clean = []
    seen: set[str] = set()
    for n, r in enumerate(rows, start=1):
        if not (r.get("source") or "").strip() and not (r.get("target") or "").strip():
            continue
        s, t = gl._check(r.get("source") or "", r.get("target") or "", f"row {n}")  # noqa: SLF001
        if s.lower() in seen:
            raise gl.GlossaryError(f"row {n}: the term {s!r} is there twice")
        seen.add(s.lower())
        clean.append((s, t, (r.get("note") or "").strip() or None))
    return gl.import_rows(session, clean, replace=True)


def glossary_export(session: Session, actor: Actor) -> str:
    actor.require("glossary")
    return gl.export_csv(session)


def glossary_sync(session: Session, actor: Actor, force: bool = False) -> dict[str, Any] | None:
    actor.require("glossary")
    deepl = _deepl()
    try:
        return gl.sync(session, deepl, force=force)
    finally:
        deepl.close()


def glossary_status(session: Session) -> dict[str, Any]:
    state = gl.synced_state(session) or {}
    current = gl.terms(session)
    return {"terms": len(current), "synced": bool(state) and state.get("hash") == gl.terms_hash(current),
            "glossary_id": state.get("id"), "synced_at": state.get("synced_at")}


# --------------------------------------------------------------------------------------------- one turn / sample

def _stored_options(options: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in options.items() if k != "context"}
    if options.get("context"):
        out["context_chars"] = len(options["context"])
    return out


@contextmanager
def _reading(session: Session) -> Iterator[Session]:
    """Where to read before calling DeepL. A session that has not begun yet is left alone and a
    read-only connection is used instead, so no SQLite write lock is held during the HTTP call
    (annotators keep saving); a session already in a transaction is used as it is."""
    if session.in_transaction():
        yield session
        return
    bind = session.get_bind()
    with bind.connect() as conn:
        conn.info["write"] = False  # SQLite: plain BEGIN (no write lock); ignored elsewhere
        try:
            with Session(bind=conn) as rs:
                yield rs
                rs.rollback()
        finally:
            # info outlives the checkout: a pooled connection left "read-only" would later begin a
            # write with a deferred BEGIN and fail with "database is locked" instead of waiting
            conn.info.pop("write", None)


@dataclass
class _Job:
    """One re-translation of a few turns: read, then DeepL (no transaction), then write."""

    turns: list[dict[str, Any]]  # id, sample_id, source_text, context
    version: int
    entries: dict[str, str]
    state: dict[str, Any] | None


def _read_turns(rs: Session, turns: list[Turn], with_context: bool) -> list[dict[str, Any]]:
    out = []
    for t in turns:
        ctx = None
        if with_context:
            others = rs.scalars(select(Turn.source_text).where(Turn.sample_id == t.sample_id, Turn.id != t.id,
                                                                Turn.source_text.is_not(None)).order_by(Turn.idx))
            ctx = "\n".join(o for o in others if o)[:CONTEXT_CHARS] or None
        out.append({"id": t.id, "sample_id": t.sample_id, "source": t.source_text or "", "context": ctx})
    return out


def _run_small(session: Session, actor: Actor, job: _Job) -> list[Suggestion]:
    """Translate a few turns (cache first; only misses go to DeepL) and store them as suggestions."""
    h = gl.terms_hash(job.entries) if job.entries else None
    # context is request-wide: one turn with context, or several turns without
    context = job.turns[0]["context"] if len(job.turns) == 1 else None
    key_opts = make_options({"id": None, "hash": h} if h else None, context)
    prots = [protect(t["source"]) for t in job.turns]
    keys = [cache_key(p.xml, key_opts) for p in prots]
    with _reading(session) as rs:
        cached = cache_get(rs, [k for k, p in zip(keys, prots, strict=True) if not p.empty])
    misses: dict[str, Item] = {}
    for k, p in zip(keys, prots, strict=True):
        if not p.empty and k not in cached:
            misses.setdefault(k, Item(k, p.xml))
    state, state_changed = job.state, False
    new_rows: list[dict[str, Any]] = []
    if misses:
        batches, too_big = pack(list(misses.values()))
        if too_big:
            raise KocurateError(f"a text is too long for one DeepL request ({len(too_big[0].xml)} characters)")
        errors: list[str] = []
        deepl = _deepl()
        try:
            state, state_changed = gl.ensure_remote(deepl, job.entries, job.state)
            options = make_options(state, context)

            def save(rows: list[dict[str, Any]]) -> None:
                new_rows.extend(rows)
                cached.update({r["key"]: r["target"] for r in rows})

            send_batches(deepl, batches, options, save, rejected=lambda it, msg: errors.append(msg))
        finally:
            deepl.close()
        if errors:
            raise KocurateError(errors[0])
    options = make_options(state, context)
    texts = [restore(cached[k], p) if not p.empty else restore("", p) for k, p in zip(keys, prots, strict=True)]
    # the write phase: short, in the caller's transaction
    if state_changed:
        gl.store_state(session, state)
    cache_put(session, new_rows)
    sample_ids = [t["sample_id"] for t in job.turns]
    _supersede_open(session, sample_ids, [t["id"] for t in job.turns])
    out = []
    for t, text in zip(job.turns, texts, strict=True):
        sug = Suggestion(sample_id=t["sample_id"], turn_id=t["id"], text=text, engine=ENGINE,
                         options=_stored_options(options), based_on_version=job.version, state="open",
                         created_by=actor.id, created_at=utcnow())
        session.add(sug)
        out.append(sug)
    session.flush()
    return out


def _supersede_open(session: Session, sample_ids: list[int], turn_ids: list[int]) -> None:
    """A new suggestion for a turn replaces its older open ones (sample_id first: the indexed column)."""
    if turn_ids:
        session.execute(update(Suggestion).where(
            Suggestion.sample_id.in_(sorted(set(sample_ids))), Suggestion.state == "open",
            Suggestion.turn_id.in_(turn_ids), Suggestion.engine == ENGINE).values(state="rejected"))


def retranslate_turn(session: Session, actor: Actor, turn_id: int) -> Suggestion:
    """Re-translate one turn from its English source (the sample's other English turns go along as
    unbilled context); the result is an open suggestion."""
    actor.require("translate_one")
    require_config()
    with _reading(session) as rs:
        turn = rs.get(Turn, turn_id)
        if turn is None:
            raise NotFound(f"no turn {turn_id}")
        if not turn.source_text:
            raise KocurateError("this turn has no English source to translate from")
        job = _Job(_read_turns(rs, [turn], with_context=True),
                   rs.scalar(select(Sample.version).where(Sample.id == turn.sample_id)) or 0,
                   gl.terms(rs), gl.synced_state(rs))
    return _run_small(session, actor, job)[0]


def retranslate_sample(session: Session, actor: Actor, sample_id: int) -> list[Suggestion]:
    """Re-translate every turn of a sample that has an English source (one request, cache first)."""
    actor.require("translate_one")
    require_config()
    with _reading(session) as rs:
        version = rs.scalar(select(Sample.version).where(Sample.id == sample_id))
        if version is None:
            raise NotFound(f"no sample {sample_id}")
        turns = [t for t in rs.scalars(select(Turn).where(Turn.sample_id == sample_id).order_by(Turn.idx))
                 if t.source_text]
        if not turns:
            raise KocurateError("this sample has no English source to translate from")
        job = _Job(_read_turns(rs, turns, with_context=False), version, gl.terms(rs), gl.synced_state(rs))
    return _run_small(session, actor, job)


def open_suggestions(session: Session, sample_id: int) -> list[dict[str, Any]]:
    """Open suggestions of a sample with the current Korean and a plain-text diff, by turn order."""
    from .review import diff_text

    rows = session.execute(
        select(Suggestion, Turn.idx, Turn.role, Turn.text).join(Turn, Turn.id == Suggestion.turn_id)
        .where(Suggestion.sample_id == sample_id, Suggestion.state == "open").order_by(Turn.idx, Suggestion.id)).all()
    return [{"id": s.id, "turn_id": s.turn_id, "turn_idx": idx, "role": role, "text": s.text, "current": cur,
             "diff": diff_text(cur, s.text, old_name="current", new_name="DeepL"), "engine": s.engine,
             "options": s.options, "based_on_version": s.based_on_version, "job_id": s.job_id,
             "created_at": s.created_at.isoformat(timespec="seconds")} for s, idx, role, cur in rows]


def accept_suggestion(session: Session, actor: Actor, suggestion_id: int, expected_version: int) -> int:
    """Apply a suggestion as an edit of kind ``machine``; returns the new sample version."""
    from .review import save_edit

    actor.require("translate_one")
    sug = session.get(Suggestion, suggestion_id)
    if sug is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if sug.state != "open":
        raise KocurateError(f"suggestion {suggestion_id} is already {sug.state}")
    version = save_edit(session, actor, sug.sample_id, sug.turn_id, sug.text, expected_version, kind="machine",
                        meta={"engine": sug.engine, "options": sug.options, "suggestion_id": sug.id,
                              "job_id": sug.job_id})
    sug.state = "accepted"
    session.flush()
    return version


def reject_suggestion(session: Session, actor: Actor, suggestion_id: int) -> None:
    actor.require("translate_one")
    sug = session.get(Suggestion, suggestion_id)
    if sug is None:
        raise NotFound(f"no suggestion {suggestion_id}")
    if sug.state != "open":
        raise KocurateError(f"suggestion {suggestion_id} is already {sug.state}")
    sug.state = "rejected"
    session.flush()


# --------------------------------------------------------------------------------------------- estimate

def quota() -> dict[str, Any] | None:
    """The account's usage from DeepL (None without a key)."""
    if not deepl_configured():
        return None
    deepl = _deepl()
    try:
        return deepl.usage()
    except TranslateError as exc:
        return {"error": str(exc)}
    finally:
        deepl.close()


def estimate(session: Session, actor: Actor, filters: BatchFilter | dict[str, Any] | None) -> dict[str, Any]:
    """Characters, requests and cost of a batch before it starts, and the remaining DeepL quota.

    Exact (protection + cache lookups) for up to ``EXACT_ESTIMATE_MAX`` samples; beyond that the
    English lengths are summed in SQL (protected spans and cache hits not deducted).
    """
    actor.require("translate_batch")
    f = filters if isinstance(filters, BatchFilter) else BatchFilter.from_dict(filters)
    with _reading(session) as rs:  # no SQLite write lock while it counts
        out = _estimate(rs, f)
    out["eur_per_million"] = eur_per_million()
    out["estimated_cost_eur"] = round(out["characters"] * out["eur_per_million"] / 1e6, 2)
    out["quota"] = quota()
    q = out["quota"] or {}
    out["fits_quota"] = None if q.get("remaining") is None else out["characters"] <= q["remaining"]
    return out


def _estimate(session: Session, f: BatchFilter) -> dict[str, Any]:
    n_samples = _count_samples(session, f)
    entries = gl.terms(session)
    # the glossary counts by its terms (as the job will use them), not by the last sync
    options = make_options({"id": None, "hash": gl.terms_hash(entries)} if entries else None)
    out: dict[str, Any] = {"samples": n_samples, "exact": n_samples <= EXACT_ESTIMATE_MAX}
    if out["exact"]:
        conds = _conditions(session, f)
        last, seen = 0, 0
        turns = texts = chars = cached_chars = requests = 0
        sent: set[str] = set()
        while seen < n_samples:
            ids = _sample_ids_after(session, f, conds, last, min(CHUNK_SAMPLES, n_samples - seen))
            if not ids:
                break
            last, seen = ids[-1], seen + len(ids)
            rows = _turn_rows(session, ids, f)
            items: dict[str, Item] = {}
            for r in rows:
                turns += 1
                p = protect(r.source_text)
                if not p.empty:
                    k = cache_key(p.xml, options)
                    items.setdefault(k, Item(k, p.xml))
            hits = cache_get(session, list(items))
            # a text sent in an earlier chunk is a cache hit by the time the job reaches this one
            misses = [it for k, it in items.items() if k not in hits and k not in sent]
            sent.update(it.key for it in misses)
            texts += len(misses)
            chars += sum(it.chars for it in misses)
            cached_chars += sum(it.chars for k, it in items.items() if k in hits)
            requests += len(pack(misses)[0])
        out.update(turns=turns, texts=texts, characters=chars, cached_characters=cached_chars, requests=requests)
    else:
        q = (select(func.count(), func.coalesce(func.sum(func.length(Turn.source_text)), 0))
             .select_from(Turn).join(Sample, Sample.id == Turn.sample_id)
             .where(Turn.source_text.is_not(None), Turn.source_kind == "translation", *_conditions(session, f)))
        turns, chars = session.execute(q).one()
        if f.limit and n_samples:
            total = _count_samples(session, BatchFilter(**{**asdict(f), "limit": None}))
            turns, chars = int(turns * n_samples / max(total, 1)), int(chars * n_samples / max(total, 1))
        out.update(turns=int(turns), texts=int(turns), characters=int(chars), cached_characters=None,
                   requests=-(-int(turns) // MAX_TEXTS))
    return out


# --------------------------------------------------------------------------------------------- batch job

def start_batch(engine: Engine, actor: Actor, filters: BatchFilter | dict[str, Any] | None, apply: bool = False,
                *, background: str | None = "thread", db_url: str | None = None) -> int:
    """Create a batch job and start it (``background``: "thread", "process" or None = caller runs it)."""
    actor.require("translate_batch")
    require_config()
    f = filters if isinstance(filters, BatchFilter) else BatchFilter.from_dict(filters)
    with session_scope(engine) as s:
        total = _count_samples(s, f)
        job_id = jobs.create(s, actor, JOB_KIND, {
            "filters": f.to_dict(), "apply": bool(apply),
            "actor": {"id": actor.id, "username": actor.username, "role": actor.role}}, total=total)
    if background == "thread":
        jobs.start_thread(engine, job_id)
    elif background == "process":
        jobs.start_process(db_url or str(engine.url.render_as_string(hide_password=False)), job_id)
    return job_id


def resume_batch(engine: Engine, actor: Actor, job_id: int, background: str | None = "thread") -> int:
    actor.require("translate_batch")
    require_config()
    with session_scope(engine) as s:
        jobs.resume(s, actor, job_id)
    if background == "thread":
        jobs.start_thread(engine, job_id)
    return job_id


def run_batch(engine: Engine, job_id: int) -> dict[str, Any]:
    """Run (or continue) a queued batch job in this thread; returns the job as a dict."""
    return jobs.run(engine, job_id)


def _manually_edited(session: Session, sample_ids: list[int]) -> set[int]:
    return set(session.scalars(select(Edit.sample_id).where(Edit.sample_id.in_(sample_ids), Edit.kind != "machine")
                               .distinct()))


@jobs.register(JOB_KIND, permission="translate_batch")
def _batch_job(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    f = BatchFilter.from_dict(ctx.params.get("filters"))
    apply = bool(ctx.params.get("apply"))
    a = ctx.params.get("actor") or {}
    actor = Actor(a.get("id"), a.get("username", "cli"), a.get("role", "lead"))
    st = ctx.state
    for k in ("requests", "texts", "billed_characters", "cache_hits", "suggestions", "applied", "unchanged",
              "kept_manual", "failed_turns", "already_suggested"):
        st.setdefault(k, 0)
    st.setdefault("cursor", 0)
    st.setdefault("errors", [])
    deepl = _deepl()
    try:
        with session_scope(engine) as s:
            entries, state = gl.terms(s), gl.synced_state(s)
            conds = _conditions(s, f)
            if not ctx.total:
                ctx.total = _count_samples(s, f)
        state, changed = gl.ensure_remote(deepl, entries, state)  # HTTP outside any transaction
        if changed:
            with session_scope(engine) as s:
                gl.store_state(s, state)
        options = make_options(state)
        ctx.progress(message="translating")
        while ctx.done < ctx.total:
            with session_scope(engine) as s:
                ids = _sample_ids_after(s, f, conds, st["cursor"], min(CHUNK_SAMPLES, ctx.total - ctx.done))
                rows = _turn_rows(s, ids, f) if ids else []
            if not ids:
                break
            _batch_chunk(engine, ctx, deepl, actor, options, ids, rows, apply)
        st["_message"] = (f"done: {st['suggestions']} suggestions, {st['applied']} applied, "
                          f"{st['billed_characters']} characters billed in {st['requests']} requests, "
                          f"{st['cache_hits']} cache hits, {st['failed_turns']} turns failed")
        return st
    finally:
        deepl.close()


def _batch_chunk(engine: Engine, ctx: jobs.JobContext, deepl: DeepL, actor: Actor, options: dict[str, Any],
                 ids: list[int], rows: list[Any], apply: bool) -> None:
    st = ctx.state
    prots: dict[int, tuple[Protected, str]] = {}
    items: dict[str, Item] = {}
    for r in rows:
        p = protect(r.source_text)
        if p.empty:
            continue
        k = cache_key(p.xml, options)
        prots[r.id] = (p, k)
        items.setdefault(k, Item(k, p.xml))
    with session_scope(engine) as s:
        cached = cache_get(s, list(items))
    st["cache_hits"] += len(cached)
    misses = [it for k, it in items.items() if k not in cached]
    batches, too_big = pack(misses)
    rejected: dict[str, str] = {it.key: "text too long for one DeepL request" for it in too_big}

    def save(new_rows: list[dict[str, Any]]) -> None:
        # every answer is committed at once: a crash after this never pays for it again
        with session_scope(engine) as s2:
            cache_put(s2, new_rows)
        cached.update({r["key"]: r["target"] for r in new_rows})
        st["requests"] += 1
        st["texts"] += len(new_rows)
        st["billed_characters"] += sum(r["billed_characters"] for r in new_rows)
        ctx.progress()  # heartbeat; raises Cancelled when someone cancelled the job

    send_batches(deepl, batches, options, save, rejected=lambda it, msg: rejected.__setitem__(it.key, msg))
    stored = {k: v for k, v in options.items() if k != "context"}
    with session_scope(engine) as s:
        manual = _manually_edited(s, ids) if apply else set()
        versions = dict(s.execute(select(Sample.id, Sample.version).where(Sample.id.in_(ids))).tuples().all())
        already = set(s.execute(select(Suggestion.turn_id, Suggestion.text).where(
            Suggestion.sample_id.in_(ids), Suggestion.state == "open", Suggestion.engine == ENGINE)).tuples().all())
        new_suggestions: list[dict[str, Any]] = []
        for r in rows:
            if r.id not in prots:
                continue
            p, k = prots[r.id]
            try:
                if k not in cached:
                    raise KocurateError(rejected.get(k, "no translation"))
                text = restore(cached[k], p)
            except (ProtectionError, KocurateError) as exc:
                st["failed_turns"] += 1
                if len(st["errors"]) < MAX_ERRORS_KEPT:
                    st["errors"].append({"turn_id": r.id, "sample_id": r.sample_id, "error": str(exc)[:300]})
                continue
            if text == r.text:
                st["unchanged"] += 1
                continue
            if not apply and (r.id, text) in already:
                st["already_suggested"] += 1
                continue
            if apply and r.sample_id not in manual:
                from .review import save_edit

                try:
                    versions[r.sample_id] = save_edit(
                        s, actor, r.sample_id, r.id, text, versions[r.sample_id], kind="machine",
                        meta={"engine": ENGINE, "options": stored, "job_id": ctx.job_id})
                    st["applied"] += 1
                    continue
                except StaleVersion:
                    pass  # someone saved meanwhile: leave them a suggestion instead
            elif apply:
                st["kept_manual"] += 1
            new_suggestions.append({"sample_id": r.sample_id, "turn_id": r.id, "text": text, "engine": ENGINE,
                                    "options": stored, "job_id": ctx.job_id,
                                    "based_on_version": versions.get(r.sample_id, 0), "state": "open",
                                    "created_by": actor.id, "created_at": utcnow()})
        if new_suggestions:
            _supersede_open(s, ids, [d["turn_id"] for d in new_suggestions])
            s.execute(insert(Suggestion), new_suggestions)
        st["suggestions"] += len(new_suggestions)
        st["cursor"] = ids[-1]
        ctx.done += len(ids)
        # the chunk's results and the resume point commit together: no duplicates after a crash
        from ..models import Job

        s.execute(update(Job).where(Job.id == ctx.job_id).values(
            done=ctx.done, total=ctx.total, result=dict(st), heartbeat_at=utcnow(), updated_at=utcnow()))
