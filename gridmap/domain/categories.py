"""Category sets as data: read and strictly validate a deployment's issue categories.

A category set (``data/categories/NAME.toml``) is type (事件 event / 部件 component) -> major class
(大类) -> minor class (小类, a :class:`Category`), each with its filing and closing conditions,
time limits (处置时限, one or several stages counted from filing), default handler ("小事网格办、
大事站所办": the cell's grid worker or a department), severity, duplicate search window and
Open311 GeoReport v2 attribute definitions. The same validator reads the TOML files and the
plain-JSON form the database keeps (:meth:`CategorySet.to_json`), so a stored set is checked
exactly like a file.

Every problem is an :class:`~gridmap.errors.InputError` naming the source, the entry (a locator
such as ``categories[E0301].time_limits[remove]``, the same in both languages) and the problem.
The table reader here (:class:`Table`, :func:`read_toml`, :func:`resolve_data_file`) is shared
with :mod:`gridmap.domain.calendar`, which reads its files the same way.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridmap.errors import InputError, NotFoundError

LOGGER = logging.getLogger(__name__)

KINDS = ("event", "component")  # 事件 / 部件
HANDLERS = ("grid", "department")  # 小事网格办 (the cell's grid worker) / 大事站所办
SEVERITIES = ("low", "normal", "high", "urgent")
TIME_UNITS = ("working_hours", "working_days", "hours", "days")
# Open311 GeoReport v2 attribute datatypes; only the two list types carry values.
ATTRIBUTE_DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")

# Codes become URL path segments (Open311 services/{code}.json) and CLI arguments.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")


# --- the reader shared by the data files -----------------------------------------------------


def read_toml(text: str, *, source: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes an InputError carrying tomllib's line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("toml_invalid", source=source, reason=str(exc)) from exc


def resolve_data_file(
    name_or_path: str | Path, *, folder: str, data_dir: Path, what: str
) -> tuple[Path, str]:
    """Return (path, its text) for a NAME (``data_dir/folder/NAME.toml``) or a file path.

    A ``Path``, or a string with a path separator or a ``.toml`` suffix, is read as is; anything
    else is a name and must be a plain code, so ``../x`` cannot reach outside the folder.
    """
    text_form = str(name_or_path)
    is_path = (
        isinstance(name_or_path, Path)
        or "/" in text_form
        or "\\" in text_form
        or text_form.endswith(".toml")
    )
    if is_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise InputError("file_missing", path=path)
    else:
        path = data_dir / folder / f"{text_form}.toml"
        if not CODE_PATTERN.match(text_form) or not path.is_file():
            known = sorted(p.stem for p in (data_dir / folder).glob("*.toml"))
            raise InputError(
                "data_name_missing",
                what=what,
                name=text_form,
                path=path,
                known=", ".join(known) or "-",
            )
    try:
        return path, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("toml_invalid", source=str(path), reason=str(exc)) from exc


class Table:
    """One table of a data file being read: typed getters whose errors name source and entry.

    Keys that no getter asked for are refused by :meth:`finish`, so a misspelt field
    (``severty = "high"``) is an error instead of a silently ignored line. A JSON ``null`` counts
    as absent, so the stored JSON form may carry explicit nulls.
    """

    def __init__(self, data: Any, *, source: str, where: str) -> None:
        if not isinstance(data, dict):
            raise InputError("data_not_table", source=source, where=where, value=data)
        self.data = {k: v for k, v in data.items() if v is not None}
        self.source = source
        self.where = where
        self._read: set[str] = set()

    def error(self, key: str, **params: Any) -> InputError:
        return InputError(key, source=self.source, where=self.where, **params)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, *, required: bool = True) -> Any:
        self._read.add(key)
        if key not in self.data:
            if required:
                raise self.error("data_field_missing", field=key)
            return None
        return self.data[key]

    def _typed(self, key: str, value: Any, ok: bool, message_key: str) -> Any:
        if not ok:
            raise self.error(message_key, field=key, value=value)
        return value

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        """A non-empty string (stripped); both languages' texts are read with this."""
        value = self.raw(key, required=required)
        if value is None:
            return default
        self._typed(key, value, isinstance(value, str), "data_not_text")
        if not value.strip():
            raise self.error("data_text_empty", field=key)
        return str(value).strip()

    def code(self, key: str = "code") -> str:
        value = self.text(key)
        if not CODE_PATTERN.match(value):
            raise self.error("data_code_invalid", code=value)
        return value

    def choice(self, key: str, allowed: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.raw(key, required=default is None)
        if value is None:
            return str(default)
        if value not in allowed:
            raise self.error(
                "data_value_unknown", field=key, value=value, allowed=", ".join(allowed)
            )
        return str(value)

    def number(self, key: str, *, default: float | None = None) -> float:
        """A finite int or float (a bool is not a number here)."""
        value = self.raw(key, required=default is None)
        if value is None:
            return float(default)  # type: ignore[arg-type]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        self._typed(key, value, ok and math.isfinite(value), "data_not_number")
        return float(value)

    def integer(self, key: str, *, default: int | None = None) -> int:
        value = self.raw(key, required=default is None)
        if value is None:
            return int(default)  # type: ignore[arg-type]
        ok = isinstance(value, int) and not isinstance(value, bool)
        return int(self._typed(key, value, ok, "data_not_whole"))

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.raw(key, required=False)
        if value is None:
            return default
        return bool(self._typed(key, value, isinstance(value, bool), "data_not_boolean"))

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings (absent = empty)."""
        value = self.raw(key, required=False)
        if value is None:
            return ()
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        self._typed(key, value, ok, "data_not_texts")
        return tuple(v.strip() for v in value)

    def tables(self, key: str, *, required: bool = True) -> list[Table]:
        """An array of tables; each is located as ``key[#n]`` until its code is known."""
        value = self.raw(key, required=required)
        if value is None:
            return []
        self._typed(key, value, isinstance(value, list), "data_not_tables")
        prefix = "" if self.where == "(top level)" else f"{self.where}."
        return [
            Table(item, source=self.source, where=f"{prefix}{key}[#{n}]")
            for n, item in enumerate(value, start=1)
        ]

    def locate(self, label: str) -> None:
        """Name the entry by its code once known: ``categories[#3]`` -> ``categories[C0101]``."""
        self.where = re.sub(r"\[#\d+\]$", f"[{label}]", self.where)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise self.error(
                "data_field_unknown", field=unknown[0], allowed=", ".join(sorted(self._read))
            )


def check_timezone(name: str, table: Table) -> str:
    """An IANA time zone name that zoneinfo knows."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            "data_timezone_unknown", source=table.source, where=table.where, value=name
        ) from exc
    return name


def _unique(items: list[tuple[str, Table]]) -> None:
    seen: set[str] = set()
    for code, table in items:
        if code in seen:
            raise InputError(
                "data_code_duplicate", source=table.source, where=table.where, code=code
            )
        seen.add(code)


# --- the category set --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeLimit:
    """One stage of a time limit (处置时限), counted from filing (立案)."""

    stage: str
    amount: float
    unit: str
    label_en: str
    label_zh: str

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


@dataclass(frozen=True)
class Attribute:
    """An Open311 GeoReport v2 attribute definition (an extra question asked on intake)."""

    code: str
    datatype: str  # string|number|datetime|text|singlevaluelist|multivaluelist
    required: bool
    description_en: str
    description_zh: str
    values: tuple[tuple[str, str, str], ...]  # (key, name_en, name_zh) for the list types
    order: int

    def description(self, lang: str) -> str:
        return self.description_zh if lang.startswith("zh") else self.description_en


@dataclass(frozen=True)
class Department:
    """A department or station (站所) that takes the big matters of its categories."""

    code: str
    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


@dataclass(frozen=True)
class MajorClass:
    """A major class (大类); its code is unique within its kind only (both kinds have 01-06)."""

    kind: str
    code: str
    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


@dataclass(frozen=True)
class Category:
    """A minor class (小类): what is filed, how long it may take and who handles it."""

    code: str
    kind: str
    major_code: str
    name_en: str
    name_zh: str
    filing_condition_en: str
    filing_condition_zh: str
    closing_condition_en: str
    closing_condition_zh: str
    time_limits: tuple[TimeLimit, ...]  # one or several stages, each counted from filing
    handler: str
    # The department's code when handler == "department"; for "grid" it names who takes over
    # when the grid worker escalates (街乡吹哨、部门报到).
    department: str | None
    severity: str
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 72.0
    external_names: tuple[str, ...] = ()  # outside systems' names (LA's "Bulky Items")
    attributes: tuple[Attribute, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en

    def lookup_names(self) -> tuple[str, ...]:
        """Every text that identifies this category on import: code, both names, external names."""
        return (self.code, self.name_en, self.name_zh, *self.external_names)


def normalise_name(text: str) -> str:
    """Case-, width- and space-insensitive form: ``" Bulky  ITEMS"`` == ``"bulkyitems"``."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class CategorySet:
    """One deployment's categories, majors and departments, with its calendar and time zone."""

    name: str
    title_en: str
    title_zh: str
    calendar: str  # data/calendars/NAME.toml: turns time limits into deadlines
    timezone: str  # IANA, e.g. Asia/Shanghai
    majors: tuple[MajorClass, ...]
    categories: tuple[Category, ...]
    departments: tuple[Department, ...]
    _by_code: dict[str, Category] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Category] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Indexes for the two lookups; the parser has already refused ambiguous names.
        object.__setattr__(self, "_by_code", {c.code: c for c in self.categories})
        by_name: dict[str, Category] = {}
        for category in self.categories:
            for text in category.lookup_names():
                by_name.setdefault(normalise_name(text), category)
        object.__setattr__(self, "_by_name", by_name)

    def title(self, lang: str) -> str:
        return self.title_zh if lang.startswith("zh") else self.title_en

    def category(self, code: str) -> Category:
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFoundError("category_unknown", name=self.name, code=code) from None

    def by_external_name(self, text: str) -> Category | None:
        """The category an outside system's text means (its code, either name or an external
        name), ignoring case, width and spaces; None if nothing matches."""
        return self._by_name.get(normalise_name(text))

    def major(self, kind: str, code: str) -> MajorClass:
        for major in self.majors:
            if major.kind == kind and major.code == code:
                return major
        raise NotFoundError("category_unknown", name=self.name, code=f"{kind}/{code}")

    def department(self, code: str) -> Department:
        for department in self.departments:
            if department.code == code:
                return department
        raise NotFoundError("category_unknown", name=self.name, code=code)

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict in the file's own layout; :func:`parse_category_set_json`
        reads it back through the same validator."""
        return {
            "name": self.name,
            "title_en": self.title_en,
            "title_zh": self.title_zh,
            "calendar": self.calendar,
            "timezone": self.timezone,
            "departments": [
                {"code": d.code, "name_en": d.name_en, "name_zh": d.name_zh}
                for d in self.departments
            ],
            "majors": [
                {"kind": m.kind, "code": m.code, "name_en": m.name_en, "name_zh": m.name_zh}
                for m in self.majors
            ],
            "categories": [_category_json(c) for c in self.categories],
        }


def _category_json(category: Category) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": category.code,
        "kind": category.kind,
        "major": category.major_code,
        "name_en": category.name_en,
        "name_zh": category.name_zh,
        "filing_condition_en": category.filing_condition_en,
        "filing_condition_zh": category.filing_condition_zh,
        "closing_condition_en": category.closing_condition_en,
        "closing_condition_zh": category.closing_condition_zh,
        "handler": category.handler,
        "severity": category.severity,
        "duplicate_radius_m": category.duplicate_radius_m,
        "duplicate_window_hours": category.duplicate_window_hours,
        "external_names": list(category.external_names),
        "time_limits": [
            {
                "stage": t.stage,
                "amount": t.amount,
                "unit": t.unit,
                "label_en": t.label_en,
                "label_zh": t.label_zh,
            }
            for t in category.time_limits
        ],
        "attributes": [
            {
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "description_en": a.description_en,
                "description_zh": a.description_zh,
                "order": a.order,
                "values": [{"key": k, "name_en": en, "name_zh": zh} for k, en, zh in a.values],
            }
            for a in category.attributes
        ],
    }
    if category.department is not None:
        data["department"] = category.department
    return data


# --- parsing -------------------------------------------------------------------------------------


def parse_category_set(text: str, *, source: str) -> CategorySet:
    """Parse and validate a category set from TOML text; ``source`` names it in messages."""
    return _build(read_toml(text, source=source), source=source)


def parse_category_set_json(data: dict[str, Any]) -> CategorySet:
    """Rebuild a set from :meth:`CategorySet.to_json` output (e.g. read back from jsonb)."""
    name = data.get("name") if isinstance(data, dict) else None
    return _build(data, source=f"stored category set {name!r}")


def load_category_set(name_or_path: str | Path, *, data_dir: Path) -> CategorySet:
    """Read ``data_dir/categories/NAME.toml`` (or a TOML file path) and check that its working
    calendar exists and shares its time zone, so every deadline is computable."""
    # Imported here: the calendar module uses this module's TimeLimit and reader.
    from gridmap.domain.calendar import load_calendar

    path, text = resolve_data_file(
        name_or_path, folder="categories", data_dir=data_dir, what="category set / 分类集"
    )
    category_set = parse_category_set(text, source=str(path))
    calendar = load_calendar(category_set.calendar, data_dir=data_dir)
    if calendar.timezone != category_set.timezone:
        raise InputError(
            "category_calendar_timezone",
            source=str(path),
            timezone=category_set.timezone,
            calendar=category_set.calendar,
            calendar_timezone=calendar.timezone,
        )
    return category_set


def _build(data: Any, *, source: str) -> CategorySet:
    top = Table(data, source=source, where="(top level)")
    name = top.code("name")
    title_en, title_zh = top.text("title_en"), top.text("title_zh")
    calendar = top.code("calendar")
    timezone = check_timezone(top.text("timezone"), top)

    departments = [_department(t) for t in top.tables("departments", required=False)]
    _unique([(d.code, t) for d, t in departments])
    department_codes = [d.code for d, _ in departments]

    majors = [_major(t) for t in top.tables("majors")]
    _unique([(f"{m.kind}/{m.code}", t) for m, t in majors])

    categories = [
        _category(t, majors=[m for m, _ in majors], departments=department_codes)
        for t in top.tables("categories")
    ]
    _unique([(c.code, t) for c, t in categories])
    _check_names_unambiguous(categories)
    top.finish()
    return CategorySet(
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        calendar=calendar,
        timezone=timezone,
        majors=tuple(m for m, _ in majors),
        categories=tuple(c for c, _ in categories),
        departments=tuple(d for d, _ in departments),
    )


def _department(table: Table) -> tuple[Department, Table]:
    code = table.code()
    table.locate(code)
    department = Department(code, table.text("name_en"), table.text("name_zh"))
    table.finish()
    return department, table


def _major(table: Table) -> tuple[MajorClass, Table]:
    kind = table.choice("kind", KINDS)
    code = table.code()
    table.locate(f"{kind}/{code}")
    major = MajorClass(kind, code, table.text("name_en"), table.text("name_zh"))
    table.finish()
    return major, table


def _category(
    table: Table, *, majors: list[MajorClass], departments: list[str]
) -> tuple[Category, Table]:
    code = table.code()
    table.locate(code)
    kind = table.choice("kind", KINDS)
    major_code = table.text("major")
    own = [m.code for m in majors if m.kind == kind]
    if major_code not in own:
        other = next((m for m in majors if m.code == major_code), None)
        if other is not None:
            raise table.error(
                "category_major_other_kind", major=major_code, other_kind=other.kind, kind=kind
            )
        raise table.error(
            "category_major_missing", major=major_code, kind=kind, known=", ".join(own) or "-"
        )
    handler = table.choice("handler", HANDLERS)
    department = table.text("department", required=False) or None
    if department is None and handler == "department":
        raise table.error("category_department_required")
    if department is not None and department not in departments:
        raise table.error(
            "category_department_unknown",
            department=department,
            known=", ".join(departments) or "-",
        )
    time_limit_tables = table.tables("time_limits")
    if not time_limit_tables:
        raise table.error("category_time_limits_empty")
    time_limits = [_time_limit(t) for t in time_limit_tables]
    _unique([(t.stage, tt) for t, tt in zip(time_limits, time_limit_tables, strict=True)])
    attributes = [
        _attribute(t, n) for n, t in enumerate(table.tables("attributes", required=False))
    ]
    _unique([(a.code, t) for a, t in attributes])
    category = Category(
        code=code,
        kind=kind,
        major_code=major_code,
        name_en=table.text("name_en"),
        name_zh=table.text("name_zh"),
        filing_condition_en=table.text("filing_condition_en"),
        filing_condition_zh=table.text("filing_condition_zh"),
        closing_condition_en=table.text("closing_condition_en"),
        closing_condition_zh=table.text("closing_condition_zh"),
        time_limits=tuple(time_limits),
        handler=handler,
        department=department,
        severity=table.choice("severity", SEVERITIES),
        duplicate_radius_m=_positive(table, "duplicate_radius_m", 50.0),
        duplicate_window_hours=_positive(table, "duplicate_window_hours", 72.0),
        external_names=table.texts("external_names"),
        attributes=tuple(a for a, _ in attributes),
    )
    table.finish()
    return category, table


def _positive(table: Table, key: str, default: float) -> float:
    value = table.number(key, default=default)
    if value <= 0:
        raise table.error("category_positive", field=key, value=value)
    return value


def _time_limit(table: Table) -> TimeLimit:
    stage = table.code("stage")
    table.locate(stage)
    amount = table.raw("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise table.error("category_time_limit_amount", amount=amount)
    if not (math.isfinite(amount) and amount > 0):
        raise table.error("category_time_limit_amount", amount=amount)
    unit = table.choice("unit", TIME_UNITS)
    if unit == "working_days" and amount != int(amount):
        raise table.error("category_time_limit_whole_days", amount=amount)
    time_limit = TimeLimit(
        stage, float(amount), unit, table.text("label_en"), table.text("label_zh")
    )
    table.finish()
    return time_limit


def _attribute(table: Table, position: int) -> tuple[Attribute, Table]:
    code = table.code()
    table.locate(code)
    datatype = table.choice("datatype", ATTRIBUTE_DATATYPES)
    value_tables = table.tables("values", required=False)
    if datatype in LIST_DATATYPES and not value_tables:
        raise table.error("category_attribute_values_missing", datatype=datatype)
    if datatype not in LIST_DATATYPES and value_tables:
        raise table.error("category_attribute_values_unexpected", datatype=datatype)
    values = []
    for value_table in value_tables:
        key = value_table.code("key")
        value_table.locate(key)
        values.append((key, value_table.text("name_en"), value_table.text("name_zh")))
        value_table.finish()
    _unique([(k, t) for (k, _, _), t in zip(values, value_tables, strict=True)])
    attribute = Attribute(
        code=code,
        datatype=datatype,
        required=table.boolean("required", default=False),
        description_en=table.text("description_en"),
        description_zh=table.text("description_zh"),
        values=tuple(values),
        # Open311 orders attributes by this number; by default, the order in the file.
        order=table.integer("order", default=position + 1),
    )
    table.finish()
    return attribute, table


def _check_names_unambiguous(categories: list[tuple[Category, Table]]) -> None:
    """An import maps outside text to one category, so no text may name two of them."""
    owner: dict[str, str] = {}
    for category, table in categories:
        for text in category.lookup_names():
            key = normalise_name(text)
            other = owner.setdefault(key, category.code)
            if other != category.code:
                raise InputError(
                    "category_name_ambiguous",
                    source=table.source,
                    where=table.where,
                    name=text,
                    other=other,
                )
