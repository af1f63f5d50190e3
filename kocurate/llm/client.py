"""The OpenAI-compatible connection: the official ``openai`` client with ``base_url``, error
mapping, JSON answers validated against the schema (a malformed answer is asked once more, then an
error).

Retries: the ``openai`` client itself retries 429, 5xx, connection errors and timeouts with
exponential back-off (honouring ``Retry-After``), ``max_retries`` times (KOCURATE_LLM_RETRIES,
default 4). kocurate adds no second loop on top; a request that still fails is ``LLMUnavailable``
and a batch job stops, resumable. The API key is never part of a message, a log line or the
database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import KocurateError
from . import prompts
from .config import LLMConfig, cost
from .schema import GRADE_SCHEMA, SUGGEST_SCHEMA, SchemaError

T = TypeVar("T")


class LLMError(KocurateError):
    """An LLM failure that stops the work (the message says what to do)."""


class LLMUnavailable(LLMError):
    """Still 429/5xx/timeout or no connection after the client's retries: try again later
    (resume)."""


class RequestRejected(LLMError):
    """The server refused this one request (400, 413, 422): recorded for its turns, the batch goes
    on."""


class MalformedAnswer(LLMError):
    """The answer did not match the schema twice in a row (tokens were still paid: see
    ``answer``)."""

    def __init__(self, message: str, answer: Answer) -> None:
        super().__init__(message)
        self.answer = answer


@dataclass
class Answer:
    content: str
    input_tokens: int
    output_tokens: int
    cost: float
    attempts: int = 1


class LLM:
    """One model behind one OpenAI-compatible endpoint."""

    def __init__(self, cfg: LLMConfig) -> None:
        # here, not at module level: it takes seconds to import and most commands never ask
        import openai

        self.cfg = cfg
        self.model = cfg.model
        self._client = openai.OpenAI(
            base_url=cfg.base_url,
            api_key=cfg.api_key,
            timeout=cfg.timeout_s,
            max_retries=cfg.max_retries,
        )
        self.json_mode = cfg.json_mode
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def chat(
        self, system: str, user: str, schema: dict[str, Any] | None = None, name: str = "answer"
    ) -> Answer:
        """One chat-completions request; returns the text and what it cost. ``schema`` is sent as
        the answer's JSON schema when KOCURATE_LLM_JSON_MODE=schema."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        import openai

        if self.json_mode == "schema" and schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": False},
            }
        elif self.json_mode != "off":
            kwargs["response_format"] = {"type": "json_object"}
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except openai.AuthenticationError:
            raise LLMError(
                "the LLM server rejected the API key (HTTP 401): check KOCURATE_LLM_API_KEY"
            ) from None
        except openai.PermissionDeniedError:
            raise LLMError(
                "the LLM server refused access (HTTP 403): check KOCURATE_LLM_API_KEY and the model"
            ) from None
        except openai.NotFoundError:
            raise LLMError(
                f"the LLM server does not know the model {self.model!r} or the URL (HTTP 404):"
                " check KOCURATE_LLM_MODEL and KOCURATE_LLM_BASE_URL"
            ) from None
        except (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
            openai.APIConnectionError,
        ) as exc:
            raise LLMUnavailable(
                f"the LLM server is unavailable after {self.cfg.max_retries} retries "
                f"({_describe(exc)}); resume the job later"
            ) from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise LLMUnavailable(
                    f"the LLM server is unavailable ({_describe(exc)}); resume later"
                ) from None
            raise RequestRejected(
                f"the LLM server refused the request ({_describe(exc)})"
            ) from None
        except openai.OpenAIError as exc:  # e.g. an answer that is not a chat completion at all
            raise RequestRejected(
                f"unusable answer from the LLM server: {_describe(exc)}"
            ) from None
        self.requests += 1
        usage = resp.usage
        tin = int(getattr(usage, "prompt_tokens", 0) or 0)
        tout = int(getattr(usage, "completion_tokens", 0) or 0)
        content = (resp.choices[0].message.content if resp.choices else None) or ""
        return Answer(content, tin, tout, cost(self.model, tin, tout))

    def ask(
        self, task: str, items: list[dict[str, Any]], parse: Callable[[str], T]
    ) -> tuple[T, Answer]:
        """Send ``items`` for ``task`` (grade | suggest); ``parse`` validates the answer
        (``SchemaError``).

        A malformed answer is asked once more; a second one raises ``MalformedAnswer`` (what both
        cost is in its ``answer``)."""
        system, user = prompts.system_message(task), prompts.data_message(items)
        schema = GRADE_SCHEMA if task == "grade" else SUGGEST_SCHEMA
        total = Answer("", 0, 0, 0.0, 0)
        problem = ""
        for _ in range(2):
            a = self.chat(system, user, schema, f"kocurate_{task}")
            total = Answer(
                a.content,
                total.input_tokens + a.input_tokens,
                total.output_tokens + a.output_tokens,
                total.cost + a.cost,
                total.attempts + 1,
            )
            try:
                return parse(a.content), total
            except SchemaError as exc:
                problem = str(exc)
        raise MalformedAnswer(f"malformed answer twice: {problem}", total)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    msg = str(getattr(exc, "message", "") or exc).split("\n")[0][:200]
    return f"HTTP {status}: {msg}" if status else (msg or type(exc).__name__)
