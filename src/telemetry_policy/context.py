"""The context of one resolution, which every source and plugin receives."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from .model import Platform

__all__ = ["Context"]


class Context:
    """The edges of one resolution: root prefix, environment and clock.

    ``platform()`` reads the root's os-release the first time it is asked,
    so resolutions without ``[when]`` never read os-release. Raises
    PlatformError when it cannot be read. ``now`` is the time the resolution
    was asked for (read from the clock the first time it is needed).
    """

    def __init__(self, root: str, environ: Mapping[str, str], now: datetime | None) -> None:
        self.root = root
        self.environ = environ
        self._now = now
        self.cache: dict[str, Any] = {}  # per-resolution memo for plugins
        self._platform: Platform | None = None

    @property
    def now(self) -> datetime:
        if self._now is None:
            from .clock import current_time

            self._now = current_time(self.environ, self.root)
        return self._now

    def platform(self) -> Platform:
        if self._platform is None:
            from .platform import detect  # os-release: read only if a [when] asks

            self._platform = detect(self.root)
        return self._platform
