"""The export contract: a stored sample becomes a chat (system + user/assistant exchanges), a format
turns the chat into one record, a writer streams records into one file per split.

Turn mapping (documented rules; every repair and refusal is counted in the manifest):

- Field data (roles instruction/input/context/output/response): the user message is the
  instruction, then a blank line, then the input (Alpaca) or context (Dolly) when not empty; the
  assistant message is the output (Alpaca) or response (Dolly). Empty instruction or answer:
  refused.
- Conversations (system/user/assistant and the aliases human/gpt/…): TRL wants an optional system
  turn, then user/assistant alternating, no empty turn. So:
  1. a system turn is allowed only first (an empty one is dropped; one later refuses the sample);
  2. consecutive turns of the same role are merged with a blank line (split messages);
  3. leading assistant turns are dropped (ShareGPT conversations that start with a ``gpt`` turn);
  4. the turns are paired into exchanges; a trailing user turn with no answer is dropped;
  5. an exchange whose question or answer is empty is dropped (not merged into its neighbours);
  6. no complete exchange left: refused.
- ``sharegpt_pairs`` samples (role ``turn``) are single translated turns with no speaker: they are
  not training conversations and are refused (``no_role``) by every chat format. They export as a
  parallel corpus with the ``pairs`` format (one ``{"en", "ko"}`` object per turn pair), which in
  turn refuses samples with roles (``has_roles``).
- A refusal that follows from the dataset's kind alone (``ExportFormat.refuses_kind``) is known
before
  the export: such datasets are planned at 0 and named with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson

from ..importers.base import ROLE_ALIASES

USER_FIELDS = ("instruction", "input", "context")
ASSISTANT_FIELDS = ("output", "response")
FIELD_ROLES = frozenset(USER_FIELDS + ASSISTANT_FIELDS)

# why a sample was refused (manifest: refused.<reason>)
REFUSALS = {
    "no_role": "single turns without a speaker (sharegpt_pairs)",
    "unknown_role": "a turn role that maps to neither system, user nor assistant",
    "system_not_first": "a system turn after the first turn",
    "empty_turn": "empty instruction or answer (field data)",
    "no_complete_exchange": "no user turn followed by a non-empty assistant answer",
    "multi_turn": "more than one exchange (alpaca without --alpaca-history)",
    "invalid_text": "text that is not valid UTF-8 (unpaired surrogate)",
    "has_roles": (
        "a conversation or instruction sample (pairs takes speakerless turn pairs; use messages, "
        "sharegpt or alpaca)"
    ),
    "no_source": "a turn pair without its English source",
}

# dataset kinds whose samples have no speaker roles (one translated turn each)
ROLELESS_KINDS = frozenset({"sharegpt_pairs"})
# what was repaired on a sample that was exported (manifest: repairs.<name> = samples affected)
REPAIRS = {
    "dropped_leading_assistant": "leading assistant turn(s) dropped",
    "merged_turns": "consecutive turns of the same role merged with a blank line",
    "dropped_trailing_user": "a last user turn without answer dropped",
    "dropped_empty_exchange": "an exchange with an empty question or answer dropped",
    "dropped_empty_system": "an empty system turn dropped",
}


class Refused(Exception):  # noqa: N818 — a value, raised only inside conversion
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Chat:
    """A sample as a trainer sees it."""

    system: str | None
    exchanges: list[tuple[str, str]]
    # the original fields of instruction data (alpaca keeps instruction and input apart)
    fields: dict[str, str] | None = None
    repairs: list[str] = field(default_factory=list)

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        for user, assistant in self.exchanges:
            out.append({"role": "user", "content": user})
            out.append({"role": "assistant", "content": assistant})
        return out


def _empty(text: str | None) -> bool:
    return not text or text.isspace()


def to_chat(turns: list[tuple[str, str]]) -> Chat:
    """Map a sample's (role, text) turns, in order, to a chat; raises ``Refused``."""
    n = len(turns)
    if n and not n % 2:  # fast path: already user/assistant alternating, nothing empty
        exchanges = []
        for j in range(0, n, 2):
            (ur, ut), (ar, at) = turns[j], turns[j + 1]
            if (
                ur != "user"
                or ar != "assistant"
                or not ut
                or not at
                or ut.isspace()
                or at.isspace()
            ):
                break
            exchanges.append((ut, at))
        else:
            return Chat(None, exchanges)
    roles = {r for r, _ in turns}
    if "turn" in roles:
        raise Refused("no_role")
    if roles and roles <= FIELD_ROLES:
        return _fields_chat(turns)
    return _conversation_chat(turns)


