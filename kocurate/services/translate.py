"""Re-translation with DeepL: one turn, one sample, or a filtered batch as a resumable background
job.

Every text goes through placeholder protection (``kocurate.translate.protect``) and the translation
cache (sha256 over what is sent + the options): a text is paid for once, whatever happens later.
Results are ``Suggestion`` rows shown beside the current Korean; accepting one is an edit of kind
``machine`` in the history. A batch with ``apply`` writes edits directly, but only on samples that
nobody edited by hand (others get a suggestion instead).

A batch job records every turn it could not translate (``JobFailure``): a job with some is "done
with errors", one where every turn failed is "failed"; ``retry_failed`` runs only those turns as a
new job (paid answers come from the cache). An answer that lost its markup is re-sent without it,
piece by piece between the protected spans (``protect.rebuild``). ``max_characters`` stops a job
before a request that would pass the budget (status "stopped", resumable). Job starts go to the
audit log with the estimate the person confirmed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from .. import db
from ..db import session_scope
from ..errors import Conflict, KocurateError, NotFound, StaleVersion, UsageError
from ..i18n import N_
from ..models import (
    CLOSED_FINDING_STATES,
    CheckFinding,
    Dataset,
    Edit,
    Sample,
    Suggestion,
    Turn,
    utcnow,
)
from ..translate import glossary as gl
from ..translate.batching import (
    MAX_TEXTS,
    Item,
    cache_get,
    cache_key,
    cache_put,
    make_options,
    pack,
    send_batches,
)
from ..translate.client import DeepL, TranslateError, load_config, require_config
from ..translate.protect import (
    Protected,
    ProtectionError,
    friendly,
    plain_pieces,
    protect,
    rebuild,
    restore,
)
from . import jobs
from .auth import Actor
from .filters import SampleFilter, resolve_dataset

ENGINE = "deepl"
JOB_KIND = "translate"
CHUNK_SAMPLES = 500  # samples per resume step (all their requests, then one commit)
CONTEXT_CHARS = (
    2000  # other turns of the sample sent as (unbilled) context for a single re-translation
)
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
    from ..checks import REGISTRY

    return sorted(REGISTRY)


def list_batches(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """Recent batch translation jobs with their progress (what the page shows after a reload)."""
    return jobs.list_jobs(session, JOB_KIND, limit)


def cancel_batch(session: Session, actor: Actor, job_id: int) -> None:
    actor.require("translate_batch")
    jobs.cancel(session, actor, job_id)


def _deepl() -> DeepL:
    return DeepL(require_config())


# ---------------------------------------------------------------------------------------------
# filters


@dataclass
class BatchFilter(SampleFilter):
    """Which samples a batch re-translates (only turns with an English source of kind
    "translation")."""

    limit: int | None = None  # at most this many samples
    # also the "reference" turns (an answer written in Korean beside an English one, e.g. KoAlpaca
    # outputs) that have an open finding of ``check`` — an answer left in English, re-translated
    # from the English
    include_reference: bool | None = None


def _dataset_id(session: Session, ref: int | str | None) -> int | None:
    return resolve_dataset(session, ref)


def _conditions(session: Session, f: BatchFilter) -> list[Any]:
    return f.conditions(session)


def _count_samples(session: Session, f: BatchFilter) -> int:
    n = (
        session.scalar(select(func.count()).select_from(Sample).where(*_conditions(session, f)))
        or 0
    )
    return min(n, f.limit) if f.limit else n


def _sample_ids_after(
    session: Session, f: BatchFilter, conds: list[Any], last: int, n: int
) -> list[int]:
    return list(
        session.scalars(
            select(Sample.id).where(Sample.id > last, *conds).order_by(Sample.id).limit(n)
        )
    )


def _turn_rows(
    session: Session,
    sample_ids: list[int],
    f: BatchFilter | None = None,
    retry_of: int | None = None,
) -> list[Any]:
    kind = Turn.source_kind == "translation"
    if f is not None and f.include_reference and f.check:
        flagged = select(CheckFinding.id).where(
            CheckFinding.sample_id == Turn.sample_id,
            CheckFinding.turn_idx == Turn.idx,
            CheckFinding.check == f.check,
            CheckFinding.state.notin_(CLOSED_FINDING_STATES),
        )
        kind = or_(kind, and_(Turn.source_kind == "reference", flagged.exists()))
    q = (
        select(Turn.id, Turn.sample_id, Turn.idx, Turn.text, Turn.source_text)
        .where(Turn.sample_id.in_(sample_ids), Turn.source_text.is_not(None), kind)
        .order_by(Turn.sample_id, Turn.idx)
    )
    if retry_of:  # a retry job takes only the turns that failed
        from ..models import JobFailure

        q = q.where(
            Turn.id.in_(
                select(JobFailure.turn_id).where(
                    JobFailure.job_id == int(retry_of),
                    JobFailure.state == "open",
                    JobFailure.sample_id.in_(sample_ids),
                )
            )
        )
    return session.execute(q).all()


# ---------------------------------------------------------------------------------------------
# glossary


def glossary_terms(session: Session) -> list[dict[str, Any]]:
    from ..models import GlossaryTerm

    return [
        {"id": t.id, "source": t.source_term, "target": t.target_term, "note": t.note}
        for t in session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.source_term))
    ]


def glossary_import(
    session: Session, actor: Actor, data: str | bytes, replace: bool = False
) -> dict[str, int]:
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
            raise gl.GlossaryError(msgid=N_("row {n}: the term {s!r} is there twice"), n=n, s=s)
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
    return {
        "terms": len(current),
        "synced": bool(state) and state.get("hash") == gl.terms_hash(current),
        "glossary_id": state.get("id"),
        "synced_at": state.get("synced_at"),
    }


# --------------------------------------------------------------------------------------------- one
# turn / sample


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
    with db.read_session(session.get_bind()) as rs:
        yield rs


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
            others = rs.scalars(
                select(Turn.source_text)
                .where(
                    Turn.sample_id == t.sample_id, Turn.id != t.id, Turn.source_text.is_not(None)
                )
                .order_by(Turn.idx)
            )
            ctx = "\n".join(o for o in others if o)[:CONTEXT_CHARS] or None
        out.append(
            {"id": t.id, "sample_id": t.sample_id, "source": t.source_text or "", "context": ctx}
        )
    return out


class _Lazy:
    """The DeepL connection, opened (and the glossary synced) only when a request is needed."""

    def __init__(self, entries: dict[str, str], state: dict[str, Any] | None) -> None:
        self.entries, self.state, self.state_changed = entries, state, False
        self.deepl: DeepL | None = None

    def __call__(self) -> DeepL:
        if self.deepl is None:
            self.deepl = _deepl()
            self.state, self.state_changed = gl.ensure_remote(self.deepl, self.entries, self.state)
        return self.deepl

    def close(self) -> None:
        if self.deepl is not None:
            self.deepl.close()


def _plain_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options for the fallback without markup (no tag handling; everything else as before)."""
    out = {
        k: v
        for k, v in options.items()
        if k not in ("tag_handling", "splitting_tags", "outline_detection")
    }
    out["markup"] = "none"  # part of the cache key only (not a DeepL parameter)
    return out


