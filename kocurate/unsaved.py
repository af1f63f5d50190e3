"""The Review page's unsaved edits: what the person typed or chose on screen and has not saved.

The page keeps its state in ``st.session_state``; this class reads and writes that mapping (any
``MutableMapping``, so it is tested with a dict). Edits are measured against what the screen
showed (``show``): the saved text per turn, the person's flags and the sample version, so a save
checks the version it is based on. Widget keys carry the sample id, the version and a nonce;
``reset_widgets`` bumps the nonce, so every widget shows the saved state again (Discard, a
conflict resolved).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

SEEN = "rv_seen"
NONCE = "rv_nonce"
KEYED = "rv_keyed"  # (sample id, version) -> the version whose widget keys show it


class UnsavedEdits:
    """Unsaved texts (Korean and English) and flags of the sample on screen."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self.state = state

    def key(
        self, view: dict[str, Any], kind: str, item: int | str, version: int | None = None
    ) -> str:
        """Widget key: tied to the sample version the widget showed (and the nonce)."""
        v = self.key_version(view, version)
        return f"rv-{kind}-{view['id']}-{item}-v{v}-n{self.state.get(NONCE, 0)}"

    def key_version(self, view: dict[str, Any], version: int | None = None) -> int:
        """The version in the widget keys of ``version`` (default: the view's): an earlier one
        when this person's own save made it (``carry``)."""
        v = view["version"] if version is None else version
        return int(self.state.get(KEYED, {}).get((view["id"], v), v))

    def shows(self, view: dict[str, Any], version: int) -> bool:
        """Whether the widgets keyed for ``version`` hold exactly the saved state of ``view``
        (texts, flags and notes): true after a save of what they held."""
        for t in view["turns"]:
            for kind, saved in (("ko", t["text"]), ("en", t["source_text"]), ("src", None)):
                held = self.state.get(self.key(view, kind, t["id"], version))
                want = t["source_text"] if kind == "src" else saved
                if held is not None and held.replace("\r\n", "\n") != (want or ""):
                    return False
        chosen = self.state.get(self.key(view, "flags", "all", version))
        if chosen is not None:
            if set(chosen) != set(view["my_flags"]):
                return False
            for c in chosen:
                note = self.state.get(self.key(view, "note", c, version))
                if note is not None and (note or None) != (view["my_flags"].get(c) or None):
                    return False
        return True

    def carry(self, sample_id: int, old: int, new: int) -> None:
        """This person's save turned version ``old`` into ``new`` with what the widgets hold: they
        keep their keys, so the browser updates them in place instead of drawing them anew."""
        keyed = dict(self.state.get(KEYED, {}))
        keyed = {k: v for k, v in keyed.items() if k[0] == sample_id}  # one sample at a time
        keyed[(sample_id, new)] = keyed.get((sample_id, old), old)
        self.state[KEYED] = keyed

    def show(self, view: dict[str, Any]) -> None:
        """Remember what the widgets are about to show: edits are measured against it."""
        self.state[SEEN] = {
            "sample": view["id"],
            "version": view["version"],
            "dataset_id": view.get("dataset_id"),
            "text": {t["id"]: t["text"] for t in view["turns"]},
            "source_text": {t["id"]: t["source_text"] for t in view["turns"]},
            "flags": dict(view["my_flags"]),
        }

    def reset_widgets(self) -> None:
        """New widget keys: the widgets show the saved state again."""
        self.state[NONCE] = self.state.get(NONCE, 0) + 1

    def pending(self, view: dict[str, Any] | None) -> dict[str, Any]:
        """What changed on screen against what it showed: {text, source_text: {turn_id: typed},
        flags: {category: note} or None, version: the version shown}."""
        out: dict[str, Any] = {"text": {}, "source_text": {}, "flags": None, "version": None}
        seen = self.state.get(SEEN)
        if view is None or not seen or seen["sample"] != view["id"]:
            return out
        v = seen["version"]
        out["version"] = v
        for field, kind in (("text", "ko"), ("source_text", "en")):
            for turn_id, shown in seen[field].items():
                typed = self.state.get(self.key(view, kind, turn_id, v))
                if typed is not None and typed.replace("\r\n", "\n") != (shown or ""):
                    out[field][turn_id] = typed
        chosen = self.state.get(self.key(view, "flags", "all", v))
        if chosen is not None:
            flags = {c: self.state.get(self.key(view, "note", c, v)) or None for c in chosen}
            if flags != seen["flags"]:
                out["flags"] = flags
        return out

    @staticmethod
    def has_changes(p: dict[str, Any]) -> bool:
        return bool(p["text"] or p["source_text"] or p["flags"] is not None)
