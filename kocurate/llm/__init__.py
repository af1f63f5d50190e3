"""The LLM review assistant's engine room: configuration and prices, the OpenAI-compatible client,
prompts, the response schema and request packing. No database and no Streamlit here; the use cases
(jobs, findings, suggestions, evaluation) live in ``kocurate.services.llm``.
"""

from __future__ import annotations

from .client import LLM, Answer, LLMError, LLMUnavailable, MalformedAnswer
from .config import HOW_TO_CONFIGURE, LLMConfig, configured, load_config, price_for, require_config
from .prompts import PROMPT_VERSION

CHECK = "llm_quality"  # the check name of the findings the grader stores

__all__ = [
    "CHECK",
    "HOW_TO_CONFIGURE",
    "LLM",
    "PROMPT_VERSION",
    "Answer",
    "LLMConfig",
    "LLMError",
    "LLMUnavailable",
    "MalformedAnswer",
    "configured",
    "load_config",
    "price_for",
    "require_config",
]
