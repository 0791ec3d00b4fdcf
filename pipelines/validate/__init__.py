"""Validation of staged files with Great Expectations, on the PostgreSQL staging tables.

For one staged file: every rule (pipelines/validate/rules.py, expectations/*.json) runs as a GX expectation and
its offending rows go to `audit.row_issues`; batch-level expectations (required columns, volume drift against the
previous term, the share of rejected rows) decide whether the sweep may go on. One row per expectation goes to
`audit.validation_runs`, with the full GX result.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..config import Settings
from ..faults import failpoint
from ..sources import SOURCES
from ..terms import Term
from .gx_runner import GxExpectation, run_suite, render_data_docs  # noqa: F401 - re-exported
from .rules import Rule, duplicate_where, file_rows, rules_for

log = logging.getLogger("kcbx.validate")


@dataclass
class ValidationOutcome:
    source: str
    file_hash: str
    rows_checked: int
    rows_rejected: int
    rows_warned: int
    batch_failures: list[str] = field(default_factory=list)
    run_id: str | None = None


def _params(settings: Settings, term: Term, file_hash: str) -> dict:
    return {"province": settings.province, "term": term.code, "term_start": term.start_date,
            "age_cutoff": term.age_cutoff, "age_min": settings.school_age_min, "age_max": settings.school_age_max,
            "grade_tolerance": settings.grade_age_tolerance, "file_hash": file_hash}


# A rule with a subquery (duplicates, a school missing from the registry) is evaluated in a statement of its own,
# where PostgreSQL runs the subquery once instead of once for every row.
_SUBQUERY = re.compile(r"\bselect\b", re.I)


def _evaluate_rules(conn, source: str, rules: list[Rule], params: dict) -> str:
    """Evaluate every rule on every staged row of the file in one scan, keeping the rows some rule flags.

    The result is a table `staging.checks_<province>_<hash>`: one row per problem line, with the raw values of the
    columns the rules name (`<column>_raw`) and one boolean per rule (`r0`, `r1`, … in the order of `rules`); a line
    no rule flags has no row. GX validates this table, and the problem rows recorded in `audit.row_issues` come from
    it, so the Data Docs and the audit trail cannot differ. A clean file gives an empty table, which every rule's
    expectation reads in no time.
    """
    table = f"staging.checks_{params['province']}_{params['file_hash'][:16]}"
    joined = {i for i, r in enumerate(rules) if _SUBQUERY.search(r.where)}
    local = {i: f"coalesce({r.where}, false)" for i, r in enumerate(rules) if i not in joined}
    columns = sorted({r.column for r in rules if r.column})
    raws, b_raws = "".join(f", {c}_raw" for c in columns), "".join(f", b.{c}_raw" for c in columns)
    rows_b = file_rows(source, alias="b")
    conn.execute(sa.text(f"drop table if exists {table}"))
    # The row-local rules in one scan: their flags are computed in the WHERE clause for every row and in the select
    # list only for the problem rows. Few rows leave the scan, so PostgreSQL runs it in parallel workers.
    flags = "".join(f", {local[i]} as r{i}" if i in local else f", false as r{i}" for i in range(len(rules)))
    conn.execute(sa.text(f"create unlogged table {table} with (autovacuum_enabled = false) as"
                         f" select b.line{b_raws}{flags} from {rows_b}"
                         f" and ({' or '.join(local.values()) or 'false'})"), params)
    if joined:
        conn.execute(sa.text(f"alter table {table} " + ", ".join(
            f"alter column r{i} set default false" for i in range(len(rules)))))
    for i in sorted(joined):
        hits = (_duplicate_lines(conn, source, rules[i], params, raws) if rules[i].duplicate_key
                else f"select b.line{b_raws} from {rows_b} and ({rules[i].where})")
        # the rule's lines found first, by parallel workers (a statement that also writes runs in one process)
        conn.execute(sa.text("drop table if exists pg_temp.rule_hits"))
        conn.execute(sa.text(f"create temp table rule_hits on commit drop as {hits}"), params)
        conn.execute(sa.text(
            f"with flagged as (update {table} c set r{i} = true from pg_temp.rule_hits hit where c.line = hit.line"
            f" returning c.line) insert into {table} (line{raws}, r{i}) select line{raws}, true"
            f" from pg_temp.rule_hits where line not in (select line from flagged)"))
    conn.execute(sa.text(f"analyze {table}"))
    return table


def _duplicate_lines(conn, source: str, rule: Rule, params: dict, raws: str) -> str:
    """The query of a duplicate rule's lines (the rows its `where` finds, with the raw values `raws` lists), in two
    steps.

    Grouping ten million text keys takes long. So the 64-bit hashes of the keys that repeat are found first
    (kcbx.repeated_hashes, sql/functions/repeated_keys.sql), into a temporary table: usually none or a few. Only
    the rows with such a hash are then grouped by the key itself. Equal keys have equal hashes, so no duplicate is
    missed, and keys sharing a hash are told apart by the second grouping."""
    hashed = "0"
    for part in rule.duplicate_key:
        hashed = f"hashtextextended({part}, {hashed})"
    conn.execute(sa.text("drop table if exists pg_temp.repeated_key_hashes"))  # a file's previous duplicate rule
    conn.execute(sa.text(f"create temp table repeated_key_hashes on commit drop as"
                         f" select unnest(kcbx.repeated_hashes({hashed})) as h from {file_rows(source, rule.among)}"),
                 params)
    conn.execute(sa.text("analyze pg_temp.repeated_key_hashes"))
    repeated = f"{hashed} in (select h from pg_temp.repeated_key_hashes)"
    return (f"select line{raws} from {file_rows(source)} and {repeated}"
            f" and {duplicate_where(source, rule.duplicate_key, rule.among, narrowed_by=repeated)}")


def _record_row_issues(conn, source: str, file_name: str, rules: list[Rule], checks: str, params: dict,
                       run_id) -> None:
    conn.execute(sa.text("delete from audit.row_issues where file_hash = :file_hash and term = :term and"
                         " province = :province and rule <> 'unreadable_row'"), params)
    if not rules:
        return
    issues = ", ".join(f"(c.r{i}, :rule{i}, :column{i}, {f'c.{r.column}_raw' if r.column else 'null::text'},"
                       f" :severity{i}, :message{i})" for i, r in enumerate(rules))
    bound = {f"{k}{i}": v for i, r in enumerate(rules)
             for k, v in (("rule", r.name), ("column", r.column), ("severity", r.severity), ("message", r.message))}
    conn.execute(sa.text(
        f"insert into audit.row_issues (file_hash, province, term, source, file_name, line, column_name, value,"
        f" rule, severity, message, run_id) select :file_hash, :province, :term, :source, :file_name, c.line,"
        f" r.column_name, left(r.value, 200), r.rule, r.severity, r.message, :run_id from {checks} c"
        f" cross join lateral (values {issues}) r(failed, rule, column_name, value, severity, message)"
        f" where r.failed"),
        {**params, **bound, "source": source, "file_name": file_name, "run_id": run_id})


def validate_staged(eng: Engine, settings: Settings, term: Term, source: str, file_hash: str, file_name: str,
                    run_id: str | None) -> ValidationOutcome:
    params = _params(settings, term, file_hash)
    rules = rules_for(source)
    with eng.begin() as conn:
        rows_read = conn.execute(sa.text(
            "select rows_read from audit.file_manifest where province = :province and term = :term and"
            " source = :s and file_hash = :file_hash"), {**params, "s": source}).scalar() or 0
        previous = conn.execute(sa.text(
            "select rows_read from audit.file_manifest where province = :province and source = :s and"
            " term = :prev and status in ('published', 'superseded') order by published_at desc limit 1"),
            {**params, "s": source, "prev": term.previous().code}).scalar()
        # the duplicate rules group a whole file by person: in memory rather than in temporary files
        conn.execute(sa.text("set local work_mem = '256MB'"))
        checks = _evaluate_rules(conn, source, rules, params)
        _record_row_issues(conn, source, file_name, rules, checks, params, run_id)

    expectations = [GxExpectation("unexpected_rows_expectation",
                                  {"unexpected_rows_query": f"select line from {{batch}} where r{i}"},
                                  r.severity, r.name, r.message, r.where) for i, r in enumerate(rules)]
    suites = {f"kcbx_{source}": run_suite(settings, source, f"select * from {checks}", expectations)}
    drift_bounds = None
    if previous and SOURCES[source].volume_steady:
        # the volume is counted on the staged file itself (the checks table holds only its problem rows)
        lo = int(previous * (1 - settings.volume_drift_limit))
        hi = int(previous * (1 + settings.volume_drift_limit)) + 1
        drift_bounds = (lo, hi)
        staged = (f"select line from staging.{source} where province = '{params['province']}'"
                  f" and file_hash = '{file_hash}'")
        suites[f"kcbx_{source}_volume"] = run_suite(settings, f"{source}_volume", staged, [GxExpectation(
            "expect_table_row_count_to_be_between", {"min_value": lo, "max_value": hi}, "batch", "volume_drift")])
    results = [r for rs in suites.values() for r in rs]

    with eng.begin() as conn:
        conn.execute(sa.text(f"drop table {checks}"))
        counts = conn.execute(sa.text(
            "select count(distinct line) filter (where severity = 'rejected'),"
            " count(distinct line) filter (where severity = 'warning' and line not in (select line from"
            "   audit.row_issues r where r.file_hash = :file_hash and r.term = :term and r.province = :province"
            "   and r.severity = 'rejected' and r.line is not null))"
            " from audit.row_issues where file_hash = :file_hash and term = :term and province = :province"),
            params).one()
        rejected, warned = counts[0] or 0, counts[1] or 0
        share = rejected / rows_read if rows_read else 0.0
        failures: list[str] = []
        for res in results:
            if res.expectation.severity == "batch" and not res.success:
                if res.expectation.name == "volume_drift":
                    change = (rows_read - previous) / previous * 100
                    failures.append(f"{file_name}: volume drift: {rows_read} rows against {previous} last term "
                                    f"({change:+.0f} %, limit ±{settings.volume_drift_limit * 100:.0f} %) "
                                    f"[expect_table_row_count_to_be_between]")
                else:
                    failures.append(f"{file_name}: {res.expectation.name}: failed [{res.expectation.type}]")
        share_ok = share <= settings.reject_share_limit
        if not share_ok:
            failures.append(f"{file_name}: {rejected} of {rows_read} rows rejected ({share:.1%}, limit "
                            f"{settings.reject_share_limit:.0%}) [rejected_share_at_most]; see `kcbx audit --term "
                            f"{term.code}`")
        rows = [{"run_id": run_id, "province": settings.province, "term": term.code, "source": source,
                 "file_hash": file_hash, "suite": suite, "expectation": f"{r.expectation.type}:"
                 f"{r.expectation.name}", "kwargs": json.dumps(r.expectation.kwargs, ensure_ascii=False),
                 "success": r.success, "observed": None if r.observed is None else str(r.observed),
                 "unexpected": r.unexpected_count, "severity": r.expectation.severity,
                 "result": json.dumps(r.raw, ensure_ascii=False, default=str)}
                for suite, rs in suites.items() for r in rs]
        rows.append({"run_id": run_id, "province": settings.province, "term": term.code, "source": source,
                     "file_hash": file_hash, "suite": f"kcbx_{source}", "expectation": "rejected_share_at_most",
                     "kwargs": json.dumps({"max_share": settings.reject_share_limit}), "success": share_ok,
                     "observed": f"{share:.4f}", "unexpected": rejected, "severity": "batch",
                     "result": json.dumps({"rows_read": rows_read, "rows_rejected": rejected})})
        conn.execute(sa.text(
            "insert into audit.validation_runs (run_id, province, term, source, file_hash, suite, expectation,"
            " kwargs, success, observed_value, unexpected_count, severity, result) values (:run_id, :province,"
            " :term, :source, :file_hash, :suite, :expectation, cast(:kwargs as jsonb), :success, :observed,"
            " :unexpected, :severity, cast(:result as jsonb))"), rows)
        conn.execute(sa.text(
            "update audit.file_manifest set status = 'validated', rows_rejected = :rej, rows_warned = :w"
            " where province = :province and term = :term and source = :s and file_hash = :file_hash"),
            {**params, "rej": rejected, "w": warned, "s": source})
        failpoint("validate")
    log.info("%s: validated %d rows: %d rejected, %d with warnings, %d failed expectation(s)%s", file_name,
             rows_read, rejected, warned, sum(not r.success for r in results),
             f"; drift bounds {drift_bounds}" if drift_bounds else "")
    return ValidationOutcome(source, file_hash, rows_read, rejected, warned, failures, run_id)


def audit_summary(eng: Engine, settings: Settings, term: Term) -> str:
    """Per source: rows read / accepted / rejected / warned, failed expectations, and where the Data Docs are."""
    with eng.connect() as c:
        files = c.execute(sa.text(
            "select source, file_name, left(file_hash, 12), status, rows_read, rows_accepted, rows_rejected,"
            " rows_warned from audit.file_manifest where province = :p and term = :t"
            " order by source, loaded_at"), {"p": settings.province, "t": term.code}).all()
        failed = c.execute(sa.text(
            "select v.source, v.expectation, v.observed_value, v.unexpected_count, v.severity"
            " from audit.validation_runs v where v.province = :p and v.term = :t and not v.success"
            " and v.validated_at = (select max(w.validated_at) from audit.validation_runs w"
            "   where w.file_hash = v.file_hash and w.province = v.province and w.term = v.term)"
            " order by 1, 2"), {"p": settings.province, "t": term.code}).all()
        runs = c.execute(sa.text(
            "select started_at, outcome, accept_failures, accepted_by, accept_reason, message from kcbx.runs"
            " where province = :p and term = :t and command = 'sweep' order by started_at"),
            {"p": settings.province, "t": term.code}).all()
    out = [f"Validation of {term.code}, province {settings.province}", ""]
    if not files:
        return "\n".join(out + ["no files loaded for this term"])
    out.append(f"{'source':<18}{'file':<24}{'sha256':<14}{'status':<12}{'read':>9}{'accepted':>10}"
               f"{'rejected':>10}{'warned':>9}")
    for s, name, h, st, r, a, rej, w in files:
        out.append(f"{s:<18}{name[:23]:<24}{h:<14}{st:<12}{r or 0:>9}{a if a is not None else '-':>10}"
                   f"{rej or 0:>10}{w or 0:>9}")
    out += ["", "failed expectations:" if failed else "failed expectations: none"]
    for s, e, obs, n, sev in failed:
        out.append(f"  {s:<18}{e:<60} {sev:<9} unexpected {n if n is not None else '-'} observed {obs}")
    if runs:
        out += ["", "sweeps:"]
        for started, outcome, acc, by, why, msg in runs:
            extra = f" (failures accepted by {by}: {why})" if acc else ""
            out.append(f"  {started:%Y-%m-%d %H:%M} {outcome or 'running'}{extra}{': ' + msg if msg else ''}")
    out += ["", f"Data Docs: {settings.data_docs_dir.resolve() / 'index.html'}"]
    return "\n".join(out)
