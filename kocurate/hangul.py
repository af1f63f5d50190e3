"""The Hangul character ranges, named once for every pattern that needs them.

``SYLLABLES`` is the body of a regex character class (가–힣, the 11,172 precomposed syllables);
``JAMO`` the compatibility jamo (ㄱ–ㆎ). Patterns write ``"[" + SYLLABLES + "]"`` rather than the
range itself, so a change (say, to take in old jamo) happens here.
"""

from __future__ import annotations

import re

SYLLABLES = "\\uac00-\\ud7a3"  # 가-힣
JAMO = "\\u3131-\\u318e"  # ㄱ-ㆎ (compatibility jamo)
FIRST_SYLLABLE, LAST_SYLLABLE = "\uac00", "\ud7a3"
SYLLABLE_BASE = 0xAC00  # 가: syllable = BASE + (initial * 21 + medial) * 28 + final

SYLLABLE = re.compile(f"[{SYLLABLES}]")
SYLLABLE_RUN = re.compile(f"[{SYLLABLES}]+")
HANGUL = re.compile(f"[{SYLLABLES}{JAMO}]")  # a syllable or a lone jamo
HANGUL_RUN = re.compile(f"[{SYLLABLES}{JAMO}]+")


def is_syllable(ch: str) -> bool:
    """Whether one character is a precomposed Hangul syllable."""
    return FIRST_SYLLABLE <= ch <= LAST_SYLLABLE
