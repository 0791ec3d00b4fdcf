"""Loading files as offices export them: encodings, workbooks, title rows, messy headers, broken lines."""
import os
import zipfile

import pytest
import sqlalchemy as sa

from pipelines import db
from pipelines.config import Settings
from pipelines.errors import InputError
from pipelines.generate import write_variant
from pipelines.load.loader import discover_sources, publish_staged, stage_file
from pipelines.load.readers import open_rows
from pipelines.sources import SOURCES
from pipelines.terms import Term

TERM = Term.parse("2025-autumn")
HEADER = "全国学籍号,身份证号,姓名,性别,出生日期,学校标识码,学校名称,学校区划代码,年级,学籍状态\n"
ROW = "G{id},{id},{name},男,2015-03-09,4101021001,第一小学,410102,4,在读\n"
IDS = ["41010220150309106X", "410102201503090024", "410102201503090032"]  # valid GB 11643 numbers


ASCII_HEADER = ("student_no,id_number,name,gender,birth_date,school_id,school_name,school_region_code,grade,"
                "registry_status\n")
# more than the reader's first read ahead (8 KB) of ASCII rows
ASCII_ROWS = "".join(f"G{n},{IDS[n % 2]},Zhang Wei,1,2015-03-09,4101021001,No. 1 Primary,410102,4,1\n"
                     for n in range(150))


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def registry_text(names=("张伟", "李娜", "王芳")):
    return HEADER + "".join(ROW.format(id=i, name=n) for i, n in zip(IDS, names))


def read_all(path, source="registry", settings=None):
    stream = open_rows(path, SOURCES[source], settings)
    return stream, list(stream)


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gbk"),
                                               ("gb18030", "gb18030")])
def test_csv_encodings_are_detected(tmp_path, encoding, expected):
    names = ("张伟", "李娜", "王芳") if encoding != "gb18030" else ("张㛃", "李娜", "王芳")
    if encoding == "gb18030":  # 㛃 is not in GBK: only GB18030 can hold this file
        with pytest.raises(UnicodeEncodeError):
            "㛃".encode("gbk")
    stream, records = read_all(write(tmp_path / "registry.csv", registry_text(names), encoding))
    assert stream.encoding == expected
    assert [r[1][stream.columns.index("name")] for r in records] == list(names)
    assert [r[0] for r in records] == [2, 3, 4]


def test_xlsx_with_title_row_and_excel_dates(tmp_path):
    csv_path = write(tmp_path / "src.csv", registry_text())
    xlsx = write_variant(csv_path, tmp_path / "registry.xlsx", title_row="某某县2026年春季学期学籍名册", as_xlsx=True)
    stream, records = read_all(xlsx)
    assert stream.format == "xlsx" and stream.header_line == 3
    assert [r[0] for r in records] == [4, 5, 6]
    from openpyxl import Workbook
    import datetime
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "类型", "批准日期", "有效期至", "批准单位"])
    ws.append([IDS[0], "免学", datetime.datetime(2025, 8, 20), 46000, "县教育局"])
    wb.save(tmp_path / "exemptions.xlsx")
    stream, records = read_all(tmp_path / "exemptions.xlsx", "exemptions")
    row = dict(zip(stream.columns, records[0][1]))
    assert row["approved_on"] == "2025-08-20" and row["valid_until"] == "46000"


def test_title_rows_blank_rows_aliases_and_extra_columns(tmp_path):
    text = ("某某县2026年春季学期学籍名册\n\n,,,\n"
            "学籍号, 身份证号码 ,学生姓名,性别,出生年月日,学校代码,学校名称,学校所在地区划代码,年级,学籍状态,备注\n"
            + "".join(ROW.format(id=i, name=n).rstrip("\n") + ",x\n" for i, n in zip(IDS, "甲乙丙")) + "\n\n")
    stream, records = read_all(write(tmp_path / "registry.csv", text))
    assert stream.header_line == 4 and len(records) == 3 and records[0][0] == 5
    assert stream.ignored_headers == ["备注"]


