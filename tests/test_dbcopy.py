"""`kocurate db copy`: every table moves with verified counts, text byte for byte, sequences past
the ids."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import (
    Adjudication,
    AuditEvent,
    Base,
    BulkItem,
    BulkOp,
    BulkRef,
    CheckFinding,
    Claim,
    Draft,
    Edit,
    EvalItem,
    EvalSet,
    Flag,
    GlossaryTerm,
    Job,
    JobFailure,
    LLMCache,
    LLMGrade,
    LoginAttempt,
    QaItem,
    QaRun,
    Review,
    Sample,
    SampleSignal,
    Setting,
    Suggestion,
    TmFix,
    TranslationCache,
    Turn,
    utcnow,
)
from kocurate.services import dbcopy
from kocurate.services.auth import SYSTEM, Actor

PG_URL = os.environ.get("KOCURATE_TEST_PG_URL")
DEMO = Path(__file__).resolve().parents[1] / "kocurate" / "demo"
HOSTILE = (
    "안녕\u202e\u200b<script>alert(1)</script>'; DROP TABLE samples;-- \U0001f600 e\u0301 \t\r\n"
)


def _fill(url: str) -> None:
    """A source with rows in every table: imported data plus one row of each kind of work."""
    eng = db.make_engine(url)
    try:
        import_files(
            eng, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg"
        )
        import_files(eng, "koalpaca", DEMO / "koalpaca_ko.json", DEMO / "alpaca_en.json", name="ka")
        from kocurate.services import users

        with db.session_scope(eng) as s:
            u, _ = users.create_user(s, SYSTEM, "ann", "annotator", "ann-password")
            sample = s.scalars(select(Sample).order_by(Sample.id)).first()
            turn = s.scalars(
                select(Turn).where(Turn.sample_id == sample.id).order_by(Turn.idx)
            ).first()
            before = turn.text
            turn.text = HOSTILE
            sample.version += 1
            sample.meta = {"url": "https://x", "nested": {"a": [1, 2.5, None, True, "한"]}}
            now = utcnow()
            job = Job(
                kind="import",
                status="done",
                params={"k": "한국어"},
                result={"n": 1},
                created_by=u.id,
            )
            s.add_all(
                [
                    Edit(
                        sample_id=sample.id,
                        turn_id=turn.id,
                        user_id=u.id,
                        before=before,
                        after=HOSTILE,
                        sample_version=sample.version,
                        meta={"why": "test"},
                    ),
                    Flag(sample_id=sample.id, category="hate", note=HOSTILE, user_id=u.id),
                    Review(
                        sample_id=sample.id,
                        user_id=u.id,
                        decision="approve",
                        seconds=1.5,
                        flags=["hate"],
                    ),
                    Claim(sample_id=sample.id, user_id=u.id, expires_at=now + timedelta(minutes=5)),
                    CheckFinding(
                        sample_id=sample.id,
                        dataset_id=sample.dataset_id,
                        check="rule",
                        message=HOSTILE,
                        span_start=0,
                        span_end=3,
                        data={"x": 1},
                    ),
                    job,
                    TranslationCache(
                        key=uuid.uuid4().hex,
                        source="hello",
                        target="안녕",
                        options={"formality": "less"},
                    ),
                    GlossaryTerm(source_term="LLM", target_term="거대 언어 모델"),
                    Setting(key="team.test", value={"a": 1}),
                ]
            )
            s.flush()
            s.add(
                Suggestion(
                    sample_id=sample.id,
                    turn_id=turn.id,
                    text="제안",
                    job_id=job.id,
                    created_by=u.id,
                )
            )
            s.add_all(
                [
                    Draft(
                        user_id=u.id,
                        dataset_id=sample.dataset_id,
                        sample_id=sample.id,
                        turn_id=turn.id,
                        text=HOSTILE,
                        base_version=sample.version,
                        updated_at=now,
                    ),
                    Adjudication(
                        sample_id=sample.id,
                        user_id=u.id,
                        decision="reject",
                        from_status="disputed",
                        seen_version=sample.version,
                        reason="other",
                        note=HOSTILE,
                        created_at=now,
                    ),
                ]
            )
            # one row of each newer kind of work (sessions, audit, jobs, LLM, bulk, QA, risk)
            op = BulkOp(action="approve", username="lead", params={"note": HOSTILE})
            qa = QaRun(
                dataset_ids=[sample.dataset_id],
                params={"margin": 0.03},
                seed=1,
                population=1,
                size=1,
            )
            s.add_all(
                [
                    op,
                    qa,
                    LoginAttempt(at=now, client="127.0.0.1", username="ann", ok=True),
                    AuditEvent(at=now, username="ann", action="login", details={"client": HOSTILE}),
                    LLMCache(
                        key=uuid.uuid4().hex,
                        task="grade",
                        model="m",
                        prompt_version="v1",
                        response={"errors": [HOSTILE]},
                    ),
                    LLMGrade(
                        turn_id=turn.id,
                        sample_id=sample.id,
                        dataset_id=sample.dataset_id,
                        model="m",
                        prompt_version="v1",
                        worst="major",
                        n_errors=1,
                    ),
                    TmFix(old_ko="홀수", new_ko="나머지와 다른 것"),
                    SampleSignal(
                        sample_id=sample.id,
                        dataset_id=sample.dataset_id,
                        src_hash="0" * 16,
                        risk=0.5,
                        updated_at=now,
                    ),
                ]
            )
            s.flush()
            s.add_all(
                [
                    JobFailure(job_id=job.id, turn_id=turn.id, sample_id=sample.id),
                    BulkItem(
                        op_id=op.id, sample_id=sample.id, before_version=1, before_status="new"
                    ),
                    BulkRef(op_id=op.id, kind="flag", row_id=1, sample_id=sample.id),
                    QaItem(run_id=qa.id, sample_id=sample.id, position=1),
                ]
            )
            es = EvalSet(
                name="kobest", kind="boolq", source_file="x.jsonl", sha256="0" * 64, n_items=1
            )
            s.add(es)
            s.flush()
            s.add(EvalItem(eval_set_id=es.id, field="question", text=HOSTILE))
            # guidance (issue 21 A): a guidelines version read by ann, a thread with a reply, an
            # inbox item
            from kocurate.services import comments, guidelines

            ann = users.actor_of(u)
            guidelines.set_guidelines(s, SYSTEM, None, "# 규칙\n" + HOSTILE)
            guidelines.confirm_read(s, ann, 0, 1)
            root = comments.add_comment(s, ann, sample.id, HOSTILE)
            comments.add_comment(s, SYSTEM, sample.id, "답 " + HOSTILE, reply_to=root.id)
            # gold and ratings (issue 21 B): a gold sample answered by ann, a second review, a
            # rating
            from kocurate.models import GoldAnswer, GoldSample, QualityRating, SecondReview

            s.add(
                GoldSample(
                    sample_id=sample.id,
                    dataset_id=sample.dataset_id,
                    decision="reject",
                    flags=["hate"],
                    texts={"0": HOSTILE},
                )
            )
            s.flush()
            s.add_all(
                [
                    GoldAnswer(
                        sample_id=sample.id,
                        dataset_id=sample.dataset_id,
                        user_id=u.id,
                        decision="approve",
                        flags=[],
                        decision_ok=False,
                        flag_scores={"hate": False},
                        text_similarity=0.5,
                    ),
                    SecondReview(sample_id=sample.id, dataset_id=sample.dataset_id, user_id=u.id),
                    QualityRating(
                        sample_id=sample.id,
                        dataset_id=sample.dataset_id,
                        user_id=u.id,
                        criterion="fluency",
                        score=4,
                    ),
                ]
            )
    finally:
        eng.dispose()


def _dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every schema table, ordered by primary key (JSON compared as Python values)."""
    eng = db.make_engine(url)
    try:
        with eng.connect() as c:
            return {
                t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables
            }
    finally:
        eng.dispose()


