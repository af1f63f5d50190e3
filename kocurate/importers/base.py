"""The importer contract: a format reads records and yields normalized samples.

A new format is one module defining an ``Importer`` subclass decorated with ``@register``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ImportFailed
from ..i18n import N_
from ..registry import Registry
from .readers import iter_records

# NUL (PostgreSQL cannot store it) and lone surrogates (\\ud800 escapes: not encodable as UTF-8)
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
MAX_FIELD_CHARS = (
    1_000_000  # a single turn above this is refused as bad input (ShareGPT max is ~100k)
)


@dataclass(slots=True)
class NormTurn:
    role: str
    text: str


@dataclass(slots=True)
class NormSample:
    key: str
    turns: list[NormTurn]
    meta: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    place: str = ""
    # English text per turn when it sits in the same record (align_by = "inline")
    sources: list[str | None] | None = None


REGISTRY: Registry[type[Importer]] = Registry("import kind")


def register(cls: type[Importer]) -> type[Importer]:
    return REGISTRY.register(cls.kind, cls)


class Importer:
    """Base class. Subclasses set the class attributes and implement ``parse``."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # the upstream dataset's licence, recorded only for files known to be that dataset
    # (``known_files``: name patterns of its published files); any other file gets no licence unless
    # one is given
    licence: ClassVar[str | None] = None
    known_files: ClassVar[tuple[str, ...]] = ()
    # "id": join Korean and English records by their id; "position": by order with drift repair;
    # "inline": the English is in the same record; "none": no English source exists.
    align_by: ClassVar[str] = "position"
    # roles whose Korean is a translation of the English; other aligned roles are reference only
    translated_roles: ClassVar[frozenset[str] | None] = None  # None = all roles
    # conversation kinds pair turns by index; field kinds pair by role name
    pair_turns_by: ClassVar[str] = "role"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}

    # -- to implement -------------------------------------------------------------------------
    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        raise NotImplementedError

    def parse_source(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        """Parse a record of the English source file (same shape by default)."""
        return self.parse(rec, index, ctx)

    def inline_source(
        self, rec: dict[str, Any], index: int, ctx: RecordContext
    ) -> list[str | None] | None:
        """For ``align_by = "inline"``: the English text of each turn, read from the same record."""
        return None

    # -- streaming ------------------------------------------------------------------------------
    def read(
        self, path: str | Path, *, source: bool = False
    ) -> Iterator[NormSample | ImportFailed]:
        """Yield samples; a bad record yields its ImportFailed (the caller decides: stop or
        skip)."""
        name = Path(path).name
        # ``format`` (CLI ``--format``) names the Korean file's format when its name does not say
        fmt = None if source else self.options.get("format")
        for index, (place, rec) in enumerate(iter_records(path, fmt)):
            if isinstance(rec, ImportFailed):
                yield rec
                continue
            ctx = RecordContext(name, place)
            try:
                sample = (self.parse_source if source else self.parse)(rec, index, ctx)
                if not source and self.align_by == "inline":
                    sample.sources = self.inline_source(rec, index, ctx)
            except ImportFailed as exc:
                yield exc
                continue
            sample.position = index
            sample.place = place
            yield sample

    @classmethod
    def licence_for(cls, path: str | Path) -> str | None:
        """``licence`` when ``path`` is one of the upstream dataset's files (by name), else None."""
        name = Path(path).name.lower()
        if cls.licence and any(fnmatch(name, pat.lower()) for pat in cls.known_files):
            return cls.licence
        return None

    def is_translated(self, role: str) -> bool:
        return self.translated_roles is None or role in self.translated_roles


@dataclass(slots=True)
class RecordContext:
    """Helpers that validate a record and name the place of any problem."""

    file: str
    place: str

    def fail(self, field: str | None, reason_id: str, **params: Any) -> ImportFailed:
        """The record refused: ``reason_id`` is an ``N_()`` message id (the page translates it)."""
        return ImportFailed(self.file, self.place, field, reason_id=reason_id, **params)

    def text(
        self, rec: dict[str, Any], name: str, *, required: bool = True, default: str = ""
    ) -> str:
        if name not in rec or rec[name] is None:
            if required:
                raise self.fail(name, N_("missing field"))
            return default
        value = rec[name]
        if not isinstance(value, str):
            # a number or true/false where text belongs is refused, not converted (the README says
            # so): `"output": 42` is more often a broken export than an answer
            if isinstance(value, bool):
                raise self.fail(
                    name,
                    N_("expected text, got true/false ({value}); write it as a string"),
                    value=str(value).lower(),
                )
            if isinstance(value, int | float):
                raise self.fail(
                    name,
                    N_("expected text, got a number ({value!r}); write it as a string"),
                    value=value,
                )
            raise self.fail(name, N_("expected text, got {kind}"), kind=type(value).__name__)
        self.check_text(value, name)
        return value

    def check_text(self, value: str, name: str) -> None:
        """Every text a parser keeps goes through here (``text`` and ``conversation_turns`` call
        it)."""
        if len(value) > MAX_FIELD_CHARS:
            raise self.fail(
                name,
                N_("text too long ({n:,} characters; the limit is {limit:,})"),
                n=len(value),
                limit=MAX_FIELD_CHARS,
            )
        bad = _BAD_CHAR.search(value)
        if bad is not None:
            if bad.group() == "\x00":
                raise self.fail(name, N_("contains a NUL character"))
            raise self.fail(name, N_("contains an unpaired surrogate (invalid \\uXXXX escape)"))

    def key(self, rec: dict[str, Any], name: str, index: int) -> str:
        value = rec.get(name)
        if value is None or value == "":
            return str(index)
        if not isinstance(value, str | int):
            raise self.fail(
                name, N_("expected an id (text or number), got {kind}"), kind=type(value).__name__
            )
        key = str(value)
        if len(key) > 128:
            raise self.fail(name, N_("id longer than 128 characters"))
        return key

    def list_of_dicts(self, rec: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = rec.get(name)
        if value is None:
            raise self.fail(name, N_("missing field"))
        if not isinstance(value, list):
            raise self.fail(name, N_("expected a list, got {kind}"), kind=type(value).__name__)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(
                    f"{name}[{i}]", N_("expected an object, got {kind}"), kind=type(item).__name__
                )
        return value


ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "prompter": "user",
    "question": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "answer": "assistant",
    "system": "system",
}


_ROLE_SEEN: dict[str, str] = {}  # raw role string -> normalized role (a handful of distinct values)


def conversation_turns(
    items: list[dict[str, Any]], ctx: RecordContext, field: str
) -> list[NormTurn]:
    """ShareGPT ``{from, value}`` or OpenAI ``{role, content}`` turns, roles normalized.

    The hot loop of a 1.4M-turn import: plain lookups first, the full checks only when needed.
    """
    turns: list[NormTurn] = []
    seen = _ROLE_SEEN
    bad_char = _BAD_CHAR.search
    for i, item in enumerate(items):
        role_raw = item.get("from")
        if role_raw is None:
            role_raw = item.get("role")
        value = item.get("value")
        if value is None:
            value = item.get("content")
        role = seen.get(role_raw) if type(role_raw) is str else None
        if role is None:
            if not isinstance(role_raw, str):
                raise ctx.fail(f"{field}[{i}].from", N_("missing or not text"))
            role = ROLE_ALIASES.get(role_raw.strip().lower())
            if role is None:
                raise ctx.fail(f"{field}[{i}].from", N_("unknown role {role!r}"), role=role_raw)
            if len(seen) < 1000:
                seen[role_raw] = role
        if value is None:
            value = ""
        elif type(value) is not str:
            raise ctx.fail(
                f"{field}[{i}].value", N_("expected text, got {kind}"), kind=type(value).__name__
            )
        if len(value) > MAX_FIELD_CHARS or bad_char(value) is not None:
            ctx.check_text(value, f"{field}[{i}].value")  # raises, naming the problem
        turns.append(NormTurn(role, value))
    return turns
