"""The public entry points: ``resolve``, ``evaluate`` and ``set_mode``.

``resolve("mytool", app_default="local")`` returns a Decision whose
``may_collect`` and ``may_upload`` a telemetry client obeys. Each decision is
``precedence.finish`` of what step 2 left and the user's inputs. Those come
from one of two places, with the same result (property-tested:
tests/test_snapshot.py):

- the snapshot ``apply`` compiled (``snapshot``), when it is usable as it is
  and no plugin is installed: a client then imports none of pluggy, tomllib,
  inspect, typing, re, enum or datetime (docs/authors.md#what-asking-costs-at-start);
- :class:`Inputs`, one reading of the policy files and plugins: everything
  else (a plugin, ``go``'s own mode file, no usable snapshot, the CLI).
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import os

from .errors import PolicyError, RefusedError, UsageError, UserStoreError, one_line
from .model import MODES, Mode, is_app_name
from .paths import absent, state_path, store_path
from .precedence import Values, finish
from .sources import ENV_DISABLE, ENV_ROOT, dnt_cap, env_choice, store_choice

TYPE_CHECKING = False  # typing costs a client 3 ms at start: only mypy reads these
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from .context import Context
    from .model import Choice, Decision
    from .plugins import Hooks, Loaded
    from .policymodel import Layer
    from .snapshot import Snapshot
    from .sources import Builtins, PluginState
    from .userstore import Store

__all__ = ["ENV_DISABLE", "ENV_ROOT", "Inputs", "check_app", "evaluate", "resolve", "set_mode"]


def check_app(app: "str | None") -> "str | None":
    if app is not None and not is_app_name(app):
        raise UsageError(
            f"invalid app name {one_line(repr(app))}: use 1-64 of a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return app


def _mode(value: "Mode | str | None", what: str) -> "Mode | None":
    if value is None or isinstance(value, Mode):
        return value
    try:
        return Mode.parse(value)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


_ROOT_HINT = f"give an image's directory, or unset {ENV_ROOT}"


def _root(root: "str | os.PathLike[str] | None", environ: "Mapping[str, str]") -> "tuple[str, str]":
    """The root prefix and, if it cannot be used, why (which then fails closed)."""
    root = os.fspath(root) if root else environ.get(ENV_ROOT) or "/"
    if not root.startswith("/"):
        return root, f"root {root!r} is not an absolute path; {_ROOT_HINT}"
    if not os.path.isdir(root):
        return root, f"root {root} is not a directory; {_ROOT_HINT}"
    return os.path.normpath(root), ""


def resolve(
    app: str,
    *,
    app_default: "Mode | str | None" = None,
    root: "str | os.PathLike[str] | None" = None,
    environ: "Mapping[str, str] | None" = None,
    now: "datetime | None" = None,
) -> "Decision":
    """May ``app`` collect, and upload, for this user, now? And why.

    Call it before reading your own telemetry setting::

        d = resolve("mytool", app_default="local")
        if d.may_collect: ...
        if d.may_upload: ...

    ``app_default`` is your program's own default; it never exceeds the
    system ceiling. ``root``, ``environ`` and ``now`` default to ``/``
    (or ``$TELEMETRY_POLICY_ROOT``), ``os.environ`` and the current time.
    Problems never raise: they lower the mode and are listed in ``errors``.
    Only a wrong call (bad app name, naive ``now``) raises UsageError.
    """
    environ = os.environ if environ is None else environ
    if root is not None and not isinstance(root, str):
        root = os.fspath(root)  # a pathlib.Path
    try:
        found = _from_snapshot(app, app_default, root, environ, now)
    except Exception:  # anything unexpected: the full resolution says what it is
        found = None
    if found is not None:
        return found
    if app is None:
        raise UsageError("app is required; the global decision is `telemetry-policy audit`")
    return evaluate(app, app_default=app_default, root=root, environ=environ, now=now, record=True)


# --- The snapshot's inputs.


class _Unanswered(Exception):
    """Only the full resolution can say (and say why)."""


def _from_snapshot(
    app: str,
    app_default: "Mode | str | None",
    root: "str | None",
    environ: "Mapping[str, str]",
    now: "datetime | None",
) -> "Decision | None":
    """The decision from the snapshot's inputs, or None when they are not enough."""
    if not is_app_name(app) or app == "go":  # go: Go's own mode file is a source
        return None
    if isinstance(app_default, str) and not isinstance(app_default, Mode):
        app_default = MODES.get(app_default)
        if app_default is None:
            return None
    elif app_default is not None and not isinstance(app_default, Mode):
        return None
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        return None
    if environ.get(ENV_DISABLE, "").strip(", \t"):
        return None
    root = root or environ.get(ENV_ROOT) or "/"
    if not root.startswith("/") or not os.path.isdir(root):
        return None
    root = os.path.normpath(root)
    from .snapshot import load

    snapshot = load(root)
    if snapshot is None:
        return None
    from .entrypoints import find

    entries, twice = find(environ, True)
    if entries or twice:
        return None  # an installed plugin has its say
    # Step 4 without a plugin: the environment, the store's [app.NAME], then [all].
    choice = env_choice(environ)
    if choice is None:
        store = _store(environ)
        if store is not None:
            choice = store_choice(store, app)
            if choice is None:
                choice = store_choice(store, None)
    cap = dnt_cap(environ)
    caps = () if cap is None else (cap,)

    def decide(now: "datetime | None", first_on: "datetime | None") -> "Decision":
        values = Values.start(app_default)
        values.replay(snapshot.values(app))
        explained = {"_explain": _Explain(snapshot)}
        return finish(app, values, snapshot.problems, choice, caps, now, first_on, explained)

    decision = decide(now, None)
    if decision.mode is Mode.ON or _exists(environ):
        from .userstore import keep_state, load_first_on, state_of

        state = state_of(environ)
        first_on = None
        if decision.mode is Mode.ON:
            if now is None:
                from .clock import current_time

                now = current_time()
            first_on = load_first_on(state, app)
            decision = decide(now, first_on)
        if state is not None:
            keep_state(state, app, decision, first_on, now)  # type: ignore[arg-type]
    return decision


