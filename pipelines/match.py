"""The 四查三比对 comparisons for one province and term: runs sql/match/*.sql in order.

Matching (run_matching) runs every file but the school reconciliation, in one transaction, and leaves its work
tables behind; the school reconciliation (reconcile_schools, sql/match/06_school_reconciliation.sql) reads them in a
transaction of its own and drops them. The sweep runs the reconciliation beside the ledger and the report tables,
which read only what matching committed and keep one core busy. The previous results of the same province and term
are replaced, so re-running gives identical results. What each file decides is documented in the file itself and in
docs/matching.md.
"""
from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import SQL_DIR
from .config import Settings
from .db import ensure_province_partition, sql_literal
from .errors import KcbxError
from .faults import failpoint
from .terms import Term

log = logging.getLogger("kcbx.match")

# the term's rows of these are deleted by each run and written again
MATCH_TABLES = ["match.suspect_outcomes", "match.review_queue", "match.unregistered_attendees"]
# these are replaced a partition at a time: made and attached by 03 and 04 (core.attach_work_table)
PARTITIONED_MATCH_TABLES = ["match.person_term", "match.findings"]
SCHOOL_RECONCILIATION = SQL_DIR / "match" / "06_school_reconciliation.sql"


# Every join of a province's term is an equi-join of millions of rows on both sides: hashing them (in memory, with
# this work_mem) beats sorting them for merge joins, which the planner prefers on multi-column keys. The work tables
# are unlogged tables (temporary ones cannot be read by parallel workers), so the big joins run as parallel hash
# joins; the planner's default cost of passing a row from a worker would keep them serial, although the leader
# writing the rows while the workers join them is 1.7 times faster at ten million rows (registry ⋈ hukou, 2 cores).
SESSION_SETTINGS = ("set local work_mem = '256MB'", "set local enable_mergejoin = off",
                    "set local parallel_tuple_cost = 0.01")


def work_schema(province: str) -> str:
    """The schema of one province's matching work tables (provinces matched at once do not meet): made afresh by
    each matching, dropped by the school reconciliation that reads them. A run stopped between the two leaves it to
    the next matching."""
    return f"match_work_{province}"


def match_params(settings: Settings, term: Term) -> dict:
    return {"province": settings.province, "term": term.code, "prev_term": term.previous().code,
            "term_start": term.start_date, "age_cutoff": term.age_cutoff, "school_year": term.school_year,
            "age_min": settings.school_age_min, "age_max": settings.school_age_max}


def _set_session(conn) -> None:
    for setting in SESSION_SETTINGS:
        conn.execute(sa.text(setting))


def begin_matching(conn, params: dict) -> list[tuple[Path, str]]:
    """Prepare the matching transaction of one province and term: its session settings and work schema, the
    previous results taken out. Returns the files of sql/match/ except the school reconciliation, in order."""
    _set_session(conn)
    schema = work_schema(params["province"])
    conn.execute(sa.text(f"drop schema if exists {schema} cascade"))
    conn.execute(sa.text(f"create schema {schema}"))
    conn.execute(sa.text(f"set local search_path = {schema}"))  # the files name their work tables unqualified
    for table in MATCH_TABLES:
        conn.execute(sa.text(f"delete from {table} where province = :province and term = :term"), params)
    return [(path, path.read_text(encoding="utf-8")) for path in sorted((SQL_DIR / "match").glob("*.sql"))
            if path != SCHOOL_RECONCILIATION]


def _keep_from_autovacuum(conn, schema: str) -> None:
    """Autovacuum off for every work table, before matching commits them: only this matching and the school
    reconciliation read them (having analyzed what they need), and a vacuum of ten million rows, started once they
    are committed, took a core from the reconciliation and the ledger until the reconciliation's drop cancelled it."""
    conn.execute(sa.text(
        "do $$ declare t regclass; begin for t in select c.oid from pg_class c"
        f" where c.relnamespace = {sql_literal(schema)}::regnamespace and c.relkind = 'r' loop"
        " execute format('alter table %s set (autovacuum_enabled = false)', t); end loop; end $$"))


def run_matching(eng: Engine, settings: Settings, term: Term) -> dict[str, int]:
    params = match_params(settings, term)
    for table in PARTITIONED_MATCH_TABLES:
        ensure_province_partition(eng, table, settings.province)
    with eng.begin() as conn:
        for _path, sql in begin_matching(conn, params):
            conn.execute(sa.text(sql), params)
        _keep_from_autovacuum(conn, work_schema(settings.province))
        # (each name built once per group: built on each of ten million rows, it cost half a second more)
        counts = dict(conn.execute(sa.text(
            "select 'finding_' || case_type, n from (select case_type, count(*) as n from match.findings"
            " where province = :province and term = :term group by 1) f union all select 'status_' || status, n"
            " from (select status, count(*) as n from match.person_term where province = :province and term = :term"
            " group by 1) p union all"
            " select 'review_queue', count(*) from match.review_queue where province = :province and term = :term"
            " union all select 'unregistered_attendees', count(*) from match.unregistered_attendees"
            " where province = :province and term = :term"), params).all())
        failpoint("match")
    log.info("matching %s: %s", term, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                                                 if k.startswith(("finding_", "review", "unreg"))))
    return counts


def reconcile_schools(eng: Engine, settings: Settings) -> dict:
    """The school reconciliation (三比对) of the term the province's last matching left its work tables for, in one
    transaction that then drops them. Its term and the number of schools."""
    schema = work_schema(settings.province)
    with eng.begin() as conn:
        _set_session(conn)
        # t_files holds a row while the work tables do: an unlogged table is emptied when the server restarts
        kept = conn.execute(sa.text("select to_regclass(:t)"), {"t": f"{schema}.t_files"}).scalar()
        term = kept and conn.execute(sa.text(f"select term from {schema}.t_files")).scalar()
        if not term:
            raise KcbxError(f"no matching results of province {settings.province} to reconcile schools with (a run"
                            " stopped before, or a server restart emptied them): sweep the term again")
        params = match_params(settings, Term.parse(term))
        conn.execute(sa.text(f"set local search_path = {schema}"))
        conn.execute(sa.text("delete from report.school_reconciliation where province = :province and term = :term"),
                     params)
        conn.execute(sa.text(SCHOOL_RECONCILIATION.read_text(encoding="utf-8")), params)
        schools = conn.execute(sa.text("select count(*) from report.school_reconciliation"
                                       " where province = :province and term = :term"), params).scalar()
        conn.execute(sa.text(f"drop schema {schema} cascade"))
        failpoint("reconcile")
    log.info("school reconciliation %s: %d schools", term, schools)
    return {"term": term, "schools": schools}
