"""A sweep killed at any stage and run again ends exactly like an uninterrupted one; two sweeps of one province
never run at once; a lost database fails the run with one line."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.config import Settings
from pipelines.generate import generate
from pipelines.terms import parse_terms
from tests.helpers import reported_per_school, rows

KCBX = str(Path(sys.executable).with_name("kcbx"))
STAGES = ["load", "validate", "publish", "match", "reconcile", "ledger", "report"]
STATE = {
    "core": "select 'hukou', count(*) from core.hukou union all select 'registry', count(*) from core.registry"
            " union all select 'roster', count(*) from core.roster union all select 'followups', count(*)"
            " from core.followups order by 1",
    "findings": "select term, person_key, case_type from match.findings order by 1, 2",
    "ledger": "select c.person_key, c.opened_term, s.status, s.closure_reason from ledger.cases c"
              " join ledger.case_state s using (case_id) order by 1, 2",
    "events": "select c.person_key, e.seq, e.to_status, e.source from ledger.case_events e join ledger.cases c"
              " using (case_id) order by 1, 2",
    "indicators": "select term, region_level, region_code, school_age_population, open_cases, closed_cases"
                  " from report.region_term_indicators order by 1, 2, 3",
    "schools": "select term, school_id, registry_count, reported_count, unexplained_difference"
               " from report.school_reconciliation order by 1, 2",
    "manifest": "select source, term, file_hash, status, rows_read, rows_accepted from audit.file_manifest"
                " where status = 'published' order by 1, 2",
}


def sweep_cli(settings, term, src, **env):
    return subprocess.run([KCBX, "sweep", "--term", term, "--source-dir", str(src / term), "--database-url",
                           settings.database_url, "--data-dir", str(settings.data_dir)],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=600)


def start_paused_at_match(settings, county):
    """A sweep of 2025-autumn in the background that holds still for 15 s inside matching."""
    return subprocess.Popen([KCBX, "sweep", "--term", "2025-autumn", "--source-dir", str(county / "2025-autumn"),
                             "--database-url", settings.database_url, "--data-dir", str(settings.data_dir)],
                            env={**os.environ, "KCBX_FAILPOINT": "pause:match"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def state(settings):
    return {k: rows(settings, q) for k, q in STATE.items()}


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    generate(root, parse_terms("2025-autumn,2026-spring"), children=500, seed=9)
    return root


@pytest.fixture(scope="module")
def first_term(county, session_database, tmp_path_factory):
    """The URL of a database where the county's first term was swept, once; the tests sweep the second term on
    copies of it."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("first"), database_url=session_database(), province="41")
    assert sweep_cli(settings, "2025-autumn", county).returncode == 0
    return settings.database_url


@pytest.fixture(scope="module")
def reference(county, first_term, session_database, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("ref"), database_url=session_database(copy_of=first_term),
                        province="41")
    assert sweep_cli(settings, "2026-spring", county).returncode == 0
    return state(settings)


@pytest.mark.parametrize("stage", STAGES)
def test_sweep_killed_at_a_stage_and_rerun_equals_an_uninterrupted_run(county, first_term, reference, new_database,
                                                                        tmp_path, stage):
    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(copy_of=first_term), province="41")
    killed = sweep_cli(settings, "2026-spring", county, KCBX_FAILPOINT=f"kill:{stage}")
    assert killed.returncode == -signal.SIGKILL
    again = sweep_cli(settings, "2026-spring", county)
    assert again.returncode == 0, again.stderr[-400:]
    assert state(settings) == reference


def test_last_term_counts_are_of_the_roster_published_even_by_a_run_killed_before_it_reconciled(
        county, first_term, new_database, tmp_path):
    """The next term takes each school's last-term count from the previous term's reconciliation only while the
    roster that reconciliation counted is still the one published."""
    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(copy_of=first_term), province="41")
    shutil.copytree(county / "2025-autumn", tmp_path / "resent" / "2025-autumn")
    roster = tmp_path / "resent" / "2025-autumn" / "roster.csv"
    with open(roster, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    # sent again without every tenth pupil (within the volume drift a sweep accepts)
    roster.write_text("".join(lines[:1] + [line for i, line in enumerate(lines[1:]) if i % 10]), encoding="utf-8")
    reported = reported_per_school(roster)
    killed = sweep_cli(settings, "2025-autumn", tmp_path / "resent", KCBX_FAILPOINT="kill:reconcile")
    assert killed.returncode == -signal.SIGKILL
    stale = dict(rows(settings, "select school_id, reported_count from report.school_reconciliation"
                                " where term = '2025-autumn'"))
    assert stale != {s: reported.get(s, 0) for s in stale}  # counted from the roster sent first

    assert sweep_cli(settings, "2026-spring", county).returncode == 0
    got = dict(rows(settings, "select school_id, last_term_count from report.school_reconciliation"
                              " where term = '2026-spring'"))
    assert got and got == {s: reported.get(s) for s in got}


def test_a_second_sweep_of_the_same_province_stops_with_a_clear_message(county, new_database, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(), province="41")
    first = start_paused_at_match(settings, county)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not rows(settings, "select 1 from kcbx.runs"):
            time.sleep(0.5)
        second = sweep_cli(settings, "2025-autumn", county)
        assert second.returncode == 1
        assert second.stderr.strip().endswith("another sweep of province 41 is running; wait for it to finish")
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-400:]
    assert rows(settings, "select outcome from kcbx.runs") == [("succeeded",)]


def test_losing_the_database_mid_run_fails_cleanly_and_the_next_run_succeeds(county, new_database, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(), province="41")
    run = start_paused_at_match(settings, county)
    deadline = time.time() + 120
    paused_at_match = ("select 1 from pg_stat_activity where application_name = 'kcbx' and pid <> pg_backend_pid()"
                       " and datname = current_database() and state = 'idle in transaction'")
    while time.time() < deadline and not rows(settings, paused_at_match):
        time.sleep(0.3)
    rows(settings, "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'kcbx'"
                   " and pid <> pg_backend_pid() and datname = current_database()")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 2, err[-500:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("kcbx: database unavailable")
    assert sweep_cli(settings, "2025-autumn", county).returncode == 0
