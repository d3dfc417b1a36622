"""The plugin manager, with the built-in sources registered as plugins, and a
typed hook caller.

Used when an installed plugin is loaded (``sources.Builtins`` serves the
rest). pluggy calls the hooks, in its order and with ``firstresult`` for the
user's choice; every implementation is guarded before it is called, so one
plugin that raises or returns garbage is named in the error, does not stop
the others, and makes the resolution fail closed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping, Set
from typing import Any

import pluggy

from . import hookspecs
from .context import Context
from .entrypoints import EntryPoint, search_path
from .errors import PluginError, PolicyFileError, describe, safe_repr
from .hookspecs import PROJECT, hookimpl
from .model import Choice, Decision, Mode, Origin, Record
from .policyfile import PLUGIN_NAME, check_document
from .policymodel import Layer, PluginInfo
from .precedence import USER_CHOICES
from .sources import BUILTIN_NAMES, BUILTINS, CHOICE_SLOT, PluginState, plugin_infos

__all__ = [
    "BUILTINS",
    "Answer",
    "Builtin",
    "Hooks",
    "Loaded",
    "PluginState",
    "code_trust",
    "default_manager",
    "load_into",
    "make_manager",
    "trust_of",
]


def _constant(origin: Origin) -> Callable[[int | None], Origin]:
    return lambda _line: origin


class Builtin:
    """A built-in plugin: one hook function, registered like any plugin."""

    def __init__(self, hook: Callable[..., object]) -> None:
        self.hook = hook

    def __dir__(self) -> list[str]:
        # pluggy inspects every name dir() lists (about 30 for a plain object,
        # each with inspect.getattr_static): list only the hook.
        return ["hook"]


class Answer(Record):
    """A hook implementation's result, with the plugin that gave it."""

    plugin: str
    value: Any


