"""Placeholder protection: what DeepL must not translate never reaches it as text.

``protect(text)`` turns a Markdown-ish text into the XML that is sent with ``tag_handling="xml"``
(the approach of DeepL's placeholder example):

* each line that carries translatable words becomes one ``<l>…</l>`` element
(``splitting_tags=["l"]``,
  ``outline_detection=False``), so DeepL translates line by line with the whole text as context;
* fenced code blocks (and ``$$`` math blocks), unfenced lines that are unmistakably code (``def
f(x):``
  and its indented body, ``import x``, ``x = f(y);`` …), table separator rows, blank lines and lines
  without words are kept here and never sent (nobody pays for them);
* a line's Markdown prefix (indent, ``#``, ``-``, ``1.``, ``>``, ``- [ ]``) and trailing blanks are
kept
  here; table pipes, inline code, URLs, Markdown link targets, ``{name}``, ``%s``, ``$math$``,
  ``<tag>`` and XML-invalid control characters become self-closing placeholders ``<x i="N"/>`` whose
  content stays here;
* ``&``, ``<`` and ``>`` in the remaining text are escaped.

``restore(xml, protected)`` parses DeepL's answer and rebuilds the text byte for byte around the
translated words. A placeholder or line that came back missing, doubled, renamed or with content is
a ``ProtectionError``: better no suggestion than a silently broken code block.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from ..errors import KocurateError

LINE_TAG = "l"
PH_TAG = "x"

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}|\$\$)")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_PREFIX = re.compile(
    r"^(?P<p>[ \t]*(?:>[ \t]?)*[ \t]*"
    r"(?:#{1,6}[ \t]+|(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?)?)"
)
# One alternation, earliest match wins; order matters where patterns overlap.
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?:(?!(?P=ticks)).)+?(?P=ticks))"  # `code`, ``co`de``
    r"|(?P<mdlink>\]\((?:[^()\s]|\([^()\s]*\))+\))"  # the "](target)" of a Markdown link
    r"|(?P<url>(?:https?|ftp)://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]|www\.[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}])"
    r"|(?P<email>(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+\w)"  # starts a run: linear on long words
    # with content
    r"|(?P<raw><(?P<rawname>script|style|code|pre|kbd|samp|math|svg)\b[^<>]*>.*?</(?P=rawname)\s*>)"
    r"|(?P<tag></?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>)"  # <tag>, </tag>, <br/>, <a href=…>
    r"|(?P<brace>\{\{?[^{}\s]{0,64}\}\}?)"  # {name}, {0}, {}, {{var}}
    # %s, %(n)d, %.2f
    r"|(?P<printf>%(?:\([^)\s]{1,32}\))?[-+#0]*\d*(?:\.\d+)?[sdifeEgGxXoucr](?![A-Za-z]))"
    # inline LaTeX $x^2$ (not "$5 and $10")
    r"|(?P<math>\$(?=[^\s$])[^$\n]{1,200}(?<=[^\s$])\$(?!\d))"
    r"|(?P<dollar>\$\{[^}\s]{1,64}\}|\$[A-Za-z_]\w*)"  # ${var}, $VAR
    r"|(?P<ctrl>[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff])"  # not allowed in XML 1.0
    r"|(?P<pipe>\|)"  # table cell borders (only ever matched in table rows, see _protect_body)
)
_WORD = re.compile(r"[^\W\d_]")
# Unfenced code (Alpaca/Dolly answers often have none): lines that are unmistakably code. Case
# matters ("If you…" is prose, "if x:" is not); what is unsure stays translatable.
_CODE_LINE = re.compile(
    r"^\s*(?:"
    r"(?:async\s+)?def\s+\w+\s*\(|class\s+\w+\s*[(:{]|import\s+[\w.]+(?:\s+as\s+\w+)?\s*;?\s*$"
    r"|from\s+[\w.]+\s+import\s|#include\b|#!/|using\s+namespace\b|package\s+[\w.]+;"
    r"|(?:public|private|protected|static)\s+[\w<>\[\],]+\s+\w+\s*[(=;{]"
    r"|function\s*\w*\s*\(|(?:var|let|const)\s+\w+\s*=|console\.\w+\(|System\.out\.|>>>\s"
    r"|print\(.*\)\s*$|if\s+__name__\b|for\s+\(?\w+(?:\s*,\s*\w+)*\)?\s+in\s+\S.*:\s*$"
    r"|(?:if|elif|while)\s+[^:]*(?:[<>=!()\[\].]|True|False|\bnot\s|\w\s+(?:and|or|in|is)\s+\w)[^:]*:\s*$|(?:else|try|finally):\s*$"
    r"|except\b.*:\s*$|return\s*;?\s*$|return\s+\S+\s*;?\s*$|return\s+.*[-()\[\]+*/=<>'\"]"
    r"|(?:int|void|char|float|double|bool|auto|long|unsigned|String|string|std::\w+|fn|func|fun)\s+[\w:*&]+\s*\("
    r"|.*\)\s*\{\s*$"
    r"|(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE\s+TABLE|ALTER\s+TABLE)\s+\S.*"
    r"|[\w.]+\([^()]*\)\s*;?\s*$|[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*(?:[-+*/%]?=|:=)\s*[^=\s].*"
    r"|[{}()\[\];]+\s*$|.*[=(].*;\s*$"
    r")"
)


class ProtectionError(KocurateError):
    """DeepL's answer did not keep a protected span (placeholder or line) exactly."""


