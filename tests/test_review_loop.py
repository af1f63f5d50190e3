"""The review loop of issue 11 and the review gates of issue 20 (points 2 and 7), on real databases:
drafts, decision rules and disputes, adjudication, idempotent decisions, approved-means-reviewed,
ethics flags and reservations, checks that follow the text, queue filters, sizes and settings."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from test_review import make_dataset, turns_of

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied, StaleVersion
from kocurate.models import (
    Adjudication,
    AuditEvent,
    CheckFinding,
    Claim,
    Draft,
    Flag,
    Job,
    Review,
    Sample,
    Suggestion,
    Turn,
    utcnow,
)
from kocurate.services import drafts, recheck
from kocurate.services import review as rv
from kocurate.services.auth import Actor


def status_of(engine: Engine, sid: int) -> str:
    with Session(engine) as s:
        return s.scalar(select(Sample.status).where(Sample.id == sid)) or ""


# ------------------------------------------------------------------------------------------ drafts


def test_drafts_kept_per_user_outdated_and_cleared_by_save(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        t0, t1 = turns_of(s, ids[0])
        assert drafts.save_draft(s, a, ids[0], t0.id, "초안 A\r\n둘째 줄", 1) is True
        assert (
            drafts.save_draft(s, a, ids[0], t1.id, "English draft", 1, field="source_text") is True
        )
        assert drafts.save_draft(s, b, ids[0], t0.id, "초안 B", 1) is True
        # typing back the saved text is no draft at all
        assert drafts.save_draft(s, a, ids[0], t1.id, t1.text, 1) is False
        with pytest.raises(KocurateError):
            drafts.save_draft(
                s, a, ids[0], turns_of(s, ids[1])[0].id, "x", 1
            )  # turn of another sample
    with session_scope(engine) as s:  # a new session (logout, restart): still there, mine only
        mine = drafts.my_drafts(s, a, ids[0])
        assert [(d["turn_id"], d["field"], d["text"], d["outdated"]) for d in mine] == [
            (t0.id, "text", "초안 A\n둘째 줄", False),
            (t1.id, "source_text", "English draft", False),
        ]
        assert mine[0]["saved"] == "한국어 문장 0-0"
        assert drafts.pending_counts(s, lead) == [
            {"dataset_id": ds, "dataset": "ds", "drafts": 3, "people": 2, "samples": 1}
        ]
        with pytest.raises(PermissionDenied):
            drafts.pending_counts(s, a)
    with session_scope(
        engine
    ) as s:  # b saves: b's draft goes, a's drafts are now on an outdated version
        rv.save_edit(s, b, ids[0], t0.id, "초안 B", 1)
    with session_scope(engine) as s:
        assert drafts.my_drafts(s, b, ids[0]) == []
        assert all(d["outdated"] for d in drafts.my_drafts(s, a, ids[0]))
        assert drafts.discard(s, a, ids[0], t1.id) == 1
        assert [d["field"] for d in drafts.my_drafts(s, a, ids[0])] == ["text"]
    with session_scope(engine) as s:
        rv.save_edit(s, a, ids[0], t0.id, "초안 A\n둘째 줄", 2)
        assert s.scalar(select(func.count()).select_from(Draft)) == 0
        # the page stashes what is on screen before moving on: text that is saved already is no
        # draft
        assert drafts.save_draft(s, a, ids[0], t0.id, "초안 A\n둘째 줄", 2) is False
        assert s.scalar(select(func.count()).select_from(Draft)) == 0


def test_an_adjudication_cannot_skip(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    with session_scope(engine) as s, pytest.raises(KocurateError, match="adjudication"):
        rv.adjudicate(s, actors["lead"], ids[0], "skip")


def test_drafts_are_never_exported(
    engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    pytest.importorskip("datasets")
    from kocurate.services import export as ex

    ds, ids = make_dataset(engine, 3)
    a, lead = actors["annotator"], actors["lead"]
    with session_scope(engine) as s:
        for sid in ids:
            rv.next_sample(s, a, ds)
            rv.decide(s, a, sid, "approve", expected_version=1)
        t0 = turns_of(s, ids[0])[0]
        drafts.save_draft(s, a, ids[0], t0.id, "저장하지 않은 초안 텍스트", 2)
    ex.export(engine, lead, ex.ExportSpec(), tmp_path / "out")
    raw = (tmp_path / "out" / "data" / "train.jsonl").read_text(encoding="utf-8")
    assert "한국어 문장 0-0" in raw and "저장하지 않은 초안" not in raw


# --------------------------------------------------------------------------------- decision rules


@pytest.mark.parametrize(
    ("rule", "votes", "expected"),
    [
        ("unanimous", ["approve", "approve"], "approved"),
        ("unanimous", ["approve", "reject"], "disputed"),
        ("majority", ["approve", "reject", "approve"], "approved"),
        ("majority", ["approve", "reject"], "disputed"),
        ("majority", ["approve", "reject", "needs_fix"], "disputed"),
        ("any-reject", ["approve", "reject"], "rejected"),
        ("any-reject", ["approve", "needs_fix"], "disputed"),
        ("any-reject", ["approve", "approve"], "approved"),
    ],
)
def test_decision_rules(
    engine: Engine, actors: dict[str, Actor], rule: str, votes: list[str], expected: str
) -> None:
    ds, ids = make_dataset(engine, 1, overlap=len(votes))
    people = [actors["annotator"], actors["annotator2"], actors["admin"]]
    admin_as_annotator = Actor(
        actors["admin"].id, "admin", "annotator"
    )  # a third reviewer, no lead rights
    people[2] = admin_as_annotator
    with session_scope(engine) as s:
        assert rv.set_decision_rule(s, actors["lead"], ds, rule) == rule
    statuses = []
    for who, vote in zip(people, votes, strict=False):
        with session_scope(engine) as s:
            assert rv.next_sample(s, who, ds) == ids[0]
            v = s.scalar(select(Sample.version).where(Sample.id == ids[0]))
            statuses.append(rv.decide(s, who, ids[0], vote, expected_version=v))
    assert statuses[:-1] == ["new"] * (len(votes) - 1)  # open until k people decided
    assert statuses[-1] == expected == status_of(engine, ids[0])


def test_decision_rule_settings_are_checked(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, _ = make_dataset(engine, 1)
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            rv.set_decision_rule(s, actors["annotator"], ds, "majority")
        with pytest.raises(KocurateError, match="unanimous, majority, any-reject"):
            rv.set_decision_rule(s, actors["lead"], ds, "loudest")
        rv.set_decision_rule(s, actors["lead"], ds, "majority")
    with Session(engine) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings")).one()
        assert ev.details == {"before": "unanimous", "after": "majority"} and ev.dataset_id == ds


def test_dispute_adjudication_is_final_and_agreement_keeps_own_decisions(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 2, overlap=2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    sid = ids[0]
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
        rv.next_sample(s, b, ds)
        rv.decide(
            s, a, sid, "reject", expected_version=1, reason="mistranslation", note="turn 2 wrong"
        )
        assert rv.decide(s, b, sid, "approve", expected_version=2) == "disputed"
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            rv.next_sample(
                s, a, ds, rv.QueueFilter(status="disputed")
            )  # the adjudication queue is for leads
        with pytest.raises(PermissionDenied):
            rv.adjudicate(s, a, sid, "approve")
        queue = rv.disputed(s, lead, ds)
        assert queue == [
            {
                "sample_id": sid,
                "decisions": {"annotator": "reject (mistranslation)", "annotator2": "approve"},
            }
        ]
        assert rv.next_sample(s, lead, ds, rv.QueueFilter(status="disputed")) == sid
        res = rv.adjudicate(s, lead, sid, "reject", expected_version=3, note="B missed it")
        assert (res.status, res.adjudicated) == ("rejected", True)
    with session_scope(engine) as s:
        # a late reviewer changes nothing: the lead's decision is final
        a2 = Actor(actors["admin"].id, "admin", "annotator")
        rv.claim(s, a2, sid)
        assert rv.decide(s, a2, sid, "approve", expected_version=4) == "rejected"
        adj = s.scalars(select(Adjudication)).one()
        assert (adj.decision, adj.from_status, adj.user_id, adj.note) == (
            "reject",
            "disputed",
            lead.id,
            "B missed it",
        )
        # the reviews are each person's own decision (agreement), the lead is not among them
        got = {
            (r.user_id, r.decision, r.reason)
            for r in s.scalars(select(Review).where(Review.sample_id == sid))
        }
        assert got == {
            (a.id, "reject", "mistranslation"),
            (b.id, "approve", None),
            (a2.id, "approve", None),
        }
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "adjudicate")
            )
            == 1
        )
        view = rv.get_sample_view(s, lead, sid)
        assert (
            view["adjudications"][0]["decision"] == "reject"
            and view["decision_rule"] == "unanimous"
        )


def test_disputed_sample_is_not_exported_until_adjudicated(
    engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    pytest.importorskip("datasets")
    from kocurate.services import export as ex

    ds, ids = make_dataset(engine, 2, overlap=2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        for sid in ids:
            rv.next_sample(s, a, ds, after=None if sid == ids[0] else ids[0])
            rv.next_sample(s, b, ds, after=None if sid == ids[0] else ids[0])
        rv.decide(s, a, ids[0], "approve", expected_version=1)
        rv.decide(s, b, ids[0], "reject", expected_version=2)
        rv.decide(s, a, ids[1], "approve", expected_version=1)
        rv.decide(s, b, ids[1], "approve", expected_version=2)
    assert status_of(engine, ids[0]) == "disputed"

    ex.export(engine, lead, ex.ExportSpec(), tmp_path / "before")
    raw = (tmp_path / "before" / "data" / "train.jsonl").read_text(encoding="utf-8")
    assert "한국어 문장 1-0" in raw and "한국어 문장 0-0" not in raw
    with session_scope(engine) as s:
        rv.adjudicate(s, lead, ids[0], "approve", expected_version=3)
    ex.export(engine, lead, ex.ExportSpec(), tmp_path / "after")
    raw = (tmp_path / "after" / "data" / "train.jsonl").read_text(encoding="utf-8")
    assert "한국어 문장 0-0" in raw


# ------------------------------------------------------------------------ idempotent decisions
# (20.2)


def test_repeated_decision_is_a_no_op(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 3)
    a = actors["annotator"]
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == ids[0]
        first = rv.submit_decision(s, a, ids[0], "approve", expected_version=1)
        second = rv.submit_decision(s, a, ids[0], "approve", expected_version=1)  # the double click
        assert (first.status, first.repeated) == ("approved", False)
        assert (second.status, second.repeated, second.sample_id) == ("approved", True, ids[0])
        with pytest.raises(
            StaleVersion
        ):  # a different decision on the old screen is a real conflict
            rv.submit_decision(s, a, ids[0], "reject", expected_version=1)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 1
        assert s.scalar(select(Sample.version).where(Sample.id == ids[0])) == 2
        assert (
            s.scalar(select(Sample.status).where(Sample.id == ids[1])) == "new"
        )  # the unseen next one


def test_double_click_race_writes_one_row_and_no_conflict(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    """Eight copies of one click at once (a hammered button under load): one review row, no
    StaleVersion, and nothing happens to any other sample."""
    ds, ids = make_dataset(engine, 3)
    a = actors["annotator"]
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
    results: list[rv.DecisionResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def click() -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                results.append(rv.submit_decision(s, a, ids[0], "approve", expected_version=1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.repeated for r in results) == [False] + [True] * 7
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 1
        assert list(s.scalars(select(Sample.status).order_by(Sample.id))) == [
            "approved",
            "new",
            "new",
        ]


# ------------------------------------------------------------------------------- the gates (20.7)


def test_edit_to_approved_sample_sends_it_back_for_review(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 2)
    a, b = actors["annotator"], actors["annotator2"]
    sid = ids[0]
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
        assert rv.decide(s, a, sid, "approve", expected_version=1) == "approved"
    with session_scope(engine) as s:
        t = turns_of(s, sid)[1]
        v = rv.save_edit(s, b, sid, t.id, "승인 뒤에 바꾼 문장", 2)
    assert status_of(engine, sid) == "new"  # not exported as approved any more
    with session_scope(engine) as s:
        # back in the queue, for a as well (the old decision judged other text)
        assert rv.next_sample(s, a, ds) == sid
        assert rv.decide(s, a, sid, "approve", expected_version=v) == "approved"


def test_only_leads_or_the_author_clear_an_ethics_flag(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 1)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    sid = ids[0]
    with session_scope(engine) as s:
        rv.set_flags(s, a, sid, {"hate": "slur"})
        rv.set_flags(s, a, sid, {"hate": "slur", "low_quality": None})
        hate, low = (
            s.scalar(select(Flag.id).where(Flag.category == c)) for c in ("hate", "low_quality")
        )
        with pytest.raises(PermissionDenied, match="ethics flag hate"):
            rv.set_flag_state(s, b, hate, "cleared")
        rv.set_flag_state(s, b, low, "cleared")  # a quality flag: anyone
        rv.set_flag_state(s, b, hate, "confirmed")  # confirming is fine
        rv.set_flag_state(s, a, hate, "cleared")  # the author
        rv.set_flag_state(s, lead, hate, "active")
        rv.set_flag_state(s, lead, hate, "cleared")  # a lead


def test_deciding_a_sample_claimed_by_someone_else_needs_a_lead(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    sid = ids[0]
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == sid
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied, match="reserved for annotator"):
            rv.decide(s, b, sid, "approve", expected_version=1)
        view = rv.get_sample_view(s, b, sid)
        assert view["read_only"] is True and view["reservations"][0]["user"] == "annotator"
        assert view["reservations"][0]["until"] > view["reservations"][0]["since"]
        with pytest.raises(PermissionDenied, match="a lead can take it over"):
            rv.take_over(s, b, sid)
    with session_scope(engine) as s:
        assert rv.get_sample_view(s, a, sid)["read_only"] is False  # the holder edits
        rv.take_over(s, lead, sid)
        assert rv.get_sample_view(s, a, sid)["read_only"] is True  # now the lead holds it
        assert rv.decide(s, lead, sid, "approve", expected_version=1) == "approved"
        assert (
            s.scalar(select(AuditEvent.target).where(AuditEvent.action == "take_over"))
            == f"sample {sid}"
        )
    with session_scope(engine) as s:  # after expiry anyone takes over
        assert rv.next_sample(s, a, ds) == ids[1]
        s.execute(
            update(Claim)
            .where(Claim.sample_id == ids[1])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(engine) as s:
        rv.take_over(s, b, ids[1])
        assert (
            rv.decide(s, b, ids[1], "reject", expected_version=1, reason="duplicate") == "rejected"
        )


# ------------------------------------------------------------------------- checks follow the text


def test_saving_a_turn_rechecks_the_sample(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    a = actors["annotator"]
    sid = ids[0]
    recheck.clear_cache()
    with session_scope(engine) as s:
        t = turns_of(s, sid)[0]
        s.execute(
            update(Turn)
            .where(Turn.id == t.id)
            .values(
                source_text="Identify the odd one out.",
                text="홀수 중 하나를 밝히세요.",
                mt_text="홀수 중 하나를 밝히세요.",
            )
        )
        res = recheck.recheck_sample(s, sid)
        assert [f["check"] for f in res.opened] == ["false_friends"]
        assert rv.next_sample(s, a, ds, rv.QueueFilter(check="false_friends")) == sid
    with session_scope(engine) as s:
        v = rv.save_edit(s, a, sid, t.id, "어울리지 않는 것을 찾으세요.", 1)
        # closed: no open finding any more (queues, dashboards, exports see it gone) …
        assert (
            s.scalars(select(CheckFinding.check).where(CheckFinding.sample_id == sid)).all() == []
        )
        assert rv.next_sample(s, a, ds, rv.QueueFilter(check="false_friends")) is None
        # … and kept in the history of the edit that resolved it
        meta = rv.history(s, a, sid)[-1]["meta"]
        assert [f["check"] for f in meta["resolved_findings"]] == ["false_friends"]
        view = rv.get_sample_view(s, a, sid)
        assert [(f["check"], f["turn_idx"], f["version"]) for f in view["resolved_findings"]] == [
            ("false_friends", 0, 2)
        ]
    with session_scope(engine) as s:  # the defect comes back: the finding opens again
        rv.save_edit(s, a, sid, t.id, "홀수 중 하나를 밝히세요.", v)
        found = s.scalars(select(CheckFinding).where(CheckFinding.sample_id == sid)).all()
        assert [(f.check, f.state) for f in found] == [("false_friends", "open")]
        assert [f["check"] for f in rv.history(s, a, sid)[-1]["meta"]["opened_findings"]] == [
            "false_friends"
        ]


# ------------------------------------------------------------------------ queues, sizes, settings


def test_queue_by_open_suggestion_and_by_job(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 6)
    lead = actors["lead"]
    with session_scope(engine) as s:
        job = Job(kind="translate", status="done", params={})
        s.add(job)
        s.flush()
        for i, state, job_id in ((1, "open", None), (3, "open", job.id), (4, "accepted", job.id)):
            t = turns_of(s, ids[i])[0]
            s.add(
                Suggestion(sample_id=ids[i], turn_id=t.id, text="제안", state=state, job_id=job_id)
            )
        job_id = job.id
    with session_scope(engine) as s:
        open_ = rv.QueueFilter(status=None, suggestion="open")
        assert rv.queue_size(s, lead, ds, open_) == 2
        assert rv.next_sample(s, lead, ds, open_) == ids[1]
        assert rv.next_sample(s, lead, ds, open_, after=ids[1]) == ids[3]
        by_job = rv.QueueFilter(status=None, job=job_id)
        assert rv.neighbor(s, lead, ds, 0, "next", by_job) == ids[3]
        assert rv.neighbor(s, lead, ds, ids[3], "next", by_job) == ids[4]
        with pytest.raises(KocurateError):
            rv.queue_size(s, lead, ds, rv.QueueFilter(suggestion="maybe"))


def test_queue_size_counts_what_is_left_for_me(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 5)
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        assert rv.queue_size(s, a, ds) == 5
        rv.next_sample(s, b, ds)  # b holds one
        assert rv.queue_size(s, a, ds) == 4
        first = rv.next_sample(s, a, ds)
        rv.decide(s, a, first, "approve", expected_version=1)
        assert rv.queue_size(s, a, ds) == 3


def test_per_user_review_settings(engine: Engine, actors: dict[str, Actor]) -> None:
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        assert rv.get_prefs(s, a) == {"stay_after_decision": False}
        rv.set_prefs(s, a, stay_after_decision=True)
        with pytest.raises(KocurateError):
            rv.set_prefs(s, a, colour="red")
    with session_scope(engine) as s:
        assert rv.get_prefs(s, a)["stay_after_decision"] is True
        assert rv.get_prefs(s, b)["stay_after_decision"] is False


def test_reason_is_stored_and_bounded(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 1)
    a = actors["annotator"]
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
        with pytest.raises(KocurateError, match="64"):
            rv.decide(s, a, ids[0], "reject", expected_version=1, reason="x" * 65)
        rv.decide(
            s,
            a,
            ids[0],
            "needs_fix",
            expected_version=1,
            reason="untranslated",
            note="turn 2 in English",
        )
        view = rv.get_sample_view(s, a, ids[0])
    assert (
        view["reviews"][0]["reason"] == "untranslated"
        and view["reviews"][0]["note"] == "turn 2 in English"
    )


def test_other_reviewers_decisions_are_no_conflict_but_edits_are(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    """Overlap 2: both open version 1. A's decision moves the version, B's decision on version 1
    still counts (no false conflict); after an edit, a decision on the old text is stale."""
    ds, ids = make_dataset(engine, 2, overlap=2)
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
        rv.next_sample(s, b, ds)
        rv.decide(s, a, ids[0], "approve", expected_version=1)
        assert rv.decide(s, b, ids[0], "approve", expected_version=1) == "approved"
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds, after=ids[0])
        rv.next_sample(s, b, ds, after=ids[0])
        t = turns_of(s, ids[1])[0]
        v = rv.save_edit(s, a, ids[1], t.id, "A가 바꾼 문장", 1)
        rv.decide(s, a, ids[1], "approve", expected_version=v)
    with pytest.raises(StaleVersion) as err, session_scope(engine) as s:
        rv.decide(s, b, ids[1], "approve", expected_version=1)
    assert err.value.current["turns"][0]["text"] == "A가 바꾼 문장"
    with session_scope(engine) as s:
        assert (
            rv.decide(s, b, ids[1], "approve", expected_version=err.value.current_version)
            == "approved"
        )
        assert (
            s.scalar(select(func.count()).select_from(Review).where(Review.sample_id == ids[1]))
            == 2
        )
