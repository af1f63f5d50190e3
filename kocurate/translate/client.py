"""The DeepL connection: configuration, the official client, error mapping, retries.

Retries: the official client already retries 429 and 5xx (``deepl.http_client.max_network_retries``,
exponential backoff from ``_BackoffTimer.BACKOFF_INITIAL``). kocurate adds no second retry loop on
top, so attempts never multiply; a request that still fails becomes ``DeepLUnavailable`` and the
batch job stops, resumable. ``KOCURATE_DEEPL_RETRIES`` / ``KOCURATE_DEEPL_BACKOFF_S`` tune the
client's own loop (tests make the backoff short).

The auth key lives only in this process: never logged, never in an error message, never stored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import deepl
import deepl.http_client

from .. import config
from ..errors import ConfigError, KocurateError

FREE_API = "https://api-free.deepl.com"
PRO_API = "https://api.deepl.com"

HOW_TO_CONFIGURE = (
    "DeepL is not configured: set the environment variable DEEPL_AUTH_KEY (or DEEPL_AUTH_KEY in "
    ".streamlit/secrets.toml) to your DeepL API key; keys ending in ':fx' use the free API. "
    "Optionally DEEPL_SERVER_URL points at another server."
)


class TranslateError(KocurateError):
    """A DeepL failure that stops the work (the message says what to do)."""


class QuotaExceeded(TranslateError):
    pass


class AuthFailed(TranslateError):
    pass


class DeepLUnavailable(TranslateError):
    """Still 429/5xx or no connection after the client's retries: try again later (resume)."""


class BadAnswer(DeepLUnavailable):
    """DeepL answered 200 but the body was not a usable answer (malformed, fields missing)."""


class RequestRejected(TranslateError):
    """DeepL refused this request (400/413): a bug or an oversized text, not a reason to stop."""


@dataclass(frozen=True)
class DeepLConfig:
    auth_key: str = field(repr=False)
    server_url: str | None = None

    @property
    def free(self) -> bool:
        return self.auth_key.endswith(":fx")

    @property
    def effective_url(self) -> str:
        return self.server_url or (FREE_API if self.free else PRO_API)


def load_config() -> DeepLConfig | None:
    key = config.deepl_auth_key()
    if not key:
        return None
    return DeepLConfig(key.strip(), (config.deepl_server_url() or "").strip() or None)


def require_config() -> DeepLConfig:
    cfg = load_config()
    if cfg is None:
        raise ConfigError(HOW_TO_CONFIGURE)
    return cfg


def _tune_http() -> None:
    retries = os.environ.get("KOCURATE_DEEPL_RETRIES")
    if retries:
        deepl.http_client.max_network_retries = int(retries)
    backoff = os.environ.get("KOCURATE_DEEPL_BACKOFF_S")
    if backoff:
        deepl.http_client._BackoffTimer.BACKOFF_INITIAL = float(backoff)  # noqa: SLF001


@dataclass
class TextOut:
    text: str
    billed_characters: int
    billed_estimated: bool = False  # DeepL's answer had no billed_characters: counted here instead


