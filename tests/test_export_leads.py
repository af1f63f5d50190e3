"""Every dataset exportable, honest numbers (issue 13): the ``pairs`` format for speakerless turn
pairs (the real ``sharegpt_pairs`` excerpt), planned == written in every export, the
open-error-findings warning and exclusion, ``--fill``, clear messages for empty selections, exports
in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from test_export import _rows, corpus  # noqa: F401  (fixture)
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.errors import KocurateError
from kocurate.ingest import import_files
from kocurate.models import AuditEvent, CheckFinding, Dataset, Sample, Turn
from kocurate.services import export as ex
from kocurate.services.auth import Actor

PAIRS = "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json"


def export_checked(
    engine: Engine, actor: Actor, spec: ex.ExportSpec, out: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Preview, then export: the planned numbers are the written ones, per dataset and in total."""
    with db.session_scope(engine) as s:
        p = ex.preview_counts(s, actor, spec)
    assert p["exact"]
    m = ex.export(engine, actor, spec, out)
    assert m["counts"]["total"] == p["total"], (p["datasets"], m["counts"]["by_dataset"])
    for r in p["datasets"]:
        assert m["counts"]["by_dataset"][r["name"]]["total"] == r["quota"], r["name"]
    assert sum(m["counts"]["splits"].values()) == p["total"]
    assert m["counts"]["splits"].get("validation", 0) == p["validation"]
    return p, m


