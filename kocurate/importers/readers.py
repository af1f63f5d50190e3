"""Streamed record readers for JSON arrays, JSONL, CSV, Parquet, gzip of them and saved HF datasets.

Every record comes with its place in the file ("line 12" or "record 5, line 40") so that an
error can name it. Records, rows and lines are all counted from 1, as an editor shows them.
Nothing is loaded whole: a 700k-record JSON array is parsed incrementally.

Size limits are applied while reading, before anything is held whole, so that a small compressed
file cannot expand into gigabytes of memory (a decompression bomb): one line (JSONL, CSV) at most
MAX_LINE_BYTES, one record of a JSON array at most MAX_RECORD_BYTES, a whole file at most
MAX_FILE_BYTES once decompressed, and a gzip file at most MAX_RATIO times its compressed size.
Each limit has an environment variable of the same name with a ``KOCURATE_`` prefix; the error
says which limit was hit.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from ..errors import ImportFailed
from ..i18n import N_

CHUNK = 1 << 20
_WS = " \t\r\n"
_TOO_DEEP = N_("invalid JSON: nested too deeply")


def _limit(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(f"KOCURATE_{name}", default)))
    except ValueError:
        return default


# Defaults far above real data (the longest ShareGPT conversation is ~1 MB) and far below a bomb.
MAX_LINE_BYTES = 64 << 20
MAX_RECORD_BYTES = 64 << 20
MAX_FILE_BYTES = 16 << 30
MAX_RATIO = 200  # gzip: decompressed ÷ compressed; text compresses 3-15×, a bomb ~1000×
RATIO_GRACE_BYTES = (
    8 << 20
)  # the ratio is checked once this much came out (tiny files compress oddly)


def limits() -> dict[str, int]:
    """The limits in force (environment overrides applied)."""
    return {
        "MAX_LINE_BYTES": _limit("MAX_LINE_BYTES", MAX_LINE_BYTES),
        "MAX_RECORD_BYTES": _limit("MAX_RECORD_BYTES", MAX_RECORD_BYTES),
        "MAX_FILE_BYTES": _limit("MAX_FILE_BYTES", MAX_FILE_BYTES),
        "MAX_RATIO": _limit("MAX_RATIO", MAX_RATIO),
    }


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= 1 << 20 else f"{n:,} bytes"


class _Guarded(io.RawIOBase):
    """Bytes of a (possibly gzip) file, counted as they are produced: over the file limit or (gzip)
    the ratio limit, reading stops with an ImportFailed that names the limit. gzip output is asked
    for in bounded pieces, so no more than one piece is ever decompressed ahead of the reader."""

    def __init__(self, path: Path, compressed: bool) -> None:
        self.name = path.name
        self.raw = open(path, "rb")
        self.src: IO[bytes] = gzip.GzipFile(fileobj=self.raw, mode="rb") if compressed else self.raw
        self.compressed = compressed
        self.out = 0
        lim = limits()
        self.max_file, self.max_ratio = lim["MAX_FILE_BYTES"], lim["MAX_RATIO"]

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.src.read(min(len(b), CHUNK))
        n = len(data)
        b[:n] = data
        self.out += n
        if self.out > self.max_file:
            what = "decompressed data" if self.compressed else "file"
            raise ImportFailed(
                self.name,
                "file",
                None,
                reason_id=N_(
                    "{what} is larger than {size} (file limit, "
                    "KOCURATE_MAX_FILE_BYTES); split the file"
                ),
                what=what,
                size=_mb(self.max_file),
            )
        if (
            self.compressed
            and self.out > RATIO_GRACE_BYTES
            and self.out > self.max_ratio * max(1, self.raw.tell())
        ):
            raise ImportFailed(
                self.name,
                "file",
                None,
                reason_id=N_(
                    "decompresses to over {max_ratio} times its compressed size "
                    "(ratio limit, KOCURATE_MAX_RATIO): a decompression bomb? "
                    "nothing was imported"
                ),
                max_ratio=self.max_ratio,
            )
        return n

    def close(self) -> None:
        try:
            if self.src is not self.raw:
                self.src.close()
        finally:
            self.raw.close()
            super().close()


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
    known = {
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".csv": "csv",
        ".tsv": "tsv",
        ".parquet": "parquet",
    }.get(ext)
    return known or sniff_format(p)


FORMATS = ("json", "jsonl", "csv", "tsv", "parquet", "hf")


def sniff_format(path: Path) -> str:
    """The format of a file whose name does not say (``X.txt``, ``data``), read from its first
    bytes: ``[`` a JSON array, ``{`` JSONL when the first line is a whole object (else one JSON
    document), a tab in the first line TSV, a comma CSV; Parquet by its magic bytes."""
    try:
        with _open_binary(path) as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError, zlib.error):
        return "json"
    if head[:4] == b"PAR1":
        return "parquet"
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff" + _WS)
    if text[:1] == "[":
        return "json"
    first = text.split("\n", 1)[0].strip()
    if text[:1] == "{":
        try:
            json.loads(first)
            return "jsonl"
        except ValueError:
            return "json"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    return "json"


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes (gunzipped when it is gzip), with the file and ratio limits applied while
    reading."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return io.BufferedReader(_Guarded(path, magic == b"\x1f\x8b"), CHUNK)  # type: ignore[return-value]


def _lines(fh: IO[bytes], name: str) -> Iterator[tuple[int, bytes | ImportFailed]]:
    """(line number, bytes) per line; a line over the line limit comes as its ImportFailed and is
    skipped in bounded pieces (never held whole)."""
    max_line = limits()["MAX_LINE_BYTES"]
    lineno = 0
    while True:
        raw = fh.readline(max_line + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > max_line and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(CHUNK)
            yield (
                lineno,
                ImportFailed(
                    name,
                    f"line {lineno}",
                    None,
                    reason_id=N_(
                        "line is longer than {size} (line limit, KOCURATE_MAX_LINE_BYTES)"
                    ),
                    size=_mb(max_line),
                ),
            )
            continue
        yield lineno, raw


def _decode_error(name: str, exc: UnicodeDecodeError, line: int) -> ImportFailed:
    bad = exc.object[exc.start : exc.start + 1]
    return ImportFailed(
        name,
        f"line {line}",
        None,
        reason_id=N_("not UTF-8 (byte 0x{byte} at this line)"),
        byte=bad.hex(),
    )


def iter_records(
    path: str | Path, fmt: str | None = None
) -> Iterator[tuple[str, dict[str, Any] | ImportFailed]]:
    """Yield ``(place, record)`` for every record of the file, streamed.

    A record that cannot be read but leaves the rest of the file readable (a bad JSONL or CSV
    line) comes as ``(place, ImportFailed)``; an error that ends the file (a JSON array broken
    half-way) is raised.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFailed(str(p), "file", None, reason_id=N_("file not found"))
    if fmt is not None and fmt not in FORMATS:
        raise ImportFailed(
            p.name,
            "file",
            None,
            reason_id=N_("unknown format {fmt!r}; one of: {formats}"),
            fmt=fmt,
            formats=", ".join(FORMATS),
        )
    fmt = fmt or file_format(p)
    if fmt != "hf" and p.stat().st_size == 0:
        raise ImportFailed(p.name, "file", None, reason_id=N_("file is empty"))
    reader = {
        "json": _iter_json,
        "jsonl": _iter_jsonl,
        "csv": _iter_csv,
        "tsv": partial(_iter_csv, delimiter="\t"),
        "parquet": _iter_parquet,
        "hf": _iter_hf,
    }[fmt]
    count = 0
    try:
        for item in reader(p):
            count += 1
            yield item
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # a truncated or corrupt .gz
        raise ImportFailed(
            p.name,
            "file",
            None,
            reason_id=N_("not a readable gzip file ({detail})"),
            detail=exc or type(exc).__name__,
        ) from None
    if count == 0:
        raise ImportFailed(p.name, "file", None, reason_id=N_("file holds no records"))


def _iter_jsonl(p: Path) -> Iterator[tuple[str, dict[str, Any] | ImportFailed]]:
    # a bad line is yielded as its error, not raised: the lines after it can still be read
    # (``--skip-bad``); the importer decides whether to stop
    with _open_binary(p) as fh:
        for lineno, raw in _lines(fh, p.name):
            if isinstance(raw, ImportFailed):
                yield f"line {lineno}", raw
                continue
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
                yield (
                    f"line {lineno}",
                    ImportFailed(
                        p.name,
                        f"line {lineno}",
                        None,
                        reason_id=N_("invalid JSON: {msg} (column {colno})"),
                        msg=exc.msg,
                        colno=exc.colno,
                    ),
                )
                continue
            except RecursionError:
                yield (
                    f"line {lineno}",
                    ImportFailed(p.name, f"line {lineno}", None, reason_id=_TOO_DEEP),
                )
                continue
            if not isinstance(rec, dict):
                yield (
                    f"line {lineno}",
                    ImportFailed(
                        p.name,
                        f"line {lineno}",
                        None,
                        reason_id=N_("expected a JSON object, got {kind}"),
                        kind=type(rec).__name__,
                    ),
                )
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
                raise _decode_error(
                    self.name, exc, self.line + self.buf.count("\n", self.pos)
                ) from None
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
    max_record = limits()["MAX_RECORD_BYTES"]
    with _open_binary(p) as fh:
        ts = _TextStream(fh, p.name)
        ch = ts.skip_ws()
        if ch is None:
            raise ImportFailed(p.name, "file", None, reason_id=N_("file is empty"))
        if ch == "{":
            # A single object: either one record or {"data": [...]} style wrappers; load it whole.
            whole = 16 * max_record
            while ts.fill():
                if len(ts.buf) > whole:
                    raise ImportFailed(
                        p.name,
                        "file",
                        None,
                        reason_id=N_(
                            "a JSON file that is one object is read whole, and this one "
                            "is larger than {size} (16 × the record limit, "
                            "KOCURATE_MAX_RECORD_BYTES); convert it to a JSON array or "
                            "JSONL"
                        ),
                        size=_mb(whole),
                    )
            try:
                obj = json.loads(ts.buf[ts.pos :])
            except json.JSONDecodeError as exc:
                raise ImportFailed(
                    p.name,
                    f"line {ts.line + exc.lineno - 1}",
                    None,
                    reason_id=N_("invalid JSON: {msg}"),
                    msg=exc.msg,
                ) from None
            except RecursionError:
                raise ImportFailed(p.name, f"line {ts.line}", None, reason_id=_TOO_DEEP) from None
            records = (
                next((v for v in obj.values() if isinstance(v, list)), None)
                if isinstance(obj, dict)
                else None
            )
            if records is None:
                records = [obj]
            for i, rec in enumerate(records):
                if not isinstance(rec, dict):
                    raise ImportFailed(
                        p.name,
                        f"record {i + 1}",
                        None,
                        reason_id=N_("expected a JSON object, got {kind}"),
                        kind=type(rec).__name__,
                    )
                yield f"record {i + 1}", rec
            return
        if ch != "[":
            raise ImportFailed(
                p.name,
                f"line {ts.line}",
                None,
                reason_id=N_("invalid JSON: expected '[' or '{{' at the start"),
            )
        ts.advance(ts.pos + 1)
        index = 0
        while True:
            ch = ts.skip_ws()
            if ch is None:
                raise ImportFailed(
                    p.name,
                    f"line {ts.line}",
                    None,
                    reason_id=N_("invalid JSON: the array is not closed (truncated file?)"),
                )
            if ch == "]":
                ts.advance(ts.pos + 1)
                break
            if index > 0:
                if ch != ",":
                    raise ImportFailed(
                        p.name,
                        f"record {index + 1}, line {ts.line}",
                        None,
                        reason_id=N_("invalid JSON: expected ',' between records"),
                    )
                ts.advance(ts.pos + 1)
                ch = ts.skip_ws()
                if ch is None:
                    raise ImportFailed(
                        p.name,
                        f"line {ts.line}",
                        None,
                        reason_id=N_("invalid JSON: the array is not closed (truncated file?)"),
                    )
            start_line = ts.line
            while True:
                try:
                    rec, end = decoder.raw_decode(ts.buf, ts.pos)
                    break
                except json.JSONDecodeError as exc:
                    # The record may just be cut by the chunk boundary: read more and retry.
                    if len(ts.buf) - ts.pos > max_record:
                        raise ImportFailed(
                            p.name,
                            f"record {index + 1}, line {start_line}",
                            None,
                            reason_id=N_(
                                "record is longer than {size} (record limit, "
                                "KOCURATE_MAX_RECORD_BYTES)"
                            ),
                            size=_mb(max_record),
                        ) from None
                    if ts.fill():
                        continue
                    line = start_line + ts.buf.count("\n", ts.pos, exc.pos)
                    raise ImportFailed(
                        p.name,
                        f"record {index + 1}, line {line}",
                        None,
                        reason_id=N_("invalid JSON: {msg}"),
                        msg=exc.msg,
                    ) from None
                except RecursionError:
                    raise ImportFailed(
                        p.name, f"record {index + 1}, line {start_line}", None, reason_id=_TOO_DEEP
                    ) from None
            if end - ts.pos > max_record:
                raise ImportFailed(
                    p.name,
                    f"record {index + 1}, line {start_line}",
                    None,
                    reason_id=N_(
                        "record is longer than {size} (record limit, KOCURATE_MAX_RECORD_BYTES)"
                    ),
                    size=_mb(max_record),
                )
            if not isinstance(rec, dict):
                raise ImportFailed(
                    p.name,
                    f"record {index + 1}, line {start_line}",
                    None,
                    reason_id=N_("expected a JSON object, got {kind}"),
                    kind=type(rec).__name__,
                )
            ts.advance(end)
            yield f"record {index + 1}, line {start_line}", rec
            index += 1
        if ts.skip_ws() is not None:
            raise ImportFailed(
                p.name,
                f"line {ts.line}",
                None,
                reason_id=N_("invalid JSON: extra data after the closing ']'"),
            )


def _iter_csv(p: Path, delimiter: str = ",") -> Iterator[tuple[str, dict[str, Any]]]:
    max_line = limits()["MAX_LINE_BYTES"]
    csv.field_size_limit(max_line)
    with _open_binary(p) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", errors="strict")
        reader = csv.DictReader(text, delimiter=delimiter)
        row_no = 1
        try:
            for row in reader:
                row_no = reader.line_num
                if None in row:
                    yield (
                        f"line {row_no}",
                        ImportFailed(
                            p.name,
                            f"line {row_no}",
                            None,
                            reason_id=N_("more values than header columns"),
                        ),
                    )
                    continue
                yield f"line {row_no}", dict(row)
        except UnicodeDecodeError as exc:
            raise _decode_error(p.name, exc, row_no + 1) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise ImportFailed(
                    p.name,
                    f"line {reader.line_num}",
                    None,
                    reason_id=N_(
                        "a value is longer than {size} (line limit, KOCURATE_MAX_LINE_BYTES)"
                    ),
                    size=_mb(max_line),
                ) from None
            raise ImportFailed(
                p.name, f"line {reader.line_num}", None, reason_id=N_("invalid CSV: {exc}"), exc=exc
            ) from None


def _iter_parquet(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:
        raise ImportFailed(
            p.name, "file", None, reason_id=N_("not a readable Parquet file: {exc}"), exc=exc
        ) from None
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
        raise ImportFailed(
            p.name, "folder", None, reason_id=N_("not a saved Hugging Face dataset: {exc}"), exc=exc
        ) from None
    if isinstance(ds, DatasetDict):
        ds = ds["train"] if "train" in ds else ds[next(iter(ds))]
    for index, rec in enumerate(ds):
        yield f"row {index + 1}", dict(rec)
