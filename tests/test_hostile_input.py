"""Hostile and broken input never crashes the program with a traceback; normalizers never raise."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from pipelines.errors import InputError
from pipelines.load.readers import open_rows
from pipelines.sources import SOURCES

ROOT = Path(__file__).resolve().parent.parent
KCBX = str(Path(sys.executable).with_name("kcbx"))
FAST = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def read(path, source="registry"):
    stream = open_rows(path, SOURCES[source])
    return list(stream)


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_give_rows_or_one_clear_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("b") / "registry.csv"
    path.write_bytes(data)
    try:
        records = read(path)
    except InputError as e:
        assert "\n" not in str(e) and "registry.csv" in str(e)
    else:
        assert all(isinstance(line, int) and line >= 1 for line, _, _ in records)


@FAST
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30), min_size=10, max_size=10))
def test_any_cell_text_is_read_back_unchanged_or_recorded(tmp_path_factory, cells):
    import csv
    path = tmp_path_factory.mktemp("c") / "registry.csv"
    header = [c.headers[0] for c in SOURCES["registry"].columns]
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, cells])
    try:
        records = read(path)
    except InputError:
        return  # e.g. the cells themselves looked like a header, or only blank cells
    data = [r for r in records if r[1] is not None]
    if data:
        assert data[0][1] == [c if c != "" else "" for c in cells] or any("\r" in c or "\n" in c for c in cells)


@FAST
@given(st.text(max_size=40))
def test_sql_normalizers_never_raise(conn, text):
    row = conn.execute(sa.text(
        "select kcbx.norm_id(:v), kcbx.id_valid(kcbx.norm_id(:v)), kcbx.parse_date(:v), kcbx.norm_gender(:v),"
        " kcbx.norm_grade(:v), kcbx.norm_region(:v), kcbx.name_key(:v), kcbx.mask_id(:v), kcbx.mask_name(:v)"),
        {"v": text.replace("\x00", "")}).one()
    assert row[1] in (True, False)


def kcbx(*args, env=None):
    return subprocess.run([KCBX, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=300)


def hostile_folder(tmp_path, name, content: bytes):
    folder = tmp_path / name
    folder.mkdir()
    for stem in ("hukou", "roster"):  # well-formed but empty: the hostile file is the registry
        header = ",".join(c.headers[0] for c in SOURCES[stem].columns)
        (folder / f"{stem}.csv").write_bytes((header + "\n").encode())
    (folder / "registry.csv").write_bytes(content)
    return folder


@pytest.mark.parametrize("name,content", [
    ("binary", os.urandom(4096)),
    ("long_line", ("全国学籍号,身份证号,姓名,性别,出生日期,学校标识码,学校名称,学校区划代码,年级,学籍状态\n" + "x" * 1_000_000 + "\n").encode()),
    ("sql_header", '身份证号,"姓名""); drop table core.hukou; --",性别\n1,2,3\n'.encode()),
    ("mixed_encodings", "姓名,身份证号\n".encode("utf-8") + "张三,1\n".encode("gbk")),
])
def test_cli_answers_hostile_files_with_one_line_and_no_traceback(settings, tmp_path, name, content):
    folder = hostile_folder(tmp_path, name, content)
    done = kcbx("sweep", "--term", "2025-autumn", "--source-dir", str(folder), "--database-url",
                settings.database_url, "--data-dir", str(settings.data_dir))
    assert done.returncode in (1, 3)
    assert "Traceback" not in done.stderr
    last = [l for l in done.stderr.splitlines() if l.startswith("kcbx:")]
    assert len(last) == 1 and "registry.csv" in last[0], done.stderr[-500:]
    with sa.create_engine(settings.database_url.replace("postgresql://", "postgresql+psycopg2://")).connect() as c:
        assert c.execute(sa.text("select to_regclass('core.hukou') is not null")).scalar()


def test_cli_errors_are_one_line_with_exit_codes(settings, tmp_path):
    done = kcbx("sweep", "--term", "2025-fall", "--source-dir", str(tmp_path), "--database-url", settings.database_url)
    assert done.returncode == 1 and done.stderr.strip() == \
        "kcbx: bad term '2025-fall': write YYYY-autumn or YYYY-spring, e.g. 2025-autumn"
    done = kcbx("sweep", "--term", "2025-autumn", "--source-dir", str(tmp_path / "nowhere"),
                "--database-url", settings.database_url)
    assert done.returncode == 1 and "does not exist" in done.stderr and "Traceback" not in done.stderr
    done = kcbx("audit", "--term", "2025-autumn", "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert done.returncode == 2 and done.stderr.startswith("kcbx: database unavailable")