def test_configured_alias_maps_an_unknown_header(tmp_path):
    text = HEADER.replace("学校标识码", "机构编号") + ROW.format(id=IDS[0], name="张伟")
    path = write(tmp_path / "registry.csv", text)
    with pytest.raises(InputError, match=r"missing column 学校标识码 .*kcbx.toml \[columns.registry\]"):
        read_all(path)
    settings = Settings(column_aliases={"registry": {"school_id": ["机构编号"]}})
    stream, records = read_all(path, settings=settings)
    assert dict(zip(stream.columns, records[0][1]))["school_id"] == "4101021001"


def test_quoted_commas_and_embedded_newlines_keep_editor_line_numbers(tmp_path):
    text = HEADER + ROW.format(id=IDS[0], name="张伟").replace("第一小学", '"第一小学,东校区\n(分部)"') \
        + ROW.format(id=IDS[1], name="李娜")
    stream, records = read_all(write(tmp_path / "registry.csv", text))
    assert [r[0] for r in records] == [2, 4]
    assert dict(zip(stream.columns, records[0][1]))["school_name"] == "第一小学,东校区\n(分部)"


def test_broken_and_truncated_lines_are_recorded_not_dropped(tmp_path):
    text = registry_text() + "G1,1,赵六,男\n" + "G2,2,钱七,女,2015-01-01,4101021001,\"第一小"
    stream, records = read_all(write(tmp_path / "registry.csv", text))
    assert len(records) == 5
    assert [(r[0], r[1] is None) for r in records[3:]] == [(5, True), (6, True)]
    assert all(r[2] for r in records[3:])


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    ("姓名,性别\n".encode(), "no header row"),
    (b"\x00\x01\x02binary\x00" * 10, "binary content"),
    ("学校标识码,全国学籍号,身份证号,姓名,报到状态\n4101021001,G1,1,张三,已报到\n".encode(), "looks like a roster"),
])
def test_unusable_files_stop_with_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "hukou.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        read_all(path, "hukou")
    assert "hukou.csv" in str(e.value) and "\n" not in str(e.value)


def test_zip_bomb_and_fake_workbooks_are_refused(tmp_path):
    bomb = tmp_path / "registry.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<a/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    with pytest.raises(InputError, match="zip bomb"):
        read_all(bomb)
    fake = write(tmp_path / "roster.xlsx", "not a workbook")
    with pytest.raises(InputError, match="not an Excel workbook"):
        read_all(fake, "roster")


def test_header_only_file_loads_zero_rows(settings, tmp_path):
    path = write(tmp_path / "registry.csv", HEADER)
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", path, None)
    result = publish_staged(eng, settings, TERM, staged, None)
    assert (staged.rows_read, result.rows_accepted, result.rows_rejected) == (0, 0, 0)


def test_rows_are_accounted_for_and_rejected_rows_are_not_published(settings, tmp_path):
    text = registry_text() + "G1,1,赵六,男\n"
    path = write(tmp_path / "registry.csv", text)
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", path, None)
    with eng.begin() as c:  # what validation does for a row it rejects
        c.execute(sa.text("insert into audit.row_issues (file_hash, province, term, source, file_name, line, rule,"
                          " severity) values (:h, '41', :t, 'registry', 'registry.csv', 3, 'test', 'rejected')"),
                  {"h": staged.file_hash, "t": TERM.code})
    result = publish_staged(eng, settings, TERM, staged, None)
    assert result.rows_read == 4 == result.rows_accepted + result.rows_rejected
    assert (result.rows_accepted, result.rows_rejected) == (2, 2)
    with eng.connect() as c:
        lines = c.execute(sa.text("select line, id_number, name_key from core.registry order by line")).all()
        issues = c.execute(sa.text("select line, rule, severity from audit.row_issues order by line")).all()
    assert [l for l, _, _ in lines] == [2, 4]
    assert lines[0][1] == IDS[0]
    assert [(l, s) for l, _, s in issues] == [(3, "rejected"), (5, "rejected")]


