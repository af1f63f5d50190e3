"""Every `kocurate …` command the README names exists and answers --help (docs and CLI stay in
step)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kocurate.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
_CMD = re.compile(r"kocurate((?: [a-z][a-z0-9_-]*)+)")
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)  # commands are written as code: spans and blocks


def _code_text() -> str:
    return "\n".join(_CODE.findall(README.read_text(encoding="utf-8")))


def _root() -> Any:
    return typer.main.get_command(app)


def _named_commands() -> list[tuple[str, ...]]:
    """Command paths as the README writes them, cut where the words stop being subcommands."""
    found: set[tuple[str, ...]] = set()
    for m in _CMD.finditer(_code_text()):
        group = _root()
        path: list[str] = []
        for word in m.group(1).split():
            if word not in getattr(
                group, "commands", {}
            ):  # typer vendors its own click: duck-type groups
                break
            group = group.commands[word]
            path.append(word)
        if path:
            found.add(tuple(path))
    return sorted(found)


def _all_words_after_kocurate() -> set[str]:
    return {m.group(1).split()[0] for m in _CMD.finditer(_code_text())}


def test_the_readme_names_only_commands_that_exist() -> None:
    known = set(_root().commands)
    unknown = {w for w in _all_words_after_kocurate() if w not in known and w != "on"}
    assert not unknown, f"README names commands the CLI does not have: {sorted(unknown)}"
    assert len(_named_commands()) >= 15


@pytest.mark.parametrize("path", _named_commands(), ids=lambda p: " ".join(p))
def test_each_named_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    cmd = _root()
    for word in path:
        cmd = cmd.commands[word]
    assert (cmd.help or "").strip(), f"`kocurate {' '.join(path)}` has no help text"
