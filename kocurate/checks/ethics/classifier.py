"""A trainable ethics classifier: character, jamo and morpheme n-gram TF-IDF, and per category a
blend of a logistic regression and an NB-weighted one.

Leads train it on labelled data they have (``kocurate ethics train``):

* the AIHub ethics verification format: talksets ``{id, sentences: [{text, types: [CENSURE|HATE|
  DISCRIMINATION|SEXUAL|ABUSE|VIOLENCE|CRIME|IMMORAL_NONE], is_immoral, intensity}]}`` (a JSON list,
  ``{"talksets": [...]}`` or one talkset per JSONL line);
* the kocohub hate-speech TSV (``comments, contain_gender_bias, bias, hate``): ``hate`` → hate,
  ``offensive`` → censure (insult, contempt, sarcasm), a gender or other bias in a hateful or
  offensive comment → discrimination (a biased but polite comment counts as clean);
* ``text|label`` lines (label after the last ``|``): ``1`` → abuse (profanity), ``0`` → none, or a
  category name;
* JSONL ``{"text", "labels": [...]}`` as written by ``export_feedback`` from flags annotators
confirmed
  (a positive) or cleared (a negative) — the next training run learns from the review;
* the K-MHaS TSV (``document, label``; label = comma-separated ids), mapped to the AIHub categories:
  3 profanity → abuse; 0 origin, 1 physical, 2 politics, 4 age, 5 gender, 6 race, 7 religion (hate
  speech aimed at a group) → hate; of those, the attributes AIHub's DISCRIMINATION names (0 origin,
  4 age, 5 gender, 6 race, 7 religion) → also discrimination; 8 not hate speech → none;
* any CSV/TSV with a header, given ``ColumnSpec``: the text column, the label column,
``VALUE=category``
  mappings and the values that mean "unethical" (``--text-col``, ``--label-col``, ``--map``,
  ``--positive`` of ``kocurate ethics evaluate``). A positive value with no category counts for the
  binary figures only.

Korean text is noisy (spacing, elongation, jamo), which character n-grams tolerate well (of the
syllables and of the jamo they decompose into, so ``ㅅㅂ`` and ``씨ㅂ`` share features with
``씨발``); kiwi's morphemes add what spacing and inflection hide from them. Every category gets
its own decision threshold, tuned on a slice of the training data, and a binary "any category vs
none" head gates the decision (the task kocohub and the curse data label best): no category is
suggested unless the gate fires, which keeps plain instructions from being flagged.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ImportFailed, KocurateError, NotFound, UsageError
from ...i18n import N_
from ...models import ETHICS_FLAGS
from ..base import Check, Finding, RunContext, SampleView, register

MIN_POSITIVES = 15  # a category with fewer examples is not learned


def jamo(text: str) -> str:
    """Hangul syllables decomposed into their jamo (NFD), lower-cased: the model's second feature
    view."""
    return unicodedata.normalize("NFD", text.lower())


def morphemes(text: str) -> list[str]:
    """The model's third feature view: kiwi morphemes with their tags (``죽이/VV``) and adjacent
    pairs of them. Spacing-free and inflection-aware, so ``죽여버린다`` and ``죽이고`` share
    ``죽이/VV``; the character views cannot see that."""
    from ..korean.analysis import kiwi

    toks = [f"{t.form}/{t.tag}" for t in kiwi().tokenize(text)]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


class NBLogit:
    """NB-SVM style head (Wang & Manning 2012): each feature scaled by its log-count ratio between
    positives and negatives before a logistic regression, which lets rare but telling n-grams
    weigh more than plain TF-IDF gives them."""

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary  # scale presence (0/1) rather than the TF-IDF value
        self.ratio: Any = None
        self.clf: Any = None

    def _scaled(self, x: Any) -> Any:
        import scipy.sparse as sp

        if self.binary:
            x = (x > 0).astype("float64")
        return x @ sp.diags(self.ratio)

    def fit(self, x: Any, y: Sequence[int], c: float, seed: int = 0) -> NBLogit:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        yy = np.asarray(y)
        b = (x > 0).astype("float64") if self.binary else x
        pos = 1.0 + np.asarray(b[yy == 1].sum(0)).ravel()
        neg = 1.0 + np.asarray(b[yy == 0].sum(0)).ravel()
        self.ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        self.clf = LogisticRegression(
            C=c, max_iter=2000, class_weight="balanced", solver="liblinear", random_state=seed
        ).fit(self._scaled(x), yy)
        return self

    def predict_proba(self, x: Any) -> Any:
        return self.clf.predict_proba(self._scaled(x))


class Blend:
    """The average of its members' probabilities (a head made of several classifiers)."""

    def __init__(self, members: Sequence[Any]) -> None:
        self.members = list(members)

    def predict_proba(self, x: Any) -> Any:
        return sum(m.predict_proba(x) for m in self.members) / len(self.members)


