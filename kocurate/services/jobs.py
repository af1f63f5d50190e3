"""A small generic runner for long tasks over the Job table: progress that survives page reloads.

A job kind registers a function ``fn(engine, ctx)`` with ``@register("kind")``. The function keeps
its own resume point in ``ctx.state`` (persisted in ``Job.result`` with every ``ctx.progress``), so
a job that failed, was cancelled or whose process died can be resumed where it left off.

* ``create(session, actor, kind, params, total)`` → job id (status ``queued``)
* ``start_thread(engine, job_id)`` runs it in this process; ``start_process(db_url, job_id)`` runs
  ``kocurate jobs run ID`` as a separate process (survives a Streamlit restart)
* ``run(engine, job_id)`` claims a queued job (or a dead one) and runs it to the end
* ``cancel``, ``resume``, ``get``, ``list_jobs``

A job function may end a job as "failed" without raising (every item failed, the work is kept) by
setting ``ctx.state["_status"] = "failed"``, or stop it early with ``Stopped`` (status "stopped").
``as_dict`` adds a ``state`` label for people: done, done with errors, failed, stopped, cancelled, …

A running job writes ``heartbeat_at`` and its worker (host, pid) at every progress step; a job whose
worker is gone (same host, pid not alive) or whose heartbeat is older than ``STALE_AFTER`` is dead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import KocurateError, NotFound, UnknownName
from ..i18n import N_
from ..models import Job, utcnow
from ..registry import Registry
from .auth import Actor

STALE_AFTER = timedelta(minutes=2)  # no heartbeat from a worker on another host
STUCK_AFTER = timedelta(minutes=30)  # no heartbeat from a live pid on this host
FINAL = ("done", "failed", "cancelled", "stopped")

# kind → (the function that runs it, the permission that guards cancel/resume)
KINDS: Registry[tuple[Callable[[Engine, JobContext], dict[str, Any] | None], str]] = Registry(
    "job kind"
)


class JobError(KocurateError):
    pass


class Stopped(KocurateError):
    """Raised by a job function that ends early on purpose (a budget reached): status "stopped",
    everything finished so far is kept and the job can be resumed."""


class Cancelled(Exception):
    """Raised inside a job function by ``ctx.progress`` once someone cancelled the job."""


def register(
    kind: str, permission: str = "configure"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the function that runs jobs of ``kind``; ``permission`` guards cancel/resume."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        KINDS.register(kind, (fn, permission))
        return fn

    return deco


@dataclass
class JobContext:
    engine: Engine
    job_id: int
    params: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    done: int = 0
    total: int = 0

    def checkpoint(self, session: Session) -> None:
        """Write progress and ``state`` in the caller's transaction: a chunk's results and its
        resume point commit together (no duplicates after a crash)."""
        now = utcnow()
        session.execute(
            update(Job)
            .where(Job.id == self.job_id)
            .values(
                done=self.done,
                total=self.total,
                result=dict(self.state),
                heartbeat_at=now,
                updated_at=now,
            )
        )

    def progress(
        self, done: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:
        """Persist progress and ``state`` (the resume point); raise ``Cancelled`` if cancelled."""
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        values: dict[str, Any] = {
            "done": self.done,
            "total": self.total,
            "result": dict(self.state),
            "heartbeat_at": utcnow(),
            "updated_at": utcnow(),
        }
        if message is not None:
            values["message"] = message
        with session_scope(self.engine) as s:
            n = s.execute(
                update(Job).where(Job.id == self.job_id, Job.status == "running").values(**values)
            ).rowcount
        if n == 0:
            raise Cancelled()


def create(
    session: Session, actor: Actor, kind: str, params: dict[str, Any], total: int = 0
) -> int:
    job = Job(
        kind=kind, status="queued", params=params, total=total, created_by=actor.id, result={}
    )
    session.add(job)
    session.flush()
    return job.id


def _worker() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "thread": threading.get_ident()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead(job: Job) -> bool:
    """A 'running' job whose worker is gone.

    On the worker's own host the process (or, in this process, the thread) is checked; a live pid
    with no heartbeat for ``STUCK_AFTER`` counts as dead too (stuck, or the pid was reused).
    Elsewhere only the heartbeat tells: older than ``STALE_AFTER`` is dead.
    """
    if job.status != "running":
        return False
    w = (job.result or {}).get("_worker") or {}
    beat = job.heartbeat_at or job.updated_at
    age = utcnow() - beat if beat else STUCK_AFTER * 2
    if w.get("host") == socket.gethostname() and w.get("pid"):
        pid = int(w["pid"])
        if pid == os.getpid():
            return w.get("thread") not in {t.ident for t in threading.enumerate()}
        return not _pid_alive(pid) or age > STUCK_AFTER
    return age > STALE_AFTER


def _claim(engine: Engine, job_id: int) -> Job:
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(msgid=N_("no job {job_id}"), job_id=job_id)
        if job.status != "queued" and not is_dead(job):
            raise JobError(
                msgid=N_("job {job_id} is {status}; only a queued or dead job can be run"),
                job_id=job_id,
                status=job.status,
            )
        result = dict(job.result or {})
        result["_worker"] = _worker()
        # the conditional UPDATE makes two workers racing for the job safe: one wins
        n = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == job.status, Job.updated_at == job.updated_at)
            .values(
                status="running",
                heartbeat_at=utcnow(),
                updated_at=utcnow(),
                result=result,
                message=None,
            )
        ).rowcount
        if n != 1:
            raise JobError(msgid=N_("job {job_id} was taken by another worker"), job_id=job_id)
        s.expire_all()
        return s.get(Job, job_id)  # type: ignore[return-value]


def run(engine: Engine, job_id: int) -> dict[str, Any]:
    """Run a queued (or dead) job to its end in this thread; returns the job as a dict."""
    job = _claim(engine, job_id)
    entry = KINDS.get(job.kind)
    if entry is None:
        _finish(engine, job_id, "failed", str(UnknownName("job kind", job.kind, sorted(KINDS))))
        return get_dict(engine, job_id)
    ctx = JobContext(
        engine, job_id, dict(job.params or {}), dict(job.result or {}), job.done, job.total
    )
    try:
        out = entry[0](engine, ctx)
        if out:
            ctx.state.update(out)
        status = ctx.state.pop("_status", None) or "done"
        _finish(engine, job_id, status, ctx.state.get("_message") or "finished", ctx)
    except Cancelled:
        _finish(engine, job_id, "cancelled", None, ctx, only_if_running=False)
    except Stopped as exc:
        _finish(engine, job_id, "stopped", str(exc), ctx)
    except KocurateError as exc:
        _finish(engine, job_id, "failed", str(exc), ctx)
    except BaseException as exc:  # a crash must not leave the job "running" forever
        _finish(engine, job_id, "failed", f"{type(exc).__name__}: {exc}", ctx)
        if not isinstance(exc, Exception):
            raise
    return get_dict(engine, job_id)


def _finish(
    engine: Engine,
    job_id: int,
    status: str,
    message: str | None,
    ctx: JobContext | None = None,
    only_if_running: bool = True,
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": utcnow(), "heartbeat_at": utcnow()}
    if message is not None:
        values["message"] = message
    if ctx is not None:
        state = dict(ctx.state)
        state.pop("_worker", None)
        values.update(done=ctx.done, total=ctx.total, result=state)
    with session_scope(engine) as s:
        q = update(Job).where(Job.id == job_id)
        if only_if_running:
            q = q.where(Job.status == "running")
        s.execute(q.values(**values))


def start_thread(engine: Engine, job_id: int) -> threading.Thread:
    """Run the job in a daemon thread of this process (the Streamlit server, a test)."""
    t = threading.Thread(
        target=run, args=(engine, job_id), name=f"kocurate-job-{job_id}", daemon=True
    )
    t.start()
    return t


def start_process(
    db_url: str, job_id: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Run the job as ``kocurate jobs run ID`` in its own process (outlives a page or a server
    restart)."""
    cmd = [
        sys.executable,
        "-c",
        "from kocurate.cli import main; main()",
        "--db",
        db_url,
        "jobs",
        "run",
        str(job_id),
    ]
    return subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start(engine: Engine, job_id: int, background: str | None, db_url: str | None = None) -> None:
    """Start a queued job: ``"thread"`` here, ``"process"`` as ``kocurate jobs run`` (on ``db_url``,
    else the engine's own address), ``None``: left queued for the caller to run."""
    if background == "thread":
        start_thread(engine, job_id)
    elif background == "process":
        start_process(db_url or engine.url.render_as_string(hide_password=False), job_id)


