"""A local OpenAI-compatible fake for tests and benchmarks: a real HTTP server on 127.0.0.1.

``POST /v1/chat/completions`` as the official ``openai`` client sends it (Bearer key, messages,
``response_format``), answering like a small grading / fixing model:

* it reads the items from the fenced data document of the user message (``kocurate.llm.prompts``);
* **grade**: an item whose target contains a key of ``grades`` gets those errors; otherwise English
  words of the source left in the target give an ``untranslated``/major error, ``홀수`` a
  ``task_lost``/ critical one, anything else none;
* **suggest**: the ``source_xml`` comes back with its Latin letters turned into Hangul (tags kept),
so a
  protected span survives unless ``mangle_placeholders`` drops one;
* usage: tokens counted with a crude word/punctuation tokenizer, deterministic.

Scripted trouble, consumed one request at a time: ``fail_next(status, times)`` (429 with
``retry-after-ms``, 500, 503 …), ``malformed_next(times, content)``, ``slow_next(seconds, times)``;
``hang_after(n)`` blocks requests after ``n``;
``gullible`` makes it obey an injection found in the data (it then answers for an id nobody asked
for). Every request is recorded (``requests``, ``prompt_tokens``, ``completion_tokens``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_deepl import fake_korean

from kocurate.llm.prompts import read_data

_TOKEN = re.compile(r"\w+|[^\w\s]")
_TAG = re.compile(r"<[^<>]*>|&(?:[A-Za-z]+|#\d+);")  # markup and entities stay as they are
_ENGLISH_RUN = re.compile(r"[A-Za-z]{3,}(?:\s+[A-Za-z]{2,}){2,}")
INJECTION = "IGNORE ALL PREVIOUS INSTRUCTIONS"


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


@dataclass
class Recorded:
    status: int
    system: str = ""
    user: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    response_format: Any = None
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class FakeOpenAI:
    def __init__(self, api_key: str = "test-llm-key") -> None:
        self.api_key = api_key
        self.grades: dict[str, list[dict[str, str]]] = {}
        self.mangle_placeholders = False
        self.gullible = False
        self.requests: list[Recorded] = []
        self._script: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._hang_after: int | None = None
        self._answered = 0
        self._release = threading.Event()
        self.hanging = threading.Event()

    # -- scripting
    def fail_next(self, status: int = 429, times: int = 1) -> None:
        with self._lock:
            self._script.extend([("fail", status)] * times)

    def malformed_next(self, times: int = 1, content: str = '{"results": [ not json') -> None:
        with self._lock:
            self._script.extend([("malformed", content)] * times)

    def slow_next(self, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._script.extend([("slow", seconds)] * times)

    def hang_after(self, n: int) -> None:
        """Answer ``n`` more requests, then block every further one until ``release()`` (a crash
        test kills the client while it waits)."""
        with self._lock:
            self._hang_after, self._answered = n, 0
        self._release.clear()
        self.hanging.clear()

    def release(self) -> None:
        self._hang_after = None
        self._release.set()

    # -- figures
    @property
    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.status == 200]

    @property
    def prompt_tokens(self) -> int:
        return sum(r.prompt_tokens for r in self.requests)

    @property
    def completion_tokens(self) -> int:
        return sum(r.completion_tokens for r in self.requests)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- server
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = (
                True  # headers and body go out in separate writes: no 40 ms stalls
            )

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                status, payload, headers = fake.handle(
                    self.path, self.headers.get("Authorization", ""), body
                )
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the "model"
    def handle(self, path: str, auth: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}, {}
        if auth != f"Bearer {self.api_key}":
            return (
                401,
                {"error": {"message": "invalid api key", "type": "invalid_request_error"}},
                {},
            )
        req = json.loads(body)
        msgs = {m["role"]: m["content"] for m in req.get("messages", [])}
        rec = Recorded(
            200,
            msgs.get("system", ""),
            msgs.get("user", ""),
            response_format=req.get("response_format"),
            model=req.get("model", ""),
        )
        rec.prompt_tokens = sum(count_tokens(m["content"]) for m in req.get("messages", [])) + 4
        with self._lock:
            hang = self._hang_after is not None and self._answered >= self._hang_after
            self._answered += 1
        if hang:
            self.hanging.set()
            self._release.wait(120)
            rec.status = 499
            with self._lock:
                self.requests.append(rec)
            return 503, {"error": {"message": "released", "type": "server_error"}}, {}
        with self._lock:
            action = self._script.popleft() if self._script else None
            self.requests.append(rec)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if action and action[0] == "fail":
                rec.status, rec.prompt_tokens = action[1], 0
                return (
                    action[1],
                    {"error": {"message": f"scripted {action[1]}", "type": "server_error"}},
                    {"retry-after-ms": "5"},
                )
            if action and action[0] == "slow":
                time.sleep(action[1])
            try:
                rec.items = read_data(rec.user)
            except (ValueError, KeyError) as exc:
                rec.status = 400
                return (
                    400,
                    {
                        "error": {
                            "message": f"bad data message: {exc}",
                            "type": "invalid_request_error",
                        }
                    },
                    {},
                )
            if action and action[0] == "malformed":
                content = action[1]
            elif any("source_xml" in i for i in rec.items):
                content = json.dumps(
                    {"results": [self._suggest(i) for i in rec.items]}, ensure_ascii=False
                )
            else:
                content = json.dumps(
                    {"results": [self._grade(i) for i in rec.items]}, ensure_ascii=False
                )
            if self.gullible and any(
                INJECTION in json.dumps(i, ensure_ascii=False) for i in rec.items
            ):
                content = json.dumps({"results": [{"id": "pwned", "errors": []}]})
            rec.completion_tokens = count_tokens(content)
            return (
                200,
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": rec.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": rec.prompt_tokens,
                        "completion_tokens": rec.completion_tokens,
                        "total_tokens": rec.prompt_tokens + rec.completion_tokens,
                    },
                },
                {},
            )
        finally:
            with self._lock:
                self.in_flight -= 1

    def _grade(self, item: dict[str, Any]) -> dict[str, Any]:
        target, source = item.get("target", ""), item.get("source", "")
        errors: list[dict[str, str]] = []
        for marker, errs in self.grades.items():
            if marker in target:
                errors.extend(errs)
        if not errors:
            m = _ENGLISH_RUN.search(target)
            if m and m.group(0) in source:
                errors.append(
                    {
                        "category": "untranslated",
                        "severity": "major",
                        "span": m.group(0),
                        "reason": "영어 원문이 번역되지 않고 남아 있습니다.",
                    }
                )
            if "홀수" in target:
                errors.append(
                    {
                        "category": "task_lost",
                        "severity": "critical",
                        "span": "홀수",
                        "reason": "'odd one out'을 '홀수'로 옮겨 문제가 성립하지 않습니다.",
                    }
                )
        return {"id": item["id"], "errors": errors}

    def _suggest(self, item: dict[str, Any]) -> dict[str, Any]:
        xml = item.get("source_xml", "")
        parts, pos = [], 0
        for m in _TAG.finditer(xml):
            parts.append(fake_korean(xml[pos : m.start()]))
            parts.append(m.group(0))
            pos = m.end()
        parts.append(fake_korean(xml[pos:]))
        text = "".join(parts)
        if self.mangle_placeholders:
            text = re.sub(r'<x i="\d+"/>', "", text, count=1)
        return {"id": item["id"], "text": text}
