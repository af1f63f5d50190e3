"""Security: roles checked in every service, login throttling, sessions that end, secrets kept out
of logs and DB."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

import kocurate.services as services_pkg
from kocurate import db
from kocurate.errors import AuthError, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import Base, LoginAttempt, User
from kocurate.services import users as user_service
from kocurate.services.auth import PERMISSIONS, SYSTEM, Actor, allowed

DEMO = Path(__file__).resolve().parents[1] / "kocurate" / "demo"
_REQUIRE = re.compile(r"actor\.require\(\s*[\"']([a-z_]+)[\"']")


def _guarded() -> list[tuple[str, str, str]]:
    """(module, function, permission) for every public service function that checks a literal
    permission."""
    out = []
    for m in sorted(pkgutil.iter_modules(services_pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"kocurate.services.{m.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__ or name.startswith("_"):
                continue
            perms = _REQUIRE.findall(inspect.getsource(fn))
            if perms:
                out.append((m.name, name, perms[0]))
    return out


GUARDED = _guarded()
WRITE_NAMES = re.compile(
    r"^(set_|save_|create|delete|add_|import|export|translate|retranslate|accept_|reject_|"
    r"decide|restore|run_|start_|cancel|resume|apply|glossary_(import|replace|sync)|train|use_|"
    r"backup|copy|reset_|dedup)"
)
# actor-taking functions that write without a role check of their own, and why that is right
UNGUARDED_OK = {
    "jobs.create": "internal primitive: its callers (translate.start_batch …) check the role first",
    "review.release_claim": "deletes only the caller's own open claim",
    "prefs.set_language": "changes only the caller's own language setting",
}


def _wrong_actor(permission: str, ids: dict[str, int]) -> Actor:
    """The most powerful role that still lacks ``permission`` (an unknown role when every role has
    it)."""
    for role in ("lead", "annotator"):
        if not allowed(role, permission):
            return Actor(ids[role], role, role)
    return Actor(ids["annotator"], "annotator", "guest")  # not a role at all: allowed() is False


def _argument(p: inspect.Parameter, ctx: dict[str, Any]) -> Any:
    name, ann = p.name, str(p.annotation)
    if name in ctx:
        return ctx[name]
    if name in ("path", "model_path", "out_dir", "ko_path", "source_path"):
        return ctx["tmp_path"] / "wrong-role-output"
    if name in ("files",):
        return [ctx["tmp_path"] / "none.jsonl"]
    if name == "spec":
        from kocurate.services.export import ExportSpec

        return ExportSpec()
    if name == "flags":
        return {"other": "x"}
    if name in ("filters", "f"):
        return None
    if name in ("rows",):
        return []
    if name in ("data",):
        return "source,target\nLLM,언어 모델\n"
    if name.endswith("_id") or name in ("k", "dataset_ref") or "int" in ann:
        return 1
    if "bool" in ann:
        return False
    if "float" in ann:
        return 1.0
    if "Sequence" in ann or "list" in ann:
        return ["x"]
    if "dict" in ann:
        return {}
    return "x-wrong-role"


def _snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {
            t.name: c.execute(select(func.count()).select_from(t)).scalar()
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    path = tmp_path_factory.mktemp("sec") / "sec.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = db.make_engine(url)
    import_files(eng, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg")
    with db.session_scope(eng) as s:
        for name, role in (("annotator", "annotator"), ("lead", "lead"), ("admin", "admin")):
            user_service.create_user(s, SYSTEM, name, role, f"{name}-test-pw")
        s.execute(
            text(
                "INSERT INTO flags(sample_id, category, origin, state, created_at, updated_at) "
                "VALUES (1, 'hate', 'check', 'active', '2026-01-01', '2026-01-01')"
            )
        )
        s.execute(
            text(
                "INSERT INTO edits(sample_id, turn_id, field, kind, before, after, sample_version,"
                " meta, created_at) VALUES (1, 1, 'text', 'manual', 'a', 'b', 1, '{}',"
                " '2026-01-01')"
            )
        )
        s.execute(
            text(
                "INSERT INTO suggestions(sample_id, turn_id, text, engine, options,"
                " based_on_version, state, created_at) VALUES (1, 1, 'x', 'deepl', '{}', 1, 'open',"
                " '2026-01-01')"
            )
        )
        s.execute(
            text(
                "INSERT INTO jobs(kind, status, params, done, total, result, created_at,"
                " updated_at) VALUES ('translate_batch', 'running', '{}', 0, 0, '{}', '2026-01-01',"
                " '2026-01-01')"
            )
        )
    eng.dispose()
    return url


def test_every_role_gated_service_was_found() -> None:
    names = {f"{m}.{f}" for m, f, _ in GUARDED}
    assert {
        "review.save_edit",
        "review.decide",
        "datasets.import_dataset",
        "users.create_user",
        "backup.backup",
        "dbcopy.copy_database",
    } <= names
    for _m, _f, perm in GUARDED:  # every permission a service asks for is one some role has
        assert any(perm in perms for perms in PERMISSIONS.values()), perm


@pytest.mark.parametrize(
    ("module", "function", "permission"), GUARDED, ids=[f"{m}.{f}" for m, f, _ in GUARDED]
)
def test_wrong_role_is_refused_and_writes_nothing(
    module: str,
    function: str,
    permission: str,
    populated: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", "never-used-key")
    monkeypatch.setenv(
        "DEEPL_SERVER_URL", "http://127.0.0.1:9"
    )  # closed port: nothing leaves the machine
    fn = getattr(importlib.import_module(f"kocurate.services.{module}"), function)
    eng = db.make_engine(populated)
    with Session(eng) as s:
        ids = dict(s.execute(select(User.role, User.id)).all())
    actor = _wrong_actor(permission, ids)
    before = _snapshot(eng)
    try:
        with Session(eng) as session:
            ctx = {
                "session": session,
                "engine": eng,
                "engine_or_url": eng,
                "actor": actor,
                "tmp_path": tmp_path,
                "src_url": populated,
                "dst_url": f"sqlite:///{tmp_path / 'copy.db'}",
                "kind": "sharegpt",
                "username": "annotator",
                "role": "admin",
                "password": "new-password-1",
                "text": "새 글",
                "decision": "approve",
                "state": "confirmed",
                "query": "안녕",
                "expected_version": 1,
                "active": False,
            }
            sig = inspect.signature(fn)
            args = {
                n: _argument(p, ctx)
                for n, p in sig.parameters.items()
                if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            }
            if "if not actor.can(" in inspect.getsource(fn):
                # a view scoped by role (an annotator sees only their own figures): refused or
                # answered, but never a write
                try:
                    fn(**args)
                except PermissionDenied:
                    pass
            else:
                with pytest.raises(PermissionDenied):
                    fn(**args)
            session.commit()  # whatever the call left in the session would be written now
    finally:
        after = _snapshot(eng)
        eng.dispose()
    assert after == before
    assert not (tmp_path / "wrong-role-output").exists()
    assert not (tmp_path / "copy.db").exists()


def test_write_services_without_a_role_check_are_known() -> None:
    """A new write path that takes an actor but never checks its role fails here until it does."""
    missing = []
    guarded = {f"{m}.{f}" for m, f, _ in GUARDED}
    for m in sorted(pkgutil.iter_modules(services_pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"kocurate.services.{m.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            full = f"{m.name}.{name}"
            if fn.__module__ != mod.__name__ or name.startswith("_") or full in guarded:
                continue
            if "actor" not in inspect.signature(fn).parameters or not WRITE_NAMES.match(name):
                continue
            src = inspect.getsource(fn)
            if "require(" in src or "_require(" in src:  # a computed permission (jobs: the kind's)
                continue
            if full not in UNGUARDED_OK:
                missing.append(full)
    assert missing == []


def test_jobs_cancel_and_resume_check_the_kind_permission(populated: str) -> None:
    from kocurate.services import jobs

    eng = db.make_engine(populated)
    with Session(eng) as s:
        job_id = s.scalar(select(func.max(text("id"))).select_from(text("jobs")))
        annotator_id = s.scalar(select(User.id).where(User.role == "annotator"))
        ann = Actor(annotator_id, "annotator", "annotator")
        with pytest.raises(PermissionDenied):
            jobs.cancel(s, ann, job_id)
        with pytest.raises(PermissionDenied):
            jobs.resume(s, ann, job_id)
    eng.dispose()


# ------------------------------------------------------------------------------ logins, sessions


def _age_attempts(engine: Engine, seconds: float) -> None:
    """Move every recorded login attempt ``seconds`` into the past (time passing, without
    sleeping)."""
    with db.session_scope(engine) as s:
        for row in s.scalars(select(LoginAttempt)):
            row.at = row.at - timedelta(seconds=seconds)


def test_login_throttling_grows_delays_but_never_locks_the_real_user_out(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    """Issue 20.4: a guesser on another address cannot lock the account; delays grow; no hard
    lock."""
    with Session(engine) as s:  # the real user logged in from their own address before
        assert (
            user_service.authenticate(s, "admin", "admin-test-pw", client="10.0.0.5").role
            == "admin"
        )
    with Session(engine) as s:
        for i in range(user_service.FREE_PER_NAME):
            with pytest.raises(AuthError, match="^wrong user name or password$"):
                user_service.authenticate(s, "admin", f"guess-{i}", client="203.0.113.9")
        # the guesser now waits, for the account and (with other names) for the address too
        with pytest.raises(AuthError, match="too many failed logins.*wait 1 s"):
            user_service.authenticate(s, "admin", "admin-test-pw", client="203.0.113.9")
        # the real user, from the address they used before, is not held back: right password works
        assert (
            user_service.authenticate(s, "admin", "admin-test-pw", client="10.0.0.5").role
            == "admin"
        )
        # a brand-new address has to wait the (short) account delay, then gets in: no hard lock
        with pytest.raises(AuthError, match="too many failed logins"):
            user_service.authenticate(s, "admin", "admin-test-pw", client="198.51.100.7")
    _age_attempts(engine, 2)
    with Session(engine) as s:
        assert (
            user_service.authenticate(s, "admin", "admin-test-pw", client="198.51.100.7").role
            == "admin"
        )
    with Session(engine) as s:  # the delay doubles with every further failure
        for i in range(user_service.FREE_PER_NAME + 3):
            _age_attempts(
                engine, 121
            )  # each try after the previous delay ran out (delays cap at 120 s)
            with pytest.raises(AuthError, match="^wrong user name or password$"):
                user_service.authenticate(s, "lead", f"guess-{i}", client="203.0.113.10")
        assert (
            7 <= user_service.wait_seconds(s, "lead", "203.0.113.10") <= 8
        )  # 2**3 s after the 8th failure
        # another account is not affected
        assert (
            user_service.authenticate(s, "annotator", "annotator-test-pw", client="192.0.2.1").role
            == "annotator"
        )


def test_unknown_user_names_are_throttled_alike(engine: Engine, actors: dict[str, Actor]) -> None:
    """Issue 20.6: 'too many failed logins' answers for made-up names too (nothing to enumerate)."""
    with Session(engine) as s:
        for name in ("lead", "no-such-person"):
            for i in range(user_service.FREE_PER_NAME):
                with pytest.raises(AuthError, match="^wrong user name or password$"):
                    user_service.authenticate(s, name, f"guess-{i}", client=f"198.51.100.{i}")
            with pytest.raises(AuthError) as err:
                user_service.authenticate(s, name, "guess-x", client="198.51.100.99")
            assert "too many failed logins" in str(err.value)


def test_per_client_and_global_throttles(
    engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as s:
        for i in range(
            user_service.FREE_PER_CLIENT
        ):  # a different name each time: only the address repeats
            with pytest.raises(AuthError, match="^wrong user name or password$"):
                user_service.authenticate(s, f"name-{i}", "guess", client="203.0.113.50")
        with pytest.raises(AuthError, match="too many failed logins"):
            user_service.authenticate(s, "lead", "lead-test-pw", client="203.0.113.50")
        assert (
            user_service.authenticate(s, "lead", "lead-test-pw", client="203.0.113.51").role
            == "lead"
        )
        monkeypatch.setattr(user_service, "GLOBAL_PER_MINUTE", user_service.FREE_PER_CLIENT)
        with pytest.raises(
            AuthError, match="too many failed logins"
        ):  # many failures overall: unknown clients wait
            user_service.authenticate(s, "annotator", "annotator-test-pw", client="192.0.2.77")
        # a client known for the account still gets in
        assert (
            user_service.authenticate(s, "lead", "lead-test-pw", client="203.0.113.51").role
            == "lead"
        )


def test_known_and_unknown_users_cost_the_same(engine: Engine, actors: dict[str, Actor]) -> None:
    """Issue 20.6: one scrypt for unknown users as for known ones (it was two); the times themselves
    are measured by benchmarks/security.py."""
    from kocurate.services import auth as auth_mod

    calls: list[int] = []
    real = auth_mod.hashlib.scrypt

    def counting(*a: Any, **k: Any) -> bytes:
        calls.append(1)
        return real(*a, **k)

    auth_mod.hashlib.scrypt = counting  # type: ignore[assignment]
    try:
        costs = {}
        with Session(engine) as s:
            for who, name in (
                ("known", "lead"),
                ("unknown", "nobody-at-all"),
                ("disabled", "annotator2"),
            ):
                if who == "disabled":
                    with db.session_scope(engine) as w:
                        user_service.set_active(w, SYSTEM, name, False)
                calls.clear()
                with pytest.raises(AuthError) as err:
                    user_service.authenticate(
                        s, name, "wrong-password", client=f"192.0.2.{len(name)}"
                    )
                costs[who] = (len(calls), str(err.value))
    finally:
        auth_mod.hashlib.scrypt = real  # type: ignore[assignment]
    assert costs == {
        k: (1, "wrong user name or password") for k in ("known", "unknown", "disabled")
    }


def test_login_works_on_a_read_only_database(tmp_path: Path, sqlite_template: Path) -> None:
    """Issue 20.8: bookkeeping writes are best-effort; the login still succeeds (and failures still
    count)."""
    path = tmp_path / "ro.db"
    path.write_bytes(sqlite_template.read_bytes())
    rw = db.make_engine(f"sqlite:///{path}")
    with db.session_scope(rw) as s:
        user_service.create_user(s, SYSTEM, "reader", "annotator", "reader-test-pw")
    rw.dispose()
    ro = db.make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with Session(ro) as s:
        assert (
            user_service.authenticate(s, "reader", "reader-test-pw", client="192.0.2.3").username
            == "reader"
        )
        for i in range(user_service.FREE_PER_NAME):
            with pytest.raises(AuthError, match="^wrong user name or password$"):
                user_service.authenticate(s, "reader", f"guess-{i}", client="192.0.2.4")
        with pytest.raises(AuthError, match="too many failed logins"):  # counted in memory
            user_service.authenticate(s, "reader", "reader-test-pw", client="192.0.2.4")
    ro.dispose()
    user_service._mem_attempts.clear()


def test_login_gives_no_hint_which_part_was_wrong(engine: Engine, actors: dict[str, Actor]) -> None:
    with Session(engine) as s:
        with pytest.raises(AuthError) as unknown:
            user_service.authenticate(s, "nobody-here", "whatever-pw")
        with pytest.raises(AuthError) as wrong:
            user_service.authenticate(s, "lead", "whatever-pw")
        assert str(unknown.value) == str(wrong.value)
    with db.session_scope(engine) as s:
        user_service.set_active(s, SYSTEM, "lead", False)
    with Session(engine) as s, pytest.raises(AuthError, match="wrong user name or password"):
        user_service.authenticate(s, "lead", "lead-test-pw")  # disabled accounts cannot log in


def test_passwords_are_stored_hashed(engine: Engine, actors: dict[str, Actor]) -> None:
    with engine.connect() as c:
        rows = c.execute(select(User.username, User.password_hash)).all()
    for name, stored in rows:
        assert f"{name}-test-pw" not in stored and stored.startswith("scrypt$")


def test_sessions_expire(
    db_url: str, engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    ui = pytest.importorskip("kocurate.ui")
    if not all(hasattr(ui, n) for n in ("_token", "_actor_from_token", "session_hours")):
        pytest.skip("kocurate.ui has no signed login token")
    monkeypatch.setenv("KOCURATE_DB_URL", db_url)
    monkeypatch.setenv("KOCURATE_SECRET", "test-secret-for-tokens")
    ui.engine.clear()
    try:
        ann = actors["annotator"]
        now = int(time.time())
        token = ui._token(ann, now)
        assert ui._actor_from_token(token)[0].username == "annotator"
        old = int(now - ui.session_hours() * 3600 - 60)
        assert ui._actor_from_token(ui._token(ann, old)) is None  # expired
        uid, at, gen, sig = token.split(".")
        assert ui._actor_from_token(f"{uid}.{at}.{gen}.{'0' * len(sig)}") is None  # forged
        assert (
            ui._actor_from_token(f"{actors['admin'].id}.{at}.{gen}.{sig}") is None
        )  # someone else's id
        with db.session_scope(engine) as s:
            user_service.reset_password(s, SYSTEM, "annotator", "brand-new-pw-1")
        assert ui._actor_from_token(token) is None  # a password reset ends every session
    finally:
        ui.engine.clear()


# ------------------------------------------------------------------------------------ secrets


def test_deepl_key_never_in_logs_or_database(
    engine: Engine,
    actors: dict[str, Actor],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    tr = pytest.importorskip("kocurate.services.translate")
    fake = pytest.importorskip("fake_deepl")
    key = "SECRET-deepl-key-7f3a9c:fx"
    srv = fake.FakeDeepL(keys=(key,)).start()
    try:
        monkeypatch.setenv("DEEPL_AUTH_KEY", key)
        monkeypatch.setenv("DEEPL_SERVER_URL", srv.url)
        caplog.set_level(logging.DEBUG)
        import_files(
            engine, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg"
        )
        with db.session_scope(engine) as s:
            turn_id = s.scalar(text("SELECT min(id) FROM turns WHERE source_text IS NOT NULL"))
            tr.retranslate_turn(s, actors["annotator"], turn_id)
        # a wrong key: the error message must not echo it either
        monkeypatch.setenv("DEEPL_AUTH_KEY", key + "-wrong")
        with db.session_scope(engine) as s, pytest.raises(Exception) as exc:
            turn2 = s.scalar(text("SELECT max(id) FROM turns WHERE source_text IS NOT NULL"))
            tr.retranslate_turn(s, actors["annotator"], turn2)
        assert key not in str(exc.value)
    finally:
        srv.stop()
    assert srv.translate_requests, "the fake DeepL server was not called"
    assert key not in caplog.text and key.split(":")[0] not in caplog.text
    with engine.connect() as c:  # nowhere in any table
        for t in Base.metadata.sorted_tables:
            for row in c.execute(select(t)):
                assert key.split(":")[0] not in repr(tuple(row)), t.name


def test_passwords_not_logged(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # even with SQL echo on
    try:
        with db.session_scope(engine) as s:
            user_service.create_user(s, SYSTEM, "logcheck", "annotator", "pw-that-must-not-leak")
        with Session(engine) as s:
            user_service.authenticate(s, "logcheck", "pw-that-must-not-leak")
            with pytest.raises(AuthError):
                user_service.authenticate(s, "logcheck", "other-guess-not-leaked")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert (
        "pw-that-must-not-leak" not in caplog.text and "other-guess-not-leaked" not in caplog.text
    )


# ------------------------------------------------------------------ issue 20.3: decompression bombs


def _gzip_bomb(path: Path, decompressed_mb: int) -> Path:
    """One JSONL line whose text is ``decompressed_mb`` MB of 'a' (gzip makes it ~1000× smaller)."""
    import gzip

    block = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b'{"instruction": "')
        for _ in range(decompressed_mb):
            fh.write(block)
        fh.write(b'", "output": "x"}\n')
    return path


def test_gzip_bomb_stops_at_the_ratio_limit_while_reading(tmp_path: Path) -> None:
    import tracemalloc

    from kocurate.errors import ImportFailed
    from kocurate.importers.readers import iter_records

    bomb = _gzip_bomb(tmp_path / "bomb.jsonl.gz", 200)
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ImportFailed) as err:
            list(iter_records(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "ratio limit" in str(err.value) and "bomb.jsonl.gz" in str(err.value)
    assert peak < 100 << 20, f"{peak / 2**20:.0f} MB held while reading a bomb"


def test_line_record_and_file_limits_name_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import json as _json

    from kocurate.errors import ImportFailed
    from kocurate.importers.readers import iter_records

    good = _json.dumps({"instruction": "hi", "output": "there"})
    long = _json.dumps({"instruction": "x" * 5000, "output": "y"})
    jsonl = tmp_path / "lines.jsonl.gz"
    jsonl.write_bytes(gzip.compress(f"{long}\n{good}\n".encode()))
    monkeypatch.setenv("KOCURATE_MAX_LINE_BYTES", "2000")
    got = list(iter_records(jsonl))
    assert (
        isinstance(got[0][1], ImportFailed)
        and "line limit" in str(got[0][1])
        and got[0][0] == "line 1"
    )
    assert got[1] == (
        "line 2",
        {"instruction": "hi", "output": "there"},
    )  # the next line is still read

    array = tmp_path / "records.json"
    array.write_text(f"[{good}, {long}]")
    monkeypatch.setenv("KOCURATE_MAX_RECORD_BYTES", "2000")
    with pytest.raises(ImportFailed, match="record 2.*record limit"):
        list(iter_records(array))

    big = tmp_path / "big.jsonl"
    big.write_text(f"{good}\n" * 1000)
    monkeypatch.setenv("KOCURATE_MAX_FILE_BYTES", "10000")
    with pytest.raises(ImportFailed, match="file limit"):
        list(iter_records(big))


def test_cli_import_of_a_bomb_says_which_limit(tmp_path: Path) -> None:
    bomb = _gzip_bomb(tmp_path / "bomb.jsonl.gz", 64)
    proc = _cli("--db", str(tmp_path / "k.db"), "import", "koalpaca", str(bomb))
    assert proc.returncode == 2
    assert "ratio limit" in proc.stderr and "Traceback" not in proc.stderr


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run the real console entry point (kocurate.cli:main) in a child process."""
    import os
    import subprocess
    import sys

    code = "import sys; from kocurate.cli import main; sys.argv[0] = 'kocurate'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


