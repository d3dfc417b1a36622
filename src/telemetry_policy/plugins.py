"""The plugin manager, the built-in sources (as plugins) and a typed hook caller.

Each hook implementation is called on its own, so one plugin that raises or
returns garbage is named in the error, does not stop the others, and makes
the resolution fail closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

import pluggy

from . import hookspecs
from .decision import Decision, PluginInfo
from .entrypoints import EntryPoint, Loaded
from .errors import PluginError, PolicyFileError, UserStoreError, describe, safe_repr
from .hookspecs import PROJECT, Context, hookimpl
from .locations import discover
from .model import Choice, Layer, Origin, PolicyFile, Record
from .modes import Mode
from .policyfile import PLUGIN_NAME, check_document, parse_policy
from .userstore import Store, load_store, store_path

ENV_MODE = "TELEMETRY_POLICY_MODE"
ENV_DNT = "DO_NOT_TRACK"


def _constant(origin: Origin) -> Callable[[int | None], Origin]:
    return lambda _line: origin


# Parsed files by (path, exact bytes): a process that resolves often (an IDE,
# a language server) parses each file once. Keyed on the bytes just read, a
# hit can never be stale.
_parsed: dict[tuple[str, bytes], PolicyFile | PolicyFileError] = {}
_PARSED_MAX = 4096


def _parse(path: str, data: bytes) -> PolicyFile | PolicyFileError:
    key = (path, data)
    found = _parsed.get(key)
    if found is None:
        try:
            found = parse_policy(data, path)
        except PolicyFileError as e:
            found = e
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = found
    return found


def file_layers(root: str) -> list[Layer]:
    """Every candidate policy file under ``root`` as a layer with its status."""
    layers = []
    for c in discover(root):
        if c.data is None:
            layers.append(
                Layer(c.name, Origin("file", c.path), c.tier, c.status, c.reason, None, c.main)
            )
            continue
        policy = _parse(c.path, c.data)
        if isinstance(policy, PolicyFileError):
            origin = Origin("file", c.path, policy.line)
            layers.append(Layer(c.name, origin, c.tier, "invalid", policy.message, None, c.main))
        else:
            layers.append(
                Layer(c.name, Origin("file", c.path), c.tier, "applied", "", policy, c.main)
            )
    return layers


@hookimpl(specname="telemetry_policy_layers")
def policy_files(context: Context) -> list[Layer]:
    """Policy files in the UAPI.6 directories under the root."""
    return file_layers(context.root)


def _store(context: Context) -> Store | UserStoreError:
    if "user-store" not in context.cache:
        try:
            context.cache["user-store"] = load_store(store_path(context.environ))
        except UserStoreError as e:
            context.cache["user-store"] = e
    found: Store | UserStoreError = context.cache["user-store"]
    return found


def _store_choice(app: str | None, context: Context) -> Choice | None:
    store = _store(context)
    if isinstance(store, UserStoreError):  # a corrupt store counts as "off"
        return Choice(Mode.OFF, Origin("user", store.path), None, f"{store}; read as off")
    return store.choice(app)


@hookimpl(specname="telemetry_policy_user_choice", tryfirst=True)
def env_mode(context: Context) -> Choice | None:
    """``TELEMETRY_POLICY_MODE``: the first user choice consulted."""
    value = context.environ.get(ENV_MODE, "")
    if not value:
        return None
    origin = Origin("env", ENV_MODE)
    try:
        return Choice(Mode.parse(value), origin)  # exactly: "ON " is not a mode
    except ValueError:
        why = f"{ENV_MODE}={value[:40]!r} is not off, local or on; read as off"
        return Choice(Mode.OFF, origin, None, why)


@hookimpl(specname="telemetry_policy_user_choice", tryfirst=True)
def user_store_app(app: str | None, context: Context) -> Choice | None:
    """The user store's ``[app.NAME]``: after the environment, before app-native stores."""
    return None if app is None else _store_choice(app, context)


@hookimpl(specname="telemetry_policy_user_choice", trylast=True)
def user_store_all(context: Context) -> Choice | None:
    """The user store's ``[all]``: the last user choice consulted."""
    return _store_choice(None, context)


@hookimpl(specname="telemetry_policy_user_choice")
def go_mode_file(app: str | None, context: Context) -> Choice | None:
    """Go's own mode file (``go telemetry on|local|off``): the user's choice for ``go``."""
    if app != "go":
        return None
    from .switches.gomode import mode_file, read_choice

    path = mode_file(context.environ)
    return None if path is None else read_choice(path)


@hookimpl(specname="telemetry_policy_caps")
def do_not_track(context: Context) -> Choice | None:
    """The ``DO_NOT_TRACK`` convention: set to anything but empty, ``0`` or
    ``false``, nothing leaves the machine, so the mode is at most ``local``.

    Exactly those three: a value read loosely (`` FALSE``) could only raise the mode.
    Capping at ``local``, not ``off``, lets a local-only system export
    ``DO_NOT_TRACK=1`` for the programs that know only that switch without
    turning this library's own clients from ``local`` to ``off``.
    """
    value = context.environ.get(ENV_DNT)
    if value is None or value in ("", "0", "false"):
        return None
    return Choice(Mode.LOCAL, Origin("env", ENV_DNT))


class Builtin:
    """A built-in plugin: one hook function, registered like any plugin."""

    def __init__(self, hook: Callable[..., object]) -> None:
        self.hook = hook

    def __dir__(self) -> list[str]:
        # pluggy inspects every name dir() lists (about 30 for a plain object,
        # each with inspect.getattr_static): list only the hook.
        return ["hook"]


