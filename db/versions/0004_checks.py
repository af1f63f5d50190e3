"""checks: an index for the checks runner's keyset batches.

``ix_samples_dataset_id`` (dataset_id, id) lets "the next N samples of this dataset after id X, in
id order" read the index in order (without it SQLite picked another dataset_id index and sorted the
whole dataset for every batch: quadratic over a 350k-sample dataset).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_samples_dataset_id", "samples", ["dataset_id", "id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_samples_dataset_id", table_name="samples", if_exists=True)
