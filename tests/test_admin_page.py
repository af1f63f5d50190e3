"""The Admin page (Streamlit AppTest): confirmations and toasts for role changes and disabling, the
last admin kept, the audit log tab with filters and keyset paging; names shown as plain text (issue
13.5, 20.10).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor
from tests.page_helpers import open_page

EVIL = "![x](http://evil.example/a.png)"


def _role(engine, name: str) -> str:  # type: ignore[no-untyped-def]
    with db.session_scope(engine) as s:
        return next(u.role for u in user_service.list_users(s, SYSTEM) if u.username == name)


def _all_markdown(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in (
            "markdown",
            "caption",
            "success",
            "warning",
            "info",
            "error",
            "toast",
            "title",
            "header",
            "subheader",
        )
        for e in getattr(at, kind, [])
    )


def test_role_change_asks_first_then_toasts_and_audits(
    db_url: str, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session_scope(engine) as s:
        user_service.create_user(s, SYSTEM, EVIL, "annotator", "evil-test-pw-1")
    at = open_page("admin.py", db_url, actors["admin"], monkeypatch)
    assert not at.exception, at.exception
    at.selectbox(key="adm-who").set_value("lead")
    at.selectbox(key="adm-new-role").set_value("annotator").run()
    at.button[[b.label for b in at.button].index("Set role")].click().run()
    assert _role(engine, "lead") == "lead"  # nothing happens before the confirmation
    assert [w.value for w in at.warning] == ["Please confirm:"]
    assert any("Change the role of lead from lead to annotator?" in t.value for t in at.text)
    at.button(key="adm-yes").click().run()
    assert not at.exception, at.exception
    assert _role(engine, "lead") == "annotator"
    assert [t.value for t in at.toast] == ["Role changed to annotator"]

    # disabling asks too; cancel changes nothing
    at.selectbox(key="adm-who").set_value("annotator").run()
    at.button[[b.label for b in at.button].index("Disable")].click().run()
    assert any("Disable annotator?" in t.value for t in at.text)
    at.button(key="adm-no").click().run()
    with db.session_scope(engine) as s:
        assert next(
            u for u in user_service.list_users(s, SYSTEM) if u.username == "annotator"
        ).active

    # the audit tab lists the role change; filters and paging work
    table = at.dataframe[-1].value
    assert list(table["action"])[0] == "role_change" and list(table["target"])[0] == "lead"
    at.selectbox(key="adm-au-action").set_value("user_created").run()
    table = at.dataframe[-1].value
    assert set(table["action"]) == {"user_created"} and EVIL in set(table["target"])
    # the Markdown user name never reached a Markdown element
    assert "evil.example" not in _all_markdown(at)


def test_audit_log_pages_older_by_keyset(
    db_url: str, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kocurate.services import audit

    with db.session_scope(engine) as s:
        for i in range(130):
            audit.record(s, SYSTEM, "settings", target=f"k{i}")
    at = open_page("admin.py", db_url, actors["admin"], monkeypatch)
    at.selectbox(key="adm-au-action").set_value("settings").run()
    first = list(at.dataframe[-1].value["target"])
    assert len(first) == 100 and first[0] == "k129"
    at.button(key="adm-au-older").click().run()
    second = list(at.dataframe[-1].value["target"])
    assert second == [f"k{i}" for i in range(29, -1, -1)]
    assert at.button(key="adm-au-older").disabled
    at.button(key="adm-au-newer").click().run()
    assert list(at.dataframe[-1].value["target"]) == first


def test_last_admin_demotion_is_refused_on_the_page(
    db_url: str, engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Actor(actors["admin"].id, "admin", "admin")
    at = open_page("admin.py", db_url, other, monkeypatch)
    at.selectbox(key="adm-who").set_value("admin")
    at.selectbox(key="adm-new-role").set_value("lead").run()
    at.button[[b.label for b in at.button].index("Set role")].click().run()
    at.button(key="adm-yes").click().run()
    assert not at.exception
    assert any("last active admin" in e.value for e in at.error)
    assert _role(engine, "admin") == "admin"
