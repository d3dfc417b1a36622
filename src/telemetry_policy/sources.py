"""The built-in sources: policy files, the environment, the user store, Go's
mode file and ``DO_NOT_TRACK``; and calling them when no plugin is installed.

Each source is a hook implementation, registered with pluggy like any plugin
when an external plugin is installed (``plugins``). When none is,
:class:`Builtins` calls them directly, in the order of
``precedence.USER_CHOICES``, with the same fault isolation: a telemetry client
then never imports pluggy (docs/authors.md#what-asking-costs-at-start).
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

from .errors import PluginError, UserStoreError, describe
from .model import Record
from .paths import ENV_ROOT
from .precedence import ENV_DISABLE, ENV_DNT, ENV_MODE, USER_CHOICES, dnt_cap, env_choice
from .userstore import store_choice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .context import Context
    from .entrypoints import EntryPoint
    from .model import Choice, Decision
    from .plugins import Loaded
    from .policymodel import Layer, PluginInfo
    from .userstore import Store

__all__ = [
    "BUILTINS", "BUILTIN_NAMES", "ENV_DISABLE", "ENV_DNT", "ENV_MODE", "ENV_ROOT", "Builtins",
    "PluginState", "dnt_cap", "env_choice", "file_layers", "store_choice",
]  # fmt: skip


def file_layers(root: str) -> "list[Layer]":
    """Every candidate policy file under ``root`` as a layer: from the snapshot
    ``apply`` compiled when it may be used as it is, else from the files."""
    from .snapshot import load

    found = load(root)
    if found is not None:
        from .snapshot_build import layers_of

        try:
            return layers_of(found)
        except Exception:  # an entry that is not a layer: read the files instead
            pass
    from .locations import file_layers as discovered

    return discovered(root)


# --- The built-in sources, as hook implementations.


def policy_files(context: "Context") -> "list[Layer]":
    """Policy files in the UAPI.6 directories under the root."""
    return file_layers(context.root)


def _store(context: "Context") -> "Store | UserStoreError":
    if "user-store" not in context.cache:
        from .userstore import load_store, store_path

        try:
            context.cache["user-store"] = load_store(store_path(context.environ))
        except UserStoreError as e:
            context.cache["user-store"] = e
    found: Store | UserStoreError = context.cache["user-store"]
    return found


def env_mode(app: "str | None", context: "Context") -> "Choice | None":
    """``TELEMETRY_POLICY_MODE``: the first user choice consulted."""
    return env_choice(context.environ)


def user_store_app(app: "str | None", context: "Context") -> "Choice | None":
    """The user store's ``[app.NAME]``: after the environment, before app-native stores."""
    return None if app is None else store_choice(_store(context), app)


def user_store_all(app: "str | None", context: "Context") -> "Choice | None":
    """The user store's ``[all]``: the last user choice consulted."""
    return store_choice(_store(context), None)


def go_mode_file(app: "str | None", context: "Context") -> "Choice | None":
    """Go's own mode file (``go telemetry on|local|off``): the user's choice for ``go``."""
    if app != "go":
        return None
    from .gofile import hook_file, mode_file, read_choice, read_hook

    path = mode_file(context.environ)
    if path is None:
        return None
    return read_choice(path, read_hook(hook_file(context.environ)))


def do_not_track(app: "str | None", context: "Context") -> "Choice | None":
    """The ``DO_NOT_TRACK`` convention (see ``dnt_cap``)."""
    return dnt_cap(context.environ)


LAYERS = "telemetry_policy_layers"
USER_CHOICE = "telemetry_policy_user_choice"
CAPS = "telemetry_policy_caps"

#: The built-in plugins: (name, hook function, hook). The user-choice sources
#: are called in the order of ``precedence.USER_CHOICES`` (``plugins`` gives
#: pluggy that order): ``go-mode-file`` is an app-native store.
BUILTINS: "tuple[tuple[str, Callable[..., Any], str], ...]" = (
    ("files", policy_files, LAYERS),
    ("env", env_mode, USER_CHOICE),
    ("user-store", user_store_app, USER_CHOICE),
    ("go-mode-file", go_mode_file, USER_CHOICE),
    ("user-store-all", user_store_all, USER_CHOICE),
    ("do-not-track", do_not_track, CAPS),
)
BUILTIN_NAMES = frozenset({name for name, *_ in BUILTINS} | {"export-targets"})
#: Where each built-in user-choice source stands in ``precedence.USER_CHOICES``.
CHOICE_SLOT = {"env": "env", "user-store": "user-store", "go-mode-file": "app-native",
               "user-store-all": "user-store-all"}  # fmt: skip


