"""Build hook: ship the top-level web app and migrations inside the wheel as ``kocurate/_web``.

``app.py``, ``pages/`` and ``db/`` stay at the repository's top level (where people edit them);
``kocurate.paths`` finds the bundled copy in an installed wheel and the top level in a checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ("app.py", "pages", "db")


class BuildWithWeb(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the top level directly
            return
        target = Path(self.build_lib) / "kocurate" / "_web"
        target.mkdir(parents=True, exist_ok=True)
        for name in WEB:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(src, target / name)


setup(cmdclass={"build_py": BuildWithWeb})
