"""The dataset card's language: ``kocurate export --card-lang ko|en`` (English by default) and the
Export page's choice (the reader's language by default). Headings and fixed texts follow the chosen
catalog; the data files and the YAML front matter do not change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.demo import DEMO_SETS, HERE
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services.auth import Actor
from tests.page_helpers import open_page

KO_HEADINGS = ("## 출처", "## 불러오기", "## 선택 범위", "## 품질")
EN_HEADINGS = ("## Sources", "## Loading", "## Selection", "## Quality")


@pytest.fixture
def approved(engine: Engine) -> None:
    for kind, ko, en, name in DEMO_SETS:
        import_files(engine, kind, HERE / ko, HERE / en if en else None, name=name)
    with db.session_scope(engine) as s:
        s.execute(update(Sample).values(status="approved"))


def _front_matter(card: str) -> str:
    return card.split("---", 2)[1]


def test_cli_card_language(db_url: str, approved: None, tmp_path: Path) -> None:
    runner = CliRunner()
    cards = {}
    for lang, args in (("en", []), ("ko", ["--card-lang", "ko"])):
        out = tmp_path / lang
        res = runner.invoke(app, ["--db", db_url, "export", str(out), "--seed", "3", *args])
        assert res.exit_code == 0, res.output
        cards[lang] = (out / "README.md").read_text(encoding="utf-8")
        assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["card_lang"] == lang
    en, ko = cards["en"], cards["ko"]
    assert (
        all(h in en for h in EN_HEADINGS) and "Korean fine-tuning data curated with kocurate" in en
    )
    assert all(h in ko for h in KO_HEADINGS) and "한국어 파인튜닝 데이터" in ko
    assert not any(h in ko for h in EN_HEADINGS) and "Every sample was reviewed" not in ko
    # the licence warnings are fixed texts too (KoAlpaca is CC-BY-NC): Korean in the Korean card
    # only
    assert "non-commercial source(s) mixed in" in en and "비상업 출처 포함 (demo-koalpaca" in ko
    assert "non-commercial" not in ko
    manifest = json.loads((tmp_path / "ko" / "manifest.json").read_text(encoding="utf-8"))
    assert any(
        w.startswith("non-commercial source(s) mixed in") for w in manifest["warnings"]
    )  # JSON: English
    # data untouched: same files, same front matter (the hub reads it), same dataset names in the
    # table
    assert (tmp_path / "en" / "data" / "train.jsonl").read_bytes() == (
        tmp_path / "ko" / "data" / "train.jsonl"
    ).read_bytes()
    assert _front_matter(en) == _front_matter(ko)
    assert "| demo-dolly-ko |" in ko and "| demo-dolly-ko |" in en
    # an unknown language: a clear error, nothing written
    res = runner.invoke(app, ["--db", db_url, "export", str(tmp_path / "xx"), "--card-lang", "xx"])
    assert (
        res.exit_code != 0
        and "unknown card language 'xx'" in res.output
        and "Traceback" not in res.output
    )
    assert not (tmp_path / "xx").exists()


def test_export_page_card_language(
    db_url: str,
    approved: None,
    actors: dict[str, Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOCURATE_DATA_DIR", str(tmp_path))
    ko_page = open_page("export.py", db_url, actors["lead"], monkeypatch, lang="ko")
    assert (
        not ko_page.exception and ko_page.selectbox(key="ex_card_lang").value == "ko"
    )  # the reader's language
    shown = [t.value for t in ko_page.text]
    assert any(t.startswith("• 비상업 출처 포함") for t in shown), (
        shown
    )  # the preview's warnings in Korean
    at = open_page("export.py", db_url, actors["lead"], monkeypatch, lang="en")
    assert not at.exception and at.selectbox(key="ex_card_lang").value == "en"
    for lang, headings in (("en", EN_HEADINGS), ("ko", KO_HEADINGS)):
        at.selectbox(key="ex_card_lang").set_value(lang)
        at.text_input(key="ex_folder").set_value(f"card-{lang}")
        at.button(key="ex_srv_go").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        card = (tmp_path / "exports" / f"card-{lang}" / "README.md").read_text(encoding="utf-8")
        assert all(h in card for h in headings), card
