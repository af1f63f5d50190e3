"""corpus: schema changes for issue 17 (bulk operations, translation memory, variants, QA, risk).

New tables only (no ALTER of the large samples table): bulk_ops/bulk_items/bulk_refs (revertable
bulk operations), tm_fixes (lead-kept fixes), sample_signals (source hash for variants, learned
risk), qa_runs/qa_items (blind QA samples). The "superseded" status needs no schema change (a string
column).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_ops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.Integer, nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("n_selected", sa.Integer, nullable=False),
        sa.Column("n_changed", sa.Integer, nullable=False),
        sa.Column("n_skipped", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("applied_at", sa.DateTime, nullable=True),
        sa.Column("reverted_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_bulk_ops_state", "bulk_ops", ["state", "id"])
    op.create_table(
        "bulk_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "op_id", sa.Integer, sa.ForeignKey("bulk_ops.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("before_version", sa.Integer, nullable=False),
        sa.Column("before_status", sa.String(16), nullable=False),
        sa.Column("after_version", sa.Integer, nullable=True),
        sa.Column("skipped", sa.String(16), nullable=False),
    )
    op.create_index("ix_bulk_items_op_sample", "bulk_items", ["op_id", "sample_id"])
    op.create_table(
        "bulk_refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "op_id", sa.Integer, sa.ForeignKey("bulk_ops.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("sample_id", sa.Integer, nullable=False),
        sa.Column("before", sa.Text, nullable=True),
    )
    op.create_index("ix_bulk_refs_op_kind", "bulk_refs", ["op_id", "kind", "row_id"])
    op.create_table(
        "tm_fixes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("en_phrase", sa.Text, nullable=False),
        sa.Column("old_ko", sa.Text, nullable=False),
        sa.Column("new_ko", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column(
            "created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "sample_signals",
        sa.Column(
            "sample_id",
            sa.Integer,
            sa.ForeignKey("samples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("src_hash", sa.String(40), nullable=True),
        sa.Column("risk", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sample_signals_src_hash", "sample_signals", ["src_hash"])
    op.create_index("ix_sample_signals_dataset_risk", "sample_signals", ["dataset_id", "risk"])
    op.create_table(
        "qa_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dataset_ids", sa.JSON, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column(
            "created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "qa_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("qa_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column(
            "reviewer_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("decided_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_qa_items_run_pos", "qa_items", ["run_id", "position"])


def downgrade() -> None:
    for name in (
        "qa_items",
        "qa_runs",
        "sample_signals",
        "tm_fixes",
        "bulk_refs",
        "bulk_items",
        "bulk_ops",
    ):
        op.drop_table(name)
