"""SQLAlchemy 2 typed models: the whole schema of kocurate.

Works on SQLite and PostgreSQL alike: only portable types (JSON, not JSONB), explicit
indexes for every filter the services use (queries are written for 700k samples).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# Review status of a sample. "new" until someone decides.
# a finding in these states no longer holds: cleared by a person, or resolved by an edit (kept as
# history)
CLOSED_FINDING_STATES = ("cleared", "resolved")
# "disputed": reviewers disagree under the dataset's decision rule; a lead adjudicates (issue 11)
# "superseded": another translation variant of the same English source was kept (issue 17)
STATUSES = ("new", "approved", "rejected", "needs_fix", "skipped", "disputed", "superseded")
DECISIONS = ("approve", "reject", "needs_fix", "skip")
DECISION_STATUS = {
    "approve": "approved",
    "reject": "rejected",
    "needs_fix": "needs_fix",
    "skip": "skipped",
}
ROLES = ("annotator", "lead", "admin")

ETHICS_FLAGS = ("censure", "hate", "discrimination", "sexual", "abuse", "violence", "crime")
QUALITY_FLAGS = (
    "mistranslation",
    "untranslated",
    "truncated",
    "code_broken",
    "misaligned",
    "low_quality",
    "duplicate",
    "pii",
    "other",
)
FLAG_LABELS_KO = {
    "censure": "비난",
    "hate": "혐오",
    "discrimination": "차별",
    "sexual": "선정",
    "abuse": "욕설",
    "violence": "폭력",
    "crime": "범죄",
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="annotator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # part of every login cookie: raising it (logout, disable, demotion, new password) ends every
    # login
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lang: Mapped[str | None] = mapped_column(
        String(8), nullable=True
    )  # web app language; None: the default


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    licence: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # [{"role": "ko"|"en", "name": file name, "sha256": hex, "bytes": n}]
    source_files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # sha256 over the Korean and English files together: a re-import of the same pair is a no-op.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    n_samples: Mapped[int] = mapped_column(Integer, default=0)
    n_turns: Mapped[int] = mapped_column(Integer, default=0)
    n_aligned: Mapped[int] = mapped_column(Integer, default=0)
    n_unaligned: Mapped[int] = mapped_column(Integer, default=0)
    n_ambiguous: Mapped[int] = mapped_column(Integer, default=0)
    # k annotators per sample (agreement); 1 = each sample reviewed once.
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    # how overlapping decisions settle the status: unanimous | majority | any-reject (issue 11)
    decision_rule: Mapped[str] = mapped_column(
        String(16), default="unanimous", server_default="unanimous"
    )
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Sample(Base):
    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("dataset_id", "key", name="uq_sample_dataset_key"),
        Index("ix_samples_dataset_status_id", "dataset_id", "status", "id"),
        Index("ix_samples_dataset_align", "dataset_id", "align_status"),
        Index("ix_samples_dup_group", "dup_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))  # id or index in the source file
    position: Mapped[int] = mapped_column(Integer)  # 0-based record index in the Korean file
    status: Mapped[str] = mapped_column(String(16), default="new")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # url, category, …
    # "id" (joined by id), "aligned" (by position, confident), "ambiguous" (low confidence,
    # marked for review), "unaligned" (no English found), "none" (no English source exists)
    align_status: Mapped[str] = mapped_column(String(16), default="none")
    align_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    source_key: Mapped[str | None] = mapped_column(
        String(128), nullable=True
    )  # key of the English record
    n_turns: Mapped[int] = mapped_column(Integer, default=0)
    ko_chars: Mapped[int] = mapped_column(Integer, default=0)
    en_chars: Mapped[int] = mapped_column(Integer, default=0)
    # near-duplicate group (id of the group's kept sample); dup_keep marks the one to keep
    dup_group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dup_keep: Mapped[bool] = mapped_column(Boolean, default=True)
    # version at which automatic checks last ran (incremental re-runs)
    checked_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship()
    turns: Mapped[list[Turn]] = relationship(order_by="Turn.idx", back_populates="sample")


class Turn(Base):
    """One turn or field of a sample, in order.

    ``role`` is system/user/assistant for conversations, or the source's own field name
    (instruction/input/output/context/response) for instruction data.
    """

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("sample_id", "idx", name="uq_turn_sample_idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # current Korean text
    # the original machine translation, never changed. NULL while ``text`` still is it (an import
    # writes the Korean text once, not twice): a trigger (migration 0022) keeps the old text here
    # at its first change, whoever makes it; FetchedValue: the ORM reloads it after an UPDATE
    mt_text: Mapped[str | None] = mapped_column(Text, nullable=True, server_onupdate=FetchedValue())
    source_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # English
    # "translation": text was machine-translated from source_text; "reference": the English is
    # shown for context only (e.g. KoAlpaca v1.0 outputs were regenerated in Korean); None: no
    # source
    source_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)

    sample: Mapped[Sample] = relationship(back_populates="turns")


class Edit(Base):
    """Append-only history of every change to a turn's text or source."""

    __tablename__ = "edits"
    __table_args__ = (
        Index("ix_edits_sample", "sample_id", "id"),
        Index("ix_edits_user_time", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16), default="text")  # "text" | "source_text"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="manual")  # manual | machine | restore
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    sample_version: Mapped[int] = mapped_column(Integer)  # version of the sample after this edit
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # engine, options, …
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Flag(Base):
    """An ethics or quality flag on a sample, set by a person or suggested by a check/model."""

    __tablename__ = "flags"
    __table_args__ = (
        Index("ix_flags_sample", "sample_id"),
        Index("ix_flags_category_state", "category", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    turn_idx: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # "annotator" (set by a person) | "check" | "model" (pre-flags: suggestions)
    origin: Mapped[str] = mapped_column(String(16), default="annotator")
    # "active" | "confirmed" (pre-flag confirmed by a person) | "cleared"
    state: Mapped[str] = mapped_column(String(16), default="active")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Review(Base):
    """One decision by one person on one sample (several per sample with overlap)."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_sample", "sample_id"),
        Index("ix_reviews_user_time", "user_id", "created_at"),
        Index("ix_reviews_time", "created_at"),
        # one decision per person per version seen: a repeated click never writes a second row
        Index("ux_reviews_seen", "sample_id", "user_id", "seen_version", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # time spent on the sample
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # categories set at decision time
    reason: Mapped[str | None] = mapped_column(
        String(64), nullable=True
    )  # quick pick (reject / needs fix)
    seen_version: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # sample version on screen
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Claim(Base):
    """A sample handed to a person; expires so abandoned work returns to the queue."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("sample_id", "user_id", name="uq_claim_sample_user"),
        Index("ix_claims_user_expires", "user_id", "expires_at"),
        Index("ix_claims_sample_expires", "sample_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class CheckFinding(Base):
    """What an automatic check found on a sample: which turn, which span, why."""

    __tablename__ = "check_findings"
    __table_args__ = (
        Index("ix_findings_check_sample", "check", "sample_id"),
        Index("ix_findings_sample", "sample_id"),
        Index("ix_findings_dataset_check", "dataset_id", "check"),
        Index(
            "ix_findings_severity_state", "severity", "state", "sample_id"
        ),  # issue 13: open errors
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    check: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(16), default="warning")  # info | warning | error
    turn_idx: Mapped[int | None] = mapped_column(Integer, nullable=True)
    span_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    span_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | cleared
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Job(Base):
    """A long task (import, check run, batch translation, export) with progress that survives
    reloads."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(
        String(16), default="queued"
    )  # queued|running|done|failed|cancelled
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TranslationCache(Base):
    """Every text DeepL has translated for us, keyed by (source text, options): never pay twice."""

    __tablename__ = "translation_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256(source + options)
    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(32), default="deepl")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    billed_characters: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Suggestion(Base):
    """A machine re-translation offered beside the current Korean text."""

    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_sample_state", "sample_id", "state"),
        Index("ix_suggestions_job_state", "job_id", "state"),  # issue 13: open suggestions per job
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(32), default="deepl")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    based_on_version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GlossaryTerm(Base):
    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_term: Mapped[str] = mapped_column(String(255), unique=True)
    target_term: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EvalSet(Base):
    """A reference evaluation set (KoBEST task, KorQuAD) that training data must not contain."""

    __tablename__ = "eval_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_file: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    n_items: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EvalItem(Base):
    __tablename__ = "eval_items"
    __table_args__ = (Index("ix_eval_items_set", "eval_set_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    eval_set_id: Mapped[int] = mapped_column(ForeignKey("eval_sets.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))  # passage | question | answer | sentence …
    text: Mapped[str] = mapped_column(Text)


class Setting(Base):
    """Small key/value state (e.g. the id of the DeepL glossary in sync with our terms)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ---- review loop (issue 11): new models below this line ----


class Draft(Base):
    """Unsaved text a person typed into a turn, kept server-side until saved or discarded.

    One per (user, turn, field); ``base_version`` is the sample version the text was typed on (a
    draft on an older version opens in the conflict view). Never read by exporters.
    """

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("user_id", "turn_id", "field", name="uq_draft_user_turn_field"),
        Index("ix_drafts_user_sample", "user_id", "sample_id"),
        Index("ix_drafts_dataset", "dataset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16), default="text")  # "text" | "source_text"
    text: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Adjudication(Base):
    """A lead's final decision on a sample (a disputed one, typically); kept apart from ``reviews``
    so agreement figures only ever see each person's own decision."""

    __tablename__ = "adjudications"
    __table_args__ = (Index("ix_adjudications_sample", "sample_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decision: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    seen_version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ---- security (issue 20): new models below this line ----


class LoginAttempt(Base):
    """One password login attempt: the throttle counts recent failures per client, per typed user
    name (whether or not such a user exists) and overall; successes mark a client as known for a
    user."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_client", "client", "at"),
        Index("ix_login_attempts_username", "username", "at"),
        Index("ix_login_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client: Mapped[str] = mapped_column(String(64))  # the client address ("-" when unknown)
    username: Mapped[str] = mapped_column(String(64))  # as typed, case-folded, cut to 64
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


# ---- leads' side (issue 13): new models below this line ----


class AuditEvent(Base):
    """Who did what, when, on which dataset: logins, role changes, imports, exports, paid jobs, bulk
    work."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    username: Mapped[str] = mapped_column(
        String(128)
    )  # kept as written, also after the user is gone
    action: Mapped[str] = mapped_column(
        String(64)
    )  # e.g. login, login_failed, role_change, import, export
    dataset_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # no FK: survives dataset deletion
    target: Mapped[str | None] = mapped_column(String(512), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobFailure(Base):
    """A turn a batch translation job could not translate: listed on the job card and retried by
    "Retry failed turns" (state open -> retried once a later job took it up)."""

    __tablename__ = "job_failures"
    __table_args__ = (Index("ix_job_failures_job_state", "job_id", "state", "turn_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    error: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | retried
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ---- accuracy (issue 12): new models below this line ----


# ---- speed (issue 19): new models below this line ----


# ---- Korean checks (issue 16): new models below this line ----


# ---- LLM assistant (issue 18): new models below this line ----


class LLMCache(Base):
    """Every per-turn answer an LLM gave us, keyed by sha256(task, prompt version, model, text):
    never pay twice."""

    __tablename__ = "llm_cache"
    __table_args__ = (UniqueConstraint("key", name="uq_llm_cache_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(16))  # grade | suggest
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(32))
    response: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # the validated result for one turn
    input_tokens: Mapped[int] = mapped_column(
        Integer, default=0
    )  # this turn's share of the request
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)  # USD, from the price table at the time
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LLMGrade(Base):
    """The latest LLM grade of a turn (also when it found nothing): what `kocurate llm evaluate`
    compares."""

    __tablename__ = "llm_grades"
    __table_args__ = (
        UniqueConstraint("turn_id", name="uq_llm_grades_turn"),
        Index("ix_llm_grades_dataset_sample", "dataset_id", "sample_id"),
        Index("ix_llm_grades_sample", "sample_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(128))
    prompt_version: Mapped[str] = mapped_column(String(32))
    worst: Mapped[str] = mapped_column(
        String(16), default="none"
    )  # none | minor | major | critical
    n_errors: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ---- corpus-scale curation (issue 17): new models below this line ----


class BulkOp(Base):
    """One bulk operation (issue 17): an action over a selection, previewed, applied, maybe
    reverted.

    ``state``: preview (counted, nothing changed yet) | applied | reverted | discarded. Its items
    record each sample's version before and after, so a revert can tell what changed since."""

    __tablename__ = "bulk_ops"
    __table_args__ = (Index("ix_bulk_ops_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    dataset_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # no FK: the log outlives datasets
    params: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # selection, flag, reason, pattern …
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="preview")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    username: Mapped[str] = mapped_column(String(128))
    n_selected: Mapped[int] = mapped_column(Integer, default=0)
    n_changed: Mapped[int] = mapped_column(Integer, default=0)
    n_skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reverted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class BulkItem(Base):
    """A sample in a bulk operation: its version/status at preview, and after the operation."""

    __tablename__ = "bulk_items"
    __table_args__ = (Index("ix_bulk_items_op_sample", "op_id", "sample_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    op_id: Mapped[int] = mapped_column(ForeignKey("bulk_ops.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    before_version: Mapped[int] = mapped_column(Integer)
    before_status: Mapped[str] = mapped_column(String(16))
    # None: before_version + 1 (set explicitly only when undoing a later operation moved it)
    after_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "" (pending/applied) | "changed" (edited since the preview: skipped) | "unchanged" (nothing to
    # do)
    skipped: Mapped[str] = mapped_column(String(16), default="")


class BulkRef(Base):
    """A row a bulk operation touched besides the sample (a flag, finding, claim, review, edit) and
    its state before, so that a revert can put it back."""

    __tablename__ = "bulk_refs"
    __table_args__ = (Index("ix_bulk_refs_op_kind", "op_id", "kind", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    op_id: Mapped[int] = mapped_column(ForeignKey("bulk_ops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # flag_new | flag | finding | claim_new | claim | review | edit
    row_id: Mapped[int] = mapped_column(Integer)
    sample_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)


class TmFix(Base):
    """A lead-kept translation-memory fix: where the English has ``en_phrase`` and the Korean says
    ``old_ko``, it should say ``new_ko``. Re-appliable after a new import."""

    __tablename__ = "tm_fixes"

    id: Mapped[int] = mapped_column(primary_key=True)
    en_phrase: Mapped[str] = mapped_column(Text, default="")  # "" = any English
    old_ko: Mapped[str] = mapped_column(Text)
    new_ko: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SampleSignal(Base):
    """Derived per-sample figures: the normalised English-source hash (translation variants) and the
    learned risk score (most likely broken first)."""

    __tablename__ = "sample_signals"
    __table_args__ = (
        Index("ix_sample_signals_src_hash", "src_hash"),
        Index("ix_sample_signals_dataset_risk", "dataset_id", "risk"),
    )

    sample_id: Mapped[int] = mapped_column(
        ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(Integer)
    src_hash: Mapped[str | None] = mapped_column(String(40), nullable=True)
    risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QaRun(Base):
    """A seeded random QA sample of a selection, reviewed blind, for a defect-rate estimate."""

    __tablename__ = "qa_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # selection, margin, confidence
    seed: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QaItem(Base):
    __tablename__ = "qa_items"
    __table_args__ = (Index("ix_qa_items_run_pos", "run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("qa_runs.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)  # ok | defect
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# ── guide (issue 21 A): guidelines, comments, mentions ──


class Guideline(Base):
    """One version of the annotation guidelines (Markdown, written by leads) of a dataset, or of the
    whole project (``dataset_id`` NULL, ``scope`` 0). Versions are never changed, only added."""

    __tablename__ = "guidelines"
    __table_args__ = (UniqueConstraint("scope", "version", name="uq_guidelines_scope_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[int] = mapped_column(Integer)  # the dataset id, or 0 for the project default
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(
        Text, nullable=True
    )  # what changed, in the author's words
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GuidelineRead(Base):
    """A user confirmed having read one version of a scope's guidelines."""

    __tablename__ = "guideline_reads"
    __table_args__ = (UniqueConstraint("user_id", "scope", "version", name="uq_guideline_reads"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # one-column key: `db copy` pages by it
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Comment(Base):
    """A plain-text comment on a sample (optionally one turn). A thread is a root comment
    (``parent_id`` NULL) and its replies; only the root carries the open/resolved state."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_sample", "sample_id", "id"),
        Index("ix_comments_parent", "parent_id", "id"),
        Index("ix_comments_open", "is_open", "dataset_id", "id"),
        Index("ix_comments_open_all", "is_open", "id"),
    )  # the queue over all datasets

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(Integer)  # the sample's, for the open-questions queue
    turn_idx: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # user names, as resolved
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)  # True only on an unresolved root
    resolved_by_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InboxItem(Base):
    """A comment that concerns a user: it mentions them, or replies in a thread they took part
    in."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("user_id", "comment_id", name="uq_inbox_user_comment"),
        Index("ix_inbox_user_unread", "user_id", "unread", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # mention | reply
    # a boolean, not "read_at IS NULL": an equality lets PostgreSQL walk the index in id order
    unread: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ── gold (issue 21 B): gold samples, quality ratings ──


class GoldSample(Base):
    """A sample a lead marked gold: the expected decision, flags and (optionally) text per turn.

    Gold samples are handed to annotators among their queue without being marked; their answers are
    scored (``GoldAnswer``) and never change the sample's status nor count in agreement figures."""

    __tablename__ = "gold_samples"
    __table_args__ = (Index("ix_gold_samples_dataset", "dataset_id", "sample_id"),)

    sample_id: Mapped[int] = mapped_column(
        ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # expected flag categories
    texts: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # turn idx (str) -> expected text
    # the Korean text when marked: an annotator's edits on a gold sample are scored, then put back
    base_texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GoldAnswer(Base):
    """One person's scored answer on one gold sample (the first answer counts)."""

    __tablename__ = "gold_answers"
    __table_args__ = (
        UniqueConstraint("sample_id", "user_id", name="uq_gold_answer_sample_user"),
        Index("ix_gold_answers_dataset_user", "dataset_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("gold_samples.sample_id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decision_ok: Mapped[bool] = mapped_column(Boolean)
    flag_scores: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # category -> matched (bool)
    text_similarity: Mapped[float | None] = mapped_column(
        Float, nullable=True
    )  # 0..1, when text expected
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SecondReview(Base):
    """A sample decided by someone below the dataset's gold bar: it needs one more reviewer (at or
    above the bar) before it settles; the row goes when it settles."""

    __tablename__ = "second_reviews"

    sample_id: Mapped[int] = mapped_column(
        ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QualityRating(Base):
    """A 1–5 score on one criterion of AIHub's sentence-generation rubric, per sample per
    reviewer."""

    __tablename__ = "quality_ratings"
    __table_args__ = (
        UniqueConstraint("sample_id", "user_id", "criterion", name="uq_rating_sample_user_crit"),
        Index("ix_quality_ratings_dataset_crit", "dataset_id", "criterion", "sample_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    criterion: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# ── curate (issues 16/17 remainder) ──
# risk-ordered review queues: the keyset (risk DESC, sample id) of one dataset as one index walk
Index(
    "ix_sample_signals_dataset_risk_desc",
    SampleSignal.dataset_id,
    SampleSignal.risk.desc(),
    SampleSignal.sample_id,
)


# ── speed (issues 11/19) ──
