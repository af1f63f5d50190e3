"""``manifest.json`` (what was exported, from what, how; sha256 of every file) and the dataset card
``README.md`` (YAML front matter the Hugging Face hub reads: languages, licence, size category,
configs/data_files so ``datasets.load_dataset(folder)`` loads the folder as is)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..i18n import N_, Text, text, translator
from .base import sha256_file

MANIFEST = "manifest.json"
CARD = "README.md"

_HUB_IDS = {
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-4.0",
    "apache-2.0",
    "mit",
    "cc0-1.0",
    "cc-by-nc-3.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-4.0",
    "cc-by-3.0",
    "openrail",
    "gpl-3.0",
}


def hub_licence(licence: str | None) -> str:
    """Our licence string (``CC-BY-NC-4.0``) as a hub licence id; ``unknown`` when none is
    stated."""
    if not licence:
        return "unknown"
    ident = licence.strip().lower().replace(" ", "-")
    return ident if ident in _HUB_IDS else "other"


def licence_warnings(licences: dict[str, str | None]) -> list[str]:
    """Warnings for a mix of sources: {dataset name: licence}."""
    out = []
    nc = {
        n: lic
        for n, lic in licences.items()
        if lic and "NC" in lic.upper().replace("-", " ").split()
    }
    sa = {
        n: lic
        for n, lic in licences.items()
        if lic and "SA" in lic.upper().replace("-", " ").split()
    }
    nd = {
        n: lic
        for n, lic in licences.items()
        if lic and "ND" in lic.upper().replace("-", " ").split()
    }
    unknown = [n for n, lic in licences.items() if not lic]

    def names(d: Iterable[str]) -> str:
        return ", ".join(sorted(d))

    # Text: English here and in manifest.json, the reader's language on the page and a Korean card
    if nc:
        out.append(
            Text(
                N_(
                    "non-commercial source(s) mixed in ({sources}): the whole corpus may be used"
                    " for non-commercial purposes only"
                ),
                sources=names(f"{n}: {lic}" for n, lic in nc.items()),
            )
        )
    if sa:
        out.append(
            Text(
                (
                    N_(
                        "share-alike source(s) mixed in ({sources}): the corpus must be shared"
                        " under the same licence; share-alike and non-commercial terms may be"
                        " incompatible"
                    )
                    if nc
                    else N_(
                        "share-alike source(s) mixed in ({sources}): the corpus must be shared"
                        " under the same licence"
                    )
                ),
                sources=names(f"{n}: {lic}" for n, lic in sa.items()),
            )
        )
    if nd:
        out.append(
            Text(
                N_("no-derivatives source(s) ({sources}): a translation is a derivative"),
                sources=names(f"{n}: {lic}" for n, lic in nd.items()),
            )
        )
    if unknown:
        out.append(
            Text(
                N_("no licence stated for {names}: check the source's terms before use"),
                names=names(unknown),
            )
        )
    return out


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "n>10M"


def file_entries(
    folder: Path, splits: dict[str, Path], rows: dict[str, int]
) -> list[dict[str, Any]]:
    """Every file under the folder (but the manifest), sorted, with size and sha256."""
    split_of: dict[Path, str] = {}
    for split, p in splits.items():
        for f in [p] if p.is_file() else [x for x in p.rglob("*") if x.is_file()]:
            split_of[f.resolve()] = split
    out = []
    skip = (folder / MANIFEST).resolve()
    for f in sorted(
        (x for x in folder.rglob("*") if x.is_file() and x.resolve() != skip),
        key=lambda x: x.relative_to(folder).as_posix(),
    ):
        entry: dict[str, Any] = {
            "path": f.relative_to(folder).as_posix(),
            "bytes": f.stat().st_size,
            "sha256": sha256_file(f),
        }
        split = split_of.get(f.resolve())
        if split is not None:
            entry["split"] = split
            if splits[split].is_file():
                entry["rows"] = rows.get(split, 0)
        out.append(entry)
    return out


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML, whatever the text holds."""
    return json.dumps(text, ensure_ascii=False)