def test_a_file_of_no_known_encoding_past_its_sample_is_refused_and_nothing_of_it_stays_staged(settings, tmp_path,
                                                                                               monkeypatch):
    """The encoding is told from a file's first bytes, and COPY checks the rest: a byte no encoding has, after them,
    stops the load with one line naming the file, as a whole-file check did, and leaves none of its rows staged."""
    from pipelines.load import loader
    from pipelines.load.archive import sha256_file
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "COPY_SESSIONS", 2)
    monkeypatch.setattr(loader, "ENCODING_SAMPLE", 200)
    path = tmp_path / "registry.csv"
    path.write_bytes((ASCII_HEADER + ASCII_ROWS).encode() + b"G9,9,\xff\xff,1,2015-03-09,4101021001,x,410102,4,1\n")
    eng = db.prepare(settings)
    with pytest.raises(InputError, match="registry.csv: text is neither UTF-8 nor GBK"):
        stage_file(eng, settings, TERM, "registry", path, None)
    with eng.connect() as c:
        left = c.execute(sa.text("select count(*) from pg_class where starts_with(relname, :partition)"),
                         {"partition": f"registry_41_{sha256_file(path)[:16]}"}).scalar()
    assert left == 0


def test_publishing_refuses_a_file_whose_staged_rows_are_gone(settings, tmp_path):
    """A load killed halfway, or staging replaced by an upgrade, must not publish a file as if it had no rows."""
    from pipelines.load.staging import file_partition
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", registry_text()), None)
    with eng.begin() as c:
        c.execute(sa.text(f"drop table {file_partition('registry', '41', staged.file_hash)}"))
    with pytest.raises(InputError, match="registry.csv: not staged for .*staged rows are gone"):
        publish_staged(eng, settings, TERM, staged, None)
    with eng.connect() as c:
        assert c.execute(sa.text("select count(*) from core.registry")).scalar() == 0
        assert c.execute(sa.text("select status from audit.file_manifest")).scalar() == "staged"


def test_two_provinces_staging_the_same_file_keep_their_own_rows(settings, tmp_path):
    """Sweeps of several provinces run at once, and may send byte-identical files (a header-only list, a shared
    extract): each province stages, validates and publishes its own copy."""
    from pipelines.validate import validate_staged
    other = Settings(data_dir=tmp_path / "data42", database_url=settings.database_url, province="42")
    eng = db.prepare(settings)
    path = write(tmp_path / "registry.csv", registry_text())
    ours, theirs = (stage_file(eng, s, TERM, "registry", path, None) for s in (settings, other))
    assert ours.file_hash == theirs.file_hash
    with eng.connect() as c:
        assert dict(c.execute(sa.text("select province, count(*) from staging.registry group by 1")).all()) == \
            {"41": 3, "42": 3}
    for s, staged in ((settings, ours), (other, theirs)):
        validate_staged(eng, s, TERM, "registry", staged.file_hash, staged.file_name, None)
        assert publish_staged(eng, s, TERM, staged, None).rows_accepted == 3
    with eng.connect() as c:
        assert dict(c.execute(sa.text("select province, count(*) from core.registry group by 1")).all()) == \
            {"41": 3, "42": 3}
        assert c.execute(sa.text("select count(*) from staging.registry")).scalar() == 0


