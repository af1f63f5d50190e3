"""Find and replace across a dataset or a selection (issue 17): literal or regular expression, on
the Korean text or the English source, optionally one turn role only.

``preview`` finds every change (a diff per turn, counts) and stores the affected samples with their
versions as a bulk operation in state ``preview``; ``bulk.apply(op)`` (or :func:`apply`) then writes
the replacements as ordinary edits (an ``Edit`` row each, version bump, ``ko_chars`` kept true), as
one revertable bulk operation, skipping samples edited since the preview.

Speed: SQL narrows the turns first (``instr``/``strpos`` for a literal, ``LIKE`` when case-blind; on
SQLite a registered ``kc_regexp`` function for a regular expression), Python's ``re`` then decides;
only matching turns leave the database. A regular expression's required literal (the plain
characters every match contains, e.g. ``기계 학습`` of ``기계 학습(을|은)?``) is tested with
``instr``/``strpos`` first, so the Python function only sees candidate turns; on SQLite a literal of
3+ characters in the Korean text is first looked up in the search index (``turns_fts`` trigrams)
when that narrows it (``FTS_MAX_SHARE``). Rows are read through Core (no ORM row objects). Regular
expressions use Python's syntax on both backends (on PostgreSQL the turns of the selection are
streamed and filtered in Python, since its regex dialect differs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, column, func, insert, select, table, text, update
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, UsageError
from ..i18n import N_
from ..models import BulkItem, BulkOp, BulkRef, Edit, Sample, Turn, utcnow
from . import bulk
from . import review as rv
from .auth import Actor

SIDES = {"ko": "text", "en": "source_text"}
PREVIEW_LIMIT = 200


@dataclass
class ReplaceSpec:
    pattern: str
    replacement: str
    regex: bool = False
    side: str = "ko"  # ko: the Korean text; en: the English source
    role: str | None = None  # only turns with this role (user, assistant, instruction, output …)
    ignore_case: bool = False
    en_contains: str | None = (
        None  # only turns whose English source contains this (fix propagation)
    )

    def compile(self) -> re.Pattern[str]:
        if not self.pattern:
            raise UsageError(msgid=N_("find: the pattern is empty"))
        if self.side not in SIDES:
            raise UsageError(msgid=N_("side is one of {sides}"), sides=", ".join(SIDES))
        flags = re.IGNORECASE if self.ignore_case else 0
        try:
            rx = re.compile(self.pattern if self.regex else re.escape(self.pattern), flags)
        except re.error as exc:
            raise UsageError(
                msgid=N_("find: not a valid regular expression ({exc})"), exc=exc
            ) from None
        if self.regex:
            try:
                _check_template(rx, self.replacement)
                rx.sub(
                    self.replacement, ""
                )  # parses the template: bad escapes fail here, not mid-way
            except (re.error, IndexError) as exc:
                raise UsageError(msgid=N_("replace with: {exc}"), exc=exc) from None
        return rx

    def required_literal(self) -> str | None:
        """Characters every match contains, in a row (case-sensitive only), or None."""
        if self.ignore_case:
            return None
        return self.pattern if not self.regex else required_literal(self.pattern)

    def replace(self, rx: re.Pattern[str], text: str) -> tuple[str, int]:
        if self.regex:
            return rx.subn(self.replacement, text)
        return rx.subn(lambda _m: self.replacement, text)


def _check_template(rx: re.Pattern[str], template: str) -> None:
    """Raise re.error when the replacement names a group the pattern lacks."""
    for m in re.finditer(r"\\(\d+)|\\g<([^>]+)>", template):
        ref = m.group(1) or m.group(2)
        if ref.isdigit():
            if int(ref) > rx.groups:
                raise re.error(f"no group {ref}")
        elif ref not in rx.groupindex:
            raise re.error(f"no group named {ref!r}")


def required_literal(pattern: str) -> str | None:
    """The longest run of plain characters in the top-level sequence of a regular expression (every
    match contains it), or None (alternation at the top, case-blind flags, nothing literal)."""
    try:
        from re import _constants as sc
        from re import _parser as sp
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as sc  # type: ignore[no-redef]
        import sre_parse as sp  # type: ignore[no-redef]
    try:
        parsed = sp.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    best, run = "", []
    for op, arg in [*parsed, (None, None)]:
        if op is sc.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best or None


@lru_cache(maxsize=32)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _kc_regexp(pattern: str, value: str | None) -> int:
    return 1 if value is not None and _rx(pattern).search(value) else 0


def _matching_turns(
    session: Session, spec: ReplaceSpec, rx: re.Pattern[str], where: list[Any]
) -> Iterator[Any]:
    """Turns (id, sample_id, idx, role, text, version, status) that the pattern matches, in turn
    order."""
    col = Turn.__table__.c[SIDES[spec.side]]
    conds = list(where)
    if spec.role:
        conds.append(Turn.role == spec.role)
    if spec.en_contains:
        conds.append(Turn.source_text.icontains(spec.en_contains, autoescape=True))
    sqlite = session.get_bind().dialect.name == "sqlite"
    lit = spec.required_literal()
    # the trigram index holds the Korean text; the English source's is a word index, which a
    # literal cut anywhere in a word cannot use
    if lit and sqlite and spec.side == "ko" and len(lit) >= 3 and _fts_narrows(session, lit):
        conds.append(
            Turn.id.in_(
                select(_FTS.c.rowid).where(text("turns_fts MATCH :m").bindparams(m=_fts_query(lit)))
            )
        )
    if lit:  # exact substring test in SQL (LIKE is case-blind for ASCII on SQLite)
        conds.append((func.instr(col, lit) if sqlite else func.strpos(col, lit)) > 0)
    elif not spec.regex:
        conds.append(col.icontains(spec.pattern, autoescape=True))
    if spec.regex and sqlite:
        session.connection().connection.dbapi_connection.create_function(  # type: ignore[union-attr]
            "kc_regexp", 2, _kc_regexp, deterministic=True
        )
        conds.append(
            func.kc_regexp(rx.pattern if not spec.ignore_case else f"(?i){rx.pattern}", col) == 1
        )
    stmt = (
        select(
            Turn.id,
            Turn.sample_id,
            Turn.idx,
            Turn.role,
            col.label("value"),
            Sample.version,
            Sample.status,
        )
        .join(Sample, Sample.id == Turn.sample_id)
        .where(*conds)
        # turn id order is the table's own order (turns are written sample by sample): a plain scan,
        # where ORDER BY (sample_id, idx) made SQLite walk the unique index and fetch every row by
        # rowid
        .order_by(Turn.id)
    )
    # the SQL test was already exact for a case-sensitive literal and (SQLite) for a regex
    exact = (not spec.regex and not spec.ignore_case) or (spec.regex and sqlite)
    # Core rows, not ORM rows: a third of a common phrase's preview went into building ORM rows
    for row in session.connection().execute(stmt.execution_options(yield_per=5000)):
        if row.value is not None and (exact or rx.search(row.value)):
            yield row


_FTS = table("turns_fts", column("rowid"))
FTS_MAX_SHARE = 0.05  # the index is used when its rarest trigram is in at most this share of turns


def _fts_query(lit: str) -> str:
    """Every trigram of the literal, ANDed (a detail='none' index knows neither positions nor
    columns: candidates only, the exact test follows)."""
    grams = dict.fromkeys(lit[i : i + 3] for i in range(len(lit) - 2))
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def _fts_narrows(session: Session, lit: str) -> bool:
    """Whether the trigram index narrows the scan: it exists, and the literal's rarest trigram (a
    bounded count) is in at most ``FTS_MAX_SHARE`` of the turns. A common phrase is read faster by
    the plain scan in table order than by fetching a third of the turns by id."""
    from . import search

    if not search._fts_exists(session):
        return False
    turns = session.scalar(select(func.max(Turn.id))) or 0
    cap = int(turns * FTS_MAX_SHARE) + 1
    grams = list(dict.fromkeys(lit[i : i + 3] for i in range(len(lit) - 2)))[:4]
    for g in grams:
        q = '"' + g.replace('"', '""') + '"'
        n = session.scalar(
            select(func.count()).select_from(
                select(_FTS.c.rowid)
                .where(text("turns_fts MATCH :m").bindparams(m=q))
                .limit(cap)
                .subquery()
            )
        )
        if (n or 0) < cap:
            return True
    return False


def preview(
    session: Session,
    actor: Actor,
    sel: bulk.Selection,
    spec: ReplaceSpec,
    *,
    note: str | None = None,
    limit: int = PREVIEW_LIMIT,
) -> dict[str, Any]:
    """Every change the replacement would make: counts and a diff per turn (the first ``limit``
    turns).

    Stores the affected samples (with their versions) as a bulk operation in state ``preview``."""
    actor.require(bulk.PERMISSION)
    rx = spec.compile()
    conds = bulk.conditions(session, actor, sel)
    samples: dict[int, tuple[int, str]] = {}
    changes: list[dict[str, Any]] = []
    n_turns = n_occ = 0
    literal = not spec.regex and not spec.ignore_case
    if literal and spec.pattern == spec.replacement:
        raise UsageError(msgid=N_("find and replace with are the same text: nothing would change"))
    for row in _matching_turns(session, spec, rx, conds):
        if literal:  # counting is enough; the new text is built only for the turns shown
            n = row.value.count(spec.pattern)
            new = spec.replace(rx, row.value)[0] if len(changes) < limit else ""
        else:
            new, n = spec.replace(rx, row.value)
            if new == row.value:
                continue
        samples.setdefault(row.sample_id, (row.version, row.status))
        n_turns += 1
        n_occ += n
        if len(changes) < limit:
            changes.append(
                {
                    "sample_id": row.sample_id,
                    "turn_id": row.id,
                    "turn_idx": row.idx,
                    "role": row.role,
                    "before": row.value,
                    "after": new,
                    "occurrences": n,
                    "diff": rv.diff_text(row.value, new, old_name="before", new_name="after"),
                }
            )
    op = bulk.new_op(session, actor, "replace", sel, {"replace": asdict(spec)}, note)
    if samples:
        _insert_items(session, op.id, samples)
    op.n_selected = op.n_changed = len(samples)
    return {
        "op_id": op.id,
        "samples": len(samples),
        "turns": n_turns,
        "occurrences": n_occ,
        "changes": changes,
        "truncated": n_turns > len(changes),
        "selection": sel.describe(),
        "side": spec.side,
    }


def _insert_items(session: Session, op_id: int, samples: dict[int, tuple[int, str]]) -> None:
    """Many (sample, version, status) rows at once through the driver: ints and our own status
    words, so the per-parameter checks of the ORM path (a third of a 700k preview) are not
    needed."""
    mark = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    sql = (
        "INSERT INTO bulk_items (op_id, sample_id, before_version, before_status, skipped) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, '')"
    )
    cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, [(op_id, sid, v, st) for sid, (v, st) in samples.items()])
    finally:
        cur.close()


def apply(session: Session, actor: Actor, op_id: int, *, note: str | None = None) -> dict[str, Any]:
    """Write a previewed replacement as edits with history; samples edited since are skipped."""
    actor.require(bulk.PERMISSION)
    op = session.get(BulkOp, op_id)
    if op is None or op.action != "replace":
        raise NotFound(msgid=N_("no find-and-replace preview {op_id}"), op_id=op_id)
    if op.state != "preview":
        raise Conflict(
            msgid=N_("bulk operation {op_id} is {state}; only a preview can be applied"),
            op_id=op_id,
            state=op.state,
        )
    if note and note.strip():
        op.note = note.strip()
    spec = ReplaceSpec(**op.params["replace"])
    rx = spec.compile()
    live, skipped = bulk.claim_items(session, op)
    items = BulkItem.__table__
    versions = dict(
        session.execute(
            select(items.c.sample_id, items.c.before_version + 1).where(
                items.c.op_id == op_id, items.c.skipped == ""
            )
        )
        .tuples()
        .all()
    )
    field = SIDES[spec.side]
    updates, edits, delta = [], [], {}
    where = [
        Turn.sample_id.in_(
            select(items.c.sample_id).where(items.c.op_id == op_id, items.c.skipped == "")
        )
    ]
    for row in _matching_turns(session, spec, rx, where):
        new, _n = spec.replace(rx, row.value)
        if new == row.value:
            continue
        updates.append({"tid": row.id, "val": new})
        edits.append(
            {
                "sample_id": row.sample_id,
                "turn_id": row.id,
                "field": field,
                "user_id": actor.id,
                "kind": "manual",
                "before": row.value,
                "after": new,
                "sample_version": versions[row.sample_id],
                "meta": {"bulk_op": op_id},
                "created_at": op.created_at,
            }
        )
        delta[row.sample_id] = delta.get(row.sample_id, 0) + len(new) - len(row.value)
    _write(session, op_id, field, updates, edits, delta)
    return bulk.finish(session, actor, op, live, skipped)


def _write(
    session: Session,
    op_id: int,
    field: str,
    updates: list[dict[str, Any]],
    edits: list[dict[str, Any]],
    delta: dict[int, int],
) -> None:
    turns, samples = Turn.__table__, Sample.__table__
    if not updates:
        return
    now = utcnow()
    for e in edits:
        e["created_at"] = now
    session.execute(
        update(turns)
        .where(turns.c.id == bindparam("tid"))
        .values({field: bindparam("val")})
        .execution_options(synchronize_session=False),
        updates,
    )
    if field == "text":
        session.execute(
            update(samples)
            .where(samples.c.id == bindparam("sid"))
            .values(ko_chars=samples.c.ko_chars + bindparam("d")),
            [{"sid": s, "d": d} for s, d in delta.items() if d],
        )
    ids = session.execute(
        insert(Edit.__table__).returning(Edit.id, sort_by_parameter_order=True), edits
    ).scalars()
    session.execute(
        insert(BulkRef.__table__),
        [
            {
                "op_id": op_id,
                "kind": "edit",
                "row_id": eid,
                "sample_id": e["sample_id"],
                "before": None,
            }
            for eid, e in zip(ids.all(), edits, strict=True)
        ],
    )


def revert_edits(session: Session, actor: Actor, op: BulkOp, live: Any) -> None:
    """Put back the text each edit of ``op`` replaced (a ``restore`` edit each), on the ``live``
    samples."""
    refs = BulkRef.__table__
    rows = session.execute(
        select(Edit.id, Edit.sample_id, Edit.turn_id, Edit.field, Edit.before, Edit.after)
        .where(
            Edit.id.in_(
                select(refs.c.row_id).where(
                    refs.c.op_id == op.id, refs.c.kind == "edit", refs.c.sample_id.in_(live)
                )
            )
        )
        .order_by(Edit.id.desc())
    ).all()
    if not rows:
        return
    versions = dict(
        session.execute(
            select(Sample.id, Sample.version).where(Sample.id.in_({r.sample_id for r in rows}))
        )
        .tuples()
        .all()
    )
    by_field: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, int]]] = {}
    for r in rows:
        ups, eds, delta = by_field.setdefault(r.field, ([], [], {}))
        ups.append({"tid": r.turn_id, "val": r.before})
        eds.append(
            {
                "sample_id": r.sample_id,
                "turn_id": r.turn_id,
                "field": r.field,
                "user_id": actor.id,
                "kind": "restore",
                "before": r.after,
                "after": r.before,
                "sample_version": versions[r.sample_id],
                "meta": {"bulk_op_revert": op.id, "edit_id": r.id},
            }
        )
        delta[r.sample_id] = delta.get(r.sample_id, 0) + len(r.before) - len(r.after)
    for field, (ups, eds, delta) in by_field.items():
        _write(session, op.id, field, ups, eds, delta)


def preview_count(
    session: Session, actor: Actor, sel: bulk.Selection, spec: ReplaceSpec
) -> dict[str, int]:
    """Counts only (samples, turns, occurrences): what "apply to N other samples" shows."""
    actor.require(bulk.PERMISSION)
    rx = spec.compile()
    samples: set[int] = set()
    turns = occ = 0
    for row in _matching_turns(session, spec, rx, bulk.conditions(session, actor, sel)):
        new, n = spec.replace(rx, row.value)
        if new != row.value:
            samples.add(row.sample_id)
            turns += 1
            occ += n
    return {"samples": len(samples), "turns": turns, "occurrences": occ}
