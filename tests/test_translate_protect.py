"""Placeholder protection and request packing (no database, no server)."""

from __future__ import annotations

import json

import pytest
from fake_deepl import _translate_markup
from hypothesis import given, settings
from hypothesis import strategies as st

from kocurate.translate.batching import MAX_BODY, Item, pack, request_bytes
from kocurate.translate.protect import ProtectionError, billable_chars, protect, restore

DOC = """# How to use `requests`

Call `requests.get(url)` and check https://docs.python-requests.org/en/latest/ first.

```python
import requests
def fetch(name):  # translate nothing here
    return requests.get(f"https://x.test/{name}").json()
```

1. Install it with %s and {name}.
2. Use <b>bold</b> and <br/> tags & keep them.
   - nested item with ``a `tick` inside``

| Column one | Column two |
|:-----------|-----------:|
| some text | more text |

> A quote with [a link](https://example.com/page_(1)) in it.
"""


def fake(xml: str, mangle: bool = False) -> str:
    return _translate_markup(xml, {}, set(), mangle)[0]


def test_roundtrip_identity_and_structure() -> None:
    p = protect(DOC)
    assert restore(p.xml, p) == DOC
    # what is sent never contains the protected spans
    assert "import requests" not in p.xml and "https://" not in p.xml and "{name}" not in p.xml
    assert "%s" not in p.xml and "<b>" not in p.xml and "|:---" not in p.xml


def test_translation_keeps_code_and_placeholders_byte_for_byte() -> None:
    p = protect(DOC)
    out = restore(fake(p.xml), p)
    assert out != DOC
    block = DOC[DOC.index("```python") : DOC.index("```\n", DOC.index("```python") + 3) + 4]
    assert block in out
    for span in (
        "`requests.get(url)`",
        "https://docs.python-requests.org/en/latest/",
        "%s",
        "{name}",
        "<b>",
        "</b>",
        "<br/>",
        "``a `tick` inside``",
        "|:-----------|-----------:|",
        "](https://example.com/page_(1))",
    ):
        assert span in out, span
    # Markdown structure: the same line prefixes, the same number of lines
    src_lines, out_lines = DOC.splitlines(), out.splitlines()
    assert len(src_lines) == len(out_lines)
    for a, b in zip(src_lines, out_lines, strict=True):
        for prefix in ("# ", "1. ", "2. ", "   - ", "> ", "| "):
            assert a.startswith(prefix) == b.startswith(prefix)
    assert "&" in out and "&amp;" not in out  # escaping undone


def test_lost_or_changed_placeholder_raises() -> None:
    p = protect("Run `make test` now, then open http://localhost:8000 please.")
    good = fake(p.xml)
    assert restore(good, p).count("`make test`") == 1
    with pytest.raises(ProtectionError):
        restore(fake(p.xml, mangle=True), p)  # placeholders dropped
    with pytest.raises(ProtectionError):
        restore(good.replace('<x i="0"/>', '<x i="0"/><x i="0"/>'), p)  # doubled
    with pytest.raises(ProtectionError):
        restore(good.replace('<x i="1"/>', '<x i="1">changed</x>'), p)  # content added
    with pytest.raises(ProtectionError):
        restore(good.replace('<x i="1"/>', '<y i="1"/>'), p)  # renamed
    with pytest.raises(ProtectionError):
        restore(good.replace("</l>", ""), p)  # malformed XML
    two = protect("line one\nline two")
    with pytest.raises(ProtectionError):
        restore("<l>only one</l>", two)


def test_nothing_to_translate_needs_no_request() -> None:
    for text in ("```\ncode only\n```", "`x = 1`", "https://example.com", "12345", "", "---|---"):
        p = protect(text)
        assert p.empty and restore("", p) == text


def test_billable_chars_excludes_markup() -> None:
    p = protect("Tom & Jerry use `x`")
    assert billable_chars(p.xml) == len("Tom & Jerry use ")
    assert billable_chars(p.xml) == _translate_markup(p.xml, {}, set(), False)[1]


