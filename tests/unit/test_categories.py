"""Category sets as data: the shipped sets, the strict validator and the JSON round trip."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pytest

from gridmap.domain.categories import (
    HANDLERS,
    KINDS,
    SEVERITIES,
    TIME_UNITS,
    CategorySet,
    load_category_set,
    parse_category_set,
    parse_category_set_json,
)
from gridmap.errors import InputError, NotFoundError
from tests.conftest import REPO

DATA = REPO / "data"
LA_SAMPLE = DATA / "los_angeles" / "la311_2020_sample_10k.csv"
CJK = re.compile(r"[\u4e00-\u9fff]")

STANDARD_MAJORS = {
    ("component", "01"): "公用设施",
    ("component", "02"): "道路交通",
    ("component", "03"): "市容环境",
    ("component", "04"): "园林绿化",
    ("component", "05"): "房屋土地",
    ("component", "06"): "其他设施",
    ("event", "01"): "市容环境",
    ("event", "02"): "宣传广告",
    ("event", "03"): "施工管理",
    ("event", "04"): "突发事件",
    ("event", "05"): "街面秩序",
    ("event", "06"): "其他事件",
}


@pytest.fixture(scope="module")
def cn() -> CategorySet:
    return load_category_set("cn", data_dir=DATA)


@pytest.fixture(scope="module")
def la311() -> CategorySet:
    return load_category_set("la311", data_dir=DATA)


def bilingual_texts(category_set: CategorySet) -> list[tuple[str, str, str]]:
    """(where, English, Chinese) for every text a person reads in the set."""
    pairs = [("set title", category_set.title_en, category_set.title_zh)]
    pairs += [(d.code, d.name_en, d.name_zh) for d in category_set.departments]
    pairs += [(f"{m.kind}/{m.code}", m.name_en, m.name_zh) for m in category_set.majors]
    for c in category_set.categories:
        pairs += [
            (c.code, c.name_en, c.name_zh),
            (c.code, c.filing_condition_en, c.filing_condition_zh),
            (c.code, c.closing_condition_en, c.closing_condition_zh),
        ]
        pairs += [(f"{c.code}/{t.stage}", t.label_en, t.label_zh) for t in c.time_limits]
        for a in c.attributes:
            pairs.append((f"{c.code}/{a.code}", a.description_en, a.description_zh))
            pairs += [(f"{c.code}/{a.code}/{k}", en, zh) for k, en, zh in a.values]
    return pairs


# --- the shipped sets ----------------------------------------------------------------------------


def test_cn_has_the_twelve_standard_major_classes_each_with_minor_classes(cn):
    assert {(m.kind, m.code): m.name_zh for m in cn.majors} == STANDARD_MAJORS
    per_major = Counter((c.kind, c.major_code) for c in cn.categories)
    assert set(per_major) == set(STANDARD_MAJORS)
    assert min(per_major.values()) >= 3
    assert len(cn.categories) >= 40
    assert cn.calendar == "cn" and cn.timezone == "Asia/Shanghai"


def test_cn_codes_say_type_and_major_class(cn):
    for c in cn.categories:
        assert re.fullmatch(r"[CE]\d{4}", c.code), c.code
        assert c.code[0] == ("C" if c.kind == "component" else "E"), c.code
        assert c.code[1:3] == c.major_code, c.code


def test_cn_carries_the_domain_examples(cn):
    garbage = cn.by_external_name("暴露垃圾")
    assert [(t.amount, t.unit) for t in garbage.time_limits] == [(4, "working_hours")]
    assert garbage.handler == "grid"
    assert [(t.amount, t.unit) for t in cn.by_external_name("道路不洁").time_limits] == [
        (2, "working_hours")
    ]
    structure = cn.by_external_name("违法建设")
    assert [(t.stage, t.amount, t.unit) for t in structure.time_limits] == [
        ("stop_work", 4, "working_hours"),
        ("remove", 20, "working_days"),
    ]
    assert structure.handler == "department" and structure.department == "enforcement"
    cover = cn.category("C0101")
    assert ("restore", 6, "hours") in [(t.stage, t.amount, t.unit) for t in cover.time_limits]
    waterlogging = cn.by_external_name("道路积水")
    assert {t.unit for t in waterlogging.time_limits} == {"hours"}
    assert waterlogging.duplicate_radius_m > 50 and waterlogging.severity == "urgent"
    unknown_owner = cn.by_external_name("其他井盖（权属不明）")
    assert "marking" in [a.code for a in unknown_owner.attributes]


def test_cn_uses_every_handler_and_severity_and_many_departments(cn):
    assert {c.handler for c in cn.categories} == set(HANDLERS)
    assert {c.severity for c in cn.categories} == set(SEVERITIES)
    assert {t.unit for c in cn.categories for t in c.time_limits} == set(TIME_UNITS)
    codes = {d.code for d in cn.departments}
    assert {"enforcement", "municipal", "streetlight", "sanitation", "landscape", "water"} <= codes
    assert {"traffic_police", "housing", "market", "emergency", "power", "gas"} <= codes
    assert {c.department for c in cn.categories} == codes  # none defined in vain


@pytest.mark.parametrize("set_name", ["cn", "la311"])
def test_every_text_is_in_english_and_chinese(set_name):
    category_set = load_category_set(set_name, data_dir=DATA)
    for where, en, zh in bilingual_texts(category_set):
        assert en.strip() and zh.strip(), where
        assert CJK.search(zh), f"{where}: no Chinese in {zh!r}"
        assert not CJK.search(en), f"{where}: Chinese in the English text {en!r}"


def test_la311_covers_every_request_type_of_the_sample_with_its_owner(la311):
    with LA_SAMPLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    owners: dict[str, Counter[str]] = {}
    for row in rows:
        owners.setdefault(row["requesttype"], Counter())[row["owner"]] += 1
    assert len(owners) == 11
    for request_type, counts in owners.items():
        category = la311.by_external_name(request_type)
        assert category is not None, request_type
        assert request_type in category.external_names  # spelt exactly as in the file
        assert category.department == counts.most_common(1)[0][0], request_type
    assert {row["owner"] for row in rows} <= {d.code for d in la311.departments}
    assert la311.calendar == "los_angeles" and la311.timezone == "America/Los_Angeles"
    assert {c.kind for c in la311.categories} == set(KINDS)


def test_lookup_by_outside_names_ignores_case_width_and_spaces(la311, cn):
    bulky = la311.category("bulky_items")
    for text in (
        "Bulky Items",
        "  bulky   ITEMS ",
        "Ｂｕｌｋｙ Ｉｔｅｍｓ",
        "bulky_items",
        "大件垃圾清运",
    ):
        assert la311.by_external_name(text) is bulky, text
    assert la311.by_external_name("Pothole") is None
    assert cn.by_external_name("牛皮癣") is cn.category("E0201")
    with pytest.raises(NotFoundError, match="E9999"):
        cn.category("E9999")


@pytest.mark.parametrize("set_name", ["cn", "la311"])
def test_json_round_trip_is_exact(set_name):
    category_set = load_category_set(set_name, data_dir=DATA)
    stored = json.loads(json.dumps(category_set.to_json(), ensure_ascii=False))
    again = parse_category_set_json(stored)
    assert again == category_set
    assert again.to_json() == category_set.to_json()
    assert again.by_external_name("Bulky Items") == category_set.by_external_name("Bulky Items")


def test_stored_json_is_validated_like_a_file(la311):
    stored = la311.to_json()
    stored["categories"][0]["severity"] = "extreme"
    with pytest.raises(InputError) as caught:
        parse_category_set_json(stored)
    text = str(caught.value)
    assert "stored category set 'la311'" in text and "streetlight_single" in text
    assert "'extreme'" in text


def test_loading_by_name_path_and_the_calendar_check(tmp_path):
    with pytest.raises(InputError) as caught:
        load_category_set("nosuchset", data_dir=DATA)
    assert "nosuchset" in str(caught.value) and "cn, la311" in str(caught.value)
    with pytest.raises(InputError, match="nosuchset"):
        load_category_set("../nosuchset", data_dir=DATA)  # a path: read as is, and missing
    path = tmp_path / "mine.toml"
    path.write_text(VALID, encoding="utf-8")
    assert load_category_set(path, data_dir=DATA).category("X01").name("zh-CN") == "暴露垃圾"
    assert load_category_set(str(path), data_dir=DATA).name == "t"
    path.write_text(VALID.replace('calendar = "cn"', 'calendar = "los_angeles"'), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_category_set(path, data_dir=DATA)
    assert "America/Los_Angeles" in str(caught.value) and "mine.toml" in str(caught.value)
    path.write_text(VALID.replace('calendar = "cn"', 'calendar = "mars"'), encoding="utf-8")
    with pytest.raises(InputError, match="mars"):
        load_category_set(path, data_dir=DATA)


# --- the validator: one broken file per problem --------------------------------------------------

VALID = """
name = "t"
title_en = "Test"
title_zh = "测试"
calendar = "cn"
timezone = "Asia/Shanghai"