def test_two_provinces_replace_their_partitions_of_a_term_at_once(settings):
    """Publishing and matching replace a province's partition of a term inside a transaction that also reads that
    province's rows. Another province doing the same meanwhile must neither wait for it nor deadlock with it."""
    eng = db.prepare(settings)
    key = {"t": TERM.code}

    def new(conn, province):
        conn.execute(sa.text("select core.new_partition('registry', :p, :t)"), {**key, "p": province})

    def attach(conn, province):
        conn.execute(sa.text("select core.attach_partition('registry', :p, :t)"), {**key, "p": province})
    for province in ("41", "42"):   # both published once already
        db.ensure_province_partition(eng, "registry", province)
        with eng.begin() as c:
            new(c, province)
            attach(c, province)
    with eng.connect() as a, eng.connect() as b:
        with a.begin():
            new(a, "41")
            a.execute(sa.text("select count(*) from core.registry where province = '41' and term = :t"), key)
            with b.begin():
                b.execute(sa.text("set local lock_timeout = '5s'"))
                new(b, "42")
                attach(b, "42")
            attach(a, "41")
    with eng.connect() as c:
        assert sorted(c.execute(sa.text("select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
                                        " where i.inhparent in ('core.registry_41'::regclass,"
                                        " 'core.registry_42'::regclass)")).scalars()) == \
            ["registry_2025_autumn_41", "registry_2025_autumn_42"]


def test_normalized_values_reach_core(settings, tmp_path):
    text = HEADER + "Ｇ41010220150309106x, ４１０１０２２０１５０３０９１０６ｘ ,張　偉,1,20150309,4101021001,一小,410102001001,初一,在读\n"
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", text), None)
    publish_staged(eng, settings, TERM, staged, None)
    with eng.connect() as c:
        row = c.execute(sa.text("select student_no, id_number, id_valid, name, name_key, gender, birth_date::text,"
                                " school_region_code, grade from core.registry")).one()
    assert tuple(row) == ("G41010220150309106X", "41010220150309106X", True, "張 偉", "张伟", "男", "2015-03-09",
                          "410102", 7)


def test_same_file_twice_is_a_noop_and_a_changed_file_replaces_atomically(settings, tmp_path):
    eng = db.prepare(settings)
    path = write(tmp_path / "registry.csv", registry_text())
    first = stage_file(eng, settings, TERM, "registry", path, None)
    publish_staged(eng, settings, TERM, first, None)
    again = stage_file(eng, settings, TERM, "registry", path, None)
    assert again.already_published
    write(path, registry_text() + ROW.format(id="410102201503090040", name="赵六"))
    changed = stage_file(eng, settings, TERM, "registry", path, None)
    publish_staged(eng, settings, TERM, changed, None)
    with eng.connect() as c:
        assert c.execute(sa.text("select count(*) from core.registry")).scalar() == 4
        manifest = c.execute(sa.text("select file_hash, status, rows_read from audit.file_manifest"
                                     " order by loaded_at")).all()
    assert [(s, n) for _, s, n in manifest] == [("superseded", 3), ("published", 4)]
    archived = settings.archive_dir / changed.file_hash[:2] / f"{changed.file_hash}.csv"
    assert archived.exists() and oct(os.stat(archived).st_mode & 0o777) == "0o600"


def test_a_published_file_survives_a_crash_and_leaves_no_staged_copy(settings, tmp_path):
    """Publishing makes the staged file's own table the term's partition in core: its rows must be crash-safe (no
    unlogged table, which a crash empties), show only the typed values, and leave nothing behind in staging."""
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", registry_text()), None)
    publish_staged(eng, settings, TERM, staged, None)
    with eng.connect() as c:
        leaves = c.execute(sa.text("select c.relpersistence from pg_partition_tree('core.registry') t"
                                   " join pg_class c on c.oid = t.relid where t.isleaf")).scalars().all()
        staged_leaves = c.execute(sa.text("select count(*) from pg_partition_tree('staging.registry')"
                                          " where isleaf")).scalar()
        result = c.execute(sa.text("select * from core.registry order by line"))
        columns, rows = list(result.keys()), result.all()
    assert leaves and set(leaves) == {"p"}
    assert staged_leaves == 0
    assert not [c for c in columns if c.endswith("_raw")]
    assert [r.line for r in rows] == [2, 3, 4] and [r.id_number for r in rows] == IDS


