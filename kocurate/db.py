"""Engine factory and session helpers for SQLite (WAL) and PostgreSQL.

``DatabaseUnavailable`` and ``InvalidText`` live in ``kocurate.errors`` (importable from here too).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session

from . import config, paths
from .errors import DatabaseUnavailable, InvalidText

SQLITE_BUSY_TIMEOUT_MS = 30_000


_NUL_MESSAGE = (
    "text contains a NUL character (\\x00), which the database cannot store; nothing was saved"
)
_SURROGATE_MESSAGE = (
    "text contains an unpaired surrogate (an invalid \\uD800-\\uDFFF escape), which is not "
    "valid Unicode; nothing was saved"
)


# SQLite result code names (sqlite3.Error.sqlite_errorname) → (reason, sentence)
_SQLITE_ERRORS = {
    "SQLITE_READONLY": (
        "read_only",
        (
            "database is read-only ({where}): nothing was saved; check the file's and its "
            "folder's permissions, or open a writable copy"
        ),
    ),
    "SQLITE_FULL": (
        "full",
        "database or disk is full ({where}): nothing was saved; free some space and retry",
    ),
    "SQLITE_BUSY": (
        "busy",
        (
            "database is busy ({where}): another writer held it for over "
            f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s; nothing was saved, try again"
        ),
    ),
    "SQLITE_LOCKED": ("busy", "database is busy ({where}): nothing was saved, try again"),
    "SQLITE_CORRUPT": (
        "corrupt",
        "database file is corrupt ({where}): restore it from a backup (kocurate restore)",
    ),
    "SQLITE_NOTADB": ("corrupt", "file is not a kocurate database ({where})"),
    "SQLITE_CANTOPEN": (
        "unreachable",
        "cannot open the database file ({where}): check that its folder exists and is writable",
    ),
    "SQLITE_IOERR": (
        "full",
        "database input/output error ({where}): the disk may be full or failing; nothing was saved",
    ),
}
# PostgreSQL SQLSTATE → (reason, sentence)
_PG_ERRORS = {
    "25006": (
        "read_only",
        (
            "database is read-only ({where}): the server refuses writes (a standby, or "
            "default_transaction_read_only); nothing was saved"
        ),
    ),
    "53100": (
        "full",
        "database disk is full ({where}): nothing was saved; free space on the server and retry",
    ),
    "53200": ("full", "database server is out of memory ({where}): nothing was saved; retry"),
    "53300": ("busy", "database server has too many connections ({where}): retry in a moment"),
    "57P03": (
        "unreachable",
        "database server is starting up or shutting down ({where}): retry in a moment",
    ),
}


def _where(url: Any) -> str:
    """The database named without its password (never put secrets into messages or logs)."""
    u = make_url(str(url)) if not hasattr(url, "render_as_string") else url
    if u.drivername.startswith("sqlite"):
        return u.database or ":memory:"
    return u.render_as_string(hide_password=True)


def display_url(url: str | Any) -> str:
    """A database URL fit for messages and logs: the password replaced by ``***``."""
    try:
        u = make_url(str(url)) if not hasattr(url, "render_as_string") else url
    except Exception:  # not a URL at all: show nothing of it that could be a secret
        return "<database URL>"
    return u.render_as_string(hide_password=True)


def _translate_error(ctx: ExceptionContext) -> None:
    """Replace driver errors a user can act on by one DatabaseUnavailable sentence."""
    if ctx.is_pre_ping:  # the pool handles disconnects found by its ping itself
        return
    orig = ctx.original_exception
    if isinstance(orig, UnicodeEncodeError) and "surrogates" in str(orig):
        raise InvalidText(_SURROGATE_MESSAGE) from orig
    if "NUL (0x00)" in str(orig):  # PostgreSQL refuses NUL in text
        raise InvalidText(_NUL_MESSAGE) from orig
    engine = ctx.engine
    where = _where(engine.url) if engine is not None else "database"
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        base = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE → SQLITE_IOERR
        hit = _SQLITE_ERRORS.get(name) or _SQLITE_ERRORS.get(base)
        if hit is None and "readonly" in str(orig):
            hit = _SQLITE_ERRORS["SQLITE_READONLY"]
        if hit is not None:
            raise DatabaseUnavailable(hit[1].format(where=where), hit[0]) from orig
        return
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_ERRORS:
        reason, text = _PG_ERRORS[sqlstate]
        raise DatabaseUnavailable(text.format(where=where), reason) from orig
    if (
        ctx.connection is None
        and engine is not None
        and not engine.url.drivername.startswith("sqlite")
        and type(orig).__name__ == "OperationalError"
        and sqlstate is None
    ):
        # connecting failed (server down, wrong host or port): the driver's first line names host
        # and port
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise DatabaseUnavailable(
            f"cannot connect to the database ({where}): {first}", "unreachable"
        ) from orig


def _has_nul(params: Any, depth: int = 0) -> bool:
    """Whether any text among DBAPI parameters (a row, or many rows; dicts or sequences) holds a
    NUL."""
    if isinstance(params, str):
        return "\x00" in params
    if depth > 2 or params is None:
        return False
    if isinstance(params, dict):
        params = params.values()
    elif not isinstance(params, list | tuple):
        return False
    return any(_has_nul(v, depth + 1) for v in params)


def _pool_size(default: int) -> int:
    try:
        return max(1, int(os.environ.get("KOCURATE_DB_POOL_SIZE", default)))
    except ValueError:
        return default


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def _create_private(url: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600) before SQLite does with
    the umask's mode: it holds password hashes and the login key. SQLite gives its -wal and -shm
    files the database file's mode."""
    u = make_url(url)
    database = u.database or ""
    if not database or database == ":memory:" or u.query.get("mode") or "mode=" in database:
        return
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another process created it meanwhile
        pass
    except OSError:  # SQLite will report the real problem when it opens the file
        pass


