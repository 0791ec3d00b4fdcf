"""Loading one term's files: discover, archive, COPY into staging (typed as it is written); and publish into core.

Write-audit-publish: `stage_file` writes staging only; validation (pipelines.validate) runs on staging;
`publish_staged` replaces the term's rows of that source in core in one transaction. A killed run leaves core as
it was. Every record read is accounted for: rows_read = rows_accepted + rows_rejected.
"""
from __future__ import annotations

import io
import logging
import os
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..config import Settings
from ..db import ensure_province_partition, raw_copy
from ..errors import InputError
from ..sources import REQUIRED_SOURCES, SOURCES
from ..terms import Term
from .archive import archive_file, sha256_file
from .direct_copy import Part, Progress, copy_part, copy_plan
from .readers import RowStream, open_rows
from ..faults import failpoint
from .staging import create_file_partition, file_partition

log = logging.getLogger("kcbx.load")

STEMS = {s.name: s.name for s in SOURCES.values()} | {s.chinese: s.name for s in SOURCES.values()} | {
    "户籍": "hukou", "学籍": "registry", "在校": "roster", "在校学生": "roster", "开学报到": "roster",
    "脱贫户": "poverty", "重点人群": "special_groups", "疑似辍学": "national_suspects", "核查劝返": "followups",
    "延缓免学": "exemptions", "小学毕业库": "graduates"}
SUFFIXES = {".csv", ".xlsx"}
# Typing every value is the costly part of a load: a CSV file of at least PARALLEL_MIN_BYTES is cut into parts that
# several sessions COPY at once, one per core (at most 4).
PARALLEL_MIN_BYTES = 8 << 20
COPY_SESSIONS = max(1, min(4, os.cpu_count() or 1))
# A CSV file's encoding is told from its first bytes: COPY checks every byte against it (a file it refuses is read
# again, its encoding told from all of it), so the whole file is not decoded once more in Python first.
ENCODING_SAMPLE = 1 << 20


@dataclass
class StagedFile:
    source: str
    file_name: str
    path: Path
    file_hash: str
    rows_read: int
    rows_rejected_on_read: int
    encoding: str | None
    format: str
    header_line: int | None
    already_published: bool = False


@dataclass
class PublishResult:
    source: str
    file_hash: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_warned: int
    already_published: bool = False


