"""What a check is: a name, a description, a severity and ``run(sample) -> findings``.

Checks see plain, read-only views of a sample (no ORM objects), so they are cheap to build in
bulk and trivial to test. A check that needs dataset-level context (length-ratio statistics, the
evaluation-set index, neighbouring rows) gets it in ``prepare`` or overrides ``run_batch``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add, attrgetter
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ..errors import KocurateError
from ..i18n import SOURCE_LANGUAGE, part, render
from ..registry import Registry

SEVERITIES = ("info", "warning", "error")
Gate = tuple[str | re.Pattern[str], ...]
SEP = "\uffff"  # between the turns of a joined batch: a non-character no gate matches


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
    # What a turn must hold for ``run`` to find anything in it: a literal or a pattern of
    # ``gate_text`` in its Korean text, or of ``gate_source`` in its English source. ``run_batch``
    # then runs ``run`` only on the samples that have such a turn, found with one scan of the
    # batch's text (``BatchText``) instead of a look at every turn by every check. A gate must be
    # a necessary condition (``tests/test_check_gates.py`` compares both ways on real rows);
    # a gate pattern must not use ``^``, ``$`` or look-behinds (the turns are joined).
    gate_text: ClassVar[Gate] = ()
    gate_source: ClassVar[Gate] = ()

    def prepare(self, ctx: RunContext) -> None:
        """Called once per run before any sample (load statistics, indexes, models)."""

    def run(self, sample: SampleView) -> list[Finding]:
        raise NotImplementedError

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        """Findings for a keyset batch of samples (in id order); override to look at neighbours."""
        if (self.gate_text or self.gate_source) and len(samples) > 1:
            bt = batch_text(samples)
            samples = [samples[i] for i in bt.marked(self.gate_text, self.gate_source)]
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


class BatchText:
    """The turns of a batch joined into one text per side (Korean text, English source), so that
    a check finds the few turns holding a rare marker (a URL, a code fence, a digit) with one scan
    of C code instead of a Python step per turn: 21 cheap checks looked at every turn of every
    sample, about 0.85 µs each per sample before they tested anything."""

    def __init__(self, samples: list[SampleView]) -> None:
        self.samples = samples
        self.n = len(samples)
        self._first: list[int] | None = None  # where each sample's turns start, turn positions
        self._sides: dict[bool, tuple[str, list[int]]] = {}
        self._marked: dict[tuple[Gate, Gate], list[int]] = {}

    def side(self, source: bool) -> tuple[str, list[int]]:
        """(the joined text of one side, where each turn starts in it)."""
        got = self._sides.get(source)
        if got is None:
            if source:
                texts = [t.source_text or "" for s in self.samples for t in s.turns]
            else:
                texts = [t.text or "" for s in self.samples for t in s.turns]
            # C loops only: this runs once per batch and side for all the checks
            starts = list(accumulate(map(add, map(len, texts), repeat(1)), initial=0))
            got = self._sides[source] = (SEP.join(texts), starts[:-1])
        return got

    def _owner(self, k: int) -> int:
        """The index of the sample that turn position ``k`` belongs to."""
        if self._first is None:
            turns = map(len, map(attrgetter("turns"), self.samples))
            self._first = list(accumulate(turns, initial=0))[:-1]
        return bisect_right(self._first, k) - 1

    def marked(self, gate_text: Gate, gate_source: Gate) -> list[int]:
        """Indices of the samples with a turn that holds one of ``gate_text`` in its text or one
        of ``gate_source`` in its source, in order."""
        got = self._marked.get((gate_text, gate_source))
        if got is None:
            got = self._marked[gate_text, gate_source] = self._mark(gate_text, gate_source)
        return got

    def _mark(self, gate_text: Gate, gate_source: Gate) -> list[int]:
        hit: set[int] = set()
        for source, gate in ((False, gate_text), (True, gate_source)):
            if not gate:
                continue
            big, starts = self.side(source)
            last = len(starts) - 1
            for g in gate:
                pos = 0
                while True:
                    if isinstance(g, str):
                        at = big.find(g, pos)
                    else:
                        m = g.search(big, pos)
                        at = m.start() if m else -1
                    if at < 0:
                        break
                    k = bisect_right(starts, at) - 1
                    hit.add(self._owner(k))
                    if k == last:
                        break
                    pos = starts[k + 1]  # the rest of this turn does not matter
        return sorted(hit)


_last_batch: BatchText | None = None


def batch_text(samples: list[SampleView]) -> BatchText:
    """The ``BatchText`` of ``samples``: the checks of a run get the same batch list in turn, so the
    last one is kept (with a reference, so the list's identity cannot be reused)."""
    global _last_batch
    b = _last_batch
    if b is None or b.samples is not samples or b.n != len(samples):
        b = _last_batch = BatchText(samples)
    return b


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