def call_order(hook: str) -> "tuple[str, ...]":
    """The built-in sources of ``hook`` in the order they are consulted."""
    names = [name for name, _, h in BUILTINS if h == hook]
    if hook == USER_CHOICE:
        names.sort(key=lambda n: USER_CHOICES.index(CHOICE_SLOT[n]))
    return tuple(names)


class PluginState(Record):
    """The installed plugins as one resolution sees them."""

    entries: "list[EntryPoint]"
    loaded: "dict[str, Loaded]"
    trusted: "set[str]"  # by [plugins] trusted
    disabled: "set[str]"  # by [plugins] disabled: never imported
    blocked: "set[str]"  # by TELEMETRY_POLICY_DISABLE_PLUGINS: never imported, fails closed
    errors: "list[str]"
    untrusted_code: "dict[str, str]"  # trusted by name, but the code is not a system file


def plugin_infos(
    builtin: "Sequence[tuple[str, tuple[str, ...]]]",
    state: "PluginState",
    hooks_of: "Callable[[str], tuple[str, ...]]",
) -> "list[PluginInfo]":
    """Every plugin, built-in (name, its hooks) or installed, and what became of
    it (for audit). ``hooks_of`` names the hooks an installed plugin implements."""
    from .policymodel import PluginInfo

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


class Builtins:
    """The built-in sources, called as ``plugins.Hooks`` has pluggy call them
    (same order, same fault isolation), when no installed plugin is loaded: the
    common case, and a client's start then never imports pluggy."""

    def __init__(self) -> None:
        self.skip: frozenset[str] = frozenset()

    def _call(self, hook: str, *args: "Any") -> "list[tuple[str, Any]]":
        out = []
        for name in call_order(hook):
            function = _FUNCTIONS[name]
            try:
                result = function(*args)
            except BaseException as e:  # as through pluggy: never escapes
                result = PluginError(name, hook, f"raised {describe(e)}")
            out.append((name, result))
        return out

    def layers(
        self, context: "Context", external: "bool | None" = None
    ) -> "tuple[list[Layer], list[str]]":
        if external:
            return [], []  # no installed plugin
        layers: list[Layer] = []
        errors: list[str] = []
        for _, result in self._call(LAYERS, context):
            if isinstance(result, PluginError):
                errors.append(str(result))
            else:
                layers.extend(result)
        return layers, errors

    def user_choice(
        self, app: "str | None", context: "Context"
    ) -> "tuple[Choice | None, list[str]]":
        for name in call_order(USER_CHOICE):  # step 4: the first that has one
            found = self._call_one(name, app, context)
            if isinstance(found, PluginError):
                return None, [str(found)]
            if found is not None:
                return found, []
        return None, []

    def _call_one(self, name: str, *args: "Any") -> "Any":
        try:
            return _FUNCTIONS[name](*args)
        except BaseException as e:  # as through pluggy: never escapes
            return PluginError(name, USER_CHOICE, f"raised {describe(e)}")

    def caps(self, app: "str | None", context: "Context") -> "tuple[list[Choice], list[str]]":
        caps, errors = [], []
        for _, result in self._call(CAPS, app, context):
            if isinstance(result, PluginError):
                errors.append(str(result))
            elif result is not None:
                caps.append(result)
        return caps, errors

    def decided(self, decision: "Decision") -> "list[str]":
        return []  # no built-in source observes decisions

    def infos(self, state: "PluginState") -> "list[PluginInfo]":
        builtin = [(name, (hook,)) for name, _, hook in BUILTINS]
        return plugin_infos(builtin, state, lambda name: ())


_FUNCTIONS = {name: function for name, function, _ in BUILTINS}