def discover_sources(source_dir: Path, required: Iterable[str] = REQUIRED_SOURCES) -> dict[str, Path]:
    if not source_dir.is_dir():
        raise InputError(f"source folder {source_dir} does not exist")
    found: dict[str, Path] = {}
    for p in sorted(source_dir.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        stem = unicodedata.normalize("NFKC", p.stem).strip().lower()
        source = STEMS.get(stem)
        if source is None or p.suffix.lower() not in SUFFIXES:
            log.warning("ignoring %s: not named after a source (%s) as .csv or .xlsx", p.name, ", ".join(SOURCES))
            continue
        if source in found:
            raise InputError(f"{source_dir}: two files for {source}: {found[source].name} and {p.name}; keep one")
        found[source] = p
    missing = [s for s in required if s not in found]
    if missing:
        s = SOURCES[missing[0]]
        raise InputError(f"{source_dir}: missing required file {s.name}.csv or .xlsx ({s.chinese})")
    return found


def _copy_escape(v: str | None) -> str:
    if v is None:
        return "\\N"
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _CopyBuffer(io.RawIOBase):
    """A file-like object COPY reads from, fed lazily from the record iterator (memory stays flat)."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunks, n = [self._buf], len(self._buf)
        while size < 0 or n < size:
            try:
                line = next(self._lines).encode("utf-8")
            except StopIteration:
                break
            chunks.append(line)
            n += len(line)
        data = b"".join(chunks)
        if size < 0 or len(data) <= size:
            self._buf = b""
            return data
        self._buf = data[size:]
        return data[:size]


def analyze_staged(conn, leaf: str) -> None:
    """Statistics for validation's plans on a staging leaf (the partitioned parents need none). A sample of 6,000
    rows tells the planner what it needs of a file read once (sizes, mostly-unique keys) in a sixth of the time
    of the default 30,000."""
    conn.execute(sa.text("set local default_statistics_target = 20"))
    conn.execute(sa.text(f"analyze {leaf}"))


def _copy_parts(eng: Engine, settings: Settings, term: Term, file_hash: str, stream: RowStream, path: Path,
                parts: list[Part] | None) -> int | None:
    """COPY each part of the file into a leaf of its own, one session per part; returns the rows copied, or None
    (nothing usable kept) if COPY refused any part or there are no parts (copy_plan found COPY cannot read it)."""
    if not parts:
        return None
    with eng.begin() as conn:
        leaves = create_file_partition(conn, stream.source.name, settings.province, term.code, file_hash,
                                       [p.first_line for p in parts])
    progress = Progress(path.name, path.stat().st_size)

    def copy(i: int) -> int:
        with eng.begin() as conn:
            # a table truncated in the transaction that fills it is written without WAL under wal_level minimal,
            # and COPY can write its rows frozen (direct_copy.copy_part)
            conn.execute(sa.text(f"truncate {leaves[i]}"))
            rows = copy_part(conn, leaves[i], stream, path, parts[i], progress)
        with eng.begin() as conn:
            analyze_staged(conn, leaves[i])
        return rows
    try:
        with ThreadPoolExecutor(len(parts)) as pool:
            return sum(pool.map(copy, range(len(parts))))
    except psycopg2.Error as e:
        log.info("%s: COPY cannot take the file as it is (%s)", path.name,
                 (str(e).strip().splitlines() or [type(e).__name__])[0])
        with eng.begin() as conn:  # the parts other sessions copied
            conn.execute(sa.text("drop table if exists "
                                 + file_partition(stream.source.name, settings.province, file_hash)))
        return None


def _copy_file(eng: Engine, settings: Settings, term: Term, file_hash: str, stream: RowStream, path: Path,
               parts: list[Part] | None, sessions: int) -> tuple[RowStream, list[Part] | None, int | None]:
    """COPY the file when it can take it as it is. The stream's encoding may come from a sample (ENCODING_SAMPLE):
    when COPY refuses the file, its encoding is told from the whole file, and COPY tries again if that differs.
    Returns the stream the rows are read by (every byte's encoding checked unless COPY took the file), the parts
    and the rows COPY copied (None when it did not)."""
    copied = _copy_parts(eng, settings, term, file_hash, stream, path, parts)
    if copied is None and stream.format == "csv":
        sampled = stream.encoding
        stream.close()
        stream = open_rows(path, stream.source, settings)
        if stream.encoding != sampled:
            parts = copy_plan(path, stream, sessions)
            copied = _copy_parts(eng, settings, term, file_hash, stream, path, parts)
    return stream, parts, copied


def stage_file(eng: Engine, settings: Settings, term: Term, source: str, path: Path, run_id: str) -> StagedFile:
    src = SOURCES[source]
    # the file's hash and COPY's plan of it (each a pass over the whole file) at once: hashlib lets go of the GIL
    with ThreadPoolExecutor(1, thread_name_prefix="kcbx-hash") as pool:
        hashing = pool.submit(sha256_file, path)
        stream = open_rows(path, src, settings, encoding_sample=ENCODING_SAMPLE)
        sessions = COPY_SESSIONS if path.stat().st_size >= PARALLEL_MIN_BYTES else 1
        parts = copy_plan(path, stream, sessions)
        file_hash = hashing.result()
    key = {"p": settings.province, "t": term.code, "s": source, "h": file_hash}
    with eng.connect() as c:
        status = c.execute(sa.text("select status from audit.file_manifest where province = :p and term = :t"
                                   " and source = :s and file_hash = :h"), key).scalar()
    if status == "published":
        stream.close()
        log.info("%s: already published for %s (sha256 %s…), nothing to do", path.name, term, file_hash[:12])
        return StagedFile(source, path.name, path, file_hash, 0, 0, None, "", None, already_published=True)

    if stream.ignored_headers:
        log.info("%s: ignoring columns %s", path.name, ", ".join(stream.ignored_headers))
    archived = archive_file(path, file_hash, settings.archive_dir)
    problems: list[tuple[int, str]] = []
    counts = {"read": 0}
    started = time.monotonic()
    last = [started]

    def lines():
        for line, values, problem in stream:
            counts["read"] += 1
            if values is None:
                problems.append((line, problem or "unreadable row"))
                continue
            yield str(line) + "\t" + "\t".join(_copy_escape(v) for v in values) + "\n"
            now = time.monotonic()
            if now - last[0] >= 1.0:
                last[0] = now
                log.info("%s: %d rows, %.0f rows/s", path.name, counts["read"], counts["read"] / (now - started))

    # 1. the rows, typed as COPY writes them: by COPY itself, in parallel parts, when it can take the file as it
    # is; else as the row reader gives them, its unreadable rows recorded as row issues
    with eng.begin() as conn:
        conn.execute(sa.text("delete from audit.row_issues where file_hash = :h and term = :t and province = :p"),
                     key)
    stream, parts, copied = _copy_file(eng, settings, term, file_hash, stream, path, parts, sessions)
    if copied is not None:
        counts["read"] = copied
        stream.close()
        log.info("%s: %d rows copied and typed in %.1f s", path.name, copied, time.monotonic() - started)
    else:
        log.info("%s: reading it row by row", path.name)
        with eng.begin() as conn:
            leaf, = create_file_partition(conn, source, settings.province, term.code, file_hash, [1])
            raw_copy(conn, f"copy {leaf} (line, {', '.join(c + '_raw' for c in stream.columns)}) from stdin"
                           " with (freeze)", _CopyBuffer(lines()))
            if problems:
                conn.execute(sa.text(
                    "insert into audit.row_issues (file_hash, province, term, source, file_name, line, rule, severity,"
                    " message, run_id) values (:h, :p, :t, :s, :f, :line, 'unreadable_row', 'rejected', :m, :r)"),
                    [{**key, "f": path.name, "line": ln, "m": msg, "r": run_id} for ln, msg in problems])
            analyze_staged(conn, leaf)
    # 2. the manifest says the file is staged only once all of it is
    with eng.begin() as conn:
        conn.execute(sa.text(
            "insert into audit.file_manifest (file_hash, province, term, source, file_name, size_bytes, encoding,"
            " format, header_line, rows_read, rows_rejected, archive_path, status, run_id)"
            " values (:h, :p, :t, :s, :f, :size, :enc, :fmt, :hl, :n, :rej, :arc, 'staged', :r)"
            " on conflict (province, term, source, file_hash) do update set file_name = excluded.file_name,"
            " rows_read = excluded.rows_read, rows_rejected = excluded.rows_rejected, status = 'staged',"
            " loaded_at = now(), run_id = excluded.run_id"),
            {**key, "f": path.name, "size": path.stat().st_size, "enc": stream.encoding, "fmt": stream.format,
             "hl": stream.header_line, "n": counts["read"], "rej": len(problems), "arc": str(archived),
             "r": run_id})
        failpoint("load")
    elapsed = time.monotonic() - started
    log.info("%s: staged %d rows (%d unreadable) in %.1f s, %s %s%s", path.name, counts["read"], len(problems),
             elapsed, stream.format, stream.encoding or "",
             f", read by COPY in {len(parts)} part{'s' if len(parts) > 1 else ''}" if copied is not None else "")
    return StagedFile(source, path.name, path, file_hash, counts["read"], len(problems), stream.encoding,
                      stream.format, stream.header_line)


def publish_staged(eng: Engine, settings: Settings, term: Term, staged: StagedFile, run_id: str) -> PublishResult:
    """Replace the term's rows of this source in core with the staged file's accepted rows, atomically: the file's
    staging table, its rejected rows deleted, becomes the term's partition (sql/migrations/0190)."""
    source, h = staged.source, staged.file_hash
    if staged.already_published:
        return PublishResult(source, h, 0, 0, 0, 0, already_published=True)
    key = {"p": settings.province, "t": term.code, "s": source, "h": h}
    started = time.monotonic()
    ensure_province_partition(eng, source, settings.province)
    with eng.begin() as conn:
        manifest = conn.execute(sa.text(
            "select rows_read, (select count(*) from audit.row_issues where file_hash = :h and term = :t"
            " and province = :p and rule = 'unreadable_row') as unreadable, (select count(distinct line) from"
            " audit.row_issues where file_hash = :h and term = :t and province = :p and severity = 'rejected'"
            " and rule <> 'unreadable_row') as rejected_staged, to_regclass(:f) is not null as kept"
            " from audit.file_manifest where province = :p and term = :t and source = :s and file_hash = :h"
            " for update"), {**key, "f": file_partition(source, settings.province, h)}).first()
        gone = InputError(f"{staged.file_name}: not staged for {term}, or its staged rows are gone; load it again"
                          " before publishing")
        if manifest is None or not manifest.kept:
            raise gone
        rows_read = manifest.rows_read
        staged_rows = f"staging.{source} s where s.province = :p and s.file_hash = :h"
        if manifest.rejected_staged:
            conn.execute(sa.text(
                f"delete from {staged_rows} and s.line in (select i.line from audit.row_issues i where"
                " i.file_hash = :h and i.term = :t and i.province = :p and i.severity = 'rejected')"), key)
        accepted = conn.execute(sa.text(f"select count(*) from {staged_rows}"), key).scalar()
        # every row read was staged but the unreadable ones, and every staged row is accepted or rejected: fewer
        # means staged rows are gone (and this transaction publishes nothing)
        if accepted + manifest.rejected_staged != rows_read - manifest.unreadable:
            raise gone
        warned = conn.execute(sa.text(
            "select count(distinct line) from audit.row_issues w where w.file_hash = :h and w.term = :t"
            " and w.province = :p and w.severity = 'warning' and not exists (select 1 from audit.row_issues r"
            " where r.file_hash = w.file_hash and r.line = w.line and r.term = w.term and r.province = w.province"
            " and r.severity = 'rejected')"), key).scalar()
        conn.execute(sa.text("set local maintenance_work_mem = '512MB'"))
        conn.execute(sa.text("select core.attach_staged_file(:s, :p, :t, :h)"), key)
        conn.execute(sa.text(
            "update audit.file_manifest set status = 'superseded', superseded_at = now() where province = :p"
            " and term = :t and source = :s and status = 'published' and file_hash <> :h"), key)
        conn.execute(sa.text(
            "update audit.file_manifest set status = 'published', published_at = now(), rows_accepted = :a,"
            " rows_rejected = :rej, rows_warned = :w where province = :p and term = :t and source = :s"
            " and file_hash = :h"), {**key, "a": accepted, "rej": rows_read - accepted, "w": warned})
        failpoint("publish")
    log.info("%s: published %d of %d rows (%d rejected, %d with warnings) in %.1f s", staged.file_name, accepted,
             rows_read, rows_read - accepted, warned, time.monotonic() - started)
    return PublishResult(source, h, rows_read, accepted, rows_read - accepted, warned)
