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
    "not_found": {
        "en": "no such page: {path}",
        "zh-CN": "页面不存在：{path}",
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
}


def message(key: str, lang: str = "en", **params: Any) -> str:
    """Return the text for ``key`` in ``lang`` (zh* -> zh-CN, anything else -> English)."""
    texts = MESSAGES[key]
    text = texts["zh-CN"] if lang.lower().startswith("zh") else texts["en"]
    return text.format(**params)


def bilingual(key: str, **params: Any) -> str:
    """English and zh-CN on one line, for output whose reader's language is unknown (CLI)."""
    return f"{message(key, 'en', **params)} / {message(key, 'zh-CN', **params)}"
