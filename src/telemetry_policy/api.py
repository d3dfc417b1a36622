"""The public entry points: read the edges, call the hooks, decide.

``resolve("mytool", app_default="local")`` returns a Decision whose
``may_collect`` and ``may_upload`` a telemetry client obeys.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from datetime import datetime, timezone

from .decision import AppIndex, Decision, decide
from .errors import PolicyError, RefusedError, UsageError, one_line
from .hookspecs import Context
from .model import Choice, Layer, Platform
from .modes import Mode
from .plugins import Hooks, PluginState, default_manager
from .policyfile import APP_NAME
from .userstore import load_first_on, record_first_on, state_path, store_path, write_choice

ENV_ROOT = "TELEMETRY_POLICY_ROOT"
ENV_DISABLE = "TELEMETRY_POLICY_DISABLE_PLUGINS"


def check_app(app: str | None) -> str | None:
    if app is not None and (not isinstance(app, str) or not APP_NAME.fullmatch(app)):
        raise UsageError(
            f"invalid app name {app!r}: use 1-64 of a-z 0-9 . _ -, starting with a letter or digit"
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


def _root(root: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The root prefix and, if it cannot be used, why (which then fails closed)."""
    root = root or environ.get(ENV_ROOT) or "/"
    if not root.startswith("/"):
        return root, f"root {root!r} is not an absolute path; {_ROOT_HINT}"
    if not os.path.isdir(root):
        return root, f"root {root} is not a directory; {_ROOT_HINT}"
    return os.path.normpath(root), ""


def evaluate(
    app: str | None,
    *,
    app_default: Mode | str | None = None,
    root: str | None = None,
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
    """What every decision of one resolution shares: the root, its policy layers,
    the plugins loaded. ``audit`` decides many apps from one reading."""

    def __init__(
        self,
        root: str | None,
        environ: Mapping[str, str] | None,
        now: datetime | None,
        *,
        record: bool = False,
        user: bool = True,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        if now is None:
            now = datetime.now(timezone.utc)
        elif now.tzinfo is None or now.utcoffset() is None:
            raise UsageError("now must be a timezone-aware datetime")
        self.now = now
        self.root, self.problem = _root(root, self.environ)
        self.record = record and self.root == "/"
        self.user = user
        self.context = Context(self.root, self.environ, now)
        self.hooks = hooks = Hooks(default_manager())
        if self.problem:
            self.layers: list[Layer] = []
            self.errors = [self.problem]
        else:
            self.layers, self.errors = hooks.layers(self.context, external=False)
        self.plugins = _external_plugins(hooks, self.layers, self.context, write=self.record)
        self.errors += self.plugins.errors
        if not self.problem:
            more_layers, more = hooks.layers(self.context, external=True)
            self.layers += more_layers
            self.errors += more

    def decide(
        self,
        app: str | None,
        default: Mode | None = None,
        *,
        platform: bool = False,
        index: AppIndex | None = None,
    ) -> Decision:
        """The decision for ``app`` (``index``: layers already applied for every app)."""
        hooks, context, now = self.hooks, self.context, self.now
        errors = list(self.errors)
        choice: Choice | None = None
        caps: list[Choice] = []
        first_on = None
        state = None
        if self.user:
            choice, more = hooks.user_choice(app, context)
            caps, even_more = hooks.caps(app, context)
            errors += more + even_more
            with contextlib.suppress(PolicyError):  # no home: upload waits, the safe side
                state = state_path(self.environ)
            first_on = None if state is None else load_first_on(state, app)

        def run(errors: list[str]) -> Decision:
            return decide(
                app,
                layers=self.layers,
                choice=choice,
                caps=caps,
                now=now,
                app_default=default,
                first_on=first_on,
                errors=errors,
                platform=context.platform,
                plugins=hooks.infos(self.plugins) if platform else (),
                untrusted_code=self.plugins.untrusted_code,
                index=index,
            )

        decision = run(errors)
        if platform and decision.platform is None and not self.problem:
            from .platform import PlatformError

            try:  # audit shows it; without [when] it decides nothing
                decision = decision._replace(platform=context.platform())
            except PlatformError:
                decision = decision._replace(platform=Platform("", ""))
        failed = hooks.decided(decision)
        if failed:  # a failing observer fails closed too
            decision = run(errors + failed)
        if self.record and state is not None:
            became_on = decision.mode is Mode.ON and decision.on_since == now and first_on is None
            if became_on or (decision.mode is not Mode.ON and first_on is not None):
                # unrecorded means "not yet": upload stays off, never the reverse
                with contextlib.suppress(PolicyError):
                    record_first_on(state, app, now if became_on else None)
        return decision


def _external_plugins(
    hooks: Hooks, file_layers: list[Layer], context: Context, write: bool
) -> PluginState:
    """Load the installed plugins this resolution may use, and say what became of each.

    Plugins ``[plugins] disabled`` lists, or ``TELEMETRY_POLICY_DISABLE_PLUGINS``
    names, are never imported. What an environment-blocked plugin would have
    decided is unknown, and the environment may only lower: so it fails closed.
    """
    from .decision import judge_when, plugin_lists
    from .entrypoints import find, load_into

    trusted, disabled = plugin_lists(judge_when(file_layers, context.platform)[0])
    names = {n.strip() for n in context.environ.get(ENV_DISABLE, "").split(",") if n.strip()}
    builtin = names & hooks.builtin  # disabling these from the environment could only raise
    blocked = names - disabled - hooks.builtin
    entries, twice = find(context.environ, write)
    loaded = load_into(hooks.pm, entries, disabled | blocked)
    hooks.skip = frozenset(disabled | blocked)
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
    return PluginState(entries, loaded, trusted, disabled, blocked, errors, untrusted)


def resolve(
    app: str,
    *,
    app_default: Mode | str | None = None,
    root: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Decision:
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
    if app is None:
        raise UsageError("app is required; the global decision is `telemetry-policy audit`")
    return evaluate(app, app_default=app_default, root=root, environ=environ, now=now, record=True)


def set_mode(
    app: str | None,
    mode: Mode | str | None,
    *,
    root: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record the user's choice for ``app`` (None: every app); ``mode=None`` forgets it.

    A mode above the ceiling (for the app, or the global one) raises
    RefusedError naming where the ceiling was set. Returns the new decision.
    A choice for ``go`` is also written to Go's own mode file, which is what
    the Go toolchain reads (and, being Go's own, outranks ``[all]``).
    """
    environ = os.environ if environ is None else environ
    now = now or datetime.now(timezone.utc)
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
        from .switches.gomode import mode_file, write_mode

        path = mode_file(environ)
        if path is not None:
            write_mode(path, wanted, now)
    write_choice(store_path(environ), app, wanted, now)
    return evaluate(app, root=root, environ=environ, now=now)
