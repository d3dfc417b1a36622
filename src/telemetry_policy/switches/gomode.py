"""Go's own telemetry mode file, the switch of a program with no system-wide one
(``gofile`` reads and writes it as Go does).

At login it is lowered to the user's decision for ``go`` (the default
included, when Go has no file and the decision is below ``local``), and never
raised. apply writes only the system's default and ceiling for ``go`` where
the login hook can read them without starting Python.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..catalogue import Plan, Target
from ..gofile import hook_file, lower, mode_file, parse, undo
from ..gofile import undo as gofile_undo  # the method below has the same name
from ..model import Mode
from ..ownfiles import UnsafePath, read_own
from .base import SESSION_DIR, Desired, Login, OwnedFile, Reading, Switch, comment

SESSION_GO = f"{SESSION_DIR}/go"
#: Homes whose Go apply brings in line: root's, and the skeleton of new users'.
ACCOUNTS = ("/root", "/etc/skel")
_MAX = 4096  # Go writes a dozen bytes


def desired(plans: Sequence[Plan]) -> list[OwnedFile]:
    return [
        OwnedFile(
            SESSION_GO,
            (
                comment() + "# Go's default and ceiling, for the login hook: DEFAULT CEILING\n"
                f"{p.default} {p.ceiling}\n"
            ).encode(),
            (p.target.name,),
        )
        for p in plans[:1]
    ]


def _read(environ: Mapping[str, str]) -> Reading:
    """Go's mode for the user of ``environ``, as the Go toolchain reads it."""
    path = mode_file(environ)
    if path is None:
        return Reading("no config directory (HOME unset or XDG_CONFIG_HOME relative)", None)
    try:
        data = read_own(path, _MAX)
    except UnsafePath as e:
        return Reading(f"{path}: {e.reason}", None)
    if data is None:
        return Reading(f"{path} absent: Go's default, local", Mode.LOCAL)
    mode = parse(data)[0]
    return Reading(f"{mode} ({path}: {data[:40]!r} as Go reads it)", mode)


class Go(Switch):
    """Go's per-user mode file: lowered at each login, never written by apply
    (apply leaves the login hook Go's default and ceiling)."""

    kinds = ("go",)
    personal = True
    user_files = True
    always = (SESSION_GO,)

    def desired(self, plans: Sequence[Plan]) -> list[Desired]:
        return list(desired(plans))

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        return _read(environ)

    def read_system(self, target: Target, root: str) -> Reading:
        """What logins bring Go's file to: the default apply left (never raised)."""
        from ..safefs import Root, UnsafePath

        try:
            data = Root(root).read(SESSION_GO)
        except UnsafePath as e:
            return Reading(str(e), None)
        words = [w for line in (data or b"").decode().splitlines() if line[:1] != "#"
                 for w in line.split()]  # fmt: skip
        if len(words) != 2 or words[0] not in ("off", "local", "on"):
            return Reading(f"{SESSION_GO} absent: telemetry-policy apply has not run", None)
        mode = {"off": Mode.OFF, "local": Mode.LOCAL, "on": Mode.ON}[words[0]]
        return Reading(f"each login brings Go's mode file to at most {words[0]}", mode)

    def required(self, plan: Plan, mode: Mode | None) -> tuple[Mode, bool]:
        if mode is not None:
            return mode, False  # Go has a local level of its own
        return super().required(plan, mode)

    def login(
        self,
        decided: Sequence[tuple[Plan, Mode]],
        environ: Mapping[str, str],
        now: datetime,
        fmt: str,
        check: bool,
    ) -> Login:
        path = mode_file(environ)
        if path is None:
            return Login("", ("go: no HOME (or a relative XDG_CONFIG_HOME): Go has no mode file",))
        try:
            line, changed = lower(path, decided[0][1], now, check, hook_file(environ))
        except UnsafePath as e:
            return Login("", (), (str(e),))
        return Login("", (line,), (), changed)

    def undo(self, environ: Mapping[str, str]) -> Login:
        path = mode_file(environ)
        said = None if path is None else undo(path, hook_file(environ))
        return Login("", () if said is None else (said,))

    def accounts(
        self, root: str, plans: Sequence[Plan], now: datetime, check: bool, undo: bool
    ) -> Login:
        """Go for root (services, cron, containers: no login ever lowers it) and for
        new users (``/etc/skel``): each mode file brought to the system's decision
        as a login would, a file of the account's own never raised; what apply wrote
        is remembered as the hook's (each home's state), and ``undo`` takes it back."""
        from ..paths import join

        if not plans and not undo:
            return Login()
        notes: list[str] = []
        errors: list[str] = []
        changed: list[str] = []
        for home in ACCOUNTS:
            inside = f"{home}/.config/go/telemetry/mode"
            path = join(root, inside)
            hook = join(root, f"{home}/.local/state/telemetry-policy/go-mode")
            if not os.path.isdir(join(root, home)):
                continue
            try:
                if undo:
                    said = None if check else gofile_undo(path, hook)
                    notes += [said] if said else []
                    continue
                data = read_own(path, _MAX)
                own = None if data is None else parse(data)[0]
                plan = plans[0]
                decision = plan.default if own is None else min(own, plan.ceiling)
                _, did = lower(path, decision, now, check, hook)
                if did:
                    changed.append(inside)
            except UnsafePath as e:
                errors.append(str(e))
        return Login("", tuple(notes), tuple(errors), bool(changed), tuple(changed))
