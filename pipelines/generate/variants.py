"""Rewrite a generated CSV the way offices send files: GBK/GB18030/UTF-8-BOM, or XLSX with a title row."""
from __future__ import annotations

import csv
from pathlib import Path


def write_variant(csv_path: Path, out_path: Path, encoding: str = "utf-8", title_row: str | None = None,
                  as_xlsx: bool = False) -> Path:
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if as_xlsx:
        from openpyxl import Workbook
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Sheet1")
        if title_row:
            ws.append([title_row])
            ws.append([])
        for r in rows:
            ws.append(r)
        wb.save(out_path)
        return out_path
    with open(out_path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        if title_row:
            w.writerow([title_row])
        w.writerows(rows)
    return out_path
