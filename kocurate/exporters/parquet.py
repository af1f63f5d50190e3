"""Parquet (one file per split, the ``messages`` shape, typed schema) and a saved Hugging Face
dataset (``datasets.DatasetDict.save_to_disk``; load with ``datasets.load_from_disk``), both
offline.

Parquet is written in row groups as records arrive (memory stays flat). The HF dataset is built from
those Parquet files through ``datasets`` (memory-mapped Arrow), then the Parquet files are removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .base import Chat, ExportFormat, SplitWriter
from .messages import META_FEATURES
from .registry import register

ROW_GROUP = 5_000


def schema(meta: bool) -> Any:
    """The Arrow schema of the messages shape (pyarrow is imported only when Parquet is written)."""
    import pyarrow as pa

    fields = [
        pa.field("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))
    ]
    if meta:
        fields.append(
            pa.field(
                "kocurate",
                pa.struct(
                    [
                        ("dataset", pa.string()),
                        ("key", pa.string()),
                        ("sample_id", pa.int64()),
                        ("status", pa.string()),
                        ("flags", pa.list_(pa.string())),
                    ]
                ),
            )
        )
    return pa.schema(fields)


class ParquetWriter(SplitWriter):
    def __init__(self, path: Path, meta: bool) -> None:
        import pyarrow.parquet as pq

        super().__init__(path)
        self._schema = schema(meta)
        self._writer = pq.ParquetWriter(path, self._schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        self.rows += 1
        if len(self._rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows.clear()

    def close(self) -> None:
        self._flush()
        self._writer.close()


@register
class ParquetFormat(ExportFormat):
    name = "parquet"
    title = "Parquet (messages shape), one file per split"
    ext = "parquet"
    builder = "parquet"

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        rec: dict[str, Any] = {"messages": chat.messages()}
        if self.options.get("meta", True):
            rec["kocurate"] = meta
        return rec

    def writer(self, path: Path) -> SplitWriter:
        return ParquetWriter(path, bool(self.options.get("meta", True)))

    def features(self, meta: bool) -> dict[str, Any] | None:
        return {
            "messages": [{"role": "string", "content": "string"}],
            **(META_FEATURES if meta else {}),
        }


@register
class HFDatasetFormat(ParquetFormat):
    name = "hf"
    title = "Saved Hugging Face dataset (load_from_disk)"
    builder = None  # loaded with datasets.load_from_disk, not load_dataset

    def finish(self, tmp_dir: Path, files: dict[str, Path]) -> dict[str, Path]:
        from datasets import Dataset, DatasetDict, disable_progress_bars

        disable_progress_bars()
        cache = tmp_dir / ".hf-cache"
        splits = DatasetDict(
            {
                split: Dataset.from_parquet(str(path), cache_dir=str(cache), keep_in_memory=False)
                for split, path in files.items()
            }
        )
        splits.save_to_disk(str(tmp_dir))
        del splits
        shutil.rmtree(cache, ignore_errors=True)
        for path in files.values():
            path.unlink()
        data = tmp_dir / "data"
        if data.is_dir() and not any(data.iterdir()):
            data.rmdir()
        return {split: tmp_dir / split for split in files}
