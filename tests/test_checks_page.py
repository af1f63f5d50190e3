"""The Checks page (Streamlit AppTest): a lead runs checks, sees hits per check and review links;
roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kocurate.errors import PermissionDenied
from kocurate.ingest import import_files
from kocurate.services.auth import Actor
from tests.page_helpers import open_page


def test_checks_page(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = import_files(
        engine,
        "koalpaca",
        shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
        shared_data / "alpaca_en/alpaca_data.first335.json",
        name="koalpaca",
    ).dataset_id
    at = open_page("checks.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception, at.exception
    assert "0 of 1,040 samples checked" in at.caption[0].value
    assert any("No check has hits" in i.value for i in at.info)  # an empty state, not 25 zero rows
    at.button(key="ck_run_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Checked 1,040 samples" in at.success[0].value
    # the caption is fresh right after the run (it said "0 of 1,040" before)
    assert any("1,040 of 1,040 samples checked" in c.value for c in at.caption)
    # hits per check: one compact table sorted by hits, with review links; checks without hits in
    # one line
    table = at.dataframe[0].value
    assert (
        list(table["samples"]) == sorted(table["samples"], reverse=True)
        and (table["samples"] > 0).all()
    )
    row = table[table["check"] == "answer_mismatch"].iloc[0]
    assert row["samples"] == 9 and row["review"] == f"review?dataset={ds}&check=answer_mismatch"
    assert any(c.value.startswith("No hits (") for c in at.caption)
    # near-duplicates from the page
    at.button(key="ck_dedup").click().run()
    assert not at.exception and any("Near-duplicates:" in m.value for m in at.success)
    # the annotator sees the counts but cannot run checks
    at2 = open_page("checks.py", db_url, actors["annotator"], monkeypatch)
    assert not at2.exception
    assert not [b for b in at2.button if b.key == "ck_run_go"]
    assert "1,040 of 1,040 samples checked" in at2.caption[0].value and ds
    assert not [b for b in at2.button if b.key == "ck_dedup"]


def test_check_job_in_background(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check run as a job: progress and result in the Job row; the page shows the latest one."""
    from kocurate import db
    from kocurate.services import checks as svc
    from kocurate.services import jobs

    import_files(
        engine, "koalpaca", shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json", name="ka"
    )
    with pytest.raises(PermissionDenied), db.session_scope(engine) as s:
        svc.start_check_job(s, actors["annotator"], "ka")
    with db.session_scope(engine) as s:
        job_id = svc.start_check_job(
            s, actors["lead"], "ka", only=["answer_mismatch", "false_friends"]
        )
    done = jobs.run(engine, job_id)
    assert done["status"] == "done", done
    assert done["done"] == 1040 and done["total"] == 1040
    assert done["result"]["by_check"] == {
        "answer_mismatch": 9
    }  # no English source: no false friend
    at = open_page("checks.py", db_url, actors["lead"], monkeypatch)
    assert not at.exception
    assert any(f"Latest check job {job_id}: done" in t.value for t in at.text)
