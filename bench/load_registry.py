"""Benchmark: loading one large registry (学籍) CSV, against a bare COPY of the same file.

    .venv/bin/python -m bench.load_registry --rows 1000000

Loading = what `stage_file` does: hash and archive the file, detect its encoding and header, read it, COPY it
into staging and normalize every value into typed columns (ID number and its check, name and name key, dates,
codes). Publishing into core (after validation) is timed separately. `KCBX_NATIVE=off` measures the SQL
normalizers instead of kcbx_native's C fast paths (pipelines/native/). The floor is a bare
`COPY … FROM STDIN (FORMAT csv)` of the same file into an unlogged table of text columns. Prints rows per second,
the load as a share of the floor's speed, and the peak memory (max RSS) of this process.
"""
from __future__ import annotations

import argparse
import logging
import time
import uuid
from pathlib import Path

from pipelines import db, native
from pipelines.config import Settings
from pipelines.load.loader import publish_staged, stage_file
from pipelines.terms import Term

from .run_bench import (TERM, admin_url, bench_folder, copy_floor, fresh_database, machine, province_folder, rss_mb,
                        save_result)


def registry_file(data: Path, rows: int) -> Path:
    """A registry CSV of at least `rows` rows (a province of as many children, about 98 % of them registered)."""
    return province_folder(data, int(rows / 0.975) + 1000) / "registry.csv"


def run(rows: int, data: Path) -> dict:
    path = registry_file(data, rows)
    with open(path, "rb") as f:
        n_rows = sum(1 for _ in f) - 1
    url = fresh_database(admin_url(data), "kcbx_bench_load", bench_folder(data, "load_run"))
    settings = Settings(data_dir=bench_folder(data, "load_run"), database_url=url, province="41")
    eng = db.engine(url)
    with eng.connect() as c:
        normalizers = "C (kcbx_native)" if native.installed(c) else "SQL"
    floor = copy_floor(url, path.parent, only=path.name)
    term, run_id = Term.parse(TERM), str(uuid.uuid4())

    t = time.monotonic()
    staged = stage_file(eng, settings, term, "registry", path, run_id)
    load_s = time.monotonic() - t
    t = time.monotonic()
    published = publish_staged(eng, settings, term, staged, run_id)
    publish_s = time.monotonic() - t
    assert staged.rows_read == n_rows and published.rows_accepted + published.rows_rejected == n_rows

    result = {"rows": n_rows, "file_mb": round(path.stat().st_size / 1e6, 1), "copy_floor_s": round(floor, 2),
              "load_s": round(load_s, 2), "rows_per_s": round(n_rows / load_s),
              "share_of_copy_speed": round(floor / load_s, 3), "publish_s": round(publish_s, 2),
              "peak_rss_mb": round(rss_mb()), "normalizers": normalizers, "machine": machine()}
    print(f"registry.csv: {n_rows:,} rows, {result['file_mb']} MB; normalizers' fast paths in {normalizers}")
    print(f"bare COPY      {floor:8.2f} s  {n_rows / floor:>12,.0f} rows/s")
    print(f"load (staged)  {load_s:8.2f} s  {n_rows / load_s:>12,.0f} rows/s  = {floor / load_s:.0%} of COPY speed")
    print(f"publish        {publish_s:8.2f} s")
    print(f"peak RSS       {rss_mb():8.0f} MB")
    save_result(data, f"load_registry_{rows}", result)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--data", default="bench/data")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    run(a.rows, Path(a.data).resolve())


if __name__ == "__main__":
    main()
