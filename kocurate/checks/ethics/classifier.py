"""A trainable ethics classifier: character n-gram TF-IDF + one logistic regression per category.

Leads train it on labelled data they have (``kocurate ethics train``):

* the AIHub ethics verification format: talksets ``{id, sentences: [{text, types: [CENSURE|HATE|
  DISCRIMINATION|SEXUAL|ABUSE|VIOLENCE|CRIME|IMMORAL_NONE], is_immoral, intensity}]}`` (a JSON list,
  ``{"talksets": [...]}`` or one talkset per JSONL line);
* the kocohub hate-speech TSV (``comments, contain_gender_bias, bias, hate``): ``hate`` → hate,
  ``offensive`` → censure (insult, contempt, sarcasm), a gender or other bias → discrimination;
* ``text|label`` lines (label after the last ``|``): ``1`` → abuse (profanity), ``0`` → none, or a
  category name;
* JSONL ``{"text", "labels": [...]}`` as written by ``export_feedback`` from flags annotators confirmed
  (a positive) or cleared (a negative) — the next training run learns from the review.

Korean text is noisy (spacing, elongation, jamo), which character n-grams tolerate well; every
category gets its own decision threshold, tuned on a slice of the training data, and a binary
"any category vs none" head gates the decision (the task kocohub and the curse data label best):
no category is suggested unless the gate fires, which keeps plain instructions from being flagged.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ImportFailed, KocurateError
from ...models import ETHICS_FLAGS
from ..base import Check, Finding, RunContext, SampleView, register

MIN_POSITIVES = 15  # a category with fewer examples is not learned


@dataclass(slots=True)
class Example:
    text: str
    labels: frozenset[str]
    source: str  # file name it came from


def _kocohub(path: Path, text: str) -> Iterator[Example]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    try:
        ci, gi, bi, hi = (header.index(c) for c in ("comments", "contain_gender_bias", "bias", "hate"))
    except ValueError as exc:
        raise ImportFailed(path.name, "line 1", None, f"kocohub header expected, got {header}") from exc
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < len(header):
            raise ImportFailed(path.name, f"line {n}", None, f"{len(row)} columns, expected {len(header)}")
        labels = set()
        hate = row[hi].strip().lower()
        if hate == "hate":
            labels.add("hate")
        elif hate == "offensive":
            labels.add("censure")
        if row[bi].strip().lower() in ("gender", "others") or row[gi].strip().lower() == "true":
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
            yield Example(ts["text"], frozenset(lb for lb in ts["labels"] if lb in ETHICS_FLAGS), name)
            continue
        for sent in ts.get("sentences", []):
            types = {str(t).strip().lower() for t in sent.get("types", [])}
            yield Example(sent.get("text", ""), frozenset(t for t in types if t in ETHICS_FLAGS), name)


def read_labelled(path: str | Path) -> list[Example]:
    """Labelled examples from one file in any of the supported formats (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise ImportFailed(str(p), "file", None, "file not found")
    text = p.read_text(encoding="utf-8-sig")
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
                            raise ImportFailed(p.name, f"line {n}", None, f"bad JSON: {exc}") from exc
                return out
            return list(_aihub_sentences(json.loads(text), p.name))
        except (ValueError, AttributeError, TypeError) as exc:
            raise ImportFailed(p.name, "file", None, f"not the AIHub ethics format: {exc}") from exc
    head = text.split("\n", 1)[0]
    if "\t" in head and "comments" in head:
        return list(_kocohub(p, text))
    return list(_pipe(p, text))


def read_many(paths: Sequence[str | Path]) -> list[Example]:
    out: list[Example] = []
    for p in paths:
        out.extend(read_labelled(p))
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
    # must be precise; chosen at training so at most 2% of held-back clean texts pass it
    flag_threshold: float | None = None

    @property
    def categories(self) -> list[str]:
        return list(self.models)

    def predict_proba(self, texts: Sequence[str]) -> dict[str, list[float]]:
        x = self.vectorizer.transform(texts)
        return {c: m.predict_proba(x)[:, 1].tolist() for c, m in self.models.items()}

    def predict(self, texts: Sequence[str], *, strict: bool = False) -> list[set[str]]:
        """Categories per text: none unless the gate fires; then those over their threshold, else the likeliest.

        ``strict`` uses the pre-flag gate (``flag_threshold``) instead of the F1-best one.
        """
        x = self.vectorizer.transform(texts)
        probs = {c: m.predict_proba(x)[:, 1].tolist() for c, m in self.models.items()}
        gate = self.any_model.predict_proba(x)[:, 1].tolist() if self.any_model is not None else None
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
                cats = {max(probs, key=lambda c: probs[c][i] / max(self.thresholds.get(c, 0.5), 1e-6))}
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
        raise KocurateError(f"no ethics model at {p}; train one with `kocurate ethics train`")
    with open(p, "rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact, written by train()
    if not isinstance(model, EthicsModel):
        raise KocurateError(f"{p} is not a kocurate ethics model")
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
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=400_000)

    def fit_head(y: list[int]) -> Any:
        return LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", solver="liblinear").fit(x, y)

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
            thresholds[cat] = _best_threshold(yv, clf.predict_proba(xv)[:, 1].tolist()) if sum(yv) else 0.5
        else:
            thresholds[cat] = 0.5
    if not models:
        raise KocurateError("no category has enough positive examples to learn from")
    any_model = fit_head([1 if e.labels else 0 for e in fit])
    any_th, flag_th = 0.5, None
    if xv is not None:
        yv_any = [1 if e.labels else 0 for e in val]
        pv = any_model.predict_proba(xv)[:, 1].tolist()
        any_th = _best_threshold(yv_any, pv)
        negs = sorted(p for y, p in zip(yv_any, pv, strict=True) if not y)
        if negs:  # the gate that at most 2% of the held-back clean texts pass
            flag_th = round(max(any_th, negs[min(len(negs) - 1, int(0.98 * len(negs)))]), 3)
    import sklearn

    meta = {"examples": len(rows), "positives": counts, "sources": sorted({e.source for e in rows}),
            "sklearn": sklearn.__version__}
    return EthicsModel(vec, models, thresholds, meta, any_model, any_th, flag_th)


def split(examples: Sequence[Example], test_size: float = 0.2, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """A held-out split, stratified by source file and by "any label" so every part is represented."""
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


def evaluate(model: EthicsModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Precision/recall/F1 per category, and "any category vs none" per source file."""
    preds = model.predict([e.text for e in examples])
    report: dict[str, Any] = {"n": len(examples), "categories": {}, "any_by_source": {}}
    for cat in ETHICS_FLAGS:
        gold = [cat in e.labels for e in examples]
        if not any(gold) and cat not in model.models:
            continue
        tp = sum(1 for g, p in zip(gold, preds, strict=True) if g and cat in p)
        fp = sum(1 for g, p in zip(gold, preds, strict=True) if not g and cat in p)
        fn = sum(1 for g, p in zip(gold, preds, strict=True) if g and cat not in p)
        report["categories"][cat] = {**_prf(tp, fp, fn), "support": sum(gold), "learned": cat in model.models}
    for src in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == src]
        # judge "any of the categories this source labels" (kocohub: hate/offensive/bias; curse: abuse)
        src_cats = set().union(*(examples[i].labels for i in idx)) & set(model.models)
        tp = sum(1 for i in idx if examples[i].labels & src_cats and preds[i] & src_cats)
        fp = sum(1 for i in idx if not examples[i].labels & src_cats and preds[i] & src_cats)
        fn = sum(1 for i in idx if examples[i].labels & src_cats and not preds[i] & src_cats)
        report["any_by_source"][src] = {**_prf(tp, fp, fn), "support": len(idx), "categories": sorted(src_cats)}
    # kocohub's own task: hate or offensive vs none (the bias column is a separate question)
    if model.any_model is not None and getattr(model, "flag_threshold", None):
        # the operating point of the pre-flags (any category vs none, all sources)
        gold_any = [bool(e.labels) for e in examples]
        said_any = model.offensive([e.text for e in examples], strict=True)
        tp = sum(1 for g, p in zip(gold_any, said_any, strict=True) if g and p)
        fp = sum(1 for g, p in zip(gold_any, said_any, strict=True) if not g and p)
        fn = sum(1 for g, p in zip(gold_any, said_any, strict=True) if g and not p)
        report["preflag_gate"] = {**_prf(tp, fp, fn), "threshold": model.flag_threshold,
                                  "false_positive_rate": round(fp / max(1, gold_any.count(False)), 3)}
    k_idx = [i for i, e in enumerate(examples) if "kocohub" in e.source]
    if k_idx:
        gold = [bool(examples[i].labels & {"hate", "censure"}) for i in k_idx]
        said = model.offensive([examples[i].text for i in k_idx])
        tp = sum(1 for g, p in zip(gold, said, strict=True) if g and p)
        fp = sum(1 for g, p in zip(gold, said, strict=True) if not g and p)
        fn = sum(1 for g, p in zip(gold, said, strict=True) if g and not p)
        report["hate_offensive_vs_none"] = {**_prf(tp, fp, fn), "support": len(k_idx), "positives": sum(gold)}
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"held-out examples: {report['n']}", f"{'category':<16}{'precision':>10}{'recall':>9}{'F1':>8}{'support':>9}"]
    for cat, r in report["categories"].items():
        note = "" if r["learned"] else "  (not learned: too few examples)"
        lines.append(f"{cat:<16}{r['precision']:>10.3f}{r['recall']:>9.3f}{r['f1']:>8.3f}{r['support']:>9}{note}")
    if "hate_offensive_vs_none" in report:
        r = report["hate_offensive_vs_none"]
        lines.append(f"{'hate/offensive vs none (kocohub)':<34} P {r['precision']:.3f}  R {r['recall']:.3f}  "
                     f"F1 {r['f1']:.3f}  n={r['support']}")
    if "preflag_gate" in report:
        r = report["preflag_gate"]
        lines.append(f"pre-flag gate (threshold {r['threshold']}): P {r['precision']:.3f}  R {r['recall']:.3f}  "
                     f"F1 {r['f1']:.3f}  false-positive rate {r['false_positive_rate']:.3f}")
    for src, r in report["any_by_source"].items():
        lines.append(f"any of {','.join(r['categories']) or '-'} vs none [{src}]: P {r['precision']:.3f}  "
                     f"R {r['recall']:.3f}  F1 {r['f1']:.3f}  n={r['support']}")
    return "\n".join(lines)


def texts_of(examples: Iterable[Example]) -> list[str]:
    return [e.text for e in examples]


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
    description = "Pre-flags ethics categories with the trained classifier (`kocurate ethics train`), when configured"
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
                f = self.finding(f"{cat} (classifier)", turn=t, flag=cat, category=cat)
                f.sample_id = s.id
                yield f
