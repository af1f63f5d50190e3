"""Korean checks (deep): speech level, translationese, particles after Latin words and numbers,
spacing, leftover scripts, tasks that do not survive translation.

They run over the morphological analysis of ``kiwipiepy`` (model shipped in its package) and are
"deep": not after an import nor in a plain ``kocurate check``, but in ``kocurate korean-check`` (or
``kocurate check --only NAME``), in worker processes. Each finding carries a span in the turn's
Korean text.
"""

from __future__ import annotations

from . import (
    particles,
    scripts,
    spacing,
    speech,
    tasks,
    translationese,
)  # noqa: F401  (registers the checks)
from .common import KoreanCheck

NAMES = (
    "ko_speech_level",
    "ko_translationese",
    "ko_particle",
    "ko_spacing",
    "ko_script",
    "ko_lost_task",
)

__all__ = ["NAMES", "KoreanCheck"]