[[departments]]
code = "dept"
name_en = "Department"
name_zh = "部门"

[[majors]]
kind = "event"
code = "01"
name_en = "Townscape"
name_zh = "市容环境"

[[majors]]
kind = "component"
code = "02"
name_en = "Roads"
name_zh = "道路交通"

[[categories]]
code = "X01"
kind = "event"
major = "01"
name_en = "Exposed garbage"
name_zh = "暴露垃圾"
filing_condition_en = "Garbage lies exposed."
filing_condition_zh = "有暴露垃圾。"
closing_condition_en = "Removed."
closing_condition_zh = "已清除。"
handler = "grid"
severity = "normal"
time_limits = [
    { stage = "handle", amount = 4, unit = "working_hours", label_en = "Do", label_zh = "办" },
]

[[categories.attributes]]
code = "size"
datatype = "singlevaluelist"
description_en = "How big?"
description_zh = "多大？"
values = [{ key = "s", name_en = "Small", name_zh = "小" }]
"""

LIMIT = (
    '{ stage = "handle", amount = 4, unit = "working_hours", label_en = "Do", label_zh = "办" },'
)
TIME_LIMITS = f"time_limits = [\n    {LIMIT}\n]"
VALUES = 'values = [{ key = "s", name_en = "Small", name_zh = "小" }]'


def second_category(code: str, extra: str = "") -> str:
    return f"""
