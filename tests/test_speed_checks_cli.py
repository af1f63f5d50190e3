"""`kocurate check` checks with worker processes by default (one per core), like the import does
(issue 19)."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import Engine
from test_review import make_dataset
from typer.testing import CliRunner

from kocurate.checks import runner
from kocurate.cli import app


def check_json(db_url: str, *args: str) -> dict:
    res = CliRunner().invoke(app, ["--db", db_url, "check", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_check_uses_one_worker_per_core_by_default(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dataset(engine, 40, name="wk")
    monkeypatch.setattr(runner, "AUTO_MIN_SAMPLES", 10)  # a small dataset counts as large here
    auto = check_json(db_url, "wk", "--full")
    assert auto["samples"] == 40
    assert auto["workers"] == max(1, min(os.cpu_count() or 1, runner.AUTO_MAX_WORKERS))
    one = check_json(db_url, "wk", "--full", "--workers", "1")
    assert one["workers"] == 1 and one["samples"] == 40
    assert one["by_check"] == auto["by_check"] and one["findings"] == auto["findings"]
