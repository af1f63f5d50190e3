"""Where the LLM is and what it costs: settings from the environment or Streamlit secrets.

``KOCURATE_LLM_BASE_URL`` (an OpenAI-compatible server: vLLM, Ollama, TGI, llama.cpp, or the OpenAI
API), ``KOCURATE_LLM_MODEL`` and ``KOCURATE_LLM_API_KEY``. The key lives only in this process: it is
never stored in the database, shown on a page, written to a log or put into an error message.

Prices: USD per million input and output tokens, from a built-in table for a few hosted models,
overridden by ``KOCURATE_LLM_PRICES`` (JSON ``{"model": [input, output]}``, or a path to such a
file). A model with no price (a local server) costs 0 and the estimate says that the price is
unknown.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..errors import ConfigError

JSON_MODES = ("object", "schema", "off")
HOW_TO_CONFIGURE = (
    "The LLM assistant is not configured: set KOCURATE_LLM_BASE_URL (an OpenAI-compatible server,"
    " e.g. http://127.0.0.1:8000/v1 for vLLM or http://127.0.0.1:11434/v1 for Ollama, or"
    " https://api.openai.com/v1), KOCURATE_LLM_MODEL (the model name the server knows) and"
    " KOCURATE_LLM_API_KEY (any non-empty value for a local server) in the environment or in"
    " .streamlit/secrets.toml."
)

# USD per million tokens (input, output); public list prices, override with KOCURATE_LLM_PRICES
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout_s: float = 120.0
    max_retries: int = 4  # the openai client's own retry loop (429, 5xx, timeouts) with back-off
    concurrency: int = 4  # requests in flight at once during a batch
    # "object" (JSON mode: OpenAI, vLLM, Ollama, llama.cpp), "schema" (structured outputs: the
    # answer's JSON schema is sent and the server constrains decoding to it), "off" (plain text);
    # answers are validated anyway
    json_mode: str = "object"

    def __repr__(self) -> str:  # never the key
        return f"LLMConfig(base_url={self.base_url!r}, model={self.model!r})"


def _num(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number (got {os.environ.get(name)!r})") from exc


def load_config() -> LLMConfig | None:
    """The configuration, or None when any of the three settings is missing."""
    url, model, key = (
        config._secret(n)
        for n in (
            "KOCURATE_LLM_BASE_URL",
            "KOCURATE_LLM_MODEL",
            "KOCURATE_LLM_API_KEY",
        )  # noqa: SLF001  (the one env/secrets reader)
    )
    if not (url and model and key):
        return None
    mode = os.environ.get("KOCURATE_LLM_JSON_MODE", "object").strip().lower()
    if mode not in JSON_MODES:
        raise ConfigError(
            f"KOCURATE_LLM_JSON_MODE must be one of {', '.join(JSON_MODES)} (got {mode!r})"
        )
    return LLMConfig(
        url.strip(),
        model.strip(),
        key.strip(),
        timeout_s=_num("KOCURATE_LLM_TIMEOUT_S", 120),
        max_retries=int(_num("KOCURATE_LLM_RETRIES", 4)),
        concurrency=max(1, int(_num("KOCURATE_LLM_CONCURRENCY", 4))),
        json_mode=mode,
    )


def configured() -> bool:
    return load_config() is not None


def require_config() -> LLMConfig:
    cfg = load_config()
    if cfg is None:
        raise ConfigError(HOW_TO_CONFIGURE)
    return cfg


def price_table() -> dict[str, tuple[float, float]]:
    """The built-in prices overlaid with KOCURATE_LLM_PRICES (JSON text or a file path)."""
    table = dict(DEFAULT_PRICES)
    raw = (os.environ.get("KOCURATE_LLM_PRICES") or "").strip()
    if not raw:
        return table
    where = "KOCURATE_LLM_PRICES"
    if not raw.startswith("{"):
        where = raw
        try:
            raw = Path(raw).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"KOCURATE_LLM_PRICES: cannot read {where}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f'{where}: expected {{"model": [input, output]}} in USD per million tokens'
        )
    for model, pair in data.items():
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(x, int | float) and x >= 0 for x in pair)
        ):
            raise ConfigError(
                f"{where}: the price of {model!r} must be [input, output] USD per million tokens"
            )
        table[str(model)] = (float(pair[0]), float(pair[1]))
    return table


def price_for(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when the table does not know the model."""
    return price_table().get(model)


def cost(model: str, input_tokens: int, output_tokens: int) -> float:
    p = price_for(model)
    if p is None:
        return 0.0
    return (input_tokens * p[0] + output_tokens * p[1]) / 1e6
