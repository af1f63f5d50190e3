"""CLI for corpus-scale curation (issue 17): bulk actions, find and replace, translation memory,
translation variants, QA sampling and the learned risk model. Thin wrappers over kocurate.services.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from ..errors import EXIT_PERMISSION, EXIT_USAGE
from ..services import bulk, qa, replace, risk, tm, variants
from ..services import datasets as ds_service
from ..services import users as user_service
from ..services.auth import SYSTEM, Actor
from .app import app, engine, errors, fail, session

bulk_app = typer.Typer(
    help="Bulk actions on a selection (leads): preview with --dry-run, apply, revert.",
    no_args_is_help=True,
)
tm_app = typer.Typer(
    help="Fix propagation: suggest fixes from an edit; keep and re-apply a list of fixes.",
    no_args_is_help=True,
)
variants_app = typer.Typer(
    help="Translation variants: samples with the same English source.", no_args_is_help=True
)
qa_app = typer.Typer(
    help="QA sampling and the estimated defect rate (Wilson 95 % interval).", no_args_is_help=True
)
risk_app = typer.Typer(
    help="Learned risk: check precision, chrF++ of the MT, the per-sample risk model.",
    no_args_is_help=True,
)
app.add_typer(bulk_app, name="bulk")
app.add_typer(tm_app, name="tm")
app.add_typer(variants_app, name="variants")
app.add_typer(qa_app, name="qa")
app.add_typer(risk_app, name="risk")

# the selection options every bulk command shares
DATASET = typer.Option(None, "--dataset", "-d", help="Dataset name or id.")
STATUS = typer.Option(
    None, "--status", help="Only samples with this status (new, approved, rejected, …)."
)
CHECK = typer.Option(None, "--check", help="Only samples with an open finding of this check.")
FLAG = typer.Option(None, "--flag", help="Only samples carrying this flag (not cleared).")
QUERY = typer.Option(
    None, "--query", help="Only samples whose text matches this search (search index)."
)
DUP = typer.Option(None, "--dup-group", help="Only this near-duplicate group.")
VARIANT = typer.Option(None, "--variant", help="Only this variant group (English source hash).")
IDS = typer.Option(None, "--ids", help="Only these sample ids (comma-separated).")
NOTE = typer.Option(None, "--note", help="Why (kept in the operation and the audit log).")
DRY = typer.Option(
    False, "--dry-run", help="Count and show a sample of what would change; change nothing."
)
AS = typer.Option(None, "--as", help="Act as this lead (decisions get Review rows in their name).")
SHOW = typer.Option(10, "--show", help="How many samples of the change to print.")


def _actor(name: str | None) -> Actor:
    if not name:
        return SYSTEM
    with errors(), session() as s:
        who = user_service.actor_of(user_service._get(s, name))
    if not who.can(bulk.PERMISSION):
        fail(f"{name} is {who.role}: bulk operations are for leads", EXIT_PERMISSION)
    return who


def _selection(
    dataset: str | None,
    status: str | None,
    check: str | None,
    flag: str | None,
    query: str | None,
    dup_group: int | None,
    variant: str | None,
    ids: str | None,
) -> bulk.Selection:
    ds_id = None
    if dataset:
        with session() as s:
            ds_id = ds_service.get_dataset(s, dataset).id
    sample_ids = None
    if ids:
        try:
            sample_ids = [int(x) for x in ids.split(",") if x.strip()]
        except ValueError:
            fail(f"--ids takes comma-separated sample ids, got {ids!r}", EXIT_USAGE)
    return bulk.Selection(
        dataset_id=ds_id,
        status=status,
        check=check,
        flag=flag,
        query=query,
        dup_group=dup_group,
        src_hash=variant,
        sample_ids=sample_ids,
    )


def _run_bulk(
    action: str, sel: bulk.Selection, who: Actor, dry_run: bool, show: int, **kw: Any
) -> None:
    with errors(), session() as s:
        p = bulk.preview(s, who, action, sel, sample_rows=show, **kw)
        typer.echo(
            f"{action} on {sel.describe()}: {p['count']:,} of {p['selected']:,} selected samples"
            f" would change ({p['unchanged']:,} already so)"
        )
        for r in p["sample"]:
            typer.echo(
                f"  sample {r['sample_id']} (#{r['key']}): {r['change']} · {r['text'][:80]!r}"
            )
        if dry_run:
            s.rollback()  # a dry run leaves no trace, not even the preview
            typer.echo("dry run: nothing changed")
            return
        out = bulk.apply(s, who, p["op_id"])
    typer.echo(out["message"])
    typer.echo(f"undo with: kocurate bulk revert {out['op_id']}")


def _bulk_cmd(action: str, name: str, doc: str) -> None:
    """Register `kocurate bulk NAME` for an action that takes only the selection options."""

    def cmd(
        dataset: str = DATASET,
        status: str = STATUS,
        check: str = CHECK,
        flag: str = FLAG,
        query: str = QUERY,
        dup_group: int = DUP,
        variant: str = VARIANT,
        ids: str = IDS,
        note: str = NOTE,
        dry_run: bool = DRY,
        as_user: str = AS,
        show: int = SHOW,
    ) -> None:
        _run_bulk(
            action,
            _selection(dataset, status, check, flag, query, dup_group, variant, ids),
            _actor(as_user),
            dry_run,
            show,
            note=note,
        )

    cmd.__doc__ = doc
    bulk_app.command(name)(cmd)


_bulk_cmd("approve", "approve", "Approve every sample of the selection.")
_bulk_cmd("needs_fix", "needs-fix", "Send every sample of the selection back as 'needs fix'.")


@bulk_app.command("reject")
def reject_cmd(
    reason: str = typer.Option(..., "--reason", help="Why they are rejected (required)."),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    dup_group: int = DUP,
    variant: str = VARIANT,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Reject every sample of the selection, with a reason."""
    _run_bulk(
        "reject",
        _selection(dataset, status, check, flag, query, dup_group, variant, ids),
        _actor(as_user),
        dry_run,
        show,
        reason=reason,
        note=note,
    )