@dataclass(slots=True)
class Example:
    text: str
    labels: frozenset[str]
    source: str  # file name it came from


def _kocohub(path: Path, text: str) -> Iterator[Example]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    try:
        ci, gi, bi, hi = (
            header.index(c) for c in ("comments", "contain_gender_bias", "bias", "hate")
        )
    except ValueError as exc:
        raise ImportFailed(
            path.name, "line 1", None, f"kocohub header expected, got {header}"
        ) from exc
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < len(header):
            raise ImportFailed(
                path.name, f"line {n}", None, f"{len(row)} columns, expected {len(header)}"
            )
        labels = set()
        hate = row[hi].strip().lower()
        if hate == "hate":
            labels.add("hate")
        elif hate == "offensive":
            labels.add("censure")
        # bias counts where the comment is also hateful or offensive: a biased but polite comment is
        # not what the AIHub categories (or kocohub's own binary task) call unethical
        if labels and (
            row[bi].strip().lower() in ("gender", "others") or row[gi].strip().lower() == "true"
        ):
            labels.add("discrimination")
        yield Example(row[ci].strip(), frozenset(labels), path.name)


def _pipe(path: Path, text: str) -> Iterator[Example]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        body, sep, label = line.rpartition("|")
        if not sep:
            raise ImportFailed(path.name, f"line {n}", None, "expected text|label")
        label = label.strip().lower()
        if label in ("1", "true", "yes"):
            labels = {"abuse"}
        elif label in ("0", "false", "no", "none", "immoral_none", ""):
            labels = set()
        elif label in ETHICS_FLAGS:
            labels = {label}
        else:
            raise ImportFailed(path.name, f"line {n}", "label", f"unknown label {label!r}")
        yield Example(body.strip(), frozenset(labels), path.name)


def _aihub_sentences(obj: Any, name: str) -> Iterator[Example]:
    talksets = obj.get("talksets", obj.get("data", [obj])) if isinstance(obj, dict) else obj
    for ts in talksets:
        if "text" in ts and "labels" in ts:  # feedback export
            yield Example(
                ts["text"], frozenset(lb for lb in ts["labels"] if lb in ETHICS_FLAGS), name
            )
            continue
        for sent in ts.get("sentences", []):
            types = {str(t).strip().lower() for t in sent.get("types", [])}
            yield Example(
                sent.get("text", ""), frozenset(t for t in types if t in ETHICS_FLAGS), name
            )


UNETHICAL = "unethical"  # the label of a positive without a category (binary evaluation data)
_KMHAS = {
    "0": ("hate", "discrimination"),
    "1": ("hate",),
    "2": ("hate",),
    "3": ("abuse",),
    "4": ("hate", "discrimination"),
    "5": ("hate", "discrimination"),
    "6": ("hate", "discrimination"),
    "7": ("hate", "discrimination"),
    "8": (),
}
ACCEPTED_FORMATS = (
    "AIHub ethics JSON/JSONL (talksets with sentences, types), feedback JSONL ({text, labels}), "
    "kocohub TSV (comments, contain_gender_bias, bias, hate), K-MHaS TSV (document, label), "
    "text|label lines (label 0/1 or a category), or any CSV/TSV with a header read with "
    "--text-col and --label-col (and --map VALUE=category, --positive VALUE)"
)