@pytest.fixture
def pg_empty() -> Iterator[str]:
    """A new, empty PostgreSQL database (no schema) when a server is configured."""
    if not PG_URL:
        pytest.skip("KOCURATE_TEST_PG_URL not set")
    name = f"kc_copy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
    finally:
        db.get_engine.cache_clear()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def source(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "src.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    _fill(url)
    return url


def _check_copy(src: str, dst: str, rep: dbcopy.CopyReport) -> None:
    assert rep.verified and {t.table for t in rep.tables} == {
        t.name for t in Base.metadata.sorted_tables
    }
    assert all(t.source > 0 for t in rep.tables), [t.table for t in rep.tables if t.source == 0]
    a, b = _dump(src), _dump(dst)
    for table in a:
        assert _data(a, table) == _data(b, table), (
            table
        )  # every value: text byte for byte, JSON, datetimes
    assert db.current_revision(dst) == db.head_revision()
    if (
        rep.search_index is not None
    ):  # the destination's search index was rebuilt: searching finds the text
        from kocurate.services import search

        eng = db.make_engine(dst)
        with Session(eng) as s:
            hits = search.search(s, SYSTEM, "DROP TABLE samples")
        eng.dispose()
        assert any(h["sample_id"] for h in hits)


def _data(dump: dict[str, list[tuple]], table: str) -> list[tuple]:
    # the search area's own bookkeeping row is rewritten by the rebuild of the index
    return [r for r in dump[table] if not (table == "settings" and str(r[0]).startswith("search."))]


def _new_rows_get_fresh_ids(dst: str) -> None:
    eng = db.make_engine(dst)
    try:
        with db.session_scope(eng) as s:
            top = s.scalar(select(func.max(Sample.id)))
            ds = s.scalar(select(Sample.dataset_id).limit(1))
            new = Sample(dataset_id=ds, key="after-copy", position=0)
            s.add(new)
            s.flush()
            assert new.id == top + 1
            s.add(Turn(sample_id=new.id, idx=0, role="user", text="새", mt_text="새"))
    finally:
        eng.dispose()


def test_copy_sqlite_to_sqlite(source: str, tmp_path: Path) -> None:
    dst = f"sqlite:///{tmp_path / 'dst.db'}"
    rep = dbcopy.copy_database(
        source, dst, SYSTEM, batch=7
    )  # small batches: the keyset paging is exercised
    _check_copy(source, dst, rep)
    _new_rows_get_fresh_ids(dst)


def test_copy_sqlite_to_pg_and_back(source: str, pg_empty: str, tmp_path: Path) -> None:
    rep = dbcopy.copy_database(source, pg_empty, SYSTEM, batch=11)
    _check_copy(source, pg_empty, rep)
    assert len(rep.sequences_reset) >= 10
    # plain indexes dropped for the bulk load are back
    eng = db.make_engine(pg_empty)
    with eng.connect() as c:
        names = set(
            c.execute(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
            ).scalars()
        )
    eng.dispose()
    assert {"ix_turns_sample_id", "ix_samples_dataset_status_id", "ix_edits_sample"} <= names
    _new_rows_get_fresh_ids(pg_empty)
    back = f"sqlite:///{tmp_path / 'back.db'}"
    rep2 = dbcopy.copy_database(pg_empty, back, SYSTEM)
    assert rep2.verified
    a, b = _dump(pg_empty), _dump(back)
    assert all(_data(a, t) == _data(b, t) for t in a)


def test_destination_not_empty_is_refused_and_untouched(source: str, tmp_path: Path) -> None:
    dst = f"sqlite:///{tmp_path / 'dst.db'}"
    dbcopy.copy_database(source, dst, SYSTEM)
    before = _dump(dst)
    with pytest.raises(KocurateError, match="not empty"):
        dbcopy.copy_database(source, dst, SYSTEM)
    assert _dump(dst) == before


def test_failed_copy_leaves_destination_empty(source: str, pg_empty: str) -> None:
    # A NUL character is legal in SQLite text but PostgreSQL cannot store it: the copy must stop,
    # name the place, and commit nothing.
    eng = db.make_engine(source)
    with eng.begin() as c:
        tid = c.execute(text("SELECT max(id) FROM turns")).scalar()
        c.execute(text("UPDATE turns SET text = 'a' || char(0) || 'b' WHERE id = :i"), {"i": tid})
    eng.dispose()
    with pytest.raises(KocurateError, match=rf"turns, id {tid}, column text: a NUL"):
        dbcopy.copy_database(source, pg_empty, SYSTEM)
    eng = db.make_engine(pg_empty)
    with eng.connect() as c:
        for t in Base.metadata.sorted_tables:
            assert c.execute(select(func.count()).select_from(t)).scalar() == 0, t.name
        n = c.execute(
            text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_turns_sample_id'")
        ).scalar()
    eng.dispose()
    assert n == 1  # the index drop was rolled back with everything else


def test_refusals(source: str, tmp_path: Path, sqlite_template: Path) -> None:
    with pytest.raises(PermissionDenied):
        dbcopy.copy_database(source, f"sqlite:///{tmp_path / 'x.db'}", Actor(5, "lead", "lead"))
    with pytest.raises(KocurateError, match="same database"):
        dbcopy.copy_database(source, source, SYSTEM)
    with pytest.raises(KocurateError, match="no database at"):
        dbcopy.copy_database(
            f"sqlite:///{tmp_path / 'missing.db'}", f"sqlite:///{tmp_path / 'y.db'}", SYSTEM
        )
    old = tmp_path / "old.db"
    db.upgrade(f"sqlite:///{old}", "0001")
    with pytest.raises(KocurateError, match="revision 0001"):
        dbcopy.copy_database(f"sqlite:///{old}", f"sqlite:///{tmp_path / 'z.db'}", SYSTEM)


def test_cli_db_copy(source: str, tmp_path: Path) -> None:
    dst = tmp_path / "cli.db"
    res = CliRunner().invoke(app, ["db", "copy", source, str(dst)])
    assert res.exit_code == 0, res.output
    assert "counts verified" in res.output and "samples" in res.output
    res = CliRunner().invoke(app, ["db", "copy", source, str(dst)])
    assert res.exit_code == 5 and "not empty" in res.output
