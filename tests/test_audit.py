"""The audit log: events commit with the work, are admin-only to read, and page newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kocurate import db
from kocurate.errors import PermissionDenied
from kocurate.models import utcnow
from kocurate.services import audit


def test_events_commit_with_the_work_and_page_by_id(engine, actors) -> None:
    with db.session_scope(engine) as s:
        for i in range(5):
            audit.record(s, actors["lead"], "export", dataset_id=1, target=f"/tmp/out{i}", rows=i)
    with pytest.raises(RuntimeError), db.session_scope(engine) as s:
        audit.record(s, actors["lead"], "import", target="never")
        raise RuntimeError("the work failed")
    with db.session_scope(engine) as s:
        first = audit.events(s, actors["admin"], action="export", limit=3)
        assert [e.target for e in first] == ["/tmp/out4", "/tmp/out3", "/tmp/out2"]
        rest = audit.events(s, actors["admin"], action="export", before_id=first[-1].id)
        assert [e.details["rows"] for e in rest] == [1, 0]
        assert audit.events(s, actors["admin"], action="import") == []
        assert (
            len(
                audit.events(
                    s, actors["admin"], action="export", since=utcnow() - timedelta(minutes=5)
                )
            )
            == 5
        )
        assert (
            audit.events(s, actors["admin"], action="export", since=utcnow() + timedelta(minutes=5))
            == []
        )
        assert first[0].as_dict()["user"] == "lead"


def test_only_admins_read_the_log(engine, actors) -> None:
    with db.session_scope(engine) as s:
        for who in ("lead", "annotator"):
            with pytest.raises(PermissionDenied):
                audit.events(s, actors[who])
