"""What the Korean checks share: the base class (family "korean", deep), turn roles, settings
keys."""

from __future__ import annotations

from typing import ClassVar

from ..base import Check, TurnView

# roles whose text the assistant speaks; "turn" (turn-pair datasets) is unknown, so only the
# checks that hold for any speaker look at it
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "output", "response", "bot", "model", "chatgpt"})
USER_ROLES = frozenset({"user", "human", "instruction", "input", "prompt", "context", "question"})
ANY_ROLE = "turn"

TARGET_KEY = "korean.target_level:{}"  # Setting key: {"level": "haeyo"} for dataset {}
LEVELS_KEY = (  # Setting key: speech levels of a dataset's assistant turns (last deep run)
    "korean.levels:{}"
)


class KoreanCheck(Check):
    """A deep check: runs only when asked (``kocurate korean-check``, ``kocurate check --only
    NAME``)."""

    family: ClassVar[str] = "korean"
    cheap: ClassVar[bool] = False
    deep: ClassVar[bool] = True


def is_assistant(t: TurnView) -> bool:
    return t.role in ASSISTANT_ROLES


def is_user(t: TurnView) -> bool:
    return t.role in USER_ROLES
