"""The LLM review assistant: grade translations (check family ``llm_quality``) and suggest fixes.

On demand only (never on import): one turn from the review screen, or a filtered batch as a
resumable background job of kind ``llm`` (the same filters as DeepL batches). Every turn goes
through the cache keyed by (prompt version, task, model, text), so a re-run sends nothing.

* **Grades** are MQM-style errors (category × severity, span, a one-line reason in Korean) stored as
  ``CheckFinding`` rows of check ``llm_quality`` (minor → info, major → warning, critical → error)
  with the model, prompt version and cost in ``data``; they show, filter and count like other
  findings. The latest grade of each turn (also "no errors") is an ``LLMGrade`` row, which
  ``evaluate`` compares with the human decisions.
* **Suggestions** are ``Suggestion`` rows of engine ``llm`` beside DeepL's (same accept / dismiss /
  diff flow). The English goes through the same placeholder protection as for DeepL and the answer
  is verified by ``restore``: a changed code block, URL or placeholder is an error, never a
  suggestion.
* **Batches**: estimate (tokens, cost from the price table), a concurrency limit, a budget cap
(USD),
  progress, resume after a crash or a stop (the resume point commits with each chunk's results, and
  every answer is cached the moment it arrives: nothing is paid twice).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, and_, case, delete, distinct, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import ConfigError, KocurateError, NotFound, UsageError
from ..i18n import N_
from ..llm import CHECK, LLM, PROMPT_VERSION
from ..llm import config as llm_config
from ..llm.batching import (
    GRADE_OUTPUT_TOKENS,
    Item,
    cache_key,
    estimate_request,
    estimate_tokens,
    max_items,
    pack,
    request_items,
)
from ..llm.client import LLMError, MalformedAnswer, RequestRejected
from ..llm.prompts import grade_item, suggest_item, system_message
from ..llm.schema import FINDING_SEVERITY, GradeError, parse_grades, parse_suggestions, worst
from ..models import (
    CLOSED_FINDING_STATES,
    CheckFinding,
    Edit,
    Job,
    LLMCache,
    LLMGrade,
    Sample,
    Suggestion,
    Turn,
    utcnow,
)
from ..translate.protect import ProtectionError, protect, restore
from . import audit, jobs
from .auth import Actor

# one sample filter for batch jobs: the DeepL batch's (private helpers, shared rather than copied)
from .translate import (
    BatchFilter,
    _conditions,
    _count_samples,
    _reading,
    _sample_ids_after,
)  # noqa: F401

ENGINE = "llm"
JOB_KIND = "llm"
TASKS = ("grade", "suggest")
CHUNK_SAMPLES = 200  # samples per resume step
EXACT_ESTIMATE_MAX = 20_000  # above this many samples the estimate sums lengths in SQL
MAX_ERRORS_KEPT = 50

__all__ = [
    "CHECK",
    "BatchFilter",
    "cancel_batch",
    "configured",
    "estimate",
    "evaluate",
    "grade_turn",
    "how_to_configure",
    "list_batches",
    "resume_batch",
    "run_batch",
    "start_batch",
    "suggest_fix",
    "turn_grades",
    "turn_state",
]


def config_problem() -> str | None:
    """None when the LLM is configured and its settings are valid; else what to do about it."""
    try:
        cfg = llm_config.load_config()
        llm_config.price_table()
    except ConfigError as exc:
        return str(exc)
    return None if cfg is not None else llm_config.HOW_TO_CONFIGURE


def configured() -> bool:
    return config_problem() is None


def how_to_configure() -> str:
    """How to set the LLM up (or what is wrong with its settings)."""
    return config_problem() or llm_config.HOW_TO_CONFIGURE


def settings_summary() -> dict[str, Any] | None:
    """What a page may show about the configuration: model and server (without any user:password in
    the URL), never the key. None when not configured or invalid (``how_to_configure`` says why)."""
    if config_problem() is not None:
        return None
    cfg = llm_config.require_config()
    price = llm_config.price_for(cfg.model)
    u = urlsplit(cfg.base_url)
    shown = (
        urlunsplit(u._replace(netloc=u.hostname + (f":{u.port}" if u.port else "")))
        if u.hostname
        else "?"
    )
    return {
        "model": cfg.model,
        "base_url": shown,
        "concurrency": cfg.concurrency,
        "price_usd_per_million": list(price) if price else None,
    }


def _task(task: str) -> str:
    if task not in TASKS:
        raise UsageError(
            msgid=N_("unknown task {task!r}; one of {tasks}"), task=task, tasks=", ".join(TASKS)
        )
    return task


def _filter(filters: BatchFilter | dict[str, Any] | None) -> BatchFilter:
    return filters if isinstance(filters, BatchFilter) else BatchFilter.from_dict(filters)


# ---------------------------------------------------------------------------------------------
# cache


def cache_get(session: Session, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Cached per-turn answers by key (IN lists of ≤ 500 keys on the unique index)."""
    keys = list(dict.fromkeys(keys))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        for k, resp in session.execute(
            select(LLMCache.key, LLMCache.response).where(LLMCache.key.in_(keys[i : i + 500]))
        ):
            out[k] = resp
    return out


