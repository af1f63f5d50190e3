"""Shared fixtures: a real migrated database (SQLite file; PostgreSQL too when configured), users,
data.

Database tests take the ``db_url`` fixture. It runs on SQLite always and also on PostgreSQL when
``KOCURATE_TEST_PG_URL`` points at a server (``.ci/run`` starts one): each test gets a fresh
database cloned from a migrated template.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# the web app speaks Korean by default; tests read its English strings unless a test switches
# (test_i18n)
os.environ.setdefault("KOCURATE_DEFAULT_LANG", "en")

from kocurate import db  # noqa: E402
from kocurate.services import users as user_service  # noqa: E402
from kocurate.services.auth import SYSTEM, Actor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get(
    "KOCURATE_TEST_PG_URL"
)  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres
BACKENDS = ["sqlite", "pg"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"real data excerpts not found at {SHARED} (clone outside the kocurate workspace)"
        )
    return SHARED


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"kc_template_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db.upgrade(_pg_db_url(name))
    db.get_engine.cache_clear()
    yield name
    with admin.connect() as c:  # a developer's own server does not collect one template per run
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_db_url(name: str) -> str:
    base, _, _ = PG_URL.rpartition("/")  # type: ignore[union-attr]
    return f"{base}/{name}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh database at the head revision: SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "kocurate.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"kc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _pg_db_url(name)
    finally:
        db.get_engine.cache_clear()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def actors(engine: Engine) -> dict[str, Actor]:
    """admin, lead, annotator, annotator2 as Actors (passwords: NAME-test-pw)."""
    out: dict[str, Actor] = {}
    with db.session_scope(engine) as s:
        for name, role in (
            ("admin", "admin"),
            ("lead", "lead"),
            ("annotator", "annotator"),
            ("annotator2", "annotator"),
        ):
            user, _ = user_service.create_user(s, SYSTEM, name, role, f"{name}-test-pw")
            s.flush()
            out[name] = user_service.actor_of(user)
    return out
