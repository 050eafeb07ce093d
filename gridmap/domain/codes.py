"""Code profiles: how unit codes are laid out per level, validated and generated.

China's statistical division codes nest by prefix (320102 district > 320102003 street >
320102003002 community) and Beijing's cell codes add a 3-digit sequence (15 digits), numbered
west to east, north to south inside the community. Other cities use other layouts or free codes,
so the layout is configuration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gridmap.errors import ConfigError

LOGGER = logging.getLogger(__name__)

# The national layout (GB/T 2260 + NBS + Beijing's 15-digit cell codes). A city is coded with
# 4 digits (3201) or its 6-digit county-space form (320100).
GB_PROFILE_SPEC = "gb:city=4|6,district=6,street=9,community=12,cell=15"


@dataclass(frozen=True)
class CodeProfile:
    """Digits allowed per level (empty = free codes) and whether children extend parents."""

    name: str
    digits: dict[str, tuple[int, ...]] = field(default_factory=dict)
    nested: bool = False

    @classmethod
    def parse(cls, spec: str) -> CodeProfile:
        """``free``, ``gb``, or ``NAME:level=digits[|digits],...`` (nested by prefix)."""
        spec = spec.strip()
        if spec in ("", "free"):
            return cls("free")
        if spec == "gb":
            spec = GB_PROFILE_SPEC
        name, _, body = spec.partition(":")
        digits: dict[str, tuple[int, ...]] = {}
        try:
            for item in body.split(","):
                level, _, counts = item.partition("=")
                digits[level.strip()] = tuple(int(c) for c in counts.split("|"))
        except ValueError as exc:
            raise ConfigError(
                "setting_invalid",
                setting="GRIDMAP_CODE_PROFILE",
                value=spec,
                reason="expected NAME:level=digits,...",
            ) from exc
        if not digits or any(not d or min(d) <= 0 for d in digits.values()):
            raise ConfigError(
                "setting_invalid",
                setting="GRIDMAP_CODE_PROFILE",
                value=spec,
                reason="expected NAME:level=digits,...",
            )
        return cls(name.strip() or "custom", digits, nested=True)

    def problem(self, level: str, code: str, parent_code: str | None) -> tuple[str, dict] | None:
        """(message key, params) when ``code`` breaks the profile, else None."""
        allowed = self.digits.get(level)
        if allowed and not (code.isdigit() and len(code) in allowed):
            expected = " or ".join(str(d) for d in allowed)
            return "code_malformed", {"code": code, "level": level, "digits": expected}
        if self.nested and parent_code and allowed and not code.startswith(parent_code):
            return "code_not_under_parent", {"code": code, "parent": parent_code}
        return None

    def child_code(self, level: str, parent_code: str, sequence: int) -> str:
        """The ``sequence``-th (1-based) child code of ``parent_code`` at ``level``."""
        allowed = self.digits.get(level)
        if not allowed:
            return f"{parent_code}-{sequence:03d}"
        width = max(allowed) - len(parent_code)
        if width <= 0 or sequence >= 10**width:
            raise ConfigError(
                "setting_invalid",
                setting="GRIDMAP_CODE_PROFILE",
                value=self.name,
                reason=f"no room for child {sequence} of {parent_code} at {level}",
            )
        return f"{parent_code}{sequence:0{width}d}"
