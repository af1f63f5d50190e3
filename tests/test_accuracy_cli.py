"""Accuracy fixes seen through the CLI: the import's alignment warning, TSV read by content, checks summary."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kocurate.cli import app


def kc(db_url: str, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *[str(a) for a in args]])
    return result.exit_code, result.output


def test_import_warns_when_the_alignment_path_breaks_down(db_url: str, shared_data: Path, tmp_path: Path) -> None:
    ko = json.loads((shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8"))[:335]
    clean = tmp_path / "ko_clean.json"
    clean.write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    en = shared_data / "alpaca_en/alpaca_data.first335.json"
    code, out = kc(db_url, "import", "koalpaca", clean, "--source", en, "--no-checks", "--no-index")
    assert code == 0, out
    assert "aligned 335, ambiguous 0, unaligned 0" in out and "warning" not in out
    # rows from elsewhere inserted, a duplicate, a swap: the tail still aligns, the import warns
    bad = ko[:40] + [ko[300], ko[301]] + ko[40:120] + [ko[120]] + ko[120:200] + [ko[201], ko[200]] + ko[202:]
    broken = tmp_path / "ko_broken.json"
    broken.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    code, out = kc(db_url, "import", "koalpaca", broken, "--source", en, "--no-checks", "--no-index")
    assert code == 0, out
    assert "warning: alignment is unsure for" in out and "the first at record 40," in out, out  # 0-based: ko[300] inserted