# ------------------------------------------------------------------ issue 20.9 / 20.11: CLI
# messages


def test_db_upgrade_masks_the_password(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a SQLite URL has no password")
    from sqlalchemy.engine import make_url

    u = make_url(db_url).set(password="Sup3r-s3cret-pw")
    with_pw = u.render_as_string(hide_password=False)
    # the test server trusts local connections, so this password is accepted (or refused: masked
    # either way)
    proc = _cli("--db", with_pw, "db", "upgrade")
    assert "Sup3r-s3cret-pw" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 7 or "database at revision" in proc.stdout and "***" in proc.stdout


def test_cli_unreachable_database_prints_one_line_and_no_traceback() -> None:
    proc = _cli(
        "--db", "postgresql+psycopg://kocurate:Sup3r-s3cret-pw@127.0.0.1:1/kocurate", "datasets"
    )
    assert proc.returncode == 7
    assert proc.stderr.startswith("error: cannot connect to the database")
    assert "Traceback" not in proc.stderr and "typer.exceptions.Exit" not in proc.stderr
    assert "Sup3r-s3cret-pw" not in proc.stderr


# ------------------------------------------------------------------ issue 20.12: CSV injection


def test_glossary_export_escapes_formula_cells_and_round_trips(engine: Engine) -> None:
    import csv
    import io

    from kocurate.services import translate as tr_service

    rows = [
        ('=HYPERLINK("http://evil.example/?x","click")', "링크", "=1+2"),
        ("+cmd|' /C calc'!A0", "명령", None),
        ("@SUM(1+1)", "합계", "@note"),
        ("-ish", "-스러운", "-"),
    ]
    with db.session_scope(engine) as s:
        tr_service.glossary_import(
            s,
            SYSTEM,
            "\n".join(
                ",".join('"' + c.replace('"', '""') + '"' for c in (a, b, n or ""))
                for a, b, n in rows
            ),
        )
        out = tr_service.glossary_export(s, SYSTEM)
    cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], out
    assert "'=HYPERLINK(" in out and "'+cmd|" in out and "'@SUM" in out
    with db.session_scope(engine) as s:  # our own export imports back unchanged
        assert tr_service.glossary_import(s, SYSTEM, out, replace=True) == {
            "added": 0,
            "updated": 0,
            "removed": 0,
        }
        got = {(t["source"], t["target"], t["note"]) for t in tr_service.glossary_terms(s)}
    assert got == {(a, b, n) for a, b, n in rows}


