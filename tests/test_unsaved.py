"""The Review page's unsaved-edit state (kocurate.unsaved.UnsavedEdits), on a plain dict."""

from __future__ import annotations

from typing import Any

from kocurate.unsaved import UnsavedEdits

VIEW: dict[str, Any] = {
    "id": 7,
    "version": 3,
    "my_flags": {"hate": None},
    "turns": [
        {"id": 1, "text": "안녕", "source_text": "Hi"},
        {"id": 2, "text": "잘 가", "source_text": None},
    ],
}


def test_nothing_pending_until_the_screen_showed_this_sample() -> None:
    state: dict[str, Any] = {}
    edits = UnsavedEdits(state)
    assert not edits.has_changes(edits.pending(VIEW)) and edits.pending(None)["version"] is None
    edits.show({**VIEW, "id": 8})  # another sample on screen: nothing of it counts for 7
    state[edits.key(VIEW, "ko", 1)] = "다른 글"
    assert not edits.has_changes(edits.pending(VIEW))


def test_typed_text_and_flags_against_what_was_shown() -> None:
    state: dict[str, Any] = {}
    edits = UnsavedEdits(state)
    edits.show(VIEW)
    state[edits.key(VIEW, "ko", 1)] = "안녕"  # the same text: no change
    state[edits.key(VIEW, "ko", 2)] = "잘 가\r\n요"  # CRLF from the browser counts as LF
    state[edits.key(VIEW, "en", 2)] = "Bye"  # an English source where there was none
    p = edits.pending(VIEW)
    assert p == {"text": {2: "잘 가\r\n요"}, "source_text": {2: "Bye"}, "flags": None, "version": 3}
    state[edits.key(VIEW, "flags", "all")] = ["hate"]
    assert edits.pending(VIEW)["flags"] is None  # the same flags as shown
    state[edits.key(VIEW, "flags", "all")] = ["hate", "pii"]
    state[edits.key(VIEW, "note", "pii", 3)] = "전화번호"
    assert edits.pending(VIEW)["flags"] == {"hate": None, "pii": "전화번호"}
    assert edits.has_changes(edits.pending(VIEW))


def test_reset_widgets_gives_new_keys_so_the_saved_state_shows_again() -> None:
    state: dict[str, Any] = {}
    edits = UnsavedEdits(state)
    edits.show(VIEW)
    state[edits.key(VIEW, "ko", 1)] = "고친 글"
    assert edits.has_changes(edits.pending(VIEW))
    old = edits.key(VIEW, "ko", 1)
    edits.reset_widgets()  # Discard
    assert edits.key(VIEW, "ko", 1) != old and not edits.has_changes(edits.pending(VIEW))
    assert edits.key(VIEW, "ko", 1, version=4).endswith("-v4-n1")
