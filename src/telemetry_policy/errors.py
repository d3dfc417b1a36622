"""One error family. Each error formats itself as one line a user can act on."""

from __future__ import annotations


class PolicyError(Exception):
    """Base of every error telemetry-policy raises or reports."""


class PolicyFileError(PolicyError):
    """A policy file that cannot be used: it fails closed (ceiling off)."""

    def __init__(self, path: str, reason: str, line: int | None = None, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    @property
    def message(self) -> str:
        """What is wrong and what to do, without the place."""
        return f"{self.reason}; {self.hint}" if self.hint else self.reason

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class PluginError(PolicyError):
    """A plugin that raised or returned something unusable."""

    def __init__(self, plugin: str, hook: str, reason: str) -> None:
        self.plugin = plugin
        self.hook = hook
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.hook}): {self.reason}"


class UserStoreError(PolicyError):
    """The user's own store could not be read or written."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.path}: {self.reason}{hint}"


class RefusedError(PolicyError):
    """``set`` asked for more than the system ceiling allows."""


class UsageError(PolicyError):
    """A command-line or API call that is wrong as written (exit status 2)."""