# ------------------------------------------------------------------ issue 20.14: dataset names


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/evil",
        "a/b",
        "a\\b",
        "![x](http://evil.example/p.png)",
        "<b>x</b>",
        "tab\there",
        "line\nbreak",
        "rtl\u202eexe",
        "`code`",
        "$x$",
    ],
)
def test_cli_import_refuses_bad_dataset_names_and_writes_nothing(tmp_path: Path, name: str) -> None:
    bad = tmp_path / "mixed.jsonl"
    bad.write_text('{"instruction": "안녕", "output": "하세요"}\nnot json\n')
    dbfile = tmp_path / "k.db"
    proc = _cli(
        "--db",
        str(dbfile),
        "import",
        "koalpaca",
        str(bad),
        "--name",
        name,
        "--skip-bad",
        "--no-index",
        "--no-checks",
    )
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: dataset name") and "Traceback" not in proc.stderr
    eng = db.make_engine(f"sqlite:///{dbfile}")
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM datasets")).scalar() == 0
    eng.dispose()
    assert not list(tmp_path.rglob("*.skipped.jsonl"))


def test_default_dataset_name_from_an_odd_file_name_is_made_safe(tmp_path: Path) -> None:
    from kocurate.services import datasets as ds_service

    odd = tmp_path / "[click](x)`1`.jsonl"
    odd.write_text('{"instruction": "안녕", "output": "하세요"}\n')
    eng = db.make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    db.upgrade(f"sqlite:///{tmp_path / 'k.db'}")
    rep = ds_service.import_dataset(eng, SYSTEM, "koalpaca", odd, index=False, checks=False)
    assert rep.name == "_click_(x)_1_" and ds_service.validate_name(rep.name) == rep.name
    eng.dispose()


