"""The built-in sources: policy files, the environment, the user store, Go's
mode file and ``DO_NOT_TRACK``, and a caller for them that needs no pluggy.

Each source is a hook implementation (``plugins`` registers them with pluggy
when an external plugin is installed). When none is, ``DirectHooks`` calls
them directly, in the order pluggy would, with the same fault isolation: a
telemetry client then never imports pluggy (DESIGN.md section 9).
"""

from __future__ import annotations

from .errors import PluginError, PolicyFileError, UserStoreError, describe
from .model import Choice, Origin, Record
from .policymodel import Layer, PolicyFile
from .snapshot import ENV_DNT, ENV_MODE, dnt_cap, env_choice, store_choice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from .decision import Decision, PluginInfo
    from .entrypoints import EntryPoint
    from .plugins import Loaded
    from .policymodel import Context
    from .userstore import Store

__all__ = ["BUILTINS", "ENV_DNT", "ENV_MODE", "DirectHooks", "PluginState", "file_layers"]

# Parsed files by (path, exact bytes): a process that resolves often (an IDE,
# a language server) parses each file once. Keyed on the bytes just read, a
# hit can never be stale.
_parsed: dict[tuple[str, bytes], PolicyFile | PolicyFileError] = {}
_PARSED_MAX = 4096


def _parse(path: str, data: bytes) -> PolicyFile | PolicyFileError:
    key = (path, data)
    found = _parsed.get(key)
    if found is None:
        from .policyfile import parse_policy

        try:
            found = parse_policy(data, path)
        except PolicyFileError as e:
            found = e
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = found
    return found


def file_layers(root: str, snapshot: bool = True) -> list[Layer]:
    """Every candidate policy file under ``root`` as a layer with its status:
    from the snapshot ``apply`` compiled, if it is usable as it is."""
    if snapshot:
        from .snapshot_build import layers

        found = layers(root)
        if found is not None:
            return found
    from .locations import discover

    out = []
    for c in discover(root):
        if c.data is None:
            out.append(
                Layer(c.name, Origin("file", c.path), c.tier, c.status, c.reason, None, c.main)
            )
            continue
        policy = _parse(c.path, c.data)
        if isinstance(policy, PolicyFileError):
            origin = Origin("file", c.path, policy.line)
            out.append(Layer(c.name, origin, c.tier, "invalid", policy.message, None, c.main))
        else:
            out.append(Layer(c.name, Origin("file", c.path), c.tier, "applied", "", policy, c.main))
    return out


def policy_files(context: Context) -> list[Layer]:
    """Policy files in the UAPI.6 directories under the root."""
    return file_layers(context.root)


def _store(context: Context) -> Store | UserStoreError:
    if "user-store" not in context.cache:
        from .userstore import load_store, store_path

        try:
            context.cache["user-store"] = load_store(store_path(context.environ))
        except UserStoreError as e:
            context.cache["user-store"] = e
    found: Store | UserStoreError = context.cache["user-store"]
    return found


def _store_choice(app: str | None, context: Context) -> Choice | None:
    return store_choice(_store(context), app)


def env_mode(context: Context) -> Choice | None:
    """``TELEMETRY_POLICY_MODE``: the first user choice consulted."""
    return env_choice(context.environ)


def user_store_app(app: str | None, context: Context) -> Choice | None:
    """The user store's ``[app.NAME]``: after the environment, before app-native stores."""
    return None if app is None else _store_choice(app, context)


def user_store_all(context: Context) -> Choice | None:
    """The user store's ``[all]``: the last user choice consulted."""
    return _store_choice(None, context)


def go_mode_file(app: str | None, context: Context) -> Choice | None:
    """Go's own mode file (``go telemetry on|local|off``): the user's choice for ``go``."""
    if app != "go":
        return None
    from .switches.gomode import mode_file, read_choice

    path = mode_file(context.environ)
    return None if path is None else read_choice(path)


def do_not_track(context: Context) -> Choice | None:
    """The ``DO_NOT_TRACK`` convention: set to anything but empty, ``0`` or
    ``false``, nothing leaves the machine, so the mode is at most ``local``.

    Exactly those three: a value read loosely (`` FALSE``) could only raise the mode.
    Capping at ``local``, not ``off``, lets a local-only system export
    ``DO_NOT_TRACK=1`` for the programs that know only that switch without
    turning this library's own clients from ``local`` to ``off``.
    """
    return dnt_cap(context.environ)


LAYERS = "telemetry_policy_layers"
USER_CHOICE = "telemetry_policy_user_choice"
CAPS = "telemetry_policy_caps"

