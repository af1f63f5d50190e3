"""Gold samples (issue 21 B) on real databases: roles, mixing into queues unmarked, scoring,
accuracy with Wilson intervals, the bar that sends an annotator's decisions to a second review."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_review import make_dataset, turns_of

from kocurate.db import session_scope
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.models import AuditEvent, Flag, GoldAnswer, Review, Sample, SecondReview, Turn
from kocurate.services import gold
from kocurate.services import review as rv
from kocurate.services.auth import Actor


def status_of(engine: Engine, sid: int) -> str:
    with Session(engine) as s:
        return s.scalar(select(Sample.status).where(Sample.id == sid)) or ""


def test_wilson_interval_known_values() -> None:
    # Wilson (1927) / Newcombe (1998) table: 81 of 263 -> 0.2553 .. 0.3662
    lo, hi = gold.wilson(81, 263) or (0, 0)
    assert lo == pytest.approx(0.2553, abs=5e-4) and hi == pytest.approx(0.3662, abs=5e-4)
    assert gold.wilson(0, 0) is None
    lo, hi = gold.wilson(10, 10) or (0, 0)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.7225, abs=5e-4)


def test_score_decision_and_flags() -> None:
    ok, flags = gold.score("reject", ["hate", "mistranslation"], "reject", ["hate", "censure"])
    assert ok is True
    assert flags["hate"] is True and flags["censure"] is False and flags["mistranslation"] is False
    assert flags["violence"] is True  # not expected, not given: a match
    assert "untranslated" not in flags  # quality categories only when expected or given
    assert (
        gold.text_similarity("abc", "abc") == 1.0 and 0 < gold.text_similarity("abcd", "abxd") < 1
    )


def test_roles_annotators_cannot_mark_or_see_gold(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 4)
    a, lead = actors["annotator"], actors["lead"]
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            gold.mark(s, a, ids[0], "approve")
        with pytest.raises(PermissionDenied):
            gold.set_rate(s, a, ds, 0.5)
        with pytest.raises(PermissionDenied):
            gold.set_bar(s, a, ds, 0.8)
        gold.mark(s, lead, ids[0], "reject", ["hate"], {1: "정답 텍스트"})
        with pytest.raises(PermissionDenied):
            gold.get(s, a, ids[0])
        with pytest.raises(PermissionDenied):
            gold.report(s, a, ds)
        with pytest.raises(KocurateError, match="turn 5"):
            gold.mark(s, lead, ids[1], "approve", texts={4: "x"})
        with pytest.raises(KocurateError, match="unknown flag"):
            gold.mark(s, lead, ids[1], "approve", ["nope"])
        with pytest.raises(KocurateError, match="approve, reject or needs_fix"):
            gold.mark(s, lead, ids[1], "skip")
    with session_scope(engine) as s:
        g = gold.get(s, lead, ids[0])
        assert (
            g is not None
            and g["decision"] == "reject"
            and g["flags"] == ["hate"]
            and g["texts"] == {1: "정답 텍스트"}
        )
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "gold_mark")
            )
            == 1
        )
        # the annotator's view of the sample says nothing about gold
        view = rv.get_sample_view(s, a, ids[0])
        assert "gold" not in repr(sorted(view)).lower()
        assert all("gold" not in str(k).lower() for k in view)


def test_gold_mixed_into_queue_scored_and_status_untouched(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 10)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        s.execute(Sample.__table__.update().where(Sample.id == ids[9]).values(status="approved"))
        gold.mark(s, lead, ids[9], "reject", ["hate"], {1: "고친 답"})
        gold.set_rate(s, lead, ds, 0.5)  # every 2nd next
    handed: list[int] = []
    with session_scope(engine) as s:
        sid = rv.next_sample(s, a, ds)
        handed.append(sid or 0)
        sid = rv.next_sample(s, a, ds, after=sid)
        handed.append(sid or 0)
        # b holds the same gold sample at the same time: not "reserved" for either of them
        rv.next_sample(s, b, ds)
        assert rv.next_sample(s, b, ds, after=ids[1]) == ids[9]
    assert handed == [ids[0], ids[9]]
    with session_scope(engine) as s:
        view = rv.get_sample_view(s, a, ids[9])
        assert view["read_only"] is False and view["claimed_by"] == [a.username]
        t1 = turns_of(s, ids[9])[1]
        v = rv.set_flags(s, a, ids[9], {"hate": None, "censure": None}, view["version"])
        v = rv.save_edit(s, a, ids[9], t1.id, "고친 답!", v)
        res = rv.submit_decision(s, a, ids[9], "reject", expected_version=v)
        assert res.status == "approved"
    assert status_of(engine, ids[9]) == "approved"  # a gold answer never changes the status
    with Session(engine) as s:
        ans = s.scalars(select(GoldAnswer)).one()
        assert ans.decision_ok is True and ans.flags == ["censure", "hate"]
        assert ans.flag_scores["hate"] is True and ans.flag_scores["censure"] is False
        assert 0.8 < (ans.text_similarity or 0) < 1.0
        assert (
            s.scalar(select(func.count()).select_from(Review)) == 0
        )  # not a review: no agreement figure
        # the annotator's flags and edit are gone: the next annotator sees the gold sample as marked
        assert s.scalar(select(func.count()).select_from(Flag).where(Flag.sample_id == ids[9])) == 0
        assert s.scalar(select(Turn.text).where(Turn.id == t1.id)) == "한국어 문장 9-1"
    with session_scope(engine) as s:  # a second answer of the same person does not count
        rv.submit_decision(s, a, ids[9], "approve")
        assert s.scalar(select(func.count()).select_from(GoldAnswer)) == 1
        rv.submit_decision(s, b, ids[9], "approve")
        # the gold sample is answered by a: never handed to a again
        nxt = [rv.next_sample(s, a, ds, after=ids[0])]
        for _ in range(4):
            nxt.append(rv.next_sample(s, a, ds, after=nxt[-1]))
        assert ids[9] not in nxt
    with session_scope(engine) as s:
        rep = {r["user"]: r for r in gold.report(s, lead, ds)}
        assert rep["annotator"]["answers"] == 1 and rep["annotator"]["decision_accuracy"] == 1.0
        assert rep["annotator2"]["decision_accuracy"] == 0.0
        assert rep["annotator"]["flags"]["hate"]["accuracy"] == 1.0
        assert rep["annotator"]["flags"]["censure"]["accuracy"] == 0.0
        lo, hi = rep["annotator"]["decision_ci"]
        assert 0.0 < lo < 1.0 and hi == pytest.approx(1.0)


def test_gold_never_in_the_plain_queue_and_rate_zero_switches_off(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 3)
    a, lead = actors["annotator"], actors["lead"]
    with session_scope(engine) as s:
        gold.mark(s, lead, ids[1], "approve")  # status stays "new": still never in the plain queue
        gold.set_rate(s, lead, ds, 0)
        with pytest.raises(KocurateError, match="0 to 0.5"):
            gold.set_rate(s, lead, ds, 0.9)
    seen = []
    with session_scope(engine) as s:
        sid = rv.next_sample(s, a, ds)
        while sid is not None and sid not in seen:
            seen.append(sid)
            rv.submit_decision(s, a, sid, "approve")
            sid = rv.next_sample(s, a, ds, after=sid)
        assert rv.queue_size(s, a, ds) == 0
    assert seen == [ids[0], ids[2]]


def test_bar_sends_decisions_to_a_second_review(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 6)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    with session_scope(engine) as s:
        for sid in ids[4:]:
            gold.mark(s, lead, sid, "reject")
        gold.set_bar(s, lead, ds, 0.8, min_answers=2)
        for sid in ids[4:]:  # a answers both gold samples wrongly: accuracy 0 of 2, below the bar
            rv.submit_decision(s, a, sid, "approve")
            rv.submit_decision(s, b, sid, "reject")
    with session_scope(engine) as s:
        rep = {r["user"]: r for r in gold.report(s, lead, ds)}
        assert rep["annotator"]["below_bar"] is True and rep["annotator2"]["below_bar"] is False
        assert rv.claim(s, a, ids[0])
        assert (
            rv.submit_decision(s, a, ids[0], "approve").status == "new"
        )  # waits for a second reviewer
        assert gold.waiting_second_review(s, lead, ds) == 1
    with session_scope(engine) as s:
        assert rv.next_sample(s, b, ds) == ids[0]  # in other people's queue
        assert rv.submit_decision(s, b, ids[0], "approve").status == "approved"
        assert s.scalar(select(func.count()).select_from(SecondReview)) == 0
        # a person at or above the bar settles alone (overlap 1)
        assert rv.claim(s, b, ids[1])
        assert rv.submit_decision(s, b, ids[1], "approve").status == "approved"
        # no bar: a's decision settles again
        gold.set_bar(s, lead, ds, None)
        assert rv.claim(s, a, ids[2])
        assert rv.submit_decision(s, a, ids[2], "approve").status == "approved"


def test_bar_with_overlap_two_needs_a_third_reviewer(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 4, overlap=2)
    a, b, lead = actors["annotator"], actors["annotator2"], actors["lead"]
    from kocurate.services import users as user_service
    from kocurate.services.auth import SYSTEM

    with session_scope(engine) as s:
        user, _pw = user_service.create_user(
            s, SYSTEM, "annotator3", "annotator", "annotator3-test-pw"
        )
        s.flush()
        c = user_service.actor_of(user)
        gold.mark(s, lead, ids[3], "reject")
        gold.set_bar(s, lead, ds, 0.5, min_answers=1)
        rv.submit_decision(s, a, ids[3], "approve")  # wrong: a is below the bar
    with session_scope(engine) as s:
        assert rv.next_sample(s, a, ds) == ids[0]
        assert rv.next_sample(s, b, ds) == ids[0]
        rv.submit_decision(s, a, ids[0], "approve")
        assert rv.submit_decision(s, b, ids[0], "approve").status == "new"
    with session_scope(engine) as s:
        # two people decided (the overlap) but one is below the bar: a third person gets it
        assert rv.next_sample(s, c, ds) == ids[0]
        assert rv.submit_decision(s, c, ids[0], "approve").status == "approved"