def _translate_all(
    client: Any,
    options: dict[str, Any],
    wanted: dict[str, Protected],
    cached: dict[str, str],
    save: Any,
    lookup: Any,
    rejected: dict[str, str],
    should_stop: Any = None,
    fallback: set[str] | None = None,
) -> dict[str, tuple[str | None, str | None]]:
    """(text, error) per key of ``wanted`` from the cached answers. An answer that lost the markup
    (or a protected span) is retried without the wrapper: each piece between protected spans goes
    as plain text and the text is rebuilt here around the original spans (see ``protect.rebuild``).
    """
    out: dict[str, tuple[str | None, str | None]] = {}
    retry: dict[str, tuple[Protected, ProtectionError]] = {}
    for k, p in wanted.items():
        if k not in cached:
            out[k] = (None, rejected.get(k, "not translated (the job stopped before this text)"))
            continue
        try:
            out[k] = (restore(cached[k], p), None)
        except ProtectionError as exc:
            retry[k] = (p, exc)
    if not retry:
        return out
    if fallback is not None:
        fallback.update(retry)
    popts = _plain_options(options)
    items: dict[str, Item] = {}
    for p, _ in retry.values():
        for piece in plain_pieces(p):
            pk = cache_key(piece, popts)
            items.setdefault(pk, Item(pk, piece))
    have = lookup(list(items))
    misses = [it for k, it in items.items() if k not in have]
    if misses:
        batches, too_big = pack(misses)
        for it in too_big:
            rejected[it.key] = "a piece too long for one DeepL request"

        def keep(rows: list[dict[str, Any]]) -> None:
            have.update({r["key"]: r["target"] for r in rows})
            save(rows)

        send_batches(
            client(),
            batches,
            popts,
            keep,
            should_stop=should_stop,
            rejected=lambda it, msg: rejected.__setitem__(it.key, msg),
        )
    for k, (p, exc) in retry.items():
        try:
            out[k] = (
                rebuild(p, {piece: have[cache_key(piece, popts)] for piece in plain_pieces(p)}),
                None,
            )
        except KeyError:
            out[k] = (None, friendly(exc))
    return out


