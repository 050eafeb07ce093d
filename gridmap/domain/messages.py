"""Every sentence gridmap shows a person, in English and zh-CN, keyed by a stable id.

A two-language catalog kept as data (rather than gettext .po files plus a compile step) keeps
both texts side by side where a reviewer sees them, and a unit test checks every key has both.
"""

from __future__ import annotations

from typing import Any

LANGS = ("en", "zh-CN")

MESSAGES: dict[str, dict[str, str]] = {
    # configuration
    "level_name_invalid": {
        "en": "{setting}: level name {name!r} must be a plain identifier (got {value!r})",
        "zh-CN": "{setting}：层级名称 {name!r} 必须是简单标识符（当前值 {value!r}）",
    },
    "levels_invalid": {
        "en": "{setting} must list at least one level, each name once (got {value!r})",
        "zh-CN": "{setting} 至少要列出一个层级，且名称不能重复（当前值 {value!r}）",
    },
    "level_unknown": {
        "en": "unknown level {name!r}; this deployment's levels are: {known}",
        "zh-CN": "未知层级 {name!r}；本部署的层级为：{known}",
    },
    "setting_invalid": {
        "en": "setting {setting}={value!r} is invalid: {reason}",
        "zh-CN": "配置项 {setting}={value!r} 无效：{reason}",
    },
    # database
    "db_unreachable": {
        "en": "cannot connect to the database {url}: {reason} "
        "(is PostgreSQL running? a new database is created by: gridmap db upgrade)",
        "zh-CN": "无法连接数据库 {url}：{reason}"
        "（PostgreSQL 是否在运行？新数据库可用 gridmap db upgrade 创建）",
    },
    "db_not_migrated": {
        "en": "the database is not migrated (missing table {table}); run: gridmap db upgrade",
        "zh-CN": "数据库尚未迁移（缺少表 {table}）；请运行：gridmap db upgrade",
    },
    # boundary files
    "file_missing": {
        "en": "{path}: file not found",
        "zh-CN": "{path}：文件不存在",
    },
    "file_unreadable": {
        "en": "{path}: cannot read it as a boundary file: {reason}",
        "zh-CN": "{path}：无法作为边界文件读取：{reason}",
    },
    # tables (hotline exports, point CSVs)
    "table_unreadable": {
        "en": "{path}: cannot read it as a table (CSV or .xlsx): {reason}",
        "zh-CN": "{path}：无法作为表格（CSV 或 .xlsx）读取：{reason}",
    },
    "table_not_utf8": {
        "en": "{path}: the text is not UTF-8; name its encoding, e.g. --encoding GB18030 "
        "(Chinese Excel and most 12345 systems save CSV in GBK/GB18030)",
        "zh-CN": "{path}：文本不是 UTF-8 编码；请指明编码，例如 --encoding GB18030"
        "（中文版 Excel 及多数 12345 系统导出的 CSV 为 GBK/GB18030）",
    },
    "encoding_unknown": {
        "en": "encoding {value!r} is unknown (e.g. UTF-8, GB18030, GBK, Big5)",
        "zh-CN": "编码 {value!r} 未知（例如 UTF-8、GB18030、GBK、Big5）",
    },
    "category_map_columns": {
        "en": "{path}: a category map needs two columns: the export's text, then the code",
        "zh-CN": "{path}：分类对照表需要两列：导出文件中的类别文本，然后是小类代码",
    },
    "category_map_code": {
        "en": "{path}, line {line}: the category set {name!r} has no category {code!r}",
        "zh-CN": "{path} 第 {line} 行：分类集 {name!r} 中没有小类 {code!r}",
    },
    "category_map_text": {
        "en": "{path}, line {line}: the text {text!r} is empty or mapped twice to different codes",
        "zh-CN": "{path} 第 {line} 行：文本 {text!r} 为空，或被对照到不同的代码",
    },
    "table_format_unsupported": {
        "en": "{path}: {suffix} files are not read; save it as .xlsx or CSV",
        "zh-CN": "{path}：不读取 {suffix} 文件；请另存为 .xlsx 或 CSV",
    },
    "zip_no_layer": {
        "en": "{path}: the zip holds no shapefile, GeoPackage or GeoJSON",
        "zh-CN": "{path}：压缩包中没有 Shapefile、GeoPackage 或 GeoJSON",
    },
    "zip_many_layers": {
        "en": "{path}: the zip holds several layers ({layers}); unzip it and import one",
        "zh-CN": "{path}：压缩包中有多个图层（{layers}）；请解压后导入其中一个",
    },
    "layers_many": {
        "en": "{path}: the file holds several layers ({layers}); choose one with --layer",
        "zh-CN": "{path}：文件中有多个图层（{layers}）；请用 --layer 选择一个",
    },
    "layer_unknown": {
        "en": "{path}: no layer {layer!r}; the layers are: {layers}",
        "zh-CN": "{path}：没有图层 {layer!r}；现有图层为：{layers}",
    },
    "field_missing": {
        "en": "{path}: no field {field!r} ({option}); the fields are: {fields}",
        "zh-CN": "{path}：没有字段 {field!r}（{option}）；现有字段为：{fields}",
    },
    "crs_ambiguous": {
        "en": "{path}: the file declares no coordinate system and its coordinates "
        "({bounds}) do not tell which; give one with --crs (e.g. EPSG:4549)",
        "zh-CN": "{path}：文件未声明坐标系，且无法从坐标（{bounds}）判断；"
        "请用 --crs 指定（例如 EPSG:4549）",
    },
    "crs_legacy_datum": {
        "en": "{path}: the coordinate system {crs} is on the {datum} datum, which PROJ cannot "
        "transform to WGS84 without local parameters (it would silently apply a zero shift); "
        "give them with --towgs84 dx,dy,dz[,rx,ry,rz,ds] or convert the file to CGCS2000 first",
        "zh-CN": "{path}：坐标系 {crs} 基于{datum}基准，没有本地转换参数时 PROJ 无法正确转换到"
        " WGS84（会静默地按零偏移处理）；请用 --towgs84 dx,dy,dz[,rx,ry,rz,ds] 提供参数，"
        "或先将文件转换为 CGCS2000",
    },
    "towgs84_invalid": {
        "en": "{path}: --towgs84 {value!r} is invalid: {reason}",
        "zh-CN": "{path}：--towgs84 {value!r} 无效：{reason}",
    },
    "coord_type_invalid": {
        "en": "coordinate type {value!r} is not one of: {types}",
        "zh-CN": "坐标类型 {value!r} 无效，可选：{types}",
    },
    "dbf_missing": {
        "en": "{path}: the shapefile has no .dbf (attribute table); codes and names are in it",
        "zh-CN": "{path}：Shapefile 缺少 .dbf（属性表），编码和名称都在其中",
    },
    "crs_invalid": {
        "en": "--crs {crs!r} is not a coordinate system pyproj knows: {reason}",
        "zh-CN": "--crs {crs!r} 不是 pyproj 可识别的坐标系：{reason}",
    },
    "layer_empty": {
        "en": "{path}: the layer has no features",
        "zh-CN": "{path}：图层中没有要素",
    },
    "geometry_not_polygonal": {
        "en": "{path}: feature {feature} ({code}) is a {geom_type}, not a polygon",
        "zh-CN": "{path}：要素 {feature}（{code}）是 {geom_type}，不是面",
    },
    "geometry_empty": {
        "en": "{path}: feature {feature} ({code}) has an empty geometry",
        "zh-CN": "{path}：要素 {feature}（{code}）几何为空",
    },
    "code_empty": {
        "en": "{path}: feature {feature} has an empty code in field {field!r}",
        "zh-CN": "{path}：要素 {feature} 的编码字段 {field!r} 为空",
    },
    "code_duplicate": {
        "en": "{path}: code {code!r} appears more than once (features {features})",
        "zh-CN": "{path}：编码 {code!r} 重复出现（要素 {features}）",
    },
    "parent_unknown": {
        "en": "{path}: feature {feature} ({code}) names parent {parent!r}, which is not a {level} "
        "in the active generation",
        "zh-CN": "{path}：要素 {feature}（{code}）的上级 {parent!r} 不是现行版本中的{level}",
    },
    "parent_not_found": {
        "en": "{count} {level} unit(s) lie in no {parent_level} unit: {codes}",
        "zh-CN": "{count} 个{level}不在任何{parent_level}内：{codes}",
    },
    "parent_level_empty": {
        "en": "level {level} is loaded without its parent level {parent_level}: "
        "units get no parent",
        "zh-CN": "加载{level}时其上级层级{parent_level}尚无数据：这些单元没有上级",
    },
    "geometry_repaired": {
        "en": "{count} invalid geometr(ies) repaired: {codes}",
        "zh-CN": "修复了 {count} 个无效几何：{codes}",
    },
    # category sets and working calendars (issue 5): data files in data/categories, data/calendars
    "toml_invalid": {
        "en": "{source}: not valid TOML: {reason}",
        "zh-CN": "{source}：不是有效的 TOML：{reason}",
    },
    "data_field_missing": {
        "en": "{source}: {where}: the required field {field!r} is missing",
        "zh-CN": "{source}：{where}：缺少必填字段 {field!r}",
    },
    "data_field_unknown": {
        "en": "{source}: {where}: unknown field {field!r} (allowed: {allowed})",
        "zh-CN": "{source}：{where}：未知字段 {field!r}（允许的字段：{allowed}）",
    },
    "data_not_text": {
        "en": "{source}: {where}: {field!r} must be a string (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是字符串（当前值 {value!r}）",
    },
    "data_not_number": {
        "en": "{source}: {where}: {field!r} must be a number (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是数字（当前值 {value!r}）",
    },
    "data_not_whole": {
        "en": "{source}: {where}: {field!r} must be a whole number (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是整数（当前值 {value!r}）",
    },
    "data_not_boolean": {
        "en": "{source}: {where}: {field!r} must be true or false (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是 true 或 false（当前值 {value!r}）",
    },
    "data_not_texts": {
        "en": "{source}: {where}: {field!r} must be a list of non-empty strings (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是非空字符串的列表（当前值 {value!r}）",
    },
    "data_not_tables": {
        "en": "{source}: {where}: {field!r} must be a list of tables (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是表（table）的列表（当前值 {value!r}）",
    },
    "data_not_table": {
        "en": "{source}: {where} must be a table of fields (got {value!r})",
        "zh-CN": "{source}：{where} 必须是由字段组成的表（table）（当前值 {value!r}）",
    },
    "data_not_date": {
        "en": "{source}: {where}: {field!r} must be a date written YYYY-MM-DD, without quotes "
        "(got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是 YYYY-MM-DD 格式、不加引号的日期"
        "（当前值 {value!r}）",
    },
    "data_not_periods": {
        "en": '{source}: {where}: {field!r} must be a list of ["HH:MM", "HH:MM"] pairs '
        "(got {value!r})",
        "zh-CN": '{source}：{where}：{field!r} 必须是 ["HH:MM", "HH:MM"] 时段的列表'
        "（当前值 {value!r}）",
    },
    "data_text_empty": {
        "en": "{source}: {where}: {field!r} must not be empty (both English and Chinese "
        "texts are required)",
        "zh-CN": "{source}：{where}：{field!r} 不能为空（中英文文本均为必填）",
    },
    "data_value_unknown": {
        "en": "{source}: {where}: {field!r} is {value!r}, which is not one of: {allowed}",
        "zh-CN": "{source}：{where}：{field!r} 的值 {value!r} 不在允许范围内：{allowed}",
    },
    "data_code_invalid": {
        "en": "{source}: {where}: the code {code!r} may hold only letters, digits, '_', '-' "
        "and '.' (it is used in URLs)",
        "zh-CN": "{source}：{where}：编码 {code!r} 只能包含字母、数字、'_'、'-' 和 '.'"
        "（编码会用在网址中）",
    },
    "data_code_duplicate": {
        "en": "{source}: {where}: the code {code!r} is used more than once",
        "zh-CN": "{source}：{where}：编码 {code!r} 重复使用",
    },
    "data_timezone_unknown": {
        "en": "{source}: {where}: unknown time zone {value!r} (use an IANA name such as "
        "Asia/Shanghai or America/Los_Angeles)",
        "zh-CN": "{source}：{where}：未知时区 {value!r}"
        "（请使用 IANA 时区名，例如 Asia/Shanghai 或 America/Los_Angeles）",
    },
    "data_name_missing": {
        "en": "no {what} named {name!r}: {path} does not exist (available: {known})",
        "zh-CN": "不存在名为 {name!r} 的{what}：{path} 不存在（现有：{known}）",
    },
    "category_major_missing": {
        "en": "{source}: {where}: there is no {kind} major class {major!r} "
        "(the {kind} major classes are: {known})",
        "zh-CN": "{source}：{where}：不存在 {kind} 类型的大类 {major!r}（该类型的大类为：{known}）",
    },
    "category_major_other_kind": {
        "en": "{source}: {where}: the major class {major!r} is a {other_kind} class, "
        "but this category's kind is {kind}",
        "zh-CN": "{source}：{where}：大类 {major!r} 属于 {other_kind} 类型，"
        "而本小类的类型为 {kind}",
    },
    "category_department_required": {
        "en": "{source}: {where}: the handler is 'department' but no department is given",
        "zh-CN": "{source}：{where}：处置方为 'department'（站所/部门），但未指定部门",
    },
    "category_department_unknown": {
        "en": "{source}: {where}: the department {department!r} is not defined in the set "
        "(known: {known})",
        "zh-CN": "{source}：{where}：部门 {department!r} 未在本分类集中定义（已定义：{known}）",
    },
    "category_time_limits_empty": {
        "en": "{source}: {where}: at least one time limit is required",
        "zh-CN": "{source}：{where}：至少需要一个处置时限",
    },
    "category_time_limit_amount": {
        "en": "{source}: {where}: the amount must be a number > 0 (got {amount!r})",
        "zh-CN": "{source}：{where}：时限数值必须是大于 0 的数（当前值 {amount!r}）",
    },
    "category_time_limit_whole_days": {
        "en": "{source}: {where}: working_days must be a whole number (got {amount!r}); "
        "use working_hours for part of a day",
        "zh-CN": "{source}：{where}：working_days（工作日）必须是整数（当前值 {amount!r}）；"
        "不足一天请用 working_hours（工作时）",
    },
    "category_positive": {
        "en": "{source}: {where}: {field!r} must be a number > 0 (got {value!r})",
        "zh-CN": "{source}：{where}：{field!r} 必须是大于 0 的数（当前值 {value!r}）",
    },
    "category_attribute_values_missing": {
        "en": "{source}: {where}: a {datatype} attribute needs at least one value",
        "zh-CN": "{source}：{where}：{datatype} 类型的属性至少需要一个选项",
    },
    "category_attribute_values_unexpected": {
        "en": "{source}: {where}: a {datatype} attribute takes no values "
        "(only singlevaluelist and multivaluelist do)",
        "zh-CN": "{source}：{where}：{datatype} 类型的属性不能有选项"
        "（只有 singlevaluelist 和 multivaluelist 可以）",
    },
    "category_name_ambiguous": {
        "en": "{source}: {where}: the name {name!r} also names category {other}; codes, names "
        "and external names must each identify one category",
        "zh-CN": "{source}：{where}：名称 {name!r} 也指向小类 {other}；"
        "编码、名称和外部名称都必须只对应一个小类",
    },
    "category_calendar_timezone": {
        "en": "{source}: the set's time zone {timezone} differs from the time zone "
        "{calendar_timezone} of its working calendar {calendar!r}",
        "zh-CN": "{source}：分类集的时区 {timezone} 与其工作日历 {calendar!r} 的时区 "
        "{calendar_timezone} 不一致",
    },
    "category_unknown": {
        "en": "the category set {name!r} has no category {code!r}",
        "zh-CN": "分类集 {name!r} 中没有小类 {code!r}",
    },
    "calendar_time_invalid": {
        "en": "{source}: {where}: {value!r} is not a time of day HH:MM",
        "zh-CN": "{source}：{where}：{value!r} 不是 HH:MM 格式的时刻",
    },
    "calendar_weekdays_invalid": {
        "en": "{source}: {where}: working_weekdays must list at least one weekday, each once, "
        "out of: {allowed} (got {value!r})",
        "zh-CN": "{source}：{where}：working_weekdays 至少要列出一个工作日，且不能重复，"
        "可选值：{allowed}（当前值 {value!r}）",
    },
    "calendar_periods_invalid": {
        "en": "{source}: {where}: 'working_periods' must each end after they start, be in "
        "order and not overlap (got {value})",
        "zh-CN": "{source}：{where}：'working_periods' 中每个工作时段的结束时刻必须晚于开始时刻，"
        "且各时段须按顺序排列、互不重叠（当前值 {value}）",
    },
    "calendar_range_invalid": {
        "en": "{source}: {where}: 'to' ({end}) is before 'from' ({start})",
        "zh-CN": "{source}：{where}：结束日期 'to'（{end}）早于开始日期 'from'（{start}）",
    },
    "calendar_date_far": {
        "en": "{source}: {where}: {day} is not in the notice's year {year} or next to it",
        "zh-CN": "{source}：{where}：{day} 不在该通知所属的 {year} 年或相邻年份内",
    },
    "calendar_date_twice": {
        "en": "{source}: {where}: {day} is already listed by {other}",
        "zh-CN": "{source}：{where}：{day} 已在 {other} 中列出",
    },
    "calendar_swap_needless": {
        "en": "{source}: {where}: {day} is a regular working day already; a swapped working "
        "day (调休) must fall on a regular rest day",
        "zh-CN": "{source}：{where}：{day} 本来就是工作日；调休上班日必须是原本的休息日",
    },
    "calendar_year_duplicate": {
        "en": "{source}: {where}: the year {year} is listed more than once",
        "zh-CN": "{source}：{where}：年份 {year} 重复列出",
    },
    "calendar_year_not_covered": {
        "en": "working calendar {name!r}: {source} lists no holidays for {year}; counting "
        "its regular working weekdays only, so deadlines there ignore that year's holidays "
        "(add the year to the file)",
        "zh-CN": "工作日历 {name!r}：{source} 没有 {year} 年的节假日；"
        "该年只按常规工作日计算，期限未考虑当年节假日（请在文件中补充该年）",
    },
    "datetime_naive": {
        "en": "{value} has no time zone; a deadline needs a time zone-aware date and time",
        "zh-CN": "{value} 没有时区；计算期限需要带时区的日期时间",
    },
    "time_unit_unknown": {
        "en": "unknown time unit {unit!r}; use one of: {allowed}",
        "zh-CN": "未知时间单位 {unit!r}；可用单位：{allowed}",
    },
    "time_amount_invalid": {
        "en": "a time amount must be a number > 0 (got {amount!r}); working_days must be whole",
        "zh-CN": "时限数值必须是大于 0 的数（当前值 {amount!r}）；工作日必须是整数",
    },
    # checks
    "check_overlap": {
        "en": "{code} and {other} overlap by {area_m2} m2",
        "zh-CN": "{code} 与 {other} 重叠 {area_m2} 平方米",
    },
    "check_gap": {
        "en": "a gap of {area_m2} m2 inside {parent} belongs to none of its children",
        "zh-CN": "{parent} 内有 {area_m2} 平方米的空隙不属于任何下级单元",
    },
    "check_enclosed_gap": {
        "en": "a hole of {area_m2} m2 enclosed by the units belongs to none of them",
        "zh-CN": "单元之间围合出 {area_m2} 平方米的空洞，不属于任何单元",
    },
    "check_outside_parent": {
        "en": "{code} lies {area_m2} m2 outside its parent {parent}",
        "zh-CN": "{code} 有 {area_m2} 平方米位于其上级 {parent} 之外",
    },
    "check_several_parents": {
        "en": "{code} lies {area_m2} m2 outside its parent {parent}, in {parents}",
        "zh-CN": "{code} 有 {area_m2} 平方米位于其上级 {parent} 之外，落在 {parents} 内",
    },
    "check_sliver": {
        "en": "{code} has a sliver of {area_m2} m2",
        "zh-CN": "{code} 含有 {area_m2} 平方米的碎片",
    },
    "code_malformed": {
        "en": "code {code!r} of a {level} should have {digits} digits",
        "zh-CN": "{level}编码 {code!r} 应为 {digits} 位数字",
    },
    "code_not_under_parent": {
        "en": "code {code!r} does not start with its parent's code {parent!r}",
        "zh-CN": "编码 {code!r} 未以上级编码 {parent!r} 开头",
    },
    "children_lost": {
        "en": "{count} unit(s) lost all their children: {codes}",
        "zh-CN": "{count} 个单元失去了全部下级单元：{codes}",
    },
    "children_orphaned": {
        "en": "{count} unit(s) name a parent that is no longer there: {codes}",
        "zh-CN": "{count} 个单元的上级已不存在：{codes}",
    },
    "check_unknown": {
        "en": "unknown check {check!r}; the checks are: {checks}",
        "zh-CN": "未知检查项 {check!r}；检查项有：{checks}",
    },
    "checks_failed": {
        "en": "{path}: {count} check(s) failed, nothing was written; first: {first}",
        "zh-CN": "{path}：{count} 项检查未通过，未写入任何数据；第一项：{first}",
    },
    "level_empty": {
        "en": "the active generation has no units of level {level}",
        "zh-CN": "现行版本中没有{level}层级的单元",
    },
    "level_has_no_child": {
        "en": "level {level} is the lowest level: there is nothing to generate below it",
        "zh-CN": "{level} 已是最低层级，无法在其下生成单元",
    },
    "network_required": {
        "en": "--method roads needs --network FILE.osm|.pbf (the road network to cut along)",
        "zh-CN": "--method roads 需要 --network FILE.osm|.pbf（用于切分的道路网）",
    },
    "generation_unknown": {
        "en": "there is no boundary generation {generation}",
        "zh-CN": "不存在边界版本 {generation}",
    },
    "rollback_nothing": {
        "en": "nothing to roll back to: no generation was active before the current one",
        "zh-CN": "无法回退：当前版本之前没有其他现行版本",
    },
    "no_active_generation": {
        "en": "no boundary generation is active yet; import one with "
        "gridmap boundaries import ... --commit --activate",
        "zh-CN": "尚无现行边界版本；请运行 gridmap boundaries import ... --commit --activate 导入",
    },
    # locating
    "point_outside": {
        "en": "the point ({lon}, {lat}) lies in no unit of the active generation",
        "zh-CN": "点 ({lon}, {lat}) 不在现行版本的任何单元内",
    },
    "coordinate_invalid": {
        "en": "{name} must be a number between {low} and {high} (got {value!r})",
        "zh-CN": "{name} 必须是 {low} 到 {high} 之间的数字（当前值 {value!r}）",
    },
    "coordinate_missing": {
        "en": "missing or non-numeric coordinate",
        "zh-CN": "坐标缺失或不是数字",
    },
    "column_missing": {
        "en": "{path}: no column {column!r}; the columns are: {columns}",
        "zh-CN": "{path}：没有列 {column!r}；现有列为：{columns}",
    },
    "unit_unknown": {
        "en": "there is no unit with code {code!r} in the active generation",
        "zh-CN": "现行版本中没有编码为 {code!r} 的单元",
    },
    "unit_ambiguous": {
        "en": "code {code!r} names units on several levels ({levels}); add ?level=",
        "zh-CN": "编码 {code!r} 对应多个层级的单元（{levels}）；请加上 ?level=",
    },
    "bbox_invalid": {
        "en": "bbox must be four numbers minlon,minlat,maxlon,maxlat (got {value!r})",
        "zh-CN": "bbox 必须是四个数字 minlon,minlat,maxlon,maxlat（当前值 {value!r}）",
    },
    "parameter_missing": {
        "en": "missing query parameter {name!r}",
        "zh-CN": "缺少查询参数 {name!r}",
    },
    "role_invalid": {
        "en": "role {role!r} is not one of: {roles}",
        "zh-CN": "角色 {role!r} 无效，可选：{roles}",
    },
    "worker_unknown": {
        "en": "there is no worker {worker}",
        "zh-CN": "不存在网格员 {worker}",
    },
    # reports and pages
    "import_dry_run": {
        "en": "dry run: nothing was written; add --commit to write a new generation",
        "zh-CN": "试运行：未写入任何数据；加上 --commit 以写入新版本",
    },
    "import_committed": {
        "en": "wrote generation {generation} ({state})",
        "zh-CN": "已写入版本 {generation}（{state}）",
    },
    "hotline_imported": {
        "en": "import {import_id}: {rows} rows: {imported} imported, {already} already imported, "
        "{rejected} rejected",
        "zh-CN": "导入批次 {import_id}：共 {rows} 行，新导入 {imported} 行，已导入过 {already} 行，"
        "拒收 {rejected} 行",
    },
    "hotline_rejected_reason": {
        "en": "rejected ({reason}): {count}",
        "zh-CN": "拒收（{reason}）：{count}",
    },
    "hotline_routed": {
        "en": "routed to {target}: {count}",
        "zh-CN": "派往 {target}：{count}",
    },
    "hotline_import_row": {
        "en": "import {import_id}  {started}  {source}  {file}  by {actor}: {rows} rows, "
        "{imported} imported, {already} already imported, {rejected} rejected",
        "zh-CN": "导入批次 {import_id}  {started}  {source}  {file}  操作人 {actor}：共 {rows} 行，"
        "新导入 {imported} 行，已导入过 {already} 行，拒收 {rejected} 行",
    },
    "hotline_no_imports": {
        "en": "no imports yet",
        "zh-CN": "尚无导入记录",
    },
    "edge_distance": {
        "en": "distance to the nearest edge of the {level}: {metres:.1f} m",
        "zh-CN": "距所在{level}边界最近距离：{metres:.1f} 米",
    },
    "map_unit": {"en": "This unit", "zh-CN": "本单元"},
    "map_children": {"en": "Subunits", "zh-CN": "下级单元"},
    "map_neighbours": {"en": "Neighbours", "zh-CN": "相邻单元"},
    "serving": {
        "en": "gridmap is serving on {url}",
        "zh-CN": "gridmap 服务地址：{url}",
    },
    # coverage (issue 4)
    "osm_format": {
        "en": "{path}: not an OSM extract (expected .osm XML or .osm.pbf)",
        "zh-CN": "{path}：不是 OSM 数据文件（应为 .osm XML 或 .osm.pbf）",
    },
    "osm_no_ways": {
        "en": "{path}: no way a {profile} profile may use was found",
        "zh-CN": "{path}：没有找到 {profile} 方式可通行的道路",
    },
    "profile_invalid": {
        "en": "profile {profile!r} is not one of: {profiles}",
        "zh-CN": "出行方式 {profile!r} 无效，可选：{profiles}",
    },
    "network_exists": {
        "en": "a network named {name!r} already exists; choose another --name",
        "zh-CN": "路网 {name!r} 已存在；请用 --name 换一个名称",
    },
    "network_unknown": {
        "en": "there is no network {name!r}; import one with gridmap coverage network import",
        "zh-CN": "不存在路网 {name!r}；请先运行 gridmap coverage network import 导入",
    },
    "facility_set_exists": {
        "en": "a facility set named {name!r} already exists; choose another --name",
        "zh-CN": "设施集 {name!r} 已存在；请用 --name 换一个名称",
    },
    "facility_set_unknown": {
        "en": "there is no facility set {name!r}; import one with gridmap coverage facilities "
        "import",
        "zh-CN": "不存在设施集 {name!r}；请先运行 gridmap coverage facilities import 导入",
    },
    "facility_not_point": {
        "en": "{path}: feature {feature} ({name}) is a {geom_type}, not a point",
        "zh-CN": "{path}：要素 {feature}（{name}）是 {geom_type}，不是点",
    },
    "facility_too_far": {
        "en": "facility {feature} ({name}) at ({lon:.6f}, {lat:.6f}) is more than {metres:.0f} m "
        "from any usable way of network {network}: not used",
        "zh-CN": "设施 {feature}（{name}）位于 ({lon:.6f}, {lat:.6f})，"
        "距路网 {network} 的任何可通行道路都超过 {metres:.0f} 米：未纳入计算",
    },
    "facilities_none_snapped": {
        "en": "no facility lies within {metres:.0f} m of network {network}: nothing to compute",
        "zh-CN": "没有设施位于路网 {network} 的 {metres:.0f} 米以内：无法计算",
    },
    "minutes_invalid": {
        "en": "--minutes must be whole minutes > 0 separated by commas, e.g. 5,10,15 "
        "(got {value!r})",
        "zh-CN": "--minutes 必须是以逗号分隔的正整数分钟，例如 5,10,15（当前值 {value!r}）",
    },
    "population_missing": {
        "en": "no population count for {count} {level} unit(s) in the study area: {codes}",
        "zh-CN": "研究范围内有 {count} 个{level}没有人口数：{codes}",
    },
    "run_unknown": {
        "en": "there is no coverage run {run}",
        "zh-CN": "不存在覆盖分析 {run}",
    },
    "run_not_done": {
        "en": "coverage run {run} is {state}, not done",
        "zh-CN": "覆盖分析 {run} 的状态为 {state}，尚未完成",
    },
    "export_format": {
        "en": "{path}: export to .gpkg, .geojson or .csv",
        "zh-CN": "{path}：只能导出为 .gpkg、.geojson 或 .csv",
    },
    "candidates_none": {
        "en": "no candidate site lies within {metres:.0f} m of network {network}",
        "zh-CN": "没有候选点位于路网 {network} 的 {metres:.0f} 米以内",
    },
    "coverage_summary": {
        "en": "within {minutes} min: {share} of {measure} (target {target}): {verdict}",
        "zh-CN": "{minutes} 分钟内：{measure}的 {share}（目标 {target}）：{verdict}",
    },
    "target_met": {"en": "target met", "zh-CN": "达标"},
    "target_missed": {"en": "target missed", "zh-CN": "未达标"},
    # geocoding (issue 5)
    "osm_no_places": {
        "en": "{path}: no named place, POI, road or addr:* house number was found",
        "zh-CN": "{path}：没有找到任何有名称的地点、兴趣点、道路或 addr:* 门牌",
    },
    "geocode_empty": {
        "en": "the address is empty",
        "zh-CN": "地址为空",
    },
    "geocode_too_long": {
        "en": "the address is {length} characters long; at most {limit} are accepted",
        "zh-CN": "地址长度为 {length} 个字符，最多接受 {limit} 个",
    },
    "gazetteer_empty": {
        "en": "the gazetteer is empty; build it with: gridmap geocode build [--osm FILE ...]",
        "zh-CN": "地名库为空；请先运行：gridmap geocode build [--osm 文件 ...]",
    },
    "gazetteer_nothing": {
        "en": "nothing to put in the gazetteer: no active generation and no OSM file "
        "(activate boundaries, or give --osm FILE)",
        "zh-CN": "没有可写入地名库的内容：既没有生效的边界版本，也没有 OSM 文件"
        "（请先激活边界，或用 --osm 指定文件）",
    },
    "precision_unknown": {
        "en": "{setting}: unknown precision {value!r}; known: {known}",
        "zh-CN": "{setting}：未知的精度 {value!r}；可用：{known}",
    },
    "geocode_accepted": {
        "en": "accepted: {name} ({precision}, score {score:.2f})",
        "zh-CN": "已采用：{name}（{precision}，得分 {score:.2f}）",
    },
    "geocode_ambiguous": {
        "en": "ambiguous: {count} candidates score within {margin} of the best and lie more "
        "than {metres:.0f} m apart; a person must choose",
        "zh-CN": "有歧义：{count} 个候选的得分与最佳候选相差不到 {margin}，"
        "且相距超过 {metres:.0f} 米；需人工选择",
    },
    "geocode_weak": {
        "en": "no close match: the best candidate scores {score:.2f} (below {minimum}); "
        "a person must confirm",
        "zh-CN": "没有足够接近的匹配：最佳候选得分 {score:.2f}（低于 {minimum}）；需人工确认",
    },
    "geocode_low_precision": {
        "en": "low precision: the address is only placed to a {precision} "
        "(accepted: {accepted}); a person must place it",
        "zh-CN": "精度不足：该地址只能定位到{precision}级（可接受：{accepted}）；需人工定位",
    },
    "geocode_not_found": {
        "en": "no place in the gazetteer matches this address",
        "zh-CN": "地名库中没有与该地址匹配的地点",
    },
    "geocode_outside_city": {
        "en": "the address is in {city}, outside this deployment's city {context}: not matched",
        "zh-CN": "该地址位于{city}，不在本部署的城市{context}范围内：不予匹配",
    },
    # --- intake and routing (issue 5) ---
    "issue_unknown": {"en": "there is no issue {id}", "zh-CN": "不存在案件 {id}"},
    "category_withdrawn": {
        "en": "category {code!r} of set {name!r} has been withdrawn; choose another",
        "zh-CN": "分类集 {name!r} 的小类 {code!r} 已停用，请选择其他小类",
    },
    "category_set_none": {
        "en": "no category set is loaded; run: gridmap categories load cn (or la311, or a file)",
        "zh-CN": "尚未加载分类集；请运行：gridmap categories load cn（或 la311，或文件）",
    },
    "reference_changing": {
        "en": "the category set, responsibilities or boundaries are being changed right now; "
        "nothing was stored: send the report again",
        "zh-CN": "分类集、职责或边界正在变更，本次未保存任何内容：请重新提交",
    },
    "major_unknown": {
        "en": "the category set {name!r} has no major class {code!r}",
        "zh-CN": "分类集 {name!r} 中没有大类 {code!r}",
    },
    "department_unknown": {
        "en": "there is no department {code!r}",
        "zh-CN": "不存在部门 {code!r}",
    },
    "field_missing_value": {"en": "{name} is required", "zh-CN": "{name} 为必填项"},
    "field_type": {
        "en": "{name} must be a {expected} (got {got})",
        "zh-CN": "{name} 必须是 {expected}（当前为 {got}）",
    },
    "text_too_long": {
        "en": "{name} is {length} characters long; at most {limit} are allowed",
        "zh-CN": "{name} 长 {length} 个字符；最多允许 {limit} 个",
    },
    "text_markup": {
        "en": "{name} contains HTML/script markup, which is not accepted",
        "zh-CN": "{name} 含有 HTML/脚本标记，不予接受",
    },
    "text_control": {
        "en": "{name} contains control characters",
        "zh-CN": "{name} 含有控制字符",
    },
    "coord_type_unknown": {
        "en": "coord_type {value!r} is unknown; use one of: {known}",
        "zh-CN": "坐标类型 {value!r} 未知；可用：{known}",
    },
    "coordinate_pair": {
        "en": "a location needs both lon and lat; {missing} is missing",
        "zh-CN": "位置需要同时提供 lon 和 lat；缺少 {missing}",
    },
    "location_missing": {
        "en": "give a location: lon and lat, or an address",
        "zh-CN": "请提供位置：lon 和 lat，或地址",
    },
    "channel_unknown": {
        "en": "channel {value!r} is unknown; use one of: {known}",
        "zh-CN": "渠道 {value!r} 未知；可用：{known}",
    },
    "phone_invalid": {
        "en": "{value!r} is not a phone number",
        "zh-CN": "{value!r} 不是电话号码",
    },
    "email_invalid": {
        "en": "{value!r} is not an e-mail address",
        "zh-CN": "{value!r} 不是电子邮件地址",
    },
    "datetime_future": {
        "en": "{name} {value} lies in the future",
        "zh-CN": "{name} {value} 晚于当前时间",
    },
    "attribute_unknown": {
        "en": "category {category} has no attribute(s) {codes}",
        "zh-CN": "小类 {category} 没有属性 {codes}",
    },
    "attribute_required": {
        "en": "category {category} requires attribute {code}",
        "zh-CN": "小类 {category} 必须填写属性 {code}",
    },
    "attribute_invalid": {
        "en": "attribute {code}: {value!r} is not valid (expected {expected})",
        "zh-CN": "属性 {code}：{value!r} 无效（应为 {expected}）",
    },
    "idempotency_mismatch": {
        "en": "Idempotency-Key {idem_key!r} was already used for a different request",
        "zh-CN": "幂等键 {idem_key!r} 已用于另一个不同的请求",
    },
    "import_clash": {
        "en": "import from {source} refused, nothing was stored: a row with the same id was "
        "stored meanwhile by another client ({detail}); run the import again to add the rest",
        "zh-CN": "来自 {source} 的导入被拒绝，未保存任何数据：另一个客户端同时保存了相同编号的记录"
        "（{detail}）；请重新导入以添加其余记录",
    },
    "photo_empty": {"en": "photo {index} is empty", "zh-CN": "第 {index} 张照片为空"},
    "photo_too_large": {
        "en": "photo {index} is {size} bytes; at most {limit} are allowed",
        "zh-CN": "第 {index} 张照片大小为 {size} 字节；最多允许 {limit} 字节",
    },
    "photo_type": {
        "en": "photo {index} is {found}; accepted types: {accepted}",
        "zh-CN": "第 {index} 张照片的格式为 {found}；可接受：{accepted}",
    },
    "photo_type_mismatch": {
        "en": "photo {index} was declared {declared} but is {found}",
        "zh-CN": "第 {index} 张照片声明为 {declared}，实际为 {found}",
    },
    "photo_pixels": {
        "en": "photo {index} has {pixels} pixels, too many",
        "zh-CN": "第 {index} 张照片有 {pixels} 像素，过大",
    },
    "photo_broken": {
        "en": "photo {index} is not a readable image: {reason}",
        "zh-CN": "第 {index} 张照片无法读取：{reason}",
    },
    "photos_too_many": {
        "en": "{count} photos sent; at most {limit} are allowed",
        "zh-CN": "发送了 {count} 张照片；最多允许 {limit} 张",
    },
    "route_outside": {
        "en": "the point lies outside every unit: triage",
        "zh-CN": "该点不在任何单元内：转人工分拣",
    },
    "route_placed": {"en": "placed in {unit}", "zh-CN": "定位到 {unit}"},
    "route_near_edge": {
        "en": "{metres} m from the unit's edge (less than {margin} m): to be confirmed",
        "zh-CN": "距单元边界 {metres} 米（小于 {margin} 米）：需确认",
    },
    "route_handler_grid": {
        "en": "category {category} is handled in the grid (small matter)",
        "zh-CN": "小类 {category} 由网格处理（小事网格办）",
    },
    "route_handler_department": {
        "en": "category {category} is handled by a department (big matter)",
        "zh-CN": "小类 {category} 由部门处理（大事站所办）",
    },
    "route_unit_no_worker": {
        "en": "{unit} has no grid worker assigned",
        "zh-CN": "{unit} 未分配网格员",
    },
    "route_worker_primary": {
        "en": "to {worker} (#{id}), primary grid worker of {unit}",
        "zh-CN": "派给 {unit} 的专职网格员 {worker}（#{id}）",
    },
    "route_worker_backup": {
        "en": "to {worker} (#{id}), backup grid worker of {unit}",
        "zh-CN": "派给 {unit} 的备岗网格员 {worker}（#{id}）",
    },
    "route_worker_off_duty": {
        "en": "{worker} (#{id}, {role}) is off duty",
        "zh-CN": "{worker}（#{id}，{role}）不在岗",
    },
    "route_no_worker": {
        "en": "no on-duty grid worker anywhere up the hierarchy: triage",
        "zh-CN": "各级单元均无在岗网格员：转人工分拣",
    },
    "route_department_rule": {
        "en": "to department {department} (responsibility rule {category} in {unit})",
        "zh-CN": "派给部门 {department}（职责规则：{unit} 范围内的 {category}）",
    },
    "route_department_default": {
        "en": "to department {department}, the category's default",
        "zh-CN": "派给该小类的默认部门 {department}",
    },
    "route_department_none": {
        "en": "no department is responsible for {category} here: triage",
        "zh-CN": "此处没有负责 {category} 的部门：转人工分拣",
    },
    "route_geocoded": {
        "en": "address {address!r} matched {name} ({precision})",
        "zh-CN": "地址 {address!r} 匹配到 {name}（{precision}）",
    },
    "route_geocode_unsure": {
        "en": "address {address!r} not placed ({decision}, {candidates} candidate(s)): triage",
        "zh-CN": "地址 {address!r} 未能定位（{decision}，{candidates} 个候选）：转人工分拣",
    },
    "body_not_json": {
        "en": "the request body must be a JSON object (Content-Type: application/json)",
        "zh-CN": "请求体必须是 JSON 对象（Content-Type: application/json）",
    },
    "fields_unknown": {
        "en": "unknown field(s) {names}; known fields: {known}",
        "zh-CN": "未知字段 {names}；可用字段：{known}",
    },
    "route_geocode_unavailable": {
        "en": "address {address!r} not placed: the gazetteer is not built yet: triage",
        "zh-CN": "地址 {address!r} 未能定位：地名库尚未建立：转人工分拣",
    },
    "mapping_invalid": {
        "en": "--map {value!r} must be column=field, field one of: {fields}",
        "zh-CN": "--map {value!r} 应为 列名=字段，字段可为：{fields}",
    },
    "format_unknown": {
        "en": "export format {value!r} is unknown; use one of: {known}",
        "zh-CN": "导出格式 {value!r} 未知；可用：{known}",
    },
    "merge_self": {
        "en": "issue {id} cannot be merged into itself",
        "zh-CN": "案件 {id} 不能合并到自身",
    },
    "merge_into_duplicate": {
        "en": "issue {id} is itself merged into {master}; merge into {master} instead",
        "zh-CN": "案件 {id} 已合并到 {master}；请改为合并到 {master}",
    },
    "merge_not_open": {
        "en": "issue {id} is {state} and can no longer be merged",
        "zh-CN": "案件 {id} 状态为 {state}，不能再合并",
    },
    "merge_other_category": {
        "en": "issue {id} is of another category than {master}: not a duplicate",
        "zh-CN": "案件 {id} 与 {master} 的小类不同：不是重复案件",
    },
    # HTTP errors that no view raised (routing, size limit, method), in the reader's language
    "http_400": {"en": "bad request to {path}", "zh-CN": "对 {path} 的请求格式错误"},
    "http_403": {"en": "not allowed: {path}", "zh-CN": "无权访问：{path}"},
    "http_404": {"en": "no such page: {path}", "zh-CN": "页面不存在：{path}"},
    "http_405": {
        "en": "{path} does not take this HTTP method",
        "zh-CN": "{path} 不支持此 HTTP 方法",
    },
    "http_413": {
        "en": "the request body is too large (at most 8 MB: 3 photos of 5 MB, base64-encoded)",
        "zh-CN": "请求体过大（最多 8 MB：3 张 5 MB 以内的照片，base64 编码）",
    },
    "http_415": {
        "en": "unsupported content type for {path}",
        "zh-CN": "{path} 不支持此内容类型",
    },
    "http_500": {
        "en": "internal error; the request was not completed",
        "zh-CN": "内部错误，请求未完成",
    },
    "http_other": {
        "en": "HTTP error {status} on {path}",
        "zh-CN": "{path} 出现 HTTP 错误 {status}",
    },
    # Open311 GeoReport v2
    "open311_jurisdiction_unknown": {
        "en": "jurisdiction_id {value!r} is not served here (this endpoint serves {known!r})",
        "zh-CN": "本接口不服务 jurisdiction_id {value!r}（本接口为 {known!r}）",
    },
    "open311_service_unknown": {
        "en": "no service {code!r} in the category set {name!r}: see services.json",
        "zh-CN": "类别集 {name!r} 中没有服务 {code!r}：请查看 services.json",
    },
    "open311_api_key_invalid": {
        "en": "a valid api_key is required to post a service request "
        "(ask the operator: gridmap apikeys create NAME)",
        "zh-CN": "提交服务请求需要有效的 api_key（请联系运维：gridmap apikeys create NAME）",
    },
    "open311_field_missing": {
        "en": "{name} is required",
        "zh-CN": "缺少必填参数 {name}",
    },
    "open311_field_repeated": {
        "en": "{name} was sent more than once",
        "zh-CN": "参数 {name} 重复出现",
    },
    "open311_location_missing": {
        "en": "a location is required: lat and long, or address_string",
        "zh-CN": "需要位置：lat 和 long，或 address_string",
    },
    "open311_address_id_unsupported": {
        "en": "address_id is not supported here: send lat and long, or address_string",
        "zh-CN": "本接口不支持 address_id：请提供 lat 和 long，或 address_string",
    },
    "media_url_invalid": {
        "en": "media_url must be an http(s) link (got {value!r})",
        "zh-CN": "media_url 必须是 http(s) 链接（当前为 {value!r}）",
    },
    "open311_integer_invalid": {
        "en": "{name} must be a whole number from 1 to {high} (got {value!r})",
        "zh-CN": "{name} 必须是 1 到 {high} 之间的整数（当前为 {value!r}）",
    },
    "open311_request_id_invalid": {
        "en": "service_request_id must be numbers separated by commas (got {value!r})",
        "zh-CN": "service_request_id 必须是以逗号分隔的数字（当前为 {value!r}）",
    },
    "open311_range_reversed": {
        "en": "end_date {end} is before start_date {start}",
        "zh-CN": "end_date {end} 早于 start_date {start}",
    },
    "open311_range_too_long": {
        "en": "start_date {start} to end_date {end} spans more than {days} days",
        "zh-CN": "start_date {start} 至 end_date {end} 超过 {days} 天",
    },
    "open311_status_invalid": {
        "en": "status must be open, closed or both separated by a comma (got {value!r})",
        "zh-CN": "status 只能是 open、closed 或以逗号分隔的两者（当前为 {value!r}）",
    },
    "open311_agency_triage": {
        "en": "Dispatch centre (triage queue)",
        "zh-CN": "指挥中心（待分拣）",
    },
    "open311_notice_worker": {
        "en": "Placed in {unit}; handled by grid worker {target}; due {due}.",
        "zh-CN": "已定位到{unit}，由网格员{target}处理，时限 {due}。",
    },
    "open311_notice_department": {
        "en": "Placed in {unit}; handled by {target}; due {due}.",
        "zh-CN": "已定位到{unit}，由{target}处理，时限 {due}。",
    },
    "open311_notice_triage": {
        "en": "Received; a dispatcher will place and route it (due {due}).",
        "zh-CN": "已受理，将由调度员人工定位分派（时限 {due}）。",
    },
    "roster_invalid": {
        "en": "duty roster, {where}: {reason}",
        "zh-CN": "值班表 {where}：{reason}",
    },
    # dispatching the triage queue
    "dispatch_place_how": {
        "en": "place an issue either at lon/lat or at a geocoding candidate, not both or neither",
        "zh-CN": "请用经纬度或地址候选之一定位事件（二选一）",
    },
    "dispatch_candidate_unknown": {
        "en": "there is no candidate {index}: the issue has {count} geocoding candidates",
        "zh-CN": "不存在第 {index} 个候选：该事件共有 {count} 个地址候选",
    },
    "route_dispatcher_point": {
        "en": "placed by a dispatcher at {lon}, {lat}",
        "zh-CN": "调度员定位到 {lon}, {lat}",
    },
    "route_dispatcher_candidate": {
        "en": "placed by a dispatcher at candidate {index} ({name})",
        "zh-CN": "调度员选择第 {index} 个候选（{name}）定位",
    },
    "list_paging_invalid": {
        "en": "limit must be from 1 to {high} and offset 0 or more (got limit {limit}, "
        "offset {offset})",
        "zh-CN": "limit 须在 1 到 {high} 之间，offset 须不小于 0"
        "（当前 limit {limit}，offset {offset}）",
    },
}


def message(key: str, lang: str = "en", **params: Any) -> str:
    """Return the text for ``key`` in ``lang`` (zh* -> zh-CN, anything else -> English)."""
    texts = MESSAGES[key]
    text = texts["zh-CN"] if lang.lower().startswith("zh") else texts["en"]
    return text.format(**params)


def bilingual(key: str, **params: Any) -> str:
    """English and zh-CN on one line, for output whose reader's language is unknown (CLI)."""
    return f"{message(key, 'en', **params)} / {message(key, 'zh-CN', **params)}"
