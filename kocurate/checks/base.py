"""What a check is: a name, a description, a severity and ``run(sample) -> findings``.

Checks see plain, read-only views of a sample (no ORM objects), so they are cheap to build in
bulk and trivial to test. A check that needs dataset-level context (length-ratio statistics, the
evaluation-set index, neighbouring rows) gets it in ``prepare`` or overrides ``run_batch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ..errors import KocurateError
from ..i18n import SOURCE_LANGUAGE, part, render
from ..registry import Registry

SEVERITIES = ("info", "warning", "error")


@dataclass(slots=True)
class TurnView:
    idx: int
    role: str
    text: str
    source_text: str | None = None
    source_kind: str | None = None  # "translation" | "reference" | None

    @property
    def translated(self) -> bool:
        """The Korean text was machine-translated from ``source_text`` (so they must agree)."""
        return self.source_kind == "translation" and bool(self.source_text)


@dataclass(slots=True)
class SampleView:
    id: int
    dataset_id: int
    turns: list[TurnView]
    version: int = 1
    key: str = ""
    position: int = 0
    align_status: str = "none"
    align_confidence: float | None = None
    kind: str = ""  # the dataset's import kind

    def turn(self, role: str) -> TurnView | None:
        return next((t for t in self.turns if t.role == role), None)


@dataclass(slots=True)
class Finding:
    """One thing a check found: where (turn, span), why (message), and what to pre-flag."""

    check: str
    message: str
    severity: str = "warning"
    turn_idx: int | None = None
    span: tuple[int, int] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    flag: str | None = None  # Flag category to suggest (ethics or quality), or None
    sample_id: int | None = None  # filled in by the runner

    def row(self, sample_id: int, dataset_id: int, now: Any) -> dict[str, Any]:
        """The ``CheckFinding`` row that stores this finding (open, found ``now``)."""
        return {
            "sample_id": sample_id,
            "dataset_id": dataset_id,
            "check": self.check,
            "severity": self.severity,
            "turn_idx": self.turn_idx,
            "span_start": self.span[0] if self.span else None,
            "span_end": self.span[1] if self.span else None,
            "message": self.message[:2000],
            "data": self.data,
            "state": "open",
            "created_at": now,
        }


@dataclass
class RunContext:
    """What checks may look at besides the sample: the session and per-dataset statistics."""

    session: Session | None = None
    dataset_id: int | None = None
    dataset_kind: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


class Check:
    """Base class: subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str] = ""  # the identifier (CLI, links, the database); never translated
    label: ClassVar[str] = ""  # a short name for people, marked N_() and shown with _()
    description: ClassVar[str] = ""  # marked N_(), shown with _() (checks.texts.check_description)
    severity: ClassVar[str] = "warning"
    family: ClassVar[str] = "translation"  # translation | quality | ethics | contamination | dedup
    # the Flag category an error-level finding suggests (None: finding only)
    flag: ClassVar[str | None] = None
    # cheap rule checks run right after import; heavier ones only when asked
    cheap: ClassVar[bool] = True
    # deep checks (the Korean analyser family) run only when named or asked for with ``deep=True``
    deep: ClassVar[bool] = False

    def prepare(self, ctx: RunContext) -> None:
        """Called once per run before any sample (load statistics, indexes, models)."""

    def run(self, sample: SampleView) -> list[Finding]:
        raise NotImplementedError

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        """Findings for a keyset batch of samples (in id order); override to look at neighbours."""
        for s in samples:
            for f in self.run(s):
                f.sample_id = s.id
                yield f

    def finding(
        self,
        message: str,
        *,
        turn: TurnView | None = None,
        span: tuple[int, int] | None = None,
        severity: str | None = None,
        flag: str | None | bool = True,
        params: dict[str, Any] | None = None,
        **data: Any,
    ) -> Finding:
        """A finding of this check. With ``params`` (``{}`` for a fixed text), ``message`` is a
        message id marked ``N_()`` with ``{name}`` fields: the stored ``message`` is its English
        text, and ``data["i18n"]`` keeps id + params so pages show it in the reader's language."""
        sev = severity or self.severity
        cat = (self.flag if sev == "error" else None) if flag is True else (flag or None)
        if params is not None:
            spec = part(message, **params)
            message = render(spec, SOURCE_LANGUAGE)
            data = {**data, "i18n": spec}
        return Finding(self.name, message, sev, turn.idx if turn else None, span, data, cat)


REGISTRY: Registry[type[Check]] = Registry("check")


def register(cls: type[Check]) -> type[Check]:
    if cls.severity not in SEVERITIES:
        raise KocurateError(f"check {cls.name}: unknown severity {cls.severity!r}")
    return REGISTRY.register(cls.name, cls)


def select_checks(
    only: Iterable[str] | None = None, *, cheap_only: bool = False, deep: bool = False
) -> list[Check]:
    """Fresh instances of the named checks (all registered ones but the deep ones when ``only`` is
    empty; with ``deep`` those too)."""
    names = list(only or [])
    REGISTRY.require(names)
    classes = [REGISTRY[n] for n in names] if names else list(REGISTRY.values())
    if not names and not deep:
        classes = [c for c in classes if not c.deep]
    if cheap_only:
        classes = [c for c in classes if c.cheap]
    return [c() for c in classes]
