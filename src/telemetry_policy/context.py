"""What a plugin is told about the resolution it takes part in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .model import Platform


class Context:
    """The edges of one resolution: root prefix, environment and clock.

    ``platform()`` reads the root's os-release the first time it is asked,
    so resolutions without ``[when]`` never import ``distro``.
    """

    def __init__(self, root: str, environ: Mapping[str, str], now: datetime) -> None:
        self.root = root
        self.environ = environ
        self.now = now
        self.cache: dict[str, Any] = {}  # per-resolution memo for plugins
        self._platform: Platform | None = None

    def platform(self) -> Platform:
        if self._platform is None:
            from .platform import detect

            self._platform = detect(self.root)
        return self._platform
