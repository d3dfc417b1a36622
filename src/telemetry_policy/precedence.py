"""Precedence, stated once: the tiers, the order of user choices, and the
resolution (docs/format.md#resolution) as one pure function of its inputs.

Files, environment and the clock are read at the edges; this module only
combines what it is given. Step 2 runs over a ``layerindex.LayerIndex`` built once
per reading of the policy (every app's settings indexed by position), so
deciding every app named in policy costs what reading the policy costs; a
client answered from the snapshot gives :func:`finish` the values step 2 left,
compiled by the same index.

    index = LayerIndex.build(layers, platform)
    values = Values.start(None)
    layers = index.values("mytool", values, STEP2)
    decision = finish("mytool", values, index.problems, choice, caps, now, ...)
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

from .model import (
    BUILT_IN,
    DEFAULT_UPLOAD_DELAY_DAYS,
    MODES,
    Choice,
    Decision,
    Mode,
    Origin,
    Trace,
    upload_window,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from typing import Any

    from .layerindex import LayerIndex
    from .model import Platform, Value
    from .policymodel import Layer, PluginInfo

__all__ = [
    "DIRECTORIES",
    "ENV_DISABLE",
    "ENV_DNT",
    "ENV_MODE",
    "KEYS",
    "STEP2",
    "TIERS",
    "USER_CHOICES",
    "Step2",
    "Values",
    "decide",
    "dnt_cap",
    "env_choice",
    "finish",
    "tightens",
]  # fmt: skip

#: The policy directories: (tier, directory inside the root), lowest precedence first.
DIRECTORIES: "tuple[tuple[str, str], ...]" = (
    ("vendor", "usr/lib/telemetry-policy"),
    ("local", "usr/local/lib/telemetry-policy"),
    ("runtime", "run/telemetry-policy"),
    ("admin", "etc/telemetry-policy"),
)
#: Step 4, the user's choice: the first of these sources that has one counts.
#: ``app-native`` is the ``telemetry_policy_user_choice`` hook (Go's mode file,
#: plugins' stores); the others are the built-in sources of those names.
USER_CHOICES = ("env", "user-store", "app-native", "user-store-all")
#: The environment's words (docs/format.md#environment).
ENV_MODE = "TELEMETRY_POLICY_MODE"
ENV_DNT = "DO_NOT_TRACK"
ENV_DISABLE = "TELEMETRY_POLICY_DISABLE_PLUGINS"
#: The keys a policy sets, in the order a decision shows them.
KEYS = ("default", "ceiling", "upload_delay_days")


def env_choice(environ: "Mapping[str, str]") -> "Choice | None":
    """``TELEMETRY_POLICY_MODE``: the first user choice consulted."""
    value = environ.get(ENV_MODE, "")
    if not value:
        return None
    origin = Origin("env", ENV_MODE)
    found = MODES.get(value)  # exactly: "ON " is not a mode
    if found is not None:
        return Choice(found, origin)
    why = f"{ENV_MODE}={value[:40]!r} is not off, local or on; read as off"
    return Choice(Mode.OFF, origin, None, why)


def dnt_cap(environ: "Mapping[str, str]") -> "Choice | None":
    """``DO_NOT_TRACK`` set to anything but empty, ``0`` or ``false``: at most
    ``local``. Exactly those three: a value read loosely (`` FALSE``) could only
    raise the mode. Capping at ``local``, not ``off``, lets a local-only system
    export ``DO_NOT_TRACK=1`` for the programs that know only that switch without
    turning this library's own clients from ``local`` to ``off``."""
    value = environ.get(ENV_DNT)
    if value is None or value in ("", "0", "false"):
        return None
    return Choice(Mode.LOCAL, Origin("env", ENV_DNT))


def tightens(key: str, new: "Value", old: "Value") -> bool:
    """Is ``new`` at least as private as ``old``? A longer upload delay is."""
    return new >= old if key == "upload_delay_days" else new <= old


#: The tiers, lowest first (docs/format.md#where-policy-lives): a key from a
#: lower tier may only tighten what a higher one set.
TIERS = {"vendor": 0, "local": 0, "runtime": 1, "admin": 2}
LOWER_TIER = "a lower tier may only tighten what a higher tier set"


