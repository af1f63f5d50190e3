"""leads: schema changes for issue 13 (audit log, job states).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("dataset_id", sa.Integer, nullable=True),
        sa.Column("target", sa.String(512), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_action", "audit_events", ["action", "id"])
    # turns a batch translation could not translate (listed, retried)
    op.create_table(
        "job_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "turn_id", sa.Integer, sa.ForeignKey("turns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sample_id", sa.Integer, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_job_failures_job_state", "job_failures", ["job_id", "state", "turn_id"])
    # open suggestions per job (the job card's review link); open error findings (export warning)
    op.create_index("ix_suggestions_job_state", "suggestions", ["job_id", "state"])
    op.create_index(
        "ix_findings_severity_state", "check_findings", ["severity", "state", "sample_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_findings_severity_state", table_name="check_findings")
    op.drop_index("ix_suggestions_job_state", table_name="suggestions")
    op.drop_index("ix_job_failures_job_state", table_name="job_failures")
    op.drop_table("job_failures")
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
