"""The bundled demo: a small set of every dataset kind with a few deliberate DeepL defects.

Defects planted (as found in the real data): "odd one out" read as odd number (홀수), code
identifiers translated inside code (def 더하기 / 반환), a stray leading "n ", "more perplexity"
rendered as 광석 당혹감, an answer left untranslated in English, a row dropped from the Korean
side (alignment repairs the drift), and text with <script>, a javascript: link and $…$.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import config, db
from ..errors import AlreadyImported
from ..models import User
from ..services import checks as check_service
from ..services import datasets as ds_service
from ..services import guidelines as guidelines_service
from ..services import users as user_service
from ..services.auth import SYSTEM

HERE = Path(__file__).resolve().parent

DEMO_SETS = [
    ("koalpaca", "koalpaca_ko.json", "alpaca_en.json", "demo-koalpaca"),
    ("koalpaca_v11", "koalpaca_v11.jsonl", None, "demo-koalpaca-v11"),
    ("sharegpt", "sharegpt_ko.json", "sharegpt_en.json", "demo-kovicuna"),
    ("dolly", "dolly_ko.jsonl", "dolly_en.jsonl", "demo-dolly-ko"),
    ("guanaco", "guanaco_ko.jsonl", "guanaco_en.jsonl", "demo-guanaco-ko"),
]
DEMO_USERS = [
    ("admin", "admin", "admin-demo-pw"),
    ("lead", "lead", "lead-demo-pw"),
    ("annotator", "annotator", "annotator-demo-pw"),
    ("annotator2", "annotator", "annotator2-demo-pw"),
]


def create_demo(url: str | None = None, fresh: bool = False) -> dict[str, Any]:
    """Create (or reuse) a demo database: the five dataset kinds and demo accounts."""
    url = config.db_url(url)
    if fresh and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    db.ensure_schema(url)
    engine = db.get_engine(url)
    lines = [f"demo database: {url}"]
    for kind, ko, en, name in DEMO_SETS:
        try:
            # the demo is tiny: index it and run every check (not only the cheap ones) right away
            rep = ds_service.import_dataset(
                engine, SYSTEM, kind, HERE / ko, HERE / en if en else None, name=name, checks=False
            )
            found = check_service.run_checks(engine, SYSTEM, rep.dataset_id, full=True)
            lines.append(
                f"  imported {name}: {rep.summary()}; {found.get('findings', 0)} check findings"
            )
        except AlreadyImported:
            lines.append(f"  {name}: already there")
    with db.session_scope(engine) as session:
        for username, role, password in DEMO_USERS:
            if session.scalar(select(User.id).where(User.username == username)) is None:
                user_service.create_user(session, SYSTEM, username, role, password)
        if guidelines_service.install_default(
            session, SYSTEM
        ):  # the shipped Korean project guidelines
            lines.append("  project guidelines: the kocurate default (kocurate guidelines show)")
    lines.append("accounts (demo only; change them with `kocurate users reset-password`):")
    lines += [f"  {u:<11} role {r:<9} password {p}" for u, r, p in DEMO_USERS]
    return {"url": url, "message": "\n".join(lines)}
