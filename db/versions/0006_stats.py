"""stats: covering indexes for the dashboard's aggregates (700k samples, 200k reviews).

Each lets one GROUP BY of ``kocurate.services.stats`` read an index instead of the table:
- ix_samples_text_stats: the length / ratio / turns histograms (index-only, grouped in index order);
- ix_reviews_sample_user: who decided which sample (overlap, latest decision per person: agreement);
- ix_reviews_user_seconds: per-person decisions and the median seconds per sample (ordered by seconds);
- ix_reviews_time_decision: reviews per day and the current pace.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_samples_text_stats", "samples", ["dataset_id", "n_turns", "ko_chars", "en_chars"]),
    ("ix_reviews_sample_user", "reviews", ["sample_id", "user_id", "id", "decision"]),
    ("ix_reviews_user_seconds", "reviews", ["user_id", "seconds", "decision"]),
    ("ix_reviews_time_decision", "reviews", ["created_at", "decision"]),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols, if_not_exists=True)


def downgrade() -> None:
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
