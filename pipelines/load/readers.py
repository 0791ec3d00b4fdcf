"""Streaming readers for the extracts offices send: CSV (UTF-8 with or without BOM, GBK, GB18030) and XLSX.

`open_rows` finds the header (skipping title and blank rows above it), maps header cells to canonical columns and
yields one item per data record: `(line, values, problem)`. `line` is the record's first line as an editor shows it
(XLSX: the sheet row). A record that cannot be used has `values=None` and a `problem`; it is never dropped.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..config import Settings
from ..errors import InputError
from ..sources import SOURCES, Source, header_key, header_map

csv.field_size_limit(16 * 1024 * 1024)

HEADER_SCAN_ROWS = 30
XLSX_MAX_UNCOMPRESSED = 2 * 1024 ** 3
XLSX_MAX_RATIO = 200
Record = tuple[int, "list[str | None] | None", "str | None"]


@dataclass
class RowStream:
    path: Path
    source: Source
    format: str
    encoding: str | None
    header_line: int
    columns: list[str]
    ignored_headers: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)   # file column of each of `columns`
    width: int = 0                                       # fields in the header
    _records: Iterator[Record] | None = None
    close: Callable[[], None] = lambda: None

    def __iter__(self) -> Iterator[Record]:
        assert self._records is not None
        return self._records


def detect_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(8192)
    if not head:
        raise InputError(f"{path.name}: the file is empty")
    if head.startswith(b"PK\x03\x04"):
        if path.suffix.lower() != ".xlsx":
            raise InputError(f"{path.name}: this is a zip archive or workbook, not a CSV file; save it as .xlsx or CSV")
        return "xlsx"
    if path.suffix.lower() == ".xlsx":
        raise InputError(f"{path.name}: not an Excel workbook (.xlsx); re-export it from Excel or send CSV")
    if b"\x00" in head:
        raise InputError(f"{path.name}: binary content, not a CSV text file")
    return "csv"


def detect_encoding(path: Path, sample: int | None = None) -> str:
    """utf-8-sig if the whole file (or its first `sample` bytes) decodes as UTF-8 (with or without BOM), else gbk,
    else gb18030. A sample's answer holds only for what reads the rest with a check of its own (COPY does)."""
    for enc in ("utf-8-sig", "gbk", "gb18030"):
        dec = codecs.getincrementaldecoder(enc)("strict")
        try:
            with open(path, "rb") as f:
                if sample is not None:
                    dec.decode(f.read(sample))  # a character cut at the sample's end is not an error
                    return enc
                while chunk := f.read(1 << 20):
                    dec.decode(chunk)
            dec.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path.name}: text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV")


def open_rows(path: Path, source: Source, settings: Settings | None = None,
              encoding_sample: int | None = None) -> RowStream:
    """The file's records after its header. With `encoding_sample`, the encoding is told from the file's first
    bytes only (see detect_encoding)."""
    fmt = detect_format(path)
    if fmt == "xlsx":
        return _open_xlsx(path, source, settings)
    encoding = detect_encoding(path, encoding_sample)
    f = open(path, encoding=encoding, newline="", errors="strict")
    reader = csv.reader(f)
    rows = _numbered_csv(reader)
    try:
        return _with_header(path, source, settings, "csv", "gbk" if encoding == "gbk" else
                            ("utf-8" if encoding == "utf-8-sig" else encoding), rows, on_close=f.close)
    except UnicodeDecodeError:  # the rows above the header run past the sample into another encoding
        f.close()
        if encoding_sample is None:
            raise
        return open_rows(path, source, settings)


def _numbered_csv(reader) -> Iterator[tuple[int, list[str] | None, str | None]]:
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield line, None, f"unreadable CSV record: {e}"
            line = reader.line_num + 1
            continue
        yield line, row, None
        line = reader.line_num + 1


