"""The case ledger (台账 动态销号): sweeps and follow-ups drive each case through its states.

The SQL under sql/ledger/ does the work (one transaction per call); the state machine and append-only rules are
enforced in the database itself (sql/migrations/0040_ledger.sql). See docs/ledger.md.
"""
from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .. import SQL_DIR
from ..config import Settings
from ..db import run_sql
from ..errors import LedgerError
from ..faults import failpoint
from ..terms import Term

log = logging.getLogger("kcbx.ledger")

SWEEP_STEPS = sorted(p.name for p in (SQL_DIR / "ledger").glob("0*.sql"))


def _counts(conn, province: str, term: str) -> dict[str, int]:
    return dict(conn.execute(sa.text(
        "select 'opened', count(*) from ledger.cases where province = :p and opened_term = :t"
        " union all select 'relapses', count(*) from ledger.cases where province = :p and opened_term = :t"
        "   and relapse_of is not null"
        " union all select 'events_' || e.to_status, count(*) from ledger.case_events e join ledger.cases c"
        "   using (case_id) where c.province = :p and e.term = :t group by e.to_status"
        # each case's latest event, picked from all of the province's at once (ledger.case_state, a lookup per case
        # and more columns than needed, took 2 s at 250,000 cases)
        " union all select 'open_cases', count(*) from (select distinct on (e.case_id) e.to_status"
        "   from ledger.case_events e join ledger.cases c using (case_id) where c.province = :p"
        "   order by e.case_id, e.seq desc) s where to_status not in ('closed', 'excluded')"
        " union all select 'unmatched_followups', count(*) from ledger.unmatched_followups where province = :p"
        "   and term = :t"
        " union all select 'refused_followups', count(*) from ledger.refused_followups where province = :p"
        "   and term = :t"), {"p": province, "t": term}).all())


def later_swept_terms(conn: sa.Connection, province: str, term: Term) -> list[Term]:
    """Terms newer than `term` already in the ledger, oldest first."""
    codes = conn.execute(sa.text("select term from ledger.swept_terms where province = :p"), {"p": province})
    return sorted(t for t in map(Term.parse, codes.scalars()) if t > term)


def older_term_refused(term: Term, newer: list[Term]) -> LedgerError:
    return LedgerError(f"{term} is older than {newer[-1]}, already in the ledger; the ledger only moves forward "
                       f"(its history is append-only); to redo the ledger from {term} on, sweep it with "
                       f"--rebuild-ledger")


# The sweep's steps join a term's cases (hundreds of thousands in a large province) to its findings and to the
# ten million rows of match.person_term: hashed in memory, not in batches written to temporary files.
SESSION_SETTINGS = ("set local work_mem = '64MB'",)


def begin_ledger(conn, params: dict, rebuild: bool) -> None:
    """Prepare a ledger transaction: its session settings and, with `rebuild`, the ledger work of the term in
    `params` and of every newer one taken out (ledger.rebuild_from)."""
    for setting in SESSION_SETTINGS:
        conn.execute(sa.text(setting))
    if rebuild:
        conn.execute(sa.text("select ledger.rebuild_from(:province, :term, cast(:run_id as uuid))"), params)


def update_ledger(eng: Engine, settings: Settings, term: Term, run_id: str | None, rebuild: bool = False) -> dict:
    """The sweep's ledger steps for `term`, in one transaction.

    A term older than the newest one in the ledger is refused, unless `rebuild`: then the ledger work of `term` and
    of every newer swept term is taken out (kept in ledger.superseded, see sql/migrations/0070_ledger_rebuilds.sql)
    and redone in term order from the matching results of those terms.
    """
    params = {"province": settings.province, "term": term.code, "run_id": run_id}
    with eng.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(7303000 + cast(:province as int))"), params)
        newer = later_swept_terms(conn, settings.province, term)
        if newer and not rebuild:
            raise older_term_refused(term, newer)
        terms = [term, *newer] if rebuild else [term]
        begin_ledger(conn, params, rebuild)
        for t in terms:
            conn.execute(sa.text("discard temp"))  # the steps' temp tables, made again for each term
            for step in SWEEP_STEPS:
                run_sql(conn, f"ledger/{step}", {**params, "term": t.code})
        counts = _counts(conn, settings.province, term.code)
        failpoint("ledger")
    if rebuild:
        counts["rebuilt_terms"] = [t.code for t in terms]
    log.info("ledger %s: %s", term, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def apply_followups(eng: Engine, settings: Settings, term: Term, run_id: str | None,
                    as_of: date | None = None) -> dict:
    """Follow-up and exemption files that arrive between sweeps (the inbox)."""
    params = {"province": settings.province, "term": term.code, "run_id": run_id, "as_of": as_of or date.today()}
    with eng.begin() as conn:
        run_sql(conn, "ledger/02_apply_followups.sql", params)
        run_sql(conn, "ledger/apply_exemptions.sql", params)
        return _counts(conn, settings.province, term.code)


def replay(eng: Engine, province: str) -> list[tuple]:
    """The ledger recomputed from its events alone: (case_id, status, closure_reason, closed_term) per case."""
    state: dict[int, tuple] = {}
    with eng.connect() as conn:
        for case_id, to_status, reason, term in conn.execute(sa.text(
                "select e.case_id, e.to_status, e.closure_reason, e.term from ledger.case_events e"
                " join ledger.cases c using (case_id) where c.province = :p order by e.case_id, e.seq"),
                {"p": province}):
            final = to_status in ("closed", "excluded")
            state[case_id] = (case_id, to_status, reason if final else None, term if final else None)
    return [state[k] for k in sorted(state)]
