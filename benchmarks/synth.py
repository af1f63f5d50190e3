"""Fast synthetic data for benchmarks: a migrated kocurate database filled at full scale.

``populate(url, n_samples)`` writes with bulk Core inserts (not through the importer) so that 700k
samples (~1.5M turns) land in well under two minutes on SQLite:

- 4 datasets: ShareGPT-shaped multi-turn conversations (first turn sometimes ``assistant``),
  KoAlpaca-shaped instruction/input/output, Dolly-shaped instruction/context/response with a
  category, guanaco-shaped user/assistant pairs;
- each turn has Korean text, its English source and the original MT (about 3% edited, with an
  Edit row each);
- users: 20 annotators (``ann01`` … ``ann20``), ``lead``, ``admin`` (one shared password);
- optional ``reviews`` Review rows spread over the last 30 days (decision, seconds), and sample
  statuses consistent with them (status = the last review's decision); ``approved_frac`` tops up
  the approved share with samples approved without a review row (a bulk approval);
- Flag rows (ethics and quality; origin annotator/check/model; states active/confirmed/cleared) on
  ``flagged_frac`` of the samples (default ~1.5%), CheckFinding rows on ~2%.

``write_sharegpt_pair(dir, n)`` writes a ShareGPT-shaped Korean file and its English source (same
ids).

CLI: ``python benchmarks/synth.py URL N [--reviews R] [--approved-frac F] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kocurate import db  # noqa: E402
from kocurate.models import (  # noqa: E402
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    CheckFinding,
    Dataset,
    Edit,
    Flag,
    Review,
    Sample,
    Turn,
    User,
    utcnow,
)
from kocurate.services.auth import hash_password  # noqa: E402

PASSWORD = "synth-password"
CHUNK = 20_000  # samples generated and inserted per round (bounded memory)

# (English, Korean) phrase pairs; sentences are built from them so both sides stay parallel.
_PAIRS = [
    ("Explain", "설명하세요"),
    ("the history of", "의 역사를"),
    ("Korean cuisine", "한국 요리"),
    ("Write a short poem about", "에 대한 짧은 시를 쓰세요"),
    ("the ocean", "바다"),
    ("autumn leaves", "가을 낙엽"),
    ("Summarize the following text", "다음 글을 요약하세요"),
    ("in three sentences", "세 문장으로"),
    ("List five ways to", "다섯 가지 방법을 나열하세요"),
    ("save energy at home", "집에서 에너지를 절약하는"),
    ("Translate this sentence into French", "이 문장을 프랑스어로 번역하세요"),
    ("What is the capital of", "의 수도는 어디인가요"),
    ("Canada", "캐나다"),
    ("Describe", "묘사하세요"),
    ("a typical day of a student", "학생의 평범한 하루를"),
    ("How do I", "어떻게 해야 하나요"),
    ("reverse a list in Python", "파이썬에서 리스트를 뒤집으려면"),
    ("The answer is", "정답은"),
    ("because", "왜냐하면"),
    ("the temperature rises", "기온이 올라가기 때문입니다"),
    ("Give me an example of", "예를 들어 주세요"),
    ("a healthy breakfast", "건강한 아침 식사의"),
    ("Compare", "비교하세요"),
    ("cats and dogs", "고양이와 개를"),
    ("Here is the code", "다음은 코드입니다"),
    ("I think that", "제 생각에는"),
    ("it depends on the context", "상황에 따라 다릅니다"),
    ("Thank you for your question", "질문해 주셔서 감사합니다"),
    ("Sure, here you go", "물론입니다, 여기 있습니다"),
    ("the meeting starts at", "회의는 다음 시각에 시작합니다"),
    ("machine learning", "머신러닝"),
    ("a data set of", "데이터 세트"),
    ("customers", "고객"),
    ("Seoul", "서울"),
    ("the report", "보고서"),
    ("Please check", "확인해 주세요"),
    ("the weather tomorrow", "내일 날씨를"),
    ("a story about a dragon", "용에 관한 이야기를"),
]
_CATEGORIES = (
    "open_qa",
    "general_qa",
    "classification",
    "closed_qa",
    "brainstorming",
    "information_extraction",
    "summarization",
    "creative_writing",
)
_CHECKS = (
    ("length_ratio", "warning"),
    ("untranslated", "warning"),
    ("placeholder_mismatch", "error"),
    ("number_mismatch", "warning"),
    ("ethics_lexicon", "info"),
    ("repetition", "warning"),
)
_DECISION_WEIGHTS = (("approve", 0.68), ("reject", 0.1), ("needs_fix", 0.14), ("skip", 0.08))
_STATUS = {"approve": "approved", "reject": "rejected", "needs_fix": "needs_fix", "skip": "skipped"}

# name, kind, share of the samples
DATASETS = (
    ("synth-sharegpt", "sharegpt", 0.5),
    ("synth-koalpaca", "koalpaca", 0.2),
    ("synth-dolly", "dolly", 0.1),
    ("synth-guanaco", "guanaco", 0.2),
)


class _Text:
    """A pool of parallel sentences; turns join a few of them (cheap, varied, realistic lengths)."""

    def __init__(self, rng: random.Random, size: int = 4000) -> None:
        self.en: list[str] = []
        self.ko: list[str] = []
        for i in range(size):
            k = rng.randint(2, 5)
            parts = [rng.choice(_PAIRS) for _ in range(k)]
            num = rng.randint(1, 2025) if rng.random() < 0.3 else None
            en = " ".join(p[0] for p in parts)
            ko = " ".join(p[1] for p in parts)
            if num is not None:
                en, ko = f"{en} {num}", f"{ko} {num}"
            if i % 7 == 0:
                en, ko = en + "?", ko + "?"
            else:
                en, ko = en + ".", ko + "."
            self.en.append(en)
            self.ko.append(ko)
        self.size = size

    def pair(self, rng: random.Random, lo: int, hi: int) -> tuple[str, str]:
        idx = [rng.randrange(self.size) for _ in range(rng.randint(lo, hi))]
        return " ".join(self.en[i] for i in idx), " ".join(self.ko[i] for i in idx)


def _base62(rng: random.Random, n: int = 7) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _next_id(conn: Connection, model: Any) -> int:
    return (conn.scalar(select(func.max(model.id))) or 0) + 1


def _fix_sequences(conn: Connection, tables: list[str]) -> None:
    # explicit ids bypass PostgreSQL sequences: move them past the rows we wrote
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
            )
        )


def _users(conn: Connection) -> dict[str, int]:
    existing = dict(conn.execute(select(User.username, User.id)).all())
    pw = hash_password(PASSWORD)
    now = utcnow()
    wanted = [(f"ann{i:02d}", "annotator") for i in range(1, 21)] + [
        ("lead", "lead"),
        ("admin", "admin"),
    ]
    rows = [
        {
            "username": u,
            "password_hash": pw,
            "role": r,
            "active": True,
            "failed_logins": 0,
            "created_at": now,
        }
        for u, r in wanted
        if u not in existing
    ]
    if rows:
        conn.execute(insert(User), rows)
    return dict(
        conn.execute(
            select(User.username, User.id).where(User.username.in_([u for u, _ in wanted]))
        ).all()
    )


def _turn_specs(
    kind: str, rng: random.Random, tx: _Text, turns: tuple[int, ...] = (1, 1, 2, 2, 2, 2)
) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """(role, english, korean) per turn, and the sample's metadata."""
    meta: dict[str, Any] = {}
    if kind == "sharegpt":
        n = rng.choice(turns)
        first = "assistant" if rng.random() < 0.03 else "user"
        other = "user" if first == "assistant" else "assistant"
        turns = []
        for i in range(n):
            en, ko = tx.pair(rng, 1, 2) if i % 2 == 0 else tx.pair(rng, 2, 8)
            turns.append((first if i % 2 == 0 else other, en, ko))
        return turns, meta
    if kind == "koalpaca":
        ie, ik = tx.pair(rng, 1, 2)
        ne, nk = tx.pair(rng, 1, 2) if rng.random() < 0.4 else ("", "")
        oe, ok = tx.pair(rng, 1, 5)
        return [("instruction", ie, ik), ("input", ne, nk), ("output", oe, ok)], meta
    if kind == "dolly":
        meta["category"] = rng.choice(_CATEGORIES)
        ie, ik = tx.pair(rng, 1, 2)
        ce, ck = tx.pair(rng, 2, 6) if rng.random() < 0.3 else ("", "")
        re_, rk = tx.pair(rng, 1, 4)
        return [("instruction", ie, ik), ("context", ce, ck), ("response", re_, rk)], meta
    ue, uk = tx.pair(rng, 1, 2)
    ae, ak = tx.pair(rng, 2, 6)
    return [("user", ue, uk), ("assistant", ae, ak)], meta


