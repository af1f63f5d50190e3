"""A check's gate (``Check.gate_text`` / ``gate_source``) only saves work: over a batch, the gated
``run_batch`` finds exactly what ``run`` finds on every sample."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kocurate import db
from kocurate.checks.base import SEP, BatchText, Check, Finding, SampleView, TurnView, select_checks
from kocurate.checks.runner import load_batch
from kocurate.ingest import import_files

GATED = [c for c in select_checks() if c.gate_text or c.gate_source]


def _key(f: Finding) -> tuple[Any, ...]:
    return (f.sample_id, f.check, f.turn_idx, f.span, f.severity, f.message, f.flag)


def _per_sample(check: Check, samples: list[SampleView]) -> list[tuple[Any, ...]]:
    out = []
    for s in samples:
        for f in check.run(s):
            f.sample_id = s.id
            out.append(_key(f))
    return out


def _gated(check: Check, samples: list[SampleView]) -> list[tuple[Any, ...]]:
    return [_key(f) for f in check.run_batch(samples)]


def _view(i: int, turns: list[tuple[str, str, str | None]]) -> SampleView:
    return SampleView(
        i,
        1,
        [
            TurnView(k, role, text, src, "translation" if src is not None else None)
            for k, (role, text, src) in enumerate(turns)
        ],
        position=i,
    )


def test_the_checks_that_have_gates() -> None:
    assert {c.name for c in GATED} >= {"urls", "placeholders", "code_blocks", "pii", "encoding"}


def test_real_rows_find_the_same_with_and_without_the_gates(
    shared_data: Path, tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "real.db"
    shutil.copy(sqlite_template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        for kind, ko, en in (
            (
                "koalpaca",
                shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
                shared_data / "alpaca_en/alpaca_data.first335.json",
            ),
            (
                "sharegpt_pairs",
                shared_data / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json",
                None,
            ),
        ):
            rep = import_files(engine, kind, ko, en, name=kind)
            with Session(engine) as s:
                batch = load_batch(s, rep.dataset_id, 0, 10_000, True, kind)
            assert len(batch) == rep.samples > 100
            found = 0
            for check in GATED:
                want = _per_sample(check, batch)
                assert _gated(check, batch) == want, (kind, check.name)
                found += len(want)
            assert found >= 10, kind  # the comparison is about rows where the checks find things
    finally:
        engine.dispose()


def test_markers_at_the_edges_of_turns_and_batches() -> None:
    samples = [
        _view(1, [("user", "plain 텍스트", "plain text"), ("assistant", "답", "see http://a.io")]),
        _view(2, [("user", "", None), ("assistant", "http://b.io 참고", "see the notes")]),
        _view(3, [("user", "안녕", "hello {name}"), ("assistant", "안녕", "hi")]),
        _view(4, [("user", "코드```", "code"), ("assistant", "끝", "```")]),
        _view(5, [("user", "연락처 010-1234-5678", "call me"), ("assistant", "x@y.com", "ok")]),
        _view(6, [("user", "깨진 \ufffd 글자", "broken"), ("assistant", "아닙니다", "yes it is")]),
        _view(7, [("user", "첫 줄", "line 1\nline 2"), ("assistant", "1. 하나", "- a\n- b")]),
        _view(8, [("user", "홀수 찾기", "find the odd one out"), ("assistant", "A", "A")]),
        # the last turn of the batch holds the only marker, at its very end
        _view(9, [("user", "마지막", "last"), ("assistant", "주소는 http", "the address: http")]),
    ]
    for check in GATED:
        want = _per_sample(check, samples)
        assert _gated(check, samples) == want, check.name
    urls = next(c for c in GATED if c.name == "urls")
    assert {f[0] for f in _gated(urls, samples)} >= {1, 2}


def test_random_text_made_of_markers_finds_the_same() -> None:
    """Texts built from the markers and the text around them, so that every gate is hit, missed,
    split across turns and put at both ends of a turn."""
    pieces = [
        "http://example.org/x",
        "www.",
        "@",
        "mail@example.com",
        "{name}",
        "%s",
        "<b>",
        "[[x]]",
        "${v}",
        "```",
        "\n",
        "\n- item",
        "\n1. 항목",
        "\ufffd",
        "Ã©",
        "010-1234-5678",
        "123 456",
        "없습니다.",
        "않아요",
        "못합니다",
        "아니다",
        "abc",
        "n",
        "코드",
        "홀수",
        "납치",
        " ",
        "한국어 문장입니다",
        "English words here",
        "5",
    ]
    rng = random.Random(7)

    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))

    samples = []
    for i in range(1, 400):
        turns = []
        for role in rng.sample(["user", "assistant", "instruction", "output"], rng.randint(1, 3)):
            src = text() if rng.random() < 0.8 else None
            turns.append((role, text(), src))
        samples.append(_view(i, turns))
    for check in GATED:
        want = _per_sample(check, samples)
        assert _gated(check, samples) == want, check.name


def test_batch_text_joins_each_side_and_finds_the_owner_of_a_turn() -> None:
    samples = [
        _view(1, [("user", "가나", "ab"), ("assistant", "다", None)]),
        _view(2, [("user", "", "cd")]),
        _view(3, [("user", "마http", "ef"), ("assistant", "바", "gh{x}")]),
    ]
    bt = BatchText(samples)
    text, starts = bt.side(False)
    assert text == SEP.join(["가나", "다", "", "마http", "바"])
    assert starts == [0, 3, 5, 6, 12]
    src, _ = bt.side(True)
    assert src.split(SEP) == ["ab", "", "cd", "ef", "gh{x}"]
    assert bt.marked(("http",), ()) == [2]
    assert bt.marked((), ("{",)) == [2]
    assert bt.marked(("없",), ()) == []
    assert bt.marked(("가", "바"), ("cd",)) == [0, 1, 2]
    json.dumps(starts)  # plain ints
