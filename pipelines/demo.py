"""`kcbx demo`: a sample county through two term sweeps run by the Airflow DAG, then a report per term.

Airflow runs with a local SQLite metadata database under the data folder (`<data>/airflow`); the pipeline's data go
to the embedded PostgreSQL (or KCBX_DATABASE_URL). Everything the demo writes stays under the data folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from . import PROJECT_ROOT, db
from .config import Settings
from .errors import KcbxError
from .terms import Term


def airflow_env(settings: Settings, url: str) -> dict[str, str]:
    home = (settings.data_dir / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "KCBX_DATABASE_URL": url,
        "KCBX_DATA_DIR": str(settings.data_dir.resolve()),
        "KCBX_PROVINCE": settings.province,
    })
    return env


def _airflow(args: list[str], env: dict[str, str], log_path: Path) -> None:
    exe = Path(sys.executable).with_name("airflow")
    with open(log_path, "ab") as log:
        done = subprocess.run([str(exe), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise KcbxError(f"airflow {' '.join(args[:2])} failed (exit {done.returncode}); see {log_path}")


def run_demo(settings: Settings, terms: list[Term], children: int = 3000) -> None:
    from .generate import generate
    from .sweep import write_reports

    data = settings.data_dir.resolve()
    sources = data / "demo" / "sources"
    print(f"1/4 generating a sample county ({children} children, {', '.join(t.code for t in terms)}) in {sources}")
    generate(sources, terms, children=children, seed=7, province=settings.province,
             county=f"{settings.province}0102")

    url = db.database_url(settings)
    db.migrate(db.engine(url))
    env = airflow_env(settings, url)
    log_path = data / "airflow" / "demo.log"
    print(f"2/4 preparing Airflow's metadata database under {data / 'airflow'} (log: {log_path})")
    _airflow(["db", "migrate"], env, log_path)

    for term in terms:
        if _last_outcome(url, settings.province, term.code) == "succeeded":
            print(f"3/4 {term.code} was already swept in this data folder; not sweeping it again")
            continue
        print(f"3/4 running the Airflow DAG kcbx_term_sweep for {term.code}")
        conf = {"term": term.code, "province": settings.province, "source_dir": str(sources / term.code)}
        _airflow(["dags", "test", "kcbx_term_sweep", term.start_date.isoformat(), "-c", json.dumps(conf)],
                 env, log_path)
        outcome = _last_outcome(url, settings.province, term.code)
        if outcome != "succeeded":
            raise KcbxError(f"the sweep of {term.code} ended {outcome or 'without a result'}; see {log_path}")

    print("4/4 writing the reports")
    reports = []
    for term in terms:
        reports += write_reports(settings.with_overrides(database_url=url), term.code,
                                 str(settings.reports_dir.resolve() / term.code))
    print("\nDone.")
    for p in reports:
        print(f"  report      {p}")
    print(f"  database    {url}")
    print(f"  validation  kcbx audit --term {terms[-1].code}   (Data Docs: {settings.data_docs_dir.resolve()})")
    print(f"  ground truth {sources / 'truth.csv'}")


def _last_outcome(url: str, province: str, term: str) -> str | None:
    with db.engine(url).connect() as c:
        return c.execute(sa.text(
            "select outcome from kcbx.runs where command = 'sweep' and province = :p and term = :t"
            " order by started_at desc limit 1"), {"p": province, "t": term}).scalar()