def cache_put(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert cache rows; a key someone stored meanwhile is kept (the same answer, paid once)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LLMCache)
    session.execute(ins.on_conflict_do_nothing(index_elements=["key"]), rows)


# ---------------------------------------------------------------------------------------------
# items


@dataclass
class _TurnRow:
    id: int
    sample_id: int
    dataset_id: int
    idx: int
    role: str
    text: str
    source_text: str


def _turn_rows(
    session: Session, sample_ids: list[int] | None = None, turn_ids: list[int] | None = None
) -> list[_TurnRow]:
    """Turns that were machine-translated from an English source (the only ones there is to
    grade)."""
    q = (
        select(
            Turn.id,
            Turn.sample_id,
            Sample.dataset_id,
            Turn.idx,
            Turn.role,
            Turn.text,
            Turn.source_text,
        )
        .join(Sample, Sample.id == Turn.sample_id)
        .where(Turn.source_text.is_not(None), Turn.source_kind == "translation")
    )
    if sample_ids is not None:
        q = q.where(Turn.sample_id.in_(sample_ids))
    if turn_ids is not None:
        q = q.where(Turn.id.in_(turn_ids))
    return [_TurnRow(*r) for r in session.execute(q.order_by(Turn.sample_id, Turn.idx)).all()]


def _open_problems(session: Session, rows: list[_TurnRow]) -> dict[tuple[int, int], list[str]]:
    """Open LLM findings per (sample, turn idx): they go along with a fix request as known
    problems."""
    if not rows:
        return {}
    out: dict[tuple[int, int], list[str]] = {}
    q = (
        select(CheckFinding.sample_id, CheckFinding.turn_idx, CheckFinding.message)
        .where(
            CheckFinding.sample_id.in_(sorted({r.sample_id for r in rows})),
            CheckFinding.check == CHECK,
            CheckFinding.state.notin_(CLOSED_FINDING_STATES),
        )
        .order_by(CheckFinding.id)
    )
    for sid, idx, msg in session.execute(q):
        out.setdefault((sid, idx), []).append(msg)
    return out


@dataclass
class _Work:
    """The items of one task over some turns: per turn its cache key (and for suggestions the
    protection)."""

    task: str
    model: str
    rows: list[_TurnRow]
    keys: dict[int, str] = field(default_factory=dict)  # turn id -> cache key
    items: dict[str, Item] = field(default_factory=dict)  # cache key -> item
    protected: dict[int, Any] = field(default_factory=dict)  # turn id -> Protected (suggest)


def _build(session: Session, task: str, model: str, rows: list[_TurnRow]) -> _Work:
    w = _Work(task, model, rows)
    problems = _open_problems(session, rows) if task == "suggest" else {}
    for r in rows:
        if task == "grade":
            payload = grade_item("", r.role, r.source_text, r.text)
        else:
            p = protect(r.source_text)
            if p.empty:
                continue  # only code/URLs: nothing to translate
            w.protected[r.id] = p
            payload = suggest_item(
                "", r.role, p.xml, r.text, problems.get((r.sample_id, r.idx), [])[:5]
            )
        k = cache_key(task, model, payload)
        w.keys[r.id] = k
        w.items.setdefault(k, Item(k, payload))
    return w


# ---------------------------------------------------------------------------------------------
# sending


class BudgetReached(KocurateError):
    pass


@dataclass
class _Tally:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


def _parse_for(task: str, ids: list[str]) -> Callable[[str], tuple[dict[str, Any], dict[str, str]]]:
    if task == "grade":

        def parse(content: str) -> tuple[dict[str, Any], dict[str, str]]:
            good, bad = parse_grades(content, ids)
            return {i: {"errors": [e.as_dict() for e in errs]} for i, errs in good.items()}, bad

    else:

        def parse(content: str) -> tuple[dict[str, Any], dict[str, str]]:
            good, bad = parse_suggestions(content, ids)
            return {i: {"text": t} for i, t in good.items()}, bad

    return parse


