"""stats: covering indexes for the dashboard's aggregates (700k samples, 200k reviews).

Each lets one GROUP BY of ``kocurate.services.stats`` read an index instead of the table:
- ix_samples_text_stats: the length / ratio / turns histograms (index-only, grouped in index order);
- ix_reviews_sample_user: who decided which sample (overlap, latest decision per person: agreement);
- ix_reviews_user_seconds: the median seconds per sample (each person's reviews ordered by seconds);
- ix_reviews_user_decision: reviews per (day, person, decision), read without touching the table;
- ix_reviews_time_decision: the current pace (reviews and approvals of the last days).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The review indexes also carry the columns the dataset (sample_id) and date filters read, so a
# filtered figure stays index-only too.
INDEXES = [
    ("ix_samples_text_stats", "samples", ["dataset_id", "n_turns", "ko_chars", "en_chars"]),
    (
        "ix_reviews_sample_user",
        "reviews",
        ["sample_id", "user_id", "id", "decision", "created_at", "seconds"],
    ),
    ("ix_reviews_user_seconds", "reviews", ["user_id", "seconds", "created_at", "sample_id"]),
    (
        "ix_reviews_user_decision",
        "reviews",
        ["user_id", "decision", "seconds", "created_at", "sample_id"],
    ),
    (
        "ix_reviews_time_decision",
        "reviews",
        ["created_at", "decision", "user_id", "sample_id", "seconds"],
    ),
]


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols, if_not_exists=True)


def downgrade() -> None:
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
