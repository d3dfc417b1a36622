"""The full resolution's inputs: one reading of the policy files and plugins
(:class:`Inputs`), ``evaluate`` on it, and ``set_mode``. ``telemetry_policy.resolve``
comes here when the snapshot cannot answer; the commands decide every app from one ``Inputs``.
"""

from __future__ import annotations

import os

from .errors import PolicyError, UsageError, one_line
from .model import Mode, is_app_name
from .paths import ENV_ROOT
from .precedence import ENV_DISABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from .context import Context
    from .layerindex import LayerIndex
    from .model import Choice, Decision
    from .plugins import Hooks, Loaded
    from .policymodel import Layer
    from .sources import Builtins, PluginState

__all__ = ["Inputs", "check_app", "evaluate", "set_mode"]


def check_app(app: str | None) -> str | None:
    if app is not None and not is_app_name(app):
        raise UsageError(
            f"invalid app name {one_line(repr(app))}: use 1-64 of a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return app


def _mode(value: Mode | str | None, what: str) -> Mode | None:
    if value is None or isinstance(value, Mode):
        return value
    try:
        return Mode.parse(value)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


_ROOT_HINT = f"give an image's directory, or unset {ENV_ROOT}"


def _root(root: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The root prefix and, if it cannot be used, why (which then fails closed)."""
    root = os.fspath(root) if root else environ.get(ENV_ROOT) or "/"
    if not root.startswith("/"):
        return root, f"root {root!r} is not an absolute path; {_ROOT_HINT}"
    if not os.path.isdir(root):
        return root, f"root {root} is not a directory; {_ROOT_HINT}"
    return os.path.normpath(root), ""


def evaluate(
    app: str | None,
    *,
    app_default: Mode | str | None = None,
    root: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    record: bool = False,
    platform: bool = False,
    user: bool = True,
) -> Decision:
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
        root: str | os.PathLike[str] | None,
        environ: Mapping[str, str] | None,
        now: datetime | None,
        *,
        record: bool = False,
        user: bool = True,
    ) -> None:
        from .context import Context
        from .layerindex import LayerIndex
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

    def named(self) -> list[str]:
        """Every app named in a policy file or plugin layer that applies."""
        return self.index.named()

    def decide(
        self, app: str | None, default: Mode | None = None, *, platform: bool = False
    ) -> Decision:
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

        def run(errors: list[str], first_on: datetime | None = None) -> Decision:
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
    file_layers: list[Layer], context: Context, write: bool
) -> tuple[Hooks | Builtins, PluginState]:
    """Load the installed plugins this resolution may use, and say what became of each.

    Plugins ``[plugins] disabled`` lists, or ``TELEMETRY_POLICY_DISABLE_PLUGINS``
    names, are never imported. What an environment-blocked plugin would have
    decided is unknown, and the environment may only lower: so it fails closed.
    With no plugin to load, the built-in sources are called without pluggy.
    """
    from .entrypoints import find
    from .layerindex import judge_when, plugin_lists
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
    app: str | None,
    mode: Mode | str | None,
    *,
    root: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    app_default: Mode | str | None = None,
) -> Decision:
    """Record the user's choice for ``app`` (None: every app); ``mode=None`` forgets it.

    A mode above the ceiling (for the app, or the global one) raises
    RefusedError naming where the ceiling was set. Returns the new decision
    (with ``app_default``, your program's own default, as ``resolve`` takes
    it): when its mode is below what was asked (``DO_NOT_TRACK``, a plugin's
    cap), ``decision.trace[-1].note`` says why.
    A choice for ``go`` is also written to Go's own mode file, which is what
    the Go toolchain reads (and, being Go's own, outranks ``[all]``).
    """
    from .errors import RefusedError
    from .paths import store_path
    from .userstore import write_choice

    environ = os.environ if environ is None else environ
    if now is None:
        from .clock import current_time

        now = current_time(environ, root or environ.get(ENV_ROOT))
    wanted = _mode(mode, "mode")
    system = evaluate(app, root=root, environ=environ, now=now, app_default=app_default)
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
    return evaluate(app, root=root, environ=environ, now=now, app_default=app_default)
