"""guide: schema changes for issue 21 part A: guidelines, comments, mentions, inbox.

New tables only: guidelines (versioned Markdown per dataset or project-wide, scope 0),
guideline_reads (who confirmed which version), comments (threads on samples), inbox_items
(mentions and replies per user, with the unread index the sidebar count uses).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guidelines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.Integer, nullable=False),
        sa.Column(
            "dataset_id",
            sa.Integer,
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column(
            "created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_by_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("scope", "version", name="uq_guidelines_scope_version"),
    )
    op.create_table(
        "guideline_reads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scope", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "scope", "version", name="uq_guideline_reads"),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("turn_idx", sa.Integer, nullable=True),
        sa.Column(
            "parent_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("author_name", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("mentions", sa.JSON, nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("resolved_by_name", sa.String(64), nullable=True),
        sa.Column("resolved_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_comments_sample", "comments", ["sample_id", "id"])
    op.create_index("ix_comments_parent", "comments", ["parent_id", "id"])
    op.create_index("ix_comments_open", "comments", ["is_open", "dataset_id", "id"])
    op.create_index("ix_comments_open_all", "comments", ["is_open", "id"])
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "comment_id",
            sa.Integer,
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sample_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unread", sa.Boolean, nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "comment_id", name="uq_inbox_user_comment"),
    )
    op.create_index("ix_inbox_user_unread", "inbox_items", ["user_id", "unread", "id"])


def downgrade() -> None:
    for name in ("inbox_items", "comments", "guideline_reads", "guidelines"):
        op.drop_table(name)