@dataclass
class Protected:
    """What was sent (``xml``) and everything needed to rebuild the text around the answer."""

    xml: str
    # per source line: (prefix, index of its <l> element or None if kept verbatim, suffix incl.
    # newline)
    lines: list[tuple[str, int | None, str]] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)  # placeholder i -> original text

    @property
    def empty(self) -> bool:
        """Nothing to translate: the text comes back as it is, without a request."""
        return not self.xml


def _protect_body(body: str, spans: list[str], table: bool) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(body):
        if m.lastgroup == "pipe" and not table:
            continue
        out.append(escape(body[pos : m.start()]))
        out.append(f'<{PH_TAG} i="{len(spans)}"/>')
        spans.append(m.group(0))
        pos = m.end()
    out.append(escape(body[pos:]))
    return "".join(out)


def protect(text: str) -> Protected:
    """The XML to send for ``text`` (see the module docstring)."""
    p = Protected(xml="")
    parts: list[str] = []
    fence: str | None = None
    code_indent: int | None = None  # inside an unfenced code block opened at this indentation
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        eol = raw[len(line) :]
        m = _FENCE.match(line)
        if fence is None and not m:
            indent = len(line) - len(line.lstrip(" \t"))
            if code_indent is not None and (
                not line.strip()
                or indent > code_indent
                or (indent == code_indent and line.strip()[:1] in "})]")
            ):
                p.lines.append((raw, None, ""))  # the body of a def/if/{ … } block
                continue
            code_indent = None
            if _CODE_LINE.match(line):
                p.lines.append((raw, None, ""))
                if line.rstrip().endswith((":", "{", "(", "[")):
                    code_indent = indent
                continue
        if fence is not None:  # inside a fenced code block: kept verbatim
            if (
                m
                and m.group(1)[0] == fence[0]
                and len(m.group(1)) >= len(fence)
                and not line.strip()[len(m.group(1)) :].strip()
            ):
                fence = None
            p.lines.append((raw, None, ""))
            continue
        if m:
            # "$$ x $$" on one line is a whole math block; anything else opens a fence
            if not (m.group(1) == "$$" and "$$" in line.strip()[2:]):
                fence = m.group(1)
            p.lines.append((raw, None, ""))
            continue
        if not _WORD.search(line) or _TABLE_SEP.match(line):
            p.lines.append((raw, None, ""))
            continue
        prefix = _PREFIX.match(line).group("p")  # type: ignore[union-attr]
        rest = line[len(prefix) :]
        body = rest.rstrip()
        suffix = rest[len(body) :] + eol
        table = body.startswith("|") or (body.endswith("|") and body.count("|") >= 2)
        n_spans = len(p.spans)
        xml_body = _protect_body(body, p.spans, table)
        if not _WORD.search(_strip_placeholders(xml_body)):
            del p.spans[n_spans:]  # only code/URLs/placeholders on this line: keep it as it is
            p.lines.append((raw, None, ""))
            continue
        p.lines.append((prefix, len(parts), suffix))
        parts.append(f"<{LINE_TAG}>{xml_body}</{LINE_TAG}>")
    p.xml = "\n".join(parts)
    return p


_PH_RE = re.compile(rf'<{PH_TAG} i="\d+"/>')


def _strip_placeholders(xml_body: str) -> str:
    return _PH_RE.sub(" ", xml_body)


def billable_chars(xml: str) -> int:
    """Characters DeepL bills for ``xml`` (markup is free; an entity is one character)."""
    text = re.sub(r"<[^>]*>", "", xml)
    return len(re.sub(r"&(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);", "_", text))


