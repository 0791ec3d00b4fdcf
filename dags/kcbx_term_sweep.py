"""
### kcbx_term_sweep — the term-start sweep (开学专项行动)

Runs one province's term end to end: discover the source files → load and validate each file (one mapped task per
file) → gate (stop on failed batch expectations unless accepted) → publish → 四查三比对 matching → case ledger, and
beside it the school reconciliation → report tables (updates the Asset `kcbx://report_tables`, which triggers the
semiannual report).

**Schedule**: 06:00 Asia/Shanghai on 1 March (spring term) and 1 September (autumn term). Change the dates with
the environment variable `KCBX_TERM_START_CRON` (a cron expression, default `0 6 1 3,9 *`).

**Manual runs**: trigger with Params — `term` (default: the term of the logical date), `province`, `source_dir`
(default `$KCBX_INBOX/<term>`), `accept_failures` with `accepted_by` and `accept_reason` (recorded in the audit trail),
`rebuild_ledger` (a term older than the newest swept one is refused unless set: then the ledger is redone from
that term on).
One run at a time unless `KCBX_MAX_ACTIVE_SWEEPS` allows more (for several provinces, see
`kcbx_national_sweep`; one province is never swept twice at once, it holds a lock); loading, matching and
reporting are idempotent and retried with back-off; the gate never retries.
"""
from __future__ import annotations

import os

from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines.orchestration import DEFAULT_ARGS, inbox_dir, START, TAGS, TZ, run_step, settings, term_of

REPORT_TABLES = Asset("kcbx://report_tables")
TERM_START_CRON = os.environ.get("KCBX_TERM_START_CRON", "0 6 1 3,9 *")


@dag(
    dag_id="kcbx_term_sweep",
    schedule=CronTriggerTimetable(TERM_START_CRON, timezone=TZ),
    start_date=START,
    catchup=False,
    max_active_runs=int(os.environ.get("KCBX_MAX_ACTIVE_SWEEPS", "1")),  # provinces swept at once
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=__doc__,
    params={
        "term": Param("", type="string", description="YYYY-autumn or YYYY-spring; empty: the term of the run date"),
        "province": Param(os.environ.get("KCBX_PROVINCE", "41"), type="string", pattern="^[0-9]{2}$"),
        "source_dir": Param("", type="string", description="folder of the term's files; empty: $KCBX_INBOX/<term>"),
        "accept_failures": Param(False, type="boolean"),
        "accepted_by": Param("", type="string"),
        "accept_reason": Param("", type="string"),
        "rebuild_ledger": Param(False, type="boolean",
                                description="for a term older than the newest swept one: redo the ledger from it on"),
    },
)
def kcbx_term_sweep():
    from pipelines import sweep

    @task(retries=0)
    def start() -> dict:
        ctx = get_current_context()
        p = ctx["params"]
        term = p["term"] or term_of(ctx.get("logical_date"))
        source_dir = p["source_dir"] or inbox_dir(term)
        run_step(sweep.check_ledger_order, settings(p["province"]), term, bool(p["rebuild_ledger"]))
        run_id = run_step(sweep.start_run, settings(p["province"]), "sweep", term, source_dir,
                          bool(p["accept_failures"]), p["accepted_by"] or None, p["accept_reason"] or None)
        return {"run_id": run_id, "term": term, "province": p["province"], "source_dir": source_dir,
                "accept_failures": bool(p["accept_failures"]), "rebuild_ledger": bool(p["rebuild_ledger"])}

    @task
    def discover(run: dict) -> list[dict]:
        files = run_step(sweep.discover, settings(run["province"]), run["term"], run["source_dir"])
        return [{**run, **f} for f in files]

    # one file at a time, in discovery order: the roster's school ids are checked against the staged registry, and
    # the files' validations write to one Great Expectations project folder
    @task(map_index_template="{{ file_name }}", max_active_tis_per_dagrun=1)
    def stage_and_validate(f: dict) -> dict:
        get_current_context()["file_name"] = os.path.basename(f["path"])
        return run_step(sweep.stage_and_validate, settings(f["province"]), f["term"], f["source"], f["path"],
                        f["run_id"])

    @task(retries=0)
    def gate(run: dict, outcomes: list[dict]) -> list[dict]:
        outcomes = [outcomes[i] for i in range(len(outcomes))]  # mapped results, read once
        try:
            run_step(sweep.gate, settings(run["province"]), run["term"], outcomes, run["run_id"],
                     run["accept_failures"])
        except Exception as e:
            sweep.finish_run(settings(run["province"]), run["run_id"], "stopped_by_validation", str(e))
            raise
        return outcomes

    @task
    def publish(run: dict, outcomes: list[dict]) -> list[dict]:
        return run_step(sweep.publish, settings(run["province"]), run["term"], outcomes, run["run_id"])

    @task
    def match(run: dict, published: list[dict]) -> dict:
        return run_step(sweep.match, settings(run["province"]), run["term"], run["run_id"],
                        rebuild_ledger=run["rebuild_ledger"])

    @task(retries=0)
    def update_ledger(run: dict, matched: dict) -> dict:
        return run_step(sweep.update_ledger, settings(run["province"]), run["term"], run["run_id"],
                        rebuild_ledger=run["rebuild_ledger"])

    @task
    def reconcile_schools(run: dict, matched: dict) -> dict:
        return run_step(sweep.reconcile_schools, settings(run["province"]), run["term"], run["run_id"],
                        rebuild_ledger=run["rebuild_ledger"])

    @task(outlets=[REPORT_TABLES])
    def refresh_reports(run: dict, ledger: dict, reconciled: dict) -> dict:
        return run_step(sweep.refresh_reports, settings(run["province"]), run["term"], run["run_id"],
                        rebuild_ledger=run["rebuild_ledger"])

    @task(retries=0)
    def finish(run: dict, reports: dict) -> None:
        sweep.finish_run(settings(run["province"]), run["run_id"], "succeeded")

    @task(retries=0, trigger_rule="one_failed")
    def record_failure(run: dict) -> None:
        sweep.finish_run(settings(run["province"]), run["run_id"], "failed", "a task of the sweep failed; see its log")

    run = start()
    files = discover(run)
    outcomes = stage_and_validate.expand(f=files)
    checked = gate(run, outcomes)
    published = publish(run, checked)
    matched = match(run, published)
    ledger = update_ledger(run, matched)
    reconciled = reconcile_schools(run, matched)
    reports = refresh_reports(run, ledger, reconciled)
    finish(run, reports)
    [files, outcomes, published, matched, ledger, reconciled, reports] >> record_failure(run)


kcbx_term_sweep()
