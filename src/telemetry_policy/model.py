"""Immutable values shared by the parser, the sources and the resolver.

They derive from ``Record``, not ``@dataclass(frozen=True)``: creating a
dataclass costs about 1 ms per class and ``typing.NamedTuple`` about 0.5 ms,
and a telemetry client imports us at every start (docs/authors.md#what-asking-costs-at-start).
``Record`` gives each subclass an ``__init__`` for the fields its annotations
name in about 0.01 ms, and mypy checks it like a frozen dataclass.
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

TYPE_CHECKING = False  # typing costs a client 3 ms at start: only mypy reads these
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    from .policymodel import Layer, PluginInfo

    R = TypeVar("R", bound="Record")
else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


__all__ = [
    "MODES", "PRESETS", "Choice", "Decision", "Mode", "Origin", "Platform",
    "Record", "Trace", "is_app_name", "upload_window",
]  # fmt: skip

# --- Modes and presets (docs/format.md#modes-and-presets).


class _Modes(type):
    """``for m in Mode``, ``len(Mode)`` and ``Mode["ON"]``, as for an enum."""

    def __iter__(cls) -> "Iterator[Mode]":
        return iter(_ALL)

    def __len__(cls) -> int:
        return len(_ALL)

    def __getitem__(cls, name: str) -> "Mode":
        for m in _ALL:
            if m.name == name:
                return m
        raise KeyError(name)


class Mode(int, metaclass=_Modes):
    """How much telemetry data may leave the machine, ordered so that
    ``min()`` is the more private choice: ``off < local < on`` (as in Go).

    Three constants that behave as an ``IntEnum``'s members do (``Mode(2) is
    Mode.ON``, ``.name``, ``.value``, iteration), without importing ``enum``:
    a telemetry client imports this at every start (docs/authors.md#what-asking-costs-at-start).
    """

    OFF: "Mode"
    LOCAL: "Mode"
    ON: "Mode"
    __slots__ = ()

    def __new__(cls, value: "int | str") -> "Mode":
        """``Mode(2)`` or ``Mode("on")``: the mode of that value or name."""
        if isinstance(value, int) and 0 <= value < len(_ALL):
            return _ALL[value]
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(f"{value!r} is not a valid Mode")

    @property
    def name(self) -> str:
        return _NAMES[int(self)]

    @property
    def value(self) -> int:
        return int(self)

    def __str__(self) -> str:
        return _NAMES[int(self)].lower()

    def __repr__(self) -> str:
        return f"<Mode.{self.name}: {int(self)}>"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self) -> "tuple[type[Mode], tuple[int]]":
        return Mode, (int(self),)

    def __copy__(self) -> "Mode":
        return self

    def __deepcopy__(self, memo: object) -> "Mode":
        return self

    @classmethod
    def parse(cls, text: str) -> "Mode":
        """``Mode.parse("local")`` -> ``Mode.LOCAL``; anything else raises ValueError."""
        try:
            return MODES[text]
        except (KeyError, TypeError):
            raise ValueError(f"unknown mode {text!r} (use one of: off, local, on)") from None


_NAMES = ("OFF", "LOCAL", "ON")
_ALL: "tuple[Mode, ...]" = tuple(int.__new__(Mode, i) for i in range(3))
Mode.OFF, Mode.LOCAL, Mode.ON = _ALL
MODES: "dict[str, Mode]" = {str(m): m for m in _ALL}

#: preset name -> (default, ceiling); docs/format.md#modes-and-presets.
PRESETS: "dict[str, tuple[Mode, Mode]]" = {
    "forced-off": (Mode.OFF, Mode.OFF),
    "local-only": (Mode.LOCAL, Mode.LOCAL),
    "opt-in": (Mode.OFF, Mode.ON),
    "local-first": (Mode.LOCAL, Mode.ON),
    "opt-out": (Mode.ON, Mode.ON),
}


# --- Records.


def _initializer(
    cls: str, names: tuple[str, ...], defaults: "dict[str, Any]"
) -> "Callable[..., None]":
    """An ``__init__`` for ``names``, without compiling code per class."""
    count = len(names)
    required = {n for n in names if n not in defaults}

    def __init__(self: object, *args: "Any", **kwargs: "Any") -> None:
        if not kwargs and len(args) == count:  # the common call: all positional
            self.__dict__.update(zip(names, args, strict=True))
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
        self.__dict__.update((n, values[n] if n in values else defaults[n]) for n in names)

    return __init__


@dataclass_transform(frozen_default=True)
class Record:
    """Base of immutable values: fields are the class's annotations, in order."""

    __fields__: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: "Any") -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(cls.__dict__.get("__annotations__", {}))  # this class's own, in order
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        setattr(cls, "__init__", _initializer(cls.__name__, names, defaults))  # noqa: B010
        cls.__fields__ = names

    def _values(self) -> "tuple[Any, ...]":
        return tuple(getattr(self, n) for n in self.__fields__)

    def _replace(self: "R", **changes: "Any") -> "R":
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


class Choice(Record):
    """A user's choice of mode and where it was found."""

    mode: "Mode"
    origin: "Origin"
    since: "datetime | None" = None  # when the choice was made
    error: str = ""  # set when a corrupt input was read as "off"


