"""``telemetry-policy session``: a login's telemetry switches, from its user's decision.

The login hooks (``/etc/profile.d/telemetry-policy.sh`` and the user
environment generator ``60-telemetry-policy``) run this for users who have
made choices of their own (``telemetry-policy set``); for users who have not,
they read what ``apply`` precomputed and never start Python.

Each program's switch comes from that user's decision for that program:
the policy's default and ceiling plus the user's own choices, and for Go its
own mode file. Never from the environment the session inherited: an
exported ``DO_NOT_TRACK=1`` or ``TELEMETRY_POLICY_MODE`` must not feed back
into the next login's answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime

from .catalogue import Plan, Target
from .model import Mode

# What locates the user's own files; everything else inherited is ignored.
_LOCATORS = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "USER", "LOGNAME")


def own_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` that says who the user is and where their files are."""
    return {k: environ[k] for k in _LOCATORS if k in environ}


def user_decisions(
    root: str, environ: Mapping[str, str], now: datetime, targets: list[Target]
) -> tuple[list[tuple[Plan, Mode]], list[str]]:
    """(plan, the user's mode) for each target, and the problems met.

    The global decision's targets (``DO_NOT_TRACK``: nothing leaves the
    machine) get the most any of this user's decisions allows: the global one
    and that of every app named in policy, in the user's store, or in the
    catalogue (Go's own mode file included). So a user who opted in to one
    tool is not capped by a ``DO_NOT_TRACK`` their own login exported.
    """
    from .api import evaluate
    from .audit import apps_named
    from .errors import UserStoreError
    from .userstore import load_store, store_path

    clean = own_environ(environ)
    errors: list[str] = []
    decided: dict[str | None, tuple[Plan, Mode]] = {}
    named: list[str] = []

    def decide(app: str | None, t: Target) -> None:
        if app in decided:
            return
        d = evaluate(app, root=root, environ=clean, now=now)
        errors.extend(e for e in d.errors if e not in errors)
        decided[app] = (Plan(t, d.default, d.ceiling), d.mode)
        if app is None:
            named.extend(apps_named(d))

    for t in targets:
        decide(t.app, t)
    with contextlib.suppress(UserStoreError, OSError):  # a corrupt store: off, above
        named.extend(load_store(store_path(clean)).apps)
    for app in named:
        decide(app, targets[0])
    most = max(mode for _, mode in decided.values())
    out = []
    for t in targets:
        plan, mode = decided[t.app]
        out.append((plan._replace(target=t), most if t.app is None else mode))
    return out, errors


def session(
    root: str, environ: Mapping[str, str], now: datetime, fmt: str, go: bool, check: bool
) -> tuple[str, list[str], list[str], bool]:
    """(environment text, lines about Go, errors, whether Go's file changed)."""
    from .catalogue import builtin
    from .safefs import UnsafePath
    from .switches import env, gomode

    targets = [t for t in builtin() if t.kind in ("env", "go")]
    found, errors = user_decisions(root, environ, now, targets)
    text = env.render(env.assignments((p, m) for p, m in found if p.target.kind == "env"), fmt)
    lines: list[str] = []
    changed = False
    if go:
        path = gomode.mode_file(own_environ(environ))
        decision = next(m for p, m in found if p.target.kind == "go")
        if path is None:
            lines.append("go: no HOME (or a relative XDG_CONFIG_HOME): Go has no mode file")
        else:
            try:
                line, changed = gomode.lower(path, decision, now, check)
                lines.append(line)
            except UnsafePath as e:
                errors.append(str(e))
    return text, lines, errors, changed
