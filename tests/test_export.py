"""Export: trainer shapes (TRL messages, ShareGPT, Alpaca) loaded with ``datasets``, selection
rules, mix and split, reproducibility, manifest hashes, round trip, permissions, CLI.

The corpus is built by importing the bundled demo (all kinds) and small generated files, with
statuses, edits and flags set through the review service (bulk approvals with a plain UPDATE, as a
lead's bulk approval would)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.demo import DEMO_SETS, HERE
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.exporters import Refused, to_chat
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Dataset, Flag, Sample, Turn
from kocurate.services import export as ex
from kocurate.services import review
from kocurate.services.auth import Actor

datasets = pytest.importorskip("datasets")


# -- corpus
# ----------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _chat_rows(n: int, tag: str) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        msgs = [
            {"role": "user", "content": f"{tag} 질문 {i}: 서울의 날씨는 어떤가요?"},
            {"role": "assistant", "content": f"{tag} 답변 {i}: 오늘은 맑습니다."},
        ]
        if i % 7 == 0:
            msgs.insert(0, {"role": "system", "content": "당신은 친절한 한국어 비서입니다."})
        if i % 5 == 0:
            msgs += [
                {"role": "user", "content": f"{tag} 후속 질문 {i}"},
                {"role": "assistant", "content": f"{tag} 후속 답변 {i}"},
            ]
        rows.append({"id": f"{tag}-{i}", "messages": msgs})
    return rows


def _alpaca_rows(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "instruction": f"{tag} 지시 {i}",
            "input": "" if i % 2 else f"{tag} 입력 {i}",
            "output": f"{tag} 출력 {i}",
        }
        for i in range(n)
    ]


@pytest.fixture
def corpus(engine: Engine, actors: dict[str, Actor], tmp_path: Path) -> dict[str, Any]:
    """The demo (5 kinds) + chat-a (60), chat-b (40), alpaca-c (30) + a sharegpt_pairs set, with
    decisions."""
    for kind, ko, en, name in DEMO_SETS:
        import_files(engine, kind, HERE / ko, HERE / en if en else None, name=name)
    import_files(
        engine,
        "messages",
        _write_jsonl(tmp_path / "a.jsonl", _chat_rows(60, "A")),
        name="chat-a",
        licence="Apache-2.0",
    )
    import_files(
        engine,
        "messages",
        _write_jsonl(tmp_path / "b.jsonl", _chat_rows(40, "B")),
        name="chat-b",
        licence="CC-BY-SA-4.0",
    )
    (tmp_path / "c.json").write_text(
        json.dumps(_alpaca_rows(30, "C"), ensure_ascii=False), encoding="utf-8"
    )
    import_files(engine, "koalpaca", tmp_path / "c.json", name="alpaca-c")
    pairs = [{"instruction": "번역", "input": f"turn {i}", "output": f"턴 {i}"} for i in range(5)]
    (tmp_path / "pairs.json").write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    import_files(engine, "sharegpt_pairs", tmp_path / "pairs.json", name="pairs")
    lead, ann = actors["lead"], actors["annotator"]
    info: dict[str, Any] = {}
    with db.session_scope(engine) as s:
        ids = {n: i for i, n in s.execute(select(Dataset.id, Dataset.name))}
        # bulk approval of the generated sets
        s.execute(
            update(Sample)
            .where(
                Sample.dataset_id.in_([ids["chat-a"], ids["chat-b"], ids["alpaca-c"], ids["pairs"]])
            )
            .values(status="approved")
        )
        demo = [
            (sid, ds)
            for sid, ds in s.execute(
                select(Sample.id, Sample.dataset_id)
                .where(Sample.dataset_id.in_([ids[n] for *_, n in DEMO_SETS]))
                .order_by(Sample.id)
            )
        ]
        koalpaca = [sid for sid, ds in demo if ds == ids["demo-koalpaca"]]
        for sid, _ in demo:
            review.decide(s, lead, sid, "approve")
        # one rejected, one edited, one ethics-flagged, one ethics-flagged then cleared, one
        # quality-flagged
        rejected, edited, flagged, cleared, quality = koalpaca[:5]
        review.decide(s, lead, rejected, "reject")
        turn = s.execute(
            select(Turn.id, Turn.text).where(Turn.sample_id == edited, Turn.idx == 0)
        ).one()
        version = s.scalar(select(Sample.version).where(Sample.id == edited))
        review.save_edit(s, ann, edited, turn.id, "사람이 고친 지시문입니다 ✍️", version)
        review.decide(
            s, lead, edited, "approve"
        )  # an edit sends an approved sample back for review
        review.set_flags(s, ann, flagged, {"hate": "혐오 표현"})
        review.set_flags(s, ann, cleared, {"violence": None})
        flag_id = s.scalar(select(Flag.id).where(Flag.sample_id == cleared))
        review.set_flag_state(s, lead, flag_id, "cleared")
        review.set_flags(s, ann, quality, {"mistranslation": "용어"})
        # approved means reviewed: the edit and the new flag sent both back; the lead reviews them
        # again
        for sid in (edited, quality):
            review.decide(s, lead, sid, "approve")
        # a contamination finding (as the checks area writes them) and a near-duplicate pair
        contaminated = s.scalar(
            select(Sample.id).where(Sample.dataset_id == ids["chat-a"], Sample.key == "A-0")
        )
        s.execute(
            insert(CheckFinding).values(
                sample_id=contaminated,
                dataset_id=ids["chat-a"],
                check="contamination_kobest",
                severity="error",
                message="KoBEST",
            )
        )
        dup_a, dup_b = s.scalars(
            select(Sample.id).where(Sample.dataset_id == ids["chat-b"]).order_by(Sample.id).limit(2)
        ).all()
        s.execute(update(Sample).where(Sample.id.in_([dup_a, dup_b])).values(dup_group=dup_a))
        s.execute(update(Sample).where(Sample.id == dup_a).values(dup_keep=False))
        info.update(
            ids=ids,
            rejected=rejected,
            edited=edited,
            flagged=flagged,
            cleared=cleared,
            quality=quality,
            contaminated=contaminated,
            dup_drop=dup_a,
            dup_keep=dup_b,
            edited_text="사람이 고친 지시문입니다 ✍️",
            edited_mt=turn.text,
        )
    return info


def _load(path: Path, tmp_path: Path, builder: str = "json"):  # type: ignore[no-untyped-def]
    return datasets.load_dataset(
        builder, data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_trl(messages: list[dict[str, str]]) -> None:
    """TRL's conversational format: optional system first, then user/assistant alternating, no empty
    turn."""
    roles = [m["role"] for m in messages]
    body = roles[1:] if roles and roles[0] == "system" else roles
    assert body and len(body) % 2 == 0, roles
    assert body == ["user", "assistant"] * (len(body) // 2), roles
    assert "system" not in body
    assert all(isinstance(m["content"], str) and m["content"].strip() for m in messages), messages


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- chat mapping (no database)
# ------------------------------------------------------------------------


def test_to_chat_rules() -> None:
    # alpaca fields: instruction, blank line, input
    chat = to_chat([("instruction", "지시"), ("input", "입력"), ("output", "출력")])
    assert chat.messages() == [
        {"role": "user", "content": "지시\n\n입력"},
        {"role": "assistant", "content": "출력"},
    ]
    assert (
        to_chat([("instruction", "지시"), ("input", ""), ("output", "출력")]).messages()[0][
            "content"
        ]
        == "지시"
    )
    # dolly fields
    chat = to_chat([("instruction", "질문"), ("context", "맥락"), ("response", "답")])
    assert [m["content"] for m in chat.messages()] == ["질문\n\n맥락", "답"]
    assert chat.fields == {"instruction": "질문", "input": "맥락", "output": "답"}
    with pytest.raises(Refused) as e:
        to_chat([("instruction", "질문"), ("response", "  ")])
    assert e.value.reason == "empty_turn"
    # ShareGPT starting with gpt: the leading assistant turn is dropped
    chat = to_chat([("assistant", "먼저"), ("user", "질문"), ("assistant", "답")])
    assert [m["role"] for m in chat.messages()] == [
        "user",
        "assistant",
    ] and "dropped_leading_assistant" in chat.repairs
    # split messages merged; an exchange with an empty answer dropped; trailing question dropped
    chat = to_chat(
        [
            ("system", "시스템"),
            ("user", "a"),
            ("user", "b"),
            ("assistant", "c"),
            ("user", "d"),
            ("assistant", ""),
            ("user", "e"),
            ("assistant", "f"),
            ("user", "g"),
        ]
    )
    assert chat.messages() == [
        {"role": "system", "content": "시스템"},
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "e"},
        {"role": "assistant", "content": "f"},
    ]
    assert set(chat.repairs) == {"merged_turns", "dropped_empty_exchange", "dropped_trailing_user"}
    for turns, reason in (
        ([("turn", "턴")], "no_role"),
        ([("user", "a"), ("system", "s"), ("assistant", "b")], "system_not_first"),
        ([("user", "a")], "no_complete_exchange"),
        ([("narrator", "a")], "unknown_role"),
        ([("user", "a"), ("assistant", " ")], "no_complete_exchange"),
    ):
        with pytest.raises(Refused) as e:
            to_chat(turns)
        assert e.value.reason == reason


# -- formats
# ---------------------------------------------------------------------------------------------


def test_messages_export_trl_shape_and_selection(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    m = ex.export(engine, actors["lead"], ex.ExportSpec(), out)
    path = out / "data" / "train.jsonl"
    raw = path.read_bytes()
    assert b"\\u" not in raw and "서울".encode() in raw  # UTF-8, no \uXXXX escapes
    ds = _load(path, tmp_path)
    assert len(ds) == m["counts"]["total"] == len(raw.splitlines())
    for row in ds:
        _assert_trl(row["messages"])
        assert row["kocurate"]["status"] == "approved"
    ids = {row["kocurate"]["sample_id"] for row in ds}
    # rejected, ethics-flagged, contaminated, the dropped duplicate and the speakerless pairs are
    # absent
    assert (
        corpus["rejected"] not in ids
        and corpus["flagged"] not in ids
        and corpus["contaminated"] not in ids
    )
    assert corpus["dup_drop"] not in ids and corpus["dup_keep"] in ids
    assert not any(row["kocurate"]["dataset"] == "pairs" for row in ds)
    # a cleared ethics flag does not exclude; a quality flag stays, named in the provenance
    assert corpus["cleared"] in ids
    quality = next(r for r in ds if r["kocurate"]["sample_id"] == corpus["quality"])
    assert quality["kocurate"]["flags"] == ["mistranslation"]
    # the edited text is exported, never the stale machine translation
    edited = next(r for r in ds if r["kocurate"]["sample_id"] == corpus["edited"])
    assert edited["messages"][0]["content"].startswith(corpus["edited_text"])
    assert corpus["edited_mt"] not in raw.decode()
    # the manifest: counts, exclusions, refusals, repairs (ShareGPT demo_4 starts with gpt)
    assert m["refused"]["no_role"] == 5 and m["counts"]["by_dataset"]["pairs"]["total"] == 0
    assert m["excluded"]["ethics_flagged"] == 1 and m["excluded"]["contaminated"] == 1
    assert m["excluded"]["duplicates"] == 1
    assert m["repairs"]["dropped_leading_assistant"] >= 1
    assert m["counts"]["by_status"] == {"approved": m["counts"]["total"]}
    assert m["counts"]["by_flag"] == {"mistranslation": 1}
    saved = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for f in saved["files"]:
        assert _sha(out / f["path"]) == f["sha256"]
    assert {f["path"] for f in saved["files"]} == {"data/train.jsonl", "README.md"}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlanguage:\n- ko\n- en\n") and "license: other" in card
    assert "non-commercial" in card and "share-alike" in card and "path: data/train.jsonl" in card
    # the folder loads as is through its card's configs
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache2"))
    assert loaded["train"].num_rows == m["counts"]["total"]


def test_sharegpt_alpaca_parquet_hf_shapes(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:
    lead = actors["lead"]
    m = ex.export(engine, lead, ex.ExportSpec(format="sharegpt", meta=False), tmp_path / "sg")
    ds = _load(tmp_path / "sg" / "data" / "train.jsonl", tmp_path)
    assert ds.column_names == ["conversations"] and len(ds) == m["counts"]["total"]
    for row in ds:
        froms = [t["from"] for t in row["conversations"]]
        body = froms[1:] if froms[0] == "system" else froms
        assert body == ["human", "gpt"] * (len(body) // 2) and all(
            t["value"].strip() for t in row["conversations"]
        )

    m = ex.export(engine, lead, ex.ExportSpec(format="alpaca"), tmp_path / "al")
    ds = _load(tmp_path / "al" / "data" / "train.jsonl", tmp_path)
    assert {"instruction", "input", "output"} <= set(
        ds.column_names
    ) and "history" not in ds.column_names
    assert all(r["instruction"].strip() and r["output"].strip() for r in ds)
    multi = m["refused"]["multi_turn"]
    assert multi > 0 and m["counts"]["total"] == len(ds)
    dolly = next(r for r in ds if r["kocurate"]["dataset"] == "demo-dolly-ko" and r["input"])
    assert dolly["input"] and dolly["output"]  # Dolly's context went to input
    m2 = ex.export(
        engine, lead, ex.ExportSpec(format="alpaca", alpaca_history=True), tmp_path / "al2"
    )
    assert (
        m2["refused"]["multi_turn"] == 0 and m2["counts"]["total"] == m["counts"]["total"] + multi
    )
    hist = [r for r in _rows(tmp_path / "al2" / "data" / "train.jsonl") if r["history"]]
    assert len(hist) == multi and all(len(h) == 2 for r in hist for h in r["history"])

    m = ex.export(engine, lead, ex.ExportSpec(format="parquet", val_frac=0.25), tmp_path / "pq")
    train = _load(tmp_path / "pq" / "data" / "train.parquet", tmp_path, "parquet")
    val = _load(tmp_path / "pq" / "data" / "validation.parquet", tmp_path, "parquet")
    assert (
        len(train) + len(val) == m["counts"]["total"]
        and len(val) == m["counts"]["splits"]["validation"]
    )
    for row in train:
        _assert_trl(row["messages"])

    m = ex.export(engine, lead, ex.ExportSpec(format="hf", val_frac=0.25), tmp_path / "hf")
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert dd["train"].num_rows == m["counts"]["splits"]["train"] and dd[
        "validation"
    ].num_rows == len(val)
    for f in m["files"]:
        assert _sha(tmp_path / "hf" / f["path"]) == f["sha256"]


# -- mix, split, reproducibility
# -------------------------------------------------------------------------


def test_mix_split_and_reproducibility(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:
    lead = actors["lead"]
    shares = {"chat-a": 0.5, "chat-b": 0.3, "alpaca-c": 0.2}
    spec = ex.ExportSpec(mix=dict(shares), total=71, seed=7, val_frac=0.2)
    m1 = ex.export(engine, lead, spec, tmp_path / "one")
    m2 = ex.export(engine, lead, ex.ExportSpec.from_dict(spec.to_dict()), tmp_path / "two")
    by = m1["counts"]["by_dataset"]
    assert m1["counts"]["total"] == 71 and not any(w.startswith("mix:") for w in m1["warnings"])
    for name, share in shares.items():
        assert abs(by[name]["total"] - share * 71) <= 1, (name, by[name])
        # stratified: each dataset's validation share is its own share of the validation split
        assert abs(by[name]["validation"] - 0.2 * by[name]["total"]) <= 1
    assert m1["counts"]["splits"] == {"train": 57, "validation": 14}
    assert set(by) == set(shares)
    rows = _rows(tmp_path / "one" / "data" / "train.jsonl") + _rows(
        tmp_path / "one" / "data" / "validation.jsonl"
    )
    assert len({r["kocurate"]["sample_id"] for r in rows}) == 71
    # same seed: byte-identical data files (the manifest's time differs; its hashes agree)
    for split in ("train", "validation"):
        a, b = (
            tmp_path / "one" / "data" / f"{split}.jsonl",
            tmp_path / "two" / "data" / f"{split}.jsonl",
        )
        assert a.read_bytes() == b.read_bytes()
    assert [f["sha256"] for f in m1["files"] if "split" in f] == [
        f["sha256"] for f in m2["files"] if "split" in f
    ]
    assert m1["selection"]["samples_sha256"] == m2["selection"]["samples_sha256"]
    for fmt in (
        "parquet",
        "hf",
    ):  # binary formats too (HF's state.json carries a random fingerprint)
        a, b = (
            ex.export(
                engine,
                lead,
                ex.ExportSpec.from_dict({**spec.to_dict(), "format": fmt}),
                tmp_path / f"{fmt}{i}",
            )
            for i in (1, 2)
        )
        data = {
            f["path"]: f["sha256"] for f in a["files"] if f["path"].endswith((".parquet", ".arrow"))
        }
        assert data and data == {f["path"]: f["sha256"] for f in b["files"] if f["path"] in data}
    # another seed: another sample
    m3 = ex.export(
        engine,
        lead,
        ex.ExportSpec(mix=dict(shares), total=71, seed=8, val_frac=0.2),
        tmp_path / "three",
    )
    assert (
        m3["counts"]["total"] == 71
        and m3["selection"]["samples_sha256"] != m1["selection"]["samples_sha256"]
    )
    assert (tmp_path / "three" / "data" / "train.jsonl").read_bytes() != (
        tmp_path / "one" / "data" / "train.jsonl"
    ).read_bytes()
    # shares that do not add up are scaled to fill the target, and the manifest says so
    m6 = ex.export(
        engine, lead, ex.ExportSpec(mix={"chat-a": 0.4, "chat-b": 0.4}, total=40), tmp_path / "six"
    )
    assert m6["counts"]["by_dataset"]["chat-a"]["total"] == 20 and any(
        "scaled" in w for w in m6["warnings"]
    )
    # counts (caps): a dataset gives at most its count; shortfall is reported, not topped up
    m4 = ex.export(
        engine, lead, ex.ExportSpec(mix={"chat-b": 10, "demo-kovicuna": 50}), tmp_path / "four"
    )
    assert m4["counts"]["by_dataset"]["chat-b"]["total"] == 10
    kov = m4["counts"]["by_dataset"]["demo-kovicuna"]
    assert (
        kov["total"] == 3
        and kov["shortfall"] == 47
        and any("demo-kovicuna" in w for w in m4["warnings"])
    )
    # refused samples are replaced by the dataset's next candidates: the quota still holds
    m5 = ex.export(
        engine, lead, ex.ExportSpec(format="alpaca", mix={"chat-a": 30}, seed=3), tmp_path / "five"
    )
    assert m5["refused"]["multi_turn"] > 0 and m5["counts"]["by_dataset"]["chat-a"]["total"] == 30


def test_preview_filters_and_contamination(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], session: Any, tmp_path: Path
) -> None:
    lead = actors["lead"]
    with db.session_scope(engine) as s:  # a read: no write lock held while the export runs
        p = ex.preview_counts(s, lead, ex.ExportSpec(datasets=["chat-a", "demo-koalpaca"]))
    rows = {r["name"]: r for r in p["datasets"]}
    assert rows["chat-a"]["eligible"] == 59 and rows["chat-a"]["contaminated"] == 1
    assert (
        rows["demo-koalpaca"]["ethics_flagged"] == 1 and rows["demo-koalpaca"]["pool"] == 8
    )  # one rejected
    assert any("non-commercial" in w for w in p["warnings"])
    m = ex.export(engine, lead, ex.ExportSpec(datasets=["chat-a", "demo-koalpaca"]), tmp_path / "x")
    assert m["counts"]["total"] == p["total"] == 59 + rows["demo-koalpaca"]["eligible"]
    # asked for: contaminated samples come back
    m = ex.export(
        engine, lead, ex.ExportSpec(datasets=["chat-a"], include_contaminated=True), tmp_path / "y"
    )
    assert m["counts"]["total"] == 60
    # other filters: status, flags, turns, length
    m = ex.export(engine, lead, ex.ExportSpec(statuses=["rejected"]), tmp_path / "rej")
    assert m["counts"]["total"] == 1 and m["counts"]["by_status"] == {"rejected": 1}
    m = ex.export(
        engine,
        lead,
        ex.ExportSpec(exclude_flags=["mistranslation"], datasets=["demo-koalpaca"]),
        tmp_path / "q",
    )
    assert corpus["quality"] not in {
        r["kocurate"]["sample_id"] for r in _rows(tmp_path / "q" / "data" / "train.jsonl")
    }
    m = ex.export(
        engine,
        lead,
        ex.ExportSpec(datasets=["chat-a"], min_turns=4, include_contaminated=True),
        tmp_path / "t",
    )
    assert m["counts"]["total"] == 12  # every 5th conversation has a follow-up exchange
    with pytest.raises(KocurateError):
        ex.preview_counts(session, lead, ex.ExportSpec(mix={"chat-a": 0.5}))  # shares need a total
    # the export reads one snapshot and holds no write lock: a reviewer's decision made while it
    # runs goes through at once and does not leak into this export
    victim = corpus["dup_keep"]

    def decide_meanwhile(done: int, total: int) -> None:
        if done == 0:
            with db.session_scope(engine) as s:
                review.decide(s, actors["annotator"], victim, "reject")

    m = ex.export(
        engine,
        lead,
        ex.ExportSpec(datasets=["chat-b"]),
        tmp_path / "snap",
        progress=decide_meanwhile,
    )
    rows = _rows(tmp_path / "snap" / "data" / "train.jsonl")
    assert m["counts"]["total"] == 39 and {r["kocurate"]["status"] for r in rows} == {"approved"}
    assert victim in {r["kocurate"]["sample_id"] for r in rows}
    with db.session_scope(engine) as s:
        assert s.scalar(select(Sample.status).where(Sample.id == victim)) == "rejected"
    with pytest.raises(KocurateError):
        ex.export(
            engine, lead, ex.ExportSpec(datasets=["chat-a"]), tmp_path / "x"
        )  # an earlier export
    ex.export(engine, lead, ex.ExportSpec(datasets=["chat-a"]), tmp_path / "x", overwrite=True)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(KocurateError):
        ex.export(engine, lead, ex.ExportSpec(), tmp_path / "busy", overwrite=True)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_permissions_download_and_round_trip(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], session: Any, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied):
        ex.export(engine, actors["annotator"], ex.ExportSpec(), tmp_path / "no")
    with pytest.raises(PermissionDenied):
        ex.preview_counts(session, actors["annotator"], ex.ExportSpec())
    assert not (tmp_path / "no").exists()
    name, data, manifest = ex.export_archive(
        engine, actors["admin"], ex.ExportSpec(datasets=["chat-b"])
    )
    assert name.endswith(".zip") and data[:2] == b"PK" and manifest["counts"]["total"] == 39
    with pytest.raises(KocurateError):
        ex.export_archive(engine, actors["admin"], ex.ExportSpec(), limit=10)
    with db.session_scope(engine) as s:
        assert ex.recent_exports(s, actors["lead"])[0]["status"] == "done"
    # round trip: the exported JSONL imports back as a dataset with the same text
    out = tmp_path / "rt"
    ex.export(engine, actors["lead"], ex.ExportSpec(datasets=["demo-kovicuna", "chat-a"]), out)
    exported = _rows(out / "data" / "train.jsonl")
    rep = import_files(engine, "messages", out / "data" / "train.jsonl", name="round-trip")
    assert rep.samples == len(exported)
    with db.session_scope(engine) as s:
        back = s.execute(
            select(Sample.position, Turn.idx, Turn.role, Turn.text)
            .join(Turn, Turn.sample_id == Sample.id)
            .where(Sample.dataset_id == rep.dataset_id)
            .order_by(Sample.position, Turn.idx)
        ).all()
        metas = s.scalars(
            select(Sample.meta).where(Sample.dataset_id == rep.dataset_id).order_by(Sample.position)
        ).all()
    got: dict[int, list[tuple[str, str]]] = {}
    for pos, _idx, role, text in back:
        got.setdefault(pos, []).append((role, text))
    for i, row in enumerate(exported):
        assert got[i] == [(m["role"], m["content"]) for m in row["messages"]]
    assert metas[0]["origin"]["dataset"] == exported[0]["kocurate"]["dataset"]


def test_cli_export(
    db_url: str, engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(
        app,
        [
            "--db",
            db_url,
            "export",
            str(out),
            "--mix",
            "chat-a=60%",
            "--mix",
            "chat-b=40%",
            "--total",
            "50",
            "--seed",
            "5",
            "--val-frac",
            "0.1",
            "--no-meta",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "exported 50 samples (train 45, validation 5)" in res.output
    rows = _rows(out / "data" / "train.jsonl")
    assert len(rows) == 45 and all(set(r) == {"messages"} for r in rows)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["by_dataset"]["chat-a"]["total"] == 30 and manifest["seed"] == 5
    res = runner.invoke(app, ["--db", db_url, "export", str(out), "--format", "nope"])
    assert res.exit_code == 2 and "unknown format" in res.output
    res = runner.invoke(app, ["--db", db_url, "export", str(out)])
    assert res.exit_code == 5 and "--overwrite" in res.output
    res = runner.invoke(
        app, ["--db", db_url, "export", str(out), "--dry-run", "--dataset", "chat-b"]
    )
    assert res.exit_code == 0 and "planned 39 samples" in res.output


def test_real_checks_contamination_and_near_duplicates(
    engine: Engine, actors: dict[str, Actor], shared_data: Path, tmp_path: Path
) -> None:
    """With the checks area's own contamination and near-duplicate checks (names as they store
    them)."""
    from kocurate.services import checks as checks_service

    boolq = shared_data / "kobest" / "BoolQ_dev.tsv"
    passage = boolq.read_text(encoding="utf-8").splitlines()[2].split("\t")[1]
    long_answer = (
        "대한민국의 수도는 서울이며, 한강이 도시를 가로질러 흐르고 인구는 약 천만 명입니다. " * 3
    )
    rows = [
        {
            "id": "leak",
            "messages": [
                {"role": "user", "content": f"다음 글을 요약하세요.\n\n{passage}"},
                {"role": "assistant", "content": "세르비아 요리에서 빵은 중요합니다."},
            ],
        },
        {
            "id": "dup1",
            "messages": [
                {"role": "user", "content": "한국의 수도에 대해 알려 주세요."},
                {"role": "assistant", "content": long_answer},
            ],
        },
        {
            "id": "dup2",
            "messages": [
                {"role": "user", "content": "한국의 수도에 대해 알려 주세요."},
                {"role": "assistant", "content": long_answer},
            ],
        },
        {
            "id": "plain",
            "messages": [
                {"role": "user", "content": "좋아하는 계절은?"},
                {"role": "assistant", "content": "가을을 좋아합니다."},
            ],
        },
    ]
    rep = import_files(engine, "messages", _write_jsonl(tmp_path / "chk.jsonl", rows), name="chk")
    with db.session_scope(engine) as s:
        checks_service.add_evalset(s, actors["lead"], "kobest", boolq)
        s.execute(
            update(Sample).where(Sample.dataset_id == rep.dataset_id).values(status="approved")
        )
    checks_service.run_checks(
        engine, actors["lead"], "chk", only=["contamination", "near_duplicate"], full=True
    )
    with db.session_scope(engine) as s:
        names = set(s.scalars(select(CheckFinding.check).distinct()))
    assert any(n.startswith("contamination") for n in names), names

    m = ex.export(engine, actors["lead"], ex.ExportSpec(), tmp_path / "out")
    keys = {r["kocurate"]["key"] for r in _rows(tmp_path / "out" / "data" / "train.jsonl")}
    assert "leak" not in keys and "plain" in keys
    assert len(keys & {"dup1", "dup2"}) == 1 and m["excluded"]["duplicates"] == 1
    assert m["excluded"]["contaminated"] == 1
    m = ex.export(
        engine,
        actors["lead"],
        ex.ExportSpec(include_contaminated=True, dedup=False),
        tmp_path / "all",
    )
    assert m["counts"]["total"] == 4


def test_failed_export_leaves_nothing(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, Any], tmp_path: Path
) -> None:
    """An error while writing (here: the progress callback) stops the reader and leaves no folder
    behind."""

    def boom(done: int, total: int) -> None:
        if done:
            raise RuntimeError("disk full")

    parent = tmp_path / "exports"
    parent.mkdir()
    with pytest.raises(RuntimeError):
        ex.export(engine, actors["lead"], ex.ExportSpec(), parent / "out", progress=boom)
    assert list(parent.iterdir()) == []  # neither the folder nor its partial sibling
    with db.session_scope(engine) as s:
        assert ex.recent_exports(s, actors["lead"])[0]["status"] == "failed"
    # the database is not left locked: the next export runs
    assert ex.export(engine, actors["lead"], ex.ExportSpec(datasets=["chat-b"]), tmp_path / "ok")[
        "counts"
    ]["total"]


def test_to_chat_always_gives_trl_shape_or_refuses() -> None:
    """Property: any sequence of turns maps to a valid TRL conversation or is refused with a known
    reason."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kocurate.exporters import REFUSALS

    roles = st.sampled_from(["user", "assistant", "system", "human", "gpt", "turn", "narrator"])
    texts = st.sampled_from(["", " ", "\n", "안녕", "hello", "질문\n\n답"])
    field_turns = st.lists(
        st.tuples(
            st.sampled_from(["instruction", "input", "context", "output", "response"]), texts
        ),
        min_size=1,
        max_size=4,
    )

    @settings(max_examples=400, deadline=None)
    @given(st.one_of(st.lists(st.tuples(roles, texts), max_size=8), field_turns))
    def check(turns: list[tuple[str, str]]) -> None:
        try:
            chat = to_chat(turns)
        except Refused as exc:
            assert exc.reason in REFUSALS
            return
        _assert_trl(chat.messages())

    check()
