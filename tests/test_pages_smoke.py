"""Every page opens for every role that may see it, in Korean and in English, with no exception.

One AppTest per (role, page): the page runs as Streamlit would run it after app.py's navigation,
with the logged-in person in the session. Pages a role may not open are not listed for it (app.py
shows a "may not open" page instead), and their services refuse the role (tests/test_security.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kocurate import db
from kocurate.demo import create_demo
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor
from tests.page_helpers import open_page

ROOT = Path(__file__).resolve().parents[1]


def _pages() -> list[tuple[str, str, str]]:
    """(file, title, permission) from app.py's PAGES list, read without running the app."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "PAGES" for t in node.targets
        ):
            rows = []
            for item in node.value.elts:  # ("pages/x.py", N_("Title"), icon, permission)
                path, title, _icon, perm = item.elts
                title = (
                    title.args[0] if isinstance(title, ast.Call) else title
                )  # N_("…") marks it for translation
                rows.append(
                    (ast.literal_eval(path), ast.literal_eval(title), ast.literal_eval(perm))
                )
            return rows
    raise AssertionError("app.py has no PAGES list")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('smoke') / 'demo.db'}"
    create_demo(url, fresh=True)
    db.get_engine.cache_clear()
    return url


def _actor(url: str, username: str) -> Actor:
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as s:
            return next(
                user_service.actor_of(u)
                for u in user_service.list_users(s, SYSTEM)
                if u.username == username
            )
    finally:
        engine.dispose()


CASES = [
    (lang, role, path)
    for lang in ("ko", "en")
    for role in ("admin", "lead", "annotator")
    for path, _t, _p in _pages()
]


@pytest.mark.parametrize(
    ("lang", "username", "page"), CASES, ids=[f"{lg}-{r}-{Path(p).stem}" for lg, r, p in CASES]
)
def test_page_opens(
    lang: str, username: str, page: str, demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = _actor(demo_url, username)
    perm = next(p for path, _t, p in _pages() if path == page)
    if not who.can(perm):
        pytest.skip(f"{username} does not see {page}")
    # the page as a person with that language sees it
    at = open_page(page.removeprefix("pages/"), demo_url, who, monkeypatch, lang=lang)
    assert not at.exception, f"{page} as {username}: {[e.value for e in at.exception]}"
    shown = " ".join(str(e.value) for e in at.error)
    assert "Traceback" not in shown and "Error:" not in shown, shown
