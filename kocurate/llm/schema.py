"""The JSON the model must answer with, and its validation (no trust in what comes back).

Grading: ``{"results": [{"id": "t1", "errors": [{"category", "severity", "span", "reason"}]}]}``;
suggestions: ``{"results": [{"id": "t1", "text": "<l>…</l>"}]}``. ``parse_*`` return the valid
results by id and a list of problems; an answer that is not JSON, has no ``results`` list, or names
an id that was not asked for (a model that followed an instruction inside the data) is malformed as
a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CATEGORIES = (
    "accuracy",
    "fluency",
    "terminology",
    "style",
    "formatting",
    "untranslated",
    "task_lost",
)
SEVERITIES = ("minor", "major", "critical")
SEVERITY_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
# how an MQM severity shows among the other findings (info | warning | error)
FINDING_SEVERITY = {"minor": "info", "major": "warning", "critical": "error"}
MAX_SPAN = 500
MAX_REASON = 300

GRADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "errors"],
                "properties": {
                    "id": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["category", "severity", "span", "reason"],
                            "properties": {
                                "category": {"enum": list(CATEGORIES)},
                                "severity": {"enum": list(SEVERITIES)},
                                "span": {"type": "string", "maxLength": MAX_SPAN},
                                "reason": {"type": "string", "maxLength": MAX_REASON},
                            },
                        },
                    },
                },
            },
        }
    },
}
SUGGEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "text"],
                "properties": {"id": {"type": "string"}, "text": {"type": "string"}},
            },
        }
    },
}


class SchemaError(ValueError):
    """The whole answer is unusable (retry once, then record an error)."""


@dataclass(frozen=True)
class GradeError:
    category: str
    severity: str
    span: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "category": self.category,
            "severity": self.severity,
            "span": self.span,
            "reason": self.reason,
        }


def _results(content: str, ids: list[str]) -> list[dict[str, Any]]:
    try:
        obj = json.loads(_strip_fence(content))
    except ValueError as exc:
        raise SchemaError(f"the answer is not JSON ({exc.args[0][:80]})") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), list):
        raise SchemaError('the answer has no "results" list')
    wanted = set(ids)
    seen: set[str] = set()
    out = []
    for r in obj["results"]:
        if not isinstance(r, dict) or not isinstance(r.get("id"), str | int):
            raise SchemaError("a result without an id")
        rid = str(r["id"])
        if rid not in wanted:
            raise SchemaError(f"a result for {rid[:40]!r}, which was not asked for")
        if rid in seen:
            raise SchemaError(f"two results for {rid!r}")
        seen.add(rid)
        out.append({**r, "id": rid})
    return out


def _strip_fence(content: str) -> str:
    # some servers wrap JSON in a Markdown fence even in JSON mode
    c = content.strip()
    if c.startswith("```"):
        c = c.split("\n", 1)[1] if "\n" in c else ""
        c = c.rsplit("```", 1)[0]
    return c


def _one_line(s: str, limit: int) -> str:
    return " ".join(s.split())[:limit]


def parse_grades(
    content: str, ids: list[str]
) -> tuple[dict[str, list[GradeError]], dict[str, str]]:
    """Valid grades by id, and a problem per id whose result is missing or invalid."""
    good: dict[str, list[GradeError]] = {}
    bad: dict[str, str] = {}
    for r in _results(content, ids):
        errs = r.get("errors")
        if not isinstance(errs, list):
            bad[r["id"]] = 'no "errors" list'
            continue
        parsed: list[GradeError] = []
        for e in errs:
            if not isinstance(e, dict):
                bad[r["id"]] = "an error that is not an object"
                break
            cat, sev = e.get("category"), e.get("severity")
            span, reason = e.get("span", ""), e.get("reason")
            if cat not in CATEGORIES:
                bad[r["id"]] = f"unknown category {str(cat)[:30]!r}"
                break
            if sev not in SEVERITIES:
                bad[r["id"]] = f"unknown severity {str(sev)[:30]!r}"
                break
            if not isinstance(span, str) or not isinstance(reason, str) or not reason.strip():
                bad[r["id"]] = "an error without a text span and a reason"
                break
            parsed.append(GradeError(cat, sev, span[:MAX_SPAN], _one_line(reason, MAX_REASON)))
        else:
            good[r["id"]] = parsed
    for i in ids:
        if i not in good and i not in bad:
            bad[i] = "no result for this turn"
    return good, bad


def parse_suggestions(content: str, ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Rewritten texts by id, and a problem per id whose result is missing or invalid."""
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    for r in _results(content, ids):
        if isinstance(r.get("text"), str) and r["text"].strip():
            good[r["id"]] = r["text"]
        else:
            bad[r["id"]] = 'no "text"'
    for i in ids:
        if i not in good and i not in bad:
            bad[i] = "no result for this turn"
    return good, bad


def worst(errors: list[GradeError]) -> str:
    return max((e.severity for e in errors), key=SEVERITY_RANK.__getitem__, default="none")
