"""One registry shape for everything found by name: import kinds, checks, export formats, job kinds.

A ``Registry`` is a read-only mapping filled by ``register``. A second, different entry under a
name already taken is refused (a module imported twice — a reload — may register its own entry
again); looking up an unknown name raises :class:`kocurate.errors.UnknownName`, which lists the
choices, so the CLI and pages show one plain sentence instead of a ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar, overload

from .errors import KocurateError, UnknownName

T = TypeVar("T")
D = TypeVar("D")


def _origin(value: object) -> tuple[str, str]:
    """Where an entry was defined (module, qualified name): the same definition imported again."""
    target = value[0] if isinstance(value, tuple) and value else value
    return (getattr(target, "__module__", ""), getattr(target, "__qualname__", repr(target)))


class Registry(Mapping[str, T], Generic[T]):
    """Entries by name; ``what`` names them in messages ("import kind", "check", …)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str, value: T) -> T:
        if not name:
            raise KocurateError(f"a {self.what} needs a name ({value!r})")
        old = self._entries.get(name)
        if old is not None and old is not value and _origin(old) != _origin(value):
            raise KocurateError(
                f"{self.what} {name!r} is registered twice ({_origin(old)[1]} and "
                f"{_origin(value)[1]})"
            )
        self._entries[name] = value
        return value

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.what, name, sorted(self._entries)) from None

    @overload
    def get(self, name: str) -> T | None: ...

    @overload
    def get(self, name: str, default: D) -> T | D: ...

    def get(self, name: str, default: object = None) -> object:
        return self._entries.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def require(self, names: list[str]) -> None:
        """Raise UnknownName for the first of ``names`` that is not registered."""
        for n in names:
            if n not in self._entries:
                raise UnknownName(self.what, n, sorted(self._entries))

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {sorted(self._entries)})"
