"""Each catalogued program with the decision that reaches it: the system's
(``apply``, ``export``, audit of system files) or one user's (logins, audit of
what a user's programs read).

Every decision of one call comes from one reading of the policy
(``inputs.Inputs``): a machine whose policy names a thousand apps is decided in
one pass, not a thousand.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from datetime import datetime

from .catalogue import Plan, Target
from .inputs import Inputs
from .model import Mode

__all__ = ["own_environ", "plans", "system_plans", "user_decisions"]

# What locates the user's own files; everything else inherited is ignored.
_LOCATORS = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "USER", "LOGNAME")


def own_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` that says who the user is and where their files are.
    For root, a ``HOME`` or ``XDG_*_HOME`` that is not root's own (``sudo`` keeps
    a user's) is left out: it would lead root into that user's files (and with
    no home of its own, a login has no Go mode file to bring in line)."""
    found = {k: environ[k] for k in _LOCATORS if k in environ}
    if os.geteuid() == 0:  # a relative value stays: Go reads it as no directory at all
        keep = ("USER", "LOGNAME")
        found = {k: v for k, v in found.items() if k in keep or not v.startswith("/") or _roots(v)}
    return found


def _roots(path: str) -> bool:
    """Is ``path`` (or, while it does not exist, the nearest directory above it) root's?"""
    if not path.startswith("/"):
        return False
    here = os.path.normpath(path)
    while True:
        try:
            return os.lstat(here).st_uid == 0
        except FileNotFoundError:
            if here == "/":
                return False
            here = os.path.dirname(here)
        except OSError:
            return False


def plans(inputs: Inputs, targets: Iterable[Target]) -> tuple[list[Plan], list[str]]:
    """The system's decision for each target's app (``inputs`` without the user's).

    A target of the global decision (``DO_NOT_TRACK``: nothing leaves the
    machine) gets the most any app may do: the global default and ceiling,
    raised by those of every app named in policy.
    """
    errors: list[str] = []
    seen: dict[str | None, tuple[Mode, Mode]] = {}

    def decide(app: str | None) -> tuple[Mode, Mode]:
        if app not in seen:
            d = inputs.decide(app)
            errors.extend(e for e in d.errors if e not in errors)
            seen[app] = (d.default, d.ceiling)
        return seen[app]

    most: tuple[Mode, Mode] | None = None
    out: list[Plan] = []
    for target in targets:
        default, ceiling = decide(target.app)
        if target.app is None:
            if most is None:
                found = [decide(app) for app in inputs.named()]
                most = (
                    max([default, *(d for d, _ in found)]),
                    max([ceiling, *(c for _, c in found)]),
                )
            default, ceiling = most
        out.append(Plan(target, default, ceiling))
    return out, errors


def system_plans(
    root: str, environ: Mapping[str, str], now: datetime
) -> tuple[list[Plan], list[str]]:
    """Every target (built-in and from trusted plugins) with the system's decision."""
    from .catalogue import collect_targets
    from .plugins import Hooks, default_manager, trust_of

    inputs = Inputs(root, environ, now, user=False)  # loads the plugins
    first = inputs.decide(None)
    targets, errors = collect_targets(Hooks(default_manager()), trust_of)
    found, more = plans(inputs, targets)
    return found, list(dict.fromkeys([*first.errors, *errors, *more]))


def user_decisions(
    root: str, environ: Mapping[str, str], now: datetime, targets: list[Target]
) -> tuple[list[tuple[Plan, Mode]], list[str]]:
    """(plan, the user's mode) for each target, and the problems met.

    From the user's own files only (``own_environ``), never the environment
    the session inherited. The global decision's targets (``DO_NOT_TRACK``)
    get the most any of this user's decisions allows: the global one and that
    of every app named in policy, in the user's store, or in the catalogue
    (Go's own mode file included). So a user who opted in to one tool is not
    capped by a ``DO_NOT_TRACK`` their own login exported.
    """
    from .errors import UserStoreError
    from .userstore import load_store, store_path

    clean = own_environ(environ)
    inputs = Inputs(root, clean, now)
    errors: list[str] = []
    decided: dict[str | None, tuple[Plan, Mode]] = {}

    def decide(app: str | None, t: Target) -> None:
        if app in decided:
            return
        d = inputs.decide(app)
        errors.extend(e for e in d.errors if e not in errors)
        decided[app] = (Plan(t, d.default, d.ceiling), d.mode)

    for t in targets:
        decide(t.app, t)
    named = inputs.named()
    with contextlib.suppress(UserStoreError, OSError):  # a corrupt store: off, above
        named += load_store(store_path(clean)).apps
    for app in named:
        decide(app, targets[0])
    most = max(mode for _, mode in decided.values())
    out = []
    for t in targets:
        plan, mode = decided[t.app]
        out.append((plan._replace(target=t), most if t.app is None else mode))
    return out, errors
