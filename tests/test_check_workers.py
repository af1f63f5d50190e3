"""Check workers started from a Streamlit page: the page script is ``__main__`` there (Streamlit
puts the running page into ``sys.modules["__main__"]``), and a forkserver child must not run it
again."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kocurate.checks import select_checks
from kocurate.checks.runner import run_dataset, without_main_script
from kocurate.ingest import import_files

DEMO = Path(__file__).resolve().parents[1] / "kocurate" / "demo"


def test_workers_from_a_page_do_not_rerun_the_page(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.py"
    page.write_text(
        "raise SystemExit('the page script ran again in a check worker')\n", encoding="utf-8"
    )
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)  # as Streamlit's script runner sets it; no __spec__
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    ds = import_files(
        engine, "guanaco", DEMO / "guanaco_ko.jsonl", DEMO / "guanaco_en.jsonl"
    ).dataset_id
    names = [c.name for c in select_checks(cheap_only=True)]
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)  # a threaded caller: workers come from a forkserver
    t.start()
    try:
        summary = run_dataset(engine, ds, select_checks(names), full=True, workers=2)
    finally:
        stop.set()
        t.join()
    assert summary.samples > 0
    assert sys.modules["__main__"] is fake_main  # put back after the workers started


def test_a_module_run_with_dash_m_stays_main(monkeypatch: pytest.MonkeyPatch) -> None:
    run_with_m = types.ModuleType("__main__")
    run_with_m.__file__ = "/somewhere/__main__.py"
    run_with_m.__spec__ = types.SimpleNamespace(name="streamlit.__main__")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", run_with_m)
    with without_main_script():  # spawn re-imports it by name, under a guard: nothing to hide
        assert sys.modules["__main__"] is run_with_m
    page = types.ModuleType("__main__")
    page.__file__ = "/app/pages/review.py"
    monkeypatch.setitem(sys.modules, "__main__", page)
    with without_main_script():
        assert sys.modules["__main__"] is not page and not getattr(
            sys.modules["__main__"], "__file__", None
        )
    assert sys.modules["__main__"] is page
