"""Links from the dashboard and the checks page open the review queue with its filters set."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kocurate import db
from kocurate.demo import create_demo
from kocurate.services import users
from tests.page_helpers import open_page


@pytest.fixture
def lead_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    url = f"sqlite:///{tmp_path / 'links.db'}"
    create_demo(url)
    with db.session_scope(db.get_engine(url)) as s:
        lead = users.authenticate(s, "lead", "lead-demo-pw")
    return open_page("review.py", url, lead, monkeypatch, run=False)


def test_query_params_set_the_queue_once(lead_page: AppTest) -> None:
    at = lead_page
    at.query_params.update(
        {"dataset": "3", "status": "any", "check": "stray_chars", "flag": "hate"}
    )
    at.run()
    assert not at.exception
    assert at.session_state["rv_ds"] == 3
    assert at.session_state["rv_f_status"] == "any"
    assert at.session_state["rv_f_check"] == "stray_chars"
    assert at.session_state["rv_f_flag"] == "hate"
    # the person may then change a filter: the link does not force it back
    at.sidebar.selectbox(key="rv_f_status").set_value("new")
    at.run()
    assert at.session_state["rv_f_status"] == "new"


def test_unknown_values_in_a_link_are_ignored(lead_page: AppTest) -> None:
    at = lead_page
    at.query_params.update({"dataset": "999", "status": "bogus", "check": "no_such_check"})
    at.run()
    assert not at.exception
    assert at.session_state["rv_f_status"] == "new"
    assert at.session_state["rv_f_check"] == ""


def test_job_card_links_open_the_suggestion_queue(lead_page: AppTest) -> None:
    """The leads' job cards link to ?dataset=ID&suggestion=open and ?dataset=ID&job=JOBID."""
    at = lead_page
    at.query_params.update({"dataset": "2", "suggestion": "open", "job": "7"})
    at.run()
    assert not at.exception
    assert at.session_state["rv_ds"] == 2
    assert at.session_state["rv_f_sugg"] is True and at.session_state["rv_f_job"] == 7
    assert at.session_state["rv_f_status"] == "any"  # suggestions are looked at whatever the status