def _run_small(session: Session, actor: Actor, job: _Job) -> list[Suggestion]:
    """Translate a few turns (cache first; only misses go to DeepL) and store them as
    suggestions."""
    h = gl.terms_hash(job.entries) if job.entries else None
    # context is request-wide: one turn with context, or several turns without
    context = job.turns[0]["context"] if len(job.turns) == 1 else None
    key_opts = make_options({"id": None, "hash": h} if h else None, context)
    prots = [protect(t["source"]) for t in job.turns]
    keys = [cache_key(p.xml, key_opts) for p in prots]
    wanted = {k: p for k, p in zip(keys, prots, strict=True) if not p.empty}
    with _reading(session) as rs:
        cached = cache_get(rs, list(wanted))
    new_rows: list[dict[str, Any]] = []
    rejected: dict[str, str] = {}

    def save(rows: list[dict[str, Any]]) -> None:
        new_rows.extend(rows)
        cached.update({r["key"]: r["target"] for r in rows})

    def lookup(ks: list[str]) -> dict[str, str]:
        with _reading(session) as rs:
            return cache_get(rs, ks)

    client = _Lazy(job.entries, job.state)
    try:
        misses: dict[str, Item] = {k: Item(k, p.xml) for k, p in wanted.items() if k not in cached}
        if misses:
            client()  # the glossary state decides the options
            batches, too_big = pack(list(misses.values()))
            if too_big:
                raise KocurateError(
                    msgid=N_(
                        "a text is too long for one DeepL request ({xml:,} characters); the current"
                        " Korean is kept: split the turn or fix it by hand"
                    ),
                    xml=len(too_big[0].xml),
                )
            send_batches(
                client(),
                batches,
                make_options(client.state, context),
                save,
                rejected=lambda it, msg: rejected.__setitem__(it.key, msg),
            )
        results = _translate_all(
            client, make_options(client.state, context), wanted, cached, save, lookup, rejected
        )
    finally:
        client.close()
    state, state_changed = client.state, client.state_changed
    failed = [(i, results[k][1]) for i, k in enumerate(keys) if k in results and results[k][1]]
    if failed:
        if new_rows and not session.in_transaction():
            # what was paid for stays in the cache even though nothing is suggested
            with Session(bind=session.get_bind()) as s2, s2.begin():
                cache_put(s2, new_rows)
        i, err = failed[0]
        where = f"turn {job.turns[i]['id']}: " if len(job.turns) > 1 else ""
        raise KocurateError(f"{where}{err}")
    options = make_options(state, context)
    texts = [
        results[k][0] if not p.empty else restore("", p) for k, p in zip(keys, prots, strict=True)
    ]
    # the write phase: short, in the caller's transaction
    if state_changed:
        gl.store_state(session, state)
    cache_put(session, new_rows)
    sample_ids = [t["sample_id"] for t in job.turns]
    _supersede_open(session, sample_ids, [t["id"] for t in job.turns])
    out = []
    for t, text in zip(job.turns, texts, strict=True):
        sug = Suggestion(
            sample_id=t["sample_id"],
            turn_id=t["id"],
            text=text,
            engine=ENGINE,
            options=_stored_options(options),
            based_on_version=job.version,
            state="open",
            created_by=actor.id,
            created_at=utcnow(),
        )
        session.add(sug)
        out.append(sug)
    session.flush()
    return out


def _supersede_open(session: Session, sample_ids: list[int], turn_ids: list[int]) -> None:
    """A new suggestion for a turn replaces its older open ones (sample_id first: the indexed
    column)."""
    if turn_ids:
        session.execute(
            update(Suggestion)
            .where(
                Suggestion.sample_id.in_(sorted(set(sample_ids))),
                Suggestion.state == "open",
                Suggestion.turn_id.in_(turn_ids),
                Suggestion.engine == ENGINE,
            )
            .values(state="rejected")
        )


