"""Defaults shared by the kcbx Airflow DAGs (dags/), and the thin wrapper that turns a pipeline error into a failed task.

No business logic here: every task calls one function of `pipelines.sweep`.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

import pendulum

TZ = "Asia/Shanghai"
START = pendulum.datetime(2025, 1, 1, tz=TZ)
TAGS = ["kcbx", "控辍保学"]

DEFAULT_ARGS = {
    "owner": "kcbx",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}


def inbox_dir(*parts: str) -> str:
    """Where counties drop their files ($KCBX_INBOX), read when the task runs."""
    return os.path.join(os.environ.get("KCBX_INBOX", "/opt/kcbx/inbox"), *parts)


def reports_dir(*parts: str) -> str:
    return os.path.join(os.environ.get("KCBX_REPORTS", "/opt/kcbx/reports"), *parts)


def settings(province: str | None = None):
    from pipelines.config import load_settings
    return load_settings().with_overrides(province=province or None)


def run_step(fn, *args, **kwargs):
    """Call a pipeline step; a KcbxError (bad input, validation stop, refused ledger change) fails the task at once
    with its one-line reason, since retrying cannot help."""
    from airflow.sdk.exceptions import AirflowFailException
    from pipelines.errors import KcbxError
    try:
        return fn(*args, **kwargs)
    except KcbxError as e:
        raise AirflowFailException(str(e)) from None


def term_of(logical: datetime | None) -> str:
    from pipelines.sweep import term_for_date
    return term_for_date((logical or pendulum.now(TZ)).date())
