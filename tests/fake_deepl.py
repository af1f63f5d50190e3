"""A faithful local fake of the DeepL API (v2) for tests and benchmarks: a real HTTP server on
127.0.0.1.

Implements what kocurate and the official ``deepl`` client use:

* ``POST /v2/translate`` with a JSON body (what deepl-python sends) or a form body (``text``
repeated):
  ``text`` list, ``source_lang``/``target_lang``, ``tag_handling`` (xml/html: tags and the content
  of ``ignore_tags`` are returned byte for byte, only text between tags is translated),
  ``glossary_id`` (entries applied, language pair checked), ``context`` (not billed),
  ``show_billed_characters``. Limits as the real service: more than 50 texts → 400, a body over 128
  KiB → 413, ``formality`` for a target without formality (KO) → 400, malformed XML with
  tag_handling → 400.
* ``GET /v2/usage`` (character_count / character_limit; a request that would pass the limit → 456).
* ``/v2/glossaries``: create (JSON, TSV or CSV entries), list, get, entries (TSV), delete.
* Auth: ``Authorization: DeepL-Auth-Key KEY``; an unknown key → 403.
* Error injection: ``fail_next(status, times, path)`` (429, 500, 503, 456, 403 …), ``hang_after(n)``
  (the n+1-th translate request blocks until ``release()``), ``mangle_placeholders``, and
  ``answer_mode`` for broken answers to /v2/translate (billed as normal): ``"malformed"`` (a body
  that is not JSON), ``"no_billed"`` (no ``billed_characters``), ``"no_translations"`` (the key
  missing), ``"no_text"`` (translations without ``text``), ``"drop_markup"`` (every tag removed from
  the answer, as DeepL's own API mock does with markup it does not know); ``reject_plain`` answers
  400 to requests without ``tag_handling``.

The "translation" is deterministic fake Korean: each Latin letter becomes a Hangul syllable,
glossary terms become their Korean target. Every request is recorded, and ``billed[text]`` counts
how many times each text (with its context, if any) was billed, so tests can assert "billed once".
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MAX_TEXTS = 50
MAX_BODY = 128 * 1024
NO_FORMALITY = {
    "KO",
    "EN",
    "EN-GB",
    "EN-US",
    "ZH",
    "ZH-HANS",
    "ZH-HANT",
    "AR",
    "DA",
    "EL",
    "FI",
    "HU",
    "ID",
}

_TAG = re.compile(r"<!--.*?-->|<[^<>]*>", re.S)
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


@dataclass
class Recorded:
    method: str
    path: str
    status: int
    body_bytes: int
    texts: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    billed: int = 0


def fake_korean(text: str) -> str:
    """Latin letters → Hangul syllables (deterministic, length-preserving); the rest unchanged."""
    out = []
    for ch in text:
        o = ord(ch.lower())
        out.append(chr(0xAC00 + (o - 97) * 400) if 97 <= o <= 122 else ch)
    return "".join(out)


class FakeDeepL:
    """The server and its state. ``start()`` runs it in a daemon thread; ``url`` is its base URL."""

    def __init__(self, keys: tuple[str, ...] = ("test-key",), character_limit: int = 10**9) -> None:
        self.keys = set(keys)
        self.character_limit = character_limit
        self.character_count = 0
        self.requests: list[Recorded] = []
        self.billed: Counter[str] = Counter()
        self.glossaries: dict[str, dict[str, Any]] = {}
        self.mangle_placeholders = False
        self.answer_mode: str | None = None
        self.reject_plain = (
            False  # 400 for requests without tag_handling (a fallback that fails too)
        )
        self._failures: list[tuple[int, str]] = []
        self._hang_after: int | None = None
        self._release = threading.Event()
        self.hanging = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeDeepL:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- test controls ---------------------------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, path: str = "/v2/translate") -> None:
        with self._lock:
            self._failures += [(status, path)] * times

    def hang_after(self, n: int) -> None:
        """The translate request after the first ``n`` successful ones blocks until
        ``release()``."""
        self._hang_after = n
        self._release.clear()
        self.hanging.clear()

    def release(self) -> None:
        self._hang_after = None
        self._release.set()

    @property
    def translate_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v2/translate"]

    @property
    def ok_translate_requests(self) -> list[Recorded]:
        return [r for r in self.translate_requests if r.status == 200]

    @property
    def total_billed(self) -> int:
        return sum(r.billed for r in self.requests)

    # -- the API ---------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        rec = Recorded(method, path, 0, len(body))
        status, ctype, payload = self._dispatch(method, path, headers, body, rec)
        rec.status = status
        with self._lock:
            self.requests.append(rec)
        return status, ctype, payload

    def _dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes, rec: Recorded
    ) -> tuple[int, str, bytes]:
        with self._lock:
            for k, (status, p) in enumerate(self._failures):
                if path.startswith(p):
                    del self._failures[k]
                    return _err(status, f"injected {status}")
        auth = headers.get("authorization", "")
        if (
            not auth.startswith("DeepL-Auth-Key ")
            or auth.removeprefix("DeepL-Auth-Key ") not in self.keys
        ):
            return _err(403, "Wrong endpoint or invalid auth key")
        if path == "/v2/translate" and method == "POST":
            return self._translate(headers, body, rec)
        if path == "/v2/usage" and method == "GET":
            return _json(
                200,
                {"character_count": self.character_count, "character_limit": self.character_limit},
            )
        if path.startswith("/v2/glossaries"):
            return self._glossaries(method, path, headers, body)
        return _err(404, "Not found")

    def _params(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        ctype = headers.get("content-type", "")
        if "application/json" in ctype:
            return json.loads(body.decode("utf-8")) if body else {}
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        out: dict[str, Any] = {
            k: v if k in ("text", "ignore_tags", "splitting_tags", "non_splitting_tags") else v[-1]
            for k, v in form.items()
        }
        return out

    def _translate(
        self, headers: dict[str, str], body: bytes, rec: Recorded
    ) -> tuple[int, str, bytes]:
        if len(body) > MAX_BODY:
            return _err(413, "Request Entity Too Large")
        try:
            params = self._params(headers, body)
        except (ValueError, UnicodeDecodeError):
            return _err(400, "Invalid request body")
        texts = params.get("text")
        if isinstance(texts, str):
            texts = [texts]
        rec.texts = list(texts or [])
        rec.params = {k: v for k, v in params.items() if k != "text"}
        target = str(params.get("target_lang", "")).upper()
        if not target:
            return _err(400, "Value for 'target_lang' not supported.")
        if not texts:
            return _err(400, "Parameter 'text' not specified.")
        if len(texts) > MAX_TEXTS:
            return _err(400, f"Too many texts: {len(texts)} > {MAX_TEXTS}")
        if params.get("formality") not in (None, "default") and target in NO_FORMALITY:
            return _err(400, "'formality' is not supported for given 'target_lang'.")
        instr = params.get("custom_instructions")
        if instr is not None and (
            not isinstance(instr, list) or len(instr) > 10 or any(len(str(i)) > 300 for i in instr)
        ):
            return _err(
                400, "custom_instructions: at most 10 instructions of at most 300 characters"
            )
        source = str(params.get("source_lang", "")).upper() or None
        entries: dict[str, str] = {}
        if params.get("glossary_id"):
            g = self.glossaries.get(str(params["glossary_id"]))
            if g is None:
                return _err(400, "Glossary not found")
            if source is None:
                return _err(
                    400, "Use of a glossary requires the 'source_lang' parameter to be specified."
                )
            if (g["source_lang"].upper(), g["target_lang"].upper()) != (
                source,
                target.split("-")[0],
            ):
                return _err(400, "Language pair of the glossary does not match the request")
            entries = g["entries"]
        tag_handling = params.get("tag_handling")
        if self.reject_plain and not tag_handling:
            return _err(400, "injected: plain text refused")
        ignore = _tag_list(params.get("ignore_tags"))
        out = []
        billed_total = 0
        for text in texts:
            if tag_handling in ("xml", "html"):
                try:
                    translated, chars = _translate_markup(
                        text, entries, ignore, self.mangle_placeholders
                    )
                except ValueError as exc:
                    return _err(400, f"Tag handling parsing failed: {exc}")
            else:
                translated, chars = _translate_plain(text, entries), len(text)
            out.append((translated, chars))
            billed_total += chars
        # hang (the job gets killed meanwhile) before anything is billed
        if self._hang_after is not None and len(self.ok_translate_requests) >= self._hang_after:
            self.hanging.set()
            self._release.wait(timeout=60)
            return _err(503, "released")
        with self._lock:
            if self.character_count + billed_total > self.character_limit:
                return _err(456, "Quota exceeded. The character limit has been reached.")
            self.character_count += billed_total
            ctx = params.get("context")
            for text in texts:  # the same text with another context is another translation
                self.billed[text if not ctx else f"{text}\x00context:{ctx}"] += 1
            rec.billed = billed_total
        show = str(params.get("show_billed_characters", "")).lower() in ("true", "1")
        mode = self.answer_mode
        if mode == "malformed":
            return 200, "application/json", b'{"translations": [{"text": "\xeb\xb2'
        translations = []
        for translated, chars in out:
            if mode == "drop_markup":
                translated = _TAG.sub("", translated)
            item: dict[str, Any] = {"detected_source_language": source or "EN", "text": translated}
            if mode == "no_text":
                del item["text"]
            if show and mode != "no_billed":
                item["billed_characters"] = chars
            translations.append(item)
        if mode == "no_translations":
            return _json(200, {"result": translations})
        return _json(200, {"translations": translations})

    def _glossaries(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        parts = path.strip("/").split("/")  # v2, glossaries, [id], [entries]
        if len(parts) == 2:
            if method == "GET":
                return _json(200, {"glossaries": [_ginfo(g) for g in self.glossaries.values()]})
            if method == "POST":
                p = self._params(headers, body)
                fmt = p.get("entries_format", "tsv")
                try:
                    entries = _parse_entries(str(p.get("entries", "")), fmt)
                except ValueError as exc:
                    return _err(400, str(exc))
                if not p.get("name") or not entries:
                    return _err(400, "Invalid glossary")
                gid = str(uuid.uuid4())
                g = {
                    "glossary_id": gid,
                    "name": p["name"],
                    "source_lang": str(p["source_lang"]).lower(),
                    "target_lang": str(p["target_lang"]).lower(),
                    "entries": entries,
                    "creation_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z",
                }
                self.glossaries[gid] = g
                return _json(201, _ginfo(g))
            return _err(405, "Method not allowed")
        g = self.glossaries.get(parts[2])
        if g is None:
            return _err(404, "Glossary not found")
        if len(parts) == 4 and parts[3] == "entries" and method == "GET":
            tsv = "\n".join(f"{s}\t{t}" for s, t in g["entries"].items())
            return 200, "text/tab-separated-values; charset=utf-8", tsv.encode()
        if len(parts) == 3 and method == "GET":
            return _json(200, _ginfo(g))
        if len(parts) == 3 and method == "DELETE":
            del self.glossaries[parts[2]]
            return 204, "text/plain", b""
        return _err(404, "Not found")


def _tag_list(value: Any) -> set[str]:
    if not value:
        return set()
    items = value if isinstance(value, list) else [value]
    return {t.strip() for item in items for t in str(item).split(",") if t.strip()}


def _apply_glossary(text: str, entries: dict[str, str]) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, is_glossary_target) pieces, longest source terms first."""
    if not entries:
        return [(text, False)]
    terms = sorted(entries, key=len, reverse=True)
    pat = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b", re.I)
    lower = {k.lower(): v for k, v in entries.items()}
    out, pos = [], 0
    for m in pat.finditer(text):
        out.append((text[pos : m.start()], False))
        out.append((lower[m.group(0).lower()], True))
        pos = m.end()
    out.append((text[pos:], False))
    return out


