"""The cheap checks run during a SQLite import (``checks.early``) store exactly what the run after
the import stores: same findings, same pre-flags, on real excerpts (issue 19)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from kocurate import db
from kocurate.checks import early as early_mod
from kocurate.checks import run_after_import
from kocurate.checks.early import EarlyChecks
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Dataset, Flag, Sample
from kocurate.services.auth import SYSTEM
from kocurate.services.datasets import after_import, import_dataset


def _fresh(tmp_path: Path, template: Path, name: str) -> Engine:
    path = tmp_path / f"{name}.db"
    shutil.copy(template, path)
    return db.make_engine(f"sqlite:///{path}")


def _stored(engine: Engine, dataset_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A dataset's findings and pre-flags by sample key (ids differ between the databases)."""
    mine = Sample.dataset_id == dataset_id
    with engine.connect() as c:
        findings = c.execute(
            select(
                Sample.key,
                CheckFinding.check,
                CheckFinding.turn_idx,
                CheckFinding.severity,
                CheckFinding.message,
                CheckFinding.state,
            )
            .join(Sample, Sample.id == CheckFinding.sample_id)
            .where(mine)
        ).all()
        flags = c.execute(
            select(Sample.key, Flag.category, Flag.note, Flag.origin, Flag.state)
            .join(Sample, Sample.id == Flag.sample_id)
            .where(mine)
        ).all()
    return sorted(map(tuple, findings), key=repr), sorted(map(tuple, flags), key=repr)


def _cases(shared: Path, tmp_path: Path) -> list[tuple[str, Path, Path | None]]:
    pairs = json.loads(
        (shared / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json").read_text(
            encoding="utf-8"
        )
    )
    tripled = tmp_path / "pairs3.json"  # 2,961 samples: two batches of the runner's 2,000
    tripled.write_text(json.dumps(pairs * 3, ensure_ascii=False), encoding="utf-8")
    return [
        (
            "koalpaca",
            shared / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
            shared / "alpaca_en/alpaca_data.first335.json",
        ),
        ("sharegpt_pairs", tripled, None),
    ]


def test_checks_during_import_store_what_the_run_after_it_stores(
    shared_data: Path, tmp_path: Path, sqlite_template: Path
) -> None:
    for kind, ko, en in _cases(shared_data, tmp_path):
        usual = _fresh(tmp_path, sqlite_template, f"usual-{kind}")
        during = _fresh(tmp_path, sqlite_template, f"during-{kind}")
        try:
            # the usual way: import, then the cheap checks over the stored samples
            rep = import_files(usual, kind, ko, en, name=kind)
            run_after_import(usual, rep.dataset_id)
            # a dataset imported before, so that the ids of the second one start past 1
            import_files(during, "sharegpt_pairs", tripled_head(tmp_path), None, name="first")
            early = EarlyChecks(start_at=0, workers=2)
            rep2 = import_files(during, kind, ko, en, name=kind, early=early)
            assert rep2.id_offset and rep2.id_offset > 0
            after_import(during, rep2, index=False, early=early)
            assert rep2.after["checks"]["findings"] > 0
            assert rep2.after["checks"].get("during_import"), (kind, early.failed)  # no fallback
            assert early.ex is None and not early.running  # the workers are gone
            with during.connect() as c:
                meta = c.scalar(select(Dataset.meta).where(Dataset.id == rep2.dataset_id))
            assert meta["cheap_checks"]["samples"] == rep2.samples
            want = _stored(usual, rep.dataset_id)
            got = _stored(during, rep2.dataset_id)
            assert len(want[0]) > 10 and want[1], kind
            assert got == want, kind
        finally:
            usual.dispose()
            during.dispose()


def tripled_head(tmp_path: Path) -> Path:
    head = tmp_path / "head.json"
    if not head.exists():
        head.write_text(json.dumps([{"input": "Hello.", "output": "안녕하세요."}] * 5))
    return head


def test_small_import_and_failed_worker_fall_back_to_the_usual_run(
    shared_data: Path, tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ko = shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json"
    en = shared_data / "alpaca_en/alpaca_data.first335.json"
    # below the threshold no worker starts; the usual run stores the findings
    eng = _fresh(tmp_path, sqlite_template, "small")
    try:
        rep = import_dataset(eng, SYSTEM, "koalpaca", ko, en, name="small")
        assert "during_import" not in rep.after["checks"]
        assert rep.after["checks"]["findings"] > 10
    finally:
        eng.dispose()

    # a check that breaks in the worker: the import still lands, the usual run does the checks
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("worker broke")

    monkeypatch.setattr(early_mod, "_check_spool", broken)
    eng = _fresh(tmp_path, sqlite_template, "broken")
    try:
        early = EarlyChecks(start_at=0, workers=1)
        rep = import_files(eng, "koalpaca", ko, en, name="broken", early=early)
        after_import(eng, rep, index=False, early=early)
        assert early.failed is not None
        assert rep.samples == 1040
        assert rep.after["checks"]["findings"] > 10
    finally:
        eng.dispose()


_ORIGINAL_CHECK_SPOOL = early_mod._check_spool


def _slow_check_spool(*args: Any) -> Any:
    """A worker slower than the importer: batches are still waiting when the import is done."""
    import time

    time.sleep(0.3)
    return _ORIGINAL_CHECK_SPOOL(*args)


def test_this_process_checks_the_last_batches_once_the_import_is_done(
    shared_data: Path, tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait`` checks the batches no worker has started in this process, from the last one back,
    and stores the same findings as the usual run."""
    from kocurate.checks import runner

    (kind, ko, en) = _cases(shared_data, tmp_path)[1]  # 2,961 samples
    monkeypatch.setattr(runner, "BATCH", 200)  # 15 batches, both ways
    monkeypatch.setattr(early_mod, "BATCH", 200)
    monkeypatch.setattr(early_mod, "_check_spool", _slow_check_spool)
    usual = _fresh(tmp_path, sqlite_template, "usual-steal")
    during = _fresh(tmp_path, sqlite_template, "during-steal")
    try:
        rep = import_files(usual, kind, ko, en, name=kind)
        run_after_import(usual, rep.dataset_id)
        early = EarlyChecks(start_at=0, workers=1)
        rep2 = import_files(during, kind, ko, en, name=kind, early=early)
        after_import(during, rep2, index=False, early=early)
        assert rep2.after["checks"].get("during_import"), early.failed
        assert 0 < early.stolen < 15  # the worker did the first ones, this process the last
        assert _stored(during, rep2.dataset_id) == _stored(usual, rep.dataset_id)
    finally:
        usual.dispose()
        during.dispose()
