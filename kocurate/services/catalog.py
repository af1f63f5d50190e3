"""What the app can do, by name: import kinds, checks, export formats and job kinds.

Pages and the CLI read the registries here (one ``Registry`` shape, see ``kocurate.registry``);
an unknown name raises ``UnknownName`` listing the choices.
"""

from __future__ import annotations

from typing import Any

from ..checks import REGISTRY as _CHECKS
from ..exporters import FORMATS as _FORMATS
from ..importers import REGISTRY as _IMPORTERS
from ..registry import Registry
from . import job_kinds


def import_kinds() -> Registry[Any]:
    """Importer classes by kind (``kocurate import KIND``; the Import page's formats)."""
    return _IMPORTERS


def checks() -> Registry[Any]:
    """Check classes by name."""
    return _CHECKS


def export_formats() -> Registry[Any]:
    """Export format classes by name (``kocurate export --format NAME``)."""
    return _FORMATS


def job_kind_names() -> list[str]:
    """The background job kinds (all registered by ``services.job_kinds``)."""
    return sorted(job_kinds.jobs.KINDS)
