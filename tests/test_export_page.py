"""The Export page (Streamlit AppTest): preview, licence warnings, server export, download,
roles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, update

from kocurate import db
from kocurate.demo import DEMO_SETS, HERE
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services.auth import Actor
from tests.page_helpers import open_page


def test_export_page(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for kind, ko, en, name in DEMO_SETS:
        import_files(engine, kind, HERE / ko, HERE / en if en else None, name=name)
    with db.session_scope(engine) as s:
        s.execute(update(Sample).values(status="approved"))
        s.execute(update(Sample).where(Sample.id == 1).values(status="rejected"))
    monkeypatch.setenv("KOCURATE_DATA_DIR", str(tmp_path))

    at = open_page("export.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception
    assert at.subheader[1].value == "Planned: 21 samples"
    assert any("non-commercial" in t.value for t in at.text)  # KoAlpaca is CC-BY-NC
    at.text_input(key="ex_folder").set_value("full-corpus")
    at.button(key="ex_srv_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Exported 21 samples" in at.success[0].value
    out = tmp_path / "exports" / "full-corpus"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["total"] == 21 and (out / "data" / "train.jsonl").is_file()
    # a path instead of a name is refused
    at.text_input(key="ex_folder").set_value("../elsewhere")
    at.button(key="ex_srv_go").click().run()
    assert at.error and "folder name" in at.error[0].value
    # a small subset as a download
    at.multiselect(key="ex_datasets").set_value(["demo-dolly-ko"]).run()
    assert at.subheader[1].value == "Planned: 4 samples"
    at.button(key="ex_dl_go").click().run()
    assert not at.exception
    assert at.get("download_button")
    assert at.session_state["ex_download"][2] == 4  # planned == written
    # the mix editor: one number per dataset; counts
    at.multiselect(key="ex_datasets").set_value(["demo-dolly-ko", "demo-guanaco-ko"]).run()
    at.radio(key="ex_mix_mode").set_value("counts").run()
    at.number_input(key="ex_count_demo-dolly-ko").set_value(2).run()
    assert not at.exception and at.subheader[0].value == "Mix"
    assert any(h.value == "Planned: 2 samples" for h in at.subheader)
    at.number_input(key="ex_count_demo-guanaco-ko").set_value(50).run()  # more than it has
    assert any(
        "demo-guanaco-ko:" in t.value and "planned of the 50 asked" in t.value for t in at.text
    )
    # nothing approved in a selection: the reason, not a disabled button alone
    at.multiselect(key="ex_statuses").set_value(["needs_fix"]).run()
    assert any(h.value == "Planned: 0 samples" for h in at.subheader)
    assert any(
        "no sample of the chosen datasets has the status needs_fix" in i.value for i in at.info
    )
    # a large selection (here: above a lowered threshold) counts refusals exactly on request
    from kocurate.services import export as ex

    monkeypatch.setattr(ex, "EXACT_PREVIEW_MAX", 1)
    st.cache_data.clear()  # the page caches its preview per selection
    at.multiselect(key="ex_statuses").set_value(["approved"]).run()
    at.radio(key="ex_mix_mode").set_value("all eligible samples").run()
    assert any("A large selection" in c.value for c in at.caption)
    at.button(key="ex_exact").click().run()
    assert not at.exception and not any("A large selection" in c.value for c in at.caption)
    # annotators may not export
    at = open_page("export.py", db_url, actors["annotator"], monkeypatch)
    assert at.error and "leads and admins" in at.error[0].value