@dataclass(frozen=True)
class ColumnSpec:
    """How to read a CSV/TSV with a header: which columns, and what the label values mean."""

    text_col: str
    label_col: str
    mapping: dict[str, str] = field(default_factory=dict)  # label value -> category
    positive: frozenset[str] = frozenset()  # label values that mean "unethical"

    def labels(self, value: str) -> frozenset[str] | None:
        """Categories of one label cell (values split on , ; |); None when a value means nothing
        known."""
        out: set[str] = set()
        for v in (x.strip() for x in value.replace(";", ",").replace("|", ",").split(",")):
            if not v:
                continue
            low = v.lower()
            if v in self.mapping or low in self.mapping:
                cat = self.mapping.get(v, self.mapping.get(low, ""))
                if cat not in ("none", ""):
                    out.add(cat)
            elif v in self.positive or low in self.positive:
                out.add(UNETHICAL)
            elif self.mapping or self.positive:
                continue  # any other value: clean
            elif low in ("1", "true", "yes"):
                out.add(UNETHICAL)
            elif low in ("0", "false", "no", "none", "clean"):
                continue
            elif low in ETHICS_FLAGS:
                out.add(low)
            else:
                return None
        return frozenset(out)


def _kmhas(path: Path, text: str) -> Iterator[Example]:
    lines = text.splitlines()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        body, sep, label = line.rpartition("\t")
        if not sep:
            raise ImportFailed(path.name, f"line {n}", None, "expected document<TAB>label")
        body = body.strip()
        if len(body) >= 2 and body[0] == body[-1] == '"':
            body = body[1:-1].replace('""', '"')
        cats: set[str] = set()
        for v in label.split(","):
            v = v.strip()
            if v not in _KMHAS:
                raise ImportFailed(
                    path.name, f"line {n}", "label", f"unknown K-MHaS label {v!r} (0-8)"
                )
            cats.update(_KMHAS[v])
        yield Example(body, frozenset(cats), path.name)


def _with_header(path: Path, text: str, spec: ColumnSpec) -> Iterator[Example]:
    head = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in head or path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in (spec.text_col, spec.label_col) if c not in header]
    if missing:
        raise ImportFailed(
            path.name,
            "line 1",
            None,
            f"no column {', '.join(map(repr, missing))} in the header "
            f"{header}; name them with --text-col and --label-col",
        )
    ti, li = header.index(spec.text_col), header.index(spec.label_col)
    for n, row in enumerate(reader, start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) <= max(ti, li):
            raise ImportFailed(
                path.name, f"line {n}", None, f"{len(row)} columns, expected {len(header)}"
            )
        labels = spec.labels(row[li])
        if labels is None:
            raise ImportFailed(
                path.name,
                f"line {n}",
                spec.label_col,
                f"label {row[li]!r} means nothing known: give --map {row[li].strip()}=CATEGORY "
                f"or --positive {row[li].strip()} (categories: {', '.join(ETHICS_FLAGS)})",
            )
        yield Example(row[ti].strip(), labels, path.name)