def _require(actor: Actor, kind: str) -> None:
    actor.require(KINDS.get(kind, (None, "configure"))[1])


def cancel(session: Session, actor: Actor, job_id: int) -> None:
    """Ask a job to stop: it ends at its next progress step, keeping everything finished so far."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(msgid=N_("no job {job_id}"), job_id=job_id)
    _require(actor, job.kind)
    if job.status in FINAL:
        raise JobError(
            msgid=N_("job {job_id} is already {status}"), job_id=job_id, status=job.status
        )
    job.status, job.message, job.updated_at = (
        "cancelled",
        f"cancelled by {actor.username}",
        utcnow(),
    )
    session.flush()


def resume(session: Session, actor: Actor, job_id: int) -> None:
    """Put a failed, cancelled or dead job back in the queue (it continues from its saved state)."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(msgid=N_("no job {job_id}"), job_id=job_id)
    _require(actor, job.kind)
    if job.status == "done":
        raise JobError(msgid=N_("job {job_id} is already done"), job_id=job_id)
    if job.status == "running" and not is_dead(job):
        raise JobError(msgid=N_("job {job_id} is still running"), job_id=job_id)
    job.status, job.message, job.updated_at = "queued", f"resumed by {actor.username}", utcnow()
    session.flush()


def state_label(status: str, result: dict[str, Any], dead: bool = False) -> str:
    """What a person reads: a finished job with failed items is "done with errors"."""
    if dead:
        return "dead (worker gone)"
    if status == "done" and int(result.get("failed_turns") or result.get("failed") or 0) > 0:
        return "done with errors"
    return status


def as_dict(job: Job) -> dict[str, Any]:
    result = {k: v for k, v in (job.result or {}).items() if not k.startswith("_")}
    dead = is_dead(job)
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "state": state_label(job.status, result, dead),
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "params": job.params,
        "result": result,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "heartbeat_at": job.heartbeat_at,
        "dead": dead,
    }


def get(session: Session, job_id: int) -> dict[str, Any]:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(msgid=N_("no job {job_id}"), job_id=job_id)
    return as_dict(job)


def get_dict(engine: Engine, job_id: int) -> dict[str, Any]:
    with session_scope(engine) as s:
        return get(s, job_id)


def list_jobs(session: Session, kind: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    q = select(Job).order_by(Job.id.desc()).limit(limit)
    if kind:
        q = q.where(Job.kind == kind)
    return [as_dict(j) for j in session.scalars(q)]
