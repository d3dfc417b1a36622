"""telemetry-policy: a distribution's telemetry policy, consulted before the user's.

    from telemetry_policy import resolve
    d = resolve("mytool", app_default="local")
    if d.may_collect: ...

The public API: ``resolve`` is here, the rest (``set_mode``, the model, the
errors, ``hookimpl``) is imported on first use: a telemetry client imports
this at every start, and pays only for what it touches.

Each decision is ``precedence.finish`` of what step 2 left and the user's
inputs. Those come from one of two places, with the same result
(property-tested: tests/test_snapshot.py):

- the snapshot ``apply`` compiled (``snapshot``), when it is usable as it is
  and no plugin is installed, or, with no policy directory at all, nothing:
  a client then imports none of pluggy, tomllib, inspect, typing, re, enum or
  datetime (docs/authors.md#what-asking-costs-at-start);
- ``inputs.Inputs``, one reading of the policy files and plugins: everything
  else (a plugin, ``go``'s own mode file, no usable snapshot, the CLI).
"""

# Annotations naming what only type checkers import are strings: a client imports
# this at every start, and `from __future__ import annotations` would import one
# module more (docs/authors.md#what-asking-costs-at-start).

import os

TYPE_CHECKING = False  # importing typing would cost a client 3 ms at every start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from .errors import UserStoreError
    from .model import Decision, Mode
    from .snapshot import Snapshot
    from .userstore import Store

__version__ = "0.1.0"

_EXPORTS = {
    "set_mode": "inputs",
    "RefusedError": "errors",
    "Mode": "model",
    "PRESETS": "model",
    "Decision": "model",
    "Choice": "model",
    "Layer": "policymodel",
    "Origin": "model",
    "Platform": "model",
    "Context": "context",
    "PolicyError": "errors",
    "PolicyFileError": "errors",
    "PluginError": "errors",
    "UsageError": "errors",
    "UserStoreError": "errors",
    "PlatformError": "errors",
    "hookimpl": "hookspecs",
}
__all__ = [
    "PRESETS",
    "Choice",
    "Context",
    "Decision",
    "Layer",
    "Mode",
    "Origin",
    "Platform",
    "PlatformError",
    "PluginError",
    "PolicyError",
    "PolicyFileError",
    "RefusedError",
    "UsageError",
    "UserStoreError",
    "hookimpl",
    "resolve",
    "set_mode",
]

if TYPE_CHECKING:
    from .context import Context
    from .errors import (
        PlatformError,
        PluginError,
        PolicyError,
        PolicyFileError,
        RefusedError,
        UsageError,
        UserStoreError,
    )
    from .hookspecs import hookimpl
    from .inputs import set_mode
    from .model import PRESETS, Choice, Decision, Mode, Origin, Platform
    from .policymodel import Layer


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
    from .model import MODES, Mode, is_app_name
    from .paths import ENV_ROOT
    from .precedence import ENV_DISABLE, Values, dnt_cap, env_choice, finish

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
    if snapshot is None and not _no_policy(root):
        return None  # the files are read
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
        if snapshot is None:  # no policy at all: step 2 leaves the start as it is
            explained: dict[str, object] = {"layers": (), "platform": None}
            return finish(app, values, (), choice, caps, now, first_on, explained)
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

                now = current_time(environ, root)
            first_on = load_first_on(state, app)
            decision = decide(now, first_on)
        if state is not None:
            keep_state(state, app, decision, first_on, now)  # type: ignore[arg-type]
    return decision


def _no_policy(root: str) -> bool:
    """Is there certainly no policy under ``root``: not one of the policy
    directories exists (the library arrived as a dependency; nobody wrote policy)?
    Four ``lstat``s; anything but "no such file" lets the files be read."""
    from .paths import join
    from .precedence import DIRECTORIES

    for _, directory in DIRECTORIES:
        try:
            os.lstat(join(root, directory))
        except FileNotFoundError:
            continue
        except OSError:
            return False
        return False
    return True


class _Explain:
    """The layers and platform behind a decision from the snapshot, as the full
    resolution has them (decoded when first asked for)."""

    __slots__ = ("snapshot",)

    def __init__(self, snapshot: "Snapshot") -> None:
        self.snapshot = snapshot

    def __call__(self) -> "dict[str, object]":
        from .layerindex import LayerIndex
        from .snapshot_build import layers_of

        index = LayerIndex.build(layers_of(self.snapshot), self.snapshot.platform)
        return {"layers": index.layers, "platform": index.platform}

    def __reduce__(self) -> "tuple[object, ...]":
        return _Explain, (self.snapshot,)


def _store(environ: "Mapping[str, str]") -> "Store | UserStoreError | None":
    """The user store: None if there is none, the Store, or its error."""
    from .paths import absent, store_path

    try:
        path = store_path(environ)
        if absent(path):
            return None
        from .ownfiles import read_own

        if read_own(path) is None:
            return None
    except Exception:  # a PolicyError (errors is not loaded on this path): its
        raise _Unanswered from None  # path cannot be found or read, the full resolution says
    from .errors import UserStoreError
    from .userstore import load_store

    try:
        return load_store(path)
    except UserStoreError as e:
        return e


def _exists(environ: "Mapping[str, str]") -> bool:
    """Is there a state file to keep in step (one the full resolution would read)?"""
    from .paths import absent, state_path

    try:
        path = state_path(environ)
        if absent(path):
            return False
        from .ownfiles import read_own

        return read_own(path) is not None
    except Exception:  # a PolicyError: let userstore say (it reads it as nothing)
        return True


def __dir__() -> "list[str]":
    # help(telemetry_policy) and dir() list the API, lazy names included
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> "Any":
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry_policy' has no attribute {name!r}")
    import sys

    __import__(f"{__name__}.{module}")  # not importlib: a client's start never loads it
    value = getattr(sys.modules[f"{__name__}.{module}"], name)
    globals()[name] = value
    return value
