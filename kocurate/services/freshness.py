"""A cheap fingerprint of "has anything been written since?" for caches of read-only pages.

The dashboard caches its figures per person and filter; with this value in the cache key a review,
edit, flag, check run, re-translation, import or job step shows at the next page run instead of
after the cache's lifetime. Every part is an indexed MAX (primary keys) or a MAX over a small table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import CheckFinding, Dataset, Edit, Flag, Job, Review, Suggestion


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever reviews, edits, flags, findings, suggestions, datasets or jobs are
    written."""
    parts = [func.max(m.id) for m in (Review, Edit, Flag, CheckFinding, Suggestion, Dataset)]
    row = session.execute(
        select(
            *[select(p).scalar_subquery() for p in parts],
            select(func.max(Flag.updated_at)).scalar_subquery(),
            select(func.max(Job.updated_at)).scalar_subquery(),
        )
    ).one()
    return tuple(str(v) if v is not None else None for v in row)
