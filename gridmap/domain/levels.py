"""The grid hierarchy: level names, ranks and their labels in both languages."""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.errors import ConfigError


@dataclass(frozen=True)
class Level:
    """One level of the grid hierarchy; ``rank`` 0 is the top (e.g. the city)."""

    name: str
    rank: int
    label_en: str
    label_zh: str

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en


# The five levels of China's urban grid management (DOMAIN.md section 1).
DEFAULT_LEVELS_SPEC = (
    "city:City:市,district:District:区,street:Street:街道,community:Community:社区,cell:Cell:网格"
)


@dataclass(frozen=True)
class Hierarchy:
    """The ordered levels of one deployment (configuration, never constants)."""

    levels: tuple[Level, ...]

    @classmethod
    def parse(cls, spec: str) -> Hierarchy:
        """Parse ``name:English label:中文标签,...`` from the top level down.

        Labels are optional: ``city,district`` gives labels equal to the names.
        """
        levels: list[Level] = []
        for rank, item in enumerate(part.strip() for part in spec.split(",") if part.strip()):
            name, _, rest = item.partition(":")
            label_en, _, label_zh = rest.partition(":")
            name = name.strip()
            if not name.isidentifier():
                raise ConfigError(
                    "level_name_invalid", name=name, setting="GRIDMAP_LEVELS", value=spec
                )
            levels.append(Level(name, rank, label_en.strip() or name, label_zh.strip() or name))
        names = [lv.name for lv in levels]
        if not levels or len(set(names)) != len(names):
            raise ConfigError("levels_invalid", setting="GRIDMAP_LEVELS", value=spec)
        return cls(tuple(levels))

    @property
    def names(self) -> list[str]:
        return [lv.name for lv in self.levels]

    def get(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise ConfigError("level_unknown", name=name, known=", ".join(self.names))

    def parent_of(self, name: str) -> Level | None:
        rank = self.get(name).rank
        return self.levels[rank - 1] if rank > 0 else None

    def child_of(self, name: str) -> Level | None:
        rank = self.get(name).rank
        return self.levels[rank + 1] if rank + 1 < len(self.levels) else None