def _fields_chat(turns: list[tuple[str, str]]) -> Chat:
    by_role: dict[str, str] = {}
    for role, text in turns:
        by_role[role] = text if role not in by_role else by_role[role] + "\n\n" + text
    instruction = by_role.get("instruction", "")
    extra = by_role.get("input") or by_role.get("context") or ""
    answer = by_role.get("output") if "output" in by_role else by_role.get("response", "")
    if _empty(instruction) and not _empty(extra):
        instruction, extra = extra, ""
    if _empty(instruction) or _empty(answer):
        raise Refused("empty_turn")
    user = instruction if _empty(extra) else f"{instruction}\n\n{extra}"
    return Chat(
        None,
        [(user, answer or "")],
        {
            "instruction": instruction,
            "input": "" if _empty(extra) else extra,
            "output": answer or "",
        },
    )


def _conversation_chat(turns: list[tuple[str, str]]) -> Chat:
    repairs: list[str] = []
    system: str | None = None
    mapped: list[tuple[str, str]] = []
    for raw, text in turns:
        role = ROLE_ALIASES.get(raw.strip().lower())
        if role is None:
            raise Refused("unknown_role")
        if role == "system":
            if mapped:  # only leading system turns (several are merged)
                raise Refused("system_not_first")
            if _empty(text):
                repairs.append("dropped_empty_system")
            else:
                system = text if system is None else f"{system}\n\n{text}"
            continue
        mapped.append((role, text))
    # 2. merge runs of one role (empty parts contribute nothing)
    merged: list[tuple[str, str]] = []
    for role, text in mapped:
        if merged and merged[-1][0] == role:
            prev = merged[-1][1]
            merged[-1] = (
                role,
                text if _empty(prev) else prev if _empty(text) else f"{prev}\n\n{text}",
            )
            if "merged_turns" not in repairs:
                repairs.append("merged_turns")
        else:
            merged.append((role, text))
    # 3. leading assistant
    if merged and merged[0][0] == "assistant":
        merged.pop(0)
        repairs.append("dropped_leading_assistant")
    # 4-5. pair into exchanges (roles now alternate, starting with user)
    exchanges: list[tuple[str, str]] = []
    for j in range(0, len(merged), 2):
        user = merged[j][1]
        if j + 1 >= len(merged):
            repairs.append("dropped_trailing_user")
            break
        answer = merged[j + 1][1]
        if _empty(user) or _empty(answer):
            if "dropped_empty_exchange" not in repairs:
                repairs.append("dropped_empty_exchange")
            continue
        exchanges.append((user, answer))
    if not exchanges:
        raise Refused("no_complete_exchange")
    return Chat(system, exchanges, None, repairs)


def dumps_line(obj: dict[str, Any]) -> bytes:
    """One JSONL line: UTF-8, no \\uXXXX escapes for non-ASCII, compact, key order as built."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        raise Refused("invalid_text") from None


loads_line = orjson.loads


class SplitWriter:
    """Writes the records of one split into one file; counts rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0

    def write(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def write_payload(self, payload: bytes) -> None:
        """A record already encoded by ``dumps_line`` (as it comes out of the shuffle buckets)."""
        self.write(loads_line(payload))

    def close(self) -> None:
        raise NotImplementedError


class JsonlWriter(SplitWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._fh: IO[bytes] = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 — closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(dumps_line(record))
        self.rows += 1

    def write_payload(self, payload: bytes) -> None:
        self._fh.write(payload)
        self.rows += 1

    def close(self) -> None:
        self._fh.close()


class ExportFormat:
    """One export format: ``convert`` a chat into a record, ``writer`` for one split's file."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    ext: ClassVar[str] = "jsonl"
    # the hub's builder for the card's configs ("json" or "parquet"); None: not loadable that way
    builder: ClassVar[str | None] = "json"

    # True: the format takes the stored turns with their English (``convert_turns``), not a chat
    raw_turns: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    def refuses_kind(self, kind: str) -> str | None:
        """The refusal reason for every sample of a dataset of this kind, known before exporting."""
        return "no_role" if kind in ROLELESS_KINDS else None

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def convert_turns(
        self, turns: list[tuple[str, str, str | None]], meta: dict[str, Any] | None
    ) -> dict[str, Any]:
        """For ``raw_turns`` formats: (role, Korean, English) turns in order -> one record."""
        raise NotImplementedError

    def writer(self, path: Path) -> SplitWriter:
        return JsonlWriter(path)

    def finish(self, tmp_dir: Path, files: dict[str, Path]) -> dict[str, Path]:
        """After every split file is closed: a chance to transform them (HF save). Returns split ->
        path."""
        return files

    def features(self, meta: bool) -> dict[str, Any] | None:
        """The dataset_info features for the card (None: let the loader infer)."""
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
