"""CLI of issue 21 B: `kocurate gold add/remove/list/report/rate/bar`, `kocurate ratings
enable/summary`, `kocurate export --include-gold / --best-rated`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, update
from test_review import make_dataset
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.models import Sample
from kocurate.services import gold, ratings
from kocurate.services import review as rv
from kocurate.services.auth import Actor


def run(db_url: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["--db", db_url, *args])
    return res.exit_code, res.output


def test_cli_gold(db_url: str, engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, 4, name="cligold")
    code, out = run(
        db_url,
        "gold",
        "add",
        str(ids[0]),
        "--decision",
        "reject",
        "--flag",
        "혐오",
        "--flag",
        "mistranslation",
        "--text",
        "2=고친 답",
    )
    assert (
        code == 0 and "gold: reject" in out and "hate, mistranslation" in out and "turn(s) 2" in out
    )
    code, out = run(
        db_url, "gold", "add", str(ids[1]), "--decision", "approve", "--flag", "아름다움"
    )
    assert code == 2 and "unknown flag" in out and "Traceback" not in out
    code, out = run(db_url, "gold", "add", str(ids[1]), "--decision", "approve", "--text", "x=y")
    assert code == 2 and "TURN=TEXT" in out
    code, out = run(db_url, "gold", "list", "--dataset", "cligold")
    assert code == 0 and f"sample {ids[0]}: reject" in out
    code, out = run(db_url, "gold", "rate", "cligold", "50%")
    assert code == 0 and "gold rate 50% (one in 2 samples)" in out
    code, out = run(db_url, "gold", "rate", "cligold", "lots")
    assert code == 2 and "rate" in out
    code, out = run(db_url, "gold", "bar", "cligold")
    assert code == 2 and "--min-accuracy" in out
    code, out = run(db_url, "gold", "bar", "cligold", "--min-accuracy", "0.9", "--min-answers", "1")
    assert code == 0 and "90%" in out
    with session_scope(engine) as s:
        rv.submit_decision(s, actors["annotator"], ids[0], "approve")
        rv.submit_decision(s, actors["annotator2"], ids[0], "reject")
    code, out = run(db_url, "gold", "report", "--dataset", "cligold")
    assert code == 0 and "annotator " in out and "BELOW BAR" in out and "decision 0% [0-79%]" in out
    code, out = run(db_url, "gold", "report", "--json")
    data = json.loads(out)
    assert code == 0 and {r["user"] for r in data["annotators"]} == {"annotator", "annotator2"}
    code, out = run(db_url, "gold", "bar", "cligold", "--off")
    assert code == 0 and "no bar" in out
    code, out = run(db_url, "gold", "remove", str(ids[0]))
    assert code == 0 and "no longer gold" in out


def test_cli_ratings_and_export(
    db_url: str, engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    ds, ids = make_dataset(engine, 4, name="clirate")
    code, out = run(db_url, "ratings", "enable", "clirate")
    assert code == 0 and "on" in out
    a, b = actors["annotator"], actors["annotator2"]
    with session_scope(engine) as s:
        s.execute(update(Sample).where(Sample.dataset_id == ds).values(status="approved"))
        gold.mark(s, actors["lead"], ids[3], "approve")
        for sid, (x, y) in zip(ids, [(5, 5), (3, 4), (1, 1)], strict=False):
            ratings.rate(s, a, sid, ratings.parse_keys(str(x) * 4))
            ratings.rate(s, b, sid, ratings.parse_keys(str(y) * 4))
    code, out = run(db_url, "ratings", "summary", "--dataset", "clirate")
    assert code == 0 and "fluency 유창성" in out and "grammaticality 문법성" in out
    code, out = run(db_url, "ratings", "summary", "--json")
    rows = {r["criterion"]: r for r in json.loads(out)}
    assert rows["fluency"]["ratings"] == 6 and rows["fluency"]["alpha_interval"] is not None
    code, out = run(
        db_url, "export", str(tmp_path / "best"), "--dataset", "clirate", "--best-rated", "1"
    )
    assert code == 0, out
    rows_out = [
        json.loads(x) for x in (tmp_path / "best" / "data" / "train.jsonl").read_text().splitlines()
    ]
    assert [r["kocurate"]["sample_id"] for r in rows_out] == [ids[0]]
    assert rows_out[0]["kocurate"]["ratings"]["n_raters"] == 2
    code, out = run(db_url, "export", str(tmp_path / "g"), "--dataset", "clirate", "--include-gold")
    assert code == 0
    assert len((tmp_path / "g" / "data" / "train.jsonl").read_text().splitlines()) == 4
    code, out = run(db_url, "ratings", "enable", "clirate", "--off")
    assert code == 0 and "off" in out