def _open_xlsx(path: Path, source: Source, settings: Settings | None) -> RowStream:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            packed = max(1, sum(i.compress_size for i in infos))
            if total > XLSX_MAX_UNCOMPRESSED or total / packed > XLSX_MAX_RATIO:
                raise InputError(f"{path.name}: refused: the workbook would unpack to {total / 1e6:.0f} MB "
                                 f"({total / packed:.0f}× its size); this looks like a zip bomb")
            if "xl/workbook.xml" not in {i.filename for i in infos}:
                raise InputError(f"{path.name}: a zip archive, not an Excel workbook")
        from openpyxl import load_workbook
        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is one clear error
        raise InputError(f"{path.name}: cannot read the workbook ({type(e).__name__})") from None

    def rows():
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, [_cell_text(v) for v in row], None

    return _with_header(path, source, settings, "xlsx", None, rows(), on_close=wb.close)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v) if abs(v) < 1e15 else f"#NUMBER-LOST-DIGITS:{v!r}"
    return str(v)


def _is_blank(row: list[str]) -> bool:
    return all(not (c or "").strip() for c in row)


def _with_header(path, source, settings, fmt, encoding, rows, on_close) -> RowStream:
    hmap = header_map(source, settings)
    required = [c.name for c in source.columns if c.required]
    header_line, header = None, None
    scanned = []
    for line, row, problem in rows:
        if row is None or _is_blank(row):
            continue
        keys = [header_key(c) for c in row]
        hits = {hmap[k] for k in keys if k in hmap}
        if len(hits & set(required)) * 2 >= len(required):
            header_line, header = line, row
            break
        scanned.append(keys)
        if len(scanned) >= HEADER_SCAN_ROWS:
            break
    if header is None:
        on_close()
        raise InputError(f"{path.name}: no header row with the {source.name} columns found"
                         + _looks_like(scanned, source))
    index: dict[str, int] = {}
    ignored = []
    for i, cell in enumerate(header):
        col = hmap.get(header_key(cell))
        if col is None:
            if (cell or "").strip():
                ignored.append(str(cell)[:40])
            continue
        if col in index:
            on_close()
            raise InputError(f"{path.name}: two columns map to {col} ({header[index[col]]!r} and {cell!r})")
        index[col] = i
    missing = [c for c in required if c not in index]
    if missing:
        on_close()
        col = source.column(missing[0])
        raise InputError(f"{path.name}: missing column {col.headers[0]} ({col.name}); "
                         f"add an alias in kcbx.toml [columns.{source.name}]")
    columns = [c.name for c in source.columns if c.name in index]
    positions = [index[c] for c in columns]
    width = len(header)

    def records() -> Iterator[Record]:
        try:
            for line, row, problem in rows:
                if row is None:
                    yield line, None, problem
                    continue
                if _is_blank(row):
                    continue
                if len(row) < width and max(positions) >= len(row):
                    yield line, None, f"{len(row)} fields where the header has {width} (a broken or truncated line)"
                    continue
                if len(row) > width and not _is_blank(row[width:]):
                    yield line, None, f"{len(row)} fields where the header has {width}"
                    continue
                yield line, [row[p] if p < len(row) else None for p in positions], None
        finally:
            on_close()

    return RowStream(path, source, fmt, encoding, header_line, columns, ignored, positions, width, records(),
                     close=on_close)


def _looks_like(scanned: list[list[str]], expected: Source) -> str:
    best, score = None, 0
    for src in SOURCES.values():
        if src is expected:
            continue
        hmap = header_map(src)
        req = {c.name for c in src.columns if c.required}
        for keys in scanned:
            hits = len({hmap[k] for k in keys if k in hmap} & req) / len(req)
            if hits > score:
                best, score = src, hits
    if best and score >= 0.6:
        return f"; it looks like a {best.name} ({best.chinese}) file"
    return f"; add an alias in kcbx.toml [columns.{expected.name}] if its headers differ"
