"""Streamed record readers for JSON arrays, JSONL, CSV, Parquet, gzip of them and saved HF datasets.

Every record comes with its place in the file ("line 12" or "record 5, line 40") so that an
error can name it. Records, rows and lines are all counted from 1, as an editor shows them. Nothing is loaded whole: a 700k-record JSON array is parsed incrementally.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ImportFailed

CHUNK = 1 << 20
_WS = " \t\r\n"
_TOO_DEEP = "invalid JSON: nested too deeply"


def _suffixes(path: Path) -> list[str]:
    parts = [s.lower() for s in path.suffixes]
    return parts[:-1] if parts and parts[-1] == ".gz" else parts


def file_format(path: str | Path) -> str:
    """'json', 'jsonl', 'csv', 'tsv', 'parquet' or 'hf' (a saved datasets folder)."""
    p = Path(path)
    if p.is_dir():
        return "hf"
    suf = _suffixes(p)
    ext = suf[-1] if suf else ""
    return {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
            ".parquet": "parquet"}.get(ext, "json")


def _open_binary(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _decode_error(name: str, exc: UnicodeDecodeError, line: int) -> ImportFailed:
    bad = exc.object[exc.start : exc.start + 1]
    return ImportFailed(name, f"line {line}", None, f"not UTF-8 (byte 0x{bad.hex()} at this line)")


def iter_records(path: str | Path) -> Iterator[tuple[str, dict[str, Any] | ImportFailed]]:
    """Yield ``(place, record)`` for every record of the file, streamed.

    A record that cannot be read but leaves the rest of the file readable (a bad JSONL or CSV
    line) comes as ``(place, ImportFailed)``; an error that ends the file (a JSON array broken
    half-way) is raised.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFailed(str(p), "file", None, "file not found")
    fmt = file_format(p)
    if fmt != "hf" and p.stat().st_size == 0:
        raise ImportFailed(p.name, "file", None, "file is empty")
    reader = {"json": _iter_json, "jsonl": _iter_jsonl, "csv": _iter_csv, "tsv": _iter_csv,
              "parquet": _iter_parquet, "hf": _iter_hf}[fmt]
    count = 0
    try:
        for item in reader(p):
            count += 1
            yield item
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # a truncated or corrupt .gz
        raise ImportFailed(p.name, "file", None, f"not a readable gzip file ({exc or type(exc).__name__})") from None
    if count == 0:
        raise ImportFailed(p.name, "file", None, "file holds no records")


def _iter_jsonl(p: Path) -> Iterator[tuple[str, dict[str, Any] | ImportFailed]]:
    # a bad line is yielded as its error, not raised: the lines after it can still be read
    # (``--skip-bad``); the importer decides whether to stop
    with _open_binary(p) as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield f"line {lineno}", _decode_error(p.name, exc, lineno)
                continue
            if lineno == 1:
                line = line.lstrip("\ufeff")
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {lineno}", ImportFailed(p.name, f"line {lineno}", None,
                                                     f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            except RecursionError:
                yield f"line {lineno}", ImportFailed(p.name, f"line {lineno}", None, _TOO_DEEP)
                continue
            if not isinstance(rec, dict):
                yield f"line {lineno}", ImportFailed(p.name, f"line {lineno}", None,
                                                     f"expected a JSON object, got {type(rec).__name__}")
                continue
            yield f"line {lineno}", rec


class _TextStream:
    """Incrementally decoded UTF-8 text with line accounting, for the JSON array parser."""

    def __init__(self, fh: IO[bytes], name: str) -> None:
        self.fh, self.name = fh, name
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.line = 1  # line number at self.pos
        self.eof = False
        self.first = True

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self.fh.read(CHUNK)
        if not data:
            self.eof = True
            try:
                tail = self.decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise _decode_error(self.name, exc, self.line + self.buf.count("\n", self.pos)) from None
            self.buf = self.buf[self.pos :] + tail
            self.pos = 0
            return bool(tail)
        try:
            text = self.decoder.decode(data)
        except UnicodeDecodeError as exc:
            good = data[: exc.start].decode("utf-8", errors="ignore")
            line = self.line + self.buf.count("\n", self.pos) + good.count("\n")
            raise _decode_error(self.name, exc, line) from None
        if self.first:
            text = text.lstrip("\ufeff")
            self.first = False
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def advance(self, new_pos: int) -> None:
        self.line += self.buf.count("\n", self.pos, new_pos)
        self.pos = new_pos

    def skip_ws(self) -> str | None:
        """Skip whitespace; return the next character without consuming it (None at EOF)."""
        while True:
            n = len(self.buf)
            i = self.pos
            while i < n and self.buf[i] in _WS:
                i += 1
            self.advance(i)
            if i < n:
                return self.buf[i]
            if not self.fill():
                return None


