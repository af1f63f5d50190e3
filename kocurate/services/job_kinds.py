"""Every background job kind, listed explicitly: importing this module registers them all.

A kind is a function decorated with ``jobs.register(KIND, permission=…)`` in its own service
module; adding one = that module plus one name here. ``jobs`` itself imports none of them (no
cycle); ``kocurate jobs run`` imports this module before it runs a job.
"""

from __future__ import annotations

from . import checks, jobs, korean, llm, translate

KINDS = (translate.JOB_KIND, llm.JOB_KIND, checks.JOB_KIND, korean.JOB_KIND)
assert set(KINDS) <= set(jobs.KINDS), "a listed job kind did not register"

__all__ = ["KINDS", "jobs"]