[[categories]]
code = "{code}"
kind = "event"
major = "01"
name_en = "Piled waste"
name_zh = "积存垃圾"
filing_condition_en = "Waste is piled up."
filing_condition_zh = "有积存垃圾。"
closing_condition_en = "Cleared."
closing_condition_zh = "已清运。"
handler = "department"
department = "dept"
severity = "low"
{extra}
time_limits = [
    {{ stage = "clear", amount = 1, unit = "working_days", label_en = "Do", label_zh = "办" }},
]
"""


def replaced(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old  # the case must really change the file
    return VALID.replace(old, new)


BROKEN = {
    "toml syntax": (replaced('severity = "normal"', "severity = normal"), ["line"]),
    "unknown kind": (
        replaced('kind = "event"\nmajor', 'kind = "incident"\nmajor'),
        ["categories[X01]", "'kind'", "'incident'"],
    ),
    "unknown handler": (replaced('handler = "grid"', 'handler = "worker"'), ["X01", "'worker'"]),
    "unknown severity": (
        replaced('severity = "normal"', 'severity = "critical"'),
        ["X01", "'critical'", "urgent"],
    ),
    "unknown unit": (
        replaced('unit = "working_hours"', 'unit = "fortnights"'),
        ["categories[X01].time_limits[handle]", "'fortnights'"],
    ),
    "zero time limit": (replaced("amount = 4", "amount = 0"), ["X01", "handle", "> 0"]),
    "negative time limit": (replaced("amount = 4", "amount = -2"), ["X01", "handle", "-2"]),
    "time limit as text": (replaced("amount = 4", 'amount = "4"'), ["X01", "handle", "'4'"]),
    "infinite time limit": (replaced("amount = 4", "amount = inf"), ["X01", "handle", "inf"]),
    "part of a working day": (
        replaced('amount = 4, unit = "working_hours"', 'amount = 1.5, unit = "working_days"'),
        ["X01", "handle", "whole"],
    ),
    "no time limit": (replaced(TIME_LIMITS, "time_limits = []"), ["X01", "at least one"]),
    "missing time limits": (replaced(TIME_LIMITS, ""), ["X01", "'time_limits'", "missing"]),
    "stage twice": (
        replaced(LIMIT, LIMIT + "\n    " + LIMIT),
        ["X01", "handle", "more than once"],
    ),
    "missing major class": (replaced('major = "01"', 'major = "07"'), ["X01", "'07'", "01"]),
    "major class of the other kind": (
        replaced('major = "01"', 'major = "02"'),
        ["X01", "'02'", "component"],
    ),
    "department handler without department": (
        replaced('handler = "grid"', 'handler = "department"'),
        ["X01", "no department"],
    ),
    "unknown department": (
        replaced('handler = "grid"', 'handler = "grid"\ndepartment = "police"'),
        ["X01", "'police'", "dept"],
    ),
    "missing Chinese name": (
        replaced('name_zh = "暴露垃圾"\n', ""),
        ["X01", "'name_zh'", "missing"],
    ),
    "empty English name": (
        replaced('name_en = "Exposed garbage"', 'name_en = "  "'),
        ["X01", "'name_en'", "empty"],
    ),
    "missing filing condition": (
        replaced('filing_condition_zh = "有暴露垃圾。"\n', ""),
        ["X01", "'filing_condition_zh'"],
    ),
    "list attribute without values": (
        replaced(VALUES + "\n", ""),
        ["categories[X01].attributes[size]", "at least one value"],
    ),
    "values on a string attribute": (
        replaced('datatype = "singlevaluelist"', 'datatype = "string"'),
        ["attributes[size]", "takes no values"],
    ),
    "unknown datatype": (
        replaced('datatype = "singlevaluelist"', 'datatype = "list"'),
        ["attributes[size]", "'list'", "multivaluelist"],
    ),
    "attribute required not a boolean": (
        replaced('datatype = "singlevaluelist"', 'datatype = "singlevaluelist"\nrequired = "yes"'),
        ["attributes[size]", "'required'", "'yes'"],
    ),
    "attribute value twice": (
        replaced(VALUES, VALUES.replace("}]", '}, { key = "s", name_en = "S", name_zh = "小" }]')),
        ["attributes[size].values[s]", "more than once"],
    ),
    "misspelt field": (
        replaced('severity = "normal"', 'severity = "normal"\nseverty = "high"'),
        ["X01", "'severty'", "unknown field"],
    ),
    "code with a space": (replaced('code = "X01"', 'code = "X 01"'), ["'X 01'", "letters"]),
    "non-positive duplicate radius": (
        replaced('severity = "normal"', 'severity = "normal"\nduplicate_radius_m = 0'),
        ["X01", "'duplicate_radius_m'", "> 0"],
    ),
    "duplicate window as text": (
        replaced('severity = "normal"', 'severity = "normal"\nduplicate_window_hours = "3d"'),
        ["X01", "'duplicate_window_hours'", "'3d'"],
    ),
    "unknown time zone": (
        replaced('timezone = "Asia/Shanghai"', 'timezone = "China/Beijing"'),
        ["(top level)", "'China/Beijing'"],
    ),
    "missing set name": (replaced('name = "t"\n', ""), ["(top level)", "'name'"]),
    "category code twice": (VALID + second_category("X01"), ["categories[X01]", "more than once"]),
    "department code twice": (
        VALID + '\n[[departments]]\ncode = "dept"\nname_en = "Again"\nname_zh = "重复"\n',
        ["departments[dept]", "more than once"],
    ),
    "major class twice": (
        VALID + '\n[[majors]]\nkind = "event"\ncode = "01"\nname_en = "Again"\nname_zh = "重复"\n',
        ["majors[event/01]", "more than once"],
    ),
    "external name naming another category": (
        VALID + second_category("X02", 'external_names = ["exposed  GARBAGE"]'),
        ["categories[X02]", "'exposed  GARBAGE'", "X01"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_set_is_refused_naming_source_entry_and_problem(case):
    text, fragments = BROKEN[case]
    with pytest.raises(InputError) as caught:
        parse_category_set(text, source="broken.toml")
    english, chinese = caught.value.message("en"), caught.value.message("zh-CN")
    assert english.startswith("broken.toml: "), english
    assert chinese.startswith("broken.toml："), chinese
    for fragment in fragments:
        assert fragment in english, (fragment, english)
    assert CJK.search(chinese), chinese


def test_the_valid_text_of_the_battery_parses():
    category_set = parse_category_set(VALID + second_category("X02"), source="ok.toml")
    assert [c.code for c in category_set.categories] == ["X01", "X02"]
    size = category_set.category("X01").attributes[0]
    assert (size.order, size.required, size.values) == (1, False, (("s", "Small", "小"),))
    assert category_set.category("X01").duplicate_radius_m == 50.0
    assert category_set.category("X02").department == "dept"
