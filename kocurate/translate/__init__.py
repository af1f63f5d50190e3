"""DeepL re-translation: client wrapper, placeholder protection, glossary, batching and cache.

The use cases (one turn, one sample, batch jobs) live in ``kocurate.services.translate``.
"""

from .batching import BASE_OPTIONS, MAX_BODY, MAX_TEXTS, cache_key, make_options, pack
from .client import (
    AuthFailed,
    DeepL,
    DeepLConfig,
    DeepLUnavailable,
    QuotaExceeded,
    RequestRejected,
    TranslateError,
    load_config,
    require_config,
)
from .protect import Protected, ProtectionError, protect, restore

__all__ = [
    "AuthFailed",
    "BASE_OPTIONS",
    "DeepL",
    "DeepLConfig",
    "DeepLUnavailable",
    "MAX_BODY",
    "MAX_TEXTS",
    "Protected",
    "ProtectionError",
    "QuotaExceeded",
    "RequestRejected",
    "TranslateError",
    "cache_key",
    "load_config",
    "make_options",
    "pack",
    "protect",
    "require_config",
    "restore",
]