class _Explain:
    """The layers and platform behind a decision from the snapshot, as the full
    resolution has them (decoded when first asked for)."""

    __slots__ = ("snapshot",)

    def __init__(self, snapshot: "Snapshot") -> None:
        self.snapshot = snapshot

    def __call__(self) -> "dict[str, object]":
        from .precedence import LayerIndex

        index = LayerIndex.build(self.snapshot.layers(), self.snapshot.platform)
        return {"layers": index.layers, "platform": index.platform}

    def __reduce__(self) -> "tuple[object, ...]":
        return _Explain, (self.snapshot,)


def _store(environ: "Mapping[str, str]") -> "Store | UserStoreError | None":
    """The user store: None if there is none, the Store, or its error."""
    try:
        path = store_path(environ)
        if absent(path):
            return None
        from .ownfiles import read_own

        if read_own(path) is None:
            return None
    except PolicyError:
        raise _Unanswered from None  # its path cannot be found or read
    from .userstore import load_store

    try:
        return load_store(path)
    except UserStoreError as e:
        return e


def _exists(environ: "Mapping[str, str]") -> bool:
    """Is there a state file to keep in step (one the full resolution would read)?"""
    try:
        path = state_path(environ)
        if absent(path):
            return False
        from .ownfiles import read_own

        return read_own(path) is not None
    except PolicyError:
        return True  # let userstore say (it reads it as nothing)


# --- The full resolution's inputs.


def evaluate(
    app: "str | None",
    *,
    app_default: "Mode | str | None" = None,
    root: "str | os.PathLike[str] | None" = None,
    environ: "Mapping[str, str] | None" = None,
    now: "datetime | None" = None,
    record: bool = False,
    platform: bool = False,
    user: bool = True,
) -> "Decision":
    """Resolve without the ``resolve()`` conveniences; the CLI uses this with
    ``record=False`` (never writes) and ``platform=True`` (audit shows it).
    ``user=False`` leaves out every user choice and cap: the system's own
    answer, which ``apply`` writes into other programs."""
    check_app(app)
    default = _mode(app_default, "app_default")
    inputs = Inputs(root, environ, now, record=record, user=user)
    return inputs.decide(app, default, platform=platform)


class Inputs:
    """One reading of the policy: the root, its layers indexed once, the plugins
    loaded. Every decision of a command (audit, apply) is made from one."""

    def __init__(
        self,
        root: "str | os.PathLike[str] | None",
        environ: "Mapping[str, str] | None",
        now: "datetime | None",
        *,
        record: bool = False,
        user: bool = True,
    ) -> None:
        from .context import Context
        from .precedence import LayerIndex
        from .sources import Builtins

        self.environ = os.environ if environ is None else environ
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            raise UsageError("now must be a timezone-aware datetime")
        self.root, self.problem = _root(root, self.environ)
        self.record = record
        self.user = user
        self.context = Context(self.root, self.environ, now)  # the clock is read if needed
        layers: list[Layer] = []
        errors = [self.problem] if self.problem else []
        if not self.problem:
            layers, errors = Builtins().layers(self.context)
        self.hooks, self.plugins = _external_plugins(layers, self.context, self.record)
        errors += self.plugins.errors
        if not self.problem:
            more_layers, more = self.hooks.layers(self.context, external=True)
            layers += more_layers
            errors += more
        self.layers = layers
        self.errors = errors
        self.index: LayerIndex = LayerIndex.build(
            layers, self.context.platform, self.plugins.untrusted_code
        )

    def named(self) -> "list[str]":
        """Every app named in a policy file or plugin layer that applies."""
        return self.index.named()

    def decide(
        self, app: "str | None", default: "Mode | None" = None, *, platform: bool = False
    ) -> "Decision":
        """The decision for ``app``: step 2 from the index, the user's inputs."""
        from .precedence import decide
        from .userstore import keep_state, load_first_on, state_of

        hooks, context = self.hooks, self.context
        errors = list(self.errors)
        choice: Choice | None = None
        caps: list[Choice] = []
        state = None
        if self.user:
            choice, more = hooks.user_choice(app, context)
            caps, even_more = hooks.caps(app, context)
            errors += more + even_more
            state = state_of(self.environ)

        now = context._now  # None: the clock is read only if needed

        def run(errors: "list[str]", first_on: "datetime | None" = None) -> "Decision":
            return decide(
                app,
                index=self.index,
                choice=choice,
                caps=caps,
                now=now,
                app_default=default,
                first_on=first_on,
                errors=errors,
                plugins=hooks.infos(self.plugins) if platform else (),
            )

        # The time and the state file matter only to an "on": a client told
        # "off" or "local" reads neither (and never imports datetime).
        decision = run(errors)
        first_on = None
        if decision.mode is Mode.ON:
            now = context.now  # read once, for every decision of these inputs
            first_on = load_first_on(state, app)
            decision = run(errors, first_on)
        if platform and decision.platform is None and not self.problem:
            from .model import Platform

            try:  # audit shows it; without [when] it decides nothing
                decision = decision._replace(platform=context.platform())
            except PolicyError:
                decision = decision._replace(platform=Platform("", ""))
        failed = hooks.decided(decision)
        if failed:  # a failing observer fails closed too
            decision = run(errors + failed, first_on)
        if self.record and state is not None:
            keep_state(state, app, decision, first_on, context.now)
        return decision