def _one_request(
    llm: LLM, task: str, batch: list[Item]
) -> tuple[list[dict[str, Any]], dict[str, str], Any]:
    """Send one packed request; returns (cache rows, errors by key, the Answer or None)."""
    items = request_items(batch)
    ids = [i["id"] for i in items]
    by_id = dict(zip(ids, batch, strict=True))
    try:
        (good, bad), ans = llm.ask(task, items, _parse_for(task, ids))
        if bad:
            # some items came back unusable: ask once more for just those (their own retry)
            retry = [by_id[i] for i in ids if i in bad]
            r_items = request_items(retry)
            r_ids = [i["id"] for i in r_items]
            try:
                (g2, b2), a2 = llm.ask(task, r_items, _parse_for(task, r_ids))
                ans.input_tokens += a2.input_tokens
                ans.output_tokens += a2.output_tokens
                ans.cost += a2.cost
                ans.attempts += a2.attempts
                back = dict(zip(r_ids, retry, strict=True))
                for rid, res in g2.items():
                    good[_id_of(by_id, back[rid])] = res
                    bad.pop(_id_of(by_id, back[rid]), None)
                for rid, msg in b2.items():
                    bad[_id_of(by_id, back[rid])] = msg
            except MalformedAnswer as exc:
                ans.input_tokens += exc.answer.input_tokens
                ans.output_tokens += exc.answer.output_tokens
                ans.cost += exc.answer.cost
                ans.attempts += exc.answer.attempts
            except LLMError:
                pass  # the first answer's good results still count; the rest stay errors
    except MalformedAnswer as exc:
        if len(batch) == 1:
            return [], {batch[0].key: str(exc)}, exc.answer
        # one item can derail a whole answer (e.g. an injection the model obeyed): ask item by item
        return _one_by_one(llm, task, batch, exc.answer)
    except RequestRejected as exc:
        if len(batch) == 1:
            return [], {batch[0].key: str(exc)}, None
        return _one_by_one(llm, task, batch, None)
    n = max(len(good), 1)
    rows = [
        {
            "key": by_id[i].key,
            "task": task,
            "model": llm.model,
            "prompt_version": PROMPT_VERSION,
            "response": res,
            "input_tokens": ans.input_tokens // n,
            "output_tokens": ans.output_tokens // n,
            "cost": ans.cost / n,
            "created_at": utcnow(),
        }
        for i, res in good.items()
    ]
    return rows, {by_id[i].key: f"malformed answer: {msg}" for i, msg in bad.items()}, ans


def _one_by_one(
    llm: LLM, task: str, batch: list[Item], spent: Any
) -> tuple[list[dict[str, Any]], dict[str, str], Any]:
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    total = spent
    for it in batch:
        r, e, a = _one_request(llm, task, [it])
        rows.extend(r)
        errors.update(e)
        if a is not None:
            if total is None:
                total = a
            else:
                total.input_tokens += a.input_tokens
                total.output_tokens += a.output_tokens
                total.cost += a.cost
                total.attempts += a.attempts
    return rows, errors, total


def _id_of(by_id: dict[str, Item], item: Item) -> str:
    return next(i for i, it in by_id.items() if it is item)


def send(
    llm: LLM,
    task: str,
    misses: list[Item],
    save: Callable[[list[dict[str, Any]], _Tally], None],
    *,
    concurrency: int = 1,
    budget_left: float | None = None,
    batch_size: int | None = None,
    tally: _Tally | None = None,
) -> tuple[_Tally, dict[str, str], bool]:
    """Send the items in packed requests, ``concurrency`` at a time; each answer is saved (``save``,
    in this thread) as it arrives. Stops submitting when the next request's estimated cost could
    pass ``budget_left`` (USD; the estimate errs high, so the cap holds unless a model answers at
    length).

    Returns (what was spent — also counted into ``tally`` as it happens, so a caller sees it after
    an exception —, errors by cache key, whether the budget stopped it). ``LLMUnavailable`` and
    other ``LLMError`` stop everything (after the requests in flight are saved) and are raised."""
    tally = tally if tally is not None else _Tally()
    errors: dict[str, str] = {}
    batches = pack(misses, batch_size)
    budget_hit = False
    reserved: dict[Future[Any], float] = {}
    fatal: Exception | None = None
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as ex:
        todo = list(reversed(batches))
        while todo or reserved:
            while todo and len(reserved) < concurrency and fatal is None and not budget_hit:
                b = todo[-1]
                tin, tout = estimate_request(task, b)
                est = llm_config.cost(llm.model, tin, tout)
                if (
                    budget_left is not None
                    and tally.cost + sum(reserved.values()) + est > budget_left
                ):
                    budget_hit = True
                    break
                todo.pop()
                reserved[ex.submit(_one_request, llm, task, b)] = est
            if not reserved:
                break
            done, _ = wait(list(reserved), return_when=FIRST_COMPLETED)
            for fut in done:
                reserved.pop(fut)
                try:
                    rows, errs, ans = fut.result()
                except LLMError as exc:
                    fatal = fatal or exc
                    continue
                with lock:
                    tally.requests += 1 if ans is None else ans.attempts
                    if ans is not None:
                        tally.input_tokens += ans.input_tokens
                        tally.output_tokens += ans.output_tokens
                        tally.cost += ans.cost
                    errors.update(errs)
                try:
                    save(rows, tally)
                except (
                    Exception
                ) as exc:  # e.g. Cancelled: the answers still in flight are saved too
                    fatal = fatal or exc
            if fatal is not None:
                todo.clear()
    if fatal is not None:
        raise fatal
    return tally, errors, budget_hit


# ---------------------------------------------------------------------------------------------
# writing


def _span(text: str, span: str) -> tuple[int | None, int | None]:
    if not span:
        return None, None
    i = text.find(span)
    return (i, i + len(span)) if i >= 0 else (None, None)