class _Client(deepl.DeepLClient):
    """The official client, made tolerant of answers without ``billed_characters`` (its own parser
    calls ``int(None)`` on them and the paid translation would be lost): such a count is marked -1
    and ``DeepL.translate`` counts the characters itself."""

    def _api_call(self, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        status, content, body = super()._api_call(url, *args, **kwargs)
        if (
            url == "v2/translate"
            and status == 200
            and isinstance(body, dict)
            and isinstance(body.get("translations"), list)
        ):
            for item in body["translations"]:
                if isinstance(item, dict):
                    billed = item.get("billed_characters")
                    if (
                        isinstance(billed, bool)
                        or not isinstance(billed, int | float | str)
                        or not str(billed).strip().isdigit()
                    ):
                        item["billed_characters"] = -1
                    if not isinstance(item.get("text"), str):
                        item["text"] = None
        return status, content, body


class DeepL:
    """A thin wrapper over ``deepl.DeepLClient`` that turns its exceptions into kocurate errors."""

    def __init__(self, cfg: DeepLConfig) -> None:
        _tune_http()
        # server_url None lets the client pick the free API for ':fx' keys
        self._client = _Client(cfg.auth_key, server_url=cfg.server_url, send_platform_info=False)
        self._client.set_app_info("kocurate", "0.1")
        self.server_url = cfg.effective_url
        self.requests = 0  # successful translate requests made by this instance
        self.billed = 0

    def close(self) -> None:
        self._client.close()

    def translate(self, texts: Sequence[str], options: dict[str, Any]) -> list[TextOut]:
        """One /v2/translate request (the caller packs ``texts`` within DeepL's limits)."""
        kwargs = {k: v for k, v in options.items() if v is not None and k in _TRANSLATE_KWARGS}
        with _mapped():
            results = self._client.translate_text(list(texts), **kwargs)
        if len(results) != len(texts) or any(r.text is None for r in results):
            raise BadAnswer(
                f"DeepL's answer held {sum(r.text is not None for r in results)} translations for"
                f" {len(texts)} texts (an incomplete or unreadable answer). Nothing from this"
                " request was kept; earlier requests are saved. Try again later (resume the job);"
                " if it keeps happening check DEEPL_SERVER_URL."
            )
        from .protect import billable_chars

        out = [
            (
                TextOut(r.text, int(r.billed_characters))
                if int(r.billed_characters) >= 0
                else TextOut(r.text, billable_chars(src), True)
            )
            for r, src in zip(results, texts, strict=True)
        ]
        self.requests += 1
        self.billed += sum(o.billed_characters for o in out)
        return out

    def usage(self) -> dict[str, int | None]:
        with _mapped():
            u = self._client.get_usage()
        count, limit = u.character.count, u.character.limit
        remaining = None if count is None or limit is None else max(limit - count, 0)
        return {"count": count, "limit": limit, "remaining": remaining}

    def create_glossary(self, name: str, entries: dict[str, str]) -> str:
        with _mapped():
            return self._client.create_glossary(name, "EN", "KO", entries).glossary_id

    def glossary_entries(self, glossary_id: str) -> dict[str, str]:
        with _mapped():
            return self._client.get_glossary_entries(glossary_id)

    def delete_glossary(self, glossary_id: str) -> None:
        try:
            with _mapped():
                self._client.delete_glossary(glossary_id)
        except RequestRejected:
            pass  # already gone


_TRANSLATE_KWARGS = {
    "source_lang",
    "target_lang",
    "context",
    "split_sentences",
    "preserve_formatting",
    "glossary",
    "tag_handling",
    "outline_detection",
    "non_splitting_tags",
    "splitting_tags",
    "ignore_tags",
    "model_type",
    "custom_instructions",
}


class _mapped:
    """Map the client's exceptions to ours; the messages never contain the key."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is None or isinstance(exc, TranslateError):
            return False
        if not isinstance(exc, deepl.DeepLException):
            if not isinstance(exc, Exception):
                return False  # KeyboardInterrupt and friends pass through
            # the client library choked on the answer (a bug or a broken server): never a traceback
            raise BadAnswer(
                f"DeepL sent an answer kocurate could not read ({type(exc).__name__}). Nothing from"
                " this request was kept; earlier requests are saved. Try again later (resume the"
                " job); if it keeps happening check DEEPL_SERVER_URL."
            ) from None
        if isinstance(exc, deepl.QuotaExceededException):
            raise QuotaExceeded(
                "DeepL quota exceeded (HTTP 456): the character limit of this billing period is"
                " reached. Finished requests are saved; resume the job when quota is available."
            ) from None
        if isinstance(exc, deepl.AuthorizationException):
            raise AuthFailed(
                "DeepL rejected the auth key (HTTP 403): check DEEPL_AUTH_KEY (and"
                " DEEPL_SERVER_URL; ':fx' keys belong to the free API). Nothing was translated by"
                " the failed request."
            ) from None
        status = getattr(exc, "http_status_code", None)
        if (
            isinstance(exc, (deepl.TooManyRequestsException, deepl.ConnectionException))
            or (status or 0) >= 500
        ):
            raise DeepLUnavailable(
                f"DeepL did not answer after several tries ({_status_words(status)}). Nothing from"
                " this request was kept; everything translated before is saved. Try again in a few"
                " minutes (resume the job)."
            ) from None
        raise RequestRejected(
            f"DeepL refused this text (HTTP {status}: {_clean(exc)}). It was not translated and "
            "the current Korean is kept; edit it by hand or report the text."
        ) from None


def _status_words(status: int | None) -> str:
    if status is None:
        return "no connection"
    if status == 429:
        return "HTTP 429, too many requests"
    return f"HTTP {status}, a server error"


def _clean(exc: Exception) -> str:
    return str(exc).split("\n")[0][:300]
