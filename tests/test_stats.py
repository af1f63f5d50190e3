"""Statistics: a small database with known reviews, flags, findings and edits; every figure asserted
exactly.

The kappa functions are checked in tests/test_agreement.py, and the
SQL pipeline against values worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest
from sqlalchemy import Engine

from kocurate import db
from kocurate.errors import PermissionDenied
from kocurate.models import (
    CheckFinding,
    Dataset,
    Edit,
    Flag,
    Review,
    Sample,
    Suggestion,
    TranslationCache,
    Turn,
)
from kocurate.services import stats
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM, Actor
from kocurate.services.stats import StatsFilter

D20, D21, D22 = datetime(2026, 11, 20, 10), datetime(2026, 11, 21, 10), datetime(2026, 11, 22, 10)


# ----------------------------------------------------------------------------------------- pure
# functions
def test_levenshtein_and_links() -> None:
    assert stats.levenshtein("kitten", "sitting") == 3
    assert stats.levenshtein("가나다", "가나라") == 1
    assert stats.levenshtein("", "abc") == 3
    assert stats.review_link(3, check="untranslated") == "/review?dataset=3&check=untranslated"
    assert stats.review_link(None, status="new", flag="hate") == "/review?status=new&flag=hate"
    assert stats.review_link() == "/review"
    assert stats.bucket_label(1, stats.DISTANCE_EDGES) == "1-4"
    assert stats.bucket_label(0, stats.DISTANCE_EDGES) == "0"
    assert stats.bucket_label(1000, stats.DISTANCE_EDGES) == "1000+"


# ----------------------------------------------------------------------------------------- the
# database
@pytest.fixture
def world(engine: Engine, actors: dict[str, Actor]) -> dict:
    """ds1 "dolly" (overlap 2, 10 samples, categories) and ds2 "alpaca" (5 samples); reviews by A,
    B, C."""
    with db.session_scope(engine) as s:
        u3, _ = user_service.create_user(s, SYSTEM, "annotator3", "annotator", "annotator3-test-pw")
        s.flush()
        c_actor = user_service.actor_of(u3)
        ds1 = Dataset(
            name="dolly", kind="dolly", fingerprint="f1", overlap=2, source_files=[], meta={}
        )
        ds2 = Dataset(
            name="alpaca", kind="alpaca", fingerprint="f2", overlap=1, source_files=[], meta={}
        )
        s.add_all([ds1, ds2])
        s.flush()
        st1 = ["approved"] * 4 + ["rejected"] * 2 + ["needs_fix"] + ["new"] * 3
        cat1 = [
            "open_qa",
            "open_qa",
            "brainstorming",
            "brainstorming",
            "open_qa",
            "brainstorming",
            "open_qa",
            "open_qa",
            "open_qa",
            "open_qa",
        ]
        s1 = [
            Sample(
                dataset_id=ds1.id,
                key=f"d{i}",
                position=i,
                status=st1[i],
                meta={"category": cat1[i]},
                n_turns=2,
                ko_chars=50,
                en_chars=100,
            )
            for i in range(10)
        ]
        # ds2: (status, ko, en, turns)
        spec2 = [
            ("approved", 40, 100, 3),
            ("skipped", 0, 0, 0),
            ("new", 120, 300, 3),
            ("new", 60, 50, 2),
            ("new", 10000, 1, 1),
        ]
        s2 = [
            Sample(
                dataset_id=ds2.id,
                key=f"a{i}",
                position=i,
                status=st,
                meta={},
                n_turns=t,
                ko_chars=k,
                en_chars=e,
            )
            for i, (st, k, e, t) in enumerate(spec2)
        ]
        s.add_all(s1 + s2)
        s.flush()
        A, B, C = actors["annotator"].id, actors["annotator2"].id, c_actor.id
        S = [x.id for x in s1]
        T = [x.id for x in s2]
        # reviews: (user, sample, decision, when, seconds)
        plan = [
            (A, S[0], "approve", D20, 10),
            (A, S[1], "approve", D20, 20),
            (A, S[2], "approve", D20, 30),
            (A, S[3], "approve", D20, 40),
            (A, S[4], "reject", D20, 50),
            (A, S[5], "approve", D21, 60),
            (A, S[5], "reject", D21, 70),
            (A, S[6], "needs_fix", D21, 80),
            (A, T[0], "approve", D21, 90),
            (B, S[0], "approve", D21, 5),
            (B, S[1], "approve", D21, 5),
            (B, S[2], "reject", D21, 10),
            (B, S[3], "approve", D21, 10),
            (B, S[4], "reject", D21, 20),
            (B, S[5], "approve", D21, 20),
            (B, S[6], "needs_fix", D21, 40),
            (B, T[1], "skip", D21, 80),
            (C, S[0], "approve", D22, 30),
            (C, S[1], "reject", D22, 10),
            (C, S[2], "reject", D22, 20),
        ]
        for (
            u,
            sid,
            dec,
            when,
            secs,
        ) in plan:  # one by one: ids follow the plan's order (latest = last)
            s.add(
                Review(
                    sample_id=sid, user_id=u, decision=dec, seconds=secs, created_at=when, flags=[]
                )
            )
            s.flush()
        flags = [
            Flag(sample_id=S[0], category="hate", user_id=A),
            Flag(sample_id=S[2], category="hate", user_id=A),
            Flag(sample_id=S[0], category="hate", user_id=B),
            Flag(sample_id=S[1], category="hate", user_id=B),
            Flag(sample_id=S[0], category="hate", user_id=C),
            Flag(sample_id=S[4], category="mistranslation", user_id=A),
            Flag(sample_id=S[4], category="mistranslation", user_id=B),
            Flag(sample_id=S[3], category="violence", user_id=B, state="cleared"),
            Flag(sample_id=S[7], category="untranslated", origin="check", state="confirmed"),
            Flag(sample_id=S[8], category="untranslated", origin="check", state="cleared"),
            Flag(sample_id=S[9], category="untranslated", origin="check", state="active"),
            Flag(sample_id=S[1], category="hate", origin="model", state="confirmed"),
        ]
        for fl in flags:
            fl.created_at = D21
        s.add_all(flags)
        s.add_all(
            [
                CheckFinding(
                    sample_id=S[7],
                    dataset_id=ds1.id,
                    check="untranslated",
                    state="confirmed",
                    created_at=D20,
                ),
                CheckFinding(
                    sample_id=S[7],
                    dataset_id=ds1.id,
                    check="untranslated",
                    state="open",
                    created_at=D20,
                ),
                CheckFinding(
                    sample_id=S[8],
                    dataset_id=ds1.id,
                    check="untranslated",
                    state="cleared",
                    created_at=D20,
                ),
                CheckFinding(
                    sample_id=S[0],
                    dataset_id=ds1.id,
                    check="length_ratio",
                    state="open",
                    created_at=D20,
                ),
                CheckFinding(
                    sample_id=T[2],
                    dataset_id=ds2.id,
                    check="untranslated",
                    state="open",
                    created_at=D20,
                ),
            ]
        )
        t0 = Turn(sample_id=S[0], idx=0, role="instruction", text="같다", mt_text="같다")
        t1 = Turn(
            sample_id=S[0], idx=1, role="response", text="abcdef", mt_text="abc"
        )  # distance 3 -> "1-4"
        t2 = Turn(
            sample_id=S[1], idx=0, role="instruction", text="가나라", mt_text="가나다"
        )  # same length -> "0"
        t3 = Turn(
            sample_id=S[2], idx=0, role="instruction", text="복원", mt_text="복원"
        )  # edited, then restored
        t4 = Turn(
            sample_id=T[0], idx=0, role="instruction", text="x" * 30, mt_text="y"
        )  # distance 29 -> "20-49"
        s.add_all([t0, t1, t2, t3, t4])
        s.flush()
        s.add_all(
            [
                Edit(
                    sample_id=S[0],
                    turn_id=t1.id,
                    user_id=A,
                    before="abc",
                    after="abcdef",
                    sample_version=2,
                ),
                Edit(
                    sample_id=S[1],
                    turn_id=t2.id,
                    user_id=B,
                    before="가나다",
                    after="가나라",
                    sample_version=2,
                ),
                Edit(
                    sample_id=S[2],
                    turn_id=t3.id,
                    user_id=A,
                    before="복원",
                    after="X",
                    sample_version=2,
                ),
                Edit(
                    sample_id=S[2],
                    turn_id=t3.id,
                    user_id=A,
                    before="X",
                    after="복원",
                    kind="restore",
                    sample_version=3,
                ),
                Edit(
                    sample_id=T[0],
                    turn_id=t4.id,
                    user_id=A,
                    before="y",
                    after="x" * 30,
                    sample_version=2,
                ),
            ]
        )
        s.add_all(
            [
                Suggestion(sample_id=S[0], turn_id=t1.id, text="s", state=st, created_at=D21)
                for st in ("accepted", "accepted", "rejected", "open")
            ]
        )
        s.add_all(
            [
                TranslationCache(
                    key="k1", source="a", target="b", billed_characters=100, created_at=D21
                ),
                TranslationCache(
                    key="k2", source="c", target="d", billed_characters=250, created_at=D22
                ),
                TranslationCache(
                    key="k3",
                    source="e",
                    target="f",
                    engine="other",
                    billed_characters=999,
                    created_at=D22,
                ),
            ]
        )
    return {
        "ds1": ds1.id,
        "ds2": ds2.id,
        "S": S,
        "T": T,
        "A": A,
        "B": B,
        "C": C,
        "c_actor": c_actor,
    }


def _by(rows: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def test_progress_and_status(session, actors, world) -> None:
    lead = actors["lead"]
    st = {(r["dataset"], r["status"]): r["n"] for r in stats.status_counts(session, lead)}
    assert st == {
        ("dolly", "approved"): 4,
        ("dolly", "rejected"): 2,
        ("dolly", "needs_fix"): 1,
        ("dolly", "new"): 3,
        ("alpaca", "approved"): 1,
        ("alpaca", "skipped"): 1,
        ("alpaca", "new"): 3,
    }
    p = stats.progress(session, lead, target=10, today=date(2026, 11, 22))
    assert (
        p["samples"] == 15
        and p["approved"] == 5
        and p["to_target"] == 5
        and p["target_share"] == 0.5
    )
    assert p["done_share"] == pytest.approx(9 / 15, abs=1e-6)
    # 20 reviews, 11 approvals in the 7 days ending 11-22; remaining = 3 new x overlap 2 + 3 new x 1
    assert p["reviews_per_day"] == round(20 / 7, 3) and p["approvals_per_day"] == round(11 / 7, 3)
    assert p["remaining_reviews"] == 9
    assert p["days_to_finish"] == pytest.approx(9 / (20 / 7), abs=0.051)
    assert p["days_to_target"] == pytest.approx(5 / (11 / 7), abs=0.051)
    # no activity in the window ending a month later: no ETA
    late = stats.progress(session, lead, target=10, today=date(2026, 12, 30))
    assert (
        late["reviews_per_day"] == 0
        and late["days_to_finish"] is None
        and late["days_to_target"] is None
    )
    assert (
        stats.progress(session, lead, target=3, today=date(2026, 11, 22))["days_to_target"] == 0.0
    )

    days = {(r["day"], r["decision"]): r["n"] for r in stats.reviews_per_day(session, lead)}
    assert sum(n for (d, _), n in days.items() if d == "2026-11-20") == 5
    assert sum(n for (d, _), n in days.items() if d == "2026-11-21") == 12
    assert sum(n for (d, _), n in days.items() if d == "2026-11-22") == 3
    assert days[("2026-11-22", "reject")] == 2
    only21 = stats.reviews_per_day(
        session, lead, StatsFilter(since=date(2026, 11, 21), until=date(2026, 11, 21))
    )
    assert {r["day"] for r in only21} == {"2026-11-21"} and sum(r["n"] for r in only21) == 12
    ds2 = stats.reviews_per_day(session, lead, StatsFilter(datasets=(world["ds2"],)))
    assert sum(r["n"] for r in ds2) == 2


def test_quality(session, actors, world) -> None:
    lead = actors["lead"]
    hits = _by(stats.check_hit_rates(session, lead), "dataset", "check")
    assert hits[("dolly", "untranslated")] | {} == {
        "dataset_id": world["ds1"],
        "dataset": "dolly",
        "check": "untranslated",
        "samples_hit": 2,
        "findings": 3,
        "samples": 10,
        "rate": 0.2,
    }
    assert hits[("dolly", "length_ratio")]["rate"] == 0.1
    assert hits[("alpaca", "untranslated")]["rate"] == 0.2 and len(hits) == 3

    fl = {
        (r["category"], r["origin"], r["state"]): r["n"] for r in stats.flag_counts(session, lead)
    }
    assert fl[("hate", "annotator", "active")] == 5 and fl[("hate", "model", "confirmed")] == 1
    assert (
        fl[("violence", "annotator", "cleared")] == 1
        and fl[("mistranslation", "annotator", "active")] == 2
    )
    assert {r["group"] for r in stats.flag_counts(session, lead) if r["category"] == "hate"} == {
        "ethics"
    }

    pre = stats.preflag_precision(session, lead)
    pf = _by(pre["flags"], "category", "origin")
    assert pf[("untranslated", "check")] | {} == {
        "category": "untranslated",
        "origin": "check",
        "active": 1,
        "confirmed": 1,
        "cleared": 1,
        "precision": 0.5,
    }
    assert pf[("hate", "model")]["precision"] == 1.0 and len(pf) == 2
    pc = _by(pre["checks"], "check")
    assert (
        pc["untranslated"]["confirmed"] == 1
        and pc["untranslated"]["cleared"] == 1
        and pc["untranslated"]["open"] == 2
    )
    assert pc["untranslated"]["precision"] == 0.5 and pc["length_ratio"]["precision"] is None

    ap = stats.approval_rates(session, lead)
    ds = _by(ap["datasets"], "dataset")
    assert ds["dolly"]["rate"] == round(4 / 7, 6) and ds["dolly"]["decided"] == 7
    assert ds["alpaca"]["rate"] == 1.0 and ds["alpaca"]["skipped"] == 1
    cats = _by(ap["categories"], "category")
    assert set(cats) == {"open_qa", "brainstorming"}
    assert (
        cats["open_qa"]["approved"],
        cats["open_qa"]["rejected"],
        cats["open_qa"]["needs_fix"],
    ) == (2, 1, 1)
    assert cats["open_qa"]["rate"] == 0.5 and cats["brainstorming"]["rate"] == round(2 / 3, 6)
    only2 = stats.approval_rates(session, lead, StatsFilter(datasets=(world["ds2"],)))
    assert [d["dataset"] for d in only2["datasets"]] == ["alpaca"] and only2["categories"] == []


def test_translation_and_text(session, actors, world) -> None:
    lead = actors["lead"]
    tr = stats.translation_repair(session, lead)
    # 10 x 2 + 3 + 0 + 3 + 2 + 1 = 29 turns; edited (text != mt_text): t1, t2, t4 (t3 was restored)
    assert tr["turns"] == 29 and tr["edited_turns"] == 3 and tr["edited_share"] == round(3 / 29, 6)
    hist = {h["bucket"]: h["n"] for h in tr["distance_hist"]}
    assert hist["0"] == 1 and hist["1-4"] == 1 and hist["20-49"] == 1 and sum(hist.values()) == 3
    assert tr["suggestions"] == {"open": 1, "accepted": 2, "rejected": 1}
    assert tr["suggestion_acceptance"] == round(2 / 3, 6)
    assert tr["deepl_characters"] == 350
    assert (
        stats.translation_repair(session, lead, StatsFilter(since=date(2026, 11, 22)))[
            "deepl_characters"
        ]
        == 250
    )
    d1 = stats.translation_repair(session, lead, StatsFilter(datasets=(world["ds1"],)))
    assert d1["turns"] == 20 and d1["edited_turns"] == 2
    sample = stats.edit_distance_sample(session, lead)
    assert sorted(x["distance"] for x in sample) == [1, 3, 30]

    ts = _by(stats.text_stats(session, lead)["datasets"], "dataset")
    a = ts["alpaca"]
    assert a["samples"] == 5 and a["turns"] == 9
    ko = {h["bucket"]: h["n"] for h in a["ko_chars"] if h["n"]}
    en = {h["bucket"]: h["n"] for h in a["en_chars"] if h["n"]}
    ratio = {h["bucket"]: h["n"] for h in a["ratio"] if h["n"]}
    turns = {h["bucket"]: h["n"] for h in a["turns_per_sample"] if h["n"]}
    assert ko == {"0": 1, "1-49": 1, "50-99": 1, "100-199": 1, "10000+": 1}
    assert en == {"0": 1, "1-49": 1, "50-99": 1, "100-199": 1, "200-499": 1}
    assert ratio == {"0.4": 2, "1.2": 1, "3.0+": 1}  # en = 0 has no ratio
    assert turns == {"0": 1, "1": 1, "2": 1, "3": 2}
    d = ts["dolly"]
    assert {h["bucket"]: h["n"] for h in d["ratio"] if h["n"]} == {"0.5": 10}
    assert {h["bucket"]: h["n"] for h in d["turns_per_sample"] if h["n"]} == {"2": 10}


def test_annotators_and_scope(session, actors, world) -> None:
    lead, ann = actors["lead"], actors["annotator"]
    res = stats.annotator_stats(session, lead)
    u = _by(res["users"], "username")
    assert res["scope"] == "all" and set(u) == {"annotator", "annotator2", "annotator3"}
    a = u["annotator"]
    assert (a["reviews"], a["approve"], a["reject"], a["needs_fix"]) == (9, 6, 2, 1)
    assert a["median_seconds"] == 50.0 and a["active_days"] == 2 and a["per_active_day"] == 4.5
    assert u["annotator2"]["median_seconds"] == 15.0  # 8 values: (10 + 20) / 2
    assert u["annotator3"]["median_seconds"] == 20.0 and u["annotator3"]["reviews"] == 3
    per_day = {(r["username"], r["day"]): r["n"] for r in res["per_day"]}
    assert per_day == {
        ("annotator", "2026-11-20"): 5,
        ("annotator", "2026-11-21"): 4,
        ("annotator2", "2026-11-21"): 8,
        ("annotator3", "2026-11-22"): 3,
    }
    # date range: A on 11-21 only
    r21 = _by(
        stats.annotator_stats(
            session, lead, StatsFilter(since=date(2026, 11, 21), until=date(2026, 11, 21))
        )["users"],
        "username",
    )
    assert r21["annotator"]["reviews"] == 4 and r21["annotator"]["median_seconds"] == 75.0

    # an annotator sees only their own numbers
    own = stats.annotator_stats(session, ann)
    assert own["scope"] == "own" and [r["username"] for r in own["users"]] == ["annotator"]
    assert {r["username"] for r in own["per_day"]} == {"annotator"}
    assert sum(r["n"] for r in stats.reviews_per_day(session, ann)) == 9
    with pytest.raises(PermissionDenied):
        stats.annotator_stats(session, ann, user_id=world["B"])
    with pytest.raises(PermissionDenied):
        stats.reviews_per_day(session, ann, user_id=world["B"])
    for fn in (
        stats.status_counts,
        stats.progress,
        stats.check_hit_rates,
        stats.flag_counts,
        stats.approval_rates,
        stats.translation_repair,
        stats.text_stats,
        stats.agreement,
        stats.disagreements,
    ):
        with pytest.raises(PermissionDenied):
            fn(session, ann)
    dash = stats.dashboard(session, ann)
    assert dash["scope"] == "own" and set(dash) == {
        "scope",
        "filter",
        "user",
        "reviews_per_day",
        "annotators",
    }
    assert [r["username"] for r in dash["annotators"]["users"]] == ["annotator"]
    # a lead may look at one person
    one = stats.annotator_stats(session, lead, user_id=world["B"])
    assert [r["username"] for r in one["users"]] == ["annotator2"]


def test_agreement(session, actors, world) -> None:
    lead = actors["lead"]
    ag = stats.agreement(session, lead)
    assert ag["samples"] == 7  # s1..s7 were decided by two or three people
    pairs = {(p["a"], p["b"]): p for p in ag["decisions"]["pairs"]}
    # A-B over 7 samples (A's latest decision on s6 is reject): po = 5/7, pe = 21/49 -> kappa 0.5
    ab = pairs[("annotator", "annotator2")]
    assert ab["samples"] == 7 and ab["kappa"] == 0.5 and ab["agreement"] == round(5 / 7, 6)
    assert pairs[("annotator", "annotator3")]["kappa"] == 0.0  # po = 1/3 = pe
    assert pairs[("annotator2", "annotator3")]["kappa"] == 0.4  # po = 2/3, pe = 4/9
    # Fleiss (3 raters on s1..s3, 2 on s4..s7): P = 2/3, Pe = 121/289 -> 215/504
    assert ag["decisions"]["fleiss"] == round(215 / 504, 6)
    assert ag["decisions"]["p_bar"] == round(2 / 3, 6) and ag["decisions"]["p_e"] == round(
        121 / 289, 6
    )

    hate = ag["flags"]["hate"]
    hp = {(p["a"], p["b"]): p for p in hate["pairs"]}
    assert hp[("annotator", "annotator2")]["kappa"] == 0.3  # both 1, only A 1, only B 1, neither 4
    assert (hp[("annotator", "annotator2")]["both"], hp[("annotator", "annotator2")]["only_a"]) == (
        1,
        1,
    )
    assert (
        hp[("annotator", "annotator3")]["kappa"] == 0.4
        and hp[("annotator2", "annotator3")]["kappa"] == 0.4
    )
    assert hate["fleiss"] == round(float(Fraction(1364, 2520)), 6)
    assert ag["flags"]["mistranslation"]["fleiss"] == 1.0
    assert ag["flags"]["mistranslation"]["pairs"][0]["kappa"] == 1.0
    assert "violence" not in ag["flags"]  # cleared flags do not count

    dis = stats.disagreements(session, lead)
    S = world["S"]
    assert [d["sample_id"] for d in dis] == [S[1], S[2], S[5]]
    assert dis[2]["decisions"] == {"annotator": "reject", "annotator2": "approve"}
    assert dis[0]["link"] == f"/review?dataset={world['ds1']}&sample={S[1]}"
    page1 = stats.disagreements(session, lead, limit=2)
    assert [d["sample_id"] for d in page1] == [S[1], S[2]]
    assert [d["sample_id"] for d in stats.disagreements(session, lead, after=S[2])] == [S[5]]
    hd = stats.disagreements(session, lead, flag="hate")
    assert [d["sample_id"] for d in hd] == [S[1], S[2]]
    assert hd[0]["flags"] == {"annotator2": ["hate"]}
    assert stats.disagreements(session, lead, flag="mistranslation") == []
    # restricted to dataset 2 nobody overlaps
    assert stats.agreement(session, lead, StatsFilter(datasets=(world["ds2"],)))["samples"] == 0


def test_dashboard_lead(session, actors, world) -> None:
    dash = stats.dashboard(session, actors["lead"], target=10, today=date(2026, 11, 22))
    assert dash["scope"] == "all"
    assert set(dash) >= {
        "progress",
        "status",
        "reviews_per_day",
        "checks",
        "flags",
        "preflags",
        "approval",
        "translation",
        "text",
        "annotators",
        "agreement",
    }
    assert dash["translation"]["turns"] == 29 and dash["progress"]["to_target"] == 5
    assert dash["agreement"]["decisions"]["fleiss"] == round(215 / 504, 6)
    assert stats.dashboard(session, SYSTEM)["scope"] == "all"


def test_cli_stats(db_url, world) -> None:
    import json

    from typer.testing import CliRunner

    from kocurate.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app, ["--db", db_url, "stats", "--json", "--target", "10", "--until", "2026-11-22"]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["progress"]["to_target"] == 5 and d["progress"]["reviews_per_day"] == round(20 / 7, 3)
    assert d["agreement"]["decisions"]["fleiss"] == round(215 / 504, 6)
    assert d["filter"] == {"datasets": [], "since": None, "until": "2026-11-22"}
    res = runner.invoke(app, ["--db", db_url, "stats", "--dataset", "alpaca", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert [r["dataset"] for r in d["approval"]["datasets"]] == ["alpaca"] and d["translation"][
        "turns"
    ] == 9
    res = runner.invoke(app, ["--db", db_url, "stats"])
    assert res.exit_code == 0, res.output
    assert "annotator / annotator2: 7 samples, Cohen kappa 0.500" in res.output
    assert "check untranslated on dolly: 2 samples (20.0%), 3 findings" in res.output
    res = runner.invoke(app, ["--db", db_url, "stats", "--since", "yesterday"])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output


def test_snapshot_does_not_hold_the_write_lock(engine, db_url, actors, world) -> None:
    """A dashboard load reads in a plain transaction: someone's save goes through meanwhile."""
    with stats.snapshot(engine) as s:
        assert stats.status_counts(s, actors["lead"])
        if db_url.startswith("sqlite"):
            import sqlite3

            other = sqlite3.connect(
                db_url.removeprefix("sqlite:///"), timeout=0.5, isolation_level=None
            )
            try:
                other.execute(
                    "BEGIN IMMEDIATE"
                )  # raises 'database is locked' if the reader held the write lock
                other.execute(
                    "UPDATE samples SET version = version + 1 WHERE id = ?", (world["S"][0],)
                )
                other.execute("COMMIT")
            finally:
                other.close()
    # the pooled connection is a writer again afterwards
    with db.session_scope(engine) as s:
        s.execute(
            Sample.__table__.update()
            .where(Sample.id == world["S"][1])
            .values(version=Sample.version + 1)
        )


