"""The fake DeepL server itself: the limits and statuses the real service has (so tests of kocurate
mean something), driven by the official client and by plain form posts."""

from __future__ import annotations

from collections.abc import Iterator

import deepl
import deepl.http_client
import pytest
import requests
from fake_deepl import FakeDeepL


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepL]:
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    s = FakeDeepL(character_limit=1000).start()
    yield s
    s.stop()


def test_limits_and_statuses(srv: FakeDeepL) -> None:
    c = deepl.DeepLClient("test-key", server_url=srv.url)
    with pytest.raises(deepl.DeepLException, match="Too many texts"):
        c.translate_text(["a"] * 51, target_lang="KO")
    with pytest.raises(deepl.DeepLException, match="413"):
        c.translate_text(["x" * 70_000, "y" * 70_000], target_lang="KO")
    with pytest.raises(deepl.DeepLException, match="formality"):
        c.translate_text("Hello", target_lang="KO", formality="more")
    with pytest.raises(deepl.DeepLException, match="Tag handling"):
        c.translate_text("a <b>broken", target_lang="KO", tag_handling="xml")
    r = c.translate_text(
        ['Hello <b>world</b> &amp; <x i="0"/>', "Bye"],
        source_lang="EN",
        target_lang="KO",
        tag_handling="xml",
        context="not billed",
    )
    assert r[0].text.endswith("<b>" + r[0].text.split("<b>")[1]) and '<x i="0"/>' in r[0].text
    assert "&amp;" in r[0].text and r[0].billed_characters == len("Hello world & ")
    assert c.get_usage().character.count == len("Hello world & ") + 3
    with pytest.raises(deepl.QuotaExceededException):
        c.translate_text("z" * 2000, target_lang="KO")
    with pytest.raises(deepl.AuthorizationException):
        deepl.DeepLClient("bad-key", server_url=srv.url).get_usage()
    srv.fail_next(429, 1)
    srv.fail_next(502, 1)
    assert c.translate_text("Cat", target_lang="KO").text != "Cat"  # the client retried twice
    assert [r.status for r in srv.translate_requests[-3:]] == [429, 502, 200]
    assert srv.billed["Cat"] == 1 and srv.billed["Bye\x00context:not billed"] == 1


def test_form_body_and_glossaries(srv: FakeDeepL) -> None:
    # a form post, as older clients and curl -d send it: text repeated
    r = requests.post(
        f"{srv.url}/v2/translate",
        headers={"Authorization": "DeepL-Auth-Key test-key"},
        data={"text": ["one", "two"], "target_lang": "KO", "show_billed_characters": "1"},
        timeout=10,
    )
    assert r.status_code == 200 and [t["billed_characters"] for t in r.json()["translations"]] == [
        3,
        3,
    ]
    c = deepl.DeepLClient("test-key", server_url=srv.url)
    g = c.create_glossary("g", "EN", "KO", {"cat": "고양이", "big dog": "큰 개"})
    assert g.entry_count == 2 and g.target_lang == "KO"
    assert [x.glossary_id for x in c.list_glossaries()] == [g.glossary_id]
    assert c.get_glossary_entries(g) == {"cat": "고양이", "big dog": "큰 개"}
    out = c.translate_text("A cat and a big dog", source_lang="EN", target_lang="KO", glossary=g)
    assert "고양이" in out.text and "큰 개" in out.text
    with pytest.raises(ValueError):
        c.translate_text(
            "x", target_lang="KO", glossary=g
        )  # the client wants source_lang with a glossary
    c.delete_glossary(g)
    with pytest.raises(deepl.GlossaryNotFoundException):
        c.get_glossary(g.glossary_id)