def _store_grades(
    s: Session,
    rows: list[_TurnRow],
    results: dict[int, dict[str, Any]],
    model: str,
    job_id: int | None,
) -> int:
    """Replace the open LLM findings and the grade of each graded turn; returns the findings
    written."""
    graded = [r for r in rows if r.id in results]
    if not graded:
        return 0
    by_sample: dict[int, list[int]] = {}
    for r in graded:
        by_sample.setdefault(r.sample_id, []).append(r.idx)
    where_turns = or_(
        *(
            and_(CheckFinding.sample_id == sid, CheckFinding.turn_idx.in_(idxs))
            for sid, idxs in by_sample.items()
        )
    )
    # what a person already confirmed or cleared stays, and is not raised again
    kept = set(
        s.execute(
            select(
                CheckFinding.sample_id,
                CheckFinding.turn_idx,
                CheckFinding.data["category"].as_string(),
            ).where(
                CheckFinding.sample_id.in_(list(by_sample)),
                CheckFinding.check == CHECK,
                CheckFinding.state != "open",
                where_turns,
            )
        )
        .tuples()
        .all()
    )
    s.execute(
        delete(CheckFinding).where(
            CheckFinding.sample_id.in_(list(by_sample)),
            CheckFinding.check == CHECK,
            CheckFinding.state == "open",
            where_turns,
        )
    )
    s.execute(delete(LLMGrade).where(LLMGrade.turn_id.in_([r.id for r in graded])))
    now = utcnow()
    findings, grades = [], []
    for r in graded:
        res = results[r.id]
        errs = [GradeError(**e) for e in res["errors"]]
        for e in errs:
            if (r.sample_id, r.idx, e.category) in kept:
                continue
            a, b = _span(r.text, e.span)
            findings.append(
                {
                    "sample_id": r.sample_id,
                    "dataset_id": r.dataset_id,
                    "check": CHECK,
                    "severity": FINDING_SEVERITY[e.severity],
                    "turn_idx": r.idx,
                    "span_start": a,
                    "span_end": b,
                    "message": f"{e.category}/{e.severity}: {e.reason}"[:2000],
                    "state": "open",
                    "created_at": now,
                    "data": {
                        "category": e.category,
                        "mqm_severity": e.severity,
                        "span": e.span,
                        "reason": e.reason,
                        "model": model,
                        "prompt_version": PROMPT_VERSION,
                        "cost_usd": round(res["cost"], 8),
                        "job_id": job_id,
                    },
                }
            )
        grades.append(
            {
                "turn_id": r.id,
                "sample_id": r.sample_id,
                "dataset_id": r.dataset_id,
                "model": model,
                "prompt_version": PROMPT_VERSION,
                "worst": worst(errs),
                "n_errors": len(errs),
                "cost": res["cost"],
                "job_id": job_id,
                "created_at": now,
            }
        )
    if findings:
        s.execute(insert(CheckFinding), findings)
    s.execute(insert(LLMGrade), grades)
    return len(findings)


def _supersede_open(s: Session, rows: list[_TurnRow]) -> None:
    """A new LLM suggestion for a turn replaces its older open LLM ones (DeepL's stay)."""
    if rows:
        s.execute(
            update(Suggestion)
            .where(
                Suggestion.sample_id.in_(sorted({r.sample_id for r in rows})),
                Suggestion.state == "open",
                Suggestion.turn_id.in_([r.id for r in rows]),
                Suggestion.engine == ENGINE,
            )
            .values(state="rejected")
        )


def _make_suggestions(
    w: _Work, cached: dict[str, dict[str, Any]]
) -> tuple[dict[int, str], dict[int, str]]:
    """Restored Korean texts by turn id, and errors by turn id (a protected span that came back
    changed)."""
    texts: dict[int, str] = {}
    errors: dict[int, str] = {}
    for r in w.rows:
        k = w.keys.get(r.id)
        if k is None or k not in cached:
            continue
        try:
            texts[r.id] = restore(cached[k]["text"], w.protected[r.id])
        except ProtectionError as exc:
            errors[r.id] = str(exc).replace("DeepL", "the LLM")
    return texts, errors


def _store_suggestions(
    s: Session,
    rows: list[_TurnRow],
    texts: dict[int, str],
    versions: dict[int, int],
    model: str,
    costs: dict[int, float],
    actor_id: int | None,
    job_id: int | None,
) -> tuple[list[Suggestion], int, int]:
    """Suggestions for changed texts; returns (suggestions, unchanged, already suggested)."""
    new_rows = [r for r in rows if r.id in texts and texts[r.id] != r.text]
    unchanged = sum(1 for r in rows if r.id in texts and texts[r.id] == r.text)
    already = set(
        s.execute(
            select(Suggestion.turn_id, Suggestion.text).where(
                Suggestion.sample_id.in_(sorted({r.sample_id for r in new_rows}) or [0]),
                Suggestion.state == "open",
                Suggestion.engine == ENGINE,
            )
        )
        .tuples()
        .all()
    )
    fresh = [r for r in new_rows if (r.id, texts[r.id]) not in already]
    _supersede_open(s, fresh)
    out = []
    for r in fresh:
        sug = Suggestion(
            sample_id=r.sample_id,
            turn_id=r.id,
            text=texts[r.id],
            engine=ENGINE,
            options={
                "model": model,
                "prompt_version": PROMPT_VERSION,
                "cost_usd": round(costs.get(r.id, 0.0), 8),
            },
            job_id=job_id,
            based_on_version=versions.get(r.sample_id, 0),
            state="open",
            created_by=actor_id,
            created_at=utcnow(),
        )
        s.add(sug)
        out.append(sug)
    s.flush()
    return out, unchanged, len(new_rows) - len(fresh)


