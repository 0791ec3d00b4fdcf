"""Staging tables, derived from the source definitions in pipelines/sources.py.

`staging.<source>_raw` holds the text of one load exactly as read; `staging.<source>` holds, per row, every raw
value (`<column>_raw`) beside its typed, normalized value (normalized by the SQL functions in
sql/functions/normalize.sql). Validation runs on `staging.<source>`; publishing copies accepted rows into core.
All identifiers here come from our own column definitions, never from input headers.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from ..sources import SOURCES, Column, Source

# kind → (typed columns it produces: [(name, sql type, expression over the raw value)])
_TYPED = {
    "id": lambda c: [("id_number", "text", "kcbx.norm_id({r})"),
                     ("id_valid", "boolean", "kcbx.id_valid(kcbx.norm_id({r}))")],
    "name": lambda c: [(c.name, "text", "kcbx.norm_name({r})"), ("name_key", "text", "kcbx.name_key({r})")],
    "gender": lambda c: [(c.name, "text", "kcbx.norm_gender({r})")],
    "date": lambda c: [(c.name, "date", "kcbx.parse_date({r})")],
    "grade": lambda c: [(c.name, "smallint", "kcbx.norm_grade({r})")],
    "region": lambda c: [(c.name, "text", "kcbx.norm_region({r})")],
    "int": lambda c: [(c.name, "int",
                       "case when btrim(kcbx.halfwidth({r})) ~ '^[0-9]{{1,9}}$' then btrim(kcbx.halfwidth({r}))::int end")],
    "school_id": lambda c: [(c.name, "text", "nullif(btrim(kcbx.halfwidth({r})), '')")],
    "student_no": lambda c: [(c.name, "text", "kcbx.norm_compact({r})")],
    "code": lambda c: [(c.name, "text", "kcbx.norm_code({r})")],
    "text": lambda c: [(c.name, "text", "nullif(btrim({r}), '')")],
}


def typed_columns(col: Column) -> list[tuple[str, str, str]]:
    raw = f"{col.name}_raw"
    return [(name, typ, expr.format(r=raw)) for name, typ, expr in _TYPED[col.kind](col)]


def raw_table_ddl(src: Source) -> str:
    cols = ", ".join(f"{c.name} text" for c in src.columns)
    return (f"create unlogged table if not exists staging.{src.name}_raw "
            f"(file_hash text not null, line int not null, {cols})")


def staged_table_ddl(src: Source) -> str:
    parts = ["province text not null", "term text not null", "file_hash text not null", "line int not null"]
    for c in src.columns:
        parts.append(f"{c.name}_raw text")
        parts += [f"{name} {typ}" for name, typ, _ in typed_columns(c)]
    return f"create unlogged table if not exists staging.{src.name} ({', '.join(parts)})"


def normalize_sql(src: Source, relation: str | None = None) -> str:
    """INSERT … SELECT from staging.<source>_raw (or `relation`, with the same columns) into staging.<source> for
    one file (:file_hash), the rows whose line falls in one of :parts parts (:part), so that several sessions can
    share a large file."""
    targets = ["province", "term", "file_hash", "line"]
    exprs = [":province", ":term", "file_hash", "line"]
    for c in src.columns:
        targets.append(f"{c.name}_raw")
        exprs.append(c.name)
        for name, _, expr in typed_columns(c):
            targets.append(name)
            exprs.append(expr.replace(f"{c.name}_raw", c.name))
    return (f"insert into staging.{src.name} ({', '.join(targets)}) "
            f"select {', '.join(exprs)} from {relation or f'staging.{src.name}_raw'} where file_hash = :file_hash"
            f" and line % :parts = :part")


def ensure_staging_tables(conn: Connection) -> None:
    from ..db import exec_script
    for src in SOURCES.values():
        exec_script(conn, raw_table_ddl(src))
        exec_script(conn, staged_table_ddl(src))
        # no index: staging holds the files of the sweep under way, read whole; an index would only slow the load
        exec_script(conn, f"drop index if exists staging.{src.name}_file")
