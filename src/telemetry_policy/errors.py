"""One error family. Each error formats itself as one line a user can act on.

The bottom of the package: every layer reports through these, and a client's
start imports this module (so it imports nothing itself).
"""

__all__ = [
    "PlatformError",
    "PluginError",
    "PolicyError",
    "PolicyFileError",
    "RefusedError",
    "UsageError",
    "UserStoreError",
    "describe",
    "one_line",
    "safe_repr",
    "show_value",
]


class PolicyError(Exception):
    """Base of every error telemetry-policy raises or reports."""


def one_line(text: str) -> str:
    """``text`` with every control character escaped: one line, nothing forged.

    A file name or a plugin's message could hold a newline (an extra, fake
    ``telemetry-policy:`` line) or a terminal escape.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def safe_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit``, or its type's name if that fails: a
    plugin's object is the plugin's code, its ``__repr__`` may raise or recurse."""
    try:
        text = repr(value)
    except BaseException:
        return f"a {type(value).__name__} that cannot be shown"
    return one_line(text if len(text) <= limit else text[: limit - 3] + "...")


def describe(error: BaseException) -> str:
    """``TypeName: message``, safe for any exception a plugin raises."""
    try:
        message = str(error)
    except BaseException:
        message = "(its message cannot be shown)"
    name = type(error).__name__
    return one_line(f"{name}: {message}"[:300] if message else name)


def show_value(value: object, limit: int = 60) -> str:
    """A value as TOML writes it (strings quoted as Python does), cut to ``limit``."""
    import datetime as dt

    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    elif isinstance(value, list):
        text = "[" + ", ".join(show_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k} = {show_value(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


class PlatformError(PolicyError):
    """The platform (os-release) cannot be read: ``[when]`` cannot be judged."""
