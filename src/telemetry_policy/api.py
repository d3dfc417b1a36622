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

from .model import MODES, Mode, is_app_name
from .paths import ENV_ROOT, absent, state_path, store_path
from .precedence import ENV_DISABLE, Values, dnt_cap, env_choice, finish

TYPE_CHECKING = False  # typing costs a client 3 ms at start: only mypy reads these
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from .errors import UserStoreError
    from .model import Decision
    from .snapshot import Snapshot
    from .userstore import Store

__all__ = ["ENV_DISABLE", "ENV_ROOT", "resolve", "set_mode"]


def __getattr__(name: str) -> "object":
    # The full resolution (``inputs``) is loaded only when the snapshot cannot answer.
    if name in ("Inputs", "check_app", "evaluate"):
        from . import inputs

        return getattr(inputs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from .errors import UsageError
    from .inputs import evaluate

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
    """The decision from the snapshot's inputs, or None when they are not enough.
    (Longer than most: every check that sends a caller to the full resolution
    stands here, in the order a client's start meets them.)"""
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
            from .userstore import store_choice

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
    from .errors import PolicyError, UserStoreError

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
    from .errors import PolicyError

    try:
        path = state_path(environ)
        if absent(path):
            return False
        from .ownfiles import read_own

        return read_own(path) is not None
    except PolicyError:
        return True  # let userstore say (it reads it as nothing)


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
    from .errors import RefusedError
    from .inputs import _mode, evaluate
    from .userstore import write_choice

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
