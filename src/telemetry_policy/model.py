"""Immutable values shared by the parser, the sources and the resolver.

They derive from ``Record``, not ``@dataclass(frozen=True)``: creating a
dataclass costs about 1 ms per class and ``typing.NamedTuple`` about 0.5 ms,
and a telemetry client imports us at every start (DESIGN.md section 9).
``Record`` gives each subclass an ``__init__`` for the fields its annotations
name in about 0.01 ms, and mypy checks it like a frozen dataclass.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .modes import Mode

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        return lambda cls: cls


R = TypeVar("R", bound="Record")


def _initializer(cls: str, names: tuple[str, ...], defaults: dict[str, Any]) -> Callable[..., None]:
    """An ``__init__`` for ``names``, without compiling code per class."""
    count = len(names)
    required = {n for n in names if n not in defaults}
    put = object.__setattr__

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        if not kwargs and len(args) == count:  # the common call: all positional
            for name, value in zip(names, args, strict=True):
                put(self, name, value)
            return
        if len(args) > count:
            raise TypeError(f"{cls}() takes {count} arguments, {len(args)} given")
        values = dict(zip(names, args, strict=False))  # the rest may be keywords
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{cls}() got an unexpected or repeated argument {name!r}")
            values[name] = value
        missing = required - values.keys()
        if missing:
            raise TypeError(f"{cls}() missing argument(s): {', '.join(sorted(missing))}")
        for name in names:
            put(self, name, values[name] if name in values else defaults[name])

    return __init__


@dataclass_transform(frozen_default=True)
class Record:
    """Base of immutable values: fields are the class's annotations, in order."""

    __fields__: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(inspect.get_annotations(cls))  # inspect: already loaded by pluggy
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        setattr(cls, "__init__", _initializer(cls.__name__, names, defaults))  # noqa: B010
        cls.__fields__ = names

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__fields__)

    def _replace(self: R, **changes: Any) -> R:
        new = object.__new__(type(self))
        for name in self.__fields__:
            object.__setattr__(new, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__fields__)
        return f"{type(self).__name__}({inner})"


Value = Mode | int


class Origin(Record):
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


class Setting(Record):
    """One key of a policy table (``default``, ``ceiling``, ``upload_delay_days``)."""

    key: str
    value: Value
    origin: Origin


class Condition(Record):
    """A ``[when]`` table: the layer applies only where every part holds."""

    distro: tuple[str, ...] | None = None
    distro_version: str | None = None  # as written, e.g. ">=12"
    line: int | None = None


class PolicyFile(Record):
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
    "restricted",  # a plugin layer used only where it tightens (the rest dropped)
    "replaced",  # a same-named file in a higher directory wins
    "masked",  # hidden by an empty file or a /dev/null link (or is such a mask)
    "skipped",  # its [when] does not hold here
    "invalid",  # unusable: resolution fails closed
    "refused",  # failed the trust check: resolution fails closed
    "ignored",  # not a *.toml name
    "disabled",  # a plugin layer blocked by [plugins] disabled
)


class Layer(Record):
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


class Choice(Record):
    """A user's choice of mode and where it was found."""

    mode: Mode
    origin: Origin
    since: datetime | None = None  # when the choice was made
    error: str = ""  # set when a corrupt input was read as "off"


class Trace(Record):
    """How one value of a decision was arrived at."""

    key: str
    value: Value
    origin: Origin
    overrode: tuple[tuple[Value, Origin], ...] = ()
    note: str = ""


class Platform(Record):
    id: str
    version: str
    like: tuple[str, ...] = ()