def _translate_plain(text: str, entries: dict[str, str]) -> str:
    return "".join(
        seg if is_term else fake_korean(seg) for seg, is_term in _apply_glossary(text, entries)
    )


def _translate_text_node(text: str, entries: dict[str, str]) -> str:
    # entities (&amp;) pass unchanged; letters around them are translated
    out, pos = [], 0
    for m in _ENTITY.finditer(text):
        out.append(_translate_plain(text[pos : m.start()], entries))
        out.append(m.group(0))
        pos = m.end()
    out.append(_translate_plain(text[pos:], entries))
    return "".join(out)


def _translate_markup(
    text: str, entries: dict[str, str], ignore: set[str], mangle: bool
) -> tuple[str, int]:
    """Translate the text between tags; tags (and content of ignore_tags) come back unchanged."""
    out: list[str] = []
    stack: list[str] = []
    chars = 0
    pos = 0
    ignoring = 0
    for m in _TAG.finditer(text):
        node = text[pos : m.start()]
        if "<" in node or ">" in node:
            raise ValueError("unescaped < or > in text")
        chars += len(_ENTITY.sub("_", node))
        out.append(node if ignoring else _translate_text_node(node, entries))
        tag = m.group(0)
        pos = m.end()
        if tag.startswith("<!--"):
            out.append(tag)
            continue
        name_m = re.match(r"</?\s*([A-Za-z_][\w:.-]*)", tag)
        if not name_m:
            raise ValueError(f"bad tag {tag!r}")
        name = name_m.group(1)
        if tag.startswith("</"):
            if not stack or stack[-1] != name:
                raise ValueError(f"unbalanced </{name}>")
            stack.pop()
            if name in ignore:
                ignoring -= 1
        elif not tag.endswith("/>"):
            stack.append(name)
            if name in ignore:
                ignoring += 1
        if mangle and tag.endswith("/>"):
            continue  # a lost placeholder: what kocurate must detect
        out.append(tag)
    tail = text[pos:]
    if "<" in tail or ">" in tail:
        raise ValueError("unescaped < or > in text")
    if stack:
        raise ValueError(f"unclosed <{stack[-1]}>")
    chars += len(_ENTITY.sub("_", tail))
    out.append(tail if ignoring else _translate_text_node(tail, entries))
    return "".join(out), chars


