"""Bad input, tried widely (hypothesis): hostile records through every importer and the review
services.

Each input is either imported intact (every Korean text read back equals the input, code point for
code point) or refused with an ImportFailed that names the file; nothing else may escape. Hostile
means: NUL bytes, unpaired surrogates, RTL overrides and zero-width characters, HTML/JS, SQL-looking
text, line/paragraph separators, control characters, huge fields, deep nesting, wrong types,
invalid UTF-8 and plain random bytes.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from kocurate import db
from kocurate.errors import AlreadyImported, ImportFailed, KocurateError, StaleVersion
from kocurate.importers import REGISTRY
from kocurate.importers.base import MAX_FIELD_CHARS
from kocurate.ingest import import_files
from kocurate.models import Dataset, Flag, Review, Sample, Turn
from kocurate.services import review

EXAMPLES = int(os.environ.get("KOCURATE_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

HOSTILE = [
    "",
    " ",
    "a\x00b",
    "\x00",
    "\ud800",
    "x\udfffy",
    "\u202eevil\u202c",
    "\u200b\u200c\u200d\ufeff",
    "\ufeffBOM",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert('x')>",
    "'; DROP TABLE samples; --",
    "Robert'); DELETE FROM turns;--",
    '" OR 1=1 --',
    "{{7*7}} ${7*7} %s %n %(x)s",
    "line\r\nnext\rlast\n",
    "\u2028sep\u2029",
    "\x1b[31mred\x1b[0m",
    "e\u0301 가\u11a8 \U0001d573 😀👩\u200d👩\u200d👧",
    "\\u0000 \\n \\",
    "한국어 번역 텍스트입니다.",
    "\t\v\f\x7f\x85",
    "### Human: fake marker",
    "NaN",
    "null",
    "[1, 2]",
    "가" * 200_000,
    "x" * (MAX_FIELD_CHARS + 1),
]
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.lists(st.sampled_from(HOSTILE[:26]) | st.text(max_size=8), min_size=2, max_size=4).map(
        "".join
    ),
)


def _bad(t: str) -> bool:
    """What an importer must refuse: NUL, an unpaired surrogate, or a field over the limit."""
    return "\x00" in t or len(t) > MAX_FIELD_CHARS or any(0xD800 <= ord(c) <= 0xDFFF for c in t)


# kind → (build a record from Korean texts, the (role, text) turns it must become, number of texts,
#          import options)
Kinds = dict[
    str,
    tuple[
        Callable[[list[str]], dict[str, Any]],
        Callable[[list[str]], list[tuple[str, str]]],
        int,
        dict[str, Any] | None,
    ],
]
KINDS: Kinds = {
    "sharegpt": (
        lambda t: {
            "id": None,
            "conversations": [{"from": "human", "value": t[0]}, {"from": "gpt", "value": t[1]}],
        },
        lambda t: [("user", t[0]), ("assistant", t[1])],
        2,
        None,
    ),
    "messages": (
        lambda t: {
            "messages": [{"role": "user", "content": t[0]}, {"role": "assistant", "content": t[1]}]
        },
        lambda t: [("user", t[0]), ("assistant", t[1])],
        2,
        None,
    ),
    "koalpaca": (
        lambda t: {"instruction": t[0], "input": t[1], "output": t[2]},
        lambda t: [("instruction", t[0]), ("input", t[1]), ("output", t[2])],
        3,
        None,
    ),
    "koalpaca_v11": (
        lambda t: {"instruction": t[0], "output": t[1], "url": "https://x/" + str(len(t[0]))},
        lambda t: [("instruction", t[0]), ("output", t[1])],
        2,
        None,
    ),
    "dolly": (
        lambda t: {"instruction": t[0], "context": t[1], "response": t[2], "category": "open_qa"},
        lambda t: [("instruction", t[0]), ("context", t[1]), ("response", t[2])],
        3,
        None,
    ),
    "sharegpt_pairs": (
        lambda t: {"input": "English source " + str(len(t[0])), "output": t[0]},
        lambda t: [("turn", t[0])],
        1,
        None,
    ),
    "generic": (
        lambda t: {"q": t[0], "a": t[1]},
        lambda t: [("user", t[0]), ("assistant", t[1])],
        2,
        {
            "fields": [("user", "q"), ("assistant", "a")],
            "source_fields": {},
            "conversations": None,
            "id_field": None,
            "meta_fields": [],
        },
    ),
}
_counter = itertools.count()


def test_every_importer_is_fuzzed() -> None:
    assert set(KINDS) | {"guanaco"} == set(REGISTRY), "a new importer needs a builder here"


@pytest.fixture
def fuzz_engine(db_url: str) -> Engine:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


def _write(path: Path, records: list[dict[str, Any]], jsonl: bool, ascii_only: bool) -> None:
    if jsonl:
        body = "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records)
    else:
        body = json.dumps(records, ensure_ascii=ascii_only)
    path.write_bytes(
        body.encode("utf-8", errors="surrogatepass") if not ascii_only else body.encode("ascii")
    )


def _stored(engine: Engine, dataset_id: int) -> list[list[tuple[str, str]]]:
    with engine.connect() as c:
        rows = c.execute(
            select(Turn.sample_id, Turn.role, Turn.text)
            .join(Sample, Sample.id == Turn.sample_id)
            .where(Sample.dataset_id == dataset_id)
            .order_by(Sample.position, Turn.idx)
        ).all()
    out: dict[int, list[tuple[str, str]]] = {}
    for sid, role, txt in rows:
        out.setdefault(sid, []).append((role, txt))
    return list(out.values())


def _dataset_rows(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(Dataset)).scalar() or 0


@pytest.mark.parametrize("kind", sorted(KINDS))
@FUZZ
@given(data=st.data())
def test_hostile_records_are_imported_intact_or_refused(
    kind: str, fuzz_engine: Engine, tmp_path_factory: Any, data: st.DataObject
) -> None:
    build, expect, n, options = KINDS[kind]
    records_texts = data.draw(
        st.lists(st.lists(texts, min_size=n, max_size=n), min_size=1, max_size=4)
    )
    if kind == "sharegpt_pairs":
        # inline English: the aligner's cue regexes are quadratic on one huge field (200k chars:
        # minutes); reported to the aligner's owner; a 4k field keeps this test bounded meanwhile
        records_texts = [
            [t[:4_000] if len(t) <= MAX_FIELD_CHARS else t for t in ts] for ts in records_texts
        ]
    jsonl = data.draw(st.booleans())
    has_surrogate = any(0xD800 <= ord(c) <= 0xDFFF for ts in records_texts for t in ts for c in t)
    ascii_only = has_surrogate or data.draw(
        st.booleans()
    )  # a lone surrogate can only be written as \\uXXXX
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / f"ko.{'jsonl' if jsonl else 'json'}"
    _write(path, [build(t) for t in records_texts], jsonl, ascii_only)
    before = _dataset_rows(fuzz_engine)
    name = f"{kind}-{next(_counter)}"
    try:
        rep = import_files(fuzz_engine, kind, path, name=name, options=options)
    except ImportFailed as exc:
        event("refused")
        assert path.name in str(exc)  # the place is named
        assert _dataset_rows(fuzz_engine) == before  # and nothing was written
        return
    except AlreadyImported:
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    event("imported")
    refused_expected = [ts for ts in records_texts if any(_bad(t) for t in ts)]
    assert not refused_expected, f"accepted text that must be refused: {refused_expected!r:.200}"
    stored = _stored(fuzz_engine, rep.dataset_id)
    want = [expect(ts) for ts in records_texts]
    # empty optional fields may be kept as "" or dropped; every non-empty text is there, intact
    assert [[t for t in s if t[1] != ""] for s in stored] == [
        [t for t in w if t[1] != ""] for w in want
    ]


@FUZZ
@given(data=st.data())
def test_guanaco_markers_and_hostile_text(
    fuzz_engine: Engine, tmp_path_factory: Any, data: st.DataObject
) -> None:
    a, b = data.draw(texts), data.draw(texts)
    tmp = tmp_path_factory.mktemp("g")
    path = tmp / "g.jsonl"
    ascii_only = any(0xD800 <= ord(c) <= 0xDFFF for c in a + b)
    _write(path, [{"text": f"### Human: {a}### Assistant: {b}"}], True, ascii_only)
    try:
        rep = import_files(fuzz_engine, "guanaco", path, name=f"g-{next(_counter)}")
    except ImportFailed as exc:
        assert "g.jsonl" in str(exc)
        return
    except AlreadyImported:
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert not _bad(a) and not _bad(b)
    stored = "".join(t for s in _stored(fuzz_engine, rep.dataset_id) for _r, t in s)
    for part in (a.strip(), b.strip()):  # the turns hold the text between the markers
        for piece in part.split("### "):
            assert piece.strip().removeprefix("Human:").removeprefix("Assistant:").strip() in stored


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("kind", sorted(KINDS))
@FUZZ
@given(data=st.data())
def test_wrong_types_and_shapes_are_refused_cleanly(
    kind: str, fuzz_engine: Engine, tmp_path_factory: Any, data: st.DataObject
) -> None:
    build, _expect, n, options = KINDS[kind]
    rec = build(["가나다"] * n)
    key = data.draw(st.sampled_from(sorted(rec) + ["extra"]))
    rec[key] = data.draw(json_values)
    if data.draw(st.booleans()):
        rec = data.draw(json_values)  # not even an object
    tmp = tmp_path_factory.mktemp("shape")
    path = tmp / "shape.jsonl"
    path.write_text(json.dumps(rec, ensure_ascii=True) + "\n", encoding="ascii")
    try:
        import_files(fuzz_engine, kind, path, name=f"s-{next(_counter)}", options=options)
    except (ImportFailed, AlreadyImported) as exc:
        assert isinstance(exc, AlreadyImported) or "shape.jsonl" in str(exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
@FUZZ
@given(
    blob=st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [
                b"\xff\xfe\x00garbage",
                b'{"instruction": "\xc3\x28"}\n',
                b'[{"a": 1}, {"b": ',
                b"[" * 100_000 + b"]" * 100_000,
                b'{"x": ' * 50_000,
                b"\x1f\x8b",
                b"\x1f\x8b\x08\x00zz",
                b"\xef\xbb\xbf[]",
                b"",
                b"\n\n\n",
                b'{"conversations": [{"from": "human", "value": "\xed\xa0\x80"}]}\n',
            ]
        ),
    ),
    suffix=st.sampled_from([".json", ".jsonl", ".csv"]),
)
def test_random_and_corrupt_bytes_never_crash(
    kind: str, fuzz_engine: Engine, tmp_path_factory: Any, blob: bytes, suffix: str
) -> None:
    options = KINDS[kind][3] if kind in KINDS else None
    tmp = tmp_path_factory.mktemp("bytes")
    path = tmp / f"junk{suffix}"
    path.write_bytes(blob)
    before = _dataset_rows(fuzz_engine)
    try:
        import_files(fuzz_engine, kind, path, name=f"b-{next(_counter)}", options=options)
    except ImportFailed as exc:
        assert path.name in str(exc)  # corrupt input: refused, its place named
        assert _dataset_rows(fuzz_engine) == before
    except AlreadyImported:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------- review services


@pytest.fixture
def one_sample(engine: Engine) -> tuple[int, list[int]]:
    demo = Path(__file__).resolve().parents[1] / "kocurate" / "demo"
    import_files(
        engine, "sharegpt", demo / "sharegpt_ko.json", demo / "sharegpt_en.json", name="sg"
    )
    with engine.connect() as c:
        sid = c.execute(select(func.min(Sample.id))).scalar()
        tids = list(
            c.execute(select(Turn.id).where(Turn.sample_id == sid).order_by(Turn.idx)).scalars()
        )
    return sid, tids


@FUZZ
@given(data=st.data())
def test_review_services_store_hostile_text_intact_or_refuse(
    engine: Engine, actors: dict, one_sample: tuple, data: st.DataObject
) -> None:
    sid, tids = one_sample
    ann = actors["annotator"]
    txt, note = data.draw(texts), data.draw(texts)
    assume(len(txt) <= 300_000)
    tid = data.draw(st.sampled_from(tids))
    with engine.connect() as c:
        version = c.execute(select(Sample.version).where(Sample.id == sid)).scalar()
    try:
        with db.session_scope(engine) as s:
            new = review.save_edit(s, ann, sid, tid, txt, version)
    except StaleVersion:
        raise
    except KocurateError as exc:
        assert _bad(txt) or txt == "", f"refused good text: {exc}"
        new = version
    else:
        assert not ("\x00" in txt or any(0xD800 <= ord(c) <= 0xDFFF for c in txt)), (
            "stored a NUL/surrogate"
        )
        with engine.connect() as c:
            got = c.execute(select(Turn.text).where(Turn.id == tid)).scalar()
        assert got == txt.replace("\r\n", "\n")  # the one documented normalization: CRLF line ends
    try:
        with db.session_scope(engine) as s:
            new = review.set_flags(s, ann, sid, {"other": note, "hate": None}, new)
        with engine.connect() as c:
            notes = dict(
                c.execute(
                    select(Flag.category, Flag.note).where(
                        Flag.sample_id == sid, Flag.user_id == ann.id
                    )
                ).all()
            )
        assert notes["other"] == (note.strip() or None) and notes["hate"] is None
    except KocurateError as exc:
        assert _bad(note), f"refused a good note: {exc}"
    try:
        with db.session_scope(engine) as s:
            review.decide(s, ann, sid, "needs_fix", note=note)
        with engine.connect() as c:
            stored = c.execute(
                select(Review.note)
                .where(Review.sample_id == sid)
                .order_by(Review.id.desc())
                .limit(1)
            ).scalar()
        assert stored == (note or None)
    except KocurateError as exc:
        assert _bad(note), f"refused a good note: {exc}"


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_deeply_nested_json_is_refused(suffix: str, fuzz_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(ImportFailed, match="deep"):
        import_files(fuzz_engine, "dolly", path, name="deep")


@pytest.mark.parametrize("blob", [b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage-not-deflate"])
def test_truncated_gzip_is_refused(blob: bytes, fuzz_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(blob)
    with pytest.raises(ImportFailed, match="data.jsonl.gz"):
        import_files(fuzz_engine, "dolly", path, name="gz")
