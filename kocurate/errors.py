"""Domain errors: services raise these; the CLI and pages turn them into messages."""

from __future__ import annotations

from typing import Any


class KocurateError(Exception):
    """Base for errors a user should see as a plain message."""


class NotFound(KocurateError):
    pass


class PermissionDenied(KocurateError):
    """The user's role may not do this (checked in the service layer, not only in the UI)."""


class AuthError(KocurateError):
    pass


class AlreadyImported(KocurateError):
    def __init__(self, message: str, dataset_id: int) -> None:
        super().__init__(message)
        self.dataset_id = dataset_id


class ImportFailed(KocurateError):
    """Bad input: names the file, the line or record index and the field."""

    def __init__(self, file: str, where: str, field: str | None, reason: str) -> None:
        self.file, self.where, self.field, self.reason = file, where, field, reason
        place = f"{file}, {where}" + (f", field '{field}'" if field else "")
        super().__init__(f"{place}: {reason}")


class StaleVersion(KocurateError):
    """A save based on an old version: someone else saved first. Carries their text."""

    def __init__(self, message: str, current_version: int, current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.current = current or {}


class ConfigError(KocurateError):
    pass


class UnknownName(KocurateError, LookupError):
    """A name no registry entry has (an import kind, a check, an export format, a job kind)."""

    def __init__(self, what: str, name: str, choices: list[str]) -> None:
        self.what, self.name, self.choices = what, name, choices
        super().__init__(f"unknown {what} {name!r}; one of: {', '.join(choices)}")
