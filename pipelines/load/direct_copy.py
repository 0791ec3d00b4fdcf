"""The fast path of loading a CSV file: PostgreSQL's own COPY parses the file as it is, with no Python per row.

Taken when every record is one physical line (no quoted line breaks) and there is no blank line: then the n-th
record is line header_line + n, which an identity column numbers during COPY, so provenance stays exact.
Anything COPY cannot take as it is (a wrong number of fields, a truncated last line, a byte the encoding does not
have) makes COPY fail; the caller rolls back to its savepoint and reads the file with the general reader, which
records each problem row. Both paths give the same rows, lines and values (tests/test_load.py).
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import raw_copy
from ..sources import Source
from .readers import RowStream

log = logging.getLogger("kcbx.load")

CHUNK = 1 << 20
PG_ENCODING = {"utf-8": "UTF8", "gbk": "GBK", "gb18030": "GB18030"}
_BLANK_LINE = re.compile(rb"(?m)^[ \t,\r]*$")


def _open_at_data(path: Path, stream: RowStream):
    """The file in binary, positioned after the header line."""
    f = open(path, "rb")
    for _ in range(stream.header_line):
        f.readline()
    return f


def copy_ready(path: Path, stream: RowStream) -> bool:
    """True when COPY can read the data lines of this CSV file as they are (one pass over the bytes)."""
    if stream.format != "csv" or stream.encoding not in PG_ENCODING:
        return False
    with _open_at_data(path, stream) as f:
        rest = b""
        while chunk := f.read(CHUNK):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            lines, rest = data[:cut], data[cut:]
            if _BLANK_LINE.search(lines[:-1] if lines.endswith(b"\n") else lines):
                return False
            if b'"' in lines and any(line.count(b'"') % 2 for line in lines.split(b"\n")):
                return False
        if rest and (_BLANK_LINE.fullmatch(rest) or rest.count(b'"') % 2):
            return False
    return True


class _Progress:
    """File reader for COPY that logs MB/s about once a second."""

    def __init__(self, f, name: str, size: int):
        self.f, self.name, self.size, self.done = f, name, size, 0
        self.started = self.last = time.monotonic()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.done += len(data)
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            log.info("%s: %.0f of %.0f MB, %.0f MB/s", self.name, self.done / 1e6, self.size / 1e6,
                     self.done / 1e6 / (now - self.started))
        return data


def copy_table(source: str, file_hash: str) -> str:
    return f"staging.{source}_copy_{file_hash[:16]}"


def copy_file(conn: Connection, src: Source, file_hash: str, path: Path, stream: RowStream) -> tuple[str, int] | None:
    """COPY the file's data lines into a table of its own; returns the relation normalizing reads (the canonical
    columns with file_hash and line) and the number of records, or None if COPY refused the file (nothing kept)."""
    table = copy_table(src.name, file_hash)
    fields = [f"c{i}" for i in range(stream.width)]
    conn.execute(sa.text(f"drop table if exists {table}"))
    conn.execute(sa.text(
        f"create unlogged table {table} ({', '.join(f + ' text' for f in fields)},"
        f" line int generated always as identity (start with {stream.header_line + 1}))"
        " with (autovacuum_enabled = false)"))  # read once by normalizing, then dropped
    savepoint = conn.begin_nested()
    try:
        with _open_at_data(path, stream) as f:
            rows = raw_copy(conn, f"copy {table} ({', '.join(fields)}) from stdin with (format csv, encoding "
                                  f"'{PG_ENCODING[stream.encoding]}', force_not_null ({', '.join(fields)}))",
                            _Progress(f, path.name, path.stat().st_size))
    except psycopg2.Error as e:
        savepoint.rollback()
        log.info("%s: COPY cannot take the file as it is (%s); reading it row by row",
                 path.name, (str(e).strip().splitlines() or [type(e).__name__])[0])
        return None
    savepoint.commit()
    by_column = dict(zip(stream.columns, stream.positions))
    cols = [f"c{by_column[c.name]} as {c.name}" if c.name in by_column else f"null::text as {c.name}"
            for c in src.columns]
    relation = f"(select cast(:file_hash as text) as file_hash, line, {', '.join(cols)} from {table}) r"
    return relation, rows
