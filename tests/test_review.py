"""Review service: queues and claims, edits with history and optimistic concurrency, flags,
decisions."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from kocurate.db import session_scope
from kocurate.errors import KocurateError, NotFound, PermissionDenied, StaleVersion
from kocurate.models import (
    CheckFinding,
    Claim,
    Dataset,
    Edit,
    Flag,
    Review,
    Sample,
    Suggestion,
    Turn,
    utcnow,
)
from kocurate.services import review as rv
from kocurate.services.auth import SYSTEM, Actor


def make_dataset(
    engine: Engine, n: int = 10, name: str = "ds", *, overlap: int = 1
) -> tuple[int, list[int]]:
    """A dataset of n two-turn samples (user/assistant), inserted directly."""
    now = utcnow()
    with session_scope(engine) as s:
        ds = Dataset(
            name=name,
            kind="sharegpt",
            fingerprint=name,
            source_files=[],
            overlap=overlap,
            imported_at=now,
        )
        s.add(ds)
        s.flush()
        conn = s.connection()
        ids = (
            conn.execute(
                insert(Sample).returning(Sample.id, sort_by_parameter_order=True),
                [
                    {
                        "dataset_id": ds.id,
                        "key": f"k{i}",
                        "position": i,
                        "status": "new",
                        "version": 1,
                        "meta": {"i": i},
                        "align_status": "aligned",
                        "align_confidence": 0.4 + i / (2 * n),
                        "n_turns": 2,
                        "ko_chars": 10 + i,
                        "en_chars": 0 if i % 5 == 4 else 20,
                        "dup_keep": True,
                        "checked_version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(n)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(Turn),
            [
                {
                    "sample_id": sid,
                    "idx": j,
                    "role": ("user", "assistant")[j],
                    "text": f"한국어 문장 {i}-{j}",
                    "mt_text": f"한국어 문장 {i}-{j}",
                    "source_text": f"English sentence {i}-{j}",
                    "source_kind": "translation",
                }
                for i, sid in enumerate(ids)
                for j in range(2)
            ],
        )
        return ds.id, list(ids)


def turns_of(session: Session, sample_id: int) -> list[Turn]:
    return list(session.scalars(select(Turn).where(Turn.sample_id == sample_id).order_by(Turn.idx)))


def test_next_sample_claims_and_resumes(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine)
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        first = rv.next_sample(s, a, ds)
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == first  # resumes my open claim
        other = rv.next_sample(s, b, ds)
    assert first == ids[0] and other == ids[1]
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds, after=first) == ids[2]  # moves on, skipping b's claim
        assert rv.my_claims(s, a, ds) == [ids[0], ids[2]]
        assert rv.next_sample(s, a, ds, rv.QueueFilter(mine=True)) == ids[0]


def test_claims_expire_and_release(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 2)
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == ids[0]
        assert rv.next_sample(s, b, ds) == ids[1]
        assert rv.claim(s, b, ids[0]) is False
    with session_scope(engine) as s:  # a's claim runs out
        s.execute(
            update(Claim)
            .where(Claim.user_id == a.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(engine) as s:
        assert rv.claim(s, b, ids[0]) is True
        rv.release_claim(s, b, ids[0])
        assert rv.claim(s, a, ids[0]) is True


def test_queue_filters(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 10)
    lead = actors["lead"]
    with session_scope(engine) as s:
        s.add(Flag(sample_id=ids[3], category="hate", origin="check", state="active"))
        s.add(Flag(sample_id=ids[4], category="hate", origin="check", state="cleared"))
        s.add(CheckFinding(sample_id=ids[6], dataset_id=ds, check="untranslated", message="m"))
        s.execute(
            update(Turn)
            .where(Turn.sample_id == ids[7], Turn.idx == 1)
            .values(text="고양이가 좋아요")
        )

    def nxt(**kw: object) -> int | None:
        with session_scope(engine) as s:
            sid = rv.next_sample(s, lead, ds, rv.QueueFilter(**kw))
            if sid is not None:
                rv.release_claim(s, lead, sid)
            return sid

    assert nxt(flag="hate") == ids[3]
    assert nxt(check="untranslated") == ids[6]
    assert nxt(text="고양이") == ids[7]
    assert nxt(min_len=15) == ids[5]
    assert nxt(max_len=10) == ids[0]
    assert nxt(has_source=False) == ids[4]
    assert nxt(max_confidence=0.41) == ids[0]
    assert nxt(status="approved") is None
    with pytest.raises(KocurateError):
        nxt(status="bogus")


def test_neighbor_keyset(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 5)
    with Session(engine) as s:
        assert rv.neighbor(s, actors["annotator"], ds, ids[2], "next") == ids[3]
        assert rv.neighbor(s, actors["annotator"], ds, ids[2], "prev") == ids[1]
        assert rv.neighbor(s, actors["annotator"], ds, ids[0], "prev") is None


def test_concurrent_claims_never_share(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 50)
    got: dict[str, list[int]] = {"annotator": [], "annotator2": [], "lead": [], "admin": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            last = None
            for _ in range(10):
                with session_scope(engine) as s:
                    sid = rv.next_sample(s, actors[name], ds, after=last)
                got[name].append(sid)
                last = sid
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    every = [sid for claimed in got.values() for sid in claimed]
    assert all(len(set(claimed)) == 10 for claimed in got.values())
    assert len(set(every)) == len(every) == 40  # nobody got a sample someone else holds


def test_overlap_k_annotators(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 3)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            rv.set_overlap(s, a, ds, 2)
        assert rv.set_overlap(s, lead, ds, 2) == 2
        with pytest.raises(KocurateError):
            rv.set_overlap(s, lead, ds, 0)
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == ids[0]
        assert rv.next_sample(s, b, ds) == ids[0]  # k=2: both get the same sample
        assert rv.next_sample(s, lead, ds) == ids[1]  # a third person does not
    with session_scope(engine) as s:
        assert rv.decide(s, a, ids[0], "approve") == "new"  # one of two decisions: still open
        assert (
            rv.decide(s, b, ids[0], "reject") == "disputed"
        )  # unanimous (the default): a split is disputed
        assert rv.next_sample(s, a, ds, after=ids[0]) == ids[1]  # the lead holds it, but k=2


def test_save_edit_history_restore(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    a = actors["annotator"]
    with session_scope(engine) as s:
        t = turns_of(s, ids[0])[1]
        v2 = rv.save_edit(s, a, ids[0], t.id, "고친 문장", 1)
        v3 = rv.save_edit(s, a, ids[0], t.id, "Fixed English", v2, field="source_text")
        assert rv.save_edit(s, a, ids[0], t.id, "고친 문장", v3) == v3  # unchanged: no new version
    assert (v2, v3) == (2, 3)
    with session_scope(engine) as s:
        h = rv.history(s, a, ids[0])
        assert [(e["field"], e["before"], e["after"], e["version"], e["user"]) for e in h] == [
            ("text", "한국어 문장 0-1", "고친 문장", 2, "annotator"),
            ("source_text", "English sentence 0-1", "Fixed English", 3, "annotator"),
        ]
        v4 = rv.restore(s, a, h[0]["id"], v3, which="before")
        view = rv.get_sample_view(s, a, ids[0])
    assert v4 == 4 and view["version"] == 4
    turn = view["turns"][1]
    assert (
        turn["text"] == "한국어 문장 0-1"
        and turn["source_text"] == "Fixed English"
        and turn["diff"] == ""
    )
    with session_scope(engine) as s:
        assert rv.history(s, a, ids[0])[-1]["kind"] == "restore"
        # the newest ones only (the page shows a few, then "Show all"), still oldest first
        assert [e["version"] for e in rv.history(s, a, ids[0], last=2)] == [3, 4]
        assert s.scalar(select(Sample.ko_chars).where(Sample.id == ids[0])) == 10


def test_stale_edit_is_refused_with_their_text(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        t = turns_of(s, ids[0])[0]
        rv.save_edit(s, a, ids[0], t.id, "A의 번역", 1)
    with pytest.raises(StaleVersion) as err, session_scope(engine) as s:
        rv.save_edit(s, b, ids[0], t.id, "B의 번역", 1)
    cur = err.value.current
    assert err.value.current_version == 2 and cur["last_editor"] == "annotator"
    assert cur["turns"][0]["text"] == "A의 번역"
    with session_scope(engine) as s:
        assert turns_of(s, ids[0])[0].text == "A의 번역"
        assert s.scalar(select(func.count()).select_from(Edit)) == 1
        # B re-applies on top of the current version: nothing lost, both in history
        assert rv.save_edit(s, b, ids[0], t.id, "B의 번역", 2) == 3
        assert [e["after"] for e in rv.history(s, b, ids[0])] == ["A의 번역", "B의 번역"]


def test_machine_edit_meta_and_bad_input(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 2)
    a = actors["annotator"]
    with session_scope(engine) as s:
        t0 = turns_of(s, ids[0])[0]
        t1 = turns_of(s, ids[1])[0]
        rv.save_edit(s, a, ids[0], t0.id, "딥엘", 1, kind="machine", meta={"engine": "deepl"})
        assert rv.history(s, a, ids[0])[0]["meta"] == {"engine": "deepl"}
        with pytest.raises(NotFound):
            rv.save_edit(s, a, ids[0], t1.id, "x", 2)  # turn of another sample
        with pytest.raises(KocurateError):
            rv.save_edit(s, a, ids[0], t0.id, "x", 2, field="role")
        with pytest.raises(NotFound):
            rv.get_sample_view(s, a, 10**9)


def test_flags_replace_own_set_and_pre_flags(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    a, b = actors["annotator"], actors["annotator2"]
    sid = ids[0]
    with session_scope(engine) as s:
        pre = Flag(sample_id=sid, category="violence", origin="check", state="active")
        s.add(pre)
        s.flush()
        v = rv.set_flags(
            s, a, sid, {"hate": "slur in turn 2", "mistranslation": None}, expected_version=1
        )
        v = rv.set_flags(s, b, sid, {"pii": ""}, expected_version=v)
        assert (
            rv.set_flags(s, a, sid, {"hate": "slur in turn 2", "mistranslation": None}) == v
        )  # no change
        v = rv.set_flags(s, a, sid, {"hate": "slur in turn 2"}, expected_version=v)
        with pytest.raises(StaleVersion):
            rv.set_flags(s, a, sid, {"crime": None}, expected_version=1)
        with pytest.raises(KocurateError):
            rv.set_flags(s, a, sid, {"nonsense": None})
        with pytest.raises(PermissionDenied):  # an ethics pre-flag: only leads clear it
            rv.set_flag_state(s, a, pre.id, "cleared")
        v = rv.set_flag_state(s, a, pre.id, "confirmed")
        v = rv.set_flag_state(s, actors["lead"], pre.id, "cleared")
        with pytest.raises(KocurateError):
            rv.set_flag_state(s, a, pre.id, "maybe")
        view = rv.get_sample_view(s, a, sid)
    assert view["version"] == v == 6
    assert view["my_flags"] == {"hate": "slur in turn 2"}
    got = {(f["category"], f["origin"], f["state"], f["user"]) for f in view["flags"]}
    assert got == {
        ("hate", "annotator", "active", "annotator"),
        ("pii", "annotator", "active", "annotator2"),
        ("violence", "check", "cleared", None),
    }


def test_decide_and_view(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 4)
    a = actors["annotator"]
    with session_scope(engine) as s:
        s.add(
            CheckFinding(
                sample_id=ids[0],
                dataset_id=ds,
                check="untranslated",
                severity="error",
                turn_idx=1,
                message="English left",
            )
        )
        t = turns_of(s, ids[0])[1]
        s.add(Suggestion(sample_id=ids[0], turn_id=t.id, text="새 번역", based_on_version=1))
        s.add(Flag(sample_id=ids[0], category="crime", origin="model", state="active"))
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == ids[0]
        view = rv.get_sample_view(s, a, ids[0])
        assert view["claimed_by"] == ["annotator"]
        assert (
            view["findings"][0]["check"] == "untranslated" and view["findings"][0]["turn_idx"] == 1
        )
        assert view["suggestions"][0]["text"] == "새 번역"
        assert (
            rv.decide(s, a, ids[0], "approve", expected_version=1, note="ok", seconds=12.5)
            == "approved"
        )
        with pytest.raises(StaleVersion):
            rv.decide(s, a, ids[0], "reject", expected_version=1)
        assert rv.decide(s, a, ids[1], "needs_fix") == "needs_fix"
        assert rv.decide(s, a, ids[2], "skipped") == "skipped"
        with pytest.raises(KocurateError):
            rv.decide(s, a, ids[3], "maybe")
    with session_scope(engine) as s:
        r = s.scalars(select(Review).where(Review.sample_id == ids[0])).one()
        assert (r.decision, r.note, r.seconds, r.flags) == ("approve", "ok", 12.5, ["crime"])
        assert rv.next_sample(s, a, ds) == ids[3]  # decided samples left the queue
        assert rv.get_sample_view(s, a, ids[0])["reviews"][0]["decision"] == "approve"
        assert rv.queue_counts(s, a, ds) == {"approved": 1, "needs_fix": 1, "skipped": 1, "new": 1}


def test_roles(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    nobody = Actor(999, "ghost", "viewer")
    with session_scope(engine) as s:
        t = turns_of(s, ids[0])[0]
        for call in (
            lambda: rv.next_sample(s, nobody, ds),
            lambda: rv.save_edit(s, nobody, ids[0], t.id, "x", 1),
            lambda: rv.set_flags(s, nobody, ids[0], {}),
            lambda: rv.decide(s, nobody, ids[0], "approve"),
            lambda: rv.get_sample_view(s, nobody, ids[0]),
            lambda: rv.history(s, nobody, ids[0]),
        ):
            with pytest.raises(PermissionDenied):
                call()
        with pytest.raises(KocurateError):
            rv.decide(s, SYSTEM, ids[0], "approve")  # the CLI is nobody's review
        # annotators may not import, export or translate in batch
        assert not actors["annotator"].can("export") and not actors["annotator"].can(
            "translate_batch"
        )
        assert actors["lead"].can("export") and actors["admin"].can("users")


def test_concurrent_writes_lose_nothing(engine: Engine, actors: dict[str, Actor]) -> None:
    """8 threads edit, flag and decide one sample at once: every write either lands (one version
    each) or raises StaleVersion; the history accounts for every landed edit."""
    ds, ids = make_dataset(engine, 1)
    sid = ids[0]
    with Session(engine) as s:
        turn_id = turns_of(s, sid)[1].id
    landed: list[str] = []
    stale = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        nonlocal stale
        who = actors["annotator" if n % 2 else "annotator2"]
        for i in range(6):
            try:
                with session_scope(engine) as s:
                    v = s.scalar(select(Sample.version).where(Sample.id == sid))
                with session_scope(engine) as s:
                    if i % 3 == 2:
                        rv.set_flags(s, who, sid, {"low_quality": f"{n}-{i}"}, expected_version=v)
                        continue
                    text = f"worker {n} edit {i}"
                    rv.save_edit(s, who, sid, turn_id, text, v)
                with lock:
                    landed.append(text)
            except StaleVersion:
                with lock:
                    stale += 1
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(engine) as s:
        edits = [
            e.after for e in s.scalars(select(Edit).where(Edit.sample_id == sid).order_by(Edit.id))
        ]
        version = s.scalar(select(Sample.version).where(Sample.id == sid))
        final = s.scalar(select(Turn.text).where(Turn.id == turn_id))
        n_flags = s.scalar(select(func.count()).select_from(Flag).where(Flag.sample_id == sid))
    assert sorted(edits) == sorted(landed) and edits[-1] == final
    assert version > len(edits)  # edits plus flag changes, each one version
    assert n_flags <= 2  # at most one own flag set per person
    assert len(landed) + stale <= 8 * 6 and landed
