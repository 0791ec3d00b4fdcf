"""Benchmark: a full first-term sweep of a generated province, stage by stage, against the COPY floor.

    .venv/bin/python -m bench.run_bench --children 1000000

Prints, per stage, seconds and the peak memory (max RSS) of this Python process so far, the bare
`COPY … FROM STDIN` time of the same files into unlogged text tables (the floor for any system that must read
the data) and the sweep as a multiple of that floor. Uses KCBX_DATABASE_URL if set, else the embedded PostgreSQL
under bench/.kcbx; each run gets a fresh database.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import resource
import time
from pathlib import Path

import sqlalchemy as sa

from pipelines import db, sweep
from pipelines.config import Settings

from .province import generate_province

TERM = "2025-autumn"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(admin_url: str, name: str) -> str:
    eng = sa.create_engine(db._driver(admin_url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f'drop database if exists "{name}" with (force)')
        c.exec_driver_sql(f'create database "{name}"')
    eng.dispose()
    base, _, query = admin_url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


def copy_floor(url: str, folder: Path) -> float:
    eng = db.engine(url)
    total = 0.0
    for path in sorted(folder.glob("*.csv")):
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


def run(children: int, data: Path, keep: bool) -> dict:
    folder = data / f"province_{children}" / TERM
    if not (folder / "hukou.csv").exists():
        t = time.monotonic()
        counts = generate_province(folder, children)
        print(f"generated {children:,} children in {time.monotonic() - t:.1f} s: {counts}")
    admin = os.environ.get("KCBX_DATABASE_URL") or db.embedded_url(data.parent / ".kcbx", database="postgres")
    url = fresh_database(admin, f"kcbx_bench_{children}")
    settings = Settings(data_dir=data.parent / ".kcbx" / f"run_{children}", database_url=url, province="41")
    db.migrate(db.engine(url))
    floor = copy_floor(url, folder)
    print(f"COPY floor: {floor:.1f} s")

    stages: dict[str, float] = {}
    memory: dict[str, float] = {}

    def timed(name, fn, *args):
        t = time.monotonic()
        out = fn(*args)
        stages[name] = stages.get(name, 0.0) + time.monotonic() - t
        memory[name] = rss_mb()
        return out

    run_id = sweep.start_run(settings, "sweep", TERM, str(folder))
    files = sweep.discover(settings, TERM, str(folder))
    from pipelines.load.loader import stage_file
    from pipelines.validate import validate_staged
    from pipelines.terms import Term
    eng, term = db.engine(settings), Term.parse(TERM)
    outcomes = []
    for f in files:
        staged = timed("load", stage_file, eng, settings, term, f["source"], Path(f["path"]), run_id)
        v = timed("validate", validate_staged, eng, settings, term, f["source"], staged.file_hash, staged.file_name,
                  run_id)
        o = {k: (str(x) if isinstance(x, Path) else x) for k, x in staged.__dict__.items()}
        o.update(batch_failures=v.batch_failures)
        outcomes.append(o)
        print(f"  {staged.file_name}: {staged.rows_read:,} rows, max RSS {rss_mb():.0f} MB")
    timed("load", sweep.publish, settings, TERM, outcomes, run_id)
    timed("match", sweep.match, settings, TERM, run_id)
    timed("ledger", sweep.update_ledger, settings, TERM, run_id)
    timed("report", sweep.refresh_reports, settings, TERM, run_id)
    sweep.finish_run(settings, run_id, "succeeded")
    total = sum(stages.values())
    result = {"children": children, "copy_floor_s": round(floor, 1), "total_s": round(total, 1),
              "multiple_of_floor": round(total / floor, 1), "peak_rss_mb": round(rss_mb()),
              "stages_s": {k: round(v, 1) for k, v in stages.items()},
              "rss_mb_after": {k: round(v) for k, v in memory.items()},
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"}
    print(f"\n{'stage':<10}{'seconds':>10}{'× floor':>10}{'max RSS MB':>12}")
    for k, v in stages.items():
        print(f"{k:<10}{v:>10.1f}{v / floor:>10.1f}{memory[k]:>12.0f}")
    print(f"{'total':<10}{total:>10.1f}{total / floor:>10.1f}{rss_mb():>12.0f}")
    out = data.parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"sweep_{children}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not keep:
        db._engine.cache_clear()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--children", type=int, default=1_000_000)
    p.add_argument("--data", default="bench/data")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run(a.children, Path(a.data).resolve(), a.keep)


if __name__ == "__main__":
    main()