class Step2:
    """Step 2's rule, which ``layerindex`` applies to every setting in order."""

    @staticmethod
    def rank(tier: str) -> int:
        """A tier's rank; a plugin's is that of the highest file trusting it."""
        return TIERS.get(tier, -1)

    #: what ``admit`` says of a lower tier restating a higher tier's value: the higher
    #: tier keeps it (and its origin), nothing is dropped
    SAME = "same"

    @staticmethod
    def admit(key: str, new: "Value", old: "Value", rank: int, held: int, only: str) -> str:
        """Why the setting does not apply ('' if it does, ``SAME`` if it changes
        nothing): a value may always be tightened; otherwise a plugin layer that
        may only tighten (``only`` says why) and a tier below the one holding the
        key (``held``) are refused."""
        if rank < held and new == old:
            return Step2.SAME
        if tightens(key, new, old):
            return ""
        return only or (LOWER_TIER if rank < held else "")


STEP2 = Step2()


class Values:
    """The running value of each key, with its origin and the values it overrode
    (in step 2, the one it directly overrode; then each step that lowered it)."""

    __slots__ = ("current", "notes", "overrode")

    def __init__(self, default: "Mode", default_origin: "Origin") -> None:
        self.current: dict[str, tuple[Value, Origin]] = {
            "default": (default, default_origin),
            "ceiling": (Mode.ON, BUILT_IN),
            "upload_delay_days": (DEFAULT_UPLOAD_DELAY_DAYS, BUILT_IN),
        }
        self.overrode: dict[str, list[tuple[Value, Origin]]] = {k: [] for k in KEYS}
        self.notes: dict[str, str] = {}

    @classmethod
    def start(cls, app_default: "Mode | None") -> "Values":
        """Step 1: the caller's default (or off), ceiling on, the usual delay."""
        if app_default is None:
            return cls(Mode.OFF, BUILT_IN)
        return cls(app_default, Origin("app", "app_default from the calling program"))

    def set(self, key: str, value: "Value", origin: "Origin", note: str = "") -> None:
        self.overrode[key].append(self.current[key])
        self.current[key] = (value, origin)
        if note:
            self.notes[key] = note

    def get(self, key: str) -> "Value":
        return self.current[key][0]

    def hold(self, key: str, refused: "Value", origin: "Origin") -> None:
        """Note that the value was held against ``refused`` from ``origin``."""
        self.notes[key] = f"held: {origin} wanted {refused}"

    def trace(self, key: str) -> "Trace":
        value, origin = self.current[key]
        return Trace(key, value, origin, tuple(self.overrode[key]), self.notes.get(key, ""))

    # The snapshot keeps what step 2 left as plain values (``marshal``).

    def plain(self) -> "tuple[Any, ...]":
        """What the layers set after step 1, per key: None where they set
        nothing, else (value, origin, the layer value it overrode or None for
        the start, a note: what it was held against), origins as 3-tuples."""

        def o(origin: "Origin") -> "tuple[Any, ...]":
            return (origin.kind, origin.source, origin.line)

        out: list[Any] = []
        for key in KEYS:
            before = self.overrode[key]
            if not before:
                out.append(None)
                continue
            value, origin = self.current[key]
            previous = before[-1] if before[-1][1].kind in ("file", "plugin") else None
            out.append(
                (
                    int(value),
                    o(origin),
                    None if previous is None else (int(previous[0]), o(previous[1])),
                    self.notes.get(key, ""),
                )
            )
        return tuple(out)

    def replay(self, plain: "tuple[Any, ...]") -> None:
        """Set what ``plain`` says the layers left (the inverse of ``plain``).
        Raises ValueError or TypeError on anything that is not such a value."""
        for key, found in zip(KEYS, plain, strict=True):
            if found is None:
                continue
            value, origin, previous, note = found
            if previous is not None:
                self.set(key, _value(key, previous[0]), Origin(*previous[1]))
            self.set(key, _value(key, value), Origin(*origin))
            del self.overrode[key][:-1]
            if note:
                if type(note) is not str:
                    raise ValueError("not a note")
                self.notes[key] = note


def _value(key: str, number: object) -> "Value":
    if type(number) is not int:
        raise ValueError("not a value")
    return number if key == "upload_delay_days" else Mode(number)