#: The built-in plugins: (name, hook function, hook, pluggy ordering), in the
#: order they are registered (later tryfirst ones run first, so the
#: environment is consulted before the user store).
BUILTINS: tuple[tuple[str, Callable[..., Any], str, dict[str, bool]], ...] = (
    ("files", policy_files, LAYERS, {}),
    ("user-store", user_store_app, USER_CHOICE, {"tryfirst": True}),
    ("env", env_mode, USER_CHOICE, {"tryfirst": True}),
    ("user-store-all", user_store_all, USER_CHOICE, {"trylast": True}),
    ("go-mode-file", go_mode_file, USER_CHOICE, {}),
    ("do-not-track", do_not_track, CAPS, {}),
)
#: The order pluggy calls them in, per hook (tests check it against pluggy).
CALL_ORDER: dict[str, tuple[str, ...]] = {
    LAYERS: ("files",),
    USER_CHOICE: ("env", "user-store", "go-mode-file", "user-store-all"),
    CAPS: ("do-not-track",),
}
BUILTIN_NAMES = frozenset({name for name, *_ in BUILTINS} | {"export-targets"})
_FUNCTIONS = {name: function for name, function, *_ in BUILTINS}


class PluginState(Record):
    """The installed plugins as one resolution sees them."""

    entries: list[EntryPoint]
    loaded: dict[str, Loaded]
    trusted: set[str]  # by [plugins] trusted
    disabled: set[str]  # by [plugins] disabled: never imported
    blocked: set[str]  # by TELEMETRY_POLICY_DISABLE_PLUGINS: never imported, fails closed
    errors: list[str]
    untrusted_code: dict[str, str]  # trusted by name, but the code is not a system file


def plugin_infos(
    builtin: Sequence[tuple[str, tuple[str, ...]]],
    state: PluginState,
    hooks_of: Callable[[str], tuple[str, ...]],
) -> list[PluginInfo]:
    """Every plugin, built-in (name, its hooks) or installed, and what became of
    it (for audit). ``hooks_of`` names the hooks an installed plugin implements."""
    from .decision import PluginInfo

    out = [PluginInfo(name, "built-in", hooks, "loaded", trusted=True) for name, hooks in builtin]
    for entry in state.entries:
        loaded = state.loaded.get(entry.name)
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
                hooks_of(entry.name),
                status,
                entry.distribution,
                entry.version,
                trusted,
                note,
            )
        )
    return out


class DirectHooks:
    """The built-in sources, called as ``plugins.Hooks`` calls them through
    pluggy (same order, same fault isolation), when no installed plugin is
    loaded: the common case, and a client's start then never imports pluggy."""

    builtin = BUILTIN_NAMES

    def __init__(self) -> None:
        self.skip: frozenset[str] = frozenset()

    def _call(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        for name in CALL_ORDER[hook]:
            function = _FUNCTIONS[name]
            try:
                if hook == LAYERS or function in (env_mode, user_store_all, do_not_track):
                    result = function(kwargs["context"])
                else:
                    result = function(kwargs["app"], kwargs["context"])
            except BaseException as e:  # as through pluggy: never escapes
                result = PluginError(name, hook, f"raised {describe(e)}")
            yield name, result

    def layers(
        self, context: Context, external: bool | None = None
    ) -> tuple[list[Layer], list[str]]:
        if external:
            return [], []
        layers: list[Layer] = []
        errors: list[str] = []
        for _, result in self._call(LAYERS, context=context):
            if isinstance(result, PluginError):
                errors.append(str(result))
            else:
                layers.extend(result)
        return layers, errors

    def user_choice(self, app: str | None, context: Context) -> tuple[Choice | None, list[str]]:
        for _, result in self._call(USER_CHOICE, app=app, context=context):
            if isinstance(result, PluginError):
                return None, [str(result)]
            if result is not None:
                return result, []
        return None, []

    def caps(self, app: str | None, context: Context) -> tuple[list[Choice], list[str]]:
        caps, errors = [], []
        for _, result in self._call(CAPS, app=app, context=context):
            if isinstance(result, PluginError):
                errors.append(str(result))
            elif result is not None:
                caps.append(result)
        return caps, errors

    def decided(self, decision: Decision) -> list[str]:
        return []  # no built-in source observes decisions

    def infos(self, state: PluginState) -> list[PluginInfo]:
        builtin = [(name, (hook,)) for name, _, hook, _ in BUILTINS]
        return plugin_infos(builtin, state, lambda name: ())
