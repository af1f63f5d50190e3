"""One registry shape (kocurate.registry) for import kinds, checks, export formats and job kinds."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import Engine

from kocurate.db import session_scope
from kocurate.errors import KocurateError, UnknownName
from kocurate.exporters import get_format
from kocurate.importers import get_importer
from kocurate.registry import Registry
from kocurate.services import catalog, job_kinds, jobs
from kocurate.services.auth import SYSTEM


def test_register_refuses_a_second_entry_and_names_the_choices() -> None:
    reg: Registry[int] = Registry("colour")
    reg.register("red", 1)
    reg.register("blue", 2)
    with pytest.raises(KocurateError, match="colour 'red' is registered twice"):
        reg.register("red", 3)
    with pytest.raises(UnknownName, match="unknown colour 'green'; one of: blue, red") as info:
        reg["green"]  # noqa: B018
    assert info.value.choices == ["blue", "red"] and not isinstance(info.value, KeyError)
    assert (
        reg.get("green") is None
        and "red" in reg
        and sorted(reg) == ["blue", "red"]
        and len(reg) == 2
    )
    with pytest.raises(KocurateError, match="needs a name"):
        reg.register("", 4)


def test_every_registry_has_the_one_shape() -> None:
    for reg, what in (
        (catalog.import_kinds(), "import kind"),
        (catalog.checks(), "check"),
        (catalog.export_formats(), "export format"),
        (jobs.KINDS, "job kind"),
    ):
        assert isinstance(reg, Registry) and reg.what == what and len(reg) > 0
        with pytest.raises(UnknownName, match=f"unknown {what} 'nope'; one of: "):
            reg["nope"]  # noqa: B018
    with pytest.raises(UnknownName, match="sharegpt"):
        get_importer("nope")
    with pytest.raises(UnknownName, match="messages"):
        get_format("nope")
    assert (
        set(job_kinds.KINDS)
        == set(catalog.job_kind_names())
        == {"translate", "llm", "checks", "korean_checks"}
    )


def test_a_module_imported_again_may_register_its_own_entries() -> None:
    from kocurate.importers import dolly

    before = catalog.import_kinds()["dolly"]
    importlib.reload(dolly)  # the same definitions again (a reload, Streamlit's module watcher)
    after = catalog.import_kinds()["dolly"]
    assert after is not before and after.__qualname__ == before.__qualname__


def test_a_job_of_an_unknown_kind_fails_naming_the_kinds(engine: Engine) -> None:
    with session_scope(engine) as s:
        job_id = jobs.create(s, SYSTEM, "nonsense", {}, 1)
    done = jobs.run(engine, job_id)
    assert done["status"] == "failed"
    assert (
        "unknown job kind 'nonsense'; one of: checks, korean_checks, llm, translate"
        in done["message"]
    )