def finish(
    app: "str | None",
    values: "Values",
    problems: "Sequence[str]",
    choice: "Choice | None",
    caps: "Sequence[Choice]",
    now: "datetime | None",
    first_on: "datetime | None",
    explained: "Mapping[str, Any]",
) -> "Decision":
    """Steps 3 to 7, from the values the system layers left (``values``) and the
    user's inputs. Any problem fails closed. ``explained`` holds the decision's
    ``layers``, ``platform`` and ``plugins``, or ``_explain``: a function that
    returns the first two when first asked. (One function, longer than most:
    each step is written once, in the order docs/format.md gives them.)"""
    problems = list(problems)
    if problems:  # fail closed: any unusable input forces the ceiling off
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        values.set(
            "ceiling", Mode.OFF, Origin("error", f"fail closed ({count})"), "first: " + problems[0]
        )
    ceiling = Mode(values.get("ceiling"))
    # 3. The default never exceeds the ceiling.
    if values.get("default") > ceiling:
        values.set("default", ceiling, values.current["ceiling"][1], "lowered to the ceiling")
    default = Mode(values.get("default"))
    # 4-5. The user's choice, or the default; never above the ceiling.
    if choice is not None:
        mode_origin, mode = choice.origin, choice.mode
        if choice.error:
            problems.append(choice.error)
    else:
        mode, mode_origin = default, values.current["default"][1]
    trail: list[tuple[Value, Origin]] = []
    note = ""
    if mode > ceiling:
        trail.append((mode, mode_origin))
        mode, mode_origin = ceiling, values.current["ceiling"][1]
        note = "lowered to the ceiling"
    # 6. Caps (DO_NOT_TRACK and the like) can only lower.
    for cap in caps:
        if cap.mode < mode:
            trail.append((mode, mode_origin))
            mode, mode_origin = cap.mode, cap.origin
            note = "lowered by " + str(cap.origin)
    # 7. Upload waits upload_delay_days after the mode became on.
    delay = int(values.get("upload_delay_days"))
    on_since, may_upload, now = upload_window(mode, choice, first_on, now, delay)
    decision = object.__new__(Decision)  # Record's checks are for callers; this is ours
    decision.__dict__.update(
        app=app,
        mode=mode,
        default=default,
        ceiling=ceiling,
        upload_delay_days=delay,
        may_upload=may_upload,
        locked=ceiling is Mode.OFF,
        choice=choice,
        on_since=on_since,
        errors=_one_line_each(problems),
        trace=(
            *(values.trace(k) for k in KEYS),
            Trace("mode", mode, mode_origin, tuple(trail), note),
        ),
        plugins=(),
    )
    decision.__dict__.update(explained)  # layers and platform, or _explain
    return decision


def _one_line_each(problems: "Sequence[str]") -> "tuple[str, ...]":
    if not problems:
        return ()
    from .errors import one_line

    return tuple(one_line(p) for p in problems)


def decide(
    app: "str | None",
    *,
    layers: "Sequence[Layer]" = (),
    choice: "Choice | None" = None,
    caps: "Sequence[Choice]" = (),
    now: "datetime | None" = None,
    app_default: "Mode | None" = None,
    first_on: "datetime | None" = None,
    platform: "Callable[[], Platform] | None" = None,
    errors: "Sequence[str]" = (),
    plugins: "Sequence[PluginInfo]" = (),
    untrusted_code: "Mapping[str, str] | None" = None,
    index: "LayerIndex | None" = None,
) -> "Decision":
    """The whole resolution for ``app`` from plain inputs: ``layers`` (or an
    ``index`` already built from them), the user's ``choice`` and ``caps``,
    ``errors`` met while gathering them (any fails closed), ``first_on`` (when
    this user's mode was first seen on). ``now`` None: the clock is read only
    if the mode is on."""
    if index is None:
        from .layerindex import LayerIndex as Index

        index = Index.build(layers, platform, untrusted_code)
    values = Values.start(app_default)
    found = index.values(app, values, STEP2)
    explained = {"layers": found, "platform": index.platform, "plugins": tuple(plugins)}
    return finish(app, values, [*errors, *index.problems], choice, caps, now, first_on, explained)