def retranslate_turn(session: Session, actor: Actor, turn_id: int) -> Suggestion:
    """Re-translate one turn from its English source (the sample's other English turns go along as
    unbilled context); the result is an open suggestion."""
    actor.require("translate_one")
    require_config()
    with _reading(session) as rs:
        turn = rs.get(Turn, turn_id)
        if turn is None:
            raise NotFound(msgid=N_("no turn {turn_id}"), turn_id=turn_id)
        if not turn.source_text:
            raise KocurateError(msgid=N_("this turn has no English source to translate from"))
        job = _Job(
            _read_turns(rs, [turn], with_context=True),
            rs.scalar(select(Sample.version).where(Sample.id == turn.sample_id)) or 0,
            gl.terms(rs),
            gl.synced_state(rs),
        )
    return _run_small(session, actor, job)[0]


def retranslate_sample(session: Session, actor: Actor, sample_id: int) -> list[Suggestion]:
    """Re-translate every turn of a sample that has an English source (one request, cache first)."""
    actor.require("translate_one")
    require_config()
    with _reading(session) as rs:
        version = rs.scalar(select(Sample.version).where(Sample.id == sample_id))
        if version is None:
            raise NotFound(msgid=N_("no sample {sample_id}"), sample_id=sample_id)
        turns = [
            t
            for t in rs.scalars(select(Turn).where(Turn.sample_id == sample_id).order_by(Turn.idx))
            if t.source_text
        ]
        if not turns:
            raise KocurateError(msgid=N_("this sample has no English source to translate from"))
        job = _Job(
            _read_turns(rs, turns, with_context=False), version, gl.terms(rs), gl.synced_state(rs)
        )
    return _run_small(session, actor, job)


def open_suggestions(session: Session, sample_id: int) -> list[dict[str, Any]]:
    """Open suggestions of a sample with the current Korean and a plain-text diff, by turn order."""
    from .review import diff_text

    rows = session.execute(
        select(Suggestion, Turn.idx, Turn.role, Turn.text)
        .join(Turn, Turn.id == Suggestion.turn_id)
        .where(Suggestion.sample_id == sample_id, Suggestion.state == "open")
        .order_by(Turn.idx, Suggestion.id)
    ).all()
    return [
        {
            "id": s.id,
            "turn_id": s.turn_id,
            "turn_idx": idx,
            "role": role,
            "text": s.text,
            "current": cur,
            "diff": diff_text(cur, s.text, old_name="current", new_name="DeepL"),
            "engine": s.engine,
            "options": s.options,
            "based_on_version": s.based_on_version,
            "job_id": s.job_id,
            "created_at": s.created_at.isoformat(timespec="seconds"),
        }
        for s, idx, role, cur in rows
    ]


def accept_suggestion(
    session: Session, actor: Actor, suggestion_id: int, expected_version: int
) -> int:
    """Apply a suggestion as an edit of kind ``machine``; returns the new sample version."""
    from .review import save_edit

    actor.require("translate_one")
    sug = session.get(Suggestion, suggestion_id)
    if sug is None:
        raise NotFound(msgid=N_("no suggestion {suggestion_id}"), suggestion_id=suggestion_id)
    if sug.state != "open":
        raise Conflict(
            msgid=N_("suggestion {suggestion_id} is already {state}"),
            suggestion_id=suggestion_id,
            state=sug.state,
        )
    version = save_edit(
        session,
        actor,
        sug.sample_id,
        sug.turn_id,
        sug.text,
        expected_version,
        kind="machine",
        meta={
            "engine": sug.engine,
            "options": sug.options,
            "suggestion_id": sug.id,
            "job_id": sug.job_id,
        },
    )
    sug.state = "accepted"
    session.flush()
    return version


def reject_suggestion(session: Session, actor: Actor, suggestion_id: int) -> None:
    actor.require("translate_one")
    sug = session.get(Suggestion, suggestion_id)
    if sug is None:
        raise NotFound(msgid=N_("no suggestion {suggestion_id}"), suggestion_id=suggestion_id)
    if sug.state != "open":
        raise Conflict(
            msgid=N_("suggestion {suggestion_id} is already {state}"),
            suggestion_id=suggestion_id,
            state=sug.state,
        )
    sug.state = "rejected"
    session.flush()


# ---------------------------------------------------------------------------------------------
# estimate


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


