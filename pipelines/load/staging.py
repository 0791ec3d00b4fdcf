"""Staging tables, derived from the source definitions in pipelines/sources.py.

`staging.<source>` holds, per row of a file being loaded, every raw value (`<column>_raw`) beside its typed,
normalized value. The typed columns are stored generated columns (expressions of sql/functions/normalize.sql), so
PostgreSQL computes them while COPY writes the row: loading is one pass, whichever way the file is read.

The table is partitioned by province, each province's partition by file (`file_hash`: several provinces swept at
once may send the same file), and each file's partition by line range into one leaf per COPY session. A leaf's
defaults supply province, term, file hash and line number (a sequence starting at the leaf's first line), so COPY
reads nothing but the file's own fields. Validation reads `staging.<source>` filtered on the province and the
file's hash; publishing deletes the rejected rows from the file's partition and makes that table the term's
partition in core (sql/migrations/0190_publish_staged_file.sql): the rows are written once.
All identifiers here come from our own column definitions, never from input headers.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import exec_script, sql_literal
from ..sources import SOURCES, Column, Source

# kind → (typed columns it produces: [(name, sql type, expression over the raw value)]); id_valid is never null, as
# in core, so that a staged file is a core partition without a scan to prove it (sql/migrations/0220)
_TYPED = {
    "id": lambda c: [("id_number", "text", "kcbx.norm_id({r})"),
                     ("id_valid", "boolean not null", "kcbx.raw_id_valid({r})")],
    "name": lambda c: [(c.name, "text", "kcbx.norm_name({r})"), ("name_key", "text", "kcbx.name_key({r})")],
    "gender": lambda c: [(c.name, "text", "kcbx.norm_gender({r})")],
    "date": lambda c: [(c.name, "date", "kcbx.parse_date({r})")],
    "grade": lambda c: [(c.name, "smallint", "kcbx.norm_grade({r})")],
    "region": lambda c: [(c.name, "text", "kcbx.norm_region({r})")],
    "int": lambda c: [(c.name, "int", "kcbx.norm_int({r})")],
    "school_id": lambda c: [(c.name, "text", "kcbx.norm_school_id({r})")],
    "student_no": lambda c: [(c.name, "text", "kcbx.norm_compact({r})")],
    # a value the contract allows, as written, needs no normalizing (a list test is cheaper than norm_code's)
    "code": lambda c: [(c.name, "text", "case when {r} in (" + ", ".join(map(sql_literal, c.allowed))
                        + ") then {r} else kcbx.norm_code({r}) end" if c.allowed else "kcbx.norm_code({r})")],
    "text": lambda c: [(c.name, "text", "kcbx.norm_text({r})")],
}


def typed_columns(col: Column) -> list[tuple[str, str, str]]:
    raw = f"{col.name}_raw"
    return [(name, typ, expr.format(r=raw)) for name, typ, expr in _TYPED[col.kind](col)]


def staged_table_ddl(src: Source) -> str:
    # the typed values first: a published file keeps its raw values as dropped columns after them, which a scan of
    # the typed ones then never has to step over
    parts = ["province text not null", "term text not null", "file_hash text not null", "line int not null"]
    parts += [f"{name} {typ} generated always as ({expr}) stored" for c in src.columns
              for name, typ, expr in typed_columns(c)]
    parts += [f"{c.name}_raw text" for c in src.columns]
    return f"create table staging.{src.name} ({', '.join(parts)}) partition by list (province)"


def file_partition(source: str, province: str, file_hash: str) -> str:
    return f"staging.{source}_{province}_{file_hash[:16]}"


def create_file_partition(conn: Connection, source: str, province: str, term: str, file_hash: str,
                          first_lines: list[int]) -> list[str]:
    """A fresh partition of staging.<source> for one file, with one leaf per entry of `first_lines` (the file line
    that leaf's rows start at); returns the leaves, in order. Rows COPYed into a leaf number their lines from it."""
    conn.execute(sa.text(
        f"create table if not exists staging.{source}_{province} partition of staging.{source}"
        f" for values in ({sql_literal(province)}) partition by list (file_hash)"))
    parent = file_partition(source, province, file_hash)
    conn.execute(sa.text(f"drop table if exists {parent}"))
    conn.execute(sa.text(f"create table {parent} partition of staging.{source}_{province}"
                         f" for values in ({sql_literal(file_hash)}) partition by range (line)"))
    # the check core's partition of the term needs, made while the table is empty and kept by every row COPY writes:
    # publishing then has no scan to make (sql/migrations/0220_publish_without_a_scan.sql)
    conn.execute(sa.text(f"alter table {parent} add constraint province_term"
                         f" check (province = {sql_literal(province)} and term = {sql_literal(term)})"))
    leaves = []
    for i, first in enumerate(first_lines):
        leaf, upper = f"{parent}_{i}", (str(first_lines[i + 1]) if i + 1 < len(first_lines) else "maxvalue")
        # crash-safe, as the core partition it becomes when the file is published (sql/migrations/0190); written by
        # COPY in the transaction that truncates it, so without WAL under wal_level minimal (loader._copy_parts)
        conn.execute(sa.text(
            f"create table {leaf} partition of {parent} for values from ({first}) to ({upper})"
            " with (autovacuum_enabled = false)"))
        # one COPY session per leaf takes the sequence's values, so a cache keeps them consecutive and spares a
        # visit to the sequence for every row
        conn.execute(sa.text(f"create sequence {leaf}_line start with {first} cache 10000 owned by {leaf}.line"))
        conn.execute(sa.text(
            f"alter table {leaf} alter column province set default {sql_literal(province)},"
            f" alter column term set default {sql_literal(term)},"
            f" alter column file_hash set default {sql_literal(file_hash)},"
            f" alter column line set default nextval('{leaf}_line')"))
        leaves.append(leaf)
    return leaves


def _signature(ddl: str) -> str:
    return "kcbx staging " + hashlib.sha256(ddl.encode()).hexdigest()[:16]


def ensure_staging_tables(conn: Connection) -> None:
    """Create staging.<source> as the source definitions say; a table of an older definition is replaced (staging
    holds only files being loaded, and publishing refuses a file whose staged rows are gone)."""
    for src in SOURCES.values():
        ddl = staged_table_ddl(src)
        current = conn.execute(sa.text("select obj_description(to_regclass(:t), 'pg_class')"),
                               {"t": f"staging.{src.name}"}).scalar()
        if current == _signature(ddl):
            continue
        exec_script(conn, f"drop table if exists staging.{src.name}_raw;"
                          f" drop table if exists staging.{src.name} cascade")
        exec_script(conn, ddl)
        exec_script(conn, f"comment on table staging.{src.name} is {sql_literal(_signature(ddl))}")
