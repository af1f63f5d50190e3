"""review: schema changes for issue 11 (drafts, disputes, decision rules, reasons).

- ``drafts``: unsaved turn text per (user, turn, field) with the version it was typed on;
- ``adjudications``: a lead's final decision, apart from the reviewers' own ``reviews``;
- ``datasets.decision_rule`` (unanimous | majority | any-reject);
- ``reviews.reason`` (quick pick) and ``reviews.seen_version`` with a unique index on
  (sample, user, seen_version): a repeated "Approve & next" can never write a second row;
- ``ix_suggestions_job``: the review queue filtered by the DeepL job that made a suggestion.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "dataset_id",
            sa.Integer,
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "turn_id", sa.Integer, sa.ForeignKey("turns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "turn_id", "field", name="uq_draft_user_turn_field"),
    )
    op.create_index("ix_drafts_user_sample", "drafts", ["user_id", "sample_id"])
    op.create_index("ix_drafts_dataset", "drafts", ["dataset_id"])
    op.create_table(
        "adjudications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("seen_version", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_adjudications_sample", "adjudications", ["sample_id", "id"])
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.add_column(
            sa.Column("decision_rule", sa.String(16), nullable=False, server_default="unanimous")
        )
    with op.batch_alter_table("reviews") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("seen_version", sa.Integer, nullable=True))
        batch_op.create_index(
            "ux_reviews_seen", ["sample_id", "user_id", "seen_version"], unique=True
        )
    with op.batch_alter_table("suggestions") as batch_op:
        batch_op.create_index("ix_suggestions_job", ["job_id"])


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch_op:
        batch_op.drop_index("ix_suggestions_job")
    with op.batch_alter_table("reviews") as batch_op:
        batch_op.drop_index("ux_reviews_seen")
        batch_op.drop_column("seen_version")
        batch_op.drop_column("reason")
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.drop_column("decision_rule")
    op.drop_index("ix_adjudications_sample", table_name="adjudications")
    op.drop_table("adjudications")
    op.drop_index("ix_drafts_dataset", table_name="drafts")
    op.drop_index("ix_drafts_user_sample", table_name="drafts")
    op.drop_table("drafts")