def test_a_staged_file_has_the_constraints_of_its_core_partition_before_it_is_published(settings, tmp_path):
    """Publishing attaches a staged file to core without reading its rows (ten million of them took 3–4 s): the
    file's table already has core's NOT NULL columns and the check of province and term that spares ATTACH its
    scan, kept by COPY as it wrote each row; publishing adds none of them again."""
    from pipelines.load.staging import file_partition
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", registry_text()), None)
    not_null = ("select array_agg(attname::text order by attname) from pg_attribute"
                " where attrelid = cast(:t as regclass) and attnum > 0 and not attisdropped and attnotnull")
    checks = ("select array_agg(conname || ': ' || pg_get_constraintdef(oid)) from pg_constraint"
              " where conrelid = cast(:t as regclass) and contype = 'c'")
    table = file_partition("registry", "41", staged.file_hash)
    with eng.connect() as c:
        assert set(c.execute(sa.text(not_null), {"t": "core.registry"}).scalar()) == {
            "province", "term", "file_hash", "line", "id_valid"}
        # every source's staged table, as staging makes it from the source definitions, and this file's
        for source in SOURCES:
            assert set(c.execute(sa.text(not_null), {"t": f"core.{source}"}).scalar()) <= set(
                c.execute(sa.text(not_null), {"t": f"staging.{source}"}).scalar()), source
        assert set(c.execute(sa.text(not_null), {"t": "core.registry"}).scalar()) <= set(
            c.execute(sa.text(not_null), {"t": table}).scalar())
        assert c.execute(sa.text(checks), {"t": table}).scalar() == [
            "province_term: CHECK (((province = '41'::text) AND (term = '2025-autumn'::text)))"]
    publish_staged(eng, settings, TERM, staged, None)
    with eng.connect() as c:
        partition = c.execute(sa.text("select relid::text from pg_partition_tree('core.registry') where level = 2"
                                      )).scalar()
        assert c.execute(sa.text(checks), {"t": partition}).scalar() == [
            "province_term: CHECK (((province = '41'::text) AND (term = '2025-autumn'::text)))"]


@pytest.mark.parametrize("text", [registry_text(), registry_text() + "\n" + ROW.format(id=IDS[1], name="李娜")],
                         ids=["by COPY", "by the row reader (a blank line)"])
def test_a_staged_file_is_written_frozen_so_no_read_rewrites_it(settings, tmp_path, text):
    """COPY writes a staged file's rows frozen and its pages all-visible: validation's first scan of a file of ten
    million rows would otherwise rewrite every page to set hint bits (2.2 GB for the registry), and every scan would
    check each row's visibility. ANALYZE after staging counts the all-visible pages."""
    from pipelines.load.staging import file_partition
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", text), None)
    with eng.connect() as c:
        pages = c.execute(sa.text(
            "select sum(c.relpages), sum(c.relallvisible) from pg_partition_tree(cast(:t as regclass)) p"
            " join pg_class c on c.oid = p.relid where p.isleaf"), {"t": file_partition("registry", "41",
                                                                                        staged.file_hash)}).one()
    assert pages[0] > 0 and pages[1] == pages[0]


def test_publishing_attaches_a_staged_file_without_analyzing_it_again(settings, tmp_path):
    """Staging analyzed the file's tables; publishing keeps their statistics and computes none for the partition
    of the term (a partitioned table's own, which no statement reads: 2 s for a registry of ten million rows)."""
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "registry", write(tmp_path / "registry.csv", registry_text()), None)
    publish_staged(eng, settings, TERM, staged, None)
    with eng.connect() as c:
        analyzed = c.execute(sa.text(
            "select p.isleaf, count(distinct s.tablename) from pg_partition_tree('core.registry_2025_autumn_41') p"
            " join pg_class c on c.oid = p.relid left join pg_stats s on s.schemaname = 'core'"
            " and s.tablename = c.relname group by 1 order by 1")).all()
    assert analyzed == [(False, 0), (True, 1)]


def test_discover_names_the_missing_required_file(tmp_path):
    write(tmp_path / "户籍.csv", "x")
    write(tmp_path / "REGISTRY.xlsx", "x")
    with pytest.raises(InputError, match="missing required file roster"):
        discover_sources(tmp_path)
    write(tmp_path / "roster.csv", "x")
    write(tmp_path / "notes.txt", "x")
    assert sorted(discover_sources(tmp_path)) == ["hukou", "registry", "roster"]


