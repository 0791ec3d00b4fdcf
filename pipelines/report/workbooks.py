"""XLSX documents a bureau sends upward: the monthly report (月报) and the half-monthly screening list
(疑似辍学预警名单). Chinese headers, one sheet per table, masked identities. A cell that starts with =, +, - or @
is written as text, never as a live formula."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.engine import Engine

from ..config import Settings
from ..terms import Term

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sheet(wb: Workbook, title: str, headers: list[str], rows) -> None:
    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([None] * len(headers))
        for col, v in enumerate(r, start=1):
            cell = ws.cell(row=ws.max_row, column=col)
            if isinstance(v, (list, tuple)):
                v = "、".join(map(str, v))
            elif hasattr(v, "is_integer") and not isinstance(v, float):  # Decimal
                v = float(v)
            cell.value = v
            if isinstance(v, str) and v.startswith(FORMULA_START):
                cell.data_type = "s"  # literal text: never evaluated by the spreadsheet
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(10, len(h) * 2 + 2)


def _prefix(settings: Settings, region: str | None) -> str:
    if not region or region.endswith("0000"):
        return settings.province
    return region[:4] if region.endswith("00") else region


def write_monthly_report(eng: Engine, settings: Settings, term: Term, out_dir: Path, region: str | None) -> Path:
    p = {"p": settings.province, "t": term.code, "prefix": _prefix(settings, region) + "%"}
    wb = Workbook()
    wb.remove(wb.active)
    with eng.connect() as c:
        _sheet(wb, "汇总", ["学期", "层级", "区划代码", "适龄人口", "在籍学生", "入学率", "巩固率(近似)", "新增",
                          "在册未销号", "本期销号", "反弹", "脱贫户在册", "重点人群在册", "逾期未分类"],
               c.execute(sa.text(
                   "select term, case region_level when 'province' then '省' when 'city' then '市' else '县' end,"
                   " region_code, school_age_population, registered_students, enrollment_rate, consolidation_rate,"
                   " new_cases, open_cases, closed_cases, relapses, poverty_open_cases, special_group_open_cases,"
                   " overdue_cases from report.region_term_indicators where province = :p and term = :t"
                   " and region_code like :prefix order by region_level desc, region_code"), p).all())
        _sheet(wb, "分原因", ["维度", "取值", "在册", "新增", "销号"], c.execute(sa.text(
            "select dimension, value, sum(open_cases), sum(new_cases), sum(closed_cases) from report.case_breakdowns"
            " where province = :p and term = :t and region_code like :prefix group by 1, 2 order by 1, 3 desc"),
            p).all())
        _sheet(wb, "新增名单", ["案例号", "类型", "状态", "身份证号(脱敏)", "姓名(脱敏)", "区县", "学校标识码", "脱贫户",
                            "重点人群"], c.execute(sa.text(
            "select case_id, case_type, status, id_number_masked, name_masked, region_code, school_id,"
            " case when is_poverty then '是' else '否' end, special_groups from report.case_ledger"
            " where province = :p and opened_term = :t and region_code like :prefix order by case_id"), p).all())
        _sheet(wb, "逾期未分类", ["案例号", "立案学期", "类型", "区县", "学校标识码", "已过天数"], c.execute(sa.text(
            "select case_id, opened_term, case_type, region_code, school_id, days_open from"
            " ledger.overdue_cases(current_date, :days) where province = :p and region_code like :prefix"
            " order by days_open desc"), {**p, "days": settings.overdue_days}).all())
    path = out_dir / f"月报_{region or settings.province + '0000'}_{term.code}.xlsx"
    wb.save(path)
    return path


def write_screening_list(eng: Engine, settings: Settings, term: Term, out_dir: Path, region: str | None) -> Path:
    p = {"p": settings.province, "t": term.code, "prefix": _prefix(settings, region) + "%"}
    wb = Workbook()
    wb.remove(wb.active)
    with eng.connect() as c:
        _sheet(wb, "疑似辍学预警名单", ["案例号", "类型", "状态", "身份证号(脱敏)", "姓名(脱敏)", "区县", "学校标识码",
                                "年级", "脱贫户", "重点人群", "立案学期", "辍学原因"], c.execute(sa.text(
            "select case_id, case_type, status, id_number_masked, name_masked, region_code, school_id, grade,"
            " case when is_poverty then '是' else '否' end, special_groups, opened_term, reason"
            " from report.case_ledger where province = :p and status in ('suspected', 'confirmed', 'persuading')"
            " and region_code like :prefix order by region_code, school_id, case_id"), p).all())
        _sheet(wb, "人籍不一致学校", ["学校标识码", "区县", "学籍人数", "上学期报到", "本学期报到", "未解释差异"], c.execute(sa.text(
            "select school_id, region_code, registry_count, last_term_count, reported_count, unexplained_difference"
            " from report.school_reconciliation where province = :p and term = :t and unexplained_difference <> 0"
            " and coalesce(region_code, '') like :prefix order by abs(unexplained_difference) desc"), p).all())
    path = out_dir / f"疑似辍学预警名单_{region or settings.province + '0000'}_{term.code}.xlsx"
    wb.save(path)
    return path
