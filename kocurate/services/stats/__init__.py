"""Statistics for the dashboard and ``kocurate stats``: every figure is a SQL aggregate.

Nothing here loads samples or turns to count them: each figure is one GROUP BY in the database
(written for 700k samples / 1.4M turns / 200k reviews), and Python only reshapes the small result.
The agreement coefficients (Cohen's and Fleiss' kappa) are pure functions over contingency counts
that SQL has already aggregated.

Who sees what: leads and admins (``view_stats``) see everything; annotators (``view_own_stats``)
see only their own activity (reviews per day, throughput, seconds per sample, their decisions).
Corpus-wide figures raise ``PermissionDenied`` for annotators, and an annotator asking for another
person's numbers gets ``PermissionDenied`` too.

Date ranges apply to activity (reviews, flags, suggestions, DeepL use); snapshots of the current
state (samples by status, check hit rates, text lengths, approval rates) are not dated.

Split by question: ``progress``, ``quality``, ``translation``, ``text``, ``annotators``,
``overview`` (the whole dashboard); shared parts in ``_base``; the kappa maths in
``kocurate.agreement``. ``from kocurate.services import stats; stats.X`` keeps working for every
name.
"""

from __future__ import annotations

from ...agreement import (  # noqa: F401
    FleissSums,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_sums,
)
from ._base import (  # noqa: F401
    _MEMO,
    DECIDED,
    DEFAULT_TARGET,
    DISAGREEMENTS_PAGE,
    DISTANCE_EDGES,
    LENGTH_EDGES,
    PACE_DAYS,
    RATIO_MAX_TENTHS,
    TURN_EDGES,
    StatsFilter,
    _bucket,
    _dataset_names,
    _dated,
    _day,
    _id_ranges,
    _in_datasets,
    _is_pg,
    _iso,
    _lead,
    _memo,
    _own,
    _rate,
    _usernames,
    bucket_label,
    review_link,
    snapshot,
)
from .annotators import (  # noqa: F401
    _NI,
    _NS,
    _agreement_counts,
    _annotator_flags,
    _disagreement_details,
    _medians,
    _ratings,
    _round,
    _split_decisions,
    agreement,
    annotator_stats,
    disagreements,
)
from .overview import (  # noqa: F401
    LEAD_PARTS,
    TAB_PARTS,
    _dashboard,
    _own_part,
    _part_activity,
    _part_agreement,
    _part_annotators,
    _part_progress,
    _part_quality,
    _part_text,
    dashboard,
    dashboard_concurrent,
)
from .progress import (  # noqa: F401
    _activity,
    progress,
    reviews_per_day,
    status_counts,
)
from .quality import (  # noqa: F401
    _sample_totals,
    approval_rates,
    check_hit_rates,
    flag_counts,
    flag_group,
    preflag_precision,
)
from .text import (  # noqa: F401
    text_stats,
)
from .translation import (  # noqa: F401
    edit_distance_sample,
    levenshtein,
    translation_repair,
)