def _guarded(plugin: str, hook: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as one plugin's implementation of ``hook``: whatever it raises
    (BaseException included) becomes a PluginError naming it, and what it returns
    is an Answer saying whose it is (None stays None: firstresult goes on)."""

    def guarded(*args: Any) -> Any:
        try:
            result = function(*args)
        except BaseException as e:  # a plugin's failure must never escape, whatever it is
            return PluginError(plugin, hook, f"raised {describe(e)}")
        return None if result is None else Answer(plugin, result)

    return guarded


def _guard(caller: Any) -> None:
    """Guard every implementation of the hook ``caller`` calls (once each):
    pluggy then calls the guarded function, in its order, with its firstresult."""
    for impl in caller.get_hookimpls():
        if getattr(impl.function, "__wrapped__", None) is None:
            guarded = _guarded(impl.plugin_name, caller.name, impl.function)
            guarded.__wrapped__ = impl.function  # type: ignore[attr-defined]
            impl.function = guarded


def _order(name: str) -> dict[str, bool]:
    """pluggy's ordering of a built-in user-choice source, from its slot in
    ``precedence.USER_CHOICES``: before the app-native stores (installed
    plugins' among them) tryfirst, after them trylast."""
    slot = CHOICE_SLOT.get(name)
    if slot is None or slot == "app-native":
        return {}
    native = USER_CHOICES.index("app-native")
    return {"tryfirst": True} if USER_CHOICES.index(slot) < native else {"trylast": True}


def make_manager() -> pluggy.PluginManager:
    """A plugin manager with the hookspecs and the built-in sources registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    # pluggy calls the last registered first (within tryfirst, plain, trylast)
    for name, function, spec in reversed(BUILTINS):
        order = _order(name)
        marked = hookimpl(
            specname=spec,
            tryfirst=order.get("tryfirst", False),
            trylast=order.get("trylast", False),
        )(function)
        pm.register(Builtin(marked), name=name)
    return pm


_default: pluggy.PluginManager | None = None


def default_manager() -> pluggy.PluginManager:
    """The manager ``resolve()`` uses, built once per process."""
    global _default
    if _default is None:
        _default = make_manager()
    return _default


class Hooks:
    """Typed calls of the hooks of one plugin manager, each implementation guarded."""

    def __init__(self, pm: pluggy.PluginManager, skip: Set[str] = frozenset()) -> None:
        self.pm = pm
        self.skip = skip  # plugins blocked for this resolution: never called

    def caller(self, hook: str, builtin: bool | None = None) -> Any:
        """The hook caller for ``hook``, every implementation guarded, without the
        skipped plugins (and with only the built-in ones, or only the others,
        when ``builtin`` says so)."""
        _guard(getattr(self.pm.hook, hook))
        leave = set(self.skip)
        if builtin is not None:
            leave |= {n for n, _ in self.pm.list_name_plugin() if (n in BUILTIN_NAMES) != builtin}
        plugins = [p for n, p in self.pm.list_name_plugin() if n in leave]
        if not plugins:
            return getattr(self.pm.hook, hook)
        return self.pm.subset_hook_caller(hook, plugins)

    def layers(
        self, context: Context, external: bool | None = None
    ) -> tuple[list[Layer], list[str]]:
        """Layers from every plugin, or only the built-in (external=False) or other ones."""
        builtin = None if external is None else not external
        return self._layers(self.caller("telemetry_policy_layers", builtin)(context=context))

    def _layers(self, results: list[Any]) -> tuple[list[Layer], list[str]]:
        layers: list[Layer] = []
        errors: list[str] = []
        for result in results:  # in the order pluggy called them
            try:
                if isinstance(result, PluginError):
                    raise result
                layers.extend(self._layer_list(result.plugin, result.value))
            except PluginError as e:
                errors.append(str(e))
            except BaseException as e:  # a hostile object: its methods are the plugin's code
                errors.append(
                    str(PluginError(result.plugin, "telemetry_policy_layers", describe(e)))
                )
        return layers, errors

    def _layer_list(self, plugin: str, result: object) -> list[Layer]:
        if not isinstance(result, (list, tuple)):
            raise PluginError(
                plugin,
                "telemetry_policy_layers",
                f"returned {type(result).__name__}, not a list of layers",
            )
        out = []
        for item in result:
            if plugin in BUILTIN_NAMES and isinstance(item, Layer):
                out.append(item)
                continue
            # External plugins describe settings; the origin is ours to set,
            # so a plugin can never pass itself off as a system file.
            if (
                not isinstance(item, tuple)
                or len(item) != 2
                or not isinstance(item[0], str)
                or not re.fullmatch(PLUGIN_NAME, item[0])
                or not isinstance(item[1], Mapping)
            ):
                raise PluginError(
                    plugin,
                    "telemetry_policy_layers",
                    f"returned {safe_repr(item)}, not a (name, policy table) pair",
                )
            origin = Origin("plugin", plugin)
            try:
                policy = check_document(
                    dict(item[1]), f"plugin {plugin} layer {item[0]}", _constant(origin)
                )
            except PolicyFileError as e:
                raise PluginError(
                    plugin, "telemetry_policy_layers", f"layer {item[0]!r}: {e.reason}"
                ) from None
            except RecursionError:
                raise PluginError(
                    plugin, "telemetry_policy_layers", f"layer {item[0]!r}: nested too deeply"
                ) from None
            out.append(Layer(item[0], origin, "plugin", "applied", "", policy))
        return out

    def user_choice(self, app: str | None, context: Context) -> tuple[Choice | None, list[str]]:
        """Step 4: the first source with a choice (a firstresult hook)."""
        hook = "telemetry_policy_user_choice"
        result = self.caller(hook)(app=app, context=context)
        if result is None:
            return None, []
        if isinstance(result, PluginError):
            return None, [str(result)]
        try:
            return self._choice(result.plugin, result.value), []
        except BaseException as e:
            why = describe(e) if not isinstance(e, PluginError) else e.reason
            return None, [str(PluginError(result.plugin, hook, why))]

    def _choice(self, plugin: str, result: object) -> Choice:
        """A plugin's Choice, checked field by field (it may be any object at all)."""
        from datetime import datetime

        if (
            not isinstance(result, Choice)
            or not isinstance(result.mode, Mode)
            or not isinstance(result.origin, Origin)
            or not isinstance(result.origin.source, str)
            or not (result.since is None or isinstance(result.since, datetime))
            or not isinstance(result.error, str)
        ):
            raise PluginError(plugin, "", f"returned {safe_repr(result)}, not a Choice")
        if plugin in BUILTIN_NAMES:
            return result
        since = result.since if result.since is None or result.since.tzinfo else None
        return Choice(
            result.mode,
            Origin("native", f"{result.origin.source[:200]} (plugin {plugin})"),
            since,
            result.error[:300],
        )

    def caps(self, app: str | None, context: Context) -> tuple[list[Choice], list[str]]:
        caps, errors = [], []
        hook = "telemetry_policy_caps"
        for result in self.caller(hook)(app=app, context=context):
            if isinstance(result, PluginError):
                errors.append(str(result))
                continue
            try:
                caps.append(self._choice(result.plugin, result.value))
            except BaseException as e:
                why = describe(e) if not isinstance(e, PluginError) else e.reason
                errors.append(str(PluginError(result.plugin, hook, why)))
        return caps, errors

    def decided(self, decision: Decision) -> list[str]:
        results = self.caller("telemetry_policy_decided")(decision=decision)
        return [str(r) for r in results if isinstance(r, PluginError)]

    def targets(self) -> list[Answer | PluginError]:
        """Every plugin's ``export_targets``, in call order."""
        return list(self.caller("telemetry_policy_export_targets")())

    def infos(self, state: PluginState) -> list[PluginInfo]:
        """Every plugin, built-in or installed, and what became of it (for audit)."""

        def hooks_of(name: str) -> tuple[str, ...]:
            plugin = self.pm.get_plugin(name)
            callers = self.pm.get_hookcallers(plugin) if plugin is not None else None
            return tuple(sorted(h.name for h in callers or ()))

        order = [name for name, *_ in BUILTINS]
        names = [n for n, _ in self.pm.list_name_plugin() if n in BUILTIN_NAMES]
        names.sort(key=lambda n: order.index(n) if n in order else len(order))
        builtin = [(name, hooks_of(name)) for name in names]
        return plugin_infos(builtin, state, hooks_of)


# --- Loading installed plugins (only when one is to be used).


def _spec_origin(module: str) -> tuple[str | None, str | None]:
    """(origin, cached) of the files the import system would load for ``module``,
    found without consulting sys.modules or anything the module says about itself."""
    from importlib.machinery import PathFinder

    parts = module.split(".")
    paths: list[str] | None = search_path()
    spec = None
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), paths)
        if spec is None:
            return None, None
        paths = list(spec.submodule_search_locations or [])
    return (spec.origin, spec.cached) if spec is not None else (None, None)