def estimate(
    session: Session, actor: Actor, filters: BatchFilter | dict[str, Any] | None
) -> dict[str, Any]:
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
        out.update(
            turns=turns,
            texts=texts,
            characters=chars,
            cached_characters=cached_chars,
            requests=requests,
        )
    else:
        q = (
            select(func.count(), func.coalesce(func.sum(func.length(Turn.source_text)), 0))
            .select_from(Turn)
            .join(Sample, Sample.id == Turn.sample_id)
            .where(
                Turn.source_text.is_not(None),
                Turn.source_kind == "translation",
                *_conditions(session, f),
            )
        )
        turns, chars = session.execute(q).one()
        if f.limit and n_samples:
            total = _count_samples(session, dataclasses.replace(f, limit=None))
            turns, chars = (
                int(turns * n_samples / max(total, 1)),
                int(chars * n_samples / max(total, 1)),
            )
        out.update(
            turns=int(turns),
            texts=int(turns),
            characters=int(chars),
            cached_characters=None,
            requests=-(-int(turns) // MAX_TEXTS),
        )
    return out


# ---------------------------------------------------------------------------------------------
# batch job


def start_batch(
    engine: Engine,
    actor: Actor,
    filters: BatchFilter | dict[str, Any] | None,
    apply: bool = False,
    *,
    background: str | None = "thread",
    db_url: str | None = None,
    max_characters: int | None = None,
    estimate: dict[str, Any] | None = None,
) -> int:
    """Create a batch job and start it (``background``: "thread", "process" or None = caller runs
    it).

    ``max_characters``: the job stops (status "stopped", resumable) before a request that would bill
    more than this in total. ``estimate`` (what the person confirmed) goes into the audit log with
    the job start."""
    actor.require("translate_batch")
    require_config()
    if max_characters is not None and max_characters < 1:
        raise UsageError(msgid=N_("the character budget must be at least 1"))
    f = filters if isinstance(filters, BatchFilter) else BatchFilter.from_dict(filters)
    with session_scope(engine) as s:
        total = _count_samples(s, f)
        if total == 0:
            raise KocurateError(msgid=N_("no sample matches these filters: nothing to translate"))
        job_id = jobs.create(
            s,
            actor,
            JOB_KIND,
            {
                "filters": f.to_dict(),
                "apply": bool(apply),
                "max_characters": max_characters,
                "actor": {"id": actor.id, "username": actor.username, "role": actor.role},
            },
            total=total,
        )
        _audit_start(s, actor, job_id, f, estimate, max_characters)
    jobs.start(engine, job_id, background, db_url)
    return job_id


def _audit_start(
    s: Session,
    actor: Actor,
    job_id: int,
    f: BatchFilter,
    est: dict[str, Any] | None,
    max_characters: int | None,
    retry_of: int | None = None,
) -> None:
    from . import audit

    est = est or {}
    audit.record(
        s,
        actor,
        "job_start",
        dataset_id=_dataset_id(s, f.dataset),
        target=f"job {job_id}",
        kind=JOB_KIND,
        paid=True,
        filters=f.to_dict(),
        retry_of=retry_of,
        estimated_characters=est.get("characters"),
        estimated_cost_eur=est.get("estimated_cost_eur"),
        quota_remaining=(est.get("quota") or {}).get("remaining"),
        max_characters=max_characters,
    )


def resume_batch(
    engine: Engine,
    actor: Actor,
    job_id: int,
    background: str | None = "thread",
    max_characters: int | None = None,
) -> int:
    """Continue a failed, stopped, cancelled or dead job; ``max_characters`` replaces its budget."""
    actor.require("translate_batch")
    require_config()
    with session_scope(engine) as s:
        jobs.resume(s, actor, job_id)
        if max_characters is not None:
            from ..models import Job

            job = s.get(Job, job_id)
            if job is not None:
                job.params = {**(job.params or {}), "max_characters": max_characters}
    jobs.start(engine, job_id, background)
    return job_id


def failed_turns(
    session: Session, job_id: int, limit: int = 50, after_id: int = 0
) -> list[dict[str, Any]]:
    """The turns a job could not translate (open = not retried yet), keyset-paged by id."""
    from ..models import JobFailure

    rows = session.execute(
        select(
            JobFailure.id,
            JobFailure.turn_id,
            JobFailure.sample_id,
            JobFailure.error,
            JobFailure.state,
            Sample.dataset_id,
            Turn.idx,
        )
        .join(Sample, Sample.id == JobFailure.sample_id)
        .join(Turn, Turn.id == JobFailure.turn_id)
        .where(JobFailure.job_id == job_id, JobFailure.id > after_id)
        .order_by(JobFailure.id)
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "turn_id": r.turn_id,
            "sample_id": r.sample_id,
            "dataset_id": r.dataset_id,
            "turn_idx": r.idx,
            "error": r.error,
            "state": r.state,
        }
        for r in rows
    ]


