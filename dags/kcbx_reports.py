"""
### kcbx report DAGs

- `kcbx_monthly_report` — 月报, due on the 13th: runs at 07:00 on the 13th of every month.
- `kcbx_screening` — the half-monthly screening warning list (疑似辍学预警), due on the 13th and the 30th (the
  last day of February).
- `kcbx_semiannual_report` — the semiannual monitoring report (常态化报告), triggered whenever a term sweep has
  refreshed the report tables (Asset `kcbx://report_tables`).

Each writes the term's documents under `$KCBX_REPORTS/<term>/` (HTML, PDF, XLSX) with masked identities.
"""
from __future__ import annotations


from airflow.sdk import Asset, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable

from pipelines.orchestration import DEFAULT_ARGS, reports_dir, START, TAGS, TZ, run_step, settings, term_of

REPORT_TABLES = Asset("kcbx://report_tables")


@task
def write_reports() -> list[str]:
    from pipelines import sweep
    term = term_of(get_current_context().get("logical_date"))
    return run_step(sweep.write_reports, settings(), term, reports_dir(term))


def _report_dag(dag_id: str, schedule, summary: str):
    @dag(dag_id=dag_id, schedule=schedule, start_date=START, catchup=False, max_active_runs=1,
         default_args=DEFAULT_ARGS, tags=TAGS, doc_md=f"{summary}\n\n{__doc__}")
    def report_dag():
        write_reports()

    return report_dag()


monthly = _report_dag("kcbx_monthly_report", CronTriggerTimetable("0 7 13 * *", timezone=TZ),
                      "Monthly report (月报), on the 13th.")
screening = _report_dag("kcbx_screening",
                        MultipleCronTriggerTimetable("0 7 13 * *", "0 7 30 1,3-12 *", "0 7 L 2 *", timezone=TZ),
                        "Half-monthly screening list, on the 13th and the 30th (last day of February).")
semiannual = _report_dag("kcbx_semiannual_report", [REPORT_TABLES],
                         "Semiannual monitoring report, after each term sweep.")
