"""Speech level (존댓말/반말) consistency of what the assistant says.

Each sentence's final ending is classified (합쇼체, 해요체, 해체, 해라체; ``analysis``). Findings:
a turn that mixes polite (합쇼체/해요체) and plain (해체/해라체) sentences; an assistant turn whose
politeness differs from the other assistant turns of the conversation; with a dataset target level
set by a lead (``services.korean.set_target_level``), sentences at another level.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ...i18n import N_
from ...models import Setting
from ..base import Finding, RunContext, SampleView, TurnView, register
from . import analysis as an
from .common import ANY_ROLE, TARGET_KEY, KoreanCheck, is_assistant


def _spans(endings: list[an.Ending], keep: set[str], limit: int = 20) -> list[list[Any]]:
    return [[e.start, e.end, e.level] for e in endings if e.level in keep][:limit]


@register
class SpeechLevel(KoreanCheck):
    name = "ko_speech_level"
    label = N_("Speech level")
    description = N_(
        "Speech level (합쇼체/해요체/해체/해라체) of the assistant's sentence endings: polite and"
        " plain "
        "mixed in a turn or across turns, or not the dataset's target level"
    )
    severity = "warning"
    flag = None
    # the minority must be at least this many sentences and this share of the turn's classified ones
    # (one plain sentence in a long polite answer is usually a quoted example or a title)
    MIN_MINORITY = 2
    MIN_SHARE = 0.2

    def __init__(self) -> None:
        self.cache = an.LevelCache()
        self.target: str | None = None

    def prepare(self, ctx: RunContext) -> None:
        self.target = None
        if ctx.session is not None and ctx.dataset_id is not None:
            row = ctx.session.scalar(
                select(Setting.value).where(Setting.key == TARGET_KEY.format(ctx.dataset_id))
            )
            level = (row or {}).get("level")
            self.target = level if level in an.LEVELS else None

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self._run([sample]))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        yield from self._run(samples)

    def _run(self, samples: list[SampleView]) -> Iterator[Finding]:
        turns = [
            (s, t)
            for s in samples
            for t in s.turns
            if t.text and (is_assistant(t) or t.role == ANY_ROLE)
        ]
        endings = an.turn_endings([t.text for _, t in turns], self.cache)
        by_sample: dict[int, list[tuple[TurnView, list[an.Ending]]]] = {}
        for (s, t), es in zip(turns, endings, strict=True):
            by_sample.setdefault(s.id, []).append((t, es))
        for s in samples:
            found = list(self._sample(by_sample.get(s.id, [])))
            for f in found:
                f.sample_id = s.id
            yield from found

    def _sample(self, items: list[tuple[TurnView, list[an.Ending]]]) -> Iterator[Finding]:
        majority: list[tuple[TurnView, bool, dict[str, int], list[an.Ending]]] = []
        for t, es in items:
            if self.target:
                yield from self._target(t, es, an.counts(es))
                continue
            # each speaker of a script ("레드: …") keeps their own level; the narrator is speaker ""
            groups: dict[str, list[an.Ending]] = {}
            for e in es:
                groups.setdefault(e.speaker, []).append(e)
            for speaker, ges in groups.items():
                f = self._mixed(t, ges, speaker)
                if f is not None:
                    yield f
            narrator = an.counts(groups.get("", []))
            n_polite, n_plain = (
                narrator["hapsyo"] + narrator["haeyo"],
                narrator["hae"] + narrator["haera"],
            )
            if is_assistant(t) and n_polite + n_plain:
                majority.append((t, n_polite >= n_plain, narrator, groups.get("", [])))
        if not self.target and len(majority) >= 2:
            n_pol = sum(1 for _, p, _, _ in majority if p)
            if 0 < n_pol < len(majority):
                conv_polite = n_pol * 2 >= len(majority)
                for t, p, c, es in majority:
                    if p != conv_polite:
                        keep = an.POLITE if p else {"hae", "haera"}
                        spans = _spans(es, set(keep))
                        msg = (
                            N_(
                                "this assistant turn speaks polite speech ({levels}); the other"
                                " assistant turns speak plain speech"
                            )
                            if p
                            else N_(
                                "this assistant turn speaks plain speech ({levels}); the other"
                                " assistant turns speak polite speech"
                            )
                        )
                        yield self.finding(
                            msg,
                            params={"levels": _names(c)},
                            turn=t,
                            span=(spans[0][0], spans[0][1]) if spans else None,
                            counts=c,
                            endings=spans,
                            kind="mixed_across_turns",
                        )

    def _mixed(self, t: TurnView, es: list[an.Ending], speaker: str) -> Finding | None:
        c = an.counts(es)
        n_polite, n_plain = c["hapsyo"] + c["haeyo"], c["hae"] + c["haera"]
        n_min = min(n_polite, n_plain)
        # a named speaker who switches once is already inconsistent; the narrator needs more
        if (
            n_min < (1 if speaker else self.MIN_MINORITY)
            or n_min / (n_polite + n_plain) < self.MIN_SHARE
        ):
            return None
        keep = an.POLITE if n_polite < n_plain else {"hae", "haera"}
        spans = _spans(es, set(keep))
        msg = (
            N_(
                "polite and plain speech mixed ({speaker!r}'s lines): {polite} polite and {plain}"
                " plain sentence endings ({levels})"
            )
            if speaker
            else N_(
                "polite and plain speech mixed: {polite} polite and {plain} plain sentence endings"
                " ({levels})"
            )
        )
        return self.finding(
            msg,
            params={"speaker": speaker, "polite": n_polite, "plain": n_plain, "levels": _names(c)},
            turn=t,
            span=(spans[0][0], spans[0][1]),
            counts=c,
            endings=spans,
            kind="mixed_in_turn",
            speaker=speaker,
        )

    def _target(self, t: TurnView, es: list[an.Ending], c: dict[str, int]) -> Iterator[Finding]:
        off = [e for e in es if e.level and e.level != self.target]
        if not off:
            return
        politeness_differs = any(an.polite(e.level) != an.polite(self.target) for e in off)
        spans = [[e.start, e.end, e.level] for e in off][:20]
        target = an.LEVEL_NAMES[self.target or ""]
        yield self.finding(
            N_("{n} sentence ending(s) not in the target level {target} ({levels})"),
            params={"n": len(off), "target": target, "levels": _names(c)},
            turn=t,
            span=(off[0].start, off[0].end),
            severity="warning" if politeness_differs else "info",
            counts=c,
            endings=spans,
            target=self.target,
            kind="off_target",
        )


def _names(c: dict[str, int]) -> str:
    return ", ".join(f"{an.LEVEL_NAMES[k]} {v}" for k, v in c.items() if v)
