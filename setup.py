"""Build hooks: ship the web app and migrations inside the wheel, and compile the translation
catalogs.

``app.py``, ``pages/`` and ``db/`` stay at the repository's top level (where people edit them);
``kocurate.paths`` finds the bundled copy in an installed wheel and the top level in a checkout.
Catalogs (``kocurate/locale/*/LC_MESSAGES/kocurate.po``) are compiled to ``.mo`` in the wheel; a
checkout compiles them in memory on first use (``kocurate.i18n``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ("app.py", "asgi.py", "pages", "db")


class BuildWithWeb(build_py):
    def run(self) -> None:
        super().run()
        self._compile_catalogs()
        if self.editable_mode:  # an editable install reads the top level directly
            return
        target = Path(self.build_lib) / "kocurate" / "_web"
        target.mkdir(parents=True, exist_ok=True)
        for name in WEB:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(
                    src,
                    target / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(src, target / name)

    def _compile_catalogs(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in (ROOT / "kocurate" / "locale").glob("*/LC_MESSAGES/*.po"):
            rel = po.relative_to(ROOT).with_suffix(".mo")
            target = Path(self.build_lib) / rel if not self.editable_mode else ROOT / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as src, target.open("wb") as out:
                write_mo(out, read_po(src), use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithWeb})
