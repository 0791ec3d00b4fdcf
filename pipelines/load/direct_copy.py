"""The fast path of loading a CSV file: PostgreSQL's own COPY parses the file as it is, with no Python per row.

Taken when every record is one physical line (no quoted line breaks) and there is no blank line: then the n-th
record is line header_line + n, which the staging leaf's line sequence numbers during COPY, so provenance stays
exact. A large file is cut at line ends into parts that several sessions COPY at once, each into its own leaf.
Anything COPY cannot take as it is (a wrong number of fields, a truncated last line, a byte the encoding does not
have) makes COPY fail; the caller drops what was copied and reads the file with the general reader, which records
each problem row (or, when the encoding told from the file's first bytes was not the whole file's, COPYs it again
in the whole file's). Both paths give the same rows, lines and values (tests/test_load.py).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from ..db import raw_copy
from .readers import RowStream

log = logging.getLogger("kcbx.load")

CHUNK = 1 << 20
PG_ENCODING = {"utf-8": "UTF8", "gbk": "GBK", "gb18030": "GB18030"}
_SEPARATORS = b" \t,\r"   # a line of nothing else is blank
_BLANK_LINE = re.compile(rb"\n[ \t,\r]*\n")
_BLANK_LINE_STARTS = np.frombuffer(_SEPARATORS + b"\n", np.uint8)


@dataclass(frozen=True)
class Part:
    start: int        # byte offset of its first line
    end: int          # byte offset after its last line
    first_line: int   # the file line of its first record


def copy_plan(path: Path, stream: RowStream, parts: int) -> list[Part] | None:
    """The data lines of this CSV file cut into at most `parts` parts at line ends, or None when COPY cannot read
    them as they are (one pass over the bytes)."""
    if stream.format != "csv" or stream.encoding not in PG_ENCODING:
        return None
    with open(path, "rb") as f:
        for _ in range(stream.header_line):
            f.readline()
        start = f.tell()
        size = path.stat().st_size
        targets = [start + (size - start) * k // parts for k in range(1, parts)]
        cuts, line, offset, rest = [(start, stream.header_line + 1)], stream.header_line + 1, start, b""
        while chunk := f.read(CHUNK):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            lines, rest = data[:cut], data[cut:]
            line_ends = _line_ends(lines)
            if _has_blank_line(lines, line_ends):
                return None
            if b'"' in lines and any(ln.count(b'"') % 2 for ln in lines.split(b"\n")):
                return None
            while targets and targets[0] < offset + cut:
                at = lines.find(b"\n", max(targets.pop(0) - offset, 0)) + 1
                if start < offset + at < size and offset + at > cuts[-1][0]:
                    cuts.append((offset + at, line + lines.count(b"\n", 0, at)))
            line += len(line_ends)
            offset += cut
        if rest and (not rest.translate(None, _SEPARATORS) or rest.count(b'"') % 2):
            return None
    ends = [c[0] for c in cuts[1:]] + [size]
    return [Part(s, e, first) for (s, first), e in zip(cuts, ends)]


def _line_ends(lines: bytes) -> np.ndarray:
    """The offsets of the line ends in these bytes (one pass in C)."""
    return np.flatnonzero(np.frombuffer(lines, np.uint8) == ord("\n"))


def _has_blank_line(lines: bytes, ends: np.ndarray) -> bool:
    """Whether these whole lines (they start at a line start; `ends` are their line ends) hold a blank one: nothing
    but separators before its line end. Only a line whose first byte is a separator or its line end can be one, so
    the regular expression reads the lines only when such a line is among them."""
    if not len(ends):
        return False
    firsts = np.frombuffer(lines, np.uint8)[np.concatenate(([0], ends[:-1] + 1))]
    return bool(np.isin(firsts, _BLANK_LINE_STARTS).any()) and _BLANK_LINE.search(b"\n" + lines) is not None


class _Range:
    """File reader for COPY over one part's bytes."""

    def __init__(self, path: Path, part: Part, progress: "Progress"):
        self.f = open(path, "rb")
        self.f.seek(part.start)
        self.left, self.progress = part.end - part.start, progress

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        self.progress.add(len(data))
        return data

    def close(self) -> None:
        self.f.close()


class Progress:
    """Bytes read by all the parts of one file; logs MB/s about once a second."""

    def __init__(self, name: str, size: int):
        self.name, self.size, self.done, self.lock = name, size, 0, threading.Lock()
        self.started = self.last = time.monotonic()

    def add(self, n: int) -> None:
        with self.lock:
            self.done += n
            now = time.monotonic()
            if now - self.last >= 1.0:
                self.last = now
                log.info("%s: %.0f of %.0f MB, %.0f MB/s", self.name, self.done / 1e6, self.size / 1e6,
                         self.done / 1e6 / (now - self.started))


def copy_part(conn, leaf: str, stream: RowStream, path: Path, part: Part, progress: Progress) -> int:
    """COPY one part of the file into its leaf; returns the rows copied. When every field of the file is a column,
    COPY writes the leaf itself; otherwise it fills a temporary table of all the fields, whose columns the leaf
    takes (a header that maps to no column is still a field of every line)."""
    by_position = dict(zip(stream.positions, stream.columns))
    fields = [f"{by_position[i]}_raw" if i in by_position else None for i in range(stream.width)]
    options = f"format csv, encoding '{PG_ENCODING[stream.encoding]}'"
    reader = _Range(path, part, progress)
    try:
        if all(fields):
            # frozen as written (the leaf was truncated in this transaction): no later read rewrites its pages to
            # set hint bits, and every scan of it skips the per-row visibility check
            return raw_copy(conn, f"copy {leaf} ({', '.join(fields)}) from stdin with ({options}, freeze,"
                                  f" force_not_null ({', '.join(fields)}))", reader)
        every = [f"c{i}" for i in range(stream.width)]
        conn.execute(sa.text(f"create temp table file_fields ({', '.join(c + ' text' for c in every)})"
                             " on commit drop"))
        raw_copy(conn, f"copy file_fields from stdin with ({options}, force_not_null ({', '.join(every)}))", reader)
        used = [(f"c{i}", f) for i, f in enumerate(fields) if f]
        return conn.execute(sa.text(f"insert into {leaf} ({', '.join(f for _, f in used)})"
                                    f" select {', '.join(c for c, _ in used)} from file_fields")).rowcount
    finally:
        reader.close()