def code_trust(module: str) -> str:
    """Why the code of ``module`` may not be trusted, or '' if it may.

    Trust needs the file the import system loads (and its bytecode, and their
    directories) to be owned by root and writable by no one else, as a system
    package's are: a plugin a user installed in their own site directory can
    never be trusted, whatever its name or its ``__file__``.
    """
    origin, cached = _spec_origin(module)
    if not origin or not os.path.isabs(origin):
        return f"its module {module!r} has no file to check"
    checks = [origin, os.path.dirname(origin)]
    if cached and os.path.exists(cached):
        checks += [cached, os.path.dirname(cached)]
    for what in checks:
        try:
            st = os.stat(what)
        except OSError as e:
            return f"cannot check {what}: {e.strerror}"
        if st.st_uid != 0:
            return f"{what} is owned by uid {st.st_uid}, not root"
        if st.st_mode & 0o022:
            return f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def load(entry: EntryPoint) -> object:
    """Import the object an entry point names. Raises whatever the import raises."""
    import importlib

    module_name, _, attribute = entry.value.partition(":")
    obj: object = importlib.import_module(module_name.strip())
    for part in attribute.split("[")[0].strip().split("."):
        if part:
            obj = getattr(obj, part)
    return obj


class Loaded(Record):
    """What became of one entry point in this process."""

    entry: EntryPoint
    error: str = ""  # why it could not be loaded
    untrusted_code: str = ""  # why its code may not be trusted ('' if it may)


_loaded: dict[str, Loaded] = {}  # per process: a plugin is imported once


def trust_of(name: str) -> str:
    """Why the installed plugin ``name`` may not be trusted ('' if it may)."""
    loaded = _loaded.get(name)
    if loaded is None:
        return "it was not loaded from an installed entry point"
    return loaded.error or loaded.untrusted_code


def load_into(hooks: Hooks, entries: list[EntryPoint], blocked: Set[str]) -> dict[str, Loaded]:
    """Register the plugins of ``entries`` not ``blocked`` (never imported) with
    ``hooks``; what became of each of those (a blocked one has no say)."""
    for entry in entries:
        if entry.name in blocked or entry.name in _loaded:
            continue
        if hooks.pm.get_plugin(entry.name) is not None:  # a built-in's name
            _loaded[entry.name] = Loaded(
                entry,
                f"the name {entry.name!r} is taken by a built-in source; rename the entry point",
            )
            continue
        module = entry.value.partition(":")[0].strip()
        try:
            why = code_trust(module)  # judged before the module's own code runs
            plugin = load(entry)
            hooks.pm.register(plugin, name=entry.name)
            _loaded[entry.name] = Loaded(entry, "", why)
        except BaseException as e:  # an import that fails is the plugin's failure, not ours
            _loaded[entry.name] = Loaded(entry, f"cannot load {entry.value}: {describe(e)}")
    return {e.name: _loaded[e.name] for e in entries if e.name in _loaded and e.name not in blocked}