class Platform(Record):
    id: str
    version: str
    like: tuple[str, ...] = ()


_APP_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_APP_CHARS = _APP_FIRST | frozenset("._-")


def is_app_name(name: object) -> bool:
    """``[a-z0-9][a-z0-9._-]{0,63}``, checked without ``re`` (a client's start)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 64
        and name[0] in _APP_FIRST
        and _APP_CHARS.issuperset(name)
    )


# --- The answer.

JSON_SCHEMA = 1
DEFAULT_UPLOAD_DELAY_DAYS = 7
_EXPLAINED = ("layers", "platform")
BUILT_IN = Origin("built-in", "built-in default")


class Trace(Record):
    """How one value of a decision was arrived at."""

    key: str
    value: "Value"
    origin: Origin
    overrode: "tuple[tuple[Value, Origin], ...]" = ()
    note: str = ""


class Decision(Record):
    """What an app may do, and why. ``app`` is None for the global decision."""

    app: str | None
    mode: "Mode"
    default: "Mode"
    ceiling: "Mode"
    upload_delay_days: int
    may_upload: bool
    locked: bool
    choice: "Choice | None"
    on_since: "datetime | None"
    errors: tuple[str, ...]
    layers: "tuple[Layer, ...]"
    trace: "tuple[Trace, ...]"
    platform: "Platform | None" = None
    plugins: "tuple[PluginInfo, ...]" = ()  # audit: every plugin and what became of it

    if not TYPE_CHECKING:  # a type checker sees the fields only: a typo is an error

        def __getattr__(self, name: str) -> "Any":
            # A decision answered from the snapshot reads the layers and platform that
            # explain it only when first asked: ``_explain`` returns them.
            if name in _EXPLAINED and "_explain" in self.__dict__:
                self.__dict__.update(self.__dict__.pop("_explain")())
                return self.__dict__[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def may_collect(self) -> bool:
        return self.mode >= Mode.LOCAL

    @property
    def upload_from(self) -> "datetime | None":
        if self.mode is not Mode.ON or self.on_since is None:
            return None
        return _plus_days(self.on_since, self.upload_delay_days)

    def origin_of(self, key: str) -> "Origin":
        return next(t.origin for t in self.trace if t.key == key)

    def explain(self) -> str:
        """A few lines a person reads: the decision and where each value came from."""
        name = self.app or "(all apps)"
        lines = [f"{name}: mode {self.mode}" + ("" if self.may_collect else " (collect nothing)")]
        for t in self.trace:
            line = f"  {t.key} = {t.value}  from {t.origin}"
            if t.overrode:
                line += "  (overrode " + ", ".join(f"{v} from {o}" for v, o in t.overrode) + ")"
            if t.note:
                line += f"  [{t.note}]"
            lines.append(line)
        if self.mode is Mode.ON:
            when = self.upload_from
            lines.append(
                f"  may upload: {'yes' if self.may_upload else 'not yet'}"
                + (f" (from {when:%Y-%m-%d %H:%M %Z})" if when and not self.may_upload else "")
            )
        if self.locked:
            lines.append("  locked: the system ceiling is off; no user choice can enable telemetry")
        lines.extend(f"  error: {e}" for e in self.errors)
        from .errors import one_line

        return "\n".join(one_line(line) for line in lines)

    def as_dict(self) -> "dict[str, Any]":
        """The stable JSON form (``schema`` 1) of ``resolve --json``."""
        choice = self.choice
        return {
            "schema": JSON_SCHEMA,
            "app": self.app,
            "mode": str(self.mode),
            "default": str(self.default),
            "ceiling": str(self.ceiling),
            "upload_delay_days": self.upload_delay_days,
            "may_collect": self.may_collect,
            "may_upload": self.may_upload,
            "locked": self.locked,
            "choice": None
            if choice is None
            else {"mode": str(choice.mode), "origin": str(choice.origin)},
            "on_since": _iso(self.on_since),
            "upload_from": _iso(self.upload_from),
            "errors": list(self.errors),
        }


def _iso(when: "datetime | None") -> "str | None":
    return None if when is None else when.isoformat()


def _plus_days(when: "datetime", days: int) -> "datetime | None":
    """``when`` plus ``days``, or None past the calendar's end (a date like 9999-12-31
    in a store: upload then waits for ever, which is the safe side)."""
    from datetime import timedelta

    try:
        return when + timedelta(days=days)
    except OverflowError:
        return None


def upload_window(
    mode: Mode,
    choice: "Choice | None",
    first_on: "datetime | None",
    now: "datetime | None",
    delay: int,
) -> "tuple[datetime | None, bool, datetime | None]":
    """Step 7: (on_since, may_upload, now). Upload waits ``delay`` days after the
    mode became on; only an "on" needs the time (``now`` None: the clock is read)."""
    if mode is not Mode.ON:
        return None, False, now
    if now is None:
        from .clock import current_time

        now = current_time()
    if choice is not None and choice.mode is Mode.ON and choice.since is not None:
        on_since = choice.since
    else:
        on_since = first_on or now
    upload_from = _plus_days(on_since, delay)
    return on_since, upload_from is not None and now >= upload_from, now