def _iter_json(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    decoder = json.JSONDecoder()
    with _open_binary(p) as fh:
        ts = _TextStream(fh, p.name)
        ch = ts.skip_ws()
        if ch is None:
            raise ImportFailed(p.name, "file", None, "file is empty")
        if ch == "{":
            # A single object: either one record or {"data": [...]} style wrappers; load it whole.
            while ts.fill():
                pass
            try:
                obj = json.loads(ts.buf[ts.pos :])
            except json.JSONDecodeError as exc:
                raise ImportFailed(p.name, f"line {ts.line + exc.lineno - 1}", None, f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise ImportFailed(p.name, f"line {ts.line}", None, _TOO_DEEP) from None
            records = next((v for v in obj.values() if isinstance(v, list)), None) if isinstance(obj, dict) else None
            if records is None:
                records = [obj]
            for i, rec in enumerate(records):
                if not isinstance(rec, dict):
                    raise ImportFailed(p.name, f"record {i + 1}", None, f"expected a JSON object, got {type(rec).__name__}")
                yield f"record {i + 1}", rec
            return
        if ch != "[":
            raise ImportFailed(p.name, f"line {ts.line}", None, "invalid JSON: expected '[' or '{' at the start")
        ts.advance(ts.pos + 1)
        index = 0
        while True:
            ch = ts.skip_ws()
            if ch is None:
                raise ImportFailed(p.name, f"line {ts.line}", None, "invalid JSON: the array is not closed (truncated file?)")
            if ch == "]":
                ts.advance(ts.pos + 1)
                break
            if index > 0:
                if ch != ",":
                    raise ImportFailed(p.name, f"record {index + 1}, line {ts.line}", None, "invalid JSON: expected ',' between records")
                ts.advance(ts.pos + 1)
                ch = ts.skip_ws()
                if ch is None:
                    raise ImportFailed(p.name, f"line {ts.line}", None, "invalid JSON: the array is not closed (truncated file?)")
            start_line = ts.line
            while True:
                try:
                    rec, end = decoder.raw_decode(ts.buf, ts.pos)
                    break
                except json.JSONDecodeError as exc:
                    # The record may just be cut by the chunk boundary: read more and retry.
                    if ts.fill():
                        continue
                    line = start_line + ts.buf.count("\n", ts.pos, exc.pos)
                    raise ImportFailed(p.name, f"record {index + 1}, line {line}", None, f"invalid JSON: {exc.msg}") from None
                except RecursionError:
                    raise ImportFailed(p.name, f"record {index + 1}, line {start_line}", None, _TOO_DEEP) from None
            if not isinstance(rec, dict):
                raise ImportFailed(p.name, f"record {index + 1}, line {start_line}", None,
                                   f"expected a JSON object, got {type(rec).__name__}")
            ts.advance(end)
            yield f"record {index + 1}, line {start_line}", rec
            index += 1
        if ts.skip_ws() is not None:
            raise ImportFailed(p.name, f"line {ts.line}", None, "invalid JSON: extra data after the closing ']'")


def _iter_csv(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    delimiter = "\t" if file_format(p) == "tsv" else ","
    csv.field_size_limit(1 << 30)
    with _open_binary(p) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", errors="strict")
        reader = csv.DictReader(text, delimiter=delimiter)
        row_no = 1
        try:
            for row in reader:
                row_no = reader.line_num
                if None in row:
                    yield f"line {row_no}", ImportFailed(p.name, f"line {row_no}", None, "more values than header columns")
                    continue
                yield f"line {row_no}", dict(row)
        except UnicodeDecodeError as exc:
            raise _decode_error(p.name, exc, row_no + 1) from None
        except csv.Error as exc:
            raise ImportFailed(p.name, f"line {reader.line_num}", None, f"invalid CSV: {exc}") from None


def _iter_parquet(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:
        raise ImportFailed(p.name, "file", None, f"not a readable Parquet file: {exc}") from None
    index = 0
    for batch in pf.iter_batches(batch_size=10_000):
        for rec in batch.to_pylist():
            yield f"row {index + 1}", rec
            index += 1


def _iter_hf(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    from datasets import DatasetDict, load_from_disk

    try:
        ds = load_from_disk(str(p))
    except Exception as exc:
        raise ImportFailed(p.name, "folder", None, f"not a saved Hugging Face dataset: {exc}") from None
    if isinstance(ds, DatasetDict):
        ds = ds["train"] if "train" in ds else ds[next(iter(ds))]
    for index, rec in enumerate(ds):
        yield f"row {index + 1}", dict(rec)