def restore(translated: str, p: Protected) -> str:
    """Rebuild the text from DeepL's answer; raise ``ProtectionError`` if a protected span
    changed."""
    if p.empty:
        return "".join(prefix + suffix for prefix, _, suffix in p.lines)
    try:
        root = ET.fromstring(f"<r>{translated}</r>")
    except ET.ParseError as exc:
        raise ProtectionError(f"DeepL returned malformed XML ({exc})") from exc
    if (root.text or "").strip():
        raise ProtectionError("DeepL returned text outside the line elements")
    bodies: list[str] = []
    seen: set[int] = set()
    for el in root:
        if el.tag != LINE_TAG or el.attrib:
            raise ProtectionError(f"DeepL returned an unexpected element <{el.tag}>")
        if (el.tail or "").strip():
            raise ProtectionError("DeepL returned text between the line elements")
        chunks = [el.text or ""]
        for ph in el:
            i = ph.attrib.get("i", "")
            if ph.tag != PH_TAG or set(ph.attrib) != {"i"} or not i.isdigit() or len(ph) or ph.text:
                raise ProtectionError(f"a placeholder came back changed: <{ph.tag} {ph.attrib}>")
            n = int(i)
            if n >= len(p.spans) or n in seen:
                raise ProtectionError(
                    f"placeholder {n} came back {'twice' if n in seen else 'unknown'}"
                )
            seen.add(n)
            chunks.append(p.spans[n])
            chunks.append(ph.tail or "")
        bodies.append("".join(chunks))
    n_lines = sum(1 for _, idx, _ in p.lines if idx is not None)
    if len(bodies) != n_lines:
        raise ProtectionError(f"DeepL returned {len(bodies)} lines for {n_lines}")
    missing = set(range(len(p.spans))) - seen
    if missing:
        shown = ", ".join(repr(p.spans[i][:40]) for i in sorted(missing)[:3])
        raise ProtectionError(f"protected span(s) lost in translation: {shown}")
    out = []
    for prefix, idx, suffix in p.lines:
        out.append(prefix if idx is None else prefix + bodies[idx].strip())
        out.append(suffix)
    return "".join(out)


# ------------------------------------------------------------------ fallback: without the markup
# Some servers (DeepL's own API mock, proxies) drop the XML kocurate sends. Then each piece of text
# between protected spans is sent on its own as plain text, and the text is rebuilt here around the
# spans, which never leave this process: every protected span is kept by construction.

Segment = str | int  # plain text to translate, or the index of a protected span


def plain_lines(p: Protected) -> list[list[Segment]]:
    """The translatable lines of ``p`` as segments: text pieces (unescaped) and span indexes."""
    if p.empty:
        return []
    root = ET.fromstring(f"<r>{p.xml}</r>")
    out: list[list[Segment]] = []
    for el in root:
        segs: list[Segment] = [el.text or ""]
        for ph in el:
            segs.append(int(ph.attrib["i"]))
            segs.append(ph.tail or "")
        out.append([s for s in segs if s != ""])
    return out


def plain_pieces(p: Protected) -> list[str]:
    """The distinct texts to send without markup (stripped; pieces without letters stay here)."""
    seen: dict[str, None] = {}
    for line in plain_lines(p):
        for s in line:
            if isinstance(s, str) and _WORD.search(s):
                seen.setdefault(s.strip(), None)
    return list(seen)


def rebuild(p: Protected, translated: dict[str, str]) -> str:
    """The text from ``plain_pieces`` translations (``translated[piece]``) and the original
    spans."""
    bodies: list[str] = []
    for line in plain_lines(p):
        parts: list[str] = []
        for s in line:
            if isinstance(s, int):
                parts.append(p.spans[s])
            elif _WORD.search(s):
                core = s.strip()
                lead, trail = s[: len(s) - len(s.lstrip())], s[len(s.rstrip()) :]
                parts.append(lead + translated[core] + trail)
            else:
                parts.append(s)
        bodies.append("".join(parts))
    out = []
    for prefix, idx, suffix in p.lines:
        out.append(prefix if idx is None else prefix + bodies[idx].strip())
        out.append(suffix)
    return "".join(out)


def friendly(exc: ProtectionError) -> str:
    """What a person reads when DeepL's answer could not be used (the technical part in
    brackets)."""
    return (
        "DeepL's answer did not keep the protected parts of this text (code, links, placeholders"
        f" or line structure) even when sent in smaller pieces [{exc}]. The current Korean text is"
        " kept and nothing was saved for this turn; retry it later or fix it by hand."
    )
