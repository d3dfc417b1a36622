"""Step 2's index: the layers judged once (``[when]``, ``[plugins]``) and
every key's settings indexed by position, so that every app's values come
from one pass. ``precedence`` gives it the rule that admits a setting.
"""

# Annotations naming what only type checkers import are strings (as in ``precedence``).

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from .model import Platform
    from .policymodel import Layer
    from .precedence import Step2, Values

__all__ = ["LayerIndex", "judge_when", "plugin_lists"]


def judge_when(
    layers: "Sequence[Layer]", platform: "Callable[[], Platform] | None"
) -> "tuple[list[Layer], Platform | None]":
    """The layers in application order, those whose ``[when]`` fails marked skipped
    (and every one with ``[when]`` invalid when the platform cannot be read).

    The platform is read only if some layer has ``[when]``.
    """
    judged: list[Layer] = []
    seen: Platform | None = None
    unknown = ""
    for layer in sorted(layers, key=lambda layer: layer.sort_key):
        when = layer.policy.when if layer.status == "applied" and layer.policy else None
        if when is not None:
            from .conditions import holds  # only files with [when] need it
            from .errors import PlatformError

            if seen is None and not unknown:
                try:
                    seen = platform() if platform else _no_platform()
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


def _no_platform() -> "Platform":
    from .model import Platform

    return Platform("", "")


def plugin_lists(judged: "Sequence[Layer]") -> "tuple[set[str], set[str]]":
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


_Entry = "tuple[tuple[int, int, int], Setting]"  # ((position, global 0 / app 1, n), setting)


class LayerIndex:
    """Step 2 for every app from one pass over the layers.

    The layers are judged (``[when]``, ``[plugins] disabled``) once; every key's
    settings are indexed by position, the global ones and each app's own. An
    app's values are then its own settings and the global ones merged in
    position order and applied in turn, so deciding N apps named in N files
    costs N times the app's own settings, not N times every layer.
    """

    def __init__(
        self,
        layers: "Sequence[Layer]",
        platform: "Platform | None",
        untrusted_code: "Mapping[str, str]",
    ) -> None:
        trusted, disabled = plugin_lists(layers)
        judged: list[Layer] = []
        for layer in layers:
            plugin = layer.tier == "plugin" and layer.status == "applied"
            if plugin and layer.origin.source in disabled:
                layer = layer._replace(status="disabled", reason="listed in [plugins] disabled")
            judged.append(layer)
        self.layers: tuple[Layer, ...] = tuple(judged)
        self.platform = platform
        self.problems = [f"{layer.origin}: {layer.reason}" for layer in judged if layer.failed]
        # why a plugin layer may only tighten: untrusted, or its code is not a system file
        self.only_tighten: dict[int, str] = {}
        self.global_: dict[str, list[Any]] = {}
        self.apps: dict[str, dict[str, list[Any]]] = {}
        self.mentioned = sorted(
            {app for layer in judged if layer.policy for app, _ in layer.policy.apps}
        )
        # a trusted plugin speaks with the tier of the files that trust it
        self.trusted_by: dict[str, list[str]] = {}
        for layer in judged:
            if layer.status == "applied" and layer.policy and layer.tier != "plugin":
                for name in layer.policy.trusted:
                    self.trusted_by.setdefault(name, []).append(layer.tier)
        for i, layer in enumerate(judged):
            if layer.status != "applied" or layer.policy is None:
                continue
            if layer.tier == "plugin":
                name = layer.origin.source
                why = (
                    untrusted_code.get(name, "")
                    if name in trusted
                    else "untrusted plugin may only tighten"
                )
                if why:
                    self.only_tighten[i] = why
            for n, s in enumerate(layer.policy.policy):
                self.global_.setdefault(s.key, []).append(((i, 0, n), s))
            for app, settings in layer.policy.apps:
                keys = self.apps.setdefault(app, {})
                for n, s in enumerate(settings):
                    keys.setdefault(s.key, []).append(((i, 1, n), s))

    @classmethod
    def build(
        cls,
        layers: "Sequence[Layer]",
        platform: "Callable[[], Platform] | None" = None,
        untrusted_code: "Mapping[str, str] | None" = None,
    ) -> "LayerIndex":
        """The index of ``layers``: sorted, ``[when]`` judged (the platform read
        only if a layer asks), ``[plugins] disabled`` applied."""
        judged, seen = judge_when(layers, platform)
        return cls(judged, seen, untrusted_code or {})

    def named(self) -> "list[str]":
        """Every app named in a layer that was read (one ``[when]`` skips included)."""
        return list(self.mentioned)

    def _rank(self, i: int, rule: "Step2") -> int:
        layer = self.layers[i]
        if layer.tier != "plugin":
            return rule.rank(layer.tier)
        return max((rule.rank(t) for t in self.trusted_by.get(layer.origin.source, ())), default=-1)

    def values(self, app: "str | None", start: "Values", rule: "Step2") -> "tuple[Layer, ...]":
        """Step 2: set ``start`` as the layers leave it for ``app``, each setting
        in position order where ``rule`` (``precedence``'s) admits it. Returns the
        layers as they stand for this app: one with a setting that did not apply
        is "restricted", saying why, and the value held says by what."""
        own = self.apps.get(app, {}) if app is not None else {}
        dropped: dict[int, tuple[str, list[str]]] = {}
        for key in list(start.current):
            entries = self.global_.get(key, [])
            if key in own:
                entries = sorted(entries + own[key], key=lambda e: e[0])
            held = -1  # the rank of the highest tier that set the key
            for (i, _, _), s in entries:
                rank = self._rank(i, rule)
                why = rule.admit(
                    key, s.value, start.get(key), rank, held, self.only_tighten.get(i, "")
                )
                if why == rule.SAME:
                    continue
                if why:
                    dropped.setdefault(i, (why, []))[1].append(f"{key} = {s.value}")
                    start.hold(key, s.value, s.origin)
                    continue
                start.set(key, s.value, s.origin)
                held = max(held, rank)
            # each value lists the one it directly overrode (audit lists every layer):
            # a thousand files each naming an app explain themselves in linear space
            del start.overrode[key][:-1]
        if not dropped:
            return self.layers
        layers = list(self.layers)
        for i, (why, what) in sorted(dropped.items()):
            layers[i] = layers[i]._replace(
                status="restricted", reason=f"{why}; dropped: " + ", ".join(what)
            )
        return tuple(layers)
