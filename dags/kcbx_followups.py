"""
### kcbx_followups — county follow-up and exemption files (核查 / 劝返 / 复学 / 排除, 延缓入学 / 免学 / 送教上门)

Counties drop files into `$KCBX_INBOX/followups/<term>/followups.csv` (or `exemptions.csv`, CSV or XLSX). Every 30
minutes this DAG loads what is new and applies it to the case ledger. A file already applied is recognised by its
SHA-256 and changes nothing, so runs are idempotent and safe to retry.
"""
from __future__ import annotations

import os

from airflow.sdk import dag, task

from pipelines.orchestration import DEFAULT_ARGS, inbox_dir, START, TAGS, run_step, settings


@dag(dag_id="kcbx_followups", schedule="*/30 * * * *", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS, doc_md=__doc__)
def kcbx_followups():
    @task
    def apply_inbox() -> dict:
        from pipelines import sweep
        s = settings()
        inbox = inbox_dir("followups")
        if not os.path.isdir(inbox):
            return {}
        run_id = sweep.start_run(s, "followups", None, inbox)
        try:
            result = run_step(sweep.apply_inbox, s, inbox, run_id)
        except Exception as e:
            sweep.finish_run(s, run_id, "failed", str(e).splitlines()[0] if str(e) else type(e).__name__)
            raise
        sweep.finish_run(s, run_id, "succeeded")
        return result

    apply_inbox()


kcbx_followups()