def test_dataset_filter_with_interleaved_ids(engine, session, actors, world) -> None:
    """Dataset filters hold whether a dataset's sample ids are one range (BETWEEN) or not (join)."""
    lead = actors["lead"]
    f1 = StatsFilter(datasets=(world["ds1"],))
    before = stats.reviews_per_day(session, lead, f1)
    assert sum(r["n"] for r in before) == 18
    assert stats.agreement(session, lead, f1)["samples"] == 7
    # the fixture session is a writer on SQLite (BEGIN IMMEDIATE): let go of the lock
    session.rollback()
    with db.session_scope(
        engine
    ) as s:  # a late ds1 sample after ds2's: ds1 is no longer one id range
        late = Sample(
            dataset_id=world["ds1"], key="late", position=99, status="approved", meta={}, n_turns=1
        )
        s.add(late)
        s.flush()
        s.add(
            Review(
                sample_id=late.id,
                user_id=world["A"],
                decision="approve",
                seconds=1,
                created_at=D22,
                flags=[],
            )
        )
    after = stats.reviews_per_day(session, lead, f1)
    assert sum(r["n"] for r in after) == 19
    assert (
        sum(
            r["n"]
            for r in stats.reviews_per_day(session, lead, StatsFilter(datasets=(world["ds2"],)))
        )
        == 2
    )
    assert stats.agreement(session, lead, f1)["decisions"]["fleiss"] == round(215 / 504, 6)
    assert stats.translation_repair(session, lead, f1)["edited_turns"] == 2
    assert stats.annotator_stats(session, lead, StatsFilter(datasets=(world["ds2"],)))[
        "per_day"
    ] == [
        {"user_id": world["A"], "username": "annotator", "day": "2026-11-21", "n": 1},
        {"user_id": world["B"], "username": "annotator2", "day": "2026-11-21", "n": 1},
    ]


