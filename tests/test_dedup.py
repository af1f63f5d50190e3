"""Near-duplicates within and across datasets: MinHash/LSH groups, one kept per group, re-runs
replace."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate.checks.dedup import (
    NUM_PERM,
    _text_for,
    bands_for,
    candidate_probability,
    find_groups,
    jaccard,
    lsh_params,
    signatures,
)
from kocurate.cli import app
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Sample
from kocurate.services import checks as svc
from kocurate.services.auth import Actor


def test_signatures_estimate_jaccard() -> None:
    a = _text_for(
        "대한민국의 수도는 서울이며, 서울은 한강을 끼고 발달한 도시로 인구가 약 천만 명에 이른다. "
        * 2
    )
    b = _text_for(
        "대한민국의 수도는 서울이며 서울은 한강을 끼고 발달한 도시로, 인구가 약 천만 명에 이른다!! "
        * 2
    )
    c = _text_for(
        "파이썬에서 리스트를 정렬하려면 sorted 함수나 list.sort 메서드를 사용하면 됩니다. " * 2
    )
    sig = signatures([a, b, c, "", "짧다"])
    assert sig.shape == (5, NUM_PERM)
    assert (sig[0] == sig[1]).mean() == 1.0  # punctuation and spacing do not count
    assert (sig[0] == sig[2]).mean() < 0.1
    # the same text alone or inside a batch gets the same signature
    assert np.array_equal(signatures([c])[0], sig[2])


def test_find_groups_in_memory() -> None:
    base = [
        "첫 번째 문서는 고양이에 대한 긴 설명입니다. 고양이는 독립적인 동물입니다.",
        "두 번째 문서는 자동차 엔진의 원리를 설명합니다. 피스톤이 움직입니다.",
        "세 번째 문서는 김치 담그는 방법입니다. 배추를 소금에 절입니다.",
    ]
    items = [(i, t) for i, t in enumerate(base, start=1)]
    items += [(10, base[0] + " "), (11, base[1].replace(".", "!")), (12, base[0] + "\n")]
    res = find_groups([(0, items[:3]), (0, items[3:])])
    assert res.group_of == {1: 1, 10: 1, 12: 1, 2: 2, 11: 2}
    assert res.groups == 2 and res.duplicates == 3


def test_dedup_across_datasets(
    engine: Engine, db_url: str, tmp_path: Path, shared_data: Path, actors: dict[str, Actor]
) -> None:
    rows = json.loads(
        (shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )[:300]
    a = tmp_path / "a.json"
    a.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    # a second dataset: light edits of rows 10, 20, 30 (spacing, punctuation, a word), plus new rows
    planted = []
    for i in (10, 20, 30):
        r = dict(rows[i])
        r["output"] = r["output"].replace(" ", "  ").replace(".", "!")
        planted.append(r)
    r = dict(rows[40])
    r["output"] = r["output"] + " 감사합니다."
    planted.append(r)
    fresh = [
        {
            "instruction": f"질문 {i}번: 서로 다른 주제 {i * 7919 % 1000}에 대해 설명하세요",
            "input": "",
            "output": (
                f"이 답은 {i}번째 고유한 답변이며 다른 어떤 답과도 겹치지 않는 내용"
                f" {i * 104729}입니다."
            ),
        }
        for i in range(20)
    ]
    b = tmp_path / "b.json"
    b.write_text(json.dumps(planted + fresh, ensure_ascii=False), encoding="utf-8")
    da = import_files(engine, "koalpaca", a, name="a").dataset_id
    db_ = import_files(engine, "koalpaca", b, name="b").dataset_id
    res = svc.dedup(engine, actors["lead"], ["a", "b"])
    with Session(engine) as s:
        got = s.execute(
            select(
                Sample.dataset_id, Sample.key, Sample.id, Sample.dup_group, Sample.dup_keep
            ).where(Sample.dup_group.is_not(None))
        ).all()
    by_group: dict[int, list[tuple[int, str, int, bool]]] = {}
    for ds, key, sid, g, keep in got:
        by_group.setdefault(g, []).append((ds, key, sid, keep))
    pairs = {frozenset(f"{ds}:{k}" for ds, k, _, _ in m) for m in by_group.values()}
    for i, j in ((10, 0), (20, 1), (30, 2), (40, 3)):
        assert frozenset({f"{da}:{i}", f"{db_}:{j}"}) in pairs, (i, pairs)
    for g, members in by_group.items():
        keepers = [m for m in members if m[3]]
        assert len(keepers) == 1 and keepers[0][2] == g  # one kept, and the group is named after it
    assert res["duplicates"] == sum(len(m) - 1 for m in by_group.values())
    # none of the fresh rows is grouped
    assert not any(
        ds == db_ and int(k) >= 4
        for ds, k, _, _ in ((m[0], m[1], 0, 0) for ms in by_group.values() for m in ms)
    )
    # re-running replaces the groups and findings (no piling up); the CLI does the same
    svc.dedup(engine, actors["lead"], ["a", "b"])
    out = CliRunner().invoke(app, ["--db", db_url, "dedup", "a", "b"])
    assert out.exit_code == 0, out.output
    with Session(engine) as s:
        n_find = len(
            s.scalars(select(CheckFinding.id).where(CheckFinding.check == "near_duplicate")).all()
        )
        n_grouped = len(s.scalars(select(Sample.id).where(Sample.dup_group.is_not(None))).all())
    assert n_find == res["duplicates"] and n_grouped == len(got)
    with pytest.raises(Exception, match="may not"):
        svc.dedup(engine, actors["annotator"], ["a"])


def _planted(n_background: int, n_pairs: int, seed: int = 0):  # noqa: ANN202
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import synth

    return synth.planted_pairs(n_background, n_pairs, seed=seed)


def _recall(res, pairs, lo: float, hi: float) -> tuple[int, int]:  # noqa: ANN001
    band = [(a, b) for a, b, j in pairs if lo <= j < hi]
    found = sum(
        1 for a, b in band if a in res.group_of and res.group_of.get(a) == res.group_of.get(b)
    )
    return found, len(band)


def test_band_layout_for_the_threshold() -> None:
    for t in (0.7, 0.8, 0.9):
        b, r = bands_for(t)
        assert b * r <= NUM_PERM and candidate_probability(t, b, r) >= 0.995
        # one more row per band would miss the target (fewest chance candidates for the recall
        # asked)
        if NUM_PERM // (r + 1):
            assert candidate_probability(t, NUM_PERM // (r + 1), r + 1) < 0.995
    b, r = bands_for(0.8)
    assert candidate_probability(0.9, b, r) >= 0.99 and candidate_probability(0.8, b, r) >= 0.99
    # datasketch's layout for 0.8 (5 x 11) is what lost a sixth of the J = 0.9 pairs
    assert lsh_params(0.8) == (5, 11) and candidate_probability(0.9, 5, 11) < 0.9


def test_planted_pairs_recall_and_precision() -> None:
    items, pairs = _planted(1_500, 400)
    text = dict(items)
    res = find_groups([(0, items[i : i + 500]) for i in range(0, len(items), 500)])
    assert res.layout == bands_for(0.8)
    for lo, hi in ((0.9, 1.01), (0.8, 0.9)):
        found, n = _recall(res, pairs, lo, hi)
        assert n >= 40 and found == n, (lo, found, n)
    # precision: every sample marked a duplicate is truly (exactly) within the threshold of its kept
    # one
    wrong = [
        sid
        for sid, g in res.group_of.items()
        if sid != g and jaccard(_text_for(text[sid]), _text_for(text[g])) < 0.8
    ]
    assert wrong == []
    below = [(a, b) for a, b, j in pairs if j < 0.75]
    assert below and not any(
        res.group_of.get(a) is not None and res.group_of.get(a) == res.group_of.get(b)
        for a, b in below
    )
    # the earlier layout and estimate-only check, same data: it misses pairs the banding finds
    old = find_groups([(0, items)], layout=lsh_params(0.8), exact=False)
    found_old, n_old = _recall(old, pairs, 0.8, 0.9)
    assert found_old < 0.9 * n_old


def test_exact_check_reads_texts_back() -> None:
    items, pairs = _planted(100, 60, seed=3)
    asked: list[int] = []
    text = dict(items)

    def texts_of(ids: list[int]) -> dict[int, str]:
        asked.extend(ids)
        return {i: text[i] for i in ids}

    res = find_groups([(0, items)], texts_of=texts_of)
    assert asked and set(asked) <= set(text)  # only candidates' texts, read back on demand
    assert res.verified > 0 and res.edges <= res.candidates
    assert res.group_of == find_groups([(0, items)]).group_of
