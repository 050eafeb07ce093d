"""Domain exceptions: each carries a message key and its parameters, shown in either language.

The web layer maps these classes to HTTP statuses in one handler; the CLI prints them.
"""

from __future__ import annotations

from typing import Any

from gridmap.domain.messages import bilingual, message


class GridmapError(Exception):
    """Base class: a problem a person must read and can act on."""

    http_status = 400

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(bilingual(key, **params))

    def message(self, lang: str = "en") -> str:
        return message(self.key, lang, **self.params)


class ConfigError(GridmapError):
    """A GRIDMAP_* setting or level configuration is wrong."""


class DatabaseError(GridmapError):
    """The database cannot be reached or is not migrated."""

    http_status = 503


class InputError(GridmapError):
    """A file, argument or request parameter is malformed."""


class ForbiddenError(GridmapError):
    """The request needs a valid credential (an Open311 api_key) it did not bring."""

    http_status = 403


class NotFoundError(GridmapError):
    """A unit, generation or page does not exist."""

    http_status = 404


class OutsideError(NotFoundError):
    """A point lies in no unit of the active generation."""


class AmbiguousError(GridmapError):
    """A reference matches more than one thing."""

    http_status = 409


class ImportChecksError(InputError):
    """An import's checks found hard errors; ``report`` holds every finding."""

    def __init__(self, key: str, *, report: Any = None, **params: Any) -> None:
        super().__init__(key, **params)
        self.report = report
