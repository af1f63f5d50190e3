"""gold: schema changes for issue 21 part B: gold samples and quality ratings.

New tables only: gold_samples (expected answers), gold_answers (scored answers), second_reviews
(samples waiting for a reviewer at or above the gold bar), quality_ratings (AIHub rubric, 1-5).
Per-dataset settings (gold rate, bar, ratings on) live in the ``settings`` key-value table.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gold_samples",
        sa.Column(
            "sample_id",
            sa.Integer,
            sa.ForeignKey("samples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("texts", sa.JSON, nullable=False),
        sa.Column("base_texts", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column(
            "created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_gold_samples_dataset", "gold_samples", ["dataset_id", "sample_id"])
    op.create_table(
        "gold_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sample_id",
            sa.Integer,
            sa.ForeignKey("gold_samples.sample_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("decision_ok", sa.Boolean, nullable=False),
        sa.Column("flag_scores", sa.JSON, nullable=False),
        sa.Column("text_similarity", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("sample_id", "user_id", name="uq_gold_answer_sample_user"),
    )
    op.create_index("ix_gold_answers_dataset_user", "gold_answers", ["dataset_id", "user_id"])
    op.create_table(
        "second_reviews",
        sa.Column(
            "sample_id",
            sa.Integer,
            sa.ForeignKey("samples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_second_reviews_dataset_id", "second_reviews", ["dataset_id"])
    op.create_table(
        "quality_ratings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("criterion", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("sample_id", "user_id", "criterion", name="uq_rating_sample_user_crit"),
    )
    op.create_index(
        "ix_quality_ratings_dataset_crit",
        "quality_ratings",
        ["dataset_id", "criterion", "sample_id"],
    )


def downgrade() -> None:
    op.drop_table("quality_ratings")
    op.drop_table("second_reviews")
    op.drop_table("gold_answers")
    op.drop_table("gold_samples")