_alphabet = st.sampled_from(
    list("ab Z1.,#-*>|`{}%s<>/&\"'\n\t:()[]~_=")
    + ["```", "http://a.b/c", "\r\n", "한국", "\x01", "    ", "- ", "1. "]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_alphabet, max_size=40).map("".join))
def test_roundtrip_property(text: str) -> None:
    p = protect(text)
    assert restore(p.xml, p) == text
    if not p.empty:
        # the fake DeepL (tags preserved, text changed) always restores cleanly, spans intact
        out = restore(fake(p.xml), p)
        for span in p.spans:
            assert span in out


def test_pack_respects_both_limits() -> None:
    items = [Item(str(i), "<l>" + ("word " * (i % 7 * 3000 + 1)) + "</l>") for i in range(300)]
    batches, too_big = pack(items)
    assert not too_big
    assert [it.key for b in batches for it in b] == [
        it.key for it in items
    ]  # order kept, nothing lost
    for b in batches:
        assert len(b) <= 50
        body = json.dumps(
            {
                "text": [it.xml for it in b],
                "target_lang": "KO",
                "source_lang": "EN",
                "tag_handling": "xml",
                "show_billed_characters": True,
            }
        )
        assert len(body.encode()) <= MAX_BODY
    assert any(len(b) < 50 for b in batches)  # the byte limit cut some requests short
    small = [Item(str(i), "<l>short text</l>") for i in range(120)]
    assert [len(b) for b in pack(small)[0]] == [50, 50, 20]  # the text limit cuts the others
    huge = Item("h", "<l>" + "x" * MAX_BODY + "</l>")
    batches, too_big = pack([huge, items[1]])
    assert too_big == [huge] and len(batches) == 1
    # non-ASCII is escaped by the client's JSON encoder: the byte count follows it
    assert request_bytes("한") == len(json.dumps("한")) + 2


def test_math_and_money() -> None:
    text = (
        "The area is $\\pi r^2$ and costs $5 and $10.\n$$\n\\frac{a}{b} = c\n$$\n$$x^2$$\nAfter the"
        " math.\n"
    )
    p = protect(text)
    assert p.spans == ["$\\pi r^2$"]  # "$5 and $10" is money, not math: it stays translatable
    out = restore(fake(p.xml), p)
    assert (
        "$$\n\\frac{a}{b} = c\n$$\n$$x^2$$\n" in out and "$\\pi r^2$" in out and "After" not in out
    )


def test_unfenced_code_is_kept_and_prose_is_not() -> None:
    # the demo's planted defect: Alpaca answers carry unfenced code whose identifiers DeepL
    # translated
    code = (
        'def add(a, b):\n    return a + b\n\nprint(add(1, 2))\nint main() {\n    printf("hi");\n   '
        " return 0;\n}\nfor i in range(3):\n    total += i\nconst x = f(y);\nSELECT name FROM"
        " users;\n"
    )
    p = protect(code + "This adds two numbers.\n")
    assert p.xml == "<l>This adds two numbers.</l>"
    assert restore(fake(p.xml), p).startswith(code)
    prose = [
        "Return the book to the library.",
        "If you want, I can help:",
        "for all of us in town:",
        "Print the page.",
        "Import duties apply.",
        "Class is at 9.",
        "Let me explain.",
        "return to sender",
        "while you wait:",
        "He said (quietly) that it works.",
        "Say hello (twice)",
        "To be, or not to be; that is the question.",
    ]
    for line in prose:
        assert not protect(line).empty, line


def test_script_and_code_elements_keep_their_content() -> None:
    text = (
        "<script>alert(1)</script> [link](javascript:alert(2)) and <code>x = 1</code> in"
        " <b>bold</b> text"
    )
    p = protect(text)
    assert (
        "<script>alert(1)</script>" in p.spans
        and "<code>x = 1</code>" in p.spans
        and "alert" not in p.xml
    )
    out = restore(fake(p.xml), p)
    assert (
        "<script>alert(1)</script>" in out
        and "](javascript:alert(2))" in out
        and "<code>x = 1</code>" in out
    )