def _external_plugins(
    file_layers: "list[Layer]", context: "Context", write: bool
) -> "tuple[Hooks | Builtins, PluginState]":
    """Load the installed plugins this resolution may use, and say what became of each.

    Plugins ``[plugins] disabled`` lists, or ``TELEMETRY_POLICY_DISABLE_PLUGINS``
    names, are never imported. What an environment-blocked plugin would have
    decided is unknown, and the environment may only lower: so it fails closed.
    With no plugin to load, the built-in sources are called without pluggy.
    """
    from .entrypoints import find
    from .precedence import judge_when, plugin_lists
    from .sources import BUILTIN_NAMES, Builtins, PluginState

    trusted, disabled = plugin_lists(judge_when(file_layers, context.platform)[0])
    names = {n.strip() for n in context.environ.get(ENV_DISABLE, "").split(",") if n.strip()}
    builtin = names & BUILTIN_NAMES  # disabling these from the environment could only raise
    blocked = names - disabled - BUILTIN_NAMES
    entries, twice = find(context.environ, write)
    hooks: Hooks | Builtins
    loaded: dict[str, Loaded] = {}
    if any(e.name not in disabled and e.name not in blocked for e in entries):
        from .plugins import Hooks as Plugged
        from .plugins import default_manager, load_into

        hooks = Plugged(default_manager(), frozenset(disabled | blocked))
        loaded = load_into(hooks, entries, disabled | blocked)
    else:  # no plugin to load: the built-in sources are called without pluggy
        hooks = Builtins()
    errors = [
        f"plugin {e.name!r}: blocked by {ENV_DISABLE}; what it would decide is "
        "unknown, so telemetry is off"
        for e in entries
        if e.name in blocked
    ]
    errors += [
        f"{ENV_DISABLE} names {one_line(n)!r}, a built-in source, which the environment "
        "cannot disable (that could only raise the mode); telemetry is off"
        for n in sorted(builtin)
    ]
    errors += twice  # a name installed twice: which one counts is unknown, so off
    errors += [f"plugin {n!r}: {x.error}" for n, x in loaded.items() if x.error]
    untrusted = {
        n: f"trusted by name, but its code is not a system file: {x.untrusted_code}"
        for n, x in loaded.items()
        if x.untrusted_code
    }
    return hooks, PluginState(entries, loaded, trusted, disabled, blocked, errors, untrusted)


def set_mode(
    app: "str | None",
    mode: "Mode | str | None",
    *,
    root: "str | None" = None,
    environ: "Mapping[str, str] | None" = None,
    now: "datetime | None" = None,
) -> "Decision":
    """Record the user's choice for ``app`` (None: every app); ``mode=None`` forgets it.

    A mode above the ceiling (for the app, or the global one) raises
    RefusedError naming where the ceiling was set. Returns the new decision.
    A choice for ``go`` is also written to Go's own mode file, which is what
    the Go toolchain reads (and, being Go's own, outranks ``[all]``).
    """
    from .userstore import store_path, write_choice

    environ = os.environ if environ is None else environ
    if now is None:
        from .clock import current_time

        now = current_time()
    wanted = _mode(mode, "mode")
    system = evaluate(app, root=root, environ=environ, now=now)
    if wanted is not None and wanted > system.ceiling:
        origin = system.origin_of("ceiling")
        why = f" ({system.errors[0]})" if system.errors else ""
        raise RefusedError(
            f"{wanted} is above the ceiling {system.ceiling} for "
            f"{app or 'all apps'}, set by {origin}{why}"
        )
    if app == "go" and wanted is not None:
        from .gofile import mode_file, write_mode

        path = mode_file(environ)
        if path is not None:
            write_mode(path, wanted, now)
    write_choice(store_path(environ), app, wanted, now)
    return evaluate(app, root=root, environ=environ, now=now)
