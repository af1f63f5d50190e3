"""CLI of the curation remainder (issues 16/17): the review queue's order per dataset."""

from __future__ import annotations

import typer

from ..services import queue_order
from ..services.auth import SYSTEM
from .app import app, errors, session


@app.command("queue-order")
def queue_order_cmd(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    set_order: str = typer.Option(
        None,
        "--set",
        help=(
            "id (import order) or risk (highest learned risk first, "
            "unscored samples last; `kocurate risk train`)."
        ),
    ),
) -> None:
    """Show or set the order in which the dataset's review queue hands samples out."""
    from ..services.datasets import get_dataset

    with errors(), session() as s:
        ds = get_dataset(s, dataset)
        if set_order:
            queue_order.set_order(s, SYSTEM, ds.id, set_order)
        order = queue_order.get_order(s, ds.id)
        share = queue_order.scored_share(s, ds.id)
    typer.echo(
        f"{ds.name}: queue order {order}; {share['scored']:,} of {share['samples']:,} samples have"
        " a risk score"
    )
