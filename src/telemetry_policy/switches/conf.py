"""Configuration drop-ins and flag files of system programs.

``conf``: a drop-in the program reads after its own configuration, holding
one assignment (popularity-contest's ``/etc/popularity-contest.d/``).
``flag``: a file whose mere presence switches telemetry off (netdata's
``.opt-out-from-anonymous-statistics``). Both are whole files apply owns.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalogue import Plan, Target
from ..model import MODES, Mode
from ..safefs import Root, UnsafePath
from .base import Desired, OwnedFile, Reading, Switch, comment, wants

KINDS = ("conf", "flag")


def desired(plans: Sequence[Plan]) -> list[OwnedFile]:
    out = []
    for plan in plans:
        if not wants(plan):
            continue
        t = plan.target
        body = comment() + (f'{t.variable}="{t.off}"\n' if t.kind == "conf" else "")
        out.append(OwnedFile(t.path, body.encode(), (t.name,), flag=t.kind == "flag"))
    return out


def _read(target: Target, root: str) -> Reading:
    """The switch as the program reads it: a flag file's presence, or the last
    assignment of its variable in the files it reads, in their order."""
    r = Root(root)
    default = MODES[target.default]
    if target.kind == "flag":
        present = r.lstat(target.path) is not None
        return Reading(f"{target.path} {'present' if present else 'absent'}",
                       Mode.OFF if present else default, present)  # fmt: skip
    value, where = None, ""
    assignment = re.compile(rf"\s*{re.escape(target.variable)}=(['\"]?)([^'\"]*)\1\s*(#.*)?")
    for pattern in target.sources:
        for path in sorted(glob.glob(r.shown(pattern))):
            inside = "/" + os.path.relpath(path, root) if root != "/" else path
            try:
                data = r.read(inside)
            except UnsafePath as e:
                return Reading(str(e), None)
            for line in (data or b"").decode("utf-8", "replace").splitlines():
                m = assignment.fullmatch(line)
                if m:
                    value, where = m.group(2), inside
    if value is None:
        return Reading(f"{target.variable} not set (its default: {default})", default)
    mode = Mode.OFF if re.fullmatch(target.off_match, value) else Mode.ON
    return Reading(f'{target.variable}="{value}" ({where})', mode, True)


class Conf(Switch):
    """A system program's drop-in (``conf``) or flag file (``flag``)."""

    kinds = KINDS
    needs_program = True

    def desired(self, plans: Sequence[Plan]) -> list[Desired]:
        return list(desired(plans))

    def paths(self, target: Target) -> set[str]:
        return {target.path}

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        return _read(target, root)

    def writes(self, plan: Plan) -> dict[str, Any]:
        t = plan.target
        return {t.path: t.off or "(the file exists)"} if wants(plan) else {}