def _parse_entries(raw: str, fmt: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(raw)))
    elif fmt == "tsv":
        rows = [line.split("\t") for line in raw.splitlines() if line]
    else:
        raise ValueError(f"Unsupported entries_format {fmt}")
    for row in rows:
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ValueError(f"Invalid glossary entry {row!r}")
        if row[0].strip() in entries:
            raise ValueError(f"Duplicate source term {row[0]!r}")
        entries[row[0].strip()] = row[1].strip()
    return entries


def _ginfo(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "glossary_id": g["glossary_id"],
        "name": g["name"],
        "ready": True,
        "source_lang": g["source_lang"],
        "target_lang": g["target_lang"],
        "creation_time": g["creation_time"],
        "entry_count": len(g["entries"]),
    }


def _json(status: int, obj: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(obj, ensure_ascii=False).encode()


def _err(status: int, message: str) -> tuple[int, str, bytes]:
    return _json(status, {"message": message})


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeDeepL
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = (
        True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    )

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = urlparse(self.path).path
        try:
            status, ctype, payload = self.server_state.handle(self.command, path, headers, body)
        except Exception as exc:  # a bug in the fake must show as a 500, not a dropped connection
            status, ctype, payload = _err(500, f"fake server error: {type(exc).__name__}: {exc}")
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve


def wait_for(pred: Any, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False
