"""
### kcbx_national_sweep — one term-start sweep per province, in parallel

Fans the term out to the provinces with dynamic task mapping: one mapped task per province triggers a run of
`kcbx_term_sweep` for that province and waits for it (deferred, so a waiting province holds no worker slot). On a
CeleryExecutor or KubernetesExecutor each province's sweep runs on its own worker, against its own database (the
`KCBX_DATABASE_URL` of the worker pool, see docs/national-scale.md) or a shared Citus cluster distributed by
province. A province that fails does not stop the others; this DAG run then fails, naming it.

**Schedule**: none — triggered by hand or by the national calendar, with Params `term` and `provinces` (2-digit
codes, default `$KCBX_PROVINCES`, comma-separated). `kcbx_term_sweep` takes as many runs at once as
`KCBX_MAX_ACTIVE_SWEEPS` allows; each province holds its own lock, so one province is never swept twice at once.
"""
from __future__ import annotations

import os

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, get_current_context, task

from pipelines.orchestration import DEFAULT_ARGS, START, TAGS, term_of


@dag(
    dag_id="kcbx_national_sweep",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=__doc__,
    params={
        "term": Param("", type="string", description="YYYY-autumn or YYYY-spring; empty: the term of the run date"),
        "provinces": Param(os.environ.get("KCBX_PROVINCES", "11,41,44"), type="string",
                           pattern="^[0-9]{2}(,[0-9]{2})*$", description="2-digit province codes, comma-separated"),
    },
)
def kcbx_national_sweep():
    @task
    def provinces() -> list[dict]:
        ctx = get_current_context()
        term = ctx["params"]["term"] or term_of(ctx.get("logical_date"))
        codes = sorted(set(ctx["params"]["provinces"].split(",")))
        return [{"trigger_run_id": f"national_{term}_{code}_{ctx['run_id']}",
                 "conf": {"term": term, "province": code}} for code in codes]

    TriggerDagRunOperator.partial(
        task_id="sweep_province",
        trigger_dag_id="kcbx_term_sweep",
        wait_for_completion=True,
        deferrable=True,
        poke_interval=60,
        logical_date=None,
        retries=0,  # a province's sweep retries its own tasks; triggering it twice would not help
    ).expand_kwargs(provinces())


kcbx_national_sweep()
