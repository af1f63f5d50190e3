"""curate: schema changes for issues 16/17 remainder: risk-ordered queues.

The review queue's "most likely broken first" order walks (dataset, risk DESC, sample id).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sample_signals_dataset_risk_desc",
        "sample_signals",
        ["dataset_id", sa.text("risk DESC"), "sample_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_sample_signals_dataset_risk_desc", table_name="sample_signals")
