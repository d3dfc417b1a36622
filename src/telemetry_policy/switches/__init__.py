"""What the policy becomes in other programs' own switches: one module per kind.

Each kind of switch is a :class:`~.base.Switch` in its own module, registered
here in :data:`SWITCHES`; callers loop over the table and never ask which
kind a program is. Adding a kind is a module and a line below; adding a
program is a catalogue row.

- ``env``: environment variables (system services, logins)
- ``jsonpolicy``: browser and editor JSON policies (Firefox, Chromium, VS Code)
- ``conf``: configuration drop-ins and flag files of system programs
- ``gomode``: Go's per-user mode file (at login, never by apply)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..catalogue import Plan, Target
from .base import (
    HEADER,
    MANIFEST,
    SESSION_DIR,
    STATE_DIR,
    Desired,
    Login,
    OwnedFile,
    OwnedKey,
    Reading,
    Switch,
    comment,
    wants,
)
from .conf import Conf
from .env import Env
from .gomode import Go
from .jsonpolicy import Chromium, Firefox, VSCode

__all__ = [
    "HEADER", "MANIFEST", "SESSION_DIR", "STATE_DIR", "SWITCHES", "Desired", "Login",
    "OwnedFile", "OwnedKey", "Reading", "Switch", "comment", "desired", "owned_paths", "read",
    "switch", "wants",
]  # fmt: skip

#: Every kind of switch, by the catalogue kinds it serves.
SWITCHES: dict[str, Switch] = {
    kind: s for s in (Env(), Firefox(), Chromium(), VSCode(), Conf(), Go()) for kind in s.kinds
}


def switch(target: Target) -> Switch:
    """The kind of switch that writes and reads ``target``."""
    return SWITCHES[target.kind]


def read(target: Target, root: str, environ: Mapping[str, str]) -> Reading:
    """Read ``target``'s own switch: the environment, its files under ``root``."""
    return switch(target).read(target, root, environ)


def desired(plans: Sequence[Plan]) -> list[Desired]:
    """Every system back-end the plans call for, in a stable order."""
    out: list[Desired] = []
    for s in dict.fromkeys(SWITCHES.values()):
        out += s.desired([p for p in plans if p.target.kind in s.kinds])
    return out


def owned_paths(targets: Sequence[Target]) -> tuple[set[str], set[str]]:
    """Every file apply may own for ``targets``, and every directory above one.

    A manifest is trusted only for these: an entry naming anything else (a
    forged ``/../etc/passwd``, or ``/etc/telemetry-policy/...``) is never
    taken back.
    """
    files: set[str] = set()
    for s in dict.fromkeys(SWITCHES.values()):
        files.update(s.always)
    for t in targets:
        files |= switch(t).paths(t)
    dirs = set()
    for path in files:
        parent = path.rsplit("/", 1)[0]
        while parent:
            dirs.add(parent)
            parent = parent.rsplit("/", 1)[0]
    return files, dirs
