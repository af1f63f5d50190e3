"""Every error a person may see, in one place: services raise them, the CLI and pages show them.

::

    KocurateError                    a plain message (the base; msgid + params for pages)
    ├── UsageError                   bad input: a value, a name, a file's line or field
    │   ├── ImportFailed                     a source file's line/record and field
    │   ├── UnknownName                      a registry has no such entry (lists the choices)
    │   └── InvalidText                      text no database can store (NUL, lone surrogate)
    ├── NotFound                     no such dataset, sample, turn, job …
    ├── PermissionDenied             the role may not (checked in services, not only the UI)
    │   └── AuthError                        wrong password, locked or unknown user
    ├── Conflict                     someone else was first
    │   ├── StaleVersion                     a save based on an old version (carries their text)
    │   └── AlreadyImported                  the same files were imported before
    ├── ConfigError                  missing or wrong settings (DeepL key, URLs)
    └── DatabaseUnavailable          read-only, full, busy, corrupt or unreachable database

Other modules subclass these for their own failures (``translate.client.TranslateError``,
``services.jobs.JobError`` …) and inherit the exit code. An error carries an English ``msgid``
with named placeholders and its ``params``: ``kocurate.i18n.message(exc)`` shows it in the page's
language, ``str(exc)`` is the English sentence (the CLI, logs). The CLI exits with the error's
``exit_code``: 1 for all of them today (scripts and tests rely on it); a class that needs its own
code sets it here, and the CLI follows.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .i18n import N_, part


class KocurateError(Exception):
    """Base for errors a user should see as a plain message.

    ``KocurateError("text")`` is a message nobody translates; ``KocurateError(msgid="no sample
    {sample}", sample=3)`` one the pages translate (the msgid is English, the catalog has Korean).
    """

    exit_code: ClassVar[int] = 1

    def __init__(
        self, message: str | None = None, *args: Any, msgid: str | None = None, **params: Any
    ) -> None:
        self.msgid = msgid
        self.params = params
        if message is None:
            message = msgid.format(**params) if msgid else ""
        super().__init__(message, *args)


class UsageError(KocurateError):
    """Bad input: the message names the value, the field or the line."""


class NotFound(KocurateError):
    """No such dataset, sample, turn, job, user …"""


class PermissionDenied(KocurateError):
    """The user's role may not do this (checked in the service layer, not only in the UI)."""


class AuthError(PermissionDenied):
    pass


class Conflict(KocurateError):
    """Someone else changed or created it first."""


class AlreadyImported(Conflict):
    def __init__(
        self, message: str | None, dataset_id: int, *, msgid: str | None = None, **params: Any
    ) -> None:
        super().__init__(message, msgid=msgid, **params)
        self.dataset_id = dataset_id


class ImportFailed(UsageError):
    """Bad input: names the file, the line or record index and the field."""

    def __init__(
        self,
        file: str,
        where: str,
        field: str | None,
        reason: str | None = None,
        *,
        reason_id: str | None = None,
        **reason_params: Any,
    ) -> None:
        # ``reason_id`` (an N_() msgid) + its params: the page shows the reason in its language;
        # a plain ``reason`` stays as written. ``str()`` is the same English either way.
        if reason is None:
            reason = reason_id.format(**reason_params) if reason_id else ""
        self.file, self.where, self.field, self.reason = file, where, field, reason
        place = f"{file}, {where}" + (f", field '{field}'" if field else "")
        why: Any = part(reason_id, **reason_params) if reason_id else reason
        super().__init__(
            f"{place}: {reason}",
            msgid=N_("{file}, {where}, field '{field}': {reason}")
            if field
            else N_("{file}, {where}: {reason}"),
            file=file,
            where=_where_part(where),
            field=field,
            reason=why,
        )


_WHERE = (
    (re.compile(r"line (?P<line>\d+)"), N_("line {line}")),
    (re.compile(r"record (?P<record>\d+)"), N_("record {record}")),
    (re.compile(r"record (?P<record>\d+), line (?P<line>\d+)"), N_("record {record}, line {line}")),
    (re.compile(r"file"), N_("file")),
    (re.compile(r"folder"), N_("folder")),
)


def _where_part(where: str) -> Any:
    """``where`` ("line 3", "record 2, line 5", "file") as a translatable part; other text as is."""
    for pattern, msgid in _WHERE:
        m = pattern.fullmatch(where)
        if m:
            return part(msgid, **{k: int(v) for k, v in m.groupdict().items()})
    return where


class StaleVersion(Conflict):
    """A save based on an old version: someone else saved first. Carries their text."""

    def __init__(
        self, message: str, current_version: int, current: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.current = current or {}


class ConfigError(KocurateError):
    """Missing or wrong settings (the DeepL key, a server URL)."""


class UnknownName(UsageError, LookupError):
    """A name no registry entry has (an import kind, a check, an export format, a job kind)."""

    def __init__(self, what: str, name: str, choices: list[str]) -> None:
        self.what, self.name, self.choices = what, name, choices
        super().__init__(
            msgid=N_("unknown {what} {name!r}; one of: {choices}"),
            what=what,
            name=name,
            choices=", ".join(choices),
        )


class DatabaseUnavailable(KocurateError):
    """The database refused the work for a reason the user can act on (read-only, full, busy,
    corrupt, down).

    Raised in place of the driver's error so that pages and the CLI show one plain sentence; the
    transaction has been rolled back, so nothing was half-written.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # read_only | full | busy | corrupt | unreachable


class InvalidText(UsageError):
    """Text the database cannot store as given (a NUL character, an unpaired surrogate); nothing was
    saved."""
