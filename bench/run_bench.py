"""Benchmark: full sweeps of generated provinces, stage by stage, against the COPY floor.

    .venv/bin/python -m bench.run_bench --children 1000000               # one province, first term
    .venv/bin/python -m bench.run_bench --children 1000000 --second-term # then the next term on a full ledger
    .venv/bin/python -m bench.run_bench --children 300000 --provinces 3  # three provinces swept in parallel

Prints, per stage, seconds and the peak memory (max RSS) of the sweeping Python process, the bare
`COPY … FROM STDIN` time of the same files into unlogged text tables (the floor for any system that must read
the data; timed before and after the sweep, the mean of the two; a second term gets the mean of the floors timed
after the first term and after it) and the sweep as a multiple of that floor. Uses
KCBX_DATABASE_URL if set, else the embedded PostgreSQL under bench/.kcbx; each run gets a fresh database. Results
go to bench/results/*.json. With -v, the sweep's progress lines (each file staged, validated and published, with
its time) go to stderr.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from pipelines import db, sweep
from pipelines.cli import configure_logging
from pipelines.config import Settings
from pipelines.terms import Term

TERM = "2025-autumn"
STAGES = ["load", "validate", "match", "ledger", "report", "reconcile"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(admin_url: str, name: str, data_dir: Path) -> str:
    """A new, migrated database `name`, and its data folder emptied: the GX results and archived files of earlier
    runs would otherwise make each run's Data Docs longer to render."""
    shutil.rmtree(data_dir, ignore_errors=True)
    eng = sa.create_engine(db._driver(admin_url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f'drop database if exists "{name}" with (force)')
        c.exec_driver_sql(db.CREATE_DATABASE.format(name=name))
    eng.dispose()
    base, _, query = admin_url.partition("?")
    url = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    db.migrate(db.engine(url))
    return url


def bench_folder(data: Path, name: str = "") -> Path:
    """The benchmark's own folder beside its data (`bench/.kcbx`: the embedded server), or a run's data folder in it."""
    return data.parent / ".kcbx" / name


def admin_url(data: Path) -> str:
    return os.environ.get("KCBX_DATABASE_URL") or db.embedded_url(bench_folder(data), database="postgres")


def copy_floor(url: str, folder: Path, only: str = "*.csv") -> float:
    eng = db.engine(url)
    total = 0.0
    for path in sorted(folder.glob(only)):
        with open(path, encoding="utf-8") as f:
            ncols = len(next(csv.reader(f)))
        with eng.begin() as conn:
            cols = ", ".join(f"c{i} text" for i in range(ncols))
            conn.exec_driver_sql(f"drop table if exists floor_{path.stem}")
            conn.exec_driver_sql(f"create unlogged table floor_{path.stem} ({cols})")
            t = time.monotonic()
            with open(path, "rb") as f:
                db.raw_copy(conn, f"copy floor_{path.stem} from stdin (format csv, header)", f)
            total += time.monotonic() - t
            conn.exec_driver_sql(f"drop table floor_{path.stem}")
    return total


def province_folder(data: Path, children: int, province: str = "41") -> Path:
    """The generated first-term extracts of a province (generated once, then reused)."""
    folder = data / f"province_{province}_{children}" / TERM
    if not (folder / "hukou.csv").exists():  # in a process of its own: its memory is not the sweep's
        subprocess.run([sys.executable, "-m", "bench.province", "--children", str(children), "--province", province,
                        "--out", str(folder)], check=True)
    return folder


def next_term_folder(folder: Path) -> Path:
    """The same province one term later: the same files (so the ledger's cases are found again)."""
    nxt = folder.parent / Term.parse(TERM).next().code
    if not nxt.exists():
        shutil.copytree(folder, nxt)
    return nxt


def sweep_timed(settings: Settings, term: str, folder: Path) -> dict:
    """One sweep as `pipelines.sweep.sweep` runs it, timing each stage and the process's peak memory.

    Files are staged and validated side by side (`sweep.stage_and_validate_all`): load and validate are the
    seconds each spent on the files, `load_validate_wall_s` the time the two took together; the school
    reconciliation runs beside the ledger and the report (`sweep.run_term_steps`); the total is wall time.
    """
    stages = dict.fromkeys(STAGES, 0.0)
    memory: dict[str, float] = {}
    start = time.monotonic()
    run_id = sweep.start_run(settings, "sweep", term, str(folder))
    outcomes = sweep.stage_and_validate_all(settings, term, sweep.discover(settings, term, str(folder)), run_id)
    overlapped = time.monotonic() - start
    for o in outcomes:
        stages["load"] += o["load_s"]
        stages["validate"] += o["validate_s"]
    memory["load"] = memory["validate"] = rss_mb()
    sweep.gate(settings, term, outcomes, run_id, accept_failures=False)
    t = time.monotonic()
    sweep.publish(settings, term, outcomes, run_id)
    stages["load"] += time.monotonic() - t
    summary: dict = {"stages": {}}
    sweep.run_term_steps(summary, settings, term, run_id, rebuild_ledger=False)
    for name, seconds in summary["stages"].items():
        stages[name], memory[name] = seconds, rss_mb()
    sweep.finish_run(settings, run_id, "succeeded")
    return {"stages_s": {k: round(v, 1) for k, v in stages.items()}, "load_validate_wall_s": round(overlapped, 1),
            "total_s": round(time.monotonic() - start, 1),
            "rss_mb_after": {k: round(v) for k, v in memory.items()}, "peak_rss_mb": round(rss_mb())}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _print(title: str, result: dict, floor: float) -> None:
    print(f"\n{title}\n{'stage':<10}{'seconds':>10}{'× floor':>10}{'max RSS MB':>12}")
    for k, v in result["stages_s"].items():
        print(f"{k:<10}{v:>10.1f}{v / floor:>10.1f}{result['rss_mb_after'].get(k, 0):>12.0f}")
    print(f"(staging and validation of the files side by side: {result['load_validate_wall_s']:.1f} s wall;"
          " the school reconciliation beside the ledger and the report)")
    print(f"{'total':<10}{result['total_s']:>10.1f}{result['total_s'] / floor:>10.2f}{result['peak_rss_mb']:>12.0f}")


def run(children: int, data: Path, second_term: bool = False) -> dict:
    folder = province_folder(data, children)
    url = fresh_database(admin_url(data), f"kcbx_bench_{children}", bench_folder(data, f"run_{children}"))
    settings = Settings(data_dir=bench_folder(data, f"run_{children}"), database_url=url, province="41")
    # the machine's speed drifts within minutes: the floor is timed before and after the sweep, and their mean is
    # the sweep's floor
    before = copy_floor(url, folder)
    print(f"COPY floor before the sweep: {before:.1f} s")
    first = sweep_timed(settings, TERM, folder)
    after = copy_floor(url, folder)
    floor = (before + after) / 2
    print(f"COPY floor after the sweep: {after:.1f} s; their mean: {floor:.1f} s")
    result = {"children": children, "copy_floor_s": round(floor, 1), "copy_floor_before_s": round(before, 1),
              "copy_floor_after_s": round(after, 1), "machine": machine(), "first_term": first}
    result["multiple_of_floor"] = round(result["first_term"]["total_s"] / floor, 2)
    _print(f"first term ({TERM})", result["first_term"], floor)
    if second_term:
        nxt = next_term_folder(folder)
        result["second_term"] = sweep_timed(settings, nxt.name, nxt)
        # its own floor, timed after it: the first term's floor can be a minute old, and the machine drifts
        last = copy_floor(url, folder)
        second_floor = (after + last) / 2
        print(f"COPY floor after the second term: {last:.1f} s; with the one before it: {second_floor:.1f} s")
        result["second_term"].update(copy_floor_s=round(second_floor, 1), copy_floor_after_s=round(last, 1),
                                     multiple_of_floor=round(result["second_term"]["total_s"] / second_floor, 2))
        _print(f"second term ({nxt.name}), ledger already populated", result["second_term"], second_floor)
    save_result(data, f"sweep_{children}", result)
    db._engine.cache_clear()
    return result


def _sweep_province(args: tuple[int, str, str]) -> dict:
    children, province, data = args
    data_path = Path(data)
    folder = province_folder(data_path, children, province)
    url = admin_url(data_path).replace("/postgres?", "/kcbx_bench_provinces?", 1)
    # one data folder for all provinces, as Airflow's workers share one
    settings = Settings(data_dir=bench_folder(data_path, "run_provinces"), database_url=url, province=province)
    t = time.monotonic()
    result = sweep_timed(settings, TERM, folder)
    return {"province": province, "wall_s": round(time.monotonic() - t, 1), **result}


def run_provinces(children: int, provinces: int, data: Path) -> dict:
    """Several provinces in one database, swept one after another and then all at once (one process each)."""
    codes = [str(41 + i) for i in range(provinces)]
    for code in codes:
        province_folder(data, children, code)
    timings = {}
    for mode in ("one_after_another", "in_parallel"):
        url = fresh_database(admin_url(data), "kcbx_bench_provinces", bench_folder(data, "run_provinces"))
        db.engine(url).dispose()
        t = time.monotonic()
        jobs = [(children, code, str(data)) for code in codes]
        with ProcessPoolExecutor(max_workers=1 if mode == "one_after_another" else provinces,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:  # no inherited sockets
            per_province = list(pool.map(_sweep_province, jobs))
        timings[mode] = {"wall_s": round(time.monotonic() - t, 1), "provinces": per_province}
        print(f"{provinces} provinces of {children:,} children, {mode.replace('_', ' ')}: "
              f"{timings[mode]['wall_s']:.1f} s wall; per province "
              + ", ".join(f"{p['province']}: {p['wall_s']} s, {p['peak_rss_mb']} MB" for p in per_province))
    result = {"children_per_province": children, "provinces": provinces, "machine": machine(), **timings}
    save_result(data, f"provinces_{provinces}x{children}", result)
    return result


def save_result(data: Path, name: str, result: dict) -> None:
    out = data.parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--children", type=int, default=1_000_000)
    p.add_argument("--provinces", type=int, default=1, help="sweep this many provinces, in turn and in parallel")
    p.add_argument("--second-term", action="store_true", help="also sweep the next term on the populated ledger")
    p.add_argument("--data", default="bench/data")
    p.add_argument("-v", "--verbose", action="store_true", help="the sweep's progress, timestamped, on stderr")
    a = p.parse_args()
    configure_logging(logging.INFO if a.verbose else logging.WARNING)
    data = Path(a.data).resolve()
    if a.provinces > 1:
        run_provinces(a.children, a.provinces, data)
    else:
        run(a.children, data, a.second_term)


if __name__ == "__main__":
    main()
