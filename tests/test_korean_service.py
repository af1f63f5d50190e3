"""The deep Korean run through the database (SQLite and PostgreSQL): findings with spans, pre-flags,
spacing suggestions accepted like DeepL ones, speech levels and the target level, roles, audit, CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import AuditEvent, CheckFinding, Flag, Sample, Suggestion, Turn
from kocurate.services import checks as checks_svc
from kocurate.services import korean as svc
from kocurate.services import translate as translate_svc
from kocurate.services.auth import Actor

CONVERSATIONS = [
    {
        "id": "c1",
        "conversations": [
            {"from": "human", "value": "Python는 어떤 언어인가요?"},
            {
                "from": "gpt",
                "value": (
                    "Python은 배우기 쉬운 언어입니다. 데이터 분석에 자주 쓰입니다. 웹 개발도 할 수 "
                    "있습니다."
                ),
            },
        ],
    },
    {
        "id": "c2",
        "conversations": [
            {"from": "human", "value": "도커가 뭐야?"},
            {
                "from": "gpt",
                "value": (
                    "도커는 애플리케이션을 격리해서 관리하는 프로세스 입니다. 설치가 간단합니다."
                ),
            },
        ],
    },
    {
        "id": "c3",
        "conversations": [
            {"from": "human", "value": "주말 계획을 추천해 주세요."},
            {"from": "gpt", "value": "산책을 추천해요. 날씨가 좋으면 공원에 가요. 카페도 좋아요."},
            {"from": "human", "value": "또 다른 건?"},
            {"from": "gpt", "value": "영화를 보는 것도 괜찮아요. 집에서 쉬는 것도 좋아요."},
        ],
    },
]


def _import(engine: Engine, tmp_path: Path) -> int:
    path = tmp_path / "ko.json"
    path.write_text(json.dumps(CONVERSATIONS, ensure_ascii=False), encoding="utf-8")
    return import_files(engine, "sharegpt", path, name="korean-demo").dataset_id


def _findings(engine: Engine, ds: int) -> list[CheckFinding]:
    with Session(engine) as s:
        return list(
            s.scalars(
                select(CheckFinding).where(CheckFinding.dataset_id == ds).order_by(CheckFinding.id)
            )
        )


def test_deep_run_findings_suggestions_levels(
    engine: Engine, tmp_path: Path, actors: dict[str, Actor]
) -> None:
    ds = _import(engine, tmp_path)
    # a plain check run leaves the deep family out
    checks_svc.run_checks(engine, actors["lead"], ds, full=True)
    assert not [f for f in _findings(engine, ds) if f.check.startswith("ko_")]

    summary = svc.run_korean_checks(engine, actors["lead"], "korean-demo", workers=2)
    assert summary["samples"] == 3 and summary["suggestions"] == 1
    found = [f for f in _findings(engine, ds) if f.check.startswith("ko_")]
    by_check = {f.check: f for f in found}
    assert set(by_check) == {"ko_particle", "ko_spacing"}
    with Session(engine) as s:
        texts = {(t.sample_id, t.idx): t.text for t in s.scalars(select(Turn))}
        particle = by_check["ko_particle"]
        assert (
            texts[(particle.sample_id, particle.turn_idx)][particle.span_start : particle.span_end]
            == "는"
        )
        assert particle.severity == "error" and particle.data["suggestion"] == "은"
        # an error-level finding pre-flags its sample
        flags = s.scalars(
            select(Flag).where(Flag.sample_id == particle.sample_id, Flag.origin == "check")
        ).all()
        assert [(f.category, f.note.startswith("ko_particle: ")) for f in flags] == [
            ("low_quality", True)
        ]

        sug = s.scalars(select(Suggestion).where(Suggestion.engine == "spacing")).one()
        assert (
            sug.text == "도커는 애플리케이션을 격리해서 관리하는 프로세스입니다. 설치가 간단합니다."
        )
        version = s.get(Sample, sug.sample_id).version  # type: ignore[union-attr]
    levels = summary["speech_levels"]
    assert levels["dominant"] == "hapsyo" and levels["sampled_turns"] == 4

    # the suggestion is accepted like a DeepL one: an edit of the turn
    with db.session_scope(engine) as s:
        translate_svc.accept_suggestion(s, actors["annotator"], sug.id, version)
    with Session(engine) as s:
        turn = s.get(Turn, sug.turn_id)
        assert turn is not None and "프로세스입니다." in turn.text

    # a second run replaces the open findings and offers no suggestion twice
    again = svc.run_korean_checks(engine, actors["lead"], ds, workers=1)
    assert again["suggestions"] == 0
    assert sorted(f.check for f in _findings(engine, ds) if f.check.startswith("ko_")) == [
        "ko_particle"
    ]

    with Session(engine) as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("korean_check") == 2


def test_target_level_makes_other_levels_findings(
    engine: Engine, tmp_path: Path, actors: dict[str, Actor]
) -> None:
    ds = _import(engine, tmp_path)
    svc.run_korean_checks(engine, actors["lead"], ds, ["ko_speech_level"], workers=1)
    assert _findings(engine, ds) == []  # each conversation is consistent
    with db.session_scope(engine) as s:
        view = svc.set_target_level(s, actors["lead"], ds, "haeyo")
    assert (
        view["target"] == "haeyo"
        and view["target_name"] == "해요체"
        and view["dominant"] == "hapsyo"
    )
    svc.run_korean_checks(engine, actors["lead"], ds, ["ko_speech_level"], workers=1)
    found = _findings(engine, ds)
    assert {f.data["kind"] for f in found} == {"off_target"} and len(
        found
    ) == 2  # c1 and c2 answer in 합쇼체
    assert all(f.severity == "info" for f in found)  # polite either way
    with db.session_scope(engine) as s:
        assert svc.set_target_level(s, actors["lead"], ds, None)["target"] is None
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings")).all()
        assert [e.details.get("level") for e in events] == ["haeyo", None]


def test_roles_and_bad_input(engine: Engine, tmp_path: Path, actors: dict[str, Actor]) -> None:
    ds = _import(engine, tmp_path)
    with pytest.raises(PermissionDenied):
        svc.run_korean_checks(engine, actors["annotator"], ds)
    with db.session_scope(engine) as s, pytest.raises(PermissionDenied):
        svc.set_target_level(s, actors["annotator"], ds, "haeyo")
    with (
        db.session_scope(engine) as s,
        pytest.raises(KocurateError, match="unknown speech level 'polite'"),
    ):
        svc.set_target_level(s, actors["lead"], ds, "polite")
    with pytest.raises(KocurateError, match="unknown Korean check"):
        svc.run_korean_checks(engine, actors["lead"], ds, ["untranslated"])
    with Session(engine) as s:
        assert svc.speech_levels(s, ds)["dominant"] is None  # no deep run yet


def test_cli(db_url: str, engine: Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db_url, "korean-check", "korean-demo", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert (
        "analysed 3 samples" in res.output
        and "1 spacing suggestions" in res.output
        and "ko_particle" in res.output
    )
    assert "dominant speech level: 합쇼체" in res.output
    res = runner.invoke(app, ["--db", db_url, "korean-level", "korean-demo", "--set", "haeyo"])
    assert res.exit_code == 0 and "target 해요체 (haeyo)" in res.output, res.output
    res = runner.invoke(app, ["--db", db_url, "korean-level", "korean-demo", "--set", "formal"])
    assert (
        res.exit_code == 2
        and "unknown speech level 'formal'" in res.output
        and "Traceback" not in res.output
    )
    res = runner.invoke(app, ["--db", db_url, "korean-check", "no-such-dataset"])
    assert res.exit_code == 3 and "Traceback" not in res.output
    res = runner.invoke(app, ["--db", db_url, "korean-check", "--help"])
    assert res.exit_code == 0 and "--workers" in res.output
