"""Dashboard: progress, quality, translation repair, text statistics, annotators and agreement.

Layout only: every number comes from ``kocurate.services.stats`` (SQL aggregates); this page turns
the small aggregated results into plotly figures. Leads and admins see everything; annotators see
their own statistics only (the service enforces it). Every chart has a link to the matching queue
filter of the review page, and exports as HTML (and PNG: the camera button of the chart's toolbar
renders it in the browser; a server-side PNG needs kaleido and a Chromium).
"""

from __future__ import annotations

import html
import numbers
import os
import shutil
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from kocurate import ui, ui_curate, ui_gold
from kocurate.checks.texts import check_label
from kocurate.i18n import N_, _, ngettext
from kocurate.models import STATUSES
from kocurate.services import datasets as dataset_service
from kocurate.services import freshness, stats
from kocurate.services.auth import Actor

REVIEW_PAGE = "pages/review.py"
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}

# column names of the aggregated rows → their axis, legend and table titles (translated where shown)
COLUMNS = {
    "day": N_("day"),
    "n": N_("count"),
    "decision": N_("decision"),
    "status": N_("status"),
    "dataset": N_("dataset"),
    "state": N_("state"),
    "origin": N_("origin"),
    "flag": N_("flag"),
    "group": N_("group"),
    "category": N_("category"),
    "check": N_("check"),
    "what": N_("check or flag"),
    "rate": N_("rate"),
    "precision": N_("precision"),
    "distance": N_("distance"),
    "language": N_("language"),
    "username": N_("user"),
    "reviews": N_("reviews"),
    "active_days": N_("active days"),
    "per_active_day": N_("per active day"),
    "median_seconds": N_("median seconds"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "needs_fix": N_("needs fix"),
    "skip": N_("skip"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "decided": N_("decided"),
    "open": N_("open"),
    "confirmed": N_("confirmed"),
    "cleared": N_("cleared"),
    "active": N_("active"),
    "fleiss": N_("Fleiss' kappa"),
    "a": N_("annotator A"),
    "b": N_("annotator B"),
    "samples": N_("shared samples"),
    "agreement": N_("agreement"),
    "kappa": N_("kappa"),
}
# codes shown as chart categories and legend entries (the data keeps the codes)
VALUES = {
    "approve": N_("approve"),
    "reject": N_("reject"),
    "needs_fix": N_("needs fix"),
    "skip": N_("skip"),
    "new": N_("new"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "skipped": N_("skipped"),
    "disputed": N_("disputed"),
    "superseded": N_("superseded"),
    "open": N_("open"),
    "confirmed": N_("confirmed"),
    "cleared": N_("cleared"),
    "active": N_("active"),
    "accepted": N_("accepted"),
    "ethics": N_("ethics"),
    "quality": N_("quality"),
    "other": N_("other"),
    "annotator": N_("annotator"),
    "check": N_("check"),
    "model": N_("model"),
    "ko": N_("Korean"),
    "en": N_("English"),
}
UNITS = {"characters per sample (all turns)": N_("characters per sample (all turns)")}

actor = ui.require_actor()
lead = actor.can("view_stats")
st.header(_("Dashboard") if lead else _("My statistics"))


def value(code: Any) -> Any:
    """A code (status, decision, state …) as shown; anything else (names, numbers) as it is."""
    return _(VALUES[code]) if isinstance(code, str) and code in VALUES else code


def labels(**extra: str) -> dict[str, str]:
    """Axis, legend and hover titles for plotly express (``labels=``), translated."""
    return {**{col: _(title) for col, title in COLUMNS.items()}, **extra}


def columns(*names: str) -> dict[str, str]:
    """Table headers for ``st.dataframe(column_config=…)``, translated."""
    return {c: _(COLUMNS[c]) for c in names if c in COLUMNS}


def shown(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """A copy whose code columns read in the person's language (for charts only; logic keeps the
    codes)."""
    out = df.copy()
    for col in cols:
        if col in out:
            out[col] = out[col].map(value)
    return out


@st.cache_data(ttl=60, show_spinner=_("Counting…"))
def load(
    actor_id: int | None,
    username: str,
    role: str,
    datasets: tuple[int, ...],
    since: date | None,
    until: date | None,
    target: int,
    version: tuple[Any, ...],
    parts: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The figures of ``parts`` (all: None) in one call; cached per person, filter and ``version``
    (any write since changes it, so work shows at once; leads reload often)."""
    who = Actor(actor_id, username, role)
    # read-only connections (never hold up someone's save), the independent parts at once
    return stats.dashboard_concurrent(
        ui.engine(), who, stats.StatsFilter(datasets, since, until), target=target, parts=parts
    )


@st.cache_data(ttl=300, show_spinner=False)
def dataset_choices(version: tuple[Any, ...]) -> dict[int, str]:
    with ui.session() as s:
        return {d["id"]: d["name"] for d in dataset_service.list_datasets(s)}


def link(label: str, **params: Any) -> None:
    """A link to the review queue filtered like the chart
    (``/review?dataset=3&check=untranslated``)."""
    qp = {k: str(v) for k, v in params.items() if v is not None}
    try:
        st.page_link(REVIEW_PAGE, label=label, icon=":material/link:", query_params=qp or None)
    except StreamlitPageNotFoundError:  # the page run on its own (tests): the address as text
        st.caption(f"{label}: review?{urlencode(qp)}")


def _values(v: Any) -> list[Any]:
    return [] if v is None else list(v)


def _empty(fig: go.Figure) -> bool:
    def n(v: Any) -> int:
        return 0 if v is None else len(v)

    if not fig.data or all(
        n(t.x) == 0 and n(t.y) == 0 and n(getattr(t, "z", None)) == 0 for t in fig.data
    ):
        return True
    # counts that are all zero (a fresh database) are no data either
    nums = [
        v
        for t in fig.data
        if getattr(t, "z", None) is None
        for v in _values(t.y if getattr(t, "orientation", None) != "h" else t.x)
        if isinstance(v, numbers.Number)
    ]
    return bool(nums) and not any(nums) and all(getattr(t, "z", None) is None for t in fig.data)


def days_axis(fig: go.Figure, days: Any) -> go.Figure:
    """A time axis in whole days (no "23:59:59.9995" on a young project), one tick a day when
    few."""
    ds = sorted({pd.Timestamp(d).normalize() for d in days})
    opts: dict[str, Any] = {"tickformat": "%Y-%m-%d", "title": _("day")}
    if ds and len(ds) <= 14:
        opts.update(
            dtick=86_400_000,
            range=[ds[0] - pd.Timedelta(hours=12), ds[-1] + pd.Timedelta(hours=12)],
        )
    fig.update_xaxes(**opts)
    return fig


def counts_axis(fig: go.Figure, axis: str = "y") -> go.Figure:
    """A count axis with whole-number ticks only (no 0.5 reviews)."""
    opts: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero", "tick0": 0}
    values = [
        v
        for t in fig.data
        for v in _values(getattr(t, axis, None))
        if isinstance(v, numbers.Number)
    ]
    if values and max(values) <= 10:
        opts["dtick"] = 1
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(**opts)
    return fig


def chart(fig: go.Figure, key: str, title: str) -> None:
    """Show a figure with its export buttons (HTML here; PNG from the chart toolbar or kaleido); a
    figure without data says so instead of drawing empty axes."""
    if _empty(fig):
        st.info(_("{title}: no data yet.").format(title=title), icon=":material/hourglass_empty:")
        return
    fig.update_layout(title=title, margin={"t": 50, "b": 30})
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG, width="stretch")
    c1, c2 = st.columns(2)
    # self-contained (plotly.js inside, ~4.7 MB): opens offline; built only when clicked
    c1.download_button(
        "HTML",
        data=lambda: fig.to_html(include_plotlyjs=True, full_html=True),
        file_name=f"{key}.html",
        mime="text/html",
        key=f"{key}-html",
        icon=":material/download:",
        on_click="ignore",
    )
    if _kaleido():
        c2.download_button(
            "PNG",
            data=lambda: fig.to_image(format="png", scale=2),
            file_name=f"{key}.png",
            mime="image/png",
            key=f"{key}-png",
            icon=":material/image:",
            on_click="ignore",
        )


@st.cache_resource
def _kaleido() -> bool:
    """Server-side PNG needs kaleido and a Chrome/Chromium to render with (it never downloads one
    here)."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    browsers = ("chromium", "chromium-browser", "google-chrome", "chrome")
    return bool(os.environ.get("BROWSER_PATH") or any(shutil.which(b) for b in browsers))


def frame(rows: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """Aggregated rows as a DataFrame, text escaped: plotly reads <b>, <a href> … in labels as
    markup, and dataset names, categories and user names are data."""
    df = pd.DataFrame(rows, columns=columns)
    for col in df.select_dtypes(include="object").columns:
        df[col] = df[col].map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    return df


def one_dataset() -> int | None:
    return chosen[0] if len(chosen) == 1 else None


# -----------------------------------------------------------------------------------------------
# filters
with ui.session() as _s:  # the database too: one process may serve (or test) several
    version = (str(ui.engine().url), *freshness.data_version(_s))
names = dataset_choices(version)
with st.container(border=True):
    c1, c2, c3, c4 = st.columns([3, 1.2, 1.2, 1.2])
    chosen = c1.multiselect(
        _("Datasets"),
        list(names),
        format_func=lambda i: names.get(i, str(i)),
        placeholder=_("All datasets"),
        key="db-datasets",
    )
    since = c2.date_input(_("Activity from"), value=None, key="db-since")
    until = c3.date_input(_("until"), value=None, key="db-until")
    target = int(
        c4.number_input(
            _("Target (approved)"),
            min_value=1,
            value=stats.DEFAULT_TARGET,
            step=10_000,
            disabled=not lead,
            key="db-target",
        )
    )
if since and until and since > until:
    st.error(_("The start date is after the end date."))
    st.stop()

# only the open tab is computed and drawn: all six at once were every query of the dashboard and 15
# plotly charts (~170 elements), 4-5 s to the first render at 700k samples (benchmarks/ui.py)
TAB_PARTS = stats.TAB_PARTS
tabs: Any = None
parts: tuple[str, ...] | None = None
if lead:
    tabs = st.tabs(
        [
            _("Progress"),
            _("Quality"),
            _("Translation repair"),
            _("Text"),
            _("Annotators"),
            _("Agreement"),
        ],
        key="db-tabs",
        on_change="rerun",
    )
    parts = next((TAB_PARTS[i] for i, t in enumerate(tabs) if t.open), TAB_PARTS[0])

data: dict[str, Any] | None = None
with ui.shows_errors():
    data = load(
        actor.id, actor.username, actor.role, tuple(chosen), since, until, target, version, parts
    )
if data is None:
    st.stop()


def own_view(d: dict[str, Any]) -> None:
    ann = d["annotators"]
    me = ann["users"][0] if ann["users"] else None
    # the service returns only the actor's own rows; show whose numbers these are
    whose = ", ".join(u["username"] for u in ann["users"]) or actor.username
    st.text(_("Statistics of {names}").format(names=whose))
    c = st.columns(4)
    c[0].metric(_("Reviews"), sum(u["reviews"] for u in ann["users"]))
    c[1].metric(_("Active days"), me["active_days"] if me else 0)
    c[2].metric(_("Per active day"), me["per_active_day"] if me else "-")
    c[3].metric(
        _("Median seconds / sample"),
        f"{me['median_seconds']:.0f}" if me and me["median_seconds"] else "-",
    )
    rpd = frame(d["reviews_per_day"], columns=["day", "decision", "n"])
    chart(
        counts_axis(
            days_axis(
                px.bar(shown(rpd, "decision"), x="day", y="n", color="decision", labels=labels()),
                rpd["day"],
            )
        ),
        "own-reviews-per-day",
        _("My reviews per day"),
    )
    if me:
        dec = frame(
            [{"decision": k, "n": me.get(k, 0)} for k in ("approve", "reject", "needs_fix", "skip")]
        )
        chart(
            counts_axis(px.bar(shown(dec, "decision"), x="decision", y="n", labels=labels())),
            "own-decisions",
            _("My decisions"),
        )
    link(_("My review queue"), dataset=one_dataset())


if not lead:
    own_view(data)
    st.stop()


# -----------------------------------------------------------------------------------------------
# progress
if tabs[0].open:
    with tabs[0]:
        p = data["progress"]
        c = st.columns(5)
        c[0].metric(_("Samples"), f"{p['samples']:,}")
        c[1].metric(
            _("Approved"),
            f"{p['approved']:,}",
            help=_("target {target:,}").format(target=p["target"]),
        )
        c[2].metric(_("To target"), f"{p['to_target']:,}")
        c[3].metric(
            _("Days to finish"),
            "-" if p["days_to_finish"] is None else p["days_to_finish"],
            help=_("{remaining:,} reviews left at {per_day} reviews/day ({start} .. {end})").format(
                remaining=p["remaining_reviews"],
                per_day=p["reviews_per_day"],
                start=p["pace_window"][0],
                end=p["pace_window"][1],
            ),
        )
        c[4].metric(
            _("Days to target"),
            "-" if p["days_to_target"] is None else p["days_to_target"],
            help=_("at {per_day} approvals/day").format(per_day=p["approvals_per_day"]),
        )
        st.progress(
            min(1.0, p["target_share"] or 0.0),
            text=_("{share:.1f}% of the target approved").format(
                share=(p["target_share"] or 0) * 100
            ),
        )
        sdf = frame(data["status"], columns=["dataset_id", "dataset", "status", "n"])
        chart(
            counts_axis(
                px.bar(
                    shown(sdf, "status"),
                    x="dataset",
                    y="n",
                    color="status",
                    labels=labels(),
                    category_orders={"status": [value(s) for s in STATUSES]},
                )
            ),
            "status",
            _("Samples by status"),
        )
        if not sdf.empty:
            pick = st.selectbox(
                _("Open in the review queue"),
                sdf.to_dict("records"),
                key="status-link",
                format_func=lambda r: f"{r['dataset']} · {value(r['status'])} ({r['n']:,})",
            )
            link(
                _("Review {dataset} · {what}").format(
                    dataset=pick["dataset"], what=value(pick["status"])
                ),
                dataset=pick["dataset_id"],
                status=pick["status"],
            )
        rpd = frame(data["reviews_per_day"], columns=["day", "decision", "n"])
        chart(
            counts_axis(
                days_axis(
                    px.line(
                        shown(rpd, "decision"),
                        x="day",
                        y="n",
                        color="decision",
                        markers=True,
                        labels=labels(),
                    ),
                    rpd["day"],
                )
            ),
            "reviews-per-day",
            _("Reviews per day"),
        )
        link(_("Review queue (new samples)"), dataset=one_dataset(), status="new")

# -----------------------------------------------------------------------------------------------
# quality
if tabs[1].open:
    with tabs[1]:
        chk = frame(
            data["checks"],
            columns=[
                "dataset_id",
                "dataset",
                "check",
                "samples_hit",
                "findings",
                "samples",
                "rate",
            ],
        )
        if chk.empty:
            st.info(_("No check findings yet."))
        else:
            z = chk.pivot_table(
                index="dataset", columns="check", values="rate", aggfunc="sum"
            ).fillna(0)
            fig = go.Figure(
                go.Heatmap(
                    z=z.values * 100,
                    x=[check_label(c) for c in z.columns],
                    y=list(z.index),
                    colorscale="Reds",
                    colorbar={"title": _("% samples")},
                    hovertemplate=_("%{y} · %{x}: %{z:.2f}% of samples") + "<extra></extra>",
                )
            )
            chart(
                fig,
                "check-heatmap",
                _("Automatic check hit rates (share of samples with a finding)"),
            )
            pick = st.selectbox(
                _("Open a check's findings"),
                chk.to_dict("records"),
                key="check-link",
                format_func=lambda r: (
                    f"{r['dataset']} · {check_label(r['check'])} ("
                    + ngettext("{n:,} sample", "{n:,} samples", r["samples_hit"]).format(
                        n=r["samples_hit"]
                    )
                    + ")"
                ),
            )
            link(
                _("Review {dataset} · {what}").format(
                    dataset=pick["dataset"], what=check_label(pick["check"])
                ),
                dataset=pick["dataset_id"],
                check=pick["check"],
            )
        fl = frame(data["flags"], columns=["category", "group", "origin", "state", "n"])
        if fl.empty:
            st.info(_("No flags yet."))
        else:
            fl = fl.sort_values(["group", "category"])
            fl["flag"] = fl["group"].map(value) + ": " + fl["category"].map(ui.flag_label)
            chart(
                px.bar(
                    shown(fl, "state", "origin"),
                    x="flag",
                    y="n",
                    color="state",
                    pattern_shape="origin",
                    labels=labels(),
                ),
                "flags",
                _("Flags by category (ethics / quality), state and origin"),
            )
            cat = st.selectbox(
                _("Open flagged samples"),
                sorted(fl["category"].unique()),
                key="flag-link",
                format_func=ui.flag_label,
            )
            link(
                _("Review samples flagged {flag}").format(flag=ui.flag_label(cat)),
                dataset=one_dataset(),
                flag=cat,
            )
        pre = data["preflags"]
        rows = [
            {
                "what": _("check: {name}").format(name=check_label(r["check"])),
                "state": s,
                "n": r[s],
                "precision": r["precision"],
            }
            for r in pre["checks"]
            for s in ("confirmed", "cleared", "open")
        ]
        rows += [
            {
                "what": f"{value(r['origin'])}: {ui.flag_label(r['category'])}",
                "state": s,
                "n": r[s],
                "precision": r["precision"],
            }
            for r in pre["flags"]
            for s in ("confirmed", "cleared", "active")
        ]
        if rows:
            pdf = frame(rows)
            colours = {
                "confirmed": "#2ca02c",
                "cleared": "#d62728",
                "open": "#aaaaaa",
                "active": "#aaaaaa",
            }
            chart(
                px.bar(
                    shown(pdf, "state"),
                    y="what",
                    x="n",
                    color="state",
                    orientation="h",
                    labels=labels(),
                    color_discrete_map={value(k): v for k, v in colours.items()},
                ),
                "preflags",
                _("Pre-flags: confirmed vs cleared (precision of each check in practice)"),
            )
            named = [
                {**r, "check": check_label(r["check"])} for r in pre["checks"]
            ]  # names people read
            st.dataframe(
                shown(frame(named + pre["flags"]), "origin"),
                hide_index=True,
                column_config=columns(
                    "check",
                    "category",
                    "origin",
                    "open",
                    "confirmed",
                    "cleared",
                    "active",
                    "precision",
                ),
            )
            link(
                _("Review open check findings"),
                dataset=one_dataset(),
                status="new",
                check=pre["checks"][0]["check"] if pre["checks"] else None,
            )
        ap = data["approval"]
        adf = frame(ap["datasets"])
        if not adf.empty:
            chart(
                px.bar(
                    adf,
                    x="dataset",
                    y="rate",
                    hover_data=["approved", "rejected", "needs_fix", "decided"],
                    range_y=[0, 1],
                    labels=labels(),
                ),
                "approval",
                _("Approval rate per dataset (approved / decided)"),
            )
        cdf = frame(ap["categories"])
        if not cdf.empty:
            chart(
                px.bar(
                    cdf,
                    x="category",
                    y="rate",
                    color="dataset",
                    barmode="group",
                    range_y=[0, 1],
                    hover_data=["approved", "rejected", "needs_fix", "decided"],
                    labels=labels(),
                ),
                "approval-category",
                _("Approval rate per source category"),
            )
        link(_("Review rejected samples"), dataset=one_dataset(), status="rejected")
        ui_curate.render_dataset_quality(
            actor, one_dataset()
        )  # speech level, check precision, chrF++

# -----------------------------------------------------------------------------------------------
# translation
if tabs[2].open:
    with tabs[2]:
        t = data["translation"]
        c = st.columns(4)
        c[0].metric(
            _("Turns edited"),
            f"{t['edited_turns']:,}",
            help=_("of {turns:,} turns (text differs from the MT)").format(turns=t["turns"]),
        )
        c[1].metric(
            _("Share edited"),
            "-" if t["edited_share"] is None else f"{t['edited_share'] * 100:.2f}%",
        )
        c[2].metric(
            _("Re-translations accepted"),
            "-"
            if t["suggestion_acceptance"] is None
            else f"{t['suggestion_acceptance'] * 100:.0f}%",
            help=_("accepted {accepted}, rejected {rejected}, open {open}").format(
                accepted=t["suggestions"]["accepted"],
                rejected=t["suggestions"]["rejected"],
                open=t["suggestions"]["open"],
            ),
        )
        c[3].metric(_("DeepL characters"), f"{t['deepl_characters']:,}")
        hdf = frame(t["distance_hist"])
        chart(
            px.bar(
                hdf,
                x="bucket",
                y="n",
                labels=labels(bucket=_("|len(final) - len(MT)| (characters)")),
            ),
            "edit-distance",
            _("Edit size: length difference between the MT and the final text"),
        )
        st.caption(
            _(
                "Cheap SQL distance, a lower bound of the edit distance (0 = same length, e.g."
                " substitutions). True Levenshtein on a bounded sample:"
            )
        )
        if st.button(_("Levenshtein on 200 edited turns"), key="db-levenshtein"):
            with ui.shows_errors(), stats.snapshot(ui.engine()) as s:
                sample = stats.edit_distance_sample(
                    s, actor, stats.StatsFilter(tuple(chosen), since, until)
                )
            if sample:
                chart(
                    px.histogram(frame(sample), x="distance", nbins=30, labels=labels()),
                    "levenshtein",
                    ngettext(
                        "Levenshtein distance MT → final ({n} edited turn)",
                        "Levenshtein distance MT → final ({n} edited turns)",
                        len(sample),
                    ).format(n=len(sample)),
                )
        sdf = frame([{"state": k, "n": v} for k, v in t["suggestions"].items()])
        chart(
            counts_axis(
                px.bar(shown(sdf, "state"), x="state", y="n", color="state", labels=labels())
            ),
            "suggestions",
            _("Re-translations (suggestions) by outcome"),
        )
        link(_("Review samples needing a fix"), dataset=one_dataset(), status="needs_fix")

# -----------------------------------------------------------------------------------------------
# text
if tabs[3].open:
    with tabs[3]:
        tx = data["text"]
        st.caption(
            _("Lengths in {unit}.").format(
                unit=_(UNITS[tx["unit"]]) if tx["unit"] in UNITS else tx["unit"]
            )
        )
        rows_len, rows_ratio, rows_turns = [], [], []
        for d in tx["datasets"]:
            for lang in ("ko", "en"):
                rows_len += [
                    {"dataset": d["dataset"], "language": lang, **h} for h in d[f"{lang}_chars"]
                ]
            rows_ratio += [{"dataset": d["dataset"], **h} for h in d["ratio"]]
            rows_turns += [{"dataset": d["dataset"], **h} for h in d["turns_per_sample"]]
        if rows_len:
            chart(
                px.bar(
                    shown(frame(rows_len), "language"),
                    x="bucket",
                    y="n",
                    color="language",
                    barmode="group",
                    facet_row="dataset",
                    height=220 * len(tx["datasets"]) + 80,
                    labels=labels(bucket=_("characters")),
                ),
                "lengths",
                _("Korean and English characters per sample"),
            )
            for rows, bucket, key, title in (
                (
                    rows_ratio,
                    _("Korean / English characters"),
                    "ratio",
                    _("Length ratio Korean / English"),
                ),
                (rows_turns, _("turns"), "turns", _("Turns per conversation")),
            ):
                chart(
                    px.bar(
                        frame(rows),
                        x="bucket",
                        y="n",
                        color="dataset",
                        barmode="group",
                        labels=labels(bucket=bucket),
                    ),
                    key,
                    title,
                )
        else:
            st.info(_("No samples yet."))
        link(_("Review queue"), dataset=one_dataset())

# -----------------------------------------------------------------------------------------------
# annotators
if tabs[4].open:
    with tabs[4]:
        ann = data["annotators"]
        udf = frame(ann["users"])
        if udf.empty:
            st.info(_("No reviews in this range."))
        else:
            pdd = frame(ann["per_day"])
            chart(
                counts_axis(
                    days_axis(
                        px.line(
                            pdd, x="day", y="n", color="username", markers=True, labels=labels()
                        ),
                        pdd["day"] if "day" in pdd else [],
                    )
                ),
                "throughput",
                _("Throughput: reviews per person per day"),
            )
            chart(
                px.bar(udf, x="username", y="median_seconds", labels=labels()),
                "median-seconds",
                _("Median seconds per sample"),
            )
            shown_cols = [
                "username",
                "reviews",
                "active_days",
                "per_active_day",
                "median_seconds",
                "approve",
                "reject",
                "needs_fix",
                "skip",
            ]
            st.dataframe(udf[shown_cols], hide_index=True, column_config=columns(*shown_cols))
        link(_("Review queue"), dataset=one_dataset())

# -----------------------------------------------------------------------------------------------
# agreement
if tabs[5].open:
    with tabs[5]:
        ag = data["agreement"]
        dec = ag["decisions"]
        c = st.columns(3)
        c[0].metric(_("Overlapping samples"), f"{ag['samples']:,}")
        c[1].metric(
            _("Fleiss' kappa (decisions)"), "-" if dec["fleiss"] is None else f"{dec['fleiss']:.3f}"
        )
        c[2].metric(
            _("Observed agreement"), "-" if dec["p_bar"] is None else f"{dec['p_bar'] * 100:.1f}%"
        )
        min_shared = int(
            st.number_input(
                _("Pairs sharing at least … samples"),
                min_value=1,
                value=10,
                step=5,
                key="db-min-shared",
            )
        )
        kept = [r for r in dec["pairs"] if r["samples"] >= min_shared]
        if dec["pairs"] and not kept:
            st.info(
                ngettext(
                    "No pair of annotators shares {n} sample or more.",
                    "No pair of annotators shares {n} samples or more.",
                    min_shared,
                ).format(n=min_shared)
            )
        if kept:
            pairs = frame(kept)
            people = sorted(set(pairs["a"]) | set(pairs["b"]))
            m = pd.DataFrame(index=people, columns=people, dtype=float)
            for r in pairs.to_dict("records"):
                m.loc[r["a"], r["b"]] = m.loc[r["b"], r["a"]] = r["kappa"]
            fig = go.Figure(
                go.Heatmap(
                    z=m.values,
                    x=people,
                    y=people,
                    zmin=-1,
                    zmax=1,
                    colorscale="RdBu",
                    hovertemplate=_("%{y} / %{x}: kappa %{z:.3f}") + "<extra></extra>",
                )
            )
            chart(fig, "kappa-pairs", _("Cohen's kappa per pair of annotators (decisions)"))
            pair_cols = ["a", "b", "samples", "agreement", "kappa"]
            st.dataframe(pairs[pair_cols], hide_index=True, column_config=columns(*pair_cols))
        if ag["flags"]:
            fk = frame(
                [
                    {"flag": ui.flag_label(k), "group": value(v["group"]), "fleiss": v["fleiss"]}
                    for k, v in ag["flags"].items()
                ]
            )
            chart(
                px.bar(fk, x="flag", y="fleiss", color="group", range_y=[-1, 1], labels=labels()),
                "kappa-flags",
                _("Fleiss' kappa per flag"),
            )
        st.subheader(_("Disagreements to adjudicate"))
        on = st.selectbox(
            _("Disagreement on"),
            ["decision"] + list(ag["flags"]),
            key="dis-kind",
            format_func=lambda k: _("decision") if k == "decision" else ui.flag_label(k),
        )
        after = st.session_state.get(f"dis-after-{on}", 0)
        page_size = stats.DISAGREEMENTS_PAGE
        dis: list[dict[str, Any]] = []
        if on == "decision" and not after:
            dis = ag.get("disagreements", [])  # the first page came with the figures
        else:
            with ui.shows_errors(), stats.snapshot(ui.engine()) as s:
                dis = stats.disagreements(
                    s,
                    actor,
                    stats.StatsFilter(tuple(chosen), since, until),
                    flag=None if on == "decision" else on,
                    after=after,
                    limit=page_size,
                )
        if not dis:
            st.info(_("No disagreements after this page.") if after else _("No disagreements."))
        for item in dis:
            cols = st.columns([1, 4, 3, 2])
            cols[0].text(f"#{item['sample_id']}")
            cols[1].text(", ".join(f"{u}: {value(d)}" for u, d in item["decisions"].items()))
            cols[2].text(
                ", ".join(
                    f"{u}: {'/'.join(ui.flag_label(x) for x in c)}"
                    for u, c in item["flags"].items()
                )
                or _("no flags")
            )
            with cols[3]:
                link(_("Adjudicate"), dataset=item["dataset_id"], sample=item["sample_id"])
        b1, b2 = st.columns(2)
        if after and b1.button(_("First page"), key="dis-first"):
            st.session_state[f"dis-after-{on}"] = 0
            st.rerun()
        if len(dis) == page_size and b2.button(_("Next page"), key="dis-next"):
            st.session_state[f"dis-after-{on}"] = dis[-1]["sample_id"]
            st.rerun()

# ----------------------------------------------------------------------------- gold and ratings
# (issue 21 B)
if tabs[4].open:
    with tabs[4]:
        ui_gold.render_gold_accuracy(actor, one_dataset())
if tabs[5].open:
    with tabs[5]:
        ui_gold.render_ratings_agreement(actor, one_dataset())