def _staged_rows(eng, source, file_hash):
    with eng.connect() as c:
        return c.execute(sa.text(f"select * from staging.{source} where file_hash = :h order by line"),
                         {"h": file_hash}).all()


@pytest.mark.parametrize("name,text,encoding,by_copy", [
    ("clean utf-8", registry_text(), "utf-8", True),
    ("utf-8 with BOM, CRLF", registry_text().replace("\n", "\r\n"), "utf-8-sig", True),
    ("GBK, quoted fields, messy values", HEADER + ROW.format(id=IDS[0], name="张伟").replace("第一小学", '"第一,小学"')
     + "Ｇ41010220150309106x, ４１０１０２２０１５０３０９１０６ｘ ,張　偉,1,2015年3月9日,4101021001,一小,410102001001,初一,在读\n",
     "gbk", True),
    ("title row above the header", "某县学籍名册\n" + registry_text(), "utf-8", True),
    ("a column no source needs", registry_text().replace("\n", ",备注\n", 1).replace("在读\n", "在读,转学中\n"), "utf-8",
     True),
    # the encoding is told from the first 200 bytes (ENCODING_SAMPLE below): ASCII there, GBK after it
    ("GBK after the encoding's sample", ASCII_HEADER + ASCII_ROWS + ROW.format(id=IDS[2], name="王芳"), "gbk", True),
    ("GBK header below an ASCII title row longer than the sample", "Registry export of county 410102, term 2025-autumn,"
     " sent on 2025-09-15 by the county education bureau; " * 4 + "\n" + registry_text(), "gbk", True),
    ("embedded newline", HEADER + ROW.format(id=IDS[0], name="张伟").replace("第一小学", '"第一\n小学"'), "utf-8",
     False),
    ("blank line", registry_text() + "\n" + ROW.format(id=IDS[1], name="李娜"), "utf-8", False),
    ("a row of empty fields, as spreadsheets write a blank row",
     (registry_text() + ",,,,,,,,,\n" + ROW.format(id=IDS[1], name="李娜")).replace("\n", "\r\n"), "utf-8", False),
    ("truncated last line", registry_text() + "G2,2,钱七,女", "utf-8", False),
    ("extra empty field", registry_text().replace("在读\n", "在读,\n"), "utf-8", False),
])
def test_copy_reads_a_file_exactly_as_the_row_reader_does(settings, tmp_path, monkeypatch, name, text, encoding,
                                                          by_copy, caplog):
    """COPY takes clean files itself, cut into parts that sessions copy at once; either way every row, line and
    value staged is the same."""
    from pipelines.load import loader
    path = write(tmp_path / "registry.csv", text, encoding)
    eng = db.prepare(settings)
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)   # even a small file in parts, as a large one would be
    monkeypatch.setattr(loader, "COPY_SESSIONS", 2)
    monkeypatch.setattr(loader, "ENCODING_SAMPLE", 200)
    with caplog.at_level("INFO", logger="kcbx.load"):
        fast = stage_file(eng, settings, TERM, "registry", path, None)
    assert ("read by COPY in" in caplog.text) == by_copy
    if name == "clean utf-8":
        assert "read by COPY in 2 parts" in caplog.text
    assert fast.encoding == {"utf-8-sig": "utf-8"}.get(encoding, encoding)
    fast_rows = _staged_rows(eng, "registry", fast.file_hash)
    monkeypatch.setattr(loader, "copy_plan", lambda path, stream, parts: None)
    slow = stage_file(eng, settings, TERM, "registry", path, None)
    assert (fast.rows_read, fast.rows_rejected_on_read) == (slow.rows_read, slow.rows_rejected_on_read)
    assert fast_rows == _staged_rows(eng, "registry", slow.file_hash) and fast_rows