def count_failed_turns(session: Session, job_id: int, state: str | None = "open") -> int:
    from ..models import JobFailure

    q = select(func.count()).select_from(JobFailure).where(JobFailure.job_id == job_id)
    if state:
        q = q.where(JobFailure.state == state)
    return session.scalar(q) or 0


def retry_failed(
    engine: Engine,
    actor: Actor,
    job_id: int,
    *,
    background: str | None = "thread",
    db_url: str | None = None,
    max_characters: int | None = None,
) -> int:
    """A new job over only the open failed turns of ``job_id``. Answers already paid for come from
    the cache (an answer that lost its markup is re-sent in pieces without it): nothing is billed
    twice.
    """
    from ..models import Job, JobFailure

    actor.require("translate_batch")
    require_config()
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None or job.kind != JOB_KIND:
            raise NotFound(msgid=N_("no batch translation job {job_id}"), job_id=job_id)
        if job.status in ("queued", "running") and not jobs.is_dead(job):
            raise Conflict(
                msgid=N_(
                    "job {job_id} is still {status}; retry its failed turns when it has ended"
                ),
                job_id=job_id,
                status=job.status,
            )
        n_samples, chars = s.execute(
            select(
                func.count(func.distinct(JobFailure.sample_id)),
                func.coalesce(func.sum(func.length(Turn.source_text)), 0),
            )
            .join(Turn, Turn.id == JobFailure.turn_id)
            .where(JobFailure.job_id == job_id, JobFailure.state == "open")
        ).one()
        if not n_samples:
            raise KocurateError(
                msgid=N_("job {job_id} has no failed turns left to retry"), job_id=job_id
            )
        params = dict(job.params or {})
        new_id = jobs.create(
            s,
            actor,
            JOB_KIND,
            {
                "filters": params.get("filters") or {},
                "apply": bool(params.get("apply")),
                "retry_of": job_id,
                "max_characters": max_characters,
                "actor": {"id": actor.id, "username": actor.username, "role": actor.role},
            },
            total=int(n_samples),
        )
        f = BatchFilter.from_dict(params.get("filters"))
        _audit_start(
            s,
            actor,
            new_id,
            f,
            {
                "characters": int(chars),
                "estimated_cost_eur": round(int(chars) * eur_per_million() / 1e6, 2),
            },
            max_characters,
            job_id,
        )
    jobs.start(engine, new_id, background, db_url)
    return new_id