def _features_yaml(features: dict[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for name, spec in features.items():
        lines.append(f"{pad}- name: {name}")
        if isinstance(spec, str):
            lines.append(f"{pad}  dtype: {spec}")
        elif isinstance(spec, list) and spec and isinstance(spec[0], str):
            lines.append(f"{pad}  sequence: {spec[0]}")
        elif isinstance(spec, list):
            lines.append(f"{pad}  list:")
            lines += _features_yaml(spec[0], indent + 2)
        else:
            lines.append(f"{pad}  struct:")
            lines += _features_yaml(spec, indent + 2)
    return lines


def card(
    manifest: dict[str, Any], features: dict[str, Any] | None, builder: str | None, lang: str = "en"
) -> str:
    """The dataset card: YAML front matter + a short human description, whose headings and fixed
    texts are in ``lang`` (``ko``/``en``, from the catalog of that language whatever the UI's); data
    stays as it is.
    """
    _ = translator(lang)  # noqa: N806 — the card's language, not the reader's: extracted like any _()
    counts = manifest["counts"]
    total = counts["total"]
    contributing = {n: c for n, c in counts["by_dataset"].items() if c["total"] > 0}
    licences = {
        d["name"]: d["licence"]
        for d in manifest["selection"]["datasets"]
        if d["name"] in contributing
    }
    hub = sorted({hub_licence(lic) for lic in licences.values()})
    lic = hub[0] if len(hub) == 1 else "other"
    english = any(
        d["has_english"] for d in manifest["selection"]["datasets"] if d["name"] in contributing
    )
    y = ["---", "language:", "- ko"] + (["- en"] if english else [])
    y.append(f"license: {lic}")
    if lic == "other":
        y.append(
            "license_name:"
            f" {_q('mixed: ' + ', '.join(sorted({v or 'none stated' for v in licences.values()})))}"
        )
    y += [
        f"pretty_name: {_q(manifest.get('name') or 'kocurate export')}",
        "size_categories:",
        f"- {size_category(total)}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- kocurate",
        "- korean",
        "- sft",
        f"- {manifest['format']}",
    ]
    data_files = [f for f in manifest["files"] if "split" in f and f.get("rows") is not None]
    if builder and data_files:
        y += ["configs:", "- config_name: default", "  data_files:"]
        for f in data_files:
            y += [f"  - split: {f['split']}", f"    path: {f['path']}"]
    if features and builder:
        y += ["dataset_info:", "  features:"] + _features_yaml(features, 2)
    y.append("---")
    splits = ", ".join(f"{s} {n:,}" for s, n in counts["splits"].items())
    body = [
        f"# {manifest.get('name') or 'kocurate export'}",
        "",
        _(
            "Korean fine-tuning data curated with kocurate {version} and exported on {when}:"
            " {total:,} samples ({splits}), format `{format}`."
        ).format(
            version=manifest["kocurate_version"],
            when=manifest["created_at"],
            total=total,
            splits=splits,
            format=manifest["format"],
        ),
        _(
            "Every sample was reviewed by a person; the text is the curated Korean (edits"
            " included), not the raw machine translation."
        ),
        "",
    ]
    qa = manifest.get("qa")
    body += [
        "## " + _("Quality"),
        "",
        (
            "- " + _("QA (blind sample, Wilson 95 % interval): {result}").format(result=qa["text"])
            if qa
            else "- " + _("no QA sample was reviewed for this selection (`kocurate qa sample`)")
        ),
        "",
    ]
    if manifest["warnings"]:
        body += (
            ["## " + _("Warnings"), ""]
            + [f"- {text(w, lang)}" for w in manifest["warnings"]]
            + [""]
        )
    body += [
        "## " + _("Sources"),
        "",
        "| {} | {} | {} | {} |".format(_("dataset"), _("kind"), _("licence"), _("samples")),
        "|---|---|---|---|",
    ]
    kinds = {d["name"]: d["kind"] for d in manifest["selection"]["datasets"]}
    none_stated = _("none stated")
    for name, c in sorted(contributing.items()):
        body.append(
            f"| {_cell(name)} | {kinds.get(name, '')} | {licences.get(name) or none_stated} | "
            f"{c['total']:,} |"
        )
    body += ["", "## " + _("Loading"), ""]
    if builder:
        body += [
            "```python",
            "from datasets import load_dataset",
            'ds = load_dataset("path/to/this/folder")',
            "```",
        ]
    else:
        body += [
            "```python",
            "from datasets import load_from_disk",
            'ds = load_from_disk("path/to/this/folder")',
            "```",
        ]
    spec = manifest["selection"]["spec"]
    excluded = ", ".join(f"{k} {v:,}" for k, v in manifest["excluded"].items() if v)
    refused = ", ".join(f"{k} {v:,}" for k, v in manifest["refused"].items() if v)
    body += [
        "",
        "## " + _("Selection"),
        "",
        "- "
        + _("statuses: {statuses}; seed {seed}; validation fraction {val_frac}").format(
            statuses=", ".join(spec["statuses"]), seed=spec["seed"], val_frac=spec["val_frac"]
        ),
        "- " + _("excluded: {what}").format(what=excluded or _("nothing")),
        "- " + _("refused by the format: {what}").format(what=refused or _("none")),
        "",
        _(
            "`manifest.json` lists the exact selection, counts per dataset/status/flag and the"
            " sha256 of every file."
        ),
        "",
    ]
    return "\n".join(y + body)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
