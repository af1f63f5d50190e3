"""Evaluation-set contamination: training samples that contain KoBEST / KorQuAD passages, questions,
answers.

Reference sets are read into ``EvalSet``/``EvalItem`` rows (``read_evalset``). Matching is by
character n-grams over a normalized form (NFKC, lower case, whitespace and punctuation removed), so
re-spacing, re-punctuating or re-wrapping a passage does not hide it. An item counts as contained
when most of its n-grams occur in one sample; items shorter than ``MIN_CHARS`` normalized characters
(a one-word answer, a two-word review) are too common to be evidence and are not indexed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from ..errors import ImportFailed
from ..i18n import N_
from ..models import EvalItem, EvalSet
from .base import Check, Finding, RunContext, SampleView, register

N = 10  # n-gram length in normalized characters
MIN_CHARS = 12
MATCH_FRACTION = 0.6
PROBE_STRIDE = MIN_CHARS - N + 1  # = the fewest n-grams an indexed item has
_NOISE = re.compile(r"[\W_]+", re.U)

KINDS = (
    "kobest_boolq",
    "kobest_copa",
    "kobest_hellaswag",
    "kobest_sentineg",
    "kobest_wic",
    "korquad",
    "kobest",
)

# KoBEST TSV columns that hold text worth indexing, per task: column -> item field
KOBEST_COLUMNS: dict[str, dict[str, str]] = {
    "boolq": {"Text": "passage", "Question": "question"},
    "copa": {"sentence": "sentence", "1": "choice", "2": "choice"},
    "hellaswag": {
        "context": "passage",
        "choice1": "choice",
        "choice2": "choice",
        "choice3": "choice",
        "choice4": "choice",
    },
    "sentineg": {"Text": "sentence"},
    "wic": {"SENTENCE1": "sentence", "SENTENCE2": "sentence"},
}


def normalize(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def ngrams(norm: str) -> set[int]:
    return {hash(norm[i : i + N]) for i in range(len(norm) - N + 1)}


def _kobest_task(kind: str, path: Path, header: list[str]) -> str:
    if kind.startswith("kobest_"):
        return kind.removeprefix("kobest_")
    name = path.name.lower()
    for task in KOBEST_COLUMNS:
        if name.startswith(task):
            return task
    for task, cols in KOBEST_COLUMNS.items():  # guess from the header
        if set(cols) <= set(header):
            return task
    raise ImportFailed(
        path.name, "header", None, f"cannot tell which KoBEST task this is: {header}"
    )


def read_evalset(kind: str, path: str | Path) -> Iterator[tuple[str, str]]:
    """(field, text) items of a reference set file. ``kind``: kobest[_task] or korquad."""
    p = Path(path)
    if not p.exists():
        raise ImportFailed(str(p), "file", None, "file not found")
    if kind == "korquad":
        try:
            data = json.loads(p.read_text(encoding="utf-8-sig"))
            articles = data["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportFailed(p.name, "file", "data", f"not SQuAD v1 JSON: {exc}") from exc
        for a_i, art in enumerate(articles):
            for p_i, para in enumerate(art.get("paragraphs", [])):
                if "context" not in para:
                    raise ImportFailed(
                        p.name, f"data[{a_i}].paragraphs[{p_i}]", "context", "missing"
                    )
                yield "passage", para["context"]
                for qa in para.get("qas", []):
                    yield "question", qa.get("question", "")
                    for ans in qa.get("answers", []):
                        yield "answer", ans.get("text", "")
        return
    if not kind.startswith("kobest"):
        raise ImportFailed(
            p.name, "file", None, f"unknown evaluation-set kind {kind!r}; known: {', '.join(KINDS)}"
        )
    # CRLF line ends and a missing final newline are both fine for the csv module
    text = p.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if not header:
        raise ImportFailed(p.name, "line 1", None, "empty file")
    header = [h.strip() for h in header]
    cols = KOBEST_COLUMNS[_kobest_task(kind, p, header)]
    where = {c: header.index(c) for c in cols if c in header}
    if not where:
        raise ImportFailed(
            p.name, "line 1", None, f"none of the columns {list(cols)} in the header"
        )
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ImportFailed(
                p.name, f"line {line_no}", None, f"{len(row)} columns, expected {len(header)}"
            )
        for col, i in where.items():
            value = row[i].replace("[", "").replace("]", "") if cols[col] == "sentence" else row[i]
            yield cols[col], value.strip()


class EvalIndex:
    """n-gram hash -> eval items, built from the EvalItem table."""

    def __init__(self) -> None:
        self.index: dict[int, list[int]] = defaultdict(list)
        self.items: dict[
            int, tuple[str, str, int, str]
        ] = {}  # id -> (set name, field, n-grams, preview)
        self.keys: frozenset[int] = frozenset()

    def add(self, item_id: int, set_name: str, field: str, text: str) -> bool:
        norm = normalize(text)
        if len(norm) < MIN_CHARS:
            return False
        grams = ngrams(norm)
        self.items[item_id] = (set_name, field, len(grams), text[:80])
        for g in grams:
            self.index[g].append(item_id)
        return True

    def freeze(self) -> None:
        self.keys = frozenset(self.index)

    def match(self, text: str) -> list[tuple[int, float]]:
        """(item id, share of its n-grams found) for items mostly contained in ``text``."""
        norm = normalize(text)
        # every indexed item has >= PROBE_STRIDE n-grams, so one of them starts at a multiple of the
        # stride whenever the item is in the text: a strided probe rejects clean text exactly
        keys = self.keys
        if not any(
            hash(norm[i : i + N]) in keys for i in range(0, len(norm) - N + 1, PROBE_STRIDE)
        ):
            return []
        hits = ngrams(norm) & keys
        if not hits:
            return []
        counts: Counter[int] = Counter()
        for g in hits:
            counts.update(self.index[g])
        out = []
        for item_id, c in counts.items():
            share = c / self.items[item_id][2]
            if share >= MATCH_FRACTION:
                out.append((item_id, share))
        return out


def build_index(session) -> EvalIndex:  # type: ignore[no-untyped-def]
    idx = EvalIndex()
    names = dict(session.execute(select(EvalSet.id, EvalSet.name)).all())
    last = 0
    while True:  # keyset pages: a full KorQuAD + KoBEST is ~100k items
        rows = session.execute(
            select(EvalItem.id, EvalItem.eval_set_id, EvalItem.field, EvalItem.text)
            .where(EvalItem.id > last)
            .order_by(EvalItem.id)
            .limit(20_000)
        ).all()
        if not rows:
            break
        for item_id, set_id, field, text in rows:
            idx.add(item_id, names.get(set_id, str(set_id)), field, text)
        last = rows[-1][0]
    idx.freeze()
    return idx


@register
class Contamination(Check):
    name = "contamination"
    label = N_("Evaluation-set contamination")
    description = N_(
        "Sample contains a passage, question or answer of an evaluation set (KoBEST, KorQuAD)"
    )
    severity = "error"
    family = "contamination"
    flag = "other"
    cheap = False

    def __init__(self) -> None:
        self.idx: EvalIndex | None = None

    def prepare(self, ctx: RunContext) -> None:
        if "evalindex" not in ctx.stats:
            ctx.stats["evalindex"] = (
                build_index(ctx.session) if ctx.session is not None else EvalIndex()
            )
        self.idx = ctx.stats["evalindex"]

    def run(self, sample: SampleView) -> list[Finding]:
        if self.idx is None or not self.idx.keys:
            return []
        out: list[Finding] = []
        for t in sample.turns:
            if len(t.text) < MIN_CHARS:
                continue
            found = self.idx.match(t.text)
            if not found:
                continue
            by_set: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
            for item_id, share in found:
                set_name, field, _, preview = self.idx.items[item_id]
                by_set[set_name].append((field, share, preview))
            for set_name, items in by_set.items():
                fields = Counter(f for f, _, _ in items)
                best = max(items, key=lambda x: x[1])
                out.append(
                    self.finding(
                        N_(
                            "contains {fields} of evaluation set {name!r}, e.g. {text!r}"
                            " ({share:.0%} of its n-grams)"
                        ),
                        params={
                            "fields": ", ".join(f"{n} {f}(s)" for f, n in fields.items()),
                            "name": set_name,
                            "text": best[2][:50],
                            "share": best[1],
                        },
                        turn=t,
                        eval_set=set_name,
                        fields=dict(fields),
                    )
                )
        return out
