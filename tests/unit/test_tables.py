"""Reading tables as text: CSV in UTF-8 (with or without a byte-order mark) or a named
encoding, and the first sheet of an .xlsx workbook, as 12345 systems export them."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from gridmap.errors import InputError
from gridmap.ingest.tables import read_text_table

HEADER = "工单号,类型,受理时间,经度,纬度\n"
ROW = "0012,占道经营,2026-03-02 09:05,118.7843,32.041\n"


def test_a_utf8_csv_with_or_without_a_byte_order_mark_reads_the_same(tmp_path):
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    plain.write_text(HEADER + ROW, encoding="utf-8")
    marked.write_text(HEADER + ROW, encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    for path in (plain, marked):
        frame = read_text_table(path)
        assert list(frame.columns) == ["工单号", "类型", "受理时间", "经度", "纬度"]
        assert frame.iloc[0].tolist() == [
            "0012",
            "占道经营",
            "2026-03-02 09:05",
            "118.7843",
            "32.041",
        ]


def test_a_gb18030_csv_is_refused_with_a_hint_and_read_when_named(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + ROW).encode("gb18030"))
    with pytest.raises(InputError) as refused:
        read_text_table(path)
    assert "not UTF-8" in str(refused.value) and "--encoding GB18030" in str(refused.value)
    assert "不是 UTF-8" in str(refused.value)
    frame = read_text_table(path, encoding="GB18030")
    assert frame["类型"].tolist() == ["占道经营"] and frame["工单号"].tolist() == ["0012"]
    with pytest.raises(InputError, match="encoding 'gbk2' is unknown"):
        read_text_table(path, encoding="gbk2")


def test_the_first_sheet_of_a_workbook_reads_as_text(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["工单号", "类型", "受理时间", "经度", "纬度", "备注"])
    sheet.append(["0012", "占道经营", datetime(2026, 3, 2, 9, 5), 118.7843, 32.041, None])
    sheet.append([20260302001, "E0101", "2026-03-02T10:00:00+08:00", 118.5, 32, "门口"])
    book.create_sheet("说明").append(["not this sheet"])
    path = tmp_path / "12345导出.xlsx"
    book.save(path)
    frame = read_text_table(path)
    assert list(frame.columns) == ["工单号", "类型", "受理时间", "经度", "纬度", "备注"]
    assert frame.iloc[0].tolist() == [
        "0012",
        "占道经营",
        "2026-03-02 09:05:00",
        "118.7843",
        "32.041",
        "",
    ]
    assert frame.iloc[1].tolist() == [
        "20260302001",
        "E0101",
        "2026-03-02T10:00:00+08:00",
        "118.5",
        "32",
        "门口",
    ]


@pytest.mark.parametrize("suffix", [".xls", ".et"])
def test_old_workbook_formats_are_refused_by_name(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"save it as \.xlsx or CSV"):
        read_text_table(path)


def test_a_broken_workbook_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read it as a table"):
        read_text_table(path)
