"""The one named Hangul range (kocurate.hangul) means what the written-out ranges meant."""

from __future__ import annotations

from kocurate import hangul


def test_ranges_cover_every_syllable_and_jamo_and_nothing_else() -> None:
    assert all(hangul.SYLLABLE.fullmatch(chr(c)) for c in range(0xAC00, 0xD7A4))
    assert hangul.SYLLABLE_RUN.fullmatch("가나다힣") and not hangul.SYLLABLE.search("ㄱA1a")
    assert (
        hangul.HANGUL.fullmatch("ㄱ")
        and hangul.HANGUL.fullmatch("ㆎ")
        and not hangul.HANGUL.search("漢A")
    )
    assert hangul.is_syllable("한") and not hangul.is_syllable("ㅎ") and not hangul.is_syllable("A")
    assert chr(hangul.SYLLABLE_BASE + (18 * 21 + 0) * 28 + 4) == "한"  # ㅎ + ㅏ + ㄴ
