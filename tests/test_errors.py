"""One errors module: an error raised in a service reaches a page in the person's language (its
message id) and the CLI as one line with the error's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kocurate import db, errors, i18n
from kocurate.cli import app
from kocurate.demo import create_demo
from kocurate.errors import KocurateError, NotFound, UnknownName
from kocurate.services import users
from tests.page_helpers import open_page

MISSING = 987654


def test_message_ids_format_to_the_english_sentence() -> None:
    exc = NotFound(msgid="no sample {sample_id}", sample_id=MISSING)
    assert str(exc) == f"no sample {MISSING}" and exc.params == {"sample_id": MISSING}
    with _english():
        assert i18n.message(exc) == f"no sample {MISSING}"
    assert str(UnknownName("check", "x", ["a", "b"])) == "unknown check 'x'; one of: a, b"
    assert str(KocurateError("plain")) == "plain" and KocurateError("plain").msgid is None
    # every family has the exit code the README's table documents; subclasses inherit it
    documented = {
        KocurateError: 1,
        errors.UsageError: 2,
        errors.ImportFailed: 2,
        errors.UnknownName: 2,
        errors.InvalidText: 2,
        NotFound: 3,
        errors.PermissionDenied: 4,
        errors.AuthError: 4,
        errors.Conflict: 5,
        errors.StaleVersion: 5,
        errors.AlreadyImported: 5,
        errors.ConfigError: 6,
        errors.DatabaseUnavailable: 7,
    }
    assert {cls: cls.exit_code for cls in documented} == documented
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for code in sorted(set(documented.values())):
        assert f"\n| {code} | " in readme, code


class _english:
    def __enter__(self) -> None:
        i18n.set_language("en")

    def __exit__(self, *exc: object) -> None:
        i18n.set_language(None)


def test_a_service_error_shows_in_korean_on_a_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'errors.db'}"
    create_demo(url)
    with db.session_scope(db.get_engine(url)) as s:
        lead = users.authenticate(s, "lead", "lead-demo-pw")
    # a deep link to a sample that does not exist
    at = open_page("review.py", url, lead, monkeypatch, {"sample": MISSING}, lang="ko")
    assert not at.exception
    shown = [e.value for e in at.error]
    # rv.sample_brief raised NotFound(msgid="no sample {sample_id}"): the page shows the catalog's
    # Korean
    assert f"샘플 {MISSING}이(가) 없습니다" in shown, shown


def test_the_cli_exits_with_the_errors_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db.upgrade(url)
    runner = CliRunner()
    res = runner.invoke(app, ["--db", url, "show", str(MISSING)])
    assert res.exit_code == NotFound.exit_code and f"no sample {MISSING}" in res.output
    assert "Traceback" not in res.output
    assert res.exit_code == 3
    monkeypatch.setattr(NotFound, "exit_code", 9)  # a class with a code of its own: the CLI follows
    res = runner.invoke(app, ["--db", url, "show", str(MISSING)])
    assert res.exit_code == 9 and f"no sample {MISSING}" in res.output


def test_an_import_error_shows_in_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kocurate.errors import ImportFailed
    from kocurate.importers.readers import iter_records

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": "x",,}\n', encoding="utf-8")
    (place, ok), (where, exc) = list(iter_records(bad))
    assert isinstance(ok, dict) and isinstance(exc, ImportFailed)
    english = "bad.jsonl, line 2: invalid JSON: Expecting property name enclosed in double quotes"
    # the CLI and logs keep the English sentence; file/where/field stay parameters
    assert str(exc) == f"{english} (column 14)" and (exc.file, exc.where) == ("bad.jsonl", "line 2")
    assert exc.msgid == "{file}, {where}: {reason}"
    with _english():
        assert i18n.message(exc) == str(exc)
    monkeypatch.setenv("KOCURATE_DEFAULT_LANG", "ko")
    i18n.set_language(None)  # a page with no choice made: the default language, Korean
    try:
        # the place and the reason come from the catalog; the JSON parser's own detail stays as is
        assert i18n.message(exc) == (
            "bad.jsonl, 2행: 잘못된 JSON: Expecting property name enclosed in double quotes(14열)"
        )
    finally:
        i18n._current.set(None)  # later tests resolve their own language again
