"""A step's SQL statement by statement, with timings and query plans, on a database a benchmark has swept.

    .venv/bin/python -m bench.explain_step --children 1000000 [--top 6] [--step match|ledger|report] [--term T]

Runs every statement of sql/<step>/*.sql in order, in one transaction, as `EXPLAIN (ANALYZE)` where it can, on the
database `bench.run_bench` left behind (kcbx_bench_<children>), then rolls back. Prints the time of each file and
the plans of the slowest statements; writes them to bench/results/<step>_plans_<children>.txt.

The ledger the benchmark left already holds the term, so `--step ledger` shows a re-run; `--step ledger --rebuild`
first takes the ledger work of that term and of every newer one out with ledger.rebuild_from, as a rebuild does, in
the same transaction, and so shows the term's ledger as its sweep did it (for the first term: a first sweep's).
`--step match` ends with the school reconciliation, which the sweep runs in a transaction of its own after matching.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import sqlalchemy as sa

from pipelines import SQL_DIR, db
from pipelines.config import Settings
from pipelines.ledger import SWEEP_STEPS, begin_ledger
from pipelines.match import MATCH_TABLES, SCHOOL_RECONCILIATION, begin_matching, match_params
from pipelines.report import SESSION_SETTINGS as REPORT_SESSION, report_params
from pipelines.terms import Term

from .run_bench import TERM, admin_url

EXPLAINABLE = re.compile(r"^\s*(create ((temp|unlogged) )?table|insert|update|delete|select)", re.I | re.S)


def statements(sql: str) -> list[str]:
    """The statements of a file, without their comments: a comment after a statement's semicolon would otherwise
    open the next statement and keep it from being explained. (No string in sql/ holds `--`.)"""
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]


def run(children: int, top: int, data: Path, step: str = "match", term: str = TERM, rebuild: bool = False) -> str:
    url = admin_url(data).replace("/postgres?", f"/kcbx_bench_{children}?", 1)
    settings = Settings(province="41")
    params = {**match_params(settings, Term.parse(term)), **report_params(settings, Term.parse(term)), "run_id": None}
    timed: list[tuple[float, str, str, str]] = []
    per_file: dict[str, float] = {}
    with db.engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # the rows an earlier run of this script wrote and rolled back would otherwise be scanned and vacuumed again
        for table in MATCH_TABLES:
            conn.execute(sa.text(f"vacuum {table}"))
    with db.engine(url).connect() as conn, conn.begin() as txn:
        if step == "match":
            reconciliation = ("delete from report.school_reconciliation where province = :province and term = :term;"
                              + SCHOOL_RECONCILIATION.read_text(encoding="utf-8"))
            files = begin_matching(conn, params) + [(SCHOOL_RECONCILIATION, reconciliation)]
        elif step == "report":
            for setting in REPORT_SESSION:
                conn.execute(sa.text(setting))
            files = [(path, path.read_text(encoding="utf-8")) for path in sorted((SQL_DIR / "report").glob("*.sql"))]
        else:
            begin_ledger(conn, params, rebuild)
            if rebuild:
                conn.execute(sa.text("analyze ledger.cases"))
            paths = [SQL_DIR / "ledger" / name for name in SWEEP_STEPS]
            files = [(path, path.read_text(encoding="utf-8")) for path in paths]
        for path, sql in files:
            per_file[path.name] = 0.0
            for stmt in statements(sql):
                t = time.monotonic()
                if EXPLAINABLE.match(stmt):
                    explained = conn.execute(sa.text(f"explain (analyze, costs off, timing off) {stmt}"), params)
                    plan = "\n".join(r[0] for r in explained)
                else:
                    conn.execute(sa.text(stmt), params)
                    plan = ""
                elapsed = time.monotonic() - t
                per_file[path.name] += elapsed
                timed.append((elapsed, path.name, stmt, plan))
        txn.rollback()
    out = [f"sql/{step} for {term} at {children:,} children: {sum(per_file.values()):.1f} s"
           " (EXPLAIN ANALYZE without per-node timing)"]
    out += [f"  {name:<32}{s:6.1f} s" for name, s in per_file.items()]
    for elapsed, name, stmt, plan in sorted(timed, reverse=True)[:top]:
        first = " ".join(stmt.split())[:160]
        out += ["", f"== {name}: {elapsed:.1f} s — {first}…", plan]
    text = "\n".join(out)
    results = data.parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"{step}_plans_{children}.txt").write_text(text, encoding="utf-8")
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--children", type=int, default=1_000_000)
    p.add_argument("--top", type=int, default=6)
    p.add_argument("--step", choices=["match", "ledger", "report"], default="match")
    p.add_argument("--term", default=TERM)
    p.add_argument("--data", default="bench/data")
    p.add_argument("--rebuild", action="store_true", help="with --step ledger: the term's ledger as its sweep did it")
    a = p.parse_args()
    if a.rebuild and a.step != "ledger":
        p.error("--rebuild goes with --step ledger")
    print(run(a.children, a.top, Path(a.data).resolve(), a.step, a.term, a.rebuild))


if __name__ == "__main__":
    main()