def _cost_of(cached_rows: dict[str, float], w: _Work) -> dict[int, float]:
    return {tid: cached_rows.get(k, 0.0) for tid, k in w.keys.items()}


# --------------------------------------------------------------------------------------------- one
# turn


def _single(
    session: Session, actor: Actor, task: str, turn_id: int
) -> tuple[_Work, dict[str, dict[str, Any]], dict[str, float], int]:
    """Read the turn (no write lock), ask the LLM (cache first), store the answer in the cache."""
    actor.require("translate_one")
    cfg = llm_config.require_config()
    with _reading(session) as rs:
        if rs.get(Turn, turn_id) is None:
            raise NotFound(msgid=N_("no turn {turn_id}"), turn_id=turn_id)
        rows = _turn_rows(rs, turn_ids=[turn_id])
        if not rows:
            raise KocurateError(
                msgid=N_(
                    "this turn has no English source it was translated from: "
                    "nothing to compare with"
                )
            )
        w = _build(rs, task, cfg.model, rows)
        if not w.keys:
            raise KocurateError(
                msgid=N_("this turn holds only code, URLs or placeholders: nothing to translate")
            )
        cached = cache_get(rs, list(w.items))
        version = rs.scalar(select(Sample.version).where(Sample.id == rows[0].sample_id)) or 0
    costs: dict[str, float] = {}
    misses = [it for k, it in w.items.items() if k not in cached]
    new_rows: list[dict[str, Any]] = []
    if misses:
        llm = LLM(cfg)
        try:

            def save(rows_: list[dict[str, Any]], _t: _Tally) -> None:
                new_rows.extend(rows_)

            _, errs, _ = send(llm, task, misses, save)
        finally:
            llm.close()
        if errs:
            raise KocurateError(next(iter(errs.values())))
        cached.update({r["key"]: r["response"] for r in new_rows})
        costs = {r["key"]: r["cost"] for r in new_rows}
    cache_put(session, new_rows)
    return w, cached, costs, version


def grade_turn(session: Session, actor: Actor, turn_id: int) -> list[dict[str, Any]]:
    """Grade one turn against its English source; its open LLM findings are replaced. Returns the
    errors."""
    w, cached, costs, _ = _single(session, actor, "grade", turn_id)
    r = w.rows[0]
    res = {"errors": cached[w.keys[r.id]]["errors"], "cost": costs.get(w.keys[r.id], 0.0)}
    _store_grades(session, w.rows, {r.id: res}, w.model, None)
    session.flush()
    return list(res["errors"])


def suggest_fix(session: Session, actor: Actor, turn_id: int) -> Suggestion | None:
    """A Korean rewrite of one turn as an open suggestion (engine "llm"); None when the LLM's text
    equals the current one. A protected span that came back changed is an error."""
    w, cached, costs, version = _single(session, actor, "suggest", turn_id)
    texts, errors = _make_suggestions(w, cached)
    if errors:
        raise KocurateError(next(iter(errors.values())))
    r = w.rows[0]
    out, _, _ = _store_suggestions(
        session, w.rows, texts, {r.sample_id: version}, w.model, _cost_of(costs, w), actor.id, None
    )
    if out:
        return out[0]
    if texts.get(r.id) == r.text:
        return None
    # the same text is already an open suggestion
    return session.scalar(
        select(Suggestion)
        .where(Suggestion.turn_id == r.id, Suggestion.state == "open", Suggestion.engine == ENGINE)
        .order_by(Suggestion.id.desc())
        .limit(1)
    )


def turn_state(session: Session, turn_id: int) -> dict[str, Any]:
    """For the review widget: whether the turn can be graded (translated from an English source) and
    its latest grade (or None)."""
    row = session.execute(
        select(Turn.sample_id, Turn.source_kind, Turn.source_text).where(Turn.id == turn_id)
    ).first()
    if row is None:
        raise NotFound(msgid=N_("no turn {turn_id}"), turn_id=turn_id)
    grade = next((g for g in turn_grades(session, row[0]) if g["turn_id"] == turn_id), None)
    return {
        "sample_id": row[0],
        "gradeable": row[1] == "translation" and bool(row[2]),
        "grade": grade,
    }


def turn_grades(session: Session, sample_id: int) -> list[dict[str, Any]]:
    """The latest LLM grade per turn of a sample (worst severity, errors, model), by turn order."""
    rows = session.execute(
        select(LLMGrade, Turn.idx)
        .join(Turn, Turn.id == LLMGrade.turn_id)
        .where(LLMGrade.sample_id == sample_id)
        .order_by(Turn.idx)
    ).all()
    return [
        {
            "turn_id": g.turn_id,
            "turn_idx": idx,
            "worst": g.worst,
            "n_errors": g.n_errors,
            "model": g.model,
            "prompt_version": g.prompt_version,
            "cost_usd": g.cost,
            "at": g.created_at.isoformat(timespec="seconds"),
        }
        for g, idx in rows
    ]


# ---------------------------------------------------------------------------------------------
# estimate