def open_suggestion_counts(session: Session, job_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Open suggestions of each job per dataset: {job: [{dataset_id, dataset, n}]} (for the review
    links ``review?dataset=ID&job=JOB``); one grouped query on the (job_id, state) index."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(Suggestion.job_id, Sample.dataset_id, Dataset.name, func.count())
        .join(Sample, Sample.id == Suggestion.sample_id)
        .join(Dataset, Dataset.id == Sample.dataset_id)
        .where(Suggestion.job_id.in_(job_ids), Suggestion.state == "open")
        .group_by(Suggestion.job_id, Sample.dataset_id, Dataset.name)
        .order_by(Sample.dataset_id)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {j: [] for j in job_ids}
    for job_id, ds_id, name, n in rows:
        out[job_id].append({"dataset_id": ds_id, "dataset": name, "n": int(n)})
    return out


def describe_filters(filters: dict[str, Any] | None) -> str:
    """Job filters in words ("dataset koalpaca · check untranslated · at most 100 samples")."""
    f = filters or {}
    parts = []
    if f.get("dataset") not in (None, ""):
        parts.append(f"dataset {f['dataset']}")
    for key, word in (("check", "check"), ("flag", "flag"), ("status", "status")):
        if f.get(key):
            parts.append(f"{word} {f[key]}")
    if f.get("sample_ids"):
        ids = [str(i) for i in f["sample_ids"]]
        parts.append(
            "samples " + ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        )
    if f.get("limit"):
        parts.append(f"at most {int(f['limit']):,} samples")
    return " · ".join(parts) or "all samples"


def run_batch(engine: Engine, job_id: int) -> dict[str, Any]:
    """Run (or continue) a queued batch job in this thread; returns the job as a dict."""
    return jobs.run(engine, job_id)


def _manually_edited(session: Session, sample_ids: list[int]) -> set[int]:
    return set(
        session.scalars(
            select(Edit.sample_id)
            .where(Edit.sample_id.in_(sample_ids), Edit.kind != "machine")
            .distinct()
        )
    )


def _retry_conditions(retry_of: int) -> list[Any]:
    from ..models import JobFailure

    return [
        Sample.id.in_(
            select(JobFailure.sample_id).where(
                JobFailure.job_id == retry_of, JobFailure.state == "open"
            )
        )
    ]


@jobs.register(JOB_KIND, permission="translate_batch")
def _batch_job(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    f = BatchFilter.from_dict(ctx.params.get("filters"))
    apply = bool(ctx.params.get("apply"))
    retry_of = ctx.params.get("retry_of")
    a = ctx.params.get("actor") or {}
    actor = Actor(a.get("id"), a.get("username", "cli"), a.get("role", "lead"))
    st = ctx.state
    for k in (
        "requests",
        "texts",
        "billed_characters",
        "cache_hits",
        "suggestions",
        "applied",
        "unchanged",
        "kept_manual",
        "failed_turns",
        "already_suggested",
        "fallback_turns",
    ):
        st.setdefault(k, 0)
    st.setdefault("cursor", 0)
    st.setdefault("errors", [])
    deepl = _deepl()
    try:
        with session_scope(engine) as s:
            entries, state = gl.terms(s), gl.synced_state(s)
            conds = _retry_conditions(int(retry_of)) if retry_of else _conditions(s, f)
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
                ids = _sample_ids_after(
                    s, f, conds, st["cursor"], min(CHUNK_SAMPLES, ctx.total - ctx.done)
                )
                rows = _turn_rows(s, ids, f, retry_of) if ids else []
            if not ids:
                break
            _batch_chunk(engine, ctx, deepl, actor, options, ids, rows, apply)
        ok = st["suggestions"] + st["applied"] + st["unchanged"] + st["already_suggested"]
        summary = (
            f"{st['suggestions']:,} suggestions, {st['applied']:,} applied, {st['unchanged']:,}"
            f" unchanged, {st['failed_turns']:,} turns failed; {st['billed_characters']:,}"
            f" characters billed in {st['requests']:,} requests, {st['cache_hits']:,} cache hits"
        )
        if st["failed_turns"] and not ok:
            st["_status"] = "failed"
            first = st["errors"][0]["error"] if st["errors"] else ""
            st["_message"] = (
                f"failed: every turn failed ({summary}). First error: {first} "
                "Fix the cause, then use “Retry failed turns” (kocurate translate retry "
                f"{ctx.job_id}): answers already paid for are not billed again."
            )
        elif st["failed_turns"]:
            st["_message"] = (
                f"done with errors: {summary}. The failed turns keep their Korean text; "
                f"retry them with “Retry failed turns” (kocurate translate retry {ctx.job_id})."
            )
        else:
            st["_message"] = f"done: {summary}"
        return st
    finally:
        deepl.close()


class _Budget:
    """Stops before a request that would take the job past ``max_characters`` billed."""

    def __init__(self, st: dict[str, Any], cap: int | None) -> None:
        self.st, self.cap, self.hit = st, cap, False

    def __call__(self, batch: list[Item]) -> bool:
        if (
            self.cap is not None
            and self.st["billed_characters"] + sum(it.chars for it in batch) > self.cap
        ):
            self.hit = True
        return self.hit


def _batch_chunk(
    engine: Engine,
    ctx: jobs.JobContext,
    deepl: DeepL,
    actor: Actor,
    options: dict[str, Any],
    ids: list[int],
    rows: list[Any],
    apply: bool,
) -> None:
    from ..models import JobFailure

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
    rejected: dict[str, str] = {
        it.key: (
            "the text is too long for one DeepL request; the current Korean is kept "
            "(split the turn or fix it by hand)"
        )
        for it in too_big
    }

    def save(new_rows: list[dict[str, Any]]) -> None:
        # every answer is committed at once: a crash after this never pays for it again
        with session_scope(engine) as s2:
            cache_put(s2, new_rows)
        cached.update({r["key"]: r["target"] for r in new_rows})
        st["requests"] += 1
        st["texts"] += len(new_rows)
        st["billed_characters"] += sum(r["billed_characters"] for r in new_rows)
        ctx.progress()  # heartbeat; raises Cancelled when someone cancelled the job

    def lookup(keys: list[str]) -> dict[str, str]:
        with session_scope(engine) as s2:
            return cache_get(s2, keys)

    budget = _Budget(st, ctx.params.get("max_characters"))
    send_batches(
        deepl,
        batches,
        options,
        save,
        should_stop=budget,
        rejected=lambda it, msg: rejected.__setitem__(it.key, msg),
    )
    if budget.hit:
        # only samples whose every text was answered are finished; the job stops before the first
        # other
        ready = []
        for sid in ids:
            if all(prots[r.id][1] in cached for r in rows if r.sample_id == sid and r.id in prots):
                ready.append(sid)
            else:
                break
        ids, rows = ready, [r for r in rows if r.sample_id in set(ready)]
    wanted = {prots[r.id][1]: prots[r.id][0] for r in rows if r.id in prots}
    fallback: set[str] = set()
    results = (
        _translate_all(
            lambda: deepl,
            options,
            wanted,
            cached,
            save,
            lookup,
            rejected,
            should_stop=budget,
            fallback=fallback,
        )
        if ids
        else {}
    )
    stored = {k: v for k, v in options.items() if k != "context"}
    retry_of = ctx.params.get("retry_of")
    with session_scope(engine) as s:
        manual = _manually_edited(s, ids) if apply and ids else set()
        versions = dict(
            s.execute(select(Sample.id, Sample.version).where(Sample.id.in_(ids))).tuples().all()
        )
        already = set(
            s.execute(
                select(Suggestion.turn_id, Suggestion.text).where(
                    Suggestion.sample_id.in_(ids),
                    Suggestion.state == "open",
                    Suggestion.engine == ENGINE,
                )
            )
            .tuples()
            .all()
        )
        new_suggestions: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for r in rows:
            if r.id not in prots:
                continue
            p, k = prots[r.id]
            text, err = results.get(k, (None, "not translated"))
            if k in fallback and text is not None:
                st["fallback_turns"] += 1
            if err is not None or text is None:
                st["failed_turns"] += 1
                failures.append(
                    {
                        "job_id": ctx.job_id,
                        "turn_id": r.id,
                        "sample_id": r.sample_id,
                        "error": str(err)[:2000],
                        "state": "open",
                        "created_at": utcnow(),
                    }
                )
                if len(st["errors"]) < MAX_ERRORS_KEPT:
                    st["errors"].append(
                        {"turn_id": r.id, "sample_id": r.sample_id, "error": str(err)[:300]}
                    )
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
                        s,
                        actor,
                        r.sample_id,
                        r.id,
                        text,
                        versions[r.sample_id],
                        kind="machine",
                        meta={"engine": ENGINE, "options": stored, "job_id": ctx.job_id},
                    )
                    st["applied"] += 1
                    continue
                except StaleVersion:
                    pass  # someone saved meanwhile: leave them a suggestion instead
            elif apply:
                st["kept_manual"] += 1
            new_suggestions.append(
                {
                    "sample_id": r.sample_id,
                    "turn_id": r.id,
                    "text": text,
                    "engine": ENGINE,
                    "options": stored,
                    "job_id": ctx.job_id,
                    "based_on_version": versions.get(r.sample_id, 0),
                    "state": "open",
                    "created_by": actor.id,
                    "created_at": utcnow(),
                }
            )
        if new_suggestions:
            _supersede_open(s, ids, [d["turn_id"] for d in new_suggestions])
            s.execute(insert(Suggestion), new_suggestions)
        if failures:
            s.execute(insert(JobFailure), failures)
        if retry_of and rows:
            # the original job's failures taken up here are retried (new failures are this job's)
            s.execute(
                update(JobFailure)
                .where(
                    JobFailure.job_id == int(retry_of),
                    JobFailure.state == "open",
                    JobFailure.turn_id.in_([r.id for r in rows]),
                )
                .values(state="retried")
            )
        st["suggestions"] += len(new_suggestions)
        if ids:
            st["cursor"] = ids[-1]
        ctx.done += len(ids)
        ctx.checkpoint(s)
    if budget.hit:
        raise jobs.Stopped(
            msgid=N_(
                "stopped at the budget: {billed_characters:,} characters "
                "billed of at most {max_characters:,}. Everything translated so far "
                "is saved ({done:,} of {total:,} samples); resume with a "
                "larger budget (kocurate translate resume {job_id} "
                "--max-characters N) to continue."
            ),
            billed_characters=st["billed_characters"],
            max_characters=ctx.params.get("max_characters"),
            done=ctx.done,
            total=ctx.total,
            job_id=ctx.job_id,
        )
