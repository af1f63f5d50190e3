"""The Korean interface: every string wrapped for translation has a Korean translation, terms follow
the glossary, placeholders survive, and the catalogs load from a checkout and from a wheel alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kocurate import i18n

ROOT = Path(__file__).resolve().parents[1]
KO_PO = ROOT / "kocurate" / "locale" / "ko" / "LC_MESSAGES" / "kocurate.po"
GLOSSARY = ROOT / "kocurate" / "locale" / "glossary.tsv"
_FIELD = re.compile(r"\{[a-z_0-9]*(?:[:!][^}]*)?\}")


def _extracted() -> dict[str, str]:
    """msgid → first place it is used, as `pybabel extract -F babel.cfg` finds them."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, strip_comment_tags=True
    ):
        if "/tests/" in f"/{filename}" or filename.startswith(("build/", ".")):
            continue
        mid = (
            message[0] if isinstance(message, tuple) else message
        )  # a plural entry is keyed by its singular
        if mid:
            found.setdefault(f"{context}\x04{mid}" if context else mid, f"{filename}:{lineno}")
    return found


def _catalog():  # type: ignore[no-untyped-def]
    with KO_PO.open("rb") as fh:
        return read_po(fh, locale="ko")


def _glossary() -> list[tuple[str, str]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            en, ko, *_ = line.split("\t")
            rows.append((en, ko))
    return rows


def test_every_wrapped_string_has_a_korean_translation() -> None:
    cat = _catalog()
    have = {}
    for m in cat:
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        have[f"{m.context}\x04{key}" if m.context else key] = m
    missing = []
    for mid, where in sorted(_extracted().items(), key=lambda kv: kv[1]):
        m = have.get(mid)
        strings = (
            m.string if m is not None and isinstance(m.string, tuple) else (m.string if m else "",)
        )
        if m is None or m.fuzzy or not all(strings):
            missing.append(f"{where}: {mid!r}")
    assert not missing, (
        "strings without a Korean translation (run pybabel extract/update, then translate "
        "kocurate/locale/ko/LC_MESSAGES/kocurate.po):\n" + "\n".join(missing[:50])
    )


def test_placeholders_survive_translation() -> None:
    bad = []
    for m in _catalog():
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        want = sorted(_FIELD.findall(ids[-1]))
        bad += [f"{ids[0]!r} → {s!r}" for s in strs if s and sorted(_FIELD.findall(s)) != want]
    assert not bad, "translations that drop or add {placeholders}:\n" + "\n".join(bad)


def test_korean_catalog_has_korean_plural_rules() -> None:
    cat = _catalog()
    assert cat.num_plurals == 1 and cat.plural_expr.strip() == "0"


def test_glossary_terms_are_used_consistently() -> None:
    """A short msgid that is exactly a glossary term must translate to the glossary's Korean."""
    terms = {en.lower(): ko for en, ko in _glossary()}
    assert {
        "review",
        "approve",
        "reject",
        "needs fix",
        "skip",
        "draft",
        "conflict",
        "reserved",
    } <= set(terms)
    wrong = []
    for m in _catalog():
        if m.id and isinstance(m.id, str) and m.string and m.id.lower() in terms:
            if terms[m.id.lower()] not in m.string:
                wrong.append(f"{m.id!r} → {m.string!r} (glossary: {terms[m.id.lower()]})")
    assert not wrong, "\n".join(wrong)


def test_language_switch_and_fallbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n"Plural-Forms: '
        'nplurals=1; plural=0;\\n"\n\nmsgid "Approve"\nmsgstr "승인"\n\n#, fuzzy\nmsgid "Skip"\n'
        'msgstr "건너"\n',
        encoding="utf-8",
    )
    import gettext
    import io

    t = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(po)))
    assert t.gettext("Approve") == "승인"
    assert t.gettext("Skip") == "Skip"  # fuzzy entries are not used, as with msgfmt
    monkeypatch.setenv("KOCURATE_DEFAULT_LANG", "en")
    assert i18n.set_language("xx") == "en" and i18n.current_language() == "en"
    monkeypatch.setenv("KOCURATE_DEFAULT_LANG", "ko")
    assert i18n.set_language(None) == "ko"
    assert i18n.set_language("en") == "en" and i18n._("Approve") == "Approve"


def test_error_messages_by_message_id() -> None:
    class Boom(Exception):
        msgid = "{n} samples could not be saved"
        params = {"n": 3}

    i18n.set_language("en")
    assert i18n.message(Boom("english text")) == "3 samples could not be saved"
    assert i18n.message(ValueError("plain")) == "plain"


def test_a_refused_record_reads_in_korean_on_the_page() -> None:
    from kocurate.importers.base import RecordContext

    exc = RecordContext("ko.jsonl", "line 2").fail("output", i18n.N_("missing field"))
    # the CLI (str) stays English; the page's message and place follow the language
    assert str(exc) == "ko.jsonl, line 2, field 'output': missing field"
    try:
        i18n.set_language("ko")
        assert i18n.message(exc) == "ko.jsonl, 2행, 필드 'output': 필드가 없습니다"
        assert exc.place() == "2행"
    finally:
        i18n.set_language("en")
    assert exc.place() == "line 2"


def test_each_person_keeps_their_language(engine, actors) -> None:  # type: ignore[no-untyped-def]
    from kocurate import db
    from kocurate.errors import KocurateError
    from kocurate.services import prefs

    with db.session_scope(engine) as s:
        assert prefs.language(s, actors["annotator"]) is None
        prefs.set_language(s, actors["annotator"], "en")
        with pytest.raises(KocurateError, match="unknown language"):
            prefs.set_language(s, actors["annotator"], "xx")
    with db.session_scope(engine) as s:
        assert prefs.language(s, actors["annotator"]) == "en"
        assert prefs.language(s, actors["annotator2"]) is None
