"""The export states the selection's QA estimate (manifest and card) and refuses above
--max-defect-rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.errors import KocurateError
from kocurate.services import bulk, qa
from kocurate.services import export as ex
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset, simple


def test_export_carries_the_qa_estimate_and_guards_the_defect_rate(
    db_url: str, engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    ds, _ids = make_dataset(engine, *simple(40, status="approved"))
    lead, ann = actors["lead"], actors["annotator"]
    m = ex.export(engine, lead, ex.ExportSpec(), tmp_path / "before")
    assert (
        m["qa"] is None
        and "no QA sample was reviewed" in (tmp_path / "before" / "README.md").read_text()
    )
    with pytest.raises(KocurateError, match="no QA estimate"):
        ex.export(engine, lead, ex.ExportSpec(max_defect_rate=0.5), tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    with session_scope(engine) as s:
        run = qa.create_run(s, lead, bulk.Selection(dataset_id=ds), margin=0.2, seed=3)
    with session_scope(engine) as s:
        for i in range(run["size"]):
            item = qa.next_item(s, ann, run["run_id"])
            qa.record(s, ann, item["item_id"], "defect" if i < 2 else "ok")
        text = qa.estimate(s, run["run_id"])["text"]
    m = ex.export(engine, lead, ex.ExportSpec(max_defect_rate=0.6), tmp_path / "after")
    assert m["qa"]["text"] == text and text in (tmp_path / "after" / "README.md").read_text()
    assert (
        json.loads((tmp_path / "after" / "manifest.json").read_text())["qa"]["run_id"]
        == run["run_id"]
    )
    res = CliRunner().invoke(
        app, ["--db", db_url, "export", str(tmp_path / "cli"), "--max-defect-rate", "0.05"]
    )
    assert (
        res.exit_code != 0
        and "above --max-defect-rate 5.0 %" in res.output
        and "Traceback" not in res.output
    )
    assert not (tmp_path / "cli").exists()