def make_engine(url: str | None = None) -> Engine:
    """A new engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    url = config.db_url(url)
    if is_sqlite(url):
        _create_private(url)
        # Connections are cheap; a pool as large as the busiest team keeps threads from queueing on
        # the pool instead of on SQLite's own (fair, 30 s) busy handler.
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=_pool_size(10),
            max_overflow=40,
            pool_timeout=60,
        )
        event.listen(engine, "handle_error", _translate_error)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (so BEGIN IMMEDIATE
            # works)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "before_cursor_execute")
        def _no_nul(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            # SQLite would store a NUL; PostgreSQL refuses it. Refuse it here too, so that both
            # backends hold the same data and a database can always be copied to PostgreSQL.
            if _has_nul(parameters):
                raise InvalidText(_NUL_MESSAGE)

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades under load.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write", True) else "BEGIN")

        return engine
    # PostgreSQL: a pool per process (the app serves every annotator from one); pre-ping drops
    # connections the server closed, recycle bounds their age behind proxies (pgbouncer, cloud LBs).
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=_pool_size(10),
        max_overflow=30,
        pool_timeout=60,
        pool_recycle=1800,
        connect_args={"application_name": "kocurate", "connect_timeout": 10},
    )
    event.listen(engine, "handle_error", _translate_error)
    return engine


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """A shared engine per URL (the app and the CLI reuse one pool)."""
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_only(engine: Engine, *, jit: bool = True) -> Iterator[Connection]:
    """A connection in one read-only transaction: a consistent snapshot that takes no write lock.

    SQLite: a deferred BEGIN (the engine's "begin" hook reads ``info["write"]``), a WAL reader
    that never holds up anyone's save. PostgreSQL: REPEATABLE READ, one snapshot for every
    statement; ``jit=False`` turns JIT off for big aggregates (it costs ~0.1 s each, saves nothing).
    The transaction is rolled back, never committed. Only then is the write flag cleared: the
    connection goes back to the pool, and one left "read-only" would begin a later write with a
    deferred BEGIN and fail with "database is locked" instead of waiting for the lock.
    """
    conn = engine.connect()
    try:
        if is_sqlite(engine):
            conn.info["write"] = False  # info outlives the checkout: cleared below
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        if not jit and conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL jit = off")
        yield conn
    finally:
        try:
            conn.rollback()
        finally:
            conn.info.pop("write", None)
            conn.close()


@contextmanager
def read_session(engine: Engine, *, jit: bool = True) -> Iterator[Session]:
    """A read-only ORM session over :func:`read_only` (rolled back, never committed)."""
    with read_only(engine, jit=jit) as conn, Session(bind=conn) as session:
        yield session


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(paths.migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; a new empty database ends at the head revision."""
    from alembic import command

    url = config.db_url(url)
    command.upgrade(alembic_config(url), revision)
    return current_revision(url) or ""


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration this code ships (read once per process: alembic loads every migration
    file to find it, ~0.1 s that the first page run paid)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def ensure_schema(url: str | None = None) -> None:
    """Upgrade the database to head if it is behind (used by the CLI and the app on start)."""
    url = config.db_url(url)
    if current_revision(url) != head_revision():
        upgrade(url)


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


# A bulk write (an import) leaves its pages in the WAL, and SQLite's automatic checkpoint copies
# them into the database file inside the commit that passes 1,000 pages: 1.2 GB and 2.3 s after an
# import of 700k samples, on the path of the person who waits for it. Such a write turns the
# automatic checkpoint off (``no_autocheckpoint``) and leaves the copy to a thread of its own
# (``checkpoint_behind``), as SQLite's documentation suggests for WAL databases; readers and
# writers go on meanwhile.
_checkpoints: dict[str, dict[str, Any]] = {}
_checkpoints_lock = threading.Lock()
AUTOCHECKPOINT_PAGES = 1000  # SQLite's default


@contextmanager
def no_autocheckpoint(conn: Connection) -> Iterator[None]:
    """No automatic checkpoint at the commits on ``conn`` (SQLite; nothing on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection  # type: ignore[union-attr]
    raw.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")


def checkpoint_behind(engine: Engine) -> threading.Thread | None:
    """Copy a SQLite database's WAL into its file in a thread (not a daemon: a CLI command waits
    for it before it exits); when one is running already it goes once more afterwards, for what
    was written meanwhile. None on PostgreSQL and for an in-memory database."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    path = str(engine.url.database)
    if path == ":memory:" or path.startswith("file:"):
        return None
    with _checkpoints_lock:
        state = _checkpoints.get(path)
        if state is not None and state["thread"].is_alive():
            state["again"] = True
            return state["thread"]
        state = {"again": False}
        thread = threading.Thread(
            target=_checkpoint, args=(path, state), name="kocurate-checkpoint"
        )
        state["thread"] = thread
        _checkpoints[path] = state
        thread.start()
        return thread


def _checkpoint(path: str, state: dict[str, Any]) -> None:
    try:
        # mode=rw: a database removed meanwhile is not made again, empty
        uri = f"{Path(path).absolute().as_uri()}?mode=rw"
        con = sqlite3.connect(
            uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            while True:
                # PASSIVE: copies what no reader still needs, waits for nobody
                con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with _checkpoints_lock:
                    if not state["again"]:
                        return
                    state["again"] = False
        finally:
            con.close()
    except sqlite3.Error:  # the next commit's automatic checkpoint does it instead
        pass
    finally:
        with _checkpoints_lock:
            if _checkpoints.get(path) is state:
                del _checkpoints[path]


def wait_for_checkpoints() -> None:
    """Until the checkpoint threads started so far are done (tests, a clean exit)."""
    while True:
        with _checkpoints_lock:
            threads = [s["thread"] for s in _checkpoints.values()]
        if not threads:
            return
        for t in threads:
            t.join()
