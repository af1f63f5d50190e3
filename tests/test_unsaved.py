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


def test_own_save_keeps_the_widget_keys_anyone_elses_gives_new_ones() -> None:
    state: dict[str, Any] = {}
    edits = UnsavedEdits(state)
    edits.show(VIEW)
    state[edits.key(VIEW, "ko", 1)] = "안녕하세요"  # typed, then saved as version 4
    state[edits.key(VIEW, "flags", "all")] = ["hate"]
    saved = {
        **VIEW,
        "version": 4,
        "turns": [{**VIEW["turns"][0], "text": "안녕하세요"}, VIEW["turns"][1]],
    }
    assert edits.shows(saved, 3)  # the widgets of version 3 hold what version 4 saved
    assert not edits.shows(VIEW, 3)  # ... and not the text of version 3
    other = {**saved, "turns": [{**VIEW["turns"][0], "text": "누군가의 글"}, VIEW["turns"][1]]}
    assert not edits.shows(other, 3)
    assert not edits.shows({**saved, "my_flags": {}}, 3)  # flags differ
    edits.carry(7, 3, 4)
    assert edits.key(saved, "ko", 1) == edits.key(VIEW, "ko", 1)  # same widget, updated in place
    edits.show(saved)
    assert not edits.has_changes(edits.pending(saved))
    state[edits.key(saved, "ko", 1)] = "안녕하세요!"  # typing goes on in the same widget
    assert (
        edits.pending(saved)["text"] == {1: "안녕하세요!"} and edits.pending(saved)["version"] == 4
    )
    edits.carry(7, 4, 5)  # a second save: still the first keys
    assert edits.key({**saved, "version": 5}, "ko", 1) == edits.key(VIEW, "ko", 1)
    # a version nobody carried (someone else saved): new keys, the saved text shows
    assert edits.key({**saved, "version": 6}, "ko", 1).endswith("-v6-n0")
