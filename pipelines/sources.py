"""The sources of a term and their columns, as in docs/data-contract.md.

Each column has a canonical (English) name, the default headers that map to it (Chinese first) and a kind that
says how it is normalized (see sql/functions/normalize.sql). Users add header aliases in kcbx.toml
([columns.<source>]) without touching this file.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Settings


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]          # default headers, Chinese first
    kind: str = "text"                # id | name | gender | date | region | school_id | student_no | grade | code | int | text
    required: bool = True             # the column must be present in the file
    nullable: bool = False            # a present column may still have empty cells
    allowed: tuple[str, ...] = ()     # for kind == "code": the values the contract allows


@dataclass(frozen=True)
class Source:
    name: str
    chinese: str
    required: bool
    columns: tuple[Column, ...]
    volume_steady: bool = False       # its row count should not jump between terms (volume-drift check)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def C(name, headers, kind="text", required=True, nullable=False, allowed=()):
    return Column(name, tuple(headers), kind, required, nullable, tuple(allowed))


ID = lambda nullable=False: C("id_number", ["身份证号", "身份证号码", "证件号码", "身份证件号", "id_number"], "id",
                              nullable=nullable)
NAME = C("name", ["姓名", "学生姓名", "name"], "name")
GENDER = C("gender", ["性别", "gender"], "gender")
BIRTH = C("birth_date", ["出生日期", "出生年月日", "birth_date"], "date")
STUDENT_NO = C("student_no", ["全国学籍号", "学籍号", "学籍辅号", "student_no"], "student_no", required=False, nullable=True)

REGISTRY_STATUSES = ("在读", "休学", "转出", "毕业", "死亡")
HUKOU_STATUSES = ("正常", "迁出", "死亡")
HOUSEHOLD_TYPES = ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
SPECIAL_GROUPS = ("孤儿", "事实无人抚养儿童", "残疾儿童", "留守儿童", "困境儿童", "随迁子女", "涉案未成年人")
FOLLOWUP_KINDS = ("核查", "劝返", "复学", "排除")
DROPOUT_REASONS = ("学习困难", "外出打工", "早婚早育", "信教", "家庭经济困难", "身体原因", "疫情", "其他")
EXEMPTION_KINDS = ("延缓入学", "免学", "送教上门")
REPORT_STATUSES = ("已报到", "未报到")
SCHOOL_STATUSES = ("在校", "辍学", "未入学")

SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("hukou", "户籍", True, (
        ID(), NAME, GENDER, BIRTH,
        C("region_code", ["户籍地区划代码", "户籍地行政区划代码", "区划代码", "region_code"], "region"),
        C("household_no", ["户号", "household_no"], required=False, nullable=True),
        C("hukou_status", ["户籍状态", "hukou_status"], "code", required=False, nullable=True,
          allowed=HUKOU_STATUSES),
    )),
    Source("registry", "学籍", True, (
        STUDENT_NO, ID(nullable=True), NAME, GENDER, BIRTH,
        C("school_id", ["学校标识码", "学校代码", "school_id"], "school_id"),
        C("school_name", ["学校名称", "school_name"], nullable=True),
        C("school_region_code", ["学校区划代码", "学校所在地区划代码", "school_region_code"], "region"),
        C("grade", ["年级", "grade"], "grade"),
        C("registry_status", ["学籍状态", "registry_status"], "code", allowed=REGISTRY_STATUSES),
    )),
    Source("roster", "在校学生", True, (
        C("school_id", ["学校标识码", "学校代码", "school_id"], "school_id"),
        STUDENT_NO, ID(nullable=True), NAME,
        C("report_status", ["报到状态", "report_status"], "code", allowed=REPORT_STATUSES),
    )),
    Source("poverty", "脱贫户", False, (
        ID(), NAME,
        C("household_no", ["户编号", "户号", "household_no"]),
        C("household_type", ["户类型", "household_type"], "code", allowed=HOUSEHOLD_TYPES),
        C("region_code", ["区划代码", "region_code"], "region"),
        C("school_status", ["就学状态", "school_status"], "code", required=False, nullable=True,
          allowed=SCHOOL_STATUSES),
    )),
    Source("special_groups", "重点人群", False, (
        ID(), NAME,
        C("category", ["类别", "人群类别", "category"], "code", allowed=SPECIAL_GROUPS),
        C("source_department", ["来源部门", "source_department"], required=False, nullable=True),
    )),
    Source("national_suspects", "疑似辍学", False, (
        C("batch_no", ["批次号", "batch_no"]), ID(), NAME,
        C("issued_on", ["下发日期", "issued_on"], "date"),
    )),
    Source("followups", "核查劝返", False, (
        ID(),
        C("recorded_on", ["记录日期", "recorded_on"], "date"),
        C("kind", ["记录类型", "kind"], "code", allowed=FOLLOWUP_KINDS),
        C("result", ["结果", "result"], nullable=True),
        C("reason", ["辍学原因", "reason"], "code", required=False, nullable=True, allowed=DROPOUT_REASONS),
        C("exclusion_reason", ["排除原因", "exclusion_reason"], required=False, nullable=True),
        C("responsible", ["责任人", "包保责任人", "responsible"], required=False, nullable=True),
        C("evidence", ["佐证材料", "evidence"], required=False, nullable=True),
    )),
    Source("exemptions", "延缓免学", False, (
        ID(),
        C("kind", ["类型", "kind"], "code", allowed=EXEMPTION_KINDS),
        C("approved_on", ["批准日期", "approved_on"], "date"),
        C("valid_until", ["有效期至", "valid_until"], "date"),
        C("approved_by", ["批准单位", "approved_by"], nullable=True),
    )),
    Source("graduates", "小学毕业库", False, (
        ID(), NAME,
        C("school_id", ["毕业学校标识码", "学校标识码", "school_id"], "school_id"),
        C("graduation_year", ["毕业年份", "graduation_year"], "int"),
    )),
]}

for _name in ("hukou", "registry", "roster", "poverty", "special_groups"):
    SOURCES[_name] = Source(**{**SOURCES[_name].__dict__, "volume_steady": True})

REQUIRED_SOURCES = [s.name for s in SOURCES.values() if s.required]


def header_map(source: Source, settings: Settings | None = None) -> dict[str, str]:
    """Header text (as normalized by `header_key`) → canonical column name, defaults plus configured aliases."""
    extra = (settings.column_aliases.get(source.name, {}) if settings else {})
    out: dict[str, str] = {}
    for col in source.columns:
        for h in (*col.headers, col.name, *extra.get(col.name, [])):
            out[header_key(h)] = col.name
    return out


def header_key(text: str) -> str:
    """Headers compare without spaces, BOMs, asterisks marking required fields, or case."""
    import unicodedata
    t = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "")
    return "".join(ch for ch in t if not ch.isspace() and ch not in "*＊:：()（）").lower()