# ------------------------------------------------------------------ issue 13.5: admin safety, audit


def test_last_active_admin_cannot_be_demoted_or_disabled(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    from kocurate.errors import KocurateError

    with db.session_scope(engine) as s:
        admins = [
            u.username for u in user_service.list_users(s, SYSTEM) if u.role == "admin" and u.active
        ]
    assert admins == ["admin"]
    with db.session_scope(engine) as s, pytest.raises(KocurateError, match="last active admin"):
        user_service.set_role(s, actors["admin"], "admin", "lead")
    with db.session_scope(engine) as s, pytest.raises(KocurateError, match="last active admin"):
        user_service.set_active(s, actors["admin"], "admin", False)
    with db.session_scope(engine) as s:  # with a second admin it is allowed
        user_service.create_user(s, actors["admin"], "admin2", "admin", "admin2-test-pw")
    with db.session_scope(engine) as s:
        user_service.set_role(s, actors["admin"], "admin", "lead")
    with db.session_scope(engine) as s, pytest.raises(KocurateError, match="last active admin"):
        user_service.set_active(s, SYSTEM, "admin2", False)


def test_user_changes_and_logins_are_audited(engine: Engine, actors: dict[str, Actor]) -> None:
    from kocurate.services import audit

    admin = actors["admin"]
    with db.session_scope(engine) as s:
        user_service.create_user(s, admin, "newbie", "annotator", "newbie-test-pw")
        user_service.set_role(s, admin, "newbie", "lead")
        user_service.set_active(s, admin, "newbie", False)
        user_service.set_active(s, admin, "newbie", True)
        user_service.reset_password(s, admin, "newbie", "newbie-test-pw2")
    with Session(engine) as s:
        user_service.authenticate(s, "newbie", "newbie-test-pw2", client="192.0.2.8")
        with pytest.raises(AuthError):
            user_service.authenticate(s, "newbie", "wrong", client="192.0.2.8")
    with db.session_scope(engine) as s:
        user_service.end_sessions(s, Actor(actors["lead"].id, "lead", "lead"))
    with db.session_scope(engine) as s:
        got = [
            (e.action, e.username, e.target)
            for e in reversed(audit.events(s, admin))
            if e.target == "newbie" or e.username in ("newbie", "lead")
        ]
    assert got == [
        ("user_created", "admin", "newbie"),
        ("role_change", "admin", "newbie"),
        ("user_disabled", "admin", "newbie"),
        ("user_enabled", "admin", "newbie"),
        ("password_reset", "admin", "newbie"),
        ("login", "newbie", None),
        ("login_failed", "-", "newbie"),
        ("logout", "lead", None),
    ]


def test_cli_users_enable_and_end_sessions(tmp_path: Path) -> None:
    dbfile = str(tmp_path / "k.db")
    assert _cli("--db", dbfile, "users", "add", "ann", "--password", "ann-test-pw").returncode == 0
    assert _cli("--db", dbfile, "users", "disable", "ann").returncode == 0
    res = _cli("--db", dbfile, "users", "enable", "ann")
    assert res.returncode == 0 and "ann enabled" in res.stdout
    eng = db.make_engine(f"sqlite:///{dbfile}")
    with eng.connect() as c:
        gen = c.execute(
            text("SELECT session_generation FROM users WHERE username = 'ann'")
        ).scalar()
    res = _cli("--db", dbfile, "users", "end-sessions", "ann")
    assert res.returncode == 0, res.stderr
    with eng.connect() as c:
        assert (
            c.execute(text("SELECT session_generation FROM users WHERE username = 'ann'")).scalar()
            == gen + 1
        )
        assert (
            c.execute(text("SELECT action FROM audit_events ORDER BY id DESC LIMIT 1")).scalar()
            == "logout"
        )
    eng.dispose()
    res = _cli("--db", dbfile, "users", "end-sessions", "nobody")
    assert (
        res.returncode == 3 and "no user 'nobody'" in res.stderr and "Traceback" not in res.stderr
    )