@bulk_app.command("add-flag")
def add_flag_cmd(
    category: str = typer.Argument(..., help="The flag to add (ethics or quality category)."),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    dup_group: int = DUP,
    variant: str = VARIANT,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Add a flag to every sample of the selection that lacks it."""
    _run_bulk(
        "add_flag",
        _selection(dataset, status, check, flag, query, dup_group, variant, ids),
        _actor(as_user),
        dry_run,
        show,
        flag=category,
        note=note,
    )


@bulk_app.command("remove-flag")
def remove_flag_cmd(
    category: str = typer.Argument(..., help="The flag to clear."),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    dup_group: int = DUP,
    variant: str = VARIANT,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Clear a flag (any origin) on every sample of the selection."""
    _run_bulk(
        "remove_flag",
        _selection(dataset, status, check, flag, query, dup_group, variant, ids),
        _actor(as_user),
        dry_run,
        show,
        flag=category,
        note=note,
    )


@bulk_app.command("clear-findings")
def clear_findings_cmd(
    only: str = typer.Option(None, "--only", help="Clear only this check's findings."),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    dup_group: int = DUP,
    variant: str = VARIANT,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Mark the open check findings of the selection as cleared."""
    _run_bulk(
        "clear_findings",
        _selection(dataset, status, check, flag, query, dup_group, variant, ids),
        _actor(as_user),
        dry_run,
        show,
        check=only or check,
        note=note,
    )


@bulk_app.command("assign")
def assign_cmd(
    user: str = typer.Argument(..., help="The person who gets the samples (user name)."),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    dup_group: int = DUP,
    variant: str = VARIANT,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Assign the selection to a person (their queue for the next 7 days)."""
    _run_bulk(
        "assign",
        _selection(dataset, status, check, flag, query, dup_group, variant, ids),
        _actor(as_user),
        dry_run,
        show,
        assignee=user,
        note=note,
    )


@bulk_app.command("revert")
def revert_cmd(
    op: int = typer.Argument(..., help="The bulk operation's number."),
    skip_changed: bool = typer.Option(
        False,
        "--skip-changed",
        help=(
            "Revert the samples that did not change since and list the "
            "others (default: refuse unless nothing changed)."
        ),
    ),
    note: str = NOTE,
    as_user: str = AS,
) -> None:
    """Undo a bulk operation as a whole (refused when some of its samples changed since)."""
    who = _actor(as_user)
    with errors(), session() as s:
        out = bulk.revert(s, who, op, skip_changed=skip_changed, note=note)
    typer.echo(out["message"])


@bulk_app.command("list")
def list_cmd(
    limit: int = typer.Option(20, "--limit", "-n", help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Recent bulk operations (find-and-replace and variant choices included)."""
    with errors(), session() as s:
        ops = bulk.list_ops(s, SYSTEM, limit=limit)
    for o in ops:
        if as_json:
            typer.echo(json.dumps(o, ensure_ascii=False))
        else:
            typer.echo(
                f"{o['id']:>5} {o['at']} {o['user']:<10} {o['action']:<14} {o['state']:<9} "
                f"{o['changed']:>8,} changed {o['skipped']:>5,} skipped · {o['selection']}"
                + (f" · {o['note']}" if o["note"] else "")
            )


# ------------------------------------------------------------------------------------- find &
# replace


@app.command("replace")
def replace_cmd(
    find: str = typer.Argument(
        ..., help="Text (or with --regex a Python regular expression) to find."
    ),
    replacement: str = typer.Argument(
        ..., help="What to put instead (\\1 or \\g<name> with --regex)."
    ),
    regex: bool = typer.Option(False, "--regex", help="FIND is a regular expression."),
    side: str = typer.Option("ko", "--side", help="ko (Korean text) or en (English source)."),
    role: str = typer.Option(
        None, "--role", help="Only turns with this role (user, assistant, output …)."
    ),
    ignore_case: bool = typer.Option(False, "--ignore-case", "-i", help="Case-insensitive."),
    en_contains: str = typer.Option(
        None, "--en-contains", help="Only turns whose English contains this phrase."
    ),
    dataset: str = DATASET,
    status: str = STATUS,
    check: str = CHECK,
    flag: str = FLAG,
    query: str = QUERY,
    ids: str = IDS,
    note: str = NOTE,
    dry_run: bool = DRY,
    as_user: str = AS,
    show: int = SHOW,
) -> None:
    """Find and replace across a dataset or selection, as edits with history (one revertable bulk
    operation)."""
    who = _actor(as_user)
    sel = _selection(dataset, status, check, flag, query, None, None, ids)
    spec = replace.ReplaceSpec(
        pattern=find,
        replacement=replacement,
        regex=regex,
        side=side,
        role=role,
        ignore_case=ignore_case,
        en_contains=en_contains,
    )
    with errors(), session() as s:
        p = replace.preview(s, who, sel, spec, note=note, limit=show)
        typer.echo(
            f"{p['occurrences']:,} occurrences in {p['turns']:,} turns of {p['samples']:,} samples"
        )
        for c in p["changes"]:
            typer.echo(f"--- sample {c['sample_id']}, turn {c['turn_idx'] + 1} ({c['role']})")
            typer.echo(c["diff"])
        if dry_run or not p["samples"]:
            s.rollback()
            typer.echo("dry run: nothing changed" if dry_run else "nothing to replace")
            return
        out = replace.apply(s, who, p["op_id"])
    typer.echo(out["message"])
    typer.echo(f"undo with: kocurate bulk revert {out['op_id']}")


# ---------------------------------------------------------------------------------- translation
# memory


@tm_app.command("suggest")
def tm_suggest_cmd(
    edit_id: int = typer.Argument(..., help="An edit from `kocurate review history`."),
) -> None:
    """The fix an edit suggests for other samples (same English phrase, translated the same way)."""
    with errors(), session() as s:
        offer = tm.suggest_from_edit(s, SYSTEM, edit_id)
    if offer is None:
        typer.echo("no other sample has this phrase translated the same way")
        return
    typer.echo(
        f"{offer['old']!r} → {offer['new']!r} where the English has {offer['en_phrase']!r}: apply"
        f" to {offer['samples']:,} other samples with\n  kocurate replace"
        f" {json.dumps(offer['old'])} {json.dumps(offer['new'])}"
        + (f" --en-contains {json.dumps(offer['en_phrase'])}" if offer["en_phrase"] else "")
        + " --dry-run"
    )


@tm_app.command("add")
def tm_add_cmd(
    old: str = typer.Argument(..., help="The Korean text to replace."),
    new: str = typer.Argument(..., help="The Korean text to put instead."),
    en: str = typer.Option("", "--en", help="Only where the English contains this phrase."),
    role: str = typer.Option(None, "--role", help="Only turns with this role."),
    note: str = NOTE,
) -> None:
    """Add a fix to the lead's list."""
    with errors(), session() as s:
        fid = tm.add_fix(s, SYSTEM, old, new, en_phrase=en, role=role, note=note)
    typer.echo(f"fix {fid} added")


@tm_app.command("list")
def tm_list_cmd() -> None:
    """The kept fixes."""
    with errors(), session() as s:
        fixes = tm.list_fixes(s, SYSTEM)
    for f in fixes:
        typer.echo(
            f"{f['id']:>4} {'on ' if f['active'] else 'off'} {f['old']!r} → {f['new']!r}"
            + (f" where en has {f['en_phrase']!r}" if f["en_phrase"] else "")
            + (f" (role {f['role']})" if f["role"] else "")
        )


@tm_app.command("disable")
def tm_disable_cmd(fix_id: int = typer.Argument(..., help="Fix number.")) -> None:
    """Stop re-applying a fix."""
    with errors(), session() as s:
        tm.set_active(s, SYSTEM, fix_id, False)
    typer.echo(f"fix {fix_id} disabled")


@tm_app.command("apply")
def tm_apply_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id (e.g. a new import)."),
    dry_run: bool = DRY,
) -> None:
    """Re-apply every active fix to a dataset: one revertable bulk operation per fix."""
    with errors(), session() as s:
        ds = ds_service.get_dataset(s, dataset)
        out = tm.apply_fixes(s, SYSTEM, ds.id, dry_run=dry_run)
    for r in out:
        typer.echo(
            f"fix {r['fix']}: {r['samples']:,} samples"
            + (f" (bulk operation {r['op_id']})" if r.get("op_id") else "")
        )


# -------------------------------------------------------------------------------------------
# variants


@variants_app.command("hash")
def variants_hash_cmd(dataset: str = DATASET) -> None:
    """Compute the English-source hash of every sample (after an import), then count the groups."""
    with errors():
        ds_id = None
        if dataset:
            with session() as s:
                ds_id = ds_service.get_dataset(s, dataset).id
        n = variants.compute_hashes(engine(), SYSTEM, ds_id)
        with session() as s:
            sm = variants.summary(s, SYSTEM)
    typer.echo(
        f"{n:,} samples hashed; {sm['groups']:,} variant groups with {sm['samples_in_groups']:,}"
        " samples"
    )


@variants_app.command("list")
def variants_list_cmd(
    dataset: str = DATASET,
    after: str = typer.Option(None, "--after", help="Continue after this hash (paging)."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many groups."),
) -> None:
    """Variant groups (hash, samples, datasets), in hash order."""
    with errors(), session() as s:
        ds_id = ds_service.get_dataset(s, dataset).id if dataset else None
        groups = variants.list_groups(s, SYSTEM, dataset_id=ds_id, after=after, limit=limit)
    for g in groups:
        typer.echo(f"{g['hash']}  {g['samples']} samples in {g['datasets']} dataset(s)")


@variants_app.command("show")
def variants_show_cmd(src_hash: str = typer.Argument(..., help="The group's hash.")) -> None:
    """The Korean variants of one group, one after the other."""
    with errors(), session() as s:
        view = variants.group_view(s, SYSTEM, src_hash)
    for v in view:
        typer.echo(f"=== sample {v['sample_id']} ({v['dataset']} #{v['key']}, {v['status']})")
        for t in v["turns"]:
            typer.echo(f"  [{t['role']}] {t['ko']}")


@variants_app.command("keep")
def variants_keep_cmd(
    sample_id: int = typer.Argument(..., help="The variant to keep."), note: str = NOTE
) -> None:
    """Keep one variant; the others of its group become 'superseded' (left out of exports)."""
    with errors(), session() as s:
        out = variants.keep(s, SYSTEM, sample_id, note=note)
    typer.echo(out["message"])


# -------------------------------------------------------------------------------------------------
# QA


@qa_app.command("sample")
def qa_sample_cmd(
    dataset: str = DATASET,
    status: str = typer.Option(
        "approved", "--status", help="Selection status (what exports take)."
    ),
    check: str = CHECK,
    flag: str = FLAG,
    margin: float = typer.Option(0.05, "--margin", help="Margin of error, e.g. 0.03 for ±3 %."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence level."),
    size: int = typer.Option(None, "--size", help="Sample size (default: from the margin)."),
    seed: int = typer.Option(
        0, "--seed", help="Random seed (the same seed draws the same sample)."
    ),
    note: str = NOTE,
) -> None:
    """Draw a seeded random QA sample and queue it for blind review (web app, QA page)."""
    sel = _selection(dataset, status, check, flag, None, None, None, None)
    with errors(), session() as s:
        out = qa.create_run(
            s, SYSTEM, sel, margin=margin, confidence=confidence, seed=seed, size=size, note=note
        )
    typer.echo(
        f"QA run {out['run_id']}: {out['size']:,} of {out['population']:,} samples (seed {seed})"
        " queued for blind review"
    )


@qa_app.command("status")
def qa_status_cmd(
    run_id: int = typer.Argument(None, help="QA run (default: all, newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The defect-rate estimate of QA runs (Wilson interval)."""
    with errors(), session() as s:
        rows = [qa.estimate(s, run_id)] if run_id is not None else qa.list_runs(s, SYSTEM)
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        else:
            typer.echo(
                f"QA run {r['run_id']}: {r['text']} (of {r['size']:,} drawn from"
                f" {r['population']:,})"
            )


@qa_app.command("check")
def qa_check_cmd(
    max_defect_rate: float = typer.Argument(
        ..., help="The highest acceptable upper bound, e.g. 0.05."
    ),
    dataset: list[str] = typer.Option(..., "--dataset", "-d", help="Dataset(s) of the export."),
) -> None:
    """Exit 1 unless the latest QA estimate's upper bound is at most MAX_DEFECT_RATE."""
    with errors(), session() as s:
        ids = [ds_service.get_dataset(s, d).id for d in dataset]
        est = qa.require_max_defect_rate(s, ids, max_defect_rate)
    typer.echo(f"ok: QA run {est['run_id']}: {est['text']}")


# -----------------------------------------------------------------------------------------------
# risk


@risk_app.command("train")
def risk_train_cmd(
    dataset: list[str] = typer.Option(
        None, "--dataset", "-d", help="Datasets to learn from and score (default: all)."
    ),
) -> None:
    """(Re)train the risk model on decisions so far and score every sample."""
    with errors():
        ids = None
        if dataset:
            with session() as s:
                ids = [ds_service.get_dataset(s, d).id for d in dataset]
        info = risk.train(engine(), SYSTEM, ids)
    auc = f"{info['holdout_auc']:.3f}" if info["holdout_auc"] is not None else "n/a"
    typer.echo(
        f"trained on {info['labelled']:,} decided samples ({info['broken']:,} broken); held-out AUC"
        f" {auc}; {info['scored']:,} samples scored"
    )


@risk_app.command("precision")
def risk_precision_cmd(dataset: str = typer.Argument(..., help="Dataset name or id.")) -> None:
    """Per check: how often a person agreed with it (edited/rejected vs approved unchanged)."""
    with errors(), session() as s:
        rows = risk.check_precision(s, SYSTEM, ds_service.get_dataset(s, dataset).id)
    for r in rows:
        p = f"{100 * r['precision']:.1f} %" if r["precision"] is not None else "n/a"
        typer.echo(
            f"{r['check']:<28} {r['samples']:>8,} samples {r['decided']:>7,} decided  precision {p}"
        )


@risk_app.command("chrf")
def risk_chrf_cmd(dataset: str = typer.Argument(..., help="Dataset name or id.")) -> None:
    """chrF++ of the machine translation against the final text of approved samples."""
    with errors(), session() as s:
        out = risk.dataset_chrf(s, SYSTEM, ds_service.get_dataset(s, dataset).id)
    if out["chrf_pp"] is None:
        typer.echo("no approved samples yet")
    else:
        typer.echo(
            f"chrF++ {out['chrf_pp']:.2f} over {out['turns']:,} turns ({out['unchanged']:,}"
            " unchanged)"
        )


@risk_app.command("top")
def risk_top_cmd(
    dataset: str = DATASET,
    status: str = typer.Option("new", "--status", help="Selection status."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many."),
    best: bool = typer.Option(False, "--best", help="Lowest risk first (the best N)."),
) -> None:
    """Samples most likely broken first (or the best N with --best)."""
    sel = _selection(dataset, status, None, None, None, None, None, None)
    with errors(), session() as s:
        rows = risk.ranked(s, SYSTEM, sel, limit=limit, lowest=best)
    if not rows:
        typer.echo("no scored samples: run `kocurate risk train` first")
    for sid, score in rows:
        typer.echo(f"sample {sid}  risk {score:.3f}")
