"""Server-side timing for benchmarks/ui.py: off by default, one line per timed run when on (issue
11)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kocurate import ui_speed


def busy(n: int) -> int:
    return sum(i * i for i in range(n))


def test_off_by_default_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ui_speed.LOG_ENV, raising=False)
    assert ui_speed.timed_fn("x", busy) is busy
    with ui_speed.timed("x"):
        busy(10)
    assert list(tmp_path.iterdir()) == []


def test_each_run_logged_also_when_it_ends_by_an_exception(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "timing.log"
    monkeypatch.setenv(ui_speed.LOG_ENV, str(log))
    timed_busy = ui_speed.timed_fn("fragment", busy)
    assert timed_busy(200_000) == busy(200_000) and timed_busy.__name__ == "busy"
    rows, offset = ui_speed.read_log(str(log))
    assert [r[1] for r in rows] == ["fragment"] and rows[0][2] > 0 and rows[0][3] > 0
    assert abs(rows[0][0] - time.time()) < 60

    class Rerun(BaseException):  # st.rerun / st.stop end a run by raising
        pass

    with pytest.raises(Rerun), ui_speed.timed("page"):
        raise Rerun
    more, offset2 = ui_speed.read_log(str(log), offset)
    assert [r[1] for r in more] == ["page"] and offset2 > offset
    assert ui_speed.read_log(str(log), offset2) == ([], offset2)  # nothing new
    assert ui_speed.read_log(str(tmp_path / "absent.log")) == ([], 0)


def test_warm_up_imports_the_pages_modules() -> None:
    assert ui_speed.warm_up() == []
