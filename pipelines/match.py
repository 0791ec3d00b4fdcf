"""The 四查三比对 comparisons: runs sql/match/*.sql in order, in one transaction, for one province and term.

The previous results of the same province and term are replaced, so re-running gives identical results. What each
file decides is documented in the file itself and in docs/matching.md.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import SQL_DIR
from .config import Settings
from .db import run_sql
from .faults import failpoint
from .terms import Term

log = logging.getLogger("kcbx.match")

MATCH_TABLES = ["match.person_term", "match.findings", "match.suspect_outcomes", "match.review_queue",
                "match.unregistered_attendees", "report.school_reconciliation"]


def match_params(settings: Settings, term: Term) -> dict:
    return {"province": settings.province, "term": term.code, "prev_term": term.previous().code,
            "term_start": term.start_date, "age_cutoff": term.age_cutoff, "school_year": term.school_year,
            "age_min": settings.school_age_min, "age_max": settings.school_age_max}


def run_matching(eng: Engine, settings: Settings, term: Term) -> dict[str, int]:
    params = match_params(settings, term)
    with eng.begin() as conn:
        conn.execute(sa.text("set local work_mem = '256MB'"))
        for table in MATCH_TABLES:
            conn.execute(sa.text(f"delete from {table} where province = :province and term = :term"), params)
        for path in sorted((SQL_DIR / "match").glob("*.sql")):
            run_sql(conn, f"match/{path.name}", params)
        counts = dict(conn.execute(sa.text(
            "select 'finding_' || case_type, count(*) from match.findings where province = :province and term = :term"
            " group by 1 union all select 'status_' || status, count(*) from match.person_term"
            " where province = :province and term = :term group by 1 union all"
            " select 'review_queue', count(*) from match.review_queue where province = :province and term = :term"
            " union all select 'unregistered_attendees', count(*) from match.unregistered_attendees"
            " where province = :province and term = :term"), params).all())
        failpoint("match")
    log.info("matching %s: %s", term, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                                                 if k.startswith(("finding_", "review", "unreg"))))
    return counts