#: Built-in plugins, registered in this order (later tryfirst ones run first,
#: so the environment is consulted before the user store).
BUILTINS: tuple[tuple[str, Callable[..., object]], ...] = (
    ("files", policy_files),
    ("user-store", user_store_app),
    ("env", env_mode),
    ("user-store-all", user_store_all),
    ("go-mode-file", go_mode_file),
    ("do-not-track", do_not_track),
)


def make_manager() -> pluggy.PluginManager:
    """A plugin manager with the hookspecs and the built-in sources registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, hook in BUILTINS:
        pm.register(Builtin(hook), name=name)
    return pm


_default: pluggy.PluginManager | None = None


def default_manager() -> pluggy.PluginManager:
    """The manager ``resolve()`` uses, built once per process."""
    global _default
    if _default is None:
        _default = make_manager()
    return _default


class Hooks:
    """Typed, fault-isolating calls of the hooks of one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager, skip: Set[str] = frozenset()) -> None:
        self.pm = pm
        self.builtin = {name for name, _ in BUILTINS} | {"export-targets"}
        self.skip = skip  # plugins blocked for this resolution: never called

    def _call(
        self, hook: str, only: Callable[[str], bool] | None = None, **kwargs: Any
    ) -> Iterable[tuple[str, Any]]:
        """Yield (plugin name, result or PluginError) per implementation, in call order."""
        caller = getattr(self.pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls from the end
            if impl.plugin_name in self.skip or (only and not only(impl.plugin_name)):
                continue
            try:
                result = impl.function(*[kwargs[a] for a in impl.argnames])
            except BaseException as e:  # a plugin's failure must never escape, whatever it is
                result = PluginError(impl.plugin_name, hook, f"raised {describe(e)}")
            yield impl.plugin_name, result

    def layers(
        self, context: Context, external: bool | None = None
    ) -> tuple[list[Layer], list[str]]:
        """Layers from every plugin, or only the built-in (external=False) or other ones."""
        only = None if external is None else (lambda name: (name in self.builtin) != external)
        layers: list[Layer] = []
        errors: list[str] = []
        for plugin, result in self._call("telemetry_policy_layers", only, context=context):
            try:
                layers.extend(self._layers(plugin, result))
            except PluginError as e:
                errors.append(str(e))
            except BaseException as e:  # a hostile object: its methods are the plugin's code
                errors.append(str(PluginError(plugin, "telemetry_policy_layers", describe(e))))
        return layers, errors

    def _layers(self, plugin: str, result: object) -> list[Layer]:
        if isinstance(result, PluginError):
            raise result
        if result is None:
            return []
        if not isinstance(result, (list, tuple)):
            raise PluginError(
                plugin,
                "telemetry_policy_layers",
                f"returned {type(result).__name__}, not a list of layers",
            )
        out = []
        for item in result:
            if plugin in self.builtin and isinstance(item, Layer):
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
        hook = "telemetry_policy_user_choice"
        for plugin, result in self._call(hook, app=app, context=context):
            if result is None:
                continue
            if isinstance(result, PluginError):
                return None, [str(result)]
            try:
                return self._choice(plugin, result), []
            except BaseException as e:
                why = describe(e) if not isinstance(e, PluginError) else e.reason
                return None, [str(PluginError(plugin, hook, why))]
        return None, []

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
        if plugin in self.builtin:
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
        for plugin, result in self._call(hook, app=app, context=context):
            if result is None:
                continue
            if isinstance(result, PluginError):
                errors.append(str(result))
                continue
            try:
                caps.append(self._choice(plugin, result))
            except BaseException as e:
                why = describe(e) if not isinstance(e, PluginError) else e.reason
                errors.append(str(PluginError(plugin, hook, why)))
        return caps, errors

    def decided(self, decision: Decision) -> list[str]:
        return [
            str(r)
            for _, r in self._call("telemetry_policy_decided", decision=decision)
            if isinstance(r, PluginError)
        ]

    def infos(self, state: PluginState) -> list[PluginInfo]:
        """Every plugin, built-in or installed, and what became of it (for audit)."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if name in self.builtin:
                hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
                out.append(PluginInfo(name, "built-in", hooks, "loaded", trusted=True))
        for entry in state.entries:
            loaded = state.loaded.get(entry.name)
            plugin = self.pm.get_plugin(entry.name)
            callers = self.pm.get_hookcallers(plugin) if plugin is not None else None
            hooks = tuple(sorted(h.name for h in callers or ()))
            if entry.name in state.disabled:
                status, note = "disabled", "listed in [plugins] disabled"
            elif entry.name in state.blocked:
                status, note = "blocked", "named in TELEMETRY_POLICY_DISABLE_PLUGINS"
            elif loaded is None or loaded.error:
                status, note = "error", loaded.error if loaded else "not loaded"
            else:
                status, note = "loaded", loaded.untrusted_code
            trusted = status == "loaded" and entry.name in state.trusted and not note
            out.append(
                PluginInfo(
                    entry.name,
                    "external",
                    hooks,
                    status,
                    entry.distribution,
                    entry.version,
                    trusted,
                    note,
                )
            )
        return out


class PluginState(Record):
    """The installed plugins as one resolution sees them."""

    entries: list[EntryPoint]
    loaded: dict[str, Loaded]
    trusted: set[str]  # by [plugins] trusted
    disabled: set[str]  # by [plugins] disabled: never imported
    blocked: set[str]  # by TELEMETRY_POLICY_DISABLE_PLUGINS: never imported, fails closed
    errors: list[str]
    untrusted_code: dict[str, str]  # trusted by name, but the code is not a system file
