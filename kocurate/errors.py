"""Every error a person may see, in one place: services raise them, the CLI and pages show them.

::

                                                                                  CLI exit code
    KocurateError                    a plain message (the base; msgid + params)        1
    ├── UsageError                   bad input: a value, a name, a file's line/field   2
    │   ├── ImportFailed                     a source file's line/record and field
    │   ├── UnknownName                      a registry has no such entry (lists the choices)
    │   └── InvalidText                      text no database can store (NUL, lone surrogate)
    ├── NotFound                     no such dataset, sample, turn, job …              3
    ├── PermissionDenied             the role may not (checked in services, not UI)    4
    │   └── AuthError                        wrong password, locked or unknown user
    ├── Conflict                     someone else was first                            5
    │   ├── StaleVersion                     a save based on an old version (carries their text)
    │   └── AlreadyImported                  the same files were imported before
    ├── ConfigError                  missing or wrong settings (DeepL key, URLs)       6
    └── DatabaseUnavailable          read-only, full, busy, corrupt or unreachable     7

Other modules subclass these for their own failures (``translate.client.TranslateError``,
``services.jobs.JobError`` …) and inherit the exit code. An error carries an English ``msgid``
with named placeholders and its ``params``: ``kocurate.i18n.message(exc)`` shows it in the page's
language, ``str(exc)`` is the English sentence (the CLI, logs). The CLI exits with the error's
``exit_code`` (the column above; the README lists them): a script can tell "fix your command" (2)
from "log in as a lead" (4) or "retry later" (7) without parsing the message. 1 is a command whose
work itself failed (a job, a budget, a gate); 0 is success. The CLI's own checks of option values
exit with 2 as well, as click does for the options it checks itself.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .i18n import N_, part, render

# The CLI's exit codes, one per family of errors below (documented in the README).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_PERMISSION = 4
EXIT_CONFLICT = 5
EXIT_CONFIG = 6
EXIT_UNAVAILABLE = 7


class KocurateError(Exception):
    """Base for errors a user should see as a plain message.

    ``KocurateError("text")`` is a message nobody translates; ``KocurateError(msgid="no sample
    {sample}", sample=3)`` one the pages translate (the msgid is English, the catalog has Korean).
    """

    exit_code: ClassVar[int] = EXIT_FAILED

    def __init__(
        self, message: str | None = None, *args: Any, msgid: str | None = None, **params: Any
    ) -> None:
        self.msgid = msgid
        self.params = params
        if message is None:
            message = msgid.format(**params) if msgid else ""
        super().__init__(message, *args)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its state, not by calling __init__ again with ``args`` (subclasses take
        # other arguments): an error raised in a worker process reaches the parent whole
        return _restore_error, (type(self), self.args, dict(self.__dict__))


def _restore_error(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class UsageError(KocurateError):
    """Bad input: the message names the value, the field or the line."""

    exit_code: ClassVar[int] = EXIT_USAGE


class NotFound(KocurateError):
    """No such dataset, sample, turn, job, user …"""

    exit_code: ClassVar[int] = EXIT_NOT_FOUND


class PermissionDenied(KocurateError):
    """The user's role may not do this (checked in the service layer, not only in the UI)."""

    exit_code: ClassVar[int] = EXIT_PERMISSION


class AuthError(PermissionDenied):
    pass


class Conflict(KocurateError):
    """Someone else changed or created it first."""

    exit_code: ClassVar[int] = EXIT_CONFLICT


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
        # set by the import when the file looks like another kind (shown under the error)
        self.hint: str | None = None
        place = f"{file}, {where}" + (f", field '{field}'" if field else "")
        why: Any = part(reason_id, **reason_params) if reason_id else reason
        super().__init__(
            f"{place}: {reason}",
            msgid=N_("{file}, {where}, field '{field}': {reason}")
            if field
            else N_("{file}, {where}: {reason}"),
            file=file,
            where=where_part(where),
            field=field,
            reason=why,
        )

    def place(self) -> str:
        """Where (``line 3``, ``record 2, line 5``, ``file``) in the current language."""
        where = where_part(self.where)
        return render(where) if isinstance(where, dict) else str(where)


_WHERE = (
    (re.compile(r"line (?P<line>\d+)"), N_("line {line}")),
    (re.compile(r"record (?P<record>\d+)"), N_("record {record}")),
    (re.compile(r"record (?P<record>\d+), line (?P<line>\d+)"), N_("record {record}, line {line}")),
    (re.compile(r"file"), N_("file")),
    (re.compile(r"folder"), N_("folder")),
)


def where_part(where: str) -> Any:
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

    exit_code: ClassVar[int] = EXIT_CONFIG


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

    exit_code: ClassVar[int] = EXIT_UNAVAILABLE

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # read_only | full | busy | corrupt | unreachable


class InvalidText(UsageError):
    """Text the database cannot store as given (a NUL character, an unpaired surrogate); nothing was
    saved."""