def read_labelled(path: str | Path, spec: ColumnSpec | None = None) -> list[Example]:
    """Labelled examples from one file in any of the supported formats (see the module docstring).

    A file read as none of them is refused with the list of accepted formats.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFailed(str(p), "file", None, "file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            p.name, "file", None, f"not UTF-8 text ({exc.reason}); accepted: {ACCEPTED_FORMATS}"
        ) from None
    if spec is not None:
        return list(_with_header(p, text, spec))
    head = text.split("\n", 1)[0].strip()
    cols = [c.strip().lower() for c in head.split("\t")]
    if cols[:2] == ["document", "label"]:
        return list(_kmhas(p, text))
    try:
        return _read_known(p, text)
    except ImportFailed as exc:
        if "accepted:" in exc.reason:
            raise
        raise ImportFailed(
            exc.file, exc.where, exc.field, f"{exc.reason}; accepted: {ACCEPTED_FORMATS}"
        ) from None


def _read_known(p: Path, text: str) -> list[Example]:
    first = text.lstrip()[:1]
    is_json = p.suffix.lower() in (".json", ".jsonl")
    if is_json or (first in ("[", "{") and "|" not in text.split("\n", 1)[0]):
        try:
            if p.suffix.lower() == ".jsonl" or (first == "{" and "\n{" in text.strip()):
                out: list[Example] = []
                for n, line in enumerate(text.splitlines(), start=1):
                    if line.strip():
                        try:
                            out.extend(_aihub_sentences(json.loads(line), p.name))
                        except ValueError as exc:
                            raise ImportFailed(
                                p.name, f"line {n}", None, f"bad JSON: {exc}"
                            ) from exc
                return out
            return list(_aihub_sentences(json.loads(text), p.name))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ImportFailed(p.name, "file", None, f"not the AIHub ethics format: {exc}") from exc
    head = text.split("\n", 1)[0]
    if "\t" in head and "comments" in head:
        return list(_kocohub(p, text))
    if "\t" in head or ("," in head and "|" not in head):
        cols = [c.strip() for c in head.replace("\t", ",").split(",")]
        raise ImportFailed(
            p.name,
            "line 1",
            None,
            f"a table with the columns {cols[:8]}: name the text and label "
            "columns with --text-col and --label-col",
        )
    return list(_pipe(p, text))


def read_many(paths: Sequence[str | Path], spec: ColumnSpec | None = None) -> list[Example]:
    out: list[Example] = []
    for p in paths:
        out.extend(read_labelled(p, spec))
    return [e for e in out if e.text]


@dataclass
class EthicsModel:
    vectorizer: Any
    models: dict[str, Any]  # category -> fitted LogisticRegression
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    # a binary head over "any category" (hate, offensive, profanity … vs none): the gate that
    # decides whether a text is unethical at all; the category heads then say which way
    any_model: Any = None
    any_threshold: float = 0.5
    # the stricter gate for pre-flags: unethical text is rare in instruction data, so a suggestion
    # must be precise; chosen at training on a held-back slice for precision >= GATE_PRECISION
    flag_threshold: float | None = None

    @property
    def categories(self) -> list[str]:
        return list(self.models)

    def predict_proba(self, texts: Sequence[str]) -> dict[str, list[float]]:
        x = self.vectorizer.transform(texts)
        return {c: m.predict_proba(x)[:, 1].tolist() for c, m in self.models.items()}

    def predict(self, texts: Sequence[str], *, strict: bool = False) -> list[set[str]]:
        """Categories per text: none unless the gate fires; then those over their threshold, else
        the likeliest.

        ``strict`` uses the pre-flag gate (``flag_threshold``) instead of the F1-best one.
        """
        x = self.vectorizer.transform(texts)
        probs = {c: m.predict_proba(x)[:, 1].tolist() for c, m in self.models.items()}
        gate = (
            self.any_model.predict_proba(x)[:, 1].tolist() if self.any_model is not None else None
        )
        gate_th = self.any_threshold
        if strict and getattr(self, "flag_threshold", None) is not None:
            gate_th = max(self.any_threshold, self.flag_threshold or 0.0)
        out: list[set[str]] = []
        for i in range(len(texts)):
            if gate is not None and gate[i] < gate_th:
                out.append(set())
                continue
            cats = {c for c, ps in probs.items() if ps[i] >= self.thresholds.get(c, 0.5)}
            if not cats and gate is not None:
                cats = {
                    max(probs, key=lambda c: probs[c][i] / max(self.thresholds.get(c, 0.5), 1e-6))
                }
            out.append(cats)
        return out

    def offensive(self, texts: Sequence[str], *, strict: bool = False) -> list[bool]:
        """The gate's decision alone (any category vs none)."""
        if self.any_model is None:
            return [bool(p) for p in self.predict(texts, strict=strict)]
        th = max(self.any_threshold, self.flag_threshold or 0.0) if strict else self.any_threshold
        x = self.vectorizer.transform(texts)
        return [p >= th for p in self.any_model.predict_proba(x)[:, 1].tolist()]

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(path: str | Path) -> EthicsModel:
    """Load a model written by ``train`` (a pickle: only load files you or your team wrote)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"no ethics model at {p}; train one with `kocurate ethics train`")
    with open(p, "rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact, written by train()
    if not isinstance(model, EthicsModel):
        raise UsageError(f"{p} is not a kocurate ethics model")
    return model


def _best_threshold(y: Sequence[int], p: Sequence[float]) -> float:
    best, best_f1 = 0.5, -1.0
    for th in [x / 100 for x in range(15, 86, 5)]:
        tp = sum(1 for yi, pi in zip(y, p, strict=True) if yi and pi >= th)
        fp = sum(1 for yi, pi in zip(y, p, strict=True) if not yi and pi >= th)
        fn = sum(1 for yi, pi in zip(y, p, strict=True) if yi and pi < th)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = th, f1
    return best


GATE_PRECISION = 0.92  # aimed at on the held-back slice, so that new data still sees >= 0.90


def calibrate_gate(y: Sequence[int], p: Sequence[float], floor: float) -> float | None:
    """The pre-flag threshold: the lowest at which the held-back slice's precision reaches
    ``GATE_PRECISION`` (so recall is as high as that precision allows); if none does, the one that
    at most 2% of the held-back clean texts pass."""
    ranked = sorted(zip(p, y, strict=True), reverse=True)
    tp = fp = 0
    best: float | None = None
    for k, (prob, label) in enumerate(ranked):
        tp, fp = tp + label, fp + (1 - label)
        if (
            tp >= 20
            and tp / (tp + fp) >= GATE_PRECISION
            and (k + 1 == len(ranked) or ranked[k + 1][0] < prob)
        ):
            best = prob  # precision here counts every text scored at least this high
    if best is not None:
        return round(max(floor, best), 4)
    negs = sorted(q for q, lab in zip(p, y, strict=True) if not lab)
    return round(max(floor, negs[min(len(negs) - 1, int(0.98 * len(negs)))]), 4) if negs else None


def train(examples: Sequence[Example], *, seed: int = 0, tune: bool = True) -> EthicsModel:
    """Fit the vectorizer and one classifier per category with enough positives."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(examples) < 20:
        raise KocurateError(f"too little training data ({len(examples)} examples)")
    rows = list(examples)
    random.Random(seed).shuffle(rows)
    # a slice held back from fitting, to choose each category's threshold
    n_val = len(rows) // 6 if tune else 0
    val, fit = rows[:n_val], rows[n_val:]
    from sklearn.pipeline import FeatureUnion

    # syllable n-grams, plus n-grams of the jamo the syllables are made of: obfuscated spellings
    # (ㅅㅂ, 씨ㅂ, 시1발) share jamo with the plain word. On the held-out 20 %: binary F1 0.755 ->
    # 0.763, discrimination 0.638 -> 0.649 (benchmarks/ethics.py); C 3 and per-source heads were no
    # better. Kiwi morphemes (and pairs) as a third view: binary 0.762 -> 0.765 at C 1, 0.772 at
    # C 2; word 1-2-grams, char (not char_wb) 1-5 and untagged morphemes were no better
    vec = FeatureUnion(
        [
            (
                "syllables",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, 4),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=400_000,
                ),
            ),
            (
                "jamo",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=300_000,
                    preprocessor=jamo,
                ),
            ),
            (
                "morphemes",
                TfidfVectorizer(
                    analyzer=morphemes, min_df=2, sublinear_tf=True, max_features=300_000
                ),
            ),
        ]
    )

    def lr(y: list[int], c: float = 2.0) -> Any:
        return LogisticRegression(
            C=c, max_iter=2000, class_weight="balanced", solver="liblinear", random_state=seed
        ).fit(x, y)

    # every head averages a logistic regression and an NB-weighted one (categories: hate 0.731 ->
    # 0.739, abuse 0.709 -> 0.721, discrimination 0.642 -> 0.652); the gate adds a third on
    # presence features, whose scores spread differently (binary F1 0.772 -> 0.775, pre-flag recall
    # 0.519 -> 0.58 at the same precision). A calibrated LinearSVC and heads trained only on the
    # sources that annotate their category were no better
    def fit_head(y: list[int]) -> Any:
        return Blend([lr(y), NBLogit().fit(x, y, 4.0, seed)])

    x = vec.fit_transform([e.text for e in fit])
    xv = vec.transform([e.text for e in val]) if val else None
    models, thresholds, counts = {}, {}, {}
    for cat in ETHICS_FLAGS:
        y = [1 if cat in e.labels else 0 for e in fit]
        counts[cat] = sum(y)
        if sum(y) < MIN_POSITIVES or sum(y) == len(y):
            continue
        clf = fit_head(y)
        models[cat] = clf
        if xv is not None:
            yv = [1 if cat in e.labels else 0 for e in val]
            thresholds[cat] = (
                _best_threshold(yv, clf.predict_proba(xv)[:, 1].tolist()) if sum(yv) else 0.5
            )
        else:
            thresholds[cat] = 0.5
    if not models:
        raise KocurateError("no category has enough positive examples to learn from")
    y_any = [1 if e.labels else 0 for e in fit]
    # Round 3, not kept (held-out kocohub / curse / K-MHaS binary F1, gate threshold chosen on the
    # slice; today 0.680 / 0.780 / 0.801 at 0.35). Kocohub and K-MHaS are comments from the same
    # news pool labelled by different conventions (a source classifier told them apart for 68 % of
    # the slice), so one threshold trades them: kocohub peaks at 0.775 at 0.10 (curse 0.570, K-MHaS
    # 0.675), curse at 0.810 at 0.50, K-MHaS at 0.836 at 0.60. Every variant below sat on that same
    # frontier (at K-MHaS ~0.80, kocohub + curse within 0.02 of today's), the chosen threshold
    # moving along it: kiwi CoNg context-cluster ids (``most_similar_contexts`` of each morpheme's
    # <= 4-morpheme context, and pairs) as a fourth view 0.648 / 0.801 / 0.814; dense CoNg features
    # (mean and max over a text of its contexts' similarities to 128 anchor contexts; alone 0.717 /
    # 0.639 / 0.702) as a fourth gate member 0.642 / 0.803 / 0.822; logistic stacking on the slice
    # (5-fold out-of-fold threshold) over the gate members, the dense head, a source classifier and
    # per-source heads 0.643 / 0.808 / 0.812; the threshold that maximises the mean per-source F1 on
    # the slice, with the dense member, 0.713 / 0.771 / 0.788 (K-MHaS under 0.80)
    any_model = Blend(
        [lr(y_any), NBLogit().fit(x, y_any, 4.0, seed), NBLogit(True).fit(x, y_any, 1.0, seed)]
    )
    any_th, flag_th = 0.5, None
    if xv is not None:
        yv_any = [1 if e.labels else 0 for e in val]
        pv = any_model.predict_proba(xv)[:, 1].tolist()
        any_th = _best_threshold(yv_any, pv)
        flag_th = calibrate_gate(yv_any, pv, any_th)
    import sklearn

    meta = {
        "examples": len(rows),
        "positives": counts,
        "sources": sorted({e.source for e in rows}),
        "sklearn": sklearn.__version__,
    }
    return EthicsModel(vec, models, thresholds, meta, any_model, any_th, flag_th)


