"""The Airflow DAGs: integrity of every DAG, their schedules, and one real end-to-end run of the term sweep."""
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pendulum
import pytest

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A private Airflow home with a SQLite metadata database, migrated once per session."""
    home = tmp_path_factory.mktemp("airflow")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    os.environ.update(env)
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env={**os.environ, **env},
                   check=True, capture_output=True)
    return home


@pytest.fixture(scope="session")
def dagbag(airflow_home):
    from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_imports_and_has_owner_tags_retries_and_docs(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"kcbx_term_sweep", "kcbx_followups", "kcbx_monthly_report", "kcbx_screening",
                                   "kcbx_semiannual_report", "kcbx_national_sweep"}
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "kcbx" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        for t in dag.tasks:
            assert t.owner == "kcbx", (dag_id, t.task_id)
        assert any(t.retries > 0 for t in dag.tasks), dag_id


def test_dag_files_hold_no_business_logic():
    for path in DAGS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("import pandas", "import great_expectations", "import sqlalchemy", "select ", "insert into"):
            assert banned not in text.lower(), f"{path.name} contains {banned!r}"


def fire_dates(dag, start: datetime, end: datetime) -> list[tuple[int, int]]:
    from airflow.timetables.base import DataInterval, TimeRestriction
    restriction = TimeRestriction(earliest=start, latest=end, catchup=True)
    last, out = None, []
    while True:
        info = dag.timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            return out
        local = pendulum.instance(info.run_after).in_timezone("Asia/Shanghai")
        out.append((local.month, local.day))
        last = info.data_interval if info.data_interval.end > info.data_interval.start else \
            DataInterval(info.run_after, info.run_after)


def test_term_sweep_fires_on_1_march_and_1_september_only(dagbag):
    start = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
    fires = fire_dates(dagbag.get_dag("kcbx_term_sweep"), start, start.add(years=1).subtract(seconds=1))
    assert fires == [(3, 1), (9, 1)]


def test_screening_fires_on_the_13th_and_the_30th_or_end_of_february(dagbag):
    start = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
    fires = fire_dates(dagbag.get_dag("kcbx_screening"), start, start.add(years=1).subtract(seconds=1))
    assert len(fires) == 24
    assert (2, 28) in fires and (1, 30) in fires and all(d in (13, 28, 30) for _, d in fires)
    monthly = fire_dates(dagbag.get_dag("kcbx_monthly_report"), start, start.add(years=1).subtract(seconds=1))
    assert monthly == [(m, 13) for m in range(1, 13)]


@pytest.mark.slow
def test_term_sweep_dag_runs_end_to_end_against_postgresql(dagbag, settings, tmp_path, monkeypatch):
    from pipelines.generate import generate
    from pipelines.terms import parse_terms
    from tests.helpers import rows
    generate(tmp_path / "src", parse_terms("2025-autumn"), children=300, seed=5)
    monkeypatch.setenv("KCBX_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KCBX_DATA_DIR", str(settings.data_dir))
    dag = dagbag.get_dag("kcbx_term_sweep")
    run = dag.test(run_conf={"term": "2025-autumn", "province": "41", "source_dir": str(tmp_path / "src" / "2025-autumn")})
    assert str(run.state).endswith("success")
    assert rows(settings, "select outcome from kcbx.runs where command = 'sweep'") == [("succeeded",)]
    assert rows(settings, "select count(*) > 0 from report.case_ledger where status = 'suspected'") == [(True,)]
    assert rows(settings, "select count(*) from report.region_term_indicators where term = '2025-autumn'") == [(3,)]
    mapped = rows(settings, "select count(*) from audit.file_manifest where status = 'published'")
    assert mapped == [(9,)]


@pytest.mark.slow
def test_followups_dag_applies_inbox_files_once(dagbag, settings, tmp_path, monkeypatch):
    from pipelines.generate import generate
    from pipelines.sweep import sweep
    from pipelines.terms import parse_terms
    from tests.helpers import rows
    generate(tmp_path / "src", parse_terms("2025-autumn,2026-spring"), children=600, seed=5)
    sweep(settings, "2025-autumn", str(tmp_path / "src" / "2025-autumn"))
    inbox = tmp_path / "inbox"
    (inbox / "followups" / "2025-autumn").mkdir(parents=True)
    src = (tmp_path / "src" / "2026-spring" / "followups.csv").read_text(encoding="utf-8")
    (inbox / "followups" / "2025-autumn" / "followups.csv").write_text(src, encoding="utf-8")
    monkeypatch.setenv("KCBX_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KCBX_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KCBX_INBOX", str(inbox))
    dag = dagbag.get_dag("kcbx_followups")
    for _ in range(2):  # the second run finds nothing new
        run = dag.test()
        assert str(run.state).endswith("success")
    applied = rows(settings, "select count(*) from ledger.case_followups")[0][0]
    assert applied > 10
    assert rows(settings, "select count(*) from ledger.case_events where source = 'followup'")[0][0] > 0
    assert rows(settings, "select outcome from kcbx.runs where command = 'followups'") == [("succeeded",)] * 2


def test_national_sweep_maps_one_term_sweep_per_province(dagbag):
    dag = dagbag.get_dag("kcbx_national_sweep")
    fan_out = dag.get_task("sweep_province")
    assert fan_out.partial_kwargs["trigger_dag_id"] == "kcbx_term_sweep"
    assert fan_out.partial_kwargs["wait_for_completion"] is True
    assert [t.task_id for t in fan_out.upstream_list] == ["provinces"]
    assert dag.params["provinces"] and dag.get_task("provinces").retries > 0
