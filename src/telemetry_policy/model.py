"""Immutable values shared by the parser, the sources and the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .modes import Mode

Value = Mode | int


@dataclass(frozen=True)
class Origin:
    """Where a value came from, like ``git config --show-origin``.

    ``kind`` is one of: built-in, app, file, plugin, env, user, native, error.
    """

    kind: str
    source: str
    line: int | None = None

    def __str__(self) -> str:
        if self.kind == "file":
            return self.source if self.line is None else f"{self.source}:{self.line}"
        if self.kind in ("built-in", "app", "error"):
            return self.source
        if self.line is not None:
            return f"{self.kind} {self.source}:{self.line}"
        return f"{self.kind} {self.source}"


@dataclass(frozen=True)
class Setting:
    """One key of a policy table (``default``, ``ceiling``, ``upload_delay_days``)."""

    key: str
    value: Value
    origin: Origin


@dataclass(frozen=True)
class Condition:
    """A ``[when]`` table: the layer applies only where every part holds."""

    distro: tuple[str, ...] | None = None
    distro_version: str | None = None  # as written, e.g. ">=12"
    line: int | None = None


@dataclass(frozen=True)
class PolicyFile:
    """A parsed, validated policy document (a file, or a plugin's layer)."""

    source: str
    policy: tuple[Setting, ...] = ()
    apps: tuple[tuple[str, tuple[Setting, ...]], ...] = ()
    when: Condition | None = None
    trusted: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def app(self, name: str) -> tuple[Setting, ...]:
        for app, settings in self.apps:
            if app == name:
                return settings
        return ()


#: statuses a layer can have, in the words ``audit`` uses.
STATUSES = (
    "applied",  # read and used
    "replaced",  # a same-named file in a higher directory wins
    "masked",  # hidden by an empty file or a /dev/null link (or is such a mask)
    "skipped",  # its [when] does not hold here
    "invalid",  # unusable: resolution fails closed
    "refused",  # failed the trust check: resolution fails closed
    "ignored",  # not a *.toml name
    "disabled",  # a plugin layer blocked by [plugins] disabled
)


@dataclass(frozen=True)
class Layer:
    """One candidate source of system policy and what became of it."""

    name: str  # sort name: drop-ins and plugin layers apply in this order
    origin: Origin
    tier: str  # vendor, local, runtime, admin, or plugin
    status: str = "applied"
    reason: str = ""
    policy: PolicyFile | None = None
    main: bool = False  # the main policy.toml applies before every drop-in

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        # origin breaks ties (two plugins may name a layer alike): never listing order
        return (0 if self.main else 1, self.name, self.origin.kind, self.origin.source)

    @property
    def failed(self) -> bool:
        return self.status in ("invalid", "refused")


@dataclass(frozen=True)
class Choice:
    """A user's choice of mode and where it was found."""

    mode: Mode
    origin: Origin
    since: datetime | None = None  # when the choice was made
    error: str = ""  # set when a corrupt input was read as "off"


@dataclass(frozen=True)
class Trace:
    """How one value of a decision was arrived at."""

    key: str
    value: Value
    origin: Origin
    overrode: tuple[tuple[Value, Origin], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Platform:
    id: str
    version: str
    like: tuple[str, ...] = field(default=())
