"""Environment variables: the switch most command-line programs read.

A variable carries one person's decision, so where it is set decides whose:

- system services get the system's decision (no user has chosen, so the
  default): ``DefaultEnvironment=`` in a systemd drop-in;
- user managers (``user@.service``) start without those assignments, so that
  the user environment generator can give each user their own;
- logins of users who have made no choice get the same assignments as
  services, from a file the login hooks read without starting Python
  (``/var/lib/telemetry-policy/session/default.env``); users who chose get
  theirs from ``telemetry-policy session``.

Under ``local`` a program without a local level is opted out, and
``DO_NOT_TRACK`` is set (nothing leaves the machine).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ..catalogue import Plan, Target
from ..model import MODES, Mode
from ..ownfiles import UnsafePath
from .base import SESSION_DIR, Desired, Export, Login, OwnedFile, Reading, Switch, comment, wants

SYSTEM_DROPIN = "/etc/systemd/system.conf.d/50-telemetry-policy.conf"
USER_MANAGER_DROPIN = "/etc/systemd/system/user@.service.d/50-telemetry-policy.conf"
SESSION_DEFAULT = f"{SESSION_DIR}/default.env"

Assignment = tuple[str, str, str]  # (variable, value, target name)


def assignments(decisions: Iterable[tuple[Plan, Mode]]) -> list[Assignment]:
    """The opt-outs for (plan, mode) pairs: every variable whose mode is below on."""
    out: list[Assignment] = []
    seen: set[str] = set()
    for plan, mode in decisions:
        t = plan.target
        if mode < Mode.ON and t.variable not in seen:
            out.append((t.variable, t.off, t.name))
            seen.add(t.variable)
    return out


def render(found: Sequence[Assignment], fmt: str) -> str:
    """``env``: KEY=VALUE lines (environment.d, generators); ``sh``: export lines."""
    prefix = "export " if fmt == "sh" else ""
    return "".join(f"{prefix}{var}={value}\n" for var, value, _ in found)


# Containers: no login, no systemd; what reaches every process is the image's
# environment (the Dockerfile's ENV, the image config's Env, a dev container's
# containerEnv).
def _dockerfile(found: Sequence[Assignment]) -> str:
    head = "# the system's telemetry policy (telemetry-policy export --format dockerfile)\n"
    return head + "".join(f"ENV {var}={value}\n" for var, value, _ in found)


def _oci_env(found: Sequence[Assignment]) -> str:
    return json.dumps([f"{var}={value}" for var, value, _ in found], indent=2) + "\n"


def _devcontainer(found: Sequence[Assignment]) -> str:
    return json.dumps({"containerEnv": {v: value for v, value, _ in found}}, indent=2) + "\n"


CONTAINER = {"dockerfile": _dockerfile, "oci-env": _oci_env, "devcontainer": _devcontainer}
_PASTE = "print it and put it in your Dockerfile or image configuration yourself"


def desired(plans: Sequence[Plan]) -> list[OwnedFile]:
    system = assignments((p, Mode.OFF if wants(p) else Mode.ON) for p in plans)
    names = tuple(sorted({name for _, _, name in system}))
    words = " ".join(f"{var}={value}" for var, value, _ in system)
    out = [
        OwnedFile(
            SESSION_DEFAULT,
            (
                comment()
                + "# Read by /etc/profile.d/telemetry-policy.sh and the user environment\n"
                "# generator for users who have made no choice of their own.\n"
                + render(system, "env")
            ).encode(),
            names,
        )
    ]
    if system:
        out.append(
            OwnedFile(
                SYSTEM_DROPIN,
                f"{comment()}# The telemetry switches of system services.\n"
                f"[Manager]\nDefaultEnvironment={words}\n".encode(),
                names,
            )
        )
        out.append(
            OwnedFile(
                USER_MANAGER_DROPIN,
                f"{comment()}# User managers start without the system services' switches: the\n"
                "# user environment generator 60-telemetry-policy sets each user's own.\n"
                f"[Service]\nUnsetEnvironment={words}\n".encode(),
                names,
            )
        )
    return out


def read(target: Target, environ: Mapping[str, str]) -> Reading:
    """The variable in ``environ`` (this session), as the program reads it."""
    value = environ.get(target.variable)
    default = MODES[target.default]
    if value is None:
        return Reading(f"{target.variable} not set (its default: {default})", default)
    if re.fullmatch(target.off_match, value):
        return Reading(f"{target.variable}={value[:40]}", Mode.OFF)
    return Reading(f"{target.variable}={value[:40]!r}, which it does not read as off", default)


class Env(Switch):
    """Environment variables: services get the system's decision, each login
    its user's (``personal``)."""

    kinds = ("env",)
    personal = True
    formats = ("env", "sh", "dockerfile", "oci-env", "devcontainer")
    always = (SYSTEM_DROPIN, USER_MANAGER_DROPIN, SESSION_DEFAULT)

    def desired(self, plans: Sequence[Plan]) -> list[Desired]:
        return list(desired(plans))

    def read(self, target: Target, root: str, environ: Mapping[str, str]) -> Reading:
        return read(target, environ)

    def read_system(self, target: Target, root: str) -> Reading:
        """The variable as apply left it for logins without a choice and services
        (``session/default.env``); not what the asking process inherited."""
        from ..safefs import Root, UnsafePath

        try:
            data = Root(root).read(SESSION_DEFAULT)
        except UnsafePath as e:
            return Reading(str(e), None)
        if data is None:
            return Reading(f"{SESSION_DEFAULT} absent: telemetry-policy apply has not run", None)
        lines = data.decode("utf-8", "replace").splitlines()
        found = dict(line.split("=", 1) for line in lines if "=" in line and line[:1] != "#")
        reading = read(target, found)
        return reading._replace(text=f"logins and services: {reading.text}")

    def writes(self, plan: Plan) -> dict[str, str]:
        t = plan.target
        return {t.variable: t.off} if wants(plan) else {}

    def export(self, plans: Sequence[Plan], fmt: str, output: str | None) -> Export:
        found = assignments((p, Mode.OFF if wants(p) else Mode.ON) for p in plans)
        if fmt in CONTAINER:
            if output is not None:
                raise UnsafePath(output, f"--format {fmt} is printed, not written", _PASTE)
            return Export(CONTAINER[fmt](found))
        text = comment().replace("apply`", f"export --format {fmt}`") + render(found, fmt)
        if output is None:
            return Export(text)
        lines = tuple((var, render([(var, value, name)], fmt)[:-1]) for var, value, name in found)
        return Export(text, lines_into=output, lines=lines)

    def login(
        self,
        decided: Sequence[tuple[Plan, Mode]],
        environ: Mapping[str, str],
        now: datetime,
        fmt: str,
        check: bool,
    ) -> Login:
        return Login(render(assignments(decided), fmt))