def test_dashboard_includes_first_disagreements(session, actors, world) -> None:
    dash = stats.dashboard(session, actors["lead"])
    assert dash["agreement"]["disagreements"] == stats.disagreements(
        session, actors["lead"], limit=20
    )
    assert [d["sample_id"] for d in dash["agreement"]["disagreements"]] == [
        world["S"][1],
        world["S"][2],
        world["S"][5],
    ]
    assert "disagreements" not in stats.agreement(session, actors["lead"])


def test_dashboard_concurrent_equals_dashboard(engine, session, actors, world) -> None:
    lead, ann = actors["lead"], actors["annotator"]
    seq = stats.dashboard(session, lead, target=10, today=date(2026, 11, 22))
    session.rollback()
    par = stats.dashboard_concurrent(engine, lead, target=10, today=date(2026, 11, 22))
    assert par == seq
    # one tab's parts: only their figures, the same values
    tab = stats.dashboard_concurrent(
        engine, lead, target=10, today=date(2026, 11, 22), parts=("progress", "activity")
    )
    assert set(tab) == {"scope", "filter", "progress", "status", "reviews_per_day"}
    assert all(tab[k] == seq[k] for k in tab)
    assert stats.dashboard_concurrent(engine, ann) == stats.dashboard(session, ann)
    assert (
        stats.dashboard_concurrent(engine, lead, StatsFilter(datasets=(world["ds2"],)))[
            "translation"
        ]["turns"]
        == 9
    )
