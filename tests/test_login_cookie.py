"""The login cookie is signed and read back without a database self-deadlock (no KOCURATE_SECRET
set)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kocurate import db


def test_token_round_trip_without_env_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cookie.db'}"
    monkeypatch.setenv("KOCURATE_DB_URL", url)
    monkeypatch.delenv("KOCURATE_SECRET", raising=False)
    from kocurate import ui
    from kocurate.services import users
    from kocurate.services.auth import SYSTEM

    ui._db_secret.clear()
    ui.engine.clear()
    db.upgrade(url)
    with db.session_scope(db.make_engine(url)) as s:
        user, _ = users.create_user(s, SYSTEM, "ann", "annotator", "ann-password-1")
        actor = users.actor_of(user)
    now = int(time.time())
    token = ui._token(actor, now)
    assert token is not None
    # a new process: the secret is read from the database again, inside no other session
    ui._db_secret.clear()
    t0 = time.monotonic()
    got = ui._actor_from_token(token)
    assert time.monotonic() - t0 < 10, "reading the cookie waited on our own write lock"
    assert got is not None and got[0].username == "ann"
    assert ui._actor_from_token(token[:-1] + ("0" if token[-1] != "0" else "1")) is None  # tampered


APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _app(url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KOCURATE_DB_URL", url)
    monkeypatch.setenv("KOCURATE_SECRET", "apptest-secret")
    st.cache_resource.clear()
    return AppTest.from_file(APP, default_timeout=60).run()


def _login(at, username: str, password: str):  # type: ignore[no-untyped-def]
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_login_page_works_on_a_read_only_database(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20.8: logging in needs no write; the app opens (no traceback)."""
    from kocurate.services import users
    from kocurate.services.auth import SYSTEM

    path = tmp_path / "ro.db"
    path.write_bytes(sqlite_template.read_bytes())
    rw = db.make_engine(f"sqlite:///{path}")
    with db.session_scope(rw) as s:
        users.create_user(s, SYSTEM, "reader", "lead", "reader-test-pw")
    rw.dispose()
    at = _login(
        _app(f"sqlite:///file:{path}?mode=ro&uri=true", monkeypatch), "reader", "reader-test-pw"
    )
    assert not at.exception, at.exception
    assert any(t.value == "reader · lead" for t in at.sidebar.text), [
        t.value for t in at.sidebar.text
    ]


def test_unreachable_database_shows_one_sentence_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 20.11: the page says what is wrong and shows no traceback (no paths, host or user
    names)."""
    at = _login(
        _app("postgresql+psycopg://kocurate:Sup3r-s3cret-pw@127.0.0.1:1/kocurate", monkeypatch),
        "x",
        "y",
    )
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    assert "cannot connect to the database" in shown and "Sup3r-s3cret-pw" not in shown


def _post(
    route, body: bytes, scheme: str = "http", headers: list[tuple[bytes, bytes]] | None = None
):  # type: ignore[no-untyped-def]
    import asyncio
    import concurrent.futures

    from starlette.requests import Request

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/auth/session",
        "headers": headers or [],
        "scheme": scheme,
        "query_string": b"",
        "server": ("127.0.0.1", 8501),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }
    # a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, route(Request(scope, receive))).result()


def test_cookie_routes_set_httponly_strict_and_secure_over_https() -> None:
    from kocurate import webauth

    ticket = webauth.issue_ticket("1.2.3.sig")
    plain = _post(webauth.session_route, ticket.encode())
    cookie = plain.headers["set-cookie"]
    assert cookie.startswith("kocurate_session=1.2.3.sig;") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" not in cookie and "Path=/" in cookie
    assert _post(webauth.session_route, ticket.encode()).status_code == 400  # a ticket works once
    assert _post(webauth.session_route, b"made-up").status_code == 400
    for scheme, headers in (("https", []), ("http", [(b"x-forwarded-proto", b"https")])):
        got = _post(webauth.session_route, webauth.issue_ticket("t").encode(), scheme, headers)
        assert "Secure" in got.headers["set-cookie"]
    out = _post(webauth.logout_route, b"")
    assert (
        out.headers["set-cookie"].startswith('kocurate_session="";')
        and "Max-Age=0" in out.headers["set-cookie"]
    )