def populate(
    url: str,
    n_samples: int = 700_000,
    *,
    reviews: int = 0,
    approved_frac: float = 0.0,
    flagged_frac: float = 0.015,
    seed: int = 0,
) -> dict[str, Any]:
    """Bring ``url`` to head and fill it with ``n_samples`` synthetic samples (see the module doc).

    Returns {"datasets": {name: id}, "users": {username: id}, "password", "samples", "turns",
    "reviews", "flags", "findings", "edits", "seconds"}.
    """
    t0 = time.perf_counter()
    db.upgrade(url)
    engine = db.make_engine(url)
    rng = random.Random(seed)
    tx = _Text(rng)
    now = utcnow()
    out: dict[str, Any] = {
        "password": PASSWORD,
        "samples": 0,
        "turns": 0,
        "reviews": 0,
        "flags": 0,
        "findings": 0,
        "edits": 0,
    }
    try:
        with engine.begin() as conn:
            users = _users(conn)
            annotators = [users[f"ann{i:02d}"] for i in range(1, 21)]
            reviewers = annotators + [users["lead"]]
            out["users"] = users
            # datasets and their sample counts
            sizes = [int(n_samples * share) for _, _, share in DATASETS]
            sizes[0] += n_samples - sum(sizes)
            ds_ids: dict[str, int] = {}
            suffix = ""
            taken = set(conn.scalars(select(Dataset.name)))
            if any(name in taken for name, _, _ in DATASETS):
                suffix = f"-{seed}-{int(time.time())}"
            for (name, kind, _), size in zip(DATASETS, sizes, strict=True):
                res = conn.execute(
                    insert(Dataset).values(
                        name=name + suffix,
                        kind=kind,
                        licence=None,
                        source_files=[
                            {"role": "ko", "name": f"{name}.json", "sha256": "0" * 64, "bytes": 0}
                        ],
                        fingerprint=f"synth-{name}{suffix}-{seed}",
                        imported_at=now,
                        imported_by=users["admin"],
                        n_samples=size,
                        n_turns=0,
                        n_aligned=0,
                        n_unaligned=0,
                        n_ambiguous=0,
                        overlap=1,
                        meta={"synthetic": True, "seed": seed},
                    )
                )
                ds_ids[name] = res.inserted_primary_key[0]
            out["datasets"] = {name + suffix: ds_ids[name] for name, _, _ in DATASETS}

            # reviews decided up front so sample statuses/versions agree with them
            n_rev_of = bytearray(n_samples)  # number of reviews per sample (capped at 255)
            last_status: dict[int, str] = {}
            review_plan: list[
                tuple[int, int, str, int]
            ] = []  # (sample offset, user, decision, seconds ago)
            order = list(range(n_samples))
            rng.shuffle(order)
            cum = []
            acc = 0.0
            for d, w in _DECISION_WEIGHTS:
                acc += w
                cum.append((acc, d))
            for r in range(reviews):
                # ~10% second opinions on an already reviewed sample (overlap/agreement data)
                if r and rng.random() < 0.1:
                    off = review_plan[rng.randrange(len(review_plan))][0]
                else:
                    off = order[r % n_samples]
                x = rng.random()
                decision = next(d for c, d in cum if x <= c)
                ago = rng.randrange(30 * 86400)
                review_plan.append((off, rng.choice(reviewers), decision, ago))
            # status = the latest review's decision
            latest_ago: dict[int, int] = {}
            for off, _u, decision, ago in review_plan:
                if off not in latest_ago or ago < latest_ago[off]:
                    latest_ago[off] = ago
                    last_status[off] = _STATUS[decision]
                if n_rev_of[off] < 255:
                    n_rev_of[off] += 1
            want_approved = int(approved_frac * n_samples)
            have = sum(1 for s in last_status.values() if s == "approved")
            for off in order:
                if have >= want_approved:
                    break
                if off not in last_status:
                    last_status[off] = "approved"
                    have += 1

            sid0 = _next_id(conn, Sample)
            tid0 = _next_id(conn, Turn)
            sid, tid = sid0, tid0
            offset = 0
            align_counts = {name: [0, 0] for name, _, _ in DATASETS}  # aligned, ambiguous
            turn_counts = {name: 0 for name, _, _ in DATASETS}
            for (name, kind, _), size in zip(DATASETS, sizes, strict=True):
                ds_id = ds_ids[name]
                done = 0
                while done < size:
                    m = min(CHUNK, size - done)
                    samples, turns, edits, flags, findings = [], [], [], [], []
                    for j in range(m):
                        pos = done + j
                        off = offset + pos
                        specs, meta = _turn_specs(kind, rng, tx)
                        key = (
                            f"{_base62(rng)}_{rng.randrange(4)}" if kind == "sharegpt" else str(pos)
                        )
                        edited = 0
                        ko_chars = en_chars = 0
                        for idx, (role, en, ko) in enumerate(specs):
                            text_now = ko
                            if ko and rng.random() < 0.03:
                                text_now = (
                                    ko.replace("하세요", "해 주세요", 1)
                                    if "하세요" in ko
                                    else ko + " (수정)"
                                )
                                edited += 1
                                ago = rng.randrange(30 * 86400)
                                edits.append(
                                    {
                                        "sample_id": sid,
                                        "turn_id": tid,
                                        "field": "text",
                                        "user_id": rng.choice(annotators),
                                        "kind": "manual",
                                        "before": ko,
                                        "after": text_now,
                                        "sample_version": 1 + edited,
                                        "meta": {},
                                        "created_at": now - timedelta(seconds=ago),
                                    }
                                )
                            src_kind = (
                                "reference"
                                if kind == "koalpaca" and role == "output"
                                else "translation"
                            )
                            turns.append(
                                {
                                    "id": tid,
                                    "sample_id": sid,
                                    "idx": idx,
                                    "role": role,
                                    "text": text_now,
                                    "mt_text": ko,
                                    "source_text": en,
                                    "source_kind": src_kind,
                                }
                            )
                            ko_chars += len(text_now)
                            en_chars += len(en)
                            tid += 1
                        ambiguous = kind in ("koalpaca", "dolly") and rng.random() < 0.02
                        align = (
                            "id"
                            if kind == "sharegpt"
                            else ("ambiguous" if ambiguous else "aligned")
                        )
                        align_counts[name][1 if ambiguous else 0] += 1
                        turn_counts[name] += len(specs)
                        status = last_status.get(off, "new")
                        version = 1 + edited + n_rev_of[off]
                        samples.append(
                            {
                                "id": sid,
                                "dataset_id": ds_id,
                                "key": key,
                                "position": pos,
                                "status": status,
                                "version": version,
                                "meta": meta,
                                "align_status": align,
                                "align_confidence": (
                                    round(0.35 + rng.random() * 0.1, 3)
                                    if ambiguous
                                    else round(0.9 + rng.random() * 0.099, 3)
                                ),
                                "source_key": key,
                                "n_turns": len(specs),
                                "ko_chars": ko_chars,
                                "en_chars": en_chars,
                                "dup_group": None,
                                "dup_keep": True,
                                "checked_version": 0,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        x = rng.random()
                        if x < flagged_frac:
                            flags.append(_flag(rng, sid, annotators, now))
                        if rng.random() < 0.02:
                            check, sev = rng.choice(_CHECKS)
                            t_idx = rng.randrange(len(specs))
                            findings.append(
                                {
                                    "sample_id": sid,
                                    "dataset_id": ds_id,
                                    "check": check,
                                    "severity": sev,
                                    "turn_idx": t_idx,
                                    "span_start": 0,
                                    "span_end": 5,
                                    "message": f"{check} on turn {t_idx}",
                                    "data": {},
                                    "state": "open",
                                    "created_at": now,
                                }
                            )
                        sid += 1
                    # sharegpt keys are random: a rare collision is re-keyed by position
                    if kind == "sharegpt":
                        seen: set[str] = set()
                        for s in samples:
                            if s["key"] in seen:
                                s["key"] = s["source_key"] = f"{s['key']}-{s['position']}"
                            seen.add(s["key"])
                    conn.execute(insert(Sample), samples)
                    conn.execute(insert(Turn), turns)
                    if edits:
                        conn.execute(insert(Edit), edits)
                    if flags:
                        conn.execute(insert(Flag), flags)
                    if findings:
                        conn.execute(insert(CheckFinding), findings)
                    out["samples"] += len(samples)
                    out["turns"] += len(turns)
                    out["edits"] += len(edits)
                    out["flags"] += len(flags)
                    out["findings"] += len(findings)
                    done += m
                offset += size
            for name, _, _ in DATASETS:
                conn.execute(
                    Dataset.__table__.update()
                    .where(Dataset.id == ds_ids[name])
                    .values(
                        n_turns=turn_counts[name],
                        n_aligned=align_counts[name][0],
                        n_ambiguous=align_counts[name][1],
                    )
                )
            # review rows (sample offset → id: samples were written in offset order from sid0)
            rows = []
            for off, user, decision, ago in review_plan:
                rows.append(
                    {
                        "sample_id": sid0 + off,
                        "user_id": user,
                        "decision": decision,
                        "note": None,
                        "seconds": round(min(900.0, rng.lognormvariate(3.4, 0.7)), 1),
                        "flags": [],
                        "created_at": now - timedelta(seconds=ago),
                    }
                )
                if len(rows) >= 50_000:
                    conn.execute(insert(Review), rows)
                    rows.clear()
            if rows:
                conn.execute(insert(Review), rows)
            out["reviews"] = len(review_plan)
            _fix_sequences(conn, ["samples", "turns"])
    finally:
        engine.dispose()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _flag(rng: random.Random, sample_id: int, annotators: list[int], now: Any) -> dict[str, Any]:
    ethics = rng.random() < 0.5
    category = rng.choice(ETHICS_FLAGS if ethics else QUALITY_FLAGS)
    origin = rng.choice(("annotator", "check", "check", "model"))
    if origin == "annotator":
        state, user, decided = "active", rng.choice(annotators), None
    else:
        state = rng.choice(("active", "active", "confirmed", "cleared"))
        user = None
        decided = rng.choice(annotators) if state != "active" else None
    return {
        "sample_id": sample_id,
        "category": category,
        "note": None,
        "turn_idx": 0,
        "user_id": user,
        "origin": origin,
        "state": state,
        "decided_by": decided,
        "created_at": now,
        "updated_at": now,
    }


def write_sharegpt_pair(directory: str | Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    """Write ``sharegpt_ko.json`` and ``sharegpt_en.json`` (ShareGPT shape, same ids) with ``n``
    records.

    Two turns per record on average (700k records ≈ 1.4M turns); about 3% start with a ``gpt`` turn.
    """
    rng = random.Random(seed)
    tx = _Text(rng)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ko_path, en_path = d / "sharegpt_ko.json", d / "sharegpt_en.json"
    with open(ko_path, "w", encoding="utf-8") as fk, open(en_path, "w", encoding="utf-8") as fe:
        fk.write("[")
        fe.write("[")
        for i in range(n):
            specs, _ = _turn_specs("sharegpt", rng, tx, (1, 2, 2, 2, 3))  # 2 turns on average
            rid = f"{_base62(rng)}_{i}"
            sep = ",\n" if i else "\n"
            frm = {"user": "human", "assistant": "gpt"}
            fk.write(
                sep
                + json.dumps(
                    {
                        "id": rid,
                        "conversations": [{"from": frm[r], "value": ko} for r, _, ko in specs],
                    },
                    ensure_ascii=False,
                )
            )
            fe.write(
                sep
                + json.dumps(
                    {
                        "id": rid,
                        "conversations": [{"from": frm[r], "value": en} for r, en, _ in specs],
                    },
                    ensure_ascii=False,
                )
            )
        fk.write("\n]\n")
        fe.write("\n]\n")
    return ko_path, en_path


def _hangul(rng: random.Random, n: int) -> str:
    return "".join(chr(0xAC00 + rng.randrange(11_172)) for _ in range(n))


def planted_pairs(
    n_background: int, n_pairs: int, seed: int = 0, lo: float = 0.5
) -> tuple[list[tuple[int, str]], list[tuple[int, int, float]]]:
    """Random Korean texts (all unrelated) plus ``n_pairs`` near-duplicate pairs at known Jaccard.

    Each pair is a random text and a copy with scattered syllables replaced, so many that the
    shingle sets' Jaccard similarity lands spread over [``lo``, 1]; the exact value
    (``checks.dedup.jaccard`` of the normalized texts) is returned. Returns (sample id, text) items
    and (id a, id b, J) pairs.
    """
    from kocurate.checks.dedup import SHINGLE, _text_for, jaccard

    rng = random.Random(seed)
    items: list[tuple[int, str]] = []
    pairs: list[tuple[int, int, float]] = []
    sid = 0
    for _ in range(n_background):
        sid += 1
        items.append((sid, _hangul(rng, rng.randint(60, 600))))
    for _ in range(n_pairs):
        base = _hangul(rng, rng.randint(80, 600))
        target = rng.uniform(lo, 1.0)
        n_sh = len(base) - SHINGLE + 1
        # each scattered replacement takes SHINGLE shingles out of both sets: J = (n - 5m) / (n +
        # 5m)
        m = round(n_sh * (1 - target) / (SHINGLE * (1 + target)))
        chars = list(base)
        for pos in rng.sample(range(len(chars)), min(m, len(chars))):
            chars[pos] = chr(0xAC00 + rng.randrange(11_172))
        copy = "".join(chars)
        a, b = sid + 1, sid + 2
        sid += 2
        items += [(a, base), (b, copy)]
        pairs.append((a, b, jaccard(_text_for(base), _text_for(copy))))
    rng.shuffle(items)  # pairs are not neighbours in the stream
    return items, pairs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fill a kocurate database with synthetic data.")
    ap.add_argument("url", help="database URL or SQLite file")
    ap.add_argument(
        "n", type=int, nargs="?", default=700_000, help="number of samples (default 700000)"
    )
    ap.add_argument("--reviews", type=int, default=0)
    ap.add_argument("--approved-frac", type=float, default=0.0)
    ap.add_argument("--flagged-frac", type=float, default=0.015)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    url = args.url if "://" in args.url else f"sqlite:///{Path(args.url).resolve()}"
    info = populate(
        url,
        args.n,
        reviews=args.reviews,
        approved_frac=args.approved_frac,
        flagged_frac=args.flagged_frac,
        seed=args.seed,
    )
    print(json.dumps({k: v for k, v in info.items() if k != "users"}, indent=2))


if __name__ == "__main__":
    main()