def test_real_sharegpt_pairs_export_as_pairs(
    engine: Engine, actors: dict[str, Actor], shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / PAIRS
    rep = import_files(engine, "sharegpt_pairs", path, name="kovicuna-pairs")
    with db.session_scope(engine) as s:
        s.execute(
            update(Sample).where(Sample.dataset_id == rep.dataset_id).values(status="approved")
        )
    lead = actors["lead"]
    p, m = export_checked(
        engine, lead, ex.ExportSpec(format="pairs", val_frac=0.1, seed=3), tmp_path / "pairs"
    )
    source = json.loads(path.read_text(encoding="utf-8"))
    rows = _rows(tmp_path / "pairs" / "data" / "train.jsonl") + _rows(
        tmp_path / "pairs" / "data" / "validation.jsonl"
    )
    # near-duplicate resolution does not apply (no dup groups yet): all 987 pairs, nothing refused
    assert p["total"] == m["counts"]["total"] == len(rows) == 987 and p["refused"] == 0
    by_key = {r["kocurate"]["key"]: r for r in rows}
    for i in (0, 1, 500, 986):
        assert (
            by_key[str(i)]["en"] == source[i]["input"]
            and by_key[str(i)]["ko"] == source[i]["output"]
        )
        assert by_key[str(i)]["kocurate"]["dataset"] == "kovicuna-pairs"
    assert set(rows[0]) == {"en", "ko", "kocurate"}
    readme = (tmp_path / "pairs" / "README.md").read_text(encoding="utf-8")
    assert "en" in readme
    # a chat format refuses them with a clear reason, before (planned 0) and when run
    with db.session_scope(engine) as s:
        q = ex.preview_counts(s, lead, ex.ExportSpec(format="messages"))
    assert q["total"] == 0 and "pairs format" in q["datasets"][0]["note"]
    assert "refused by messages" in q["empty_reason"] and "--format pairs" in q["empty_reason"]
    with pytest.raises(KocurateError, match="nothing to export.*--format pairs"):
        ex.export(engine, lead, ex.ExportSpec(format="hf"), tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_planned_equals_written(
    engine: Engine,
    actors: dict[str, Actor],
    corpus: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    lead = actors["lead"]
    specs = [
        ex.ExportSpec(),  # everything approved, messages: the speakerless pairs are planned at 0
        ex.ExportSpec(format="alpaca", val_frac=0.1),  # multi-turn refusals counted before
        ex.ExportSpec(
            format="alpaca", total=50, seed=2
        ),  # refused samples replaced by the next ones
        ex.ExportSpec(
            format="sharegpt", mix={"chat-a": 0.5, "chat-b": 0.5}, total=90, seed=1
        ),  # chat-b short
        ex.ExportSpec(format="pairs"),
        ex.ExportSpec(format="parquet", datasets=["chat-a"], total=10),
    ]
    for n, spec in enumerate(specs):
        p, m = export_checked(engine, lead, spec, tmp_path / f"e{n}")
        assert p["total"] > 0
    # the alpaca refusals are on the page before the export
    with db.session_scope(engine) as s:
        p = ex.preview_counts(s, lead, ex.ExportSpec(format="alpaca"))
    chat_a = next(r for r in p["datasets"] if r["name"] == "chat-a")
    assert chat_a["refused"] == 11 and "more than one exchange" in chat_a["note"]
    with db.session_scope(engine) as s:
        events = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
            )
        )
    assert (
        len(events) == len(specs)
        and events[0].username == "lead"
        and events[0].details["format"] == "messages"
    )
    assert events[-1].details["total"] == 10 and events[-1].details["datasets"] == {"chat-a": 10}


def test_fill_tops_up_a_short_dataset(
    db_url: str, engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:  # noqa: F811
    lead = actors["lead"]
    mix = {"chat-a": 0.5, "chat-b": 0.5}  # chat-b has 39 eligible (one duplicate dropped), asked 50
    p, m = export_checked(engine, lead, ex.ExportSpec(mix=mix, total=100), tmp_path / "short")
    assert p["total"] == 89 and any(
        "chat-b: 39 planned of the 50 asked" in w for w in p["warnings"]
    )
    p, m = export_checked(
        engine, lead, ex.ExportSpec(mix=mix, total=100, fill=True), tmp_path / "fill"
    )
    by = m["counts"]["by_dataset"]
    assert (
        p["total"] == 98 and by["chat-b"]["total"] == 39 and by["chat-a"]["total"] == 59
    )  # all chat-a can give
    p, m = export_checked(
        engine,
        lead,
        ex.ExportSpec(
            mix={"chat-a": 0.2, "chat-b": 0.2, "alpaca-c": 0.6}, total=100, fill=True, seed=5
        ),
        tmp_path / "fill3",
    )
    assert p["total"] == 100 and m["counts"]["by_dataset"]["alpaca-c"]["total"] == 30
    out = CliRunner().invoke(
        app,
        [
            "--db",
            db_url,
            "export",
            str(tmp_path / "cli"),
            "--mix",
            "chat-a=50%",
            "--mix",
            "chat-b=50%",
            "--total",
            "100",
            "--fill",
        ],
    )
    assert out.exit_code == 0 and "exported 98 samples" in out.output, out.output


def test_open_error_findings_warned_and_excludable(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:  # noqa: F811
    lead, ids = actors["lead"], corpus["ids"]
    with db.session_scope(engine) as s:
        bad = list(
            s.scalars(
                select(Sample.id)
                .where(Sample.dataset_id == ids["chat-b"])
                .order_by(Sample.id.desc())
                .limit(3)
            )
        )
        s.execute(
            insert(CheckFinding),
            [
                {
                    "sample_id": sid,
                    "dataset_id": ids["chat-b"],
                    "check": "untranslated",
                    "severity": "error",
                    "message": "English left",
                    "state": st,
                }
                for sid, st in zip(bad, ["open", "open", "cleared"], strict=True)
            ],
        )
        s.execute(
            insert(CheckFinding).values(
                sample_id=bad[2],
                dataset_id=ids["chat-b"],
                check="stray_char",
                severity="warning",
                message="n ",
                state="open",
            )
        )
        p = ex.preview_counts(s, lead, ex.ExportSpec(datasets=["chat-b"]))
    assert p["open_errors"] == 2 and any(
        "2 selected samples are approved but have open error findings" in w for w in p["warnings"]
    )
    _, m = export_checked(
        engine,
        lead,
        ex.ExportSpec(datasets=["chat-b"], exclude_error_findings=True),
        tmp_path / "clean",
    )
    written = {
        r["kocurate"]["sample_id"] for r in _rows(tmp_path / "clean" / "data" / "train.jsonl")
    }
    assert not written & set(bad[:2]) and bad[2] in written and m["excluded"]["error_findings"] == 2


def test_empty_selections_say_why(
    db_url: str, engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    lead = actors["lead"]
    runner = CliRunner()
    # no dataset at all
    out = runner.invoke(app, ["--db", db_url, "export", str(tmp_path / "a"), "--format", "hf"])
    assert (
        out.exit_code == 1 and "nothing to export" in out.output and "Traceback" not in out.output
    )
    (tmp_path / "c.json").write_text(
        json.dumps(
            [{"instruction": "지시", "input": "", "output": "출력"}] * 1, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    import_files(engine, "koalpaca", tmp_path / "c.json", name="tiny", licence="CC0-1.0")
    for fmt in ("hf", "messages", "parquet"):  # nothing approved
        out = runner.invoke(app, ["--db", db_url, "export", str(tmp_path / fmt), "--format", fmt])
        assert (
            out.exit_code == 1
            and "no sample of the chosen datasets has the status approved" in out.output
        ), out.output
        assert "ValueError" not in out.output and not (tmp_path / fmt).exists()
    with db.session_scope(engine) as s:
        s.execute(update(Sample).values(status="approved"))
        s.execute(
            update(Turn).where(Turn.role == "output").values(text=" ")
        )  # the only answer is empty
        p = ex.preview_counts(s, lead, ex.ExportSpec(format="hf"))
    assert p["total"] == 0 and "refused by hf: empty instruction or answer" in p["empty_reason"]
    with pytest.raises(KocurateError, match="refused by hf"):
        ex.export(engine, lead, ex.ExportSpec(format="hf"), tmp_path / "hf2")
    with db.session_scope(engine) as s:
        ds_id = s.scalar(select(Dataset.id))
        s.execute(
            insert(CheckFinding).values(
                sample_id=s.scalar(select(Sample.id)),
                dataset_id=ds_id,
                check="contamination_kobest",
                severity="error",
                message="x",
            )
        )
        p = ex.preview_counts(s, lead, ex.ExportSpec())
    assert p["total"] == 0 and "1 contaminated" in p["empty_reason"]


def test_large_selection_preview_and_exact_on_request(
    db_url: str,
    engine: Engine,
    actors: dict[str, Actor],
    corpus: dict[str, Any],
    tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ex, "EXACT_PREVIEW_MAX", 10)  # every selection here counts as "large"
    lead = actors["lead"]
    spec = ex.ExportSpec(format="alpaca")
    with db.session_scope(engine) as s:
        rough = ex.preview_counts(s, lead, spec)
    with db.session_scope(engine) as s:
        exact = ex.preview_counts(s, lead, spec, exact=True)
    m = ex.export(engine, lead, spec, tmp_path / "a")
    # by kind only, the multi-turn refusals are not known before; asked for, they are
    assert not rough["exact"] and rough["total"] > m["counts"]["total"]
    assert exact["exact"] and exact["total"] == m["counts"]["total"]
    out = CliRunner().invoke(
        app, ["--db", db_url, "export", str(tmp_path / "b"), "--format", "alpaca", "--dry-run"]
    )
    assert out.exit_code == 0 and "--exact counts them" in out.output
    out = CliRunner().invoke(
        app,
        [
            "--db",
            db_url,
            "export",
            str(tmp_path / "b"),
            "--format",
            "alpaca",
            "--dry-run",
            "--exact",
        ],
    )
    assert out.exit_code == 0 and f"planned {m['counts']['total']:,} samples" in out.output, (
        out.output
    )