def estimate(
    session: Session,
    actor: Actor,
    task: str,
    filters: BatchFilter | dict[str, Any] | None,
    model: str | None = None,
) -> dict[str, Any]:
    """Turns, requests, tokens and cost of a batch before it starts (cache hits deducted).

    Exact (items built, cache looked up) for up to ``EXACT_ESTIMATE_MAX`` samples; beyond that the
    lengths are summed in SQL. Works without a configured server (then with KOCURATE_LLM_MODEL or
    ``model`` for the price, else no price)."""
    actor.require("translate_batch")
    _task(task)
    f = _filter(filters)
    cfg = llm_config.load_config()
    model = (
        model
        or (cfg.model if cfg else None)
        or (llm_config.config._secret("KOCURATE_LLM_MODEL") or "")
    )  # noqa: SLF001
    with _reading(session) as rs:
        n_samples = _count_samples(rs, f)
        out: dict[str, Any] = {
            "task": task,
            "model": model,
            "samples": n_samples,
            "exact": n_samples <= EXACT_ESTIMATE_MAX,
        }
        if out["exact"]:
            conds = _conditions(rs, f)
            last = seen = turns = cached_n = 0
            misses: dict[str, Item] = {}
            while seen < n_samples:
                ids = _sample_ids_after(rs, f, conds, last, min(CHUNK_SAMPLES, n_samples - seen))
                if not ids:
                    break
                last, seen = ids[-1], seen + len(ids)
                w = _build(rs, task, model, _turn_rows(rs, sample_ids=ids))
                turns += len(w.rows)
                hits = cache_get(rs, list(w.items))
                cached_n += sum(1 for k in w.keys.values() if k in hits)
                for k, it in w.items.items():
                    if k not in hits:
                        misses.setdefault(k, it)
            batches = pack(list(misses.values()))
            tin = tout = 0
            for b in batches:
                a, b_ = estimate_request(task, b)
                tin, tout = tin + a, tout + b_
            out.update(
                turns=turns,
                to_send=len(misses),
                cached=cached_n,
                requests=len(batches),
                input_tokens=tin,
                output_tokens=tout,
            )
        else:
            q = (
                select(
                    func.count(),
                    func.coalesce(
                        func.sum(func.length(Turn.source_text) + func.length(Turn.text)), 0
                    ),
                )
                .select_from(Turn)
                .join(Sample, Sample.id == Turn.sample_id)
                .where(
                    Turn.source_text.is_not(None),
                    Turn.source_kind == "translation",
                    *_conditions(rs, f),
                )
            )
            turns, chars = rs.execute(q).one()
            turns, chars = int(turns), int(chars)
            requests = -(-turns // max_items())
            # chars/3: a mix of English (≈4 per token) and Korean (≈1–2 per token); no cache
            # deduction
            tin = chars // 3 + requests * estimate_tokens(system_message(task))
            tout = turns * GRADE_OUTPUT_TOKENS if task == "grade" else chars // 3
            out.update(
                turns=turns,
                to_send=turns,
                cached=None,
                requests=requests,
                input_tokens=tin,
                output_tokens=tout,
            )
    price = llm_config.price_for(model) if model else None
    out["price_usd_per_million"] = list(price) if price else None
    out["estimated_cost_usd"] = (
        round(llm_config.cost(model, out["input_tokens"], out["output_tokens"]), 4)
        if price
        else None
    )
    out["configured"] = cfg is not None
    return out


# ---------------------------------------------------------------------------------------------
# batch job


def list_batches(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """Recent LLM batch jobs with their progress (what the page shows after a reload)."""
    return jobs.list_jobs(session, JOB_KIND, limit)


def cancel_batch(session: Session, actor: Actor, job_id: int) -> None:
    actor.require("translate_batch")
    jobs.cancel(session, actor, job_id)


def start_batch(
    engine: Engine,
    actor: Actor,
    task: str,
    filters: BatchFilter | dict[str, Any] | None,
    *,
    budget_usd: float | None = None,
    background: str | None = "thread",
    db_url: str | None = None,
) -> int:
    """Create an LLM batch job (grade or suggest over the filtered samples) and start it
    (``background``: "thread", "process" or None = the caller runs it with ``run_batch``)."""
    actor.require("translate_batch")
    _task(task)
    cfg = llm_config.require_config()
    if budget_usd is not None and budget_usd < 0:
        raise UsageError(msgid=N_("the budget must be 0 or more (USD)"))
    f = _filter(filters)
    with session_scope(engine) as s:
        total = _count_samples(s, f)
        params = {
            "task": task,
            "filters": f.to_dict(),
            "budget_usd": budget_usd,
            "model": cfg.model,
            "actor": {"id": actor.id, "username": actor.username, "role": actor.role},
        }
        job_id = jobs.create(s, actor, JOB_KIND, params, total=total)
        ds = _conditions_dataset(s, f)
        audit.record(
            s,
            actor,
            "job_start",
            dataset_id=ds,
            target=f"job {job_id}",
            kind=JOB_KIND,
            task=task,
            filters=f.to_dict(),
            budget_usd=budget_usd,
            model=cfg.model,
            samples=total,
        )
    jobs.start(engine, job_id, background, db_url)
    return job_id


def _conditions_dataset(s: Session, f: BatchFilter) -> int | None:
    from .translate import _dataset_id

    return _dataset_id(s, f.dataset)


def resume_batch(
    engine: Engine,
    actor: Actor,
    job_id: int,
    *,
    budget_usd: float | None = None,
    background: str | None = "thread",
    db_url: str | None = None,
) -> int:
    """Continue a failed, cancelled or crashed LLM job where it stopped (``budget_usd`` raises its
    cap)."""
    actor.require("translate_batch")
    llm_config.require_config()
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None or job.kind != JOB_KIND:
            raise NotFound(msgid=N_("no LLM job {job_id}"), job_id=job_id)
        jobs.resume(s, actor, job_id)
        if budget_usd is not None:
            job.params = {**(job.params or {}), "budget_usd": budget_usd}
        audit.record(
            s,
            actor,
            "job_start",
            target=f"job {job_id}",
            kind=JOB_KIND,
            resumed=True,
            budget_usd=(job.params or {}).get("budget_usd"),
        )
    jobs.start(engine, job_id, background, db_url)
    return job_id


def run_batch(engine: Engine, job_id: int) -> dict[str, Any]:
    """Run (or continue) a queued LLM job in this thread; returns the job as a dict."""
    return jobs.run(engine, job_id)


_COUNTERS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "turns",
    "cache_hits",
    "sent",
    "graded",
    "findings",
    "suggestions",
    "unchanged",
    "already_suggested",
    "failed_turns",
)


@jobs.register(JOB_KIND, permission="translate_batch")
def _batch_job(engine: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
    p = ctx.params
    task = _task(p.get("task", "grade"))
    f = BatchFilter.from_dict(p.get("filters"))
    a = p.get("actor") or {}
    actor_id = a.get("id")
    budget = p.get("budget_usd")
    st = ctx.state
    for k in _COUNTERS:
        st.setdefault(k, 0)
    st.setdefault("cost_usd", 0.0)
    st.setdefault("cursor", 0)
    st.setdefault("errors", [])
    cfg = llm_config.require_config()
    if p.get("model") and p["model"] != cfg.model:
        raise ConfigError(
            msgid=N_(
                "this job was started for model {model!r} but "
                "KOCURATE_LLM_MODEL is {configured!r}; set it back to resume "
                "(the cache is per model)"
            ),
            model=p["model"],
            configured=cfg.model,
        )
    llm = LLM(cfg)
    try:
        with session_scope(engine) as s:
            conds = _conditions(s, f)
            if not ctx.total:
                ctx.total = _count_samples(s, f)
        ctx.progress(message="grading" if task == "grade" else "suggesting")
        while ctx.done < ctx.total:
            with session_scope(engine) as s:
                ids = _sample_ids_after(
                    s, f, conds, st["cursor"], min(CHUNK_SAMPLES, ctx.total - ctx.done)
                )
                if not ids:
                    break
                w = _build(s, task, cfg.model, _turn_rows(s, sample_ids=ids))
                cached = cache_get(s, list(w.items))
            _chunk(engine, ctx, llm, cfg.concurrency, w, ids, cached, budget, actor_id)
        st["_message"] = (
            f"done: {st['turns']} turns, {st['sent']} sent in {st['requests']} requests,"
            f" {st['cache_hits']} from the cache, {st['input_tokens']}+{st['output_tokens']}"
            f" tokens, USD {st['cost_usd']:.4f}, "
            + (
                f"{st['findings']} findings"
                if task == "grade"
                else f"{st['suggestions']} suggestions"
            )
            + f", {st['failed_turns']} turns failed"
        )
        return st
    finally:
        llm.close()


def _chunk(
    engine: Engine,
    ctx: jobs.JobContext,
    llm: LLM,
    concurrency: int,
    w: _Work,
    ids: list[int],
    cached: dict[str, dict[str, Any]],
    budget: float | None,
    actor_id: int | None,
) -> None:
    st = ctx.state
    misses = [it for k, it in w.items.items() if k not in cached]
    costs: dict[str, float] = {}

    def save(rows: list[dict[str, Any]], tally: _Tally) -> None:
        # every answer commits at once: a crash after this never pays for it again
        with session_scope(engine) as s2:
            cache_put(s2, rows)
        cached.update({r["key"]: r["response"] for r in rows})
        costs.update({r["key"]: r["cost"] for r in rows})
        st["sent"] += len(rows)
        ctx.progress()  # heartbeat; raises Cancelled when someone cancelled the job

    base = {k: st[k] for k in ("requests", "input_tokens", "output_tokens")}
    base_cost = st["cost_usd"]
    budget_left = None if budget is None else max(0.0, float(budget) - base_cost)
    tally = _Tally()
    try:
        _, errors, budget_hit = send(
            llm, w.task, misses, save, concurrency=concurrency, budget_left=budget_left, tally=tally
        )
    finally:
        st["requests"] = base["requests"] + tally.requests
        st["input_tokens"] = base["input_tokens"] + tally.input_tokens
        st["output_tokens"] = base["output_tokens"] + tally.output_tokens
        st["cost_usd"] = round(base_cost + tally.cost, 8)
    if budget_hit:
        raise BudgetReached(
            msgid=N_(
                "budget reached: USD {cost_usd:.4f} of {budget} spent; what "
                "was answered is cached (not paid again); resume with a "
                "higher budget to continue"
            ),
            cost_usd=st["cost_usd"],
            budget=budget,
        )
    failed: dict[int, str] = {tid: errors[k] for tid, k in w.keys.items() if k in errors}
    with session_scope(engine) as s:
        if w.task == "grade":
            results = {
                r.id: {
                    "errors": cached[w.keys[r.id]]["errors"],
                    "cost": costs.get(w.keys[r.id], 0.0),
                }
                for r in w.rows
                if r.id in w.keys and w.keys[r.id] in cached
            }
            st["findings"] += _store_grades(s, w.rows, results, w.model, ctx.job_id)
            st["graded"] += len(results)
        else:
            texts, perr = _make_suggestions(w, cached)
            failed.update(perr)
            versions = dict(
                s.execute(select(Sample.id, Sample.version).where(Sample.id.in_(ids)))
                .tuples()
                .all()
            )
            out, unchanged, already = _store_suggestions(
                s, w.rows, texts, versions, w.model, _cost_of(costs, w), actor_id, ctx.job_id
            )
            st["suggestions"] += len(out)
            st["unchanged"] += unchanged
            st["already_suggested"] += already
        st["turns"] += len(w.rows)
        # turns answered without a request of their own: cached before, or the same text as another
        # turn
        st["cache_hits"] += len(w.keys) - len({k for k in w.keys.values() if k in costs})
        st["failed_turns"] += len(failed)
        by_id = {r.id: r for r in w.rows}
        for tid, msg in failed.items():
            if len(st["errors"]) < MAX_ERRORS_KEPT:
                st["errors"].append(
                    {"turn_id": tid, "sample_id": by_id[tid].sample_id, "error": msg[:300]}
                )
        st["cursor"] = ids[-1]
        ctx.done += len(ids)
        ctx.checkpoint(s)


# ---------------------------------------------------------------------------------------------
# evaluate

HUMAN_POSITIVE = ("rejected", "needs_fix")
DECIDED = ("approved", "rejected", "needs_fix")


def evaluate(
    session: Session,
    actor: Actor,
    dataset: int | str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """How well "major or critical" grades predict what people did, over graded samples a person
    decided or edited: positive = rejected, needs fix, or edited by hand. Per sample and per turn (a
    turn is positive when a person edited it or its sample was rejected / needs a fix)."""
    actor.require("view_stats")
    from .translate import _dataset_id

    ds = _dataset_id(session, dataset)
    gconds = []
    if ds is not None:
        gconds.append(LLMGrade.dataset_id == ds)
    if model:
        gconds.append(LLMGrade.model == model)
    severe = case((LLMGrade.worst.in_(("major", "critical")), 1), else_=0)
    edited_samples = select(Edit.sample_id).where(Edit.kind == "manual", Edit.field == "text")
    edited_turns = select(Edit.turn_id).where(Edit.kind == "manual", Edit.field == "text")
    human_bad = Sample.status.in_(HUMAN_POSITIVE)
    decided = or_(Sample.status.in_(DECIDED), Sample.id.in_(edited_samples))

    g = (
        select(LLMGrade.sample_id.label("sid"), func.max(severe).label("pred"))
        .where(*gconds)
        .group_by(LLMGrade.sample_id)
        .subquery()
    )
    actual_s = case((or_(human_bad, Sample.id.in_(edited_samples)), 1), else_=0)
    per_sample = session.execute(
        select(g.c.pred, actual_s, func.count())
        .join(Sample, Sample.id == g.c.sid)
        .where(decided)
        .group_by(g.c.pred, actual_s)
    ).all()
    actual_t = case((or_(human_bad, LLMGrade.turn_id.in_(edited_turns)), 1), else_=0)
    per_turn = session.execute(
        select(severe, actual_t, func.count())
        .select_from(LLMGrade)
        .join(Sample, Sample.id == LLMGrade.sample_id)
        .where(decided, *gconds)
        .group_by(severe, actual_t)
    ).all()
    models = list(
        session.scalars(select(LLMGrade.model).where(*gconds).distinct().order_by(LLMGrade.model))
    )
    graded = session.scalar(select(func.count(distinct(LLMGrade.sample_id))).where(*gconds)) or 0
    return {
        "dataset_id": ds,
        "models": models,
        "graded_samples": graded,
        "samples": _confusion(per_sample),
        "turns": _confusion(per_turn),
    }


def _confusion(rows: list[Any]) -> dict[str, Any]:
    m = {(int(p), int(a)): int(n) for p, a, n in rows}
    tp, fp, fn, tn = m.get((1, 1), 0), m.get((1, 0), 0), m.get((0, 1), 0), m.get((0, 0), 0)
    prec = tp / (tp + fp) if tp + fp else None
    rec = tp / (tp + fn) if tp + fn else None
    f1 = 2 * prec * rec / (prec + rec) if prec and rec else None
    return {
        "n": tp + fp + fn + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": None if prec is None else round(prec, 4),
        "recall": None if rec is None else round(rec, 4),
        "f1": None if f1 is None else round(f1, 4),
    }
