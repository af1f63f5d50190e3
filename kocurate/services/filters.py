"""One sample filter: which samples a review queue hands out, a DeepL batch re-translates, a bulk
action touches, and a dashboard or checks link opens.

``SampleFilter`` is a dataclass of plain values (it travels in job parameters and URLs) that turns
into SQL conditions on ``Sample``. Each condition reads an index or a small table (flags, findings,
suggestions, claims) through ``IN (subquery)``, so it holds at 700k samples. A finding counts while
it is open: states in ``models.CLOSED_FINDING_STATES`` (cleared, resolved) never select a sample,
for every user of the filter alike. The dataset reference (an id or a name) is resolved once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..errors import NotFound, UsageError
from ..i18n import N_
from ..models import (
    CLOSED_FINDING_STATES,
    ETHICS_FLAGS,
    QUALITY_FLAGS,
    STATUSES,
    CheckFinding,
    Claim,
    Dataset,
    Flag,
    Sample,
    Suggestion,
    utcnow,
)
from .auth import Actor

ALL_FLAGS = ETHICS_FLAGS + QUALITY_FLAGS
SUGGESTION_STATES = ("open", "accepted", "rejected")
# the filter fields a link to the Review page carries (``review?dataset=3&check=untranslated``)
LINK_FIELDS = ("dataset", "status", "flag", "check", "suggestion", "job")


def open_findings(
    check: str | None = None,
    *,
    prefixes: Sequence[str] = (),
    severity: str | None = None,
) -> Any:
    """Sample ids with an open finding: of ``check`` when given, of a check whose name starts with
    one of ``prefixes`` (``contamination`` covers ``contamination_kobest`` …), of ``severity``.

    "Open" is every state but ``CLOSED_FINDING_STATES``: a finding a person *confirmed* still holds.
    """
    q = select(CheckFinding.sample_id).where(CheckFinding.state.notin_(CLOSED_FINDING_STATES))
    if check:
        q = q.where(CheckFinding.check == check)
    if prefixes:
        q = q.where(or_(*(CheckFinding.check.startswith(p, autoescape=True) for p in prefixes)))
    if severity:
        q = q.where(CheckFinding.severity == severity)
    return q


def open_flags(categories: str | Sequence[str]) -> Any:
    """Sample ids with a flag of ``categories`` (one or several) that is not cleared."""
    cats = [categories] if isinstance(categories, str) else list(categories)
    cond = Flag.category == cats[0] if len(cats) == 1 else Flag.category.in_(cats)
    return select(Flag.sample_id).where(cond, Flag.state != "cleared")


def resolve_dataset(session: Session, ref: int | str | None) -> int | None:
    """A dataset id from an id or a name (None for none); an unknown one raises NotFound."""
    if ref in (None, ""):
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        ds = session.get(Dataset, int(ref))
    else:
        ds = session.scalar(select(Dataset).where(Dataset.name == str(ref)))
    if ds is None:
        raise NotFound(msgid=N_("no dataset {ref!r}"), ref=ref)
    return ds.id


@dataclass
class SampleFilter:
    """Which samples to select. Empty fields select everything; ``status=None`` means any status."""

    dataset: int | str | None = None  # id or name
    status: str | None = None
    flag: str | None = None  # a flag category that is not cleared
    check: str | None = None  # an open finding of this automatic check
    text: str | None = None  # Korean or English text contains this (search index)
    min_len: int | None = None  # Korean characters
    max_len: int | None = None
    has_source: bool | None = None  # has an English source
    max_confidence: float | None = None  # alignment confidence at most this
    mine: bool = False  # only samples claimed by me (assigned to me)
    suggestion: str | None = (
        None  # open | accepted | rejected: has a machine suggestion in that state
    )
    job: int | None = None  # has a suggestion made by this (DeepL batch) job
    sample_ids: list[int] | None = None
    _dataset_id: int | None = field(default=None, init=False, repr=False, compare=False)

    def dataset_id(self, session: Session) -> int | None:
        """The dataset's id, looked up once per filter."""
        if self._dataset_id is None and self.dataset not in (None, ""):
            self._dataset_id = resolve_dataset(session, self.dataset)
        return self._dataset_id

    def validate(self) -> None:
        """Refuse values no sample can have, naming the field and the choices."""
        if self.status and self.status not in STATUSES:
            raise UsageError(
                msgid=N_("unknown status {status!r}; one of {statuses}"),
                status=self.status,
                statuses=", ".join(STATUSES),
            )
        if self.flag and self.flag not in ALL_FLAGS:
            raise UsageError(msgid=N_("unknown flag {flag!r}"), flag=self.flag)
        if self.suggestion and self.suggestion not in SUGGESTION_STATES:
            raise UsageError(
                msgid=N_("suggestion filter is open, accepted or rejected, not {suggestion!r}"),
                suggestion=self.suggestion,
            )

    def conditions(self, session: Session, actor: Actor | None = None) -> list[ColumnElement[bool]]:
        """SQL conditions on ``Sample``; ``mine`` needs the actor whose claims count."""
        self.validate()
        conds: list[ColumnElement[bool]] = []
        ds = self.dataset_id(session)
        if ds is not None:
            conds.append(Sample.dataset_id == ds)
        if self.status:
            conds.append(Sample.status == self.status)
        if self.flag:
            # IN (not a correlated EXISTS): the few flagged samples drive the scan
            # (ix_flags_category_state)
            conds.append(Sample.id.in_(open_flags(self.flag)))
        if self.check:
            conds.append(Sample.id.in_(open_findings(self.check)))
        if self.text and self.text.strip():
            from . import search

            conds.append(Sample.id.in_(search.matching_samples(session, self.text)))
        conds += self._number_conditions()
        if self.mine:
            if actor is None:
                raise UsageError(msgid=N_("the 'mine' filter needs a signed-in user"))
            conds.append(
                Sample.id.in_(
                    select(Claim.sample_id).where(
                        Claim.user_id == actor.id,
                        Claim.expires_at > utcnow(),
                        Claim.done.is_(False),
                    )
                )
            )
        if self.suggestion:
            conds.append(
                Sample.id.in_(
                    select(Suggestion.sample_id).where(Suggestion.state == self.suggestion)
                )
            )
        if self.job is not None:
            # ix_suggestions_job: the job's few suggestions drive the scan
            conds.append(
                Sample.id.in_(
                    select(Suggestion.sample_id).where(Suggestion.job_id == int(self.job))
                )
            )
        if self.sample_ids:
            conds.append(Sample.id.in_([int(i) for i in self.sample_ids]))
        return conds

    def _number_conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.min_len is not None:
            conds.append(Sample.ko_chars >= self.min_len)
        if self.max_len is not None:
            conds.append(Sample.ko_chars <= self.max_len)
        if self.has_source is True:
            conds.append(Sample.en_chars > 0)
        elif self.has_source is False:
            conds.append(Sample.en_chars == 0)
        if self.max_confidence is not None:
            conds.append(Sample.align_confidence <= self.max_confidence)
        return conds

    @classmethod
    def parse(cls, items: list[str]) -> SampleFilter:
        """From ``KEY=VALUE`` strings (the CLI's ``--where check=untranslated``): numbers, yes/no
        and comma-separated ids are converted; an unknown key or a bad value names itself."""
        values: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            key, raw = key.strip().replace("-", "_"), raw.strip()
            if not sep or key not in FILTER_KEYS:
                raise UsageError(
                    msgid=N_("a filter is KEY=VALUE with KEY one of {keys}; got {item!r}"),
                    keys=", ".join(FILTER_KEYS),
                    item=item,
                )
            values[key] = _convert(key, raw)
        f = cls(**values)
        f.validate()
        return f

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Any:
        """From ``to_dict``'s output (job parameters); unknown keys are ignored."""
        d = d or {}
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.init and f.name in d})

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in asdict(self).items()
            if v not in (None, [], "", False) and not k.startswith("_")
        }

    def link_params(self) -> dict[str, str]:
        """The query parameters of a Review page link that opens this filter's queue."""
        return {k: str(getattr(self, k)) for k in LINK_FIELDS if getattr(self, k) not in (None, "")}

    @classmethod
    def from_link(cls, params: Any) -> SampleFilter:
        """From a Review page link's query parameters (strings); unknown values are left out."""
        get = params.get
        job = get("job")
        return cls(
            dataset=get("dataset") or None,
            status=get("status") or None,
            flag=get("flag") or None,
            check=get("check") or None,
            suggestion=get("suggestion") or None,
            job=int(job) if job and str(job).isdigit() else None,
        )


# the fields a filter can be given as text (``mine`` needs a signed-in person, not a value)
FILTER_KEYS = tuple(f.name for f in fields(SampleFilter) if f.init and f.name != "mine")
_INTS = ("min_len", "max_len", "job")


def _convert(key: str, raw: str) -> Any:
    try:
        if key in _INTS:
            return int(raw)
        if key == "max_confidence":
            return float(raw)
        if key == "sample_ids":
            return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise UsageError(
            msgid=N_("filter {key}: expected a number, got {raw!r}"), key=key, raw=raw
        ) from None
    if key == "has_source":
        low = raw.lower()
        if low not in ("yes", "no", "true", "false", "1", "0"):
            raise UsageError(msgid=N_("filter has_source: yes or no, got {raw!r}"), raw=raw)
        return low in ("yes", "true", "1")
    return raw or None


def review_link(f: SampleFilter, sample: int | None = None, prefix: str = "/review") -> str:
    """The Review page's address for a filter, e.g. ``/review?dataset=3&check=untranslated``."""
    params = f.link_params()
    if sample is not None:
        params["sample"] = str(sample)
    return prefix + (f"?{urlencode(params)}" if params else "")