def split(
    examples: Sequence[Example], test_size: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """A held-out split, stratified by source file and by "any label" so every part is
    represented."""
    groups: dict[tuple[str, bool], list[Example]] = {}
    for e in examples:
        groups.setdefault((e.source, bool(e.labels)), []).append(e)
    rng = random.Random(seed)
    tr, te = [], []
    for key in sorted(groups):
        g = groups[key]
        rng.shuffle(g)
        k = int(round(len(g) * test_size))
        te.extend(g[:k])
        tr.extend(g[k:])
    return tr, te


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3)}


def _counts(gold: Sequence[bool], said: Sequence[bool]) -> tuple[int, int, int]:
    tp = sum(1 for g, p in zip(gold, said, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, said, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, said, strict=True) if g and not p)
    return tp, fp, fn


def evaluate(model: EthicsModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Precision/recall/F1 per category, and "any category vs none" per source file."""
    texts = [e.text for e in examples]
    preds = model.predict(texts)
    report: dict[str, Any] = {"n": len(examples), "categories": {}, "any_by_source": {}}
    # plain binary (unethical or not) at the model's default threshold: over all rows and per file
    said = model.offensive(texts)
    gold_bin = [bool(e.labels) for e in examples]
    report["binary"] = {
        **_prf(*_counts(gold_bin, said)),
        "support": len(examples),
        "positives": sum(gold_bin),
        "threshold": round(float(model.any_threshold), 3),
    }
    report["binary_by_source"] = {}
    for src in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == src]
        g, p = [gold_bin[i] for i in idx], [said[i] for i in idx]
        report["binary_by_source"][src] = {
            **_prf(*_counts(g, p)),
            "support": len(idx),
            "positives": sum(g),
        }
    for cat in ETHICS_FLAGS:
        gold = [cat in e.labels for e in examples]
        if not any(gold) and cat not in model.models:
            continue
        tp = sum(1 for g, p in zip(gold, preds, strict=True) if g and cat in p)
        fp = sum(1 for g, p in zip(gold, preds, strict=True) if not g and cat in p)
        fn = sum(1 for g, p in zip(gold, preds, strict=True) if g and cat not in p)
        report["categories"][cat] = {
            **_prf(tp, fp, fn),
            "support": sum(gold),
            "learned": cat in model.models,
        }
    for src in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == src]
        # judge "any of the categories this source labels" (kocohub: hate/offensive/bias; curse:
        # abuse)
        src_cats = set().union(*(examples[i].labels for i in idx)) & set(model.models)
        tp = sum(1 for i in idx if examples[i].labels & src_cats and preds[i] & src_cats)
        fp = sum(1 for i in idx if not examples[i].labels & src_cats and preds[i] & src_cats)
        fn = sum(1 for i in idx if examples[i].labels & src_cats and not preds[i] & src_cats)
        report["any_by_source"][src] = {
            **_prf(tp, fp, fn),
            "support": len(idx),
            "categories": sorted(src_cats),
        }
    # kocohub's own task: hate or offensive vs none (the bias column is a separate question)
    if model.any_model is not None and getattr(model, "flag_threshold", None):
        # the operating point of the pre-flags (any category vs none, all sources)
        gold_any = [bool(e.labels) for e in examples]
        said_any = model.offensive([e.text for e in examples], strict=True)
        tp = sum(1 for g, p in zip(gold_any, said_any, strict=True) if g and p)
        fp = sum(1 for g, p in zip(gold_any, said_any, strict=True) if not g and p)
        fn = sum(1 for g, p in zip(gold_any, said_any, strict=True) if g and not p)
        report["preflag_gate"] = {
            **_prf(tp, fp, fn),
            "threshold": model.flag_threshold,
            "false_positive_rate": round(fp / max(1, gold_any.count(False)), 3),
        }
    k_idx = [i for i, e in enumerate(examples) if "kocohub" in e.source]
    if k_idx:
        gold = [bool(examples[i].labels & {"hate", "censure"}) for i in k_idx]
        said = model.offensive([examples[i].text for i in k_idx])
        tp = sum(1 for g, p in zip(gold, said, strict=True) if g and p)
        fp = sum(1 for g, p in zip(gold, said, strict=True) if not g and p)
        fn = sum(1 for g, p in zip(gold, said, strict=True) if g and not p)
        report["hate_offensive_vs_none"] = {
            **_prf(tp, fp, fn),
            "support": len(k_idx),
            "positives": sum(gold),
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"examples: {report['n']}"]
    if "binary" in report:
        b = report["binary"]
        lines.append(
            f"binary (unethical vs clean, default threshold {b['threshold']}): P"
            f" {b['precision']:.3f}  R {b['recall']:.3f}  F1 {b['f1']:.3f}  n={b['support']}"
            f" positives={b['positives']}"
        )
        for src, r in report.get("binary_by_source", {}).items():
            lines.append(
                f"  binary [{src}]: P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
                f"n={r['support']} positives={r['positives']}"
            )
    lines.append(f"{'category':<16}{'precision':>10}{'recall':>9}{'F1':>8}{'support':>9}")
    for cat, r in report["categories"].items():
        note = "" if r["learned"] else "  (not learned: too few examples)"
        lines.append(
            f"{cat:<16}{r['precision']:>10.3f}{r['recall']:>9.3f}{r['f1']:>8.3f}{r['support']:>9}{note}"
        )
    if "hate_offensive_vs_none" in report:
        r = report["hate_offensive_vs_none"]
        lines.append(
            f"{'hate/offensive vs none (kocohub)':<34} P {r['precision']:.3f}  R {r['recall']:.3f} "
            f" F1 {r['f1']:.3f}  n={r['support']}"
        )
    if "preflag_gate" in report:
        r = report["preflag_gate"]
        lines.append(
            f"pre-flag gate (threshold {r['threshold']}): P {r['precision']:.3f}  R"
            f" {r['recall']:.3f}  F1 {r['f1']:.3f}  false-positive rate"
            f" {r['false_positive_rate']:.3f}"
        )
    for src, r in report["any_by_source"].items():
        lines.append(
            f"any of {','.join(r['categories']) or '-'} vs none [{src}]: P {r['precision']:.3f}  "
            f"R {r['recall']:.3f}  F1 {r['f1']:.3f}  n={r['support']}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the check: pre-flags from a trained model, when one is configured

MODEL_SETTING = "ethics_model"  # Setting row: {"path": "..."}; or $KOCURATE_ETHICS_MODEL


def configured_model_path(session: Any) -> str | None:
    import os

    from sqlalchemy import select

    from ...models import Setting

    if session is not None:
        value = session.scalar(select(Setting.value).where(Setting.key == MODEL_SETTING))
        if value and value.get("path"):
            return str(value["path"])
    return os.environ.get("KOCURATE_ETHICS_MODEL") or None


@register
class EthicsModelCheck(Check):
    name = "ethics_model"
    label = N_("Ethics classifier")
    description = N_(
        "Pre-flags ethics categories with the trained classifier (`kocurate ethics train`), when"
        " configured"
    )
    severity = "warning"
    family = "ethics"
    categories = ETHICS_FLAGS
    cheap = False

    def __init__(self, model: EthicsModel | None = None) -> None:
        self.model = model

    def prepare(self, ctx: RunContext) -> None:
        if self.model is None:
            path = configured_model_path(ctx.session)
            if path:
                cache = ctx.stats.setdefault("ethics_models", {})
                if path not in cache:
                    cache[path] = load_model(path)
                self.model = cache[path]

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self.run_batch([sample]))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        if self.model is None:
            return
        where = [(s, t) for s in samples for t in s.turns if len(t.text.strip()) >= 4]
        if not where:
            return
        # long answers are judged by their first 2,000 characters (the model saw short comments);
        # the strict gate: a suggestion must be likely right where unethical text is rare
        preds = self.model.predict([t.text[:2000] for _, t in where], strict=True)
        done: set[tuple[int, str]] = set()
        for (s, t), cats in zip(where, preds, strict=True):
            for cat in sorted(cats):
                if (s.id, cat) in done:
                    continue
                done.add((s.id, cat))
                f = self.finding(
                    N_("{category} (classifier)"),
                    params={"category": cat},
                    turn=t,
                    flag=cat,
                    category=cat,
                )
                f.sample_id = s.id
                yield f
