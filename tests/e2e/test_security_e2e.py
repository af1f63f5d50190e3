"""Browser tests of issue 20: sessions end at once (disable, demotion, logout; a copied cookie too),
the login cookie is HttpOnly and SameSite=Strict, and names are never rendered as Markdown (no image
fetched).

The app runs as ``kocurate serve`` runs it: ``streamlit run asgi.py`` (app.py plus the cookie
routes), on its own copy of the demo database (these tests disable and demote accounts).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from e2e_helpers import AppServer, do_login, served, wait_idle
from sqlalchemy import text

from kocurate import db
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class _Pixel(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Pixel.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pixel() -> Iterator[str]:
    """A real HTTP server that records every request (an image a viewer's browser would fetch)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture(scope="module")
def secure_app(
    e2e_db: str, pixel: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("sec-e2e")
    path = folder / "app.db"
    src, dst = sqlite3.connect(e2e_db.removeprefix("sqlite:///")), sqlite3.connect(path)
    src.backup(dst)  # with what is still in the source's WAL file
    src.close()
    dst.close()
    url = f"sqlite:///{path}"
    eng = db.make_engine(url)
    # names written before names were validated (or straight into the database): a Markdown image
    # each
    with db.session_scope(eng) as s:
        s.execute(
            text("UPDATE datasets SET name = :n WHERE id = (SELECT min(id) FROM datasets)"),
            {"n": f"![ds]({pixel}/dataset.gif)"},
        )
        user_service.create_user(
            s, SYSTEM, f"![u]({pixel}/user.gif)", "annotator", "markdown-user-pw"
        )
    eng.dispose()
    with served(
        url, folder, {"KOCURATE_SECRET": "sec-e2e-secret", "KOCURATE_SESSION_CHECK_SECONDS": "1"}
    ) as app:
        yield app


def _change(server: AppServer, what: str, username: str) -> None:
    eng = db.make_engine(server.db_url)
    with db.session_scope(eng) as s:
        if what == "disable":
            user_service.set_active(s, SYSTEM, username, False)
        else:
            user_service.set_role(s, SYSTEM, username, "annotator")
    eng.dispose()


def _logged_out(page: object) -> None:
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)  # type: ignore[attr-defined]
    assert page.get_by_test_id("stSidebar").get_by_text(" · ", exact=False).count() == 0  # type: ignore[attr-defined]


def _cookie(context: object) -> dict:
    got = [c for c in context.cookies() if c["name"] == "kocurate_session"]  # type: ignore[attr-defined]
    assert len(got) == 1, got
    return got[0]


def test_cookie_is_httponly_and_logout_ends_a_copied_cookie(
    secure_app: AppServer, new_page
) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    do_login(page, secure_app.base_url, "annotator2")
    page.wait_for_function("() => true")
    page.wait_for_timeout(500)  # the page's POST to /auth/session
    cookie = _cookie(page.context)
    assert (
        cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    )  # plain http here
    assert "kocurate_session" not in page.evaluate("document.cookie")  # no script can read it

    thief = new_page()  # a copy of the cookie, taken before the logout
    thief.context.add_cookies(
        [{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}]
    )
    thief.goto(secure_app.base_url + "/")
    thief.get_by_test_id("stSidebar").get_by_text("annotator2 ·", exact=False).wait_for()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    _logged_out(page)
    page.wait_for_timeout(500)
    assert not [
        c for c in page.context.cookies() if c["name"] == "kocurate_session"
    ]  # cleared by the server
    thief.wait_for_timeout(1200)  # past the per-request check's cache
    thief.reload()
    _logged_out(thief)


@pytest.mark.parametrize(("who", "what"), [("annotator", "disable"), ("lead", "demote")])
def test_open_tab_ends_on_disable_and_demotion(
    secure_app: AppServer, new_page, who: str, what: str
) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    do_login(page, secure_app.base_url, who)
    wait_idle(page)
    _change(secure_app, what, who)
    page.wait_for_timeout(1200)  # past the per-request check's cache
    # the next click in the open tab: the login has ended, nothing on the page can act for them any
    # more
    page.get_by_test_id("stSidebarNav").get_by_text("Search").click()
    _logged_out(page)
    assert page.get_by_text("Your login has ended", exact=False).count() == 1


def test_names_are_plain_text_and_fetch_nothing(
    secure_app: AppServer, pixel: str, new_page
) -> None:  # type: ignore[no-untyped-def]
    _Pixel.hits.clear()
    page = new_page()
    do_login(page, secure_app.base_url, "lead")
    page.goto(secure_app.url("datasets"))
    page.get_by_role("heading", name="Datasets").wait_for()
    wait_idle(page)
    md_user = new_page()
    do_login(md_user, secure_app.base_url, f"![u]({pixel}/user.gif)", "markdown-user-pw")
    md_user.goto(secure_app.url("dashboard"))
    md_user.get_by_role("heading", name="My statistics").wait_for()
    wait_idle(md_user)
    page.wait_for_timeout(1000)
    assert _Pixel.hits == []  # no viewer's browser fetched the "image" in a name
    # the names are there, as plain text
    assert page.get_by_test_id("stText").filter(has_text=f"![ds]({pixel}/dataset.gif)").count() >= 1
    assert (
        md_user.get_by_test_id("stText")
        .filter(has_text=f"Statistics of ![u]({pixel}/user.gif)")
        .count()
        == 1
    )
