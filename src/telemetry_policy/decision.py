"""The heart: a pure function from layers and user inputs to a Decision.

Files, environment and the clock are read at the edges (``api``); this
module only combines what it is given, so every rule is testable with
plain values. The steps are DESIGN.md section 5, in that order.
"""

from __future__ import annotations

from .errors import one_line
from .model import (
    BUILT_IN,
    DEFAULT_UPLOAD_DELAY_DAYS,
    JSON_SCHEMA,
    Decision,
    Mode,
    Origin,
    Platform,
    PluginInfo,
    upload_window,
)
from .policymodel import Trace

__all__ = ["JSON_SCHEMA", "AppIndex", "Decision", "PluginInfo", "decide", "judge_when"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from typing import Any

    from .model import Choice, Value
    from .policymodel import Layer, Setting

    _Entry = tuple[tuple[int, int], Setting]  # (layer position, 0 global / 1 app), setting


class _Values:
    """The running value of each key with the values it overrode."""

    def __init__(self, default: Mode, default_origin: Origin) -> None:
        self.current: dict[str, tuple[Value, Origin]] = {
            "default": (default, default_origin),
            "ceiling": (Mode.ON, BUILT_IN),
            "upload_delay_days": (DEFAULT_UPLOAD_DELAY_DAYS, BUILT_IN),
        }
        self.overrode: dict[str, list[tuple[Value, Origin]]] = {k: [] for k in self.current}
        self.notes: dict[str, str] = {}

    def set(self, key: str, value: Value, origin: Origin, note: str = "") -> None:
        self.overrode[key].append(self.current[key])
        self.current[key] = (value, origin)
        if note:
            self.notes[key] = note

    def get(self, key: str) -> Value:
        return self.current[key][0]

    def trace(self, key: str) -> Trace:
        value, origin = self.current[key]
        return Trace(key, value, origin, tuple(self.overrode[key]), self.notes.get(key, ""))


def _tightens(key: str, new: Value, old: Value) -> bool:
    # a longer upload delay is the more private direction
    return new >= old if key == "upload_delay_days" else new <= old


def judge_when(
    layers: Sequence[Layer], platform: Callable[[], Platform] | None
) -> tuple[list[Layer], Platform | None]:
    """The layers in application order, those whose ``[when]`` fails marked skipped.

    The platform is read only if some layer has ``[when]``.
    """
    judged: list[Layer] = []
    seen: Platform | None = None
    unknown = ""  # why the platform cannot be read: every [when] then fails closed
    for layer in sorted(layers, key=lambda layer: layer.sort_key):
        when = layer.policy.when if layer.status == "applied" and layer.policy else None
        if when is not None:
            from .platform import PlatformError, holds  # only files with [when] need it

            if seen is None and not unknown:
                try:
                    seen = platform() if platform else Platform("", "")
                except PlatformError as e:
                    unknown = str(e)
            if unknown:
                layer = layer._replace(
                    status="invalid",
                    reason=f"its [when] cannot be judged: {unknown}; fix the os-release file",
                )
            else:
                assert seen is not None
                ok, why = holds(when, seen)
                if not ok:
                    layer = layer._replace(status="skipped", reason=why)
        judged.append(layer)
    return judged, seen


def plugin_lists(judged: Sequence[Layer]) -> tuple[set[str], set[str]]:
    """``[plugins]`` trusted and disabled, merged from the applied system files.

    ``disabled`` wins over ``trusted``; files skipped by ``[when]`` do not count.
    """
    trusted: set[str] = set()
    disabled: set[str] = set()
    for layer in judged:
        if layer.status == "applied" and layer.policy and layer.tier != "plugin":
            trusted.update(layer.policy.trusted)
            disabled.update(layer.policy.disabled)
    return trusted - disabled, disabled


def decide(
    app: str | None,
    *,
    layers: Sequence[Layer],
    choice: Choice | None,
    caps: Sequence[Choice],
    now: datetime | None,
    app_default: Mode | None = None,
    first_on: datetime | None = None,
    platform: Callable[[], Platform] | None = None,
    errors: Sequence[str] = (),
    plugins: Sequence[PluginInfo] = (),
    untrusted_code: Mapping[str, str] = {},
    index: AppIndex | None = None,
) -> Decision:
    """Combine system layers and user inputs into a Decision.

    ``first_on`` is when this user's mode for ``app`` was first seen ``on``
    (the state file); ``errors`` are problems found while gathering inputs
    (plugins, user store): any of them fails closed. ``untrusted_code`` names
    plugins whose code may not be trusted (and why), even if a file trusts them.
    ``index``: the layers already judged and applied for every app at once
    (audit); each value then lists only the value it directly overrode.
    ``now`` None: the clock is read only if the mode is ``on``.
    """
    problems = list(errors)
    # 1. Start.
    if app_default is None:
        values = _Values(Mode.OFF, BUILT_IN)
    else:
        values = _Values(app_default, Origin("app", "app_default from the calling program"))
    if index is not None and index.usable:
        index.apply(app, values)
        return _finish(app, values, problems + index.problems, index.layers, index.platform,
                       choice, caps, now, first_on, plugins)  # fmt: skip
    # 2. System layers in order, [when] first; [plugins] merged from applied files.
    final, more, seen_platform = apply_layers(app, values, layers, platform, untrusted_code)
    return _finish(app, values, problems + more, final, seen_platform, choice, caps, now,
                   first_on, plugins)  # fmt: skip


def apply_layers(
    app: str | None,
    values: _Values,
    layers: Sequence[Layer],
    platform: Callable[[], Platform] | None,
    untrusted_code: Mapping[str, str] = {},
) -> tuple[list[Layer], list[str], Platform | None]:
    """Step 2: set ``values`` as the layers leave them for ``app``.

    Returns the layers with what became of each, the problems of those that
    failed, and the platform if a ``[when]`` needed it."""
    judged, seen_platform = judge_when(layers, platform)
    trusted, disabled = plugin_lists(judged)
    final: list[Layer] = []
    problems: list[str] = []
    for layer in judged:
        if layer.tier == "plugin" and layer.status == "applied" and layer.origin.source in disabled:
            layer = layer._replace(status="disabled", reason="listed in [plugins] disabled")
        if layer.failed:
            problems.append(f"{layer.origin}: {layer.reason}")
        if layer.status == "applied" and layer.policy:
            settings: list[Setting] = list(layer.policy.policy)
            if app is not None:
                settings.extend(layer.policy.app(app))
            why_not = ""
            if layer.tier == "plugin":
                name = layer.origin.source
                why_not = (
                    untrusted_code.get(name, "")
                    if name in trusted
                    else "untrusted plugin may only tighten"
                )
            dropped = []
            for s in settings:
                if why_not and not _tightens(s.key, s.value, values.get(s.key)):
                    dropped.append(f"{s.key} = {s.value}")
                    continue
                values.set(s.key, s.value, s.origin)
            if dropped:
                layer = layer._replace(
                    status="restricted", reason=f"{why_not}; dropped: " + ", ".join(dropped)
                )
        final.append(layer)
    return final, problems, seen_platform


def _finish(
    app: str | None,
    values: _Values,
    problems: list[str],
    final: Sequence[Layer],
    seen_platform: Platform | None,
    choice: Choice | None,
    caps: Sequence[Choice],
    now: datetime | None,
    first_on: datetime | None,
    plugins: Sequence[PluginInfo],
) -> Decision:
    """Steps 3 to 7, from the values the system layers left."""
    # Fail closed: any unusable input forces the ceiling off.
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        values.set(
            "ceiling",
            Mode.OFF,
            Origin("error", f"fail closed ({count})"),
            "first: " + problems[0],
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
    trace = tuple(values.trace(k) for k in ("default", "ceiling", "upload_delay_days"))
    trace += (Trace("mode", mode, mode_origin, tuple(trail), note),)
    return Decision(
        app=app,
        mode=mode,
        default=default,
        ceiling=ceiling,
        upload_delay_days=delay,
        may_upload=may_upload,
        locked=ceiling is Mode.OFF,
        choice=choice,
        on_since=on_since,
        errors=tuple(one_line(p) for p in problems),
        layers=tuple(final),
        trace=trace,
        platform=seen_platform,
        plugins=tuple(plugins),
    )


class AppIndex:
    """Every app's system values from one pass over the layers.

    ``audit`` decides the global decision and one per app named in any file;
    applying every layer again for each app made it quadratic (1,000 drop-ins
    each naming an app: 32 s). Here the settings of every key are indexed by
    position once; an app's value is then the later of the last global setting
    and the app's own last one, found by bisection, and it lists the value it
    directly overrode. Plugin layers an untrusted plugin may only tighten
    depend on each app's running value: with any applied, the index is not
    used (``usable`` is false) and each app is decided layer by layer.
    """

    def __init__(self, global_decision: Decision) -> None:
        self.layers = global_decision.layers
        self.platform = global_decision.platform
        self.problems = [f"{layer.origin}: {layer.reason}" for layer in self.layers if layer.failed]
        self.usable = not any(
            layer.tier == "plugin" and layer.status in ("applied", "restricted")
            for layer in self.layers
        )
        self.global_: dict[str, list[_Entry]] = {}
        self.apps: dict[str, dict[str, list[_Entry]]] = {}
        for i, layer in enumerate(self.layers):
            if layer.status != "applied" or layer.policy is None:
                continue
            for s in layer.policy.policy:
                self.global_.setdefault(s.key, []).append(((i, 0), s))
            for app, settings in layer.policy.apps:
                keys = self.apps.setdefault(app, {})
                for s in settings:
                    keys.setdefault(s.key, []).append(((i, 1), s))

    def apply(self, app: str | None, values: _Values) -> None:
        """Set ``values`` as the layers leave them for ``app``."""
        own = self.apps.get(app, {}) if app is not None else {}
        for key in values.current:
            # the two latest settings of a key are among the last two of each list
            latest = sorted(self.global_.get(key, [])[-2:] + own.get(key, [])[-2:])
            if len(latest) > 1:
                values.set(key, latest[-2][1].value, latest[-2][1].origin)
            if latest:
                values.set(key, latest[-1][1].value, latest[-1][1].origin)
                values.overrode[key] = values.overrode[key][-1:]  # only the one it overrode


# --- How a decision is shown (``Decision.explain`` and ``as_dict``).


def explanation(self: Decision) -> str:
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
    return "\n".join(one_line(line) for line in lines)


def as_json(self: Decision) -> dict[str, Any]:
    """The stable JSON form (``schema`` 1) of ``resolve --json``."""
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
        if self.choice is None
        else {"mode": str(self.choice.mode), "origin": str(self.choice.origin)},
        "on_since": _iso(self.on_since),
        "upload_from": _iso(self.upload_from),
        "errors": list(self.errors),
    }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()
